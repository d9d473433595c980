//! A faithful simulator of the OneFile REST API v2.1 (as `picsync_onefile`'s crate page
//! describes it), for tests, the `picsync demo` command and benchmarks.
//!
//! An axum server on 127.0.0.1 at a random port over an in-memory [`Store`], seeded by a
//! builder. It enforces customer tokens and sessions (configurable lifetime) and a fixed-window
//! rate limit per customer token (configurable, so tests can scale a minute down); matches
//! routes case-insensitively with or without a trailing slash; and bumps `LastModified` on
//! learner, learning-aim and review changes. [`Quirks`] switch each documented variant on or
//! off, [`Faults`] inject failures per endpoint, and [`Counters`] count calls per endpoint.
//!
//! ```no_run
//! # async fn demo() {
//! use picsync_sim::onefile::{OneFileSim, SimUser};
//! let sim = OneFileSim::builder()
//!     .rate_limit(30, std::time::Duration::from_millis(600))
//!     .seed(|s| {
//!         let centre = s.add_centre("North");
//!         s.insert_user(SimUser::assessor(centre, "Sam", "Stone"));
//!     })
//!     .start()
//!     .await;
//! let url = sim.base_url(); // http://127.0.0.1:PORT/api/v2.1
//! # }
//! ```
//!
//! Endpoint keys for faults and counters are `"<METHOD> <lower-case path template>"` with `{id}`
//! for every number, e.g. `"POST /user/search"` (paged or not), `"GET /user/{id}"`,
//! `"POST /standard/{id}/assign/{id}"`, `"POST /authentication"`.

mod gate;
mod render;
mod request;
mod routes;
mod seed;
mod store;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::faults::{Counters, Faults};
use gate::Gate;

pub use render::DateStyle;
pub use seed::Population;
pub use store::{
    Editor, SimAssignment, SimCentre, SimClassroom, SimCustomer, SimLearningAim, SimPathway,
    SimPlacement, SimReview, SimStandard, SimUser, SimVisit, Store, role,
};

/// The customer token accepted when the builder is given none.
pub const DEFAULT_CUSTOMER_TOKEN: &str = "sim-onefile-customer-token-0001";

/// Switches for every variant the client must tolerate (`picsync_onefile`'s crate page).
#[derive(Debug, Clone, PartialEq)]
pub struct Quirks {
    /// An empty search result is `204 No Content` instead of `[]`.
    pub empty_as_204: bool,
    /// The session is sent JSON-quoted (`"abc…"`) instead of bare.
    pub quote_session: bool,
    /// How dates are written.
    pub date_style: DateStyle,
    /// A 429 carries `Retry-After` (seconds, fractional when the window is scaled down).
    pub retry_after: bool,
    /// Paged searches serve at most this many records a page, whatever was asked.
    pub page_size_cap: Option<u32>,
    /// A change to a learning aim or review also bumps its learner's `LastModified`.
    pub child_changes_touch_learner: bool,
    /// Empty fields are left out instead of sent as `null`.
    pub omit_nulls: bool,
    /// User/Search serves full records instead of a summary (`ID, OrganisationID, Role,
    /// FirstName, LastName, Email, MISID, Archived, LastModified`).
    pub full_user_search: bool,
    /// User/Search matches `MISID` by "contains" (case-insensitive) instead of equality, so
    /// `L1` also finds `L10` (whether a filter matches exactly is undocumented).
    pub mis_contains: bool,
    /// LearningAim/Search ignores `UserID`, Review/Search and Visit/Search ignore `LearnerID`:
    /// every record of the customer is served (whether every filter is honoured
    /// is undocumented).
    pub ignore_owner_filters: bool,
    /// Review/Search ignores `OrganisationID`: a centre-wide search serves the reviews of
    /// every centre of the customer (issue 16: whether the filter is honoured is undocumented).
    pub ignore_review_organisation_filter: bool,
    /// Paged Review/Search pages overlap: each page after the first starts one record early,
    /// repeating the last record of the page before (issue 16: an inconsistent paging).
    pub review_pages_overlap: bool,
    /// Paged Review/Search serves its second page half full, as if OneFile filtered a page
    /// after cutting it (issue 16: a reader that takes a short page for the last one stops
    /// there, and the centre-wide read is cut short without any inconsistency on its pages).
    pub review_pages_cut_short: bool,
    /// Review/Search ignores `DateFrom`/`DateTo` (issue 16: which date they filter on, if
    /// any, is undocumented).
    pub ignore_review_date_filter: bool,
    /// `POST /Visit/Search` answers 404, as if OneFile had no such endpoint (it is Assumed).
    pub no_visit_search: bool,
    /// `POST /LearningAim/{id}` accepts `CertificateReceivedDate` and stores nothing, as OneFile
    /// does with a key it does not know (the name is Assumed; OneFile accepts unknown keys).
    pub ignore_certificate_received_date: bool,
}

