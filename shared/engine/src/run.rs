//! A tenant-wide run: the lease (R39), the learners in scope (R3), the incremental skip and the
//! periodic full sweep (§6), tasks per learner with bounded concurrency sharing the tenant's
//! OneFile pacing (R35), and the run record that completes when the last task reports (R36).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use futures::StreamExt;
use picsync_domain::plan::scope;
use picsync_domain::settings::ReviewReads;
use picsync_domain::*;
use picsync_onefile::{UserSearch, role};
use picsync_pics::LearnerQuery;
use picsync_state::{
    Failure, LearnerOutcome, LeaseOutcome, RunRecord, RunStatus, State, TenantState,
};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::learner::{LearnerReport, RunCtx};
use crate::{Engine, Tenant, mapping};

/// How a run is asked for.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `None`: initial if the tenant has not had its initial run since enabling (R43), else periodic.
    pub mode: Option<Mode>,
    /// R38: plan everything, write nothing anywhere.
    pub dry_run: bool,
    /// Only these learners (a refresh, operation 4); empty: every learner in scope.
    pub learners: Vec<LearnerId>,
    /// Learners synced at once (they share the tenant's OneFile pacing).
    pub concurrency: usize,
    /// Compare every learner in scope, skipping none (§6).
    pub full: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            mode: None,
            dry_run: false,
            learners: Vec::new(),
            concurrency: 4,
            full: false,
        }
    }
}

/// One learner to sync: the message the scheduler sends the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnerTask {
    pub tenant: TenantId,
    pub run_id: String,
    pub learner: LearnerId,
    pub mode: Mode,
    #[serde(default)]
    pub dry_run: bool,
    /// The OneFile learner from the run's listing (saves a call per learner).
    #[serde(default)]
    pub onefile_user: Option<OfLearner>,
    /// The reviews of `onefile_user` from the run's centre-wide read (issue 16,
    /// `review_reads = "centre"`): the learner's sync then makes no review search unless it
    /// plans a review change. `None`: read per learner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviews: Option<Vec<OfReview>>,
    /// Attempts of this task that already failed (§7: a task re-queued at the back of its
    /// tenant's queue after a retryable failure carries the count; 0 when first sent).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
    /// A re-queued task is not run before this instant (its retry delay; FIFO queues have no
    /// per-message delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A started run and its tasks.
#[derive(Debug, Clone)]
pub struct RunStart {
    pub run: RunRecord,
    pub tasks: Vec<LearnerTask>,
}

/// What a finished run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub run: RunRecord,
    pub reports: Vec<LearnerReport>,
}

/// Progress of a long run, for a terminal.
pub trait Progress: Send + Sync {
    fn started(&self, _total: usize) {}
    fn learner_done(&self, _learner: &LearnerId, _ok: bool) {}
    fn finished(&self) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

/// Lost races on the tenant record tried again before giving up (retryable).
const TENANT_RACES: u32 = 8;

fn new_run_id(now: DateTime<Utc>) -> String {
    format!("{}-{:04x}", now.format("%Y%m%dT%H%M%SZ"), fastrand::u16(..))
}

/// The run being started: its id, and the instant and the London day it started at.
struct Started<'a> {
    run_id: &'a str,
    now: DateTime<Utc>,
    today: chrono::NaiveDate,
}

