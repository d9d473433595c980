//! The worker Lambda: an SQS batch of learner tasks → the engine, one task at a time per
//! tenant (tenants of a batch in parallel) → an `SqsBatchResponse` naming exactly the messages
//! to deliver again.
//!
//! - Success: the outcome is counted on the run (once per learner); the run that receives its
//!   last outcome completes, moving "last synchronised" (R36) and freeing the lease (R39).
//! - A retryable failure (an API down, a 5xx, an intent another worker holds): returned to the
//!   queue (back after `RETRY_DELAY_SECONDS`, doubled per delivery, rather than the queue's
//!   whole visibility timeout) and NOT yet counted on the run, so that the redelivery can still
//!   succeed. On the
//!   delivery with receive count `MAX_RECEIVE_COUNT` it is counted as failed on the run (which
//!   can then complete) and on the learner, and the worker puts it in the dead-letter queue
//!   itself, with its reason as a message attribute (SQS's own redrive carries no reason, and
//!   would hold up the tenant's later tasks until then). Should that send fail, the message is
//!   returned and the queue's redrive policy takes it.
//! - A permanent failure (bad input, an inconsistent record): counted on the run and the
//!   learner, logged, and not returned (retrying cannot help).
//! - A 401 from OneFile or PICS: the tenant's secret is fetched again (it may have been
//!   rotated) and the task tried once more in this invocation.
//! - A malformed body: put in the dead-letter queue at once with its reason, and logged; not
//!   returned. It names no run we could count it on, retrying cannot cure it, and on a FIFO
//!   queue a returned message would hold up every later task of its tenant for nothing.
//! - FIFO (R35): messages of one group (tenant) are handled in order; once one is returned,
//!   every later message of its group in the batch is returned unprocessed, as AWS requires.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use picsync_aws::{DeadLetters, Deployment, DynamoState, is_auth_error};
use picsync_domain::TenantId;
use picsync_engine::{Engine, EngineError, LearnerTask, parse_task};

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
}

impl Worker {
    pub fn new(deployment: Deployment) -> Self {
        let engine = Engine::new(deployment.state.clone(), picsync_engine::system_clock());
        let dead_letters = deployment
            .config
            .dlq_url
            .as_ref()
            .map(|u| DeadLetters::new(deployment.sqs.clone(), u.clone()));
        Self {
            deployment,
            engine,
            dead_letters,
        }
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
        let failed = self.process(&event.payload.records).await;
        self.back_off(&event.payload.records, &failed).await;
        let mut response = SqsBatchResponse::default();
        for id in failed {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            response.batch_item_failures.push(f);
        }
        Ok(response)
    }

