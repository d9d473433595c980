#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package
//! Measures the release worker binary's peak memory for one SQS batch of 10 learner tasks:
//! sets up a tenant on the stand-ins (DynamoDB Local, moto) and both simulators, starts a run
//! of 10 learners with the scheduler, hands the 10 queued messages to `target/release/worker`
//! through a stand-in of the Lambda Runtime API on 127.0.0.1, and runs it under
//! `/usr/bin/time -v`. Production tuning (OneFile paced at 280 calls per real minute).
//!
//!   cargo build --release -p worker && scripts/standins.sh start
//!   cargo run -p worker --example measure

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue};
use axum::routing::{get, post};
use picsync_aws::testing;
use picsync_sim::world;
use serde_json::json;

type Shared = Arc<Mutex<(Option<String>, Option<String>)>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/release/worker");
    if !std::path::Path::new(bin).exists() {
        return Err(format!("{bin} is missing: cargo build --release -p worker").into());
    }
    let standins = testing::standins();
    let stack = testing::stack(&["acme"], 3, 300).await;
    let today = picsync_domain::time::london_date(chrono::Utc::now());
    let sims = world::start(40, today, (300, Duration::from_secs(60))).await?;
    stack.world_tenant("acme", &sims).await;
    let scheduler = scheduler::Scheduler::new(stack.deployment())?;
    let learners: Vec<&String> = sims.info.in_scope.iter().take(10).collect();
    let started = scheduler
        .invoke(&json!({"tenant": "acme", "learners": learners}))
        .await?;
    let msgs = stack
        .sqs
        .receive_message()
        .queue_url(&stack.queue_url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await?
        .messages
        .unwrap_or_default();
    let records: Vec<serde_json::Value> = msgs
        .iter()
        .map(|m| {
            let attrs: serde_json::Map<String, serde_json::Value> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_string(), json!(v)))
                        .collect()
                })
                .unwrap_or_default();
            json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
                   "attributes": attrs, "messageAttributes": {}, "eventSource": "aws:sqs"})
        })
        .collect();
    println!(
        "run {} queued {} tasks; handing {} to the worker",
        started["run_id"],
        started["tasks"],
        records.len()
    );
    let event = json!({ "Records": records }).to_string();

    // the Lambda Runtime API: one invocation, then the next poll waits for ever
    let shared: Shared = Arc::new(Mutex::new((Some(event), None)));
    let next = {
        let shared = shared.clone();
        move || async move {
            let ev = shared.lock().map(|mut s| s.0.take()).unwrap_or(None);
            match ev {
                Some(ev) => {
                    let mut h = HeaderMap::new();
                    h.insert(
                        "lambda-runtime-aws-request-id",
                        HeaderValue::from_static("req-1"),
                    );
                    h.insert(
                        "lambda-runtime-deadline-ms",
                        HeaderValue::from_static("9999999999999"),
                    );
                    h.insert(
                        "lambda-runtime-invoked-function-arn",
                        HeaderValue::from_static(
                            "arn:aws:lambda:eu-west-2:123456789012:function:worker",
                        ),
                    );
                    (h, ev)
                }
                None => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    (HeaderMap::new(), String::new())
                }
            }
        }
    };
    let done = {
        let shared = shared.clone();
        move |body: String| async move {
            if let Ok(mut s) = shared.lock() {
                s.1 = Some(body);
            }
            "{}"
        }
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(done.clone()),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(done))
        .route(
            "/2018-06-01/runtime/init/error",
            post(|b: String| async move {
                eprintln!("init error: {b}");
                "{}"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let c = &stack.config;
    let child = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(bin)
        .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "worker")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "measure")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "measure")
        .env("AWS_LAMBDA_LOG_LEVEL", "warn")
        .env("AWS_REGION", "eu-west-2")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL_DYNAMODB", &standins.dynamodb_url)
        .env("AWS_ENDPOINT_URL_SQS", &standins.moto_url)
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &standins.moto_url)
        .env("TABLE_NAME", &c.table_name)
        .env("SECRET_PREFIX", &c.secret_prefix)
        .env(
            "DEAD_LETTER_QUEUE_URL",
            c.dlq_url.clone().unwrap_or_default(),
        )
        .stderr(Stdio::piped())
        .spawn()?;
    let started_at = std::time::Instant::now();
    let response = loop {
        if let Some(r) = shared.lock().ok().and_then(|s| s.1.clone()) {
            break r;
        }
        if started_at.elapsed() > Duration::from_secs(180) {
            break "(no response within 180 s)".to_string();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let elapsed = started_at.elapsed();
    // end the worker (not /usr/bin/time): time then reports on it
    let pid = child.id();
    let _ = Command::new("pkill")
        .arg("-TERM")
        .arg("-P")
        .arg(pid.to_string())
        .status();
    let out = child.wait_with_output()?;
    let report = String::from_utf8_lossy(&out.stderr);
    let rss = report
        .lines()
        .find(|l| l.contains("Maximum resident set size"))
        .unwrap_or("Maximum resident set size: ?");
    let run = picsync_state::RunStore::get_run(
        &stack.state,
        &picsync_domain::TenantId::from("acme"),
        started["run_id"].as_str().unwrap_or_default(),
    )
    .await?;
    println!("worker response: {response}");
    println!(
        "run status: {:?}, done {:?}",
        run.as_ref().map(|r| r.status),
        run.as_ref().map(|r| r.done)
    );
    println!(
        "batch of {} handled in {:.1} s",
        msgs.len(),
        elapsed.as_secs_f64()
    );
    println!("{}", rss.trim());
    Ok(())
}
