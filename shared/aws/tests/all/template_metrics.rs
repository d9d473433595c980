//! Issue 14: the template's alarms and dashboard watch what the code emits. Every metric of the
//! `picsync` namespace used by an alarm or the dashboard is one the functions emit
//! (`metrics::METRIC_NAMES`, itself checked against the emitted documents), every alarm tells
//! the stack's alarm topic, and the alarms the issue asks for exist. Reads
//! `infra/template.yaml` as text (no CloudFormation-aware YAML parser needed).

use std::path::PathBuf;

use picsync_aws::metrics::{METRIC_NAMES, NAMESPACE};
use serde_json::Value;

fn template() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The resources: (logical id, the lines of its block).
fn resources(t: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut inside = false;
    for line in t.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            inside = line.starts_with("Resources:");
            continue;
        }
        if !inside {
            continue;
        }
        let body = line.strip_prefix("  ").unwrap_or(line);
        if !body.starts_with(' ') && !body.starts_with('#') && body.ends_with(':') {
            out.push((body.trim_end_matches(':').to_string(), Vec::new()));
        } else if let Some((_, lines)) = out.last_mut() {
            lines.push(line.to_string());
        }
    }
    out
}

fn value<'a>(lines: &'a [String], key: &str) -> Option<&'a str> {
    lines
        .iter()
        .find_map(|l| l.trim_start().strip_prefix(key))
        .map(str::trim)
}

/// The picsync metric names in a dashboard body: `["picsync", "<name>", …]` metric arrays and
/// `MetricName="<name>"` in SEARCH expressions.
fn dashboard_metrics(body: &Value, out: &mut Vec<String>) {
    match body {
        Value::Array(a) => {
            if a.first().and_then(Value::as_str) == Some(NAMESPACE) {
                out.push(a[1].as_str().unwrap().to_string());
            }
            for v in a {
                dashboard_metrics(v, out);
            }
        }
        Value::Object(o) => {
            if let Some(e) = o.get("expression").and_then(Value::as_str) {
                assert!(e.contains("{picsync,Tenant}"), "{e}");
                for part in e.split("MetricName=\"").skip(1) {
                    out.push(part.split('"').next().unwrap().to_string());
                }
            }
            for v in o.values() {
                dashboard_metrics(v, out);
            }
        }
        _ => {}
    }
}

#[test]
fn s14_alarms_and_dashboard_use_emitted_metrics_and_tell_the_topic() {
    let t = template();
    let res = resources(&t);
    let of_type = |ty: &str| -> Vec<&(String, Vec<String>)> {
        res.iter()
            .filter(|(_, l)| value(l, "Type:") == Some(ty))
            .collect()
    };
    // the topic, its optional e-mail subscription, the scheduler's failure destination
    assert_eq!(of_type("AWS::SNS::Topic").len(), 1);
    let sub = of_type("AWS::SNS::Subscription");
    assert_eq!(sub.len(), 1);
    assert_eq!(value(&sub[0].1, "Condition:"), Some("HasAlarmEmail"));
    assert_eq!(value(&sub[0].1, "Endpoint:"), Some("!Ref AlarmEmail"));
    let scheduler = &res
        .iter()
        .find(|(n, _)| n == "SchedulerFunction")
        .unwrap()
        .1;
    let on_failure = scheduler
        .iter()
        .position(|l| l.trim() == "OnFailure:")
        .expect("the scheduler's asynchronous invocations have a failure destination");
    assert_eq!(
        value(&scheduler[on_failure..], "Destination:"),
        Some("!Ref AlarmTopic")
    );

    let alarms = of_type("AWS::CloudWatch::Alarm");
    let mut used = Vec::new();
    for (name, lines) in &alarms {
        for key in ["AlarmActions:", "OKActions:"] {
            let actions = value(lines, key).unwrap_or_else(|| panic!("{name} has no {key}"));
            assert!(
                actions.starts_with("[!Ref AlarmTopic,"),
                "{name}: {key} {actions} does not tell the alarm topic"
            );
            assert!(actions.contains("!Ref AlarmTopicArn"), "{name}: {actions}");
        }
        let desc = value(lines, "AlarmDescription:").unwrap();
        assert!(
            desc.contains(&format!("README runbook {name}")),
            "{name}: {desc}"
        );
        if value(lines, "Namespace:") == Some(NAMESPACE) {
            used.push(value(lines, "MetricName:").unwrap().to_string());
        }
    }
    let names: Vec<&str> = alarms.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in [
        "DeadLetterAlarm",
        "SchedulerErrorsAlarm",
        "WorkerErrorsAlarm",
        "WorkerDurationAlarm",
        "WorkerThrottlesAlarm",
        "SchedulerThrottlesAlarm",
        "TaskQueueAgeAlarm",
        "OneFile429Alarm",
        "LearnersFailedAlarm",
        "RunsAbandonedAlarm",
        "StaleTenantAlarm",
    ] {
        assert!(names.contains(&wanted), "no {wanted} in {names:?}");
    }
    // the README has a runbook line for each alarm
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    for n in &names {
        assert!(
            readme.contains(&format!("`{n}`")),
            "README: no runbook line for {n}"
        );
    }

    // the dashboard: its body is JSON once the !Sub placeholders are filled in
    let dash = of_type("AWS::CloudWatch::Dashboard");
    assert_eq!(dash.len(), 1);
    let lines = &dash[0].1;
    let start = lines
        .iter()
        .position(|l| l.trim() == "DashboardBody: !Sub |")
        .unwrap();
    let mut body = String::new();
    for l in lines[start + 1..]
        .iter()
        .take_while(|l| l.starts_with("        ") || l.trim().is_empty())
    {
        let mut l = l.trim().to_string();
        while let Some(i) = l.find("${") {
            let j = i + l[i..].find('}').unwrap();
            l.replace_range(i..=j, "x");
        }
        body.push_str(&l);
        body.push('\n');
    }
    let body: Value = serde_json::from_str(&body).unwrap();
    let mut on_dashboard = Vec::new();
    dashboard_metrics(&body, &mut on_dashboard);
    for wanted in [
        "RunsCompleted",
        "RunDuration",
        "LearnersSynced",
        "LearnersFailed",
        "BudgetUse",
        "OneFileCalls",
        "PicsCalls",
        "OneFile429",
    ] {
        assert!(
            on_dashboard.iter().any(|m| m == wanted),
            "{wanted} is not on the dashboard"
        );
    }
    used.extend(on_dashboard);
    for m in &used {
        assert!(
            METRIC_NAMES.contains(&m.as_str()),
            "the template uses {NAMESPACE}/{m}, which the code does not emit"
        );
    }
}
