//! The state ports over the table (see the module above for the conditions).

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{Put, PutRequest, TransactWriteItem, WriteRequest};
use chrono::{DateTime, Utc};
use picsync_domain::{LearnerId, Settings, TenantId};
use picsync_state::*;

use super::item::*;
use super::{DynamoState, MAX_RACE_RETRIES, Written, backend, pause};

/// DynamoDB takes at most 25 writes per BatchWriteItem.
const BATCH_WRITE: usize = 25;

/// Failures whose reasons a run record keeps (the count stays exact): a DynamoDB item holds at
/// most 400 KB, and a night when OneFile is down fails every learner. Every failed learner's
/// reason is also on its own state (`last_error`) and in the dead-letter queue.
pub const MAX_FAILURES_KEPT: usize = 200;
/// The longest failure reason a run record keeps.
const MAX_REASON: usize = 500;

fn keep_within_item_size(run: &mut RunRecord) {
    run.failures.truncate(MAX_FAILURES_KEPT);
    for f in &mut run.failures {
        if f.reason.len() > MAX_REASON {
            let mut cut = MAX_REASON;
            while !f.reason.is_char_boundary(cut) {
                cut -= 1;
            }
            f.reason.truncate(cut);
            f.reason.push('…');
        }
    }
}

fn lost_race(what: &str) -> StateError {
    StateError::Conflict(format!(
        "{what}: lost the race {MAX_RACE_RETRIES} times in a row; try again"
    ))
}

impl DynamoState {
    async fn get_doc<T: serde::de::DeserializeOwned>(
        &self,
        tenant: &TenantId,
        sk: &str,
    ) -> Result<Option<T>> {
        match self.get(tenant, sk).await? {
            Some(item) => doc(&item).map(Some),
            None => Ok(None),
        }
    }

    /// `SET expires_at = :e` when the lease is `holder`'s; false when it is not.
    async fn set_lease_expiry(
        &self,
        tenant: &TenantId,
        holder: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, keys::LEASE)))
            .update_expression("SET expires_at = :e")
            .condition_expression("holder = :h")
            .expression_attribute_values(":e", time(expires_at))
            .expression_attribute_values(":h", s(holder))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(backend("UpdateItem", &e)),
            },
        }
    }

    fn lease_of(item: &Item) -> Result<Lease> {
        Ok(Lease {
            holder: string(item, HOLDER)?,
            run_id: string(item, RUN_ID)?,
            expires_at: instant(item, EXPIRES_AT)?,
        })
    }

    /// The intent stored, with its version.
    async fn read_intent(&self, tenant: &TenantId, k: &str) -> Result<Option<(Intent, u64)>> {
        match self.get(tenant, &keys::intent(k)).await? {
            Some(item) => Ok(Some((doc(&item)?, version(&item)?))),
            None => Ok(None),
        }
    }

    /// Writes an intent in place of the one read (`read`: its version, None when there was
    /// none). The condition repeats what `rules::claim` checked, so that the write only
    /// lands on the intent the decision was made from.
    async fn write_intent(
        &self,
        tenant: &TenantId,
        intent: &Intent,
        read: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let v = read.unwrap_or(0);
        let mut item = record(tenant, &keys::intent(&intent.key), intent, v + 1)?;
        item.insert(HOLDER.into(), s(&intent.holder));
        item.insert(EXPIRES_AT.into(), time(intent.expires_at));
        if let Some(id) = intent.created_id {
            item.insert(CREATED_ID.into(), n(id));
        }
        let written = match read {
            None => self.put_if(item, "attribute_not_exists(pk)", &[]).await?,
            Some(_) if intent.created_id.is_some() => {
                self.put_if(item, "version = :v", &[(":v", n(v))]).await?
            }
            Some(_) => {
                self.put_if(
                    item,
                    "version = :v AND attribute_not_exists(created_id) AND (holder = :h OR expires_at <= :now)",
                    &[(":v", n(v)), (":h", s(&intent.holder)), (":now", time(now))],
                )
                .await?
            }
        };
        Ok(matches!(written, Written::Done))
    }

    /// The run stored, with its version.
    async fn read_run(&self, tenant: &TenantId, run_id: &str) -> Result<Option<(RunRecord, u64)>> {
        match self.get(tenant, &keys::run(run_id)).await? {
            Some(item) => Ok(Some((doc(&item)?, version(&item)?))),
            None => Ok(None),
        }
    }

    /// One try at counting `o` in the run: the marker (new) and the run (unchanged since read)
    /// in one transaction. `Ok(None)`: lost a race, try again.
    async fn try_add_outcome(
        &self,
        tenant: &TenantId,
        run_id: &str,
        o: &LearnerOutcome,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>> {
        let Some((run, v)) = self.read_run(tenant, run_id).await? else {
            return Err(StateError::Conflict(format!(
                "run {run_id} of tenant {tenant} does not exist"
            )));
        };
        let mut next = run.clone();
        rules::add_outcome(&mut next, o, now);
        keep_within_item_size(&mut next);
        let mut marker = key(tenant, &keys::run_outcome(run_id, &o.learner));
        marker.insert("at".into(), time(now));
        let build = |e: aws_sdk_dynamodb::error::BuildError| StateError::Backend(e.to_string());
        let put_marker = Put::builder()
            .table_name(&self.table)
            .set_item(Some(marker))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build)?;
        let put_run = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record(tenant, &keys::run(run_id), &next, v + 1)?))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(v))
            .build()
            .map_err(build)?;
        let out = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_marker).build())
            .transact_items(TransactWriteItem::builder().put(put_run).build())
            .send()
            .await;
        match out {
            Ok(_) => Ok(Some(next)),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let code = |i: usize| {
                        c.cancellation_reasons()
                            .get(i)
                            .and_then(|r| r.code())
                            .unwrap_or_default()
                            .to_string()
                    };
                    if code(0) == "ConditionalCheckFailed" {
                        // counted before (a redelivered task): the run as it stands
                        return match self.read_run(tenant, run_id).await? {
                            Some((r, _)) => Ok(Some(r)),
                            None => Ok(Some(run)),
                        };
                    }
                    // the run moved on (another outcome), or a concurrent transaction
                    // ("TransactionConflict")
                    Ok(None)
                }
                _ => Err(backend("TransactWriteItems", &e)),
            },
        }
    }

    fn docs<T: serde::de::DeserializeOwned>(items: &[Item]) -> Result<Vec<T>> {
        items.iter().map(doc).collect()
    }
}

