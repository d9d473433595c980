//! Every call of the client (its crate page, "Endpoints used"), round-tripped through the
//! simulator over real HTTP: what the client sends is what the store holds, and what the
//! store holds is what the client reads.

use crate::common::{client, world};
use chrono::{NaiveDate, TimeZone, Utc};
use picsync_domain::{
    Demographics, OfCentreId, OfClassroomId, OfCustomerId, OfPlacementId, OfStandardId, OfUserId,
};
use picsync_onefile::{
    Assignment, LearningAimUpdate, NewClassroom, NewPlacement, NewReview, NewUser, NewVisit,
    OneFileError, PlacementUpdate, ReviewSearch, UserSearch, UserUpdate, role,
};
use picsync_sim::onefile::{OneFileSim, SimPathway, SimStandard};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn named(first: &str, last: &str, email: &str) -> Demographics {
    Demographics {
        first_name: Some(first.into()),
        surname: Some(last.into()),
        email: Some(email.into()),
        ..Demographics::default()
    }
}

#[tokio::test]
async fn customer_and_centres() {
    let w = world(OneFileSim::builder().customer(42, "Acme Training"), 1).await;
    let c = client(&w.sim);
    let customer = c.customer().await.unwrap();
    assert_eq!(
        (customer.id, customer.name.as_deref()),
        (OfCustomerId(42), Some("Acme Training"))
    );
    let centres = c.centres(OfCustomerId(42)).await.unwrap();
    assert_eq!(centres.len(), 1);
    assert_eq!(centres[0].id, OfCentreId(w.pop.centre_id));
    assert!(
        c.centres(OfCustomerId(7)).await.unwrap().is_empty(),
        "another customer's centres"
    );
}

#[tokio::test]
async fn r6_a_learner_is_created_read_and_partially_updated() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    let new = NewUser {
        organisation_id: OfCentreId(w.pop.centre_id),
        role: role::LEARNER,
        demographics: Demographics {
            uln: Some("1234567890".into()),
            ni_number: Some("QQ123456C".into()),
            date_of_birth: Some(d(2004, 6, 1)),
            start_date: Some(d(2024, 9, 2)),
            planned_end_date: Some(d(2026, 3, 31)),
            ethnicity: Some("31".into()),
            sex: Some("F".into()),
            disability: Some("2".into()),
            ..named("Ada", "Lovelace", "ada@example.org")
        },
        mis_id: Some("PICS-0042".into()),
        default_assessor_id: Some(OfUserId(w.pop.assessor_ids[0])),
        classroom_id: Some(OfClassroomId(w.pop.classroom_id)),
        placement_id: Some(OfPlacementId(w.pop.placement_ids[0])),
        ..NewUser::default()
    };
    let created = c.create_user(&new).await.unwrap();
    assert_eq!(created.mis_id.as_deref(), Some("PICS-0042"));
    // summer date-only values survive the midnight-UTC / London round trip
    assert_eq!(created.demographics.date_of_birth, Some(d(2004, 6, 1)));
    assert_eq!(
        created.demographics, new.demographics,
        "every field as sent"
    );
    let stored = w.sim.read(|s| s.users[&created.id.0].clone());
    assert_eq!(stored.demographics.date_of_birth, Some(d(2004, 6, 1)));
    assert_eq!(stored.demographics.sex.as_deref(), Some("F"));
    assert_eq!(stored.default_assessor_id, Some(w.pop.assessor_ids[0]));

    let before = stored.last_modified;
    let update = UserUpdate {
        demographics: Demographics {
            telephone: Some("0161 496 0000".into()),
            planned_end_date: Some(d(2026, 7, 31)),
            ..Demographics::default()
        },
        ..UserUpdate::default()
    };
    c.update_user(created.id, &update).await.unwrap();
    let read = c.get_user(created.id).await.unwrap();
    assert_eq!(
        read.demographics.telephone.as_deref(),
        Some("0161 496 0000")
    );
    assert_eq!(read.demographics.planned_end_date, Some(d(2026, 7, 31)));
    assert_eq!(
        read.demographics.first_name.as_deref(),
        Some("Ada"),
        "fields not sent are kept"
    );
    assert_eq!(read.demographics.uln.as_deref(), Some("1234567890"));
    assert!(read.last_modified.unwrap() > before, "LastModified moved");

    // User/Search finds it by MIS value (R12/R14 checks use this)
    let q = UserSearch {
        mis_id: Some("PICS-0042".into()),
        ..UserSearch::new(OfCentreId(w.pop.centre_id), role::LEARNER)
    };
    let found = c.search_users(&q).await.unwrap();
    assert_eq!(
        found.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![created.id]
    );
}

