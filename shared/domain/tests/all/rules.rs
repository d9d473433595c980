//! One table test per rule of §5 (`picsync_domain::rules`), named by rule id.

use crate::common::*;

use picsync_domain::apply::apply;
use picsync_domain::plan::{
    CertDecision, NameField, QualField, ReviewField, decide_cert, eligible_for_upload, in_scope,
};
use picsync_domain::settings::{Direction, VisitType};
use picsync_domain::*;

fn only_pics(p: &Plan) -> &PicsOp {
    assert!(
        p.onefile.is_empty(),
        "unexpected OneFile ops: {:#?}",
        p.onefile
    );
    assert_eq!(p.pics.len(), 1, "{:#?}", p.pics);
    &p.pics[0]
}

fn only_onefile(p: &Plan) -> &OneFileOp {
    assert!(p.pics.is_empty(), "unexpected PICS ops: {:#?}", p.pics);
    assert_eq!(p.onefile.len(), 1, "{:#?}", p.onefile);
    &p.onefile[0]
}

// ---------- R3: scope ----------

#[test]
fn r3_linked_live_in_learning_is_in_scope() {
    assert!(in_scope(&view().pics, today()).is_ok());
}

#[test]
fn r3_unlinked_or_not_live_is_out_of_scope() {
    let mut v = view();
    v.pics.onefile_id = None;
    assert!(
        in_scope(&v.pics, today())
            .unwrap_err()
            .contains("not linked")
    );
    let mut v = view();
    v.pics.system_status = SystemStatus::Other("Dormant".into());
    assert!(in_scope(&v.pics, today()).unwrap_err().contains("Dormant"));
    // and the plan records the skip with R3, writing nothing
    let p = Ctx::default().plan(&v);
    assert!(p.is_empty());
    assert_eq!(p.skipped[0].rule, Rule::R3);
}

#[test]
fn r3_ended_just_inside_and_just_outside_one_month() {
    let mut v = view();
    v.pics.episode_status = EpisodeStatus::Ended;
    // today 2024-07-15: one calendar month ago is 2024-06-15
    v.pics.actual_end_date = Some(d(2024, 6, 15));
    assert!(
        in_scope(&v.pics, today()).is_ok(),
        "exactly one month ago is inside"
    );
    v.pics.actual_end_date = Some(d(2024, 6, 14));
    assert!(in_scope(&v.pics, today()).is_err(), "a day more is outside");
    v.pics.actual_end_date = None;
    assert!(
        in_scope(&v.pics, today()).is_err(),
        "ended without a date is outside"
    );
}

#[test]
fn r3_month_end_clamps() {
    let mut v = view();
    v.pics.episode_status = EpisodeStatus::BreakInLearning;
    v.pics.actual_end_date = Some(d(2024, 2, 29));
    assert!(in_scope(&v.pics, d(2024, 3, 31)).is_ok());
    v.pics.actual_end_date = Some(d(2024, 2, 28));
    assert!(in_scope(&v.pics, d(2024, 3, 31)).is_err());
}

// ---------- R16–R20: review upload ----------

#[test]
fn r16_times_and_visit_type_in_summer_time() {
    let mut v = view();
    v.pics
        .reviews
        .push(review("R1", Some(dt(2024, 7, 20, 10, 0))));
    let mut c = Ctx::default();
    c.settings.visit_type = VisitType::FaceToFace;
    c.settings.visit_type_ids.insert(VisitType::FaceToFace, 42);
    let plan_ = c.plan(&v);
    let OneFileOp::UploadReview(u) = only_onefile(&plan_) else {
        panic!()
    };
    assert_eq!(
        u.scheduled_for,
        utc(2024, 7, 20, 9, 0),
        "10:00 BST is 09:00Z"
    );
    assert_eq!(u.ends, utc(2024, 7, 20, 10, 0), "ends 60 minutes later");
    assert_eq!(u.visit_type_id, 42);
    assert_eq!(u.rule, Rule::R20);
}

#[test]
fn r16_times_in_winter() {
    let mut v = view();
    v.pics
        .reviews
        .push(review("R1", Some(dt(2024, 12, 2, 10, 0))));
    let plan_ = Ctx::default().plan(&v);
    let OneFileOp::UploadReview(u) = only_onefile(&plan_) else {
        panic!()
    };
    assert_eq!(u.scheduled_for, utc(2024, 12, 2, 10, 0));
}