impl TenantStore for DynamoState {
    async fn get_tenant(&self, tenant: &TenantId) -> Result<Option<TenantState>> {
        match self.get(tenant, keys::TENANT).await? {
            Some(item) => {
                let mut st: TenantState = doc(&item)?;
                st.version = version(&item)?;
                Ok(Some(st))
            }
            None => Ok(None),
        }
    }

    async fn put_tenant(&self, state: &TenantState) -> Result<()> {
        // the same condition as the learner state: `version = :v`, or new for version 0
        let next_version = state.version + 1;
        let mut next = state.clone();
        next.version = next_version;
        let item = record(&state.tenant, keys::TENANT, &next, next_version)?;
        let written = if state.version == 0 {
            self.put_if(item, "attribute_not_exists(pk)", &[]).await?
        } else {
            self.put_if(item, "version = :v", &[(":v", n(state.version))])
                .await?
        };
        match written {
            Written::Done => Ok(()),
            Written::Refused(old) => {
                let stored = old.as_ref().map(version).transpose()?.unwrap_or(0);
                Err(StateError::Conflict(format!(
                    "tenant {} state moved on (version {stored}, expected {})",
                    state.tenant, state.version
                )))
            }
        }
    }

    async fn get_settings(&self, tenant: &TenantId) -> Result<Option<Settings>> {
        self.get_doc(tenant, keys::SETTINGS).await
    }

    async fn put_settings(&self, tenant: &TenantId, settings: &Settings) -> Result<()> {
        self.put(record(tenant, keys::SETTINGS, settings, 1)?).await
    }
}

