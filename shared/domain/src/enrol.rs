//! The enrolment planner (§4, R6–R15 in [`crate::rules`]): decides, before anything is
//! written, every record to reuse, link or create for one PICS learner. It returns a complete
//! plan or the list of problems; never a partial plan.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::ids::*;
use crate::plan::Skip;
use crate::records::*;
use crate::settings::Settings;
use crate::value::Rule;

/// Choices the operator makes in the enrol request (R9, R10).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolChoices {
    pub pathways: BTreeMap<QualificationId, OfPathwayId>,
    pub centres: BTreeMap<QualificationId, OfCentreId>,
}

/// What OneFile holds that enrolment matches against, read before planning.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolLookups {
    /// Users of any role, archived included, per MIS value looked up (learner and officer
    /// idents). R12 counts every one of them.
    pub users_by_mis: BTreeMap<String, Vec<OfUser>>,
    /// Assessors that officers' Other System IDs point at.
    pub users_by_id: BTreeMap<OfUserId, OfUser>,
    pub placements: Vec<OfPlacement>,
    pub classrooms: Vec<OfClassroom>,
    /// The centre's default classroom (R7 without `classroom_from_main_tag`).
    pub default_classroom: Option<OfClassroomId>,
    /// An earlier attempt of this enrolment created (or may have created) the OneFile learner
    /// and stopped before the end: the enrolment resumes instead of linking or stopping (R14
    /// applies to learners picsync did not create), so no step is left undone (§7).
    #[serde(default)]
    pub resume: bool,
}

/// Everything enrolment reads.
#[derive(Debug, Clone, Copy)]
pub struct EnrolInput<'a> {
    pub learner: &'a PicsLearner,
    /// Every PICS officer the learner refers to.
    pub officers: &'a [PicsOfficer],
    pub employer: Option<&'a PicsOrganisation>,
    /// The tenant's OneFile centre.
    pub centre: OfCentreId,
    pub lookups: &'a EnrolLookups,
    pub catalogue: &'a Catalogue,
    pub settings: &'a Settings,
    pub choices: &'a EnrolChoices,
}

/// How an officer becomes a OneFile assessor (R11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AssessorStep {
    /// Already linked by Other System ID.
    Linked {
        officer: OfficerId,
        assessor: OfUserId,
    },
    /// A OneFile user holds the officer's Ident as MIS value: link it (write Other System ID).
    LinkByMis {
        officer: OfficerId,
        assessor: OfUserId,
    },
    /// Create a OneFile assessor from the name, then link the officer to it.
    Create {
        officer: OfficerId,
        first_name: String,
        last_name: String,
        email: String,
        mis_id: String,
    },
}

impl AssessorStep {
    pub fn officer(&self) -> &OfficerId {
        match self {
            AssessorStep::Linked { officer, .. }
            | AssessorStep::LinkByMis { officer, .. }
            | AssessorStep::Create { officer, .. } => officer,
        }
    }
}

/// How the employer becomes a OneFile placement (R13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlacementStep {
    Linked {
        organisation: OrganisationId,
        placement: OfPlacementId,
    },
    LinkByMis {
        organisation: OrganisationId,
        placement: OfPlacementId,
    },
    Create {
        organisation: OrganisationId,
        name: String,
        mis_id: String,
    },
}

/// The learner's classroom (R7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClassroomStep {
    Existing(OfClassroomId),
    /// **Decision**: a Main Tag with no OneFile class of that name creates the class.
    Create {
        name: String,
    },
}

/// A learning aim to assign (R8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AimStep {
    pub qualification: QualificationId,
    pub standard: OfStandardId,
    pub pathway: Option<OfPathwayId>,
    pub code: String,
    /// The qualification's assessor, assigned to the learner for this standard (R11).
    pub assessor: Option<OfficerId>,
}

/// A complete enrolment: every step decided, in the order to run them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    pub assessors: Vec<AssessorStep>,
    pub placement: PlacementStep,
    pub classroom: ClassroomStep,
    /// R6: the learner's fields; MISID is the PICS Ident (**Decision**).
    pub demographics: Demographics,
    pub mis_id: String,
    /// The default assessor: the Main Officer.
    pub main_officer: OfficerId,
    pub aims: Vec<AimStep>,
    /// Officers of `additional_assessor_roles`, assigned to the learner (R11).
    pub additional_assessors: Vec<OfficerId>,
    /// R8: qualifications left out, with why.
    pub skipped: Vec<Skip>,
}

