//! The bearer token: reading `POST /Authentication`'s answer and deciding when to renew.
//!
//! The answer is read by hand from a `serde_json::Value`, so that no parse error can ever quote
//! the token back; the token goes straight into a [`SecretString`].

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use picsync_domain::time::parse_onefile_datetime;
use secrecy::SecretString;
use serde_json::Value;

use crate::config::DEFAULT_TOKEN_LIFETIME;

/// Longest head start taken before a token's expiry.
const MAX_RENEW_MARGIN: Duration = Duration::from_secs(5 * 60);

/// A bearer token as handed to one call: the secret and which renewal it came from.
#[derive(Clone)]
pub(crate) struct Bearer {
    pub secret: SecretString,
    /// Increases with each renewal, so that concurrent calls that all met a 401 renew once.
    pub generation: u64,
}

/// The cached token of a client.
pub(crate) struct Token {
    pub bearer: Bearer,
    /// When to renew: a margin before the expiry PICS announced.
    pub renew_at: Instant,
}

impl Token {
    /// Whether the token may still be used now.
    pub(crate) fn fresh(&self, now: Instant) -> bool {
        now < self.renew_at
    }
}

/// How long after issue a token with this lifetime is renewed: a tenth of the lifetime early,
/// at most five minutes early (so a 24 h token is renewed after 23 h 55 min, and a 2 s test
/// token after 1.8 s).
pub(crate) fn renew_after(lifetime: Duration) -> Duration {
    lifetime.saturating_sub((lifetime / 10).min(MAX_RENEW_MARGIN))
}

/// Why an authentication answer could not be used (never quotes the answer).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AnswerError {
    NotJson,
    NoToken,
}

impl std::fmt::Display for AnswerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnswerError::NotJson => write!(f, "the authentication answer is not a JSON object"),
            AnswerError::NoToken => write!(f, "the authentication answer has no Token"),
        }
    }
}

/// Reads `{"Token": .., "ExpiresUtc": ..}` into a token valid from `issued` (client time).
/// A missing or unreadable `ExpiresUtc` falls back to the documented 24 h lifetime; an expiry
/// in the past (clock skew) gives a token renewed at the next call.
pub(crate) fn read_answer(
    body: &str,
    generation: u64,
    issued: Instant,
    now_utc: DateTime<Utc>,
) -> Result<Token, AnswerError> {
    let v: Value = serde_json::from_str(body).map_err(|_| AnswerError::NotJson)?;
    let obj = v.as_object().ok_or(AnswerError::NotJson)?;
    let token = obj
        .get("Token")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .ok_or(AnswerError::NoToken)?;
    let lifetime = obj
        .get("ExpiresUtc")
        .and_then(Value::as_str)
        .and_then(parse_onefile_datetime)
        .map(|expires| (expires - now_utc).to_std().unwrap_or(Duration::ZERO))
        .unwrap_or(DEFAULT_TOKEN_LIFETIME);
    Ok(Token {
        bearer: Bearer {
            secret: SecretString::from(token.trim()),
            generation,
        },
        renew_at: issued + renew_after(lifetime),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn renewal_margin_is_a_tenth_capped_at_five_minutes() {
        assert_eq!(
            renew_after(Duration::from_secs(24 * 3600)),
            Duration::from_secs(24 * 3600 - 300)
        );
        assert_eq!(
            renew_after(Duration::from_secs(2)),
            Duration::from_millis(1800)
        );
        assert_eq!(renew_after(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn answer_with_expiry() {
        let now = Utc::now();
        let issued = Instant::now();
        let expires = (now + chrono::Duration::seconds(100)).to_rfc3339();
        let body = format!(r#"{{"Token": "tok-abc", "ExpiresUtc": "{expires}"}}"#);
        let t = read_answer(&body, 3, issued, now).unwrap();
        assert_eq!(t.bearer.secret.expose_secret(), "tok-abc");
        assert_eq!(t.bearer.generation, 3);
        let ahead = t.renew_at - issued;
        assert!(
            ahead >= Duration::from_secs(89) && ahead <= Duration::from_secs(91),
            "{ahead:?}"
        );
    }

    #[test]
    fn answer_without_expiry_uses_24h_and_past_expiry_renews_next_call() {
        let now = Utc::now();
        let issued = Instant::now();
        let t = read_answer(r#"{"Token": "x"}"#, 1, issued, now).unwrap();
        assert_eq!(t.renew_at - issued, renew_after(DEFAULT_TOKEN_LIFETIME));
        let past = (now - chrono::Duration::seconds(10)).to_rfc3339();
        let t = read_answer(
            &format!(r#"{{"Token":"x","ExpiresUtc":"{past}"}}"#),
            1,
            issued,
            now,
        )
        .unwrap();
        assert!(!t.fresh(issued));
    }

    #[test]
    fn unusable_answers_never_quote_the_body() {
        assert_eq!(
            read_answer("secret-token-as-plain-text", 1, Instant::now(), Utc::now()).err(),
            Some(AnswerError::NotJson)
        );
        let e = read_answer(r#"{"Token": 12345}"#, 1, Instant::now(), Utc::now())
            .err()
            .unwrap();
        assert_eq!(e, AnswerError::NoToken);
        assert!(!e.to_string().contains("12345"));
    }
}
