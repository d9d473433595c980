//! Enrolment against both simulators (h4): the audit trail of every OneFile record it creates (§7),
//! R15 whatever the learner's scope (and in a dry run), and R1 for the operations besides the
//! sync.

use crate::common::*;

use std::collections::BTreeSet;

use picsync_domain::plan::OneFileOp;
use picsync_domain::{LearnerId, Rule, Value};
use picsync_engine::{EngineError, EnrolRequest};
use picsync_sim::world;

/// The ids of every OneFile record, per kind.
fn ids(env: &Env) -> Vec<(&'static str, BTreeSet<i64>)> {
    env.sims.onefile.read(|s| {
        vec![
            (
                "assessor",
                s.users
                    .values()
                    .filter(|u| u.role == picsync_sim::onefile::role::ASSESSOR)
                    .map(|u| u.id)
                    .collect(),
            ),
            (
                "learner",
                s.users
                    .values()
                    .filter(|u| u.role == picsync_sim::onefile::role::LEARNER)
                    .map(|u| u.id)
                    .collect(),
            ),
            ("placement", s.placements.keys().copied().collect()),
            ("classroom", s.classrooms.keys().copied().collect()),
            ("learning aim", s.learning_aims.keys().copied().collect()),
            ("visit", s.visits.keys().copied().collect()),
            ("review", s.reviews.keys().copied().collect()),
        ]
    })
}

