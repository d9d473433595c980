#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests link the dev-dependencies too
//! picsync's engine: reads both systems, plans with the pure domain, applies the plan exactly
//! once (intents, §7), and records cursors, baselines, runs and the audit trail. The CLI
//! and the Lambda functions are thin shells around it.

mod created;
mod enrol;
pub mod error;
mod learner;
pub mod mapping;
mod ops;
mod reconcile;
mod run;
mod task;
mod writer;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use picsync_domain::{OfCentreId, Settings, TenantId};
use picsync_onefile::OneFileClient;
use picsync_pics::PicsClient;
use picsync_state::{RunRecord, State};

pub use enrol::{EnrolReport, EnrolRequest};
pub use error::{EngineError, Result};
pub use learner::LearnerReport;
pub use ops::CheckReport;
pub use run::{
    LearnerTask, NoProgress, Progress, RunOptions, RunStart, RunSummary, TaskRunner, in_window,
    recent_review_window,
};
pub use task::parse_task;

/// A source of "now": the system clock in production, a fixed or moving one in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// A clock that keeps to one Europe/London day: the real time until the day ends, and its last
/// millisecond after. For a run whose world was seeded for `today` (the CLI's hidden `--today`,
/// the tests): a run across midnight still sees one today.
pub fn clock_of_day(today: chrono::NaiveDate) -> Clock {
    let last = picsync_domain::time::last_instant_of(today);
    Arc::new(move || Utc::now().min(last))
}

/// One tenant, ready to talk to both systems.
#[derive(Clone)]
pub struct Tenant {
    pub id: TenantId,
    pub settings: Settings,
    pub pics: PicsClient,
    pub onefile: OneFileClient,
    /// The OneFile centre (organisation) to use when the customer has several.
    pub centre: Option<OfCentreId>,
}

impl Tenant {
    /// The one way a front end (the CLI, the Lambda functions, the demo, the benchmarks) builds
    /// a tenant: PICS at `pics_url`, OneFile at the settings' environment (R5), signed in with
    /// `secrets`, OneFile's calls paced by `pacer` (R35). `tune` adjusts the client settings
    /// (a scaled rate window, retries, timeouts) before the clients are made.
    pub fn connect(
        id: TenantId,
        settings: Settings,
        pics_url: &str,
        centre: Option<OfCentreId>,
        secrets: &picsync_state::secrets::TenantSecrets,
        pacer: picsync_onefile::Pacer,
        tune: impl FnOnce(&mut picsync_pics::PicsConfig, &mut picsync_onefile::OneFileConfig),
    ) -> Result<Self> {
        let mut pics = picsync_pics::PicsConfig::new(
            pics_url,
            secrets.pics_username.clone(),
            secrets.pics_password.clone(),
        );
        let mut onefile = picsync_onefile::OneFileConfig::new(
            settings.environment.base_url(),
            secrets.onefile_customer_token.clone(),
        );
        tune(&mut pics, &mut onefile);
        Ok(Self {
            id,
            pics: PicsClient::new(pics)?,
            onefile: OneFileClient::new(onefile, pacer)?,
            settings,
            centre,
        })
    }
}

/// The engine over a state backend.
pub struct Engine<S: State> {
    pub(crate) state: Arc<S>,
    pub(crate) clock: Clock,
    /// Names this process in leases and intents.
    pub(crate) holder: String,
    /// How long an in-progress create is protected from a second worker (§7); `None`: the
    /// longest one OneFile call of the tenant can take (see [`Engine::claim_ttl`]).
    pub(crate) intent_ttl: Option<chrono::Duration>,
    /// How long a run's lease lasts without renewal (R39).
    pub(crate) lease_ttl: chrono::Duration,
    /// Bounded re-reads on a PICS 412 (R41).
    pub(crate) max_replans: u32,
    /// Who starts runs here, recorded on each run (`lambda`, or `cli:<host>:<pid>`).
    pub(crate) owner: String,
    /// Whether a run's owner is known to be dead (its lease may then be taken at once).
    pub(crate) owner_dead: fn(&str) -> bool,
    /// Told of every run this engine closes (issue 14: the functions' run metrics).
    pub(crate) observer: Option<Arc<dyn RunObserver>>,
}

/// Told of each run the engine closes: completed by its last outcome ([`Engine::report_failure`]
/// or a task's), or abandoned by [`Engine::reconcile`]. A duplicate report of a closed run's
/// last task closes it again, so an observer may hear of one run twice (at most once per
/// redelivery of its last task).
pub trait RunObserver: Send + Sync {
    fn run_closed(&self, run: &RunRecord);
}

impl<S: State> Clone for Engine<S> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            clock: self.clock.clone(),
            holder: self.holder.clone(),
            intent_ttl: self.intent_ttl,
            lease_ttl: self.lease_ttl,
            max_replans: self.max_replans,
            owner: self.owner.clone(),
            owner_dead: self.owner_dead,
            observer: self.observer.clone(),
        }
    }
}

impl<S: State> Engine<S> {
    pub fn new(state: Arc<S>, clock: Clock) -> Self {
        Self {
            state,
            clock,
            holder: format!("proc-{:08x}", fastrand::u32(..)),
            intent_ttl: None,
            lease_ttl: chrono::Duration::minutes(30),
            max_replans: 3,
            owner: "lambda".into(),
            owner_dead: |_| false,
            observer: None,
        }
    }

    /// Names who starts runs here (recorded on each run), and how to tell that the owner of
    /// another run is dead: the CLI names itself `cli:<host>:<pid>` and knows a process of its
    /// own host that is gone, so a run of a killed `picsync sync` is taken over at once (R39).
    pub fn with_owner(mut self, owner: impl Into<String>, dead: fn(&str) -> bool) -> Self {
        self.owner = owner.into();
        self.owner_dead = dead;
        self
    }

    /// Names this engine in leases and intents (tests simulate several workers with it).
    pub fn with_holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = holder.into();
        self
    }

    /// A fixed claim TTL instead of the one computed from the tenant's retry policy: the Lambda
    /// worker's (no invocation outlives its timeout), or a test's (zero simulates an abandoned
    /// claim).
    pub fn with_intent_ttl(mut self, ttl: chrono::Duration) -> Self {
        self.intent_ttl = Some(ttl);
        self
    }

    /// B16: a claim to create a record outlives the create call at its slowest (every retry,
    /// backoff and 429 wait of the tenant's OneFile retry policy), plus a minute for the state
    /// writes around it; a resumed claim is renewed after its search, right before the create.
    pub(crate) fn claim_ttl(&self, t: &Tenant) -> chrono::Duration {
        self.intent_ttl.unwrap_or_else(|| {
            chrono::Duration::from_std(t.onefile.longest_call())
                .unwrap_or(chrono::Duration::days(1))
                + chrono::Duration::minutes(1)
        })
    }

    pub fn with_observer(mut self, observer: Arc<dyn RunObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub(crate) fn observe_closed(&self, run: &RunRecord) {
        if let Some(o) = &self.observer {
            o.run_closed(run);
        }
    }

    pub fn with_lease_ttl(mut self, ttl: chrono::Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    pub fn state(&self) -> &S {
        &self.state
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    pub(crate) fn today(&self) -> chrono::NaiveDate {
        picsync_domain::time::london_date(self.now())
    }
}
