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
mod onefile_quirks;
mod relink;
mod review_fixes;
mod scenario;
mod state_faults;
mod template_iam;

/// The one clock of a test (`common::Day`) keeps the seed's day after London midnight and is the
/// real time before it.
#[test]
fn a_days_clock_stops_at_its_last_millisecond() {
    use chrono::{Duration, Utc};
    use picsync_domain::time::{london_date, london_to_utc};
    let today = london_date(Utc::now());
    let yesterday = today.pred_opt().unwrap();
    let past = common::Day::of(yesterday);
    let midnight = london_to_utc(today.and_hms_opt(0, 0, 0).unwrap());
    assert_eq!((past.clock)(), midnight - Duration::milliseconds(1));
    assert_eq!(london_date((past.clock)()), yesterday);
    let tomorrow = common::Day::of(today.succ_opt().unwrap());
    let before = Utc::now();
    let t = (tomorrow.clock)();
    assert!(
        before <= t && t <= Utc::now(),
        "real time before the day ends: {t}"
    );
}
