//! Faults, storms, edits and overlapping runs (§7, R35, R39, R41): through an initial and a
//! periodic sync with random faults on every endpoint of both systems, the end state equals the
//! fault-free run's, nothing is duplicated, no user edit is overwritten, and every learner that
//! failed is reported with its reason and succeeds on the next run.

use crate::common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use picsync_domain::LearnerId;
use picsync_engine::{EngineError, NoProgress, RunOptions, RunSummary, Tenant};
use picsync_http::RetryPolicy;
use picsync_sim::faults::Fault;
use picsync_sim::world;

/// Learners in the fault suite (all of them go through both runs).
const LEARNERS: usize = 1000;

fn shape(env: &Env) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    env.sims.onefile.read(|s| {
        let mut add = |k: String| *m.entry(k).or_insert(0) += 1;
        for u in s.users.values() {
            add(format!("user {} {:?}", u.role, u.mis_id));
        }
        for a in s.learning_aims.values() {
            add(format!(
                "aim {} {} reg {:?} {:?} {:?} {:?}",
                a.user_id,
                a.standard_id,
                a.registration_number,
                a.registration_date,
                a.certificate_applied_date,
                a.certificate_received_date
            ));
        }
        for v in s.visits.values() {
            add(format!("visit {} {:?}", v.learner_id, v.date_from));
        }
        for r in s.reviews.values() {
            add(format!(
                "review {} {:?} {:?}",
                r.learner_id, r.scheduled_for, r.started_on
            ));
        }
    });
    m
}

fn pics_view(env: &Env) -> Vec<String> {
    let s = env.sims.pics.state();
    let of = env.sims.onefile.state();
    let mut out = Vec::new();
    for (id, l) in &s.learners {
        out.push(format!("{id} email {:?}", l.demographics.email));
        for q in &l.qualifications {
            let aim = q
                .one_file_learning_aim_id
                .and_then(|a| of.learning_aims.get(&a))
                .map(|a| a.standard_id);
            out.push(format!(
                "{id} {} {aim:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                q.qualification_id,
                q.registration_number.as_deref().filter(|s| !s.is_empty()),
                q.registration_date,
                q.certificate_applied_for_date,
                q.certificate_received_date,
                q.total_elements,
                q.elements_done
            ));
        }
        let mut reviews: Vec<String> = l
            .reviews
            .iter()
            .map(|r| {
                let at = r
                    .one_file_system_id
                    .and_then(|x| of.reviews.get(&x))
                    .map(|x| x.scheduled_for);
                format!(
                    "{:?} {:?} {:?} {:?} {:?} {at:?}",
                    r.type_,
                    r.proposed_date_time,
                    r.attended_value,
                    r.actual_date_time,
                    r.reviewer_officer_id
                )
            })
            .collect();
        reviews.sort();
        out.push(format!("{id} reviews {reviews:?}"));
    }
    out
}

/// The edits users make between the two runs: the same in every world of this suite.
fn edit_as_users(env: &Env) {
    let today = env.day.today;
    for id in env.sims.info.in_scope.iter().step_by(20) {
        env.sims.pics.edit(|s| {
            if let Some(l) = s.learner_mut(id)
                && let Some(q) = l
                    .qualifications
                    .iter_mut()
                    .find(|q| q.one_file_learning_aim_id.is_some())
            {
                q.registration_number = Some(format!("EDIT-{id}"));
            }
        });
    }
    for id in env.sims.info.in_scope.iter().skip(7).step_by(20) {
        let uid = env.sims.info.onefile_ids[id];
        env.sims.onefile.edit(|e| {
            let review = e.store().reviews_of(uid).first().map(|r| r.id);
            let aim = e.store().learning_aims_of(uid).first().map(|a| a.id);
            if let Some(r) = review.and_then(|r| e.review(r)) {
                r.started_on = r.scheduled_for;
            }
            if let Some(a) = aim.and_then(|a| e.learning_aim(a)) {
                a.certificate_received_date = Some(today);
            }
        });
    }
}

