//! Pacing and rate limits against the simulator over real HTTP (R35), with the window scaled
//! down from a minute to a fraction of a second.

use std::time::{Duration, Instant};

use crate::common::{client_with, config, world};
use picsync_http::RetryPolicy;
use picsync_onefile::{OneFileClient, OneFileError, Pacer};
use picsync_sim::onefile::{OneFileSim, Quirks};

const WINDOW: Duration = Duration::from_millis(600);

#[tokio::test]
async fn r35_eight_tasks_sharing_one_tenant_bucket_never_exceed_the_limit() {
    // The server admits 30 calls per 600 ms window; the tenant's pacer allows 28 (the same
    // margin as 280 of OneFile's 300 a minute). Eight tasks, each with its own client, share it.
    let w = world(OneFileSim::builder().rate_limit(30, WINDOW), 8).await;
    let pacer = Pacer::new(28, WINDOW);
    let started = Instant::now();
    let tasks: Vec<_> = w
        .pop
        .learner_ids
        .iter()
        .map(|learner| {
            let c = OneFileClient::new(config(&w.sim), pacer.clone()).unwrap();
            let learner = picsync_domain::OfUserId(*learner);
            tokio::spawn(async move {
                for _ in 0..10 {
                    assert_eq!(c.get_user(learner).await.unwrap().id, learner);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let calls = w.sim.counters().total();
    assert_eq!(calls, 80 + 8, "80 reads and one session per client");
    assert_eq!(
        pacer.calls(),
        calls,
        "every call went through the shared pacer"
    );
    assert_eq!(w.sim.rate_limited(), 0, "no 429 in any window");
    assert!(w.sim.peak_calls_in_window() <= 30);
    // 88 calls at 28 a window take a little over 3 windows: paced, not stalled
    let took = started.elapsed();
    assert!(took >= WINDOW * 3, "{took:?}");
    assert!(took < WINDOW * 8, "{took:?}");
}

#[tokio::test]
async fn a_429_without_retry_after_waits_until_the_window_has_rolled_over() {
    let w = world(
        OneFileSim::builder().rate_limit(5, WINDOW).quirks(Quirks {
            retry_after: false,
            ..Quirks::default()
        }),
        1,
    )
    .await;
    // An unpaced client: it will run into the limit.
    let c = client_with(config(&w.sim));
    let learner = w.learner(0);
    let started = Instant::now();
    for _ in 0..8 {
        c.get_user(learner).await.unwrap();
    }
    // auth + 4 reads fill the first window; the 5th read gets a 429 and waits a whole window
    // (plus jitter) — so its retry and the rest land in a fresh window without another 429.
    assert_eq!(w.sim.rate_limited(), 1);
    assert!(started.elapsed() >= WINDOW, "{:?}", started.elapsed());
    assert_eq!(
        w.sim.counters().get("GET /user/{id}"),
        9,
        "8 reads and one retry"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_honoured() {
    let w = world(OneFileSim::builder().rate_limit(5, WINDOW), 1).await;
    let mut cfg = config(&w.sim);
    // If Retry-After were ignored, the client would wait a whole (long) window.
    cfg.rate_window = Duration::from_secs(30);
    let c = client_with(cfg);
    let learner = w.learner(0);
    let started = Instant::now();
    for _ in 0..8 {
        c.get_user(learner).await.unwrap();
    }
    assert_eq!(w.sim.rate_limited(), 1);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(took >= WINDOW / 2, "it did wait for the window: {took:?}");
}

#[tokio::test]
async fn a_429_pauses_every_task_of_the_tenant_not_only_the_one_refused() {
    let w = world(
        OneFileSim::builder().rate_limit(3, WINDOW).quirks(Quirks {
            retry_after: false,
            ..Quirks::default()
        }),
        1,
    )
    .await;
    // One pacer for the tenant, far too generous for this server.
    let pacer = Pacer::new(1000, WINDOW);
    // Task A gives up at its first 429, so the test sees the moment it happens.
    let mut cfg_a = config(&w.sim);
    cfg_a.retry = RetryPolicy {
        max_attempts: 1,
        max_rate_limited: 0,
        ..RetryPolicy::fast()
    };
    let a = OneFileClient::new(cfg_a, pacer.clone()).unwrap();
    let mut refused = false;
    for _ in 0..5 {
        if let Err(e) = a.customer().await {
            assert!(matches!(e, OneFileError::RateLimited { .. }), "{e:?}");
            refused = true;
            break;
        }
    }
    assert!(refused, "task A reached the limit");
    // Task B, with its own client and session, has seen no 429 but must wait too.
    let b = OneFileClient::new(config(&w.sim), pacer.clone()).unwrap();
    let started = Instant::now();
    b.get_user(w.learner(0)).await.unwrap();
    assert!(
        started.elapsed() >= WINDOW * 9 / 10,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        w.sim.rate_limited(),
        1,
        "B never called into the full window"
    );
}

#[tokio::test]
async fn rate_limit_waits_are_bounded_and_then_surface_as_a_retryable_error() {
    let w = world(
        OneFileSim::builder()
            .rate_limit(2, Duration::from_secs(30))
            .quirks(Quirks {
                retry_after: false,
                ..Quirks::default()
            }),
        1,
    )
    .await;
    let mut cfg = config(&w.sim);
    cfg.rate_window = Duration::from_millis(20); // the client believes in a short window
    cfg.retry = RetryPolicy {
        max_rate_limited: 3,
        ..RetryPolicy::fast()
    };
    let c = client_with(cfg);
    c.customer().await.unwrap();
    let e = c.customer().await.unwrap_err();
    assert!(matches!(e, OneFileError::RateLimited { .. }), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(
        w.sim.rate_limited(),
        3 + 5,
        "3 waits, then the ordinary attempts"
    );
}
