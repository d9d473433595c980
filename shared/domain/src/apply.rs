//! Applies a plan to in-memory snapshots, as the engine applies it to the real systems. Used by
//! tests and by the dry run's "what would the end state be". New records get the next free id.

use crate::ids::*;
use crate::plan::{NameField, OneFileOp, PicsOp, Plan, QualField, ReviewField};
use crate::records::*;
use crate::value::Value;

/// An operation that cannot be applied to the snapshot (its target is missing, or a value has
/// the wrong kind). The planner never produces one for the snapshot it planned from.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot apply: {0}")]
pub struct ApplyError(pub String);

pub fn apply(plan: &Plan, view: &mut LearnerView) -> Result<(), ApplyError> {
    for op in &plan.pics {
        apply_pics(op, view)?;
    }
    for op in &plan.onefile {
        apply_onefile(op, view)?;
    }
    Ok(())
}

fn bad(what: impl Into<String>) -> ApplyError {
    ApplyError(what.into())
}

pub fn apply_pics(op: &PicsOp, view: &mut LearnerView) -> Result<(), ApplyError> {
    match op {
        PicsOp::SetLearner { field, new, .. } => {
            if !view.pics.demographics.set(*field, new) {
                return Err(bad(format!("{field:?} cannot hold {new}")));
            }
        }
        PicsOp::SetQualification {
            qualification,
            field,
            new,
            ..
        } => {
            let q = view
                .pics
                .qualifications
                .iter_mut()
                .find(|q| &q.id == qualification)
                .ok_or_else(|| bad(format!("no qualification {qualification}")))?;
            match field {
                QualField::Cert(f) => {
                    if !q.cert.set(*f, new) {
                        return Err(bad(format!("{f:?} cannot hold {new}")));
                    }
                }
                QualField::TotalElements => q.total_elements = int(new)?,
                QualField::ElementsDone => q.elements_done = int(new)?,
                QualField::OneFileAim => q.onefile_aim = int(new)?.map(OfAimId),
            }
        }
        PicsOp::SetReview {
            review, field, new, ..
        } => {
            let r = view
                .pics
                .reviews
                .iter_mut()
                .find(|r| &r.id == review)
                .ok_or_else(|| bad(format!("no review {review}")))?;
            match field {
                ReviewField::Proposed => r.proposed = local(new)?,
                ReviewField::Actual => r.actual = local(new)?,
                ReviewField::Attended => r.attended = Attendance::parse(new.as_text()),
                ReviewField::Reviewer => r.reviewer = new.as_text().map(OfficerId::from),
                ReviewField::OneFileId => r.onefile_id = int(new)?.map(OfReviewId),
            }
        }
        PicsOp::CreateReview { review, .. } => {
            view.pics.reviews.push(PicsReview {
                id: ReviewId(format!("r-of-{}", review.onefile_review)),
                kind: ReviewType::Normal,
                proposed: review.proposed,
                attended: review.attended.clone(),
                actual: review.actual,
                reviewer: review.reviewer.clone(),
                onefile_id: Some(review.onefile_review),
            });
        }
        PicsOp::SetOfficer {
            officer,
            field,
            new,
            ..
        } => {
            let o = view
                .officers
                .iter_mut()
                .find(|o| &o.id == officer)
                .ok_or_else(|| bad(format!("no officer {officer}")))?;
            let v = new.as_text().map(str::to_string);
            match field {
                NameField::FirstName => o.first_name = v,
                NameField::Surname => o.surname = v,
            }
        }
        PicsOp::SetOrganisationName {
            organisation, new, ..
        } => {
            let org = view
                .employer
                .as_mut()
                .filter(|o| &o.id == organisation)
                .ok_or_else(|| bad(format!("no organisation {organisation}")))?;
            org.name = new.as_text().map(str::to_string);
        }
    }
    Ok(())
}

pub fn apply_onefile(op: &OneFileOp, view: &mut LearnerView) -> Result<(), ApplyError> {
    match op {
        OneFileOp::SetLearner { field, new, .. } => {
            if !view.onefile.learner.demographics.set(*field, new) {
                return Err(bad(format!("{field:?} cannot hold {new}")));
            }
        }
        OneFileOp::SetAim {
            aim, field, new, ..
        } => {
            let a = view
                .onefile
                .aims
                .iter_mut()
                .find(|a| a.id == *aim)
                .ok_or_else(|| bad(format!("no learning aim {aim}")))?;
            if !a.cert.set(*field, new) {
                return Err(bad(format!("{field:?} cannot hold {new}")));
            }
        }
        OneFileOp::UploadReview(u) => {
            let id = OfReviewId(
                view.onefile
                    .reviews
                    .iter()
                    .map(|r| r.id.0)
                    .max()
                    .unwrap_or(0)
                    .checked_add(1)
                    .ok_or_else(|| bad("no OneFile review id is left to project"))?,
            );
            view.onefile.reviews.push(OfReview {
                id,
                assessor: Some(u.assessor),
                scheduled_for: Some(u.scheduled_for),
                started_on: None,
            });
            let r = view
                .pics
                .reviews
                .iter_mut()
                .find(|r| r.id == u.review)
                .ok_or_else(|| bad(format!("no review {}", u.review)))?;
            r.onefile_id = Some(id);
            if let Some(o) = &u.set_reviewer {
                r.reviewer = Some(o.clone());
            }
        }
        OneFileOp::AssignStandard {
            qualification,
            standard,
            code,
            ..
        } => {
            let id = OfAimId(
                view.onefile
                    .aims
                    .iter()
                    .map(|a| a.id.0)
                    .max()
                    .unwrap_or(0)
                    .checked_add(1)
                    .ok_or_else(|| bad("no OneFile learning aim id is left to project"))?,
            );
            view.onefile.aims.push(OfLearningAim {
                id,
                standard: Some(*standard),
                code: Some(code.clone()),
                cert: CertValues::default(),
                total_elements: None,
                elements_done: None,
            });
            let q = view
                .pics
                .qualifications
                .iter_mut()
                .find(|q| &q.id == qualification)
                .ok_or_else(|| bad(format!("no qualification {qualification}")))?;
            q.onefile_aim = Some(id);
        }
        OneFileOp::SetAssessor {
            assessor,
            field,
            new,
            ..
        } => {
            let a = view
                .assessors
                .iter_mut()
                .find(|a| a.id == *assessor)
                .ok_or_else(|| bad(format!("no assessor {assessor}")))?;
            let v = new.as_text().map(str::to_string);
            match field {
                NameField::FirstName => a.first_name = v,
                NameField::Surname => a.last_name = v,
            }
        }
        OneFileOp::SetPlacementName { placement, new, .. } => {
            let p = view
                .placement
                .as_mut()
                .filter(|p| p.id == *placement)
                .ok_or_else(|| bad(format!("no placement {placement}")))?;
            p.name = new.as_text().map(str::to_string);
        }
    }
    Ok(())
}

fn int(v: &Value) -> Result<Option<i64>, ApplyError> {
    match v {
        Value::Blank => Ok(None),
        Value::Int(i) => Ok(Some(*i)),
        other => Err(bad(format!("expected a number, got {other}"))),
    }
}

fn local(v: &Value) -> Result<Option<chrono::NaiveDateTime>, ApplyError> {
    match v {
        Value::Blank => Ok(None),
        Value::LocalDateTime(t) => Ok(Some(*t)),
        other => Err(bad(format!("expected a date-time, got {other}"))),
    }
}
