//! Pacing of one tenant's OneFile calls (R35): a sliding log of the tenant's calls in the last
//! window, shared by every task of the tenant in the process, so the tenant never goes over
//! its calls per window, however many tasks run.
//!
//! **The guarantee.** A call is granted at `t` only while fewer than `L` (the tenant's
//! `onefile_calls_per_minute`) grants lie in `(t - W, t]`, `W` being OneFile's window (a
//! minute). So no span of one window, wherever it starts, holds more than `L` calls: OneFile's
//! window kind is not documented (the crate page, "Rate limit"), and this holds for a fixed
//! window, a sliding one, or a bucket of 300 refilled over a minute alike. `L` = 280 leaves 20
//! of OneFile's 300 for the time between a grant and the call's arrival.
//!
//! **Why a log and not a rate.** A rate with a small burst (the GCRA this pacer used before)
//! gives time in which nobody called back to nobody: on the Lambda path a tenant's batches
//! run one after another, and the fixed cost of each (receiving it, reading the state,
//! storing outcomes, the slowest learner) left a share of every window unused (issue 13:
//! 82.9 % of the budget at 300 ms). The log lets the next batch make up, within the same
//! window, the calls its predecessor's gaps left, and still never puts more than `L` in any
//! window.
//!
//! **Shape.** The log alone would let a fresh tenant fire its whole window at once and then
//! wait out the rest of it. Grants are also spaced at twice the budget's rate (a GCRA of
//! `W / 2L` per call, with a burst of `L / 20`), so a window's calls take at least half of
//! it and catching up after a gap runs at twice the budget. The spacing is local only: the
//! guarantee is the log's.
//!
//! **Across processes** (the Lambda worker, whose batches of one tenant may each land in a
//! fresh execution environment with an empty log): [`Pacer::state`] and [`Pacer::restore`]
//! hand the log and the 429 hold on, so that batches run one after another pace as one log.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// One tenant's call budget (R35). Cheap to clone: clones share the log.
#[derive(Clone)]
pub struct Pacer {
    inner: Arc<PacerInner>,
}

struct PacerInner {
    /// The log, the spacing and the 429 hold.
    state: Mutex<Log>,
    /// The spacing's emission interval: `W / 2L`.
    spacing: Duration,
    /// The spacing's tolerance: `(burst - 1) * spacing`.
    tolerance: Duration,
    /// Holds asked for (one per 429 received).
    rate_limited: AtomicU64,
    limit: u32,
    window: Duration,
}

#[derive(Default)]
struct Log {
    /// The grants of the last window, oldest first (at most `limit`).
    grants: VecDeque<Instant>,
    /// The spacing's theoretical arrival time (`None`: no call yet).
    tat: Option<Instant>,
    /// Set after a 429: no task of the tenant calls before this instant.
    hold_until: Option<Instant>,
    calls: u64,
}

impl Log {
    /// Forgets the grants that no window ending after `now` can hold.
    fn expire(&mut self, now: Instant, window: Duration) {
        while self.grants.front().is_some_and(|g| *g + window <= now) {
            self.grants.pop_front();
        }
    }
}

/// A pacer's state in wall-clock time, to hand the tenant's budget from one process to the
/// next (the worker keeps it in the table between two batches of a tenant, R35): the calls
/// of the last window and the end of a 429 hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacerState {
    /// The calls of the last window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<CallLog>,
    /// No call before this instant (after a 429).
    #[serde(default)]
    pub hold_until: Option<DateTime<Utc>>,
    /// The state the earlier pacer (a GCRA) stored: its bucket was full again at this
    /// instant. Read only, as a full log at that instant (a deployment taking over from the
    /// earlier one mid-run waits a window rather than risk one).
    #[serde(default, skip_serializing)]
    pub tat: Option<DateTime<Utc>>,
}

/// The instants of a window's calls, compactly: the latest, and how long before it each call
/// was, in whole milliseconds, most recent first. An offset is rounded down, so a call is
/// never read as older than it was.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLog {
    pub latest: DateTime<Utc>,
    pub ms_before: Vec<u32>,
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

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::zero())
}

/// An `Instant` of this process as a wall-clock time.
fn wall(at: Instant) -> DateTime<Utc> {
    let now = Instant::now();
    let wall_now = Utc::now();
    if at >= now {
        wall_now + chrono_of(at - now)
    } else {
        wall_now - chrono_of(now - at)
    }
}

