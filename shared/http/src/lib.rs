#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests link the dev-dependencies too
//! The retry mechanism shared by picsync's API clients (OneFile and PICS).
//!
//! Both clients classify each failure as retryable or permanent ([`Classify`]) and run every
//! call through [`retry`], which backs off exponentially with full jitter and honours a
//! server-given delay (`Retry-After`). Attempts are bounded, so no loop runs forever.

use std::future::Future;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// What a client error knows about itself, for the retry loop.
pub trait Classify {
    /// True when the same call may succeed if tried again (5xx, timeouts, resets, 429).
    fn is_retryable(&self) -> bool;
    /// A delay the server asked for (or the client computed, e.g. the end of a rate window).
    fn retry_after(&self) -> Option<Duration> {
        None
    }
    /// True for rate limiting (HTTP 429): waited out without spending an attempt (R35),
    /// up to [`RetryPolicy::max_rate_limited`] times.
    fn is_rate_limited(&self) -> bool {
        false
    }
}

/// Bounds and pacing of retries.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time, with full jitter.
    pub base_delay: Duration,
    /// Ceiling of one backoff.
    pub max_delay: Duration,
    /// How many 429s one call may wait out before giving up (R35: a 429 never fails a learner
    /// by itself, but a loop must still be bounded).
    pub max_rate_limited: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_rate_limited: 20,
        }
    }
}

impl RetryPolicy {
    /// A policy for tests: same shape, tiny delays.
    pub fn fast() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(20),
            max_rate_limited: 50,
        }
    }

    /// The longest [`retry`] can take over one call under this policy: every attempt used up,
    /// each taking `per_attempt` at most (timeouts, pacing), the longest backoff between them
    /// (a server-given delay is capped the same way), and every 429 waited out for
    /// `rate_limited_wait` (a rate-limited reply is an attempt's time too). A lease or claim
    /// that must outlive a call (§7) is sized from this.
    pub fn worst_case(&self, per_attempt: Duration, rate_limited_wait: Duration) -> Duration {
        let attempts = self.max_attempts.max(1);
        let backoff = self.max_delay.max(Duration::from_millis(1)) * 6;
        per_attempt
            .saturating_mul(attempts)
            .saturating_add(backoff.saturating_mul(attempts - 1))
            .saturating_add(
                rate_limited_wait
                    .saturating_add(per_attempt)
                    .saturating_mul(self.max_rate_limited),
            )
    }

    /// Full-jitter exponential backoff before attempt `attempt + 1` (`attempt` counts from 1).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        let cap = exp.min(self.max_delay);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        // Full jitter, but never zero: half fixed, half random.
        Duration::from_millis(millis / 2 + fastrand::u64(0..=millis / 2))
    }
}

