//! The embedded backend passes the state conformance suite, in memory and on disk, and keeps
//! its records across a reopen.

use picsync_domain::{LearnerId, TenantId};
use picsync_state::embedded::EmbeddedState;
use picsync_state::{IntentClaim, LearnerState, LearnerStore, conformance};

#[tokio::test]
async fn in_memory_backend_conforms() {
    let s = EmbeddedState::in_memory().unwrap();
    conformance::run_all(&s, "acme").await;
}

#[tokio::test]
async fn file_backend_conforms_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = EmbeddedState::open(dir.path()).unwrap();
        conformance::run_all(&s, "acme").await;
        // tenants are isolated from each other
        conformance::run_all(&s, "beta-provider").await;
    }
    let s = EmbeddedState::open(dir.path()).unwrap();
    let st = s
        .get_learner_state(&TenantId::from("acme"), &LearnerId::from("L1"))
        .await
        .unwrap();
    assert_eq!(st.map(|x: LearnerState| x.failures), Some(2));
}

#[tokio::test]
async fn concurrent_claims_give_one_winner() {
    let s = EmbeddedState::in_memory().unwrap();
    let t = TenantId::from("acme");
    let now = chrono::Utc::now();
    let mut handles = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        let t = t.clone();
        handles.push(tokio::spawn(async move {
            use picsync_state::IntentStore;
            s.claim_intent(
                &t,
                &IntentClaim {
                    key: "learner:L1",
                    learner: None,
                    kind: "learner",
                    holder: &format!("w{i}"),
                    now,
                    ttl: chrono::Duration::minutes(5),
                },
            )
            .await
            .unwrap()
        }));
    }
    let mut fresh = 0;
    for h in handles {
        if h.await.unwrap() == picsync_state::Claim::Fresh {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1, "exactly one worker may create the record");
}
