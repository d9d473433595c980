//! Chaos on the Lambda path (§7, R39): scheduler → SQS FIFO (moto) → worker invocations, against
//! DynamoDB Local and both simulators, while one invocation is killed mid-batch after OneFile
//! writes (its process gone: a new worker takes over), one runs into its deadline, one batch's
//! outcome writes fail, and one learner's OneFile calls answer 500 for ever. The run must end,
//! free its lease, leave every other learner reconciled with its OneFile records created once,
//! and put the broken learner in the dead-letter queue with its reason.

use crate::common::*;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use lambda_runtime::{Context, LambdaEvent};
use picsync_aws::testing::{self, Stack};
use picsync_domain::TenantId;
use picsync_sim::faults::Fault;
use picsync_sim::world;
use picsync_state::{LeaseStore, RunStatus, RunStore};
use scheduler::Scheduler;
use serde_json::json;
use worker::Worker;

const LEARNERS: usize = 30;
/// The queue's visibility timeout in these runs: a killed invocation's batch comes back after it.
const VISIBILITY: u32 = 3;
/// The worker's timeout in these runs (so a dead invocation's claims lapse after it).
const TIMEOUT: Duration = Duration::from_secs(8);

/// Fails the next `n` DynamoDB TransactWriteItems calls (how a run outcome is written).
#[derive(Debug, Clone, Default)]
struct FailOutcomeWrites(Arc<AtomicU32>);

impl Intercept for FailOutcomeWrites {
    fn name(&self) -> &'static str {
        "FailOutcomeWrites"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let outcome_write = context
            .input()
            .downcast_ref::<TransactWriteItemsInput>()
            .is_some();
        if outcome_write
            && self
                .0
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return Err("injected: the outcome write failed".into());
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        Ok(())
    }
}

fn config(stack: &Stack) -> picsync_aws::FunctionConfig {
    let mut c = stack.config.clone();
    // retries 1 + 2 + 4 + 8 s: longer than a killed invocation's claims last (TIMEOUT + 5 s)
    c.max_attempts = 5;
    c.retry_delay = Duration::from_secs(1);
    c.deadline_reserve = Duration::from_secs(1);
    c.learner_min = Duration::from_secs(1);
    c.function_timeout = TIMEOUT;
    c
}

/// A worker as a fresh Lambda execution environment builds it (its own engine and claims).
fn worker(stack: &Stack, dynamodb: Option<aws_sdk_dynamodb::Client>) -> Arc<Worker> {
    let config = config(stack);
    Arc::new(Worker::new(picsync_aws::Deployment::with_clients(
        config,
        dynamodb.unwrap_or_else(|| stack.dynamodb.clone()),
        stack.secretsmanager.clone(),
        stack.sqs.clone(),
        testing::tuning(),
    )))
}

fn context(budget: Duration) -> Context {
    let mut ctx = Context::default();
    ctx.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
        + u64::try_from(budget.as_millis()).unwrap_or(0);
    ctx
}

async fn world_and_stack() -> (Stack, world::Running, Scheduler) {
    let stack = testing::stack(&["acme"], 10, VISIBILITY).await;
    let today = stack.today;
    let sims = world::start(LEARNERS, today, (300, testing::WINDOW))
        .await
        .unwrap();
    stack.world_tenant("acme", &sims).await;
    let scheduler = Scheduler::new(stack.deployment_with(config(&stack))).unwrap();
    (stack, sims, scheduler)
}

/// One ordinary invocation on what the queue hands over; false when it handed nothing.
async fn round(stack: &Stack, w: &Worker) -> bool {
    let msgs = receive(stack, &stack.queue_url).await;
    if msgs.is_empty() {
        return false;
    }
    let failed = failed_ids(w, &msgs, context(TIMEOUT)).await;
    settle(stack, &msgs, &failed).await;
    true
}

/// Invocations until the run closes (bounded); returns when it closed.
async fn until_closed(
    stack: &Stack,
    w: &Worker,
    run_id: &str,
    began: Instant,
    done_at: &mut Option<Duration>,
    others: u64,
) -> Duration {
    let t = TenantId::from("acme");
    for _ in 0..400 {
        let run = stack.state.get_run(&t, run_id).await.unwrap().unwrap();
        if run.done >= others && done_at.is_none() {
            *done_at = Some(began.elapsed());
        }
        if run.finished() {
            return began.elapsed();
        }
        if !round(stack, w).await {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            began.elapsed() < Duration::from_secs(180),
            "the run did not close within 3 minutes"
        );
    }
    panic!("the run did not close in 400 rounds");
}

