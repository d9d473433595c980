//! The Lambda path's tests (scheduler → SQS → worker on the stand-ins and both simulators), in
//! one test binary (issue 15 item 5: one link instead of one per file). Each former file is a
//! module; `common` is their shared set-up. `logs` is a binary of its own: its scoped subscriber
//! would miss events while a test without one runs beside it (tracing caches each call site's
//! interest per process).
#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package

#[path = "../common/mod.rs"]
mod common;

mod chaos;
mod emf;
mod pacing;
mod worker;
