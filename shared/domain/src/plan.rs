//! The reconciliation planner: given both sides of one learner, the baseline, the settings, the
//! mode and today's date, decide every change to make and why (§5 in [`crate::rules`]). Pure:
//! it reads its inputs and returns a [`Plan`]; the engine applies it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::baseline::Baseline;
use crate::ids::*;
use crate::records::*;
use crate::settings::{Direction, Settings};
use crate::time::{london_to_utc, utc_to_london, whole_seconds};
use crate::value::{Rule, Value};

/// Initial (the first run after enabling, R29/R30/R43) or periodic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Initial,
    #[default]
    Periodic,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "initial" => Ok(Mode::Initial),
            "periodic" => Ok(Mode::Periodic),
            other => Err(format!("mode {other:?} is neither initial nor periodic")),
        }
    }
}

/// What the planner needs besides the learner itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub settings: &'a Settings,
    pub catalogue: &'a Catalogue,
    /// The OneFile centre the learner belongs to (R37 assigns standards of this centre).
    pub centre: Option<OfCentreId>,
    pub baseline: &'a Baseline,
    pub mode: Mode,
    /// Today, as a Europe/London date (R3).
    pub today: NaiveDate,
    /// The day picsync enrolled or linked the learner, or, for a learner linked before
    /// picsync, the day of its first sync (R37: only qualifications added after it qualify).
    pub linked_on: NaiveDate,
}

/// A qualification field the sync writes in PICS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum QualField {
    Cert(CertField),
    TotalElements,
    ElementsDone,
    OneFileAim,
}

/// A review field the sync writes in PICS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReviewField {
    Proposed,
    Attended,
    Actual,
    Reviewer,
    OneFileId,
}

/// The officer and assessor name fields of R32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NameField {
    FirstName,
    Surname,
}

/// A PICS review to create from a OneFile review (R21/R22).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPicsReview {
    pub onefile_review: OfReviewId,
    pub proposed: Option<NaiveDateTime>,
    pub attended: Option<Attendance>,
    pub actual: Option<NaiveDateTime>,
    pub reviewer: Option<OfficerId>,
}

/// A change to PICS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PicsOp {
    SetLearner {
        field: DemographicField,
        old: Value,
        new: Value,
        rule: Rule,
    },
    SetQualification {
        qualification: QualificationId,
        field: QualField,
        old: Value,
        new: Value,
        rule: Rule,
    },
    SetReview {
        review: ReviewId,
        field: ReviewField,
        old: Value,
        new: Value,
        rule: Rule,
    },
    CreateReview {
        review: NewPicsReview,
        rule: Rule,
    },
    SetOfficer {
        officer: OfficerId,
        field: NameField,
        old: Value,
        new: Value,
        rule: Rule,
    },
    SetOrganisationName {
        organisation: OrganisationId,
        old: Value,
        new: Value,
        rule: Rule,
    },
}

/// A PICS review to upload to OneFile (R16–R20, R29): a visit and a review are created, then the
/// PICS review is linked to the new review (R19).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewUpload {
    pub review: ReviewId,
    pub scheduled_for: DateTime<Utc>,
    pub ends: DateTime<Utc>,
    pub visit_type_id: i64,
    pub assessor: OfUserId,
    /// R22 applied at write-back: the officer linked to the assessor, when it differs from the
    /// review's officer, so that the next run has nothing left to download.
    pub set_reviewer: Option<OfficerId>,
    pub rule: Rule,
}

/// A change to OneFile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OneFileOp {
    SetLearner {
        field: DemographicField,
        old: Value,
        new: Value,
        rule: Rule,
    },
    SetAim {
        aim: OfAimId,
        qualification: QualificationId,
        field: CertField,
        old: Value,
        new: Value,
        rule: Rule,
    },
    UploadReview(ReviewUpload),
    AssignStandard {
        qualification: QualificationId,
        standard: OfStandardId,
        pathway: Option<OfPathwayId>,
        code: String,
        rule: Rule,
    },
    SetAssessor {
        assessor: OfUserId,
        field: NameField,
        old: Value,
        new: Value,
        rule: Rule,
    },
    SetPlacementName {
        placement: OfPlacementId,
        old: Value,
        new: Value,
        rule: Rule,
    },
}

/// Something the plan leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    pub subject: String,
    pub rule: Rule,
    pub reason: String,
}

