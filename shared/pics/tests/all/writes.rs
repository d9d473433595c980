//! Reads and writes against the simulator, and the conditional-write rule R41.

use crate::common::*;
use picsync_domain::{DemographicField, OfAimId, OfReviewId, OfUserId, OfficerId, Value};
use picsync_pics::{
    LearnerPatch, NewReview, OfficerPatch, OrganisationPatch, PicsError, QualificationPatch,
    ReviewPatch,
};
use picsync_sim::faults::Fault;

#[tokio::test]
async fn full_learner_read_matches_the_store() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    let l = c.get_learner(&"L-00001".into()).await.unwrap();
    let held = sim.learner("L-00001").unwrap();
    assert_eq!(l.row_version, held.row_version);
    assert_eq!(l.last_modified, held.last_modified);
    assert_eq!(l.one_file_id, Some(OfUserId(4242)));
    assert_eq!(l.demographics.email.as_deref(), Some("ada@example.com"));
    assert_eq!(l.demographics.date_of_birth, Some(date(2001, 2, 3)));
    assert_eq!(l.main_tag.as_deref(), Some("Cohort A"));
    assert_eq!(l.officers[0].officer_id, "O-1");
    assert_eq!(l.placements[0].type_.as_deref(), Some("P"));
    let q = &l.qualifications[0];
    assert_eq!(
        (q.vq_reference.as_deref(), q.total_elements, q.elements_done),
        (Some("ST0123"), Some(12), Some(3))
    );
    assert_eq!(q.has_units, Some(false));
    let r = &l.reviews[0];
    assert_eq!(r.type_.as_deref(), Some("Normal"));
    assert_eq!(r.proposed_date_time, Some(dt(2024, 7, 1, 10, 0, 0)));
    assert_eq!(r.one_file_system_id, None);
}

#[tokio::test]
async fn patch_learner_sets_and_clears_and_returns_the_new_row_version() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    let l = c.get_learner(&"L-00001".into()).await.unwrap();
    let patch = LearnerPatch {
        one_file_id: Some(None),
        ..demographics_patch(&[
            (DemographicField::Email, Value::Blank),
            (DemographicField::Mobile, text("07700 900456")),
            (
                DemographicField::PlannedEndDate,
                Value::Date(date(2025, 12, 31)),
            ),
        ])
    };
    let rv = c
        .patch_learner(&"L-00001".into(), &l.row_version, &patch)
        .await
        .unwrap();
    let held = sim.learner("L-00001").unwrap();
    assert_ne!(rv, l.row_version);
    assert_eq!(rv, held.row_version);
    assert_eq!(held.one_file_id, None, "unlinked");
    assert_eq!(held.demographics.email, None, "cleared");
    assert_eq!(held.demographics.mobile.as_deref(), Some("07700 900456"));
    assert_eq!(held.demographics.planned_end_date, Some(date(2025, 12, 31)));
    assert_eq!(
        held.demographics.first_name.as_deref(),
        Some("First1"),
        "untouched"
    );
    assert!(held.last_modified > l.last_modified);
}

#[tokio::test]
async fn r41_stale_row_version_gets_412_reported_as_conflict_and_is_not_resent() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    let read = c.get_learner(&"L-00001".into()).await.unwrap();
    // a user edits the learner in PICS between the sync's read and its write
    sim.before_next_write("L-00001", |store| {
        store.learner_mut("L-00001").unwrap().demographics.email = Some("user@edit.example".into());
    });
    let patch = demographics_patch(&[(DemographicField::Email, text("sync@write.example"))]);
    let err = c
        .patch_learner(&"L-00001".into(), &read.row_version, &patch)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PicsError::Conflict { learner } if learner == "L-00001"),
        "{err:?}"
    );
    assert!(err.is_conflict() && err.is_retryable() && !err.is_retryable_in_place());
    assert!(err.to_string().contains("changed since it was read"));
    // the stale write was sent once, not retried in place, and the user's edit survives
    assert_eq!(sim.counters().get("PATCH /learners/{id}"), 1);
    assert_eq!(
        sim.learner("L-00001")
            .unwrap()
            .demographics
            .email
            .as_deref(),
        Some("user@edit.example")
    );
    // re-read and re-plan: the write goes through on the new RowVersion
    let fresh = c.get_learner(&"L-00001".into()).await.unwrap();
    assert_ne!(fresh.row_version, read.row_version);
    let patch = demographics_patch(&[(DemographicField::Mobile, text("07700 900789"))]);
    c.patch_learner(&"L-00001".into(), &fresh.row_version, &patch)
        .await
        .unwrap();
    let held = sim.learner("L-00001").unwrap();
    assert_eq!(
        held.demographics.email.as_deref(),
        Some("user@edit.example")
    );
    assert_eq!(held.demographics.mobile.as_deref(), Some("07700 900789"));
}

