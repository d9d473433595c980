//! One phase of the bench, run in its own `picsync-lab` process (the parent keeps the simulators),
//! so that the figures of this process — peak memory, start-up — are the sync's alone.
//!
//! The child prints [`READY`] once its runtime, state and clients are up, then runs one
//! tenant-wide run and prints one line of JSON ([`PhaseOutput`]).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use picsync_domain::{Mode, Settings, TenantId};
use picsync_engine::{Engine, NoProgress, RunOptions, Tenant};
use picsync_onefile::Pacer;
use picsync_sim::world;
use picsync_state::embedded::EmbeddedState;
use picsync_state::secrets::TenantSecrets;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::LabError;

/// The line a child prints when it is ready to work.
pub(super) const READY: &str = "picsync-bench-ready";

/// A baseline client's pacer: a rate no loopback client reaches, so it never waits (PICSWeb
/// does not pace itself; `picsync_onefile`'s crate page, "Rate limit").
const UNPACED: u32 = 1_000_000;

/// What a child process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub(crate) enum Phase {
    /// picsync's first run after enabling (R43: initial mode, R29/R30).
    Initial,
    /// A periodic run: learners that provably did not change are skipped (§6).
    Periodic,
    /// A periodic run comparing every learner in scope (§6's full sweep).
    Full,
    /// The PICSWeb-style baseline's initial run: one learner after another, no pacing, a whole
    /// window's pause on each 429.
    Baseline,
}

/// Where the child finds the simulators and its state, and how it runs.
pub(super) struct ChildSetup<'a> {
    pub onefile_url: &'a str,
    pub pics_url: &'a str,
    pub state_dir: &'a Path,
    pub window: Duration,
    pub concurrency: usize,
}

/// What a child reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct PhaseOutput {
    /// Time inside the run (the child's own clock, from before the run's first call).
    pub run_ms: f64,
    /// Learners sent to be synced.
    pub synced: u64,
    pub done: u64,
    pub failed: u64,
    /// Learners skipped because neither side changed (§6).
    pub skipped: u64,
    pub out_of_scope: u64,
    /// Changes written.
    pub written: u64,
    /// OneFile calls as the client's pacer counted them.
    pub onefile_calls: u64,
    pub pics_calls: u64,
    /// The first few failures, for the report.
    pub failures: Vec<String>,
    /// The process's peak resident memory (VmHWM), when the OS tells.
    pub peak_rss_kb: Option<u64>,
}

fn bench_err(e: impl std::fmt::Display) -> LabError {
    LabError::Other(format!("bench: {e}"))
}

/// The world's tenant, pointed at the simulators: the demo's settings, `pacer` for OneFile and
/// OneFile's rate window scaled to `window` (so a 429 without `Retry-After` waits one window).
fn tenant(s: &ChildSetup<'_>, baseline: bool) -> Result<Tenant, LabError> {
    let settings = Settings {
        integration_enabled: true,
        desktop_integration_disabled: true,
        environment: picsync_domain::settings::Environment::Custom(s.onefile_url.to_string()),
        ..Settings::default()
    };
    let pacer = if baseline {
        Pacer::new(UNPACED, s.window)
    } else {
        Pacer::new(settings.onefile_calls_per_minute, s.window)
    };
    Ok(Tenant::connect(
        TenantId::from("bench"),
        settings,
        s.pics_url,
        Some(picsync_domain::OfCentreId(world::CENTRE)),
        &TenantSecrets::new(
            SecretString::from(world::ONEFILE_TOKEN),
            world::PICS_USERNAME,
            SecretString::from(world::PICS_PASSWORD),
        ),
        pacer,
        |_, onefile| onefile.rate_window = s.window,
    )?)
}

fn options(phase: Phase, concurrency: usize) -> RunOptions {
    match phase {
        Phase::Initial | Phase::Periodic => RunOptions {
            concurrency: concurrency.max(1),
            ..RunOptions::default()
        },
        Phase::Full => RunOptions {
            mode: Some(Mode::Periodic),
            full: true,
            concurrency: concurrency.max(1),
            ..RunOptions::default()
        },
        Phase::Baseline => RunOptions {
            concurrency: 1,
            ..RunOptions::default()
        },
    }
}

/// Runs one phase and prints its [`PhaseOutput`] as JSON on stdout.
pub(super) async fn run(phase: Phase, s: &ChildSetup<'_>) -> Result<u8, LabError> {
    let state = EmbeddedState::open(s.state_dir).map_err(bench_err)?;
    let engine = Engine::new(Arc::new(state), picsync_engine::system_clock());
    let t = tenant(s, phase == Phase::Baseline)?;
    say(READY)?;
    let started = Instant::now();
    let summary = engine
        .run_tenant(&t, &options(phase, s.concurrency), &NoProgress)
        .await?;
    let run_ms = started.elapsed().as_secs_f64() * 1000.0;
    let r = &summary.run;
    let out = PhaseOutput {
        run_ms,
        synced: r.total,
        done: r.done,
        failed: r.failed,
        skipped: r.skipped_unchanged,
        out_of_scope: r.out_of_scope,
        written: summary.reports.iter().map(|l| l.written as u64).sum(),
        onefile_calls: r.onefile_calls,
        pics_calls: r.pics_calls,
        failures: r
            .failures
            .iter()
            .take(5)
            .map(|f| format!("{}: {}", f.learner, f.reason))
            .collect(),
        peak_rss_kb: peak_rss_kb(),
    };
    say(&serde_json::to_string(&out).map_err(bench_err)?)?;
    Ok(0)
}

fn say(line: &str) -> Result<(), LabError> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(bench_err)
}

/// This process's peak resident set (`VmHWM` in /proc/self/status), in kB; `None` off Linux.
pub(super) fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

pub(super) fn parse_vm_hwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_memory_is_read_from_proc_status() {
        let status = "Name:\tpicsync\nVmPeak:\t  500 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 999 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(12345));
        assert_eq!(parse_vm_hwm("Name: x\n"), None);
    }

    /// The baseline is PICSWeb's documented behaviour: one learner after another.
    #[test]
    fn baseline_runs_one_learner_at_a_time_and_picsync_its_concurrency() {
        assert_eq!(options(Phase::Baseline, 8).concurrency, 1);
        assert_eq!(options(Phase::Initial, 8).concurrency, 8);
        let full = options(Phase::Full, 4);
        assert!(full.full && full.mode == Some(Mode::Periodic));
        assert!(!options(Phase::Periodic, 4).full);
    }
}
