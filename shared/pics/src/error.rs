//! The one error type of the PICS client, and how the retry loop reads it.
//!
//! No variant holds a credential: messages come from status codes, endpoints (paths with ids),
//! server error bodies with any credential redacted, or transport errors with the URL stripped.

use std::time::Duration;

use picsync_http::Classify;

/// What went wrong with a PICS call.
#[derive(Debug, thiserror::Error)]
pub enum PicsError {
    /// `412 Precondition Failed`: the learner changed in PICS since it was read (R41).
    /// Retryable by re-reading the learner and re-planning, never by resending the same write.
    #[error(
        "PICS learner {learner} changed since it was read (412 Precondition Failed): re-read and re-plan (R41)"
    )]
    Conflict {
        /// The learner whose RowVersion was stale.
        learner: String,
    },
    /// PICS refused the credentials, or a freshly renewed token was refused again.
    #[error("PICS refused the API credentials at {endpoint} ({message})")]
    Unauthorized {
        /// Which call.
        endpoint: String,
        /// The server's reason, credentials redacted.
        message: String,
    },
    /// `404`: no such record (or no such endpoint).
    #[error("PICS has no such record: {endpoint} answered 404 ({message})")]
    NotFound {
        /// Which call.
        endpoint: String,
        /// The server's reason.
        message: String,
    },
    /// `409`: the write would create a duplicate.
    #[error("PICS refused a duplicate at {endpoint} (409): {message}")]
    Duplicate {
        /// Which call.
        endpoint: String,
        /// The server's reason.
        message: String,
    },
    /// `429`: too many calls; waited out by the retry loop (honouring `Retry-After`).
    #[error("PICS rate limited {endpoint} (429)")]
    RateLimited {
        /// Which call.
        endpoint: String,
        /// The server's `Retry-After`, when it gave one.
        retry_after: Option<Duration>,
    },
    /// Any other HTTP status (5xx and 408 are retried; other 4xx are permanent).
    #[error("PICS answered {code} at {endpoint}: {message}")]
    Status {
        /// The HTTP status code.
        code: u16,
        /// Which call.
        endpoint: String,
        /// The server's reason, credentials redacted.
        message: String,
    },
    /// No HTTP answer: connection refused or reset, timeout, body cut short.
    #[error("PICS transport error at {endpoint}: {message}")]
    Transport {
        /// Which call.
        endpoint: String,
        /// What the HTTP stack reported (no URL, no headers).
        message: String,
        /// Whether trying again may help (everything but a request we built wrongly).
        retryable: bool,
    },
    /// A reply that is not the JSON the contract promises.
    #[error("PICS sent a malformed reply at {endpoint}: {message}")]
    Malformed {
        /// Which call.
        endpoint: String,
        /// What is wrong, naming the field when one is at fault.
        message: String,
        /// True when the document is cut short or not JSON at all (a transmission fault,
        /// worth one more try); false when it is JSON of the wrong shape (a permanent fault).
        transient: bool,
    },
    /// The client could not be built from its configuration.
    #[error("invalid PICS client configuration: {0}")]
    Config(String),
    /// A request could not be encoded (e.g. a RowVersion that is not a valid header value).
    #[error("could not encode a request to PICS: {0}")]
    Encode(String),
}

impl PicsError {
    /// True when the operation may succeed if attempted again: a transient fault, a rate limit,
    /// or a [`Conflict`](PicsError::Conflict) (after re-reading the learner). The retry loop uses
    /// the narrower [`is_retryable_in_place`](PicsError::is_retryable_in_place).
    pub fn is_retryable(&self) -> bool {
        self.is_conflict() || self.is_retryable_in_place()
    }

    /// True for the 412 "changed since read" error (R41): re-read, re-plan, write again.
    pub fn is_conflict(&self) -> bool {
        matches!(self, PicsError::Conflict { .. })
    }

    /// True when resending the very same request may succeed (5xx, 408, 429, transport faults,
    /// a cut-short body). False for a conflict: resending a stale write must not happen.
    pub fn is_retryable_in_place(&self) -> bool {
        match self {
            PicsError::RateLimited { .. } => true,
            PicsError::Status { code, .. } => reqwest::StatusCode::from_u16(*code)
                .map(picsync_http::status_is_retryable)
                .unwrap_or(false),
            PicsError::Transport { retryable, .. } => *retryable,
            PicsError::Malformed { transient, .. } => *transient,
            PicsError::Conflict { .. }
            | PicsError::Unauthorized { .. }
            | PicsError::NotFound { .. }
            | PicsError::Duplicate { .. }
            | PicsError::Config(_)
            | PicsError::Encode(_) => false,
        }
    }

    /// The HTTP status behind this error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            PicsError::Conflict { .. } => Some(412),
            PicsError::Unauthorized { .. } => Some(401),
            PicsError::NotFound { .. } => Some(404),
            PicsError::Duplicate { .. } => Some(409),
            PicsError::RateLimited { .. } => Some(429),
            PicsError::Status { code, .. } => Some(*code),
            PicsError::Transport { .. }
            | PicsError::Malformed { .. }
            | PicsError::Config(_)
            | PicsError::Encode(_) => None,
        }
    }
}

/// The retry loop resends only what is safe to resend as it is (see
/// [`PicsError::is_retryable_in_place`]); a 412 goes back to the caller at once.
impl Classify for PicsError {
    fn is_retryable(&self) -> bool {
        self.is_retryable_in_place()
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            PicsError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    fn is_rate_limited(&self) -> bool {
        matches!(self, PicsError::RateLimited { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> PicsError {
        PicsError::Status {
            code,
            endpoint: "GET /Learners".into(),
            message: "m".into(),
        }
    }

    #[test]
    fn r41_conflict_is_retryable_by_rereading_but_not_in_place() {
        let e = PicsError::Conflict {
            learner: "L-1".into(),
        };
        assert!(e.is_conflict());
        assert!(e.is_retryable());
        assert!(!e.is_retryable_in_place());
        assert!(!Classify::is_retryable(&e));
        assert_eq!(e.status(), Some(412));
        assert!(e.to_string().contains("L-1") && e.to_string().contains("changed since"));
    }

    #[test]
    fn classification_follows_the_error_rules() {
        assert!(Classify::is_retryable(&status(500)));
        assert!(Classify::is_retryable(&status(503)));
        assert!(Classify::is_retryable(&status(408)));
        assert!(!Classify::is_retryable(&status(400)));
        assert!(!Classify::is_retryable(&status(403)));
        let unauth = PicsError::Unauthorized {
            endpoint: "e".into(),
            message: "m".into(),
        };
        assert!(!unauth.is_retryable());
        let limited = PicsError::RateLimited {
            endpoint: "e".into(),
            retry_after: Some(Duration::from_secs(2)),
        };
        assert!(limited.is_rate_limited() && Classify::is_retryable(&limited));
        assert_eq!(
            Classify::retry_after(&limited),
            Some(Duration::from_secs(2))
        );
        let cut = PicsError::Malformed {
            endpoint: "e".into(),
            message: "m".into(),
            transient: true,
        };
        assert!(Classify::is_retryable(&cut));
        let shape = PicsError::Malformed {
            endpoint: "e".into(),
            message: "m".into(),
            transient: false,
        };
        assert!(!shape.is_retryable());
        for e in [
            PicsError::NotFound {
                endpoint: "e".into(),
                message: "m".into(),
            },
            PicsError::Duplicate {
                endpoint: "e".into(),
                message: "m".into(),
            },
        ] {
            assert!(!e.is_retryable());
        }
    }
}
