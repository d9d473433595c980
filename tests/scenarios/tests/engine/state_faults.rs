//! What the sync does when its own state cannot keep up: a state write that fails (R40), a
//! re-plan loop that ends on a 412 (R41), stale "done" intents (§7), the crash window between a
//! review upload and its PICS write-back (R19/R21), tenant records written by two routines at
//! once, and the R43 initial run after a disable and a re-enable.

use crate::common::*;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use picsync_domain::{LearnerId, Mode, TenantId};
use picsync_engine::EnrolRequest;
use picsync_engine::{Engine, EngineError, NoProgress, RunOptions};
use picsync_state::embedded::EmbeddedState;
use picsync_state::*;

/// A state backend that fails chosen writes, delegating everything else to an embedded one.
#[derive(Default)]
struct Flaky {
    inner: Option<EmbeddedState>,
    /// `put_learner_state` of this learner fails this many more times.
    fail_learner_put: Mutex<Option<(LearnerId, u32)>>,
    learner_puts_failed: AtomicU32,
    /// Another routine's write of the tenant record, landing just before our next one.
    tenant_race: Mutex<Option<TenantEdit>>,
}

type TenantEdit = Box<dyn FnOnce(&mut TenantState) + Send>;

impl Flaky {
    fn new(inner: EmbeddedState) -> Self {
        Self {
            inner: Some(inner),
            ..Default::default()
        }
    }
    fn s(&self) -> &EmbeddedState {
        self.inner.as_ref().expect("inner state")
    }
    fn fail_learner_puts(&self, l: &str, times: u32) {
        *self.fail_learner_put.lock().unwrap() = Some((LearnerId::new(l), times));
    }
}

