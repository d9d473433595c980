//! The one error type of the OneFile client.
//!
//! Every variant knows whether the same call may succeed later ([`OneFileError::is_retryable`]).
//! No variant holds the customer token or the session: they never reach an error's `Debug` or
//! `Display` (messages taken from response bodies are scrubbed of both before they are stored).

use std::time::Duration;

/// What went wrong at the transport level (no usable HTTP reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// No connection could be made: the request never reached OneFile.
    Connect,
    /// The call took longer than the configured timeout.
    Timeout,
    /// The connection broke while the request or the reply was in flight.
    Broken,
    /// The request could not be built (a bug or bad configuration; not retryable).
    Request,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connection failed",
            TransportKind::Timeout => "timed out",
            TransportKind::Broken => "connection broken mid-reply",
            TransportKind::Request => "request could not be built",
        })
    }
}

/// An error from the OneFile client. `endpoint` names the call (`"POST /User/Search/1/100"`),
/// never a credential.
#[derive(Debug, thiserror::Error)]
pub enum OneFileError {
    /// OneFile refused the customer token, or refused the session again after one renewal.
    #[error(
        "OneFile refused the credentials on {endpoint} (HTTP {status}, after renewing the session once)"
    )]
    Unauthorised {
        /// The call.
        endpoint: String,
        /// 401 or 403.
        status: u16,
    },
    /// HTTP 429: over OneFile's rate limit. Waited out and retried by the client (R35).
    #[error("OneFile rate limit reached on {endpoint}; retry after {} ms", wait.as_millis())]
    RateLimited {
        /// The call.
        endpoint: String,
        /// How long to wait: `Retry-After` when given, else until the rate window has rolled over.
        wait: Duration,
    },
    /// The record does not exist (HTTP 404, or no content where one record was expected).
    #[error("OneFile has no such record: {endpoint}")]
    NotFound {
        /// The call.
        endpoint: String,
    },
    /// Any other HTTP error status.
    #[error("OneFile answered HTTP {status} on {endpoint}: {message}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The call.
        endpoint: String,
        /// The message from the body (`picsync_http::error_message`), possibly empty.
        message: String,
    },
    /// No usable reply: connection refused, timeout, connection reset.
    #[error("OneFile call {endpoint} failed: {kind}")]
    Transport {
        /// The call.
        endpoint: String,
        /// What failed.
        kind: TransportKind,
    },
    /// The reply could not be read: not JSON, cut short, or a field of the wrong shape.
    #[error("OneFile gave a malformed answer on {endpoint}: {what}")]
    Malformed {
        /// The call.
        endpoint: String,
        /// What is wrong (for a field: its name and the value's problem).
        what: String,
        /// True when the body itself was unreadable (truncated or not JSON), which a second
        /// try may cure; false for well-formed JSON holding a bad value.
        transient: bool,
    },
    /// OneFile accepted a write of an **Assumed** field (its name is undocumented: the crate
    /// page, "Assumed names") and did not store it: the name is probably wrong, since OneFile
    /// accepts keys it does not know. Found by reading the record back after the first write of the
    /// field; from then on the client refuses to write the field (R40: a write that did not
    /// stick would later read as "cleared in OneFile").
    #[error(
        "OneFile ignores the field {field} ({endpoint}): a write of it answered success and \
         stored nothing, as read back; the Assumed field name {field} is probably wrong, and \
         picsync writes no {field} until the name is confirmed against OneFile and corrected"
    )]
    Ignored {
        /// The call that wrote the field, or would have.
        endpoint: String,
        /// The Assumed field name ([`crate::fields`]).
        field: String,
    },
    /// The client was configured wrongly (bad base URL, environment name, header value).
    #[error("OneFile client configuration: {0}")]
    Config(String),
}

impl OneFileError {
    /// True when the same call may succeed if tried again: 429, 5xx, 408, timeouts, connection
    /// errors and unreadable bodies. 400, 403, 404, other 4xx and bad values are permanent; a
    /// 401 is permanent once the session has been renewed.
    pub fn is_retryable(&self) -> bool {
        match self {
            OneFileError::RateLimited { .. } => true,
            OneFileError::Status { status, .. } => reqwest::StatusCode::from_u16(*status)
                .map(picsync_http::status_is_retryable)
                .unwrap_or(false),
            OneFileError::Transport { kind, .. } => *kind != TransportKind::Request,
            OneFileError::Malformed { transient, .. } => *transient,
            OneFileError::Unauthorised { .. }
            | OneFileError::NotFound { .. }
            | OneFileError::Ignored { .. }
            | OneFileError::Config(_) => false,
        }
    }

