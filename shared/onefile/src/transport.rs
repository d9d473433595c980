//! One OneFile call, end to end: pacing (R35), the session (renewed once on a 401), the HTTP
//! exchange, the mapping of every failure to a [`OneFileError`], and bounded retries through
//! `picsync_http::retry`.
//!
//! Calls that create a record are sent again only when OneFile certainly did not act on them
//! (no connection, 429, refused session): a timeout, 5xx or broken reply after a create is
//! returned to the caller, who searches before creating again (§7), rather than risking a
//! duplicate here.

use std::sync::Arc;
use std::time::Duration;

use picsync_http::{Classify, RetryPolicy, error_message, retry, retry_after};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::config::OneFileConfig;
use crate::error::OneFileError;
use crate::fields;
use crate::pacer::Pacer;
use crate::paging::PageSizes;
use crate::session::{Session, Sessions, parse_session};

/// Whether a call may be sent twice without harm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Safety {
    /// Reads, searches and partial updates: retried on any transient failure.
    Idempotent,
    /// Creates: retried only when OneFile certainly did not act (§7).
    Create,
}

/// A successful reply.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn is_no_content(&self) -> bool {
        self.status == StatusCode::NO_CONTENT || self.body.iter().all(u8::is_ascii_whitespace)
    }
}

/// What every clone of a client shares.
pub(crate) struct Transport {
    http: reqwest::Client,
    base_url: String,
    customer_token: SecretString,
    retry: RetryPolicy,
    rate_window: Duration,
    timeout: Duration,
    pub(crate) page_size: u32,
    pub(crate) pacer: Pacer,
    pub(crate) sessions: Sessions,
    pub(crate) pages: PageSizes,
}

/// The path of the authentication call.
const AUTH_PATH: &str = "/Authentication";

