//! The bench's arithmetic, kept pure so that it can be tested: the lower bound OneFile's rate
//! limit puts on a run (R35), the share of the budget a run used, calls per learner, and the
//! targets of issue 7.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// OneFile's documented limit: 300 calls per minute per customer token (`picsync_onefile`'s
/// crate page, "Rate limit").
pub(super) const ONEFILE_LIMIT: u32 = 300;

/// The time the rate limit alone needs for `calls`: `calls ÷ limit × window`. No client can
/// make `calls` calls in less (a fixed-window server admits at most `limit` per window).
pub(super) fn lower_bound(calls: u64, limit: u32, window: Duration) -> Duration {
    window.mul_f64(calls as f64 / f64::from(limit.max(1)))
}

/// The share of the budget used: `calls ÷ (windows elapsed × limit)`, windows elapsed being
/// `wall ÷ window` (fractional). 1.0 means every call the budget allowed was made.
pub(super) fn budget_use(calls: u64, wall: Duration, limit: u32, window: Duration) -> f64 {
    let windows = wall.as_secs_f64() / window.as_secs_f64().max(f64::MIN_POSITIVE);
    let allowed = windows * f64::from(limit.max(1));
    if allowed <= 0.0 {
        return 0.0;
    }
    calls as f64 / allowed
}

/// `a ÷ b` of two durations (0 when `b` is zero).
pub(super) fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        return 0.0;
    }
    a.as_secs_f64() / b.as_secs_f64()
}

/// Learners per second.
pub(super) fn throughput(learners: u64, wall: Duration) -> f64 {
    if wall.is_zero() {
        return 0.0;
    }
    learners as f64 / wall.as_secs_f64()
}

/// A real-world duration scaled like the minute: `real × window ÷ 60 s`.
pub(super) fn scaled(real: Duration, window: Duration) -> Duration {
    real.mul_f64(window.as_secs_f64() / 60.0)
}

/// Calls made between two snapshots of a simulator's counters, per endpoint (endpoints with
/// no new call are left out).
pub(super) fn calls_between(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v.saturating_sub(before.get(k).copied().unwrap_or(0));
            (d > 0).then(|| (k.clone(), d))
        })
        .collect()
}

/// Calls per learner, per endpoint.
pub(super) fn per_learner(calls: &BTreeMap<String, u64>, learners: u64) -> BTreeMap<String, f64> {
    calls
        .iter()
        .map(|(k, v)| (k.clone(), per(*v, learners)))
        .collect()
}

/// `n ÷ learners` (0 when there are none).
pub(super) fn per(n: u64, learners: u64) -> f64 {
    if learners == 0 {
        0.0
    } else {
        n as f64 / learners as f64
    }
}

/// How many of `of` learners make `percent` per cent, at least 1 when `percent > 0`.
pub(super) fn share(of: usize, percent: f64) -> usize {
    if percent <= 0.0 || of == 0 {
        return 0;
    }
    ((of as f64 * percent / 100.0).round() as usize).clamp(1, of)
}

/// The median of some durations (zero for none).
pub(super) fn median(mut xs: Vec<Duration>) -> Duration {
    if xs.is_empty() {
        return Duration::ZERO;
    }
    xs.sort();
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2
    }
}

/// One target of issue 7 and how the run did against it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(super) struct Check {
    /// What is measured.
    pub figure: String,
    /// The target, as text.
    pub target: String,
    /// The measured value, as text.
    pub measured: String,
    /// `None` when the figure could not be measured in this run.
    pub met: Option<bool>,
    /// When missed: by how much.
    pub shortfall: Option<String>,
}

/// Which way a target points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Goal {
    /// The value must be at least the target.
    AtLeast,
    /// The value must be at most the target.
    AtMost,
    /// The value must be below the target.
    Below,
}

