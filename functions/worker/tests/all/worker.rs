//! The worker handler against the stand-ins (DynamoDB Local; SQS and Secrets Manager on moto)
//! and both simulators: scheduler → real SQS FIFO queue → worker, end to end (R36); malformed
//! bodies; the dead-letter queue with a reason after the last receive (FIFO order kept); a
//! rotated token fetched again after a 401.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{Context, LambdaEvent};
use picsync_aws::testing::Stack;
use picsync_domain::TenantId;
use picsync_sim::faults::Fault;
use picsync_sim::world;
use picsync_state::{LearnerStore, RunStatus, RunStore, TenantStore};
use scheduler::Scheduler;
use serde_json::{Value, json};
use worker::Worker;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r36_scheduler_queue_worker_end_to_end_for_50_learners() {
    let (stack, sims, scheduler) = setup(50).await;
    let t = TenantId::from("acme");
    let started = invoke(&scheduler, json!({"tenant": "acme"})).await;
    assert_eq!(
        started["mode"], "initial",
        "R43: the first run after enabling is initial"
    );
    let tasks = started["tasks"].as_u64().unwrap();
    assert_eq!(tasks as usize, sims.info.in_scope.len());
    let run_id = started["run_id"].as_str().unwrap().to_string();
    assert_eq!(
        stack
            .state
            .get_run(&t, &run_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        RunStatus::Running
    );

    let w = Worker::new(stack.deployment());
    let batches = drain(&stack, &w).await;
    assert!(batches >= (tasks as usize).div_ceil(10));

    // R36: the run is known complete when its last task reports
    let run = stack.state.get_run(&t, &run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Completed, "{:#?}", run.failures);
    assert_eq!((run.done, run.failed, run.total), (tasks, 0, tasks));
    let ts = stack.state.get_tenant(&t).await.unwrap().unwrap();
    assert_eq!(
        ts.last_synchronised, run.finished_at,
        "R36: last synchronised = the run's end"
    );
    assert!(ts.initial_done, "R43");
    for id in &sims.info.in_scope {
        let st = stack
            .state
            .get_learner_state(&t, &picsync_domain::LearnerId::new(id))
            .await
            .unwrap();
        assert!(
            st.is_some_and(|s| s.last_success.is_some() && s.failures == 0),
            "{id} not synced"
        );
    }
    assert_eq!(
        sims.onefile.rate_limited(),
        0,
        "R35: paced below OneFile's limit"
    );
    assert_eq!(stack.depth(&stack.dlq_url).await, 0);
    // end state: both systems agree, a full plan finds nothing to do (R38 dry run)
    let plan = invoke(
        &scheduler,
        json!({"tenant": "acme", "dry_run": true, "full": true}),
    )
    .await;
    assert_eq!(plan["learners_with_changes"], json!([]), "{plan}");
    // R39: the lease was freed by the last task: the next run starts, periodic (R43)
    let next = invoke(&scheduler, json!({"tenant": "acme"})).await;
    assert_eq!(next["mode"], "periodic");
    drain(&stack, &w).await;
    assert_eq!(
        stack.state.list_runs(&t, 10).await.unwrap()[0].status,
        RunStatus::Completed
    );
}

#[tokio::test]
async fn malformed_bodies_go_to_the_dead_letter_queue_with_their_reason_and_nothing_is_written() {
    let (stack, _sims, _scheduler) = setup(10).await;
    let items = stack.items().await;
    let w = Worker::new(stack.deployment());
    let ev: SqsEvent = serde_json::from_str(&fixture("malformed_batch.json")).unwrap();
    let resp = w
        .handle(LambdaEvent::new(ev, Context::default()))
        .await
        .unwrap();
    assert!(
        resp.batch_item_failures.is_empty(),
        "not retried: {:?}",
        resp.batch_item_failures
    );
    assert_eq!(stack.items().await, items, "nothing written to the table");
    let dead = receive(&stack, &stack.dlq_url).await;
    let reasons: Vec<(String, String)> = dead
        .iter()
        .map(|m| {
            let a = m.message_attributes().unwrap();
            (
                a["source_message_id"].string_value().unwrap().to_string(),
                a["reason"].string_value().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    for (id, expected) in [
        ("m-not-json", "task message refused"),
        ("m-unknown-field", "priority"),
        ("m-bad-mode", "weekly"),
        ("m-wrong-group", "message group"),
    ] {
        let (_, r) = reasons
            .iter()
            .find(|(m, _)| m == id)
            .unwrap_or_else(|| panic!("{id} not in the DLQ"));
        assert!(r.contains(expected), "{id}: {r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_a_learner_failing_on_every_attempt_holds_up_no_other_and_reaches_the_dead_letter_queue()
{
    let (stack, sims, scheduler) = setup(12).await;
    let t = TenantId::from("acme");
    let (x, y, z) = (
        &sims.info.in_scope[0],
        &sims.info.in_scope[1],
        &sims.info.in_scope[2],
    );
    let started = invoke(&scheduler, json!({"tenant": "acme", "learners": [x, y, z]})).await;
    let run_id = started["run_id"].as_str().unwrap().to_string();
    // PICS answers 503 to every read of x, and only of x
    sims.pics
        .faults()
        .always(&format!("GET /learners/{x}"), Fault::Status(503));
    let w = Worker::new(stack.deployment());
    // round 1: x fails and goes to the back of the queue; y and z, behind it, are synced now
    let (n, failed) = batch(&stack, &w).await.unwrap();
    assert_eq!((n, failed.len()), (3, 0), "nothing returned: {failed:?}");
    let run = stack.state.get_run(&t, &run_id).await.unwrap().unwrap();
    assert_eq!(
        (run.done, run.failed),
        (2, 0),
        "§7: the others are not held up; x's failure is not counted yet"
    );
    let queued = receive_bodies(&stack).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["learner"], json!(x));
    assert_eq!(queued[0]["attempt"], json!(1));
    // rounds 2 and 3 (the stack allows 3 attempts): the last attempt is counted and dead-lettered
    let (_, failed) = batch(&stack, &w).await.unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    let (_, failed) = batch(&stack, &w).await.unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(stack.depth(&stack.queue_url).await, 0);
    let run = stack.state.get_run(&t, &run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::CompletedWithFailures);
    assert_eq!((run.done, run.failed), (2, 1));
    assert!(run.failures[0].reason.contains("503"), "{:?}", run.failures);
    let reasons = dead_letter_reasons(&stack).await;
    assert_eq!(reasons.len(), 1);
    let reason = &reasons[0];
    assert!(
        reason.contains("503") && reason.contains(x.as_str()),
        "{reason}"
    );
    let st = stack
        .state
        .get_learner_state(&t, &picsync_domain::LearnerId::new(x))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(st.failures, 3, "each failed attempt counted on the learner");
    // R39: the finished run freed the lease
    assert!(
        invoke(&scheduler, json!({"tenant": "acme", "learners": [y]})).await["run_id"].is_string()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_a_learner_failing_for_good_in_consecutive_runs_reaches_the_dead_letter_queue() {
    let (stack, sims, scheduler) = setup(12).await;
    let x = &sims.info.in_scope[0];
    // PICS no longer knows x: a permanent failure, once per run
    sims.pics
        .faults()
        .always(&format!("GET /learners/{x}"), Fault::Status(404));
    let w = Worker::new(stack.deployment());
    for run in 1..=3 {
        invoke(&scheduler, json!({"tenant": "acme", "learners": [x]})).await;
        let (_, failed) = batch(&stack, &w).await.unwrap();
        assert!(failed.is_empty(), "run {run}: not returned: {failed:?}");
        let dead = stack.depth(&stack.dlq_url).await;
        assert_eq!(
            dead,
            usize::from(run == 3),
            "run {run}: to the dead-letter queue only after 3 failed runs in a row"
        );
    }
    let reasons = dead_letter_reasons(&stack).await;
    let reason = &reasons[0];
    assert!(
        reason.contains(x.as_str()) && reason.contains("404"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_a_batch_answers_before_its_deadline_and_puts_back_exactly_the_unfinished_tasks() {
    let (stack, sims, scheduler) = setup(12).await;
    let t = TenantId::from("acme");
    let four: Vec<&String> = sims.info.in_scope[..4].iter().collect();
    let started = invoke(&scheduler, json!({"tenant": "acme", "learners": four})).await;
    let run_id = started["run_id"].as_str().unwrap().to_string();
    // the third learner's PICS read hangs
    sims.pics
        .faults()
        .always(&format!("GET /learners/{}", four[2]), Fault::Hang);
    let mut config = stack.config.clone();
    config.deadline_reserve = std::time::Duration::from_secs(2);
    config.learner_min = std::time::Duration::from_secs(2);
    // one learner at a time, so that one is still unstarted when the deadline comes
    let w = Worker::new(stack.deployment_with(config)).with_concurrency(1);
    let msgs = receive(&stack, &stack.queue_url).await;
    assert_eq!(msgs.len(), 4);
    let budget = std::time::Duration::from_secs(10);
    let mut ctx = Context::default();
    ctx.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap()
        + u64::try_from(budget.as_millis()).unwrap();
    let began = std::time::Instant::now();
    let resp = w.handle(LambdaEvent::new(event(&msgs), ctx)).await.unwrap();
    let took = began.elapsed();
    assert!(took < budget, "answered after {took:?}, past its deadline");
    assert!(
        took >= budget - std::time::Duration::from_secs(3),
        "the hanging learner ran until the reserve: {took:?}"
    );
    assert!(
        resp.batch_item_failures.is_empty(),
        "re-queued, not returned: {:?}",
        resp.batch_item_failures
    );
    settle(&stack, &msgs, &[]).await;
    let run = stack.state.get_run(&t, &run_id).await.unwrap().unwrap();
    assert_eq!((run.done, run.failed), (2, 0), "{:?}", run.failures);
    // exactly the unfinished tasks are queued again: the cut-off one with its attempt counted,
    // the one never started as it was
    let queued = receive_bodies(&stack).await;
    let got: Vec<(String, u64)> = queued
        .iter()
        .map(|b| {
            (
                b["learner"].as_str().unwrap().to_string(),
                b["attempt"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(four[2].clone(), 1), (four[3].clone(), 0)],
        "{queued:?}"
    );
    // the next invocation finishes the run
    sims.pics.faults().clear();
    drain(&stack, &w).await;
    let run = stack.state.get_run(&t, &run_id).await.unwrap().unwrap();
    assert_eq!(
        (run.status, run.done, run.failed),
        (RunStatus::Completed, 4, 0),
        "{:?}",
        run.failures
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r1_the_queued_tasks_of_a_disabled_tenant_make_no_call_to_either_system() {
    use picsync_state::TenantStore;
    let (stack, sims, scheduler) = setup(12).await;
    let t = TenantId::from("acme");
    let started = invoke(&scheduler, json!({"tenant": "acme"})).await;
    let run_id = started["run_id"].as_str().unwrap().to_string();
    let tasks = started["tasks"].as_u64().unwrap();
    assert!(tasks > 0);
    // the operator switches the tenant off while its tasks wait in the queue
    let mut settings = stack.state.get_settings(&t).await.unwrap().unwrap();
    settings.integration_enabled = false;
    stack.state.put_settings(&t, &settings).await.unwrap();
    let (of, pics) = (
        sims.onefile.counters().total(),
        sims.pics.counters().total(),
    );
    let w = Worker::new(stack.deployment());
    drain(&stack, &w).await;
    assert_eq!(
        (
            sims.onefile.counters().total() - of,
            sims.pics.counters().total() - pics
        ),
        (0, 0),
        "R1: no call to OneFile or PICS"
    );
    let run = stack.state.get_run(&t, &run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::CompletedWithFailures);
    assert_eq!((run.done, run.failed), (0, tasks));
    assert!(
        run.failures
            .iter()
            .all(|f| f.reason.contains("not enabled") && !f.retryable),
        "{:?}",
        run.failures
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_is_fetched_again_after_a_401() {
    let (stack, sims, scheduler) = setup(12).await;
    let t = TenantId::from("acme");
    let good = json!({
        "onefile_customer_token": world::ONEFILE_TOKEN,
        "pics_username": world::PICS_USERNAME,
        "pics_password": world::PICS_PASSWORD,
    })
    .to_string();
    // the worker's container cached the token before it was rotated
    stack
        .put_secret("acme", &good.replace(world::ONEFILE_TOKEN, "revoked-token"))
        .await;
    let metrics = Buf::default();
    let deployment = stack
        .deployment()
        .with_metrics(picsync_aws::Metrics::to_writer(metrics.clone()));
    deployment.tenants.load(&t).await.unwrap();
    let w = Worker::new(deployment);
    stack.put_secret("acme", &good).await;
    let started = invoke(
        &scheduler,
        json!({"tenant": "acme", "learners": [&sims.info.in_scope[0], &sims.info.in_scope[1]]}),
    )
    .await;
    let (_, failed) = batch(&stack, &w).await.unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    let run = stack
        .state
        .get_run(&t, started["run_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (run.status, run.done),
        (RunStatus::Completed, 2),
        "{:?}",
        run.failures
    );
    // issue 14: the refresh is counted
    let refreshed: Vec<Value> = metrics
        .lines()
        .into_iter()
        .filter(|d| d.get("SecretRefreshed").is_some())
        .collect();
    assert_eq!(refreshed.len(), 1, "{refreshed:?}");
    assert_eq!(refreshed[0]["Tenant"], "acme");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_a_retried_task_waits_its_retry_delay_at_the_back_of_the_queue() {
    let (stack, sims, scheduler) = setup(12).await;
    let t = TenantId::from("acme");
    let started = invoke(
        &scheduler,
        json!({"tenant": "acme", "learners": [&sims.info.in_scope[0]]}),
    )
    .await;
    let run_id = started["run_id"].as_str().unwrap().to_string();
    // one attempt's worth of 503s (the client tries 5 times)
    sims.pics.faults().script(
        "GET /learners/{id}",
        std::iter::repeat_n(Fault::Status(503), 5),
    );
    let mut config = stack.config.clone();
    config.retry_delay = std::time::Duration::from_secs(2);
    let w = Worker::new(stack.deployment_with(config));
    let (_, failed) = batch(&stack, &w).await.unwrap();
    assert!(failed.is_empty(), "re-queued, not returned: {failed:?}");
    // delivered again at once (FIFO has no per-message delay), it is not run before its time:
    // with nothing else due it is returned, hidden for what is left of its delay
    let msgs = receive(&stack, &stack.queue_url).await;
    assert_eq!(msgs.len(), 1);
    let resp = w
        .handle(LambdaEvent::new(event(&msgs), Context::default()))
        .await
        .unwrap();
    assert_eq!(resp.batch_item_failures.len(), 1);
    assert_eq!(
        sims.pics.faults().pending("GET /learners/{id}"),
        0,
        "the first attempt used the 503s"
    );
    assert!(
        receive(&stack, &stack.queue_url).await.is_empty(),
        "hidden for the delay"
    );
    // the queue's visibility timeout is 30 s: back within ~2 s means the worker shortened it
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (_, failed) = batch(&stack, &w)
        .await
        .expect("delivered again after the retry delay");
    assert!(failed.is_empty(), "{failed:?}");
    let run = stack.state.get_run(&t, &run_id).await.unwrap().unwrap();
    assert_eq!((run.status, run.done), (RunStatus::Completed, 1));
}

/// A scheduler and a worker whose leases last 2 s (so that a test can let one lapse).
fn short_leases(stack: &Stack) -> (Scheduler, Worker) {
    short_leases_with(stack, Buf::default())
}

/// Leases of 2 s, the metrics written to `metrics`.
fn short_leases_with(stack: &Stack, metrics: Buf) -> (Scheduler, Worker) {
    let mut config = stack.config.clone();
    config.lease_ttl = std::time::Duration::from_secs(2);
    let m = picsync_aws::Metrics::to_writer(metrics);
    (
        Scheduler::new(
            stack
                .deployment_with(config.clone())
                .with_metrics(m.clone()),
        )
        .unwrap(),
        Worker::new(stack.deployment_with(config).with_metrics(m)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_a_run_whose_tasks_stop_reporting_is_abandoned_and_the_next_run_is_initial_again() {
    let (stack, _sims, _) = setup(12).await;
    let t = TenantId::from("acme");
    let metrics = Buf::default();
    let (scheduler, w) = short_leases_with(&stack, metrics.clone());
    let started = invoke(&scheduler, json!({"tenant": "acme"})).await;
    assert_eq!(started["mode"], "initial");
    let run_id = started["run_id"].as_str().unwrap().to_string();
    let tasks = started["tasks"].as_u64().unwrap();
    // two tasks report; the others are lost (e.g. redriven by SQS with nothing recorded)
    let msgs = receive(&stack, &stack.queue_url).await;
    assert!(msgs.len() > 3);
    let resp = w
        .handle(LambdaEvent::new(event(&msgs[..2]), Context::default()))
        .await
        .unwrap();
    assert!(resp.batch_item_failures.is_empty());
    settle(&stack, &msgs, &[]).await;
    for _ in 0..20 {
        let rest = receive(&stack, &stack.queue_url).await;
        if rest.is_empty() {
            break;
        }
        settle(&stack, &rest, &[]).await;
    }
    // R39: while the lease is live the run is left alone
    let early = invoke(&scheduler, json!({"op": "reconcile", "tenant": "acme"})).await;
    assert_eq!(early["abandoned"], json!([]), "{early}");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let rec = invoke(&scheduler, json!({"op": "reconcile", "tenant": "all"})).await;
    assert_eq!(
        rec["abandoned"],
        json!([{"tenant": "acme", "run_id": run_id, "done": 2, "lost": tasks - 2}]),
        "{rec}"
    );
    let run = stack.state.get_run(&t, &run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Abandoned);
    assert_eq!((run.done, run.failed, run.lost), (2, tasks - 2, tasks - 2));
    // a late task of the abandoned run is dropped and changes nothing
    let resp = w
        .handle(LambdaEvent::new(event(&msgs[2..3]), Context::default()))
        .await
        .unwrap();
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(
        stack.state.get_run(&t, &run_id).await.unwrap().unwrap(),
        run
    );
    let ts = stack.state.get_tenant(&t).await.unwrap().unwrap();
    assert!(
        !ts.initial_done,
        "R43: an abandoned initial run is not done"
    );
    assert_eq!(ts.last_synchronised, None, "R36");
    // issue 14: the abandoned run is counted once, with its lost learners
    let closed: Vec<Value> = metrics
        .lines()
        .into_iter()
        .filter(|d| d["RunId"] == json!(run_id))
        .collect();
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(closed[0]["RunsAbandoned"], json!(1.0));
    assert_eq!(closed[0]["RunsCompleted"], json!(0.0));
    assert_eq!(closed[0]["LearnersLost"], json!((tasks - 2) as f64));
    assert_eq!(closed[0]["LearnersSynced"], json!(2.0));
    // the lease is free: the next run starts, and is initial again
    let next = invoke(&scheduler, json!({"tenant": "acme"})).await;
    assert_eq!(next["mode"], "initial", "{next}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_a_run_recorded_but_never_queued_is_abandoned_by_the_next_start() {
    let (stack, _sims, _) = setup(12).await;
    let t = TenantId::from("acme");
    let (scheduler, _w) = short_leases(&stack);
    // the scheduler died after recording the run, before queueing a task
    let tenant = stack.deployment().tenants.load(&t).await.unwrap();
    let start = scheduler
        .engine()
        .start_run(&tenant, &picsync_engine::RunOptions::default())
        .await
        .unwrap();
    let busy = scheduler
        .invoke(&json!({"tenant": "acme"}))
        .await
        .unwrap_err();
    assert_eq!(busy.kind(), "Busy", "R39 while its lease is live");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let next = invoke(&scheduler, json!({"tenant": "acme"})).await;
    assert!(next["run_id"].is_string(), "{next}");
    let old = stack
        .state
        .get_run(&t, &start.run.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.status, RunStatus::Abandoned);
    assert_eq!(old.lost, start.run.total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i16_centre_wide_reviews_ride_on_the_tasks_and_the_worker_searches_none_for_unchanged_learners()
 {
    let (stack, sims, scheduler) = setup(30).await;
    let t = TenantId::from("acme");
    let w = Worker::new(stack.deployment());
    invoke(&scheduler, json!({"tenant": "acme"})).await;
    drain(&stack, &w).await;
    // the tenant switches to centre-wide review reads (issue 16)
    let mut profile = picsync_aws::TenantProfile::get(&stack.state, &t)
        .await
        .unwrap()
        .unwrap();
    profile.settings.review_reads = picsync_domain::settings::ReviewReads::Centre;
    profile.put(&stack.state, &t).await.unwrap();

    let before = sims.onefile.counters().get("POST /review/search");
    let started = invoke(&scheduler, json!({"tenant": "acme", "full": true})).await;
    let tasks = started["tasks"].as_u64().unwrap();
    assert_eq!(tasks as usize, sims.info.in_scope.len());
    let by_scheduler = sims.onefile.counters().get("POST /review/search") - before;
    assert!(
        (1..=2).contains(&by_scheduler),
        "the scheduler reads the centre's reviews in a page or two: {by_scheduler}"
    );
    let bodies = receive_bodies(&stack).await;
    assert!(!bodies.is_empty());
    for b in &bodies {
        let reviews = b["reviews"].as_array().unwrap_or_else(|| panic!("{b}"));
        assert!(!reviews.is_empty(), "every world learner has a review: {b}");
        let id = b["onefile_user"]["id"].as_i64().unwrap();
        let held = sims.onefile.read(|s| s.reviews_of(id).len());
        assert_eq!(reviews.len(), held, "{b}");
    }

    let searches = sims.onefile.counters().get("POST /review/search");
    drain(&stack, &w).await;
    let run_id = started["run_id"].as_str().unwrap();
    let run = stack.state.get_run(&t, run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Completed, "{:#?}", run.failures);
    assert_eq!((run.done, run.failed), (tasks, 0));
    assert!(run.rule_counts.is_empty(), "{:?}", run.rule_counts);
    assert_eq!(run.review_reads_fallback, None);
    assert_eq!(
        sims.onefile.counters().get("POST /review/search"),
        searches,
        "no per-learner review search for an unchanged learner"
    );
}
