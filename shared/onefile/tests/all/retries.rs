//! Retries against the simulator over real HTTP: bounded exponential backoff on 5xx,
//! timeouts and connection errors; other 4xx are permanent; creates are never sent twice
//! when OneFile may have acted on them (§7).

use std::time::Duration;

use crate::common::{client, client_with, config, world};
use chrono::{TimeZone, Utc};
use picsync_domain::{OfAimId, OfUserId};
use picsync_http::RetryPolicy;
use picsync_onefile::{NewReview, NewVisit, OneFileError, TransportKind, UserUpdate};
use picsync_sim::faults::Fault;
use picsync_sim::onefile::OneFileSim;

fn review(learner: OfUserId, assessor: OfUserId) -> NewReview {
    NewReview {
        learner_id: learner,
        scheduled_for: Utc.with_ymd_and_hms(2025, 3, 3, 10, 0, 0).unwrap(),
        visit_id: None,
        assessor_id: assessor,
    }
}

#[tokio::test]
async fn a_500_followed_by_success_is_retried() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    let learner = w.learner(0);
    w.sim
        .faults()
        .script("GET /user/{id}", [Fault::Status(500)]);
    assert_eq!(c.get_user(learner).await.unwrap().id, learner);
    assert_eq!(w.sim.counters().get("GET /user/{id}"), 2);
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    w.sim
        .faults()
        .script("POST /user/{id}", [Fault::Status(400)]);
    let e = c
        .update_user(w.learner(0), &UserUpdate::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e, OneFileError::Status { status: 400, .. }),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    assert_eq!(w.sim.counters().get("POST /user/{id}"), 1);
}

#[tokio::test]
async fn a_real_validation_error_is_a_permanent_400_with_the_servers_message() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    let e = c
        .create_review(&review(OfUserId(424_242), OfUserId(1)))
        .await
        .unwrap_err();
    match &e {
        OneFileError::Status {
            status: 400,
            message,
            endpoint,
        } => {
            assert_eq!(endpoint, "POST /Review");
            assert!(
                message.contains("Learner 424242 does not exist"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(w.sim.counters().get("POST /review"), 1);
}

#[tokio::test]
async fn a_404_is_not_found_and_not_retried() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    let e = c.get_learning_aim(OfAimId(987_654)).await.unwrap_err();
    assert!(matches!(e, OneFileError::NotFound { .. }), "{e:?}");
    assert!(!e.is_retryable());
    assert_eq!(w.sim.counters().get("GET /learningaim/{id}"), 1);
}

#[tokio::test]
async fn a_503_a_timeout_and_a_reset_are_each_retried_and_the_call_succeeds() {
    let w = world(OneFileSim::builder(), 1).await;
    let mut cfg = config(&w.sim);
    cfg.timeout = Duration::from_millis(300);
    let c = client_with(cfg);
    let learner = w.learner(0);
    w.sim.faults().script(
        "POST /learningaim/search",
        [
            Fault::Status(503),
            Fault::Hang,
            Fault::Reset,
            Fault::Delay(Duration::from_millis(50)),
        ],
    );
    let started = std::time::Instant::now();
    let aims = c.learning_aims(learner).await.unwrap();
    assert_eq!(aims.len(), 2);
    assert_eq!(w.sim.counters().get("POST /learningaim/search"), 4);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the hang was cut by the timeout"
    );
}

#[tokio::test]
async fn retries_are_bounded() {
    let w = world(OneFileSim::builder(), 1).await;
    let mut cfg = config(&w.sim);
    cfg.retry = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::fast()
    };
    let c = client_with(cfg);
    w.sim
        .faults()
        .script("GET /customer", std::iter::repeat_n(Fault::Status(503), 10));
    let e = c.customer().await.unwrap_err();
    assert!(
        matches!(e, OneFileError::Status { status: 503, .. }),
        "{e:?}"
    );
    assert!(e.is_retryable(), "the caller may try again later");
    assert_eq!(w.sim.counters().get("GET /customer"), 3);
}