    /// True when OneFile certainly did not act on the request (no connection, rate limited,
    /// refused credentials), so even a create may be sent again without risking a duplicate
    /// (§7). Timeouts, 5xx and broken replies are ambiguous: the record may exist.
    pub fn request_not_processed(&self) -> bool {
        match self {
            OneFileError::RateLimited { .. } | OneFileError::Unauthorised { .. } => true,
            OneFileError::Transport { kind, .. } => {
                matches!(kind, TransportKind::Connect | TransportKind::Request)
            }
            _ => false,
        }
    }

    /// The call this error is about, when it is about one.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            OneFileError::Unauthorised { endpoint, .. }
            | OneFileError::RateLimited { endpoint, .. }
            | OneFileError::NotFound { endpoint }
            | OneFileError::Status { endpoint, .. }
            | OneFileError::Transport { endpoint, .. }
            | OneFileError::Malformed { endpoint, .. }
            | OneFileError::Ignored { endpoint, .. } => Some(endpoint),
            OneFileError::Config(_) => None,
        }
    }

    pub(crate) fn malformed(endpoint: &str, what: impl Into<String>) -> Self {
        OneFileError::Malformed {
            endpoint: endpoint.to_string(),
            what: what.into(),
            transient: false,
        }
    }

    pub(crate) fn unreadable(endpoint: &str, what: impl Into<String>) -> Self {
        OneFileError::Malformed {
            endpoint: endpoint.to_string(),
            what: what.into(),
            transient: true,
        }
    }

    /// Classifies a reqwest failure without keeping it (its text could carry a URL).
    pub(crate) fn transport(endpoint: &str, e: &reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            TransportKind::Timeout
        } else if e.is_connect() {
            TransportKind::Connect
        } else if !picsync_http::transport_is_retryable(e) {
            TransportKind::Request
        } else {
            TransportKind::Broken
        };
        OneFileError::Transport {
            endpoint: endpoint.to_string(),
            kind,
        }
    }
}

impl picsync_http::Classify for OneFileError {
    fn is_retryable(&self) -> bool {
        OneFileError::is_retryable(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            OneFileError::RateLimited { wait, .. } => Some(*wait),
            _ => None,
        }
    }

    fn is_rate_limited(&self) -> bool {
        matches!(self, OneFileError::RateLimited { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use picsync_http::Classify;

    fn status(code: u16) -> OneFileError {
        OneFileError::Status {
            status: code,
            endpoint: "POST /User/Search".into(),
            message: String::new(),
        }
    }

    #[test]
    fn retryable_versus_permanent() {
        assert!(status(500).is_retryable());
        assert!(status(503).is_retryable());
        assert!(status(408).is_retryable());
        assert!(!status(400).is_retryable());
        assert!(!status(403).is_retryable());
        assert!(!status(409).is_retryable());
        let limited = OneFileError::RateLimited {
            endpoint: "GET /Customer".into(),
            wait: Duration::from_millis(300),
        };
        assert!(limited.is_retryable() && limited.is_rate_limited());
        assert_eq!(
            Classify::retry_after(&limited),
            Some(Duration::from_millis(300))
        );
        assert!(
            !OneFileError::NotFound {
                endpoint: "GET /User/1".into()
            }
            .is_retryable()
        );
        assert!(!OneFileError::malformed("GET /User/1", "bad DOB").is_retryable());
        assert!(OneFileError::unreadable("GET /User/1", "cut short").is_retryable());
        let timeout = OneFileError::Transport {
            endpoint: "GET /User/1".into(),
            kind: TransportKind::Timeout,
        };
        assert!(timeout.is_retryable() && !timeout.request_not_processed());
        let refused = OneFileError::Transport {
            endpoint: "GET /User/1".into(),
            kind: TransportKind::Connect,
        };
        assert!(refused.is_retryable() && refused.request_not_processed());
    }

    #[test]
    fn display_names_the_endpoint() {
        let e = status(400);
        assert_eq!(
            e.to_string(),
            "OneFile answered HTTP 400 on POST /User/Search: "
        );
        assert_eq!(e.endpoint(), Some("POST /User/Search"));
    }
}
