//! R10 and `multiple_centres`: with the setting on, every centre of the OneFile customer offers
//! learning aims, and a qualification offered by several needs an explicit choice; off, the
//! tenant's one centre, as before.

use crate::common::*;

use picsync_domain::enrol::EnrolChoices;
use picsync_domain::{LearnerId, OfCentreId, QualificationId, Rule};
use picsync_engine::{EngineError, EnrolRequest};
use picsync_sim::onefile::{SimCentre, SimPathway, SimStandard};
use picsync_sim::world;

const NORTH: i64 = 20;

/// A second centre of the customer, offering ST0004 as the world's centre does. Returns the
/// two standards of ST0004: (the world's centre's, the second centre's).
fn second_centre(env: &Env) -> (i64, i64) {
    env.sims.onefile.edit(|e| {
        let s = e.raw();
        s.insert_centre(SimCentre {
            id: NORTH,
            name: "Acme North".into(),
        });
        let north = s.insert_standard(SimStandard {
            id: 0,
            organisation_id: NORTH,
            code: "ST0004".into(),
            title: "Apprenticeship standard 4 (North)".into(),
            pathways: vec![SimPathway {
                id: 0,
                name: "Core".into(),
            }],
            total_elements: Some(40),
        });
        let home = s
            .standards
            .values()
            .find(|x| x.organisation_id == world::CENTRE && x.code == "ST0004")
            .map(|x| x.id)
            .unwrap();
        (home, north)
    })
}

fn counts(env: &Env) -> (usize, usize, usize, usize) {
    env.sims.onefile.read(|s| {
        (
            s.users.len(),
            s.learning_aims.len(),
            s.placements.len(),
            s.reviews.len(),
        )
    })
}

/// lrn-00039 holds one qualification, ST0004.
fn learner() -> (LearnerId, QualificationId) {
    (
        LearnerId::new(world::learner_id(39)),
        QualificationId::new(format!("{}-q0", world::learner_id(39))),
    )
}

fn aim_standard(env: &Env, q: &QualificationId) -> i64 {
    let pl = env.sims.pics.learner(&world::learner_id(39)).unwrap();
    let aim = pl
        .qualification(q.as_str())
        .and_then(|q| q.one_file_learning_aim_id)
        .expect("the qualification is linked to its learning aim (R8)");
    env.sims.onefile.read(|s| s.learning_aims[&aim].standard_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r10_enrol_two_centres_needs_a_choice_and_honours_it() {
    let env = env(40).await;
    let (_, north) = second_centre(&env);
    let (learner, q) = learner();
    // the catalogue was loaded for one centre while the setting was off
    env.engine.refresh_aims(&env.tenant, false).await.unwrap();
    let mut t = env.tenant.clone();
    t.settings.multiple_centres = true;

    let before = counts(&env);
    let err = env
        .engine
        .enrol(
            &t,
            &EnrolRequest {
                learner: learner.clone(),
                ..Default::default()
            },
        )
        .await
        .expect_err("R10: ST0004 is offered by two centres: a choice is needed");
    match &err {
        EngineError::Enrol { problems, .. } => {
            assert!(
                problems.iter().any(|p| p.rule == Rule::R10
                    && p.message.contains(q.as_str())
                    && p.message.contains(&world::CENTRE.to_string())
                    && p.message.contains(&NORTH.to_string())),
                "{err}"
            );
        }
        other => panic!("expected R10, got {other}"),
    }
    assert_eq!(counts(&env), before, "R10: nothing written");
    assert_eq!(
        env.sims.pics.learner(learner.as_str()).unwrap().one_file_id,
        None
    );

    // the chosen centre is honoured
    let r = env
        .engine
        .enrol(
            &t,
            &EnrolRequest {
                learner: learner.clone(),
                choices: EnrolChoices {
                    centres: [(q.clone(), OfCentreId(NORTH))].into(),
                    ..Default::default()
                },
                dry_run: false,
            },
        )
        .await
        .unwrap();
    assert!(r.onefile_learner.is_some());
    assert_eq!(
        aim_standard(&env, &q),
        north,
        "R10: the chosen centre's standard"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r10_without_multiple_centres_one_centre_as_today() {
    let env = env(40).await;
    let (home, _) = second_centre(&env);
    let (learner, q) = learner();
    assert!(!env.tenant.settings.multiple_centres);
    let r = env
        .engine
        .enrol(
            &env.tenant,
            &EnrolRequest {
                learner,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(r.onefile_learner.is_some());
    assert_eq!(
        aim_standard(&env, &q),
        home,
        "the tenant's centre's standard"
    );
    let ts = env
        .engine
        .tenant_state(&env.tenant.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        ts.catalogue
            .entries
            .iter()
            .all(|e| e.centre == OfCentreId(world::CENTRE)),
        "only the tenant's centre is loaded"
    );
    assert_eq!(
        env.sims.onefile.counters().get("POST /standard/search"),
        1,
        "one centre's learning aims read"
    );
}
