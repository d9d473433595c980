//! Pacing of one tenant's OneFile calls (R35): a token bucket shared by every task of the
//! tenant in the process, so the tenant never goes over its calls per window, however many
//! tasks run.
//!
//! OneFile counts calls in fixed windows (assumed one minute). A bucket of burst `b` refilled
//! at `r` per window admits at most `b + r` calls in any span of one window, whatever the
//! alignment, so `b + r <= calls` keeps every fixed window of the server within `calls`.
//! The pacer uses `b = 2` (1 for tiny limits) and `r = calls - b`.
//!
//! Across processes (the Lambda worker, whose batches of one tenant may each land in a fresh
//! execution environment with a full bucket): [`Pacer::state`] and [`Pacer::restore`] hand the
//! bucket and the 429 hold on, so that batches run one after another pace as one bucket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// One tenant's call budget (R35). Cheap to clone: clones share the bucket.
#[derive(Clone)]
pub struct Pacer {
    inner: Arc<PacerInner>,
}

struct PacerInner {
    /// The bucket (GCRA) and the 429 hold.
    state: Mutex<Bucket>,
    /// The emission interval: one call per `period` after the burst.
    period: Duration,
    /// GCRA's tolerance: `(burst - 1) * period`.
    tolerance: Duration,
    /// Holds asked for (one per 429 received).
    rate_limited: AtomicU64,
    limit: u32,
    window: Duration,
}

#[derive(Default)]
struct Bucket {
    /// GCRA's theoretical arrival time (`None`: a full bucket).
    tat: Option<Instant>,
    /// Set after a 429: no task of the tenant calls before this instant.
    hold_until: Option<Instant>,
    calls: u64,
}

/// A pacer's state in wall-clock time, to hand the tenant's budget from one process to the
/// next (the worker keeps it in the table between two batches of a tenant, R35): the GCRA's
/// theoretical arrival time and the end of a 429 hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacerState {
    /// The bucket is full again at this instant (none: full now).
    #[serde(default)]
    pub tat: Option<DateTime<Utc>>,
    /// No call before this instant (after a 429).
    #[serde(default)]
    pub hold_until: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("limit", &self.inner.limit)
            .field("window", &self.inner.window)
            .field("calls", &self.calls())
            .finish()
    }
}

/// An `Instant` of this process as a wall-clock time.
fn wall(at: Instant) -> DateTime<Utc> {
    let now = Instant::now();
    let wall_now = Utc::now();
    let d = |x: Duration| chrono::Duration::from_std(x).unwrap_or(chrono::Duration::zero());
    if at >= now {
        wall_now + d(at - now)
    } else {
        wall_now - d(now - at)
    }
}

/// A wall-clock time as an `Instant` of this process (a time past is read as now).
fn local(at: DateTime<Utc>) -> Instant {
    Instant::now() + (at - Utc::now()).to_std().unwrap_or_default()
}

impl Pacer {
    /// At most `calls` calls in any span of `window` (a zero `calls` is read as 1).
    pub fn new(calls: u32, window: Duration) -> Self {
        let calls = calls.max(1);
        let window = window.max(Duration::from_millis(1));
        let burst = if calls >= 4 { 2 } else { 1 };
        let refill = (calls - burst).max(1);
        let period = (window / refill).max(Duration::from_nanos(1));
        Self {
            inner: Arc::new(PacerInner {
                state: Mutex::default(),
                period,
                tolerance: period * (burst - 1),
                rate_limited: AtomicU64::new(0),
                limit: calls,
                window,
            }),
        }
    }

    /// At most `calls` calls per minute (the setting `onefile_calls_per_minute`, default 280).
    pub fn per_minute(calls: u32) -> Self {
        Self::new(calls, Duration::from_secs(60))
    }

    fn bucket(&self) -> std::sync::MutexGuard<'_, Bucket> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until this tenant may make one more call, and counts it.
    ///
    /// GCRA: a call is granted at `t` when `tat <= t + tolerance`, and moves `tat` to
    /// `max(tat, t) + period`; so `burst` calls at once, then one per `period`. The grant is
    /// decided under the lock, after any hold: a 429 seen by another task while this one
    /// waited pauses this call too.
    pub async fn acquire(&self) {
        loop {
            let wait_until = {
                let mut b = self.bucket();
                let now = Instant::now();
                match b.hold_until {
                    Some(h) if h > now => Some(h),
                    _ => {
                        let tat = b.tat.map_or(now, |t| t.max(now));
                        if tat <= now + self.inner.tolerance {
                            b.tat = Some(tat + self.inner.period);
                            b.calls += 1;
                            None
                        } else {
                            Some(tat - self.inner.tolerance)
                        }
                    }
                }
            };
            match wait_until {
                None => return,
                Some(t) => tokio::time::sleep_until(t).await,
            }
        }
    }

