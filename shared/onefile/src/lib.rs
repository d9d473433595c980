#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests link the dev-dependencies too
//! The OneFile REST API v2.1 client used by picsync, and the contract it assumes of the API.
//!
//! OneFile documents part of its API; the rest was read from public client code of other MIS
//! integrations. What follows is what this client relies on. Each point is either documented by
//! OneFile, seen in public client code, or **Assumed** (our best reading, to confirm against
//! OneFile's Beta environment); the client tolerates every variant listed, and the simulator in
//! `tests/sim` can produce each of them. Rule ids (R35, §7, …) are explained in
//! `picsync_domain::rules`.
//!
//! # Servers and sessions
//!
//! - Three environments, each with its own base URL ending in `/api/v2.1`: live
//!   (`wsapi.onefile.co.uk`), practice (`wsapi2…`) and beta (`wsapibeta…`), or a custom base
//!   URL ([`Environment`], R5). A customer token is issued for one environment and does not
//!   expire.
//! - `POST /Authentication` with header `X-CustomerToken` answers a session, which every other
//!   call sends as `X-TokenID`. A session lasts 24 hours. The answer is the bare session string;
//!   a JSON-quoted string is accepted too. The client renews the session after 23 hours
//!   ([`OneFileConfig`]`::session_renew_after`) and once on a 401.
//! - Secrets: the customer token and the session are `SecretString`s, sent as sensitive
//!   headers, scrubbed from error messages, and never logged.
//!
//! # Conventions
//!
//! - `GET X/{id}` reads one record; everything else is a `POST`: search, create, update,
//!   assign. Paths are matched case-insensitively by the server.
//! - Bodies are JSON with PascalCase keys; the client sends JSON and reads keys in any case.
//!   Ids are integers (`i64`).
//! - Searches: `POST X/Search` answers every match, `POST X/Search/{page}/{size}` a page,
//!   counting from 1. The answer is a bare JSON array; an empty result may be `204 No Content`.
//!   **Assumed**: the data ends with an empty page, a 204, or a page shorter than asked. The
//!   largest page is undocumented: the client asks for 100 (configurable) and still loses no
//!   record under a smaller cap of the server (`paging.rs`).
//! - Filters: whether a search filter matches exactly or by "contains", or is honoured at all,
//!   is undocumented. The client keeps only results that match what was asked (a MIS value
//!   equal to the Ident, trimmed and case-insensitive, [`same_mis_value`]; the owner equal to the
//!   learner asked for) and logs what it dropped.
//! - Writes: creating a user answers `200` with the record; updates (`POST X/{id}`) answer `204`
//!   and take partial bodies; some creates (visit, review, assigning a standard) answer the new
//!   id as a bare number; the client accepts either a number or a record carrying `ID`.
//! - Dates: ISO-8601, usually UTC with `Z` and milliseconds; read leniently, with or without a
//!   zone and with 0–7 fractional digits. Date-only values are sent as midnight UTC and read by
//!   converting to Europe/London before taking the date, because OneFile stores local midnight
//!   (23:00Z the day before in summer) (`picsync_domain::time`).
//! - Errors: 400, 401, 403, 404, 429, 5xx; a body of `{"Message": …}`, `{"message": …}`, plain
//!   text or nothing. A reply that cannot be read is [`OneFileError::Malformed`], naming the
//!   call and field.
//!
//! # Rate limit
//!
//! OneFile allows 300 calls per minute per customer token and answers 429 above it. The kind of
//! window, `Retry-After` and the body are undocumented; the client treats the window as a
//! fixed minute (**Assumed**). It paces itself below the limit (R35): a [`Pacer`] per tenant,
//! shared by every task of the tenant in the process, keeps every span of one window, fixed or
//! sliding, within `onefile_calls_per_minute` (a sliding log of the last window's calls,
//! handed from process to process by the Lambda functions). Should a 429 come anyway, it is waited out (`Retry-After` when
//! present, else until the window can have rolled over, with jitter), the whole tenant pauses
//! meanwhile, and no retry attempt is spent.
//!
//! # Retries
//!
//! Through `picsync_http::retry`: connection errors, timeouts and 5xx back off exponentially
//! with jitter, a bounded number of times; other 4xx are permanent. A create is sent again only
//! when OneFile certainly did not act on it (no connection, 429, refused session); after a
//! timeout, 5xx or broken reply the caller searches before creating again (§7).
//!
//! # Endpoints used
//!
//! One method of [`OneFileClient`] per call: the session; `GET /Customer`; centres
//! (`Organisation/Search`); users (`User/Search`, with `LastModified` to list users changed
//! since a time, `GET /User/{id}`, `POST /User`, `POST /User/{id}`, and `POST /User/{id}/Assign`
//! where `{id}` is the assessor or employer assigned to the learner); classrooms and placements
//! (search, read, create, update); standards (`Standard/Search` by centre, and
//! `Standard/{id}/Assign/{learner}`, which answers the new learning aim's id); the learner's
//! learning aims (`LearningAim/Search` by `UserID`, read, update); visits (`POST /Visit`, and
//! `Visit/Search`, **Assumed** from OneFile's conventions, used only to find a visit created
//! before a crash); reviews (`POST /Review` with status 1, `Review/Search` per learner or paged
//! by centre, with the pages checked ([`PagingCheck`], issue 16), `GET /Review/{id}`).
//! Reviews are only created and read: whether one can be updated is unknown. Role codes: 1
//! learner, 4 trainee assessor, 5 assessor, 10 IQA, 40 employer, 45 observer ([`role`]).
//! OneFile accepts duplicate MIS values, and archived users count.
//!
//! # Assumed names
//!
//! Four field names are undocumented and **Assumed**, kept in [`fields`] so that confirming one
//! is a one-line change: the learning aim's [`fields::CERTIFICATE_RECEIVED_DATE`],
//! [`fields::TOTAL_ELEMENTS`] and [`fields::ELEMENTS_DONE`], and the standard's code
//! [`fields::STANDARD_CODE`]. OneFile ignores keys it does not know, so the client reads a
//! learning aim back after the first write of each Assumed field, and a value OneFile did not
//! keep fails the learner, naming the field, which is not written again by that process. The
//! visit search and the numeric visit types (a configurable table, R16) are undocumented as
//! well. `picsync probe` checks the Assumed items, read-only, against a real tenant.

mod client;
mod config;
mod error;
pub mod fields;
pub mod fuzzing;
mod pacer;
mod paging;
mod records;
mod session;
mod transport;
mod wire;

pub use client::{CentreReviews, OneFileClient};
pub use config::{Environment, OneFileConfig};
pub use error::{OneFileError, TransportKind};
pub use pacer::{CallLog, Pacer, PacerState, Pacers};
pub use paging::PagingCheck;
pub use records::{
    Assignment, Centre, Classroom, Customer, LearningAim, LearningAimUpdate, NEW_REVIEW_STATUS,
    NewClassroom, NewPlacement, NewReview, NewUser, NewVisit, Pathway, Placement, PlacementUpdate,
    Review, ReviewSearch, Standard, User, UserSearch, UserUpdate, Visit, role, same_mis_value,
};
pub use secrecy::SecretString;
