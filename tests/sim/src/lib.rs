#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests link the dev-dependencies too
//! Simulators of OneFile and PICS for tests, the `picsync demo` command and benchmarks.
//! Each runs as an axum server on 127.0.0.1 at a random port over an in-memory store.

pub mod faults;
pub mod onefile;
pub mod pics;
pub mod world;
