//! What the sync does when its own state cannot keep up: a state write that fails (R40), a
//! re-plan loop that ends on a 412 (R41), stale "done" intents (§7), the crash window between a
//! review upload and its PICS write-back (R19/R21), tenant records written by two routines at
//! once, and the R43 initial run after a disable and a re-enable.

mod common;
use common::*;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use picsync_domain::{LearnerId, Mode, TenantId};
use picsync_engine::{Engine, EngineError, NoProgress, RunOptions};
use picsync_state::embedded::EmbeddedState;
use picsync_state::*;

/// A state backend that fails chosen writes, delegating everything else to an embedded one.
#[derive(Default)]
struct Flaky {
    inner: Option<EmbeddedState>,
    /// `put_learner_state` of this learner fails this many more times.
    fail_learner_put: Mutex<Option<(LearnerId, u32)>>,
    /// `complete_intent` of a key starting with this prefix fails (the process died after the
    /// create and before recording it) this many more times.
    fail_complete: Mutex<Option<(String, u32)>>,
    learner_puts_failed: AtomicU32,
}

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
    fn fail_completions(&self, prefix: &str, times: u32) {
        *self.fail_complete.lock().unwrap() = Some((prefix.to_string(), times));
    }
}

impl TenantStore for Flaky {
    async fn get_tenant(&self, t: &TenantId) -> Result<Option<TenantState>> {
        self.s().get_tenant(t).await
    }
    async fn put_tenant(&self, s: &TenantState) -> Result<()> {
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
    async fn claim_intent(
        &self,
        t: &TenantId,
        k: &str,
        l: Option<&LearnerId>,
        kind: &str,
        h: &str,
        now: chrono::DateTime<chrono::Utc>,
        ttl: chrono::Duration,
    ) -> Result<Claim> {
        self.s().claim_intent(t, k, l, kind, h, now, ttl).await
    }
    async fn complete_intent(&self, t: &TenantId, k: &str, id: i64) -> Result<()> {
        {
            let mut slot = self.fail_complete.lock().unwrap();
            if let Some((p, n)) = slot.as_mut()
                && k.starts_with(p.as_str())
                && *n > 0
            {
                *n -= 1;
                return Err(StateError::Backend("the process died here".into()));
            }
        }
        self.s().complete_intent(t, k, id).await
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

fn flaky_engine() -> (Arc<Flaky>, Engine<Flaky>) {
    let state = Arc::new(Flaky::new(EmbeddedState::in_memory().unwrap()));
    let engine = Engine::new(state.clone(), picsync_engine::system_clock());
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
    let (state, engine) = flaky_engine();
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
