//! The functions' metrics, in CloudWatch's embedded metric format (EMF): one JSON document a
//! line on stdout, which Lambda's log stream keeps and CloudWatch Logs turns into metrics of
//! the namespace [`NAMESPACE`].
//!
//! Dimensions are bounded: `Tenant` (a handful per deployment) and, for the same values, no
//! dimension at all (the deployment's total, which the alarms watch: one alarm covers every
//! tenant). The learner and the run are never dimensions; the run id and the mode are
//! properties of the document (searchable in Logs Insights, not metrics).
//!
//! **Decision** (issue 14): a small writer of our own rather than an EMF crate. `metrique`
//! (awslabs) needs Rust 1.91, above the workspace's `rust-version` 1.85.
//! `metrics_cloudwatch_embedded` works through the `metrics` crate's process-global recorder
//! (one sink a process, so neither injectable per [`crate::Deployment`] nor separable between
//! tests running in one process), aggregates values over a flush interval where ours are one
//! document per closed run, and by default pulls `lambda_http` and `tower`. The EMF envelope is
//! a dozen lines of `serde_json`; `tests/all/emf.rs` of the worker validates every document against
//! the specification.

use std::io::Write;
use std::sync::{Arc, Mutex};

use picsync_domain::TenantId;
use picsync_state::{RunRecord, RunStatus};
use serde_json::{Map, Value, json};

/// The CloudWatch namespace of every picsync metric.
pub const NAMESPACE: &str = "picsync";

/// Every metric name the functions emit (the template's alarms and dashboard may use only
/// these; `shared/aws/tests/all/template_metrics.rs` checks it).
pub const METRIC_NAMES: &[&str] = &[
    // per closed run
    "RunsCompleted",
    "RunsAbandoned",
    "RunsAborted",
    "LearnersSynced",
    "LearnersFailed",
    "LearnersSkipped",
    "LearnersOutOfScope",
    "LearnersLost",
    "PicsChanges",
    "OneFileChanges",
    "OneFileCalls",
    "PicsCalls",
    "OneFile429",
    "RunDuration",
    "BudgetUse",
    // per worker invocation and tenant
    "TasksDone",
    "TasksFailed",
    "TasksRequeued",
    "TasksReturned",
    "TasksDeadLettered",
    // per worker invocation
    "SecondsLeft",
    // events
    "LeaseRefused",
    "SecretRefreshed",
    "HoursSinceLastSync",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
    Percent,
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
            Unit::Percent => "Percent",
            Unit::None => "None",
        }
    }
}

/// What one worker invocation did for one tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskCounts {
    /// Synchronised (outcome counted on the run).
    pub done: u64,
    /// Failed for good (counted as failed on the run).
    pub failed: u64,
    /// Put back at the tail of the tenant's queue (a retry, or not started before the deadline).
    pub requeued: u64,
    /// Handed back to SQS as batch item failures.
    pub returned: u64,
    /// Put in the dead-letter queue.
    pub dead_lettered: u64,
}

type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

/// Where the metrics go: stdout in a Lambda, any writer in a test.
#[derive(Clone)]
pub struct Metrics {
    sink: Sink,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::stdout()
    }
}

impl Metrics {
    /// To the process's stdout (a Lambda's log stream).
    pub fn stdout() -> Self {
        Self::to_writer(std::io::stdout())
    }

    /// To `w`, one document a line.
    pub fn to_writer(w: impl Write + Send + 'static) -> Self {
        Self {
            sink: Arc::new(Mutex::new(Box::new(w))),
        }
    }

