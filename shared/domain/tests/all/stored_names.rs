//! Stored names (issue 15 item 4): audit entries, run records and baselines store each rule and
//! field under a name of its own, not Rust's `Debug` output, so that renaming a variant does not
//! change stored history. These tables pin every name: a change to one fails here.

use picsync_domain::{CertField, DemographicField, Rule};

const RULES: [(Rule, &str); 31] = [
    (Rule::R3, "R3"),
    (Rule::R6, "R6"),
    (Rule::R7, "R7"),
    (Rule::R8, "R8"),
    (Rule::R9, "R9"),
    (Rule::R10, "R10"),
    (Rule::R11, "R11"),
    (Rule::R12, "R12"),
    (Rule::R13, "R13"),
    (Rule::R14, "R14"),
    (Rule::R15, "R15"),
    (Rule::R16, "R16"),
    (Rule::R17, "R17"),
    (Rule::R18, "R18"),
    (Rule::R19, "R19"),
    (Rule::R20, "R20"),
    (Rule::R21, "R21"),
    (Rule::R22, "R22"),
    (Rule::R23, "R23"),
    (Rule::R24, "R24"),
    (Rule::R25, "R25"),
    (Rule::R26, "R26"),
    (Rule::R27, "R27"),
    (Rule::R28, "R28"),
    (Rule::R29, "R29"),
    (Rule::R30, "R30"),
    (Rule::R32, "R32"),
    (Rule::R33, "R33"),
    (Rule::R37, "R37"),
    (Rule::R40, "R40"),
    // **Decision**: §1's matching is stored as "§1", as run records' rule counts and every
    // report already named it; audit entries written before stored "Match", still read.
    (Rule::Match, "§1"),
];

// A slice, not an array: a row of the field table compiled only under a feature pins its name
// here under the same `#[cfg]`.
const DEMOGRAPHICS: &[(DemographicField, &str)] = &[
    (DemographicField::FirstName, "FirstName"),
    (DemographicField::Surname, "Surname"),
    (DemographicField::Email, "Email"),
    (DemographicField::Telephone, "Telephone"),
    (DemographicField::Mobile, "Mobile"),
    (DemographicField::DateOfBirth, "DateOfBirth"),
    (DemographicField::Uln, "Uln"),
    (DemographicField::NiNumber, "NiNumber"),
    (DemographicField::StartDate, "StartDate"),
    (DemographicField::PlannedEndDate, "PlannedEndDate"),
    (DemographicField::Ethnicity, "Ethnicity"),
    (DemographicField::Sex, "Sex"),
    (DemographicField::Disability, "Disability"),
    #[cfg(feature = "test-field")]
    (DemographicField::KnownAs, "KnownAs"),
];

const CERTS: [(CertField, &str); 4] = [
    (CertField::RegistrationNumber, "RegistrationNumber"),
    (CertField::RegistrationDate, "RegistrationDate"),
    (CertField::CertificateAppliedFor, "CertificateAppliedFor"),
    (CertField::CertificateReceived, "CertificateReceived"),
];

fn json(name: &str) -> serde_json::Value {
    serde_json::Value::String(name.to_string())
}

#[test]
fn s15_every_rule_is_stored_and_shown_under_its_pinned_name() {
    assert_eq!(
        RULES.len(),
        Rule::ALL.len(),
        "a rule is missing from this table"
    );
    for (rule, name) in RULES {
        assert_eq!(rule.as_str(), name);
        assert_eq!(
            rule.to_string(),
            name,
            "run records count rules by this name"
        );
        assert_eq!(serde_json::to_value(rule).unwrap(), json(name), "{rule:?}");
        assert_eq!(serde_json::from_value::<Rule>(json(name)).unwrap(), rule);
        assert_eq!(Rule::from_stored(name), Some(rule));
    }
    // what audit entries stored before the names were pinned still reads
    assert_eq!(
        serde_json::from_value::<Rule>(json("Match")).unwrap(),
        Rule::Match
    );
    assert_eq!(Rule::from_stored("Match"), Some(Rule::Match));
    assert!(serde_json::from_value::<Rule>(json("R99")).is_err());
    assert_eq!(Rule::from_stored("R99"), None);
}

#[test]
fn s15_every_synced_field_is_stored_under_its_pinned_name() {
    assert_eq!(DEMOGRAPHICS.len(), DemographicField::ALL.len());
    for &(f, name) in DEMOGRAPHICS {
        assert_eq!(f.as_str(), name);
        assert_eq!(serde_json::to_value(f).unwrap(), json(name), "{f:?}");
        assert_eq!(
            serde_json::from_value::<DemographicField>(json(name)).unwrap(),
            f
        );
    }
    assert_eq!(CERTS.len(), CertField::ALL.len());
    for (f, name) in CERTS {
        assert_eq!(f.as_str(), name);
        assert_eq!(serde_json::to_value(f).unwrap(), json(name), "{f:?}");
        assert_eq!(serde_json::from_value::<CertField>(json(name)).unwrap(), f);
    }
    assert!(serde_json::from_value::<CertField>(json("Registration")).is_err());
}

/// Issue 16: a review's digest is stored in learner states (`reviews_seen`); a change of its
/// form would make every learner's reviews look changed once. Pinned.
#[test]
fn i16_a_reviews_digest_is_pinned() {
    use chrono::TimeZone;
    let at = |h| chrono::Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap();
    let r = picsync_domain::OfReview {
        id: picsync_domain::OfReviewId(1042),
        assessor: Some(picsync_domain::OfUserId(7)),
        scheduled_for: Some(at(9)),
        started_on: None,
    };
    let started = picsync_domain::OfReview {
        started_on: Some(at(10)),
        ..r.clone()
    };
    // FNV-1a 64 of "1042|7|1772442000000|", computed independently
    assert_eq!(r.digest(), "3eccde83e5cf1756");
    assert_ne!(r.digest(), started.digest());
}
