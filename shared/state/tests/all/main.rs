//! The state backends' and secret sources' tests, in one test binary (issue 15 item 5: one link
//! instead of one per file).
#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package

mod embedded;
mod secrets;
mod stored_history;