/// Every change for one learner, per side, in the order to apply them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Plan {
    pub pics: Vec<PicsOp>,
    pub onefile: Vec<OneFileOp>,
    pub skipped: Vec<Skip>,
    pub warnings: Vec<String>,
}

impl PicsOp {
    pub fn rule(&self) -> Rule {
        match self {
            PicsOp::SetLearner { rule, .. }
            | PicsOp::SetQualification { rule, .. }
            | PicsOp::SetReview { rule, .. }
            | PicsOp::CreateReview { rule, .. }
            | PicsOp::SetOfficer { rule, .. }
            | PicsOp::SetOrganisationName { rule, .. } => *rule,
        }
    }
}

impl OneFileOp {
    pub fn rule(&self) -> Rule {
        match self {
            OneFileOp::SetLearner { rule, .. }
            | OneFileOp::SetAim { rule, .. }
            | OneFileOp::AssignStandard { rule, .. }
            | OneFileOp::SetAssessor { rule, .. }
            | OneFileOp::SetPlacementName { rule, .. } => *rule,
            OneFileOp::UploadReview(u) => u.rule,
        }
    }

    /// True for operations that create a record in OneFile (§7: exactly once).
    pub fn creates(&self) -> bool {
        matches!(
            self,
            OneFileOp::UploadReview(_) | OneFileOp::AssignStandard { .. }
        )
    }
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.pics.is_empty() && self.onefile.is_empty()
    }

    pub fn len(&self) -> usize {
        self.pics.len() + self.onefile.len()
    }

    /// How many operations each rule caused.
    pub fn counts(&self) -> BTreeMap<Rule, usize> {
        let mut m = BTreeMap::new();
        for r in self
            .pics
            .iter()
            .map(PicsOp::rule)
            .chain(self.onefile.iter().map(OneFileOp::rule))
        {
            *m.entry(r).or_insert(0) += 1;
        }
        m
    }
}

/// R3: a learner is synced when linked, PICS system status Live, and either In Learning or with
/// an actual end date no more than one calendar month ago (Europe/London dates).
///
/// **Decision**: "one calendar month ago" is `today` minus one month, clamped to the month's
/// last day (31 March → 28/29 February); an end date on that day is still in scope.
pub fn in_scope(l: &PicsLearner, today: NaiveDate) -> Result<(), String> {
    scope(
        l.onefile_id.is_some(),
        &l.system_status,
        &l.episode_status,
        l.actual_end_date,
        today,
    )
}