impl Transport {
    pub(crate) fn new(cfg: OneFileConfig, pacer: Pacer) -> Result<Self, OneFileError> {
        let base_url = cfg.base_url.trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&base_url)
            .map_err(|e| OneFileError::Config(format!("base URL {base_url:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OneFileError::Config(format!(
                "base URL {base_url:?} is not http(s)"
            )));
        }
        if cfg.customer_token.expose_secret().trim().is_empty() {
            return Err(OneFileError::Config("the customer token is empty".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| OneFileError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            base_url,
            customer_token: cfg.customer_token,
            retry: cfg.retry,
            rate_window: cfg.rate_window,
            timeout: cfg.timeout,
            page_size: cfg.page_size.max(1),
            pacer,
            sessions: Sessions::new(cfg.session_renew_after),
            pages: PageSizes::default(),
        })
    }

    /// The longest one call can take, retries and waits included (see
    /// [`RetryPolicy::worst_case`]): an attempt may wait for the pacer up to a window, then
    /// authenticate and send, twice after a 401; a 429 is waited out for a window plus a tenth
    /// (**Decision**: a `Retry-After` longer than the window is not foreseen).
    pub(crate) fn longest_call(&self) -> Duration {
        let window = self.rate_window + self.rate_window / 10;
        let per_attempt = window + self.timeout * 4;
        self.retry.worst_case(per_attempt, window)
    }

    /// Sends one call with retries and reads its reply with `decode` (given the endpoint
    /// label). Decoding is part of each attempt, so a body cut short or garbled is fetched
    /// again like any transient failure (for creates, only as [`Safety::Create`] allows).
    /// Getting a session is part of the attempt too, so one budget of attempts bounds both.
    pub(crate) async fn call<T>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        safety: Safety,
        decode: impl Fn(&str, &Reply) -> Result<T, OneFileError>,
    ) -> Result<T, OneFileError> {
        let endpoint = format!("{method} {path}");
        retry(&self.retry, &endpoint, || async {
            let reply = self.attempt(&method, path, body, &endpoint, safety).await?;
            decode(&endpoint, &reply).map_err(|error| Failed {
                error,
                create_sent: safety == Safety::Create,
            })
        })
        .await
        .map_err(|f| f.error)
    }

    /// One attempt: a 401 drops the session and the call is sent once more with a new one.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        endpoint: &str,
        safety: Safety,
    ) -> Result<Reply, Failed> {
        let before_send = |error| Failed {
            error,
            create_sent: false,
        };
        let after_send = |error| Failed {
            error,
            create_sent: safety == Safety::Create,
        };
        let mut renewed = false;
        loop {
            let session = self.session().await.map_err(before_send)?;
            let header = sensitive_header(endpoint, &session.id).map_err(before_send)?;
            self.pacer.acquire().await;
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.base_url))
                .header(fields::SESSION_HEADER, header);
            if let Some(b) = body {
                req = req.json(b);
            }
            let started = tokio::time::Instant::now();
            let resp = req
                .send()
                .await
                .map_err(|e| after_send(OneFileError::transport(endpoint, &e)))?;
            let status = resp.status();
            tracing::debug!(
                call = endpoint,
                status = status.as_u16(),
                ms = started.elapsed().as_millis() as u64,
                "OneFile reply"
            );
            if status == StatusCode::UNAUTHORIZED {
                if renewed {
                    return Err(after_send(OneFileError::Unauthorised {
                        endpoint: endpoint.to_string(),
                        status: 401,
                    }));
                }
                tracing::info!(
                    call = endpoint,
                    "OneFile refused the session; renewing it once"
                );
                self.sessions.invalidate(&session).await;
                renewed = true;
                continue;
            }
            return self
                .finish(endpoint, resp, Some(&session))
                .await
                .map_err(after_send);
        }
    }

    /// The current session, authenticating when there is none or it is due for renewal.
    async fn session(&self) -> Result<Arc<Session>, OneFileError> {
        self.sessions.get(|| self.authenticate()).await
    }

    /// `POST /Authentication` with the customer token, once: a transient failure is retried
    /// by the call that needed the session. 401/403 is permanent.
    async fn authenticate(&self) -> Result<SecretString, OneFileError> {
        let endpoint = format!("POST {AUTH_PATH}");
        let header = sensitive_header(&endpoint, &self.customer_token)?;
        self.pacer.acquire().await;
        let resp = self
            .http
            .post(format!("{}{AUTH_PATH}", self.base_url))
            .header(fields::CUSTOMER_TOKEN_HEADER, header)
            .send()
            .await
            .map_err(|e| OneFileError::transport(&endpoint, &e))?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(OneFileError::Unauthorised {
                endpoint,
                status: status.as_u16(),
            });
        }
        let reply = self.finish(&endpoint, resp, None).await?;
        parse_session(&endpoint, &reply.body)
    }

    /// Reads the body of a reply and turns an error status into a [`OneFileError`].
    async fn finish(
        &self,
        endpoint: &str,
        resp: reqwest::Response,
        session: Option<&Session>,
    ) -> Result<Reply, OneFileError> {
        let status = resp.status();
        if status.is_success() {
            let body = resp
                .bytes()
                .await
                .map_err(|e| OneFileError::transport(endpoint, &e))?;
            return Ok(Reply {
                status,
                body: body.to_vec(),
            });
        }
        let headers = resp.headers().clone();
        // The body of an error only gives its message: if it cannot be read, say nothing.
        let body = resp.bytes().await.unwrap_or_default();
        Err(self.error_for(endpoint, status, &headers, &body, session))
    }

    fn error_for(
        &self,
        endpoint: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        session: Option<&Session>,
    ) -> OneFileError {
        let endpoint = endpoint.to_string();
        match status {
            StatusCode::TOO_MANY_REQUESTS => {
                let wait = self.rate_limit_wait(headers);
                // R35: the whole tenant waits, not only this task.
                self.pacer.hold(wait);
                tracing::warn!(call = %endpoint, wait_ms = wait.as_millis() as u64, "OneFile rate limit (429)");
                OneFileError::RateLimited { endpoint, wait }
            }
            StatusCode::NOT_FOUND => OneFileError::NotFound { endpoint },
            StatusCode::UNAUTHORIZED => OneFileError::Unauthorised {
                endpoint,
                status: 401,
            },
            _ => OneFileError::Status {
                status: status.as_u16(),
                endpoint,
                message: self.redact(error_message(&String::from_utf8_lossy(body)), session),
            },
        }
    }

    /// `Retry-After` when given (plus a little jitter), else a whole window plus up to a
    /// tenth of one: by then the server's fixed window has surely rolled over.
    fn rate_limit_wait(&self, headers: &HeaderMap) -> Duration {
        match retry_after(headers) {
            Some(d) => d + jitter(Duration::from_millis(50).min(d / 10 + Duration::from_millis(1))),
            None => self.rate_window + jitter(self.rate_window / 10),
        }
    }

    /// Removes the customer token and the session from a message taken from a reply body.
    fn redact(&self, message: String, session: Option<&Session>) -> String {
        let mut out = message;
        let token = self.customer_token.expose_secret();
        if !token.is_empty() && out.contains(token) {
            out = out.replace(token, "[redacted]");
        }
        if let Some(s) = session {
            let id = s.id.expose_secret();
            if !id.is_empty() && out.contains(id) {
                out = out.replace(id, "[redacted]");
            }
        }
        out
    }
}

