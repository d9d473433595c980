//! The simulator's front door: customer tokens, sessions with a lifetime, and a fixed-window
//! rate limit per customer token (300 calls a minute: `picsync_onefile`'s crate page, "Rate
//! limit").

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;

/// Length of a session string (OneFile's are about 344 base64 characters).
const SESSION_LEN: usize = 344;
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

struct SessionInfo {
    token: String,
    expires: Instant,
}

#[derive(Default)]
struct Window {
    index: u128,
    count: u32,
}

/// Sessions and rate windows.
pub(crate) struct Gate {
    tokens: HashSet<String>,
    sessions: HashMap<String, SessionInfo>,
    history: Vec<String>,
    windows: HashMap<String, Window>,
    pub(crate) session_lifetime: Duration,
    pub(crate) limit: u32,
    pub(crate) window: Duration,
    started: Instant,
    rng: fastrand::Rng,
    pub(crate) issued: u64,
    pub(crate) refused: u64,
    pub(crate) limited: u64,
    pub(crate) peak: u32,
}

impl Gate {
    pub(crate) fn new(
        tokens: impl IntoIterator<Item = String>,
        session_lifetime: Duration,
        limit: u32,
        window: Duration,
    ) -> Self {
        Self {
            tokens: tokens.into_iter().collect(),
            sessions: HashMap::new(),
            history: Vec::new(),
            windows: HashMap::new(),
            session_lifetime,
            limit: limit.max(1),
            window: window.max(Duration::from_millis(1)),
            started: Instant::now(),
            rng: fastrand::Rng::with_seed(0x0FE1_5E55),
            issued: 0,
            refused: 0,
            limited: 0,
            peak: 0,
        }
    }

    /// Whether the customer token is accepted.
    pub(crate) fn accepts(&self, token: &str) -> bool {
        self.tokens.contains(token)
    }

    /// A new session for an accepted token.
    pub(crate) fn issue(&mut self, token: &str) -> String {
        let mut s: String = (0..SESSION_LEN - 1)
            .map(|_| char::from(BASE64[self.rng.usize(..BASE64.len())]))
            .collect();
        s.push('=');
        self.sessions.insert(
            s.clone(),
            SessionInfo {
                token: token.to_string(),
                expires: Instant::now() + self.session_lifetime,
            },
        );
        self.issued += 1;
        self.history.push(s.clone());
        s
    }

    /// The customer token behind a live session; `None` (and a refusal counted) otherwise.
    pub(crate) fn token_of(&mut self, session: Option<&str>) -> Option<String> {
        let now = Instant::now();
        let token = session
            .and_then(|s| self.sessions.get(s))
            .filter(|info| info.expires > now)
            .map(|info| info.token.clone());
        if token.is_none() {
            self.refused += 1;
        }
        token
    }

    /// Counts a refusal of a customer token.
    pub(crate) fn refuse(&mut self) {
        self.refused += 1;
    }

    /// Every session ever issued (for tests that check they never leak).
    pub(crate) fn history(&self) -> Vec<String> {
        self.history.clone()
    }

    /// Every session ends now (as if 24 hours had passed).
    pub(crate) fn expire_sessions(&mut self) {
        self.sessions.clear();
    }

    /// Counts one call of `token` in the current fixed window; `Err(time to the window's
    /// end)` when the call is over the limit.
    pub(crate) fn admit(&mut self, token: &str) -> Result<(), Duration> {
        let elapsed = self.started.elapsed();
        let index = elapsed.as_nanos() / self.window.as_nanos().max(1);
        let w = self.windows.entry(token.to_string()).or_default();
        if w.index != index {
            w.index = index;
            w.count = 0;
        }
        w.count += 1;
        self.peak = self.peak.max(w.count);
        if w.count > self.limit {
            self.limited += 1;
            let window_nanos = self.window.as_nanos();
            let end = (index + 1) * window_nanos;
            let left = end.saturating_sub(elapsed.as_nanos());
            Err(Duration::from_nanos(
                u64::try_from(left).unwrap_or(u64::MAX),
            ))
        } else {
            Ok(())
        }
    }

    /// Changes the limit; counting goes on in the current windows.
    pub(crate) fn set_rate_limit(&mut self, limit: u32, window: Duration) {
        self.limit = limit.max(1);
        self.window = window.max(Duration::from_millis(1));
        self.windows.clear();
        self.started = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_long_unique_and_tied_to_their_token() {
        let mut g = Gate::new(
            ["tok".to_string()],
            Duration::from_secs(60),
            10,
            Duration::from_secs(1),
        );
        assert!(g.accepts("tok") && !g.accepts("other"));
        let a = g.issue("tok");
        let b = g.issue("tok");
        assert_eq!(a.len(), SESSION_LEN);
        assert_ne!(a, b);
        assert_eq!(g.token_of(Some(&a)).as_deref(), Some("tok"));
        assert_eq!(g.token_of(Some("nope")), None);
        assert_eq!(g.token_of(None), None);
        assert_eq!(g.refused, 2);
        g.expire_sessions();
        assert_eq!(g.token_of(Some(&a)), None);
    }

    #[tokio::test]
    async fn sessions_expire_after_their_lifetime() {
        let mut g = Gate::new(
            ["t".to_string()],
            Duration::from_millis(30),
            10,
            Duration::from_secs(1),
        );
        let s = g.issue("t");
        assert!(g.token_of(Some(&s)).is_some());
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(g.token_of(Some(&s)).is_none());
    }

    #[tokio::test]
    async fn fixed_window_limit_per_token() {
        let mut g = Gate::new(
            ["a".to_string(), "b".to_string()],
            Duration::from_secs(60),
            3,
            Duration::from_millis(200),
        );
        for _ in 0..3 {
            assert!(g.admit("a").is_ok());
        }
        let wait = g.admit("a").unwrap_err();
        assert!(wait <= Duration::from_millis(200));
        assert!(g.admit("b").is_ok(), "another token has its own window");
        assert_eq!(g.limited, 1);
        tokio::time::sleep(wait + Duration::from_millis(5)).await;
        assert!(g.admit("a").is_ok(), "a new window");
    }
}