/// Per learner: (OneFile visits, reviews, learning aims).
fn onefile_records(sims: &world::Running) -> BTreeMap<i64, (usize, usize, usize)> {
    sims.onefile.read(|s| {
        let mut m: BTreeMap<i64, (usize, usize, usize)> = BTreeMap::new();
        for v in s.visits.values() {
            m.entry(v.learner_id).or_default().0 += 1;
        }
        for r in s.reviews.values() {
            m.entry(r.learner_id).or_default().1 += 1;
        }
        for a in s.learning_aims.values() {
            m.entry(a.user_id).or_default().2 += 1;
        }
        m
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_chaos_on_the_lambda_path_every_learner_but_the_broken_one_converges_once() {
    // the reference: the same world, no fault
    let (clean_stack, clean_sims, clean_scheduler) = world_and_stack().await;
    let began = Instant::now();
    let started = invoke(&clean_scheduler, json!({"tenant": "acme"})).await;
    let tasks = started["tasks"].as_u64().unwrap();
    let clean_run = started["run_id"].as_str().unwrap().to_string();
    let clean_worker = worker(&clean_stack, None);
    let mut clean_done = None;
    let clean_time = until_closed(
        &clean_stack,
        &clean_worker,
        &clean_run,
        began,
        &mut clean_done,
        tasks,
    )
    .await;

    let (stack, sims, scheduler) = world_and_stack().await;
    let t = TenantId::from("acme");
    let broken = sims.info.in_scope[5].clone();
    let broken_user = sims.info.onefile_ids[&broken];
    // the broken learner: every OneFile search naming it answers 500
    for call in ["POST /LearningAim/Search", "POST /Review/Search"] {
        for key in ["UserID", "LearnerID"] {
            sims.onefile.faults().always_when(
                call,
                &format!("\"{key}\":{broken_user}}}"),
                Fault::Status(500),
            );
        }
    }
    let began = Instant::now();
    let started = invoke(&scheduler, json!({"tenant": "acme"})).await;
    assert_eq!(started["tasks"].as_u64(), Some(tasks));
    let run_id = started["run_id"].as_str().unwrap().to_string();

    // 1. an invocation killed mid-batch, after some OneFile writes: its process is gone
    let killed = worker(&stack, None);
    let msgs = receive(&stack, &stack.queue_url).await;
    assert!(!msgs.is_empty());
    let writes =
        || sims.onefile.counters().get("POST /visit") + sims.onefile.counters().get("POST /review");
    let before = writes();
    let ev = event(&msgs);
    let handle = tokio::spawn({
        let killed = killed.clone();
        async move { killed.handle(LambdaEvent::new(ev, context(TIMEOUT))).await }
    });
    for _ in 0..100 {
        if writes() >= before + 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.abort();
    assert!(
        handle.await.is_err(),
        "the invocation was killed, unanswered"
    );
    let killed_writes = writes() - before;
    assert!(killed_writes >= 3, "it wrote to OneFile before it died");
    drop(killed);

    // the environments that take over
    let w = worker(&stack, None);
    // 2. an invocation that runs into its deadline: 1.5 s beyond its reserve
    let msgs = receive(&stack, &stack.queue_url).await;
    if !msgs.is_empty() {
        let failed = failed_ids(&w, &msgs, context(Duration::from_millis(2500))).await;
        settle(&stack, &msgs, &failed).await;
    }
    // 3. a batch whose outcome writes fail (the first 6 of them)
    let failing = FailOutcomeWrites::default();
    failing.0.store(6, Ordering::SeqCst);
    let sdk = testing::sdk_config(&testing::standins().dynamodb_url).await;
    let flaky_dynamo = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(failing.clone())
            .build(),
    );
    let flaky = worker(&stack, Some(flaky_dynamo));
    for _ in 0..50 {
        if failing.0.load(Ordering::SeqCst) == 0 {
            break;
        }
        if !round(&stack, &flaky).await {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    assert_eq!(
        failing.0.load(Ordering::SeqCst),
        0,
        "six outcome writes failed"
    );
    // 4. ordinary invocations until the run closes
    let mut others_done = None;
    let closed = until_closed(&stack, &w, &run_id, began, &mut others_done, tasks - 1).await;

    let run = stack.state.get_run(&t, &run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::CompletedWithFailures, "{run:#?}");
    assert_eq!((run.done, run.failed), (tasks - 1, 1), "{:?}", run.failures);
    assert_eq!(run.failures[0].learner.as_str(), broken);
    assert!(run.failures[0].reason.contains("500"), "{:?}", run.failures);
    // the lease is free (R39): the next run may start
    let lease = stack.state.get_lease(&t).await.unwrap().unwrap();
    assert!(lease.expires_at <= chrono::Utc::now(), "{lease:?}");
    // the broken learner is in the dead-letter queue with its reason
    let reasons = dead_letter_reasons(&stack).await;
    assert_eq!(reasons.len(), 1);
    let reason = &reasons[0];
    assert!(
        reason.contains(&broken) && reason.contains("500"),
        "{reason}"
    );
    // every other learner's OneFile records exist once: as many as the fault-free run made
    let (mut chaos, clean) = (onefile_records(&sims), onefile_records(&clean_sims));
    chaos.remove(&broken_user);
    let mut clean_others = clean.clone();
    clean_others.remove(&clean_sims.info.onefile_ids[&broken]);
    assert_eq!(chaos, clean_others, "no OneFile record twice, none missing");
    // and both systems agree: a full dry run finds nothing to do but the broken learner
    sims.onefile.faults().clear();
    let plan = invoke(
        &scheduler,
        json!({"tenant": "acme", "dry_run": true, "full": true}),
    )
    .await;
    let changed: Vec<String> = plan["learners_with_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["learner"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(changed, vec![broken.clone()], "{plan}");
    // the others were held up by no more than the faults' own cost
    let others = others_done.expect("the others finished");
    // the clean time (with room for a noisy machine), the killed batch's visibility timeout, the
    // claims the killed invocation left (they last its timeout + 5 s), one retry delay, the cut
    // invocation's 1.5 s, and 5 s of slack
    let allowance = clean_time.mul_f64(1.5)
        + Duration::from_secs(u64::from(VISIBILITY))
        + TIMEOUT
        + Duration::from_secs(5)
        + Duration::from_secs(1)
        + Duration::from_millis(1500)
        + Duration::from_secs(5);
    eprintln!(
        "chaos: {tasks} learners; clean run {clean_time:?}; chaos: others done after {others:?}, run closed after {closed:?}; killed invocation wrote {killed_writes} OneFile records; allowance {allowance:?}"
    );
    assert!(
        others <= allowance,
        "the others took {others:?} against {clean_time:?} for the clean run"
    );
}
