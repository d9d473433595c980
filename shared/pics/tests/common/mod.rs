//! Helpers shared by the client tests: a seeded simulator and a client tuned for tests
//! (small pages, short timeout, fast retries).
#![allow(dead_code)]

use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use picsync_domain::{DemographicField, Demographics, Value};
use picsync_http::RetryPolicy;
use picsync_pics::{DemographicsPatch, LearnerPatch};
use picsync_pics::{PicsClient, PicsConfig};
use picsync_sim::pics::{
    PicsSim, PicsSimBuilder, SimLearner, SimLearnerOfficer, SimOfficer, SimOrganisation,
    SimPlacement, SimQualification, SimReview,
};

pub(crate) const USER: &str = "picsync-api-user";
pub(crate) const PASSWORD: &str = "Pw-9f3c1e-very-secret";

pub(crate) fn dt(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, mi, s)
        .unwrap()
}

pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A learner patch writing these demographic fields (a blank clears one).
pub(crate) fn demographics_patch(fields: &[(DemographicField, Value)]) -> LearnerPatch {
    let mut d = DemographicsPatch::default();
    for (f, v) in fields {
        assert!(d.set(*f, v), "{f:?} cannot take {v:?}");
    }
    LearnerPatch {
        demographics: d,
        ..LearnerPatch::default()
    }
}

/// Text `s` as a field value.
pub(crate) fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// Learner `i`: id `L-0000i`, linked to OneFile id `1000 + i` when `linked`.
pub(crate) fn learner(i: usize, linked: bool) -> SimLearner {
    SimLearner {
        one_file_id: linked.then_some(1000 + i as i64),
        demographics: Demographics {
            first_name: Some(format!("First{i}")),
            surname: Some(format!("Surname{i}")),
            ..Demographics::default()
        },
        ..SimLearner::new(format!("L-{i:05}"), format!("ID{i:05}"))
    }
}

/// A learner with everything under it, and the officer and organisation it refers to.
pub(crate) fn full_builder() -> PicsSimBuilder {
    let l = SimLearner {
        one_file_id: Some(4242),
        last_modified: Some(dt(2024, 5, 1, 8, 0, 0)),
        demographics: Demographics {
            email: Some("ada@example.com".into()),
            date_of_birth: Some(date(2001, 2, 3)),
            start_date: Some(date(2024, 1, 8)),
            ..learner(1, true).demographics
        },
        main_tag: Some("Cohort A".into()),
        main_officer_id: Some("O-1".into()),
        officers: vec![SimLearnerOfficer {
            officer_id: "O-1".into(),
            role: Some("Assessor".into()),
        }],
        placements: vec![SimPlacement {
            organisation_id: "G-1".into(),
            type_: Some("P".into()),
            start_date: Some(date(2024, 1, 8)),
        }],
        qualifications: vec![SimQualification {
            total_elements: Some(12),
            elements_done: Some(3),
            ..SimQualification::new("Q-1", "ST0123")
        }],
        reviews: vec![SimReview::normal("R-1", dt(2024, 7, 1, 10, 0, 0))],
        ..learner(1, true)
    };
    builder()
        .learner(l)
        .officer(SimOfficer::new("O-1", "OFF1", "Grace", "Hopper"))
        .organisation(SimOrganisation::new("G-1", "ORG1", "Acme Ltd"))
}

/// A simulator builder with the test credentials.
pub(crate) fn builder() -> PicsSimBuilder {
    PicsSim::builder().credentials(USER, PASSWORD)
}

/// A client configuration for tests: pages of 10, 400 ms timeout, fast retries.
pub(crate) fn config(sim: &PicsSim) -> PicsConfig {
    let mut c = PicsConfig::new(sim.base_url(), USER, PASSWORD);
    c.page_size = 10;
    c.timeout = Duration::from_millis(400);
    c.retry = RetryPolicy::fast();
    c
}

pub(crate) fn client(sim: &PicsSim) -> PicsClient {
    PicsClient::new(config(sim)).unwrap()
}