impl TenantStore for Flaky {
    async fn get_tenant(&self, t: &TenantId) -> Result<Option<TenantState>> {
        self.s().get_tenant(t).await
    }
    async fn put_tenant(&self, s: &TenantState) -> Result<()> {
        let race = self.tenant_race.lock().unwrap().take();
        if let Some(edit) = race {
            let mut other = self.s().get_tenant(&s.tenant).await?.unwrap_or_default();
            other.tenant = s.tenant.clone();
            edit(&mut other);
            self.s().put_tenant(&other).await?;
        }
        self.s().put_tenant(s).await
    }
    async fn get_settings(&self, t: &TenantId) -> Result<Option<picsync_domain::Settings>> {
        self.s().get_settings(t).await
    }
    async fn put_settings(&self, t: &TenantId, s: &picsync_domain::Settings) -> Result<()> {
        self.s().put_settings(t, s).await
    }
}
impl LeaseStore for Flaky {
    async fn acquire_lease(
        &self,
        t: &TenantId,
        h: &str,
        r: &str,
        now: chrono::DateTime<chrono::Utc>,
        ttl: chrono::Duration,
    ) -> Result<LeaseOutcome> {
        self.s().acquire_lease(t, h, r, now, ttl).await
    }
    async fn renew_lease(
        &self,
        t: &TenantId,
        h: &str,
        now: chrono::DateTime<chrono::Utc>,
        ttl: chrono::Duration,
    ) -> Result<bool> {
        self.s().renew_lease(t, h, now, ttl).await
    }
    async fn release_lease(&self, t: &TenantId, h: &str) -> Result<()> {
        self.s().release_lease(t, h).await
    }
    async fn get_lease(&self, t: &TenantId) -> Result<Option<picsync_state::Lease>> {
        self.s().get_lease(t).await
    }
}
impl RunStore for Flaky {
    async fn put_run(&self, r: &RunRecord) -> Result<()> {
        self.s().put_run(r).await
    }
    async fn get_run(&self, t: &TenantId, id: &str) -> Result<Option<RunRecord>> {
        self.s().get_run(t, id).await
    }
    async fn list_runs(&self, t: &TenantId, n: usize) -> Result<Vec<RunRecord>> {
        self.s().list_runs(t, n).await
    }
    async fn abandon_run(
        &self,
        t: &TenantId,
        id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<RunRecord>> {
        self.s().abandon_run(t, id, now).await
    }
    async fn add_outcome(
        &self,
        t: &TenantId,
        id: &str,
        o: &LearnerOutcome,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<RunRecord> {
        self.s().add_outcome(t, id, o, now).await
    }
}
impl LearnerStore for Flaky {
    async fn get_learner_state(&self, t: &TenantId, l: &LearnerId) -> Result<Option<LearnerState>> {
        self.s().get_learner_state(t, l).await
    }
    async fn put_learner_state(&self, t: &TenantId, s: &LearnerState) -> Result<u64> {
        {
            let mut slot = self.fail_learner_put.lock().unwrap();
            if let Some((l, n)) = slot.as_mut()
                && *l == s.learner
                && *n > 0
            {
                *n -= 1;
                self.learner_puts_failed.fetch_add(1, Ordering::SeqCst);
                return Err(StateError::Backend("the state table is unavailable".into()));
            }
        }
        self.s().put_learner_state(t, s).await
    }
    async fn list_learner_states(&self, t: &TenantId) -> Result<Vec<LearnerState>> {
        self.s().list_learner_states(t).await
    }
}
impl IntentStore for Flaky {
    async fn claim_intent(&self, t: &TenantId, claim: &IntentClaim<'_>) -> Result<Claim> {
        self.s().claim_intent(t, claim).await
    }
    async fn complete_intent(&self, t: &TenantId, k: &str, h: &str, id: i64) -> Result<()> {
        self.s().complete_intent(t, k, h, id).await
    }
    async fn retire_intent(&self, t: &TenantId, k: &str, id: i64) -> Result<bool> {
        self.s().retire_intent(t, k, id).await
    }
    async fn list_intents_with_prefix(&self, t: &TenantId, p: &str) -> Result<Vec<Intent>> {
        self.s().list_intents_with_prefix(t, p).await
    }
    async fn list_intents(&self, t: &TenantId, pending: bool) -> Result<Vec<Intent>> {
        self.s().list_intents(t, pending).await
    }
    async fn get_intent(&self, t: &TenantId, k: &str) -> Result<Option<Intent>> {
        self.s().get_intent(t, k).await
    }
}
impl AuditStore for Flaky {
    async fn append_audit(&self, e: &[AuditEntry]) -> Result<()> {
        self.s().append_audit(e).await
    }
    async fn list_audit(&self, t: &TenantId, l: &LearnerId) -> Result<Vec<AuditEntry>> {
        self.s().list_audit(t, l).await
    }
}

fn flaky_engine(day: &Day) -> (Arc<Flaky>, Engine<Flaky>) {
    let state = Arc::new(Flaky::new(EmbeddedState::in_memory().unwrap()));
    let engine = Engine::new(state.clone(), day.clock.clone());
    (state, engine)
}

fn only(l: &str) -> RunOptions {
    RunOptions {
        learners: vec![LearnerId::new(l)],
        ..Default::default()
    }
}

/// R40: a state write that fails after the sync wrote both systems must fail the learner, and
/// must not leave a stale baseline behind that makes the next run overwrite a user's PICS edit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r40_a_failed_state_write_fails_the_learner_and_a_later_pics_edit_survives() {
    let env = env(20).await;
    let (state, engine) = flaky_engine(&env.day);
    let first = engine
        .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(first.run.failed, 0, "{:?}", first.run.failures);
    let a = env.sims.info.in_scope[0].clone();
    let uid = env.sims.info.onefile_ids[&a];
    // OneFile: a registration number changes (R27 carries it to PICS) …
    let aim = env.sims.onefile.edit(|e| {
        let aim = e.store().learning_aims_of(uid)[0].id;
        e.learning_aim(aim).unwrap().registration_number = Some("CHANGED-IN-ONEFILE".into());
        aim
    });
    // … and the sync's state write at the end of that learner fails
    state.fail_learner_puts(&a, 1);
    let second = engine
        .run_tenant(&env.tenant, &only(&a), &NoProgress)
        .await
        .unwrap();
    assert_eq!(state.learner_puts_failed.load(Ordering::SeqCst), 1);
    let q = env
        .sims
        .pics
        .learner(&a)
        .unwrap()
        .qualifications
        .into_iter()
        .find(|q| q.one_file_learning_aim_id == Some(aim))
        .unwrap();
    assert_eq!(
        q.registration_number.as_deref(),
        Some("CHANGED-IN-ONEFILE"),
        "the write itself landed"
    );
    assert_eq!(
        second.run.failed, 1,
        "a lost state write fails the learner: {:?}",
        second.run
    );
    assert!(
        second.run.failures[0].retryable,
        "{:?}",
        second.run.failures
    );
    // a user then types a new value in PICS: the next run must carry it to OneFile, not revert it
    env.sims.pics.edit(|s| {
        let l = s.learner_mut(&a).unwrap();
        let q = l
            .qualifications
            .iter_mut()
            .find(|q| q.one_file_learning_aim_id == Some(aim))
            .unwrap();
        q.registration_number = Some("TYPED-IN-PICS".into());
    });
    let third = engine
        .run_tenant(&env.tenant, &only(&a), &NoProgress)
        .await
        .unwrap();
    assert_eq!(third.run.failed, 0, "{:?}", third.run.failures);
    let q = env
        .sims
        .pics
        .learner(&a)
        .unwrap()
        .qualifications
        .into_iter()
        .find(|q| q.one_file_learning_aim_id == Some(aim))
        .unwrap();
    assert_eq!(
        q.registration_number.as_deref(),
        Some("TYPED-IN-PICS"),
        "R40: the PICS edit made after the failed state write survives"
    );
    assert_eq!(
        env.sims.onefile.state().learning_aims[&aim]
            .registration_number
            .as_deref(),
        Some("TYPED-IN-PICS"),
        "and travels to OneFile"
    );
}

/// A qualification added to a learner's Delivery Plan in PICS today (R37 assigns it).
fn new_qualification(
    id: &str,
    code: &str,
    today: chrono::NaiveDate,
) -> picsync_sim::pics::SimQualification {
    let mut q = picsync_sim::pics::SimQualification::new(id, code);
    // R37: only a qualification starting after the day the learner was taken on is assigned
    q.start_date = today.succ_opt();
    q.title = Some(format!("New {code}"));
    q
}

/// Waits (bounded: 20 s) until PICS has served `n` reads of `endpoint`.
async fn wait_for_reads(pics: &picsync_sim::pics::PicsSim, endpoint: &str, n: u64) {
    for _ in 0..4000 {
        if pics.counters().get(endpoint) >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("PICS served fewer than {n} reads of {endpoint} in 20 s");
}

/// R41: when the re-plan loop runs out of passes and its last pass met a 412, the learner fails
/// retryably and its cursors and baseline stay where they were (it is compared again in full).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r41_a_replan_loop_ending_on_a_412_fails_retryably_and_moves_no_state() {
    let env = env(20).await;
    let first = env
        .engine
        .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(first.run.failed, 0, "{:?}", first.run.failures);
    // learner 0 holds ST0001 only; its review r5 is linked to a OneFile review (R22 re-applies
    // OneFile's time to it on every pass)
    let a = picsync_sim::world::learner_id(0);
    let linked_review = format!("{a}-r5");
    let before = env
        .engine
        .learner_states(&env.tenant.id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.learner.as_str() == a)
        .unwrap();
    // pass 1 assigns ST0002 (R37); pass 2 finds ST0003, added while it read (R37 again);
    // passes 3–5 each meet a user moving the linked review (412, R41)
    env.sims.pics.edit(|s| {
        s.learner_mut(&a)
            .unwrap()
            .qualifications
            .push(new_qualification(
                &format!("{a}-qn2"),
                "ST0002",
                env.day.today,
            ));
    });
    let q3 = format!("{a}-qn3");
    for _ in 0..12 {
        let (who, rid, q3) = (a.clone(), linked_review.clone(), q3.clone());
        env.sims.pics.before_next_write(&a, move |s| {
            let Some(l) = s.learner_mut(&who) else { return };
            let q3_linked = l
                .qualifications
                .iter()
                .any(|q| q.qualification_id == q3 && q.one_file_learning_aim_id.is_some());
            if q3_linked && let Some(r) = l.reviews.iter_mut().find(|r| r.review_id == rid) {
                r.proposed_date_time = r
                    .proposed_date_time
                    .map(|t| t + chrono::Duration::minutes(7));
            }
        });
    }
    let reads = "GET /learners/{id}";
    let base = env.sims.pics.counters().get(reads);
    env.sims.pics.faults().script(
        reads,
        [
            picsync_sim::faults::Fault::Delay(std::time::Duration::ZERO),
            picsync_sim::faults::Fault::Delay(std::time::Duration::from_millis(1500)),
            picsync_sim::faults::Fault::Delay(std::time::Duration::from_millis(1500)),
        ],
    );
    let watcher = {
        let pics = &env.sims.pics;
        let (who, rid, q3) = (a.clone(), linked_review.clone(), q3.clone());
        async move {
            // while pass 2 reads: a new qualification; while pass 3 reads: the review moves
            wait_for_reads(pics, reads, base + 2).await;
            pics.edit(|s| {
                s.learner_mut(&who)
                    .unwrap()
                    .qualifications
                    .push(new_qualification(&q3, "ST0003", env.day.today));
            });
            wait_for_reads(pics, reads, base + 3).await;
            pics.edit(|s| {
                let l = s.learner_mut(&who).unwrap();
                let r = l.reviews.iter_mut().find(|r| r.review_id == rid).unwrap();
                r.proposed_date_time = r.proposed_date_time.map(|t| t + chrono::Duration::hours(1));
            });
        }
    };
    let opts = only(&a);
    let (run, ()) = tokio::join!(
        env.engine.run_tenant(&env.tenant, &opts, &NoProgress),
        watcher
    );
    let run = run.unwrap();
    let l = env.sims.pics.learner(&a).unwrap();
    assert!(
        l.qualifications
            .iter()
            .filter(|q| q.qualification_id.contains("-qn"))
            .all(|q| q.one_file_learning_aim_id.is_some()),
        "the test's premise: two passes assigned a standard each"
    );
    assert_eq!(
        run.run.failed, 1,
        "R41: the loop ended on a 412 with its last plan unapplied: {:?}",
        run.run
    );
    let f = &run.run.failures[0];
    assert!(f.retryable && f.reason.contains("R41"), "{f:?}");
    let after = env
        .engine
        .learner_states(&env.tenant.id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.learner.as_str() == a)
        .unwrap();
    assert_eq!(
        (
            after.pics_seen,
            after.onefile_seen,
            &after.baseline,
            after.last_success
        ),
        (
            before.pics_seen,
            before.onefile_seen,
            &before.baseline,
            before.last_success
        ),
        "the learner's cursors and baseline did not move"
    );
    assert_eq!(after.failures, before.failures + 1);
}

/// B10/R34: a catalogue refresh racing a finishing initial run keeps the run's fields: the
/// tenant record is written conditionally on the version read, and re-applied after a lost race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r34_a_catalogue_refresh_racing_a_finishing_run_loses_neither_write() {
    let env = env(5).await;
    let (state, engine) = flaky_engine(&env.day);
    engine.refresh_aims(&env.tenant, false).await.unwrap();
    let before = engine.tenant_state(&env.tenant.id).await.unwrap().unwrap();
    assert!(!before.initial_done);
    let finished = chrono::Utc::now();
    // the initial run finishes between the refresh's read and its write
    *state.tenant_race.lock().unwrap() = Some(Box::new(move |ts: &mut TenantState| {
        ts.initial_done = true;
        ts.last_synchronised = Some(finished);
    }));
    engine.refresh_aims(&env.tenant, false).await.unwrap();
    assert!(state.tenant_race.lock().unwrap().is_none(), "the race ran");
    let after = engine.tenant_state(&env.tenant.id).await.unwrap().unwrap();
    assert!(
        after.initial_done,
        "R43/B10: the refresh did not reset initial_done: {after:?}"
    );
    assert_eq!(after.last_synchronised, Some(finished), "R36 kept");
    assert!(
        after.catalogue_refreshed > before.catalogue_refreshed,
        "R34: the refresh itself landed"
    );
}

