//! The client keeps only what a search asked for, and notices an Assumed field OneFile does not
//! store (issue 11 items 3 and 15; the crate page, "Conventions" and "Assumed names").

use crate::common::*;

use chrono::NaiveDate;
use picsync_onefile::{LearningAimUpdate, OneFileError, ReviewSearch, UserSearch, fields, role};
use picsync_sim::onefile::{OneFileSim, Quirks, SimUser};

#[tokio::test]
async fn r14_user_search_keeps_only_users_whose_mis_value_equals_the_one_asked() {
    let q = Quirks {
        mis_contains: true,
        ..Quirks::default()
    };
    let w = world(OneFileSim::builder().quirks(q), 12).await;
    let centre = w.pop.centre_id;
    let (exact, other_role) = w.sim.edit(|e| {
        e.add_user(SimUser::learner(centre, "Longer", "Value", "L000010"));
        e.add_user(SimUser::learner(centre, "Prefixed", "Value", "XL00001"));
        let exact = e.add_user(SimUser::learner(centre, "Spaced", "Case", " l00001 "));
        let mut a = SimUser::assessor(centre, "Same", "Value");
        a.mis_id = Some("L00001".into());
        (exact, e.add_user(a))
    });
    let c = client(&w.sim);
    let search = |r| UserSearch {
        mis_id: Some("L00001".into()),
        ..UserSearch::new(w.centre(), r)
    };
    let mut got: Vec<i64> = c
        .search_users(&search(role::LEARNER))
        .await
        .unwrap()
        .iter()
        .map(|u| u.id.0)
        .collect();
    got.sort();
    assert_eq!(got, vec![w.pop.learner_ids[0], exact]);
    let got: Vec<i64> = c
        .search_users(&search(role::ASSESSOR))
        .await
        .unwrap()
        .iter()
        .map(|u| u.id.0)
        .collect();
    assert_eq!(got, vec![other_role]);
    // the simulator did answer with more than that
    assert!(
        w.sim.read(|s| s
            .users
            .values()
            .filter(|u| u
                .mis_id
                .as_deref()
                .is_some_and(|m| m.to_lowercase().contains("l00001")))
            .count())
            >= 5
    );
}

#[tokio::test]
async fn r21_aim_review_and_visit_searches_keep_only_the_learners_own_records() {
    let q = Quirks {
        ignore_owner_filters: true,
        ..Quirks::default()
    };
    let w = world(OneFileSim::builder().quirks(q), 5).await;
    let c = client(&w.sim);
    let learner = w.learner(2);
    let aims = c.learning_aims(learner).await.unwrap();
    assert_eq!(aims.len(), 2, "{aims:?}");
    assert!(aims.iter().all(|a| a.user_id == Some(learner)));
    let reviews = c
        .search_reviews(&ReviewSearch::for_learner(learner))
        .await
        .unwrap();
    assert_eq!(reviews.len(), 3, "{reviews:?}");
    assert!(reviews.iter().all(|r| r.learner_id == Some(learner)));
    let from = chrono::Utc::now();
    for l in [learner, w.learner(3)] {
        c.create_visit(&picsync_onefile::NewVisit {
            learner_id: l,
            organisation_id: w.centre(),
            date_from: from,
            date_to: from + chrono::Duration::hours(1),
            visit_type_id: 0,
            sms_reminder: false,
            assessor_id: w.assessor(0),
        })
        .await
        .unwrap();
    }
    let visits = c.search_visits(learner).await.unwrap();
    assert_eq!(visits.len(), 1, "{visits:?}");
    assert_eq!(visits[0].learner_id, Some(learner));
}

#[tokio::test]
async fn r40_an_assumed_field_onefile_does_not_store_is_named_and_then_not_written_again() {
    let q = Quirks {
        ignore_certificate_received_date: true,
        ..Quirks::default()
    };
    let w = world(OneFileSim::builder().quirks(q), 2).await;
    let c = client(&w.sim);
    let aims = c.learning_aims(w.learner(0)).await.unwrap();
    let received = LearningAimUpdate {
        certificate_received_date: NaiveDate::from_ymd_opt(2025, 9, 1),
        ..Default::default()
    };
    let e = c
        .update_learning_aim(aims[0].id, &received)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, OneFileError::Ignored { field, .. } if field == fields::CERTIFICATE_RECEIVED_DATE),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("CertificateReceivedDate"), "{e}");
    let posts = w.sim.counters().get("POST /learningaim/{id}");
    assert_eq!(posts, 1);
    // from now on the field is refused before anything is sent, by every clone of the client
    let e = c
        .clone()
        .update_learning_aim(aims[1].id, &received)
        .await
        .unwrap_err();
    assert!(matches!(e, OneFileError::Ignored { .. }), "{e:?}");
    assert_eq!(w.sim.counters().get("POST /learningaim/{id}"), posts);
    // other fields are written as before, and a documented field is not read back
    let gets = w.sim.counters().get("GET /learningaim/{id}");
    c.update_learning_aim(
        aims[1].id,
        &LearningAimUpdate {
            registration_number: Some("REG-1".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(w.sim.counters().get("GET /learningaim/{id}"), gets);
}

#[tokio::test]
async fn an_assumed_field_that_sticks_is_read_back_once_only() {
    let w = world(OneFileSim::builder(), 2).await;
    let c = client(&w.sim);
    let aims = c.learning_aims(w.learner(1)).await.unwrap();
    for (n, aim) in aims.iter().enumerate() {
        let day = NaiveDate::from_ymd_opt(2025, 9, 1 + n as u32);
        c.update_learning_aim(
            aim.id,
            &LearningAimUpdate {
                certificate_received_date: day,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            w.sim
                .read(|s| s.learning_aims[&aim.id.0].certificate_received_date),
            day
        );
    }
    assert_eq!(w.sim.counters().get("GET /learningaim/{id}"), 1);
}

#[tokio::test]
async fn s7_a_onefile_without_visit_search_answers_not_found() {
    let q = Quirks {
        no_visit_search: true,
        ..Quirks::default()
    };
    let w = world(OneFileSim::builder().quirks(q), 1).await;
    let e = client(&w.sim)
        .search_visits(w.learner(0))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, OneFileError::NotFound { endpoint } if endpoint == "POST /Visit/Search"),
        "{e:?}"
    );
}
