//! The OneFile REST API v2.1 client used by picsync (onefile-api.md, SPEC R35 and §7).
//!
//! - Sessions: `POST /Authentication` with the customer token; the session (bare or
//!   JSON-quoted) is sent as `X-TokenID`, renewed ahead of expiry and once on a 401.
//! - Pacing (R35): a [`Pacer`] per tenant, shared by every task of the tenant in the process,
//!   keeps every fixed rate window within the tenant's calls per minute.
//! - Retries: through `picsync_http::retry`: 5xx, timeouts and connection errors back off
//!   exponentially with jitter, a bounded number of times; a 429 is waited out (`Retry-After`,
//!   else until the window has rolled over, with jitter) and pauses the whole tenant; other
//!   4xx are permanent. Creates are sent again only when OneFile certainly did not act (§7).
//! - Tolerant reading: 204 as empty, missing and null fields, keys in any case, lenient dates
//!   (date-only values read in Europe/London). Bad values give [`OneFileError::Malformed`]
//!   naming the call and field.
//! - Paging that cannot silently lose records, even under an undocumented page-size cap.
//! - Secrets: the customer token and the session are `SecretString`s, sent as sensitive
//!   headers, scrubbed from error messages, and never logged.
//!
//! Field names on the wire, including the four Assumed ones, live in [`fields`].

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

pub use client::OneFileClient;
pub use config::{Environment, OneFileConfig};
pub use error::{OneFileError, TransportKind};
pub use pacer::{Pacer, PacerState, Pacers};
pub use records::{
    Assignment, Centre, Classroom, Customer, LearningAim, LearningAimUpdate, NEW_REVIEW_STATUS,
    NewClassroom, NewPlacement, NewReview, NewUser, NewVisit, Pathway, Placement, PlacementUpdate,
    Review, ReviewSearch, Standard, User, UserSearch, UserUpdate, Visit, role, same_mis_value,
};
pub use secrecy::SecretString;