/// R3 on the fields a learner listing carries (so that the scheduler needs no full read).
pub fn scope(
    linked: bool,
    system: &SystemStatus,
    episode: &EpisodeStatus,
    actual_end: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(), String> {
    if !linked {
        return Err("not linked to a OneFile learner".into());
    }
    if *system != SystemStatus::Live {
        return Err(format!("PICS system status is {system:?}, not Live"));
    }
    if *episode == EpisodeStatus::InLearning {
        return Ok(());
    }
    let limit = today
        .checked_sub_months(chrono::Months::new(1))
        .unwrap_or(NaiveDate::MIN);
    match actual_end {
        Some(end) if end >= limit => Ok(()),
        Some(end) => Err(format!(
            "ended on {end}, more than one month before {today}"
        )),
        None => Err(format!("{episode:?} without an actual end date")),
    }
}

/// R17: a PICS review is eligible for upload when its type is Normal, its attended value is
/// blank, its actual date is blank, its proposed date is set, and it has no OneFile System ID.
pub fn eligible_for_upload(r: &PicsReview) -> bool {
    r.kind == ReviewType::Normal
        && r.attended.is_none()
        && r.actual.is_none()
        && r.proposed.is_some()
        && r.onefile_id.is_none()
}

/// Plans one learner's synchronisation (§5 in [`crate::rules`]).
pub fn plan(view: &LearnerView, ctx: &Context<'_>) -> Plan {
    let mut p = Plan::default();
    if let Err(reason) = in_scope(&view.pics, ctx.today) {
        p.skipped.push(Skip {
            subject: format!("learner {}", view.pics.ident),
            rule: Rule::R3,
            reason,
        });
        return p;
    }
    if view.pics.onefile_id != Some(view.onefile.learner.id) {
        p.warnings.push(format!(
            "learner {} is linked to OneFile learner {:?} but the OneFile record read is {}",
            view.pics.ident, view.pics.onefile_id, view.onefile.learner.id
        ));
        return p;
    }
    plan_learner_demographics(view, ctx, &mut p);
    plan_qualifications(view, ctx, &mut p);
    plan_reviews(view, ctx, &mut p);
    plan_related_demographics(view, ctx, &mut p);
    p
}

/// R32 (learner) and R33: demographics travel only as the setting says; a blank never
/// overwrites a value (**Decision**: clearing is not propagated, it is reported as skipped).
fn plan_learner_demographics(view: &LearnerView, ctx: &Context<'_>, p: &mut Plan) {
    let dir = ctx.settings.learner_demographics;
    if dir == Direction::Ignore {
        return;
    }
    for f in DemographicField::ALL {
        let pv = view.pics.demographics.get(f);
        let ov = view.onefile.learner.demographics.get(f);
        if pv == ov {
            continue;
        }
        match dir {
            Direction::Push if pv.is_blank() => p.skipped.push(Skip {
                subject: format!("learner {} {f:?}", view.pics.ident),
                rule: Rule::R32,
                reason: "blank in PICS; a push never clears OneFile".into(),
            }),
            Direction::Push => p.onefile.push(OneFileOp::SetLearner {
                field: f,
                old: ov,
                new: pv,
                rule: Rule::R32,
            }),
            Direction::Pull if ov.is_blank() => p.skipped.push(Skip {
                subject: format!("learner {} {f:?}", view.pics.ident),
                rule: Rule::R32,
                reason: "blank in OneFile; a pull never clears PICS".into(),
            }),
            Direction::Pull => p.pics.push(PicsOp::SetLearner {
                field: f,
                old: pv,
                new: ov,
                rule: Rule::R32,
            }),
            Direction::Ignore => {}
        }
    }
}

/// R32 for officers (first name, surname) and organisations (name).
fn plan_related_demographics(view: &LearnerView, ctx: &Context<'_>, p: &mut Plan) {
    let dir = ctx.settings.officer_demographics;
    if dir != Direction::Ignore {
        for o in &view.officers {
            // An assessor linked by more than one officer is ambiguous: left alone.
            let Some(a) = o
                .linked()
                .filter(|id| view.officer_of(*id) == Some(&o.id))
                .and_then(|id| view.assessors.iter().find(|a| a.id == id))
            else {
                continue;
            };
            for (field, pv, ov) in [
                (
                    NameField::FirstName,
                    Value::text(o.first_name.as_deref()),
                    Value::text(a.first_name.as_deref()),
                ),
                (
                    NameField::Surname,
                    Value::text(o.surname.as_deref()),
                    Value::text(a.last_name.as_deref()),
                ),
            ] {
                if pv == ov {
                    continue;
                }
                match dir {
                    Direction::Push if !pv.is_blank() => p.onefile.push(OneFileOp::SetAssessor {
                        assessor: a.id,
                        field,
                        old: ov,
                        new: pv,
                        rule: Rule::R32,
                    }),
                    Direction::Pull if !ov.is_blank() => p.pics.push(PicsOp::SetOfficer {
                        officer: o.id.clone(),
                        field,
                        old: pv,
                        new: ov,
                        rule: Rule::R32,
                    }),
                    _ => {}
                }
            }
        }
    }
    let dir = ctx.settings.organisation_demographics;
    if let (Some(org), Some(pl), false) =
        (&view.employer, &view.placement, dir == Direction::Ignore)
    {
        if org.linked() != Some(pl.id) {
            return;
        }
        let pv = Value::text(org.name.as_deref());
        let ov = Value::text(pl.name.as_deref());
        if pv != ov {
            match dir {
                Direction::Push if !pv.is_blank() => p.onefile.push(OneFileOp::SetPlacementName {
                    placement: pl.id,
                    old: ov,
                    new: pv,
                    rule: Rule::R32,
                }),
                Direction::Pull if !ov.is_blank() => p.pics.push(PicsOp::SetOrganisationName {
                    organisation: org.id.clone(),
                    old: pv,
                    new: ov,
                    rule: Rule::R32,
                }),
                _ => {}
            }
        }
    }
}

/// §1 matching, R37, R23/R24 and R25–R28/R30 with R40.
fn plan_qualifications(view: &LearnerView, ctx: &Context<'_>, p: &mut Plan) {
    let aims: BTreeMap<OfAimId, &OfLearningAim> =
        view.onefile.aims.iter().map(|a| (a.id, a)).collect();
    // Aims already claimed by a PICS qualification cannot be matched to another.
    let mut claimed: BTreeSet<OfAimId> = view
        .pics
        .qualifications
        .iter()
        .filter_map(|q| q.onefile_aim)
        .collect();
    let mut assigned_codes: BTreeSet<String> = BTreeSet::new();

    for q in &view.pics.qualifications {
        let subject = || {
            format!(
                "qualification {} ({})",
                q.id,
                q.vq_reference.as_deref().unwrap_or("no VQ reference")
            )
        };
        let aim = match q.onefile_aim {
            Some(id) => match aims.get(&id) {
                Some(a) => *a,
                None => {
                    p.warnings.push(format!(
                        "{} is linked to OneFile learning aim {id}, which the OneFile learner does not hold",
                        subject()
                    ));
                    continue;
                }
            },
            None => {
                let code = q.vq_reference.as_deref().map(str::trim).unwrap_or_default();
                let candidates: Vec<&OfLearningAim> = view
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
                    .collect();
                match candidates.as_slice() {
                    &[a] => {
                        claimed.insert(a.id);
                        p.pics.push(PicsOp::SetQualification {
                            qualification: q.id.clone(),
                            field: QualField::OneFileAim,
                            old: Value::Blank,
                            new: Value::Int(a.id.0),
                            rule: Rule::Match,
                        });
                        a
                    }
                    [] => {
                        plan_new_qualification(view, ctx, q, &mut assigned_codes, p);
                        continue;
                    }
                    many => {
                        p.skipped.push(Skip {
                            subject: subject(),
                            rule: Rule::Match,
                            reason: format!(
                                "{} OneFile learning aims of the learner share code {code:?}; link one by hand",
                                many.len()
                            ),
                        });
                        continue;
                    }
                }
            }
        };
        plan_progress(q, aim, p);
        plan_cert(q, aim, ctx, p);
    }
}

/// R37 (**Decision**): with `push_new_qualifications`, an unlinked qualification that matches
/// exactly one learning aim of the learner's centre, with at most one pathway, is assigned. Several
/// pathways (R9) or centres (R10) need a choice the sync cannot make: reported as skipped.
fn plan_new_qualification(
    view: &LearnerView,
    ctx: &Context<'_>,
    q: &PicsQualification,
    assigned_codes: &mut BTreeSet<String>,
    p: &mut Plan,
) {
    let subject = format!(
        "qualification {} ({})",
        q.id,
        q.vq_reference.as_deref().unwrap_or("no VQ reference")
    );
    let Some(code) = q
        .vq_reference
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    else {
        p.skipped.push(Skip {
            subject,
            rule: Rule::R8,
            reason: "no VQ reference to match".into(),
        });
        return;
    };
    if !ctx.settings.push_new_qualifications {
        p.skipped.push(Skip {
            subject,
            rule: Rule::R37,
            reason: "push_new_qualifications is off".into(),
        });
        return;
    }
    let entries: Vec<&CatalogueEntry> = ctx
        .catalogue
        .matching(code)
        .filter(|e| ctx.centre.is_none_or(|c| e.centre == c))
        .collect();
    let entry = match entries.as_slice() {
        [] => {
            p.skipped.push(Skip {
                subject,
                rule: Rule::R8,
                reason: format!("no OneFile learning aim has code {code:?}"),
            });
            return;
        }
        [e] => *e,
        _ => {
            p.skipped.push(Skip {
                subject,
                rule: Rule::R10,
                reason: format!(
                    "code {code:?} is offered by {} centres; enrol it with a choice",
                    entries.len()
                ),
            });
            return;
        }
    };
    if entry.pathways.len() > 1 {
        p.skipped.push(Skip {
            subject,
            rule: Rule::R9,
            reason: format!(
                "standard {code:?} has {} pathways; assign it with a choice",
                entry.pathways.len()
            ),
        });
        return;
    }
    if view.onefile.aims.iter().any(|a| {
        a.code
            .as_deref()
            .is_some_and(|c| c.trim().eq_ignore_ascii_case(code))
    }) {
        p.skipped.push(Skip {
            subject,
            rule: Rule::R37,
            reason: format!(
                "the OneFile learner holds {code:?} already, linked to another qualification"
            ),
        });
        return;
    }
    // R37: only a qualification added to the Delivery Plan after enrolment qualifies.
    // **Decision**: PICS does not say when a qualification was added, so its start date stands
    // for it: it must be strictly after the day picsync enrolled or linked the learner (for a
    // learner linked before picsync, the day of its first sync). A qualification without a
    // start date cannot show that and is left alone. An initial run never assigns: its
    // learners' Delivery Plans are history (the migration case).
    if ctx.mode == Mode::Initial {
        p.skipped.push(Skip {
            subject,
            rule: Rule::R37,
            reason: "an initial run assigns no new qualifications".into(),
        });
        return;
    }
    match q.start_date {
        Some(start) if start > ctx.linked_on => {}
        Some(start) => {
            p.skipped.push(Skip {
                subject,
                rule: Rule::R37,
                reason: format!(
                    "starts on {start}, not after the learner was linked on {}",
                    ctx.linked_on
                ),
            });
            return;
        }
        None => {
            p.skipped.push(Skip {
                subject,
                rule: Rule::R37,
                reason: "no start date to show it was added after the learner was linked".into(),
            });
            return;
        }
    }
    if !assigned_codes.insert(code.to_ascii_lowercase()) {
        p.skipped.push(Skip {
            subject,
            rule: Rule::R37,
            reason: format!("another qualification of this plan already assigns {code:?}"),
        });
        return;
    }
    p.onefile.push(OneFileOp::AssignStandard {
        qualification: q.id.clone(),
        standard: entry.standard,
        pathway: entry.pathways.first().map(|pw| pw.id),
        code: entry.code.clone(),
        rule: Rule::R37,
    });
}

/// R23: without units, Total Elements and Elements Done take OneFile's values (a blank in OneFile
/// writes nothing). R24: with units, PICS keeps its values.
fn plan_progress(q: &PicsQualification, aim: &OfLearningAim, p: &mut Plan) {
    let pairs = [
        (
            QualField::TotalElements,
            q.total_elements,
            aim.total_elements,
        ),
        (QualField::ElementsDone, q.elements_done, aim.elements_done),
    ];
    let differs = pairs.iter().any(|(_, pv, ov)| ov.is_some() && pv != ov);
    if q.has_units {
        if differs {
            p.skipped.push(Skip {
                subject: format!("qualification {} elements", q.id),
                rule: Rule::R24,
                reason: "has units in PICS: keeps its element values".into(),
            });
        }
        return;
    }
    for (field, pv, ov) in pairs {
        if let Some(o) = ov
            && pv != Some(o)
        {
            p.pics.push(PicsOp::SetQualification {
                qualification: q.id.clone(),
                field,
                old: Value::int(pv),
                new: Value::Int(o),
                rule: Rule::R23,
            });
        }
    }
}

/// Which way one registration/certification field travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertDecision {
    Nothing,
    ToPics(Value, Rule),
    ToOneFile(Value, Rule),
    /// A side was cleared since both agreed: reported, not propagated (R40 **Decision**).
    Cleared(&'static str),
}

/// R25–R28 on one field, with R40 in periodic mode.
///
/// Without a baseline (and always in initial mode, R30) the rules apply as written: PICS blank →
/// PICS takes OneFile (R25); OneFile blank → OneFile takes PICS (R26); both set and different →
/// OneFile wins (R27); both blank or equal → nothing (R28).
///
/// With a baseline (the value both sides last agreed on) a periodic run applies R40: a value the
/// sync itself wrote is not a user change. So when only PICS moved away from the agreed value,
/// the PICS edit travels to OneFile instead of being overwritten by OneFile's stale copy; when only
/// OneFile moved, OneFile's value travels to PICS; when both moved, R25–R27 decide (OneFile wins).
/// A side that was cleared is reported and nothing is written (**Decision**: the sync never
/// blanks a field, and never re-fills a field a user cleared on purpose).
pub fn decide_cert(
    pics: &Value,
    onefile: &Value,
    baseline: Option<&Value>,
    mode: Mode,
) -> CertDecision {
    if pics == onefile {
        return CertDecision::Nothing; // R28 when both blank
    }
    let literal = || match (pics.is_blank(), onefile.is_blank()) {
        (true, false) => CertDecision::ToPics(onefile.clone(), Rule::R25),
        (false, true) => CertDecision::ToOneFile(pics.clone(), Rule::R26),
        _ => CertDecision::ToPics(onefile.clone(), Rule::R27),
    };
    let Some(agreed) = baseline.filter(|_| mode == Mode::Periodic) else {
        return literal();
    };
    let pics_moved = pics != agreed;
    let onefile_moved = onefile != agreed;
    match (pics_moved, onefile_moved) {
        (true, false) if pics.is_blank() => CertDecision::Cleared("cleared in PICS"),
        (true, false) => CertDecision::ToOneFile(
            pics.clone(),
            if onefile.is_blank() {
                Rule::R26
            } else {
                Rule::R40
            },
        ),
        (false, true) if onefile.is_blank() => CertDecision::Cleared("cleared in OneFile"),
        (false, true) => CertDecision::ToPics(
            onefile.clone(),
            if pics.is_blank() {
                Rule::R25
            } else {
                Rule::R27
            },
        ),
        _ => literal(),
    }
}

fn plan_cert(q: &PicsQualification, aim: &OfLearningAim, ctx: &Context<'_>, p: &mut Plan) {
    for f in CertField::ALL {
        let pv = q.cert.get(f);
        let ov = aim.cert.get(f);
        let agreed = ctx.baseline.cert(&q.id, f);
        match decide_cert(&pv, &ov, agreed, ctx.mode) {
            CertDecision::Nothing => {}
            CertDecision::ToPics(new, rule) => p.pics.push(PicsOp::SetQualification {
                qualification: q.id.clone(),
                field: QualField::Cert(f),
                old: pv,
                new,
                rule,
            }),
            CertDecision::ToOneFile(new, rule) => p.onefile.push(OneFileOp::SetAim {
                aim: aim.id,
                qualification: q.id.clone(),
                field: f,
                old: ov,
                new,
                rule,
            }),
            CertDecision::Cleared(why) => p.skipped.push(Skip {
                subject: format!("qualification {} {f:?}", q.id),
                rule: Rule::R40,
                reason: format!("{why} since the last sync; the other side keeps its value"),
            }),
        }
    }
}

/// R16: the start of an uploaded review is the PICS proposed date/time; it ends 60 minutes later.
/// `None` when the end falls outside the range of time itself (a malformed proposed date).
pub fn review_times(proposed: NaiveDateTime) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let start = london_to_utc(proposed);
    Some((start, start.checked_add_signed(Duration::minutes(60))?))
}

