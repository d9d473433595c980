//! Enrolment planner (§4): one test per rule R6–R14, named by rule id.

use crate::common::*;

use picsync_domain::enrol::*;
use picsync_domain::*;

struct Fx {
    learner: PicsLearner,
    officers: Vec<PicsOfficer>,
    employer: Option<PicsOrganisation>,
    lookups: EnrolLookups,
    catalogue: Catalogue,
    settings: Settings,
    choices: EnrolChoices,
}

fn fx() -> Fx {
    let mut learner = view().pics;
    learner.onefile_id = None;
    learner.placements.push(PicsPlacement {
        organisation: OrganisationId::from("ORG1"),
        kind: Some("P".into()),
        start_date: Some(d(2024, 1, 1)),
    });
    learner.qualifications.push(qual("Q1", "ST0001", None));
    Fx {
        learner,
        officers: vec![officer("O1", Some(500))],
        employer: Some(PicsOrganisation {
            id: OrganisationId::from("ORG1"),
            ident: "EMP1".into(),
            name: Some("Acme Ltd".into()),
            additional_id: None,
        }),
        lookups: EnrolLookups {
            users_by_id: [(OfUserId(500), assessor(500, "FirstO1", "LastO1"))].into(),
            default_classroom: Some(OfClassroomId(1)),
            ..Default::default()
        },
        catalogue: Catalogue {
            entries: vec![entry(10, 1, "ST0001", &[])],
            ..Default::default()
        },
        settings: Settings::default(),
        choices: EnrolChoices::default(),
    }
}

impl Fx {
    fn plan(&self) -> Result<EnrolPlan, Vec<Problem>> {
        plan_enrolment(&EnrolInput {
            learner: &self.learner,
            officers: &self.officers,
            employer: self.employer.as_ref(),
            centre: OfCentreId(1),
            lookups: &self.lookups,
            catalogue: &self.catalogue,
            settings: &self.settings,
            choices: &self.choices,
        })
    }

    fn create(&self) -> Enrolment {
        match self.plan() {
            Ok(EnrolPlan::Create(e)) => *e,
            other => panic!("expected a creation plan, got {other:#?}"),
        }
    }

    fn problems(&self) -> Vec<Problem> {
        self.plan().expect_err("expected problems")
    }
}

#[test]
fn r6_learner_fields_and_mis_id_is_the_ident() {
    let e = fx().create();
    assert_eq!(e.mis_id, "ID001");
    assert_eq!(e.demographics.first_name.as_deref(), Some("Ada"));
    assert_eq!(e.main_officer, OfficerId::from("O1"));
}

#[test]
fn r6_missing_email_fails_before_writing() {
    let mut f = fx();
    f.learner.demographics.email = Some(" ".into());
    let p = f.problems();
    assert!(
        p.iter()
            .any(|p| p.rule == Rule::R6 && p.message.contains("email")),
        "{p:?}"
    );
}

#[test]
fn r7_classroom_default_or_from_main_tag() {
    let mut f = fx();
    assert_eq!(
        f.create().classroom,
        ClassroomStep::Existing(OfClassroomId(1))
    );
    f.settings.classroom_from_main_tag = true;
    f.learner.main_tag = Some("Group A".into());
    assert_eq!(
        f.create().classroom,
        ClassroomStep::Create {
            name: "Group A".into()
        }
    );
    f.lookups.classrooms.push(OfClassroom {
        id: OfClassroomId(7),
        name: Some("group a".into()),
    });
    assert_eq!(
        f.create().classroom,
        ClassroomStep::Existing(OfClassroomId(7))
    );
}

#[test]
fn r8_unmatched_qualifications_are_skipped_and_enrolment_succeeds() {
    let mut f = fx();
    f.learner.qualifications.push(qual("Q2", "UNKNOWN", None));
    let e = f.create();
    assert_eq!(e.aims.len(), 1);
    assert_eq!(e.skipped.len(), 1);
    assert_eq!(e.skipped[0].rule, Rule::R8);
}

#[test]
fn r9_several_pathways_need_a_choice() {
    let mut f = fx();
    f.catalogue.entries = vec![entry(10, 1, "ST0001", &[21, 22])];
    let p = f.problems();
    assert_eq!(p[0].rule, Rule::R9);
    assert!(p[0].message.contains("2 pathways"), "{}", p[0]);
    f.choices
        .pathways
        .insert(QualificationId::from("Q1"), OfPathwayId(22));
    assert_eq!(f.create().aims[0].pathway, Some(OfPathwayId(22)));
    f.choices
        .pathways
        .insert(QualificationId::from("Q1"), OfPathwayId(99));
    assert_eq!(f.problems()[0].rule, Rule::R9);
}