/// A wall-clock time as an `Instant` of this process; `None` for a time before the process
/// could represent (it can no longer matter to a window that ends now or later).
fn local(at: DateTime<Utc>) -> Option<Instant> {
    let now = Instant::now();
    let delta = at - Utc::now();
    match delta.to_std() {
        Ok(ahead) => Some(now + ahead),
        Err(_) => now.checked_sub((-delta).to_std().unwrap_or_default()),
    }
}

/// The later of two logs, call by call: the `i`-th most recent call of the result is the later
/// of the two logs' `i`-th most recent. Its count of calls after any instant is the larger of
/// theirs, so it is never looser than either: the same calls seen twice (a warm environment's
/// own log and the table's) count once, and a log that is a prefix of the other adds nothing.
fn later_of(a: &VecDeque<Instant>, b: &[Instant], limit: usize) -> VecDeque<Instant> {
    let mut newest_first: Vec<Instant> = Vec::with_capacity(a.len().max(b.len()));
    let (mut ia, mut ib) = (a.iter().rev(), b.iter().rev());
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => break,
            (Some(x), None) | (None, Some(x)) => newest_first.push(*x),
            (Some(x), Some(y)) => newest_first.push(*x.max(y)),
        }
    }
    newest_first.truncate(limit);
    newest_first.into_iter().rev().collect()
}