/// R17–R22 and R29.
pub(crate) fn plan_reviews(view: &LearnerView, ctx: &Context<'_>, p: &mut Plan) {
    let s = ctx.settings;
    let linked: BTreeMap<OfReviewId, &PicsReview> = view
        .pics
        .reviews
        .iter()
        .filter_map(|r| r.onefile_id.map(|id| (id, r)))
        .collect();

    // R19/§7 safety net: a OneFile review that no PICS review holds, scheduled at the same instant
    // as an eligible PICS review with the same assessor, is that review's earlier upload whose
    // write-back was lost. It is linked, never uploaded again nor downloaded as a new review.
    let mut relinked: BTreeMap<ReviewId, OfReviewId> = BTreeMap::new();
    let mut taken: BTreeSet<OfReviewId> = BTreeSet::new();
    // §7/B6: a review picsync uploaded (its intent recorded the OneFile id) whose write-back
    // was lost is linked again whatever was edited in PICS since, as long as no other PICS
    // review holds that OneFile review and OneFile still has it.
    for (rid, oid) in &view.uploaded {
        let Some(r) = view.pics.reviews.iter().find(|r| &r.id == rid) else {
            continue;
        };
        if r.onefile_id.is_some()
            || linked.contains_key(oid)
            || taken.contains(oid)
            || !view.onefile.reviews.iter().any(|o| &o.id == oid)
        {
            continue;
        }
        taken.insert(*oid);
        relinked.insert(r.id.clone(), *oid);
        p.pics.push(PicsOp::SetReview {
            review: r.id.clone(),
            field: ReviewField::OneFileId,
            old: Value::Blank,
            new: Value::Int(oid.0),
            rule: Rule::R19,
        });
    }
    for r in view.pics.reviews.iter().filter(|r| eligible_for_upload(r)) {
        if relinked.contains_key(&r.id) {
            continue;
        }
        let Some((start, _)) = r.proposed.and_then(review_times) else {
            continue;
        };
        let assessor = upload_assessor(view, r);
        let found = view.onefile.reviews.iter().find(|o| {
            !linked.contains_key(&o.id)
                && !taken.contains(&o.id)
                && o.scheduled_for.map(whole_seconds) == Some(start)
                && (assessor.is_none() || o.assessor == assessor)
        });
        if let Some(o) = found {
            taken.insert(o.id);
            relinked.insert(r.id.clone(), o.id);
            p.pics.push(PicsOp::SetReview {
                review: r.id.clone(),
                field: ReviewField::OneFileId,
                old: Value::Blank,
                new: Value::Int(o.id.0),
                rule: Rule::R19,
            });
        }
    }

    if s.download_reviews {
        for o in &view.onefile.reviews {
            let target_reviewer = o.assessor.and_then(|a| view.officer_of(a)).cloned();
            // R22/R40: compared and written at the precision PICS stores (whole seconds);
            // OneFile's milliseconds would otherwise read as a change on every comparison.
            let proposed = o.scheduled_for.map(|t| utc_to_london(whole_seconds(t)));
            let started = o.started_on.map(|t| utc_to_london(whole_seconds(t)));
            let existing = linked.get(&o.id).copied().or_else(|| {
                taken
                    .contains(&o.id)
                    .then(|| {
                        view.pics
                            .reviews
                            .iter()
                            .find(|r| relinked.get(&r.id) == Some(&o.id))
                    })
                    .flatten()
            });
            match existing {
                Some(r) => {
                    let mut set = |field, old: Value, new: Value| {
                        if old != new {
                            p.pics.push(PicsOp::SetReview {
                                review: r.id.clone(),
                                field,
                                old,
                                new,
                                rule: Rule::R22,
                            });
                        }
                    };
                    if let Some(t) = proposed {
                        set(
                            ReviewField::Proposed,
                            Value::local(r.proposed),
                            Value::LocalDateTime(t),
                        );
                    }
                    if let Some(t) = started {
                        set(
                            ReviewField::Attended,
                            Value::text(r.attended.as_ref().map(Attendance::as_str)),
                            Value::Text(Attendance::Attended.as_str().into()),
                        );
                        set(
                            ReviewField::Actual,
                            Value::local(r.actual),
                            Value::LocalDateTime(t),
                        );
                    }
                    // R22 (clarified): an assessor picsync chose as the R18 fallback never
                    // replaces the PICS reviewer.
                    let fallback = r18_fallback(view, r).is_some_and(|a| o.assessor == Some(a));
                    if let Some(o) = target_reviewer.as_ref().filter(|_| !fallback) {
                        set(
                            ReviewField::Reviewer,
                            Value::text(r.reviewer.as_ref().map(OfficerId::as_str)),
                            Value::Text(o.0.clone()),
                        );
                    }
                }
                // R21 downloads reviews made in OneFile, never one picsync uploaded: its PICS
                // review was deleted, or holds another OneFile review now
                None if view.uploaded.values().any(|u| *u == o.id) => p.skipped.push(Skip {
                    subject: format!("OneFile review {}", o.id),
                    rule: Rule::R21,
                    reason: "uploaded by picsync for a PICS review that no longer holds it; not downloaded as a new review".into(),
                }),
                None => p.pics.push(PicsOp::CreateReview {
                    review: NewPicsReview {
                        onefile_review: o.id,
                        proposed,
                        attended: started.map(|_| Attendance::Attended),
                        actual: started,
                        reviewer: target_reviewer,
                    },
                    rule: Rule::R21,
                }),
            }
        }
    }

    if s.upload_reviews {
        let rule = if ctx.mode == Mode::Initial {
            Rule::R29
        } else {
            Rule::R20
        };
        for r in view.pics.reviews.iter().filter(|r| eligible_for_upload(r)) {
            if relinked.contains_key(&r.id) {
                continue;
            }
            let Some(proposed) = r.proposed else { continue };
            let Some(assessor) = upload_assessor(view, r) else {
                p.skipped.push(Skip {
                    subject: format!("review {}", r.id),
                    rule: Rule::R18,
                    reason: "neither the review's officer nor the main officer is linked to a OneFile assessor".into(),
                });
                continue;
            };
            let Some((scheduled_for, ends)) = review_times(proposed) else {
                p.skipped.push(Skip {
                    subject: format!("review {}", r.id),
                    rule: Rule::R16,
                    reason: format!("proposed date/time {proposed} is out of range"),
                });
                continue;
            };
            let fallback = r18_fallback(view, r) == Some(assessor);
            if fallback && let Some(o) = &r.reviewer {
                p.warnings.push(format!(
                    "review {}: officer {o} is not linked to a OneFile assessor; uploaded with the main officer's assessor {assessor} (R18), PICS keeps officer {o} as the reviewer",
                    r.id
                ));
            }
            // R22 (clarified): the R18 fallback never replaces the PICS reviewer.
            let set_reviewer = if s.download_reviews && !fallback {
                view.officer_of(assessor)
                    .filter(|o| r.reviewer.as_ref() != Some(*o))
                    .cloned()
            } else {
                None
            };
            p.onefile.push(OneFileOp::UploadReview(ReviewUpload {
                review: r.id.clone(),
                scheduled_for,
                ends,
                visit_type_id: s.visit_type_id(),
                assessor,
                set_reviewer,
                rule,
            }));
        }
    }
}

