//! Fixtures for the domain tests: a learner linked on both sides, built up field by field.
#![allow(dead_code)]

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use picsync_domain::*;

pub(crate) fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub(crate) fn dt(y: i32, m: u32, day: u32, h: u32, min: u32) -> NaiveDateTime {
    d(y, m, day).and_hms_opt(h, min, 0).unwrap()
}

pub(crate) fn utc(y: i32, m: u32, day: u32, h: u32, min: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, day, h, min, 0).unwrap()
}

pub(crate) const TODAY: (i32, u32, u32) = (2024, 7, 15);

pub(crate) fn today() -> NaiveDate {
    d(TODAY.0, TODAY.1, TODAY.2)
}

pub(crate) fn officer(id: &str, link: Option<i64>) -> PicsOfficer {
    PicsOfficer {
        id: OfficerId::from(id),
        ident: format!("OFF-{id}"),
        first_name: Some(format!("First{id}")),
        surname: Some(format!("Last{id}")),
        email: Some(format!("{id}@staff.example")),
        other_system_id: link.map(|l| l.to_string()),
    }
}

pub(crate) fn assessor(id: i64, first: &str, last: &str) -> OfUser {
    OfUser {
        id: OfUserId(id),
        role: Some(5),
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        mis_id: None,
        archived: false,
    }
}

/// A live, in-learning learner L1 linked to OneFile learner 1000, main officer O1 linked to
/// assessor 500, no qualifications, no reviews.
pub(crate) fn view() -> LearnerView {
    let demo = Demographics {
        first_name: Some("Ada".into()),
        surname: Some("Lovelace".into()),
        email: Some("ada@example.org".into()),
        date_of_birth: Some(d(2000, 1, 2)),
        ..Default::default()
    };
    LearnerView {
        pics: PicsLearner {
            id: LearnerId::from("L1"),
            ident: "ID001".into(),
            row_version: "1".into(),
            last_modified: None,
            onefile_id: Some(OfUserId(1000)),
            system_status: SystemStatus::Live,
            episode_status: EpisodeStatus::InLearning,
            actual_end_date: None,
            demographics: demo.clone(),
            main_tag: None,
            main_officer: Some(OfficerId::from("O1")),
            officers: vec![],
            placements: vec![],
            qualifications: vec![],
            reviews: vec![],
        },
        onefile: OneFileSide {
            learner: OfLearner {
                id: OfUserId(1000),
                mis_id: Some("ID001".into()),
                demographics: demo,
                last_modified: None,
            },
            aims: vec![],
            reviews: vec![],
        },
        officers: vec![officer("O1", Some(500))],
        assessors: vec![assessor(500, "FirstO1", "LastO1")],
        employer: None,
        placement: None,
        uploaded: Default::default(),
    }
}

pub(crate) fn qual(id: &str, code: &str, aim: Option<i64>) -> PicsQualification {
    PicsQualification {
        id: QualificationId::from(id),
        vq_reference: Some(code.into()),
        title: None,
        start_date: None,
        planned_end_date: None,
        assessor: None,
        has_units: false,
        total_elements: None,
        elements_done: None,
        cert: CertValues::default(),
        onefile_aim: aim.map(OfAimId),
    }
}

pub(crate) fn aim(id: i64, code: &str) -> OfLearningAim {
    OfLearningAim {
        id: OfAimId(id),
        standard: Some(OfStandardId(id + 10_000)),
        code: Some(code.into()),
        cert: CertValues::default(),
        total_elements: None,
        elements_done: None,
    }
}

/// A view with one qualification Q1 (code ST0001) linked to aim 700.
pub(crate) fn view_with_pair() -> LearnerView {
    let mut v = view();
    v.pics.qualifications.push(qual("Q1", "ST0001", Some(700)));
    v.onefile.aims.push(aim(700, "ST0001"));
    v
}

pub(crate) fn review(id: &str, proposed: Option<NaiveDateTime>) -> PicsReview {
    PicsReview {
        id: ReviewId::from(id),
        kind: ReviewType::Normal,
        proposed,
        attended: None,
        actual: None,
        reviewer: None,
        onefile_id: None,
    }
}

pub(crate) fn of_review(
    id: i64,
    assessor: Option<i64>,
    scheduled: Option<chrono::DateTime<Utc>>,
) -> OfReview {
    OfReview {
        id: OfReviewId(id),
        assessor: assessor.map(OfUserId),
        scheduled_for: scheduled,
        started_on: None,
    }
}

pub(crate) struct Ctx {
    pub settings: Settings,
    pub catalogue: Catalogue,
    pub centre: Option<OfCentreId>,
    pub baseline: Baseline,
    pub mode: Mode,
    pub today: NaiveDate,
    pub linked_on: NaiveDate,
}

/// The day the fixtures' learner was linked (R37: only later qualifications are assigned).
pub(crate) fn linked_on() -> NaiveDate {
    d(2024, 7, 1)
}

impl Default for Ctx {
    fn default() -> Self {
        Ctx {
            settings: Settings::default(),
            catalogue: Catalogue::default(),
            centre: Some(OfCentreId(1)),
            baseline: Baseline::default(),
            mode: Mode::Periodic,
            today: today(),
            linked_on: linked_on(),
        }
    }
}

impl Ctx {
    pub(crate) fn plan(&self, v: &LearnerView) -> Plan {
        plan(
            v,
            &Context {
                settings: &self.settings,
                catalogue: &self.catalogue,
                centre: self.centre,
                baseline: &self.baseline,
                mode: self.mode,
                today: self.today,
                linked_on: self.linked_on,
            },
        )
    }
}

pub(crate) fn entry(standard: i64, centre: i64, code: &str, pathways: &[i64]) -> CatalogueEntry {
    CatalogueEntry {
        standard: OfStandardId(standard),
        centre: OfCentreId(centre),
        code: code.into(),
        title: None,
        pathways: pathways
            .iter()
            .map(|p| Pathway {
                id: OfPathwayId(*p),
                name: Some(format!("pathway {p}")),
            })
            .collect(),
    }
}
