//! The sync against a OneFile that does not behave as assumed (issue 11 items 3, 14 and 15):
//! search filters that are ignored, an Assumed `Visit/Search` that does not exist, and an
//! Assumed learning-aim field name that OneFile silently ignores.

use crate::common::*;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use picsync_domain::LearnerId;
use picsync_engine::{Engine, NoProgress, RunOptions, RunSummary};
use picsync_sim::faults::Fault;
use picsync_sim::onefile::Quirks;
use picsync_state::embedded::EmbeddedState;
use picsync_state::{IntentStore, LearnerStore};

fn quirks(env: &Env, f: impl FnOnce(&mut Quirks)) {
    let mut q = env.sims.onefile.quirks();
    f(&mut q);
    env.sims.onefile.set_quirks(q);
}

async fn run(env: &Env, opts: RunOptions) -> RunSummary {
    env.engine
        .run_tenant(&env.tenant, &opts, &NoProgress)
        .await
        .expect("the run starts")
}

/// Per PICS learner: its reviews (linked OneFile review, attended) and its qualifications'
/// synced values; OneFile ids replaced by what they point at.
fn pics_shape(env: &Env) -> BTreeMap<String, Vec<String>> {
    let of = env.sims.onefile.state();
    let mut m = BTreeMap::new();
    for (id, l) in &env.sims.pics.state().learners {
        let mut v = Vec::new();
        for r in &l.reviews {
            let linked = r
                .one_file_system_id
                .map(|x| of.reviews.get(&x).map(|y| (y.learner_id, y.scheduled_for)));
            v.push(format!(
                "review {:?} → {linked:?} attended {:?}",
                r.proposed_date_time, r.attended_value
            ));
        }
        for q in &l.qualifications {
            v.push(format!(
                "qualification {} reg {:?} {:?} applied {:?} received {:?} elements {:?}/{:?}",
                q.qualification_id,
                q.registration_number,
                q.registration_date,
                q.certificate_applied_for_date,
                q.certificate_received_date,
                q.elements_done,
                q.total_elements
            ));
        }
        v.sort();
        m.insert(id.clone(), v);
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r21_a_sync_under_ignored_owner_filters_keeps_only_the_learners_own_aims_and_reviews() {
    let reference = env(12).await;
    let r = run(&reference, RunOptions::default()).await;
    assert_eq!(r.run.failed, 0, "{:?}", r.run.failures);
    let want = pics_shape(&reference);

    let env = env(12).await;
    quirks(&env, |q| q.ignore_owner_filters = true);
    let r = run(&env, RunOptions::default()).await;
    assert_eq!(r.run.failed, 0, "{:?}", r.run.failures);
    // no PICS review holds another learner's OneFile review
    let of = env.sims.onefile.state();
    let pics = env.sims.pics.state();
    for (id, l) in &pics.learners {
        for rv in &l.reviews {
            if let Some(x) = rv.one_file_system_id {
                assert_eq!(
                    Some(of.reviews[&x].learner_id),
                    l.one_file_id,
                    "{id}: review {} holds OneFile review {x} of another learner",
                    rv.review_id
                );
            }
        }
    }
    let got = pics_shape(&env);
    for (id, w) in &want {
        assert_eq!(
            got.get(id),
            Some(w),
            "{id} differs from the run with honoured filters"
        );
    }
    // and the tenant is converged: nothing left to do
    let dry = run(
        &env,
        RunOptions {
            dry_run: true,
            full: true,
            ..Default::default()
        },
    )
    .await;
    assert!(dry.run.rule_counts.is_empty(), "{:?}", dry.run.rule_counts);
}

fn engine(state: &Arc<EmbeddedState>, who: &str, day: &Day) -> Engine<EmbeddedState> {
    // a zero intent TTL: the retry takes over the abandoned claim at once
    Engine::new(state.clone(), day.clock.clone())
        .with_holder(who)
        .with_intent_ttl(chrono::Duration::zero())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_a_resumed_visit_upload_without_visit_search_completes() {
    let env = env(12).await;
    // the first visit create lands in OneFile and its answer is lost: the process "died"
    env.sims
        .onefile
        .faults()
        .script("POST /visit", vec![Fault::Reset]);
    let state = Arc::new(EmbeddedState::in_memory().unwrap());
    let opts = RunOptions {
        concurrency: 1,
        ..Default::default()
    };
    let run1 = engine(&state, "first", &env.day)
        .run_tenant(&env.tenant, &opts, &NoProgress)
        .await
        .unwrap();
    assert_eq!(run1.run.failed, 1, "{:?}", run1.run.failures);
    let failed = run1.run.failures[0].learner.clone();
    let pending = state.list_intents(&env.tenant.id, true).await.unwrap();
    assert!(
        pending
            .iter()
            .any(|i| i.key.starts_with(&format!("visit:{failed}:"))),
        "the visit's intent is left pending: {pending:?}"
    );
    env.sims.onefile.faults().clear();
    let visits_before = env.sims.onefile.read(|s| s.visits.len());

    // the rerun meets a OneFile without Visit/Search (404)
    quirks(&env, |q| q.no_visit_search = true);
    let run2 = engine(&state, "second", &env.day)
        .run_tenant(&env.tenant, &opts, &NoProgress)
        .await
        .unwrap();
    assert_eq!(run2.run.failed, 0, "{:?}", run2.run.failures);
    assert!(
        env.sims.onefile.counters().get("POST /visit/search") >= 1,
        "the rerun did try to search visits"
    );
    let of = env.sims.onefile.state();
    let pl = env.sims.pics.learner(failed.as_str()).unwrap();
    let user = pl.one_file_id.unwrap();
    // every slot of the learner's visits holds exactly one visit and one review (the world
    // seeds no visits: each was made by an upload)
    let visits: Vec<_> = of
        .visits
        .values()
        .filter(|v| v.learner_id == user)
        .collect();
    assert!(!visits.is_empty(), "the learner's review was uploaded");
    for v in &visits {
        let same_visits = visits.iter().filter(|x| x.date_from == v.date_from).count();
        let same_reviews = of
            .reviews
            .values()
            .filter(|r| r.learner_id == user && r.scheduled_for == v.date_from)
            .count();
        assert_eq!(
            (same_visits, same_reviews),
            (1, 1),
            "slot {:?}: (visits, reviews)",
            v.date_from
        );
    }
    // the upload is linked in PICS, once
    let uploaded: Vec<i64> = pl
        .reviews
        .iter()
        .filter(|r| r.attended_value.is_none() && r.type_.as_deref() == Some("Normal"))
        .filter_map(|r| r.one_file_system_id)
        .collect();
    assert!(!uploaded.is_empty());
    for id in uploaded {
        assert_eq!(of.reviews[&id].learner_id, user);
    }
    // the rerun made no visit at all: the one the lost answer created is the only one
    assert_eq!(of.visits.len(), visits_before, "a second visit was created");
    let mut per_slot: BTreeMap<(i64, String), usize> = BTreeMap::new();
    for v in of.visits.values() {
        *per_slot
            .entry((v.learner_id, format!("{:?}", v.date_from)))
            .or_default() += 1;
    }
    assert!(per_slot.values().all(|n| *n == 1), "{per_slot:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r40_a_certificate_received_date_onefile_does_not_store_fails_the_learner_naming_the_field()
{
    let env = env(12).await;
    quirks(&env, |q| q.ignore_certificate_received_date = true);
    // PICS holds a certificate received date that OneFile lacks (R26: OneFile takes it), for two
    // learners
    let received = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
    env.sims.pics.edit(|s| {
        for (l, q) in [("lrn-00000", "lrn-00000-q0"), ("lrn-00001", "lrn-00001-q0")] {
            let ql = s.learner_mut(l).unwrap().qualification_mut(q).unwrap();
            ql.certificate_received_date = Some(received);
        }
    });
    let r = run(
        &env,
        RunOptions {
            concurrency: 1,
            ..Default::default()
        },
    )
    .await;
    for l in ["lrn-00000", "lrn-00001"] {
        let f = r
            .run
            .failures
            .iter()
            .find(|f| f.learner.as_str() == l)
            .unwrap_or_else(|| panic!("{l} is reported synced: {:?}", r.run.failures));
        assert!(
            f.reason.contains("CertificateReceivedDate"),
            "{l}: {}",
            f.reason
        );
        assert!(
            !f.retryable,
            "{l}: a wrong field name does not heal by itself"
        );
        let st = env
            .engine
            .state()
            .get_learner_state(&env.tenant.id, &LearnerId::new(l))
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(st.last_success.is_none(), "{l} recorded as synced");
        assert!(st.failures >= 1, "{l}");
    }
    assert_eq!(r.run.failed, 2, "{:?}", r.run.failures);
    // the next run still sees the difference (no baseline recorded it as agreed) and fails
    // again, instead of reading "cleared in OneFile"
    let again = run(
        &env,
        RunOptions {
            concurrency: 1,
            full: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(again.run.failed, 2, "{:?}", again.run.failures);
    assert!(
        again
            .run
            .failures
            .iter()
            .all(|f| f.reason.contains("CertificateReceivedDate"))
    );
}