#[test]
fn r17_eligibility_table() {
    let base = review("R", Some(dt(2024, 7, 1, 9, 0)));
    assert!(eligible_for_upload(&base));
    type Change = Box<dyn Fn(&mut PicsReview)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "type not Normal",
            Box::new(|r| r.kind = ReviewType::Other("Exit".into())),
        ),
        (
            "attended set",
            Box::new(|r| r.attended = Some(Attendance::Attended)),
        ),
        (
            "did not attend",
            Box::new(|r| r.attended = Some(Attendance::Other("DidNotAttend".into()))),
        ),
        (
            "actual date set",
            Box::new(|r| r.actual = Some(dt(2024, 7, 1, 9, 0))),
        ),
        ("no proposed date", Box::new(|r| r.proposed = None)),
        (
            "already linked",
            Box::new(|r| r.onefile_id = Some(OfReviewId(9))),
        ),
    ];
    for (what, change) in cases {
        let mut r = base.clone();
        change(&mut r);
        assert!(!eligible_for_upload(&r), "{what} must not be eligible");
    }
    // a blank attended string is blank
    assert_eq!(Attendance::parse(Some("  ")), None);
    assert_eq!(ReviewType::parse(Some("normal")), ReviewType::Normal);
}

#[test]
fn r18_assessor_is_the_reviews_officer_else_main_officer() {
    let mut v = view();
    v.officers.push(officer("O2", Some(501)));
    let mut r = review("R1", Some(dt(2024, 7, 20, 10, 0)));
    r.reviewer = Some(OfficerId::from("O2"));
    v.pics.reviews.push(r);
    v.pics
        .reviews
        .push(review("R2", Some(dt(2024, 7, 21, 10, 0))));
    let p = Ctx::default().plan(&v);
    let ups: Vec<_> = p
        .onefile
        .iter()
        .map(|o| match o {
            OneFileOp::UploadReview(u) => (u.review.0.clone(), u.assessor.0),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ups, vec![("R1".into(), 501), ("R2".into(), 500)]);
}

#[test]
fn r18_review_officer_unlinked_falls_back_and_none_linked_is_skipped() {
    let mut v = view();
    v.officers.push(officer("O3", None));
    let mut r = review("R1", Some(dt(2024, 7, 20, 10, 0)));
    r.reviewer = Some(OfficerId::from("O3"));
    v.pics.reviews.push(r);
    let plan_ = Ctx::default().plan(&v);
    let OneFileOp::UploadReview(u) = only_onefile(&plan_) else {
        panic!()
    };
    assert_eq!(u.assessor, OfUserId(500));
    // R22 (clarified): the R18 fallback never replaces the PICS reviewer
    assert_eq!(u.set_reviewer, None);

    v.officers[0].other_system_id = None; // main officer unlinked too
    let p = Ctx::default().plan(&v);
    assert!(p.is_empty());
    assert_eq!(p.skipped[0].rule, Rule::R18);
}

#[test]
fn r22_r18_fallback_assessor_never_replaces_the_pics_reviewer() {
    // upload: review officer O3 unlinked, main officer O1 linked to 500
    let mut v = view();
    v.officers.push(officer("O3", None));
    let mut r = review("R1", Some(dt(2024, 7, 20, 10, 0)));
    r.reviewer = Some(OfficerId::from("O3"));
    v.pics.reviews.push(r);
    let c = Ctx::default();
    let p = c.plan(&v);
    let OneFileOp::UploadReview(u) = only_onefile(&p) else {
        panic!()
    };
    assert_eq!(
        u.assessor,
        OfUserId(500),
        "R18: the main officer's assessor"
    );
    assert_eq!(u.set_reviewer, None, "R22: PICS keeps officer O3");
    assert!(
        p.warnings.iter().any(|w| w.contains("O3")),
        "the unlinked officer is reported: {:?}",
        p.warnings
    );
    // after the upload, the next run downloads the review: O3 stays the reviewer
    apply(&p, &mut v).unwrap();
    assert_eq!(v.pics.reviews[0].reviewer, Some(OfficerId::from("O3")));
    let again = c.plan(&v);
    assert!(again.is_empty(), "{again:#?}");
    // a review without an officer still takes the main officer (R22 fills a blank)
    let mut v = view();
    v.pics
        .reviews
        .push(review("R2", Some(dt(2024, 7, 21, 10, 0))));
    let p = c.plan(&v);
    let OneFileOp::UploadReview(u) = only_onefile(&p) else {
        panic!()
    };
    assert_eq!(u.set_reviewer, Some(OfficerId::from("O1")));
}

#[test]
fn r22_r40_subsecond_onefile_times_are_not_echoed() {
    // OneFile serves milliseconds (…33.150Z); PICS stores whole seconds
    let mut v = view();
    let mut r = review("R1", Some(dt(2024, 7, 20, 10, 0)));
    r.onefile_id = Some(OfReviewId(77));
    r.reviewer = Some(OfficerId::from("O1"));
    r.attended = Some(Attendance::Attended);
    r.actual = Some(
        d(2024, 7, 20)
            .and_hms_opt(10, 31, 12)
            .expect("a valid time"),
    );
    v.pics.reviews.push(r);
    let ms = chrono::Duration::milliseconds;
    let mut o = of_review(77, Some(500), Some(utc(2024, 7, 20, 9, 0) + ms(150)));
    o.started_on = Some(utc(2024, 7, 20, 9, 31) + chrono::Duration::seconds(12) + ms(347));
    v.onefile.reviews.push(o.clone());
    let p = Ctx::default().plan(&v);
    assert!(p.is_empty(), "R40: nothing to write: {p:#?}");
    // a new PICS review from OneFile is written at whole seconds, and then converges
    let mut v = view();
    o.id = OfReviewId(78);
    v.onefile.reviews.push(o);
    let c = Ctx::default();
    let p = c.plan(&v);
    let PicsOp::CreateReview { review, .. } = only_pics(&p) else {
        panic!()
    };
    assert_eq!(
        review.actual,
        Some(d(2024, 7, 20).and_hms_opt(10, 31, 12).unwrap())
    );
    assert_eq!(review.proposed, Some(dt(2024, 7, 20, 10, 0)));
}

#[test]
fn r16_extreme_proposed_dates_do_not_panic() {
    // B4: a proposed date/time at the end of chrono's range cannot take its +60 minutes
    let mut v = view();
    v.pics
        .reviews
        .push(review("R1", Some(chrono::NaiveDateTime::MAX)));
    v.pics
        .reviews
        .push(review("R2", Some(chrono::NaiveDateTime::MIN)));
    v.onefile.reviews.push(of_review(
        80,
        Some(500),
        Some(chrono::DateTime::<chrono::Utc>::MIN_UTC),
    ));
    let p = Ctx::default().plan(&v);
    assert!(
        p.skipped
            .iter()
            .any(|s| s.rule == Rule::R16 && s.subject.contains("R1")),
        "{p:#?}"
    );
    // and the baseline projection of a plan never overflows an id
    let mut v = view();
    v.onefile
        .reviews
        .push(of_review(i64::MAX, Some(900), Some(utc(2024, 7, 1, 9, 0))));
    v.pics
        .reviews
        .push(review("R3", Some(dt(2024, 7, 20, 10, 0))));
    let mut c = Ctx::default();
    c.settings.download_reviews = false;
    let p = c.plan(&v);
    assert_eq!(p.onefile.len(), 1, "{p:#?}");
    assert!(
        apply(&p, &mut v).is_err(),
        "refused, not wrapped or panicked"
    );
}

#[test]
fn r19_linked_review_is_never_uploaded_again() {
    let mut v = view();
    let mut r = review("R1", Some(dt(2024, 7, 20, 10, 0)));
    r.onefile_id = Some(OfReviewId(77));
    r.reviewer = Some(OfficerId::from("O1"));
    v.pics.reviews.push(r);
    v.onefile
        .reviews
        .push(of_review(77, Some(500), Some(utc(2024, 7, 20, 9, 0))));
    let p = Ctx::default().plan(&v);
    assert!(p.is_empty(), "{p:#?}");
}

#[test]
fn r19_lost_write_back_is_relinked_not_uploaded_twice() {
    // The process died between OneFile's create and the PICS write-back: OneFile holds the
    // review, PICS does not know its id yet.
    let mut v = view();
    v.pics
        .reviews
        .push(review("R1", Some(dt(2024, 7, 20, 10, 0))));
    v.onefile
        .reviews
        .push(of_review(77, Some(500), Some(utc(2024, 7, 20, 9, 0))));
    let p = Ctx::default().plan(&v);
    assert!(p.onefile.is_empty(), "no second upload: {:#?}", p.onefile);
    assert!(
        p.pics
            .iter()
            .all(|o| !matches!(o, PicsOp::CreateReview { .. })),
        "no second PICS review: {:#?}",
        p.pics
    );
    assert!(p.pics.contains(&PicsOp::SetReview {
        review: ReviewId::from("R1"),
        field: ReviewField::OneFileId,
        old: Value::Blank,
        new: Value::Int(77),
        rule: Rule::R19,
    }));
}

#[test]
fn r21_an_upload_recorded_by_its_intent_is_relinked_after_a_pics_edit_never_downloaded() {
    // B6: the write-back was lost, then a user recorded the review as attended and moved it:
    // the time-based safety net no longer matches, the intent's record does
    let mut v = view();
    let mut r = review("R1", Some(dt(2024, 7, 20, 11, 30)));
    r.attended = Some(Attendance::Attended);
    r.actual = Some(dt(2024, 7, 20, 11, 30));
    v.pics.reviews.push(r);
    v.onefile
        .reviews
        .push(of_review(77, Some(500), Some(utc(2024, 7, 20, 9, 0))));
    v.uploaded.insert(ReviewId::from("R1"), OfReviewId(77));
    let p = Ctx::default().plan(&v);
    assert!(
        p.pics
            .iter()
            .all(|o| !matches!(o, PicsOp::CreateReview { .. })),
        "R21: our own upload is not downloaded: {:#?}",
        p.pics
    );
    assert!(p.pics.contains(&PicsOp::SetReview {
        review: ReviewId::from("R1"),
        field: ReviewField::OneFileId,
        old: Value::Blank,
        new: Value::Int(77),
        rule: Rule::R19,
    }));
    // its PICS review deleted: reported, still not downloaded
    v.pics.reviews.clear();
    let p = Ctx::default().plan(&v);
    assert!(p.pics.is_empty(), "{:#?}", p.pics);
    assert!(
        p.skipped.iter().any(|s| s.rule == Rule::R21),
        "{:#?}",
        p.skipped
    );
}

#[test]
fn r20_upload_reviews_off_uploads_none() {
    let mut v = view();
    v.pics
        .reviews
        .push(review("R1", Some(dt(2024, 7, 20, 10, 0))));
    let mut c = Ctx::default();
    c.settings.upload_reviews = false;
    assert!(c.plan(&v).is_empty());
}

#[test]
fn r29_initial_uploads_every_eligible_review_whatever_the_history() {
    let mut v = view();
    v.pics
        .reviews
        .push(review("OLD", Some(dt(2019, 3, 1, 9, 0))));
    v.pics
        .reviews
        .push(review("NEW", Some(dt(2024, 9, 1, 9, 0))));
    let mut c = Ctx {
        mode: Mode::Initial,
        ..Default::default()
    };
    let p = c.plan(&v);
    assert_eq!(p.onefile.len(), 2);
    assert!(p.onefile.iter().all(|o| o.rule() == Rule::R29));
    c.mode = Mode::Periodic;
    assert!(c.plan(&v).onefile.iter().all(|o| o.rule() == Rule::R20));
}

// ---------- R21–R22: review download ----------

#[test]
fn r21_unlinked_onefile_review_creates_a_pics_review() {
    let mut v = view();
    v.onefile
        .reviews
        .push(of_review(80, Some(500), Some(utc(2024, 1, 10, 14, 30))));
    let plan_ = Ctx::default().plan(&v);
    let PicsOp::CreateReview { review, rule } = only_pics(&plan_) else {
        panic!()
    };
    assert_eq!(*rule, Rule::R21);
    assert_eq!(review.onefile_review, OfReviewId(80));
    assert_eq!(review.proposed, Some(dt(2024, 1, 10, 14, 30)));
    assert_eq!(
        review.attended, None,
        "no started-on: attendance left blank"
    );
    assert_eq!(review.reviewer, Some(OfficerId::from("O1")));
}

#[test]
fn r21_download_off_leaves_pics_untouched() {
    let mut v = view();
    v.onefile
        .reviews
        .push(of_review(80, Some(500), Some(utc(2024, 1, 10, 14, 30))));
    let mut c = Ctx::default();
    c.settings.download_reviews = false;
    assert!(c.plan(&v).is_empty());
}

#[test]
fn r22_started_on_makes_the_review_attended_with_actual_date() {
    let mut v = view();
    let mut r = review("R1", Some(dt(2024, 7, 20, 10, 0)));
    r.onefile_id = Some(OfReviewId(77));
    v.pics.reviews.push(r);
    let mut o = of_review(77, Some(500), Some(utc(2024, 7, 20, 9, 0)));
    o.started_on = Some(utc(2024, 7, 20, 9, 5));
    v.onefile.reviews.push(o);
    v.pics.reviews[0].reviewer = Some(OfficerId::from("O1"));
    let p = Ctx::default().plan(&v);
    assert_eq!(
        p.pics,
        vec![
            PicsOp::SetReview {
                review: ReviewId::from("R1"),
                field: ReviewField::Attended,
                old: Value::Blank,
                new: Value::Text("Attended".into()),
                rule: Rule::R22
            },
            PicsOp::SetReview {
                review: ReviewId::from("R1"),
                field: ReviewField::Actual,
                old: Value::Blank,
                new: Value::LocalDateTime(dt(2024, 7, 20, 10, 5)),
                rule: Rule::R22
            },
        ]
    );
}

#[test]
fn r22_without_started_on_pics_attendance_is_left_alone() {
    let mut v = view();
    let mut r = review("R1", Some(dt(2024, 7, 20, 10, 0)));
    r.onefile_id = Some(OfReviewId(77));
    r.attended = Some(Attendance::Other("DidNotAttend".into()));
    r.reviewer = Some(OfficerId::from("O1"));
    v.pics.reviews.push(r);
    v.onefile
        .reviews
        .push(of_review(77, Some(500), Some(utc(2024, 7, 20, 9, 0))));
    assert!(Ctx::default().plan(&v).is_empty());
}

#[test]
fn r22_scheduled_for_moves_the_proposed_date_and_reviewer_follows_the_assessor() {
    let mut v = view();
    v.officers.push(officer("O2", Some(501)));
    let mut r = review("R1", Some(dt(2024, 7, 20, 10, 0)));
    r.onefile_id = Some(OfReviewId(77));
    r.reviewer = Some(OfficerId::from("O1"));
    v.pics.reviews.push(r);
    v.onefile
        .reviews
        .push(of_review(77, Some(501), Some(utc(2024, 7, 22, 13, 0))));
    let p = Ctx::default().plan(&v);
    assert_eq!(p.pics.len(), 2);
    assert!(p.pics.contains(&PicsOp::SetReview {
        review: ReviewId::from("R1"),
        field: ReviewField::Proposed,
        old: Value::LocalDateTime(dt(2024, 7, 20, 10, 0)),
        new: Value::LocalDateTime(dt(2024, 7, 22, 14, 0)),
        rule: Rule::R22,
    }));
    assert!(p.pics.contains(&PicsOp::SetReview {
        review: ReviewId::from("R1"),
        field: ReviewField::Reviewer,
        old: Value::Text("O1".into()),
        new: Value::Text("O2".into()),
        rule: Rule::R22,
    }));
}

#[test]
fn r22_assessor_not_linked_to_any_officer_keeps_the_reviewer() {
    let mut v = view();
    let mut r = review("R1", Some(dt(2024, 7, 20, 10, 0)));
    r.onefile_id = Some(OfReviewId(77));
    r.reviewer = Some(OfficerId::from("O1"));
    v.pics.reviews.push(r);
    v.onefile
        .reviews
        .push(of_review(77, Some(999), Some(utc(2024, 7, 20, 9, 0))));
    assert!(Ctx::default().plan(&v).is_empty());
}

// ---------- R23–R24: progress ----------

#[test]
fn r23_progress_takes_onefiles_values() {
    let mut v = view_with_pair();
    v.pics.qualifications[0].total_elements = Some(10);
    v.pics.qualifications[0].elements_done = Some(2);
    v.onefile.aims[0].total_elements = Some(12);
    v.onefile.aims[0].elements_done = Some(2);
    let plan_ = Ctx::default().plan(&v);
    let PicsOp::SetQualification {
        field,
        old,
        new,
        rule,
        ..
    } = only_pics(&plan_)
    else {
        panic!()
    };
    assert_eq!(
        (*field, old, new, *rule),
        (
            QualField::TotalElements,
            &Value::Int(10),
            &Value::Int(12),
            Rule::R23
        )
    );
}

#[test]
fn r23_onefile_blank_progress_writes_nothing() {
    let mut v = view_with_pair();
    v.pics.qualifications[0].total_elements = Some(10);
    assert!(Ctx::default().plan(&v).is_empty());
}

#[test]
fn r24_qualification_with_units_keeps_its_elements() {
    let mut v = view_with_pair();
    v.pics.qualifications[0].has_units = true;
    v.pics.qualifications[0].total_elements = Some(10);
    v.onefile.aims[0].total_elements = Some(12);
    let p = Ctx::default().plan(&v);
    assert!(p.is_empty());
    assert_eq!(p.skipped[0].rule, Rule::R24);
}

// ---------- R25–R28, R30, R40: registration and certification ----------

fn cert_plan(pics: CertValues, onefile: CertValues, c: &Ctx) -> Plan {
    let mut v = view_with_pair();
    v.pics.qualifications[0].cert = pics;
    v.onefile.aims[0].cert = onefile;
    c.plan(&v)
}

fn reg(n: &str) -> CertValues {
    CertValues {
        registration_number: Some(n.into()),
        ..Default::default()
    }
}

#[test]
fn r25_pics_blank_onefile_set_pics_takes_onefile() {
    let p = cert_plan(CertValues::default(), reg("REG-1"), &Ctx::default());
    let PicsOp::SetQualification {
        field, new, rule, ..
    } = only_pics(&p)
    else {
        panic!()
    };
    assert_eq!(
        (*field, new, *rule),
        (
            QualField::Cert(CertField::RegistrationNumber),
            &Value::Text("REG-1".into()),
            Rule::R25
        )
    );
}

#[test]
fn r26_pics_set_onefile_blank_onefile_takes_pics() {
    let pics = CertValues {
        certificate_received: Some(d(2024, 6, 1)),
        ..Default::default()
    };
    let p = cert_plan(pics, CertValues::default(), &Ctx::default());
    let OneFileOp::SetAim {
        field,
        new,
        rule,
        aim,
        ..
    } = only_onefile(&p)
    else {
        panic!()
    };
    assert_eq!(
        (*field, new, *rule, *aim),
        (
            CertField::CertificateReceived,
            &Value::Date(d(2024, 6, 1)),
            Rule::R26,
            OfAimId(700)
        )
    );
}

#[test]
fn r27_both_set_onefile_wins() {
    let p = cert_plan(reg("PICS-1"), reg("OF-1"), &Ctx::default());
    let PicsOp::SetQualification { old, new, rule, .. } = only_pics(&p) else {
        panic!()
    };
    assert_eq!(
        (old, new, *rule),
        (
            &Value::Text("PICS-1".into()),
            &Value::Text("OF-1".into()),
            Rule::R27
        )
    );
}

#[test]
fn r28_both_blank_writes_nothing_and_empty_string_is_blank() {
    assert!(
        cert_plan(
            CertValues::default(),
            CertValues::default(),
            &Ctx::default()
        )
        .is_empty()
    );
    assert!(cert_plan(reg(""), CertValues::default(), &Ctx::default()).is_empty());
    assert!(cert_plan(reg("  "), reg(""), &Ctx::default()).is_empty());
    // surrounding spaces are not a difference
    assert!(cert_plan(reg(" X1 "), reg("X1"), &Ctx::default()).is_empty());
}

#[test]
fn r25_to_r28_each_field_on_its_own() {
    let pics = CertValues {
        registration_number: Some("A".into()),
        registration_date: None,
        certificate_applied_for: Some(d(2024, 1, 1)),
        certificate_received: None,
    };
    let of = CertValues {
        registration_number: None,
        registration_date: Some(d(2023, 9, 1)),
        certificate_applied_for: Some(d(2024, 2, 2)),
        certificate_received: None,
    };
    let p = cert_plan(pics, of, &Ctx::default());
    let rules: Vec<Rule> = p
        .pics
        .iter()
        .map(PicsOp::rule)
        .chain(p.onefile.iter().map(OneFileOp::rule))
        .collect();
    assert_eq!(rules, vec![Rule::R25, Rule::R27, Rule::R26]);
}

#[test]
fn r30_initial_applies_r25_to_r28_ignoring_the_baseline() {
    // Baseline says both agreed on "OLD"; PICS changed to "NEW". Initial mode ignores it: OneFile wins.
    let mut c = Ctx {
        mode: Mode::Initial,
        ..Default::default()
    };
    c.baseline.cert.insert(
        QualificationId::from("Q1"),
        [(CertField::RegistrationNumber, Value::Text("OLD".into()))].into(),
    );
    let p = cert_plan(reg("NEW"), reg("OLD"), &c);
    assert_eq!(only_pics(&p).rule(), Rule::R27);
}

#[test]
fn r40_a_pics_edit_since_the_last_sync_travels_to_onefile() {
    let mut c = Ctx::default();
    c.baseline.cert.insert(
        QualificationId::from("Q1"),
        [(CertField::RegistrationNumber, Value::Text("OLD".into()))].into(),
    );
    let p = cert_plan(reg("NEW"), reg("OLD"), &c);
    let OneFileOp::SetAim { new, rule, .. } = only_onefile(&p) else {
        panic!()
    };
    assert_eq!((new, *rule), (&Value::Text("NEW".into()), Rule::R40));
}

#[test]
fn r40_a_value_the_sync_wrote_is_not_echoed_back_when_the_other_side_clears_it() {
    let mut c = Ctx::default();
    c.baseline.cert.insert(
        QualificationId::from("Q1"),
        [(CertField::RegistrationNumber, Value::Text("AGREED".into()))].into(),
    );
    // OneFile user cleared it: PICS's copy (written by the sync) is not pushed back (R26 would).
    let p = cert_plan(reg("AGREED"), CertValues::default(), &c);
    assert!(p.is_empty(), "{p:#?}");
    assert_eq!(p.skipped[0].rule, Rule::R40);
    // PICS user cleared it: OneFile's copy is not pulled back (R25 would).
    let p = cert_plan(CertValues::default(), reg("AGREED"), &c);
    assert!(p.is_empty(), "{p:#?}");
}

#[test]
fn r40_both_sides_changed_onefile_wins() {
    let mut c = Ctx::default();
    c.baseline.cert.insert(
        QualificationId::from("Q1"),
        [(CertField::RegistrationNumber, Value::Text("AGREED".into()))].into(),
    );
    let p = cert_plan(reg("P"), reg("O"), &c);
    assert_eq!(only_pics(&p).rule(), Rule::R27);
}

#[test]
fn r25_r28_decision_table() {
    let a = Value::Text("a".into());
    let b = Value::Text("b".into());
    let blank = Value::Blank;
    use CertDecision::*;
    let cases = [
        // pics, onefile, baseline, mode → decision
        (&blank, &blank, None, Mode::Periodic, Nothing),
        (&a, &a, None, Mode::Periodic, Nothing),
        (
            &blank,
            &a,
            None,
            Mode::Periodic,
            ToPics(a.clone(), Rule::R25),
        ),
        (
            &a,
            &blank,
            None,
            Mode::Periodic,
            ToOneFile(a.clone(), Rule::R26),
        ),
        (&a, &b, None, Mode::Periodic, ToPics(b.clone(), Rule::R27)),
        (
            &a,
            &b,
            Some(&b),
            Mode::Periodic,
            ToOneFile(a.clone(), Rule::R40),
        ),
        (
            &a,
            &b,
            Some(&a),
            Mode::Periodic,
            ToPics(b.clone(), Rule::R27),
        ),
        (
            &a,
            &b,
            Some(&b),
            Mode::Initial,
            ToPics(b.clone(), Rule::R27),
        ),
        (
            &blank,
            &a,
            Some(&a),
            Mode::Periodic,
            Cleared("cleared in PICS"),
        ),
        (
            &a,
            &blank,
            Some(&a),
            Mode::Periodic,
            Cleared("cleared in OneFile"),
        ),
        (
            &blank,
            &a,
            Some(&a),
            Mode::Initial,
            ToPics(a.clone(), Rule::R25),
        ),
        (
            &a,
            &blank,
            Some(&b),
            Mode::Periodic,
            ToOneFile(a.clone(), Rule::R26),
        ),
    ];
    for (i, (p, o, base, mode, want)) in cases.into_iter().enumerate() {
        assert_eq!(decide_cert(p, o, base, mode), want, "case {i}");
    }
}

// ---------- R32–R33: demographics ----------

#[test]
fn r33_ignore_writes_nothing_after_enrolment() {
    let mut v = view();
    v.onefile.learner.demographics.email = Some("other@example.org".into());
    v.assessors[0].first_name = Some("Changed".into());
    assert!(Ctx::default().plan(&v).is_empty());
}

#[test]
fn r32_push_makes_onefile_equal_pics() {
    let mut v = view();
    v.onefile.learner.demographics.email = Some("old@example.org".into());
    v.onefile.learner.demographics.date_of_birth = None;
    let mut c = Ctx::default();
    c.settings.learner_demographics = Direction::Push;
    let p = c.plan(&v);
    assert!(p.pics.is_empty());
    assert_eq!(p.onefile.len(), 2);
    assert!(p.onefile.iter().all(|o| o.rule() == Rule::R32));
    let mut after = v.clone();
    apply(&p, &mut after).unwrap();
    assert_eq!(after.onefile.learner.demographics, after.pics.demographics);
}

#[test]
fn r32_pull_makes_pics_equal_onefile_but_never_clears() {
    let mut v = view();
    v.onefile.learner.demographics.email = Some("new@example.org".into());
    v.onefile.learner.demographics.date_of_birth = None;
    let mut c = Ctx::default();
    c.settings.learner_demographics = Direction::Pull;
    let p = c.plan(&v);
    let PicsOp::SetLearner { field, new, .. } = only_pics(&p) else {
        panic!()
    };
    assert_eq!(
        (*field, new),
        (
            DemographicField::Email,
            &Value::Text("new@example.org".into())
        )
    );
    assert!(
        p.skipped
            .iter()
            .any(|s| s.rule == Rule::R32 && s.reason.contains("never clears"))
    );
}

#[test]
fn r32_officer_and_organisation_names() {
    let mut v = view();
    v.assessors[0].last_name = Some("Renamed".into());
    v.employer = Some(PicsOrganisation {
        id: OrganisationId::from("ORG1"),
        ident: "EMP1".into(),
        name: Some("Acme Ltd".into()),
        additional_id: Some("300".into()),
    });
    v.placement = Some(OfPlacement {
        id: OfPlacementId(300),
        name: Some("ACME".into()),
        mis_id: None,
    });
    let mut c = Ctx::default();
    c.settings.officer_demographics = Direction::Pull;
    c.settings.organisation_demographics = Direction::Push;
    let p = c.plan(&v);
    assert_eq!(
        p.pics,
        vec![PicsOp::SetOfficer {
            officer: OfficerId::from("O1"),
            field: NameField::Surname,
            old: Value::Text("LastO1".into()),
            new: Value::Text("Renamed".into()),
            rule: Rule::R32
        }]
    );
    assert_eq!(
        p.onefile,
        vec![OneFileOp::SetPlacementName {
            placement: OfPlacementId(300),
            old: Value::Text("ACME".into()),
            new: Value::Text("Acme Ltd".into()),
            rule: Rule::R32
        }]
    );
}

// ---------- §1 matching and R37 ----------

#[test]
fn match_unlinked_qualification_to_the_learners_aim_by_code() {
    let mut v = view();
    v.pics.qualifications.push(qual("Q1", "st0001", None));
    v.onefile.aims.push(aim(700, "ST0001"));
    v.onefile.aims[0].total_elements = Some(5);
    let p = Ctx::default().plan(&v);
    assert_eq!(p.pics[0].rule(), Rule::Match);
    // progress follows in the same plan
    assert_eq!(p.pics[1].rule(), Rule::R23);
}

#[test]
fn r37_new_qualification_is_assigned_when_it_matches() {
    let mut v = view();
    v.pics.qualifications.push(qual("Q9", "ST0009", None));
    v.pics.qualifications[0].start_date = Some(d(2024, 7, 10));
    let mut c = Ctx::default();
    c.catalogue.entries.push(entry(90, 1, "ST0009", &[]));
    c.catalogue.entries.push(entry(91, 2, "ST0009", &[])); // another centre: not the learner's
    let plan_ = c.plan(&v);
    let OneFileOp::AssignStandard { standard, rule, .. } = only_onefile(&plan_) else {
        panic!()
    };
    assert_eq!((*standard, *rule), (OfStandardId(90), Rule::R37));
    c.settings.push_new_qualifications = false;
    let p = c.plan(&v);
    assert!(p.is_empty());
    assert_eq!(p.skipped[0].rule, Rule::R37);
}

#[test]
fn r37_only_qualifications_added_after_the_link_are_assigned() {
    // the learner was linked on 1 July 2024 (by picsync, or its first sync)
    let mut v = view();
    v.pics.qualifications.push(qual("Q9", "ST0009", None));
    let mut c = Ctx::default();
    c.catalogue.entries.push(entry(90, 1, "ST0009", &[]));
    let assigns = |v: &LearnerView, c: &Ctx| {
        let p = c.plan(v);
        let n = p
            .onefile
            .iter()
            .filter(|o| matches!(o, OneFileOp::AssignStandard { .. }))
            .count();
        (n, p)
    };
    for (start, want) in [
        (Some(d(2019, 9, 1)), 0), // historic: in the Delivery Plan long before the link
        (Some(d(2024, 7, 1)), 0), // the link day itself: not after it
        (None, 0),                // no start date: cannot show it is new
        (Some(d(2024, 7, 2)), 1),
    ] {
        v.pics.qualifications[0].start_date = start;
        let (n, p) = assigns(&v, &c);
        assert_eq!(n, want, "start {start:?}: {p:#?}");
        if want == 0 {
            assert!(
                p.skipped.iter().any(|s| s.rule == Rule::R37),
                "reported: {p:#?}"
            );
        }
    }
    // never in an initial run
    c.mode = Mode::Initial;
    let (n, p) = assigns(&v, &c);
    assert_eq!(n, 0, "initial: {p:#?}");
}

#[test]
fn r37_never_assigns_a_standard_the_learner_holds_already() {
    let mut v = view_with_pair();
    v.pics.qualifications.push(qual("Q2", "ST0001", None));
    let mut c = Ctx::default();
    c.catalogue.entries.push(entry(10_700, 1, "ST0001", &[]));
    let p = c.plan(&v);
    assert!(p.is_empty(), "{p:#?}");
    assert_eq!(p.skipped[0].rule, Rule::R37);
}

#[test]
fn r9_r10_in_sync_several_pathways_or_centres_are_skipped() {
    let mut v = view();
    v.pics.qualifications.push(qual("Q9", "ST0009", None));
    let mut c = Ctx::default();
    c.catalogue.entries.push(entry(90, 1, "ST0009", &[1, 2]));
    let p = c.plan(&v);
    assert!(p.is_empty());
    assert_eq!(p.skipped[0].rule, Rule::R9);
    c.centre = None;
    c.catalogue.entries = vec![entry(90, 1, "ST0009", &[]), entry(91, 2, "ST0009", &[])];
    let p = c.plan(&v);
    assert_eq!(p.skipped[0].rule, Rule::R10);
}

#[test]
fn r8_no_match_is_reported() {
    let mut v = view();
    v.pics.qualifications.push(qual("Q9", "NOPE", None));
    let p = Ctx::default().plan(&v);
    assert!(p.is_empty());
    assert_eq!(p.skipped[0].rule, Rule::R8);
}

// ---------- apply and baseline ----------

#[test]
fn plan_then_apply_then_plan_is_empty_on_a_busy_learner() {
    let mut v = view_with_pair();
    v.pics.qualifications[0].cert = reg("A");
    v.onefile.aims[0].cert.registration_date = Some(d(2024, 1, 1));
    v.onefile.aims[0].total_elements = Some(3);
    v.pics
        .reviews
        .push(review("R1", Some(dt(2024, 7, 20, 10, 0))));
    v.onefile
        .reviews
        .push(of_review(80, Some(500), Some(utc(2024, 1, 10, 14, 30))));
    let c = Ctx::default();
    let p = c.plan(&v);
    assert_eq!(p.len(), 5, "{p:#?}");
    apply(&p, &mut v).unwrap();
    let again = c.plan(&v);
    assert!(again.is_empty(), "{again:#?}");
    let b = c.baseline.next(&v);
    assert_eq!(
        b.cert(&QualificationId::from("Q1"), CertField::RegistrationNumber),
        Some(&Value::Text("A".into()))
    );
}
