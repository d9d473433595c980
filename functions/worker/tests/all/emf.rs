//! Issue 14: the functions' metrics. The scheduler and the worker write their EMF documents to
//! an injected sink for a small run on the stand-ins and simulators; every line must be a valid
//! embedded-metric-format document, and the closed run's figures must equal its run record's.

use lambda_runtime::{Context, LambdaEvent};
use picsync_aws::Metrics;
use picsync_aws::metrics::{METRIC_NAMES, NAMESPACE};
use picsync_domain::TenantId;
use picsync_state::{RunStatus, RunStore};
use scheduler::Scheduler;
use serde_json::{Value, json};
use worker::Worker;

use crate::common::*;

/// Checks one document against CloudWatch's EMF specification: a root object with `_aws`
/// (`Timestamp` a number of milliseconds, `CloudWatchMetrics` an array of directives), each
/// directive with a `Namespace` string, `Dimensions` an array of dimension sets (arrays of at
/// most 30 strings, each a root member whose value is a string) and `Metrics` an array of
/// definitions (`Name` a string, `Unit` a CloudWatch unit), each metric a number member of the
/// root. Returns the metric names it declares.
fn validate_emf(doc: &Value) -> Vec<String> {
    let root = doc
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {doc}"));
    let aws = root["_aws"].as_object().expect("_aws is an object");
    assert!(aws["Timestamp"].is_u64(), "Timestamp: {doc}");
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .expect("CloudWatchMetrics");
    assert!(!directives.is_empty());
    let units = [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];
    let mut names = Vec::new();
    for d in directives {
        let ns = d["Namespace"].as_str().expect("Namespace");
        assert!(!ns.is_empty() && ns.len() <= 1024);
        assert_eq!(ns, NAMESPACE);
        for set in d["Dimensions"].as_array().expect("Dimensions") {
            let set = set.as_array().expect("a dimension set is an array");
            assert!(set.len() <= 30);
            for k in set {
                let k = k.as_str().expect("a dimension key is a string");
                assert!(
                    root[k].is_string(),
                    "dimension {k} is not a string member: {doc}"
                );
                assert_ne!(k, "Learner", "the learner is never a dimension");
            }
        }
        let metrics = d["Metrics"].as_array().expect("Metrics");
        assert!(!metrics.is_empty() && metrics.len() <= 100);
        for m in metrics {
            let name = m["Name"].as_str().expect("Name");
            assert!(!name.is_empty() && name.len() <= 1024);
            if let Some(u) = m.get("Unit") {
                assert!(units.contains(&u.as_str().unwrap()), "unit {u}");
            }
            assert!(
                root[name].is_number(),
                "metric {name} is not a number: {doc}"
            );
            assert!(
                METRIC_NAMES.contains(&name),
                "{name} is not in METRIC_NAMES"
            );
            names.push(name.to_string());
        }
    }
    names
}

