//! Regressions found by the independent review (issue 11): sub-second OneFile times (R22/R40),
//! the R18 fallback reviewer (R22), historic qualifications (R37), the daily sweep and the
//! autumn clock change (§6), and a panic in one learner (§7).

use crate::common::*;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use picsync_domain::{LearnerId, Mode};
use picsync_engine::{Engine, EngineError, NoProgress, RunOptions};
use picsync_sim::world::{self, Running};
use picsync_state::embedded::EmbeddedState;
use picsync_state::{AuditStore, LearnerStore};

/// The world, an engine whose clock the test sets (and can make panic once), and its state.
struct Fixture {
    day: Day,
    sims: Running,
    tenant: picsync_engine::Tenant,
    engine: Engine<EmbeddedState>,
    state: Arc<EmbeddedState>,
    now: Arc<Mutex<Option<DateTime<Utc>>>>,
    panic_next: Arc<AtomicBool>,
}

async fn fixture(learners: usize) -> Fixture {
    let day = Day::now();
    let sims = world::start(learners, day.today, (300, WINDOW))
        .await
        .expect("simulators start on 127.0.0.1");
    let tenant = tenant(&sims, settings(&sims.onefile.base_url()));
    let state = Arc::new(EmbeddedState::in_memory().expect("state"));
    let now: Arc<Mutex<Option<DateTime<Utc>>>> = Arc::default();
    let panic_next = Arc::new(AtomicBool::new(false));
    let (n, p, real) = (now.clone(), panic_next.clone(), day.clock.clone());
    let clock: picsync_engine::Clock = Arc::new(move || {
        if p.swap(false, Ordering::SeqCst) {
            panic!("injected: a bug in the sync of one learner");
        }
        n.lock()
            .map(|t| t.unwrap_or_else(|| real()))
            .unwrap_or_else(|_| real())
    });
    let engine = Engine::new(state.clone(), clock);
    Fixture {
        day,
        sims,
        tenant,
        engine,
        state,
        now,
        panic_next,
    }
}

impl Fixture {
    fn set_now(&self, t: DateTime<Utc>) {
        *self.now.lock().unwrap() = Some(t);
    }

    async fn run(&self, opts: RunOptions) -> picsync_engine::RunSummary {
        self.engine
            .run_tenant(&self.tenant, &opts, &NoProgress)
            .await
            .unwrap()
    }

    async fn audit_len(&self) -> usize {
        let mut n = 0;
        for id in &self.sims.info.in_scope {
            n += self
                .state
                .list_audit(&self.tenant.id, &LearnerId::new(id))
                .await
                .unwrap()
                .len();
        }
        n
    }
}

