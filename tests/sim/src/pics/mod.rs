//! A simulator of the PICS REST API as `picsync_pics`'s crate page describes it, for tests,
//! the `picsync demo` command and benchmarks: axum on 127.0.0.1 at a random port, over an
//! in-memory store.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use picsync_sim::pics::{PicsSim, SimLearner};
//! let sim = PicsSim::builder()
//!     .credentials("api", "api-password")
//!     .learner(SimLearner { one_file_id: Some(7), ..SimLearner::new("L-1", "ID001") })
//!     .start()
//!     .await?;
//! let base = sim.base_url(); // http://127.0.0.1:PORT/app/api/v1
//! sim.before_next_write("L-1", |store| {
//!     // a user edits the learner between the sync's read and its write: the write meets 412
//!     if let Some(l) = store.learner_mut("L-1") { l.demographics.email = Some("new@example.com".into()); }
//! });
//! # let _ = base; Ok(()) }
//! ```
//!
//! What it does: bearer tokens with a configurable lifetime (401 when unknown or expired);
//! learner listing with `oneFileLinked`, `modifiedSince` (inclusive) and paging (page-size cap
//! configurable); reads and writes of learners, qualifications, reviews, officers and
//! organisations; a new RowVersion and LastModified on every change to a learner or anything
//! under it; `If-Match` required under a learner (428 without, 412 when stale, R41); 409 for a
//! second review holding the same OneFile System ID; 400 `{"Message"}` on any bad input (it
//! never panics). Faults and counters come from [`crate::faults`], keyed like
//! `"PATCH /learners/{id}/qualifications/{id}"`. Status, Hang and Malformed faults answer
//! instead of the call (nothing is written); Truncated and Reset break the reply of a call that
//! did happen (the write is applied and its answer lost).

mod model;
mod patch;
mod server;
mod store;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use model::{
    PicsState, SimLearner, SimLearnerOfficer, SimOfficer, SimOrganisation, SimPlacement,
    SimQualification, SimReview,
};
pub use server::{BASE_PATH, WriteHook};
pub use store::PicsStore;

use crate::faults::{Counters, Faults};
use server::{Inner, Shared};

/// API user of a simulator built without [`PicsSimBuilder::credentials`].
pub const DEFAULT_USERNAME: &str = "picsync-api";
/// Password of [`DEFAULT_USERNAME`].
pub const DEFAULT_PASSWORD: &str = "picsync-api-password";
/// Token lifetime unless configured: PICS's documented 24 hours.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Seeds and settings of a simulator; [`PicsSimBuilder::start`] runs it.
#[derive(Debug)]
pub struct PicsSimBuilder {
    users: Vec<(String, String)>,
    token_lifetime: Duration,
    page_size_cap: Option<u32>,
    retry_after: Option<Duration>,
    seed: u64,
    learners: Vec<SimLearner>,
    officers: Vec<SimOfficer>,
    organisations: Vec<SimOrganisation>,
}

impl Default for PicsSimBuilder {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            page_size_cap: None,
            retry_after: None,
            seed: 0x9C5,
            learners: Vec::new(),
            officers: Vec::new(),
            organisations: Vec::new(),
        }
    }
}