impl Pacer {
    /// At most `calls` calls in any span of `window` (a zero `calls` is read as 1).
    pub fn new(calls: u32, window: Duration) -> Self {
        let calls = calls.max(1);
        let window = window.max(Duration::from_millis(1));
        let spacing = (window / (2 * calls)).max(Duration::from_nanos(1));
        let burst = (calls / 20).max(1);
        Self {
            inner: Arc::new(PacerInner {
                state: Mutex::default(),
                spacing,
                tolerance: spacing * (burst - 1),
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

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until this tenant may make one more call, and counts it.
    ///
    /// Granted at `t` when no hold lasts past `t`, fewer than `L` grants lie in `(t - W, t]`
    /// (the guarantee), and the spacing allows (`tat <= t + tolerance`; it then moves `tat` to
    /// `max(tat, t) + spacing`). Decided under the lock, after any hold: a 429 seen by another
    /// task while this one waited pauses this call too.
    pub async fn acquire(&self) {
        let (limit, window) = (self.inner.limit as usize, self.inner.window);
        loop {
            let wait_until = {
                let mut log = self.log();
                let now = Instant::now();
                log.expire(now, window);
                match (log.hold_until, log.grants.front()) {
                    (Some(h), _) if h > now => Some(h),
                    (_, Some(oldest)) if log.grants.len() >= limit => Some(*oldest + window),
                    _ => {
                        let tat = log.tat.map_or(now, |t| t.max(now));
                        if tat <= now + self.inner.tolerance {
                            log.tat = Some(tat + self.inner.spacing);
                            log.grants.push_back(now);
                            log.calls += 1;
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
        self.log().calls
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
        let mut log = self.log();
        if log.hold_until.is_none_or(|cur| cur < until) {
            log.hold_until = Some(until);
        }
    }

    /// How long until none of this pacer's calls lies in the window (zero: none does now).
    /// After that, a process that never saw this pacer's log cannot go over because of it.
    pub fn quiet_in(&self) -> Duration {
        let log = self.log();
        log.grants.back().map_or(Duration::ZERO, |latest| {
            (*latest + self.inner.window).saturating_duration_since(Instant::now())
        })
    }

    /// Counts the last window as full at this instant, for a process that cannot read the
    /// tenant's handed-on state: its next call waits one window, so calls it cannot see
    /// never share a window with its own.
    pub fn assume_full_window(&self) {
        let limit = self.inner.limit as usize;
        let full = vec![Instant::now(); limit];
        let mut log = self.log();
        log.grants = later_of(&log.grants, &full, limit);
    }

    /// The log and the hold as wall-clock times, for [`Pacer::restore`] in another process.
    pub fn state(&self) -> PacerState {
        let mut log = self.log();
        let now = Instant::now();
        log.expire(now, self.inner.window);
        let calls = log.grants.back().map(|latest| CallLog {
            latest: wall(*latest),
            ms_before: log
                .grants
                .iter()
                .rev()
                .map(|g| u32::try_from((*latest - *g).as_millis()).unwrap_or(u32::MAX))
                .collect(),
        });
        PacerState {
            log: calls,
            hold_until: log.hold_until.filter(|t| *t > now).map(wall),
            tat: None,
        }
    }

    /// Takes on the state another process left (R35): its calls of the last window count
    /// here too (merged with this pacer's own call by call, the later of each pair), and its
    /// hold applies here. Never loosens this pacer.
    pub fn restore(&self, state: &PacerState) {
        let (limit, window) = (self.inner.limit as usize, self.inner.window);
        let mut theirs: Vec<Instant> = match &state.log {
            Some(l) => l
                .ms_before
                .iter()
                .rev()
                .filter_map(|ms| local(l.latest - chrono::Duration::milliseconds(i64::from(*ms))))
                .collect(),
            None => Vec::new(),
        };
        if let Some(full_at) = state.tat.and_then(local) {
            theirs.extend(std::iter::repeat_n(full_at, limit));
        }
        theirs.sort();
        let mut log = self.log();
        log.grants = later_of(&log.grants, &theirs, limit);
        log.expire(Instant::now(), window);
        if let Some(h) = state.hold_until.and_then(local) {
            log.hold_until = Some(log.hold_until.map_or(h, |cur| cur.max(h)));
        }
    }
}

/// The pacers of a process, one per tenant (R35): every task of a tenant that asks here gets
/// the same log. Cheap to clone.
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
        let times = burst_of(&pacer, 4, 6).await;
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
        // and the pacer is not needlessly slow: 24 calls at 10 a window ≈ 2.5 windows
        assert!(start.elapsed() < window * 4, "{:?}", start.elapsed());
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

    /// The state as the worker stores it: through JSON.
    fn through_json(state: &PacerState) -> PacerState {
        serde_json::from_str(&serde_json::to_string(state).unwrap()).unwrap()
    }

    /// R35 across execution environments: a second process that takes on the first one's
    /// state (as the worker's next batch of the tenant does, possibly in a fresh environment)
    /// keeps every window within the limit; a fresh log would not.
    #[tokio::test]
    async fn r35_two_environments_in_sequence_stay_within_the_limit() {
        let window = Duration::from_millis(400);
        let slack = Duration::from_millis(15);
        let first = Pacer::new(10, window);
        let mut times = burst_of(&first, 4, 5).await;
        let handed_on = through_json(&first.state());
        assert_eq!(handed_on.log.as_ref().map(|l| l.ms_before.len()), Some(10));
        let second = Pacer::new(10, window);
        second.restore(&handed_on);
        times.extend(burst_of(&second, 4, 5).await);
        times.sort();
        let most = most_in_a_window(&times, window - slack);
        assert!(most <= 10, "{most} calls within one window");

        // the check can fail: a fresh log after the same first process goes over (its calls
        // come on top of the first one's last window)
        let first = Pacer::new(10, window);
        let mut times = burst_of(&first, 4, 5).await;
        times.extend(burst_of(&Pacer::new(10, window), 4, 5).await);
        times.sort();
        let most = most_in_a_window(&times, window + slack);
        assert!(most > 10, "{most}");
    }

    /// R35, issue 13: the time in which nobody called (a batch's fixed cost between two
    /// batches) is not lost. The next process makes up the calls of the gap within the same
    /// window: 20 calls of a 20-a-window budget with a gap of a third of a window between two
    /// processes still fit in one window, and the 21st waits for the window to move on.
    #[tokio::test]
    async fn r35_a_gap_between_batches_is_made_up_within_the_window() {
        let window = Duration::from_millis(1200);
        let first = Pacer::new(20, window);
        let began = Instant::now();
        let mut times = burst_of(&first, 2, 5).await;
        tokio::time::sleep(window / 3).await;
        let second = Pacer::new(20, window);
        second.restore(&through_json(&first.state()));
        times.extend(burst_of(&second, 2, 5).await);
        let twenty = began.elapsed();
        assert!(
            twenty < window * 9 / 10,
            "20 calls took {twenty:?}: the gap was not made up"
        );
        second.acquire().await;
        times.push(Instant::now());
        times.sort();
        assert!(
            times[20] - times[0] >= window - Duration::from_millis(5),
            "the 21st call came {:?} after the first",
            times[20] - times[0]
        );
    }

    /// The log's shape: a fresh pacer spaces its calls at twice the budget's rate after a
    /// burst of `L / 20`, so a window's calls take at least about half of it.
    #[tokio::test]
    async fn r35_calls_are_spaced_at_twice_the_budgets_rate() {
        let window = Duration::from_millis(800);
        let pacer = Pacer::new(40, window);
        let began = Instant::now();
        burst_of(&pacer, 8, 5).await;
        let took = began.elapsed();
        // 40 calls: a burst of 2, then 38 at 10 ms
        assert!(took >= Duration::from_millis(370), "{took:?}");
        assert!(took < window, "{took:?}");
    }

    /// The handed-on log is compact: a full window of 280 calls is a few kilobytes of the
    /// table's item, and the calls are never read back as older than they were.
    #[tokio::test]
    async fn the_handed_on_log_is_compact_and_never_older() {
        let pacer = Pacer::new(280, Duration::from_millis(600));
        burst_of(&pacer, 10, 28).await;
        let state = pacer.state();
        let json = serde_json::to_string(&state).unwrap();
        assert!(json.len() < 2_500, "{} bytes", json.len());
        let log = state.log.unwrap();
        assert_eq!(log.ms_before.len(), 280);
        assert!(log.ms_before.windows(2).all(|w| w[0] <= w[1]));
    }

    /// A warm environment's own log and the table's hold the same calls: they count once.
    #[test]
    fn later_of_counts_the_same_calls_once() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mine: VecDeque<Instant> = [1, 2, 3].map(at).into();
        let same: Vec<Instant> = [1, 2, 3].map(at).into();
        assert_eq!(later_of(&mine, &same, 10), mine);
        // the table's log goes on past this environment's (another one ran since)
        let longer: Vec<Instant> = [1, 2, 3, 4, 5].map(at).into();
        assert_eq!(later_of(&mine, &longer, 10), VecDeque::from(longer.clone()));
        // never looser than either, and never more than the limit (the most recent kept)
        // (call by call: the most recent is 9, the second most recent the later of 2 and 0)
        let other: Vec<Instant> = [0, 9].map(at).into();
        assert_eq!(
            later_of(&mine, &other, 3),
            VecDeque::from(vec![at(1), at(2), at(9)])
        );
        assert_eq!(
            later_of(&mine, &other, 2),
            VecDeque::from(vec![at(2), at(9)])
        );
    }

    /// R35: a 429's hold reaches the next process too.
    #[tokio::test]
    async fn r35_a_hold_is_handed_on() {
        let first = Pacer::new(100, Duration::from_secs(1));
        first.hold(Duration::from_millis(150));
        let second = Pacer::new(100, Duration::from_secs(1));
        second.restore(&through_json(&first.state()));
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

    /// The earlier pacer's stored state (a GCRA's `tat`), met once when a deployment takes
    /// over mid-run, is read as a full window at that instant: the tenant waits the window
    /// out rather than risk going over.
    #[tokio::test]
    async fn the_earlier_pacers_state_is_read_as_a_full_window() {
        let stored: PacerState = serde_json::from_value(serde_json::json!({
            "tat": Utc::now(), "hold_until": null
        }))
        .unwrap();
        let pacer = Pacer::new(50, Duration::from_millis(300));
        pacer.restore(&stored);
        let t = Instant::now();
        pacer.acquire().await;
        assert!(
            t.elapsed() >= Duration::from_millis(280),
            "{:?}",
            t.elapsed()
        );
        assert!(
            !serde_json::to_string(&pacer.state())
                .unwrap()
                .contains("tat")
        );
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
        assert_eq!(again.calls(), 1, "the same log");
        assert_eq!(pacers.get("other", 280).calls(), 0);
        let changed = pacers.get("acme", 100);
        assert_eq!(changed.limit().0, 100);
        assert_eq!(changed.calls(), 0);
    }

    #[tokio::test]
    async fn tiny_and_zero_limits_are_safe() {
        assert_eq!(Pacer::new(0, Duration::ZERO).limit().0, 1);
        assert_eq!(
            Pacer::per_minute(280).limit(),
            (280, Duration::from_secs(60))
        );
        let one = Pacer::new(1, Duration::from_millis(100));
        let t = Instant::now();
        one.acquire().await;
        one.acquire().await;
        assert!(t.elapsed() >= Duration::from_millis(95));
    }
}