/// R43: enable → initial → periodic → disable → enable → initial → periodic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r43_a_tenant_enabled_again_after_a_disable_runs_initial_once() {
    let env = env(10).await;
    let mut t = env.tenant.clone();
    let mode = |r: &picsync_engine::RunSummary| r.run.mode;
    let run = |t: picsync_engine::Tenant| {
        let e = &env.engine;
        async move { e.run_tenant(&t, &RunOptions::default(), &NoProgress).await }
    };
    assert_eq!(mode(&run(t.clone()).await.unwrap()), Mode::Initial);
    assert_eq!(mode(&run(t.clone()).await.unwrap()), Mode::Periodic);
    t.settings.integration_enabled = false;
    let calls = env.sims.onefile.counters().total();
    assert!(matches!(
        run(t.clone()).await,
        Err(EngineError::NotEnabled(_))
    ));
    // an enrolment while disabled is refused as well, calling nothing
    let req = EnrolRequest {
        learner: LearnerId::new(&env.sims.info.unlinked[0]),
        ..Default::default()
    };
    assert!(matches!(
        env.engine.enrol(&t, &req).await,
        Err(EngineError::NotEnabled(_))
    ));
    assert_eq!(env.sims.onefile.counters().total(), calls, "R1");
    t.settings.integration_enabled = true;
    assert_eq!(
        mode(&run(t.clone()).await.unwrap()),
        Mode::Initial,
        "R43: the first run after enabling again is initial"
    );
    assert_eq!(mode(&run(t.clone()).await.unwrap()), Mode::Periodic);
}

