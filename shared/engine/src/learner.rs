//! One learner: read both sides, plan, apply, record (§5, §7, R41).

use std::collections::{BTreeSet, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;

use futures::FutureExt;

use picsync_domain::plan::{Context, in_scope};
use picsync_domain::*;
use picsync_onefile::ReviewSearch;
use picsync_state::{LearnerState, State};
use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::{Engine, Tenant, mapping};

/// What one run shares between its learners: the tenant, the centre and catalogue, and caches of
/// records many learners refer to (officers, organisations, assessors).
pub(crate) struct RunCtx<'a> {
    pub tenant: &'a Tenant,
    pub centre: OfCentreId,
    pub catalogue: Catalogue,
    pub mode: Mode,
    pub run_id: String,
    pub dry_run: bool,
    pub officers: Mutex<HashMap<OfficerId, PicsOfficer>>,
    pub organisations: Mutex<HashMap<OrganisationId, PicsOrganisation>>,
    pub assessors: Mutex<HashMap<OfUserId, OfUser>>,
}

impl<'a> RunCtx<'a> {
    pub(crate) fn new(
        tenant: &'a Tenant,
        centre: OfCentreId,
        catalogue: Catalogue,
        mode: Mode,
        run_id: String,
        dry_run: bool,
    ) -> Self {
        Self {
            tenant,
            centre,
            catalogue,
            mode,
            run_id,
            dry_run,
            officers: Mutex::default(),
            organisations: Mutex::default(),
            assessors: Mutex::default(),
        }
    }

    pub(crate) fn forget_officer(&self, id: &OfficerId) {
        if let Ok(mut m) = self.officers.lock() {
            m.remove(id);
        }
    }

    pub(crate) fn forget_organisation(&self, id: &OrganisationId) {
        if let Ok(mut m) = self.organisations.lock() {
            m.remove(id);
        }
    }

    pub(crate) fn forget_assessor(&self, id: OfUserId) {
        if let Ok(mut m) = self.assessors.lock() {
            m.remove(&id);
        }
    }
}

/// What happened to one learner.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LearnerReport {
    pub learner: LearnerId,
    pub ident: String,
    /// Why the learner was left alone (R3), when it was.
    pub out_of_scope: Option<String>,
    /// The plans made, one per pass (a pass follows a PICS 412 or a new learning aim).
    pub plans: Vec<Plan>,
    /// Changes written (0 in a dry run).
    pub written: usize,
    pub passes: u32,
}

impl LearnerReport {
    /// Changes planned over every pass, to PICS and to OneFile (written, but in a dry run).
    pub fn changes(&self) -> (u64, u64) {
        self.plans.iter().fold((0, 0), |(p, o), plan| {
            (p + plan.pics.len() as u64, o + plan.onefile.len() as u64)
        })
    }

