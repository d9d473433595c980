//! The client's tests against the PICS simulator, in one test binary (issue 15 item 5: one link
//! instead of one per file). Each former file is a module; `common` is their shared set-up.
//! `secrets` is a binary of its own: it captures the client's logs with a scoped subscriber, and
//! tracing caches each call site's interest per process, so another test calling the client
//! beside it could switch the captured events off.
#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package

#[path = "../common/mod.rs"]
mod common;

mod auth_faults;
mod listing;
mod sim;
mod writes;