/// B16/§7: a claim to create a record lasts at least as long as the create call can take with
/// every retry, backoff and 429 wait of the tenant's OneFile retry policy (the production one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_a_create_claim_outlives_the_slowest_create_of_the_retry_policy() {
    let env = env(5).await;
    let mut t = env.tenant.clone();
    t.onefile = picsync_onefile::OneFileClient::new(
        picsync_onefile::OneFileConfig::new(
            env.sims.onefile.base_url(),
            secrecy::SecretString::from(picsync_sim::world::ONEFILE_TOKEN),
        ),
        picsync_onefile::Pacer::new(
            t.settings.onefile_calls_per_minute,
            std::time::Duration::from_secs(60),
        ),
    )
    .unwrap();
    let slowest = chrono::Duration::from_std(t.onefile.longest_call()).unwrap();
    assert!(
        slowest >= chrono::Duration::minutes(20),
        "20 waits of a 60 s window: {slowest}"
    );
    // the initial run uploads eligible reviews: visits and reviews are created through intents
    let run = env
        .engine
        .run_tenant(&t, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(run.run.failed, 0, "{:?}", run.run.failures);
    let intents = env.engine.state().list_intents(&t.id, false).await.unwrap();
    assert!(!intents.is_empty());
    for i in &intents {
        assert!(
            i.expires_at - i.claimed_at >= slowest,
            "B16: claim of {} lasts {} but a create may take {slowest}",
            i.key,
            i.expires_at - i.claimed_at
        );
    }
}