#[tokio::test]
async fn r41_every_write_under_a_learner_is_conditional() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    let stale = c.get_learner(&"L-00001".into()).await.unwrap().row_version;
    // any change under the learner (here: a qualification, by a user) makes `stale` stale
    sim.edit(|s| {
        s.learner_mut("L-00001").unwrap().qualifications[0].registration_number =
            Some("REG-USER".into());
    });
    let before = sim.state();
    let q = QualificationPatch {
        elements_done: Some(9),
        ..Default::default()
    };
    let e = c
        .patch_qualification(&"L-00001".into(), &"Q-1".into(), &stale, &q)
        .await;
    assert!(matches!(e, Err(PicsError::Conflict { .. })), "{e:?}");
    let r = NewReview {
        type_: Some("Normal".into()),
        one_file_system_id: Some(OfReviewId(77)),
        ..Default::default()
    };
    let e = c.create_review(&"L-00001".into(), &stale, &r).await;
    assert!(matches!(e, Err(PicsError::Conflict { .. })), "{e:?}");
    let p = ReviewPatch {
        attended_value: Some("Attended".into()),
        ..Default::default()
    };
    let e = c
        .patch_review(&"L-00001".into(), &"R-1".into(), &stale, &p)
        .await;
    assert!(matches!(e, Err(PicsError::Conflict { .. })), "{e:?}");
    assert_eq!(sim.state(), before, "no stale write changed anything");
}