fn rule_of(kind: &str) -> Rule {
    match kind {
        "assessor" => Rule::R11,
        "learner" => Rule::R6,
        "placement" => Rule::R13,
        "classroom" => Rule::R7,
        "learning aim" => Rule::R8,
        _ => Rule::R15, // visit, review
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_audit_lists_every_onefile_record_an_enrolment_creates() {
    let mut env = env(40).await;
    // R7 creates a classroom, R11 assigns an officer of an additional role
    env.tenant.settings.classroom_from_main_tag = true;
    env.tenant.settings.additional_assessor_roles = vec!["IQA".into()];
    // lrn-00029: main officer and two qualification assessors unlinked (created), employer
    // unlinked (created), one eligible review (R15)
    let learner = env.sims.info.unlinked[2].clone();
    assert_eq!(learner, world::learner_id(29));
    env.sims.pics.edit(|s| {
        s.learner_mut(&learner).unwrap().main_tag = Some("Saturday group".into());
    });
    let before = ids(&env);
    let assignments_before = env.sims.onefile.read(|s| s.assignments.clone());
    let r = env
        .engine
        .enrol(
            &env.tenant,
            &EnrolRequest {
                learner: LearnerId::new(&learner),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let user = r.onefile_learner.unwrap().0;
    let audit = env
        .engine
        .audit_trail(&env.tenant.id, &LearnerId::new(&learner))
        .await
        .unwrap();
    let onefile: Vec<_> = audit.iter().filter(|e| e.system == "OneFile").collect();
    let mut missing = Vec::new();
    let mut created = 0;
    for ((kind, was), (_, now)) in before.iter().zip(ids(&env).iter()) {
        for id in now.difference(was) {
            created += 1;
            let found = onefile.iter().any(|e| {
                e.entity == format!("{kind} {id}")
                    && e.new == Value::Int(*id)
                    && e.rule == rule_of(kind)
            });
            if !found {
                missing.push(format!("{kind} {id}"));
            }
        }
    }
    // the shape this learner gives: 3 assessors, placement, classroom, learner, 3 aims, visit,
    // review
    assert!(created >= 11, "the enrolment created {created} records");
    let assignments: Vec<_> = env.sims.onefile.read(|s| {
        s.assignments
            .difference(&assignments_before)
            .cloned()
            .collect()
    });
    assert!(
        assignments.len() >= 4,
        "3 qualification assessors and the IQA assigned: {assignments:?}"
    );
    for a in &assignments {
        assert_eq!(a.learner_id, user);
        let found = onefile.iter().any(|e| {
            e.entity == format!("learner {user}")
                && e.new == Value::Int(a.user_id)
                && e.rule == Rule::R11
                && e.field.contains("assessor assigned")
                && a.standard_id
                    .is_none_or(|s| e.field.contains(&format!("standard {s}")))
        });
        if !found {
            missing.push(format!(
                "assignment of assessor {} (standard {:?})",
                a.user_id, a.standard_id
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "§7: no OneFile audit entry for {missing:?}; OneFile entries: {onefile:#?}"
    );
    // every entry is the learner's: `picsync audit --learner` shows the whole enrolment
    assert!(audit.iter().all(|e| e.learner.as_str() == learner));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r1_refresh_aims_refuses_a_disabled_tenant_before_calling_onefile() {
    let env = env(5).await;
    let mut t = env.tenant.clone();
    t.settings.integration_enabled = false;
    let calls = env.sims.onefile.counters().total();
    let err = env.engine.refresh_aims(&t, false).await.unwrap_err();
    assert!(matches!(err, EngineError::NotEnabled(_)), "R1: {err}");
    let err = env.engine.refresh_aims(&t, true).await.unwrap_err();
    assert!(
        matches!(err, EngineError::NotEnabled(_)),
        "R1 (dry run): {err}"
    );
    assert_eq!(
        env.sims.onefile.counters().total(),
        calls,
        "R1: nothing called OneFile: {:?}",
        env.sims.onefile.counters()
    );
    // **Decision**: the connection test may run while the integration is off, and says so
    let r = env.engine.check(&t).await.unwrap();
    assert!(!r.integration_enabled);
    assert!(env.sims.onefile.counters().total() > calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r15_reviews_go_up_at_enrolment_whatever_the_scope_and_a_dry_run_lists_them() {
    let env = env(40).await;
    // lrn-00039: one eligible review (r1, no reviewer: R18 falls back to the main officer)
    let learner = env.sims.info.unlinked[3].clone();
    assert_eq!(learner, world::learner_id(39));
    // R3: on a break without an actual end date, the learner is out of the sync's scope
    env.sims.pics.edit(|s| {
        s.learner_mut(&learner).unwrap().episode_status = Some("OnBreak".into());
    });
    let eligible = format!("{learner}-r1");
    let req = EnrolRequest {
        learner: LearnerId::new(&learner),
        dry_run: true,
        ..Default::default()
    };
    // R38: the dry run lists the R15 upload, and writes nothing
    let before = env.sims.onefile.read(|s| (s.users.len(), s.reviews.len()));
    let dry = env.engine.enrol(&env.tenant, &req).await.unwrap();
    let listed: Vec<_> = dry
        .sync
        .iter()
        .flat_map(|s| s.plans.iter())
        .flat_map(|p| p.onefile.iter())
        .filter_map(|o| match o {
            OneFileOp::UploadReview(u) => Some((u.review.as_str().to_string(), u.rule)),
            _ => None,
        })
        .collect();
    assert_eq!(
        listed,
        vec![(eligible.clone(), Rule::R15)],
        "R15 in the dry run: {:?}",
        dry.sync
    );
    assert_eq!(
        env.sims.onefile.read(|s| (s.users.len(), s.reviews.len())),
        before
    );
    // the real enrolment uploads it although the learner is out of scope
    let r = env
        .engine
        .enrol(
            &env.tenant,
            &EnrolRequest {
                dry_run: false,
                ..req
            },
        )
        .await
        .unwrap();
    let user = r.onefile_learner.unwrap().0;
    let pl = env.sims.pics.learner(&learner).unwrap();
    let review = pl.reviews.iter().find(|r| r.review_id == eligible).unwrap();
    let id = review
        .one_file_system_id
        .unwrap_or_else(|| panic!("R15: {eligible} uploaded at enrolment; report {:?}", r.sync));
    env.sims.onefile.read(|s| {
        assert_eq!(s.reviews[&id].learner_id, user);
        assert_eq!(s.reviews_of(user).len(), 1, "only the eligible review");
    });
    let uploaded: Vec<_> = r
        .sync
        .iter()
        .flat_map(|s| s.plans.iter())
        .flat_map(|p| p.onefile.iter())
        .filter(|o| matches!(o, OneFileOp::UploadReview(_)))
        .collect();
    assert_eq!(
        uploaded.len(),
        1,
        "the report names the upload: {:?}",
        r.sync
    );
}