#[tokio::test]
async fn r11_an_assessor_is_created_and_assigned_to_a_learner() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    let assessor = c
        .create_user(&NewUser {
            organisation_id: OfCentreId(w.pop.centre_id),
            role: role::ASSESSOR,
            demographics: named("Grace", "Hopper", "grace@example.org"),
            mis_id: Some("OFF-7".into()),
            ..NewUser::default()
        })
        .await
        .unwrap();
    assert_eq!(assessor.role, Some(role::ASSESSOR));
    let learner = OfUserId(w.pop.learner_ids[0]);
    let a = Assignment {
        learner_id: learner,
        level: 1,
        standard_id: Some(OfStandardId(w.pop.standard_ids[0])),
    };
    c.assign_user(assessor.id, &a).await.unwrap();
    let assigned = w.sim.read(|s| {
        s.assignments
            .iter()
            .any(|x| x.user_id == assessor.id.0 && x.learner_id == learner.0 && x.level == 1)
    });
    assert!(assigned);
    // a learner cannot be assigned: a permanent 400
    let e = c.assign_user(learner, &a).await.unwrap_err();
    assert!(
        matches!(e, OneFileError::Status { status: 400, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn r7_r13_classrooms_and_placements() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    let centre = OfCentreId(w.pop.centre_id);
    let id = c
        .create_classroom(&NewClassroom {
            organisation_id: centre,
            name: "Tag: Evening".into(),
            mis_id: None,
        })
        .await
        .unwrap();
    let rooms = c.classrooms(centre).await.unwrap();
    assert!(
        rooms
            .iter()
            .any(|r| r.id == id && r.name.as_deref() == Some("Tag: Evening"))
    );

    let pid = c
        .create_placement(&NewPlacement {
            organisation_id: centre,
            name: "Widgets Ltd".into(),
            mis_id: Some("ORG-9".into()),
            address: Some("1 High St".into()),
            active: true,
        })
        .await
        .unwrap();
    let p = c.get_placement(pid).await.unwrap();
    assert_eq!(p.mis_id.as_deref(), Some("ORG-9"));
    assert_eq!(p.active, Some(true));
    c.update_placement(
        pid,
        &PlacementUpdate {
            name: Some("Widgets plc".into()),
            ..PlacementUpdate::default()
        },
    )
    .await
    .unwrap();
    let p = c.get_placement(pid).await.unwrap();
    assert_eq!(p.name.as_deref(), Some("Widgets plc"));
    assert_eq!(p.address.as_deref(), Some("1 High St"));
    assert!(
        c.placements(centre)
            .await
            .unwrap()
            .iter()
            .any(|x| x.id == pid)
    );
}

#[tokio::test]
async fn r8_r9_r37_standards_with_codes_and_pathways_are_assigned() {
    let mut two_pathways = 0;
    let w = world(
        OneFileSim::builder().seed(|s| {
            let centre = s.add_centre("South");
            two_pathways = s.insert_standard(SimStandard {
                organisation_id: centre,
                code: "ST0116".into(),
                title: "Customer Service Practitioner".into(),
                pathways: vec![
                    SimPathway {
                        id: 0,
                        name: "Retail".into(),
                    },
                    SimPathway {
                        id: 0,
                        name: "Hospitality".into(),
                    },
                ],
                total_elements: Some(25),
                ..SimStandard::default()
            });
        }),
        1,
    )
    .await;
    let c = client(&w.sim);
    let north = c.standards(OfCentreId(w.pop.centre_id)).await.unwrap();
    assert_eq!(north.len(), 2);
    assert_eq!(north[0].code.as_deref(), Some("ST0001"));
    let south_id = w.sim.read(|s| s.standards[&two_pathways].organisation_id);
    let south = c.standards(OfCentreId(south_id)).await.unwrap();
    assert_eq!(south.len(), 1);
    assert_eq!(
        south[0].title.as_deref(),
        Some("Customer Service Practitioner")
    );
    assert_eq!(south[0].pathways.len(), 2);

    let learner = OfUserId(w.pop.learner_ids[0]);
    let pathway = south[0].pathways[1].id;
    let two_pathways = OfStandardId(two_pathways);
    let aim_id = c
        .assign_standard(two_pathways, learner, Some(pathway))
        .await
        .unwrap();
    let aim = c.get_learning_aim(aim_id).await.unwrap();
    assert_eq!(aim.user_id, Some(learner));
    assert_eq!(aim.standard_id, Some(two_pathways));
    assert_eq!(aim.total_elements, Some(25));
    assert_eq!(
        w.sim.read(|s| s.learning_aims[&aim_id.0].pathway_id),
        Some(pathway.0)
    );
    assert_eq!(c.learning_aims(learner).await.unwrap().len(), 3);
    // a pathway of another standard is refused, permanently
    let e = c
        .assign_standard(OfStandardId(w.pop.standard_ids[0]), learner, Some(pathway))
        .await
        .unwrap_err();
    assert!(
        matches!(e, OneFileError::Status { status: 400, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn r23_r25_r26_learning_aim_fields_including_the_assumed_names_round_trip() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    let learner = OfUserId(w.pop.learner_ids[0]);
    let aim = c.learning_aims(learner).await.unwrap()[0].clone();
    let before = w.sim.read(|s| s.learning_aims[&aim.id.0].last_modified);
    let update = LearningAimUpdate {
        registration_number: Some("REG-1".into()),
        registration_date: Some(d(2024, 10, 1)),
        certificate_applied_date: Some(d(2025, 6, 30)),
        certificate_received_date: Some(d(2025, 7, 14)),
        total_elements: Some(40),
        elements_done: Some(17),
        ..LearningAimUpdate::default()
    };
    c.update_learning_aim(aim.id, &update).await.unwrap();
    let stored = w.sim.read(|s| s.learning_aims[&aim.id.0].clone());
    assert_eq!(stored.certificate_received_date, Some(d(2025, 7, 14)));
    assert_eq!(stored.elements_done, Some(17));
    let read = c.get_learning_aim(aim.id).await.unwrap();
    assert_eq!(read.registration_number.as_deref(), Some("REG-1"));
    assert_eq!(read.registration_date, Some(d(2024, 10, 1)));
    assert_eq!(read.certificate_applied_date, Some(d(2025, 6, 30)));
    assert_eq!(read.certificate_received_date, Some(d(2025, 7, 14)));
    assert_eq!(
        (read.total_elements, read.elements_done),
        (Some(40), Some(17))
    );
    assert_eq!(read.start_date, aim.start_date, "fields not sent are kept");
    assert!(stored.last_modified > before, "LastModified moved");
}

#[tokio::test]
async fn r16_r19_r21_a_visit_and_review_are_created_then_read_back() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    let learner = OfUserId(w.pop.learner_ids[0]);
    let assessor = OfUserId(w.pop.assessor_ids[0]);
    let from = Utc.with_ymd_and_hms(2025, 7, 1, 9, 30, 0).unwrap();
    let visit = c
        .create_visit(&NewVisit {
            learner_id: learner,
            organisation_id: OfCentreId(w.pop.centre_id),
            date_from: from,
            date_to: from + chrono::Duration::minutes(60),
            visit_type_id: 2,
            sms_reminder: false,
            assessor_id: assessor,
        })
        .await
        .unwrap();
    // §7: a visit created before a crash is found again by its slot
    let visits = c.search_visits(learner).await.unwrap();
    let found = visits
        .iter()
        .find(|v| v.date_from == Some(from) && v.assessor_id == Some(assessor));
    assert_eq!(found.map(|v| v.id), Some(visit));
    assert!(
        c.search_visits(OfUserId(w.pop.learner_ids.len() as i64 + 999_999))
            .await
            .unwrap()
            .is_empty()
    );
    let review = c
        .create_review(&NewReview {
            learner_id: learner,
            scheduled_for: from,
            visit_id: Some(visit),
            assessor_id: assessor,
        })
        .await
        .unwrap();
    let stored = w
        .sim
        .read(|s| (s.visits[&visit.0].clone(), s.reviews[&review.0].clone()));
    assert_eq!(stored.0.date_to, Some(from + chrono::Duration::minutes(60)));
    assert_eq!(stored.1.status, 1, "reviews are created with Status 1");
    assert_eq!(stored.1.visit_id, Some(visit.0));

    let r = c.get_review(review).await.unwrap();
    assert_eq!(r.scheduled_for, Some(from));
    assert_eq!(r.assessor_id, Some(assessor));
    assert!(r.created_on.is_some() && r.started_on.is_none());

    // the review is started in OneFile; the learner's reviews show it
    let started = from + chrono::Duration::minutes(5);
    w.sim
        .edit(|e| e.review(review.0).unwrap().started_on = Some(started));
    let all = c
        .search_reviews(&ReviewSearch::for_learner(learner))
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    let mine = all.iter().find(|x| x.id == review).unwrap();
    assert_eq!(mine.started_on, Some(started));
    // and a date-range search over the centre pages to it
    let window = ReviewSearch {
        organisation_id: Some(OfCentreId(w.pop.centre_id)),
        date_from: Some(from - chrono::Duration::days(1)),
        date_to: Some(from + chrono::Duration::days(1)),
        ..ReviewSearch::default()
    };
    let found = c.search_reviews(&window).await.unwrap();
    assert_eq!(found.iter().map(|x| x.id).collect::<Vec<_>>(), vec![review]);
}

#[tokio::test]
async fn a_learner_missing_required_fields_is_refused_with_the_servers_message() {
    let w = world(OneFileSim::builder(), 1).await;
    let c = client(&w.sim);
    let e = c
        .create_user(&NewUser {
            organisation_id: OfCentreId(w.pop.centre_id),
            role: role::LEARNER,
            demographics: named("No", "Assessor", "x@example.org"),
            ..NewUser::default()
        })
        .await
        .unwrap_err();
    match e {
        OneFileError::Status {
            status: 400,
            message,
            ..
        } => assert!(message.contains("DefaultAssessorID"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.sim.counters().get("POST /user"), 1);
}