    /// Handles a batch; returns the ids of the messages to deliver again.
    pub async fn process(&self, records: &[SqsMessage]) -> Vec<String> {
        let mut by_tenant: Vec<(TenantId, Vec<Delivery>)> = Vec::new();
        let mut failed = std::collections::HashSet::new();
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
                        failed.insert(id);
                    }
                }
            }
        }
        let results =
            futures::future::join_all(by_tenant.iter().map(|(t, ds)| self.tenant_batch(t, ds)))
                .await;
        // the response lists failures in the batch's order
        failed.extend(results.into_iter().flatten());
        records
            .iter()
            .filter_map(|m| m.message_id.clone())
            .filter(|id| failed.contains(id))
            .collect()
    }

    /// Returned messages come back after `RETRY_DELAY_SECONDS`, doubled per delivery (capped
    /// at 15 minutes), rather than after the queue's whole visibility timeout.
    async fn back_off(&self, records: &[SqsMessage], failed: &[String]) {
        let config = &self.deployment.config;
        let Some(queue_url) = &config.queue_url else {
            return;
        };
        if config.retry_delay.is_zero() {
            return;
        }
        for m in records {
            let (Some(id), Some(receipt)) = (&m.message_id, &m.receipt_handle) else {
                continue;
            };
            if !failed.contains(id) {
                continue;
            }
            let receives = m
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse::<u32>().ok())
                .unwrap_or(1);
            let delay = config
                .retry_delay
                .saturating_mul(1 << receives.saturating_sub(1).min(10))
                .min(std::time::Duration::from_secs(900));
            let out = self
                .deployment
                .sqs
                .change_message_visibility()
                .queue_url(queue_url)
                .receipt_handle(receipt)
                .visibility_timeout(i32::try_from(delay.as_secs()).unwrap_or(900))
                .send()
                .await;
            if let Err(e) = out {
                tracing::warn!(message_id = %id, error = %aws_sdk_sqs::error::DisplayErrorContext(&e),
                    "could not shorten the visibility timeout: the task returns after the queue's");
            }
        }
    }

    fn last_attempt(&self, d: &Delivery) -> bool {
        d.receive_count >= self.deployment.config.max_receive_count
    }

    /// The deliveries of one tenant, in order. Returns the ids to deliver again.
    async fn tenant_batch(&self, id: &TenantId, ds: &[Delivery]) -> Vec<String> {
        let mut failed = Vec::new();
        let mut refreshed = false;
        let mut i = 0;
        'tenant: while i < ds.len() {
            let tenant = match self.deployment.tenants.load(id).await {
                Ok(t) => t,
                Err(e) => {
                    failed.extend(self.unrunnable(id, &ds[i..], &e).await);
                    break;
                }
            };
            let mut runner = self.engine.task_runner(&tenant);
            while i < ds.len() {
                let d = &ds[i];
                let last = self.last_attempt(d);
                let may_refresh = !refreshed;
                let defer = move |e: &EngineError| {
                    (e.is_retryable() && !last) || (may_refresh && is_auth_error(e))
                };
                let result = runner.run(&d.task, &defer).await;
                let log = (
                    d.message_id.as_str(),
                    d.task.learner.as_str(),
                    d.task.run_id.as_str(),
                );
                match result {
                    Ok(r) => tracing::info!(
                        tenant = %id, message_id = log.0, learner = log.1, run_id = log.2,
                        written = r.written, passes = r.passes, "learner synchronised"
                    ),
                    Err(e) if may_refresh && is_auth_error(&e) => {
                        tracing::warn!(tenant = %id, error = %e, "credentials refused: fetching the tenant's secret again");
                        self.deployment.tenants.invalidate(id);
                        refreshed = true;
                        continue 'tenant;
                    }
                    Err(e) if e.is_retryable() => {
                        if last {
                            tracing::error!(
                                event = "dead_letter", tenant = %id, message_id = log.0, learner = log.1,
                                run_id = log.2, receives = d.receive_count, error = %e,
                                "task failed on its last delivery: recorded on the run, goes to the dead-letter queue"
                            );
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
                                i += 1;
                                continue;
                            }
                        } else {
                            tracing::warn!(
                                tenant = %id, message_id = log.0, learner = log.1, run_id = log.2,
                                receives = d.receive_count, error = %e, "task failed; returned to the queue"
                            );
                        }
                        failed.push(d.message_id.clone());
                        if d.group.is_some() {
                            // FIFO: nothing after it in its group may run before it
                            failed.extend(ds[i + 1..].iter().map(|d| d.message_id.clone()));
                            break 'tenant;
                        }
                    }
                    Err(e) => tracing::error!(
                        event = "permanent_failure", tenant = %id, message_id = log.0, learner = log.1,
                        run_id = log.2, error = %e, "task failed for good: recorded on the run and the learner"
                    ),
                }
                i += 1;
            }
        }
        failed
    }

    /// Deliveries whose tenant could not be set up (its settings or secret are missing, or a
    /// service is down). Returns the ids to deliver again.
    async fn unrunnable(&self, id: &TenantId, ds: &[Delivery], e: &EngineError) -> Vec<String> {
        let mut failed = Vec::new();
        for d in ds {
            let last = self.last_attempt(d);
            if e.is_retryable() && !last {
                failed.push(d.message_id.clone());
                continue;
            }
            tracing::error!(
                event = if e.is_retryable() { "dead_letter" } else { "permanent_failure" },
                tenant = %id, message_id = %d.message_id, learner = %d.task.learner, run_id = %d.task.run_id,
                error = %e, "the tenant cannot be set up: task recorded as failed on its run"
            );
            if let Err(re) = self.engine.report_failure(&d.task, e).await {
                tracing::error!(tenant = %id, learner = %d.task.learner, error = %re, "could not record the failure");
                failed.push(d.message_id.clone());
            } else if e.is_retryable() {
                let reason = format!("tenant {id}: {e}");
                if !self
                    .dead_letter(
                        &d.body,
                        d.group.as_deref(),
                        &d.message_id,
                        d.receive_count,
                        &reason,
                    )
                    .await
                {
                    failed.push(d.message_id.clone());
                }
            }
        }
        failed
    }
}