/// A random duration in `0..=max`.
fn jitter(max: Duration) -> Duration {
    let millis = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(fastrand::u64(0..=millis))
}

/// A header value marked sensitive (kept out of reqwest's and hyper's debug output).
fn sensitive_header(endpoint: &str, secret: &SecretString) -> Result<HeaderValue, OneFileError> {
    let mut v = HeaderValue::from_str(secret.expose_secret()).map_err(|_| {
        OneFileError::Config(format!(
            "{endpoint}: a credential holds characters that cannot be sent in a header"
        ))
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// A failed attempt as the retry loop sees it. A create that reached OneFile is retried only
/// when OneFile certainly did not act on it (§7); anything else follows the error.
struct Failed {
    error: OneFileError,
    /// A create was sent (OneFile may have acted on it).
    create_sent: bool,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl Classify for Failed {
    fn is_retryable(&self) -> bool {
        self.error.is_retryable() && (!self.create_sent || self.error.request_not_processed())
    }
    fn retry_after(&self) -> Option<Duration> {
        Classify::retry_after(&self.error)
    }
    fn is_rate_limited(&self) -> bool {
        self.error.is_rate_limited()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport() -> Transport {
        let cfg = OneFileConfig::new(
            "http://127.0.0.1:9/api/v2.1",
            SecretString::from("tok-XYZ-123".to_string()),
        );
        Transport::new(cfg, Pacer::new(10, Duration::from_secs(1))).unwrap()
    }

    #[test]
    fn messages_echoing_the_token_are_scrubbed() {
        let t = transport();
        let e = t.error_for(
            "POST /User",
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            br#"{"Message": "token tok-XYZ-123 may not create users"}"#,
            None,
        );
        let text = format!("{e} {e:?}");
        assert!(!text.contains("tok-XYZ-123"), "{text}");
        assert!(
            text.contains("token [redacted] may not create users"),
            "{text}"
        );
    }

    #[test]
    fn a_429_without_retry_after_waits_a_window_plus_jitter_and_holds_the_tenant() {
        let t = transport();
        for _ in 0..20 {
            let w = t.rate_limit_wait(&HeaderMap::new());
            assert!(
                w >= Duration::from_secs(60) && w <= Duration::from_secs(66),
                "{w:?}"
            );
        }
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("2"));
        let w = t.rate_limit_wait(&h);
        assert!(
            w >= Duration::from_secs(2) && w <= Duration::from_millis(2050),
            "{w:?}"
        );
    }

    #[test]
    fn bad_configuration_is_refused() {
        let bad_url = OneFileConfig::new("ftp://x", SecretString::from("t".to_string()));
        assert!(Transport::new(bad_url, Pacer::per_minute(280)).is_err());
        let no_token = OneFileConfig::new("http://x", SecretString::from(" ".to_string()));
        assert!(Transport::new(no_token, Pacer::per_minute(280)).is_err());
        let header = sensitive_header("e", &SecretString::from("bad\nvalue".to_string()));
        let e = header.unwrap_err();
        assert!(!format!("{e} {e:?}").contains("bad\nvalue"));
    }
}
