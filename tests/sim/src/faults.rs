//! Fault injection and call counters, shared by both simulators (OneFile and PICS).
//!
//! A simulator asks [`Faults::next_for`] what to do with each call, keyed by endpoint
//! (`"<METHOD> <lower-case path template>"`, e.g. `"POST /user/search"`, `"GET /user/{id}"`),
//! and renders the answer with [`respond_with`]. Tests script faults per endpoint (served in
//! order to the next calls) or switch on random faults with a fixed seed (deterministic).
//! [`Counters`] count calls per endpoint for tests to inspect.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// How long [`Fault::Hang`] keeps a call waiting: far beyond any client timeout in tests.
pub const HANG_FOR: Duration = Duration::from_secs(30);

/// What the server does with one call instead of (or before) answering normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and a `{"Message": ..}` body.
    Status(u16),
    /// A slow reply: sleep, then answer normally (the caller sleeps; see [`Fault::delay`]).
    Delay(Duration),
    /// Sleep [`HANG_FOR`] (30 s): the client's timeout must fire first.
    Hang,
    /// `200` with a body that is not JSON.
    Malformed,
    /// `200` with a valid JSON body cut in half (a complete HTTP reply, an incomplete document).
    Truncated,
    /// The connection is dropped part-way through the reply body.
    Reset,
}

impl Fault {
    /// The delay to sleep before answering normally, for [`Fault::Delay`].
    pub fn delay(&self) -> Option<Duration> {
        match self {
            Fault::Delay(d) => Some(*d),
            _ => None,
        }
    }
}

/// Random faults for one endpoint (or all), drawn from a seeded generator.
struct RandomFaults {
    probability: f64,
    kinds: Vec<Fault>,
    rng: fastrand::Rng,
}

impl RandomFaults {
    fn draw(&mut self) -> Option<Fault> {
        if self.kinds.is_empty() || self.rng.f64() >= self.probability {
            return None;
        }
        let i = self.rng.usize(..self.kinds.len());
        self.kinds.get(i).cloned()
    }
}

#[derive(Default)]
struct FaultState {
    scripted: HashMap<String, VecDeque<Fault>>,
    random_per_endpoint: HashMap<String, RandomFaults>,
    random_all: Option<RandomFaults>,
    /// Faults served on every call to one concrete path (`"GET /learners/l00003"`): one
    /// record that is always broken, while the others answer.
    always: HashMap<String, (Option<String>, Fault)>,
}

#[derive(Default)]
struct FaultsInner {
    state: Mutex<FaultState>,
    injected: AtomicU64,
}

/// Fault plan of one simulator: cheap to clone, shared by its handlers and by tests.
#[derive(Clone, Default)]
pub struct Faults {
    inner: Arc<FaultsInner>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("injected", &self.injected())
            .finish_non_exhaustive()
    }
}

