//! The worker handler against the stand-ins (DynamoDB Local; SQS and Secrets Manager on moto)
//! and both simulators: scheduler → real SQS FIFO queue → worker, end to end (R36); malformed
//! bodies; the dead-letter queue with a reason after the last receive (FIFO order kept); a
//! rotated token fetched again after a 401.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use lambda_runtime::{Context, LambdaEvent};
use picsync_aws::testing::{self, Stack};
use picsync_domain::TenantId;
use picsync_sim::faults::Fault;
use picsync_sim::world;
use picsync_state::{LearnerStore, RunStatus, RunStore, TenantStore};
use scheduler::Scheduler;
use serde_json::{Value, json};
use worker::Worker;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn setup(learners: usize) -> (Stack, world::Running, Scheduler) {
    let stack = testing::stack(&["acme"], 3, 30).await;
    let today = picsync_domain::time::london_date(chrono::Utc::now());
    let sims = world::start(learners, today, (300, testing::WINDOW))
        .await
        .unwrap();
    stack.world_tenant("acme", &sims).await;
    let scheduler = Scheduler::new(stack.deployment()).unwrap();
    (stack, sims, scheduler)
}

async fn invoke(s: &Scheduler, payload: Value) -> Value {
    s.handle(LambdaEvent::new(payload, Context::default()))
        .await
        .unwrap()
}

/// One receive of up to 10 messages, as Lambda's event source mapping hands them over.
async fn receive(stack: &Stack, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    stack
        .sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

fn event(msgs: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
    let mut ev = SqsEvent::default();
    for m in msgs {
        let mut r = SqsMessage::default();
        r.message_id = m.message_id.clone();
        r.receipt_handle = m.receipt_handle.clone();
        r.body = m.body.clone();
        r.attributes = m
            .attributes()
            .map(|a| {
                a.iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        ev.records.push(r);
    }
    ev
}

/// One batch through the worker, settled as the event source mapping does: processed
/// messages deleted, returned ones made visible again at once (the visibility timeout, shortened).
async fn batch(stack: &Stack, w: &Worker) -> Option<(usize, Vec<String>)> {
    let msgs = receive(stack, &stack.queue_url).await;
    if msgs.is_empty() {
        return None;
    }
    let resp = w
        .handle(LambdaEvent::new(event(&msgs), Context::default()))
        .await
        .unwrap();
    let failed: Vec<String> = resp
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    for m in &msgs {
        let handle = m.receipt_handle().unwrap();
        if failed.iter().any(|f| Some(f.as_str()) == m.message_id()) {
            stack
                .sqs
                .change_message_visibility()
                .queue_url(&stack.queue_url)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
        } else {
            stack
                .sqs
                .delete_message()
                .queue_url(&stack.queue_url)
                .receipt_handle(handle)
                .send()
                .await
                .unwrap();
        }
    }
    Some((msgs.len(), failed))
}

/// Batches until the queue is empty (bounded).
async fn drain(stack: &Stack, w: &Worker) -> usize {
    let mut batches = 0;
    for _ in 0..200 {
        match batch(stack, w).await {
            Some(_) => batches += 1,
            None if stack.depth(&stack.queue_url).await == 0 => return batches,
            None => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("the queue did not drain in 200 rounds");
}

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
async fn a_task_failing_on_every_delivery_reaches_the_dead_letter_queue_with_its_reason() {
    let (stack, sims, scheduler) = setup(12).await;
    let t = TenantId::from("acme");
    let (x, y) = (&sims.info.in_scope[0], &sims.info.in_scope[1]);
    let started = invoke(&scheduler, json!({"tenant": "acme", "learners": [x, y]})).await;
    let run_id = started["run_id"].as_str().unwrap().to_string();
    // PICS answers 503 to the first learner read of each of three deliveries (5 tries each)
    sims.pics.faults().script(
        "GET /learners/{id}",
        std::iter::repeat_n(Fault::Status(503), 15),
    );
    let w = Worker::new(stack.deployment());
    for round in 1..=2 {
        let (n, failed) = batch(&stack, &w).await.unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            failed.len(),
            2,
            "round {round}: the failed task and the later one of its group (FIFO)"
        );
        let run = stack.state.get_run(&t, &run_id).await.unwrap().unwrap();
        assert_eq!(
            (run.done, run.failed),
            (0, 0),
            "a failure to be retried is not counted yet"
        );
    }
    // the last delivery: the failure is counted, the task goes to the DLQ, the other runs
    let (_, failed) = batch(&stack, &w).await.unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(stack.depth(&stack.queue_url).await, 0);
    let run = stack.state.get_run(&t, &run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::CompletedWithFailures);
    assert_eq!((run.done, run.failed), (1, 1));
    assert!(run.failures[0].reason.contains("503"), "{:?}", run.failures);
    let dead = receive(&stack, &stack.dlq_url).await;
    assert_eq!(dead.len(), 1);
    let reason = dead[0].message_attributes().unwrap()["reason"]
        .string_value()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("503") && reason.contains(run.failures[0].learner.as_str()),
        "{reason}"
    );
    let st = stack
        .state
        .get_learner_state(&t, &run.failures[0].learner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        st.failures, 3,
        "each failed delivery counted on the learner (§6: retried next run)"
    );
    // R39: the finished run freed the lease
    assert!(
        invoke(&scheduler, json!({"tenant": "acme", "learners": [x]})).await["run_id"].is_string()
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
    let deployment = stack.deployment();
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returned_task_comes_back_after_the_retry_delay_not_the_visibility_timeout() {
    let (stack, sims, scheduler) = setup(12).await;
    invoke(
        &scheduler,
        json!({"tenant": "acme", "learners": [&sims.info.in_scope[0]]}),
    )
    .await;
    sims.pics.faults().script(
        "GET /learners/{id}",
        std::iter::repeat_n(Fault::Status(503), 5),
    );
    let mut config = stack.config.clone();
    config.retry_delay = std::time::Duration::from_secs(1);
    let w = Worker::new(stack.deployment_with(config));
    let msgs = receive(&stack, &stack.queue_url).await;
    assert_eq!(msgs.len(), 1);
    let resp = w
        .handle(LambdaEvent::new(event(&msgs), Context::default()))
        .await
        .unwrap();
    assert_eq!(resp.batch_item_failures.len(), 1);
    assert!(
        receive(&stack, &stack.queue_url).await.is_empty(),
        "hidden for the delay"
    );
    // the queue's visibility timeout is 30 s: back within 1 s means the worker shortened it
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let again = receive(&stack, &stack.queue_url).await;
    assert_eq!(again.len(), 1, "delivered again after the retry delay");
    let receives = again[0].attributes().unwrap()
        [&MessageSystemAttributeName::ApproximateReceiveCount]
        .clone();
    assert_eq!(receives, "2");
}
