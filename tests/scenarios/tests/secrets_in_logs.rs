#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package
//! Secrets never reach logs or errors: a whole session of work — enrolments, an initial and a
//! periodic sync under random faults, a wrong password, an expired session, a refused token —
//! is logged at TRACE level, and every line, error and report is scanned for every secret value
//! (customer token, PICS password, every session and bearer token the simulators issued).
//! One test in this file: the log capture is process-wide.

mod common;
use common::*;

use std::io::Write;
use std::sync::{Arc, Mutex};

use picsync_domain::LearnerId;
use picsync_engine::{EnrolRequest, NoProgress, RunOptions};
use picsync_sim::faults::Fault;
use picsync_sim::world;
use secrecy::SecretString;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_log_line_error_or_report() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("the only subscriber of this test binary");

    let env = env(40).await;
    let mut said = Vec::new(); // every error and report we were given, as text
    for id in env.sims.info.unlinked.clone() {
        match env
            .engine
            .enrol(
                &env.tenant,
                &EnrolRequest {
                    learner: LearnerId::new(&id),
                    ..Default::default()
                },
            )
            .await
        {
            Ok(r) => said.push(format!("{r:?}")),
            Err(e) => said.push(format!("{e} {e:?}")),
        }
    }
    env.sims.onefile.faults().random(
        None,
        0.1,
        vec![
            Fault::Status(500),
            Fault::Status(401),
            Fault::Malformed,
            Fault::Reset,
            Fault::Status(429),
        ],
        5,
    );
    env.sims.pics.faults().random(
        None,
        0.1,
        vec![
            Fault::Status(500),
            Fault::Status(401),
            Fault::Malformed,
            Fault::Reset,
        ],
        9,
    );
    for _ in 0..2 {
        match env
            .engine
            .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
            .await
        {
            Ok(s) => said.push(format!("{:?} {:?}", s.run, s.reports)),
            Err(e) => said.push(format!("{e} {e:?}")),
        }
        env.sims.onefile.expire_sessions();
        env.sims.pics.expire_tokens();
    }
    env.sims.onefile.faults().clear();
    env.sims.pics.faults().clear();
    // wrong credentials on both sides
    let mut bad = env.tenant.clone();
    let mut pc = picsync_pics::PicsConfig::new(
        env.sims.pics.base_url(),
        world::PICS_USERNAME,
        SecretString::from("wrong-password-5c1f"),
    );
    pc.retry = picsync_http::RetryPolicy::fast();
    bad.pics = picsync_pics::PicsClient::new(pc).unwrap();
    let oc = picsync_onefile::OneFileConfig::new(
        env.sims.onefile.base_url(),
        SecretString::from("wrong-token-77ad"),
    );
    bad.onefile =
        picsync_onefile::OneFileClient::new(oc, picsync_onefile::Pacer::new(280, WINDOW)).unwrap();
    for e in [
        env.engine.check(&bad).await.err(),
        env.engine
            .run_tenant(&bad, &RunOptions::default(), &NoProgress)
            .await
            .err(),
    ]
    .into_iter()
    .flatten()
    {
        said.push(format!("{e} {e:?}"));
    }
    said.push(format!("{:?} {:?}", env.tenant.pics, env.tenant.onefile));

    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).to_string();
    assert!(
        logs.lines().count() > 100,
        "the session was logged ({} lines)",
        logs.lines().count()
    );
    let mut secrets: Vec<String> = vec![
        world::ONEFILE_TOKEN.into(),
        world::PICS_PASSWORD.into(),
        "wrong-password-5c1f".into(),
        "wrong-token-77ad".into(),
    ];
    secrets.extend(env.sims.onefile.issued_sessions());
    secrets.extend(env.sims.pics.issued_tokens());
    assert!(
        secrets.len() > 6,
        "sessions and tokens were issued: {}",
        secrets.len()
    );
    let everything = format!("{logs}\n{}", said.join("\n"));
    for s in &secrets {
        assert!(s.len() >= 8, "a secret long enough to scan for");
        assert!(
            !everything.contains(s.as_str()),
            "a secret value appears in the logs or errors"
        );
    }
}
