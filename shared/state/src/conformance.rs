//! The behaviour every state backend must show, as one async test suite run against each
//! backend (embedded here; DynamoDB Local with the Lambda functions). Panics on the first
//! difference, naming it.

use chrono::{Duration, TimeZone, Utc};
use picsync_domain::{Baseline, LearnerId, Mode, Rule, TenantId, Value};

use crate::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 7, 1, 2, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Runs every check against `s`, inside tenant `tenant` (use a fresh one per backend run).
pub async fn run_all<S: State>(s: &S, tenant: &str) {
    let t = TenantId::from(tenant);
    leases(s, &t).await;
    intents(s, &t).await;
    learner_states(s, &t).await;
    runs(s, &t).await;
    abandoned_runs(s, &t).await;
    audit(s, &t).await;
    tenants(s, &t).await;
}

pub async fn leases<S: State>(s: &S, t: &TenantId) {
    let ttl = Duration::minutes(10);
    assert_eq!(
        s.acquire_lease(t, "a", "run-1", t0(), ttl).await.unwrap(),
        LeaseOutcome::Acquired
    );
    // R39: a second routine is refused while the lease is live, and told who holds it
    match s
        .acquire_lease(t, "b", "run-2", t0() + Duration::minutes(1), ttl)
        .await
        .unwrap()
    {
        LeaseOutcome::Held(l) => {
            assert_eq!(l.holder, "a");
            assert_eq!(l.run_id, "run-1");
        }
        other => panic!("lease held by a was given to b: {other:?}"),
    }
    // the holder may take it again (a redelivered scheduler call)
    assert_eq!(
        s.acquire_lease(t, "a", "run-1", t0() + Duration::minutes(2), ttl)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
    assert!(
        s.renew_lease(t, "a", t0() + Duration::minutes(5), ttl)
            .await
            .unwrap()
    );
    assert!(
        !s.renew_lease(t, "b", t0() + Duration::minutes(5), ttl)
            .await
            .unwrap(),
        "b cannot renew a's lease"
    );
    // still held at +14 (renewed at +5 for 10 minutes)
    assert!(matches!(
        s.acquire_lease(t, "b", "run-2", t0() + Duration::minutes(14), ttl)
            .await
            .unwrap(),
        LeaseOutcome::Held(_)
    ));
    // expiry is decided by the condition: at +16 it is free
    assert_eq!(
        s.acquire_lease(t, "b", "run-2", t0() + Duration::minutes(16), ttl)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
    // releasing someone else's lease does nothing; releasing one's own frees it
    s.release_lease(t, "a").await.unwrap();
    assert!(matches!(
        s.acquire_lease(t, "c", "run-3", t0() + Duration::minutes(17), ttl)
            .await
            .unwrap(),
        LeaseOutcome::Held(_)
    ));
    s.release_lease(t, "b").await.unwrap();
    assert_eq!(
        s.acquire_lease(t, "c", "run-3", t0() + Duration::minutes(17), ttl)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
    s.release_lease(t, "c").await.unwrap();
}

pub async fn intents<S: State>(s: &S, t: &TenantId) {
    let ttl = Duration::minutes(5);
    let l = LearnerId::from("L1");
    let k = "review:L1:R1";
    assert_eq!(
        s.claim_intent(
            t,
            &IntentClaim {
                key: k,
                learner: Some(&l),
                kind: "review",
                holder: "w1",
                now: t0(),
                ttl
            }
        )
        .await
        .unwrap(),
        Claim::Fresh
    );
    // another worker while w1 is in progress: busy
    match s
        .claim_intent(
            t,
            &IntentClaim {
                key: k,
                learner: Some(&l),
                kind: "review",
                holder: "w2",
                now: t0() + Duration::minutes(1),
                ttl,
            },
        )
        .await
        .unwrap()
    {
        Claim::Busy { holder, .. } => assert_eq!(holder, "w1"),
        other => panic!("expected busy, got {other:?}"),
    }
    // after w1's claim expired (w1 crashed), w2 resumes and must search first
    assert_eq!(
        s.claim_intent(
            t,
            &IntentClaim {
                key: k,
                learner: Some(&l),
                kind: "review",
                holder: "w2",
                now: t0() + Duration::minutes(6),
                ttl
            }
        )
        .await
        .unwrap(),
        Claim::Resumed { attempts: 1 }
    );
    // the same holder claiming again also resumes (it may have crashed and come back)
    assert_eq!(
        s.claim_intent(
            t,
            &IntentClaim {
                key: k,
                learner: Some(&l),
                kind: "review",
                holder: "w2",
                now: t0() + Duration::minutes(7),
                ttl
            }
        )
        .await
        .unwrap(),
        Claim::Resumed { attempts: 2 }
    );
    assert_eq!(s.list_intents(t, true).await.unwrap().len(), 1);
    // §7: only the claim's holder completes it (w1's claim was taken over by w2)
    assert!(
        matches!(
            s.complete_intent(t, k, "w1", 1111).await,
            Err(StateError::Conflict(_))
        ),
        "a holder whose claim was taken over cannot complete it"
    );
    assert_eq!(s.list_intents(t, true).await.unwrap().len(), 1);
    s.complete_intent(t, k, "w2", 4242).await.unwrap();
    // completing again with the same id is a no-op; with another id it is refused
    s.complete_intent(t, k, "w2", 4242).await.unwrap();
    assert!(matches!(
        s.complete_intent(t, k, "w2", 4343).await,
        Err(StateError::Conflict(_))
    ));
    assert_eq!(
        s.claim_intent(
            t,
            &IntentClaim {
                key: k,
                learner: Some(&l),
                kind: "review",
                holder: "w3",
                now: t0() + Duration::minutes(8),
                ttl
            }
        )
        .await
        .unwrap(),
        Claim::Done { id: 4242 }
    );
    assert!(s.list_intents(t, true).await.unwrap().is_empty());
    assert_eq!(
        s.get_intent(t, k).await.unwrap().and_then(|i| i.created_id),
        Some(4242)
    );
    assert!(s.get_intent(t, "never").await.unwrap().is_none());
    let all = s.list_intents(t, false).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].created_id, Some(4242));
    assert_eq!(all[0].learner, Some(l.clone()));
    // completing an intent nobody claimed is refused
    assert!(matches!(
        s.complete_intent(t, "never", "w1", 1).await,
        Err(StateError::Conflict(_))
    ));
    // the intents of one learner, by key prefix (a learner whose id extends another's is apart)
    let k10 = "review:L10:R1";
    s.claim_intent(
        t,
        &IntentClaim {
            key: k10,
            learner: None,
            kind: "review",
            holder: "w1",
            now: t0(),
            ttl,
        },
    )
    .await
    .unwrap();
    let of_l1 = s.list_intents_with_prefix(t, "review:L1:").await.unwrap();
    assert_eq!(
        of_l1.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        vec![k]
    );
    assert_eq!(
        s.list_intents_with_prefix(t, "review:")
            .await
            .unwrap()
            .len(),
        2
    );
    // §7: a done intent whose record was deleted is retired, only with the id it holds; the
    // next claim is then fresh
    assert!(!s.retire_intent(t, k, 1).await.unwrap(), "another id: kept");
    assert!(
        !s.retire_intent(t, k10, 4242).await.unwrap(),
        "not done: kept"
    );
    assert!(!s.retire_intent(t, "never", 4242).await.unwrap());
    assert!(s.retire_intent(t, k, 4242).await.unwrap());
    assert!(s.get_intent(t, k).await.unwrap().is_none());
    assert_eq!(
        s.claim_intent(
            t,
            &IntentClaim {
                key: k,
                learner: Some(&l),
                kind: "review",
                holder: "w4",
                now: t0() + Duration::minutes(9),
                ttl
            }
        )
        .await
        .unwrap(),
        Claim::Fresh
    );
    s.complete_intent(t, k, "w4", 4444).await.unwrap();
    assert_eq!(
        s.claim_intent(
            t,
            &IntentClaim {
                key: k,
                learner: Some(&l),
                kind: "review",
                holder: "w5",
                now: t0() + Duration::minutes(10),
                ttl
            }
        )
        .await
        .unwrap(),
        Claim::Done { id: 4444 }
    );
}

pub async fn learner_states<S: State>(s: &S, t: &TenantId) {
    let l = LearnerId::from("L1");
    assert!(s.get_learner_state(t, &l).await.unwrap().is_none());
    let mut st = LearnerState {
        learner: l.clone(),
        baseline: Baseline::default(),
        ..Default::default()
    };
    st.onefile_seen = Some(t0());
    st.linked_on = chrono::NaiveDate::from_ymd_opt(2024, 7, 1);
    let v1 = s.put_learner_state(t, &st).await.unwrap();
    assert_eq!(v1, 1);
    // a writer that read version 0 loses: the cursor was moved by someone else
    assert!(matches!(
        s.put_learner_state(t, &st).await,
        Err(StateError::Conflict(_))
    ));
    let mut read = s.get_learner_state(t, &l).await.unwrap().unwrap();
    assert_eq!(read.version, 1);
    assert_eq!(read.onefile_seen, Some(t0()));
    assert_eq!(
        read.linked_on, st.linked_on,
        "R37: the link day round-trips"
    );
    read.failures = 2;
    assert_eq!(s.put_learner_state(t, &read).await.unwrap(), 2);
    let mut other = LearnerState {
        learner: LearnerId::from("L2"),
        ..Default::default()
    };
    other.failures = 1;
    s.put_learner_state(t, &other).await.unwrap();
    let all = s.list_learner_states(t).await.unwrap();
    assert_eq!(all.len(), 2);
}

pub async fn runs<S: State>(s: &S, t: &TenantId) {
    let mut run = RunRecord::new(
        t.clone(),
        "2024-07-01T02:00:00Z-a".into(),
        Mode::Initial,
        false,
        true,
        t0(),
    );
    run.total = 2;
    s.put_run(&run).await.unwrap();
    let ok = LearnerOutcome {
        learner: LearnerId::from("L1"),
        failure: None,
        rule_counts: [("R25".to_string(), 2)].into(),
        onefile_calls: 3,
        pics_calls: 2,
        pics_changes: 1,
        onefile_changes: 1,
        onefile_429s: 4,
    };
    let r = s.add_outcome(t, &run.run_id, &ok, t0()).await.unwrap();
    assert_eq!((r.done, r.status), (1, RunStatus::Running));
    // a redelivered task reports again: counted once
    let r = s.add_outcome(t, &run.run_id, &ok, t0()).await.unwrap();
    assert_eq!(r.done, 1);
    let bad = LearnerOutcome {
        learner: LearnerId::from("L2"),
        failure: Some(Failure {
            learner: LearnerId::from("L2"),
            reason: "PICS answered 500".into(),
            retryable: true,
        }),
        rule_counts: Default::default(),
        onefile_calls: 1,
        pics_calls: 1,
        pics_changes: 0,
        onefile_changes: 0,
        onefile_429s: 0,
    };
    let r = s
        .add_outcome(t, &run.run_id, &bad, t0() + Duration::seconds(5))
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::CompletedWithFailures);
    assert_eq!(r.finished_at, Some(t0() + Duration::seconds(5)));
    assert_eq!(r.rule_counts.get("R25"), Some(&2));
    assert_eq!((r.onefile_calls, r.pics_calls), (4, 3));
    // issue 14: the run's metrics (changes per system, 429s) are summed and kept
    assert_eq!(
        (r.pics_changes, r.onefile_changes, r.onefile_429s),
        (1, 1, 4)
    );
    let stored = s.get_run(t, &run.run_id).await.unwrap().unwrap();
    assert_eq!(stored.onefile_429s, 4);
    assert_eq!(r.failures[0].reason, "PICS answered 500");
    let mut later = RunRecord::new(
        t.clone(),
        "2024-07-02T02:00:00Z-b".into(),
        Mode::Periodic,
        false,
        false,
        t0() + Duration::days(1),
    );
    later.total = 0;
    s.put_run(&later).await.unwrap();
    let list = s.list_runs(t, 10).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].run_id, later.run_id, "newest first");
    assert_eq!(s.get_run(t, &run.run_id).await.unwrap().unwrap().done, 1);
    assert!(matches!(
        s.add_outcome(t, "no-such-run", &ok, t0()).await,
        Err(StateError::Conflict(_))
    ));
}