/// The assessor R18 falls back to for a review whose own officer is set but not linked to a
/// OneFile assessor: the Main Officer's. `None` when the review has no officer (then the Main
/// Officer is simply the reviewer R18 names), when its officer is linked, or when the Main
/// Officer is not linked either.
pub fn r18_fallback(view: &LearnerView, r: &PicsReview) -> Option<OfUserId> {
    let officer = r.reviewer.as_ref()?;
    if view.onefile_of(officer).is_some() {
        return None;
    }
    view.pics
        .main_officer
        .as_ref()
        .and_then(|o| view.onefile_of(o))
}

/// R18: the review's officer, else the learner's Main Officer, as a OneFile assessor.
pub fn upload_assessor(view: &LearnerView, r: &PicsReview) -> Option<OfUserId> {
    r.reviewer
        .as_ref()
        .and_then(|o| view.onefile_of(o))
        .or_else(|| {
            view.pics
                .main_officer
                .as_ref()
                .and_then(|o| view.onefile_of(o))
        })
}

impl std::fmt::Display for PicsOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PicsOp::SetLearner {
                field,
                old,
                new,
                rule,
            } => write!(f, "PICS learner {field:?}: {old} → {new} [{rule}]"),
            PicsOp::SetQualification {
                qualification,
                field,
                old,
                new,
                rule,
            } => {
                let name = match field {
                    QualField::Cert(c) => format!("{c:?}"),
                    other => format!("{other:?}"),
                };
                write!(
                    f,
                    "PICS qualification {qualification} {name}: {old} → {new} [{rule}]"
                )
            }
            PicsOp::SetReview {
                review,
                field,
                old,
                new,
                rule,
            } => write!(f, "PICS review {review} {field:?}: {old} → {new} [{rule}]"),
            PicsOp::CreateReview { review, rule } => write!(
                f,
                "PICS new review from OneFile review {} (proposed {}, {}) [{rule}]",
                review.onefile_review,
                review
                    .proposed
                    .map_or("-".to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
                if review.attended.is_some() {
                    "attended"
                } else {
                    "not started"
                }
            ),
            PicsOp::SetOfficer {
                officer,
                field,
                old,
                new,
                rule,
            } => write!(
                f,
                "PICS officer {officer} {field:?}: {old} → {new} [{rule}]"
            ),
            PicsOp::SetOrganisationName {
                organisation,
                old,
                new,
                rule,
            } => {
                write!(
                    f,
                    "PICS organisation {organisation} name: {old} → {new} [{rule}]"
                )
            }
        }
    }
}

