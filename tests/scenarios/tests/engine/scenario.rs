//! End-to-end scenarios of the engine against both simulators over loopback (issue: the sync
//! engine end to end). Each asserts the end state on both sides, per rule.

use crate::common::*;

use std::collections::{BTreeMap, BTreeSet};

use picsync_domain::time::{london_date, london_to_utc, utc_to_london, whole_seconds};
use picsync_domain::{LearnerId, Mode};
use picsync_engine::{EngineError, EnrolRequest, NoProgress, RunOptions};
use picsync_sim::world;

/// Counts of records on the OneFile side that must never be duplicated.
fn onefile_counts(env: &Env) -> (usize, usize, usize, usize, usize) {
    env.sims.onefile.read(|s| {
        (
            s.users.len(),
            s.learning_aims.len(),
            s.reviews.len(),
            s.visits.len(),
            s.placements.len(),
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_reaches_the_expected_end_state_per_rule() {
    let env = env(80).await;
    let before_pics = env.sims.pics.state();
    let before_of = env.sims.onefile.state();
    let run = env
        .engine
        .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        run.run.mode,
        Mode::Initial,
        "R43: the first run after enabling is initial"
    );
    assert_eq!(run.run.failed, 0, "{:#?}", run.run.failures);
    assert_eq!(
        env.sims.onefile.rate_limited(),
        0,
        "R35: paced below the limit, no 429"
    );
    let pics = env.sims.pics.state();
    let of = env.sims.onefile.state();
    let in_scope: BTreeSet<&String> = env.sims.info.in_scope.iter().collect();

    for (id, l) in &pics.learners {
        let was = &before_pics.learners[id];
        if !in_scope.contains(id) {
            // R3: out of scope or unlinked learners are untouched
            assert_eq!(l.reviews, was.reviews, "R3: {id} out of scope was changed");
            assert_eq!(l.qualifications, was.qualifications, "R3: {id}");
            continue;
        }
        let uid = l.one_file_id.unwrap();
        // R29/R19: every eligible Normal review is linked to a OneFile review at the same time
        for r in &l.reviews {
            let eligible = r.type_.as_deref() == Some("Normal")
                && r.attended_value.is_none()
                && r.actual_date_time.is_none();
            let uploaded_now = was
                .review(&r.review_id)
                .is_some_and(|w| w.one_file_system_id.is_none());
            // R18: an assessor is needed: the review's officer, else the main officer, linked
            let linked = |o: &Option<String>| {
                o.as_ref()
                    .and_then(|o| pics.officers.get(o))
                    .is_some_and(|o| o.other_system_id.is_some())
            };
            let has_assessor = linked(&r.reviewer_officer_id) || linked(&l.main_officer_id);
            if eligible && uploaded_now && !has_assessor {
                assert_eq!(
                    r.one_file_system_id, None,
                    "R18: {id} review {} had no assessor",
                    r.review_id
                );
            }
            if eligible && uploaded_now && has_assessor {
                let ofid = r
                    .one_file_system_id
                    .unwrap_or_else(|| panic!("R29: {id} review {} not uploaded", r.review_id));
                let o = &of.reviews[&ofid];
                assert_eq!(o.learner_id, uid);
                assert_eq!(
                    o.scheduled_for,
                    r.proposed_date_time.map(london_to_utc),
                    "R16: {id}"
                );
                let visit = o
                    .visit_id
                    .and_then(|v| of.visits.get(&v))
                    .expect("R16: the review has its visit");
                assert_eq!(
                    visit
                        .date_to
                        .zip(visit.date_from)
                        .map(|(b, a)| (b - a).num_minutes()),
                    Some(60),
                    "R16: one hour"
                );
            }
        }
        // R21/R22: every OneFile review of the learner is held by exactly one PICS review
        for o in of.reviews.values().filter(|o| o.learner_id == uid) {
            let holders: Vec<_> = l
                .reviews
                .iter()
                .filter(|r| r.one_file_system_id == Some(o.id))
                .collect();
            assert_eq!(
                holders.len(),
                1,
                "R21: OneFile review {} of {id} held {} times",
                o.id,
                holders.len()
            );
            let r = holders[0];
            assert_eq!(
                r.proposed_date_time,
                o.scheduled_for.map(|t| utc_to_london(whole_seconds(t))),
                "R22: proposed = scheduled-for, at whole seconds"
            );
            if let Some(started) = o.started_on {
                assert_eq!(r.attended_value.as_deref(), Some("Attended"), "R22");
                assert_eq!(
                    r.actual_date_time,
                    Some(utc_to_london(whole_seconds(started))),
                    "R22"
                );
            }
        }
        for q in &l.qualifications {
            let Some(aim) = q.one_file_learning_aim_id else {
                // R37: an initial run assigns no new qualifications
                assert!(
                    q.vq_reference.as_deref() == Some("ST0009")
                        || was
                            .qualification(&q.qualification_id)
                            .is_some_and(|w| w.one_file_learning_aim_id.is_none()),
                    "{id} {} left unlinked",
                    q.qualification_id
                );
                continue;
            };
            let a = &of.learning_aims[&aim];
            let was_q = was.qualification(&q.qualification_id).unwrap();
            // R23/R24
            if q.has_units {
                assert_eq!(
                    (q.total_elements, q.elements_done),
                    (was_q.total_elements, was_q.elements_done),
                    "R24"
                );
            } else if a.elements_done.is_some() {
                assert_eq!(
                    (q.total_elements, q.elements_done),
                    (a.total_elements, a.elements_done),
                    "R23"
                );
            }
            // R25–R27, R30: the four fields agree; where both were set and differed, OneFile won
            let blank = |s: &Option<String>| {
                s.as_deref()
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
            };
            assert_eq!(
                blank(&q.registration_number),
                blank(&a.registration_number),
                "R25–R27 {id} {}",
                q.qualification_id
            );
            assert_eq!(q.registration_date, a.registration_date, "R25–R27");
            assert_eq!(
                q.certificate_applied_for_date, a.certificate_applied_date,
                "R27: OneFile wins"
            );
            assert_eq!(
                q.certificate_received_date, a.certificate_received_date,
                "R25"
            );
            if let Some(old) = before_of.learning_aims.get(&aim)
                && old.registration_number.is_some()
                && blank(&was_q.registration_number).is_some()
            {
                assert_eq!(
                    q.registration_number, old.registration_number,
                    "R27: OneFile wins for {id}"
                );
            }
        }
    }
    // R37: learners whose newest qualification had no learning aim got none in the initial run
    // (their Delivery Plans are history; only qualifications added later are assigned)
    let assigned = pics
        .learners
        .values()
        .filter(|l| in_scope.contains(&l.learner_id))
        .flat_map(|l| l.qualifications.iter().map(move |q| (l, q)))
        .filter(|(l, q)| {
            q.one_file_learning_aim_id.is_some()
                && before_pics.learners[&l.learner_id]
                    .qualification(&q.qualification_id)
                    .unwrap()
                    .one_file_learning_aim_id
                    .is_none()
        })
        .count();
    assert_eq!(assigned, 0, "R37: never in an initial run");
    // no duplicate learning aim per learner and standard
    let mut seen = BTreeSet::new();
    for a in of.learning_aims.values() {
        assert!(
            seen.insert((a.user_id, a.standard_id)),
            "duplicate learning aim {a:?}"
        );
    }
    // R36: last synchronised moved, initial done
    let ts = env
        .engine
        .tenant_state(&env.tenant.id)
        .await
        .unwrap()
        .unwrap();
    assert!(ts.initial_done && ts.last_synchronised.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_plans_nothing_and_a_periodic_run_skips_every_unchanged_learner() {
    let env = env(60).await;
    let first = env
        .engine
        .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert!(first.run.rule_counts.values().sum::<u64>() > 0);
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
    assert!(
        dry.run.rule_counts.is_empty(),
        "a full comparison after the sync plans nothing: {:?}",
        dry.run.rule_counts
    );
    let calls_before = env.sims.onefile.counters().total();
    let second = env
        .engine
        .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        second.run.mode,
        Mode::Periodic,
        "R43: later runs are periodic"
    );
    assert_eq!(
        second.run.total, 0,
        "R40 for cursors: the sync's own writes are not changes: {:?}",
        second.run
    );
    assert_eq!(
        second.run.skipped_unchanged as usize,
        env.sims.info.in_scope.len()
    );
    let calls = env.sims.onefile.counters().total() - calls_before;
    assert!(
        calls <= 3,
        "an incremental run over unchanged learners costs the listing only, not {calls} calls"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_edits_on_both_sides_travel_as_spec_says() {
    let env = env(40).await;
    env.engine
        .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    let a = &env.sims.info.in_scope[0];
    let b = &env.sims.info.in_scope[1];
    let c = &env.sims.info.in_scope[2];
    // PICS: a registration number typed in (R40/R26: travels to OneFile), a new review (R20)
    let (q_a, aim_a) = env.sims.pics.edit(|s| {
        let l = s.learner_mut(a).unwrap();
        let q = l
            .qualifications
            .iter_mut()
            .find(|q| q.one_file_learning_aim_id.is_some())
            .unwrap();
        q.registration_number = Some("TYPED-IN-PICS".into());
        let when = (env.day.today + chrono::Duration::days(40))
            .and_hms_opt(9, 30, 0)
            .unwrap();
        l.reviews.push(picsync_sim::pics::SimReview::normal(
            format!("{a}-booked"),
            when,
        ));
        (
            q.qualification_id.clone(),
            q.one_file_learning_aim_id.unwrap(),
        )
    });
    // OneFile: a review started (R22), a certificate received (R25), progress (R23)
    let uid_b = env.sims.info.onefile_ids[b];
    let (review_b, aim_b) = env.sims.onefile.edit(|e| {
        let r = e.store().reviews_of(uid_b)[0].id;
        let aim = e.store().learning_aims_of(uid_b)[0].id;
        let rr = e.review(r).unwrap();
        rr.started_on = rr.scheduled_for;
        let aa = e.learning_aim(aim).unwrap();
        aa.certificate_received_date = Some(env.day.today);
        aa.elements_done = Some(39);
        (r, aim)
    });
    // OneFile: a registration number both sides held changes in OneFile (R27)
    let uid_c = env.sims.info.onefile_ids[c];
    let aim_c = env.sims.onefile.edit(|e| {
        let aim = e.store().learning_aims_of(uid_c)[0].id;
        e.learning_aim(aim).unwrap().registration_number = Some("CHANGED-IN-ONEFILE".into());
        aim
    });
    let run = env
        .engine
        .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(run.run.failed, 0, "{:?}", run.run.failures);
    assert!(
        run.run.total >= 3 && (run.run.total as usize) < env.sims.info.in_scope.len(),
        "only changed learners are compared: {}",
        run.run.total
    );
    let of = env.sims.onefile.state();
    let pics = env.sims.pics.state();
    assert_eq!(
        of.learning_aims[&aim_a].registration_number.as_deref(),
        Some("TYPED-IN-PICS"),
        "R40: a PICS edit travels"
    );
    assert_eq!(
        pics.learners[a]
            .qualification(&q_a)
            .unwrap()
            .registration_number
            .as_deref(),
        Some("TYPED-IN-PICS"),
        "and is not overwritten"
    );
    let booked = pics.learners[a].review(&format!("{a}-booked")).unwrap();
    assert!(
        booked.one_file_system_id.is_some(),
        "R20: the new review is uploaded"
    );
    let lb = &pics.learners[b];
    let rb = lb
        .reviews
        .iter()
        .find(|r| r.one_file_system_id == Some(review_b))
        .unwrap();
    assert_eq!(rb.attended_value.as_deref(), Some("Attended"), "R22");
    let qb = lb
        .qualifications
        .iter()
        .find(|q| q.one_file_learning_aim_id == Some(aim_b))
        .unwrap();
    assert_eq!(qb.certificate_received_date, Some(env.day.today), "R25");
    if !qb.has_units {
        assert_eq!(qb.elements_done, Some(39), "R23");
    }
    let qc = pics.learners[c]
        .qualifications
        .iter()
        .find(|q| q.one_file_learning_aim_id == Some(aim_c))
        .unwrap();
    assert_eq!(
        qc.registration_number.as_deref(),
        Some("CHANGED-IN-ONEFILE"),
        "R27/R40: OneFile's change travels to PICS"
    );
    // audit trail: every change is listed per learner with its rule
    let audit = env
        .engine
        .audit_trail(&env.tenant.id, &LearnerId::new(a))
        .await
        .unwrap();
    assert!(
        audit.iter().any(|e| e.field == "RegistrationNumber"
            && e.new == picsync_domain::Value::Text("TYPED-IN-PICS".into())),
        "{audit:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_creates_each_record_exactly_once_and_refuses_duplicates() {
    let env = env(40).await;
    let before = onefile_counts(&env);
    // R12: two OneFile users hold the MIS value: refused, nothing written
    let dup = env.sims.info.duplicate_mis.clone().unwrap();
    let err = env
        .engine
        .enrol(
            &env.tenant,
            &EnrolRequest {
                learner: LearnerId::new(&dup),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    match &err {
        EngineError::Enrol { problems, .. } => {
            assert_eq!(problems[0].rule, picsync_domain::Rule::R12);
        }
        other => panic!("expected R12, got {other}"),
    }
    assert_eq!(onefile_counts(&env), before, "R12: nothing created");
    assert_eq!(env.sims.pics.learner(&dup).unwrap().one_file_id, None);
    // R14: an existing OneFile learner holding the Ident is linked, not duplicated
    let existing = env.sims.info.existing_mis.clone().unwrap();
    let r = env
        .engine
        .enrol(
            &env.tenant,
            &EnrolRequest {
                learner: LearnerId::new(&existing),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(r.plan, picsync_domain::enrol::EnrolPlan::Link(_)));
    assert_eq!(onefile_counts(&env).0, before.0, "R14: no user created");
    // a fresh enrolment
    let fresh = env.sims.info.unlinked[2].clone();
    let r = env
        .engine
        .enrol(
            &env.tenant,
            &EnrolRequest {
                learner: LearnerId::new(&fresh),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let uid = r.onefile_learner.unwrap().0;
    let pl = env.sims.pics.learner(&fresh).unwrap();
    assert_eq!(pl.one_file_id, Some(uid));
    let of = env.sims.onefile.state();
    let u = &of.users[&uid];
    assert_eq!(
        u.mis_id.as_deref(),
        Some(world::ident(fresh[4..].parse().unwrap()).as_str()),
        "R6: MISID = Ident"
    );
    assert_eq!(
        of.users.values().filter(|x| x.mis_id == u.mis_id).count(),
        1
    );
    // R15: eligible reviews went up at enrolment
    assert!(
        pl.reviews
            .iter()
            .filter(|r| r.attended_value.is_none() && r.type_.as_deref() == Some("Normal"))
            .all(|r| r.one_file_system_id.is_some())
    );
    // enrolling again creates nothing (R14)
    let again = onefile_counts(&env);
    let r2 = env
        .engine
        .enrol(
            &env.tenant,
            &EnrolRequest {
                learner: LearnerId::new(&fresh),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        r2.plan,
        picsync_domain::enrol::EnrolPlan::AlreadyLinked(_)
    ));
    assert_eq!(onefile_counts(&env), again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pics_edit_between_read_and_write_survives() {
    let env = env(20).await;
    // learner a: OneFile holds a registration number PICS lacks (R25 would write it)
    let a = env.sims.info.in_scope[0].clone();
    let uid = env.sims.info.onefile_ids[&a];
    env.sims.onefile.edit(|e| {
        let aim = e.store().learning_aims_of(uid)[0].id;
        e.learning_aim(aim).unwrap().registration_number = Some("FROM-ONEFILE".into());
    });
    // …and a user edits the learner's email in PICS just before the sync's first write
    let who = a.clone();
    env.sims.pics.before_next_write(&a, move |s| {
        if let Some(l) = s.learner_mut(&who) {
            l.demographics.email = Some("typed-by-a-user@example.org".into());
        }
    });
    let run = env
        .engine
        .run_tenant(
            &env.tenant,
            &RunOptions {
                learners: vec![LearnerId::new(&a)],
                ..Default::default()
            },
            &NoProgress,
        )
        .await
        .unwrap();
    assert_eq!(run.run.failed, 0, "{:?}", run.run.failures);
    assert!(
        run.reports[0].passes >= 2,
        "R41: the 412 made the sync re-read and re-plan"
    );
    let l = env.sims.pics.learner(&a).unwrap();
    assert_eq!(
        l.demographics.email.as_deref(),
        Some("typed-by-a-user@example.org"),
        "R41: the user's edit survives"
    );
    assert!(
        l.qualifications
            .iter()
            .any(|q| q.registration_number.as_deref() == Some("FROM-ONEFILE")),
        "and the sync's change is applied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_changes_nothing_anywhere() {
    let env = env(40).await;
    let pics = env.sims.pics.state();
    let of = env.sims.onefile.state();
    let plan = env
        .engine
        .run_tenant(
            &env.tenant,
            &RunOptions {
                dry_run: true,
                ..Default::default()
            },
            &NoProgress,
        )
        .await
        .unwrap();
    assert!(
        plan.run.rule_counts.values().sum::<u64>() > 0,
        "there is work to plan"
    );
    assert_eq!(env.sims.pics.state(), pics, "R38: PICS unchanged");
    let of_after = env.sims.onefile.state();
    assert_eq!(
        (
            of_after.users,
            of_after.learning_aims,
            of_after.reviews,
            of_after.visits
        ),
        (of.users, of.learning_aims, of.reviews, of.visits),
        "R38: OneFile unchanged"
    );
    assert!(
        env.engine
            .runs(&env.tenant.id, 10)
            .await
            .unwrap()
            .is_empty(),
        "R38: no run recorded"
    );
    assert!(
        env.engine
            .learner_states(&env.tenant.id)
            .await
            .unwrap()
            .is_empty(),
        "R38: no learner state"
    );
    assert!(
        env.engine
            .tenant_state(&env.tenant.id)
            .await
            .unwrap()
            .is_none(),
        "R38: no tenant state"
    );
    // and the plan is what the real run does
    let real = env
        .engine
        .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    let mut planned: BTreeMap<String, u64> = plan.run.rule_counts;
    let mut done = real.run.rule_counts.clone();
    // A learning aim OneFile creates (R37) comes with progress values OneFile chooses: only the
    // real run can see them.
    let r23 = (
        planned.remove("R23").unwrap_or(0),
        done.remove("R23").unwrap_or(0),
    );
    let r37 = done.get("R37").copied().unwrap_or(0);
    assert!(
        r23.0 <= r23.1 && r23.1 - r23.0 <= 2 * r37,
        "R23 planned {} done {} with {r37} new aims",
        r23.0,
        r23.1
    );
    assert_eq!(
        planned, done,
        "a dry run lists exactly what the real run does"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_start_while_a_run_holds_the_lease_is_refused() {
    let env = env(10).await;
    let start = env
        .engine
        .start_run(&env.tenant, &RunOptions::default())
        .await
        .unwrap();
    let err = env
        .engine
        .start_run(&env.tenant, &RunOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Busy { .. }), "R39: {err}");
    assert!(
        err.to_string().contains(&start.run.run_id),
        "names the running run: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_integration_must_be_enabled() {
    let env = env(5).await;
    let mut t = env.tenant.clone();
    t.settings.integration_enabled = false;
    let calls = env.sims.onefile.counters().total();
    let err = env
        .engine
        .run_tenant(&t, &RunOptions::default(), &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotEnabled(_)), "R1: {err}");
    assert_eq!(
        env.sims.onefile.counters().total(),
        calls,
        "R1: nothing called OneFile"
    );
    t.settings.integration_enabled = true;
    t.settings.desktop_integration_disabled = false;
    let err = env
        .engine
        .run_tenant(&t, &RunOptions::default(), &NoProgress)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("R42"), "{err}");
}

#[test]
fn london_dates_of_the_world_are_consistent() {
    // a BST date stored as 23:00Z the day before reads back as the date
    let t = london_to_utc(
        chrono::NaiveDate::from_ymd_opt(2024, 6, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
    );
    assert_eq!(
        london_date(t),
        chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap()
    );
}
