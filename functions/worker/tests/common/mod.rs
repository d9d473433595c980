//! The worker tests' harness: the stand-ins and simulators, SQS receives handed to the worker
//! as Lambda's event source mapping hands them over, and the settling of a batch.
#![allow(dead_code)]

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use lambda_runtime::{Context, LambdaEvent};
use picsync_aws::testing::{self, Stack};
use picsync_sim::world;
use scheduler::Scheduler;
use serde_json::Value;
use worker::Worker;

pub(crate) fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

pub(crate) async fn setup(learners: usize) -> (Stack, world::Running, Scheduler) {
    let stack = testing::stack(&["acme"], 3, 30).await;
    let today = stack.today;
    let sims = world::start(learners, today, (300, testing::WINDOW))
        .await
        .unwrap();
    stack.world_tenant("acme", &sims).await;
    let scheduler = Scheduler::new(stack.deployment()).unwrap();
    (stack, sims, scheduler)
}

pub(crate) async fn invoke(s: &Scheduler, payload: Value) -> Value {
    s.handle(LambdaEvent::new(payload, Context::default()))
        .await
        .unwrap()
}

/// One receive of up to 10 messages, as Lambda's event source mapping hands them over.
pub(crate) async fn receive(stack: &Stack, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
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

pub(crate) fn event(msgs: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
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

/// Hands `msgs` to the worker as one invocation with `ctx`; the message ids it names as
/// failed (its partial batch response).
pub(crate) async fn failed_ids(
    w: &Worker,
    msgs: &[aws_sdk_sqs::types::Message],
    ctx: Context,
) -> Vec<String> {
    let resp = w.handle(LambdaEvent::new(event(msgs), ctx)).await.unwrap();
    resp.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// The reasons of the tasks now in the dead-letter queue (its `reason` attribute).
pub(crate) async fn dead_letter_reasons(stack: &Stack) -> Vec<String> {
    receive(stack, &stack.dlq_url)
        .await
        .iter()
        .map(|m| {
            m.message_attributes().unwrap()["reason"]
                .string_value()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// One batch through the worker, settled as the event source mapping does: processed
/// messages deleted, returned ones made visible again at once (the visibility timeout, shortened).
pub(crate) async fn batch(stack: &Stack, w: &Worker) -> Option<(usize, Vec<String>)> {
    let msgs = receive(stack, &stack.queue_url).await;
    if msgs.is_empty() {
        return None;
    }
    let failed = failed_ids(w, &msgs, Context::default()).await;
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
pub(crate) async fn drain(stack: &Stack, w: &Worker) -> usize {
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

/// Settles a batch as the event source mapping does: `failed` made visible again, the rest
/// deleted.
pub(crate) async fn settle(stack: &Stack, msgs: &[aws_sdk_sqs::types::Message], failed: &[String]) {
    for m in msgs {
        let handle = m.receipt_handle().unwrap();
        if failed.iter().any(|f| Some(f.as_str()) == m.message_id()) {
            continue;
        }
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

/// The bodies of the tasks now in the queue, in order (made visible again at once).
pub(crate) async fn receive_bodies(stack: &Stack) -> Vec<Value> {
    let msgs = receive(stack, &stack.queue_url).await;
    for m in &msgs {
        stack
            .sqs
            .change_message_visibility()
            .queue_url(&stack.queue_url)
            .receipt_handle(m.receipt_handle().unwrap())
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    msgs.iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

/// A metrics or log sink a test reads back (issue 14).
#[derive(Clone, Default)]
pub(crate) struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buf {
    /// Every line, as JSON.
    pub(crate) fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}
