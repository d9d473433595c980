//! A realistic tenant seeded consistently into both simulators: the fixture of the scenario
//! tests, the `picsync demo` command and the benchmarks. Deterministic for given arguments.
//!
//! Every learner `i` is shaped by `i` alone, so that a test can find "the learners with units"
//! or "a review in OneFile that PICS lacks" by index, and the mix covers every rule:
//! linked and unlinked officers and employers, qualifications with and without units,
//! registration and certification fields in every blank/set combination, reviews in every state
//! on both sides, learners out of scope (dormant, ended long ago), learners never enrolled, and a
//! MIS value held by two OneFile users (one archived).

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::onefile::{
    SimClassroom, SimLearningAim, SimPathway, SimPlacement, SimReview, SimStandard, SimUser, Store,
};
use crate::pics::{SimLearner, SimLearnerOfficer, SimOfficer, SimOrganisation, SimQualification};

/// The OneFile customer token the world's simulator accepts.
pub const ONEFILE_TOKEN: &str = "demo-customer-token-6f1d2c";
/// PICS API credentials the world's simulator accepts.
pub const PICS_USERNAME: &str = "picsync";
pub const PICS_PASSWORD: &str = "demo-pics-password-93ab";
/// The OneFile centre.
pub const CENTRE: i64 = 10;
/// Standard codes offered by the centre: ST0005 has two pathways (R9); ST0009 is in PICS only.
pub const CODES: [&str; 5] = ["ST0001", "ST0002", "ST0003", "ST0004", "ST0005"];

/// What was seeded, for assertions.
#[derive(Debug, Clone, Default)]
pub struct WorldInfo {
    pub learners: usize,
    /// PICS learner ids linked to OneFile and in scope.
    pub in_scope: Vec<String>,
    /// PICS learner ids linked but out of scope (R3).
    pub out_of_scope: Vec<String>,
    /// PICS learner ids not linked to OneFile (to enrol).
    pub unlinked: Vec<String>,
    /// An unlinked PICS learner whose Ident two OneFile users hold as MIS value (R12).
    pub duplicate_mis: Option<String>,
    /// An unlinked PICS learner whose Ident one OneFile learner holds (R14: linked, not created).
    pub existing_mis: Option<String>,
    /// OneFile learner id per PICS learner id.
    pub onefile_ids: std::collections::BTreeMap<String, i64>,
}

/// How a learner of the world looks; pure, so tests can reason about it.
pub fn learner_id(i: usize) -> String {
    format!("lrn-{i:05}")
}

pub fn ident(i: usize) -> String {
    format!("L{i:05}")
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
}

fn at(day: NaiveDate, h: u32) -> NaiveDateTime {
    day.and_hms_opt(h, 0, 0).unwrap_or_default()
}

/// The world for `learners` learners, as of `today` (Europe/London).
pub struct World {
    pub onefile: Store,
    pub pics_learners: Vec<SimLearner>,
    pub officers: Vec<SimOfficer>,
    pub organisations: Vec<SimOrganisation>,
    pub info: WorldInfo,
}