#[test]
fn r10_several_centres_need_a_choice() {
    let mut f = fx();
    f.catalogue.entries.push(entry(11, 2, "ST0001", &[]));
    let p = f.problems();
    assert_eq!(p[0].rule, Rule::R10);
    f.choices
        .centres
        .insert(QualificationId::from("Q1"), OfCentreId(2));
    assert_eq!(f.create().aims[0].standard, OfStandardId(11));
}

#[test]
fn r11_officers_reused_linked_by_mis_or_created() {
    let mut f = fx();
    f.officers.push(officer("O2", None)); // qualification assessor, unlinked, no MIS match
    f.officers.push(officer("O3", None)); // review officer, MIS match
    f.officers.push(officer("O4", None)); // additional role
    f.learner.qualifications[0].assessor = Some(OfficerId::from("O2"));
    let mut r = review("R1", None);
    r.reviewer = Some(OfficerId::from("O3"));
    f.learner.reviews.push(r);
    f.learner.officers.push(LearnerOfficer {
        officer: OfficerId::from("O4"),
        role: "IQA".into(),
    });
    f.settings.additional_assessor_roles = vec!["iqa".into()];
    f.lookups
        .users_by_mis
        .insert("OFF-O3".into(), vec![assessor(503, "F", "L")]);
    let e = f.create();
    assert_eq!(
        e.assessors,
        vec![
            AssessorStep::Linked {
                officer: OfficerId::from("O1"),
                assessor: OfUserId(500)
            },
            AssessorStep::Create {
                officer: OfficerId::from("O2"),
                first_name: "FirstO2".into(),
                last_name: "LastO2".into(),
                email: "O2@staff.example".into(),
                mis_id: "OFF-O2".into()
            },
            AssessorStep::LinkByMis {
                officer: OfficerId::from("O3"),
                assessor: OfUserId(503)
            },
            AssessorStep::Create {
                officer: OfficerId::from("O4"),
                first_name: "FirstO4".into(),
                last_name: "LastO4".into(),
                email: "O4@staff.example".into(),
                mis_id: "OFF-O4".into()
            },
        ]
    );
    assert_eq!(e.additional_assessors, vec![OfficerId::from("O4")]);
    assert_eq!(e.aims[0].assessor, Some(OfficerId::from("O2")));
}

#[test]
fn r11_an_officer_without_email_cannot_become_an_assessor() {
    let mut f = fx();
    let mut o = officer("O2", None);
    o.email = None;
    f.officers.push(o);
    f.learner.qualifications[0].assessor = Some(OfficerId::from("O2"));
    let p = f.problems();
    assert!(p[0].message.contains("no email"), "{}", p[0]);
}

#[test]
fn r11_link_to_a_missing_onefile_user_fails() {
    let mut f = fx();
    f.lookups.users_by_id.clear();
    assert_eq!(f.problems()[0].rule, Rule::R11);
}

#[test]
fn r12_duplicate_mis_values_fail_naming_them_and_create_nothing() {
    let mut f = fx();
    let mut archived = assessor(601, "Old", "Copy");
    archived.archived = true;
    archived.role = Some(1);
    let mut live = assessor(602, "New", "Copy");
    live.role = Some(1);
    f.lookups
        .users_by_mis
        .insert("ID001".into(), vec![archived, live]);
    let p = f.problems();
    assert_eq!(p[0].rule, Rule::R12);
    assert!(
        p[0].message.contains("601") && p[0].message.contains("602"),
        "{}",
        p[0]
    );
    assert!(p[0].message.contains("archived"), "{}", p[0]);
}

#[test]
fn r12_duplicate_officer_mis_values_fail() {
    let mut f = fx();
    f.officers.push(officer("O2", None));
    f.learner.qualifications[0].assessor = Some(OfficerId::from("O2"));
    f.lookups.users_by_mis.insert(
        "OFF-O2".into(),
        vec![assessor(1, "A", "B"), assessor(2, "A", "B")],
    );
    let p = f.problems();
    assert_eq!(p[0].rule, Rule::R12);
}

fn user(id: i64, role: i64, archived: bool) -> OfUser {
    let mut u = assessor(id, "First", &format!("Last{id}"));
    u.role = Some(role);
    u.archived = archived;
    u
}

