//! Stored history stays readable (issue 15 item 4): audit entries, run records and baselines as
//! picsync stored them before rules and fields had pinned stored names (serde's derived variant
//! names) still read, and what is stored now uses the pinned names
//! (`shared/domain/tests/all/stored_names.rs`).

use chrono::NaiveDate;
use picsync_domain::{Baseline, CertField, QualificationId, Rule, Value};
use picsync_state::{AuditEntry, RunRecord};

/// Two audit entries as picsync stored them before (the rule of §1 was stored as "Match").
const AUDIT_BEFORE: &str = r#"[
  {"tenant":"acme","learner":"L1","run_id":"r1","at":"2026-11-01T10:00:00Z","system":"OneFile",
   "entity":"learner 7","field":"FirstName","old":{"t":"blank"},"new":{"t":"text","v":"Ann"},"rule":"R26"},
  {"tenant":"acme","learner":"L1","run_id":"r1","at":"2026-11-01T10:00:01Z","system":"PICS",
   "entity":"qualification Q1","field":"OneFileLearningAimId","old":{"t":"blank"},"new":{"t":"int","v":700},"rule":"Match"}
]"#;

#[test]
fn s15_audit_entries_stored_before_still_read_and_new_ones_use_the_stored_names() {
    let entries: Vec<AuditEntry> = serde_json::from_str(AUDIT_BEFORE).unwrap();
    assert_eq!(entries[0].rule, Rule::R26);
    assert_eq!(entries[0].field, "FirstName");
    assert_eq!(entries[0].new, Value::Text("Ann".into()));
    assert_eq!(entries[1].rule, Rule::Match);
    let again = serde_json::to_value(&entries).unwrap();
    assert_eq!(again[0]["rule"], "R26");
    assert_eq!(again[1]["rule"], "§1", "§1 is stored under its name now");
    let back: Vec<AuditEntry> = serde_json::from_value(again).unwrap();
    assert_eq!(back, entries);
}

#[test]
fn s15_run_records_count_rules_under_their_stored_names() {
    // a run record's counts are keyed by the rule's stored name, as they were before
    let before = serde_json::json!({
        "run_id": "r1", "tenant": "acme", "mode": "periodic", "dry_run": false,
        "full_sweep": false, "started_at": "2026-11-01T10:00:00Z", "finished_at": null,
        "status": "completed", "total": 3, "done": 3, "failed": 0, "skipped_unchanged": 0,
        "out_of_scope": 0, "rule_counts": {"R25": 2, "§1": 1}, "onefile_calls": 9,
        "pics_calls": 4, "failures": []
    });
    let run: RunRecord = serde_json::from_value(before).unwrap();
    assert_eq!(run.rule_counts.len(), 2);
    for key in run.rule_counts.keys() {
        let rule = Rule::from_stored(key).unwrap_or_else(|| panic!("{key} names no rule"));
        assert_eq!(rule.to_string(), *key);
    }
}

#[test]
fn s15_baselines_stored_before_still_read() {
    let before = r#"{"cert":{"Q1":{"RegistrationNumber":{"t":"text","v":"REG1"},
        "CertificateReceived":{"t":"date","v":"2026-10-01"}}}}"#;
    let b: Baseline = serde_json::from_str(before).unwrap();
    let q = QualificationId::new("Q1");
    assert_eq!(
        b.cert(&q, CertField::RegistrationNumber),
        Some(&Value::Text("REG1".into()))
    );
    assert_eq!(
        b.cert(&q, CertField::CertificateReceived),
        Some(&Value::Date(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()))
    );
    let again: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
    assert_eq!(
        again,
        serde_json::from_str::<serde_json::Value>(before).unwrap()
    );
}
