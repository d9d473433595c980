#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests link the dev-dependencies too
//! The worker Lambda: an SQS batch of learner tasks → the engine, up to
//! `WORKER_LEARNER_CONCURRENCY` learners of a tenant at once on the tenant's one OneFile pacer
//! (tenants of a batch in parallel) → an `SqsBatchResponse` naming exactly the messages to
//! deliver again.
//!
//! - R35 across execution environments: a batch starts from the pacing its tenant's previous
//!   batch left in the table (the last window's calls, a 429's hold) and stores its own at the end; the
//!   budget proof is at `Worker::tenant_batch`.
//! - Success: the outcome is counted on the run (once per learner); the run that receives its
//!   last outcome completes, moving "last synchronised" (R36) and freeing the lease (R39).
//! - A retryable failure (an API down, a 5xx, an intent another worker holds), or a learner cut
//!   off at the invocation's deadline: the task is put back at the *tail* of its tenant's queue
//!   as a new message with `attempt + 1` and a `not_before` of `RETRY_DELAY_SECONDS` (doubled
//!   per attempt, at most 15 minutes), and NOT yet counted on the run. The tenant's later tasks
//!   go on meanwhile: one failing learner never holds up the others (§7). FIFO queues have no
//!   per-message delay, so a re-queued task delivered early is put back again while due work
//!   waits behind it, and held by its visibility timeout when only such retries remain.
//! - After `MAX_ATTEMPTS` failed attempts a task is counted as failed on the run (which can then
//!   complete) and on the learner, and the worker puts it in the dead-letter queue with its
//!   reason as a message attribute. A permanent failure is counted at once; once the learner
//!   has failed `MAX_ATTEMPTS` times in a row (consecutive runs) it goes to the dead-letter
//!   queue too. Should a send fail, the message is returned to the queue instead, and the
//!   queue's own redrive (`maxReceiveCount`, a backstop) takes it in the end.
//! - The deadline: a learner is started only with `LEARNER_MIN_SECONDS` left beyond a reserve
//!   of `DEADLINE_RESERVE_SECONDS`, and is cut off at the reserve (its writes so far stand;
//!   every OneFile create resumes through its intent, §7). Tasks never started are re-queued
//!   unchanged; the invocation answers before Lambda would kill it, so no batch is re-run whole
//!   and no receive is counted for nothing.
//! - R1: a tenant's settings are read before anything else; while its integration is off, its
//!   tasks are recorded as failed (NotEnabled) without a single call to OneFile or PICS.
//! - A 401 from OneFile or PICS: the tenant's secret is fetched again (it may have been
//!   rotated) and the task tried once more in this invocation.
//! - A malformed body: put in the dead-letter queue at once with its reason, and logged; not
//!   returned. It names no run we could count it on, retrying cannot cure it, and on a FIFO
//!   queue a returned message would hold up every later task of its tenant for nothing.
//! - FIFO (R35): one batch of a group (tenant) at a time. Within a batch the learners run at
//!   once: the group serves as the tenant's mutex (one lease, one pacer), not as an order
//!   between learners, which are independent.

use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use picsync_aws::metrics::TaskCounts;
use picsync_aws::{DeadLetters, Deployment, DynamoState, TaskSender, is_auth_error};
use picsync_domain::TenantId;
use picsync_engine::{Engine, EngineError, LearnerTask, parse_task};
use tracing::Instrument;

/// A message the worker hands back to the queue (a batch item failure), and when it should
/// come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returned {
    pub message_id: String,
    /// `None`: after the retry delay for its receive count.
    pub after: Option<std::time::Duration>,
}

impl Returned {
    fn now(message_id: &str) -> Self {
        Self {
            message_id: message_id.to_string(),
            after: None,
        }
    }
}

/// The invocation's deadline as an `Instant`; `None` when the context carries none (0, as in
/// a hand-built context).
pub fn deadline_of(ctx: &lambda_runtime::Context) -> Option<Instant> {
    if ctx.deadline == 0 {
        return None;
    }
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    Some(Instant::now() + Duration::from_millis(ctx.deadline.saturating_sub(now_ms)))
}

