//! Issue 16, item 1: a run reads the centre's OneFile reviews once (`review_reads = "centre"`),
//! grouped per learner, instead of one search per learner; it falls back to per-learner reads
//! by itself when the pages are inconsistent or the centre filter looks ignored; every review is
//! guarded by its owner; and nothing is written from a copy read at the run's start that has
//! gone stale since (no lost edits).

use crate::common::*;

use chrono::{Duration, Utc};
use picsync_domain::LearnerId;
use picsync_domain::settings::ReviewReads;
use picsync_engine::{NoProgress, RunOptions, RunSummary, Tenant};
use picsync_sim::onefile::{Quirks, SimReview, SimUser};
use picsync_sim::world;

fn full() -> RunOptions {
    RunOptions {
        full: true,
        ..RunOptions::default()
    }
}

fn with_reads(t: &Tenant, reads: ReviewReads) -> Tenant {
    let mut t = t.clone();
    t.settings.review_reads = reads;
    t
}

/// The world, synced once (the initial run), so that a full sweep finds nothing to change.
async fn converged(learners: usize) -> Env {
    let env = env(learners).await;
    let first = env
        .engine
        .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(first.run.failed, 0, "{:?}", first.run.failures);
    env
}

/// A full sweep with `t`: the summary, OneFile calls, and review searches (paged or not).
async fn sweep(env: &Env, t: &Tenant) -> (RunSummary, u64, u64) {
    let c = env.sims.onefile.counters();
    let (calls, searches) = (c.total(), c.get("POST /review/search"));
    let s = env
        .engine
        .run_tenant(t, &full(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(s.run.failed, 0, "{:?}", s.run.failures);
    assert!(s.run.full_sweep);
    (
        s,
        c.total() - calls,
        c.get("POST /review/search") - searches,
    )
}

/// How many pages of 100 the centre's reviews take.
fn review_pages(env: &Env) -> u64 {
    let n = env.sims.onefile.read(|s| {
        s.reviews
            .values()
            .filter(|r| {
                s.users
                    .get(&r.learner_id)
                    .is_some_and(|u| u.organisation_id == world::CENTRE)
            })
            .count()
    }) as u64;
    n / 100 + 1
}

/// A dry run in per-learner mode plans nothing: both systems agree (what a centre-mode run did
/// was complete and correct).
async fn assert_converged(env: &Env) {
    let t = with_reads(&env.tenant, ReviewReads::Learner);
    let plan = env
        .engine
        .run_tenant(
            &t,
            &RunOptions {
                dry_run: true,
                full: true,
                ..RunOptions::default()
            },
            &NoProgress,
        )
        .await
        .unwrap();
    let changes: Vec<_> = plan
        .reports
        .iter()
        .filter(|r| r.changes() != (0, 0))
        .map(|r| (r.learner.clone(), r.plans.clone()))
        .collect();
    assert!(changes.is_empty(), "left to do: {changes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i16_full_sweep_of_an_unchanged_tenant_costs_one_call_per_learner_in_centre_mode() {
    let env = converged(200).await;
    let learner = with_reads(&env.tenant, ReviewReads::Learner);
    let centre = with_reads(&env.tenant, ReviewReads::Centre);

    let (by_learner, calls_l, searches_l) = sweep(&env, &learner).await;
    let (by_centre, calls_c, searches_c) = sweep(&env, &centre).await;
    assert!(by_learner.run.rule_counts.is_empty() && by_centre.run.rule_counts.is_empty());
    let compared = by_centre.run.total;
    assert_eq!(compared, by_learner.run.total);
    assert!(compared > 150, "{compared}");
    let per_l = calls_l as f64 / compared as f64;
    let per_c = calls_c as f64 / compared as f64;
    println!(
        "full sweep of {compared} unchanged learners: learner mode {calls_l} OneFile calls ({per_l:.3} per learner), centre mode {calls_c} ({per_c:.3} per learner)"
    );
    assert_eq!(searches_l, compared, "learner mode: one review search each");
    assert!(
        searches_c <= review_pages(&env),
        "centre mode: only the centre-wide pages ({searches_c})"
    );
    assert_eq!(by_centre.run.review_reads_fallback, None);
    assert!(per_c <= 1.10, "centre mode: {per_c:.3} calls per learner");
    assert!(per_l >= 1.95, "learner mode: {per_l:.3} calls per learner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i16_an_inconsistent_page_falls_back_to_per_learner_reads() {
    let env = converged(200).await;
    let centre = with_reads(&env.tenant, ReviewReads::Centre);
    // OneFile edits meanwhile: a review started, and a new review (R21, R22)
    let id = env.sims.info.in_scope[1].clone(); // odd: its linked review is not started
    let uid = env.sims.info.onefile_ids[&id];
    let (started, added) = env.sims.onefile.edit(|e| {
        let r = e
            .store()
            .reviews_of(uid)
            .iter()
            .find(|r| r.started_on.is_none())
            .map(|r| r.id)
            .unwrap();
        let when = Utc::now() - Duration::days(2);
        e.review(r).unwrap().started_on = Some(when);
        let added = e.add_review(SimReview {
            learner_id: uid,
            status: 1,
            scheduled_for: Some(Utc::now() + Duration::days(9)),
            ..SimReview::default()
        });
        (r, added)
    });
    env.sims.onefile.set_quirks(Quirks {
        review_pages_overlap: true,
        ..env.sims.onefile.quirks()
    });
    let (s, _, searches) = sweep(&env, &centre).await;
    let why = s.run.review_reads_fallback.clone().expect("a fallback");
    assert!(why.contains("inconsistently"), "{why}");
    assert!(
        searches >= s.run.total,
        "per-learner reads after the centre-wide pages: {searches}"
    );
    // the edits arrived in PICS
    let l = env.sims.pics.learner(&id).unwrap();
    let pics_started = l
        .reviews
        .iter()
        .find(|r| r.one_file_system_id == Some(started))
        .unwrap();
    assert!(pics_started.actual_date_time.is_some(), "{pics_started:?}");
    assert!(
        l.reviews
            .iter()
            .any(|r| r.one_file_system_id == Some(added))
    );
    assert_converged(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i16_a_centre_filter_the_server_ignores_never_brings_another_centres_reviews() {
    let env = converged(120).await;
    let centre = with_reads(&env.tenant, ReviewReads::Centre);
    // another centre of the customer, with a learner holding the Ident of one of ours and
    // reviews of its own
    let id = env.sims.info.in_scope[3].clone();
    let ours = env.sims.info.onefile_ids[&id];
    let reviews_before = env.sims.pics.learner(&id).unwrap().reviews.len();
    let theirs = env.sims.onefile.edit(|e| {
        let other = e.raw().add_centre("Elsewhere");
        let mut u = SimUser::learner(other, "Other", "Learner", &world::ident(3));
        u.demographics.email = Some("other@example.org".into());
        let u = e.add_user(u);
        let ids: Vec<i64> = (0..3)
            .map(|k| {
                e.add_review(SimReview {
                    learner_id: u,
                    status: 1,
                    scheduled_for: Some(Utc::now() + Duration::days(k + 1)),
                    started_on: Some(Utc::now() - Duration::days(k + 1)),
                    ..SimReview::default()
                })
            })
            .collect();
        ids
    });
    env.sims.onefile.set_quirks(Quirks {
        ignore_review_organisation_filter: true,
        ..env.sims.onefile.quirks()
    });
    let (s, _, searches) = sweep(&env, &centre).await;
    // a few foreign reviews are dropped by the owner guard; the read is still used
    assert_eq!(s.run.review_reads_fallback, None);
    assert!(searches <= review_pages(&env) + 1, "{searches}");
    assert!(s.run.rule_counts.is_empty(), "{:?}", s.run.rule_counts);
    let pics = env.sims.pics.state();
    for l in pics.learners.values() {
        for r in &l.reviews {
            assert!(
                !r.one_file_system_id.is_some_and(|x| theirs.contains(&x)),
                "another centre's review reached PICS learner {}",
                l.learner_id
            );
        }
    }
    assert_eq!(
        env.sims.pics.learner(&id).unwrap().reviews.len(),
        reviews_before
    );
    assert_ne!(ours, 0);

    // many of them: the filter is plainly ignored, and the run reads per learner
    env.sims.onefile.edit(|e| {
        let other = e
            .store()
            .users
            .values()
            .find(|u| u.first_name() == "Other")
            .map(|u| u.id)
            .unwrap();
        for k in 0..40 {
            e.add_review(SimReview {
                learner_id: other,
                status: 1,
                scheduled_for: Some(Utc::now() + Duration::days(k + 10)),
                ..SimReview::default()
            });
        }
    });
    let (s, _, searches) = sweep(&env, &centre).await;
    let why = s.run.review_reads_fallback.clone().expect("a fallback");
    assert!(why.contains("OrganisationID"), "{why}");
    assert!(searches >= s.run.total);
    assert!(s.run.rule_counts.is_empty(), "{:?}", s.run.rule_counts);
    assert_converged(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i16_a_review_edited_after_the_runs_read_is_not_overwritten_by_the_stale_copy() {
    let env = converged(60).await;
    let centre = with_reads(&env.tenant, ReviewReads::Centre);
    let id = env.sims.info.in_scope[1].clone(); // odd: its linked review is not started
    let uid = env.sims.info.onefile_ids[&id];
    let review = env.sims.onefile.read(|s| {
        s.reviews_of(uid)
            .iter()
            .find(|r| r.started_on.is_none())
            .map(|r| r.id)
            .unwrap()
    });
    let sched = env
        .sims
        .onefile
        .read(|s| s.reviews[&review].scheduled_for)
        .unwrap();
    let (t1, t2) = (sched + Duration::minutes(10), sched + Duration::minutes(20));
    env.sims
        .onefile
        .edit(|e| e.review(review).unwrap().started_on = Some(t1));
    // the run reads the centre's reviews at its start (started at t1)...
    let start = env.engine.start_run(&centre, &full()).await.unwrap();
    assert_eq!(start.run.review_reads_fallback, None);
    let task = start
        .tasks
        .iter()
        .find(|t| t.learner == LearnerId::new(&id))
        .unwrap();
    assert!(task.reviews.as_ref().is_some_and(|r| {
        r.iter()
            .any(|r| r.id.0 == review && r.started_on == Some(t1))
    }));
    // ...then a OneFile user corrects the start time before the learner is synced
    env.sims
        .onefile
        .edit(|e| e.review(review).unwrap().started_on = Some(t2));
    let searches = env.sims.onefile.counters().get("POST /review/search");
    for r in env.engine.run_tasks(&centre, &start.tasks).await {
        r.unwrap();
    }
    let pics_review = env
        .sims
        .pics
        .learner(&id)
        .unwrap()
        .reviews
        .into_iter()
        .find(|r| r.one_file_system_id == Some(review))
        .unwrap();
    assert_eq!(
        pics_review.actual_date_time,
        Some(world_london(t2)),
        "R22 from the fresh read, not from the run's stale copy"
    );
    assert_eq!(
        env.sims.onefile.counters().get("POST /review/search") - searches,
        1,
        "one per-learner search, for the learner with a review change only"
    );
    assert_converged(&env).await;
}

fn world_london(t: chrono::DateTime<Utc>) -> chrono::NaiveDateTime {
    use chrono::Timelike;
    let l = t.with_timezone(&chrono_tz::Europe::London).naive_local();
    l.with_nanosecond(0).unwrap()
}

/// A periodic run (not a full sweep) with `t`: the summary and its OneFile calls.
async fn periodic(env: &Env, t: &Tenant) -> (RunSummary, u64) {
    let calls = env.sims.onefile.counters().total();
    let s = env
        .engine
        .run_tenant(t, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(s.run.failed, 0, "{:?}", s.run.failures);
    assert!(!s.run.full_sweep);
    (s, env.sims.onefile.counters().total() - calls)
}

/// Issue 16 item 2: a review started in OneFile, which leaves its learner's LastModified alone
/// (the pessimistic case: OneFile does not document it), reaches PICS with the next periodic
/// run in centre mode, seen by the run's centre-wide search of recent reviews against what the
/// learner's last sync read; in learner mode it waits for the full sweep. A quiet periodic run
/// compares nobody and costs a page of users and a page of recent reviews.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i16_a_review_started_in_onefile_reaches_pics_with_the_next_periodic_run_in_centre_mode() {
    let env = env(60).await;
    env.sims.onefile.set_quirks(Quirks {
        child_changes_touch_learner: false,
        ..env.sims.onefile.quirks()
    });
    let centre = with_reads(&env.tenant, ReviewReads::Centre);
    let learner = with_reads(&env.tenant, ReviewReads::Learner);
    let first = env
        .engine
        .run_tenant(&centre, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(first.run.failed, 0, "{:?}", first.run.failures);
    // the reviews the initial run uploaded are new to the learners' records once
    periodic(&env, &centre).await;
    let (quiet, quiet_calls) = periodic(&env, &centre).await;
    assert_eq!(quiet.run.total, 0, "a quiet periodic run compares nobody");
    assert_eq!(quiet.run.review_reads_fallback, None);
    assert!(
        quiet_calls <= 3,
        "a quiet periodic run: {quiet_calls} OneFile calls"
    );

    // a OneFile user starts a linked, unstarted review scheduled yesterday
    let id = env.sims.info.in_scope[1].clone(); // odd: its linked review is not started
    let uid = env.sims.info.onefile_ids[&id];
    let review = env.sims.onefile.read(|s| {
        s.reviews_of(uid)
            .iter()
            .find(|r| r.started_on.is_none())
            .map(|r| r.id)
            .unwrap()
    });
    let yesterday = Utc::now() - Duration::days(1);
    env.sims.onefile.edit(|e| {
        let r = e.review(review).unwrap();
        r.scheduled_for = Some(yesterday);
        r.started_on = Some(yesterday + Duration::minutes(5));
    });
    let in_pics = |env: &Env| {
        env.sims
            .pics
            .learner(&id)
            .unwrap()
            .reviews
            .into_iter()
            .find(|r| r.one_file_system_id == Some(review))
            .and_then(|r| r.actual_date_time)
    };

    // learner mode: nothing cheap sees it (it waits for the full sweep)
    let (missed, _) = periodic(&env, &learner).await;
    assert_eq!(missed.run.total, 0);
    assert_eq!(in_pics(&env), None);

    // centre mode: the next periodic run compares that learner alone and the start reaches PICS
    let (seen, _) = periodic(&env, &centre).await;
    assert_eq!(seen.run.total, 1, "only the learner whose review changed");
    assert_eq!(
        in_pics(&env),
        Some(world_london(yesterday + Duration::minutes(5)))
    );
    let (after, _) = periodic(&env, &centre).await;
    assert_eq!(after.run.total, 0, "recorded: not compared again");
    assert_converged(&env).await;
}

/// Issue 16 (review): a centre-wide read cut short without any sign on its pages (OneFile
/// filtering a page after cutting it, so a short page is taken for the last) must not pass
/// for "these learners have no reviews": the learners' last syncs recorded reviews the read
/// lacks, so the run falls back to per-learner reads, and OneFile's edits still arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i16_a_centre_wide_read_cut_short_falls_back_instead_of_hiding_reviews() {
    let env = converged(200).await;
    let centre = with_reads(&env.tenant, ReviewReads::Centre);
    // a sweep in centre mode records every learner's reviews (reviews_seen)
    let (_, _, _) = sweep(&env, &centre).await;
    assert!(
        review_pages(&env) >= 3,
        "the read needs three pages or more"
    );
    // a OneFile user starts a review of a learner late in the centre's list
    let id = env.sims.info.in_scope[env.sims.info.in_scope.len() - 1].clone();
    let uid = env.sims.info.onefile_ids[&id];
    let started = env.sims.onefile.edit(|e| {
        let r = e
            .store()
            .reviews_of(uid)
            .iter()
            .find(|r| r.started_on.is_none())
            .map(|r| r.id);
        if let Some(r) = r {
            e.review(r).unwrap().started_on = Some(Utc::now() - Duration::days(1));
        }
        r
    });
    env.sims.onefile.set_quirks(Quirks {
        review_pages_cut_short: true,
        ..env.sims.onefile.quirks()
    });
    let (s, _, searches) = sweep(&env, &centre).await;
    let why = s.run.review_reads_fallback.clone().expect("a fallback");
    assert!(why.contains("cut short"), "{why}");
    assert!(
        searches >= s.run.total,
        "per-learner reads after the centre-wide pages: {searches}"
    );
    if let Some(started) = started {
        let l = env.sims.pics.learner(&id).unwrap();
        let r = l
            .reviews
            .iter()
            .find(|r| r.one_file_system_id == Some(started))
            .expect("the review is in PICS");
        assert!(r.actual_date_time.is_some(), "the start arrived: {r:?}");
    }
    env.sims.onefile.set_quirks(Quirks {
        review_pages_cut_short: false,
        ..env.sims.onefile.quirks()
    });
    assert_converged(&env).await;
}

/// Issue 16 (review): the search of recent reviews assumes `DateFrom`/`DateTo` filter on the
/// scheduled date; a server that ignores them (or filters on another date) serves reviews
/// outside the window, and the periodic run says so and does not use the read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i16_a_date_filter_the_server_ignores_is_detected_and_not_trusted() {
    let env = converged(200).await;
    let centre = with_reads(&env.tenant, ReviewReads::Centre);
    let (ok, _) = periodic(&env, &centre).await;
    assert_eq!(ok.run.review_reads_fallback, None);
    env.sims.onefile.set_quirks(Quirks {
        ignore_review_date_filter: true,
        ..env.sims.onefile.quirks()
    });
    let (s, _) = periodic(&env, &centre).await;
    let why = s.run.review_reads_fallback.clone().expect("a fallback");
    assert!(why.contains("DateFrom/DateTo"), "{why}");
}
