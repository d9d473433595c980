//! One catch-all handler: lower-cases the path, drops the `/api/v2.1` prefix and a trailing
//! slash, and dispatches. Before any endpoint runs, the call is counted, its session (or
//! customer token) checked, the rate window consulted, and the fault plan asked.
//!
//! Faults: `Status` and `Hang` answer without touching the store; `Delay` sleeps and then
//! answers normally; `Malformed`, `Truncated` and `Reset` let the call change the store and
//! then spoil the reply — the nastiest real case, where a record was created but the client
//! never learns its id (§7).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use picsync_domain::{DemographicField, FieldKind, Value as Field};
use serde_json::{Value, json};

use super::render;
use super::request::{BadRequest, Checked, Req, set_opt};
use super::store::{
    SimAssignment, SimClassroom, SimLearningAim, SimPlacement, SimReview, SimUser, SimVisit, Store,
    role,
};
use super::{Quirks, Shared};
use crate::faults::{Fault, respond_with};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// Record kinds in paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Organisation,
    User,
    Classroom,
    Placement,
    Standard,
    LearningAim,
    Visit,
    Review,
}

impl Kind {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "organisation" => Kind::Organisation,
            "user" => Kind::User,
            "classroom" => Kind::Classroom,
            "placement" => Kind::Placement,
            "standard" => Kind::Standard,
            "learningaim" => Kind::LearningAim,
            "visit" => Kind::Visit,
            "review" => Kind::Review,
            _ => return None,
        })
    }
}

/// A page request: `/search/{page}/{size}`.
type Paging = Option<(u32, u32)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Auth,
    Customer,
    Search(Kind, Paging),
    Get(Kind, i64),
    Create(Kind),
    Update(Kind, i64),
    UserAssign(i64),
    StandardAssign(i64, i64),
}

/// The path's segments, lower-cased, without the `/api/v2.1` prefix or empty segments.
fn segments(uri: &Uri) -> Vec<String> {
    let path = uri.path().to_ascii_lowercase();
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    match segs.as_slice() {
        [api, version, rest @ ..] if api == "api" && version == "v2.1" => rest.to_vec(),
        _ => segs,
    }
}

fn num(s: &str) -> Option<i64> {
    s.parse().ok().filter(|n| *n > 0)
}

/// The route of a call, or its endpoint key when there is none.
fn route(method: &Method, segs: &[String]) -> Option<Route> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let post = method == Method::POST;
    let get = method == Method::GET;
    Some(match s.as_slice() {
        ["authentication"] if post => Route::Auth,
        ["customer"] if get => Route::Customer,
        [k, "search"] if post => Route::Search(searchable(k)?, None),
        [k, "search", p, z] if post => {
            Route::Search(searchable(k)?, Some((p.parse().ok()?, z.parse().ok()?)))
        }
        ["user", id, "assign"] if post => Route::UserAssign(num(id)?),
        ["standard", sid, "assign", lid] if post => Route::StandardAssign(num(sid)?, num(lid)?),
        [k, id] if get => match Kind::parse(k)? {
            k @ (Kind::User | Kind::Placement | Kind::LearningAim | Kind::Review) => {
                Route::Get(k, num(id)?)
            }
            _ => return None,
        },
        [k, id] if post => match Kind::parse(k)? {
            k @ (Kind::User | Kind::Placement | Kind::LearningAim) => Route::Update(k, num(id)?),
            _ => return None,
        },
        [k] if post => match Kind::parse(k)? {
            k @ (Kind::User | Kind::Classroom | Kind::Placement | Kind::Visit | Kind::Review) => {
                Route::Create(k)
            }
            _ => return None,
        },
        _ => return None,
    })
}

fn searchable(k: &str) -> Option<Kind> {
    Kind::parse(k)
}