/// Runs `op` until it succeeds, fails permanently, or runs out of attempts.
///
/// `what` names the call in logs (never a secret). Rate-limited failures wait for the delay the
/// error gives (or a backoff) and do not count as attempts, up to `max_rate_limited` times.
pub async fn retry<T, E, F, Fut>(policy: &RetryPolicy, what: &str, mut op: F) -> Result<T, E>
where
    E: Classify + std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 0u32;
    let mut limited = 0u32;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_rate_limited() && limited < policy.max_rate_limited => {
                limited += 1;
                let wait = e
                    .retry_after()
                    .unwrap_or_else(|| policy.backoff(limited.min(8)));
                tracing::info!(
                    call = what,
                    wait_ms = wait.as_millis() as u64,
                    "rate limited; waiting"
                );
                tokio::time::sleep(wait).await;
            }
            Err(e) if e.is_retryable() && attempt + 1 < policy.max_attempts.max(1) => {
                attempt += 1;
                let wait = e
                    .retry_after()
                    .unwrap_or_else(|| policy.backoff(attempt))
                    .min(policy.max_delay.max(Duration::from_millis(1)) * 6);
                tracing::warn!(call = what, attempt, error = %e, wait_ms = wait.as_millis() as u64, "retrying");
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether a response status is worth retrying (5xx, 408, 429).
pub fn status_is_retryable(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// Whether a transport error (no HTTP status) is worth retrying: timeouts, connection errors,
/// bodies cut short. Building a request wrongly is not.
pub fn transport_is_retryable(e: &reqwest::Error) -> bool {
    !e.is_builder() && !e.is_redirect()
}

/// `Retry-After` as seconds (the HTTP-date form is not used by either API, and is ignored).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = v.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

/// A readable message from an error body: `{"Message": ..}`, `{"message": ..}`, plain text or
/// empty. Cut to 200 characters, so a huge body never floods a log.
pub fn error_message(body: &str) -> String {
    let trimmed = body.trim();
    let text = if trimmed.starts_with('{') {
        extract_json_message(trimmed).unwrap_or_else(|| trimmed.to_string())
    } else {
        trimmed.to_string()
    };
    let mut out: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

fn extract_json_message(body: &str) -> Option<String> {
    // A tiny scan rather than a JSON dependency here: find "message" in any case.
    let lower = body.to_ascii_lowercase();
    let key = lower.find("\"message\"")?;
    let rest = &body[key + 9..];
    let colon = rest.find(':')?;
    let rest = rest[colon + 1..].trim_start();
    let rest = rest.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '"' => return Some(out),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_case_covers_every_attempt_backoff_and_rate_limited_wait() {
        let p = RetryPolicy::default();
        let per = Duration::from_secs(30);
        let window = Duration::from_secs(66);
        // 5 attempts of 30 s, 4 backoffs of at most 60 s, 20 waits of 66 s each after a reply
        assert_eq!(
            p.worst_case(per, window),
            Duration::from_secs(5 * 30 + 4 * 60 + 20 * (66 + 30))
        );
        let one = RetryPolicy {
            max_attempts: 0,
            max_rate_limited: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(one.worst_case(per, window), per);
    }
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Debug)]
    struct E {
        retry: bool,
        limited: bool,
    }
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "e")
        }
    }
    impl Classify for E {
        fn is_retryable(&self) -> bool {
            self.retry
        }
        fn is_rate_limited(&self) -> bool {
            self.limited
        }
        fn retry_after(&self) -> Option<Duration> {
            Some(Duration::from_millis(1))
        }
    }

    #[tokio::test]
    async fn retries_retryable_until_success() {
        let n = AtomicU32::new(0);
        let r: Result<u32, E> = retry(&RetryPolicy::fast(), "t", || async {
            let k = n.fetch_add(1, Ordering::SeqCst);
            if k < 2 {
                Err(E {
                    retry: true,
                    limited: false,
                })
            } else {
                Ok(k)
            }
        })
        .await;
        assert_eq!(r.ok(), Some(2));
        assert_eq!(n.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_is_not_retried() {
        let n = AtomicU32::new(0);
        let r: Result<(), E> = retry(&RetryPolicy::fast(), "t", || async {
            n.fetch_add(1, Ordering::SeqCst);
            Err(E {
                retry: false,
                limited: false,
            })
        })
        .await;
        assert!(r.is_err());
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn attempts_are_bounded() {
        let n = AtomicU32::new(0);
        let p = RetryPolicy::fast();
        let r: Result<(), E> = retry(&p, "t", || async {
            n.fetch_add(1, Ordering::SeqCst);
            Err(E {
                retry: true,
                limited: false,
            })
        })
        .await;
        assert!(r.is_err());
        assert_eq!(n.load(Ordering::SeqCst), p.max_attempts);
    }

    #[tokio::test]
    async fn rate_limits_do_not_spend_attempts_but_are_bounded() {
        let n = AtomicU32::new(0);
        let p = RetryPolicy::fast();
        let r: Result<(), E> = retry(&p, "t", || async {
            n.fetch_add(1, Ordering::SeqCst);
            Err(E {
                retry: true,
                limited: true,
            })
        })
        .await;
        assert!(r.is_err());
        // every 429 waited out, then the ordinary attempts
        assert_eq!(
            n.load(Ordering::SeqCst),
            p.max_rate_limited + p.max_attempts
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_rate_limited: 1,
        };
        for _ in 0..50 {
            let b1 = p.backoff(1);
            assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
            let b9 = p.backoff(9);
            assert!(b9 >= Duration::from_millis(500) && b9 <= Duration::from_millis(1000));
        }
        // no overflow on absurd attempt counts
        assert!(p.backoff(u32::MAX) <= Duration::from_millis(1000));
    }

    #[test]
    fn error_message_variants() {
        assert_eq!(error_message(r#"{"Message": "bad \"x\""}"#), "bad \"x\"");
        assert_eq!(error_message(r#"{"message":"lower"}"#), "lower");
        assert_eq!(error_message("plain text"), "plain text");
        assert_eq!(error_message(""), "");
        assert_eq!(error_message(&"x".repeat(500)).chars().count(), 201);
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn statuses() {
        assert!(status_is_retryable(StatusCode::SERVICE_UNAVAILABLE));
        assert!(status_is_retryable(StatusCode::TOO_MANY_REQUESTS));
        assert!(!status_is_retryable(StatusCode::BAD_REQUEST));
        assert!(!status_is_retryable(StatusCode::NOT_FOUND));
    }
}
