//! Issue 15 item 2: every synced demographic field of the domain's table travels on every path
//! through both clients and both simulators: enrolment (R6, OneFile's new learner), a push and a
//! pull (R32). The tests iterate `DemographicField::ALL` and give each field a value of its own:
//! a field added to the table is covered without a change here, and a path that forgets one
//! fails naming it.

use crate::common::*;

use chrono::NaiveDate;
use picsync_domain::settings::Direction;
use picsync_domain::{DemographicField, Demographics, FieldKind, LearnerId, Value};
use picsync_engine::{NoProgress, RunOptions};

/// A value of its own for every field of the table: text naming the field and the side, dates
/// a day and a month apart from `year`.
fn distinct(side: &str, year: i32) -> Demographics {
    let mut d = Demographics::default();
    for (i, f) in DemographicField::ALL.into_iter().enumerate() {
        let n = u32::try_from(i).unwrap();
        let v = match f.kind() {
            FieldKind::Text => Value::Text(format!("{} from {side}", f.as_str())),
            FieldKind::Date => {
                Value::Date(NaiveDate::from_ymd_opt(year, 1 + n % 12, 1 + n).unwrap())
            }
        };
        assert!(d.set(f, &v), "{f:?}");
    }
    d
}

/// The fields whose value `held` does not hold as `want` does, with both values.
fn missing(want: &Demographics, held: &Demographics) -> Vec<String> {
    DemographicField::ALL
        .into_iter()
        .filter(|f| want.get(*f) != held.get(*f))
        .map(|f| format!("{f:?}: want {}, held {}", want.get(f), held.get(f)))
        .collect()
}

async fn sync_one(env: &Env, learner: &str) {
    let run = env
        .engine
        .run_tenant(
            &env.tenant,
            &RunOptions {
                learners: vec![LearnerId::new(learner)],
                ..Default::default()
            },
            &NoProgress,
        )
        .await
        .unwrap();
    assert_eq!(run.run.failed, 0, "{:?}", run.run.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s15_r32_a_push_carries_every_field_of_the_table_to_onefile() {
    let mut env = env(10).await;
    env.tenant.settings.learner_demographics = Direction::Push;
    let learner = env.sims.info.in_scope[0].clone();
    let uid = env.sims.info.onefile_ids[&learner];
    let want = distinct("PICS", 1981);
    env.sims.pics.edit(|s| {
        s.learner_mut(&learner).unwrap().demographics = want.clone();
    });
    sync_one(&env, &learner).await;
    let held = env
        .sims
        .onefile
        .read(|s| s.users[&uid].demographics.clone());
    assert_eq!(missing(&want, &held), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s15_r32_a_pull_carries_every_field_of_the_table_to_pics() {
    let mut env = env(10).await;
    env.tenant.settings.learner_demographics = Direction::Pull;
    let learner = env.sims.info.in_scope[0].clone();
    let uid = env.sims.info.onefile_ids[&learner];
    let want = distinct("OneFile", 1992);
    env.sims.onefile.edit(|e| {
        e.user(uid).unwrap().demographics = want.clone();
    });
    sync_one(&env, &learner).await;
    let held = env.sims.pics.learner(&learner).unwrap().demographics;
    assert_eq!(missing(&want, &held), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s15_r6_enrolment_creates_the_onefile_learner_with_every_field_of_the_table() {
    let env = env(40).await;
    // the world's clean unlinked learner (tests/sim/src/world.rs; enrolment.rs enrols it too)
    let learner = "lrn-00029";
    let want = distinct("PICS", 1983);
    env.sims.pics.edit(|s| {
        s.learner_mut(learner).unwrap().demographics = want.clone();
    });
    let report = env.enrol(learner).await.unwrap();
    let uid = report.onefile_learner.expect("a OneFile learner").0;
    let held = env
        .sims
        .onefile
        .read(|s| s.users[&uid].demographics.clone());
    assert_eq!(missing(&want, &held), Vec::<String>::new());
}