pub fn build(learners: usize, today: NaiveDate) -> World {
    let mut s = Store::default();
    s.customer.name = "Acme Training Ltd".into();
    s.centres.insert(
        CENTRE,
        crate::onefile::SimCentre {
            id: CENTRE,
            name: "Acme Training".into(),
        },
    );
    s.next_id = s.next_id.max(CENTRE + 1);
    let mut info = WorldInfo {
        learners,
        ..Default::default()
    };

    // Officers: OFF1–OFF5 linked to OneFile assessors, OFF6–OFF8 not (created at enrolment).
    let mut officers = Vec::new();
    let mut assessor_of = Vec::new();
    for k in 1..=8 {
        let mut o = SimOfficer::new(
            format!("off-{k}"),
            format!("OFF{k}"),
            format!("Olive{k}"),
            format!("Officer{k}"),
        );
        o.email = Some(format!("olive{k}@acme-training.example"));
        if k <= 5 {
            let mut a = SimUser::assessor(CENTRE, &format!("Olive{k}"), &format!("Officer{k}"));
            a.mis_id = Some(format!("OFF{k}"));
            let id = s.insert_user(a);
            o.other_system_id = Some(id.to_string());
            assessor_of.push(Some(id));
        } else {
            assessor_of.push(None);
        }
        officers.push(o);
    }
    let classroom = s.insert_classroom(SimClassroom {
        id: 0,
        organisation_id: CENTRE,
        name: "Default".into(),
        mis_id: None,
    });
    s.insert_classroom(SimClassroom {
        id: 0,
        organisation_id: CENTRE,
        name: "Evening group".into(),
        mis_id: None,
    });

    // Employers: EMP1–EMP6 linked to placements, EMP7–EMP10 not.
    let mut organisations = Vec::new();
    for k in 1..=10 {
        let mut org = SimOrganisation::new(
            format!("org-{k}"),
            format!("EMP{k}"),
            format!("Employer {k} Ltd"),
        );
        if k <= 6 {
            let id = s.insert_placement(SimPlacement {
                id: 0,
                organisation_id: CENTRE,
                name: format!("Employer {k} Ltd"),
                mis_id: Some(format!("EMP{k}")),
                address: None,
                active: true,
            });
            org.additional_id = Some(id.to_string());
        }
        organisations.push(org);
    }

    let mut standards = Vec::new();
    for (n, code) in CODES.iter().enumerate() {
        let pathways = if n == 4 {
            vec![
                SimPathway {
                    id: 0,
                    name: "Route A".into(),
                },
                SimPathway {
                    id: 0,
                    name: "Route B".into(),
                },
            ]
        } else {
            vec![SimPathway {
                id: 0,
                name: "Core".into(),
            }]
        };
        let id = s.insert_standard(SimStandard {
            id: 0,
            organisation_id: CENTRE,
            code: (*code).to_string(),
            title: format!("Apprenticeship standard {}", n + 1),
            pathways,
            total_elements: Some(40),
        });
        standards.push(id);
    }
    // give pathways their own ids
    for st in s.standards.values_mut() {
        for (k, p) in st.pathways.iter_mut().enumerate() {
            p.id = st.id * 10 + k as i64 + 1;
        }
    }

    let start = d(2024, 9, 2);
    let mut pics = Vec::with_capacity(learners);
    for i in 0..learners {
        let mut l = SimLearner::new(learner_id(i), ident(i));
        l.demographics.first_name = Some(format!("Learner{i}"));
        l.demographics.surname =
            Some(["Smith", "Jones", "Patel", "Nowak", "O'Brien"][i % 5].to_string());
        l.demographics.email = Some(format!("learner{i}@example.org"));
        l.demographics.telephone = (i % 3 == 0).then(|| format!("0161 555 {:04}", i % 10_000));
        l.demographics.date_of_birth = Some(d(
            2000 + (i % 6) as i32,
            1 + (i % 12) as u32,
            1 + (i % 28) as u32,
        ));
        l.demographics.uln = Some(format!("{:010}", 1_000_000_000 + i));
        l.demographics.start_date = Some(start);
        l.demographics.planned_end_date = Some(d(2026, 3, 31));
        l.main_officer_id = Some(format!("off-{}", 1 + i % 6));
        l.main_tag = (i % 4 == 0).then(|| "Evening group".to_string());
        l.officers = vec![SimLearnerOfficer {
            officer_id: format!("off-{}", 1 + (i + 3) % 8),
            role: Some("IQA".into()),
        }];
        l.placements = vec![crate::pics::SimPlacement {
            organisation_id: format!("org-{}", 1 + i % 10),
            type_: Some("P".into()),
            start_date: Some(start),
        }];
        // scope (R3)
        match i % 40 {
            7 => l.system_status = Some("Dormant".into()),
            13 => {
                l.episode_status = Some("Ended".into());
                l.actual_end_date = Some(today - Duration::days(90));
            }
            21 => {
                l.episode_status = Some("Ended".into());
                l.actual_end_date = Some(today - Duration::days(10));
            }
            _ => {}
        }
        let unlinked = i % 10 == 9;
        let quals = 1 + i % 3;
        for q in 0..quals {
            let code_ix = (i + q) % 4; // ST0001–ST0004: one pathway each
            let mut pq = SimQualification::new(format!("{}-q{q}", learner_id(i)), CODES[code_ix]);
            pq.title = Some(format!("Standard {}", code_ix + 1));
            pq.start_date = Some(start);
            pq.assessor_officer_id = Some(format!("off-{}", 1 + (i + q) % 8));
            pq.has_units = (i + q) % 5 == 0;
            pq.total_elements = Some(40);
            pq.elements_done = Some(((i + q) % 20) as i64);
            l.qualifications.push(pq);
        }
        if i % 6 == 0 {
            // a qualification no OneFile learning aim matches (R8)
            l.qualifications.push(SimQualification::new(
                format!("{}-qx", learner_id(i)),
                "ST0009",
            ));
        }

        // reviews in every state
        let future = at(today + Duration::days(7 + (i % 20) as i64), 10);
        let past = at(today - Duration::days(30 + (i % 20) as i64), 14);
        let mut eligible = crate::pics::SimReview::normal(format!("{}-r1", learner_id(i)), future);
        eligible.reviewer_officer_id = (i % 2 == 0).then(|| format!("off-{}", 1 + i % 5));
        l.reviews.push(eligible);
        let mut attended = crate::pics::SimReview::normal(format!("{}-r2", learner_id(i)), past);
        attended.attended_value = Some("Attended".into());
        attended.actual_date_time = Some(past);
        l.reviews.push(attended);
        if i % 3 == 0 {
            let mut exit = crate::pics::SimReview::normal(
                format!("{}-r3", learner_id(i)),
                future + Duration::days(30),
            );
            exit.type_ = Some("Exit".into());
            l.reviews.push(exit);
        }
        if i % 4 == 1 {
            let mut dna = crate::pics::SimReview::normal(
                format!("{}-r4", learner_id(i)),
                past - Duration::days(14),
            );
            dna.attended_value = Some("DidNotAttend".into());
            l.reviews.push(dna);
        }

        if unlinked {
            info.unlinked.push(learner_id(i));
            pics.push(l);
            continue;
        }

        // The OneFile side of a linked learner.
        let mut u = SimUser::learner(
            CENTRE,
            &format!("Learner{i}"),
            l.demographics.surname.as_deref().unwrap_or(""),
            &ident(i),
        );
        u.demographics.email = Some(format!("learner{i}@example.org"));
        u.demographics.date_of_birth = l.demographics.date_of_birth;
        u.demographics.uln = l.demographics.uln.clone();
        u.demographics.start_date = Some(start);
        u.demographics.planned_end_date = l.demographics.planned_end_date;
        u.classroom_id = Some(classroom);
        u.default_assessor_id = assessor_of[i % 6].or(assessor_of[0]);
        if i % 11 == 0 {
            u.demographics.telephone = Some("07700 900123".into()); // differs from PICS: only R32 cares
        }
        let uid = s.insert_user(u);
        l.one_file_id = Some(uid);
        info.onefile_ids.insert(learner_id(i), uid);

        let quals_len = l.qualifications.len();
        for (q, pq) in l.qualifications.iter_mut().enumerate() {
            let Some(code) = pq.vq_reference.clone() else {
                continue;
            };
            let Some(code_ix) = CODES.iter().position(|c| *c == code) else {
                continue;
            };
            // the newest qualification of some learners is not assigned in OneFile yet (R37)
            if q + 1 == quals_len && quals_len > 1 && i % 8 == 3 {
                continue;
            }
            let mut a = SimLearningAim {
                user_id: uid,
                standard_id: standards[code_ix],
                start_date: Some(start),
                total_elements: Some(40),
                elements_done: Some(((i + q) % 20) as i64 + (i % 3) as i64),
                ..Default::default()
            };
            // registration and certification in every blank/set combination (R25–R28)
            let reg = format!("REG-{i}-{q}");
            match (i + q) % 6 {
                0 => {}
                1 => pq.registration_number = Some(reg.clone()),
                2 => a.registration_number = Some(reg.clone()),
                3 => {
                    pq.registration_number = Some(reg.clone());
                    a.registration_number = Some(reg.clone());
                }
                4 => {
                    pq.registration_number = Some(format!("{reg}-PICS"));
                    a.registration_number = Some(format!("{reg}-OF"));
                }
                _ => pq.registration_number = Some(String::new()),
            }
            match (i + q) % 5 {
                0 => pq.registration_date = Some(d(2024, 10, 1)),
                1 => a.registration_date = Some(d(2024, 6, 1)), // a BST date: stored as 31 May 23:00Z
                2 => {
                    pq.certificate_applied_for_date = Some(d(2025, 7, 1));
                    a.certificate_applied_date = Some(d(2025, 7, 2));
                }
                3 => a.certificate_received_date = Some(d(2025, 8, 15)),
                _ => {}
            }
            let id = s.insert_learning_aim(a);
            pq.one_file_learning_aim_id = Some(id);
        }

        // OneFile reviews: one already linked with PICS (started in OneFile for some), one made in
        // OneFile that PICS lacks (R21).
        let sched = Utc
            .with_ymd_and_hms(2025, 1, 15, 10, 0, 0)
            .single()
            .unwrap_or_default()
            + Duration::days((i % 30) as i64);
        let linked_review = s.insert_review(SimReview {
            learner_id: uid,
            assessor_id: assessor_of[i % 5],
            status: 1,
            scheduled_for: Some(sched),
            // OneFile's event times carry milliseconds (`…33.150Z`); PICS keeps
            // whole seconds (R22/R40)
            started_on: (i % 2 == 0)
                .then_some(sched + Duration::minutes(5) + Duration::milliseconds(12_347)),
            ..Default::default()
        });
        let mut linked = crate::pics::SimReview::normal(
            format!("{}-r5", learner_id(i)),
            picsync_domain_free::london(sched),
        );
        linked.one_file_system_id = Some(linked_review);
        linked.reviewer_officer_id = Some(format!("off-{}", 1 + i % 5));
        l.reviews.push(linked);
        if i % 5 == 2 {
            s.insert_review(SimReview {
                learner_id: uid,
                assessor_id: assessor_of[(i + 1) % 5],
                status: 1,
                scheduled_for: Some(sched + Duration::days(14) + Duration::milliseconds(33_150)),
                ..Default::default()
            });
        }
        match i % 40 {
            7 | 13 => info.out_of_scope.push(learner_id(i)),
            _ => info.in_scope.push(learner_id(i)),
        }
        pics.push(l);
    }

    // R12 and R14 cases among the unlinked learners.
    if let Some(first) = info.unlinked.first().cloned() {
        let n: usize = first[4..].parse().unwrap_or_default();
        let mut a = SimUser::learner(CENTRE, "Old", "Record", &ident(n));
        a.archived = true;
        s.insert_user(a);
        s.insert_user(SimUser::learner(CENTRE, "New", "Record", &ident(n)));
        info.duplicate_mis = Some(first);
    }
    if let Some(second) = info.unlinked.get(1).cloned() {
        let n: usize = second[4..].parse().unwrap_or_default();
        let mut u = SimUser::learner(CENTRE, &format!("Learner{n}"), "Existing", &ident(n));
        u.demographics.email = Some(format!("learner{n}@example.org"));
        s.insert_user(u);
        info.existing_mis = Some(second);
    }

    World {
        onefile: s,
        pics_learners: pics,
        officers,
        organisations,
        info,
    }
}

