//! Tolerant reading against the simulator over real HTTP: 204 as empty, missing and null
//! fields, every date style (date-only values read in Europe/London), bad values as clear
//! `Malformed` errors, unreadable bodies retried.

use crate::common::{client, world};
use chrono::{NaiveDate, Timelike};
use picsync_domain::{OfCentreId, OfClassroomId, OfUserId};
use picsync_onefile::{OneFileError, ReviewSearch, UserSearch, role};
use picsync_sim::faults::Fault;
use picsync_sim::onefile::{DateStyle, OneFileSim, Quirks};
use serde_json::json;

#[tokio::test]
async fn an_empty_result_reads_as_empty_whether_204_or_an_empty_array() {
    for empty_as_204 in [false, true] {
        let w = world(
            OneFileSim::builder().quirks(Quirks {
                empty_as_204,
                ..Quirks::default()
            }),
            2,
        )
        .await;
        let c = client(&w.sim);
        let none = UserSearch {
            mis_id: Some("NO-SUCH".into()),
            ..UserSearch::new(w.centre(), role::LEARNER)
        };
        assert!(c.search_users(&none).await.unwrap().is_empty());
        assert!(c.classrooms(OfCentreId(999_999)).await.unwrap().is_empty());
        assert!(c.learning_aims(OfUserId(999_999)).await.unwrap().is_empty());
        let reviews = ReviewSearch::for_learner(OfUserId(999_999));
        assert!(c.search_reviews(&reviews).await.unwrap().is_empty());
        // and a non-empty one still reads
        let all = UserSearch::new(w.centre(), role::LEARNER);
        assert_eq!(c.search_users(&all).await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn dates_in_every_style_read_the_same_with_date_only_values_in_london() {
    let w = world(OneFileSim::builder(), 1).await;
    let learner = w.learner(0);
    let summer = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
    w.sim
        .edit(|e| e.user(learner.0).unwrap().demographics.date_of_birth = Some(summer));
    let stored = w.sim.read(|s| s.users[&learner.0].last_modified);
    let c = client(&w.sim);
    for date_style in [
        DateStyle::UtcMillis,
        DateStyle::NoZone,
        DateStyle::Offset,
        DateStyle::SevenDigits,
    ] {
        w.sim.set_quirks(Quirks {
            date_style,
            ..Quirks::default()
        });
        let u = c.get_user(learner).await.unwrap();
        // 1 June is served as 31 May 23:00Z (local midnight) and must read as 1 June
        assert_eq!(u.demographics.date_of_birth, Some(summer), "{date_style:?}");
        let lm = u.last_modified.unwrap();
        assert_eq!(
            lm.with_nanosecond(0),
            stored.with_nanosecond(0),
            "{date_style:?}"
        );
        let aims = c.learning_aims(learner).await.unwrap();
        assert_eq!(
            aims[0].start_date,
            NaiveDate::from_ymd_opt(2024, 9, 2),
            "{date_style:?}"
        );
    }
}

#[tokio::test]
async fn missing_and_null_fields_read_as_none() {
    for omit_nulls in [false, true] {
        let w = world(
            OneFileSim::builder().quirks(Quirks {
                omit_nulls,
                ..Quirks::default()
            }),
            1,
        )
        .await;
        let c = client(&w.sim);
        let u = c.get_user(w.learner(0)).await.unwrap();
        assert_eq!(u.demographics.uln, None);
        assert_eq!(u.demographics.telephone, None);
        assert_eq!(u.progress, None);
        assert!(u.mis_id.is_some());
        let reviews = c
            .search_reviews(&ReviewSearch::for_learner(w.learner(0)))
            .await
            .unwrap();
        assert_eq!(reviews.len(), 3);
        assert!(
            reviews
                .iter()
                .all(|r| r.started_on.is_none() && r.scheduled_for.is_some())
        );
    }
}

#[tokio::test]
async fn odd_but_valid_values_are_read_leniently() {
    let w = world(OneFileSim::builder(), 1).await;
    let learner = w.learner(0);
    w.sim.edit(|e| {
        let s = e.raw();
        s.override_field(learner.0, "ClassroomID", json!("77"));
        s.override_field(learner.0, "Archived", json!(0));
        s.override_field(learner.0, "ULN", json!(1234567890));
        s.override_field(
            learner.0,
            "StartOn",
            json!("2024-09-02T00:00:00.1234567+01:00"),
        );
        s.override_field(learner.0, "Telephone", json!(""));
    });
    let u = client(&w.sim).get_user(learner).await.unwrap();
    assert_eq!(u.classroom_id, Some(OfClassroomId(77)));
    assert_eq!(u.archived, Some(false));
    assert_eq!(u.demographics.uln.as_deref(), Some("1234567890"));
    assert_eq!(
        u.demographics.start_date,
        NaiveDate::from_ymd_opt(2024, 9, 2)
    );
    assert_eq!(u.demographics.telephone, None);
}

#[tokio::test]
async fn a_bad_field_value_is_a_permanent_malformed_error_naming_endpoint_and_field() {
    let w = world(OneFileSim::builder(), 1).await;
    let learner = w.learner(0);
    w.sim.edit(|e| {
        e.raw()
            .override_field(learner.0, "DOB", json!("next tuesday"));
    });
    let e = client(&w.sim).get_user(learner).await.unwrap_err();
    assert!(matches!(e, OneFileError::Malformed { .. }), "{e:?}");
    assert!(!e.is_retryable());
    let text = e.to_string();
    assert!(text.contains(&format!("GET /User/{learner}")), "{text}");
    assert!(text.contains("field DOB"), "{text}");
    assert!(text.contains("next tuesday"), "{text}");
    assert_eq!(w.sim.counters().get("GET /user/{id}"), 1, "not retried");
}

#[tokio::test]
async fn malformed_and_truncated_bodies_are_retried_and_then_read() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    let learner = w.learner(0);
    w.sim
        .faults()
        .script("GET /user/{id}", [Fault::Malformed, Fault::Truncated]);
    assert_eq!(c.get_user(learner).await.unwrap().id, learner);
    assert_eq!(w.sim.counters().get("GET /user/{id}"), 3);
    assert_eq!(w.sim.faults().injected(), 2);
}

#[tokio::test]
async fn a_body_that_stays_unreadable_fails_with_a_retryable_malformed_error() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    w.sim
        .faults()
        .script("GET /customer", std::iter::repeat_n(Fault::Truncated, 10));
    let e = c.customer().await.unwrap_err();
    assert!(
        matches!(
            e,
            OneFileError::Malformed {
                transient: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_retryable(), "the caller may try again later");
    assert_eq!(
        w.sim.counters().get("GET /customer"),
        5,
        "bounded by max_attempts"
    );
}