impl Default for Quirks {
    fn default() -> Self {
        Self {
            empty_as_204: false,
            quote_session: false,
            date_style: DateStyle::UtcMillis,
            retry_after: true,
            page_size_cap: None,
            child_changes_touch_learner: false,
            omit_nulls: false,
            full_user_search: false,
            mis_contains: false,
            ignore_owner_filters: false,
            ignore_review_organisation_filter: false,
            review_pages_overlap: false,
            review_pages_cut_short: false,
            ignore_review_date_filter: false,
            no_visit_search: false,
            ignore_certificate_received_date: false,
        }
    }
}

/// What the handlers share with the handle.
pub(crate) struct Shared {
    store: Mutex<Store>,
    gate: Mutex<Gate>,
    quirks: Mutex<Quirks>,
    faults: Faults,
    counters: Counters,
    limited: Counters,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // a panicking test must not poison the simulator for the others
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }
    pub(crate) fn gate(&self) -> MutexGuard<'_, Gate> {
        lock(&self.gate)
    }
    pub(crate) fn quirks(&self) -> Quirks {
        lock(&self.quirks).clone()
    }
}

/// Builds a simulator: customer, centres, tokens, limits, quirks and seed records.
pub struct OneFileSimBuilder {
    store: Store,
    tokens: Vec<String>,
    session_lifetime: Duration,
    limit: u32,
    window: Duration,
    quirks: Quirks,
}

impl Default for OneFileSimBuilder {
    fn default() -> Self {
        Self {
            store: Store::default(),
            tokens: Vec::new(),
            session_lifetime: Duration::from_secs(24 * 3600),
            limit: 300,
            window: Duration::from_secs(60),
            quirks: Quirks::default(),
        }
    }
}

impl OneFileSimBuilder {
    /// The customer behind the tokens.
    pub fn customer(mut self, id: i64, name: &str) -> Self {
        self.store.customer = SimCustomer {
            id,
            name: name.to_string(),
        };
        self
    }

    /// A centre with a given id.
    pub fn centre(mut self, id: i64, name: &str) -> Self {
        self.store.insert_centre(SimCentre {
            id,
            name: name.to_string(),
        });
        self
    }

    /// Accepts this customer token (call again for more; default [`DEFAULT_CUSTOMER_TOKEN`]).
    pub fn customer_token(mut self, token: &str) -> Self {
        self.tokens.push(token.to_string());
        self
    }

    /// How long a session lasts (OneFile: 24 hours).
    pub fn session_lifetime(mut self, d: Duration) -> Self {
        self.session_lifetime = d;
        self
    }

    /// At most `limit` calls per customer token in each fixed window (OneFile: 300 a minute).
    pub fn rate_limit(mut self, limit: u32, window: Duration) -> Self {
        self.limit = limit;
        self.window = window;
        self
    }

    /// The quirks to start with.
    pub fn quirks(mut self, q: Quirks) -> Self {
        self.quirks = q;
        self
    }

    /// Adds a user (id 0 = allocate).
    pub fn user(mut self, u: SimUser) -> Self {
        self.store.insert_user(u);
        self
    }

    /// Adds a classroom.
    pub fn classroom(mut self, c: SimClassroom) -> Self {
        self.store.insert_classroom(c);
        self
    }

    /// Adds a placement.
    pub fn placement(mut self, p: SimPlacement) -> Self {
        self.store.insert_placement(p);
        self
    }

    /// Adds a standard.
    pub fn standard(mut self, s: SimStandard) -> Self {
        self.store.insert_standard(s);
        self
    }

    /// Adds a learning aim.
    pub fn learning_aim(mut self, a: SimLearningAim) -> Self {
        self.store.insert_learning_aim(a);
        self
    }

    /// Adds a visit.
    pub fn visit(mut self, v: SimVisit) -> Self {
        self.store.insert_visit(v);
        self
    }

    /// Adds a review.
    pub fn review(mut self, r: SimReview) -> Self {
        self.store.insert_review(r);
        self
    }

