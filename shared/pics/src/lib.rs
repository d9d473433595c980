//! The PICS REST API client (pics-api.md is the contract).
//!
//! - Bearer authentication: `POST /Authentication` once, the token shared by every clone of a
//!   [`PicsClient`], renewed ahead of its expiry and once on a 401 ([`auth`]).
//! - Paged learner listing with `modifiedSince` ([`PicsClient::list_learners`]), full learner
//!   reads, officers and organisations.
//! - Conditional writes (SPEC R41): every write under a learner sends `If-Match: <RowVersion>`;
//!   a `412` comes back as [`PicsError::Conflict`], which the caller resolves by re-reading and
//!   re-planning. The retry loop never resends a stale write.
//! - Retries, backoff and `Retry-After` come from `picsync-http`, shared with the OneFile client.
//! - Credentials and the bearer token are [`secrecy::SecretString`]s: no error, `Debug` output or
//!   log line ever holds them.

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
    LearnerPatch, NewReview, OfficerPatch, OrganisationPatch, QualificationPatch, ReviewPatch,
};
pub use records::{
    Learner, LearnerOfficer, LearnerPlacement, LearnerQuery, LearnerSummary, Officer, Organisation,
    Qualification, Review, RowVersion,
};
