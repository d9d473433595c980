#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package
//! `plan()` for a realistic learner: 5 qualifications, 20 reviews on each side, every kind of
//! change present (progress, registration and certification, uploads, downloads, demographics).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

#[path = "../tests/common/mod.rs"]
mod common;
use common::*;

use picsync_domain::settings::Direction;
use picsync_domain::*;

fn realistic() -> (LearnerView, Ctx) {
    let mut v = view();
    for i in 0..4 {
        v.officers.push(officer(&format!("X{i}"), Some(510 + i)));
        v.assessors.push(assessor(510 + i, "A", "B"));
    }
    for i in 0..5i64 {
        let code = format!("ST{i:04}");
        let mut q = qual(&format!("Q{i}"), &code, Some(700 + i));
        q.total_elements = Some(10);
        q.elements_done = Some(i);
        q.cert.registration_number = (i % 2 == 0).then(|| format!("REG{i}"));
        q.cert.registration_date = Some(d(2024, 1, 1 + i as u32));
        v.pics.qualifications.push(q);
        let mut a = aim(700 + i, &code);
        a.total_elements = Some(12);
        a.elements_done = Some(i + 1);
        a.cert.registration_number = (i % 3 == 0).then(|| format!("OF{i}"));
        a.cert.certificate_applied_for = Some(d(2024, 5, 1 + i as u32));
        v.onefile.aims.push(a);
    }
    for i in 0..20i64 {
        let day = 1 + (i as u32 % 28);
        let mut r = review(
            &format!("R{i}"),
            Some(dt(2024, 1 + (i as u32 % 12), day, 10, 0)),
        );
        if i < 12 {
            r.onefile_id = Some(OfReviewId(900 + i));
            r.reviewer = Some(OfficerId::from("O1"));
        }
        v.pics.reviews.push(r);
        let mut o = of_review(
            900 + i,
            Some(500 + (i % 3)),
            Some(utc(2024, 1 + (i as u32 % 12), day, 9, 0)),
        );
        if i % 4 == 0 {
            o.started_on = o.scheduled_for;
        }
        v.onefile.reviews.push(o);
    }
    let mut c = Ctx::default();
    c.settings.learner_demographics = Direction::Push;
    c.settings.officer_demographics = Direction::Pull;
    (v, c)
}

fn bench(c: &mut Criterion) {
    let (v, ctx) = realistic();
    let p = ctx.plan(&v);
    assert!(
        p.len() > 10,
        "the bench learner has work to plan: {}",
        p.len()
    );
    c.bench_function("plan/5 qualifications, 20+20 reviews", |b| {
        b.iter(|| ctx.plan(black_box(&v)));
    });
    let mut settled = v.clone();
    picsync_domain::apply::apply(&p, &mut settled).expect("applies");
    c.bench_function("plan/same learner, nothing to do", |b| {
        b.iter(|| ctx.plan(black_box(&settled)));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