    /// Calls paced so far.
    pub fn calls(&self) -> u64 {
        self.bucket().calls
    }

    /// 429s received so far (each asks for a [`Pacer::hold`]).
    pub fn rate_limited(&self) -> u64 {
        self.inner.rate_limited.load(Ordering::Relaxed)
    }

    /// The budget: calls per window.
    pub fn limit(&self) -> (u32, Duration) {
        (self.inner.limit, self.inner.window)
    }

    /// Pauses every task of the tenant for `wait` (after a 429: the whole tenant waits the
    /// window out, not only the task that was refused). A longer hold already set is kept.
    pub fn hold(&self, wait: Duration) {
        self.inner.rate_limited.fetch_add(1, Ordering::Relaxed);
        let until = Instant::now() + wait;
        let mut b = self.bucket();
        if b.hold_until.is_none_or(|cur| cur < until) {
            b.hold_until = Some(until);
        }
    }

    /// The bucket and the hold as wall-clock times, for [`Pacer::restore`] in another
    /// process.
    pub fn state(&self) -> PacerState {
        let b = self.bucket();
        let now = Instant::now();
        PacerState {
            tat: b.tat.filter(|t| *t > now).map(wall),
            hold_until: b.hold_until.filter(|t| *t > now).map(wall),
        }
    }

    /// Takes on the state another process left (R35): the bucket is emptied to where that
    /// process left it, and its hold applies here too. Never loosens this pacer: the later
    /// `tat` and the later hold win.
    pub fn restore(&self, state: &PacerState) {
        let mut b = self.bucket();
        if let Some(t) = state.tat.map(local) {
            b.tat = Some(b.tat.map_or(t, |cur| cur.max(t)));
        }
        if let Some(h) = state.hold_until.map(local) {
            b.hold_until = Some(b.hold_until.map_or(h, |cur| cur.max(h)));
        }
    }
}

/// The pacers of a process, one per tenant (R35): every task of a tenant that asks here gets
/// the same bucket. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Pacers {
    by_tenant: Arc<Mutex<std::collections::HashMap<String, Pacer>>>,
    /// OneFile's rate window ("a minute"; scaled down in tests).
    window: Duration,
}

impl Default for Pacers {
    fn default() -> Self {
        Self::with_window(Duration::from_secs(60))
    }
}

impl Pacers {
    /// Pacers whose "minute" lasts `window` (tests scale OneFile's minute down).
    pub fn with_window(window: Duration) -> Self {
        Self {
            by_tenant: Arc::default(),
            window,
        }
    }

    /// The tenant's pacer for `calls_per_minute`. When the tenant's setting has changed, a
    /// new pacer replaces the old one (tasks still holding the old one finish with it).
    pub fn get(&self, tenant: &str, calls_per_minute: u32) -> Pacer {
        let mut m = self
            .by_tenant
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match m.get(tenant) {
            Some(p)
                if p.limit()
                    == (
                        calls_per_minute.max(1),
                        self.window.max(Duration::from_millis(1)),
                    ) =>
            {
                p.clone()
            }
            _ => {
                let p = Pacer::new(calls_per_minute, self.window);
                m.insert(tenant.to_string(), p.clone());
                p
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R35: however many tasks share the pacer, no span of one window holds more than the limit.
    #[tokio::test]
    async fn r35_no_window_span_exceeds_the_limit() {
        let window = Duration::from_millis(200);
        let pacer = Pacer::new(10, window);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let p = pacer.clone();
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::new();
                for _ in 0..6 {
                    p.acquire().await;
                    times.push(Instant::now());
                }
                times
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.extend(t.await.unwrap());
        }
        times.sort();
        assert_eq!(pacer.calls(), 24);
        // sliding check: any `limit + 1` consecutive calls span more than one window (less a
        // little slack for the time between a grant and the task reading the clock)
        let slack = Duration::from_millis(10);
        for pair in times.windows(11) {
            assert!(
                pair[10] - pair[0] + slack > window,
                "11 calls within one window"
            );
        }
        // and the pacer is not needlessly slow: 24 calls at 8/window + burst 2 ≈ 2.75 windows
        assert!(start.elapsed() < window * 5, "{:?}", start.elapsed());
    }

    #[test]
    fn s14_every_hold_counts_a_429() {
        let pacer = Pacer::new(10, Duration::from_millis(100));
        let clone = pacer.clone();
        assert_eq!(pacer.rate_limited(), 0);
        pacer.hold(Duration::from_millis(1));
        clone.hold(Duration::from_millis(1));
        assert_eq!(pacer.rate_limited(), 2, "shared by the tenant's clones");
    }

    /// The most calls in any span of `window` (closed: a call at each end counts).
    fn most_in_a_window(times: &[Instant], window: Duration) -> usize {
        let mut most = 0;
        for (i, t) in times.iter().enumerate() {
            most = most.max(times[i..].iter().take_while(|u| **u - *t <= window).count());
        }
        most
    }

    /// Calls of `n` tasks sharing `pacer`, `per_task` each.
    async fn burst_of(pacer: &Pacer, n: usize, per_task: usize) -> Vec<Instant> {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let p = pacer.clone();
                tokio::spawn(async move {
                    let mut times = Vec::new();
                    for _ in 0..per_task {
                        p.acquire().await;
                        times.push(Instant::now());
                    }
                    times
                })
            })
            .collect();
        let mut times = Vec::new();
        for t in tasks {
            times.extend(t.await.unwrap());
        }
        times.sort();
        times
    }

