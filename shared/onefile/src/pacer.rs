//! Pacing of one tenant's OneFile calls (R35): a token bucket shared by every task of the
//! tenant in the process, so the tenant never goes over its calls per window, however many
//! tasks run.
//!
//! OneFile counts calls in fixed windows (assumed one minute). A bucket of burst `b` refilled
//! at `r` per window admits at most `b + r` calls in any span of one window, whatever the
//! alignment, so `b + r <= calls` keeps every fixed window of the server within `calls`.
//! The pacer uses `b = 2` (1 for tiny limits) and `r = calls - b`.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

/// One tenant's call budget (R35). Cheap to clone: clones share the bucket.
#[derive(Clone)]
pub struct Pacer {
    inner: Arc<PacerInner>,
}

struct PacerInner {
    limiter: DefaultDirectRateLimiter,
    calls: AtomicU64,
    /// Holds asked for (one per 429 received).
    rate_limited: AtomicU64,
    /// Set after a 429: no task of the tenant calls before this instant.
    hold_until: Mutex<Option<Instant>>,
    limit: u32,
    window: Duration,
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

impl Pacer {
    /// At most `calls` calls in any span of `window` (a zero `calls` is read as 1).
    pub fn new(calls: u32, window: Duration) -> Self {
        let calls = calls.max(1);
        let window = window.max(Duration::from_millis(1));
        let burst = if calls >= 4 { 2 } else { 1 };
        let refill = (calls - burst).max(1);
        let period = (window / refill).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        Self {
            inner: Arc::new(PacerInner {
                limiter: RateLimiter::direct(quota),
                calls: AtomicU64::new(0),
                rate_limited: AtomicU64::new(0),
                hold_until: Mutex::new(None),
                limit: calls,
                window,
            }),
        }
    }

    /// At most `calls` calls per minute (the setting `onefile_calls_per_minute`, default 280).
    pub fn per_minute(calls: u32) -> Self {
        Self::new(calls, Duration::from_secs(60))
    }

    /// Waits until this tenant may make one more call, and counts it.
    pub async fn acquire(&self) {
        self.wait_for_hold().await;
        self.inner.limiter.until_ready().await;
        // A 429 seen by another task while this one waited pauses this call too.
        self.wait_for_hold().await;
        self.inner.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Calls paced so far.
    pub fn calls(&self) -> u64 {
        self.inner.calls.load(Ordering::Relaxed)
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
        let mut h = self
            .inner
            .hold_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if h.is_none_or(|cur| cur < until) {
            *h = Some(until);
        }
    }

    async fn wait_for_hold(&self) {
        let until = *self
            .inner
            .hold_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(until) = until {
            if until > Instant::now() {
                tokio::time::sleep_until(until).await;
            }
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
        let mut m = self.by_tenant.lock().unwrap_or_else(|p| p.into_inner());
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
