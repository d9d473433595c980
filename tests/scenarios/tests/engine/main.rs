//! The engine's scenario, crash and fault tests, in one test binary (issue 15 item 5: one link
//! instead of one per file; link time dominates a rebuild on two cores). Each former file is a
//! module; `common` is their shared set-up (both simulators seeded with the world, a tenant, an
//! engine over in-memory state, and the one clock of a test). `cargo test -p picsync-scenarios
//! <name>` still selects a test by (part of) its name, now prefixed with its module.
//!
//! `secrets_in_logs` is a binary of its own (`tests/secrets_in_logs.rs`): it installs the
//! process's global tracing subscriber.
#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod budget;
mod centre_reads;
mod centres;
mod crash;
mod enrolment;
mod enrolment_audit;
mod faults;
mod fields;
mod onefile_quirks;
mod relink;
mod review_fixes;
mod scenario;
mod state_faults;
mod template_iam;