/// `"<METHOD> <lower-case path template>"`: numbers become `{id}`; paging is not part of it.
fn endpoint_key(method: &Method, segs: &[String]) -> String {
    let template: Vec<&str> = if segs.get(1).is_some_and(|s| s == "search") {
        segs.iter().take(2).map(String::as_str).collect()
    } else {
        segs.iter()
            .map(|s| {
                if s.bytes().all(|b| b.is_ascii_digit()) {
                    "{id}"
                } else {
                    s.as_str()
                }
            })
            .collect()
    };
    format!("{method} /{}", template.join("/"))
}

/// A reply before faults are applied.
struct Reply {
    status: StatusCode,
    /// JSON text (or the bare session).
    body: Option<String>,
    json: bool,
}

impl Reply {
    fn json(v: &Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(v.to_string()),
            json: true,
        }
    }

    fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            json: false,
        }
    }

    fn message(status: StatusCode, msg: &str) -> Self {
        Self {
            status,
            body: Some(json!({ "Message": msg }).to_string()),
            json: true,
        }
    }

    fn not_found(what: &str) -> Self {
        Self::message(StatusCode::NOT_FOUND, &format!("{what} was not found."))
    }

    fn into_response(self) -> Response {
        let mut r = match self.body {
            Some(b) => (self.status, b).into_response(),
            None => self.status.into_response(),
        };
        let ct = if self.json {
            "application/json; charset=utf-8"
        } else {
            "text/plain; charset=utf-8"
        };
        if self.status != StatusCode::NO_CONTENT {
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        r
    }
}