impl PicsSimBuilder {
    /// Adds an API user (any number; without one, [`DEFAULT_USERNAME`] / [`DEFAULT_PASSWORD`]).
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.users.push((username.into(), password.into()));
        self
    }

    /// How long a bearer token is valid (default 24 h; scale down in tests).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// The largest page `GET /Learners` serves, whatever the client asks.
    pub fn page_size_cap(mut self, cap: u32) -> Self {
        self.page_size_cap = Some(cap);
        self
    }

    /// `Retry-After` (whole seconds) sent with injected 429s (none by default).
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Seed of generated ids and tokens.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Seeds a learner with its qualifications and reviews (an empty RowVersion and a missing
    /// LastModified are filled in).
    pub fn learner(mut self, learner: SimLearner) -> Self {
        self.learners.push(learner);
        self
    }

    /// Seeds learners.
    pub fn learners(mut self, learners: impl IntoIterator<Item = SimLearner>) -> Self {
        self.learners.extend(learners);
        self
    }

    /// Seeds an officer.
    pub fn officer(mut self, officer: SimOfficer) -> Self {
        self.officers.push(officer);
        self
    }

    /// Seeds officers.
    pub fn officers(mut self, officers: impl IntoIterator<Item = SimOfficer>) -> Self {
        self.officers.extend(officers);
        self
    }

    /// Seeds an organisation.
    pub fn organisation(mut self, organisation: SimOrganisation) -> Self {
        self.organisations.push(organisation);
        self
    }

    /// Seeds organisations.
    pub fn organisations(
        mut self,
        organisations: impl IntoIterator<Item = SimOrganisation>,
    ) -> Self {
        self.organisations.extend(organisations);
        self
    }

    /// Binds 127.0.0.1 at a random port and serves until the handle is dropped.
    pub async fn start(self) -> std::io::Result<PicsSim> {
        let mut store = PicsStore::new(self.seed);
        for l in self.learners {
            store.insert_learner(l);
        }
        for o in self.officers {
            store.insert_officer(o);
        }
        for o in self.organisations {
            store.insert_organisation(o);
        }
        store.settle();
        let users = if self.users.is_empty() {
            vec![(DEFAULT_USERNAME.to_string(), DEFAULT_PASSWORD.to_string())]
        } else {
            self.users
        };
        let shared = Arc::new(Shared {
            inner: std::sync::Mutex::new(Inner {
                store,
                users,
                token_lifetime: self.token_lifetime,
                tokens: HashMap::new(),
                issued: Vec::new(),
                page_size_cap: self.page_size_cap,
                retry_after: self.retry_after,
                hooks: HashMap::new(),
            }),
            faults: Faults::default(),
            counters: Counters::default(),
            unauthorized: AtomicU64::new(0),
        });
        let app = axum::Router::new()
            .fallback(server::dispatch)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "PICS simulator stopped");
            }
        });
        Ok(PicsSim {
            shared,
            addr,
            server,
        })
    }
}

/// A running PICS simulator; stops when dropped.
pub struct PicsSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for PicsSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PicsSim")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for PicsSim {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl PicsSim {
    /// A builder with defaults: one API user ([`DEFAULT_USERNAME`]), 24 h tokens, no page cap.
    pub fn builder() -> PicsSimBuilder {
        PicsSimBuilder::default()
    }

    /// `http://127.0.0.1:PORT/app/api/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, BASE_PATH)
    }

    /// The socket the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Fault injection, keyed like `"PATCH /learners/{id}"`.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Calls per endpoint, keyed like `"GET /learners"`.
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// 401s answered so far.
    pub fn unauthorized(&self) -> u64 {
        self.shared.unauthorized.load(Ordering::Relaxed)
    }

    /// A snapshot of everything held.
    pub fn state(&self) -> PicsState {
        self.shared.lock().store.state().clone()
    }

    /// One learner as held now.
    pub fn learner(&self, id: &str) -> Option<SimLearner> {
        self.shared.lock().store.learner(id).cloned()
    }

    /// Changes records as a user would: every learner changed gets a new RowVersion and
    /// LastModified. Do not call other methods of the simulator inside `f`.
    pub fn edit<R>(&self, f: impl FnOnce(&mut PicsStore) -> R) -> R {
        let mut inner = self.shared.lock();
        let r = f(&mut inner.store);
        inner.store.settle();
        r
    }

    /// Runs `f` on the store just before the next write to `learner_id` is checked against its
    /// `If-Match`, so that a change made in `f` makes that write stale (412, R41). Hooks for one
    /// learner queue up, one per write. `f` must not call the simulator.
    pub fn before_next_write(
        &self,
        learner_id: &str,
        f: impl FnOnce(&mut PicsStore) + Send + 'static,
    ) {
        self.shared
            .lock()
            .hooks
            .entry(learner_id.to_string())
            .or_default()
            .push_back(Box::new(f));
    }

    /// Hooks still waiting for a write to `learner_id`.
    pub fn pending_hooks(&self, learner_id: &str) -> usize {
        self.shared
            .lock()
            .hooks
            .get(learner_id)
            .map_or(0, std::collections::VecDeque::len)
    }

    /// Invalidates every token: the next call of each client meets a 401.
    pub fn expire_tokens(&self) {
        self.shared.lock().tokens.clear();
    }

    /// Every token issued so far (for tests that check none leaks).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.lock().issued.clone()
    }

    /// Changes the page-size cap of `GET /Learners`.
    pub fn set_page_size_cap(&self, cap: Option<u32>) {
        self.shared.lock().page_size_cap = cap;
    }
}
