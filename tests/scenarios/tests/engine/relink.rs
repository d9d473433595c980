//! A PICS learner whose OneFile learner changes under it: re-linked to another OneFile learner
//! (reconciled afresh, no duplicate reviews), or deleted in OneFile (a clear, permanent failure,
//! once per run, listed as needing attention).

use crate::common::*;

use std::collections::BTreeSet;

use picsync_domain::LearnerId;
use picsync_engine::{NoProgress, RunOptions};
use picsync_sim::world;

/// Syncs the tenant to convergence: the initial run, then a periodic one.
async fn converge(env: &Env) {
    let first = env
        .engine
        .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(first.run.failed, 0, "{:?}", first.run.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relink_a_learner_relinked_to_another_onefile_learner_gets_no_duplicate_reviews() {
    let env = env(20).await;
    // lrn-00012: reviews linked both ways (one uploaded, one made in OneFile and downloaded)
    let id = world::learner_id(12);
    converge(&env).await;
    let before = env.sims.pics.learner(&id).unwrap();
    let old = before.one_file_id.unwrap();
    let linked: Vec<i64> = before
        .reviews
        .iter()
        .filter_map(|r| r.one_file_system_id)
        .collect();
    assert!(linked.len() >= 3, "{:?}", before.reviews);

    // The OneFile side is re-made as another OneFile learner holding the same reviews and
    // learning aims (say, a merge of two records), and PICS is re-linked to it.
    let new = env.sims.onefile.edit(|e| {
        let s = e.raw();
        let mut u = s.users[&old].clone();
        u.id = 0;
        u.mis_id = Some(format!("{}-new", world::ident(12)));
        let new = s.insert_user(u);
        let reviews: Vec<_> = s.reviews_of(old).into_iter().cloned().collect();
        for mut r in reviews {
            r.id = 0;
            r.learner_id = new;
            r.visit_id = None;
            s.insert_review(r);
        }
        let aims: Vec<_> = s.learning_aims_of(old).into_iter().cloned().collect();
        for mut a in aims {
            a.id = 0;
            a.user_id = new;
            s.insert_learning_aim(a);
        }
        new
    });
    env.sims.pics.edit(|s| {
        s.learner_mut(&id).unwrap().one_file_id = Some(new);
    });
    let new_reviews: BTreeSet<i64> = env
        .sims
        .onefile
        .read(|s| s.reviews_of(new).iter().map(|r| r.id).collect());
    let new_aims: BTreeSet<i64> = env
        .sims
        .onefile
        .read(|s| s.learning_aims_of(new).iter().map(|a| a.id).collect());

    let run = env
        .engine
        .run_tenant(
            &env.tenant,
            &RunOptions {
                learners: vec![LearnerId::new(&id)],
                ..Default::default()
            },
            &NoProgress,
        )
        .await
        .unwrap();
    assert_eq!(run.run.failed, 0, "{:?}", run.run.failures);
    let after = env.sims.pics.learner(&id).unwrap();
    assert_eq!(
        after.reviews.len(),
        before.reviews.len(),
        "no PICS review created for the new OneFile learner's copies: {:#?}",
        after.reviews
    );
    let now_linked: BTreeSet<i64> = after
        .reviews
        .iter()
        .filter_map(|r| r.one_file_system_id)
        .collect();
    assert_eq!(
        now_linked, new_reviews,
        "every linked PICS review now holds the new OneFile learner's review"
    );
    assert_eq!(
        env.sims.onefile.read(|s| s.reviews_of(new).len()),
        new_reviews.len(),
        "nothing uploaded again"
    );
    for q in &after.qualifications {
        if let Some(a) = q.one_file_learning_aim_id {
            assert!(
                new_aims.contains(&a),
                "qualification {} linked to the new learner's aims: {a}",
                q.qualification_id
            );
        }
    }
    let st = env
        .engine
        .learner_states(&env.tenant.id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.learner.as_str() == id)
        .unwrap();
    assert_eq!(st.failures, 0);

    // converged: a full dry run plans nothing for the learner
    let plan = env
        .engine
        .run_tenant(
            &env.tenant,
            &RunOptions {
                learners: vec![LearnerId::new(&id)],
                dry_run: true,
                full: true,
                ..Default::default()
            },
            &NoProgress,
        )
        .await
        .unwrap();
    let pending: Vec<String> = plan
        .reports
        .iter()
        .flat_map(|r| r.plans.iter())
        .flat_map(|p| {
            p.pics
                .iter()
                .map(std::string::ToString::to_string)
                .chain(p.onefile.iter().map(std::string::ToString::to_string))
        })
        .collect();
    assert!(pending.is_empty(), "{pending:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_a_deleted_onefile_learner_fails_once_per_run_and_needs_attention() {
    let env = env(20).await;
    converge(&env).await;
    let id = world::learner_id(3);
    let user = env.sims.pics.learner(&id).unwrap().one_file_id.unwrap();
    env.sims.onefile.edit(|e| {
        e.raw().users.remove(&user);
    });
    for n in 1..=2u32 {
        let gets = env.sims.onefile.counters().get("GET /user/{id}");
        let run = env
            .engine
            .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
            .await
            .unwrap();
        let mine: Vec<_> = run
            .run
            .failures
            .iter()
            .filter(|f| f.learner.as_str() == id)
            .collect();
        assert_eq!(mine.len(), 1, "run {n}: {:?}", run.run.failures);
        let f = mine[0];
        assert!(!f.retryable, "permanent: {}", f.reason);
        for what in [
            user.to_string().as_str(),
            "deleted",
            "picsync link",
            "picsync enrol",
        ] {
            assert!(
                f.reason.contains(what),
                "the reason names {what:?}: {}",
                f.reason
            );
        }
        assert_eq!(
            env.sims.onefile.counters().get("GET /user/{id}") - gets,
            1,
            "run {n}: one look at the missing learner"
        );
        assert!(
            run.run.onefile_calls <= 3,
            "run {n}: few OneFile calls: {}",
            run.run.onefile_calls
        );
        let st = env
            .engine
            .learner_states(&env.tenant.id)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.learner.as_str() == id)
            .unwrap();
        assert_eq!(st.failures, n, "once per run");
        assert!(st.needs_attention, "listed as needing attention");
    }
}
