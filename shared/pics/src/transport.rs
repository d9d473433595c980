//! One HTTP exchange with PICS, and how its outcome maps to [`PicsError`].

use std::time::Instant;

use picsync_http::{error_message, retry_after};
use reqwest::header::{HeaderMap, HeaderValue, IF_MATCH};
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::error::PicsError;

/// A call, built once and sent once per attempt.
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    /// `"<METHOD> /<path>"` with the ids, for errors and logs (never a secret).
    pub endpoint: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
    /// The learner's RowVersion, for writes under a learner (R41).
    pub if_match: Option<HeaderValue>,
    /// The learner a 412 is about; `None` for calls that are not writes under a learner.
    pub learner: Option<String>,
}

impl Call {
    /// A call without body or precondition.
    pub(crate) fn new(method: Method, url: Url, path: &[&str]) -> Self {
        Self {
            endpoint: format!("{method} /{}", path.join("/")),
            method,
            url,
            query: Vec::new(),
            body: None,
            if_match: None,
            learner: None,
        }
    }

    /// Adds a JSON body.
    pub(crate) fn json<T: serde::Serialize>(mut self, body: &T) -> Result<Self, PicsError> {
        let bytes = serde_json::to_vec(body).map_err(|e| PicsError::Encode(e.to_string()))?;
        self.body = Some(bytes);
        Ok(self)
    }

    /// Makes the call conditional on the learner's RowVersion (R41).
    pub(crate) fn if_match(mut self, learner: &str, row_version: &str) -> Result<Self, PicsError> {
        let v = HeaderValue::from_str(row_version).map_err(|_| {
            PicsError::Encode(format!(
                "the RowVersion of learner {learner} cannot be sent as an If-Match header"
            ))
        })?;
        self.if_match = Some(v);
        self.learner = Some(learner.to_string());
        Ok(self)
    }
}

/// A complete HTTP answer (status, headers, whole body).
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

/// Sends `call` once (with the bearer token, if given) and reads the whole reply.
pub(crate) async fn send(
    http: &reqwest::Client,
    call: &Call,
    bearer: Option<&SecretString>,
) -> Result<Reply, PicsError> {
    let started = Instant::now();
    let mut rb = http.request(call.method.clone(), call.url.clone());
    if !call.query.is_empty() {
        rb = rb.query(&call.query);
    }
    if let Some(token) = bearer {
        // reqwest marks the header sensitive, so it is never printed by the HTTP stack either.
        rb = rb.bearer_auth(token.expose_secret());
    }
    if let Some(v) = &call.if_match {
        rb = rb.header(IF_MATCH, v.clone());
    }
    if let Some(body) = &call.body {
        rb = rb
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone());
    }
    let resp = rb.send().await.map_err(|e| transport(&call.endpoint, e))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .text()
        .await
        .map_err(|e| transport(&call.endpoint, e))?;
    tracing::debug!(
        endpoint = %call.endpoint,
        status = status.as_u16(),
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "PICS call"
    );
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// A transport failure, described without URL (the endpoint names the call instead).
fn transport(endpoint: &str, e: reqwest::Error) -> PicsError {
    let retryable = picsync_http::transport_is_retryable(&e);
    let timeout = e.is_timeout();
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    if timeout && !message.contains("timed out") {
        message.push_str(" (timed out)");
    }
    PicsError::Transport {
        endpoint: endpoint.to_string(),
        message,
        retryable,
    }
}

/// Replaces every secret found in `text` (a server message may quote what it was sent).
pub(crate) fn redact(text: String, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|s| s.len() >= 4)
        .fold(text, |t, s| t.replace(s, "[REDACTED]"))
}

