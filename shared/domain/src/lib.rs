#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests link the dev-dependencies too
//! picsync's pure core: records, settings, rules and the planners. No I/O, no async, no AWS or
//! HTTP. Rule ids (R3, R25, …, §6, §7) are explained, with where each is implemented, in
//! [`rules`].

pub mod apply;
pub mod baseline;
pub mod demographics;
pub mod enrol;
pub mod enrol_reviews;
pub mod ids;
pub mod plan;
pub mod profile;
pub mod records;
pub mod relink;
pub mod rules;
pub mod settings;
mod stored;
pub mod time;
pub mod value;

pub use baseline::Baseline;
pub use ids::*;
pub use plan::{Context, Mode, OneFileOp, PicsOp, Plan, plan};
pub use profile::TenantProfile;
pub use records::*;
pub use settings::Settings;
pub use value::{Rule, Value};