/// One delivered task.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub message_id: String,
    pub task: LearnerTask,
    /// SQS's `ApproximateReceiveCount` (1 on the first delivery).
    pub receive_count: u32,
    /// Set on a FIFO queue.
    pub group: Option<String>,
    /// The message as received (for the dead-letter queue).
    pub body: String,
}

/// Reads one record; `Err` is a malformed message, with the reason.
pub fn delivery(m: &SqsMessage) -> Result<Delivery, String> {
    let message_id = m
        .message_id
        .clone()
        .ok_or_else(|| "the record has no messageId".to_string())?;
    let body = m.body.as_deref().unwrap_or_default();
    let task = parse_task(body).map_err(|e| e.to_string())?;
    let group = m.attributes.get("MessageGroupId").cloned();
    if let Some(g) = &group
        && g != &picsync_aws::queue::sqs_id(task.tenant.as_str())
    {
        return Err(format!(
            "the message group {g:?} is not the task's tenant {:?}",
            task.tenant.as_str()
        ));
    }
    let receive_count = m
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    Ok(Delivery {
        message_id,
        task,
        receive_count,
        group,
        body: body.to_string(),
    })
}

/// The worker of a container: clients built once.
pub struct Worker {
    deployment: Deployment,
    engine: Engine<DynamoState>,
    dead_letters: Option<DeadLetters>,
    queue: Option<TaskSender>,
    /// What the current invocation did, per tenant (issue 14: emitted when it ends). A Lambda
    /// container runs one invocation at a time.
    tally: std::sync::Mutex<Vec<(TenantId, TaskCounts)>>,
    /// Learners of a tenant synchronised at once (on the tenant's pacer, R35).
    concurrency: usize,
}