/// Normalises an endpoint key: upper-case method, lower-case path, no trailing slash.
pub fn endpoint_key(endpoint: &str) -> String {
    let endpoint = endpoint.trim();
    let (method, path) = match endpoint.split_once(' ') {
        Some((m, p)) => (m.to_ascii_uppercase(), p.trim().to_ascii_lowercase()),
        None => (String::new(), endpoint.to_ascii_lowercase()),
    };
    let path = match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p.to_string(),
        _ => path,
    };
    if method.is_empty() {
        path
    } else {
        format!("{method} {path}")
    }
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, FaultState> {
        // A panicking test thread must not poison the simulator for the others.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues faults for the next calls to `endpoint`, served in order (one per call).
    pub fn script(&self, endpoint: &str, faults: impl IntoIterator<Item = Fault>) {
        let mut st = self.lock();
        st.scripted
            .entry(endpoint_key(endpoint))
            .or_default()
            .extend(faults);
    }

    /// Injects one of `kinds` with `probability` on each call to `endpoint` (`None` = every
    /// endpoint), drawn from a generator seeded with `seed`, so a run is repeatable.
    pub fn random(&self, endpoint: Option<&str>, probability: f64, kinds: Vec<Fault>, seed: u64) {
        let plan = RandomFaults {
            probability: probability.clamp(0.0, 1.0),
            kinds,
            rng: fastrand::Rng::with_seed(seed),
        };
        let mut st = self.lock();
        match endpoint {
            Some(e) => {
                st.random_per_endpoint.insert(endpoint_key(e), plan);
            }
            None => st.random_all = Some(plan),
        }
    }

    /// Serves `fault` on every call to one concrete path (`"GET /learners/L00003"`, matched
    /// without regard to case, as the end of the called path, so a base path may precede it),
    /// before any other fault; until [`Faults::clear`].
    pub fn always(&self, call: &str, fault: Fault) {
        self.lock().always.insert(endpoint_key(call), (None, fault));
    }

    /// Serves `fault` on every call to `call` whose body contains `needle` (one learner's
    /// searches, which name it in the body), before any other fault; until [`Faults::clear`].
    pub fn always_when(&self, call: &str, needle: &str, fault: Fault) {
        self.lock()
            .always
            .insert(endpoint_key(call), (Some(needle.to_string()), fault));
    }

    /// The fault served on every call to this concrete path, if any (counted as injected).
    pub fn always_for(&self, call: &str) -> Option<Fault> {
        self.always_for_body(call, "")
    }

    /// [`Faults::always_for`], with the call's body for the faults that look at it.
    pub fn always_for_body(&self, call: &str, body: &str) -> Option<Fault> {
        let call = endpoint_key(call);
        let (method, path) = call.split_once(' ').unwrap_or(("", call.as_str()));
        let fault = self
            .lock()
            .always
            .iter()
            .find(|(k, (needle, _))| {
                let (m, p) = k.split_once(' ').unwrap_or(("", k.as_str()));
                m == method
                    && path.ends_with(p)
                    && needle.as_ref().is_none_or(|n| body.contains(n.as_str()))
            })
            .map(|(_, (_, f))| f.clone());
        if fault.is_some() {
            self.inner.injected.fetch_add(1, Ordering::Relaxed);
        }
        fault
    }

    /// Removes every scripted and random fault (the count of injected faults stays).
    pub fn clear(&self) {
        let mut st = self.lock();
        *st = FaultState::default();
    }

    /// What the server should do with this call: a scripted fault first, then a random one
    /// for this endpoint, then a random one for every endpoint; `None` = answer normally.
    pub fn next_for(&self, endpoint: &str) -> Option<Fault> {
        let key = endpoint_key(endpoint);
        let mut st = self.lock();
        let fault = st
            .scripted
            .get_mut(&key)
            .and_then(VecDeque::pop_front)
            .or_else(|| {
                st.random_per_endpoint
                    .get_mut(&key)
                    .and_then(RandomFaults::draw)
            })
            .or_else(|| st.random_all.as_mut().and_then(RandomFaults::draw));
        if fault.is_some() {
            self.inner.injected.fetch_add(1, Ordering::Relaxed);
        }
        fault
    }

    /// Scripted faults still waiting for calls to `endpoint`.
    pub fn pending(&self, endpoint: &str) -> usize {
        self.lock()
            .scripted
            .get(&endpoint_key(endpoint))
            .map_or(0, VecDeque::len)
    }

    /// Faults served so far.
    pub fn injected(&self) -> u64 {
        self.inner.injected.load(Ordering::Relaxed)
    }
}

/// Calls per endpoint, for tests to inspect: cheap to clone, shared.
#[derive(Clone, Default)]
pub struct Counters {
    inner: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.snapshot()).finish()
    }
}

impl Counters {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, u64>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one call to `endpoint`.
    pub fn hit(&self, endpoint: &str) {
        *self.lock().entry(endpoint_key(endpoint)).or_insert(0) += 1;
    }

