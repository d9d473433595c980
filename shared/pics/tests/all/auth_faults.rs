//! Bearer authentication and the error rules, against the simulator.

use std::time::{Duration, Instant};

use crate::common::*;
use picsync_pics::{LearnerQuery, PicsClient, PicsError};
use picsync_sim::faults::Fault;

const AUTH: &str = "POST /authentication";
const GET_LEARNER: &str = "GET /learners/{id}";

#[tokio::test]
async fn one_token_is_shared_by_every_clone() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    let clones: Vec<PicsClient> = (0..4).map(|_| c.clone()).collect();
    for k in &clones {
        k.get_learner(&"L-00001".into()).await.unwrap();
    }
    c.get_officer(&"O-1".into()).await.unwrap();
    assert_eq!(sim.counters().get(AUTH), 1);
    // calls() counts every HTTP call of the client and its clones, authentication included
    assert_eq!(c.calls(), 6);
    assert_eq!(clones[0].calls(), 6);
}

#[tokio::test]
async fn a_401_mid_run_renews_once_and_the_call_succeeds() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    c.get_learner(&"L-00001".into()).await.unwrap();
    sim.expire_tokens();
    let l = c.get_learner(&"L-00001".into()).await.unwrap();
    assert_eq!(l.learner_id, "L-00001");
    assert_eq!(sim.unauthorized(), 1);
    assert_eq!(sim.counters().get(AUTH), 2);
    assert_eq!(sim.counters().get(GET_LEARNER), 3);
    // the renewed token serves later calls without another authentication
    c.list_learners(&LearnerQuery::default()).await.unwrap();
    assert_eq!(sim.counters().get(AUTH), 2);
}

#[tokio::test]
async fn concurrent_calls_meeting_one_expiry_renew_once() {
    let sim = builder()
        .learners((0..8).map(|i| learner(i, true)))
        .start()
        .await
        .unwrap();
    let c = client(&sim);
    c.get_learner(&"L-00000".into()).await.unwrap();
    sim.expire_tokens();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.get_learner(&format!("L-{i:05}").into()).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(sim.counters().get(AUTH), 2, "one renewal for all eight");
}

#[tokio::test]
async fn the_token_is_renewed_before_expiry_without_meeting_a_401() {
    let sim = full_builder()
        .token_lifetime(Duration::from_millis(1000))
        .start()
        .await
        .unwrap();
    let c = client(&sim);
    c.get_learner(&"L-00001".into()).await.unwrap();
    // renewal is due after 90% of the lifetime (0.9 s); the old token is valid until 1 s
    tokio::time::sleep(Duration::from_millis(950)).await;
    c.get_learner(&"L-00001".into()).await.unwrap();
    assert_eq!(sim.counters().get(AUTH), 2);
    assert_eq!(sim.unauthorized(), 0);
}

#[tokio::test]
async fn refused_credentials_are_unauthorized_and_not_retried() {
    let sim = full_builder().start().await.unwrap();
    let mut cfg = config(&sim);
    cfg.password = "wrong-password-123".into();
    let c = PicsClient::new(cfg).unwrap();
    let e = c.get_learner(&"L-00001".into()).await.unwrap_err();
    assert!(matches!(e, PicsError::Unauthorized { .. }), "{e:?}");
    assert!(!e.is_retryable());
    assert_eq!(sim.counters().get(AUTH), 1);
    assert_eq!(sim.counters().get(GET_LEARNER), 0);
}

#[tokio::test]
async fn a_token_refused_again_after_renewal_is_unauthorized() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    sim.faults()
        .script(GET_LEARNER, [Fault::Status(401), Fault::Status(401)]);
    let e = c.get_learner(&"L-00001".into()).await.unwrap_err();
    assert!(matches!(e, PicsError::Unauthorized { .. }), "{e:?}");
    // first token, one renewal, and no more
    assert_eq!(sim.counters().get(AUTH), 2);
    assert_eq!(sim.counters().get(GET_LEARNER), 2);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    sim.faults()
        .script(GET_LEARNER, [Fault::Status(500), Fault::Status(503)]);
    c.get_learner(&"L-00001".into()).await.unwrap();
    assert_eq!(sim.counters().get(GET_LEARNER), 3);
}