#[tokio::test]
async fn a_timeout_surfaces_as_a_retryable_transport_error() {
    let w = world(OneFileSim::builder(), 1).await;
    let mut cfg = config(&w.sim);
    cfg.timeout = Duration::from_millis(200);
    cfg.retry = RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::fast()
    };
    let c = client_with(cfg);
    c.customer().await.unwrap();
    w.sim
        .faults()
        .script("GET /customer", [Fault::Hang, Fault::Hang]);
    let e = c.customer().await.unwrap_err();
    assert!(
        matches!(
            e,
            OneFileError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_retryable());
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported_as_retryable() {
    // a port with nothing listening
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut cfg = picsync_onefile::OneFileConfig::new(
        format!("http://127.0.0.1:{port}/api/v2.1"),
        picsync_onefile::SecretString::from("token-for-nobody".to_string()),
    );
    cfg.retry = RetryPolicy::fast();
    cfg.timeout = Duration::from_secs(1);
    let c = client_with(cfg);
    let e = c.customer().await.unwrap_err();
    assert!(
        matches!(
            e,
            OneFileError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_retryable() && e.request_not_processed());
    assert_eq!(c.pacer().calls(), 5, "every attempt was made");
}

#[tokio::test]
async fn a_create_is_not_sent_again_when_onefile_may_have_acted() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    let learner = w.learner(0);
    let assessor = w.assessor(0);
    let before = w.sim.read(|s| s.reviews.len());
    // The review is created, then the connection drops mid-reply: the id is lost.
    w.sim.faults().script("POST /review", [Fault::Reset]);
    let e = c
        .create_review(&review(learner, assessor))
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(!e.request_not_processed());
    assert_eq!(w.sim.counters().get("POST /review"), 1, "not sent twice");
    assert_eq!(
        w.sim.read(|s| s.reviews.len()),
        before + 1,
        "exactly one review exists"
    );
    // A 500 is ambiguous too.
    w.sim.faults().script("POST /visit", [Fault::Status(500)]);
    let visit = NewVisit {
        learner_id: learner,
        organisation_id: w.centre(),
        date_from: Utc.with_ymd_and_hms(2025, 3, 3, 10, 0, 0).unwrap(),
        date_to: Utc.with_ymd_and_hms(2025, 3, 3, 11, 0, 0).unwrap(),
        visit_type_id: 1,
        sms_reminder: false,
        assessor_id: assessor,
    };
    assert!(c.create_visit(&visit).await.is_err());
    assert_eq!(w.sim.counters().get("POST /visit"), 1);
}

#[tokio::test]
async fn a_create_refused_by_the_rate_limit_or_a_stale_session_is_sent_again() {
    let w = world(OneFileSim::builder(), 1).await;
    let mut cfg = config(&w.sim);
    cfg.rate_window = Duration::from_millis(30);
    let c = client_with(cfg);
    let learner = w.learner(0);
    let assessor = w.assessor(0);
    let before = w.sim.read(|s| s.reviews.len());
    c.customer().await.unwrap();
    w.sim.expire_sessions();
    w.sim.faults().script("POST /review", [Fault::Status(429)]);
    let id = c.create_review(&review(learner, assessor)).await.unwrap();
    // 401 (stale session) → renewal → 429 (not processed) → wait → created once
    assert_eq!(w.sim.counters().get("POST /review"), 3);
    assert_eq!(w.sim.read(|s| s.reviews.len()), before + 1);
    assert_eq!(w.sim.read(|s| s.reviews[&id.0].status), 1);
}

#[tokio::test]
async fn a_create_waiting_on_a_failed_authentication_is_retried_as_it_was_never_sent() {
    let w = world(OneFileSim::builder(), 1).await;
    w.sim
        .faults()
        .script("POST /authentication", [Fault::Status(503), Fault::Hang]);
    let mut cfg = config(&w.sim);
    cfg.timeout = Duration::from_millis(200);
    let c2 = client_with(cfg);
    let before = w.sim.read(|s| s.reviews.len());
    let learner = w.learner(0);
    let id = c2
        .create_review(&review(learner, w.assessor(0)))
        .await
        .unwrap();
    assert!(id.0 > 0);
    assert_eq!(w.sim.counters().get("POST /authentication"), 3);
    assert_eq!(w.sim.counters().get("POST /review"), 1);
    assert_eq!(w.sim.read(|s| s.reviews.len()), before + 1);
}
