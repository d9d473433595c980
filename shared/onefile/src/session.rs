//! OneFile sessions: `POST /Authentication` with the customer token gives a session string,
//! sent as `X-TokenID` on every other call. A session lasts 24 hours; the client renews it
//! ahead of expiry (after `session_renew_after`) and once when a call is answered 401.
//!
//! One session is shared by every clone of a client; renewal is serialised, so concurrent
//! tasks that all see a 401 cause one renewal, not one each.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::OneFileError;

/// A session in use.
pub(crate) struct Session {
    /// The session string (never logged or printed).
    pub(crate) id: SecretString,
    /// Which session this is (1, 2, …), so a stale 401 does not drop a newer session.
    pub(crate) serial: u64,
    obtained: Instant,
}

/// The current session of one client and its clones.
pub(crate) struct Sessions {
    current: Mutex<Current>,
    renew_after: Duration,
}

#[derive(Default)]
struct Current {
    session: Option<Arc<Session>>,
    issued: u64,
}

impl Sessions {
    pub(crate) fn new(renew_after: Duration) -> Self {
        Self {
            current: Mutex::new(Current::default()),
            renew_after,
        }
    }

    /// The current session, or a new one from `authenticate` when there is none or it is due
    /// for renewal. Tasks arriving during a renewal wait for it and share its result.
    pub(crate) async fn get<F, Fut>(&self, authenticate: F) -> Result<Arc<Session>, OneFileError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SecretString, OneFileError>>,
    {
        let mut cur = self.current.lock().await;
        if let Some(s) = &cur.session {
            if s.obtained.elapsed() < self.renew_after {
                return Ok(Arc::clone(s));
            }
            tracing::debug!(serial = s.serial, "OneFile session due for renewal");
        }
        let id = authenticate().await?;
        cur.issued += 1;
        let s = Arc::new(Session {
            id,
            serial: cur.issued,
            obtained: Instant::now(),
        });
        cur.session = Some(Arc::clone(&s));
        tracing::debug!(serial = s.serial, "OneFile session obtained");
        Ok(s)
    }

    /// Drops `used` after OneFile refused it, unless a newer session already replaced it.
    pub(crate) async fn invalidate(&self, used: &Session) {
        let mut cur = self.current.lock().await;
        if cur
            .session
            .as_ref()
            .is_some_and(|s| s.serial == used.serial)
        {
            cur.session = None;
        }
    }

    /// Sessions obtained so far.
    pub(crate) async fn issued(&self) -> u64 {
        self.current.lock().await.issued
    }
}

/// Reads the session from an authentication reply: the bare string (Seen) or a JSON-quoted
/// one. It must be usable as a header value. Errors never quote it.
pub(crate) fn parse_session(endpoint: &str, body: &[u8]) -> Result<SecretString, OneFileError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| OneFileError::malformed(endpoint, "the session is not UTF-8"))?
        .trim();
    let session = if text.starts_with('"') {
        serde_json::from_str::<String>(text).map_err(|_| {
            OneFileError::unreadable(endpoint, "the quoted session is not a valid JSON string")
        })?
    } else {
        text.to_string()
    };
    let session = SecretString::from(session);
    let s = session.expose_secret();
    if s.is_empty() {
        return Err(OneFileError::malformed(endpoint, "the session is empty"));
    }
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(OneFileError::malformed(
            endpoint,
            "the session holds characters that cannot be sent in a header",
        ));
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn bare_and_quoted_sessions() {
        let bare = parse_session("e", b"  abc+/=123\n").unwrap();
        assert_eq!(bare.expose_secret(), "abc+/=123");
        let quoted = parse_session("e", b"\"abc+/=123\"").unwrap();
        assert_eq!(quoted.expose_secret(), "abc+/=123");
        assert!(parse_session("e", b"").is_err());
        assert!(parse_session("e", b"\"\"").is_err());
        let e = parse_session("e", b"\"has space secret\"").unwrap_err();
        assert!(!format!("{e} {e:?}").contains("secret"));
    }

    #[tokio::test]
    async fn one_renewal_for_many_waiters_and_stale_invalidation_is_ignored() {
        let sessions = Arc::new(Sessions::new(Duration::from_secs(3600)));
        let auths = Arc::new(AtomicU32::new(0));
        let get = |s: Arc<Sessions>, n: Arc<AtomicU32>| async move {
            s.get(|| async move {
                let k = n.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(SecretString::from(format!("session-{k}")))
            })
            .await
            .unwrap()
        };
        let tasks: Vec<_> = (0..8)
            .map(|_| tokio::spawn(get(sessions.clone(), auths.clone())))
            .collect();
        let mut got = Vec::new();
        for t in tasks {
            got.push(t.await.unwrap());
        }
        assert_eq!(auths.load(Ordering::SeqCst), 1);
        assert!(got.iter().all(|s| s.serial == 1));

        // a 401 on session 1 renews once; a late 401 on session 1 does not drop session 2
        sessions.invalidate(&got[0]).await;
        let s2 = get(sessions.clone(), auths.clone()).await;
        assert_eq!(s2.serial, 2);
        sessions.invalidate(&got[1]).await;
        let again = get(sessions.clone(), auths.clone()).await;
        assert_eq!(again.serial, 2);
        assert_eq!(sessions.issued().await, 2);
    }

    #[tokio::test]
    async fn renewed_ahead_of_expiry() {
        let sessions = Sessions::new(Duration::from_millis(30));
        let first = sessions
            .get(|| async { Ok(SecretString::from("a")) })
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        let second = sessions
            .get(|| async { Ok(SecretString::from("b")) })
            .await
            .unwrap();
        assert_eq!((first.serial, second.serial), (1, 2));
        assert_eq!(second.id.expose_secret(), "b");
    }
}
