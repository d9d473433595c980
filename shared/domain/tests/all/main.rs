//! The domain's tests (the planners' rules, properties, stored names), in one test binary (issue
//! 15 item 5: one link instead of one per file). Each former file is a module; `common` is their
//! shared set-up (also used by benches/plan.rs).
#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package

#[path = "../common/mod.rs"]
mod common;

mod enrol;
mod properties;
mod relink;
mod rules;
mod rules_documented;
mod stored_names;