fn num(doc: &Value, name: &str) -> f64 {
    doc[name]
        .as_f64()
        .unwrap_or_else(|| panic!("{name} missing: {doc}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s14_every_metric_line_is_emf_and_the_run_figures_equal_the_run_record() {
    let (stack, _sims, _) = setup(8).await;
    let t = TenantId::from("acme");
    let out = Buf::default();
    let metrics = Metrics::to_writer(out.clone());
    let scheduler = Scheduler::new(stack.deployment().with_metrics(metrics.clone())).unwrap();
    let w = Worker::new(stack.deployment().with_metrics(metrics));
    let started = invoke(&scheduler, json!({"tenant": "acme"})).await;
    let run_id = started["run_id"].as_str().unwrap().to_string();
    let tasks = started["tasks"].as_u64().unwrap();
    assert!(tasks > 0);
    // R39: a second start while the run holds the lease is refused, and counted
    let busy = scheduler
        .handle(LambdaEvent::new(
            json!({"tenant": "acme"}),
            Context::default(),
        ))
        .await
        .unwrap_err();
    assert_eq!(busy.kind(), "Busy");
    // the worker, with a deadline as Lambda gives it
    for _ in 0..50 {
        let msgs = receive(&stack, &stack.queue_url).await;
        if msgs.is_empty() {
            break;
        }
        let mut ctx = Context::default();
        ctx.request_id = "req-emf".into();
        ctx.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap() + 120_000;
        let failed = failed_ids(&w, &msgs, ctx).await;
        settle(&stack, &msgs, &failed).await;
    }
    let run = stack.state.get_run(&t, &run_id).await.unwrap().unwrap();
    assert!(run.finished(), "{run:?}");
    assert_eq!(run.status, RunStatus::Completed);
    // the reconciler's round reports how long ago the tenant last synced
    invoke(&scheduler, json!({"op": "reconcile", "tenant": "all"})).await;

    let docs = out.lines();
    assert!(!docs.is_empty(), "no metrics written");
    for d in &docs {
        validate_emf(d);
    }
    // the closed run: one document, its figures the run record's
    let closed: Vec<&Value> = docs
        .iter()
        .filter(|d| d["RunId"] == json!(run_id))
        .collect();
    assert_eq!(closed.len(), 1, "{closed:?}");
    let c = closed[0];
    assert_eq!(c["Tenant"], "acme");
    assert_eq!(c["Mode"], json!(run.mode));
    assert_eq!(num(c, "RunsCompleted"), 1.0);
    assert_eq!(num(c, "RunsAbandoned"), 0.0);
    assert_eq!(num(c, "LearnersSynced"), run.done as f64);
    assert_eq!(num(c, "LearnersFailed"), run.failed as f64);
    assert_eq!(num(c, "LearnersSkipped"), run.skipped_unchanged as f64);
    assert_eq!(num(c, "LearnersOutOfScope"), run.out_of_scope as f64);
    assert_eq!(num(c, "OneFileCalls"), run.onefile_calls as f64);
    assert_eq!(num(c, "PicsCalls"), run.pics_calls as f64);
    assert_eq!(num(c, "PicsChanges"), run.pics_changes as f64);
    assert_eq!(num(c, "OneFileChanges"), run.onefile_changes as f64);
    assert_eq!(num(c, "OneFile429"), run.onefile_429s as f64);
    assert_eq!(num(c, "RunDuration"), run.duration_seconds());
    assert_eq!(num(c, "BudgetUse"), run.budget_use().unwrap() * 100.0);
    assert!(
        run.calls_per_minute > 0 && run.calls_per_minute <= stack.config.calls_per_minute_cap,
        "the tenant's budget is recorded: {}",
        run.calls_per_minute
    );
    assert!(
        run.pics_changes + run.onefile_changes > 0,
        "an initial run writes: {run:?}"
    );
    assert_eq!(
        run.rule_counts.values().sum::<u64>(),
        run.pics_changes + run.onefile_changes,
        "changes per system add up to changes per rule"
    );
    // the worker's invocations: every task done once, none failed or dead-lettered
    let sum = |name: &str| -> f64 {
        docs.iter()
            .filter(|d| d.get(name).is_some())
            .map(|d| num(d, name))
            .sum()
    };
    assert_eq!(sum("TasksDone"), run.done as f64);
    assert_eq!(sum("TasksFailed"), 0.0);
    assert_eq!(sum("TasksDeadLettered"), 0.0);
    let left: Vec<&Value> = docs
        .iter()
        .filter(|d| d.get("SecondsLeft").is_some())
        .collect();
    assert!(!left.is_empty());
    assert!(
        left.iter()
            .all(|d| d["RequestId"] == "req-emf" && num(d, "SecondsLeft") > 60.0)
    );
    // events: the refused lease, and the tenant's staleness after the reconciler's round
    assert_eq!(sum("LeaseRefused"), 1.0);
    let stale: Vec<&Value> = docs
        .iter()
        .filter(|d| d.get("HoursSinceLastSync").is_some())
        .collect();
    assert_eq!(stale.len(), 1);
    assert!(num(stale[0], "HoursSinceLastSync") < 0.1, "{}", stale[0]);
}
