//! Sessions against the simulator over real HTTP: `X-CustomerToken` → `X-TokenID`, bare or
//! JSON-quoted; renewed ahead of expiry and once on a 401.

use std::time::Duration;

use crate::common::{client, client_with, config, world};
use picsync_onefile::{OneFileError, SecretString};
use picsync_sim::faults::Fault;
use picsync_sim::onefile::{OneFileSim, Quirks};

#[tokio::test]
async fn a_session_expiring_mid_run_is_renewed_once_and_the_call_succeeds() {
    // Sessions live 300 ms on this server; the client would only renew after 23 h.
    let w = world(
        OneFileSim::builder().session_lifetime(Duration::from_millis(300)),
        3,
    )
    .await;
    let c = client(&w.sim);
    let learner = w.learner(0);
    assert_eq!(c.get_user(learner).await.unwrap().id, learner);
    tokio::time::sleep(Duration::from_millis(350)).await;

    let u = c.get_user(learner).await.unwrap();
    assert_eq!(u.id, learner);
    assert_eq!(w.sim.sessions_issued(), 2, "renewed exactly once");
    assert_eq!(w.sim.unauthorised(), 1, "one 401, then success");
    assert_eq!(w.sim.counters().get("GET /user/{id}"), 3);
    assert_eq!(c.sessions_issued().await, 2);
}

#[tokio::test]
async fn concurrent_tasks_seeing_401_renew_the_shared_session_once() {
    let w = world(OneFileSim::builder(), 8).await;
    let c = client(&w.sim);
    c.customer().await.unwrap();
    w.sim.expire_sessions();
    let tasks: Vec<_> = w
        .pop
        .learner_ids
        .iter()
        .map(|id| {
            let c = c.clone();
            let id = picsync_domain::OfUserId(*id);
            tokio::spawn(async move { c.get_user(id).await.map(|u| u.id) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(w.sim.sessions_issued(), 2);
}

#[tokio::test]
async fn a_session_is_renewed_ahead_of_expiry_without_any_401() {
    let w = world(OneFileSim::builder(), 1).await;
    let mut cfg = config(&w.sim);
    cfg.session_renew_after = Duration::from_millis(100);
    let c = client_with(cfg);
    c.customer().await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    c.customer().await.unwrap();
    assert_eq!(w.sim.sessions_issued(), 2);
    assert_eq!(w.sim.unauthorised(), 0);
}

#[tokio::test]
async fn bare_and_json_quoted_sessions_both_work() {
    for quote_session in [false, true] {
        let w = world(
            OneFileSim::builder().quirks(Quirks {
                quote_session,
                ..Quirks::default()
            }),
            1,
        )
        .await;
        let c = client(&w.sim);
        let customer = c.customer().await.unwrap();
        assert_eq!(customer.id.0, 1, "quote_session={quote_session}");
        assert_eq!(
            w.sim.unauthorised(),
            0,
            "the session was sent back as issued"
        );
    }
}

#[tokio::test]
async fn a_session_refused_again_after_renewal_is_unauthorised_and_not_retried() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    w.sim
        .faults()
        .script("GET /customer", [Fault::Status(401), Fault::Status(401)]);
    let e = c.customer().await.unwrap_err();
    assert!(
        matches!(e, OneFileError::Unauthorised { status: 401, .. }),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    assert_eq!(
        w.sim.counters().get("GET /customer"),
        2,
        "one renewal, no retries"
    );
    assert_eq!(w.sim.sessions_issued(), 2);
}

#[tokio::test]
async fn a_wrong_customer_token_is_unauthorised_and_permanent() {
    let w = world(OneFileSim::builder(), 1).await;
    let mut cfg = config(&w.sim);
    cfg.customer_token = SecretString::from("not-the-token".to_string());
    let c = client_with(cfg);
    let e = c.customer().await.unwrap_err();
    assert!(matches!(e, OneFileError::Unauthorised { .. }), "{e:?}");
    assert!(!e.is_retryable());
    assert_eq!(w.sim.counters().get("POST /authentication"), 1);
    assert_eq!(w.sim.counters().get("GET /customer"), 0);
}

#[tokio::test]
async fn a_failing_authentication_is_retried_like_any_call() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    w.sim
        .faults()
        .script("POST /authentication", [Fault::Status(503), Fault::Reset]);
    c.customer().await.unwrap();
    assert_eq!(w.sim.counters().get("POST /authentication"), 3);
    assert_eq!(
        w.sim.sessions_issued(),
        2,
        "the reset reply issued a session that was lost"
    );
}
