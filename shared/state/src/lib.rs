#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests link the dev-dependencies too
//! picsync's state: small port traits for everything the engine remembers between runs, and
//! their embedded implementation ([`embedded::EmbeddedState`], a redb file under a data
//! directory, or in memory for tests). The DynamoDB implementation lives with the Lambda
//! functions and keeps the same key layout ([`keys`]).
//!
//! Expiry (leases, in-progress intents) is decided by comparing times inside the store's
//! conditional write, never by deleting expired records.

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod embedded;
pub mod keys;
pub mod secrets;

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use picsync_domain::{
    Baseline, Catalogue, LearnerId, Mode, OfCentreId, OfUserId, Rule, TenantId, Value,
};
use serde::{Deserialize, Serialize};

/// A state backend failure.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The backend could not be reached or failed; the same call may succeed later.
    #[error("state backend: {0}")]
    Backend(String),
    /// A conditional write lost: someone else changed the record first.
    #[error("state conflict: {0}")]
    Conflict(String),
    /// A stored record could not be read back: it was written by another version, or damaged.
    #[error("state record {key} is unreadable: {detail}")]
    Corrupt { key: String, detail: String },
}

impl StateError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StateError::Backend(_) | StateError::Conflict(_))
    }
}

pub type Result<T> = std::result::Result<T, StateError>;

/// What picsync remembers about a tenant besides its settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantState {
    pub tenant: TenantId,
    /// When the integration was last enabled (R42 checked then).
    pub enabled_at: Option<DateTime<Utc>>,
    /// R43: false until an initial run has completed since enabling.
    pub initial_done: bool,
    /// R36: moves only when a tenant-wide sync completes.
    pub last_synchronised: Option<DateTime<Utc>>,
    /// §6: the start of the last completed full comparison.
    pub last_full_sweep: Option<DateTime<Utc>>,
    /// The OneFile centre (organisation) the tenant's learners belong to.
    pub centre: Option<OfCentreId>,
    /// R34: OneFile's learning aims, cached.
    pub catalogue: Catalogue,
    pub catalogue_refreshed: Option<DateTime<Utc>>,
    /// Bumped by the store on every write; a write names the version it read (0: the record
    /// must not exist yet), so that two routines writing the record at once cannot lose each
    /// other's fields: the second gets [`StateError::Conflict`], reads again and re-applies.
    #[serde(default)]
    pub version: u64,
}

