//! The scheduler handler against the stand-ins (DynamoDB Local, SQS on moto) and both
//! simulators: malformed payloads refused with nothing written, one run for two concurrent
//! invocations (R39), a dry run planned here (R38), "all" tenants.

// the library's dependencies are checked where the library uses them
#![allow(unused_crate_dependencies)]

use lambda_runtime::{Context, LambdaEvent};
use picsync_aws::testing::{self, Stack};
use picsync_domain::TenantId;
use picsync_sim::world;
use picsync_state::RunStore;
use scheduler::{Scheduler, SchedulerError};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

async fn setup(learners: usize, tenants: &[&str]) -> (Stack, world::Running, Scheduler) {
    let stack = testing::stack(tenants, 3, 30).await;
    let today = stack.today;
    let sims = world::start(learners, today, (300, testing::WINDOW))
        .await
        .unwrap();
    stack.world_tenant("acme", &sims).await;
    let scheduler = Scheduler::new(stack.deployment()).unwrap();
    (stack, sims, scheduler)
}

#[tokio::test]
async fn malformed_payloads_are_refused_naming_the_problem_and_nothing_is_written() {
    let (stack, sims, scheduler) = setup(12, &["acme"]).await;
    let items = stack.items().await;
    let calls = (
        sims.pics.counters().total(),
        sims.onefile.counters().total(),
    );
    let cases = fixture("malformed.json");
    for case in cases.as_array().unwrap() {
        let e = scheduler
            .handle(event(case["payload"].clone()))
            .await
            .unwrap_err();
        let problem = case["problem"].as_str().unwrap();
        assert!(matches!(e, SchedulerError::BadRequest(_)), "{e:?}");
        assert!(e.to_string().contains(problem), "{}: {e}", case["payload"]);
        assert_eq!(lambda_runtime::Diagnostic::from(e).error_type, "BadRequest");
    }
    // §7: an unknown tenant is a clear error too
    let e = scheduler
        .handle(event(
            serde_json::json!({"tenant": "ghost", "mode": "initial"}),
        ))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("unknown tenant ghost"), "{e}");
    assert_eq!(e.kind(), "BadInput");
    assert_eq!(stack.items().await, items, "nothing written to the table");
    assert_eq!(stack.depth(&stack.queue_url).await, 0, "nothing queued");
    assert_eq!(
        (
            sims.pics.counters().total(),
            sims.onefile.counters().total()
        ),
        calls,
        "neither system was called"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r39_two_concurrent_invocations_for_one_tenant_start_one_run() {
    let (stack, sims, scheduler) = setup(30, &["acme"]).await;
    let (a, b) = tokio::join!(
        scheduler.handle(event(fixture("initial.json"))),
        scheduler.handle(event(fixture("initial.json")))
    );
    let (ok, busy) = match (a, b) {
        (Ok(v), Err(e)) | (Err(e), Ok(v)) => (v, e),
        other => panic!("R39: exactly one invocation must start a run: {other:?}"),
    };
    assert_eq!(busy.kind(), "Busy", "{busy}");
    assert!(busy.to_string().contains("R39"), "{busy}");
    let runs = stack
        .state
        .list_runs(&TenantId::from("acme"), 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "one run recorded");
    assert_eq!(ok["run_id"], runs[0].run_id.as_str());
    let tasks = ok["tasks"].as_u64().unwrap() as usize;
    assert_eq!(tasks as u64, runs[0].total);
    assert_eq!(
        tasks,
        sims.info.in_scope.len(),
        "one task per learner in scope"
    );
    assert_eq!(
        stack.depth(&stack.queue_url).await,
        tasks,
        "each learner queued once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r38_a_dry_run_is_planned_in_the_scheduler_and_writes_nothing() {
    let (stack, sims, scheduler) = setup(12, &["acme"]).await;
    let items = stack.items().await;
    let pics_before = sims.pics.state();
    let out = scheduler
        .handle(event(fixture("dry_run.json")))
        .await
        .unwrap();
    assert_eq!(out["dry_run"], true);
    let changed = out["learners_with_changes"].as_array().unwrap();
    assert!(
        !changed.is_empty(),
        "the initial world has changes to plan: {out}"
    );
    assert_eq!(
        stack.items().await,
        items,
        "R38: nothing written to the table"
    );
    assert_eq!(
        stack.depth(&stack.queue_url).await,
        0,
        "R38: nothing queued"
    );
    assert_eq!(
        sims.pics.state(),
        pics_before,
        "R38: nothing written to PICS"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_tenants_run_and_a_failing_one_is_named() {
    let (stack, _sims, scheduler) = setup(12, &["acme", "ghost"]).await;
    let e = scheduler
        .handle(event(fixture("all.json")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "TenantsFailed");
    assert!(
        e.to_string().contains("ghost") && e.to_string().contains("1 of 2"),
        "{e}"
    );
    let runs = stack
        .state
        .list_runs(&TenantId::from("acme"), 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "acme ran although ghost failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r34_refresh_aims_by_hand() {
    let (stack, _sims, scheduler) = setup(12, &["acme"]).await;
    let out = scheduler
        .handle(event(fixture("refresh_aims.json")))
        .await
        .unwrap();
    assert_eq!(out["learning_aims"], world::CODES.len());
    let ts = picsync_state::TenantStore::get_tenant(&stack.state, &TenantId::from("acme"))
        .await
        .unwrap()
        .unwrap();
    assert!(ts.catalogue_refreshed.is_some());
    assert_eq!(ts.last_synchronised, None, "R34: not a sync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r39_a_schedule_that_meets_a_running_run_skips_the_tenant_and_a_by_hand_start_fails() {
    let (stack, _sims, scheduler) = setup(12, &["acme"]).await;
    let first = scheduler
        .handle(event(fixture("initial.json")))
        .await
        .unwrap();
    let queued = stack.depth(&stack.queue_url).await;
    // the 15-minute schedule's input (infra/template.yaml): the run still going is left alone
    let skipped = scheduler
        .handle(event(json!({"tenant": "all", "if_busy": "skip"})))
        .await
        .unwrap();
    let t = &skipped["tenants"][0];
    assert_eq!(t["skipped"], "busy", "{skipped}");
    assert_eq!(t["holder"], first["run_id"], "{skipped}");
    // by hand, the same start is refused with the run that holds the lease (R39)
    let e = scheduler
        .handle(event(json!({"tenant": "acme"})))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "Busy", "{e}");
    let runs = stack
        .state
        .list_runs(&TenantId::from("acme"), 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "no second run recorded");
    assert_eq!(
        stack.depth(&stack.queue_url).await,
        queued,
        "nothing queued twice"
    );
}

/// R35: the scheduler's listing counts in the tenant's one budget with its workers'. It takes
/// on the pacing the tenant's last worker batch left (a full window: no OneFile call until
/// the window has moved on) and hands its own calls on to the run's workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r35_the_listing_takes_on_the_tenants_pacing_and_hands_it_on() {
    use picsync_onefile::{CallLog, PacerState};
    use std::time::{Duration, Instant};
    let (stack, sims, scheduler) = setup(12, &["acme"]).await;
    let t = TenantId::from("acme");
    // the tenant's last batch used its whole window just now
    let just_now = chrono::Utc::now();
    let full = PacerState {
        log: Some(CallLog {
            latest: just_now,
            ms_before: vec![0; 280],
        }),
        ..PacerState::default()
    };
    stack.state.put_pacer(&t, &full).await.unwrap();
    let before = sims.onefile.counters().total();
    let window = testing::WINDOW;
    let watch = sims.onefile.counters().total_after(window * 3 / 4);
    let began = Instant::now();
    let out = scheduler
        .handle(event(fixture("initial.json")))
        .await
        .unwrap();
    assert!(out["tasks"].as_u64().unwrap() > 0, "{out}");
    assert_eq!(
        watch.await.unwrap(),
        before,
        "no OneFile call in the window the workers used"
    );
    assert!(began.elapsed() >= window - Duration::from_millis(50));
    // the listing's calls are handed on to the run's workers (the last window's, stored)
    assert!(sims.onefile.counters().total() > before);
    let stored = stack.state.get_pacer(&t).await.unwrap().unwrap();
    let log = stored.log.expect("the listing's calls are stored");
    assert!(!log.ms_before.is_empty());
    assert!(
        log.latest >= just_now + chrono::Duration::from_std(window * 3 / 4).unwrap(),
        "the stored calls are the listing's, after the full window"
    );
}
