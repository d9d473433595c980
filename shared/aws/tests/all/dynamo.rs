//! The DynamoDB backend against Amazon's DynamoDB Local (scripts/standins.sh): the state
//! conformance suite, and the conditional paths under real concurrency.

use std::sync::Arc;

use chrono::{Duration, Utc};
use picsync_aws::dynamo::Connection;
use picsync_aws::testing;
use picsync_domain::{LearnerId, Mode, TenantId};
use picsync_state::*;

#[tokio::test]
async fn dynamo_backend_conforms() {
    let s = testing::dynamo_state().await;
    conformance::run_all(&s, "acme").await;
    // tenants are isolated from each other in the one table
    conformance::run_all(&s, "beta-provider").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r39_two_routines_racing_for_a_free_lease_one_wins() {
    let s = Arc::new(testing::dynamo_state().await);
    let t = TenantId::from("acme");
    let now = Utc::now();
    let mut handles = Vec::new();
    for i in 0..8 {
        let (s, t) = (s.clone(), t.clone());
        handles.push(tokio::spawn(async move {
            s.acquire_lease(
                &t,
                &format!("w{i}"),
                &format!("run-{i}"),
                now,
                Duration::minutes(5),
            )
            .await
            .unwrap()
        }));
    }
    let mut acquired = 0;
    let mut holders = std::collections::BTreeSet::new();
    for h in handles {
        match h.await.unwrap() {
            LeaseOutcome::Acquired => acquired += 1,
            LeaseOutcome::Held(l) => {
                holders.insert(l.holder);
            }
        }
    }
    assert_eq!(acquired, 1, "R39: exactly one routine holds the lease");
    assert!(
        holders.len() <= 1,
        "the refused all name the one holder: {holders:?}"
    );
    // an expired lease stays readable (no TTL deletion) and is taken over by the condition
    let later = now + Duration::minutes(6);
    assert_eq!(
        s.acquire_lease(&t, "late", "run-late", later, Duration::minutes(5))
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn intent_claimed_by_another_worker_is_busy_for_the_rest() {
    let s = Arc::new(testing::dynamo_state().await);
    let t = TenantId::from("acme");
    let now = Utc::now();
    let mut handles = Vec::new();
    for i in 0..12 {
        let (s, t) = (s.clone(), t.clone());
        handles.push(tokio::spawn(async move {
            s.claim_intent(
                &t,
                &IntentClaim {
                    key: "review:L1:R1",
                    learner: Some(&LearnerId::from("L1")),
                    kind: "review",
                    holder: &format!("w{i}"),
                    now,
                    ttl: Duration::minutes(2),
                },
            )
            .await
            .unwrap()
        }));
    }
    let mut fresh = 0;
    for h in handles {
        match h.await.unwrap() {
            Claim::Fresh => fresh += 1,
            Claim::Busy { .. } => {}
            other => panic!("§7: a racing claim must be fresh or busy, got {other:?}"),
        }
    }
    assert_eq!(fresh, 1, "§7: exactly one worker may create the record");
    let pending = s.list_intents(&t, true).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attempts, 1);
}

#[tokio::test]
async fn cursor_moved_by_someone_else_is_a_conflict() {
    let s = testing::dynamo_state().await;
    let t = TenantId::from("acme");
    let l = LearnerId::from("L7");
    let v1 = s
        .put_learner_state(
            &t,
            &LearnerState {
                learner: l.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // two workers read version 1
    let mut a = s.get_learner_state(&t, &l).await.unwrap().unwrap();
    let mut b = a.clone();
    assert_eq!(a.version, v1);
    a.onefile_seen = Some(Utc::now());
    b.failures = 1;
    assert_eq!(s.put_learner_state(&t, &a).await.unwrap(), 2);
    match s.put_learner_state(&t, &b).await {
        Err(StateError::Conflict(m)) => assert!(m.contains("L7"), "{m}"),
        other => panic!("a cursor moved by someone else must be a conflict: {other:?}"),
    }
    let stored = s.get_learner_state(&t, &l).await.unwrap().unwrap();
    assert_eq!(
        (stored.version, stored.failures),
        (2, 0),
        "the loser wrote nothing"
    );
    assert!(stored.onefile_seen.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r36_run_outcome_counted_once_under_concurrent_adds() {
    let s = Arc::new(testing::dynamo_state().await);
    let t = TenantId::from("acme");
    let mut run = RunRecord::new(
        t.clone(),
        "run-c".into(),
        Mode::Periodic,
        false,
        false,
        Utc::now(),
    );
    run.total = 10;
    s.put_run(&run).await.unwrap();
    let mut handles = Vec::new();
    // every learner reports three times at once (redelivered tasks), learner 9 as a failure
    for copy in 0..3 {
        for i in 0..10 {
            let (s, t) = (s.clone(), t.clone());
            handles.push(tokio::spawn(async move {
                let learner = LearnerId::new(format!("L{i}"));
                let o = LearnerOutcome {
                    learner: learner.clone(),
                    failure: (i == 9).then(|| Failure {
                        learner,
                        reason: "PICS answered 500".into(),
                        retryable: true,
                    }),
                    rule_counts: [("R25".to_string(), 1)].into(),
                    onefile_calls: 2,
                    pics_calls: 1,
                    pics_changes: 0,
                    onefile_changes: 0,
                    onefile_429s: 0,
                };
                let _ = copy;
                s.add_outcome(&t, "run-c", &o, Utc::now()).await.unwrap()
            }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }
    let r = s.get_run(&t, "run-c").await.unwrap().unwrap();
    assert_eq!((r.done, r.failed), (9, 1), "each learner counted once");
    assert_eq!(r.status, RunStatus::CompletedWithFailures);
    assert!(r.finished_at.is_some(), "R36: the run is known complete");
    assert_eq!(r.rule_counts.get("R25"), Some(&10));
    assert_eq!((r.onefile_calls, r.pics_calls), (20, 10));
    assert_eq!(r.failures.len(), 1);
}

#[tokio::test]
async fn a_tenants_connection_round_trips() {
    let s = testing::dynamo_state().await;
    let t = TenantId::from("acme");
    assert_eq!(s.get_connection(&t).await.unwrap(), None);
    let c = Connection {
        pics_url: "https://acme.picsweb.co.uk/app/api/v1".into(),
        onefile_centre: Some(picsync_domain::OfCentreId(10)),
    };
    s.put_connection(&t, &c).await.unwrap();
    assert_eq!(s.get_connection(&t).await.unwrap(), Some(c));
}

#[tokio::test]
async fn a_tenant_profile_is_put_and_read_back_as_settings_and_connection() {
    let s = testing::dynamo_state().await;
    let t = TenantId::from("acme");
    assert_eq!(
        picsync_aws::TenantProfile::get(&s, &t).await.unwrap(),
        None,
        "unknown tenant"
    );
    let p = picsync_aws::TenantProfile::from_toml(
        "pics_url = \"https://acme.picsweb.co.uk/app/api/v1\"\n[settings]\nintegration_enabled = true\ndesktop_integration_disabled = true\nupload_reviews = false\n",
    )
    .unwrap();
    p.put(&s, &t).await.unwrap();
    assert_eq!(
        picsync_aws::TenantProfile::get(&s, &t).await.unwrap(),
        Some(p.clone())
    );
    // what the functions read: TenantStore::get_settings
    let settings = s.get_settings(&t).await.unwrap().unwrap();
    assert!(!settings.upload_reviews && settings.integration_enabled);
}

#[tokio::test]
async fn a_run_with_many_failures_stays_within_an_item() {
    let s = testing::dynamo_state().await;
    let t = TenantId::from("acme");
    let mut run = RunRecord::new(
        t.clone(),
        "run-f".into(),
        Mode::Periodic,
        false,
        false,
        Utc::now(),
    );
    let n = picsync_aws::dynamo::MAX_FAILURES_KEPT + 50;
    run.total = n as u64;
    s.put_run(&run).await.unwrap();
    let reason = "OneFile answered HTTP 503 ".repeat(100);
    for i in 0..n {
        let learner = LearnerId::new(format!("L{i}"));
        let o = LearnerOutcome {
            learner: learner.clone(),
            failure: Some(Failure {
                learner,
                reason: reason.clone(),
                retryable: true,
            }),
            rule_counts: Default::default(),
            onefile_calls: 1,
            pics_calls: 1,
            pics_changes: 0,
            onefile_changes: 0,
            onefile_429s: 0,
        };
        s.add_outcome(&t, "run-f", &o, Utc::now()).await.unwrap();
    }
    let r = s.get_run(&t, "run-f").await.unwrap().unwrap();
    assert_eq!(r.failed, n as u64, "R36: every failure counted");
    assert_eq!(r.status, RunStatus::CompletedWithFailures);
    assert_eq!(r.failures.len(), picsync_aws::dynamo::MAX_FAILURES_KEPT);
    assert!(r.failures[0].reason.len() < 600);
}
