//! The HTTP side of the PICS simulator: one catch-all handler that routes (case-insensitively,
//! trailing slash accepted, as ASP.NET does), counts, injects faults, authenticates and answers.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;
use serde_json::{Value, json};

use super::model::{SimLearner, SimReview};
use super::patch;
use super::store::PicsStore;
use crate::faults::{Counters, Fault, Faults, respond_with};

/// The path every endpoint lives under.
pub const BASE_PATH: &str = "/app/api/v1";

/// A closure run on the store just before the next write to a learner is checked.
pub type WriteHook = Box<dyn FnOnce(&mut PicsStore) + Send>;

/// What the handlers share.
pub(crate) struct Shared {
    pub inner: Mutex<Inner>,
    pub faults: Faults,
    pub counters: Counters,
    /// 401s answered.
    pub unauthorized: AtomicU64,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test closure must not poison the simulator for every later call.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The simulator's mutable state.
pub(crate) struct Inner {
    pub store: PicsStore,
    /// API users: (username, password).
    pub users: Vec<(String, String)>,
    pub token_lifetime: Duration,
    /// Live tokens and when they expire.
    pub tokens: HashMap<String, Instant>,
    /// Every token ever issued (tests check that none leaks into errors or logs).
    pub issued: Vec<String>,
    pub page_size_cap: Option<u32>,
    /// `Retry-After` sent with injected 429s.
    pub retry_after: Option<Duration>,
    pub hooks: HashMap<String, VecDeque<WriteHook>>,
}

/// The endpoints of the PICS contract (`picsync_pics`'s crate page), with their ids
/// (percent-decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Authentication,
    Learners,
    Learner(String),
    Qualification(String, String),
    Reviews(String),
    Review(String, String),
    Officer(String),
    Organisation(String),
}

impl Route {
    fn parse(segments: &[String]) -> Option<Route> {
        let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
        let lit: Vec<&str> = lower.iter().map(String::as_str).collect();
        let id = |i: usize| segments[i].clone();
        Some(match lit.as_slice() {
            ["authentication"] => Route::Authentication,
            ["learners"] => Route::Learners,
            ["learners", _] => Route::Learner(id(1)),
            ["learners", _, "qualifications", _] => Route::Qualification(id(1), id(3)),
            ["learners", _, "reviews"] => Route::Reviews(id(1)),
            ["learners", _, "reviews", _] => Route::Review(id(1), id(3)),
            ["officers", _] => Route::Officer(id(1)),
            ["organisations", _] => Route::Organisation(id(1)),
            _ => return None,
        })
    }

    /// The lower-case path template used as the endpoint key of faults and counters.
    fn template(&self) -> &'static str {
        match self {
            Route::Authentication => "/authentication",
            Route::Learners => "/learners",
            Route::Learner(_) => "/learners/{id}",
            Route::Qualification(..) => "/learners/{id}/qualifications/{id}",
            Route::Reviews(_) => "/learners/{id}/reviews",
            Route::Review(..) => "/learners/{id}/reviews/{id}",
            Route::Officer(_) => "/officers/{id}",
            Route::Organisation(_) => "/organisations/{id}",
        }
    }

    fn allows(&self, m: &Method) -> bool {
        match self {
            Route::Authentication | Route::Reviews(_) => m == Method::POST,
            Route::Learners => m == Method::GET,
            Route::Qualification(..) | Route::Review(..) => m == Method::PATCH,
            Route::Learner(_) | Route::Officer(_) | Route::Organisation(_) => {
                m == Method::GET || m == Method::PATCH
            }
        }
    }
}

/// Decodes `%XX` escapes of one path segment; `None` when malformed.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The path's segments under [`BASE_PATH`]; `None` when outside it.
fn segments(path: &str) -> Option<Result<Vec<String>, ()>> {
    let base = BASE_PATH.to_ascii_lowercase();
    let lower = path.to_ascii_lowercase();
    let rest = lower.strip_prefix(&base)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let rest = &path[path.len() - rest.len()..];
    let rest = rest.trim_start_matches('/');
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Some(Ok(Vec::new()));
    }
    Some(
        rest.split('/')
            .map(|s| percent_decode(s).filter(|d| !d.is_empty()).ok_or(()))
            .collect(),
    )
}

