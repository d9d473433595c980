//! Property tests over generated learners: the planner converges, never writes a value the
//! target already holds, never echoes a value it wrote (R40), and initial and periodic plans
//! differ only where the rules say (R29 labels, R30/R40 baseline use).

use crate::common::*;

use chrono::{DateTime, NaiveDateTime, Utc};
use picsync_domain::apply::apply;
use picsync_domain::plan::{QualField, ReviewField};
use picsync_domain::settings::Direction;
use picsync_domain::time::london_to_utc;
use picsync_domain::*;
use proptest::prelude::*;

const CODES: [&str; 4] = ["ST1", "ST2", "ST3", "ST4"];

fn text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some(String::new())),
        Just(Some("A".to_string())),
        Just(Some("B".to_string()))
    ]
}

fn date() -> impl Strategy<Value = Option<chrono::NaiveDate>> {
    prop_oneof![
        Just(None),
        Just(Some(d(2024, 3, 31))),
        Just(Some(d(2024, 10, 27)))
    ]
}

fn cert() -> impl Strategy<Value = CertValues> {
    (text(), date(), date(), date()).prop_map(|(n, r, a, c)| CertValues {
        registration_number: n,
        registration_date: r,
        certificate_applied_for: a,
        certificate_received: c,
    })
}

/// Wall-clock times away from the spring gap and autumn overlap (01:00–02:00), in winter and summer.
fn local_time() -> impl Strategy<Value = NaiveDateTime> {
    (
        prop_oneof![
            Just((2024, 1, 10)),
            Just((2024, 3, 31)),
            Just((2024, 7, 1)),
            Just((2024, 10, 27))
        ],
        8u32..18,
        0u32..4,
    )
        .prop_map(|((y, m, dd), h, q)| dt(y, m, dd, h, q * 15))
}

/// OneFile instants carry milliseconds (`…33.150Z`); PICS keeps whole
/// seconds (R22/R40).
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (local_time(), prop_oneof![Just(0i64), 1i64..1000]).prop_map(|(t, ms)| {
        london_to_utc(t) + chrono::Duration::seconds(ms % 60) + chrono::Duration::milliseconds(ms)
    })
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::Ignore),
        Just(Direction::Push),
        Just(Direction::Pull)
    ]
}

#[derive(Debug, Clone)]
struct Case {
    view: LearnerView,
    settings: Settings,
    catalogue: Catalogue,
    baseline: Baseline,
    mode: Mode,
}

