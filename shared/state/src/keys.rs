//! The key layout shared by every backend: one partition per tenant, one sort key per record.

use picsync_domain::{LearnerId, TenantId};

pub fn partition(t: &TenantId) -> String {
    format!("T#{t}")
}

pub const TENANT: &str = "TENANT";
pub const SETTINGS: &str = "SETTINGS";
pub const LEASE: &str = "LEASE";

pub fn run(run_id: &str) -> String {
    format!("RUN#{run_id}")
}

/// Marks that a learner's outcome was counted in a run (redelivered tasks count once).
pub fn run_outcome(run_id: &str, learner: &LearnerId) -> String {
    format!("RUNL#{run_id}#{learner}")
}

pub fn learner(l: &LearnerId) -> String {
    format!("LEARNER#{l}")
}

pub fn intent(key: &str) -> String {
    format!("INTENT#{key}")
}

/// Audit entries sort by learner, then time, then a sequence number.
pub fn audit(l: &LearnerId, at_micros: i64, seq: u64) -> String {
    format!("AUDIT#{l}#{at_micros:020}#{seq:010}")
}

pub fn audit_prefix(l: &LearnerId) -> String {
    format!("AUDIT#{l}#")
}
