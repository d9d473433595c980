//! Between the API adapters' records and the domain's. The only place that knows both.

use picsync_domain::plan::{NameField, QualField, ReviewField};
use picsync_domain::*;
use picsync_onefile as of;
use picsync_pics as pics;

use crate::error::{EngineError, Result};

pub fn pics_learner(l: &pics::Learner) -> PicsLearner {
    PicsLearner {
        id: l.learner_id.clone(),
        ident: l.ident.clone(),
        row_version: l.row_version.clone(),
        last_modified: l.last_modified,
        onefile_id: l.one_file_id,
        system_status: SystemStatus::parse(l.system_status.as_deref()),
        episode_status: EpisodeStatus::parse(l.episode_status.as_deref()),
        actual_end_date: l.actual_end_date,
        demographics: l.demographics.clone(),
        main_tag: l.main_tag.clone(),
        main_officer: l.main_officer_id.clone(),
        officers: l
            .officers
            .iter()
            .map(|o| LearnerOfficer {
                officer: o.officer_id.clone(),
                role: o.role.clone().unwrap_or_default(),
            })
            .collect(),
        placements: l
            .placements
            .iter()
            .map(|p| PicsPlacement {
                organisation: p.organisation_id.clone(),
                kind: p.type_.clone(),
                start_date: p.start_date,
            })
            .collect(),
        qualifications: l
            .qualifications
            .iter()
            .map(|q| PicsQualification {
                id: q.qualification_id.clone(),
                vq_reference: q.vq_reference.clone(),
                title: q.title.clone(),
                start_date: q.start_date,
                planned_end_date: q.planned_end_date,
                assessor: q.assessor_officer_id.clone(),
                has_units: q.has_units.unwrap_or(false),
                total_elements: q.total_elements,
                elements_done: q.elements_done,
                cert: CertValues {
                    registration_number: q.registration_number.clone(),
                    registration_date: q.registration_date,
                    certificate_applied_for: q.certificate_applied_for_date,
                    certificate_received: q.certificate_received_date,
                },
                onefile_aim: q.one_file_learning_aim_id,
            })
            .collect(),
        reviews: l
            .reviews
            .iter()
            .map(|r| PicsReview {
                id: r.review_id.clone(),
                kind: ReviewType::parse(r.type_.as_deref()),
                proposed: r.proposed_date_time,
                attended: Attendance::parse(r.attended_value.as_deref()),
                actual: r.actual_date_time,
                reviewer: r.reviewer_officer_id.clone(),
                onefile_id: r.one_file_system_id,
            })
            .collect(),
    }
}

pub fn pics_officer(o: &pics::Officer) -> PicsOfficer {
    PicsOfficer {
        id: o.officer_id.clone(),
        ident: o.ident.clone(),
        first_name: o.first_name.clone(),
        surname: o.surname.clone(),
        email: o.email.clone(),
        other_system_id: o.other_system_id.clone(),
    }
}

pub fn pics_organisation(o: &pics::Organisation) -> PicsOrganisation {
    PicsOrganisation {
        id: o.organisation_id.clone(),
        ident: o.ident.clone(),
        name: o.name.clone(),
        additional_id: o.additional_id.clone(),
    }
}

pub fn of_learner(u: &of::User) -> OfLearner {
    OfLearner {
        id: u.id,
        mis_id: u.mis_id.clone(),
        demographics: u.demographics.clone(),
        last_modified: u.last_modified,
    }
}

pub fn of_user(u: &of::User) -> OfUser {
    OfUser {
        id: u.id,
        role: u.role,
        first_name: u.demographics.first_name.clone(),
        last_name: u.demographics.surname.clone(),
        mis_id: u.mis_id.clone(),
        archived: u.archived.unwrap_or(false),
    }
}

pub fn of_aim(a: &of::LearningAim, catalogue: &Catalogue) -> OfLearningAim {
    OfLearningAim {
        id: a.id,
        standard: a.standard_id,
        code: a
            .standard_id
            .and_then(|s| catalogue.code_of(s))
            .map(str::to_string),
        cert: CertValues {
            registration_number: a.registration_number.clone(),
            registration_date: a.registration_date,
            certificate_applied_for: a.certificate_applied_date,
            certificate_received: a.certificate_received_date,
        },
        total_elements: a.total_elements,
        elements_done: a.elements_done,
    }
}

pub fn of_review(r: &of::Review) -> OfReview {
    OfReview {
        id: r.id,
        assessor: r.assessor_id,
        scheduled_for: r.scheduled_for,
        started_on: r.started_on,
    }
}

pub fn of_placement(p: &of::Placement) -> OfPlacement {
    OfPlacement {
        id: p.id,
        name: p.name.clone(),
        mis_id: p.mis_id.clone(),
    }
}

