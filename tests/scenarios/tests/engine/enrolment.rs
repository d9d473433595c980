//! Enrolment against a OneFile whose searches are not what they seem (issue 11 item 3, issue 17
//! item 2): R12 and R14 under a "contains" MISID match and under ignored owner filters, and R12
//! across every OneFile role.
//!
//! The learner enrolled is the world's `lrn-00029` (Ident `L00029`): unlinked, three
//! qualifications, Main Officer `OFF6` and qualification assessors `OFF6`–`OFF8`, none of them
//! linked to OneFile (see `tests/sim/src/world.rs`).

use crate::common::*;

use picsync_domain::Rule;
use picsync_domain::enrol::EnrolPlan;
use picsync_engine::EngineError;
use picsync_sim::faults::Fault;
use picsync_sim::onefile::{Quirks, SimUser, role};
use picsync_sim::world::CENTRE;

const ENROLLED: &str = "lrn-00029";
const IDENT: &str = "L00029";

fn quirks(env: &Env, f: impl FnOnce(&mut Quirks)) {
    let mut q = env.sims.onefile.quirks();
    f(&mut q);
    env.sims.onefile.set_quirks(q);
}

fn user(role: i64, first: &str, last: &str, mis: &str, archived: bool) -> SimUser {
    let mut u = SimUser::learner(CENTRE, first, last, mis);
    u.role = role;
    u.archived = archived;
    u
}

fn add(env: &Env, u: SimUser) -> i64 {
    env.sims.onefile.edit(|e| e.add_user(u))
}

fn users(env: &Env) -> usize {
    env.sims.onefile.read(|s| s.users.len())
}

