//! R35 on the Lambda path (issue 13): a tenant's learners of a batch run at once on its one
//! pacer, and its pacing (the log of the last window's calls and a 429's hold) passes from one batch to the next,
//! whatever execution environment the next one lands in.
//! Needs DynamoDB Local and moto (`scripts/standins.sh start`).

use std::time::{Duration, Instant};

use crate::common::*;
use lambda_runtime::{Context, LambdaEvent};
use picsync_domain::TenantId;
use picsync_onefile::PacerState;
use picsync_sim::faults::Fault;
use picsync_state::RunStore;
use serde_json::json;
use worker::Worker;

/// Every simulated call (both systems) takes `latency`.
fn slow_calls(sims: &picsync_sim::world::Running, latency: Duration) {
    sims.onefile
        .faults()
        .random(None, 1.0, vec![Fault::Delay(latency)], 7);
    sims.pics
        .faults()
        .random(None, 1.0, vec![Fault::Delay(latency)], 8);
}

/// R35 / issue 13: a batch of 8 learners at 150 ms per call is bound by the budget, not by
/// the calls in series: the worker syncs them at once (not one after another), and every
/// learner is synchronised once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r35_a_batch_syncs_its_learners_at_once() {
    let (stack, sims, scheduler) = setup(12).await;
    let eight: Vec<&String> = sims.info.in_scope[..8].iter().collect();
    let started = invoke(&scheduler, json!({"tenant": "acme", "learners": eight})).await;
    let run_id = started["run_id"].as_str().unwrap().to_string();
    slow_calls(&sims, Duration::from_millis(150));
    let w = Worker::new(stack.deployment());
    let msgs = receive(&stack, &stack.queue_url).await;
    assert_eq!(msgs.len(), 8);
    let began = Instant::now();
    let resp = w
        .handle(LambdaEvent::new(event(&msgs), Context::default()))
        .await
        .unwrap();
    let took = began.elapsed();
    assert!(resp.batch_item_failures.is_empty());
    settle(&stack, &msgs, &[]).await;
    let run = stack
        .state
        .get_run(&TenantId::from("acme"), &run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((run.done, run.failed), (8, 0), "{:?}", run.failures);
    // one after another: 8 learners × about 11 calls × 150 ms ≈ 13 s
    let one_by_one = Duration::from_millis(150) * 11 * 8;
    assert!(
        took < one_by_one * 2 / 3,
        "8 learners took {took:?}: one after another ({one_by_one:?})"
    );
    assert_eq!(sims.onefile.rate_limited(), 0);
}

/// R35 across execution environments: the pacing a batch leaves is in the table, and a batch
/// in a fresh environment (its own, empty log) takes it on: a 429's hold set in one
/// environment pauses the tenant's next batch in another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r35_a_fresh_environment_takes_on_the_tenants_pacing() {
    let (stack, sims, scheduler) = setup(12).await;
    let t = TenantId::from("acme");
    let four: Vec<&String> = sims.info.in_scope[..4].iter().collect();
    invoke(&scheduler, json!({"tenant": "acme", "learners": four})).await;
    // the first environment's batch
    let first = Worker::new(stack.deployment());
    let (n, failed) = batch(&stack, &first).await.unwrap();
    assert_eq!((n, failed.len()), (4, 0));
    let left = stack.state.get_pacer(&t).await.unwrap();
    assert!(left.is_some(), "the batch's pacing is stored");
    let rest: Vec<&String> = sims.info.in_scope[4..6].iter().collect();
    invoke(&scheduler, json!({"tenant": "acme", "learners": rest})).await;
    // a 429 seen at the end of the tenant's last process: the tenant waits 2 s
    let hold = Duration::from_secs(2);
    let until = chrono::Utc::now() + chrono::Duration::from_std(hold).unwrap();
    stack
        .state
        .put_pacer(
            &t,
            &PacerState {
                hold_until: Some(until),
                ..PacerState::default()
            },
        )
        .await
        .unwrap();
    // the next batch lands in a fresh environment
    let second = Worker::new(stack.deployment());
    let calls_before = sims.onefile.counters().total();
    let began = Instant::now();
    let watch = sims
        .onefile
        .counters()
        .total_after(Duration::from_millis(1500));
    let (n, failed) = batch(&stack, &second).await.unwrap();
    assert_eq!((n, failed.len()), (2, 0));
    assert!(
        began.elapsed() >= hold - Duration::from_millis(300),
        "the fresh environment honoured the hold: {:?}",
        began.elapsed()
    );
    assert_eq!(
        watch.await.unwrap(),
        calls_before,
        "no OneFile call during the hold"
    );
}

/// R35: a tenant's pacing that cannot be read (a damaged `PACER` record) is not guessed
/// empty: the batch counts the last window as full and makes no OneFile call within it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r35_an_unreadable_pacing_record_counts_the_last_window_as_full() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let (stack, sims, scheduler) = setup(12).await;
    let t = TenantId::from("acme");
    let two: Vec<&String> = sims.info.in_scope[..2].iter().collect();
    invoke(&scheduler, json!({"tenant": "acme", "learners": two})).await;
    stack
        .dynamodb
        .put_item()
        .table_name(stack.state.table())
        .item("pk", S(picsync_state::keys::partition(&t)))
        .item("sk", S(picsync_aws::dynamo::PACER.to_string()))
        .item("doc", S("{damaged".to_string()))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        stack.state.get_pacer(&t).await,
        Err(picsync_state::StateError::Corrupt { .. })
    ));
    let w = Worker::new(stack.deployment());
    let calls_before = sims.onefile.counters().total();
    let window = picsync_aws::testing::WINDOW;
    let watch = sims.onefile.counters().total_after(window * 3 / 4);
    let began = Instant::now();
    let (n, failed) = batch(&stack, &w).await.unwrap();
    assert_eq!((n, failed.len()), (2, 0));
    assert_eq!(
        watch.await.unwrap(),
        calls_before,
        "no OneFile call in the window counted as full"
    );
    assert!(began.elapsed() >= window - Duration::from_millis(50));
    // the batch stored a readable state for the next one
    assert!(stack.state.get_pacer(&t).await.unwrap().is_some());
}