pub fn catalogue_entries(centre: OfCentreId, standards: &[of::Standard]) -> Vec<CatalogueEntry> {
    standards
        .iter()
        .filter_map(|s| {
            let code = s.code.as_deref()?.trim();
            (!code.is_empty()).then(|| CatalogueEntry {
                standard: s.id,
                centre,
                code: code.to_string(),
                title: s.title.clone(),
                pathways: s
                    .pathways
                    .iter()
                    .map(|p| Pathway {
                        id: p.id,
                        name: p.name.clone(),
                    })
                    .collect(),
            })
        })
        .collect()
}

fn wrong(what: &str, v: &Value) -> EngineError {
    EngineError::Inconsistent(format!("{what} cannot take the value {v}"))
}

fn text(v: &Value, what: &str) -> Result<Option<String>> {
    match v {
        Value::Blank => Ok(None),
        Value::Text(s) => Ok(Some(s.clone())),
        other => Err(wrong(what, other)),
    }
}

fn date(v: &Value, what: &str) -> Result<Option<chrono::NaiveDate>> {
    match v {
        Value::Blank => Ok(None),
        Value::Date(d) => Ok(Some(*d)),
        other => Err(wrong(what, other)),
    }
}

fn int(v: &Value, what: &str) -> Result<Option<i64>> {
    match v {
        Value::Blank => Ok(None),
        Value::Int(i) => Ok(Some(*i)),
        other => Err(wrong(what, other)),
    }
}

fn local(v: &Value, what: &str) -> Result<Option<chrono::NaiveDateTime>> {
    match v {
        Value::Blank => Ok(None),
        Value::LocalDateTime(t) => Ok(Some(*t)),
        other => Err(wrong(what, other)),
    }
}

/// Adds one demographic field to a PICS learner patch (a blank clears it).
pub fn learner_patch(p: &mut pics::LearnerPatch, f: DemographicField, v: &Value) -> Result<()> {
    if p.demographics.set(f, v) {
        Ok(())
    } else {
        Err(wrong(f.as_str(), v))
    }
}

/// Adds one demographic field to a OneFile user update (R32 push never sends a blank: the
/// update leaves a blank field out).
pub fn user_update(u: &mut of::UserUpdate, f: DemographicField, v: &Value) -> Result<()> {
    if u.demographics.set(f, v) {
        Ok(())
    } else {
        Err(wrong(f.as_str(), v))
    }
}

pub fn qualification_patch(
    p: &mut pics::QualificationPatch,
    f: QualField,
    v: &Value,
) -> Result<()> {
    let w = format!("{f:?}");
    match f {
        QualField::Cert(CertField::RegistrationNumber) => p.registration_number = text(v, &w)?,
        QualField::Cert(CertField::RegistrationDate) => p.registration_date = date(v, &w)?,
        QualField::Cert(CertField::CertificateAppliedFor) => {
            p.certificate_applied_for_date = date(v, &w)?;
        }
        QualField::Cert(CertField::CertificateReceived) => {
            p.certificate_received_date = date(v, &w)?;
        }
        QualField::TotalElements => p.total_elements = int(v, &w)?,
        QualField::ElementsDone => p.elements_done = int(v, &w)?,
        // the plan carries the id as a plain value
        QualField::OneFileAim => p.one_file_learning_aim_id = int(v, &w)?.map(OfAimId::from_raw),
    }
    Ok(())
}

pub fn aim_update(u: &mut of::LearningAimUpdate, f: CertField, v: &Value) -> Result<()> {
    let w = format!("{f:?}");
    match f {
        CertField::RegistrationNumber => u.registration_number = text(v, &w)?,
        CertField::RegistrationDate => u.registration_date = date(v, &w)?,
        CertField::CertificateAppliedFor => u.certificate_applied_date = date(v, &w)?,
        CertField::CertificateReceived => u.certificate_received_date = date(v, &w)?,
    }
    Ok(())
}

pub fn review_patch(p: &mut pics::ReviewPatch, f: ReviewField, v: &Value) -> Result<()> {
    let w = format!("{f:?}");
    match f {
        ReviewField::Proposed => p.proposed_date_time = local(v, &w)?,
        ReviewField::Actual => p.actual_date_time = local(v, &w)?,
        ReviewField::Attended => p.attended_value = text(v, &w)?,
        ReviewField::Reviewer => p.reviewer_officer_id = text(v, &w)?.map(OfficerId::from),
        ReviewField::OneFileId => p.one_file_system_id = int(v, &w)?.map(OfReviewId::from_raw),
    }
    Ok(())
}

pub fn name_field(f: NameField) -> &'static str {
    match f {
        NameField::FirstName => "FirstName",
        NameField::Surname => "Surname",
    }
}