impl LeaseStore for DynamoState {
    async fn acquire_lease(
        &self,
        tenant: &TenantId,
        holder: &str,
        run_id: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> Result<LeaseOutcome> {
        let lease = Lease {
            holder: holder.to_string(),
            run_id: run_id.to_string(),
            expires_at: now + ttl,
        };
        let mut item = key(tenant, keys::LEASE);
        item.insert(HOLDER.into(), s(&lease.holder));
        item.insert(RUN_ID.into(), s(&lease.run_id));
        item.insert(EXPIRES_AT.into(), time(lease.expires_at));
        // R39: rules::lease_free, as a condition: free, ours, or expired (compared here, not
        // left to TTL deletion)
        let written = self
            .put_if(
                item,
                "attribute_not_exists(pk) OR holder = :h OR expires_at <= :now",
                &[(":h", s(holder)), (":now", time(now))],
            )
            .await?;
        match written {
            Written::Done => Ok(LeaseOutcome::Acquired),
            Written::Refused(Some(old)) => {
                let held = Self::lease_of(&old)?;
                debug_assert!(!rules::lease_free(Some(&held), holder, now));
                Ok(LeaseOutcome::Held(held))
            }
            Written::Refused(None) => Err(StateError::Backend(
                "DynamoDB refused the lease without returning its holder".into(),
            )),
        }
    }

    async fn renew_lease(
        &self,
        tenant: &TenantId,
        holder: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> Result<bool> {
        self.set_lease_expiry(tenant, holder, now + ttl).await
    }

    async fn release_lease(&self, tenant: &TenantId, holder: &str) -> Result<()> {
        // released by expiring it: the item stays, the condition decides
        self.set_lease_expiry(tenant, holder, DateTime::<Utc>::MIN_UTC)
            .await
            .map(|_| ())
    }

    async fn get_lease(&self, tenant: &TenantId) -> Result<Option<Lease>> {
        match self.get(tenant, keys::LEASE).await? {
            Some(item) => Ok(Some(Self::lease_of(&item)?)),
            None => Ok(None),
        }
    }
}

impl RunStore for DynamoState {
    async fn put_run(&self, run: &RunRecord) -> Result<()> {
        // the version moves on, so that an outcome counted from the older copy is re-read
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&run.tenant, &keys::run(&run.run_id))))
            .update_expression("SET doc = :d, version = if_not_exists(version, :zero) + :one")
            .expression_attribute_values(
                ":d",
                s(serde_json::to_string(run)
                    .map_err(|e| StateError::Backend(format!("cannot encode run: {e}")))?),
            )
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        out.map(|_| ()).map_err(|e| backend("UpdateItem", &e))
    }

    async fn get_run(&self, tenant: &TenantId, run_id: &str) -> Result<Option<RunRecord>> {
        Ok(self.read_run(tenant, run_id).await?.map(|(r, _)| r))
    }

    async fn list_runs(&self, tenant: &TenantId, limit: usize) -> Result<Vec<RunRecord>> {
        let mut runs: Vec<RunRecord> = Self::docs(&self.query_prefix(tenant, "RUN#").await?)?;
        runs.sort_by(|a, b| {
            b.started_at
                .cmp(&a.started_at)
                .then_with(|| b.run_id.cmp(&a.run_id))
        });
        runs.truncate(limit);
        Ok(runs)
    }

    async fn abandon_run(
        &self,
        tenant: &TenantId,
        run_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>> {
        for attempt in 0..MAX_RACE_RETRIES {
            let Some((mut run, v)) = self.read_run(tenant, run_id).await? else {
                return Ok(None);
            };
            if !rules::abandon(&mut run, now) {
                return Ok(None);
            }
            // written only over the version read: an outcome counted meanwhile wins the race,
            // and the run is looked at again
            let written = self
                .put_if(
                    record(tenant, &keys::run(run_id), &run, v + 1)?,
                    "version = :v",
                    &[(":v", n(v))],
                )
                .await?;
            if let Written::Done = written {
                return Ok(Some(run));
            }
            pause(attempt).await;
        }
        Err(lost_race(&format!("abandoning run {run_id}")))
    }

    async fn add_outcome(
        &self,
        tenant: &TenantId,
        run_id: &str,
        o: &LearnerOutcome,
        now: DateTime<Utc>,
    ) -> Result<RunRecord> {
        for attempt in 0..MAX_RACE_RETRIES {
            if let Some(run) = self.try_add_outcome(tenant, run_id, o, now).await? {
                return Ok(run);
            }
            pause(attempt).await;
        }
        Err(lost_race(&format!(
            "outcome of {} in run {run_id}",
            o.learner
        )))
    }
}

impl LearnerStore for DynamoState {
    async fn get_learner_state(
        &self,
        tenant: &TenantId,
        learner: &LearnerId,
    ) -> Result<Option<LearnerState>> {
        match self.get(tenant, &keys::learner(learner)).await? {
            Some(item) => {
                let mut st: LearnerState = doc(&item)?;
                st.version = version(&item)?;
                Ok(Some(st))
            }
            None => Ok(None),
        }
    }

    async fn put_learner_state(&self, tenant: &TenantId, state: &LearnerState) -> Result<u64> {
        let next_version = state.version + 1;
        let mut next = state.clone();
        next.version = next_version;
        let item = record(tenant, &keys::learner(&state.learner), &next, next_version)?;
        let written = if state.version == 0 {
            self.put_if(item, "attribute_not_exists(pk)", &[]).await?
        } else {
            self.put_if(item, "version = :v", &[(":v", n(state.version))])
                .await?
        };
        match written {
            Written::Done => Ok(next_version),
            Written::Refused(old) => {
                let stored = old.as_ref().map(version).transpose()?.unwrap_or(0);
                Err(StateError::Conflict(format!(
                    "learner {} state moved on (version {stored}, expected {})",
                    state.learner, state.version
                )))
            }
        }
    }

