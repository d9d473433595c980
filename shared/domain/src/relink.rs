//! A PICS learner re-linked to a different OneFile learner (the rules are silent;
//! **Decision**, listed in [`crate::rules`], "Decisions").
//!
//! The PICS learner's reviews and qualifications still hold the ids of the former OneFile
//! learner's reviews and learning aims. Left alone, every review of the new OneFile learner would
//! be downloaded as a new PICS review (R21), duplicating the linked ones, and the qualifications
//! would never be reconciled again. So, before planning, each such stale link is moved to the new
//! learner's matching record: a review to the new learner's review scheduled at the same time
//! (the one whose assessor is the review's officer first), a qualification to the new learner's
//! only unclaimed learning aim of the same code. A stale link with no match is left as it is (a
//! record of the former OneFile learner, neither uploaded again nor downloaded) and reported.
//! The engine then reconciles the learner as in an initial run, from a fresh baseline.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Europe::London;

use crate::ids::*;
use crate::plan::{PicsOp, Plan, QualField, ReviewField};
use crate::records::*;
use crate::value::{Rule, Value};

/// The links moved to the new OneFile learner, as PICS writes, and what could not be moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relink {
    pub pics: Vec<PicsOp>,
    pub warnings: Vec<String>,
}

impl Relink {
    /// Adds the link moves to a plan made from the relinked view.
    pub fn add_to(self, plan: &mut Plan) {
        let mut pics = self.pics;
        pics.append(&mut plan.pics);
        plan.pics = pics;
        plan.warnings.extend(self.warnings);
    }
}

/// Europe/London wall-clock time of an instant, at whole seconds (PICS's precision); `None` out
/// of chrono's range.
fn london(t: DateTime<Utc>) -> Option<NaiveDateTime> {
    let offset = London.offset_from_utc_datetime(&t.naive_utc()).fix();
    t.naive_utc()
        .checked_add_offset(offset)
        .and_then(|l| l.with_nanosecond(0))
}

/// Moves the view's links to records the OneFile learner does not hold (its former OneFile
/// learner's) to the new learner's matching records; returns the PICS writes that record it.
pub fn relink(view: &mut LearnerView) -> Relink {
    let mut out = Relink::default();
    let onefile = view.onefile.learner.id;

    // reviews
    let held: BTreeSet<OfReviewId> = view.onefile.reviews.iter().map(|r| r.id).collect();
    let mut claimed: BTreeSet<OfReviewId> = view
        .pics
        .reviews
        .iter()
        .filter_map(|r| r.onefile_id)
        .filter(|id| held.contains(id))
        .collect();
    for i in 0..view.pics.reviews.len() {
        let r = &view.pics.reviews[i];
        let Some(stale) = r.onefile_id.filter(|id| !held.contains(id)) else {
            continue;
        };
        let reviewer = r.reviewer.as_ref().and_then(|o| view.onefile_of(o));
        let same_time: Vec<&OfReview> = view
            .onefile
            .reviews
            .iter()
            .filter(|o| !claimed.contains(&o.id))
            .filter(|o| r.proposed.is_some() && o.scheduled_for.and_then(london) == r.proposed)
            .collect();
        let found = same_time
            .iter()
            .find(|o| reviewer.is_some() && o.assessor == reviewer)
            .or_else(|| same_time.first())
            .map(|o| o.id);
        let id = r.id.clone();
        match found {
            Some(new) => {
                claimed.insert(new);
                out.pics.push(PicsOp::SetReview {
                    review: id,
                    field: ReviewField::OneFileId,
                    old: Value::Int(stale.0),
                    new: Value::Int(new.0),
                    rule: Rule::R19,
                });
                view.pics.reviews[i].onefile_id = Some(new);
            }
            None => out.warnings.push(format!(
                "review {id} stays linked to OneFile review {stale} of the learner's former OneFile learner: OneFile learner {onefile} has no review scheduled at the same time"
            )),
        }
    }

    // qualifications
    let held: BTreeSet<OfAimId> = view.onefile.aims.iter().map(|a| a.id).collect();
    let mut claimed: BTreeSet<OfAimId> = view
        .pics
        .qualifications
        .iter()
        .filter_map(|q| q.onefile_aim)
        .filter(|id| held.contains(id))
        .collect();
    for i in 0..view.pics.qualifications.len() {
        let q = &view.pics.qualifications[i];
        let Some(stale) = q.onefile_aim.filter(|id| !held.contains(id)) else {
            continue;
        };
        let code = q.vq_reference.as_deref().map(str::trim).unwrap_or_default();
        let same: Vec<OfAimId> = view
            .onefile
            .aims
            .iter()
            .filter(|a| !claimed.contains(&a.id))
            .filter(|a| {
                !code.is_empty()
                    && a.code
                        .as_deref()
                        .is_some_and(|c| c.trim().eq_ignore_ascii_case(code))
            })
            .map(|a| a.id)
            .collect();
        let id = q.id.clone();
        match same.as_slice() {
            [new] => {
                claimed.insert(*new);
                out.pics.push(PicsOp::SetQualification {
                    qualification: id,
                    field: QualField::OneFileAim,
                    old: Value::Int(stale.0),
                    new: Value::Int(new.0),
                    rule: Rule::Match,
                });
                view.pics.qualifications[i].onefile_aim = Some(*new);
            }
            [] => out.warnings.push(format!(
                "qualification {id} stays linked to learning aim {stale} of the learner's former OneFile learner: OneFile learner {onefile} holds no learning aim of code {code:?}"
            )),
            many => out.warnings.push(format!(
                "qualification {id} stays linked to learning aim {stale} of the learner's former OneFile learner: OneFile learner {onefile} holds {} learning aims of code {code:?}; link one by hand",
                many.len()
            )),
        }
    }
    out
}