impl Check {
    /// A check of `value` against `target`, both shown with `fmt`.
    pub(super) fn new(
        figure: &str,
        goal: Goal,
        target: f64,
        value: Option<f64>,
        fmt: impl Fn(f64) -> String,
    ) -> Self {
        let sign = match goal {
            Goal::AtLeast => "≥",
            Goal::AtMost => "≤",
            Goal::Below => "<",
        };
        let Some(v) = value else {
            return Self {
                figure: figure.to_string(),
                target: format!("{sign} {}", fmt(target)),
                measured: "not measured".to_string(),
                met: None,
                shortfall: None,
            };
        };
        let met = match goal {
            Goal::AtLeast => v >= target,
            Goal::AtMost => v <= target,
            Goal::Below => v < target,
        };
        let shortfall = (!met).then(|| {
            let gap = (v - target).abs();
            let rel = if target != 0.0 {
                format!(" ({:.1} % of the target)", gap / target.abs() * 100.0)
            } else {
                String::new()
            };
            let word = if matches!(goal, Goal::AtLeast) {
                "short"
            } else {
                "over"
            };
            format!("{} {word}{rel}", fmt(gap))
        });
        Self {
            figure: figure.to_string(),
            target: format!("{sign} {}", fmt(target)),
            measured: fmt(v),
            met: Some(met),
            shortfall,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(6);

    /// R35: 2,800 calls at 280 per (scaled) minute need ten minutes; at OneFile's 300, 9⅓.
    #[test]
    fn r35_lower_bound_is_calls_over_the_limit_times_the_window() {
        assert_eq!(lower_bound(2800, 280, MINUTE), Duration::from_secs(60));
        assert_eq!(lower_bound(0, 280, MINUTE), Duration::ZERO);
        let at_300 = lower_bound(2800, ONEFILE_LIMIT, MINUTE).as_secs_f64();
        assert!((at_300 - 56.0).abs() < 1e-9, "{at_300}");
        // a zero limit is read as 1 rather than dividing by zero
        assert_eq!(lower_bound(3, 0, MINUTE), Duration::from_secs(18));
    }

    #[test]
    fn r35_budget_use_is_calls_over_windows_elapsed_times_the_limit() {
        // 10 windows at 280 allow 2,800 calls: all used
        let full = budget_use(2800, Duration::from_secs(60), 280, MINUTE);
        assert!((full - 1.0).abs() < 1e-9, "{full}");
        // the same calls in twice the time use half the budget
        let half = budget_use(2800, Duration::from_secs(120), 280, MINUTE);
        assert!((half - 0.5).abs() < 1e-9, "{half}");
        // against OneFile's 300 the same run uses 280/300 of it
        let of_300 = budget_use(2800, Duration::from_secs(60), ONEFILE_LIMIT, MINUTE);
        assert!((of_300 - 280.0 / 300.0).abs() < 1e-9, "{of_300}");
        assert_eq!(budget_use(5, Duration::ZERO, 280, MINUTE), 0.0);
    }

    #[test]
    fn wall_time_at_the_bound_has_ratio_one() {
        let bound = lower_bound(1400, 280, MINUTE);
        assert!((ratio(Duration::from_secs(30), bound) - 1.0).abs() < 1e-9);
        assert!((ratio(Duration::from_secs(33), bound) - 1.1).abs() < 1e-9);
        assert_eq!(ratio(Duration::from_secs(1), Duration::ZERO), 0.0);
    }

    #[test]
    fn calls_between_snapshots_and_per_learner() {
        let before = BTreeMap::from([("GET /user/{id}".to_string(), 10), ("x".to_string(), 4)]);
        let after = BTreeMap::from([
            ("GET /user/{id}".to_string(), 30),
            ("x".to_string(), 4),
            ("POST /review".to_string(), 5),
        ]);
        let d = calls_between(&before, &after);
        assert_eq!(
            d,
            BTreeMap::from([
                ("GET /user/{id}".to_string(), 20),
                ("POST /review".to_string(), 5)
            ])
        );
        let p = per_learner(&d, 10);
        assert_eq!(p["GET /user/{id}"], 2.0);
        assert_eq!(p["POST /review"], 0.5);
        assert_eq!(per(7, 0), 0.0);
    }

    #[test]
    fn scaling_throughput_share_and_median() {
        assert_eq!(
            scaled(Duration::from_millis(100), MINUTE),
            Duration::from_millis(10)
        );
        assert_eq!(throughput(50, Duration::from_secs(10)), 5.0);
        assert_eq!(throughput(50, Duration::ZERO), 0.0);
        assert_eq!(share(2000, 5.0), 100);
        assert_eq!(
            share(10, 1.0),
            1,
            "at least one learner when asked for some"
        );
        assert_eq!(share(10, 0.0), 0);
        assert_eq!(share(10, 500.0), 10);
        let ms = Duration::from_millis;
        assert_eq!(median(vec![ms(5), ms(1), ms(3)]), ms(3));
        assert_eq!(median(vec![ms(4), ms(1), ms(3), ms(2)]), ms(2) + ms(1) / 2);
        assert_eq!(median(vec![]), Duration::ZERO);
    }

    #[test]
    fn checks_say_whether_and_by_how_much() {
        let pct = |v: f64| format!("{:.1} %", v * 100.0);
        let ok = Check::new("budget", Goal::AtLeast, 0.95, Some(0.99), pct);
        assert_eq!(ok.met, Some(true));
        assert_eq!(ok.shortfall, None);
        assert_eq!(ok.target, "≥ 95.0 %");
        let short = Check::new("budget", Goal::AtLeast, 0.95, Some(0.90), pct);
        assert_eq!(short.met, Some(false));
        assert_eq!(
            short.shortfall.as_deref(),
            Some("5.0 % short (5.3 % of the target)")
        );
        let x = |v: f64| format!("{v:.2}×");
        let over = Check::new("wall", Goal::AtMost, 1.05, Some(1.10), x);
        assert_eq!(over.met, Some(false));
        assert!(over.shortfall.as_deref().unwrap().starts_with("0.05× over"));
        let zero = Check::new("429s", Goal::AtMost, 0.0, Some(3.0), |v| format!("{v}"));
        assert_eq!(zero.shortfall.as_deref(), Some("3 over"));
        let below = Check::new("memory", Goal::Below, 64.0, Some(64.0), |v| format!("{v}"));
        assert_eq!(below.met, Some(false));
        let none = Check::new("memory", Goal::Below, 64.0, None, |v| format!("{v}"));
        assert_eq!(none.met, None);
        assert_eq!(none.measured, "not measured");
    }
}