/// The tenant's settings and state.
pub trait TenantStore {
    fn get_tenant(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<TenantState>>> + Send;
    /// Writes the state if the stored version is still `state.version` (0: must not exist yet);
    /// a lost race is [`StateError::Conflict`].
    fn put_tenant(&self, state: &TenantState) -> impl Future<Output = Result<()>> + Send;
    fn get_settings(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<picsync_domain::Settings>>> + Send;
    fn put_settings(
        &self,
        tenant: &TenantId,
        settings: &picsync_domain::Settings,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Who holds a tenant's lease (R39).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub holder: String,
    pub run_id: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    Acquired,
    /// Another routine holds it until `expires_at`.
    Held(Lease),
}

/// One routine per tenant at a time (R39).
pub trait LeaseStore {
    /// Takes the lease when it is free, expired, or already ours.
    fn acquire_lease(
        &self,
        tenant: &TenantId,
        holder: &str,
        run_id: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> impl Future<Output = Result<LeaseOutcome>> + Send;
    /// Extends our lease; false when it is no longer ours.
    fn renew_lease(
        &self,
        tenant: &TenantId,
        holder: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Gives the lease up if it is ours.
    fn release_lease(
        &self,
        tenant: &TenantId,
        holder: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The lease as stored (expired or not), if any.
    fn get_lease(&self, tenant: &TenantId) -> impl Future<Output = Result<Option<Lease>>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Completed,
    /// Completed, with some learners failed (they are retried by the next run).
    CompletedWithFailures,
    /// Stopped before every learner was tried (e.g. the lease was lost).
    Aborted,
    /// The run stopped reporting: its lease lapsed while tasks were still unaccounted for. The
    /// reconciler closed it, counting those tasks as failed (`lost`). It moves neither "last
    /// synchronised" (R36) nor the initial run's completion (R43).
    Abandoned,
}

/// A learner that failed in a run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub learner: LearnerId,
    pub reason: String,
    pub retryable: bool,
}

/// One tenant-wide run (or one learner's refresh).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub tenant: TenantId,
    pub mode: Mode,
    pub dry_run: bool,
    pub full_sweep: bool,
    /// Every learner in scope was considered (not a refresh of chosen learners): only such a
    /// run moves "last synchronised" (R36).
    #[serde(default)]
    pub tenant_wide: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    /// Learners sent to be synced.
    pub total: u64,
    pub done: u64,
    pub failed: u64,
    /// Learners skipped because neither side changed (§6).
    pub skipped_unchanged: u64,
    /// Learners out of scope (R3).
    pub out_of_scope: u64,
    /// Changes written per rule, by the rule's stored name ([`Rule::as_str`]).
    pub rule_counts: BTreeMap<String, u64>,
    pub onefile_calls: u64,
    pub pics_calls: u64,
    /// Changes written to PICS and to OneFile (issue 14: the run's metrics).
    #[serde(default)]
    pub pics_changes: u64,
    #[serde(default)]
    pub onefile_changes: u64,
    /// OneFile answers 429 received by the run's learners.
    #[serde(default)]
    pub onefile_429s: u64,
    /// The tenant's OneFile budget the run ran under (R35, calls per minute; 0: not recorded):
    /// the run's budget use is `onefile_calls / (minutes × calls_per_minute)`.
    #[serde(default)]
    pub calls_per_minute: u32,
    pub failures: Vec<Failure>,
    /// Tasks that never reported before the run was abandoned (counted in `failed` too).
    #[serde(default)]
    pub lost: u64,
    /// Who started the run: `lambda` for the scheduler, `cli:<host>:<pid>` for the CLI (a
    /// run of a dead process on the same host can be taken over at once).
    #[serde(default)]
    pub owner: String,
    /// Issue 16: why the run read OneFile reviews per learner although the tenant reads them
    /// centre-wide (the centre-wide read was inconsistent or failed); `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_reads_fallback: Option<String>,
}

impl RunRecord {
    pub fn new(
        tenant: TenantId,
        run_id: String,
        mode: Mode,
        dry_run: bool,
        full_sweep: bool,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            run_id,
            tenant,
            mode,
            dry_run,
            full_sweep,
            tenant_wide: true,
            started_at: now,
            finished_at: None,
            status: RunStatus::Running,
            total: 0,
            done: 0,
            failed: 0,
            skipped_unchanged: 0,
            out_of_scope: 0,
            rule_counts: BTreeMap::new(),
            onefile_calls: 0,
            pics_calls: 0,
            pics_changes: 0,
            onefile_changes: 0,
            onefile_429s: 0,
            calls_per_minute: 0,
            failures: Vec::new(),
            review_reads_fallback: None,
            lost: 0,
            owner: String::new(),
        }
    }

    pub fn finished(&self) -> bool {
        self.status != RunStatus::Running
    }

    /// Seconds from start to close (0 while running).
    pub fn duration_seconds(&self) -> f64 {
        self.finished_at.map_or(0.0, |f| {
            (f - self.started_at).num_milliseconds().max(0) as f64 / 1000.0
        })
    }

    /// The run's figures, named as the functions' metrics (issue 14; `picsync status --json`
    /// and the CLI's summary show the same): learners, changes and calls per system, 429s,
    /// duration in seconds, and budget use in percent (when known).
    pub fn figures(&self) -> Vec<(&'static str, f64)> {
        let mut f = vec![
            ("LearnersSynced", self.done as f64),
            ("LearnersFailed", self.failed as f64),
            ("LearnersSkipped", self.skipped_unchanged as f64),
            ("LearnersOutOfScope", self.out_of_scope as f64),
            ("LearnersLost", self.lost as f64),
            ("PicsChanges", self.pics_changes as f64),
            ("OneFileChanges", self.onefile_changes as f64),
            ("OneFileCalls", self.onefile_calls as f64),
            ("PicsCalls", self.pics_calls as f64),
            ("OneFile429", self.onefile_429s as f64),
            ("RunDuration", self.duration_seconds()),
        ];
        if let Some(b) = self.budget_use() {
            f.push(("BudgetUse", b * 100.0));
        }
        f
    }

    /// The share of the run's OneFile budget it used: `onefile_calls / (minutes ×
    /// calls_per_minute)`, the minutes those the run lasted (at least one second); `None` when
    /// the budget was not recorded or the run is still going.
    pub fn budget_use(&self) -> Option<f64> {
        if self.calls_per_minute == 0 || self.finished_at.is_none() {
            return None;
        }
        let minutes = self.duration_seconds().max(1.0) / 60.0;
        Some(self.onefile_calls as f64 / (minutes * f64::from(self.calls_per_minute)))
    }
}

/// What one learner's task reports to its run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerOutcome {
    pub learner: LearnerId,
    pub failure: Option<Failure>,
    pub rule_counts: BTreeMap<String, u64>,
    pub onefile_calls: u64,
    pub pics_calls: u64,
    #[serde(default)]
    pub pics_changes: u64,
    #[serde(default)]
    pub onefile_changes: u64,
    #[serde(default)]
    pub onefile_429s: u64,
}

pub trait RunStore {
    fn put_run(&self, run: &RunRecord) -> impl Future<Output = Result<()>> + Send;
    fn get_run(
        &self,
        tenant: &TenantId,
        run_id: &str,
    ) -> impl Future<Output = Result<Option<RunRecord>>> + Send;
    /// Newest first.
    fn list_runs(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RunRecord>>> + Send;
    /// Closes a run that is still running as [`RunStatus::Abandoned`] at `now`, counting the
    /// tasks that never reported as failed ("lost"). Returns the closed run; `None` when it was
    /// not running any more (it completed meanwhile, or is unknown). Atomic against outcomes
    /// being added.
    fn abandon_run(
        &self,
        tenant: &TenantId,
        run_id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<RunRecord>>> + Send;
    /// Adds one learner's outcome atomically; when every learner of the run has reported, marks
    /// the run finished at `now`. Returns the run as it is after the update. A learner reported
    /// twice (a redelivered task) is counted once.
    fn add_outcome(
        &self,
        tenant: &TenantId,
        run_id: &str,
        outcome: &LearnerOutcome,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<RunRecord>> + Send;
}

/// Per-learner memory: cursors, baseline, failures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerState {
    pub learner: LearnerId,
    /// The PICS LastModified seen when the learner was last synced successfully (§6).
    pub pics_seen: Option<NaiveDateTime>,
    /// OneFile's LastModified for the learner seen then.
    pub onefile_seen: Option<DateTime<Utc>>,
    pub baseline: Baseline,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Consecutive failed attempts.
    pub failures: u32,
    /// The OneFile learner the baseline and cursors were recorded against: a PICS learner found
    /// linked to another one is reconciled afresh (re-link).
    #[serde(default)]
    pub onefile_id: Option<OfUserId>,
    /// The last attempt failed for a reason that trying again cannot fix (`last_error` says
    /// what to do): `picsync status` lists the learner as needing attention until a sync of it
    /// succeeds.
    #[serde(default)]
    pub needs_attention: bool,
    /// Bumped by the store on every write; a write names the version it read.
    pub version: u64,
    /// The Europe/London day picsync enrolled or linked the learner, or, for a learner linked
    /// before picsync, the day of its first successful sync (R37: only qualifications starting
    /// after it are assigned). Absent in states written before it existed.
    #[serde(default)]
    pub linked_on: Option<NaiveDate>,
    /// The learner's OneFile reviews as its last successful sync read them: review id →
    /// [`picsync_domain::OfReview::digest`]. A periodic run in centre mode compares the learner
    /// when a recently scheduled review is new or its digest moved (issue 16). `None`: not
    /// known (states written before it existed, or review sync off), which is no change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviews_seen: Option<std::collections::BTreeMap<String, String>>,
}

pub trait LearnerStore {
    fn get_learner_state(
        &self,
        tenant: &TenantId,
        learner: &LearnerId,
    ) -> impl Future<Output = Result<Option<LearnerState>>> + Send;
    /// Writes the state if the stored version is still `state.version` (0: must not exist yet);
    /// a lost race is [`StateError::Conflict`]. Returns the new version.
    fn put_learner_state(
        &self,
        tenant: &TenantId,
        state: &LearnerState,
    ) -> impl Future<Output = Result<u64>> + Send;
    fn list_learner_states(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<LearnerState>>> + Send;
}

/// An intent to create one record (§7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub key: String,
    pub learner: Option<LearnerId>,
    /// What is created ("review", "visit", "learner", …).
    pub kind: String,
    pub holder: String,
    pub claimed_at: DateTime<Utc>,
    /// An in-progress claim older than this is taken over by the next attempt.
    pub expires_at: DateTime<Utc>,
    pub attempts: u32,
    /// The created record's id, once known.
    pub created_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody tried before: create.
    Fresh,
    /// An earlier attempt stopped part-way: search for the record before creating it.
    Resumed { attempts: u32 },
    /// Another worker is creating it now; try later.
    Busy {
        holder: String,
        until: DateTime<Utc>,
    },
    /// Created already: reuse this id.
    Done { id: i64 },
}

/// A claim on the intent to create one record (§7).
#[derive(Debug, Clone, Copy)]
pub struct IntentClaim<'a> {
    /// What is created (its intent's key).
    pub key: &'a str,
    /// The learner whose sync creates it (none: a record of the tenant's).
    pub learner: Option<&'a LearnerId>,
    /// What kind of record (for operators).
    pub kind: &'a str,
    /// Who claims: the worker.
    pub holder: &'a str,
    pub now: DateTime<Utc>,
    /// How long the claim lasts: another holder may take it over after.
    pub ttl: chrono::Duration,
}

pub trait IntentStore {
    fn claim_intent(
        &self,
        tenant: &TenantId,
        claim: &IntentClaim<'_>,
    ) -> impl Future<Output = Result<Claim>> + Send;
    /// Records the created id; the intent is done. Only the claim's holder completes it: when
    /// another holder took the claim over (ours expired), or the intent is done with another
    /// id, the answer is [`StateError::Conflict`] and nothing is written. Completing again with
    /// the same id is a no-op.
    fn complete_intent(
        &self,
        tenant: &TenantId,
        key: &str,
        holder: &str,
        id: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Retires a done intent whose record is gone (deleted in OneFile), so that the next claim
    /// is [`Claim::Fresh`] and the record is created again. Only when the intent is still done
    /// with `id`: returns false (and changes nothing) when it holds anything else.
    fn retire_intent(
        &self,
        tenant: &TenantId,
        key: &str,
        id: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Intents whose key starts with `prefix` (e.g. every review intent of one learner). The
    /// default scans [`IntentStore::list_intents`]; backends override it with a range read.
    fn list_intents_with_prefix(
        &self,
        tenant: &TenantId,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<Intent>>> + Send
    where
        Self: Sync,
    {
        async move {
            Ok(self
                .list_intents(tenant, false)
                .await?
                .into_iter()
                .filter(|i| i.key.starts_with(prefix))
                .collect())
        }
    }
    /// Intents of a tenant (all, or only those not done).
    fn list_intents(
        &self,
        tenant: &TenantId,
        pending_only: bool,
    ) -> impl Future<Output = Result<Vec<Intent>>> + Send;
    /// One intent, if it was ever claimed. The default scans [`IntentStore::list_intents`];
    /// backends override it with a direct read.
    fn get_intent(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> impl Future<Output = Result<Option<Intent>>> + Send
    where
        Self: Sync,
    {
        async move {
            Ok(self
                .list_intents(tenant, false)
                .await?
                .into_iter()
                .find(|i| i.key == key))
        }
    }
}

/// One change written, on either side (§7 audit trail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub tenant: TenantId,
    pub learner: LearnerId,
    pub run_id: String,
    pub at: DateTime<Utc>,
    /// "PICS" or "OneFile".
    pub system: String,
    /// The record written, e.g. "qualification Q1" or "learning aim 700".
    pub entity: String,
    pub field: String,
    pub old: Value,
    pub new: Value,
    pub rule: Rule,
}

pub trait AuditStore {
    fn append_audit(&self, entries: &[AuditEntry]) -> impl Future<Output = Result<()>> + Send;
    /// Oldest first.
    fn list_audit(
        &self,
        tenant: &TenantId,
        learner: &LearnerId,
    ) -> impl Future<Output = Result<Vec<AuditEntry>>> + Send;
}

/// Everything the engine needs from state.
pub trait State:
    TenantStore
    + LeaseStore
    + RunStore
    + LearnerStore
    + IntentStore
    + AuditStore
    + Send
    + Sync
    + 'static
{
}

impl<T> State for T where
    T: TenantStore
        + LeaseStore
        + RunStore
        + LearnerStore
        + IntentStore
        + AuditStore
        + Send
        + Sync
        + 'static
{
}

/// Pure transitions shared by every backend, so that the embedded store and DynamoDB decide
/// exactly alike.
pub mod rules {
    use super::*;

    /// R39: may `holder` take the lease given what is stored?
    pub fn lease_free(current: Option<&Lease>, holder: &str, now: DateTime<Utc>) -> bool {
        current.is_none_or(|l| l.holder == holder || l.expires_at <= now)
    }

    /// §7: how a claim on an intent goes, and the record to store (if any).
    pub fn claim(current: Option<&Intent>, claim: &IntentClaim<'_>) -> (Claim, Option<Intent>) {
        let &IntentClaim {
            key,
            learner,
            kind,
            holder,
            now,
            ttl,
        } = claim;
        let fresh = |attempts| Intent {
            key: key.to_string(),
            learner: learner.cloned(),
            kind: kind.to_string(),
            holder: holder.to_string(),
            claimed_at: now,
            expires_at: now + ttl,
            attempts,
            created_id: None,
        };
        match current {
            None => (Claim::Fresh, Some(fresh(1))),
            Some(i) => match i.created_id {
                Some(id) => (Claim::Done { id }, None),
                None if i.expires_at > now && i.holder != holder => (
                    Claim::Busy {
                        holder: i.holder.clone(),
                        until: i.expires_at,
                    },
                    None,
                ),
                None => (
                    Claim::Resumed {
                        attempts: i.attempts,
                    },
                    Some(fresh(i.attempts + 1)),
                ),
            },
        }
    }

    /// Abandons a running run: the tasks that never reported are lost (failed). False when it
    /// is not running.
    pub fn abandon(run: &mut RunRecord, now: DateTime<Utc>) -> bool {
        if run.finished() {
            return false;
        }
        let lost = run.total.saturating_sub(run.done + run.failed);
        run.lost = lost;
        run.failed += lost;
        run.status = RunStatus::Abandoned;
        run.finished_at = Some(now);
        true
    }

    /// §7: completing an intent (`holder` created `id`): the record to store, `None` when it is
    /// stored already, or why not.
    pub fn complete(
        current: Option<&Intent>,
        key: &str,
        holder: &str,
        id: i64,
    ) -> Result<Option<Intent>> {
        let Some(i) = current else {
            return Err(StateError::Conflict(format!(
                "intent {key} was never claimed"
            )));
        };
        match i.created_id {
            Some(done) if done == id => Ok(None),
            Some(done) => Err(StateError::Conflict(format!(
                "intent {key} was completed with {done} by {} meanwhile; {id} is not recorded",
                i.holder
            ))),
            None if i.holder != holder => Err(StateError::Conflict(format!(
                "intent {key} was taken over by {} after the claim of {holder} expired; {id} is not recorded",
                i.holder
            ))),
            None => {
                let mut next = i.clone();
                next.created_id = Some(id);
                Ok(Some(next))
            }
        }
    }

    /// Adds an outcome to a run (idempotent per learner).
    pub fn add_outcome(run: &mut RunRecord, o: &LearnerOutcome, now: DateTime<Utc>) {
        if run.finished() {
            return;
        }
        match &o.failure {
            Some(f) => {
                run.failed += 1;
                run.failures.push(f.clone());
            }
            None => run.done += 1,
        }
        for (k, v) in &o.rule_counts {
            *run.rule_counts.entry(k.clone()).or_insert(0) += v;
        }
        run.onefile_calls += o.onefile_calls;
        run.pics_calls += o.pics_calls;
        run.pics_changes += o.pics_changes;
        run.onefile_changes += o.onefile_changes;
        run.onefile_429s += o.onefile_429s;
        if run.done + run.failed >= run.total {
            run.finished_at = Some(now);
            run.status = if run.failed == 0 {
                RunStatus::Completed
            } else {
                RunStatus::CompletedWithFailures
            };
        }
    }
}

#[cfg(test)]
mod learner_state_tests {
    use super::*;

    #[test]
    fn r37_a_state_written_before_linked_on_existed_still_reads() {
        let mut old = serde_json::to_value(LearnerState {
            learner: LearnerId::from("L1"),
            failures: 2,
            ..Default::default()
        })
        .unwrap();
        old.as_object_mut().unwrap().remove("linked_on");
        let st: LearnerState = serde_json::from_value(old).unwrap();
        assert_eq!(st.failures, 2);
        assert_eq!(st.linked_on, None);
        let mut st2 = st.clone();
        st2.linked_on = NaiveDate::from_ymd_opt(2024, 7, 1);
        let back: LearnerState =
            serde_json::from_str(&serde_json::to_string(&st2).unwrap()).unwrap();
        assert_eq!(back, st2);
    }
}