fn full() -> RunOptions {
    RunOptions {
        full: true,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r40_subsecond_onefile_times_a_full_sync_after_convergence_writes_nothing() {
    let f = fixture(20).await;
    // the world's OneFile reviews carry milliseconds, as OneFile serves them
    let with_millis = f.sims.onefile.read(|s| {
        s.reviews
            .values()
            .filter(|r| {
                r.started_on.is_some_and(|t| t.nanosecond() != 0)
                    || r.scheduled_for.is_some_and(|t| t.nanosecond() != 0)
            })
            .count()
    });
    assert!(with_millis > 0, "the world has sub-second OneFile times");
    let first = f.run(RunOptions::default()).await;
    assert_eq!(first.run.failed, 0, "{:?}", first.run.failures);
    assert!(first.run.rule_counts.get("R22").is_some_and(|n| *n > 0));
    let audit = f.audit_len().await;
    let pics = f.sims.pics.state();
    let sweep = f.run(full()).await;
    assert_eq!(sweep.run.failed, 0, "{:?}", sweep.run.failures);
    assert!(sweep.run.full_sweep);
    assert!(
        sweep.run.rule_counts.is_empty(),
        "R40: a full sync of a converged tenant writes nothing: {:?}",
        sweep.run.rule_counts
    );
    assert_eq!(f.audit_len().await, audit, "R40: no audit entries");
    assert_eq!(f.sims.pics.state(), pics, "R40: PICS untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r22_r18_fallback_assessor_never_replaces_the_pics_reviewer() {
    let f = fixture(6).await;
    let a = f.sims.info.in_scope[0].clone();
    let main = f.sims.pics.learner(&a).unwrap().main_officer_id.unwrap();
    let main_assessor: i64 = f
        .sims
        .pics
        .state()
        .officers
        .get(&main)
        .and_then(|o| o.other_system_id.clone())
        .expect("the learner's main officer is linked")
        .parse()
        .unwrap();
    // a review booked for officer off-7, who has no OneFile assessor
    assert!(
        f.sims.pics.state().officers["off-7"]
            .other_system_id
            .is_none()
    );
    let review_id = format!("{a}-with-unlinked-officer");
    f.sims.pics.edit(|s| {
        let mut r = picsync_sim::pics::SimReview::normal(
            review_id.clone(),
            (f.day.today + Duration::days(30))
                .and_hms_opt(9, 30, 0)
                .unwrap(),
        );
        r.reviewer_officer_id = Some("off-7".into());
        s.learner_mut(&a).unwrap().reviews.push(r);
    });
    let run = f.run(RunOptions::default()).await;
    assert_eq!(run.run.failed, 0, "{:?}", run.run.failures);
    let l = f.sims.pics.learner(&a).unwrap();
    let r = l.review(&review_id).unwrap();
    let ofid = r.one_file_system_id.expect("R18/R29: uploaded");
    let assessor = f.sims.onefile.read(|s| s.reviews[&ofid].assessor_id);
    assert_eq!(
        assessor,
        Some(main_assessor),
        "R18: the main officer's assessor"
    );
    assert_eq!(
        r.reviewer_officer_id.as_deref(),
        Some("off-7"),
        "R22: the R18 fallback never replaces the PICS reviewer"
    );
    // and nothing is left to download on a full comparison
    let dry = f
        .run(RunOptions {
            dry_run: true,
            full: true,
            ..Default::default()
        })
        .await;
    assert!(dry.run.rule_counts.is_empty(), "{:?}", dry.run.rule_counts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r37_only_qualifications_added_after_the_first_sync_are_assigned() {
    let f = fixture(40).await;
    // learners linked by desktop PICS before picsync, whose newest qualification has no
    // learning aim: history, not new qualifications
    let first = f.run(RunOptions::default()).await;
    assert_eq!(first.run.mode, Mode::Initial);
    assert_eq!(first.run.failed, 0, "{:?}", first.run.failures);
    assert_eq!(
        first.run.rule_counts.get("R37"),
        None,
        "R37: never in an initial run"
    );
    let periodic = f.run(full()).await;
    assert_eq!(
        periodic.run.rule_counts.get("R37"),
        None,
        "R37: qualifications in the Delivery Plan before the first sync are not new"
    );
    // qualifications added to the Delivery Plan now, starting next week
    let candidates: Vec<(String, String)> = f
        .sims
        .pics
        .state()
        .learners
        .values()
        .filter(|l| f.sims.info.in_scope.contains(&l.learner_id))
        .flat_map(|l| {
            l.qualifications
                .iter()
                .filter(|q| {
                    q.one_file_learning_aim_id.is_none()
                        && q.vq_reference.as_deref() != Some("ST0009")
                })
                .map(|q| (l.learner_id.clone(), q.qualification_id.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(!candidates.is_empty(), "the world has R37 cases");
    let start = f.day.today + Duration::days(7);
    f.sims.pics.edit(|s| {
        for (l, q) in &candidates {
            let q = s.learner_mut(l).unwrap().qualification_mut(q).unwrap();
            q.start_date = Some(start);
        }
    });
    let run = f.run(RunOptions::default()).await;
    assert_eq!(run.run.failed, 0, "{:?}", run.run.failures);
    let assigned = run.run.rule_counts.get("R37").copied().unwrap_or(0);
    assert!(assigned > 0, "R37: new qualifications are assigned");
    let linked = candidates
        .iter()
        .filter(|(l, q)| {
            f.sims
                .pics
                .learner(l)
                .and_then(|l| l.qualification(q).cloned())
                .is_some_and(|q| q.one_file_learning_aim_id.is_some())
        })
        .count() as u64;
    assert_eq!(linked, assigned, "R37: each assigned one is linked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_the_daily_full_sweep_runs_when_the_schedule_fires_a_second_early() {
    let f = fixture(6).await;
    let t = Utc::now();
    f.set_now(t);
    let first = f.run(RunOptions::default()).await;
    assert!(first.run.full_sweep);
    let dry = RunOptions {
        dry_run: true,
        ..Default::default()
    };
    f.set_now(t + Duration::hours(1));
    assert!(!f.run(dry.clone()).await.run.full_sweep, "an hour later");
    f.set_now(t + Duration::hours(24) - Duration::seconds(1));
    assert!(
        f.run(dry.clone()).await.run.full_sweep,
        "§6: a daily schedule firing a second early still sweeps"
    );
}

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(h, min, 0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_an_edit_in_the_repeated_autumn_hour_is_not_skipped() {
    let f = fixture(6).await;
    f.run(RunOptions::default()).await;
    let again = f.run(RunOptions::default()).await;
    assert_eq!(again.run.total, 0, "converged: {:?}", again.run);
    let (a, b) = (&f.sims.info.in_scope[0], &f.sims.info.in_scope[1]);
    // (seen by the last sync, PICS LastModified now): 25 Oct 2026 01:00–02:00 happens twice
    for (id, seen, now) in [
        // seen at 01:50 BST; edited at 01:10 GMT, in the second pass of the hour
        (a, local(2026, 10, 25, 1, 50), local(2026, 10, 25, 1, 10)),
        // control: outside the repeated hour, an older LastModified is no change
        (b, local(2026, 10, 25, 3, 0), local(2026, 10, 25, 2, 30)),
    ] {
        let l = LearnerId::new(id);
        let mut st = f
            .state
            .get_learner_state(&f.tenant.id, &l)
            .await
            .unwrap()
            .unwrap();
        st.pics_seen = Some(seen);
        f.state.put_learner_state(&f.tenant.id, &st).await.unwrap();
        f.sims.pics.edit(|s| {
            s.learner_mut(id).unwrap().last_modified = Some(now);
        });
    }
    let run = f.run(RunOptions::default()).await;
    assert!(!run.run.full_sweep);
    assert_eq!(
        run.run.total, 1,
        "§6: the edit at 01:10 GMT is compared, the control skipped: {:?}",
        run.run
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_a_panicking_learner_fails_alone() {
    let f = fixture(6).await;
    let start = f
        .engine
        .start_run(&f.tenant, &RunOptions::default())
        .await
        .unwrap();
    assert!(start.tasks.len() >= 3);
    let mut runner = f.engine.task_runner(&f.tenant);
    let mut results = Vec::new();
    for (i, task) in start.tasks.iter().enumerate() {
        // a bug hits the second learner's sync
        f.panic_next.store(i == 1, Ordering::SeqCst);
        results.push(runner.run(task, &|_| false).await);
    }
    for (i, r) in results.iter().enumerate() {
        match (i, r) {
            (1, Err(e @ EngineError::Panicked { .. })) => {
                assert!(!e.is_retryable(), "a panic would happen again: {e}");
                assert!(e.to_string().contains("injected"), "{e}");
            }
            (1, other) => panic!("the panicking learner fails: {other:?}"),
            (_, r) => assert!(r.is_ok(), "§7: the others sync: {r:?}"),
        }
    }
    let failed = &start.tasks[1].learner;
    let run = f.engine.runs(&f.tenant.id, 1).await.unwrap().pop().unwrap();
    assert_eq!(run.failed, 1, "{:?}", run.failures);
    assert_eq!(&run.failures[0].learner, failed);
    assert!(!run.failures[0].retryable);
    assert_eq!(run.done as usize, start.tasks.len() - 1);
    let st = f
        .state
        .get_learner_state(&f.tenant.id, failed)
        .await
        .unwrap()
        .unwrap();
    assert!(
        st.last_error
            .as_deref()
            .is_some_and(|e| e.contains("injected")),
        "{st:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r37_enrolment_and_linking_record_the_link_day() {
    let f = fixture(40).await;
    // R14 through enrolment: the OneFile learner exists already and is linked
    let existing = f.sims.info.existing_mis.clone().unwrap();
    let r = f
        .engine
        .enrol(
            &f.tenant,
            &picsync_engine::EnrolRequest {
                learner: LearnerId::new(&existing),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(r.plan, picsync_domain::enrol::EnrolPlan::Link(_)));
    let st = f
        .state
        .get_learner_state(&f.tenant.id, &LearnerId::new(&existing))
        .await
        .unwrap()
        .expect("the learner has a state once linked");
    assert_eq!(
        st.linked_on,
        Some(f.day.today),
        "R37: only qualifications starting after today will be assigned"
    );
}