    /// R35 across execution environments: a second process that takes on the first one's
    /// state (as the worker's next batch of the tenant does, possibly in a fresh environment)
    /// keeps every window within the limit; a fresh bucket would not.
    #[tokio::test]
    async fn r35_two_environments_in_sequence_stay_within_the_limit() {
        let window = Duration::from_millis(400);
        let slack = Duration::from_millis(15);
        let first = Pacer::new(10, window);
        let mut times = burst_of(&first, 4, 5).await;
        let handed_on = first.state();
        assert!(handed_on.tat.is_some());
        // the state goes through the table as JSON
        let handed_on: PacerState =
            serde_json::from_str(&serde_json::to_string(&handed_on).unwrap()).unwrap();
        let second = Pacer::new(10, window);
        second.restore(&handed_on);
        times.extend(burst_of(&second, 4, 5).await);
        times.sort();
        let most = most_in_a_window(&times, window - slack);
        assert!(most <= 10, "{most} calls within one window");

        // the check can fail: a fresh bucket after the same first process goes over (its burst
        // comes on top of the first one's last window)
        let first = Pacer::new(10, window);
        let mut times = burst_of(&first, 4, 5).await;
        times.extend(burst_of(&Pacer::new(10, window), 4, 5).await);
        times.sort();
        let most = most_in_a_window(&times, window + slack);
        assert!(most > 10, "{most}");
    }

    /// R35: a 429's hold reaches the next process too.
    #[tokio::test]
    async fn r35_a_hold_is_handed_on() {
        let first = Pacer::new(100, Duration::from_secs(1));
        first.hold(Duration::from_millis(150));
        let second = Pacer::new(100, Duration::from_secs(1));
        second.restore(&first.state());
        let t = Instant::now();
        second.acquire().await;
        assert!(
            t.elapsed() >= Duration::from_millis(130),
            "{:?}",
            t.elapsed()
        );
        // a restored state never loosens a pacer
        second.restore(&PacerState::default());
        let t = Instant::now();
        second.acquire().await;
        second.acquire().await;
        assert!(second.calls() == 3 && t.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test]
    async fn hold_pauses_every_clone() {
        let pacer = Pacer::new(100, Duration::from_secs(1));
        let other = pacer.clone();
        pacer.hold(Duration::from_millis(120));
        let t = Instant::now();
        other.acquire().await;
        assert!(t.elapsed() >= Duration::from_millis(110));
        // a shorter hold does not shorten a longer one
        pacer.hold(Duration::from_millis(150));
        pacer.hold(Duration::from_millis(10));
        let t = Instant::now();
        other.acquire().await;
        assert!(t.elapsed() >= Duration::from_millis(140));
    }

    #[tokio::test]
    async fn r35_one_pacer_per_tenant() {
        let pacers = Pacers::default();
        let a = pacers.get("acme", 280);
        let again = pacers.clone().get("acme", 280);
        a.acquire().await;
        assert_eq!(again.calls(), 1, "the same bucket");
        assert_eq!(pacers.get("other", 280).calls(), 0);
        let changed = pacers.get("acme", 100);
        assert_eq!(changed.limit().0, 100);
        assert_eq!(changed.calls(), 0);
    }

    #[test]
    fn tiny_and_zero_limits_are_safe() {
        assert_eq!(Pacer::new(0, Duration::ZERO).limit().0, 1);
        assert_eq!(
            Pacer::per_minute(280).limit(),
            (280, Duration::from_secs(60))
        );
    }
}