/// §7/B5: records picsync created and someone then deleted in OneFile (the learner, its learning
/// aims and reviews, an assessor, a placement) are created again when the learner is enrolled
/// again; the stale "done" intents are retired, never relinked to the dead ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_b_a_learner_enrolled_again_after_its_onefile_records_were_deleted_gets_new_ones() {
    let env = env(40).await;
    let a = "lrn-00029";
    let req = EnrolRequest {
        learner: LearnerId::new(a),
        ..Default::default()
    };
    env.engine.enrol(&env.tenant, &req).await.unwrap();
    let pics = env.sims.pics.state();
    let old_user = pics.learners[a].one_file_id.unwrap();
    let officers: Vec<(String, i64)> = ["off-6", "off-7", "off-8"]
        .iter()
        .filter_map(|o| {
            let id = pics.officers[*o].other_system_id.as_deref()?.parse().ok()?;
            Some((o.to_string(), id))
        })
        .collect();
    assert!(!officers.is_empty(), "enrolment created assessors");
    let placement: i64 = pics.organisations["org-10"]
        .additional_id
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    // someone deletes them in OneFile, and clears the links in PICS
    env.sims.onefile.edit(|e| {
        let s = e.raw();
        s.users.remove(&old_user);
        for (_, id) in &officers {
            s.users.remove(id);
        }
        s.placements.remove(&placement);
        s.learning_aims.retain(|_, x| x.user_id != old_user);
        s.reviews.retain(|_, x| x.learner_id != old_user);
        s.visits.retain(|_, x| x.learner_id != old_user);
        s.assignments.retain(|x| x.learner_id != old_user);
    });
    env.sims.pics.edit(|s| {
        let l = s.learner_mut(a).unwrap();
        l.one_file_id = None;
        for q in &mut l.qualifications {
            q.one_file_learning_aim_id = None;
        }
        for r in &mut l.reviews {
            r.one_file_system_id = None;
        }
        for (o, _) in &officers {
            s.officer_mut(o).unwrap().other_system_id = None;
        }
        s.organisation_mut("org-10").unwrap().additional_id = None;
    });
    let report = env
        .engine
        .enrol(&env.tenant, &req)
        .await
        .expect("the learner is enrolled again");
    let of = env.sims.onefile.state();
    let pics = env.sims.pics.state();
    let l = &pics.learners[a];
    let user = l.one_file_id.expect("linked");
    assert_ne!(user, old_user, "{report:?}");
    assert!(
        of.users.contains_key(&user),
        "linked to a live OneFile learner"
    );
    for (o, old) in &officers {
        let now: i64 = pics.officers[o]
            .other_system_id
            .as_deref()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            now != *old && of.users.contains_key(&now),
            "officer {o}: a new assessor, not the deleted {old}"
        );
    }
    let p: i64 = pics.organisations["org-10"]
        .additional_id
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        p != placement && of.placements.contains_key(&p),
        "a new placement"
    );
    assert!(
        l.qualifications
            .iter()
            .any(|q| q.one_file_learning_aim_id.is_some())
    );
    for q in &l.qualifications {
        if let Some(aim) = q.one_file_learning_aim_id {
            assert_eq!(
                of.learning_aims.get(&aim).map(|x| x.user_id),
                Some(user),
                "qualification {} is linked to a live aim of the new learner",
                q.qualification_id
            );
        }
    }
    for r in &l.reviews {
        if let Some(id) = r.one_file_system_id {
            assert_eq!(
                of.reviews.get(&id).map(|x| x.learner_id),
                Some(user),
                "review {} is linked to a live review of the new learner",
                r.review_id
            );
        }
    }
    assert!(
        of.assignments.iter().any(|x| x.learner_id == user),
        "the new learner's assessors are assigned"
    );
}

