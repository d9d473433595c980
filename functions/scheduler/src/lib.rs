//! The scheduler Lambda: a schedule (EventBridge Scheduler) or a by-hand invocation (`aws lambda
//! invoke`) → the tenant's lease (R39) → the learners in scope (§5, §6) → one SQS task per
//! learner → the run recorded; the run completes when its last task reports (R36). A dry run
//! (R38) is planned here, with no queue, and its plan returned. By-hand operations (enrol,
//! link, refresh_aims) run here too. A malformed payload is refused before anything is read
//! or written, with an error naming the problem.

// the dev-dependencies are the integration tests' (tests/scheduler.rs)
#![cfg_attr(test, allow(unused_crate_dependencies))]

pub mod request;

// the binary's async runtime (`#[tokio::main]` in main.rs)
use tokio as _;

use lambda_runtime::{Diagnostic, LambdaEvent};
use picsync_aws::{ConfigError, Deployment, DynamoState, TaskSender};
use picsync_domain::TenantId;
use picsync_engine::{Engine, EngineError, EnrolRequest, NoProgress, RunOptions};
use serde_json::{Value, json};
use tracing::Instrument;

pub use request::{IfBusy, Request, Target};

/// Learners whose plans a dry run returns in full (the others are counted).
pub const MAX_PLANS_SHOWN: usize = 200;

/// Why an invocation failed. Each kind is the Lambda error type the invoker sees.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The payload is malformed: nothing was read or written.
    #[error("bad request, nothing done: {0}")]
    BadRequest(String),
    /// The engine refused or failed (unknown tenant, R39 busy, an API down, …).
    #[error("tenant {tenant}: {source}")]
    Engine {
        tenant: String,
        #[source]
        source: EngineError,
    },
    /// Some tasks of a started run could not be queued; they are recorded as failed on the run.
    #[error(
        "tenant {tenant}: run {run_id} started, but {unsent} of its tasks could not be queued (recorded as failed on the run): {reason}"
    )]
    Queue {
        tenant: String,
        run_id: String,
        unsent: usize,
        reason: String,
    },
    /// A `"tenant": "all"` invocation in which some tenants failed (the others ran).
    #[error("{failed} of {total} tenants failed: {details}")]
    Tenants {
        failed: usize,
        total: usize,
        details: String,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl SchedulerError {
    /// The error type shown to the invoker.
    pub fn kind(&self) -> &'static str {
        match self {
            SchedulerError::BadRequest(_) => "BadRequest",
            SchedulerError::Engine {
                source: EngineError::Busy { .. },
                ..
            } => "Busy",
            SchedulerError::Engine { source, .. } if source.is_bad_input() => "BadInput",
            SchedulerError::Engine { .. } => "Failed",
            SchedulerError::Queue { .. } => "QueueFailed",
            SchedulerError::Tenants { .. } => "TenantsFailed",
            SchedulerError::Config(_) => "Configuration",
        }
    }
}

impl From<SchedulerError> for Diagnostic {
    fn from(e: SchedulerError) -> Self {
        Diagnostic {
            error_type: e.kind().to_string(),
            error_message: e.to_string(),
        }
    }
}

/// The scheduler of a container: clients built once.
pub struct Scheduler {
    deployment: Deployment,
    engine: Engine<DynamoState>,
    sender: TaskSender,
}

fn engine_err(tenant: &TenantId) -> impl Fn(EngineError) -> SchedulerError + '_ {
    move |source| SchedulerError::Engine {
        tenant: tenant.to_string(),
        source,
    }
}

impl Scheduler {
    /// Needs `QUEUE_URL`.
    pub fn new(deployment: Deployment) -> Result<Self, ConfigError> {
        let sender = TaskSender::new(
            deployment.sqs.clone(),
            deployment.config.require_queue()?.to_string(),
        );
        let lease_ttl = chrono::Duration::from_std(deployment.config.lease_ttl)
            .unwrap_or(chrono::Duration::hours(6));
        let engine = Engine::new(deployment.state.clone(), deployment.clock.clone())
            .with_lease_ttl(lease_ttl)
            .with_observer(std::sync::Arc::new(deployment.metrics.clone()));
        Ok(Self {
            deployment,
            engine,
            sender,
        })
    }

    pub fn engine(&self) -> &Engine<DynamoState> {
        &self.engine
    }