impl From<BadRequest> for Reply {
    fn from(b: BadRequest) -> Self {
        Reply::message(StatusCode::BAD_REQUEST, &b.0)
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn too_many(left: Duration, q: &Quirks) -> Response {
    let mut r = Reply::message(
        StatusCode::TOO_MANY_REQUESTS,
        "API calls quota exceeded! Maximum admitted calls per window reached.",
    )
    .into_response();
    if q.retry_after {
        // Whole seconds in real life; fractional here so that tests can scale a minute down.
        let secs = left.as_secs_f64();
        let text = if left.subsec_nanos() == 0 {
            format!("{}", left.as_secs())
        } else {
            format!("{secs:.3}")
        };
        if let Ok(v) = HeaderValue::from_str(&text) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    r
}

async fn handle(
    State(sim): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let segs = segments(&uri);
    let key = endpoint_key(&method, &segs);
    sim.counters.hit(&key);
    let Some(route) = route(&method, &segs) else {
        return Reply::message(
            StatusCode::NOT_FOUND,
            &format!(
                "No HTTP resource was found that matches the request URI '{}'.",
                uri.path()
            ),
        )
        .into_response();
    };
    let quirks = sim.quirks();

    // The front door: a customer token for Authentication, a live session for the rest.
    let token = if route == Route::Auth {
        let given = header_str(&headers, "x-customertoken");
        let mut gate = sim.gate();
        match given {
            Some(t) if gate.accepts(t) => t.to_string(),
            _ => {
                gate.refuse();
                return Reply::message(StatusCode::UNAUTHORIZED, "Invalid customer token.")
                    .into_response();
            }
        }
    } else {
        let session = header_str(&headers, "x-tokenid");
        let token = sim.gate().token_of(session);
        match token {
            Some(t) => t,
            None => {
                return Reply::message(
                    StatusCode::UNAUTHORIZED,
                    "Authorization has been denied for this request.",
                )
                .into_response();
            }
        }
    };
    let admitted = sim.gate().admit(&token);
    if let Err(left) = admitted {
        sim.limited.hit(&key);
        return too_many(left, &quirks);
    }

    let concrete = format!("{method} {}", uri.path());
    let fault = sim
        .faults
        .always_for_body(&concrete, &String::from_utf8_lossy(&body))
        .or_else(|| sim.faults.next_for(&key));
    match &fault {
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        Some(f @ (Fault::Status(_) | Fault::Hang)) => {
            if let Some(r) = respond_with(f, None).await {
                return r;
            }
        }
        _ => {}
    }

    let reply = if route == Route::Auth {
        let session = sim.gate().issue(&token);
        if quirks.quote_session {
            Reply::json(&Value::String(session))
        } else {
            Reply {
                status: StatusCode::OK,
                body: Some(session),
                json: false,
            }
        }
    } else {
        let mut store = sim.store();
        dispatch(&mut store, route, &body, &quirks).unwrap_or_else(Reply::from)
    };

    if let Some(f @ (Fault::Malformed | Fault::Truncated | Fault::Reset)) = &fault {
        if let Some(r) = respond_with(f, reply.body.clone()).await {
            return r;
        }
    }
    reply.into_response()
}

/// Runs one endpoint against the store.
fn dispatch(store: &mut Store, route: Route, body: &[u8], q: &Quirks) -> Checked<Reply> {
    let req = Req::parse(body)?;
    match route {
        Route::Auth => Ok(Reply::no_content()),
        Route::Customer => Ok(Reply::json(
            &json!({"ID": store.customer.id, "Name": store.customer.name}),
        )),
        Route::Search(kind, paging) => search(store, kind, paging, &req, q),
        Route::Get(kind, id) => Ok(get(store, kind, id, q)),
        Route::Create(kind) => create(store, kind, &req, q),
        Route::Update(kind, id) => update(store, kind, id, &req, q),
        Route::UserAssign(id) => assign_user(store, id, &req),
        Route::StandardAssign(sid, lid) => assign_standard(store, sid, lid, &req, q),
    }
}

/// A search result: the page asked for (the cap applies), 204 or `[]` when empty.
fn listing<T>(
    store: &Store,
    items: Vec<&T>,
    paging: Paging,
    q: &Quirks,
    render: impl Fn(&T) -> Value,
) -> Checked<Reply> {
    let items: Vec<&T> = match paging {
        None => items,
        Some((page, size)) => {
            if page == 0 || size == 0 {
                return Err(BadRequest("Page and size start from 1.".into()));
            }
            let served = q.page_size_cap.map_or(size, |c| size.min(c.max(1))) as usize;
            let skip = (page as usize - 1).saturating_mul(served);
            items.into_iter().skip(skip).take(served).collect()
        }
    };
    if items.is_empty() && q.empty_as_204 {
        return Ok(Reply::no_content());
    }
    Ok(Reply::json(&Value::Array(
        items
            .into_iter()
            .map(|t| render::with_overrides(store, render(t)))
            .collect(),
    )))
}

fn matches_text(filter: &Option<String>, value: &str) -> bool {
    filter
        .as_deref()
        .is_none_or(|f| f.trim().eq_ignore_ascii_case(value.trim()))
}

fn search(store: &Store, kind: Kind, paging: Paging, req: &Req, q: &Quirks) -> Checked<Reply> {
    match kind {
        Kind::Organisation => {
            let customer = req.i64("CustomerID")?;
            let ok = customer.is_none_or(|c| c == store.customer.id);
            let items = store.centres.values().filter(|_| ok).collect();
            listing(store, items, paging, q, render::centre)
        }
        Kind::User => {
            let org = req.i64("OrganisationID")?;
            let role = req.i64("Role")?;
            let first = req.string("FirstName")?;
            let last = req.string("LastName")?;
            let mis = req.string("MISID")?;
            let since = req.instant("LastModified")?;
            let items = store
                .users
                .values()
                .filter(|u| org.is_none_or(|o| u.organisation_id == o))
                .filter(|u| role.is_none_or(|r| u.role == r))
                .filter(|u| matches_text(&first, u.first_name()))
                .filter(|u| matches_text(&last, u.last_name()))
                .filter(|u| {
                    let held = u.mis_id.as_deref().unwrap_or("");
                    match &mis {
                        None => true,
                        Some(m) if q.mis_contains => held
                            .to_ascii_lowercase()
                            .contains(&m.trim().to_ascii_lowercase()),
                        Some(_) => matches_text(&mis, held),
                    }
                })
                .filter(|u| since.is_none_or(|t| u.last_modified >= t))
                .collect();
            listing(store, items, paging, q, |u| render::user_summary(u, q))
        }
        Kind::Classroom => {
            let org = req.i64("OrganisationID")?;
            let items = store
                .classrooms
                .values()
                .filter(|c| org.is_none_or(|o| c.organisation_id == o))
                .collect();
            listing(store, items, paging, q, |c| render::classroom(c, q))
        }
        Kind::Placement => {
            let org = req.i64("OrganisationID")?;
            let items = store
                .placements
                .values()
                .filter(|p| org.is_none_or(|o| p.organisation_id == o))
                .collect();
            listing(store, items, paging, q, |p| render::placement(p, q))
        }
        Kind::Standard => {
            let org = req.i64("OrganisationID")?;
            let items = store
                .standards
                .values()
                .filter(|s| org.is_none_or(|o| s.organisation_id == o))
                .collect();
            listing(store, items, paging, q, |s| render::standard(s, q))
        }
        Kind::LearningAim => {
            let user = req.i64("UserID")?.filter(|_| !q.ignore_owner_filters);
            let items = store
                .learning_aims
                .values()
                .filter(|a| user.is_none_or(|u| a.user_id == u))
                .collect();
            listing(store, items, paging, q, |a| render::learning_aim(a, q))
        }
        Kind::Review => {
            let org = req
                .i64("OrganisationID")?
                .filter(|_| !q.ignore_review_organisation_filter);
            let learner = req.i64("LearnerID")?.filter(|_| !q.ignore_owner_filters);
            let status = req.i64("Status")?;
            let from = req
                .instant("DateFrom")?
                .filter(|_| !q.ignore_review_date_filter);
            let to = req
                .instant("DateTo")?
                .filter(|_| !q.ignore_review_date_filter);
            let items = store
                .reviews
                .values()
                .filter(|r| learner.is_none_or(|l| r.learner_id == l))
                .filter(|r| status.is_none_or(|s| r.status == s))
                .filter(|r| {
                    org.is_none_or(|o| {
                        store
                            .users
                            .get(&r.learner_id)
                            .is_some_and(|u| u.organisation_id == o)
                    })
                })
                .filter(|r| from.is_none_or(|f| r.scheduled_for.is_some_and(|s| s >= f)))
                .filter(|r| to.is_none_or(|t| r.scheduled_for.is_some_and(|s| s <= t)))
                .collect::<Vec<_>>();
            match paging {
                // each page after the first starts one record early: the last record of the
                // page before is served again
                Some((page, size)) if q.review_pages_overlap && page > 1 && size > 0 => {
                    let served = q.page_size_cap.map_or(size, |c| size.min(c.max(1))) as usize;
                    let skip = (page as usize - 1).saturating_mul(served) - 1;
                    let items = items.into_iter().skip(skip).take(served).collect();
                    listing(store, items, None, q, |r| render::review(r, q))
                }
                // the second page comes half full (filtered after it was cut): the records
                // after it are never served to a reader that stops at a short page
                Some((2, size)) if q.review_pages_cut_short && size > 1 => {
                    let served = q.page_size_cap.map_or(size, |c| size.min(c.max(1))) as usize;
                    let items = items.into_iter().skip(served).take(served / 2).collect();
                    listing(store, items, None, q, |r| render::review(r, q))
                }
                _ => listing(store, items, paging, q, |r| render::review(r, q)),
            }
        }
        Kind::Visit => {
            if q.no_visit_search {
                return Ok(Reply::message(
                    StatusCode::NOT_FOUND,
                    "No HTTP resource was found that matches the request URI '/api/v2.1/Visit/Search'.",
                ));
            }
            let learner = req.i64("LearnerID")?.filter(|_| !q.ignore_owner_filters);
            let items = store
                .visits
                .values()
                .filter(|v| learner.is_none_or(|l| v.learner_id == l))
                .collect();
            listing(store, items, paging, q, |v| render::visit(v, q))
        }
    }
}

fn get(store: &Store, kind: Kind, id: i64, q: &Quirks) -> Reply {
    let found = match kind {
        Kind::User => store.users.get(&id).map(|u| render::user_full(u, q)),
        Kind::Placement => store.placements.get(&id).map(|p| render::placement(p, q)),
        Kind::LearningAim => store
            .learning_aims
            .get(&id)
            .map(|a| render::learning_aim(a, q)),
        Kind::Review => store.reviews.get(&id).map(|r| render::review(r, q)),
        _ => None,
    };
    match found {
        Some(v) => Reply::json(&render::with_overrides(store, v)),
        None => Reply::not_found(&format!("Record {id}")),
    }
}

fn require<T>(found: Option<T>, what: &str) -> Checked<T> {
    found.ok_or_else(|| BadRequest(format!("{what} does not exist.")))
}

fn create(store: &mut Store, kind: Kind, req: &Req, q: &Quirks) -> Checked<Reply> {
    match kind {
        Kind::User => create_user(store, req, q),
        Kind::Classroom => {
            let org = req.req_i64("OrganisationID")?;
            require(store.centres.get(&org), &format!("OrganisationID {org}"))?;
            let c = SimClassroom {
                id: 0,
                organisation_id: org,
                name: req.req_string("Name")?,
                mis_id: req.string("MISID")?,
            };
            let id = store.insert_classroom(c);
            Ok(Reply::json(&render::classroom(&store.classrooms[&id], q)))
        }
        Kind::Placement => {
            let org = req.req_i64("OrganisationID")?;
            require(store.centres.get(&org), &format!("OrganisationID {org}"))?;
            let p = SimPlacement {
                id: 0,
                organisation_id: org,
                name: req.req_string("Name")?,
                mis_id: req.string("MISID")?,
                address: req.string("Address")?,
                active: req.bool("Active")?.unwrap_or(true),
            };
            let id = store.insert_placement(p);
            Ok(Reply::json(&render::placement(&store.placements[&id], q)))
        }
        Kind::Visit => {
            let learner = req.req_i64("LearnerID")?;
            require(store.users.get(&learner), &format!("LearnerID {learner}"))?;
            let assessor = req.i64("AssessorID")?;
            if let Some(a) = assessor {
                require(store.users.get(&a), &format!("AssessorID {a}"))?;
            }
            let v = SimVisit {
                id: 0,
                learner_id: learner,
                organisation_id: req.i64("OrganisationID")?,
                date_from: Some(req.req_instant("DateFrom")?),
                date_to: Some(req.req_instant("DateTo")?),
                visit_type_id: req.i64("VisitTypeID")?,
                sms_reminder: req.bool("SMSReminder")?.unwrap_or(false),
                assessor_id: assessor,
            };
            let id = store.insert_visit(v);
            Ok(Reply::json(&json!(id)))
        }
        Kind::Review => {
            let learner = req.req_i64("LearnerID")?;
            require(
                store
                    .users
                    .get(&learner)
                    .filter(|u| u.role == role::LEARNER),
                &format!("Learner {learner}"),
            )?;
            let visit = req.i64("VisitID")?;
            if let Some(v) = visit {
                let found = store.visits.get(&v).filter(|v| v.learner_id == learner);
                require(found, &format!("VisitID {v} for learner {learner}"))?;
            }
            let assessor = req.i64("AssessorID")?;
            if let Some(a) = assessor {
                require(store.users.get(&a), &format!("AssessorID {a}"))?;
            }
            let r = SimReview {
                learner_id: learner,
                assessor_id: assessor,
                visit_id: visit,
                status: req.i64("Status")?.unwrap_or(1),
                scheduled_for: req.instant("ScheduledFor")?,
                ..SimReview::default()
            };
            let id = store.insert_review(r);
            if q.child_changes_touch_learner {
                store.touch_user(learner);
            }
            Ok(Reply::json(&json!(id)))
        }
        _ => Err(BadRequest("This record cannot be created.".into())),
    }
}

fn create_user(store: &mut Store, req: &Req, q: &Quirks) -> Checked<Reply> {
    let org = req.req_i64("OrganisationID")?;
    require(store.centres.get(&org), &format!("OrganisationID {org}"))?;
    let role_code = req.req_i64("Role")?;
    if !role::ALL.contains(&role_code) {
        return Err(BadRequest(format!("Role {role_code} is not valid.")));
    }
    for f in DemographicField::ALL
        .into_iter()
        .filter(|f| f.required_in_onefile())
    {
        if demographic(req, f)?.is_blank() {
            return Err(BadRequest(format!("{} is required.", f.onefile_name())));
        }
    }
    let mut u = SimUser {
        organisation_id: org,
        role: role_code,
        ..SimUser::default()
    };
    read_user_fields(req, &mut u)?;
    if role_code == role::LEARNER {
        let assessor = req.req_i64("DefaultAssessorID")?;
        let is_assessor = store
            .users
            .get(&assessor)
            .is_some_and(|a| matches!(a.role, role::ASSESSOR | role::TRAINEE_ASSESSOR));
        if !is_assessor {
            return Err(BadRequest(format!(
                "DefaultAssessorID {assessor} is not an assessor."
            )));
        }
        let classroom = req.req_i64("ClassroomID")?;
        require(
            store.classrooms.get(&classroom),
            &format!("ClassroomID {classroom}"),
        )?;
        let placement = req.req_i64("PlacementID")?;
        require(
            store.placements.get(&placement),
            &format!("PlacementID {placement}"),
        )?;
    }
    u.username = Some(format!(
        "{}.{}",
        u.first_name().to_lowercase(),
        u.last_name().to_lowercase()
    ));
    let id = store.insert_user(u);
    Ok(Reply::json(&render::user_full(&store.users[&id], q)))
}

/// A demographic field of a request body, read as its kind (blank when absent or `null`).
fn demographic(req: &Req, f: DemographicField) -> Checked<Field> {
    let key = f.onefile_name();
    Ok(match f.kind() {
        FieldKind::Text => req.string(key)?.map_or(Field::Blank, Field::Text),
        FieldKind::Date => Field::date(req.date(key)?),
    })
}

/// The user fields of a create or a partial update, all read before any is set, so that a bad
/// value changes nothing. A demographic field OneFile requires is not blanked; any other one
/// sent as `null` or blank is cleared.
fn read_user_fields(req: &Req, u: &mut SimUser) -> Checked<()> {
    let mut next = u.clone();
    for f in DemographicField::ALL {
        let v = demographic(req, f)?;
        let sent = if f.required_in_onefile() {
            !v.is_blank()
        } else {
            req.has(f.onefile_name())
        };
        if sent {
            let set = next.demographics.set(f, &v);
            debug_assert!(set, "{f:?} is read as its own kind");
        }
    }
    set_opt(req, "MISID", &mut next.mis_id, req.string("MISID")?);
    set_opt(
        req,
        "DefaultAssessorID",
        &mut next.default_assessor_id,
        req.i64("DefaultAssessorID")?,
    );
    set_opt(
        req,
        "DefaultEmployerID",
        &mut next.default_employer_id,
        req.i64("DefaultEmployerID")?,
    );
    set_opt(
        req,
        "ClassroomID",
        &mut next.classroom_id,
        req.i64("ClassroomID")?,
    );
    set_opt(
        req,
        "PlacementID",
        &mut next.placement_id,
        req.i64("PlacementID")?,
    );
    set_opt(
        req,
        "LearnerStatusID",
        &mut next.learner_status_id,
        req.i64("LearnerStatusID")?,
    );
    set_opt(
        req,
        "WorkAddress",
        &mut next.work_address,
        req.string("WorkAddress")?,
    );
    set_opt(
        req,
        "HomeAddress",
        &mut next.home_address,
        req.string("HomeAddress")?,
    );
    *u = next;
    Ok(())
}

fn update(store: &mut Store, kind: Kind, id: i64, req: &Req, q: &Quirks) -> Checked<Reply> {
    match kind {
        Kind::User => {
            let Some(u) = store.users.get(&id) else {
                return Ok(Reply::not_found(&format!("User {id}")));
            };
            let mut next = u.clone();
            read_user_fields(req, &mut next)?;
            store.users.insert(id, next);
            store.touch_user(id);
        }
        Kind::Placement => {
            let Some(p) = store.placements.get(&id) else {
                return Ok(Reply::not_found(&format!("Placement {id}")));
            };
            let mut next = p.clone();
            if let Some(v) = req.string("Name")? {
                next.name = v;
            }
            set_opt(req, "MISID", &mut next.mis_id, req.string("MISID")?);
            set_opt(req, "Address", &mut next.address, req.string("Address")?);
            if let Some(v) = req.bool("Active")? {
                next.active = v;
            }
            store.placements.insert(id, next);
        }
        Kind::LearningAim => {
            let Some(a) = store.learning_aims.get(&id) else {
                return Ok(Reply::not_found(&format!("Learning aim {id}")));
            };
            let mut next = a.clone();
            read_learning_aim_fields(req, &mut next)?;
            if q.ignore_certificate_received_date {
                // an unknown key: accepted (204) and not stored
                next.certificate_received_date = a.certificate_received_date;
            }
            store.learning_aims.insert(id, next);
            store.touch_learning_aim(id, q.child_changes_touch_learner);
        }
        _ => return Err(BadRequest("This record cannot be updated.".into())),
    }
    Ok(Reply::no_content())
}

fn read_learning_aim_fields(req: &Req, a: &mut SimLearningAim) -> Checked<()> {
    set_opt(req, "StartDate", &mut a.start_date, req.date("StartDate")?);
    set_opt(
        req,
        "PlannedEnd",
        &mut a.planned_end,
        req.date("PlannedEnd")?,
    );
    set_opt(req, "Status", &mut a.status, req.i64("Status")?);
    set_opt(
        req,
        "RegistrationNumber",
        &mut a.registration_number,
        req.string("RegistrationNumber")?,
    );
    set_opt(
        req,
        "RegistrationDate",
        &mut a.registration_date,
        req.date("RegistrationDate")?,
    );
    set_opt(
        req,
        "CertificateAppliedDate",
        &mut a.certificate_applied_date,
        req.date("CertificateAppliedDate")?,
    );
    set_opt(
        req,
        "CertificateReceivedDate",
        &mut a.certificate_received_date,
        req.date("CertificateReceivedDate")?,
    );
    set_opt(
        req,
        "AchievedDate",
        &mut a.achieved_date,
        req.date("AchievedDate")?,
    );
    set_opt(
        req,
        "TotalElements",
        &mut a.total_elements,
        req.i64("TotalElements")?,
    );
    set_opt(
        req,
        "ElementsDone",
        &mut a.elements_done,
        req.i64("ElementsDone")?,
    );
    set_opt(req, "Progress", &mut a.progress, req.f64("Progress")?);
    Ok(())
}

fn assign_user(store: &mut Store, id: i64, req: &Req) -> Checked<Reply> {
    let Some(user) = store.users.get(&id) else {
        return Ok(Reply::not_found(&format!("User {id}")));
    };
    if user.role == role::LEARNER {
        return Err(BadRequest(format!(
            "User {id} is a learner and cannot be assigned."
        )));
    }
    let learner = req.req_i64("LearnerID")?;
    require(
        store
            .users
            .get(&learner)
            .filter(|u| u.role == role::LEARNER),
        &format!("Learner {learner}"),
    )?;
    let level = req.req_i64("Level")?;
    let standard = req.i64("StandardID")?;
    if let Some(s) = standard {
        require(store.standards.get(&s), &format!("StandardID {s}"))?;
    }
    store.assignments.insert(SimAssignment {
        user_id: id,
        learner_id: learner,
        level,
        standard_id: standard,
    });
    Ok(Reply::no_content())
}

fn assign_standard(store: &mut Store, sid: i64, lid: i64, req: &Req, q: &Quirks) -> Checked<Reply> {
    let Some(standard) = store.standards.get(&sid) else {
        return Ok(Reply::not_found(&format!("Standard {sid}")));
    };
    let Some(learner) = store.users.get(&lid).filter(|u| u.role == role::LEARNER) else {
        return Ok(Reply::not_found(&format!("Learner {lid}")));
    };
    let pathway = req.i64("PathwayID")?;
    if let Some(p) = pathway {
        if !standard.pathways.iter().any(|x| x.id == p) {
            return Err(BadRequest(format!(
                "PathwayID {p} is not a pathway of standard {sid}."
            )));
        }
    }
    let aim = SimLearningAim {
        user_id: lid,
        standard_id: sid,
        pathway_id: pathway,
        start_date: learner.demographics.start_date,
        planned_end: learner.demographics.planned_end_date,
        status: Some(1),
        total_elements: standard.total_elements,
        elements_done: standard.total_elements.map(|_| 0),
        progress: Some(0.0),
        ..SimLearningAim::default()
    };
    let id = store.insert_learning_aim(aim);
    if q.child_changes_touch_learner {
        store.touch_user(lid);
    }
    Ok(Reply::json(&json!(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<String> {
        segments(&path.parse::<Uri>().unwrap())
    }

    #[test]
    fn routes_are_case_insensitive_and_accept_trailing_slashes() {
        let post = Method::POST;
        assert_eq!(
            route(&post, &segs("/api/v2.1/User/Search/")),
            Some(Route::Search(Kind::User, None))
        );
        assert_eq!(
            route(&post, &segs("/API/V2.1/user/search/2/50")),
            Some(Route::Search(Kind::User, Some((2, 50))))
        );
        assert_eq!(
            route(&Method::GET, &segs("/LearningAim/7/")),
            Some(Route::Get(Kind::LearningAim, 7))
        );
        assert_eq!(
            route(&post, &segs("/Standard/3/Assign/9")),
            Some(Route::StandardAssign(3, 9))
        );
        assert_eq!(
            route(&post, &segs("/user/4/ASSIGN")),
            Some(Route::UserAssign(4))
        );
        assert_eq!(
            route(&post, &segs("/Visit")),
            Some(Route::Create(Kind::Visit))
        );
        assert_eq!(route(&Method::GET, &segs("/Visit/3")), None);
        assert_eq!(route(&post, &segs("/user/abc")), None);
        assert_eq!(route(&post, &segs("/nothing")), None);
    }

    #[test]
    fn endpoint_keys_are_templates_without_paging() {
        let k = |m: Method, p: &str| endpoint_key(&m, &segs(p));
        assert_eq!(
            k(Method::POST, "/api/v2.1/User/Search/3/100"),
            "POST /user/search"
        );
        assert_eq!(k(Method::GET, "/User/12/"), "GET /user/{id}");
        assert_eq!(
            k(Method::POST, "/Standard/3/Assign/9"),
            "POST /standard/{id}/assign/{id}"
        );
        assert_eq!(k(Method::POST, "/Authentication"), "POST /authentication");
    }
}