    /// Writes one EMF document: `metrics` under the dimension sets `[Tenant]` and `[]` (or
    /// `[]` alone without a tenant), with `properties` as extra members. A failed write is
    /// logged, never an error: metrics never fail a sync.
    pub fn emit(
        &self,
        tenant: Option<&TenantId>,
        metrics: &[(&'static str, f64, Unit)],
        properties: Map<String, Value>,
    ) {
        let mut doc = properties;
        let dimensions = match tenant {
            Some(t) => {
                doc.insert("Tenant".into(), Value::String(t.to_string()));
                json!([["Tenant"], []])
            }
            None => json!([[]]),
        };
        let mut definitions = Vec::with_capacity(metrics.len());
        for (name, value, unit) in metrics {
            // EMF values are numbers: a NaN or an infinity would void the document
            let value = if value.is_finite() { *value } else { 0.0 };
            doc.insert((*name).to_string(), json!(value));
            definitions.push(json!({ "Name": name, "Unit": unit.as_str() }));
        }
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": chrono::Utc::now().timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": dimensions,
                    "Metrics": definitions,
                }],
            }),
        );
        let mut line = Value::Object(doc).to_string();
        line.push('\n');
        let mut sink = self
            .sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = sink.write_all(line.as_bytes()).and_then(|()| sink.flush()) {
            tracing::warn!(error = %e, "could not write a metrics document");
        }
    }

    /// A run closed: completed by its last task, or abandoned by the reconciler.
    pub fn run_closed(&self, run: &RunRecord) {
        let flag = |s: RunStatus| if run.status == s { 1.0 } else { 0.0 };
        let completed = matches!(
            run.status,
            RunStatus::Completed | RunStatus::CompletedWithFailures
        );
        let mut metrics = vec![
            (
                "RunsCompleted",
                if completed { 1.0 } else { 0.0 },
                Unit::Count,
            ),
            ("RunsAbandoned", flag(RunStatus::Abandoned), Unit::Count),
            ("RunsAborted", flag(RunStatus::Aborted), Unit::Count),
        ];
        // the run's figures, as `picsync status --json` shows them
        for (name, value) in run.figures() {
            let unit = match name {
                "RunDuration" => Unit::Seconds,
                "BudgetUse" => Unit::Percent,
                _ => Unit::Count,
            };
            metrics.push((name, value, unit));
        }
        let mut props = Map::new();
        props.insert("RunId".into(), json!(run.run_id));
        props.insert("Mode".into(), json!(run.mode));
        props.insert("Status".into(), json!(run.status));
        props.insert("FullSweep".into(), json!(run.full_sweep));
        self.emit(Some(&run.tenant), &metrics, props);
    }

    /// One worker invocation's tasks of one tenant.
    pub fn tasks(&self, tenant: &TenantId, c: &TaskCounts) {
        self.emit(
            Some(tenant),
            &[
                ("TasksDone", c.done as f64, Unit::Count),
                ("TasksFailed", c.failed as f64, Unit::Count),
                ("TasksRequeued", c.requeued as f64, Unit::Count),
                ("TasksReturned", c.returned as f64, Unit::Count),
                ("TasksDeadLettered", c.dead_lettered as f64, Unit::Count),
            ],
            Map::new(),
        );
    }

    /// A worker invocation ended with `left` before Lambda's deadline (`None`: no deadline).
    pub fn invocation_end(&self, request_id: &str, left: Option<std::time::Duration>) {
        let Some(left) = left else { return };
        let mut props = Map::new();
        props.insert("RequestId".into(), json!(request_id));
        self.emit(
            None,
            &[("SecondsLeft", left.as_secs_f64(), Unit::Seconds)],
            props,
        );
    }

    /// A run was refused because another holds the tenant's lease (R39 Busy).
    pub fn lease_refused(&self, tenant: &TenantId, holder_run: &str) {
        let mut props = Map::new();
        props.insert("HeldBy".into(), json!(holder_run));
        self.emit(Some(tenant), &[("LeaseRefused", 1.0, Unit::Count)], props);
    }

    /// The tenant's secret was fetched again after a 401.
    pub fn secret_refreshed(&self, tenant: &TenantId) {
        self.emit(
            Some(tenant),
            &[("SecretRefreshed", 1.0, Unit::Count)],
            Map::new(),
        );
    }

    /// Hours since the tenant's last completed tenant-wide run (R36; `None`: never), reported
    /// by the reconciler's schedule so that a tenant that stopped syncing is seen.
    pub fn staleness(&self, tenant: &TenantId, hours: f64) {
        self.emit(
            Some(tenant),
            &[("HoursSinceLastSync", hours, Unit::None)],
            Map::new(),
        );
    }
}

/// The engine's observer: every run it closes becomes a metrics document.
impl picsync_engine::RunObserver for Metrics {
    fn run_closed(&self, run: &RunRecord) {
        Metrics::run_closed(self, run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// METRIC_NAMES (what the template may use) is exactly what the functions emit.
    #[test]
    fn s14_metric_names_are_exactly_those_emitted() {
        let buf = Buf::default();
        let m = Metrics::to_writer(buf.clone());
        let t = TenantId::from("acme");
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap();
        let mut run = RunRecord::new(
            t.clone(),
            "r1".into(),
            picsync_domain::Mode::Periodic,
            false,
            false,
            at,
        );
        run.status = RunStatus::Completed;
        run.finished_at = Some(at + chrono::Duration::seconds(120));
        run.onefile_calls = 280;
        run.calls_per_minute = 280;
        m.run_closed(&run);
        m.tasks(&t, &TaskCounts::default());
        m.invocation_end("req", Some(std::time::Duration::from_secs(3)));
        m.lease_refused(&t, "r0");
        m.secret_refreshed(&t);
        m.staleness(&t, 1.5);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let mut emitted: Vec<String> = Vec::new();
        for line in text.lines() {
            let doc: Value = serde_json::from_str(line).unwrap();
            for d in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
            {
                emitted.push(d["Name"].as_str().unwrap().to_string());
            }
        }
        let mut declared: Vec<String> = METRIC_NAMES
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        emitted.sort();
        declared.sort();
        assert_eq!(emitted, declared);
        // budget use: 280 calls in 2 minutes at 280 a minute is half the budget
        assert!(text.contains("\"BudgetUse\":50.0"), "{text}");
    }
}