/// What enrolment will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EnrolPlan {
    /// R14: the learner is linked already; nothing is created.
    AlreadyLinked(OfUserId),
    /// R14: a OneFile learner holds the Ident as MISID: link it, create nothing.
    Link(OfUserId),
    Create(Box<Enrolment>),
}

/// A reason enrolment cannot start. All are found before the first write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub rule: Rule,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.rule)
    }
}

/// OneFile role codes (documented by OneFile) that can assess a learner: trainee assessor,
/// assessor/tutor, IQA. An officer whose Ident one such user holds is linked to it (R11).
pub const ASSESSING_ROLES: [i64; 3] = [4, 5, 10];
/// The OneFile learner role code.
pub const LEARNER_ROLE: i64 = 1;

/// A OneFile role code as an operator reads it.
pub fn role_name(role: Option<i64>) -> String {
    match role {
        Some(1) => "learner".into(),
        Some(4) => "trainee assessor".into(),
        Some(5) => "assessor".into(),
        Some(10) => "IQA".into(),
        Some(40) => "employer".into(),
        Some(45) => "observer".into(),
        Some(r) => format!("role {r}"),
        None => "role unknown".into(),
    }
}

/// Users named for an error: name, id, role, and whether archived.
fn names(users: &[OfUser]) -> String {
    users
        .iter()
        .map(|u| {
            let name = format!(
                "{} {}",
                u.first_name.as_deref().unwrap_or(""),
                u.last_name.as_deref().unwrap_or("")
            );
            let archived = if u.archived { ", archived" } else { "" };
            format!(
                "{} (id {}, {}{archived})",
                name.trim(),
                u.id,
                role_name(u.role)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Plans the enrolment of one learner (R6–R15).
pub fn plan_enrolment(i: &EnrolInput<'_>) -> Result<EnrolPlan, Vec<Problem>> {
    let l = i.learner;
    let mut problems = Vec::new();
    let mut problem = |rule, message: String| problems.push(Problem { rule, message });

    // R14: never create a linked learner again; a OneFile learner with MISID = Ident is linked.
    if let Some(id) = l.onefile_id
        && !i.lookups.resume
    {
        return Ok(EnrolPlan::AlreadyLinked(id));
    }
    let same_mis = if i.lookups.resume {
        &[][..]
    } else {
        i.lookups
            .users_by_mis
            .get(l.ident.trim())
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    match same_mis {
        [] => {}
        [u] if u.role == Some(LEARNER_ROLE) || u.role.is_none() => {
            return Ok(EnrolPlan::Link(u.id));
        }
        [u] => problem(
            Rule::R12,
            format!(
                "OneFile user {} holds MIS value {:?} but is not a learner",
                names(std::slice::from_ref(u)),
                l.ident,
            ),
        ),
        many => problem(
            Rule::R12,
            format!(
                "{} OneFile users hold MIS value {:?}: {}",
                many.len(),
                l.ident,
                names(many)
            ),
        ),
    }

    // R6: OneFile requires first name, surname and email on a learner.
    let d = &l.demographics;
    for (v, what) in [
        (&d.first_name, "first name"),
        (&d.surname, "surname"),
        (&d.email, "email"),
    ] {
        if v.as_deref().is_none_or(|s| s.trim().is_empty()) {
            problem(
                Rule::R6,
                format!("learner {} has no {what}; OneFile requires one", l.ident),
            );
        }
    }

    // R11: the officers to upload.
    let officer = |id: &OfficerId| i.officers.iter().find(|o| &o.id == id);
    let mut wanted: Vec<OfficerId> = Vec::new();
    let mut want = |id: &OfficerId| {
        if !wanted.contains(id) {
            wanted.push(id.clone());
        }
    };
    let main_officer = l.main_officer.clone();
    match &main_officer {
        Some(m) => want(m),
        None => problem(
            Rule::R11,
            format!(
                "learner {} has no Main Officer to be the default assessor",
                l.ident
            ),
        ),
    }
    for q in &l.qualifications {
        if let Some(a) = &q.assessor {
            want(a);
        }
    }
    for r in &l.reviews {
        if let Some(o) = &r.reviewer {
            want(o);
        }
    }
    let roles: BTreeSet<String> = i
        .settings
        .additional_assessor_roles
        .iter()
        .map(|r| r.trim().to_ascii_lowercase())
        .collect();
    let additional: Vec<OfficerId> = l
        .officers
        .iter()
        .filter(|lo| roles.contains(&lo.role.trim().to_ascii_lowercase()))
        .map(|lo| lo.officer.clone())
        .collect();
    for o in &additional {
        want(o);
    }

    let mut assessors = Vec::new();
    for id in &wanted {
        let Some(o) = officer(id) else {
            problem(
                Rule::R11,
                format!(
                    "officer {id} referred to by learner {} was not found in PICS",
                    l.ident
                ),
            );
            continue;
        };
        if let Some(a) = o.linked() {
            if i.lookups.users_by_id.contains_key(&a) {
                assessors.push(AssessorStep::Linked {
                    officer: id.clone(),
                    assessor: a,
                });
            } else {
                problem(
                    Rule::R11,
                    format!(
                        "officer {} is linked to OneFile user {a}, which does not exist in OneFile; fix its Other System ID",
                        o.ident
                    ),
                );
            }
            continue;
        }
        // §7: search before creating. A user holding the officer's Ident as MIS value is reused.
        match i
            .lookups
            .users_by_mis
            .get(o.ident.trim())
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            [] => {
                let first = o.first_name.as_deref().map(str::trim).unwrap_or_default();
                let last = o.surname.as_deref().map(str::trim).unwrap_or_default();
                let email = o.email.as_deref().map(str::trim).unwrap_or_default();
                if first.is_empty() || last.is_empty() {
                    problem(
                        Rule::R11,
                        format!(
                            "officer {} has no full name to create a OneFile assessor from",
                            o.ident
                        ),
                    );
                } else if email.is_empty() {
                    problem(
                        Rule::R11,
                        format!(
                            "officer {} has no email, which OneFile requires to create an assessor; \
                             add it in PICS, or link the officer to an existing assessor",
                            o.ident
                        ),
                    );
                } else {
                    assessors.push(AssessorStep::Create {
                        officer: id.clone(),
                        first_name: first.to_string(),
                        last_name: last.to_string(),
                        email: email.to_string(),
                        mis_id: o.ident.trim().to_string(),
                    });
                }
            }
            // R11/R12: the one user holding the Ident is reused when it can assess (a trainee
            // assessor or an IQA is not duplicated as an assessor)
            [u] if u.role.is_none_or(|r| ASSESSING_ROLES.contains(&r)) => {
                assessors.push(AssessorStep::LinkByMis {
                    officer: id.clone(),
                    assessor: u.id,
                });
            }
            // **Decision**: a learner, employer or observer holding an officer's Ident cannot
            // be that officer's assessor, and a new assessor would make two users hold the
            // value (R12): refused, naming it.
            [u] => problem(
                Rule::R12,
                format!(
                    "OneFile user {} holds MIS value {:?} (officer {}) but cannot assess learners",
                    names(std::slice::from_ref(u)),
                    o.ident,
                    o.ident
                ),
            ),
            many => problem(
                Rule::R12,
                format!(
                    "{} OneFile users hold MIS value {:?} (officer {}): {}",
                    many.len(),
                    o.ident,
                    o.ident,
                    names(many)
                ),
            ),
        }
    }

    // R13: the employer.
    let placement = match i.employer {
        None => {
            problem(
                Rule::R13,
                format!("learner {} has no placement; OneFile requires one", l.ident),
            );
            None
        }
        Some(org) => match org.linked() {
            Some(pid) if i.lookups.placements.iter().any(|p| p.id == pid) => {
                Some(PlacementStep::Linked {
                    organisation: org.id.clone(),
                    placement: pid,
                })
            }
            Some(pid) => {
                problem(
                    Rule::R13,
                    format!(
                        "organisation {} is linked to OneFile placement {pid}, which does not exist",
                        org.ident
                    ),
                );
                None
            }
            None => {
                let same: Vec<&OfPlacement> = i
                    .lookups
                    .placements
                    .iter()
                    .filter(|p| {
                        p.mis_id
                            .as_deref()
                            .is_some_and(|m| m.trim() == org.ident.trim())
                    })
                    .collect();
                match same.as_slice() {
                    [] => match org.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                        Some(name) => Some(PlacementStep::Create {
                            organisation: org.id.clone(),
                            name: name.to_string(),
                            mis_id: org.ident.trim().to_string(),
                        }),
                        None => {
                            problem(
                                Rule::R13,
                                format!(
                                    "organisation {} has no name to create a placement from",
                                    org.ident
                                ),
                            );
                            None
                        }
                    },
                    [p] => Some(PlacementStep::LinkByMis {
                        organisation: org.id.clone(),
                        placement: p.id,
                    }),
                    many => {
                        problem(
                            Rule::R12,
                            format!(
                                "{} OneFile placements hold MIS value {:?}: {}",
                                many.len(),
                                org.ident,
                                many.iter()
                                    .map(|p| p.id.to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        );
                        None
                    }
                }
            }
        },
    };

    // R7: the classroom.
    let tag = l
        .main_tag
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let classroom = match (i.settings.classroom_from_main_tag, tag) {
        (true, Some(tag)) => {
            let same: Vec<&OfClassroom> = i
                .lookups
                .classrooms
                .iter()
                .filter(|c| {
                    c.name
                        .as_deref()
                        .is_some_and(|n| n.trim().eq_ignore_ascii_case(tag))
                })
                .collect();
            match same.as_slice() {
                [] => Some(ClassroomStep::Create {
                    name: tag.to_string(),
                }),
                [c] => Some(ClassroomStep::Existing(c.id)),
                many => {
                    problem(
                        Rule::R7,
                        format!("{} OneFile classrooms are named {tag:?}", many.len()),
                    );
                    None
                }
            }
        }
        _ => match i.lookups.default_classroom {
            Some(c) => Some(ClassroomStep::Existing(c)),
            None => {
                problem(
                    Rule::R7,
                    "the centre has no default classroom in OneFile".into(),
                );
                None
            }
        },
    };

    // R8–R10: learning aims.
    let mut aims = Vec::new();
    let mut skipped = Vec::new();
    for q in &l.qualifications {
        let subject = format!(
            "qualification {} ({})",
            q.id,
            q.vq_reference.as_deref().unwrap_or("no VQ reference")
        );
        let code = q.vq_reference.as_deref().map(str::trim).unwrap_or_default();
        let entries: Vec<&CatalogueEntry> = i.catalogue.matching(code).collect();
        if entries.is_empty() {
            skipped.push(Skip {
                subject,
                rule: Rule::R8,
                reason: "matches no OneFile learning aim".into(),
            });
            continue;
        }
        let centres: BTreeSet<OfCentreId> = entries.iter().map(|e| e.centre).collect();
        let entry = match i.choices.centres.get(&q.id) {
            Some(c) => match entries.iter().find(|e| e.centre == *c) {
                Some(e) => *e,
                None => {
                    problem(
                        Rule::R10,
                        format!("{subject}: the chosen centre {c} does not offer it"),
                    );
                    continue;
                }
            },
            None if centres.len() > 1 => {
                problem(
                    Rule::R10,
                    format!(
                        "{subject} is offered by centres {}: choose one",
                        centres
                            .iter()
                            .map(std::string::ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                continue;
            }
            None => entries[0],
        };
        let pathway = match (i.choices.pathways.get(&q.id), entry.pathways.as_slice()) {
            (Some(p), list) => {
                if list.iter().any(|x| x.id == *p) {
                    Some(*p)
                } else {
                    problem(
                        Rule::R9,
                        format!("{subject}: the chosen pathway {p} is not one of the standard's"),
                    );
                    continue;
                }
            }
            (None, []) => None,
            (None, [one]) => Some(one.id),
            (None, many) => {
                problem(
                    Rule::R9,
                    format!(
                        "{subject} has {} pathways ({}): choose one",
                        many.len(),
                        many.iter()
                            .map(|p| format!("{} {}", p.id, p.name.as_deref().unwrap_or("")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                continue;
            }
        };
        aims.push(AimStep {
            qualification: q.id.clone(),
            standard: entry.standard,
            pathway,
            code: entry.code.clone(),
            assessor: q.assessor.clone(),
        });
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    match (placement, classroom, main_officer) {
        (Some(placement), Some(classroom), Some(main_officer)) => {
            Ok(EnrolPlan::Create(Box::new(Enrolment {
                assessors,
                placement,
                classroom,
                demographics: l.demographics.clone(),
                mis_id: l.ident.trim().to_string(),
                main_officer,
                aims,
                additional_assessors: additional,
                skipped,
            })))
        }
        // Each missing piece recorded a problem above; this arm is unreachable in practice but
        // stays an error rather than a panic.
        _ => Err(vec![Problem {
            rule: Rule::R6,
            message: "enrolment is incomplete".into(),
        }]),
    }
}
