//! Paging that cannot silently lose records, against the simulator over real HTTP.

use std::collections::BTreeSet;

use crate::common::{client, config, world};
use picsync_domain::{OfCentreId, OfReviewId, OfUserId};
use picsync_onefile::{OneFileClient, ReviewSearch, UserSearch, role};
use picsync_sim::onefile::{OneFileSim, Quirks};

fn learners(centre: i64) -> UserSearch {
    UserSearch::new(OfCentreId(centre), role::LEARNER)
}

#[tokio::test]
async fn paging_across_a_server_cap_of_50_when_asking_for_100_loses_nothing() {
    let w = world(
        OneFileSim::builder().quirks(Quirks {
            page_size_cap: Some(50),
            ..Quirks::default()
        }),
        230,
    )
    .await;
    let c = client(&w.sim); // asks 100 a page
    let got: BTreeSet<i64> = c
        .search_users(&learners(w.pop.centre_id))
        .await
        .unwrap()
        .iter()
        .map(|u| u.id.0)
        .collect();
    let want: BTreeSet<i64> = w.pop.learner_ids.iter().copied().collect();
    assert_eq!(got, want);
    // 50 (short of 100: maybe the cap) → 50 more (the cap, learnt) → 50, 50, 30 (the end)
    assert_eq!(w.sim.counters().get("POST /user/search"), 5);

    // once learnt, the cap costs no extra call: 230 = 50·4 + 30 → 5 calls again, and a
    // smaller centre's single short page ends at once
    let again = c.search_users(&learners(w.pop.centre_id)).await.unwrap();
    assert_eq!(again.len(), 230);
    assert_eq!(w.sim.counters().get("POST /user/search"), 10);
}

#[tokio::test]
async fn without_a_cap_a_short_page_from_a_server_seen_serving_full_pages_ends_the_search() {
    let w = world(OneFileSim::builder(), 230).await;
    let c = client(&w.sim);
    assert_eq!(
        c.search_users(&learners(w.pop.centre_id))
            .await
            .unwrap()
            .len(),
        230
    );
    assert_eq!(
        w.sim.counters().get("POST /user/search"),
        3,
        "100 + 100 + 30"
    );
    // the assessors (5 of them) now come back in a single call
    let assessors = c
        .search_users(&UserSearch::new(w.centre(), role::ASSESSOR))
        .await
        .unwrap();
    assert_eq!(assessors.len(), 5);
    assert_eq!(w.sim.counters().get("POST /user/search"), 4);
}

#[tokio::test]
async fn an_exact_multiple_of_the_page_size_ends_on_a_204() {
    let w = world(
        OneFileSim::builder().quirks(Quirks {
            empty_as_204: true,
            ..Quirks::default()
        }),
        200,
    )
    .await;
    let c = client(&w.sim);
    assert_eq!(
        c.search_users(&learners(w.pop.centre_id))
            .await
            .unwrap()
            .len(),
        200
    );
    assert_eq!(
        w.sim.counters().get("POST /user/search"),
        3,
        "100 + 100 + 204"
    );
}

#[tokio::test]
async fn a_small_configured_page_size_pages_through_everything() {
    let w = world(OneFileSim::builder(), 23).await;
    let mut cfg = config(&w.sim);
    cfg.page_size = 5;
    let c = OneFileClient::new(cfg, crate::common::unpaced()).unwrap();
    let got = c.search_users(&learners(w.pop.centre_id)).await.unwrap();
    assert_eq!(got.len(), 23);
    // reviews of the whole centre page too (3 each)
    let reviews = c
        .search_reviews(&ReviewSearch {
            organisation_id: Some(w.centre()),
            ..ReviewSearch::default()
        })
        .await
        .unwrap();
    assert_eq!(reviews.len(), 69);
}