impl<S: State> Engine<S> {
    /// The tenant's state, with its centre and learning-aim catalogue known (R34), and the
    /// enabling recorded (R43). Writes nothing when `dry_run`.
    pub async fn prepare_tenant(&self, t: &Tenant, dry_run: bool) -> Result<TenantState> {
        // what OneFile was asked once is not asked again when a lost race makes us re-read
        let mut centre: Option<OfCentreId> = None;
        let mut loaded: Option<(OfCentreId, Catalogue)> = None;
        let mut attempts = 0;
        loop {
            let mut ts = self.read_tenant(&t.id).await?;
            let mut changed = false;
            if t.settings.integration_enabled && ts.enabled_at.is_none() {
                // R43: the first run after enabling is initial.
                ts.enabled_at = Some(self.now());
                ts.initial_done = false;
                changed = true;
            }
            if !t.settings.integration_enabled && ts.enabled_at.is_some() {
                ts.enabled_at = None;
                changed = true;
            }
            let c = match centre {
                Some(c) => c,
                None => *centre.insert(self.centre(t).await?),
            };
            if ts.centre != Some(c) {
                ts.centre = Some(c);
                ts.catalogue = Catalogue::default();
                ts.catalogue_refreshed = None;
                changed = true;
            }
            // R10: a catalogue loaded for one centre, or for all, reloads when
            // `multiple_centres` changes
            if ts.catalogue_refreshed.is_none()
                || ts.catalogue.all_centres != t.settings.multiple_centres
            {
                ts.catalogue = match loaded.take() {
                    Some((lc, cat)) if lc == c => cat,
                    _ => self.load_catalogue(t, c).await?,
                };
                ts.catalogue_refreshed = Some(self.now());
                changed = true;
            }
            if !changed || dry_run {
                return Ok(ts);
            }
            match self.state.put_tenant(&ts).await {
                Ok(()) => {
                    ts.version += 1;
                    return Ok(ts);
                }
                // B10: another routine wrote the tenant since we read it: re-read and re-apply
                Err(picsync_state::StateError::Conflict(_)) if attempts < TENANT_RACES => {
                    attempts += 1;
                    loaded = Some((c, ts.catalogue));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The tenant's state as stored, or a new one (version 0).
    pub(crate) async fn read_tenant(&self, tenant: &TenantId) -> Result<TenantState> {
        Ok(self
            .state
            .get_tenant(tenant)
            .await?
            .unwrap_or_else(|| TenantState {
                tenant: tenant.clone(),
                ..Default::default()
            }))
    }

    /// Read-modify-write of the tenant's state without losing another routine's fields (B10):
    /// `change` edits the record as read and says whether it changed anything; a lost race
    /// re-reads and applies `change` again (bounded). Returns the record as written (or read).
    pub(crate) async fn update_tenant(
        &self,
        tenant: &TenantId,
        mut change: impl FnMut(&mut TenantState) -> bool,
    ) -> Result<TenantState> {
        let mut attempts = 0;
        loop {
            let mut ts = self.read_tenant(tenant).await?;
            if !change(&mut ts) {
                return Ok(ts);
            }
            match self.state.put_tenant(&ts).await {
                Ok(()) => {
                    ts.version += 1;
                    return Ok(ts);
                }
                Err(picsync_state::StateError::Conflict(_)) if attempts < TENANT_RACES => {
                    attempts += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// R1 before any OneFile call: refuses a tenant whose integration is off (or whose settings
    /// are invalid). **Decision** (R43): a refusal is the moment picsync learns that the tenant
    /// was disabled, so it is recorded (a state write only; none in a dry run, R38): the next
    /// call after the integration is enabled again records a new enabling and runs initial.
    pub(crate) async fn require_enabled(&self, t: &Tenant, dry_run: bool) -> Result<()> {
        match Self::check_enabled(t) {
            Err(EngineError::NotEnabled(id)) => {
                if !dry_run {
                    self.note_disabled(&t.id).await?;
                }
                Err(EngineError::NotEnabled(id))
            }
            other => other,
        }
    }

    /// R43: records that the tenant was found disabled (the worker refusing its queued tasks
    /// does too), so that the first run after it is enabled again is initial.
    pub async fn note_disabled(&self, tenant: &TenantId) -> Result<()> {
        self.update_tenant(tenant, |ts| ts.enabled_at.take().is_some())
            .await?;
        Ok(())
    }

    /// The OneFile centre: the configured one, else the customer's only centre.
    pub(crate) async fn centre(&self, t: &Tenant) -> Result<OfCentreId> {
        if let Some(c) = t.centre {
            return Ok(c);
        }
        let customer = t.onefile.customer().await?;
        let centres = t.onefile.centres(customer.id).await?;
        match centres.as_slice() {
            [one] => Ok(one.id),
            [] => Err(EngineError::Inconsistent(format!(
                "OneFile customer {} has no centre",
                customer.id
            ))),
            many => Err(EngineError::Invalid(format!(
                "OneFile customer {} has {} centres ({}): set onefile_centre for tenant {}",
                customer.id,
                many.len(),
                many.iter()
                    .map(|c| format!("{} {}", c.id, c.name.as_deref().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(", "),
                t.id
            ))),
        }
    }

    /// OneFile's learning aims used for matching (R34): the tenant's centre's; with
    /// `multiple_centres`, those of every centre of the customer, the tenant's first, so that a
    /// qualification several centres offer needs a choice at enrolment (R10).
    pub(crate) async fn load_catalogue(&self, t: &Tenant, centre: OfCentreId) -> Result<Catalogue> {
        let mut centres = vec![centre];
        if t.settings.multiple_centres {
            let customer = t.onefile.customer().await?;
            let mut others: Vec<OfCentreId> = t
                .onefile
                .centres(customer.id)
                .await?
                .iter()
                .map(|c| c.id)
                .filter(|c| *c != centre)
                .collect();
            others.sort_unstable();
            centres.extend(others);
        }
        let mut entries = Vec::new();
        for c in centres {
            let standards = t.onefile.standards(c).await?;
            entries.extend(mapping::catalogue_entries(c, &standards));
        }
        Ok(Catalogue {
            entries,
            all_centres: t.settings.multiple_centres,
        })
    }

    /// R1: refuses a tenant whose settings are invalid or whose integration is off, before any
    /// call to OneFile.
    pub fn check_enabled(t: &Tenant) -> Result<()> {
        t.settings
            .validate()
            .map_err(|e| EngineError::Invalid(format!("tenant {}: {e}", t.id)))?;
        if !t.settings.integration_enabled {
            return Err(EngineError::NotEnabled(t.id.to_string()));
        }
        Ok(())
    }

    /// Starts a run: takes the lease (R39), lists the learners, decides which to sync (§6), and
    /// records the run. A dry run takes no lease and records nothing (R38).
    pub async fn start_run(&self, t: &Tenant, opts: &RunOptions) -> Result<RunStart> {
        self.require_enabled(t, opts.dry_run).await?;
        let now = self.now();
        let today = self.today();
        let run_id = new_run_id(now);
        if opts.dry_run {
            // R38 writes no lease, R35 keeps the budget the run's: refused while one runs
            self.refuse_while_leased(&t.id).await?;
        } else {
            // runs never stick: a run that stopped reporting is closed before the lease is tried
            self.reconcile(&t.id).await?;
            match self
                .state
                .acquire_lease(&t.id, &run_id, &run_id, now, self.lease_ttl)
                .await?
            {
                LeaseOutcome::Acquired => {}
                LeaseOutcome::Held(l) => {
                    return Err(EngineError::Busy {
                        tenant: t.id.to_string(),
                        run_id: l.run_id,
                        holder: l.holder,
                        until: l.expires_at.to_rfc3339(),
                    });
                }
            }
        }
        // R35: the OneFile calls of preparing the tenant are made under the lease
        let planned = async {
            let ts = self.prepare_tenant(t, opts.dry_run).await?;
            let mode = opts.mode.unwrap_or(if ts.initial_done {
                Mode::Periodic
            } else {
                Mode::Initial
            });
            let started = Started {
                run_id: &run_id,
                now,
                today,
            };
            self.plan_tasks(t, &ts, opts, mode, &started).await
        };
        let planned = if opts.dry_run {
            planned.await
        } else {
            self.renewing(&t.id, &run_id, planned).await
        };
        match planned {
            Ok(mut start) => {
                start.run.owner = self.owner.clone();
                if !opts.dry_run {
                    self.state.put_run(&start.run).await?;
                    if start.run.finished() {
                        self.finish_run(&t.id, &start.run).await?;
                    }
                }
                Ok(start)
            }
            Err(e) => {
                if !opts.dry_run {
                    self.state.release_lease(&t.id, &run_id).await?;
                }
                Err(e)
            }
        }
    }

    async fn plan_tasks(
        &self,
        t: &Tenant,
        ts: &TenantState,
        opts: &RunOptions,
        mode: Mode,
        started: &Started<'_>,
    ) -> Result<RunStart> {
        let &Started { run_id, now, today } = started;
        let centre = ts
            .centre
            .ok_or_else(|| EngineError::Inconsistent("tenant has no OneFile centre".into()))?;
        let summaries = t
            .pics
            .list_learners(&LearnerQuery {
                one_file_linked: Some(true),
                modified_since: None,
            })
            .await?;
        let wanted: Option<std::collections::BTreeSet<&LearnerId>> =
            (!opts.learners.is_empty()).then(|| opts.learners.iter().collect());
        if let Some(w) = &wanted {
            for l in w.iter() {
                if !summaries.iter().any(|s| s.learner_id == **l) {
                    return Err(EngineError::Invalid(format!(
                        "learner {l} is not a PICS learner linked to OneFile"
                    )));
                }
            }
        }
        let users: HashMap<OfUserId, OfLearner> = t
            .onefile
            .search_users(&UserSearch::new(centre, role::LEARNER))
            .await?
            .iter()
            .map(|u| (u.id, mapping::of_learner(u)))
            .collect();
        let full = mode == Mode::Initial
            || opts.full
            || full_sweep_due(ts.last_full_sweep, now, t.settings.full_sweep_hours);
        let states: HashMap<LearnerId, picsync_state::LearnerState> = self
            .state
            .list_learner_states(&t.id)
            .await?
            .into_iter()
            .map(|s| (s.learner.clone(), s))
            .collect();
        // Issue 16: in centre mode a periodic run sees OneFile review changes that leave the
        // learner's LastModified alone, from one centre-wide search of recent reviews.
        let recent = if full || wanted.is_some() {
            None
        } else {
            self.recent_centre_reviews(t, centre, &users, now).await
        };
        let (recent, recent_problem) = match recent {
            Some(Ok(r)) => (Some(r), None),
            Some(Err(reason)) => (None, Some(reason)),
            None => (None, None),
        };
        let mut review_changes = 0u64;

        let mut run = RunRecord::new(
            t.id.clone(),
            run_id.to_string(),
            mode,
            opts.dry_run,
            full,
            now,
        );
        run.tenant_wide = wanted.is_none();
        run.calls_per_minute = t.onefile.pacer().limit().0;
        let mut tasks = Vec::new();
        for s in &summaries {
            let id = s.learner_id.clone();
            if wanted.as_ref().is_some_and(|w| !w.contains(&id)) {
                continue;
            }
            let in_scope = scope(
                s.one_file_id.is_some(),
                &SystemStatus::parse(s.system_status.as_deref()),
                &EpisodeStatus::parse(s.episode_status.as_deref()),
                s.actual_end_date,
                today,
            );
            if in_scope.is_err() {
                run.out_of_scope += 1;
                continue;
            }
            let user = s.one_file_id.and_then(|id| users.get(&id)).cloned();
            // §6: skip a learner only when both sides provably did not change since its last
            // successful sync and no earlier attempt failed.
            let unchanged = !full
                && wanted.is_none()
                && states.get(&id).is_some_and(|st| {
                    st.failures == 0
                        && st.last_success.is_some()
                        // D1: a learner now linked to another OneFile learner is compared
                        && st.onefile_id.is_none_or(|id| s.one_file_id == Some(id))
                        && pics_unchanged(s.last_modified, st.pics_seen)
                        && user.as_ref().is_some_and(|u| {
                            u.last_modified.is_some() && u.last_modified <= st.onefile_seen
                        })
                });
            // issue 16: a recent review new or changed in OneFile since the learner's last sync
            let reviews_moved = unchanged
                && states
                    .get(&id)
                    .is_some_and(|st| reviews_changed(recent.as_ref(), user.as_ref(), st));
            if reviews_moved {
                review_changes += 1;
            }
            if unchanged && !reviews_moved {
                run.skipped_unchanged += 1;
                continue;
            }
            tasks.push(LearnerTask {
                tenant: t.id.clone(),
                run_id: run_id.to_string(),
                learner: id,
                mode,
                dry_run: opts.dry_run,
                onefile_user: user,
                reviews: None,
                attempt: 0,
                not_before: None,
            });
        }
        if let Some(reason) = recent_problem {
            tracing::warn!(tenant = %t.id, run_id, %reason, "recent reviews not read centre-wide: OneFile review changes that leave the learner's LastModified alone wait for the full sweep (issue 16)");
            run.review_reads_fallback = Some(reason);
        } else if recent.is_some() {
            tracing::info!(tenant = %t.id, run_id, learners = review_changes, "learners compared for a OneFile review changed since their last sync (issue 16)");
        }
        if let Err(reason) = self
            .attach_centre_reviews(t, centre, &users, &states, &mut tasks)
            .await
        {
            tracing::warn!(tenant = %t.id, run_id, %reason, "centre-wide review read not used: this run reads reviews per learner (issue 16)");
            run.review_reads_fallback = Some(reason);
        }
        run.total = tasks.len() as u64;
        if tasks.is_empty() {
            run.status = RunStatus::Completed;
            run.finished_at = Some(now);
        }
        Ok(RunStart { run, tasks })
    }

    /// Issue 16, `review_reads = "centre"`: reads the centre's reviews once, checks the read,
    /// and gives each task its learner's reviews. Does nothing in `learner` mode, without
    /// review sync, or when the run compares too few learners for it to pay. An `Err` names
    /// why a centre-wide read was made and not used (the tasks then read per learner).
    async fn attach_centre_reviews(
        &self,
        t: &Tenant,
        centre: OfCentreId,
        users: &HashMap<OfUserId, OfLearner>,
        states: &HashMap<LearnerId, picsync_state::LearnerState>,
        tasks: &mut [LearnerTask],
    ) -> std::result::Result<(), String> {
        let s = &t.settings;
        if s.review_reads != ReviewReads::Centre || !(s.download_reviews || s.upload_reviews) {
            return Ok(());
        }
        let compared = tasks.iter().filter(|t| t.onefile_user.is_some()).count();
        // **Decision**: the centre-wide read costs a page per 100 reviews of the whole centre,
        // and saves a call per learner compared: it is made when the run compares at least a
        // tenth of the centre's learners (every full sweep does; a periodic run that skips
        // nearly everyone reads per learner).
        if compared == 0 || compared * 10 < users.len() {
            return Ok(());
        }
        let learners: HashSet<OfUserId> = users.keys().copied().collect();
        let read = match t.onefile.centre_reviews(centre, &learners).await {
            Ok(r) => r,
            Err(e) => return Err(format!("the centre-wide review search failed: {e}")),
        };
        review_read_problem(&read)?;
        let mut by_learner: HashMap<OfUserId, Vec<OfReview>> = HashMap::new();
        for r in &read.reviews {
            if let Some(l) = r.learner_id {
                by_learner.entry(l).or_default().push(mapping::of_review(r));
            }
        }
        // a learner's last sync saw reviews this read lacks: the read may have been cut short
        // (a short page taken for the last one) or the reviews deleted; such a learner reads
        // its own (a learner absent from the read must not pass for one with no reviews), and
        // many such learners mean the read cannot be trusted at all
        let mut lacking = 0usize;
        let mut too_large = 0;
        let mut copies: Vec<Option<Vec<OfReview>>> = Vec::with_capacity(tasks.len());
        for task in tasks.iter() {
            let Some(u) = &task.onefile_user else {
                copies.push(None);
                continue;
            };
            // `get`, not `remove`: two PICS learners may name one OneFile learner
            let reviews = by_learner.get(&u.id).cloned().unwrap_or_default();
            let seen = states
                .get(&task.learner)
                .and_then(|st| st.reviews_seen.as_ref());
            if seen.is_some_and(|seen| lacks_seen(&reviews, seen)) {
                lacking += 1;
                copies.push(None);
                continue;
            }
            if serde_json::to_vec(&reviews).map_or(usize::MAX, |v| v.len()) > MAX_TASK_REVIEWS_BYTES
            {
                too_large += 1;
                copies.push(None);
                continue;
            }
            copies.push(Some(reviews));
        }
        if lacking > 10.max(compared / 100) {
            return Err(format!(
                "OneFile's centre-wide review search lacked reviews that {lacking} learners' last syncs saw: the read looks cut short"
            ));
        }
        for (task, copy) in tasks.iter_mut().zip(copies) {
            task.reviews = copy;
        }
        tracing::info!(
            tenant = %t.id,
            reviews = read.reviews.len(),
            pages = read.paging.pages,
            learners = compared,
            read_per_learner = too_large + lacking,
            "reviews read centre-wide (issue 16)"
        );
        Ok(())
    }

    /// Issue 16 (item 2), `review_reads = "centre"`: the centre's reviews scheduled in the
    /// detection window, grouped by learner, for a periodic run to see OneFile review changes.
    /// `None` when not in centre mode or without review sync; `Err` names why the read could
    /// not be used (those changes then wait for the full sweep, as in `learner` mode).
    ///
    /// **Decision**: the window is from five weeks before to two weeks after now. A review is
    /// started, rescheduled or has its assessor changed around its date; one changed outside
    /// the window (or deleted) is caught by the full sweep. The read costs a page per 100
    /// reviews in the window, about one review per learner: some 0.01 calls a learner a run.
    async fn recent_centre_reviews(
        &self,
        t: &Tenant,
        centre: OfCentreId,
        users: &HashMap<OfUserId, OfLearner>,
        now: DateTime<Utc>,
    ) -> Option<std::result::Result<HashMap<OfUserId, Vec<OfReview>>, String>> {
        let s = &t.settings;
        if s.review_reads != ReviewReads::Centre || !(s.download_reviews || s.upload_reviews) {
            return None;
        }
        let window = recent_review_window(now);
        let learners: HashSet<OfUserId> = users.keys().copied().collect();
        let read = match t
            .onefile
            .centre_reviews_scheduled(centre, &learners, Some(window))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Some(Err(format!(
                    "the centre-wide search of recent reviews failed: {e}"
                )));
            }
        };
        if let Err(reason) = review_read_problem(&read) {
            return Some(Err(reason));
        }
        let mut by_learner: HashMap<OfUserId, Vec<OfReview>> = HashMap::new();
        let mut outside_window = 0usize;
        for r in &read.reviews {
            let review = mapping::of_review(r);
            if !in_window(review.scheduled_for, window) {
                outside_window += 1;
            }
            if let Some(l) = r.learner_id {
                by_learner.entry(l).or_default().push(review);
            }
        }
        // OneFile does not document which date `DateFrom`/`DateTo` filter on: a read whose
        // reviews are not scheduled in the window was filtered on another date (or not at
        // all), and would miss the reviews the detection is for
        if outside_window > 10.max(read.reviews.len() / 100) {
            return Some(Err(format!(
                "OneFile's search of recent reviews served {outside_window} reviews not scheduled in the window asked for: its DateFrom/DateTo filter is not on the scheduled date"
            )));
        }
        Some(Ok(by_learner))
    }

    /// The run-wide context a worker needs for tasks of one run.
    pub(crate) async fn run_ctx<'a>(
        &self,
        t: &'a Tenant,
        mode: Mode,
        run_id: &str,
        dry_run: bool,
    ) -> Result<RunCtx<'a>> {
        let ts = self.prepare_tenant(t, dry_run).await?;
        let centre = ts
            .centre
            .ok_or_else(|| EngineError::Inconsistent("tenant has no OneFile centre".into()))?;
        Ok(RunCtx::new(
            t,
            centre,
            ts.catalogue,
            mode,
            run_id.to_string(),
            dry_run,
        ))
    }

    /// Runs one task and reports its outcome to the run; finishes the run when it was the last.
    /// A failure for which `defer` is true is not reported: the task will be delivered again.
    async fn execute(
        &self,
        ctx: &RunCtx<'_>,
        task: &LearnerTask,
        defer: &(dyn Fn(&EngineError) -> bool + Sync),
    ) -> (
        std::result::Result<LearnerReport, EngineError>,
        Option<RunRecord>,
    ) {
        let of0 = ctx.tenant.onefile.pacer().calls();
        let r0 = ctx.tenant.onefile.pacer().rate_limited();
        let p0 = ctx.tenant.pics.calls();
        let result = self
            .sync_learner(
                ctx,
                &task.learner,
                task.onefile_user.clone(),
                // **Decision**: a task re-queued after a failure (§7, `attempt` > 0) may run
                // long after the run's read: it reads its reviews afresh. A redelivery of the
                // same message (a visibility timeout, a crashed invocation) still uses the
                // copy; a plan from it that would write a review is made again from a fresh
                // read first (`touches_reviews` in learner.rs), so a stale copy never writes
                task.reviews.clone().filter(|_| task.attempt == 0),
            )
            .await;
        if task.dry_run || result.as_ref().err().is_some_and(defer) {
            return (result, None);
        }
        let outcome = LearnerOutcome {
            learner: task.learner.clone(),
            failure: result.as_ref().err().map(|e| Failure {
                learner: task.learner.clone(),
                reason: e.to_string(),
                retryable: e.is_retryable(),
            }),
            rule_counts: result
                .as_ref()
                .map(LearnerReport::rule_counts)
                .unwrap_or_default(),
            onefile_calls: ctx.tenant.onefile.pacer().calls().saturating_sub(of0),
            pics_calls: ctx.tenant.pics.calls().saturating_sub(p0),
            pics_changes: result.as_ref().map_or(0, |r| r.changes().0),
            onefile_changes: result.as_ref().map_or(0, |r| r.changes().1),
            // the tenant's pacer is shared by its concurrent tasks: a 429 counts on the task
            // that was waiting or calling when it came
            onefile_429s: ctx.tenant.onefile.pacer().rate_limited().saturating_sub(r0),
        };
        // §7: an outcome that could not be written is never lost: the task fails retryably, so
        // that it is tried again (the sync is idempotent, the outcome counted once) and the run
        // still completes
        let unrecorded = |source: EngineError| EngineError::Unrecorded {
            learner: task.learner.to_string(),
            result: match &result {
                Ok(_) => "synchronised".to_string(),
                Err(e) => e.to_string(),
            },
            source: Box::new(source),
        };
        let run = match self
            .state
            .add_outcome(&ctx.tenant.id, &task.run_id, &outcome, self.now())
            .await
        {
            Ok(run) => run,
            Err(e) => return (Err(unrecorded(e.into())), None),
        };
        if run.finished() {
            // closing is idempotent: a duplicate report closes it again to the same values
            if let Err(e) = self.finish_run(&ctx.tenant.id, &run).await {
                return (Err(unrecorded(e)), Some(run));
            }
        }
        (result, Some(run))
    }

    /// Closes a finished run: R36 "last synchronised", R43 initial done, §6 full sweep time; frees
    /// the lease.
    pub(crate) async fn finish_run(&self, tenant: &TenantId, run: &RunRecord) -> Result<()> {
        // an abandoned (or aborted) run moves neither R36 nor R43
        let completed = matches!(
            run.status,
            RunStatus::Completed | RunStatus::CompletedWithFailures
        );
        if run.tenant_wide && completed {
            // B10: only this run's fields are written, re-applied on a fresh read after a lost
            // race, so that a catalogue refresh or a preparation at the same time keeps its own
            self.update_tenant(tenant, |ts| {
                // a late duplicate of an old run never moves "last synchronised" back
                let newer = ts
                    .last_synchronised
                    .is_none_or(|last| run.finished_at.is_some_and(|f| f >= last));
                if !newer {
                    return false;
                }
                ts.last_synchronised = run.finished_at;
                if run.mode == Mode::Initial {
                    ts.initial_done = true;
                }
                if run.full_sweep {
                    ts.last_full_sweep = Some(run.started_at);
                }
                true
            })
            .await?;
        }
        self.state.release_lease(tenant, &run.run_id).await?;
        self.observe_closed(run);
        Ok(())
    }

    /// Reports a task that could not be run at all (its tenant could not be set up, or it could
    /// not be queued) as failed: on the learner's state and, once, on its run, which closes
    /// when this was its last learner (R36). Returns the run as it is after the update.
    pub async fn report_failure(
        &self,
        task: &LearnerTask,
        error: &EngineError,
    ) -> Result<RunRecord> {
        self.record_learner_failure(&task.tenant, &task.learner, error)
            .await?;
        let outcome = LearnerOutcome {
            learner: task.learner.clone(),
            failure: Some(Failure {
                learner: task.learner.clone(),
                reason: error.to_string(),
                retryable: error.is_retryable(),
            }),
            rule_counts: Default::default(),
            onefile_calls: 0,
            pics_calls: 0,
            pics_changes: 0,
            onefile_changes: 0,
            onefile_429s: 0,
        };
        let run = self
            .state
            .add_outcome(&task.tenant, &task.run_id, &outcome, self.now())
            .await?;
        if run.finished() {
            self.finish_run(&task.tenant, &run).await?;
        }
        Ok(run)
    }

    /// Consecutive failed attempts recorded on the learner (§7: a learner that keeps failing
    /// ends in the dead-letter queue).
    pub async fn learner_failures(&self, tenant: &TenantId, learner: &LearnerId) -> Result<u32> {
        Ok(self
            .state
            .get_learner_state(tenant, learner)
            .await?
            .map_or(0, |s| s.failures))
    }

    /// A runner of queued tasks of one tenant, sharing each run's context between them.
    pub fn task_runner<'a>(&'a self, t: &'a Tenant) -> TaskRunner<'a, S> {
        TaskRunner {
            engine: self,
            tenant: t,
            ctxs: HashMap::new(),
        }
    }

    /// Runs a batch of tasks of one run (the Lambda worker's unit), one after another, every
    /// outcome reported to its run. Returns, per task, its result.
    pub async fn run_tasks(
        &self,
        t: &Tenant,
        tasks: &[LearnerTask],
    ) -> Vec<std::result::Result<LearnerReport, EngineError>> {
        let mut runner = self.task_runner(t);
        let mut out = Vec::new();
        for task in tasks {
            out.push(runner.run(task, &|_| false).await);
        }
        out
    }

    /// A whole run in this process: start, sync every learner with bounded concurrency, finish.
    pub async fn run_tenant(
        &self,
        t: &Tenant,
        opts: &RunOptions,
        progress: &dyn Progress,
    ) -> Result<RunSummary> {
        let start = self.start_run(t, opts).await?;
        let mut run = start.run.clone();
        progress.started(start.tasks.len());
        if start.tasks.is_empty() {
            progress.finished();
            return Ok(RunSummary {
                run,
                reports: Vec::new(),
            });
        }
        let ctx = self.run_ctx(t, run.mode, &run.run_id, opts.dry_run).await?;
        let of0 = t.onefile.pacer().calls();
        let r0 = t.onefile.pacer().rate_limited();
        let p0 = t.pics.calls();
        let mut reports = Vec::new();
        let mut failures = Vec::new();
        let mut last_renew = self.now();
        let mut lost_lease = false;
        {
            let mut stream = futures::stream::iter(start.tasks.iter())
                .map(|task| {
                    let ctx = &ctx;
                    async move { (task, self.execute(ctx, task, &|_| false).await) }
                })
                .buffer_unordered(opts.concurrency.max(1));
            // the lease is renewed on a timer, so a slow learner never lets it lapse
            let renew_every = (self.lease_ttl / 3)
                .to_std()
                .unwrap_or(std::time::Duration::from_secs(30))
                .max(std::time::Duration::from_secs(1));
            loop {
                let next = tokio::time::timeout(renew_every, stream.next()).await;
                match next {
                    Ok(Some((task, (result, latest)))) => {
                        progress.learner_done(&task.learner, result.is_ok());
                        match result {
                            Ok(r) => reports.push(r),
                            Err(e) => failures.push(Failure {
                                learner: task.learner.clone(),
                                reason: e.to_string(),
                                retryable: e.is_retryable(),
                            }),
                        }
                        if let Some(r) = latest {
                            run = r;
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {}
                }
                if !opts.dry_run && !run.finished() && self.now() - last_renew >= self.lease_ttl / 3
                {
                    last_renew = self.now();
                    if !self.heartbeat(&t.id, &run.run_id).await? {
                        lost_lease = true;
                        break;
                    }
                }
            }
        }
        progress.finished();
        if opts.dry_run {
            run.done = reports.len() as u64;
            run.failed = failures.len() as u64;
            run.failures = failures;
            run.status = if run.failed == 0 {
                RunStatus::Completed
            } else {
                RunStatus::CompletedWithFailures
            };
            run.finished_at = Some(self.now());
            for r in &reports {
                for (k, v) in r.rule_counts() {
                    *run.rule_counts.entry(k).or_insert(0) += v;
                }
                let (pics, onefile) = r.changes();
                run.pics_changes += pics;
                run.onefile_changes += onefile;
            }
        } else if lost_lease {
            run.status = RunStatus::Aborted;
            run.finished_at = Some(self.now());
        }
        // exact totals for the run (per-task figures overlap when tasks run concurrently)
        run.onefile_calls = t.onefile.pacer().calls().saturating_sub(of0);
        run.pics_calls = t.pics.calls().saturating_sub(p0);
        run.onefile_429s = t.onefile.pacer().rate_limited().saturating_sub(r0);
        if !opts.dry_run {
            if let Some(mut stored) = self.state.get_run(&t.id, &run.run_id).await? {
                stored.onefile_calls = run.onefile_calls;
                stored.pics_calls = run.pics_calls;
                stored.onefile_429s = run.onefile_429s;
                if lost_lease {
                    stored.status = RunStatus::Aborted;
                    stored.finished_at = run.finished_at;
                }
                self.state.put_run(&stored).await?;
                run = stored;
            }
        }
        Ok(RunSummary { run, reports })
    }
}

/// Runs queued tasks of one tenant one at a time (a queue worker's unit), sharing each run's
/// context (centre, catalogue, officer caches) between the tasks of a batch.
pub struct TaskRunner<'a, S: State> {
    engine: &'a Engine<S>,
    tenant: &'a Tenant,
    ctxs: HashMap<(String, bool), RunCtx<'a>>,
}

impl<S: State> TaskRunner<'_, S> {
    /// Runs one task. Its outcome is reported to its run (once per learner), except a failure
    /// for which `defer(&error)` is true: the queue will deliver the task again, and a later
    /// delivery reports it.
    pub async fn run(
        &mut self,
        task: &LearnerTask,
        defer: &(dyn Fn(&EngineError) -> bool + Sync),
    ) -> Result<LearnerReport> {
        self.prepare(task).await?;
        self.run_prepared(task, defer).await
    }

    /// Reads the context of `task`'s run (once per run and batch), so that the batch's tasks
    /// of that run can then go at once through [`TaskRunner::run_prepared`].
    pub async fn prepare(&mut self, task: &LearnerTask) -> Result<()> {
        let t = self.tenant;
        if task.tenant != t.id {
            return Err(EngineError::Invalid(format!(
                "task for tenant {} sent to tenant {}",
                task.tenant, t.id
            )));
        }
        let key = (task.run_id.clone(), task.dry_run);
        if !self.ctxs.contains_key(&key) {
            if !task.dry_run {
                self.engine.check_run_open(&t.id, &task.run_id).await?;
            }
            let ctx = self
                .engine
                .run_ctx(t, task.mode, &task.run_id, task.dry_run)
                .await?;
            self.ctxs.insert(key, ctx);
        }
        Ok(())
    }

    /// Runs one task whose run was prepared ([`TaskRunner::prepare`]); tasks of a tenant may
    /// run at once this way (they share the tenant's pacer, R35). As [`TaskRunner::run`]
    /// otherwise.
    pub async fn run_prepared(
        &self,
        task: &LearnerTask,
        defer: &(dyn Fn(&EngineError) -> bool + Sync),
    ) -> Result<LearnerReport> {
        let key = (task.run_id.clone(), task.dry_run);
        let ctx = self.ctxs.get(&key).ok_or_else(|| {
            EngineError::Inconsistent(format!("run context of {} vanished", task.run_id))
        })?;
        self.engine.execute(ctx, task, defer).await.0
    }
}

/// **Decision**: a task carries its learner's reviews only while they take at most this many
/// bytes of JSON (about 130 reviews); a learner with more reads its own. The scheduler sends
/// tasks to SQS in batches of ten, and a batch holds at most 256 KiB.
pub(crate) const MAX_TASK_REVIEWS_BYTES: usize = 20_000;

/// Issue 16: the periodic runs' review detection window, in weeks before and after now.
const REVIEW_WINDOW_WEEKS_BEFORE: i64 = 5;
const REVIEW_WINDOW_WEEKS_AFTER: i64 = 2;

/// Issue 16: the window of scheduled dates a periodic run reads recent reviews in (also what
/// `picsync probe` checks OneFile's date filter with).
pub fn recent_review_window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        now - chrono::Duration::weeks(REVIEW_WINDOW_WEEKS_BEFORE),
        now + chrono::Duration::weeks(REVIEW_WINDOW_WEEKS_AFTER),
    )
}

/// Issue 16: whether a review's scheduled time lies in the detection window, with a day's
/// slack either side (OneFile's date filters may be on calendar dates).
pub fn in_window(scheduled: Option<DateTime<Utc>>, window: (DateTime<Utc>, DateTime<Utc>)) -> bool {
    let slack = chrono::Duration::days(1);
    scheduled.is_some_and(|d| window.0 - slack <= d && d <= window.1 + slack)
}

/// Issue 16: whether a review of the learner in the run's read of recent reviews is new or
/// changed since the learner's last sync. Without that read, or for a learner whose reviews
/// were not recorded (`reviews_seen` is `None`), nothing is known: no change (the full sweep
/// compares it).
pub(crate) fn reviews_changed(
    recent: Option<&HashMap<OfUserId, Vec<OfReview>>>,
    user: Option<&OfLearner>,
    st: &picsync_state::LearnerState,
) -> bool {
    let (Some(recent), Some(user), Some(seen)) = (recent, user, st.reviews_seen.as_ref()) else {
        return false;
    };
    recent.get(&user.id).is_some_and(|reviews| {
        reviews
            .iter()
            .any(|r| seen.get(&r.id.to_string()) != Some(&r.digest()))
    })
}

/// Issue 16: whether a centre-wide read of a learner's reviews lacks one that its last sync
/// recorded (`reviews_seen`).
fn lacks_seen(reviews: &[OfReview], seen: &std::collections::BTreeMap<String, String>) -> bool {
    let read: HashSet<String> = reviews.iter().map(|r| r.id.to_string()).collect();
    seen.keys().any(|id| !read.contains(id))
}

/// Issue 16: why a centre-wide review read cannot be trusted for this run, if it cannot.
///
/// **Decision**: the read is refused when its pages repeated a record or were longer than asked
/// (OneFile's paging is undocumented; a page that shows one inconsistency may hide others, such
/// as a skipped record), or when it served more reviews of learners outside the centre (or of
/// none) than 10 or 1 % of those kept: a few can be legitimate (a learner created or moved since
/// the listing), many mean that OneFile ignored the `OrganisationID` filter. Either way the run
/// reads reviews per learner, as in `learner` mode; the reviews dropped by the owner guard never
/// reach a learner.
pub(crate) fn review_read_problem(
    read: &picsync_onefile::CentreReviews,
) -> std::result::Result<(), String> {
    let p = &read.paging;
    if !p.consistent() {
        return Err(format!(
            "OneFile paged the centre-wide review search inconsistently ({} records repeated across pages, {} pages longer than asked, of {} pages)",
            p.repeated, p.oversized_pages, p.pages
        ));
    }
    let outside = read.foreign + read.unowned;
    if outside > 10.max(read.reviews.len() / 100) {
        return Err(format!(
            "OneFile's centre-wide review search served {outside} reviews of learners outside the centre: its OrganisationID filter looks ignored"
        ));
    }
    Ok(())
}

/// §6: whether this run must compare every learner. A schedule that fires a little early must
/// not push the sweep a whole interval on (a daily sweep would become a two-day one).
///
/// **Decision**: the sweep is due once `full_sweep_hours` minus a tolerance have passed since
/// the last one started; the tolerance is ten minutes, at most half the interval. It covers a
/// schedule's jitter (seconds) and must stay below the periodic schedule's interval (15
/// minutes): with a larger one, the periodic run a tolerance before the nightly sweep would
/// sweep as well, and the sweep would creep earlier every day.
pub(crate) fn full_sweep_due(last: Option<DateTime<Utc>>, now: DateTime<Utc>, hours: u32) -> bool {
    let interval = chrono::Duration::hours(i64::from(hours));
    let tolerance = chrono::Duration::minutes(10).min(interval / 2);
    last.is_none_or(|last| now - last >= interval - tolerance)
}

/// §6: whether PICS provably did not change a learner since it was last seen. PICS's
/// LastModified is local UK wall-clock time, so both values are compared as instants. In the
/// autumn overlap a wall-clock time names two instants: the new value is read as late as it can
/// be and the one seen as early as it can be, so that an edit in the repeated hour reads as a
/// change (a needless comparison costs calls; a skipped edit waits for the next full sweep).
pub(crate) fn pics_unchanged(now: Option<NaiveDateTime>, seen: Option<NaiveDateTime>) -> bool {
    match (now, seen) {
        // the very value seen is no change, even inside the repeated autumn hour
        (Some(now), Some(seen)) if now == seen => true,
        (Some(now), Some(seen)) => {
            let (_, now_latest) = picsync_domain::time::london_to_utc_bounds(now);
            let (seen_earliest, _) = picsync_domain::time::london_to_utc_bounds(seen);
            now_latest <= seen_earliest
        }
        _ => false,
    }
}

#[cfg(test)]
mod sweep_tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    #[test]
    fn i16_a_centre_wide_read_is_refused_on_inconsistent_pages_or_many_foreign_reviews() {
        let read = |kept: usize, foreign: usize, repeated: usize, oversized: u32| {
            picsync_onefile::CentreReviews {
                reviews: vec![picsync_onefile::Review::default(); kept],
                served: kept + foreign,
                foreign,
                unowned: 0,
                paging: picsync_onefile::PagingCheck {
                    pages: 3,
                    repeated,
                    oversized_pages: oversized,
                },
            }
        };
        assert!(review_read_problem(&read(250, 0, 0, 0)).is_ok());
        // a few reviews of learners outside the listing are dropped, the read is used
        assert!(review_read_problem(&read(250, 10, 0, 0)).is_ok());
        assert!(review_read_problem(&read(5000, 50, 0, 0)).is_ok());
        // many: the filter is ignored
        let e = review_read_problem(&read(250, 11, 0, 0)).unwrap_err();
        assert!(e.contains("OrganisationID"), "{e}");
        assert!(review_read_problem(&read(5000, 51, 0, 0)).is_err());
        // the pages repeat a record, or are longer than asked
        let e = review_read_problem(&read(250, 0, 1, 0)).unwrap_err();
        assert!(e.contains("inconsistently"), "{e}");
        assert!(review_read_problem(&read(250, 0, 0, 1)).is_err());
    }

    #[test]
    fn i16_a_read_lacking_a_review_the_last_sync_saw_and_the_detection_window() {
        let review = |id: i64| OfReview {
            id: picsync_domain::OfReviewId(id),
            assessor: None,
            scheduled_for: None,
            started_on: None,
        };
        let seen = |ids: &[i64]| -> std::collections::BTreeMap<String, String> {
            ids.iter()
                .map(|i| (i.to_string(), "d".to_string()))
                .collect()
        };
        assert!(!lacks_seen(&[review(1), review(2)], &seen(&[1, 2])));
        // a review new in OneFile is not a lack; one the last sync saw and the read has not is
        assert!(!lacks_seen(&[review(1), review(2)], &seen(&[1])));
        assert!(lacks_seen(&[review(1)], &seen(&[1, 2])));
        // a learner absent from the read (no reviews served) that had reviews
        assert!(lacks_seen(&[], &seen(&[7])));
        assert!(!lacks_seen(&[], &seen(&[])));

        let now = Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap();
        let w = (
            now - chrono::Duration::weeks(5),
            now + chrono::Duration::weeks(2),
        );
        assert!(in_window(Some(now), w));
        assert!(in_window(Some(w.0 - chrono::Duration::hours(23)), w));
        assert!(!in_window(Some(w.0 - chrono::Duration::days(2)), w));
        assert!(!in_window(Some(w.1 + chrono::Duration::days(2)), w));
        assert!(!in_window(None, w));
    }

    #[test]
    fn i16_task_messages_without_reviews_still_parse_and_reviews_round_trip() {
        let old = r#"{"tenant":"acme","run_id":"r1","learner":"lrn-1","mode":"periodic"}"#;
        let t = crate::parse_task(old).unwrap();
        assert_eq!(t.reviews, None);
        assert!(!serde_json::to_string(&t).unwrap().contains("reviews"));
        let with = LearnerTask {
            reviews: Some(vec![OfReview {
                id: OfReviewId(7),
                assessor: Some(OfUserId(3)),
                scheduled_for: Some(Utc::now()),
                started_on: None,
            }]),
            ..t
        };
        let back = crate::parse_task(&serde_json::to_string(&with).unwrap()).unwrap();
        assert_eq!(back, with);
        // ten tasks carrying as many reviews as allowed fit in one SQS batch (256 KiB)
        let review = with.reviews.as_ref().unwrap()[0].clone();
        let mut full = with.clone();
        full.onefile_user = Some(OfLearner {
            id: OfUserId(123_456_789),
            mis_id: Some("L0000000001".into()),
            demographics: Default::default(),
            last_modified: Some(Utc::now()),
        });
        let mut reviews = Vec::new();
        while serde_json::to_vec(&reviews).unwrap().len() <= MAX_TASK_REVIEWS_BYTES {
            reviews.push(review.clone());
        }
        reviews.pop();
        full.reviews = Some(reviews);
        let body = serde_json::to_string(&full).unwrap();
        assert!(10 * body.len() < 256 * 1024, "{}", body.len());
    }

    #[test]
    fn s6_full_sweep_tolerates_an_early_schedule() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap();
        let h = chrono::Duration::hours;
        let m = chrono::Duration::minutes;
        let s = chrono::Duration::seconds;
        assert!(full_sweep_due(None, t, 24));
        // a daily schedule that fires a second (or a few minutes) early still sweeps
        assert!(full_sweep_due(Some(t), t + h(24) - s(1), 24));
        assert!(full_sweep_due(Some(t), t + h(24) - m(10), 24));
        // issue 16: the 15-minute periodic run before the nightly sweep does not sweep
        assert!(!full_sweep_due(Some(t), t + h(24) - m(15), 24));
        assert!(!full_sweep_due(Some(t), t + h(24) - m(10) - s(1), 24));
        // the tolerance is at most half the interval
        assert!(!full_sweep_due(Some(t), t + m(29), 1));
        assert!(full_sweep_due(Some(t), t + m(50), 1));
        assert!(!full_sweep_due(Some(t), t + m(49), 1));
    }

    #[test]
    fn s6_a_sweep_on_the_15_minute_schedule_stays_at_its_time_of_day() {
        // issue 16: periodic runs every 15 minutes, each starting a few seconds after its
        // tick; whichever run sweeps, the sweep must not creep earlier day by day
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap();
        let mut last = t0 + chrono::Duration::seconds(4);
        let mut sweeps = Vec::new();
        for tick in 1..(96 * 10) {
            let now = t0 + chrono::Duration::minutes(15 * tick) + chrono::Duration::seconds(3);
            if full_sweep_due(Some(last), now, 24) {
                sweeps.push(now);
                last = now;
            }
        }
        assert_eq!(sweeps.len(), 9, "one sweep a day: {sweeps:?}");
        for s in sweeps {
            assert_eq!(s.time().format("%H:%M").to_string(), "02:00", "{s}");
        }
    }

    #[test]
    fn s6_pics_last_modified_across_the_autumn_overlap() {
        let at = |h, m| {
            NaiveDate::from_ymd_opt(2026, 10, 25)
                .and_then(|d| d.and_hms_opt(h, m, 0))
                .unwrap()
        };
        // seen at 01:50 (BST), edited at 01:10 in the repeated (GMT) hour: a change
        assert!(!pics_unchanged(Some(at(1, 10)), Some(at(1, 50))));
        // the very value seen, inside the overlap: unchanged (skipped, not compared every run)
        assert!(pics_unchanged(Some(at(1, 20)), Some(at(1, 20))));
        // outside the overlap, plain wall-clock order
        assert!(pics_unchanged(Some(at(2, 30)), Some(at(3, 0))));
        assert!(pics_unchanged(Some(at(3, 0)), Some(at(3, 0))));
        assert!(!pics_unchanged(Some(at(3, 1)), Some(at(3, 0))));
        // nothing to compare: not provably unchanged
        assert!(!pics_unchanged(None, Some(at(3, 0))));
        assert!(!pics_unchanged(Some(at(3, 0)), None));
    }
}