impl Worker {
    pub fn new(deployment: Deployment) -> Self {
        let lease_ttl = chrono::Duration::from_std(deployment.config.lease_ttl)
            .unwrap_or(chrono::Duration::minutes(30));
        // §7: no invocation outlives the function's timeout (learners are cut off before it),
        // so a claim on a create needs to last no longer; a killed invocation's claims are then
        // taken over minutes later, not hours
        let intent_ttl =
            chrono::Duration::from_std(deployment.config.function_timeout + Duration::from_secs(5))
                .unwrap_or(chrono::Duration::minutes(6));
        let engine = Engine::new(deployment.state.clone(), deployment.clock.clone())
            .with_lease_ttl(lease_ttl)
            .with_intent_ttl(intent_ttl)
            .with_observer(std::sync::Arc::new(deployment.metrics.clone()));
        let dead_letters = deployment
            .config
            .dlq_url
            .as_ref()
            .map(|u| DeadLetters::new(deployment.sqs.clone(), u.clone()));
        let queue = deployment
            .config
            .queue_url
            .as_ref()
            .map(|u| TaskSender::new(deployment.sqs.clone(), u.clone()));
        let concurrency = std::env::var("WORKER_LEARNER_CONCURRENCY")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|c| *c > 0)
            .unwrap_or(DEFAULT_LEARNER_CONCURRENCY);
        Self {
            deployment,
            engine,
            dead_letters,
            queue,
            concurrency,
            tally: Default::default(),
        }
    }

    /// Counts what happened to one of the invocation's tasks of `tenant`.
    fn count(&self, tenant: &TenantId, f: impl FnOnce(&mut TaskCounts)) {
        let mut tally = self
            .tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match tally.iter_mut().find(|(t, _)| t == tenant) {
            Some((_, c)) => f(c),
            None => {
                let mut c = TaskCounts::default();
                f(&mut c);
                tally.push((tenant.clone(), c));
            }
        }
    }

    /// Syncs up to `c` learners of a tenant at once (at least 1).
    pub fn with_concurrency(mut self, c: usize) -> Self {
        self.concurrency = c.max(1);
        self
    }

    /// Puts a message in the dead-letter queue with its reason; false when it could not.
    async fn dead_letter(
        &self,
        body: &str,
        group: Option<&str>,
        message_id: &str,
        receive_count: u32,
        reason: &str,
    ) -> bool {
        let Some(dl) = &self.dead_letters else {
            return false;
        };
        match dl
            .send(body, group, message_id, receive_count, reason)
            .await
        {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(message_id, error = %e, "could not put the message in the dead-letter queue");
                false
            }
        }
    }

    /// The Lambda handler (never fails as a whole: failures are per message).
    pub async fn handle(
        &self,
        event: LambdaEvent<SqsEvent>,
    ) -> Result<SqsBatchResponse, std::convert::Infallible> {
        let deadline = deadline_of(&event.context);
        let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
        let returned = self
            .process(&event.payload.records, deadline)
            .instrument(span.clone())
            .await;
        self.back_off(&event.payload.records, &returned)
            .instrument(span)
            .await;
        // issue 14: the invocation's figures, per tenant, and the time it had left
        let tally = std::mem::take(
            &mut *self
                .tally
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for (tenant, counts) in &tally {
            self.deployment.metrics.tasks(tenant, counts);
        }
        self.deployment.metrics.invocation_end(
            &event.context.request_id,
            deadline.map(|d| d.saturating_duration_since(Instant::now())),
        );
        let mut response = SqsBatchResponse::default();
        for r in returned {
            let mut f = BatchItemFailure::default();
            f.item_identifier = r.message_id;
            response.batch_item_failures.push(f);
        }
        Ok(response)
    }

    /// Handles a batch before `deadline`; returns the messages to deliver again, in the
    /// batch's order.
    pub async fn process(
        &self,
        records: &[SqsMessage],
        deadline: Option<Instant>,
    ) -> Vec<Returned> {
        let mut by_tenant: Vec<(TenantId, Vec<Delivery>)> = Vec::new();
        let mut returned = Vec::new();
        for m in records {
            match delivery(m) {
                Ok(d) => match by_tenant.iter_mut().find(|(t, _)| *t == d.task.tenant) {
                    Some((_, ds)) => ds.push(d),
                    None => by_tenant.push((d.task.tenant.clone(), vec![d])),
                },
                Err(reason) => {
                    let id = m.message_id.clone().unwrap_or_default();
                    let group = m.attributes.get("MessageGroupId").map(String::as_str);
                    tracing::error!(
                        event = "malformed_task", message_id = %id, group = group.unwrap_or("-"),
                        body_bytes = m.body.as_ref().map_or(0, String::len), %reason,
                        "malformed task: to the dead-letter queue"
                    );
                    let body = m.body.as_deref().unwrap_or_default();
                    let reason = format!("malformed task: {reason}");
                    if self.dead_letters.is_some()
                        && !self.dead_letter(body, group, &id, 1, &reason).await
                    {
                        // the DLQ is unreachable now: keep the message rather than lose it
                        returned.push(Returned::now(&id));
                    }
                }
            }
        }
        let results = futures::future::join_all(by_tenant.iter().map(|(t, ds)| {
            self.tenant_batch(t, ds, deadline)
                .instrument(tracing::info_span!("tenant", tenant = %t))
        }))
        .await;
        for ((t, _), r) in by_tenant.iter().zip(&results) {
            self.count(t, |c| c.returned += r.len() as u64);
        }
        returned.extend(results.into_iter().flatten());
        records
            .iter()
            .filter_map(|m| m.message_id.as_deref())
            .filter_map(|id| returned.iter().find(|r| r.message_id == id).cloned())
            .collect()
    }

    /// Returned messages come back after their own delay, or after `RETRY_DELAY_SECONDS`
    /// doubled per delivery (capped at 15 minutes), rather than after the queue's whole
    /// visibility timeout.
    async fn back_off(&self, records: &[SqsMessage], returned: &[Returned]) {
        let config = &self.deployment.config;
        let Some(queue_url) = &config.queue_url else {
            return;
        };
        for m in records {
            let (Some(id), Some(receipt)) = (&m.message_id, &m.receipt_handle) else {
                continue;
            };
            let Some(r) = returned.iter().find(|r| &r.message_id == id) else {
                continue;
            };
            let delay = match r.after {
                Some(after) => after,
                None if config.retry_delay.is_zero() => continue,
                None => {
                    let receives = m
                        .attributes
                        .get("ApproximateReceiveCount")
                        .and_then(|c| c.parse::<u32>().ok())
                        .unwrap_or(1);
                    retry_delay(config.retry_delay, receives.saturating_sub(1))
                }
            };
            let out = self
                .deployment
                .sqs
                .change_message_visibility()
                .queue_url(queue_url)
                .receipt_handle(receipt)
                .visibility_timeout(i32::try_from(delay.as_secs().max(1)).unwrap_or(900))
                .send()
                .await;
            if let Err(e) = out {
                tracing::warn!(message_id = %id, error = %aws_sdk_sqs::error::DisplayErrorContext(&e),
                    "could not shorten the visibility timeout: the task returns after the queue's");
            }
        }
    }

    /// The task's last try: its attempts are spent, or the queue's redrive takes it next.
    fn last_attempt(&self, d: &Delivery) -> bool {
        let config = &self.deployment.config;
        d.task.attempt.saturating_add(1) >= config.max_attempts
            || d.receive_count >= config.max_receive_count
    }

    /// Which failures of `d` the runner leaves unrecorded, because the task will be tried
    /// again: a retryable one before its last attempt, and a refused credential while the
    /// secret may still be fetched again.
    fn defer(&self, d: &Delivery, may_refresh: bool) -> impl Fn(&EngineError) -> bool + Sync {
        let last = self.last_attempt(d);
        move |e: &EngineError| (e.is_retryable() && !last) || (may_refresh && is_auth_error(e))
    }

    /// Time left before the reserve; `None`: no deadline.
    fn left(&self, deadline: Option<Instant>) -> Option<Duration> {
        deadline.map(|d| {
            d.saturating_duration_since(Instant::now())
                .saturating_sub(self.deployment.config.deadline_reserve)
        })
    }

    /// The deliveries of one tenant: up to `concurrency` learners at once on the tenant's
    /// pacer. Returns the messages to deliver again.
    ///
    /// **Decision** (R35, issue 13): the tenant runs at its OneFile budget on Lambda by
    /// syncing up to `WORKER_LEARNER_CONCURRENCY` learners of a batch at once (the CLI's
    /// concurrency), not by spreading a tenant over several message groups: one group keeps
    /// one lease, one FIFO order of runs and one pacer, and the budget proof stays one log.
    ///
    /// Budget proof (no span of OneFile's minute carries more than the tenant's
    /// `onefile_calls_per_minute`, `L`):
    /// 1. Within a batch every learner takes its calls from the tenant's one pacer, a sliding
    ///    log that grants a call only while fewer than `L` grants lie in the last window:
    ///    at most `L` calls in any span of a window, however many learners run at once
    ///    (`picsync_onefile::pacer`).
    /// 2. A tenant's batches never overlap: its tasks are one FIFO message group, and SQS
    ///    hands out no message of a group while another is in flight; the visibility timeout
    ///    (1,800 s) exceeds the function's timeout, and the worker answers before its
    ///    deadline. The batch's last OneFile call ends before its pacer state is written.
    /// 3. The next batch (or the scheduler's listing for the tenant's next run, which does
    ///    the same under the run's lease before it queues a task), in this environment or a
    ///    fresh one with an empty log, first takes on the stored log (`Pacer::restore`: call by call the later of the stored log and
    ///    its own, and the later hold). So the grants of consecutive batches are the grants
    ///    of one log, and 1. holds across them; the time between two batches is made up
    ///    within the window rather than lost (issue 13). A 429's hold is in the stored
    ///    state too, so it pauses the tenant's next batch wherever it runs.
    /// 4. When the state cannot be handed on: a batch that cannot read it counts the last
    ///    window as full (its first call waits a window); a batch that cannot store it waits,
    ///    before it answers, until its own calls have left the window (within its deadline).
    ///    A batch killed before it stores it (a crash) leaves its messages in flight until
    ///    the visibility timeout, and SQS hands out no other message of the group meanwhile,
    ///    so the next batch starts windows after its last call.
    /// 5. Left over: wall clocks of two environments differ by the NTP error `e` (ms on
    ///    Lambda); a handed-on call read `e` early frees its slot `e` early, worth the calls
    ///    the pacer's spacing grants in `e` (`2L` a window: < 1 at 280/min while `e` < 100 ms);
    ///    and a store that fails with the deadline too close to wait. OneFile's own limit
    ///    (300) leaves 20 for these and for the time between a grant and the call's arrival.
    ///
    /// Cost: one consistent read and one write of the tenant's `PACER` item per batch.
    async fn tenant_batch(
        &self,
        id: &TenantId,
        ds: &[Delivery],
        deadline: Option<Instant>,
    ) -> Vec<Returned> {
        // R1 before anything else: a disabled tenant's tasks make no call to either system
        match self.deployment.tenants.settings(id).await {
            Ok(s) if !s.integration_enabled => {
                // R43: the next run after it is enabled again is initial
                if let Err(e) = self.engine.note_disabled(id).await {
                    tracing::warn!(error = %e, "could not record that the tenant is disabled");
                }
                let e = EngineError::NotEnabled(id.to_string());
                return self.unrunnable(id, ds, &e).await;
            }
            Ok(_) => {}
            Err(e) => return self.unrunnable(id, ds, &e).await,
        }
        // the runs being worked keep their leases (a run whose lease lapsed is abandoned)
        let mut runs: Vec<&str> = Vec::new();
        for d in ds.iter().filter(|d| !d.task.dry_run) {
            if !runs.contains(&d.task.run_id.as_str()) {
                runs.push(&d.task.run_id);
                if let Err(e) = self.engine.heartbeat(id, &d.task.run_id).await {
                    tracing::warn!(run_id = %d.task.run_id, error = %e, "could not renew the run's lease");
                }
            }
        }
        let tenant = match self.deployment.tenants.load(id).await {
            Ok(t) => t,
            Err(e) => return self.unrunnable(id, ds, &e).await,
        };
        // a retry is not run before its time: put back behind the due work, or, when only
        // such retries remain after the last due task, held back by their visibility
        let now = chrono::Utc::now();
        let due = |d: &Delivery| d.task.not_before.is_none_or(|t| t <= now);
        let last_due = ds.iter().rposition(due);
        let mut settled = Settled::default();
        let mut todo: Vec<usize> = Vec::new();
        for (i, d) in ds.iter().enumerate() {
            if due(d) {
                todo.push(i);
            } else if last_due.is_some_and(|l| i < l) {
                settled
                    .put_back
                    .push((i, d.task.clone(), d.message_id.clone()));
            } else {
                let after = d
                    .task
                    .not_before
                    .and_then(|t| (t - now).to_std().ok())
                    .unwrap_or_default();
                settled.returned.push(Returned {
                    message_id: d.message_id.clone(),
                    after: Some(after),
                });
            }
        }
        if todo.is_empty() {
            return settled.returned;
        }
        // R35: the tenant's budget as its last batch left it (possibly in another environment)
        let pacer = tenant.onefile.pacer().clone();
        self.deployment.state.take_on_pacing(id, &pacer).await;
        // first pass; a 401 (credentials rotated?): the secret is fetched again and the
        // refused tasks tried once more
        let first = Pass {
            id,
            tenant: &tenant,
            ds,
            deadline,
            may_refresh: true,
        };
        let refused = Box::pin(self.learners(&first, &todo, &mut settled)).await;
        if !refused.is_empty() {
            tracing::warn!(
                tasks = refused.len(),
                "credentials refused: fetching the tenant's secret again"
            );
            self.deployment.tenants.invalidate(id);
            self.deployment.metrics.secret_refreshed(id);
            match self.deployment.tenants.load(id).await {
                Ok(t) => {
                    // no refresh allowed now: a second 401 is a failure like any other
                    let again = Pass {
                        id,
                        tenant: &t,
                        ds,
                        deadline,
                        may_refresh: false,
                    };
                    Box::pin(self.learners(&again, &refused, &mut settled)).await;
                }
                Err(e) => {
                    let rest: Vec<Delivery> = refused.iter().map(|i| ds[*i].clone()).collect();
                    settled
                        .returned
                        .extend(self.unrunnable(id, &rest, &e).await);
                }
            }
        }
        // every OneFile call of the batch is over: hand the budget on to the tenant's next one
        self.deployment
            .state
            .hand_on_pacing(id, &pacer, self.left(deadline))
            .await;
        let Settled {
            mut put_back,
            mut returned,
        } = settled;
        put_back.sort_by_key(|(i, _, _)| *i);
        let put_back: Vec<(LearnerTask, String)> =
            put_back.into_iter().map(|(_, t, m)| (t, m)).collect();
        let unsent = self.put_back(&put_back).await;
        let requeued = put_back.len().saturating_sub(unsent.len());
        self.count(id, |c| c.requeued += requeued as u64);
        returned.extend(unsent);
        returned
    }

    /// Syncs the tasks `todo` (indices into the pass's deliveries) of one tenant, up to
    /// `concurrency` at once; returns those refused with a 401 while the pass may refresh the
    /// secret (not yet counted anywhere).
    async fn learners(&self, pass: &Pass<'_>, todo: &[usize], settled: &mut Settled) -> Vec<usize> {
        let &Pass {
            id,
            tenant,
            ds,
            deadline,
            may_refresh,
        } = pass;
        use futures::StreamExt;
        let mut runner = self.engine.task_runner(tenant);
        // each run's context is read once, before the learners go at once; a run that cannot
        // be prepared (closed, a read failed) has its tasks run one by one, each meeting the
        // error as before
        let mut unprepared: Vec<(String, bool)> = Vec::new();
        for i in todo {
            let task = &ds[*i].task;
            let key = (task.run_id.clone(), task.dry_run);
            if !unprepared.contains(&key) && runner.prepare(task).await.is_err() {
                unprepared.push(key);
            }
        }
        let prepared = |i: &usize| {
            let t = &ds[*i].task;
            !unprepared.contains(&(t.run_id.clone(), t.dry_run))
        };
        let (together, alone): (Vec<usize>, Vec<usize>) = todo.iter().copied().partition(prepared);
        let mut steps: Vec<(usize, Step)> = Vec::new();
        {
            let runner = &runner;
            let mut stream = futures::stream::iter(together)
                // boxed: a learner's sync is a large future, kept off the stack
                .map(|i| {
                    Box::pin(async move {
                        let d = &ds[i];
                        let defer = self.defer(d, may_refresh);
                        let step = self
                            .learner(
                                id,
                                d,
                                runner.run_prepared(&d.task, &defer),
                                deadline,
                                may_refresh,
                            )
                            .instrument(learner_span(d))
                            .await;
                        (i, step)
                    })
                })
                .buffer_unordered(self.concurrency.max(1));
            while let Some(s) = stream.next().await {
                steps.push(s);
            }
        }
        for i in alone {
            let d = &ds[i];
            let defer = self.defer(d, may_refresh);
            let step = Box::pin(
                self.learner(id, d, runner.run(&d.task, &defer), deadline, may_refresh)
                    .instrument(learner_span(d)),
            )
            .await;
            steps.push((i, step));
        }
        let mut refused = Vec::new();
        for (i, step) in steps {
            match step {
                Step::Done => {}
                Step::Return(r) => settled.returned.push(r),
                Step::PutBack(t) => settled.put_back.push((i, *t, ds[i].message_id.clone())),
                Step::Refused => refused.push(i),
            }
        }
        refused.sort_unstable();
        refused
    }

    /// One learner: started only with time enough before the deadline, cut off at it; its
    /// result turned into what becomes of its message.
    async fn learner(
        &self,
        id: &TenantId,
        d: &Delivery,
        run: impl std::future::Future<Output = Result<picsync_engine::LearnerReport, EngineError>>,
        deadline: Option<Instant>,
        may_refresh: bool,
    ) -> Step {
        let config = &self.deployment.config;
        // the deadline: start no learner that cannot finish before it
        if self
            .left(deadline)
            .is_some_and(|left| left < config.learner_min)
        {
            tracing::info!("too close to the invocation's deadline: the task is queued again");
            return Step::PutBack(Box::new(d.task.clone()));
        }
        let last = self.last_attempt(d);
        // the learner's events carry its run and id (and, from the spans around it, the
        // tenant and the invocation's request id)
        let run = run.instrument(tracing::Span::current());
        let (result, cut) = match self.left(deadline) {
            None => (run.await, false),
            Some(left) => match tokio::time::timeout(left, run).await {
                Ok(r) => (r, false),
                Err(_) => (Err(EngineError::Deadline(d.task.learner.to_string())), true),
            },
        };
        let log = (d.message_id.as_str(),);
        match result {
            Ok(r) => {
                self.count(id, |c| c.done += 1);
                tracing::info!(
                    message_id = log.0,
                    written = r.written,
                    passes = r.passes,
                    "learner synchronised"
                );
            }
            Err(EngineError::RunClosed(_)) => tracing::info!(
                message_id = log.0,
                "task of an abandoned run dropped: the next run syncs the learner"
            ),
            Err(e) if may_refresh && is_auth_error(&e) => return Step::Refused,
            Err(e) if e.is_retryable() && !last => {
                let mut again = d.task.clone();
                let now = chrono::Utc::now();
                let mut due = now + retry_delay(config.retry_delay, d.task.attempt);
                // another worker's claim on a create (a killed invocation's, say): not tried
                // again before it lapses, so no attempt is spent on it for nothing
                if let EngineError::IntentBusy { until, .. } = &e
                    && let Ok(until) = chrono::DateTime::parse_from_rfc3339(until)
                {
                    due = due.max(until.with_timezone(&chrono::Utc));
                }
                again.not_before = Some(due);
                again.attempt = d.task.attempt.saturating_add(1);
                tracing::warn!(
                    message_id = log.0,
                    attempt = again.attempt, error = %e,
                    "task failed; queued again at the back of its tenant's queue"
                );
                return Step::PutBack(Box::new(again));
            }
            Err(e) => {
                // counted on the run and the learner (by the runner, or here when the
                // deadline cut the learner off before it could report)
                // not counted yet when the deadline cut it off, or when its outcome
                // could not be written
                let unrecorded = cut || matches!(e, EngineError::Unrecorded { .. });
                if unrecorded && let Err(re) = self.engine.report_failure(&d.task, &e).await {
                    tracing::error!(error = %re, "could not record the failure");
                    return Step::Return(Returned::now(&d.message_id));
                }
                self.count(id, |c| c.failed += 1);
                let to_dlq = if e.is_retryable() {
                    true
                } else {
                    self.engine
                        .learner_failures(id, &d.task.learner)
                        .await
                        .is_ok_and(|n| n >= config.max_attempts)
                };
                tracing::error!(
                    event = if to_dlq { "dead_letter" } else { "permanent_failure" },
                    message_id = log.0,
                    attempt = d.task.attempt, error = %e,
                    "task failed for good: recorded on the run and the learner"
                );
                if to_dlq {
                    let reason = format!("learner {}: {e}", d.task.learner);
                    if self
                        .dead_letter(
                            &d.body,
                            d.group.as_deref(),
                            &d.message_id,
                            d.receive_count,
                            &reason,
                        )
                        .await
                    {
                        self.count(id, |c| c.dead_lettered += 1);
                    } else if self.dead_letters.is_some() {
                        return Step::Return(Returned::now(&d.message_id));
                    }
                }
            }
        }
        Step::Done
    }

    /// Sends tasks back to the tail of their queue; those that cannot be sent (or with no
    /// queue configured) are returned as batch item failures instead.
    async fn put_back(&self, tasks: &[(LearnerTask, String)]) -> Vec<Returned> {
        if tasks.is_empty() {
            return Vec::new();
        }
        let Some(queue) = &self.queue else {
            return tasks.iter().map(|(_, m)| Returned::now(m)).collect();
        };
        let report = queue.requeue(tasks).await;
        tasks
            .iter()
            .filter(|(t, _)| {
                report
                    .failed
                    .iter()
                    .any(|u| u.task.run_id == t.run_id && u.task.learner == t.learner)
            })
            .map(|(t, m)| {
                tracing::warn!(learner = %t.learner, message_id = %m, "could not queue the task again: returned to the queue instead");
                Returned::now(m)
            })
            .collect()
    }

    /// Deliveries whose tenant cannot run (its integration is off, R1; its settings or secret
    /// are missing; a service is down). Returns the messages to deliver again.
    async fn unrunnable(&self, id: &TenantId, ds: &[Delivery], e: &EngineError) -> Vec<Returned> {
        let mut returned = Vec::new();
        for d in ds {
            let last = self.last_attempt(d);
            if e.is_retryable() && !last {
                returned.push(Returned::now(&d.message_id));
                continue;
            }
            tracing::error!(
                event = if e.is_retryable() { "dead_letter" } else { "permanent_failure" },
                message_id = %d.message_id, learner = %d.task.learner, run_id = %d.task.run_id,
                error = %e, "the tenant cannot run: task recorded as failed on its run"
            );
            if let Err(re) = self.engine.report_failure(&d.task, e).await {
                tracing::error!(learner = %d.task.learner, error = %re, "could not record the failure");
                returned.push(Returned::now(&d.message_id));
                continue;
            }
            self.count(id, |c| c.failed += 1);
            if e.is_retryable() {
                let reason = format!("tenant {id}: {e}");
                if self
                    .dead_letter(
                        &d.body,
                        d.group.as_deref(),
                        &d.message_id,
                        d.receive_count,
                        &reason,
                    )
                    .await
                {
                    self.count(id, |c| c.dead_lettered += 1);
                } else {
                    returned.push(Returned::now(&d.message_id));
                }
            }
        }
        returned
    }
}