#[tokio::test]
async fn persistent_server_errors_are_reported_after_bounded_attempts() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    sim.faults()
        .script(GET_LEARNER, std::iter::repeat_n(Fault::Status(502), 10));
    let e = c.get_learner(&"L-00001".into()).await.unwrap_err();
    assert!(
        matches!(&e, PicsError::Status { code: 502, endpoint, .. } if endpoint == "GET /Learners/L-00001"),
        "{e:?}"
    );
    assert!(e.is_retryable(), "a later run may succeed");
    let attempts = picsync_http::RetryPolicy::fast().max_attempts;
    assert_eq!(sim.counters().get(GET_LEARNER), u64::from(attempts));
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    for code in [400u16, 403, 422] {
        sim.counters().reset();
        sim.faults().script(GET_LEARNER, [Fault::Status(code)]);
        let e = c.get_learner(&"L-00001".into()).await.unwrap_err();
        assert!(
            matches!(e, PicsError::Status { code: c, .. } if c == code),
            "{e:?}"
        );
        assert!(
            e.to_string().contains("injected fault"),
            "server message kept: {e}"
        );
        assert_eq!(sim.counters().get(GET_LEARNER), 1, "{code}");
    }
}

#[tokio::test]
async fn timeouts_resets_and_broken_bodies_are_retried() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    sim.faults().script(
        GET_LEARNER,
        [
            Fault::Hang,
            Fault::Reset,
            Fault::Malformed,
            Fault::Truncated,
        ],
    );
    let started = Instant::now();
    let l = c.get_learner(&"L-00001".into()).await.unwrap();
    assert_eq!(l.learner_id, "L-00001");
    assert_eq!(sim.counters().get(GET_LEARNER), 5);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the hang was cut by the timeout"
    );
}

#[tokio::test]
async fn a_timeout_that_persists_is_a_retryable_transport_error() {
    let sim = full_builder().start().await.unwrap();
    let mut cfg = config(&sim);
    cfg.timeout = Duration::from_millis(150);
    cfg.retry.max_attempts = 2;
    let c = PicsClient::new(cfg).unwrap();
    c.get_learner(&"L-00001".into()).await.unwrap();
    sim.faults().script(GET_LEARNER, [Fault::Hang, Fault::Hang]);
    let e = c.get_learner(&"L-00001".into()).await.unwrap_err();
    assert!(
        matches!(&e, PicsError::Transport { retryable: true, message, .. } if message.contains("timed out")),
        "{e:?}"
    );
}

#[tokio::test]
async fn rate_limits_wait_for_retry_after() {
    let sim = full_builder()
        .retry_after(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let c = client(&sim);
    c.get_learner(&"L-00001".into()).await.unwrap();
    sim.faults().script(GET_LEARNER, [Fault::Status(429)]);
    let started = Instant::now();
    c.get_learner(&"L-00001".into()).await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(950), "waited {waited:?}");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
}

#[tokio::test]
async fn rate_limits_do_not_spend_attempts() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    let attempts = picsync_http::RetryPolicy::fast().max_attempts as usize;
    // more 429s than attempts, then one 500: still served (429s are waited out, R35 style)
    let mut script = vec![Fault::Status(429); attempts + 2];
    script.push(Fault::Status(500));
    sim.faults().script(GET_LEARNER, script);
    c.get_learner(&"L-00001".into()).await.unwrap();
    assert_eq!(sim.counters().get(GET_LEARNER), attempts as u64 + 4);
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    let sim = full_builder().start().await.unwrap();
    let base = sim.base_url();
    drop(sim);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut cfg = picsync_pics::PicsConfig::new(base, USER, PASSWORD);
    cfg.retry = picsync_http::RetryPolicy::fast();
    cfg.retry.max_attempts = 2;
    let c = PicsClient::new(cfg).unwrap();
    let e = c.get_learner(&"L-00001".into()).await.unwrap_err();
    assert!(
        matches!(
            e,
            PicsError::Transport {
                retryable: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        c.calls(),
        2,
        "one attempt and one retry, both at authentication"
    );
}