/// Turns a non-2xx reply into its error; passes a 2xx reply through.
pub(crate) fn check(call: &Call, reply: Reply, secrets: &[&str]) -> Result<Reply, PicsError> {
    if reply.status.is_success() {
        return Ok(reply);
    }
    let endpoint = call.endpoint.clone();
    let message = redact(error_message(&reply.body), secrets);
    Err(match reply.status {
        StatusCode::UNAUTHORIZED => PicsError::Unauthorized { endpoint, message },
        StatusCode::NOT_FOUND => PicsError::NotFound { endpoint, message },
        StatusCode::CONFLICT => PicsError::Duplicate { endpoint, message },
        StatusCode::TOO_MANY_REQUESTS => PicsError::RateLimited {
            endpoint,
            retry_after: retry_after(&reply.headers),
        },
        StatusCode::PRECONDITION_FAILED if call.learner.is_some() => PicsError::Conflict {
            learner: call.learner.clone().unwrap_or_default(),
        },
        s => PicsError::Status {
            code: s.as_u16(),
            endpoint,
            message,
        },
    })
}

/// Parses a JSON reply; a failure names the field at fault and says whether the document was
/// cut short or not JSON (transient) or JSON of the wrong shape (permanent).
pub(crate) fn parse<T: DeserializeOwned>(endpoint: &str, body: &str) -> Result<T, PicsError> {
    let de = &mut serde_json::Deserializer::from_str(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let transient = !inner.is_data();
        let message = if transient {
            format!("the reply is not complete JSON ({inner})")
        } else if path == "." {
            format!("unexpected document: {inner}")
        } else {
            format!("field {path}: {inner}")
        };
        PicsError::Malformed {
            endpoint: endpoint.to_string(),
            message,
            transient,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(learner: Option<&str>) -> Call {
        let mut c = Call::new(
            Method::PATCH,
            Url::parse("http://127.0.0.1/app/api/v1/Learners/L1").unwrap(),
            &["Learners", "L1"],
        );
        c.learner = learner.map(str::to_string);
        c
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.to_string(),
        }
    }

    #[test]
    fn r41_412_under_a_learner_is_a_conflict() {
        let e = check(&call(Some("L1")), reply(412, ""), &[]).err().unwrap();
        assert!(matches!(e, PicsError::Conflict { ref learner } if learner == "L1"));
        let e = check(&call(None), reply(412, ""), &[]).err().unwrap();
        assert!(matches!(e, PicsError::Status { code: 412, .. }));
    }

    #[test]
    fn statuses_map_to_their_variants_and_messages_are_redacted() {
        let c = call(None);
        let e = check(
            &c,
            reply(400, r#"{"Message":"bad pass hunter22"}"#),
            &["hunter22"],
        )
        .err()
        .unwrap();
        assert_eq!(
            e.to_string(),
            "PICS answered 400 at PATCH /Learners/L1: bad pass [REDACTED]"
        );
        assert!(matches!(
            check(&c, reply(404, ""), &[]),
            Err(PicsError::NotFound { .. })
        ));
        assert!(matches!(
            check(&c, reply(409, ""), &[]),
            Err(PicsError::Duplicate { .. })
        ));
        assert!(matches!(
            check(&c, reply(401, ""), &[]),
            Err(PicsError::Unauthorized { .. })
        ));
        let mut limited = reply(429, "");
        limited
            .headers
            .insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("2"));
        assert!(matches!(
            check(&c, limited, &[]),
            Err(PicsError::RateLimited { retry_after: Some(d), .. }) if d.as_secs() == 2
        ));
        assert!(check(&c, reply(204, ""), &[]).is_ok());
    }

    #[test]
    fn parse_errors_name_the_field_and_say_if_transient() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            #[serde(rename = "Items")]
            items: Vec<U>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct U {
            #[serde(rename = "N")]
            n: i64,
        }
        let e = parse::<T>("GET /x", r#"{"Items": [{"N": 1}, {"N": "x"}]}"#)
            .err()
            .unwrap();
        match e {
            PicsError::Malformed {
                message, transient, ..
            } => {
                assert!(message.contains("Items[1].N"), "{message}");
                assert!(!transient);
            }
            other => panic!("{other:?}"),
        }
        let e = parse::<T>("GET /x", r#"{"Items": [{"N": 1"#).err().unwrap();
        assert!(matches!(
            e,
            PicsError::Malformed {
                transient: true,
                ..
            }
        ));
        let e = parse::<T>("GET /x", "<html>").err().unwrap();
        assert!(matches!(
            e,
            PicsError::Malformed {
                transient: true,
                ..
            }
        ));
    }
}
