//! The engine's scenario, crash and fault tests against both simulators (`picsync-sim`). The
//! tests are this package's integration tests (`tests/engine/`, one binary, and
//! `tests/secrets_in_logs.rs`); this library is empty, as Cargo wants a target of a package.
// `--all-targets` builds this library as a test too, with every dev-dependency linked
#![cfg_attr(test, allow(unused_crate_dependencies))]