    /// The Lambda handler.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, SchedulerError> {
        let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
        async {
            tracing::info!("scheduler invoked");
            self.invoke(&event.payload).await
        }
        .instrument(span)
        .await
    }

    /// Handles one payload.
    pub async fn invoke(&self, payload: &Value) -> Result<Value, SchedulerError> {
        let request = request::parse(payload).map_err(|e| {
            tracing::warn!(problem = %e, "refused a malformed invocation");
            SchedulerError::BadRequest(e)
        })?;
        tracing::info!(tenant = request.tenant(), ?request, "request accepted");
        match request {
            Request::Sync {
                target: Target::One(t),
                mode,
                dry_run,
                learners,
                full,
                if_busy,
            } => {
                let opts = RunOptions {
                    mode,
                    dry_run,
                    learners,
                    full,
                    ..RunOptions::default()
                };
                self.sync(&t, &opts, if_busy).await
            }
            Request::Sync {
                target: Target::All,
                mode,
                dry_run,
                full,
                if_busy,
                ..
            } => {
                let opts = RunOptions {
                    mode,
                    dry_run,
                    full,
                    ..RunOptions::default()
                };
                self.sync_all(&opts, if_busy).await
            }
            Request::Enrol {
                tenant,
                learner,
                choices,
                dry_run,
            } => {
                let t = self.tenant(&tenant).await?;
                let req = EnrolRequest {
                    learner,
                    choices,
                    dry_run,
                };
                let report = self
                    .engine
                    .enrol(&t, &req)
                    .await
                    .map_err(engine_err(&tenant))?;
                Ok(serde_json::to_value(&report).unwrap_or_default())
            }
            Request::Link {
                tenant,
                learner,
                onefile,
                dry_run,
            } => {
                let t = self.tenant(&tenant).await?;
                let msg = self
                    .engine
                    .link(&t, &learner, onefile, dry_run)
                    .await
                    .map_err(engine_err(&tenant))?;
                Ok(json!({ "tenant": tenant.as_str(), "result": msg }))
            }
            Request::RefreshAims { tenant, dry_run } => {
                let t = self.tenant(&tenant).await?;
                let n = self
                    .engine
                    .refresh_aims(&t, dry_run)
                    .await
                    .map_err(engine_err(&tenant))?;
                Ok(json!({ "tenant": tenant.as_str(), "learning_aims": n, "dry_run": dry_run }))
            }
            Request::Reconcile { target } => self.reconcile(&target).await,
        }
    }

    /// Closes the runs that stopped reporting, tenant by tenant (one tenant's failure stops no
    /// other). Needs only the table: no secret, no call to OneFile or PICS.
    async fn reconcile(&self, target: &Target) -> Result<Value, SchedulerError> {
        let tenants = match target {
            Target::One(t) => vec![t.clone()],
            Target::All => self.deployment.config.tenants.clone(),
        };
        let mut closed = Vec::new();
        let mut failed = Vec::new();
        for t in &tenants {
            match self.engine.reconcile(t).await {
                Ok(runs) => {
                    closed.extend(runs.into_iter().map(|r| {
                        json!({"tenant": t.as_str(), "run_id": r.run_id, "done": r.done, "lost": r.lost})
                    }));
                    self.report_staleness(t).await;
                }
                Err(e) => {
                    tracing::error!(tenant = %t, error = %e, "could not reconcile the tenant's runs");
                    failed.push(format!("{t}: {e}"));
                }
            }
        }
        if failed.is_empty() {
            Ok(json!({ "abandoned": closed }))
        } else {
            Err(SchedulerError::Tenants {
                failed: failed.len(),
                total: tenants.len(),
                details: failed.join("; "),
            })
        }
    }

    /// Issue 14: how long ago the tenant last completed a tenant-wide run (R36), as a metric on
    /// every reconciler round (every 10 minutes), so that a tenant that stopped syncing alarms.
    /// **Decision**: a tenant that never synced reports the hours since nothing, i.e. a large
    /// number (10 000), so that it alarms too unless its schedule is off.
    async fn report_staleness(&self, t: &TenantId) {
        use picsync_state::TenantStore;
        match self.deployment.state.get_tenant(t).await {
            Ok(state) => {
                let hours = state
                    .and_then(|s| s.last_synchronised)
                    .map_or(10_000.0, |last| {
                        (chrono::Utc::now() - last).num_seconds().max(0) as f64 / 3600.0
                    });
                self.deployment.metrics.staleness(t, hours);
            }
            Err(e) => {
                tracing::warn!(tenant = %t, error = %e, "could not read the tenant's last sync");
            }
        }
    }

    async fn tenant(&self, id: &TenantId) -> Result<picsync_engine::Tenant, SchedulerError> {
        self.deployment
            .tenants
            .load(id)
            .await
            .map_err(engine_err(id))
    }

    /// One tenant: a dry run planned here, or a run started and its tasks queued.
    async fn sync(
        &self,
        id: &TenantId,
        opts: &RunOptions,
        if_busy: IfBusy,
    ) -> Result<Value, SchedulerError> {
        let t = self.tenant(id).await?;
        // R35: this invocation's OneFile calls (the listing, or a dry run's reads) count in the
        // tenant's one budget with its workers': it takes on the pacing the tenant's last
        // process left, and a run hands its own on before any of its tasks is queued. A dry
        // run stores nothing (R38); its calls stay in this environment's log, which the
        // tenant's next run started here takes on with the stored one.
        let pacer = t.onefile.pacer().clone();
        self.deployment.state.take_on_pacing(id, &pacer).await;
        if opts.dry_run {
            // R38: planned here, nothing written, no queue
            let summary = self
                .engine
                .run_tenant(&t, opts, &NoProgress)
                .await
                .map_err(engine_err(id))?;
            let changes: Vec<&picsync_engine::LearnerReport> = summary
                .reports
                .iter()
                .filter(|r| r.plans.iter().any(|p| !p.is_empty()))
                .collect();
            // a Lambda response holds at most 6 MB: the first learners in full, the rest counted
            return Ok(json!({
                "tenant": id.as_str(),
                "dry_run": true,
                "run": summary.run,
                "learners_with_changes_total": changes.len(),
                "learners_with_changes": changes.iter().take(MAX_PLANS_SHOWN).collect::<Vec<_>>(),
            }));
        }
        let start = match self.engine.start_run(&t, opts).await {
            Ok(start) => start,
            Err(e) => {
                if let EngineError::Busy { run_id, .. } = &e {
                    self.deployment.metrics.lease_refused(id, run_id);
                    if if_busy == IfBusy::Skip {
                        // R39: a frequent schedule meets a long run (the nightly sweep) as a
                        // matter of course; the run holding the lease carries on
                        tracing::info!(tenant = %id, holder = %run_id, "run not started: the tenant's previous run still holds its lease (if_busy = skip)");
                        return Ok(json!({
                            "tenant": id.as_str(),
                            "skipped": "busy",
                            "holder": run_id,
                        }));
                    }
                }
                return Err(engine_err(id)(e));
            }
        };
        // the run holds the lease: no worker of the tenant runs until its tasks are queued
        self.deployment.state.hand_on_pacing(id, &pacer, None).await;
        let run = &start.run;
        let sent = self.sender.send(&start.tasks).await;
        tracing::info!(
            tenant = %id, run_id = %run.run_id, mode = ?run.mode, tasks = start.tasks.len(),
            queued = sent.sent, unsent = sent.failed.len(),
            skipped_unchanged = run.skipped_unchanged, out_of_scope = run.out_of_scope,
            "run started"
        );
        if let Some(first) = sent.failed.first() {
            let reason = first.reason.clone();
            for u in &sent.failed {
                let e = EngineError::Inconsistent(format!(
                    "the task could not be queued: {}",
                    u.reason
                ));
                if let Err(e) = self.engine.report_failure(&u.task, &e).await {
                    tracing::error!(tenant = %id, learner = %u.task.learner, error = %e, "could not record an unqueued task");
                }
            }
            return Err(SchedulerError::Queue {
                tenant: id.to_string(),
                run_id: run.run_id.clone(),
                unsent: sent.failed.len(),
                reason,
            });
        }
        Ok(json!({
            "tenant": id.as_str(),
            "run_id": run.run_id,
            "mode": run.mode,
            "full_sweep": run.full_sweep,
            "tasks": start.tasks.len(),
            "skipped_unchanged": run.skipped_unchanged,
            "out_of_scope": run.out_of_scope,
            "status": run.status,
        }))
    }

    /// Every tenant of `PICSYNC_TENANTS`, in parallel; one tenant's failure stops no other.
    async fn sync_all(&self, opts: &RunOptions, if_busy: IfBusy) -> Result<Value, SchedulerError> {
        let tenants = &self.deployment.config.tenants;
        if tenants.is_empty() {
            return Err(SchedulerError::Config(ConfigError {
                var: "PICSYNC_TENANTS",
                problem: "is empty: list the tenants a \"tenant\": \"all\" invocation runs".into(),
            }));
        }
        let results = futures::future::join_all(tenants.iter().map(|t| async move {
            let span = tracing::info_span!("tenant", tenant = %t);
            (t, self.sync(t, opts, if_busy).instrument(span).await)
        }))
        .await;
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for (t, r) in results {
            match r {
                Ok(v) => ok.push(v),
                Err(e) => {
                    tracing::error!(tenant = %t, error = %e, kind = e.kind(), "tenant not started");
                    failed.push(format!("{t}: {e}"));
                }
            }
        }
        if failed.is_empty() {
            Ok(json!({ "tenants": ok }))
        } else {
            Err(SchedulerError::Tenants {
                failed: failed.len(),
                total: tenants.len(),
                details: failed.join("; "),
            })
        }
    }
}
