//! R35 and R39 across every OneFile caller of a tenant: dry runs and by-hand operations never
//! run beside a run, so the tenant's OneFile budget is the run's alone.

use crate::common::*;

use picsync_domain::{LearnerId, OfUserId};
use picsync_engine::{EngineError, EnrolRequest, NoProgress, RunOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r35_dry_runs_and_by_hand_operations_wait_for_a_run_in_progress() {
    let env = env(40).await;
    let (t, e) = (&env.tenant, &env.engine);
    // a run is in progress: it holds the tenant's lease
    let start = e.start_run(t, &RunOptions::default()).await.unwrap();
    assert!(!start.tasks.is_empty());
    let calls = env.sims.onefile.counters().total();
    let dry = RunOptions {
        dry_run: true,
        ..RunOptions::default()
    };
    let enrol = |dry_run| EnrolRequest {
        learner: LearnerId::new("lrn-00029"),
        choices: Default::default(),
        dry_run,
    };
    let busy = |what: &str, r: Result<(), EngineError>| match r {
        Err(EngineError::Busy { run_id, .. }) => assert_eq!(run_id, start.run.run_id, "{what}"),
        other => panic!("{what}: expected Busy naming the run, got {other:?}"),
    };
    busy(
        "a dry run (plan)",
        e.run_tenant(t, &dry, &NoProgress).await.map(|_| ()),
    );
    busy("an enrolment", e.enrol(t, &enrol(false)).await.map(|_| ()));
    busy(
        "an enrolment plan",
        e.enrol(t, &enrol(true)).await.map(|_| ()),
    );
    busy(
        "a link",
        e.link(t, &LearnerId::new("lrn-00029"), OfUserId(1), false)
            .await
            .map(|_| ()),
    );
    busy("refresh-aims", e.refresh_aims(t, false).await.map(|_| ()));
    busy(
        "refresh-aims plan",
        e.refresh_aims(t, true).await.map(|_| ()),
    );
    assert_eq!(
        env.sims.onefile.counters().total(),
        calls,
        "R35: not one OneFile call beside the run"
    );
    // a second run is refused too (R39)
    assert!(matches!(
        e.start_run(t, &RunOptions::default()).await,
        Err(EngineError::Busy { .. })
    ));
    // once the run is over, all of them go ahead
    for r in e.run_tasks(t, &start.tasks).await {
        r.unwrap();
    }
    e.run_tenant(t, &dry, &NoProgress).await.unwrap();
    assert!(e.refresh_aims(t, false).await.unwrap() > 0);
    e.enrol(t, &enrol(true)).await.unwrap();
    // and an operation frees the lease behind it: a run starts after it
    e.start_run(t, &RunOptions::default()).await.unwrap();
}