#[test]
fn r12_users_of_every_role_holding_the_ident_are_named_with_their_roles() {
    let mut f = fx();
    f.lookups.users_by_mis.insert(
        "ID001".into(),
        vec![user(601, 40, true), user(602, 10, false)],
    );
    let p = f.problems();
    assert_eq!(p[0].rule, Rule::R12);
    assert!(
        p[0].message
            .contains("First Last601 (id 601, employer, archived)")
            && p[0].message.contains("First Last602 (id 602, IQA)"),
        "{}",
        p[0]
    );
    // one user who is not a learner is not linked either
    f.lookups
        .users_by_mis
        .insert("ID001".into(), vec![user(603, 45, false)]);
    let p = f.problems();
    assert_eq!(p[0].rule, Rule::R12);
    assert!(p[0].message.contains("(id 603, observer)"), "{}", p[0]);
}

#[test]
fn r12_an_officer_known_to_onefile_in_another_assessing_role_is_not_duplicated() {
    let mut f = fx();
    f.officers.push(officer("O2", None));
    f.officers.push(officer("O3", None));
    f.learner.qualifications[0].assessor = Some(OfficerId::from("O2"));
    let mut r = review("R1", None);
    r.reviewer = Some(OfficerId::from("O3"));
    f.learner.reviews.push(r);
    f.lookups
        .users_by_mis
        .insert("OFF-O2".into(), vec![user(702, 4, false)]);
    f.lookups
        .users_by_mis
        .insert("OFF-O3".into(), vec![user(703, 10, true)]);
    let e = f.create();
    assert!(e.assessors.contains(&AssessorStep::LinkByMis {
        officer: OfficerId::from("O2"),
        assessor: OfUserId(702)
    }));
    assert!(e.assessors.contains(&AssessorStep::LinkByMis {
        officer: OfficerId::from("O3"),
        assessor: OfUserId(703)
    }));
    // a user who cannot assess (a learner, an employer) is refused, not duplicated
    for role in [1, 40] {
        f.lookups
            .users_by_mis
            .insert("OFF-O3".into(), vec![user(704, role, false)]);
        let p = f.problems();
        assert_eq!(p[0].rule, Rule::R12, "role {role}");
        assert!(
            p[0].message.contains("(id 704, ") && p[0].message.contains("cannot assess"),
            "{}",
            p[0]
        );
    }
}

#[test]
fn r13_employer_linked_by_mis_or_created() {
    let mut f = fx();
    assert_eq!(
        f.create().placement,
        PlacementStep::Create {
            organisation: OrganisationId::from("ORG1"),
            name: "Acme Ltd".into(),
            mis_id: "EMP1".into()
        }
    );
    f.lookups.placements.push(OfPlacement {
        id: OfPlacementId(300),
        name: None,
        mis_id: Some("EMP1".into()),
    });
    assert_eq!(
        f.create().placement,
        PlacementStep::LinkByMis {
            organisation: OrganisationId::from("ORG1"),
            placement: OfPlacementId(300)
        }
    );
    f.employer.as_mut().unwrap().additional_id = Some("300".into());
    assert_eq!(
        f.create().placement,
        PlacementStep::Linked {
            organisation: OrganisationId::from("ORG1"),
            placement: OfPlacementId(300)
        }
    );
    f.employer = None;
    assert_eq!(f.problems()[0].rule, Rule::R13);
}

#[test]
fn r14_already_linked_or_matched_by_mis_id_is_never_created() {
    let mut f = fx();
    f.learner.onefile_id = Some(OfUserId(42));
    assert_eq!(f.plan().unwrap(), EnrolPlan::AlreadyLinked(OfUserId(42)));
    f.learner.onefile_id = None;
    let mut u = assessor(43, "Ada", "Lovelace");
    u.role = Some(1);
    f.lookups.users_by_mis.insert("ID001".into(), vec![u]);
    assert_eq!(f.plan().unwrap(), EnrolPlan::Link(OfUserId(43)));
}

#[test]
fn all_problems_are_reported_together() {
    let mut f = fx();
    f.learner.demographics.email = None;
    f.employer = None;
    f.catalogue.entries = vec![entry(10, 1, "ST0001", &[21, 22])];
    let rules: Vec<Rule> = f.problems().iter().map(|p| p.rule).collect();
    assert!(
        rules.contains(&Rule::R6) && rules.contains(&Rule::R13) && rules.contains(&Rule::R9),
        "{rules:?}"
    );
}