    /// Calls to `endpoint` so far.
    pub fn get(&self, endpoint: &str) -> u64 {
        self.lock()
            .get(&endpoint_key(endpoint))
            .copied()
            .unwrap_or(0)
    }

    /// Calls to every endpoint so far.
    pub fn total(&self) -> u64 {
        self.lock().values().sum()
    }

    /// The total as it will be `after` from now: a test that no call is made in a span that
    /// starts now compares it with the total now.
    pub fn total_after(&self, after: std::time::Duration) -> tokio::task::JoinHandle<u64> {
        let counters = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            counters.total()
        })
    }

    /// Every endpoint's count.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.lock().clone()
    }

    /// Forgets every count.
    pub fn reset(&self) {
        self.lock().clear();
    }
}

/// A stand-in body for [`Fault::Truncated`] and [`Fault::Reset`] when the caller has none.
const FALLBACK_BODY: &str =
    r#"[{"ID":1,"Name":"fault injection"},{"ID":2,"Name":"fault injection"}]"#;

fn json_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// The first half of `body`, cut on a character boundary.
fn first_half(body: &str) -> String {
    let mut cut = body.len() / 2;
    while cut > 0 && !body.is_char_boundary(cut) {
        cut -= 1;
    }
    body[..cut].to_string()
}

/// Renders a fault as an axum response (Delay is handled by the caller: sleep then answer
/// normally, so it gives `None` here). `normal_json_body` is what the call would have
/// answered; Truncated and Reset cut it short.
pub async fn respond_with(fault: &Fault, normal_json_body: Option<String>) -> Option<Response> {
    let normal = normal_json_body.unwrap_or_else(|| FALLBACK_BODY.to_string());
    match fault {
        Fault::Delay(_) => None,
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = format!(
                r#"{{"Message":"injected fault: HTTP {}"}}"#,
                status.as_u16()
            );
            Some(json_response(status, body))
        }
        Fault::Hang => {
            tokio::time::sleep(HANG_FOR).await;
            Some(json_response(
                StatusCode::GATEWAY_TIMEOUT,
                r#"{"Message":"injected fault: hang"}"#.to_string(),
            ))
        }
        Fault::Malformed => Some(json_response(
            StatusCode::OK,
            "<html><body>Service Unavailable</body></html> {\"ID\": ".to_string(),
        )),
        // A bare number or string cut short is still a valid document (`1299` → `12`): a wrong
        // answer, not a broken one. Real truncation of such a body shows as a connection closed
        // before Content-Length bytes, so it is served that way.
        Fault::Truncated if !normal.trim_start().starts_with(['{', '[']) => {
            Some(reset_response(&normal))
        }
        Fault::Truncated => Some(json_response(StatusCode::OK, first_half(&normal))),
        Fault::Reset => Some(reset_response(&normal)),
    }
}

/// How long a [`Fault::Reset`] reply stalls after its first half, so that half reaches the
/// client before the connection is dropped.
const RESET_STALL: Duration = Duration::from_millis(20);