/// Europe/London wall clock of an instant, without depending on the domain crate.
mod picsync_domain_free {
    use chrono::{DateTime, NaiveDateTime, Utc};
    use chrono_tz::Europe::London;

    pub(super) fn london(t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&London).naive_local()
    }
}

/// Today in Europe/London.
pub fn today() -> NaiveDate {
    picsync_domain_free::london(Utc::now()).date()
}

/// The clock of a test whose world is seeded for `today`: the real time (the simulators stamp
/// their records with it) until London midnight, and `today`'s last millisecond after it, so
/// that a test running across midnight sees one today and does not sync a world seeded for
/// yesterday as of tomorrow (issue 15 item 5). An engine takes it as its clock
/// (`Arc::new(clock_of_day(today))`).
pub fn clock_of_day(today: NaiveDate) -> impl Fn() -> DateTime<Utc> + Send + Sync + 'static {
    let last = picsync_domain::time::last_instant_of(today);
    move || Utc::now().min(last)
}

/// Both simulators, started on 127.0.0.1 with the world seeded.
pub struct Running {
    pub onefile: crate::onefile::OneFileSim,
    pub pics: crate::pics::PicsSim,
    pub info: WorldInfo,
}

impl Running {
    /// A qualification of PICS learner `learner` linked to a OneFile learning aim that exists:
    /// its id and the aim's (what the benchmarks edit on either side).
    pub fn linked_aim(&self, learner: &str) -> Option<(String, i64)> {
        self.pics
            .learner(learner)?
            .qualifications
            .iter()
            .find_map(|q| {
                let aim = q.one_file_learning_aim_id?;
                self.onefile
                    .read(|s| s.learning_aims.contains_key(&aim))
                    .then(|| (q.qualification_id.clone(), aim))
            })
    }
}

