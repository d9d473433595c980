//! A PICS learner re-linked to another OneFile learner: its links to the former learner's
//! reviews and learning aims move to the new learner's matching records (or stay, reported), so
//! that the plan downloads none of the new learner's reviews as a duplicate.

use crate::common::*;

use chrono::Duration;
use picsync_domain::plan::{PicsOp, QualField, ReviewField};
use picsync_domain::relink::relink;
use picsync_domain::*;

/// L1 now linked to OneFile learner 1000; its reviews and qualification still hold the ids of
/// the former learner's records (77, 78, 700).
fn relinked_view() -> LearnerView {
    let mut v = view();
    let mut attended = review("R1", Some(dt(2024, 7, 1, 10, 0)));
    attended.attended = Some(Attendance::Attended);
    attended.actual = Some(dt(2024, 7, 1, 10, 5));
    attended.onefile_id = Some(OfReviewId(77));
    v.pics.reviews.push(attended);
    let mut later = review("R2", Some(dt(2024, 8, 1, 14, 0)));
    later.onefile_id = Some(OfReviewId(78));
    v.pics.reviews.push(later);
    v.pics.qualifications.push(qual("Q1", "ST0001", Some(700)));
    // the new learner: the same meeting of 1 July (at OneFile's millisecond precision, BST), one
    // meeting PICS does not know, and the learning aim of ST0001
    let mut same = of_review(
        90,
        Some(500),
        Some(utc(2024, 7, 1, 9, 0) + Duration::milliseconds(347)),
    );
    same.started_on = Some(utc(2024, 7, 1, 9, 5));
    v.onefile.reviews.push(same);
    v.onefile
        .reviews
        .push(of_review(91, Some(500), Some(utc(2024, 9, 2, 9, 0))));
    v.onefile.aims.push(aim(800, "ST0001"));
    v
}

#[test]
fn relink_moves_stale_links_to_the_new_learners_matching_records() {
    let mut v = relinked_view();
    let r = relink(&mut v);
    assert!(r.pics.contains(&PicsOp::SetReview {
        review: ReviewId::from("R1"),
        field: ReviewField::OneFileId,
        old: Value::Int(77),
        new: Value::Int(90),
        rule: Rule::R19,
    }));
    assert!(r.pics.contains(&PicsOp::SetQualification {
        qualification: QualificationId::from("Q1"),
        field: QualField::OneFileAim,
        old: Value::Int(700),
        new: Value::Int(800),
        rule: Rule::Match,
    }));
    assert_eq!(r.pics.len(), 2, "{:#?}", r.pics);
    // R2 matches nothing: it stays linked to the former learner's review, reported
    assert_eq!(v.pics.reviews[1].onefile_id, Some(OfReviewId(78)));
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(r.warnings[0].contains("R2") && r.warnings[0].contains("78"));

    // the plan from the relinked view downloads only the review PICS does not know
    let c = Ctx {
        mode: Mode::Initial,
        ..Default::default()
    };
    let mut p = c.plan(&v);
    r.add_to(&mut p);
    let created: Vec<OfReviewId> = p
        .pics
        .iter()
        .filter_map(|o| match o {
            PicsOp::CreateReview { review, .. } => Some(review.onefile_review),
            _ => None,
        })
        .collect();
    assert_eq!(created, vec![OfReviewId(91)], "{:#?}", p.pics);
    assert!(p.onefile.is_empty(), "nothing uploaded: {:#?}", p.onefile);
}

#[test]
fn relink_prefers_the_review_of_the_reviews_own_assessor() {
    let mut v = relinked_view();
    v.officers.push(officer("O2", Some(501)));
    v.pics.reviews[0].reviewer = Some(OfficerId::from("O2"));
    // two meetings at the same time in the new learner: O2's is the one
    v.onefile
        .reviews
        .push(of_review(92, Some(501), Some(utc(2024, 7, 1, 9, 0))));
    let r = relink(&mut v);
    assert_eq!(v.pics.reviews[0].onefile_id, Some(OfReviewId(92)), "{r:#?}");
}

#[test]
fn relink_changes_nothing_when_every_link_is_the_learners() {
    let mut v = view_with_pair();
    let mut linked = review("R1", Some(dt(2024, 7, 1, 10, 0)));
    linked.onefile_id = Some(OfReviewId(77));
    v.pics.reviews.push(linked);
    v.onefile
        .reviews
        .push(of_review(77, Some(500), Some(utc(2024, 7, 1, 9, 0))));
    let before = v.clone();
    let r = relink(&mut v);
    assert_eq!(r, picsync_domain::relink::Relink::default());
    assert_eq!(v, before);
}