#[tokio::test]
async fn qualification_and_review_writes_chain_row_versions() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    let mut rv = c.get_learner(&"L-00001".into()).await.unwrap().row_version;
    let q = QualificationPatch {
        total_elements: Some(20),
        elements_done: Some(11),
        registration_number: Some("REG-1".into()),
        registration_date: Some(date(2024, 2, 1)),
        certificate_applied_for_date: Some(date(2024, 9, 1)),
        certificate_received_date: Some(date(2024, 10, 1)),
        one_file_learning_aim_id: Some(OfAimId(555)),
    };
    rv = c
        .patch_qualification(&"L-00001".into(), &"Q-1".into(), &rv, &q)
        .await
        .unwrap();
    let proposed = dt(2024, 8, 1, 14, 30, 0);
    let (review_id, next) = c
        .create_review(
            &"L-00001".into(),
            &rv,
            &NewReview {
                type_: Some("Normal".into()),
                proposed_date_time: Some(proposed),
                reviewer_officer_id: Some("O-1".into()),
                one_file_system_id: Some(OfReviewId(9001)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_ne!(next, rv);
    rv = next;
    let actual = dt(2024, 8, 1, 14, 35, 12);
    rv = c
        .patch_review(
            &"L-00001".into(),
            &review_id,
            &rv,
            &ReviewPatch {
                attended_value: Some("Attended".into()),
                actual_date_time: Some(actual),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let l = c.get_learner(&"L-00001".into()).await.unwrap();
    assert_eq!(l.row_version, rv);
    let got = &l.qualifications[0];
    assert_eq!(got.total_elements, Some(20));
    assert_eq!(got.elements_done, Some(11));
    assert_eq!(got.registration_number.as_deref(), Some("REG-1"));
    assert_eq!(got.certificate_received_date, Some(date(2024, 10, 1)));
    assert_eq!(got.one_file_learning_aim_id, Some(OfAimId(555)));
    let r = l.reviews.iter().find(|r| r.review_id == review_id).unwrap();
    assert_eq!(r.proposed_date_time, Some(proposed));
    assert_eq!(r.actual_date_time, Some(actual));
    assert_eq!(r.attended_value.as_deref(), Some("Attended"));
    assert_eq!(r.reviewer_officer_id, Some(OfficerId::from("O-1")));
    assert_eq!(r.one_file_system_id, Some(OfReviewId(9001)));
}

#[tokio::test]
async fn a_second_review_with_the_same_onefile_id_is_a_duplicate() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    let rv = c.get_learner(&"L-00001".into()).await.unwrap().row_version;
    let r = NewReview {
        one_file_system_id: Some(OfReviewId(31)),
        ..Default::default()
    };
    let (_, rv) = c.create_review(&"L-00001".into(), &rv, &r).await.unwrap();
    let e = c
        .create_review(&"L-00001".into(), &rv, &r)
        .await
        .unwrap_err();
    assert!(matches!(e, PicsError::Duplicate { .. }), "{e:?}");
    assert!(!e.is_retryable());
    assert_eq!(sim.learner("L-00001").unwrap().reviews.len(), 2);
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_not_applied_twice() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    let rv = c.get_learner(&"L-00001".into()).await.unwrap().row_version;
    // the review is created, but the connection drops before the answer arrives
    sim.faults()
        .script("POST /learners/{id}/reviews", [Fault::Reset]);
    let e = c
        .create_review(
            &"L-00001".into(),
            &rv,
            &NewReview {
                one_file_system_id: Some(OfReviewId(64)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    // the resend carried the old RowVersion: refused, reported as a conflict to re-read
    assert!(e.is_conflict(), "{e:?}");
    assert_eq!(sim.counters().get("POST /learners/{id}/reviews"), 2);
    let l = c.get_learner(&"L-00001".into()).await.unwrap();
    let created: Vec<_> = l
        .reviews
        .iter()
        .filter(|r| r.one_file_system_id == Some(OfReviewId(64)))
        .collect();
    assert_eq!(created.len(), 1, "re-reading finds the one review created");
}

#[tokio::test]
async fn writes_to_unknown_records_are_not_found_and_not_retried() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    let e = c.get_learner(&"L-missing".into()).await.unwrap_err();
    assert!(matches!(e, PicsError::NotFound { .. }), "{e:?}");
    assert_eq!(sim.counters().get("GET /learners/{id}"), 1);
    let rv = c.get_learner(&"L-00001".into()).await.unwrap().row_version;
    let e = c
        .patch_qualification(
            &"L-00001".into(),
            &"Q-missing".into(),
            &rv,
            &QualificationPatch::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, PicsError::NotFound { .. }), "{e:?}");
    let e = c.get_officer(&"O-missing".into()).await.unwrap_err();
    assert!(matches!(e, PicsError::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn officers_and_organisations_read_and_patch() {
    let sim = full_builder().start().await.unwrap();
    let c = client(&sim);
    let o = c.get_officer(&"O-1".into()).await.unwrap();
    assert_eq!(
        (o.ident.as_str(), o.first_name.as_deref(), o.other_system_id),
        ("OFF1", Some("Grace"), None)
    );
    c.patch_officer(
        &"O-1".into(),
        &OfficerPatch {
            other_system_id: Some("5005".into()),
            surname: Some("Hopper-Murray".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let o = c.get_officer(&"O-1".into()).await.unwrap();
    assert_eq!(o.other_system_id.as_deref(), Some("5005"));
    assert_eq!(o.surname.as_deref(), Some("Hopper-Murray"));
    let g = c.get_organisation(&"G-1".into()).await.unwrap();
    assert_eq!(g.name.as_deref(), Some("Acme Ltd"));
    c.patch_organisation(
        &"G-1".into(),
        &OrganisationPatch {
            additional_id: Some("7007".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        sim.state().organisations["G-1"].additional_id.as_deref(),
        Some("7007")
    );
    // officers and organisations are not under a learner: no RowVersion moves
    assert_eq!(
        sim.learner("L-00001").unwrap().row_version,
        c.get_learner(&"L-00001".into()).await.unwrap().row_version
    );
}