/// One pass over a tenant's due tasks of a batch.
struct Pass<'a> {
    id: &'a TenantId,
    tenant: &'a picsync_engine::Tenant,
    ds: &'a [Delivery],
    deadline: Option<Instant>,
    /// A 401 may still fetch the tenant's secret again (the first pass).
    may_refresh: bool,
}

/// What becomes of a batch's tasks that are not done: put back at the tail of the tenant's
/// queue (with their index in the batch), or returned to SQS.
#[derive(Default)]
struct Settled {
    put_back: Vec<(usize, LearnerTask, String)>,
    returned: Vec<Returned>,
}

/// What becomes of one learner's message.
enum Step {
    /// Synchronised, or recorded as failed (and dead-lettered when due): deleted.
    Done,
    /// Delivered again by the queue.
    Return(Returned),
    /// Sent again to the tail of the tenant's queue (as it is, or as its next attempt).
    PutBack(Box<LearnerTask>),
    /// A 401 while the tenant's secret may still be fetched again: tried once more.
    Refused,
}

/// Learners of a batch synchronised at once by default (`WORKER_LEARNER_CONCURRENCY`).
///
/// **Decision**: 10, a whole FIFO batch at once. At 300 ms per call a learner's initial sync
/// waits about 3.6 s on 12 calls in series for 5.6 OneFile calls, and 280 calls a minute allow
/// one OneFile call every 216 ms, i.e. one learner every 1.2 s: 3 learners at once would reach
/// the budget in steady state, but a batch of 10 run 4 at a time ends in a wave of 2 and
/// measured 71 % of the budget on the Lambda-path benchmark, against 82 % (100 learners) with
/// the whole batch at once. The pacer holds the tenant to its budget however many run, and a
/// batch of 10 initial syncs needs about 12 s of budget, far inside the deadline.
pub const DEFAULT_LEARNER_CONCURRENCY: usize = 10;

/// The span of one learner's task: its events carry its run and id (and, from the spans
/// around it, the tenant and the invocation's request id).
fn learner_span(d: &Delivery) -> tracing::Span {
    tracing::info_span!("learner", run_id = %d.task.run_id, learner = %d.task.learner)
}

/// The retry delay after `n` earlier tries: `base` doubled `n` times, at most 15 minutes.
fn retry_delay(base: Duration, n: u32) -> Duration {
    base.saturating_mul(1 << n.min(10))
        .min(Duration::from_secs(900))
}