fn case() -> impl Strategy<Value = Case> {
    let quals = prop::collection::vec(
        (
            0usize..4,
            any::<bool>(),
            any::<bool>(),
            cert(),
            cert(),
            prop::option::of(0i64..20),
            prop::option::of(0i64..20),
            cert(),
        ),
        0..5,
    );
    let extra_aims = prop::collection::vec(0usize..4, 0..3);
    let pics_reviews = prop::collection::vec(
        (
            any::<bool>(),
            prop::option::of(prop_oneof![
                Just("Attended"),
                Just("DidNotAttend"),
                Just(" ")
            ]),
            prop::option::of(local_time()),
            prop::option::of(local_time()),
            prop::option::of(0usize..4),
            prop::option::of(0usize..6),
        ),
        0..6,
    );
    let of_reviews = prop::collection::vec(
        (
            prop::option::of(500i64..504),
            prop::option::of(instant()),
            prop::option::of(instant()),
        ),
        0..6,
    );
    let officers = prop::collection::vec(any::<bool>(), 3);
    let settings = (
        direction(),
        direction(),
        direction(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    );
    let catalogue = prop::collection::vec((0usize..4, 0usize..3), 0..4);
    let demo = (text(), text(), date());
    (
        quals,
        extra_aims,
        pics_reviews,
        of_reviews,
        officers,
        settings,
        catalogue,
        demo,
        any::<bool>(),
    )
        .prop_map(
            |(quals, extra_aims, pics_reviews, of_reviews, officers, s, cat, demo, initial)| {
                let mut v = view();
                // officers O1..O3, linked to 500..502 or not; assessors for the linked ones
                v.officers.clear();
                v.assessors.clear();
                for (i, linked) in officers.iter().enumerate() {
                    let id = format!("O{}", i + 1);
                    let link = (*linked || i == 0).then_some(500 + i as i64);
                    v.officers.push(officer(&id, link));
                    if let Some(l) = link {
                        v.assessors.push(assessor(l, &format!("F{i}"), "Surname"));
                    }
                }
                let mut baseline = Baseline::default();
                let mut next_aim = 700;
                for (i, (code, linked, units, pc, oc, pt, ot, bc)) in quals.into_iter().enumerate()
                {
                    let qid = format!("Q{i}");
                    let mut q = qual(&qid, CODES[code], None);
                    q.has_units = units;
                    q.cert = pc;
                    q.total_elements = pt;
                    // R37: some added after the learner was linked, some historic
                    q.start_date = Some(if i % 2 == 0 {
                        d(2024, 7, 2)
                    } else {
                        d(2019, 9, 1)
                    });
                    if linked {
                        let mut a = aim(next_aim, CODES[code]);
                        a.cert = oc;
                        a.total_elements = ot;
                        q.onefile_aim = Some(a.id);
                        v.onefile.aims.push(a);
                        next_aim += 1;
                        let m = CertField::ALL.iter().map(|f| (*f, bc.get(*f))).collect();
                        baseline.cert.insert(QualificationId::from(qid.as_str()), m);
                    }
                    v.pics.qualifications.push(q);
                }
                for code in extra_aims {
                    v.onefile.aims.push(aim(next_aim, CODES[code]));
                    next_aim += 1;
                }
                let mut of_ids = Vec::new();
                for (i, (assessor, scheduled, started)) in of_reviews.into_iter().enumerate() {
                    let mut r = of_review(900 + i as i64, assessor, scheduled);
                    r.started_on = started;
                    of_ids.push(r.id);
                    v.onefile.reviews.push(r);
                }
                for (i, (normal, attended, proposed, actual, reviewer, link)) in
                    pics_reviews.into_iter().enumerate()
                {
                    let mut r = review(&format!("R{i}"), proposed);
                    if !normal {
                        r.kind = ReviewType::Other("Exit".into());
                    }
                    r.attended = Attendance::parse(attended);
                    r.actual = actual.filter(|_| i % 2 == 0);
                    r.reviewer = reviewer
                        .and_then(|k| v.officers.get(k))
                        .map(|o| o.id.clone());
                    r.onefile_id = link.and_then(|k| of_ids.get(k)).copied();
                    v.pics.reviews.push(r);
                }
                v.onefile.learner.demographics.email = demo.0;
                v.onefile.learner.demographics.telephone = demo.1;
                v.pics.demographics.start_date = demo.2;
                let mut settings = Settings {
                    learner_demographics: s.0,
                    officer_demographics: s.1,
                    organisation_demographics: s.2,
                    upload_reviews: s.3,
                    download_reviews: s.4,
                    push_new_qualifications: s.5,
                    ..Default::default()
                };
                settings.visit_type_ids.insert(settings.visit_type, 3);
                let catalogue = Catalogue {
                    entries: cat
                        .into_iter()
                        .enumerate()
                        .map(|(i, (code, pathways))| {
                            let pw: Vec<i64> = (0..pathways as i64).collect();
                            entry(10 + i as i64, 1, CODES[code], &pw)
                        })
                        .collect(),
                    ..Default::default()
                };
                Case {
                    view: v,
                    settings,
                    catalogue,
                    baseline,
                    mode: if initial {
                        Mode::Initial
                    } else {
                        Mode::Periodic
                    },
                }
            },
        )
}

fn plan_of(c: &Case, view: &LearnerView, baseline: &Baseline, mode: Mode) -> Plan {
    plan(
        view,
        &Context {
            settings: &c.settings,
            catalogue: &c.catalogue,
            centre: Some(OfCentreId(1)),
            baseline,
            mode,
            today: today(),
            linked_on: linked_on(),
        },
    )
}

/// Runs plan → apply → next baseline until the plan is empty (at most `rounds` times); returns
/// the end state, the baseline and how many rounds had work.
fn converge(c: &Case, rounds: usize) -> (LearnerView, Baseline, usize, Plan) {
    let mut v = c.view.clone();
    let mut b = c.baseline.clone();
    let mut mode = c.mode;
    for i in 0..rounds {
        let p = plan_of(c, &v, &b, mode);
        if p.is_empty() {
            // the engine records the baseline after every run, even one that wrote nothing
            let b = b.next(&v);
            return (v, b, i, p);
        }
        apply(&p, &mut v).expect("a plan applies to the snapshot it was planned from");
        b = b.next(&v);
        mode = Mode::Periodic; // R43: only the first run is initial
    }
    let p = plan_of(c, &v, &b, mode);
    (v, b, rounds, p)
}

/// The value an operation says it replaces, read from the snapshot.
fn current_pics(v: &LearnerView, op: &PicsOp) -> Option<Value> {
    Some(match op {
        PicsOp::SetLearner { field, .. } => v.pics.demographics.get(*field),
        PicsOp::SetQualification {
            qualification,
            field,
            ..
        } => {
            let q = v
                .pics
                .qualifications
                .iter()
                .find(|q| &q.id == qualification)?;
            match field {
                QualField::Cert(f) => q.cert.get(*f),
                QualField::TotalElements => Value::int(q.total_elements),
                QualField::ElementsDone => Value::int(q.elements_done),
                QualField::OneFileAim => Value::int(q.onefile_aim.map(|a| a.0)),
            }
        }
        PicsOp::SetReview { review, field, .. } => {
            let r = v.pics.reviews.iter().find(|r| &r.id == review)?;
            match field {
                ReviewField::Proposed => Value::local(r.proposed),
                ReviewField::Actual => Value::local(r.actual),
                ReviewField::Attended => Value::text(r.attended.as_ref().map(Attendance::as_str)),
                ReviewField::Reviewer => Value::text(r.reviewer.as_ref().map(OfficerId::as_str)),
                ReviewField::OneFileId => Value::int(r.onefile_id.map(|x| x.0)),
            }
        }
        _ => return None,
    })
}

fn current_onefile(v: &LearnerView, op: &OneFileOp) -> Option<Value> {
    Some(match op {
        OneFileOp::SetLearner { field, .. } => v.onefile.learner.demographics.get(*field),
        OneFileOp::SetAim { aim, field, .. } => v
            .onefile
            .aims
            .iter()
            .find(|a| a.id == *aim)?
            .cert
            .get(*field),
        _ => return None,
    })
}

fn old_new_pics(op: &PicsOp) -> Option<(&Value, &Value)> {
    match op {
        PicsOp::SetLearner { old, new, .. }
        | PicsOp::SetQualification { old, new, .. }
        | PicsOp::SetReview { old, new, .. } => Some((old, new)),
        _ => None,
    }
}

fn old_new_onefile(op: &OneFileOp) -> Option<(&Value, &Value)> {
    match op {
        OneFileOp::SetLearner { old, new, .. } | OneFileOp::SetAim { old, new, .. } => {
            Some((old, new))
        }
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, max_global_rejects: 1_000_000, ..ProptestConfig::default() })]

    /// plan → apply → plan is empty; a new qualification assigned by R37 needs one more round,
    /// since its learning aim's id is known only once it exists.
    #[test]
    fn plan_apply_plan_is_empty(c in case()) {
        let assigning = |p: &Plan| p.onefile.iter().any(|o| matches!(o, OneFileOp::AssignStandard { .. }));
        let first = plan_of(&c, &c.view, &c.baseline, c.mode);
        // R37 assigns only in periodic runs: after an initial run with work, the next may assign
        let later = c.mode == Mode::Initial
            && !first.is_empty()
            && assigning(&plan_of(&c, &c.view, &c.baseline, Mode::Periodic));
        let (_, _, rounds, last) = converge(&c, 4);
        prop_assert!(last.is_empty(), "did not converge: {last:#?}");
        let bound = if assigning(&first) { 2 } else if later { 3 } else { 1 };
        prop_assert!(rounds <= bound, "took {rounds} rounds");
    }

    /// No operation writes a value the target already holds, and each names the value it replaces.
    #[test]
    fn no_operation_writes_what_the_target_holds(c in case()) {
        let p = plan_of(&c, &c.view, &c.baseline, c.mode);
        for op in &p.pics {
            if let Some((old, new)) = old_new_pics(op) {
                prop_assert_ne!(old, new, "{:?}", op);
                prop_assert_eq!(Some(old.clone()), current_pics(&c.view, op), "{:?}", op);
            }
        }
        for op in &p.onefile {
            if let Some((old, new)) = old_new_onefile(op) {
                prop_assert_ne!(old, new, "{:?}", op);
                prop_assert_eq!(Some(old.clone()), current_onefile(&c.view, op), "{:?}", op);
            }
        }
    }

    /// R40: after a sync, a change on one side only travels to the other side; the values the sync
    /// wrote are never sent back as if a user had entered them.
    #[test]
    fn r40_values_the_sync_wrote_are_never_echoed(c in case(), edits in prop::collection::vec((0usize..5, 0usize..4, text(), date()), 1..4), pics_side in any::<bool>()) {
        let (mut v, b, _, last) = converge(&c, 3);
        prop_assume!(last.is_empty());
        let linked: Vec<usize> = (0..v.pics.qualifications.len()).filter(|i| v.pics.qualifications[*i].onefile_aim.is_some()).collect();
        prop_assume!(!linked.is_empty());
        for (qi, fi, t, dd) in edits {
            let qi = linked[qi % linked.len()];
            let f = CertField::ALL[fi];
            let val = if f == CertField::RegistrationNumber { Value::text(t.as_deref()) } else { Value::date(dd) };
            if pics_side {
                v.pics.qualifications[qi].cert.set(f, &val);
            } else {
                let aim = v.pics.qualifications[qi].onefile_aim.unwrap();
                v.onefile.aims.iter_mut().find(|a| a.id == aim).unwrap().cert.set(f, &val);
            }
        }
        let p = plan_of(&c, &v, &b, Mode::Periodic);
        if pics_side {
            prop_assert!(!p.pics.iter().any(|o| matches!(o, PicsOp::SetQualification { field: QualField::Cert(_), .. })), "echo into PICS: {p:#?}");
        } else {
            prop_assert!(!p.onefile.iter().any(|o| matches!(o, OneFileOp::SetAim { .. })), "echo into OneFile: {p:#?}");
        }
    }

    /// Without a baseline, initial and periodic plans are the same but for the rule that uploads
    /// reviews (R29 in initial mode, R20 in periodic mode).
    #[test]
    fn initial_and_periodic_differ_only_where_spec_says(c in case()) {
        let empty = Baseline::default();
        let initial = plan_of(&c, &c.view, &empty, Mode::Initial);
        let mut periodic = plan_of(&c, &c.view, &empty, Mode::Periodic);
        // R37: an initial run assigns no new qualifications (it reports them as skipped)
        periodic.onefile.retain(|o| !matches!(o, OneFileOp::AssignStandard { .. }));
        let r37 = |p: &mut Plan| p.skipped.retain(|s| s.rule != Rule::R37);
        let mut initial = initial;
        r37(&mut initial);
        r37(&mut periodic);
        for op in &mut periodic.onefile {
            if let OneFileOp::UploadReview(u) = op {
                prop_assert_eq!(u.rule, Rule::R20);
                u.rule = Rule::R29;
            }
        }
        prop_assert_eq!(initial, periodic);
        // With a baseline, the difference is confined to registration/certification fields.
        let initial = plan_of(&c, &c.view, &c.baseline, Mode::Initial);
        let periodic = plan_of(&c, &c.view, &c.baseline, Mode::Periodic);
        let strip_p = |p: &Plan| p.pics.iter().filter(|o| !matches!(o, PicsOp::SetQualification { field: QualField::Cert(_), .. })).cloned().collect::<Vec<_>>();
        let strip_o = |p: &Plan| p.onefile.iter().filter(|o| !matches!(o, OneFileOp::SetAim { .. } | OneFileOp::UploadReview(_) | OneFileOp::AssignStandard { .. })).cloned().collect::<Vec<_>>();
        prop_assert_eq!(strip_p(&initial), strip_p(&periodic));
        prop_assert_eq!(strip_o(&initial), strip_o(&periodic));
    }
}
