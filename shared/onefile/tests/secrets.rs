#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package
//! Neither the customer token nor any session appears in an error's Debug or Display, nor
//! in logs captured at TRACE level, whatever goes wrong.
//!
//! This file holds a single test on purpose: tracing caches each call site's interest
//! globally, so a second test calling the client on another thread (with no subscriber)
//! could switch the captured events off.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{client_with, config, world};
use picsync_domain::OfUserId;
use picsync_http::RetryPolicy;
use picsync_onefile::{NewReview, OneFileError, SecretString};
use picsync_sim::faults::Fault;
use picsync_sim::onefile::{OneFileSim, Quirks};
use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const WRONG_TOKEN: &str = "WRONG-customer-token-7f3a";

#[tokio::test(flavor = "current_thread")]
async fn neither_the_customer_token_nor_the_session_appears_in_errors_or_logs() {
    let logs = Capture::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let w = world(
        OneFileSim::builder()
            .rate_limit(6, Duration::from_millis(400))
            .quirks(Quirks {
                quote_session: true,
                ..Quirks::default()
            }),
        2,
    )
    .await;
    let learner = w.pop.learner_ids[0];
    let user = OfUserId(learner);
    let mut cfg = config(&w.sim);
    cfg.timeout = Duration::from_millis(200);
    cfg.rate_window = Duration::from_millis(400);
    cfg.retry = RetryPolicy {
        max_attempts: 2,
        max_rate_limited: 0,
        ..RetryPolicy::fast()
    };
    let c = client_with(cfg.clone());
    let mut errors: Vec<OneFileError> = Vec::new();

    // successes, a renewal after expiry, then every kind of failure
    c.get_user(user).await.unwrap();
    w.sim.expire_sessions();
    c.get_user(user).await.unwrap();
    w.sim
        .faults()
        .script("GET /customer", [Fault::Status(500), Fault::Status(503)]);
    errors.push(c.customer().await.unwrap_err());
    w.sim
        .faults()
        .script("GET /customer", [Fault::Hang, Fault::Hang]);
    errors.push(c.customer().await.unwrap_err());
    w.sim
        .faults()
        .script("GET /customer", [Fault::Truncated, Fault::Malformed]);
    errors.push(c.customer().await.unwrap_err());
    w.sim
        .faults()
        .script("GET /customer", [Fault::Status(401), Fault::Status(401)]);
    errors.push(c.customer().await.unwrap_err());
    errors.push(c.get_user(OfUserId(999_999)).await.unwrap_err());
    w.sim
        .edit(|e| e.raw().override_field(learner, "DOB", json!("not a date")));
    errors.push(c.get_user(user).await.unwrap_err());
    let review = NewReview {
        learner_id: OfUserId(999_999),
        scheduled_for: chrono::Utc::now(),
        visit_id: None,
        assessor_id: OfUserId(1),
    };
    errors.push(c.create_review(&review).await.unwrap_err());
    // run into the rate limit (no waiting and one attempt: the 429 surfaces)
    let mut impatient = cfg.clone();
    impatient.retry.max_attempts = 1;
    let hasty = client_with(impatient);
    let mut limited = None;
    for _ in 0..10 {
        if let Err(e) = hasty.customer().await {
            limited = Some(e);
            break;
        }
    }
    errors.push(limited.expect("the rate limit was reached"));
    // a wrong customer token
    let mut wrong = cfg.clone();
    wrong.customer_token = SecretString::from(WRONG_TOKEN.to_string());
    tokio::time::sleep(Duration::from_millis(450)).await;
    errors.push(client_with(wrong).customer().await.unwrap_err());
    // nobody listening
    let mut nowhere = cfg.clone();
    nowhere.base_url = "http://127.0.0.1:9/api/v2.1".into();
    errors.push(client_with(nowhere).customer().await.unwrap_err());

    let kinds: Vec<&str> = errors
        .iter()
        .map(|e| match e {
            OneFileError::Unauthorised { .. } => "unauthorised",
            OneFileError::RateLimited { .. } => "rate limited",
            OneFileError::NotFound { .. } => "not found",
            OneFileError::Status { .. } => "status",
            OneFileError::Transport { .. } => "transport",
            OneFileError::Malformed { .. } => "malformed",
            OneFileError::Ignored { .. } => "ignored",
            OneFileError::Config(_) => "config",
        })
        .collect();
    for kind in [
        "unauthorised",
        "rate limited",
        "not found",
        "status",
        "transport",
        "malformed",
    ] {
        assert!(kinds.contains(&kind), "no {kind} error among {kinds:?}");
    }

    let mut secrets = w.sim.issued_sessions();
    assert!(secrets.len() >= 3, "sessions were issued and renewed");
    secrets.push(w.sim.customer_token().to_string());
    secrets.push(WRONG_TOKEN.to_string());
    let printed: String = errors
        .iter()
        .map(|e| format!("{e}\n{e:?}\n"))
        .chain([
            format!("{c:?}"),
            format!("{cfg:?}"),
            format!("{:?}", c.pacer()),
        ])
        .collect();
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("OneFile reply"),
        "logs were captured:\n{logged}"
    );
    assert!(logged.contains("renewing it once"), "{logged}");
    for secret in &secrets {
        assert!(
            !printed.contains(secret.as_str()),
            "a secret was printed:\n{printed}"
        );
        assert!(!logged.contains(secret.as_str()), "a secret was logged");
        // not even a recognisable piece of it
        let piece = &secret[..secret.len().min(24)];
        assert!(!logged.contains(piece) && !printed.contains(piece));
    }
}