/// The OneFile users holding `mis` exactly.
fn holders(env: &Env, mis: &str) -> Vec<(i64, i64)> {
    env.sims.onefile.read(|s| {
        s.users
            .values()
            .filter(|u| u.mis_id.as_deref() == Some(mis))
            .map(|u| (u.id, u.role))
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r14_a_learner_is_not_linked_to_a_onefile_learner_whose_mis_value_only_contains_its_ident()
{
    let env = env(40).await;
    quirks(&env, |q| q.mis_contains = true);
    let other = add(
        &env,
        user(role::LEARNER, "Other", "Person", "L000290", false),
    );
    let r = env.enrol(ENROLLED).await.expect("the enrolment succeeds");
    assert!(
        matches!(r.plan, EnrolPlan::Create(_)),
        "R14: L000290 is not L00029: {:?}",
        r.plan
    );
    let uid = r.onefile_learner.expect("a OneFile learner").0;
    assert_ne!(uid, other, "linked to the holder of L000290");
    assert_eq!(
        holders(&env, IDENT),
        vec![(uid, role::LEARNER)],
        "R6: created with MISID = Ident"
    );
    assert_eq!(
        env.sims.pics.learner(ENROLLED).unwrap().one_file_id,
        Some(uid)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r12_only_users_whose_mis_value_equals_the_ident_are_counted() {
    // an exact holder (case and spaces aside) among holders of longer values: linked (R14)
    let env = env(40).await;
    quirks(&env, |q| q.mis_contains = true);
    add(&env, user(role::LEARNER, "Longer", "One", "L000290", false));
    add(&env, user(role::LEARNER, "Longer", "Two", "XL00029", true));
    let exact = add(
        &env,
        user(role::LEARNER, "Learner29", "Existing", " l00029 ", false),
    );
    let before = users(&env);
    let r = env.enrol(ENROLLED).await.expect("R14: linked, not refused");
    assert_eq!(r.plan, EnrolPlan::Link(picsync_domain::OfUserId(exact)));
    assert_eq!(users(&env), before, "R14: nothing created");
    assert_eq!(
        env.sims.pics.learner(ENROLLED).unwrap().one_file_id,
        Some(exact)
    );

    // two exact holders among longer ones: refused, naming the two and only them (R12)
    let env = crate::common::env(40).await;
    quirks(&env, |q| q.mis_contains = true);
    let longer = add(&env, user(role::LEARNER, "Longer", "One", "L000291", false));
    let a = add(&env, user(role::LEARNER, "Old", "Copy", "L00029", true));
    let b = add(&env, user(role::LEARNER, "New", "Copy", "L00029", false));
    let before = users(&env);
    let err = env.enrol(ENROLLED).await.unwrap_err();
    let EngineError::Enrol { problems, .. } = &err else {
        panic!("expected an R12 refusal, got {err}");
    };
    let r12: Vec<_> = problems.iter().filter(|p| p.rule == Rule::R12).collect();
    assert_eq!(r12.len(), 1, "{problems:?}");
    let msg = &r12[0].message;
    assert!(msg.starts_with("2 OneFile users"), "{msg}");
    assert!(
        msg.contains(&format!("id {a}")) && msg.contains(&format!("id {b}")),
        "{msg}"
    );
    assert!(!msg.contains(&format!("id {longer}")), "{msg}");
    assert_eq!(users(&env), before, "R12: nothing created");
    assert_eq!(env.sims.pics.learner(ENROLLED).unwrap().one_file_id, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r14_an_enrolment_under_ignored_owner_filters_takes_only_its_own_records() {
    let env = env(40).await;
    quirks(&env, |q| q.ignore_owner_filters = true);
    // the first learning aim's assignment lands in OneFile and its answer is lost: the retried
    // enrolment resumes and finds the aim by searching the learner's aims (§7)
    env.sims
        .onefile
        .faults()
        .script("POST /standard/{id}/assign/{id}", vec![Fault::Reset]);
    let first = env.enrol(ENROLLED).await;
    assert!(first.is_err(), "the lost answer interrupts the enrolment");
    env.sims.onefile.faults().clear();
    let before_reviews = env
        .sims
        .pics
        .state()
        .learners
        .values()
        .map(|l| l.reviews.len())
        .sum::<usize>();
    let r = env
        .enrol(ENROLLED)
        .await
        .expect("the retried enrolment succeeds");
    let uid = r.onefile_learner.expect("a OneFile learner").0;
    let of = env.sims.onefile.state();
    let pl = env.sims.pics.learner(ENROLLED).unwrap();
    assert_eq!(pl.one_file_id, Some(uid));
    assert_eq!(holders(&env, IDENT), vec![(uid, role::LEARNER)]);
    for q in &pl.qualifications {
        if let Some(aim) = q.one_file_learning_aim_id {
            assert_eq!(
                of.learning_aims[&aim].user_id, uid,
                "qualification {} linked to another learner's learning aim {aim}",
                q.qualification_id
            );
        }
    }
    assert_eq!(
        of.learning_aims
            .values()
            .filter(|a| a.user_id == uid)
            .count(),
        3,
        "one learning aim per matched qualification, none twice"
    );
    // R15's sync of the new learner downloads no other learner's review (R21)
    for rv in &pl.reviews {
        if let Some(id) = rv.one_file_system_id {
            assert_eq!(
                of.reviews[&id].learner_id, uid,
                "review {} holds another learner's OneFile review {id}",
                rv.review_id
            );
        }
    }
    let after_reviews = env
        .sims
        .pics
        .state()
        .learners
        .values()
        .map(|l| l.reviews.len())
        .sum::<usize>();
    assert_eq!(after_reviews, before_reviews, "no PICS review created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r12_users_of_every_role_holding_the_ident_are_counted() {
    let env = env(40).await;
    let employer = add(&env, user(role::EMPLOYER, "Acme", "Payroll", IDENT, true));
    let iqa = add(&env, user(role::IQA, "Ivy", "Quality", IDENT, false));
    // an officer's Ident held by a learner and an observer
    let learner = add(&env, user(role::LEARNER, "Some", "Learner", "OFF7", false));
    let observer = add(&env, user(role::OBSERVER, "Obi", "Server", "OFF7", false));
    // another officer's Ident held by one employer only: not an assessor to link to
    let lone = add(
        &env,
        user(role::EMPLOYER, "Lone", "Employer", "OFF8", false),
    );
    let before = users(&env);
    let err = env.enrol(ENROLLED).await.unwrap_err();
    let EngineError::Enrol { problems, .. } = &err else {
        panic!("expected an R12 refusal, got {err}");
    };
    let text = err.to_string();
    let of_learner = problems
        .iter()
        .find(|p| p.rule == Rule::R12 && p.message.contains(IDENT))
        .unwrap_or_else(|| panic!("no R12 problem for the learner's Ident: {text}"));
    assert!(
        of_learner
            .message
            .contains(&format!("id {employer}, employer, archived"))
            && of_learner.message.contains(&format!("id {iqa}, IQA")),
        "{}",
        of_learner.message
    );
    let of_officer = problems
        .iter()
        .find(|p| p.rule == Rule::R12 && p.message.contains("OFF7"))
        .unwrap_or_else(|| panic!("no R12 problem for officer OFF7: {text}"));
    assert!(
        of_officer
            .message
            .contains(&format!("id {learner}, learner"))
            && of_officer
                .message
                .contains(&format!("id {observer}, observer")),
        "{}",
        of_officer.message
    );
    let of_lone = problems
        .iter()
        .find(|p| p.rule == Rule::R12 && p.message.contains("OFF8"))
        .unwrap_or_else(|| panic!("no R12 problem for officer OFF8: {text}"));
    assert!(
        of_lone.message.contains(&format!("id {lone}, employer")),
        "{}",
        of_lone.message
    );
    assert_eq!(users(&env), before, "R12: nothing created");
    assert_eq!(env.sims.pics.learner(ENROLLED).unwrap().one_file_id, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r12_an_officer_known_to_onefile_in_another_assessing_role_is_not_duplicated() {
    let env = env(40).await;
    // OFF6 (the Main Officer) is a trainee assessor in OneFile, OFF7 an IQA; OFF8 is unknown
    let trainee = add(
        &env,
        user(role::TRAINEE_ASSESSOR, "Olive6", "Officer6", "OFF6", false),
    );
    let iqa = add(&env, user(role::IQA, "Olive7", "Officer7", "off7", false));
    let r = env.enrol(ENROLLED).await.expect("the enrolment succeeds");
    assert!(matches!(r.plan, EnrolPlan::Create(_)), "{:?}", r.plan);
    let uid = r.onefile_learner.unwrap().0;
    assert_eq!(
        holders(&env, "OFF6"),
        vec![(trainee, role::TRAINEE_ASSESSOR)]
    );
    assert_eq!(
        env.sims.onefile.read(|s| s
            .users_with_mis_id("OFF7")
            .iter()
            .map(|u| u.id)
            .collect::<Vec<_>>()),
        vec![iqa],
        "R11: the IQA is reused, not duplicated"
    );
    assert_eq!(holders(&env, "OFF8").len(), 1, "OFF8 is created once");
    let pics = env.sims.pics.state();
    assert_eq!(
        pics.officers["off-6"].other_system_id.as_deref(),
        Some(trainee.to_string().as_str())
    );
    assert_eq!(
        pics.officers["off-7"].other_system_id.as_deref(),
        Some(iqa.to_string().as_str())
    );
    let of = env.sims.onefile.state();
    assert_eq!(
        of.users[&uid].default_assessor_id,
        Some(trainee),
        "R6: the Main Officer's OneFile user is the default assessor"
    );
}