/// Starts both simulators seeded with [`build`]. `rate` is OneFile's limit per window.
///
/// Whether a change to a learner's reviews or learning aims moves the learner's LastModified in
/// OneFile is undocumented; the world's OneFile does move it (§6 covers the other case with
/// its periodic full comparison, which tests switch on with
/// `Quirks::child_changes_touch_learner = false`).
pub async fn start(
    learners: usize,
    today: NaiveDate,
    rate: (u32, std::time::Duration),
) -> std::io::Result<Running> {
    let w = build(learners, today);
    let quirks = crate::onefile::Quirks {
        child_changes_touch_learner: true,
        ..Default::default()
    };
    let onefile = crate::onefile::OneFileSim::builder()
        .customer_token(ONEFILE_TOKEN)
        .quirks(quirks)
        .rate_limit(rate.0, rate.1)
        .seed(move |s| *s = w.onefile)
        .try_start()
        .await?;
    let pics = crate::pics::PicsSim::builder()
        .credentials(PICS_USERNAME, PICS_PASSWORD)
        .officers(w.officers)
        .organisations(w.organisations)
        .learners(w.pics_learners)
        .start()
        .await?;
    Ok(Running {
        onefile,
        pics,
        info: w.info,
    })
}

#[cfg(test)]
mod clock_tests {
    use super::*;

    #[test]
    fn a_days_clock_stops_at_its_last_millisecond_and_is_the_real_time_before() {
        let today = today();
        let yesterday = today.pred_opt().unwrap();
        let held = clock_of_day(yesterday)();
        assert_eq!(
            picsync_domain_free::london(held),
            at(today, 0) - Duration::milliseconds(1)
        );
        assert_eq!(picsync_domain_free::london(held).date(), yesterday);
        let before = Utc::now();
        let t = clock_of_day(today.succ_opt().unwrap())();
        assert!(
            before <= t && t <= Utc::now(),
            "the real time before the day ends: {t}"
        );
        // a summer and a winter midnight: London is UTC+1, then UTC+0
        let summer = d(2026, 7, 1);
        let winter = d(2026, 12, 1);
        for (day, offset_h) in [(summer, 1), (winter, 0)] {
            let held = clock_of_day(day)();
            let midnight = Utc.from_utc_datetime(&at(day.succ_opt().unwrap(), 0));
            assert_eq!(
                held,
                midnight - Duration::hours(offset_h) - Duration::milliseconds(1)
            );
        }
    }
}
