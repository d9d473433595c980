#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package
//! Credentials and bearer tokens never appear in errors, Debug output or logs (captured at
//! TRACE level while the client meets every kind of failure).

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use picsync_pics::{LearnerPatch, LearnerQuery, PicsClient};
use picsync_sim::faults::Fault;
use tracing_subscriber::fmt::MakeWriter;

const WRONG_PASSWORD: &str = "Wrong-7d1e2a-secret";

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

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn credentials_never_appear_in_errors_debug_or_captured_logs() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sim = full_builder()
        .retry_after(std::time::Duration::from_secs(0))
        .start()
        .await
        .unwrap();
    let c = client(&sim);
    let mut seen: Vec<String> = vec![format!("{c:?}"), format!("{:?}", config(&sim))];
    fn record(seen: &mut Vec<String>, e: &picsync_pics::PicsError) {
        seen.push(e.to_string());
        seen.push(format!("{e:?}"));
    }

    // normal calls, a renewal after a 401, and every kind of fault
    c.list_learners(&LearnerQuery::default()).await.unwrap();
    sim.expire_tokens();
    let l = c.get_learner(&"L-00001".into()).await.unwrap();
    sim.faults().script(
        "GET /learners/{id}",
        [
            Fault::Status(500),
            Fault::Reset,
            Fault::Malformed,
            Fault::Truncated,
            Fault::Status(429),
        ],
    );
    c.get_learner(&"L-00001".into()).await.unwrap();
    sim.faults()
        .script("GET /learners/{id}", [Fault::Status(400)]);
    record(
        &mut seen,
        &c.get_learner(&"L-00001".into()).await.unwrap_err(),
    );
    record(
        &mut seen,
        &c.get_learner(&"L-missing".into()).await.unwrap_err(),
    );
    sim.faults().script(
        "GET /learners/{id}",
        [Fault::Status(401), Fault::Status(401)],
    );
    record(
        &mut seen,
        &c.get_learner(&"L-00001".into()).await.unwrap_err(),
    );
    sim.before_next_write("L-00001", |s| {
        s.learner_mut("L-00001").unwrap().demographics.sex = Some("F".into());
    });
    record(
        &mut seen,
        &c.patch_learner(&"L-00001".into(), &l.row_version, &LearnerPatch::default())
            .await
            .unwrap_err(),
    );
    sim.faults()
        .script("POST /authentication", [Fault::Status(503)]);
    sim.expire_tokens();
    c.get_officer(&"O-1".into()).await.unwrap();

    // refused credentials
    let mut bad = config(&sim);
    bad.password = WRONG_PASSWORD.into();
    let bad = PicsClient::new(bad).unwrap();
    seen.push(format!("{bad:?}"));
    record(
        &mut seen,
        &bad.get_learner(&"L-00001".into()).await.unwrap_err(),
    );

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("PICS call"), "logs were captured: {logs}");
    assert!(logs.contains("retrying"), "retries were logged: {logs}");
    assert!(logs.contains("renewing"), "the renewal was logged: {logs}");
    let tokens = sim.issued_tokens();
    assert!(
        tokens.len() >= 3,
        "several tokens were issued: {}",
        tokens.len()
    );
    let mut secrets: Vec<&str> = vec![PASSWORD, WRONG_PASSWORD];
    secrets.extend(tokens.iter().map(String::as_str));
    for s in secrets {
        assert!(!logs.contains(s), "a secret leaked into the logs");
        for text in &seen {
            assert!(!text.contains(s), "a secret leaked into {text}");
        }
    }
    assert!(seen.len() >= 12);
}