/// An answer before rendering.
pub(crate) struct Reply {
    status: StatusCode,
    body: Option<Value>,
    etag: Option<String>,
}

impl Reply {
    fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            etag: None,
        }
    }

    fn message(status: StatusCode, message: impl Into<String>) -> Self {
        Self::json(status, json!({ "Message": message.into() }))
    }

    fn empty(status: StatusCode) -> Self {
        Self {
            status,
            body: None,
            etag: None,
        }
    }

    fn body_text(&self) -> Option<String> {
        self.body.as_ref().map(Value::to_string)
    }

    fn into_response(self) -> Response {
        let mut r = match &self.body {
            Some(b) => (self.status, b.to_string()).into_response(),
            None => self.status.into_response(),
        };
        let h = r.headers_mut();
        if self.body.is_some() {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
        }
        if let Some(etag) = self
            .etag
            .and_then(|e| HeaderValue::from_str(&format!("\"{e}\"")).ok())
        {
            h.insert(header::ETAG, etag);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

type Answer = Result<Reply, Reply>;

fn bad_request(message: impl Into<String>) -> Reply {
    Reply::message(StatusCode::BAD_REQUEST, message)
}

fn not_found(what: &str, id: &str) -> Reply {
    Reply::message(StatusCode::NOT_FOUND, format!("{what} {id} was not found"))
}

/// The catch-all handler: route, count, inject a fault, authenticate, answer.
pub(crate) async fn dispatch(
    State(sh): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = match segments(uri.path()) {
        Some(Ok(segs)) => Route::parse(&segs),
        Some(Err(())) => {
            return bad_request("the path holds an empty or malformed segment").into_response();
        }
        None => None,
    };
    let Some(route) = route else {
        sh.counters.hit(&format!("{method} {}", uri.path()));
        return Reply::message(StatusCode::NOT_FOUND, "no such endpoint").into_response();
    };
    let key = format!("{method} {}", route.template());
    sh.counters.hit(&key);
    if !route.allows(&method) {
        return Reply::message(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed on {}", route.template()),
        )
        .into_response();
    }
    // Status, Hang and Malformed answer instead of the call (nothing is written); Truncated and
    // Reset break the reply of a call that did happen (a write is applied, its answer lost).
    let mut break_reply = None;
    let concrete = format!("{method} {}", uri.path());
    if let Some(fault) = sh
        .faults
        .always_for(&concrete)
        .or_else(|| sh.faults.next_for(&key))
    {
        match fault {
            Fault::Delay(d) => tokio::time::sleep(d).await,
            Fault::Truncated | Fault::Reset => break_reply = Some(fault),
            other => return injected(&sh, &other).await,
        }
    }
    let reply = answer(&sh, &method, route, &uri, &headers, &body);
    if reply.status == StatusCode::UNAUTHORIZED {
        sh.unauthorized.fetch_add(1, Ordering::Relaxed);
    }
    match break_reply {
        Some(fault) => match respond_with(&fault, reply.body_text()).await {
            Some(r) => r,
            None => reply.into_response(),
        },
        None => reply.into_response(),
    }
}

/// An injected fault's answer (a 429 carries the configured `Retry-After`).
async fn injected(sh: &Shared, fault: &Fault) -> Response {
    let Some(mut r) = respond_with(fault, None).await else {
        return Reply::message(StatusCode::INTERNAL_SERVER_ERROR, "fault").into_response();
    };
    if r.status() == StatusCode::UNAUTHORIZED {
        sh.unauthorized.fetch_add(1, Ordering::Relaxed);
    }
    if r.status() == StatusCode::TOO_MANY_REQUESTS {
        let after = sh.lock().retry_after;
        if let Some(v) = after.and_then(|d| HeaderValue::from_str(&d.as_secs().to_string()).ok()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    r
}

/// Answers one call, under the store's lock (so a call sees and leaves a consistent store).
fn answer(
    sh: &Shared,
    method: &Method,
    route: Route,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Reply {
    let mut inner = sh.lock();
    let result = if route == Route::Authentication {
        authenticate(&mut inner, body)
    } else {
        authorise(&mut inner, headers)
            .and_then(|()| serve(&mut inner, method, route, uri, headers, body))
    };
    result.unwrap_or_else(|e| e)
}

/// `POST /Authentication`.
fn authenticate(inner: &mut Inner, body: &[u8]) -> Answer {
    let f = patch::object(body).map_err(bad_request)?;
    let (Some(user), Some(pass)) = (
        f.get("Username").and_then(Value::as_str),
        f.get("Password").and_then(Value::as_str),
    ) else {
        return Err(bad_request("Username and Password are required"));
    };
    if !inner.users.iter().any(|(u, p)| u == user && p == pass) {
        return Err(Reply::message(
            StatusCode::UNAUTHORIZED,
            "The user name or password is incorrect.",
        ));
    }
    let now = Instant::now();
    inner.tokens.retain(|_, expires| *expires > now);
    let token = inner.store.random_text(48);
    let lifetime = inner.token_lifetime;
    inner.tokens.insert(token.clone(), now + lifetime);
    inner.issued.push(token.clone());
    let expires =
        Utc::now() + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::MAX);
    Ok(Reply::json(
        StatusCode::OK,
        json!({
            "Token": token,
            "ExpiresUtc": expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }),
    ))
}

/// Checks `Authorization: Bearer <token>`.
fn authorise(inner: &mut Inner, headers: &HeaderMap) -> Result<(), Reply> {
    let denied = || {
        Reply::message(
            StatusCode::UNAUTHORIZED,
            "Authorization has been denied for this request.",
        )
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(denied)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(denied)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(denied());
    }
    match inner.tokens.get(token.trim()) {
        Some(expires) if *expires > Instant::now() => Ok(()),
        _ => Err(denied()),
    }
}

fn serve(
    inner: &mut Inner,
    method: &Method,
    route: Route,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Answer {
    let get = method == Method::GET;
    match route {
        Route::Authentication => Err(bad_request("unexpected route")),
        Route::Learners => list_learners(inner, uri),
        Route::Learner(id) if get => {
            let l = inner
                .store
                .learner(&id)
                .ok_or_else(|| not_found("learner", &id))?;
            Ok(Reply::json(StatusCode::OK, to_json(l)?))
        }
        Route::Learner(id) => {
            let f = patch::object(body).map_err(bad_request)?;
            learner_write(inner, &id, headers, StatusCode::OK, |_, l| {
                patch::learner(l, &f).map_err(bad_request)?;
                Ok(None)
            })
        }
        Route::Qualification(id, qid) => {
            let f = patch::object(body).map_err(bad_request)?;
            learner_write(inner, &id, headers, StatusCode::OK, |_, l| {
                let q = l
                    .qualification_mut(&qid)
                    .ok_or_else(|| not_found("qualification", &qid))?;
                patch::qualification(q, &f).map_err(bad_request)?;
                Ok(None)
            })
        }
        Route::Reviews(id) => {
            let f = patch::object(body).map_err(bad_request)?;
            learner_write(inner, &id, headers, StatusCode::CREATED, |store, l| {
                let mut r = SimReview {
                    review_id: store.new_id(),
                    ..SimReview::default()
                };
                patch::review(&mut r, &f).map_err(bad_request)?;
                check_review(store, l, &r)?;
                let review_id = r.review_id.clone();
                l.reviews.push(r);
                Ok(Some(review_id))
            })
        }
        Route::Review(id, rid) => {
            let f = patch::object(body).map_err(bad_request)?;
            learner_write(inner, &id, headers, StatusCode::OK, |store, l| {
                let i = l
                    .reviews
                    .iter()
                    .position(|r| r.review_id == rid)
                    .ok_or_else(|| not_found("review", &rid))?;
                let mut r = l.reviews[i].clone();
                patch::review(&mut r, &f).map_err(bad_request)?;
                check_review(store, l, &r)?;
                l.reviews[i] = r;
                Ok(None)
            })
        }
        Route::Officer(id) if get => {
            let o = inner
                .store
                .officer(&id)
                .ok_or_else(|| not_found("officer", &id))?;
            Ok(Reply::json(StatusCode::OK, to_json(o)?))
        }
        Route::Officer(id) => {
            let f = patch::object(body).map_err(bad_request)?;
            let mut o = inner
                .store
                .officer(&id)
                .cloned()
                .ok_or_else(|| not_found("officer", &id))?;
            patch::officer(&mut o, &f).map_err(bad_request)?;
            inner.store.insert_officer(o);
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        Route::Organisation(id) if get => {
            let o = inner
                .store
                .organisation(&id)
                .ok_or_else(|| not_found("organisation", &id))?;
            Ok(Reply::json(StatusCode::OK, to_json(o)?))
        }
        Route::Organisation(id) => {
            let f = patch::object(body).map_err(bad_request)?;
            let mut o = inner
                .store
                .organisation(&id)
                .cloned()
                .ok_or_else(|| not_found("organisation", &id))?;
            patch::organisation(&mut o, &f).map_err(bad_request)?;
            inner.store.insert_organisation(o);
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<Value, Reply> {
    serde_json::to_value(v).map_err(|e| {
        Reply::message(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot render: {e}"),
        )
    })
}

/// A review must name a known officer, and no other review of the learner may hold its
/// OneFile System ID (409: what keeps a repeated download from creating a second review).
fn check_review(store: &PicsStore, l: &SimLearner, r: &SimReview) -> Result<(), Reply> {
    if let Some(o) = &r.reviewer_officer_id {
        if store.officer(o).is_none() {
            return Err(bad_request(format!(
                "ReviewerOfficerId {o} is not an officer"
            )));
        }
    }
    if let Some(sys) = r.one_file_system_id {
        if let Some(other) = l
            .reviews
            .iter()
            .find(|x| x.one_file_system_id == Some(sys) && x.review_id != r.review_id)
        {
            return Err(Reply::message(
                StatusCode::CONFLICT,
                format!(
                    "review {} already holds OneFileSystemId {sys}",
                    other.review_id
                ),
            ));
        }
    }
    Ok(())
}

/// The value of `If-Match`, without quotes or a weak marker.
fn if_match(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::IF_MATCH)?.to_str().ok()?.trim();
    let v = v.strip_prefix("W/").unwrap_or(v).trim_matches('"');
    (!v.is_empty()).then(|| v.to_string())
}

/// A write under a learner (R41): the learner must exist, `If-Match` must be given (428) and
/// equal its RowVersion (412) — after running the test's hook, if one waits for this learner.
/// `change` edits a copy; the copy replaces the learner only if it succeeds, so a refused
/// write changes nothing. Answers `{"RowVersion", ["ReviewId"]}` and the `ETag`.
fn learner_write(
    inner: &mut Inner,
    id: &str,
    headers: &HeaderMap,
    status: StatusCode,
    change: impl FnOnce(&mut PicsStore, &mut SimLearner) -> Result<Option<String>, Reply>,
) -> Answer {
    if inner.store.learner(id).is_none() {
        return Err(not_found("learner", id));
    }
    let expected = if_match(headers).ok_or_else(|| {
        Reply::message(
            StatusCode::PRECONDITION_REQUIRED,
            "If-Match with the learner's RowVersion is required for writes under a learner",
        )
    })?;
    if let Some(hook) = inner.hooks.get_mut(id).and_then(VecDeque::pop_front) {
        hook(&mut inner.store);
        inner.store.settle();
    }
    let mut draft = inner
        .store
        .learner(id)
        .cloned()
        .ok_or_else(|| not_found("learner", id))?;
    if draft.row_version != expected {
        return Err(Reply::message(
            StatusCode::PRECONDITION_FAILED,
            "The learner was changed after it was read (RowVersion does not match).",
        ));
    }
    let review_id = change(&mut inner.store, &mut draft)?;
    inner.store.insert_learner(draft);
    inner.store.settle();
    let row_version = inner
        .store
        .learner(id)
        .map(|l| l.row_version.clone())
        .unwrap_or_default();
    let mut body = json!({ "RowVersion": row_version });
    if let Some(r) = review_id {
        body["ReviewId"] = Value::String(r);
    }
    let mut reply = Reply::json(status, body);
    reply.etag = Some(row_version);
    Ok(reply)
}

/// One row of `GET /Learners`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Summary<'a> {
    learner_id: &'a str,
    ident: &'a str,
    one_file_id: Option<i64>,
    system_status: Option<&'a str>,
    episode_status: Option<&'a str>,
    actual_end_date: Option<chrono::NaiveDate>,
    last_modified: Option<chrono::NaiveDateTime>,
}

impl<'a> From<&'a SimLearner> for Summary<'a> {
    fn from(l: &'a SimLearner) -> Self {
        Self {
            learner_id: &l.learner_id,
            ident: &l.ident,
            one_file_id: l.one_file_id,
            system_status: l.system_status.as_deref(),
            episode_status: l.episode_status.as_deref(),
            actual_end_date: l.actual_end_date,
            last_modified: l.last_modified,
        }
    }
}

/// Default page size of `GET /Learners` when none is asked for.
const DEFAULT_PAGE_SIZE: u32 = 100;

/// `GET /Learners?oneFileLinked&modifiedSince&page&pageSize` (parameter names in any case),
/// ordered by LearnerId; `modifiedSince` is inclusive.
fn list_learners(inner: &Inner, uri: &Uri) -> Answer {
    let Query(params) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| bad_request(format!("bad query string: {e}")))?;
    let (mut linked, mut since, mut page, mut size) = (None, None, 1u32, DEFAULT_PAGE_SIZE);
    for (k, v) in &params {
        match k.to_ascii_lowercase().as_str() {
            "onefilelinked" => {
                linked = Some(match v.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad_request("oneFileLinked must be true or false")),
                });
            }
            "modifiedsince" => {
                since = Some(patch::parse_local_datetime(v).ok_or_else(|| {
                    bad_request("modifiedSince must be a local date-time YYYY-MM-DDTHH:MM:SS")
                })?);
            }
            "page" => page = positive(v).ok_or_else(|| bad_request("page must be 1 or more"))?,
            "pagesize" => {
                size = positive(v).ok_or_else(|| bad_request("pageSize must be 1 or more"))?;
            }
            _ => {}
        }
    }
    let size = inner.page_size_cap.map_or(size, |cap| size.min(cap.max(1)));
    let matching: Vec<&SimLearner> = inner
        .store
        .state()
        .learners
        .values()
        .filter(|l| linked.is_none_or(|want| l.one_file_id.is_some() == want))
        .filter(|l| since.is_none_or(|t| l.last_modified.is_some_and(|m| m >= t)))
        .collect();
    let skip = usize::try_from(u64::from(page - 1) * u64::from(size)).unwrap_or(usize::MAX);
    let items: Vec<Summary> = matching
        .iter()
        .skip(skip)
        .take(size as usize)
        .map(|l| Summary::from(*l))
        .collect();
    Ok(Reply::json(
        StatusCode::OK,
        json!({
            "Items": to_json(&items)?,
            "Page": page,
            "PageSize": size,
            "TotalCount": matching.len(),
        }),
    ))
}

fn positive(v: &str) -> Option<u32> {
    v.trim().parse::<u32>().ok().filter(|n| *n >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Option<Result<Vec<String>, ()>> {
        segments(p)
    }

    #[test]
    fn routes_are_case_insensitive_with_decoded_ids() {
        let s = segs("/APP/api/V1/Learners/a%2Fb/QUALIFICATIONS/q1/")
            .unwrap()
            .unwrap();
        assert_eq!(
            Route::parse(&s),
            Some(Route::Qualification("a/b".into(), "q1".into()))
        );
        assert_eq!(
            Route::parse(&segs("/app/api/v1/authentication").unwrap().unwrap()),
            Some(Route::Authentication)
        );
        assert!(segs("/app/api/v10/learners").is_none());
        assert!(segs("/other").is_none());
        assert_eq!(segs("/app/api/v1/learners/%zz"), Some(Err(())));
        assert_eq!(
            Route::parse(&segs("/app/api/v1/learners/x/y").unwrap().unwrap()),
            None
        );
    }

    #[test]
    fn templates_and_methods() {
        let r = Route::Review("a".into(), "b".into());
        assert_eq!(r.template(), "/learners/{id}/reviews/{id}");
        assert!(r.allows(&Method::PATCH) && !r.allows(&Method::GET));
        assert!(Route::Learner("x".into()).allows(&Method::GET));
        assert!(!Route::Learners.allows(&Method::POST));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(percent_decode("%+1"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
    }
}
