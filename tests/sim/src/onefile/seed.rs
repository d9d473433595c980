//! A realistic centre in one call, for scenario tests, the demo and benchmarks: assessors, a
//! classroom, employers, standards with pathways, learners with learning aims and reviews.
//! Deterministic: the same arguments give the same records.

use chrono::{Duration, NaiveDate, TimeZone, Utc};

use super::store::{
    SimClassroom, SimLearningAim, SimPathway, SimPlacement, SimReview, SimStandard, SimUser, Store,
};

/// The ids of what [`Store::populate`] created.
#[derive(Debug, Clone, Default)]
pub struct Population {
    /// The centre.
    pub centre_id: i64,
    /// Assessors (one per 50 learners, at least one).
    pub assessor_ids: Vec<i64>,
    /// The classroom.
    pub classroom_id: i64,
    /// Employers (placements; one per 100 learners, at least one).
    pub placement_ids: Vec<i64>,
    /// Standards, one per learning aim a learner holds (codes `ST0001`, …).
    pub standard_ids: Vec<i64>,
    /// Learners (MIS values `L00001`, …).
    pub learner_ids: Vec<i64>,
}

impl Store {
    /// Adds a centre named `name` with `learners` learners, each holding `aims_each` learning
    /// aims and `reviews_each` reviews.
    pub fn populate(
        &mut self,
        name: &str,
        learners: usize,
        aims_each: usize,
        reviews_each: usize,
    ) -> Population {
        let centre_id = self.add_centre(name);
        let assessor_ids: Vec<i64> = (0..learners.div_ceil(50).max(1))
            .map(|i| self.insert_user(SimUser::assessor(centre_id, "Assessor", &format!("No{i}"))))
            .collect();
        let classroom_id = self.insert_classroom(SimClassroom {
            id: 0,
            organisation_id: centre_id,
            name: format!("{name} classroom"),
            mis_id: None,
        });
        let placement_ids: Vec<i64> = (0..learners.div_ceil(100).max(1))
            .map(|i| {
                self.insert_placement(SimPlacement {
                    id: 0,
                    organisation_id: centre_id,
                    name: format!("Employer {i}"),
                    mis_id: Some(format!("E{i:04}")),
                    address: None,
                    active: true,
                })
            })
            .collect();
        let standard_ids: Vec<i64> = (0..aims_each)
            .map(|i| {
                self.insert_standard(SimStandard {
                    id: 0,
                    organisation_id: centre_id,
                    code: format!("ST{:04}", i + 1),
                    title: format!("Standard {}", i + 1),
                    pathways: vec![SimPathway {
                        id: 0,
                        name: "Core".into(),
                    }],
                    total_elements: Some(40),
                })
            })
            .collect();
        let start = NaiveDate::from_ymd_opt(2024, 9, 2).unwrap_or_default();
        let first_review = Utc
            .with_ymd_and_hms(2024, 10, 1, 9, 0, 0)
            .single()
            .unwrap_or_default();
        let mut learner_ids = Vec::with_capacity(learners);
        for n in 0..learners {
            let assessor = assessor_ids[n % assessor_ids.len()];
            let mut u = SimUser::learner(
                centre_id,
                "Learner",
                &format!("No{n}"),
                &format!("L{:05}", n + 1),
            );
            u.default_assessor_id = Some(assessor);
            u.classroom_id = Some(classroom_id);
            u.placement_id = Some(placement_ids[n % placement_ids.len()]);
            u.demographics.start_date = Some(start);
            u.demographics.planned_end_date = start.checked_add_signed(Duration::days(540));
            u.demographics.date_of_birth = NaiveDate::from_ymd_opt(
                2000 + (n % 8) as i32,
                1 + (n % 12) as u32,
                1 + (n % 28) as u32,
            );
            let id = self.insert_user(u);
            for (i, s) in standard_ids.iter().enumerate() {
                self.insert_learning_aim(SimLearningAim {
                    user_id: id,
                    standard_id: *s,
                    start_date: Some(start),
                    status: Some(1),
                    total_elements: Some(40),
                    elements_done: Some(((n + i) % 41) as i64),
                    ..SimLearningAim::default()
                });
            }
            for r in 0..reviews_each {
                let when = first_review + Duration::weeks(4 * r as i64);
                self.insert_review(SimReview {
                    learner_id: id,
                    assessor_id: Some(assessor),
                    status: 1,
                    scheduled_for: Some(when),
                    ..SimReview::default()
                });
            }
            learner_ids.push(id);
        }
        Population {
            centre_id,
            assessor_ids,
            classroom_id,
            placement_ids,
            standard_ids,
            learner_ids,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn populates_2000_learners_quickly() {
        let t = std::time::Instant::now();
        let mut s = Store::default();
        let p = s.populate("Big", 2000, 5, 20);
        assert_eq!(p.learner_ids.len(), 2000);
        assert_eq!(s.learning_aims.len(), 10_000);
        assert_eq!(s.reviews.len(), 40_000);
        assert_eq!(p.assessor_ids.len(), 40);
        assert_eq!(s.learning_aims_of(p.learner_ids[7]).len(), 5);
        assert_eq!(s.users_with_mis_id("L00008").len(), 1);
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t.elapsed()
        );
    }
}
