#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package
//! Issue 14: the functions' logs, through their one logging setup
//! (`picsync_aws::logging`). In a test binary of its own: tracing caches each call site's
//! interest per process, and a test without a subscriber running beside it would hide events
//! from this one's scoped subscriber.

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use worker::Worker;

mod common;
use common::*;

/// Issue 14: a learner's log event carries the spans it happened in (the invocation's request
/// id, the tenant, the run and the learner), written by the functions' one logging setup.
#[tokio::test]
async fn s14_a_learner_event_carries_the_request_id_tenant_run_and_learner_spans() {
    let (stack, _sims, scheduler) = setup(2).await;
    let logs = Buf::default();
    let sink = logs.clone();
    let _guard =
        tracing::subscriber::set_default(picsync_aws::logging::subscriber(move || sink.clone()));
    let started = invoke(&scheduler, json!({"tenant": "acme"})).await;
    let run_id = started["run_id"].as_str().unwrap().to_string();
    let w = Worker::new(stack.deployment());
    let msgs = receive(&stack, &stack.queue_url).await;
    assert!(!msgs.is_empty());
    let mut ctx = Context::default();
    ctx.request_id = "req-log".into();
    w.handle(LambdaEvent::new(event(&msgs), ctx)).await.unwrap();
    let events = logs.lines();
    let synced: Vec<&Value> = events
        .iter()
        .filter(|e| e["fields"]["message"] == "learner synchronised")
        .collect();
    assert!(!synced.is_empty(), "{events:?}");
    for e in synced {
        let spans = e["spans"]
            .as_array()
            .unwrap_or_else(|| panic!("no spans: {e}"));
        let span = |name: &str| {
            spans
                .iter()
                .find(|s| s["name"] == name)
                .unwrap_or_else(|| panic!("no {name} span: {e}"))
        };
        assert_eq!(span("invocation")["request_id"], "req-log");
        assert_eq!(span("tenant")["tenant"], "acme");
        assert_eq!(span("learner")["run_id"], json!(run_id));
        assert!(span("learner")["learner"].is_string());
        // not repeated by hand in the event
        assert!(e["fields"].get("tenant").is_none(), "{e}");
    }
}