impl std::fmt::Display for OneFileOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OneFileOp::SetLearner {
                field,
                old,
                new,
                rule,
            } => write!(f, "OneFile learner {field:?}: {old} → {new} [{rule}]"),
            OneFileOp::SetAim {
                aim,
                field,
                old,
                new,
                rule,
                ..
            } => write!(
                f,
                "OneFile learning aim {aim} {field:?}: {old} → {new} [{rule}]"
            ),
            OneFileOp::UploadReview(u) => write!(
                f,
                "OneFile new visit and review for PICS review {} at {} (assessor {}) [{}]",
                u.review,
                crate::time::utc_to_london(u.scheduled_for).format("%Y-%m-%d %H:%M"),
                u.assessor,
                u.rule
            ),
            OneFileOp::AssignStandard {
                qualification,
                code,
                rule,
                ..
            } => {
                write!(
                    f,
                    "OneFile assign standard {code} for qualification {qualification} [{rule}]"
                )
            }
            OneFileOp::SetAssessor {
                assessor,
                field,
                old,
                new,
                rule,
            } => write!(
                f,
                "OneFile assessor {assessor} {field:?}: {old} → {new} [{rule}]"
            ),
            OneFileOp::SetPlacementName {
                placement,
                old,
                new,
                rule,
            } => write!(
                f,
                "OneFile placement {placement} name: {old} → {new} [{rule}]"
            ),
        }
    }
}