fn faulty_tenant(env: &Env) -> Tenant {
    let mut t = tenant(&env.sims, settings(&env.sims.onefile.base_url()));
    // short timeouts so hung calls cost little; retries bounded as in production
    let mut pc = picsync_pics::PicsConfig::new(
        env.sims.pics.base_url(),
        world::PICS_USERNAME,
        secrecy::SecretString::from(world::PICS_PASSWORD),
    );
    pc.retry = RetryPolicy::fast();
    pc.timeout = Duration::from_millis(300);
    t.pics = picsync_pics::PicsClient::new(pc).unwrap();
    let mut oc = picsync_onefile::OneFileConfig::new(
        env.sims.onefile.base_url(),
        secrecy::SecretString::from(world::ONEFILE_TOKEN),
    );
    oc.retry = RetryPolicy::fast();
    oc.rate_window = WINDOW;
    oc.timeout = Duration::from_millis(300);
    t.onefile =
        picsync_onefile::OneFileClient::new(oc, picsync_onefile::Pacer::new(280, WINDOW)).unwrap();
    t
}

/// Runs until a run starts (a fault on a listing call can stop a start); bounded.
async fn run(env: &Env, t: &Tenant) -> RunSummary {
    let mut last = None;
    for _ in 0..6 {
        match env
            .engine
            .run_tenant(t, &RunOptions::default(), &NoProgress)
            .await
        {
            Ok(s) => return s,
            Err(e) => {
                assert!(e.is_retryable(), "a start failed permanently: {e}");
                last = Some(e);
            }
        }
    }
    panic!("no run could start: {last:?}")
}