    /// Changes per rule over every pass.
    pub fn rule_counts(&self) -> std::collections::BTreeMap<String, u64> {
        let mut m = std::collections::BTreeMap::new();
        for p in &self.plans {
            for (r, n) in p.counts() {
                *m.entry(r.to_string()).or_insert(0) += n as u64;
            }
        }
        m
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned cache only means another task panicked mid-insert; the data is still a cache.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A record many learners refer to, from the run's cache, else fetched once and kept (`None`:
/// the record does not exist, and that is not kept).
async fn cached<K, V, Fut>(
    cache: &Mutex<HashMap<K, V>>,
    key: K,
    fetch: impl FnOnce() -> Fut,
) -> Result<Option<V>>
where
    K: Eq + std::hash::Hash,
    V: Clone,
    Fut: std::future::Future<Output = Result<Option<V>>>,
{
    if let Some(v) = lock(cache).get(&key) {
        return Ok(Some(v.clone()));
    }
    let v = fetch().await?;
    if let Some(v) = &v {
        lock(cache).insert(key, v.clone());
    }
    Ok(v)
}

impl<S: State> Engine<S> {
    async fn officer(&self, ctx: &RunCtx<'_>, id: &OfficerId) -> Result<Option<PicsOfficer>> {
        cached(&ctx.officers, id.clone(), || async {
            match ctx.tenant.pics.get_officer(id).await {
                Ok(o) => Ok(Some(mapping::pics_officer(&o))),
                Err(picsync_pics::PicsError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    pub(crate) async fn officers_of(
        &self,
        ctx: &RunCtx<'_>,
        l: &PicsLearner,
    ) -> Result<Vec<PicsOfficer>> {
        let mut ids: BTreeSet<OfficerId> = BTreeSet::new();
        ids.extend(l.main_officer.iter().cloned());
        ids.extend(l.officers.iter().map(|o| o.officer.clone()));
        ids.extend(l.qualifications.iter().filter_map(|q| q.assessor.clone()));
        ids.extend(l.reviews.iter().filter_map(|r| r.reviewer.clone()));
        let mut out = Vec::new();
        for id in ids {
            if let Some(o) = self.officer(ctx, &id).await? {
                out.push(o);
            }
        }
        Ok(out)
    }

    pub(crate) async fn organisation(
        &self,
        ctx: &RunCtx<'_>,
        id: &OrganisationId,
    ) -> Result<Option<PicsOrganisation>> {
        cached(&ctx.organisations, id.clone(), || async {
            match ctx.tenant.pics.get_organisation(id).await {
                Ok(o) => Ok(Some(mapping::pics_organisation(&o))),
                Err(picsync_pics::PicsError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn assessor(&self, ctx: &RunCtx<'_>, id: OfUserId) -> Result<Option<OfUser>> {
        cached(&ctx.assessors, id, || async {
            match ctx.tenant.onefile.get_user(id).await {
                Ok(u) => Ok(Some(mapping::of_user(&u))),
                Err(picsync_onefile::OneFileError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// Reads everything the planner compares for one learner. `user` is the OneFile learner
    /// from the run's listing, when there is one (saves a call per learner).
    pub(crate) async fn read_view(
        &self,
        ctx: &RunCtx<'_>,
        pics: PicsLearner,
        user: Option<OfLearner>,
    ) -> Result<LearnerView> {
        Ok(self.read_view_with(ctx, pics, user, None).await?.0)
    }

    /// One learner's OneFile reviews, read for that learner alone (one search).
    pub(crate) async fn learner_reviews(
        &self,
        ctx: &RunCtx<'_>,
        ofid: OfUserId,
    ) -> Result<Vec<OfReview>> {
        Ok(ctx
            .tenant
            .onefile
            .search_reviews(&ReviewSearch::for_learner(ofid))
            .await?
            .iter()
            .map(mapping::of_review)
            .collect())
    }

    /// As [`Engine::read_view`], with `reviews`: the reviews of `user` from the run's
    /// centre-wide read (issue 16), used instead of a search when `user` is the learner the
    /// PICS learner is linked to now. Returns whether the view's reviews came from that read.
    pub(crate) async fn read_view_with(
        &self,
        ctx: &RunCtx<'_>,
        pics: PicsLearner,
        user: Option<OfLearner>,
        reviews: Option<Vec<OfReview>>,
    ) -> Result<(LearnerView, bool)> {
        let s = &ctx.tenant.settings;
        let of = &ctx.tenant.onefile;
        let Some(ofid) = pics.onefile_id else {
            return Err(EngineError::Inconsistent(format!(
                "learner {} is not linked to OneFile",
                pics.ident
            )));
        };
        // the run's read grouped reviews by the listing's learner: only for that learner
        let snapshot = reviews.filter(|_| user.as_ref().is_some_and(|u| u.id == ofid));
        // The listing's record carries the id and LastModified; the demographics of R32 need
        // the full record.
        let learner = match user
            .filter(|u| u.id == ofid && s.learner_demographics == settings::Direction::Ignore)
        {
            Some(u) => u,
            None => match of.get_user(ofid).await {
                Ok(u) => mapping::of_learner(&u),
                Err(picsync_onefile::OneFileError::NotFound { .. }) => {
                    return Err(onefile_learner_gone(&pics, ofid));
                }
                Err(e) => return Err(e.into()),
            },
        };
        let aims = of.learning_aims(ofid).await?;
        let from_snapshot = snapshot.is_some() && (s.download_reviews || s.upload_reviews);
        let reviews = if !(s.download_reviews || s.upload_reviews) {
            Vec::new()
        } else if let Some(r) = snapshot {
            r
        } else {
            self.learner_reviews(ctx, ofid).await?
        };
        let officers = self.officers_of(ctx, &pics).await?;
        let mut assessors = Vec::new();
        if s.officer_demographics != settings::Direction::Ignore {
            for o in &officers {
                if let Some(id) = o.linked()
                    && let Some(a) = self.assessor(ctx, id).await?
                {
                    assessors.push(a);
                }
            }
        }
        let (mut employer, mut placement) = (None, None);
        if s.organisation_demographics != settings::Direction::Ignore
            && let Some(org_id) = pics.employer().cloned()
        {
            employer = self.organisation(ctx, &org_id).await?;
            if let Some(pid) = employer.as_ref().and_then(PicsOrganisation::linked) {
                match of.get_placement(pid).await {
                    Ok(p) => placement = Some(mapping::of_placement(&p)),
                    Err(picsync_onefile::OneFileError::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        // §7/B6: the reviews this learner's completed review intents uploaded
        let prefix = format!("review:{}:", pics.id);
        let uploaded = self
            .state
            .list_intents_with_prefix(&ctx.tenant.id, &prefix)
            .await?
            .into_iter()
            .filter_map(|i| {
                let id = i.created_id?;
                let review = i.key.strip_prefix(&prefix)?;
                // the intent store keeps the created id as an integer
                Some((ReviewId::from(review), OfReviewId::from_raw(id)))
            })
            .collect();
        let view = LearnerView {
            uploaded,
            onefile: OneFileSide {
                learner,
                aims: aims
                    .iter()
                    .map(|a| mapping::of_aim(a, &ctx.catalogue))
                    .collect(),
                reviews,
            },
            pics,
            officers,
            assessors,
            employer,
            placement,
        };
        Ok((view, from_snapshot))
    }

    /// Synchronises one learner (or plans it, in a dry run). Failures are recorded on the
    /// learner's state, so that the next run retries it.
    /// `reviews`: the learner's reviews from the run's centre-wide read, when it made one
    /// (issue 16).
    pub(crate) async fn sync_learner(
        &self,
        ctx: &RunCtx<'_>,
        learner: &LearnerId,
        user: Option<OfLearner>,
        reviews: Option<Vec<OfReview>>,
    ) -> Result<LearnerReport> {
        let mut unsaved = None;
        // §7: a bug in one learner fails that learner, not the batch (the release profile
        // unwinds, so that a panic can be caught here).
        let result = AssertUnwindSafe(self.sync_learner_inner(
            ctx,
            learner,
            user,
            reviews,
            &mut unsaved,
        ))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(std::string::ToString::to_string)
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                tracing::error!(event = "panic", learner = %learner, %message, "the sync of one learner panicked");
                Err(EngineError::Panicked {
                    learner: learner.to_string(),
                    message,
                })
            });
        if !ctx.dry_run
            && let Err(e) = &result
            && let Err(lost) = self
                .record_learner_failure_with(&ctx.tenant.id, learner, e, unsaved.as_ref())
                .await
        {
            // The learner's own error is the one to report; the run record lists it either way.
            tracing::error!(learner = %learner, error = %lost, "the learner's failure could not be recorded in state");
        }
        result
    }

    /// Counts a failed attempt on the learner's state, so that the next run retries it (§6).
    pub(crate) async fn record_learner_failure(
        &self,
        tenant: &TenantId,
        learner: &LearnerId,
        e: &EngineError,
    ) -> Result<()> {
        self.record_learner_failure_with(tenant, learner, e, None)
            .await
    }

    /// Counts a failed attempt. `unsaved`: the state a sync could not save after its writes had
    /// landed; its baseline and cursors are kept, so that the next run compares both sides with
    /// what they now agree on (R40) instead of with the values from before those writes. A lost
    /// race is re-read and applied again (bounded); any other state failure is returned.
    async fn record_learner_failure_with(
        &self,
        tenant: &TenantId,
        learner: &LearnerId,
        e: &EngineError,
        unsaved: Option<&LearnerState>,
    ) -> Result<()> {
        self.update_learner_state(tenant, learner, |st| {
            if let Some(u) = unsaved {
                st.baseline = u.baseline.clone();
                st.pics_seen = u.pics_seen;
                st.onefile_seen = u.onefile_seen;
            }
            st.failures = st.failures.saturating_add(1);
            st.last_error = Some(e.to_string());
            // D2: trying again cannot fix it; `picsync status` lists it until a sync succeeds.
            // An operator's switch (R1) or a closed run is nothing to attend to in the learner.
            st.needs_attention = !e.is_retryable()
                && !matches!(e, EngineError::NotEnabled(_) | EngineError::RunClosed(_));
        })
        .await
    }

    /// Reads the learner's state (a new one if it has none), changes it with `change` and
    /// writes it back. A lost race (another routine wrote the state meanwhile) reads again and
    /// applies `change` again, at most `max_replans` times; any other failure is returned.
    async fn update_learner_state(
        &self,
        tenant: &TenantId,
        learner: &LearnerId,
        mut change: impl FnMut(&mut LearnerState),
    ) -> Result<()> {
        let mut attempts = 0;
        loop {
            let mut st = self
                .state
                .get_learner_state(tenant, learner)
                .await?
                .unwrap_or_else(|| LearnerState {
                    learner: learner.clone(),
                    ..Default::default()
                });
            change(&mut st);
            match self.state.put_learner_state(tenant, &st).await {
                Ok(_) => return Ok(()),
                Err(picsync_state::StateError::Conflict(_)) if attempts < self.max_replans => {
                    attempts += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Saves the state of a successful sync. A duplicate delivery that synced the same learner
    /// meanwhile (a lost race) is not an error: both results are equally valid, and ours is
    /// written on top of its version (bounded). Any other failure is returned.
    async fn save_learner_state(
        &self,
        tenant: &TenantId,
        learner: &LearnerId,
        st: &mut LearnerState,
    ) -> std::result::Result<(), picsync_state::StateError> {
        let mut attempts = 0;
        loop {
            match self.state.put_learner_state(tenant, st).await {
                Ok(v) => {
                    st.version = v;
                    return Ok(());
                }
                Err(picsync_state::StateError::Conflict(_)) if attempts < self.max_replans => {
                    attempts += 1;
                    st.version = self
                        .state
                        .get_learner_state(tenant, learner)
                        .await?
                        .map_or(0, |now| now.version);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// R37: records that picsync enrolled or linked the learner today; only qualifications
    /// starting after this day are assigned by the sync. The OneFile learner is recorded too
    /// when the state names none yet (D1: a re-link before the first sync is then seen); a
    /// state recorded against another OneFile learner keeps it, so that the next sync sees
    /// the re-link and reconciles afresh.
    pub(crate) async fn record_linked_on(
        &self,
        tenant: &TenantId,
        learner: &LearnerId,
        onefile: OfUserId,
    ) -> Result<()> {
        let today = self.today();
        self.update_learner_state(tenant, learner, |st| {
            st.linked_on = Some(today);
            st.onefile_id.get_or_insert(onefile);
        })
        .await
    }

    async fn sync_learner_inner(
        &self,
        ctx: &RunCtx<'_>,
        learner: &LearnerId,
        mut user: Option<OfLearner>,
        mut reviews: Option<Vec<OfReview>>,
        unsaved: &mut Option<LearnerState>,
    ) -> Result<LearnerReport> {
        let tenant = &ctx.tenant.id;
        let stored = self.state.get_learner_state(tenant, learner).await?;
        let mut st = stored.clone().unwrap_or_else(|| LearnerState {
            learner: learner.clone(),
            ..Default::default()
        });
        let mut report = LearnerReport {
            learner: learner.clone(),
            ..Default::default()
        };
        let mut seen: Option<(
            Option<chrono::NaiveDateTime>,
            Option<chrono::DateTime<chrono::Utc>>,
        )> = None;
        let mut last: Option<(LearnerView, Plan)> = None;
        let mut conflicts = 0;
        let (mut wrote_pics, mut wrote_onefile, mut final_rv) = (false, false, None);
        // D1: re-linked to another OneFile learner: reconciled afresh, as in an initial run
        let mut relinked = false;
        // R41: the loop ends settled only when a plan was applied (or was empty) and needs no
        // further pass; running out of passes is not a success.
        let mut settled = false;
        // Pass 1 plans from the first read; a PICS 412 (R41) or a new learning aim (R37) needs a
        // fresh read and plan; bounded.
        while report.passes < self.max_replans + 2 {
            report.passes += 1;
            let pics = mapping::pics_learner(&ctx.tenant.pics.get_learner(learner).await?);
            report.ident = pics.ident.clone();
            if let Err(reason) = in_scope(&pics, self.today()) {
                report.out_of_scope = Some(reason);
                return Ok(report);
            }
            if report.passes == 1 {
                relinked = forget_former_onefile_learner(&mut st, &pics);
            }
            // the run's centre-wide read serves the first pass only, and never a re-linked
            // learner (D1 moves review links before planning)
            let snapshot = reviews.take().filter(|_| !relinked);
            let (mut view, from_snapshot) = self
                .read_view_with(ctx, pics, user.take(), snapshot)
                .await?;
            let relink = relinked.then(|| picsync_domain::relink::relink(&mut view));
            let mode = if relinked { Mode::Initial } else { ctx.mode };
            if seen.is_none() {
                seen = Some((view.pics.last_modified, view.onefile.learner.last_modified));
            }
            let context = Context {
                settings: &ctx.tenant.settings,
                catalogue: &ctx.catalogue,
                centre: Some(ctx.centre),
                baseline: &st.baseline,
                mode,
                today: self.today(),
                linked_on: st.linked_on.unwrap_or(self.today()),
            };
            let mut plan = plan(&view, &context);
            // Issue 16, no lost edits: the centre-wide read was made at the run's start and
            // may be minutes old. **Decision**: it only decides whether the learner's reviews
            // need anything; a plan that would write a review to OneFile or bring one into
            // PICS is made again from the learner's reviews read afresh (one search), so that
            // nothing is written from a stale copy. An empty plan (the common case) costs no
            // review call; an edit made after the run's read is then seen by the next run
            // that reads it, as with any edit made after a learner's read.
            if from_snapshot && touches_reviews(&plan) {
                if let Some(ofid) = view.pics.onefile_id {
                    tracing::debug!(learner = %learner, "review changes planned from the run's centre-wide read: re-reading the learner's reviews");
                    view.onefile.reviews = self.learner_reviews(ctx, ofid).await?;
                    plan = picsync_domain::plan(&view, &context);
                }
            }
            if let Some(r) = relink {
                r.add_to(&mut plan);
            }
            let empty = plan.is_empty();
            let assigns = plan
                .onefile
                .iter()
                .any(|o| matches!(o, OneFileOp::AssignStandard { .. }));
            report.plans.push(plan.clone());
            if ctx.dry_run && assigns {
                // R38: what the real run's second pass would do once the new learning aims exist
                // (values OneFile gives a new aim itself cannot be foreseen).
                let mut projected = view.clone();
                if apply::apply(&plan, &mut projected).is_ok() {
                    let again = picsync_domain::plan(
                        &projected,
                        &Context {
                            settings: &ctx.tenant.settings,
                            catalogue: &ctx.catalogue,
                            centre: Some(ctx.centre),
                            baseline: &st.baseline,
                            mode,
                            today: self.today(),
                            linked_on: st.linked_on.unwrap_or(self.today()),
                        },
                    );
                    if !again.is_empty() {
                        report.plans.push(again);
                    }
                }
            }
            if ctx.dry_run || empty {
                last = Some((view, plan));
                settled = true;
                break;
            }
            match self.apply_plan(ctx, &view, &plan).await {
                Ok((n, rv)) => {
                    report.written += n;
                    wrote_pics |=
                        !plan.pics.is_empty() || plan.onefile.iter().any(OneFileOp::creates);
                    wrote_onefile |= !plan.onefile.is_empty();
                    final_rv = Some(rv);
                    last = Some((view, plan));
                    if !assigns {
                        settled = true;
                        break;
                    }
                }
                Err(EngineError::Pics(e)) if e.is_conflict() => {
                    conflicts += 1;
                    tracing::info!(learner = %learner, conflicts, "PICS changed since read (412); re-reading (R41)");
                    // the part already applied is recorded; what is left is planned again
                    if conflicts > self.max_replans {
                        return Err(EngineError::StillChanging(report.ident.clone()));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if ctx.dry_run {
            return Ok(report);
        }
        if !settled {
            // **Decision** (R41): the passes ran out with the last plan unapplied (it met a 412) or
            // still needing a re-read: a retryable failure, and the learner's cursors and baseline
            // stay where they were, so the next run compares it in full again.
            tracing::info!(learner = %learner, passes = report.passes, "no settled pass within the limit (R41)");
            return Err(EngineError::StillChanging(report.ident.clone()));
        }
        let onefile_learner = last.as_ref().map(|(v, _)| v.onefile.learner.id);
        // issue 16: the reviews as read, for a periodic run to see one changed in OneFile
        let reviews_seen = last
            .as_ref()
            .filter(|_| ctx.tenant.settings.download_reviews || ctx.tenant.settings.upload_reviews)
            .map(|(v, _)| {
                v.onefile
                    .reviews
                    .iter()
                    .map(|r| (r.id.to_string(), r.digest()))
                    .collect()
            });
        // The new baseline is what both sides agree on once the last plan is applied (R40).
        if let Some((mut view, plan)) = last {
            if apply::apply(&plan, &mut view).is_ok() {
                st.baseline = st.baseline.next(&view);
            }
        }
        if let Some((p, o)) = seen {
            st.pics_seen = p;
            st.onefile_seen = o;
        }
        // R40 for cursors: the sync's own writes move each side's LastModified; record the moved
        // values so that the next run does not take them for a user's change.
        if wrote_pics && let Some(rv) = final_rv {
            let fresh = ctx.tenant.pics.get_learner(learner).await?;
            // only when nobody wrote after us: otherwise their change must be seen next run
            if fresh.row_version == rv {
                st.pics_seen = fresh.last_modified;
            }
        }
        if wrote_onefile && let Some(id) = onefile_learner {
            // **Decision**: OneFile has no version to compare; a OneFile edit landing in the
            // moment between our write and this read is caught by the next full comparison (§6).
            st.onefile_seen = ctx.tenant.onefile.get_user(id).await?.last_modified;
        }
        st.last_success = Some(self.now());
        // R37: a learner linked before picsync counts as linked on its first sync.
        st.linked_on.get_or_insert(self.today());
        st.failures = 0;
        st.last_error = None;
        // D1: what the baseline and cursors are about; D2: attention no longer needed
        st.onefile_id = onefile_learner.or(st.onefile_id);
        st.needs_attention = false;
        st.reviews_seen = reviews_seen;
        if let Err(e) = self.save_learner_state(tenant, learner, &mut st).await {
            // The writes landed but the state that knows about them did not: the learner fails
            // (so that it is retried and not skipped, §6), and its failure record carries the new
            // baseline and cursors (R40).
            *unsaved = Some(st);
            return Err(e.into());
        }
        Ok(report)
    }
}

/// Whether a plan writes a review on either side (issue 16: such a plan is made again from a
/// fresh read of the learner's reviews when it was made from the run's centre-wide read).
fn touches_reviews(plan: &Plan) -> bool {
    plan.pics
        .iter()
        .any(|op| matches!(op, PicsOp::SetReview { .. } | PicsOp::CreateReview { .. }))
        || plan
            .onefile
            .iter()
            .any(|op| matches!(op, OneFileOp::UploadReview(_)))
}

/// D2: the PICS learner is linked to a OneFile learner that OneFile no longer holds. Permanent
/// (trying again cannot bring it back): says what to do.
fn onefile_learner_gone(pics: &PicsLearner, ofid: OfUserId) -> EngineError {
    EngineError::Inconsistent(format!(
        "learner {} is linked to OneFile learner {ofid}, which OneFile no longer holds (deleted?): \
         link the PICS learner to its OneFile learner (clear its OneFile ID in PICS, then \
         `picsync link --learner {} --onefile-id <ID>`), or clear its OneFile ID and enrol it again \
         (`picsync enrol --learner {}`)",
        pics.ident, pics.id, pics.id
    ))
}

/// D1 (**Decision**): a PICS learner now linked to another OneFile learner than the one its state
/// was recorded against. Its baseline and cursors, which were the former OneFile learner's, are
/// dropped, and the learner is reconciled afresh as in an initial run (R29, R30), after its
/// reviews' and qualifications' links to the former learner's records are moved to the new
/// learner's matching ones (`relink`), so that none of the new learner's reviews is downloaded
/// as a duplicate of a linked one. Returns whether it was re-linked.
fn forget_former_onefile_learner(st: &mut LearnerState, pics: &PicsLearner) -> bool {
    match (st.onefile_id, pics.onefile_id) {
        (Some(former), Some(now)) if former != now => {
            tracing::info!(
                learner = %pics.id, former = %former, now = %now,
                "re-linked to another OneFile learner: reconciled afresh"
            );
            st.baseline = Baseline::default();
            st.pics_seen = None;
            st.onefile_seen = None;
            st.reviews_seen = None;
            true
        }
        _ => false,
    }
}