/// A run that stopped reporting is closed as abandoned, once; its missing tasks are lost; a
/// finished run is never abandoned; an outcome arriving late changes nothing.
pub async fn abandoned_runs<S: State>(s: &S, t: &TenantId) {
    let mut run = RunRecord::new(
        t.clone(),
        "2024-07-03T02:00:00Z-c".into(),
        Mode::Initial,
        false,
        true,
        t0(),
    );
    run.total = 5;
    s.put_run(&run).await.unwrap();
    let ok = |l: &str| LearnerOutcome {
        learner: LearnerId::from(l),
        failure: None,
        rule_counts: Default::default(),
        onefile_calls: 1,
        pics_calls: 1,
        pics_changes: 0,
        onefile_changes: 0,
        onefile_429s: 0,
    };
    s.add_outcome(t, &run.run_id, &ok("L1"), t0())
        .await
        .unwrap();
    s.add_outcome(t, &run.run_id, &ok("L2"), t0())
        .await
        .unwrap();
    let at = t0() + Duration::hours(1);
    let closed = s
        .abandon_run(t, &run.run_id, at)
        .await
        .unwrap()
        .expect("a running run is abandoned");
    assert_eq!(closed.status, RunStatus::Abandoned);
    assert_eq!((closed.done, closed.failed, closed.lost), (2, 3, 3));
    assert_eq!(closed.finished_at, Some(at));
    assert_eq!(
        s.get_run(t, &run.run_id).await.unwrap(),
        Some(closed.clone())
    );
    // once only
    assert_eq!(s.abandon_run(t, &run.run_id, at).await.unwrap(), None);
    // a late task of the abandoned run changes nothing
    let late = s.add_outcome(t, &run.run_id, &ok("L3"), at).await.unwrap();
    assert_eq!((late.status, late.done), (RunStatus::Abandoned, 2));
    // a completed run, or an unknown one, is not abandoned
    let mut done = RunRecord::new(
        t.clone(),
        "2024-07-04T02:00:00Z-d".into(),
        Mode::Periodic,
        false,
        false,
        t0(),
    );
    done.total = 1;
    s.put_run(&done).await.unwrap();
    s.add_outcome(t, &done.run_id, &ok("L1"), t0())
        .await
        .unwrap();
    assert_eq!(s.abandon_run(t, &done.run_id, at).await.unwrap(), None);
    assert_eq!(s.abandon_run(t, "no-such-run", at).await.unwrap(), None);
    // the lease is readable whether live or expired
    let ttl = Duration::minutes(1);
    s.acquire_lease(t, "x", "run-x", at, ttl).await.unwrap();
    let l = s.get_lease(t).await.unwrap().expect("stored");
    assert_eq!((l.holder.as_str(), l.run_id.as_str()), ("x", "run-x"));
    assert_eq!(l.expires_at, at + ttl);
    s.release_lease(t, "x").await.unwrap();
}

