#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests link the dev-dependencies too
//! The PICS REST API client, and the contract it assumes of the API.
//!
//! PICS sells its REST API as a module, with a Swagger index on each instance. Public pages
//! document only authentication, the imports and the system settings; the read and update
//! calls this client makes are therefore *our contract*: the shape picsync needs, named in
//! PICS's own vocabulary. All PICS traffic goes through this crate, so matching the real
//! Swagger later changes this adapter alone; the simulator in `tests/sim` implements exactly this
//! contract. Rule ids (R41, §7, …) are explained in `picsync_domain::rules`.
//!
//! # Authentication
//!
//! `POST /Authentication` with `{"Username", "Password"}` of an API user answers
//! `{"Token", "ExpiresUtc"}` (a bearer token, valid 24 hours when no expiry is given); every
//! other call sends `Authorization: Bearer <Token>`. The token is shared by every clone of a
//! [`PicsClient`], renewed ahead of its expiry and once on a 401 (`auth.rs`). Credentials and the
//! token are [`secrecy::SecretString`]s: no error, `Debug` output or log line ever holds them.
//!
//! # Conventions
//!
//! - A base URL per tenant, such as `https://provider.picsweb.co.uk/app/api/v1`
//!   ([`PicsConfig`]).
//! - JSON with PascalCase keys ([`records`] and [`patches`] rename them); ids are strings.
//! - Dates are `YYYY-MM-DD`; date-times are `YYYY-MM-DDTHH:MM:SS` in UK local time, without a
//!   zone. Reading is lenient (numbers as strings, blank strings as no value, `null` lists as
//!   empty, dates given as midnight date-times, 0–9 fractional digits, a zone converted to
//!   London time); a year outside 1900–2200 is malformed (§7).
//! - Lists page with `?page=N&pageSize=S`, from 1, and answer `{"Items", "Page", "PageSize",
//!   "TotalCount"}`; [`PicsClient::list_learners`] reads every page (100 a page by default).
//! - Errors: `400 {"Message"}`, `401`, `404`, `409` (duplicate), `412`, `429` with
//!   `Retry-After`, `5xx`. Retries, backoff and `Retry-After` come from `picsync_http`, shared
//!   with the OneFile client.
//!
//! # Conditional writes
//!
//! Every learner carries an opaque `RowVersion` ([`RowVersion`]). Every write under a learner
//! (`PATCH` of the learner, a qualification or a review, `POST` of a review) sends
//! `If-Match: <RowVersion>`, and a successful one answers the new version. A `412
//! Precondition Failed` means the learner changed in PICS since it was read: it comes back as
//! [`PicsError::Conflict`], which the caller resolves by re-reading and re-planning (R41). The
//! retry loop never resends a stale write.
//!
//! # Endpoints used
//!
//! - `GET /Learners?oneFileLinked=true&modifiedSince=…` (paged): the linked learners' summaries
//!   ([`LearnerSummary`]; §6 uses `LastModified`).
//! - `GET /Learners/{id}`: a whole learner ([`Learner`]) with its officers, placements,
//!   qualifications and reviews.
//! - `PATCH /Learners/{id}`: link or unlink (`OneFileId`) and demographics ([`LearnerPatch`]).
//! - `PATCH /Learners/{id}/Qualifications/{qualificationId}`: elements, registration and
//!   certification, and the OneFile learning-aim link ([`QualificationPatch`]).
//! - `POST /Learners/{id}/Reviews` (answers `{ReviewId, RowVersion}`) and `PATCH
//!   /Learners/{id}/Reviews/{reviewId}` ([`NewReview`], [`ReviewPatch`]).
//! - `GET` and `PATCH /Officers/{id}` (`OtherSystemId`, names) and `/Organisations/{id}`
//!   (`AdditionalId`, `Name`). An officer carries `Email` because OneFile needs one to create an
//!   assessor (R11): an addition of ours to the contract.

mod auth;
mod client;
pub mod config;
pub mod error;
pub mod patches;
pub mod records;
mod transport;
mod wire;

pub use client::PicsClient;
pub use config::PicsConfig;
pub use error::PicsError;
pub use patches::{
    DemographicsPatch, LearnerPatch, NewReview, OfficerPatch, OrganisationPatch,
    QualificationPatch, ReviewPatch,
};
pub use records::{
    Learner, LearnerOfficer, LearnerPlacement, LearnerQuery, LearnerSummary, Officer, Organisation,
    Qualification, Review, RowVersion,
};