/// R19/R21/§7 (B6): the upload of a review lands in OneFile, its PICS write-back does not (the
/// process died), and a user then edits the PICS review. The next run links that review to its
/// upload; our own OneFile review is never downloaded as a second PICS review.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r21_a_crash_before_the_write_back_then_a_pics_edit_never_downloads_our_upload() {
    let env = env(12).await;
    // learner 1: its only eligible review is r1; nothing else of it is written to PICS reviews
    let a = picsync_sim::world::learner_id(1);
    let r1 = format!("{a}-r1");
    let uid = env.sims.info.onefile_ids[&a];
    let reviews_before = env.sims.pics.learner(&a).unwrap().reviews.len();
    let of_before = env.sims.onefile.read(|s| s.reviews_of(uid).len());
    // the write-back never lands
    env.sims.pics.faults().script(
        "PATCH /learners/{id}/reviews/{id}",
        std::iter::repeat_n(picsync_sim::faults::Fault::Status(503), 8),
    );
    let first = env
        .engine
        .run_tenant(&env.tenant, &only(&a), &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        first.run.failed, 1,
        "the write-back failed: {:?}",
        first.run
    );
    env.sims.pics.faults().clear();
    let uploaded = env.sims.onefile.read(|s| {
        let rs = s.reviews_of(uid);
        assert_eq!(rs.len(), of_before + 1, "the upload landed");
        rs.iter().map(|r| r.id).max().unwrap()
    });
    assert_eq!(
        env.sims
            .pics
            .learner(&a)
            .unwrap()
            .review(&r1)
            .unwrap()
            .one_file_system_id,
        None
    );
    // a user records the review as attended in PICS (no longer "eligible", time unchanged)
    env.sims.pics.edit(|s| {
        let r = s
            .learner_mut(&a)
            .unwrap()
            .reviews
            .iter_mut()
            .find(|r| r.review_id == r1)
            .unwrap();
        r.attended_value = Some("Attended".into());
        r.actual_date_time = r.proposed_date_time;
    });
    let second = env
        .engine
        .run_tenant(&env.tenant, &only(&a), &NoProgress)
        .await
        .unwrap();
    assert_eq!(second.run.failed, 0, "{:?}", second.run.failures);
    let l = env.sims.pics.learner(&a).unwrap();
    let holders: Vec<&str> = l
        .reviews
        .iter()
        .filter(|r| r.one_file_system_id == Some(uploaded))
        .map(|r| r.review_id.as_str())
        .collect();
    assert_eq!(
        holders,
        vec![r1.as_str()],
        "R19: exactly one PICS review, the uploaded one, holds the OneFile review"
    );
    assert_eq!(l.reviews.len(), reviews_before, "R21: nothing downloaded");
    assert_eq!(
        env.sims.onefile.read(|s| s.reviews_of(uid).len()),
        of_before + 1,
        "uploaded once"
    );
    assert_eq!(
        l.review(&r1).unwrap().attended_value.as_deref(),
        Some("Attended"),
        "the user's edit survives"
    );
}