    async fn list_learner_states(&self, tenant: &TenantId) -> Result<Vec<LearnerState>> {
        let items = self.query_prefix(tenant, "LEARNER#").await?;
        items
            .iter()
            .map(|item| {
                let mut st: LearnerState = doc(item)?;
                st.version = version(item)?;
                Ok(st)
            })
            .collect()
    }
}

impl IntentStore for DynamoState {
    async fn claim_intent(&self, tenant: &TenantId, claim: &IntentClaim<'_>) -> Result<Claim> {
        let k = claim.key;
        for attempt in 0..MAX_RACE_RETRIES {
            let current = self.read_intent(tenant, k).await?;
            let (outcome, next) = rules::claim(current.as_ref().map(|(i, _)| i), claim);
            let Some(next) = next else {
                return Ok(outcome);
            };
            if self
                .write_intent(tenant, &next, current.map(|(_, v)| v), claim.now)
                .await?
            {
                return Ok(outcome);
            }
            // someone claimed or completed it between the read and the write: decide again
            pause(attempt).await;
        }
        Err(lost_race(&format!("claim of intent {k}")))
    }

    async fn complete_intent(
        &self,
        tenant: &TenantId,
        k: &str,
        holder: &str,
        id: i64,
    ) -> Result<()> {
        for attempt in 0..MAX_RACE_RETRIES {
            let current = self.read_intent(tenant, k).await?;
            // decided on the intent read; the write lands only on that version
            let Some(intent) = rules::complete(current.as_ref().map(|(i, _)| i), k, holder, id)?
            else {
                return Ok(());
            };
            let v = current.map_or(0, |(_, v)| v);
            if self
                .write_intent(tenant, &intent, Some(v), Utc::now())
                .await?
            {
                return Ok(());
            }
            pause(attempt).await;
        }
        Err(lost_race(&format!("completion of intent {k}")))
    }

    async fn retire_intent(&self, tenant: &TenantId, k: &str, id: i64) -> Result<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, &keys::intent(k))))
            .condition_expression("created_id = :id")
            .expression_attribute_values(":id", n(id))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(backend("DeleteItem", &e)),
            },
        }
    }

    async fn list_intents_with_prefix(
        &self,
        tenant: &TenantId,
        prefix: &str,
    ) -> Result<Vec<Intent>> {
        Self::docs(&self.query_prefix(tenant, &keys::intent(prefix)).await?)
    }

    async fn list_intents(&self, tenant: &TenantId, pending_only: bool) -> Result<Vec<Intent>> {
        let all: Vec<Intent> = Self::docs(&self.query_prefix(tenant, "INTENT#").await?)?;
        Ok(all
            .into_iter()
            .filter(|i| !pending_only || i.created_id.is_none())
            .collect())
    }
}

impl AuditStore for DynamoState {
    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<()> {
        for chunk in entries.chunks(BATCH_WRITE) {
            let mut requests = Vec::with_capacity(chunk.len());
            for e in chunk {
                let seq = self.audit_seq.fetch_add(1, Ordering::Relaxed) % 10_000_000_000;
                let sk = keys::audit(&e.learner, e.at.timestamp_micros(), seq);
                let put = PutRequest::builder()
                    .set_item(Some(record(&e.tenant, &sk, e, 1)?))
                    .build()
                    .map_err(|e| StateError::Backend(e.to_string()))?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
            let mut pending = HashMap::from([(self.table.clone(), requests)]);
            for attempt in 0..MAX_RACE_RETRIES {
                let out = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(pending))
                    .send()
                    .await
                    .map_err(|e| backend("BatchWriteItem", &e))?;
                pending = out.unprocessed_items.unwrap_or_default();
                pending.retain(|_, v| !v.is_empty());
                if pending.is_empty() {
                    break;
                }
                pause(attempt).await;
            }
            if !pending.is_empty() {
                return Err(StateError::Backend(
                    "DynamoDB left audit entries unprocessed after every retry".into(),
                ));
            }
        }
        Ok(())
    }

    async fn list_audit(&self, tenant: &TenantId, learner: &LearnerId) -> Result<Vec<AuditEntry>> {
        Self::docs(
            &self
                .query_prefix(tenant, &keys::audit_prefix(learner))
                .await?,
        )
    }
}