/// A reply that promises the whole body (`Content-Length`) but sends half of it, stalls, and
/// then fails its body stream: hyper aborts the connection mid-reply, as a reset would.
fn reset_response(normal: &str) -> Response {
    let half = Bytes::from(first_half(normal));
    let promised = normal.len().max(half.len() + 1);
    let stream = futures::stream::unfold(0u8, move |step| {
        let half = half.clone();
        async move {
            match step {
                0 => Some((Ok(half), 1)),
                1 => {
                    tokio::time::sleep(RESET_STALL).await;
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "injected fault: connection reset",
                        )),
                        2,
                    ))
                }
                _ => None,
            }
        }
    });
    let mut r = Response::new(Body::from_stream(stream));
    let headers = r.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(promised));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_faults_are_served_in_order_per_endpoint() {
        let f = Faults::default();
        f.script("POST /user/search", [Fault::Status(500), Fault::Malformed]);
        assert_eq!(f.next_for("GET /user/{id}"), None);
        // keys are normalised: method case, path case, trailing slash
        assert_eq!(f.next_for("post /User/Search/"), Some(Fault::Status(500)));
        assert_eq!(f.pending("POST /user/search"), 1);
        assert_eq!(f.next_for("POST /user/search"), Some(Fault::Malformed));
        assert_eq!(f.next_for("POST /user/search"), None);
        assert_eq!(f.injected(), 2);
    }

    #[test]
    fn random_faults_are_deterministic_per_seed() {
        let draw = |seed| {
            let f = Faults::default();
            f.random(None, 0.5, vec![Fault::Status(503), Fault::Reset], seed);
            (0..100).map(|_| f.next_for("GET /x")).collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7));
        let hits = a.iter().filter(|x| x.is_some()).count();
        assert!(
            (25..=75).contains(&hits),
            "{hits} faults out of 100 at p=0.5"
        );
        assert!(a.contains(&Some(Fault::Reset)) && a.contains(&Some(Fault::Status(503))));
    }

    #[test]
    fn random_per_endpoint_only_touches_that_endpoint_and_clear_stops_it() {
        let f = Faults::default();
        f.random(Some("GET /user/{id}"), 1.0, vec![Fault::Hang], 1);
        assert_eq!(f.next_for("GET /user/{id}"), Some(Fault::Hang));
        assert_eq!(f.next_for("POST /user"), None);
        f.clear();
        assert_eq!(f.next_for("GET /user/{id}"), None);
        assert_eq!(f.injected(), 1);
    }

    #[test]
    fn counters_count_per_endpoint() {
        let c = Counters::default();
        c.hit("POST /user/search");
        c.hit("post /USER/search");
        c.hit("GET /customer");
        assert_eq!(c.get("POST /user/search"), 2);
        assert_eq!(c.total(), 3);
        assert_eq!(c.snapshot().len(), 2);
        c.reset();
        assert_eq!(c.total(), 0);
    }

    #[tokio::test]
    async fn responses_match_their_fault() {
        let body = r#"[{"ID":1},{"ID":2}]"#.to_string();
        assert!(
            respond_with(&Fault::Delay(Duration::from_millis(1)), None)
                .await
                .is_none()
        );
        let r = respond_with(&Fault::Status(503), None).await.unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let r = respond_with(&Fault::Truncated, Some(body.clone()))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = respond_with(&Fault::Reset, Some(body.clone()))
            .await
            .unwrap();
        assert_eq!(
            r.headers().get(header::CONTENT_LENGTH).unwrap(),
            &HeaderValue::from(body.len())
        );
        assert_eq!(first_half("abcdef"), "abc");
        assert_eq!(first_half("é"), "");
    }

    /// Sends one raw HTTP/1.1 request and reads until the server closes the connection.
    async fn raw_call(addr: std::net::SocketAddr) -> Vec<u8> {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        let mut sent = 0;
        while sent < req.len() {
            stream.writable().await.unwrap();
            match stream.try_write(&req[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            stream.readable().await.unwrap();
            match stream.try_read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        got
    }

    #[tokio::test]
    async fn reset_drops_the_connection_before_the_promised_length() {
        let body = r#"[{"ID":1,"Name":"a"},{"ID":2,"Name":"b"}]"#.to_string();
        let served = body.clone();
        let app = axum::Router::new().route(
            "/x",
            axum::routing::get(move || {
                let b = served.clone();
                async move { respond_with(&Fault::Reset, Some(b)).await.unwrap() }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let got = tokio::time::timeout(Duration::from_secs(5), raw_call(addr))
            .await
            .expect("server closed the connection");
        server.abort();
        let text = String::from_utf8_lossy(&got);
        let (head, rest) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("got {text:?}"));
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        assert!(
            rest.len() < body.len(),
            "only part of the body arrives: {rest}"
        );
    }
}
