//! R15: the reviews an enrolment uploads. They go up whatever the learner's R3 scope (R3 scopes
//! the synchronisation, §5, not the enrolment, §4), and a dry run of the enrolment lists them
//! (R38), including for a OneFile learner that does not exist yet.

use crate::enrol::{AssessorStep, Enrolment};
use crate::ids::*;
use crate::plan::{Context, OneFileOp, Plan};
use crate::records::*;
use crate::settings::Settings;
use crate::value::Rule;

/// R15: with `upload_reviews`, every eligible review (R17) of the enrolled learner is uploaded
/// (R16, R18), or linked when an earlier attempt uploaded it already (R19's safety net).
/// Nothing else: what OneFile holds travels with the synchronisation (R21, R22), within R3.
pub fn plan_enrolment_reviews(view: &LearnerView, ctx: &Context<'_>) -> Plan {
    let mut p = Plan::default();
    if !ctx.settings.upload_reviews {
        return p;
    }
    let settings = Settings {
        download_reviews: false,
        ..ctx.settings.clone()
    };
    let only_uploads = Context {
        settings: &settings,
        ..*ctx
    };
    crate::plan::plan_reviews(view, &only_uploads, &mut p);
    for op in &mut p.onefile {
        if let OneFileOp::UploadReview(u) = op {
            u.rule = Rule::R15;
        }
    }
    p
}

/// Stands for an assessor the enrolment would create, in a dry run (never a real OneFile id:
/// those are far smaller).
const PLACEHOLDER: i64 = 1 << 60;

/// R38: the R15 uploads of an enrolment that would create the OneFile learner, planned without
/// writing anything: the learner as it would be once created (no reviews in OneFile yet), its
/// officers linked as the enrolment would link them. An upload whose assessor would be created
/// by the enrolment names assessor 0, and a warning says for which officer.
pub fn plan_dry_run_reviews(
    learner: &PicsLearner,
    officers: &[PicsOfficer],
    e: &Enrolment,
    ctx: &Context<'_>,
) -> Plan {
    let mut created: Vec<(OfUserId, OfficerId)> = Vec::new();
    let officers: Vec<PicsOfficer> = officers
        .iter()
        .map(|o| {
            let mut o = o.clone();
            let step = e.assessors.iter().find(|s| s.officer() == &o.id);
            let id = match step {
                Some(AssessorStep::Linked { assessor, .. })
                | Some(AssessorStep::LinkByMis { assessor, .. }) => Some(*assessor),
                Some(AssessorStep::Create { .. }) => {
                    let id = OfUserId(PLACEHOLDER + created.len() as i64);
                    created.push((id, o.id.clone()));
                    Some(id)
                }
                None => o.linked(),
            };
            o.other_system_id = id.map(|i| i.0.to_string());
            o
        })
        .collect();
    let new_learner = OfUserId(0);
    let mut pics = learner.clone();
    pics.onefile_id = Some(new_learner);
    let view = LearnerView {
        pics,
        onefile: OneFileSide {
            learner: OfLearner {
                id: new_learner,
                mis_id: Some(e.mis_id.clone()),
                demographics: e.demographics.clone(),
                last_modified: None,
            },
            aims: Vec::new(),
            reviews: Vec::new(),
        },
        officers,
        assessors: Vec::new(),
        employer: None,
        placement: None,
        uploaded: Default::default(),
    };
    let mut p = plan_enrolment_reviews(&view, ctx);
    for op in &mut p.onefile {
        if let OneFileOp::UploadReview(u) = op
            && let Some((_, officer)) = created.iter().find(|(id, _)| *id == u.assessor)
        {
            p.warnings.push(format!(
                "review {}: its assessor is the one the enrolment creates for officer {officer} (shown as assessor 0)",
                u.review
            ));
            u.assessor = OfUserId(0);
        }
    }
    p
}