#[tokio::test]
async fn last_modified_filter_returns_changed_users_and_archived_ones_are_included() {
    let w = world(OneFileSim::builder(), 10).await;
    let c = client(&w.sim);
    let since = w.sim.read(|s| {
        s.users
            .values()
            .map(|u| u.last_modified)
            .max()
            .unwrap_or_default()
    }) + chrono::Duration::milliseconds(1);
    let changed = [w.pop.learner_ids[2], w.pop.learner_ids[7]];
    w.sim.edit(|e| {
        e.user(changed[0]).unwrap().demographics.telephone = Some("0161 000".into());
        assert!(e.archive_user(changed[1]));
    });
    let q = UserSearch {
        last_modified: Some(since),
        ..learners(w.pop.centre_id)
    };
    let got = c.search_users(&q).await.unwrap();
    let ids: Vec<i64> = got.iter().map(|u| u.id.0).collect();
    assert_eq!(ids, changed.to_vec());
    assert_eq!(got[1].archived, Some(true));
    // archived users remain in the full list
    assert_eq!(
        c.search_users(&learners(w.pop.centre_id))
            .await
            .unwrap()
            .len(),
        10
    );
}

/// Issue 16: the centre-wide review read pages by `OrganisationID` (across the server's cap),
/// keeps only reviews of the centre's learners whatever the server did with the filter, and
/// reports pages that repeat a record.
#[tokio::test]
async fn i16_centre_reviews_guard_every_owner_and_report_inconsistent_pages() {
    let (mut north, mut south) = Default::default();
    let sim = OneFileSim::builder()
        .quirks(Quirks {
            page_size_cap: Some(50),
            ..Quirks::default()
        })
        .seed(|s| {
            north = s.populate("North", 40, 1, 3);
            south = s.populate("South", 10, 1, 3);
        })
        .start()
        .await;
    let (north, south): (
        picsync_sim::onefile::Population,
        picsync_sim::onefile::Population,
    ) = (north, south);
    let c = client(&sim);
    let ours: std::collections::HashSet<OfUserId> =
        north.learner_ids.iter().copied().map(OfUserId).collect();
    let want: BTreeSet<OfReviewId> = sim.read(|s| {
        s.reviews
            .values()
            .filter(|r| ours.contains(&OfUserId(r.learner_id)))
            .map(|r| OfReviewId(r.id))
            .collect()
    });
    assert_eq!(want.len(), 120);
    let ids = |r: &picsync_onefile::CentreReviews| -> BTreeSet<OfReviewId> {
        r.reviews.iter().map(|x| x.id).collect()
    };

    let read = c
        .centre_reviews(OfCentreId(north.centre_id), &ours)
        .await
        .unwrap();
    assert_eq!(ids(&read), want);
    assert_eq!((read.foreign, read.unowned), (0, 0));
    assert!(read.paging.consistent(), "{:?}", read.paging);
    assert_eq!(
        read.paging.pages, 3,
        "50 (maybe the cap), 50 (the cap, learnt), 20 (the end)"
    );

    // a learner left out of the centre's learners: its reviews are dropped
    let mut fewer = ours.clone();
    fewer.remove(&OfUserId(north.learner_ids[0]));
    let read = c
        .centre_reviews(OfCentreId(north.centre_id), &fewer)
        .await
        .unwrap();
    assert_eq!((read.reviews.len(), read.foreign), (117, 3));

    // the server ignores the centre filter: the other centre's reviews are dropped
    sim.set_quirks(Quirks {
        ignore_review_organisation_filter: true,
        ..sim.quirks()
    });
    let read = c
        .centre_reviews(OfCentreId(north.centre_id), &ours)
        .await
        .unwrap();
    assert_eq!(ids(&read), want);
    assert_eq!(read.foreign, 30);
    assert_eq!(read.served, 150);
    assert!(!south.learner_ids.is_empty());

    // overlapping pages: nothing lost or doubled, but the read says so
    sim.set_quirks(Quirks {
        ignore_review_organisation_filter: false,
        review_pages_overlap: true,
        ..sim.quirks()
    });
    let read = c
        .centre_reviews(OfCentreId(north.centre_id), &ours)
        .await
        .unwrap();
    assert_eq!(ids(&read), want);
    assert_eq!(read.reviews.len(), 120);
    assert!(!read.paging.consistent());
    assert!(read.paging.repeated >= 1, "{:?}", read.paging);
}
