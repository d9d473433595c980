//! Learner listing against the simulator: paging, `modifiedSince`, `oneFileLinked`.

use crate::common::*;
use picsync_pics::LearnerQuery;

#[tokio::test]
async fn paging_reads_every_learner_across_several_pages() {
    let sim = builder()
        .learners((0..25).map(|i| learner(i, true)))
        .start()
        .await
        .unwrap();
    let mut cfg = config(&sim);
    cfg.page_size = 7;
    let c = picsync_pics::PicsClient::new(cfg).unwrap();
    let all = c.list_learners(&LearnerQuery::default()).await.unwrap();
    let ids: Vec<String> = all.iter().map(|l| l.learner_id.to_string()).collect();
    let want: Vec<String> = (0..25).map(|i| format!("L-{i:05}")).collect();
    assert_eq!(ids, want);
    assert_eq!(all[3].one_file_id, Some(picsync_domain::OfUserId(1003)));
    assert_eq!(all[3].ident, "ID00003");
    assert_eq!(all[3].system_status.as_deref(), Some("Live"));
    assert!(all[3].last_modified.is_some());
    // 7 + 7 + 7 + 4: four pages, no extra call once TotalCount is reached
    assert_eq!(sim.counters().get("GET /learners"), 4);
}

#[tokio::test]
async fn paging_loses_nothing_when_the_server_caps_the_page_size() {
    let sim = builder()
        .learners((0..23).map(|i| learner(i, true)))
        .page_size_cap(5)
        .start()
        .await
        .unwrap();
    let mut cfg = config(&sim);
    cfg.page_size = 20;
    let c = picsync_pics::PicsClient::new(cfg).unwrap();
    let all = c.list_learners(&LearnerQuery::default()).await.unwrap();
    assert_eq!(all.len(), 23);
    assert_eq!(sim.counters().get("GET /learners"), 5);
}

#[tokio::test]
async fn an_empty_listing_is_one_call() {
    let sim = builder().start().await.unwrap();
    let c = client(&sim);
    assert!(
        c.list_learners(&LearnerQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(sim.counters().get("GET /learners"), 1);
}

#[tokio::test]
async fn modified_since_is_honoured_inclusively() {
    let stamp = |i, t| picsync_sim::pics::SimLearner {
        last_modified: Some(t),
        ..learner(i, true)
    };
    let sim = builder()
        .learner(stamp(1, dt(2024, 1, 1, 9, 0, 0)))
        .learner(stamp(2, dt(2024, 3, 1, 9, 0, 0)))
        .learner(stamp(
            3,
            dt(2024, 3, 1, 9, 0, 0) + chrono::Duration::milliseconds(500),
        ))
        .learner(stamp(4, dt(2024, 6, 1, 12, 0, 0)))
        .start()
        .await
        .unwrap();
    let c = client(&sim);
    let ids = |v: Vec<picsync_pics::LearnerSummary>| {
        v.into_iter().map(|l| l.learner_id).collect::<Vec<_>>()
    };
    let since = LearnerQuery::linked(Some(dt(2024, 3, 1, 9, 0, 0)));
    assert_eq!(
        ids(c.list_learners(&since).await.unwrap()),
        ["L-00002", "L-00003", "L-00004"]
    );
    // a fraction of a second in the cursor is sent truncated: never misses a learner
    let since = LearnerQuery::linked(Some(
        dt(2024, 3, 1, 9, 0, 0) + chrono::Duration::milliseconds(200),
    ));
    assert_eq!(ids(c.list_learners(&since).await.unwrap()).len(), 3);
    let since = LearnerQuery::linked(Some(dt(2024, 7, 1, 0, 0, 0)));
    assert!(c.list_learners(&since).await.unwrap().is_empty());
    // a user changes learner 1: it is now modified since July
    sim.edit(|s| {
        s.learner_mut("L-00001").unwrap().demographics.mobile = Some("07700 900123".into());
    });
    assert_eq!(ids(c.list_learners(&since).await.unwrap()), ["L-00001"]);
}

#[tokio::test]
async fn one_file_linked_filters_both_ways() {
    let sim = builder()
        .learners((0..12).map(|i| learner(i, i % 3 == 0)))
        .start()
        .await
        .unwrap();
    let c = client(&sim);
    let linked = c.list_learners(&LearnerQuery::linked(None)).await.unwrap();
    assert_eq!(linked.len(), 4);
    assert!(linked.iter().all(|l| l.one_file_id.is_some()));
    let unlinked = c
        .list_learners(&LearnerQuery {
            one_file_linked: Some(false),
            modified_since: None,
        })
        .await
        .unwrap();
    assert_eq!(unlinked.len(), 8);
    assert!(unlinked.iter().all(|l| l.one_file_id.is_none()));
}

#[tokio::test]
async fn a_fault_on_a_middle_page_is_retried_and_the_listing_completes() {
    use picsync_sim::faults::Fault;
    use std::time::Duration;
    let sim = builder()
        .learners((0..30).map(|i| learner(i, true)))
        .start()
        .await
        .unwrap();
    let c = client(&sim);
    let clean = c.list_learners(&LearnerQuery::default()).await.unwrap();
    // page 1 passes (a zero delay), page 2 is reset, then truncated, then served
    sim.faults().script(
        "GET /learners",
        [Fault::Delay(Duration::ZERO), Fault::Reset, Fault::Truncated],
    );
    let again = c.list_learners(&LearnerQuery::default()).await.unwrap();
    assert_eq!(clean.len(), 30);
    assert_eq!(clean, again);
    assert_eq!(sim.faults().injected(), 3);
    // 3 pages clean, then 3 pages + 2 retries
    assert_eq!(sim.counters().get("GET /learners"), 3 + 5);
}