fn fault_mix() -> Vec<Fault> {
    vec![
        Fault::Status(500),
        Fault::Status(503),
        Fault::Status(429),
        Fault::Hang,
        Fault::Malformed,
        Fault::Truncated,
        Fault::Reset,
        Fault::Delay(Duration::from_millis(50)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_faults_on_every_endpoint_change_nothing_in_the_end() {
    // the fault-free reference
    let reference = env(LEARNERS).await;
    let r1 = run(&reference, &reference.tenant).await;
    assert_eq!(r1.run.failed, 0);
    edit_as_users(&reference);
    let r2 = run(&reference, &reference.tenant).await;
    assert_eq!(r2.run.failed, 0);
    let want_of = shape(&reference);
    let want_pics = pics_view(&reference);

    // the same with 10 % faults on every endpoint of both systems
    let env = env(LEARNERS).await;
    let t = faulty_tenant(&env);
    env.sims.onefile.faults().random(None, 0.10, fault_mix(), 7);
    env.sims.pics.faults().random(None, 0.10, fault_mix(), 11);
    let mut failures_seen = 0;
    let mut runs = 0;
    let mut phase = |s: &RunSummary| {
        runs += 1;
        for f in &s.run.failures {
            assert!(!f.reason.is_empty(), "a failure has its reason");
            assert!(
                s.reports.iter().all(|r| r.learner != f.learner),
                "a failed learner is not also reported as synced"
            );
        }
        failures_seen += s.run.failed;
        s.run
            .failures
            .iter()
            .map(|f| f.learner.clone())
            .collect::<BTreeSet<LearnerId>>()
    };
    let first = run(&env, &t).await;
    let failed = phase(&first);
    // the next run (faults off) retries exactly the failed learners, and they succeed
    env.sims.onefile.faults().clear();
    env.sims.pics.faults().clear();
    let retry = run(&env, &t).await;
    phase(&retry);
    assert_eq!(retry.run.failed, 0, "{:?}", retry.run.failures);
    let retried: BTreeSet<LearnerId> = retry.reports.iter().map(|r| r.learner.clone()).collect();
    assert!(
        failed.is_subset(&retried),
        "every failed learner is retried by the next run"
    );

    edit_as_users(&env);
    env.sims
        .onefile
        .faults()
        .random(None, 0.10, fault_mix(), 13);
    env.sims.pics.faults().random(None, 0.10, fault_mix(), 17);
    let second = run(&env, &t).await;
    phase(&second);
    env.sims.onefile.faults().clear();
    env.sims.pics.faults().clear();
    let settle = run(&env, &t).await;
    phase(&settle);
    assert_eq!(settle.run.failed, 0, "{:?}", settle.run.failures);

    let injected = env.sims.onefile.faults().injected() + env.sims.pics.faults().injected();
    assert!(injected > 100, "faults were injected: {injected}");
    let got = shape(&env);
    for (k, n) in &got {
        // (the world seeds one MIS value twice on purpose, R12)
        assert_eq!(
            Some(n),
            want_of.get(k),
            "duplicate or missing in OneFile: {k}"
        );
    }
    let missing: Vec<_> = want_of.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !want_of.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "OneFile differs from the fault-free run: missing {missing:#?} extra {extra:#?}"
    );
    let pics = pics_view(&env);
    let differs: Vec<_> = pics
        .iter()
        .zip(&want_pics)
        .filter(|(a, b)| a != b)
        .collect();
    assert!(
        pics.len() == want_pics.len() && differs.is_empty(),
        "PICS differs from the fault-free run: {differs:#?}"
    );
    let dry = env
        .engine
        .run_tenant(
            &t,
            &RunOptions {
                dry_run: true,
                full: true,
                ..Default::default()
            },
            &NoProgress,
        )
        .await
        .unwrap();
    assert!(
        dry.run.rule_counts.is_empty(),
        "converged: {:?}",
        dry.run.rule_counts
    );
    eprintln!(
        "fault suite: {LEARNERS} learners, {injected} faults injected, {runs} runs, {failures_seen} learner failures reported and recovered, {} real 429s",
        env.sims.onefile.rate_limited()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_editing_pics_while_the_sync_runs_lose_nothing() {
    let env = env(60).await;
    // before the sync's first write to each of these learners, a user changes the learner's email
    // and the registration number of a qualification the sync is about to write (R25/R27)
    let edited: Vec<String> = env.sims.info.in_scope.iter().step_by(3).cloned().collect();
    for id in &edited {
        let who = id.clone();
        env.sims.pics.before_next_write(id, move |s| {
            if let Some(l) = s.learner_mut(&who) {
                l.demographics.email = Some(format!("user-edit-{who}@example.org"));
                if let Some(q) = l.qualifications.first_mut() {
                    q.registration_number = Some(format!("USER-{who}"));
                }
            }
        });
    }
    let first = env
        .engine
        .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(first.run.failed, 0, "{:?}", first.run.failures);
    let replanned = first.reports.iter().filter(|r| r.passes >= 2).count();
    assert!(
        replanned >= edited.len() / 2,
        "R41: the 412s made learners re-read ({replanned})"
    );
    let s = env.sims.pics.state();
    for id in &edited {
        let l = &s.learners[id];
        assert_eq!(
            l.demographics.email.as_deref(),
            Some(format!("user-edit-{id}@example.org").as_str()),
            "R41: {id}'s edit survived"
        );
    }
    // the registration numbers the users typed travel on (R40 when OneFile had none, else R27 …)
    let second = env
        .engine
        .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(second.run.failed, 0);
    let dry = env
        .engine
        .run_tenant(
            &env.tenant,
            &RunOptions {
                dry_run: true,
                full: true,
                ..Default::default()
            },
            &NoProgress,
        )
        .await
        .unwrap();
    assert!(dry.run.rule_counts.is_empty(), "{:?}", dry.run.rule_counts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_429s_without_retry_after_is_waited_out() {
    let env = env(30).await;
    // every OneFile endpoint answers 429 a third of the time, without Retry-After (R35)
    env.sims
        .onefile
        .faults()
        .random(None, 0.33, vec![Fault::Status(429)], 3);
    let t = faulty_tenant(&env);
    let s = run(&env, &t).await;
    assert_eq!(
        s.run.failed, 0,
        "a 429 never fails a learner by itself: {:?}",
        s.run.failures
    );
    let injected = env.sims.onefile.faults().injected();
    assert!(injected > 20);
    // issue 14: the run counts the 429s it received (those of its start excepted), and keeps them
    assert!(
        s.run.onefile_429s > 0 && s.run.onefile_429s <= injected,
        "{} 429s counted, {injected} served",
        s.run.onefile_429s
    );
    let stored = env
        .engine
        .runs(&t.id, 1)
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    assert_eq!(stored.onefile_429s, s.run.onefile_429s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_runs_of_one_tenant_give_one_run() {
    let env = env(40).await;
    let opts = RunOptions::default();
    let (a, b) = tokio::join!(
        env.engine.run_tenant(&env.tenant, &opts, &NoProgress),
        env.engine.run_tenant(&env.tenant, &opts, &NoProgress)
    );
    let busy = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Err(EngineError::Busy { .. })))
        .count();
    let done = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        (busy, done),
        (1, 1),
        "R39: one runs, one is refused: {:?} {:?}",
        a.as_ref().err(),
        b.as_ref().err()
    );
    assert_eq!(env.engine.runs(&env.tenant.id, 10).await.unwrap().len(), 1);
    let mut seen = BTreeSet::new();
    env.sims.onefile.read(|s| {
        for r in s.reviews.values() {
            assert!(
                seen.insert((r.learner_id, r.scheduled_for)),
                "duplicate review"
            );
        }
    });
}
