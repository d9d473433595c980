//! Realistic edits between two runs: a share of the learners changed by people, on both sides,
//! in the four ways the sync carries most often.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use picsync_sim::world;

/// The kinds of edit, applied in turn to the chosen learners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Edit {
    /// PICS: a registration number typed in (R26/R27).
    PicsRegistration,
    /// PICS: a new Normal review booked (R17, R20: uploaded to OneFile).
    PicsReviewBooked,
    /// OneFile: a review started, or rescheduled when all have started (R21/R22: downloaded
    /// to PICS).
    OneFileReview,
    /// OneFile: progress on a learning aim (R23).
    OneFileProgress,
}

impl Edit {
    const ALL: [Edit; 4] = [
        Edit::PicsRegistration,
        Edit::PicsReviewBooked,
        Edit::OneFileReview,
        Edit::OneFileProgress,
    ];

    /// How the report names it.
    pub(super) fn describe(self) -> &'static str {
        match self {
            Edit::PicsRegistration => "PICS: registration number typed in",
            Edit::PicsReviewBooked => "PICS: new review booked",
            Edit::OneFileReview => "OneFile: review started or rescheduled",
            Edit::OneFileProgress => "OneFile: progress on a learning aim",
        }
    }
}

/// `n` learners spread evenly over `pool` (every k-th), so edits are not bunched at the start.
pub(super) fn pick(pool: &[String], n: usize) -> Vec<String> {
    if n == 0 || pool.is_empty() {
        return Vec::new();
    }
    let n = n.min(pool.len());
    (0..n).map(|k| pool[k * pool.len() / n].clone()).collect()
}

/// Edits each of `learners` once, cycling through the kinds. Returns the edits made per kind
/// (an edit that finds nothing to change is not counted).
pub(super) fn apply(
    sims: &world::Running,
    learners: &[String],
    today: NaiveDate,
) -> BTreeMap<Edit, usize> {
    let mut done = BTreeMap::new();
    for (k, id) in learners.iter().enumerate() {
        let edit = Edit::ALL[k % Edit::ALL.len()];
        if one(sims, id, edit, today) {
            *done.entry(edit).or_insert(0) += 1;
        }
    }
    done
}

fn one(sims: &world::Running, id: &str, edit: Edit, today: NaiveDate) -> bool {
    let uid = sims.info.onefile_ids.get(id).copied();
    match (edit, uid) {
        (Edit::PicsRegistration, _) => sims
            .pics
            .edit(|s| {
                let q = s.learner_mut(id)?.qualifications.first_mut()?;
                q.registration_number = Some(format!("BENCH-{id}"));
                Some(())
            })
            .is_some(),
        (Edit::PicsReviewBooked, _) => sims
            .pics
            .edit(|s| {
                let when = (today + Duration::days(28)).and_hms_opt(9, 30, 0)?;
                let l = s.learner_mut(id)?;
                l.reviews.push(picsync_sim::pics::SimReview::normal(
                    format!("{id}-bench"),
                    when,
                ));
                Some(())
            })
            .is_some(),
        (Edit::OneFileReview, Some(uid)) => sims
            .onefile
            .edit(|e| {
                let reviews = e.store().reviews_of(uid);
                let unstarted = reviews
                    .iter()
                    .find(|r| r.started_on.is_none())
                    .map(|r| r.id);
                let any = reviews.first().map(|r| r.id);
                let r = e.review(unstarted.or(any)?)?;
                let scheduled = r.scheduled_for?;
                if unstarted.is_some() {
                    r.started_on = Some(scheduled + Duration::minutes(4));
                } else {
                    r.scheduled_for = Some(scheduled + Duration::days(1));
                }
                Some(())
            })
            .is_some(),
        (Edit::OneFileProgress, Some(uid)) => sims
            .onefile
            .edit(|e| {
                let aim = e.store().learning_aims_of(uid).first().map(|a| a.id)?;
                let a = e.learning_aim(aim)?;
                a.elements_done = Some(a.elements_done.unwrap_or(0) + 1);
                Some(())
            })
            .is_some(),
        (Edit::OneFileReview | Edit::OneFileProgress, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_spread_evenly_and_never_more_than_the_pool() {
        let pool: Vec<String> = (0..10).map(|i| format!("l{i}")).collect();
        assert_eq!(pick(&pool, 2), vec!["l0", "l5"]);
        assert_eq!(pick(&pool, 20).len(), 10);
        assert!(pick(&pool, 0).is_empty());
        assert!(pick(&[], 3).is_empty());
    }

    /// Every kind of edit finds something to change in the world and moves the learner's
    /// LastModified on its side, so that the periodic run sees it (§6).
    #[tokio::test]
    async fn every_kind_of_edit_changes_the_world() {
        let today = NaiveDate::from_ymd_opt(2025, 11, 3).unwrap();
        let sims = world::start(20, today, (300, std::time::Duration::from_secs(60)))
            .await
            .unwrap();
        let learners = pick(&sims.info.in_scope, 4);
        let before_pics: Vec<_> = learners
            .iter()
            .map(|l| sims.pics.learner(l).unwrap().last_modified)
            .collect();
        let before_of = sims.onefile.state();
        // both simulators stamp LastModified to the millisecond
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let done = apply(&sims, &learners, today);
        assert_eq!(done.values().sum::<usize>(), 4, "{done:?}");
        for (k, l) in learners.iter().enumerate().take(2) {
            assert_ne!(
                sims.pics.learner(l).unwrap().last_modified,
                before_pics[k],
                "{l}"
            );
        }
        let after_of = sims.onefile.state();
        for l in &learners[2..] {
            let uid = sims.info.onefile_ids[l];
            assert_ne!(
                before_of.users[&uid].last_modified, after_of.users[&uid].last_modified,
                "{l}"
            );
        }
    }
}