pub async fn audit<S: State>(s: &S, t: &TenantId) {
    let e = |i: i64, learner: &str| AuditEntry {
        tenant: t.clone(),
        learner: LearnerId::from(learner),
        run_id: "r".into(),
        at: t0() + Duration::seconds(i),
        system: "PICS".into(),
        entity: "qualification Q1".into(),
        field: "RegistrationNumber".into(),
        old: Value::Blank,
        new: Value::Int(i),
        rule: Rule::R25,
    };
    s.append_audit(&[e(2, "L1"), e(1, "L1"), e(3, "L2")])
        .await
        .unwrap();
    let l1 = s.list_audit(t, &LearnerId::from("L1")).await.unwrap();
    assert_eq!(
        l1.iter().map(|x| x.new.clone()).collect::<Vec<_>>(),
        vec![Value::Int(1), Value::Int(2)],
        "oldest first, one learner only"
    );
    // a learner whose id is a prefix of another's does not see the other's entries
    s.append_audit(&[e(4, "L10")]).await.unwrap();
    assert_eq!(
        s.list_audit(t, &LearnerId::from("L1")).await.unwrap().len(),
        2
    );
}

pub async fn tenants<S: State>(s: &S, t: &TenantId) {
    assert!(s.get_tenant(t).await.unwrap().is_none());
    let st = TenantState {
        tenant: t.clone(),
        initial_done: true,
        last_synchronised: Some(t0()),
        ..Default::default()
    };
    s.put_tenant(&st).await.unwrap();
    let read = s.get_tenant(t).await.unwrap().unwrap();
    assert_eq!(
        read,
        TenantState {
            version: 1,
            ..st.clone()
        }
    );
    // a second creator (it read nothing) loses
    assert!(matches!(
        s.put_tenant(&st).await,
        Err(StateError::Conflict(_))
    ));
    // two routines read version 1: the first write wins, the second is refused (no lost update)
    let mut finishing = read.clone();
    finishing.last_synchronised = Some(t0() + Duration::hours(1));
    let mut refreshing = read.clone();
    refreshing.catalogue_refreshed = Some(t0() + Duration::hours(1));
    s.put_tenant(&finishing).await.unwrap();
    assert!(matches!(
        s.put_tenant(&refreshing).await,
        Err(StateError::Conflict(_))
    ));
    let now = s.get_tenant(t).await.unwrap().unwrap();
    assert_eq!(now.version, 2);
    assert_eq!(now.last_synchronised, Some(t0() + Duration::hours(1)));
    let mut again = now.clone();
    again.catalogue_refreshed = Some(t0() + Duration::hours(1));
    s.put_tenant(&again).await.unwrap();
    let now = s.get_tenant(t).await.unwrap().unwrap();
    assert_eq!(
        (now.version, now.last_synchronised, now.catalogue_refreshed),
        (
            3,
            Some(t0() + Duration::hours(1)),
            Some(t0() + Duration::hours(1))
        )
    );
    let settings = picsync_domain::Settings {
        upload_reviews: false,
        ..Default::default()
    };
    s.put_settings(t, &settings).await.unwrap();
    assert_eq!(s.get_settings(t).await.unwrap(), Some(settings));
}