    /// Seeds the store directly (ids come back from the `insert_*` calls).
    pub fn seed(mut self, f: impl FnOnce(&mut Store)) -> Self {
        f(&mut self.store);
        self
    }

    /// Starts the server on 127.0.0.1 at a random port.
    pub async fn try_start(self) -> std::io::Result<OneFileSim> {
        let tokens = if self.tokens.is_empty() {
            vec![DEFAULT_CUSTOMER_TOKEN.to_string()]
        } else {
            self.tokens
        };
        let first_token = tokens[0].clone();
        let shared = Arc::new(Shared {
            store: Mutex::new(self.store),
            gate: Mutex::new(Gate::new(
                tokens,
                self.session_lifetime,
                self.limit,
                self.window,
            )),
            quirks: Mutex::new(self.quirks),
            faults: Faults::default(),
            counters: Counters::default(),
            limited: Counters::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = routes::router(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "OneFile simulator stopped");
            }
        });
        Ok(OneFileSim {
            shared,
            addr,
            token: first_token,
            task,
        })
    }

    /// Starts the server on 127.0.0.1 at a random port.
    ///
    /// # Panics
    /// When no loopback port can be bound (the test machine is broken); see [`Self::try_start`].
    pub async fn start(self) -> OneFileSim {
        match self.try_start().await {
            Ok(sim) => sim,
            Err(e) => panic!("the OneFile simulator could not bind 127.0.0.1: {e}"),
        }
    }
}

/// A running simulator. Dropping it stops the server.
pub struct OneFileSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    token: String,
    task: JoinHandle<()>,
}

impl Drop for OneFileSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for OneFileSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneFileSim")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl OneFileSim {
    /// A builder with OneFile's defaults: 300 calls a minute, 24-hour sessions, no quirks.
    pub fn builder() -> OneFileSimBuilder {
        OneFileSimBuilder::default()
    }

    /// `http://127.0.0.1:PORT/api/v2.1`
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v2.1", self.addr)
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first accepted customer token.
    pub fn customer_token(&self) -> &str {
        &self.token
    }

    /// Fault injection, per endpoint.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Calls per endpoint (every call that reached the server, refused ones included).
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// 429s served, per endpoint.
    pub fn rate_limited_counters(&self) -> &Counters {
        &self.shared.limited
    }

    /// 429s served in all.
    pub fn rate_limited(&self) -> u64 {
        self.shared.gate().limited
    }

    /// 401s served (unknown or expired session, refused customer token).
    pub fn unauthorised(&self) -> u64 {
        self.shared.gate().refused
    }

    /// Sessions issued.
    pub fn sessions_issued(&self) -> u64 {
        self.shared.gate().issued
    }

    /// The most calls one token made in one window (rejected ones included).
    pub fn peak_calls_in_window(&self) -> u32 {
        self.shared.gate().peak
    }

    /// Every session issued so far (tests check that none leaks into logs or errors).
    pub fn issued_sessions(&self) -> Vec<String> {
        self.shared.gate().history()
    }

    /// Ends every session now, as if they had expired.
    pub fn expire_sessions(&self) {
        self.shared.gate().expire_sessions();
    }

    /// Changes the rate limit (windows restart now).
    pub fn set_rate_limit(&self, limit: u32, window: Duration) {
        self.shared.gate().set_rate_limit(limit, window);
    }

    /// Changes the session lifetime of sessions issued from now on.
    pub fn set_session_lifetime(&self, d: Duration) {
        self.shared.gate().session_lifetime = d;
    }

    /// The current quirks.
    pub fn quirks(&self) -> Quirks {
        self.shared.quirks()
    }

    /// Changes the quirks.
    pub fn set_quirks(&self, q: Quirks) {
        *lock(&self.shared.quirks) = q;
    }

    /// A copy of the whole store.
    pub fn state(&self) -> Store {
        self.shared.store().clone()
    }

    /// Reads the store without copying it.
    pub fn read<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        f(&self.shared.store())
    }

    /// Changes records as a OneFile user would: what the edit touches gets a new
    /// `LastModified` (and with `child_changes_touch_learner`, so does the learner of a
    /// touched learning aim or review).
    pub fn edit<R>(&self, f: impl FnOnce(&mut Editor<'_>) -> R) -> R {
        let touch_learner = self.shared.quirks().child_changes_touch_learner;
        let mut store = self.shared.store();
        let mut editor = Editor::new(&mut store);
        let out = f(&mut editor);
        editor.finish(touch_learner);
        out
    }
}
