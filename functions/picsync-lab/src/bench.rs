//! `picsync-lab bench`: how close picsync runs to OneFile's rate limit (R35), how few calls it
//! needs per learner (§6), and how it compares with a PICSWeb-style client, on the simulators
//! with a scaled minute. Writes its sections of `BENCHMARKS.md` (see [`report::merge`]).
//!
//! The parent process keeps the simulators; each run is a child `picsync-lab` process (see
//! [`child`]) running the engine as `picsync sync` does, so that peak memory and start-up are
//! the sync's own. Workloads: (a) picsync's initial sync of the world's tenant; (b) realistic
//! edits of a share of the learners on both sides, then a periodic run; (c) a periodic run with
//! no edits; (d) a periodic full sweep with no edits; and, at one or more simulated OneFile
//! latencies, the initial syncs of picsync and of the baseline client, each on a fresh copy of a
//! slice of the world. The sizes and start-up of the product binaries (`picsync`, the Lambda
//! `worker`) are measured when they were built next to this one.

mod child;
mod edits;
mod figures;
mod machine;
mod report;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use picsync_sim::faults::Fault;
use picsync_sim::onefile::Quirks;
use picsync_sim::world;
use serde::Serialize;

use crate::LabError;
pub(crate) use child::Phase;
use child::{ChildSetup, PhaseOutput, READY};
use figures::{ONEFILE_LIMIT, calls_between, scaled, share};

#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// Learners in the simulated tenant.
    #[arg(long, default_value_t = 2000)]
    learners: usize,
    /// OneFile's one-minute rate window, scaled down (milliseconds); OneFile allows 300 calls per
    /// window, picsync paces itself at its default setting of 280.
    #[arg(long, default_value_t = 6000)]
    minute_ms: u64,
    /// Where to write the report.
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: PathBuf,
    /// Leave out the PICSWeb-style baseline client.
    #[arg(long)]
    skip_baseline: bool,
    /// Share of the learners edited between the initial and the periodic run (per cent).
    #[arg(long, default_value_t = 5.0)]
    changed_percent: f64,
    /// Learners picsync syncs at once (they share the tenant's OneFile pacing, R35).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Time each simulated API call takes, in real-world milliseconds (scaled with the minute).
    /// The baseline's PICS calls take none (PICSWeb works on its own database).
    #[arg(long, default_value_t = 100)]
    latency_ms: u64,
    /// Learners in the slice of the tenant on which picsync and the baseline are compared (in
    /// learners per second).
    #[arg(long, default_value_t = 600)]
    baseline_learners: usize,
    /// OneFile latencies (real-world ms) at which picsync and the baseline are compared;
    /// --latency-ms is always one of them.
    #[arg(long, value_delimiter = ',', default_value = "0,100,200,400")]
    baseline_latencies_ms: Vec<u64>,
    /// criterion's output directory (default: the workspace's target/criterion).
    #[arg(long)]
    criterion_dir: Option<PathBuf>,

    // A phase in a child process (internal).
    #[arg(long, hide = true)]
    child: Option<Phase>,
    #[arg(long, hide = true)]
    onefile_url: Option<String>,
    #[arg(long, hide = true)]
    pics_url: Option<String>,
    #[arg(long, hide = true)]
    state_dir: Option<PathBuf>,
}

fn bench_err(e: impl std::fmt::Display) -> LabError {
    LabError::Other(format!("bench: {e}"))
}

/// The runs the bench makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum Workload {
    /// (a) picsync's initial sync.
    Initial,
    /// (b) a periodic run after edits to a share of the learners.
    AfterEdits,
    /// (c) a periodic run with no edits since the last.
    Quiet,
    /// (d) a periodic full sweep with no edits.
    FullSweep,
    /// The PICSWeb-style client's initial sync.
    Baseline,
}

impl Workload {
    fn phase(self) -> Phase {
        match self {
            Workload::Initial => Phase::Initial,
            Workload::AfterEdits | Workload::Quiet => Phase::Periodic,
            Workload::FullSweep => Phase::Full,
            Workload::Baseline => Phase::Baseline,
        }
    }
}

/// One run, as measured from outside its process.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PhaseResult {
    pub name: String,
    pub workload: Workload,
    pub phase: Phase,
    /// Learners the run covered: synced or skipped as unchanged.
    pub learners: u64,
    /// From starting the process to its exit.
    pub wall_ms: f64,
    /// From starting the process to its "ready" line.
    pub ready_ms: Option<f64>,
    /// What the process reported.
    pub out: PhaseOutput,
    /// Calls per endpoint as the simulators counted them (refused ones included).
    pub onefile: BTreeMap<String, u64>,
    pub pics: BTreeMap<String, u64>,
    /// 429s served.
    pub limited: u64,
}

impl PhaseResult {
    pub(crate) fn wall(&self) -> Duration {
        Duration::from_secs_f64(self.wall_ms / 1000.0)
    }
    pub(crate) fn onefile_calls(&self) -> u64 {
        self.onefile.values().sum()
    }
    pub(crate) fn pics_calls(&self) -> u64 {
        self.pics.values().sum()
    }
}

/// picsync and the baseline, each syncing a fresh copy of the same slice of the world, at one
/// OneFile latency.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Comparison {
    pub latency_ms: u64,
    pub picsync: PhaseResult,
    pub baseline: PhaseResult,
    /// The most calls OneFile saw in one window, in the baseline's run.
    pub baseline_peak_window: u32,
}

/// Everything measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Measured {
    pub learners: usize,
    pub window_ms: u64,
    pub setting_limit: u32,
    pub concurrency: usize,
    pub latency_ms: u64,
    pub changed_percent: f64,
    pub changed: usize,
    pub edits: Vec<(String, usize)>,
    pub phases: Vec<PhaseResult>,
    pub peak_window: u32,
    pub baseline_learners: usize,
    pub comparisons: Vec<Comparison>,
    pub bench_peak_rss_kb: Option<u64>,
    pub machine: machine::Machine,
    pub binaries: Vec<machine::Binary>,
    pub startup: Option<machine::Startup>,
    pub worker_startup: Option<machine::WorkerStartup>,
    pub criterion: Vec<machine::CriterionResult>,
    pub command: String,
}

impl Measured {
    pub(crate) fn window(&self) -> Duration {
        Duration::from_millis(self.window_ms)
    }
    pub(crate) fn run(&self, w: Workload) -> Option<&PhaseResult> {
        self.phases.iter().find(|r| r.workload == w)
    }
    /// The comparison at the main runs' latency: the one the throughput target is checked on.
    pub(crate) fn main_comparison(&self) -> Option<&Comparison> {
        self.comparisons
            .iter()
            .find(|c| c.latency_ms == self.latency_ms)
    }
}

pub(crate) async fn run(a: &BenchArgs, json: bool) -> Result<u8, LabError> {
    let window = Duration::from_millis(a.minute_ms.max(100));
    if let Some(phase) = a.child {
        let (Some(onefile_url), Some(pics_url), Some(state_dir)) =
            (&a.onefile_url, &a.pics_url, &a.state_dir)
        else {
            return Err(LabError::Input(
                "bench --child needs --onefile-url, --pics-url and --state-dir".into(),
            ));
        };
        let setup = ChildSetup {
            onefile_url,
            pics_url,
            state_dir,
            window,
            concurrency: a.concurrency,
        };
        return child::run(phase, &setup).await;
    }
    if a.learners < 20 {
        return Err(LabError::Input(format!(
            "--learners {} is too few for a benchmark: give at least 20",
            a.learners
        )));
    }
    if !(0.0..=100.0).contains(&a.changed_percent) {
        return Err(LabError::Input(format!(
            "--changed-percent {} is not between 0 and 100",
            a.changed_percent
        )));
    }
    let exe = std::env::current_exe().map_err(bench_err)?;
    let m = measure(a, &exe, window).await?;
    let ours = report::markdown(&m, &report::checks(&m)).map_err(bench_err)?;
    // sections of the file that other tools wrote (the Lambda path's) are kept
    let existing = match std::fs::read_to_string(&a.out) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(LabError::Input(format!(
                "cannot read {}: {e}",
                a.out.display()
            )));
        }
    };
    std::fs::write(&a.out, report::merge(existing.as_deref(), &ours))
        .map_err(|e| LabError::Input(format!("cannot write {}: {e}", a.out.display())))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&m).map_err(bench_err)?);
    } else {
        println!("{}", report::summary(&m, &report::checks(&m)));
        println!("Written to {}", a.out.display());
    }
    Ok(0)
}

fn progress(msg: &str) {
    eprintln!("bench: {msg}");
}

async fn measure(a: &BenchArgs, exe: &Path, window: Duration) -> Result<Measured, LabError> {
    let today = picsync_domain::time::london_date(Utc::now());
    let mut m = Measured {
        learners: a.learners,
        window_ms: u64::try_from(window.as_millis()).unwrap_or(u64::MAX),
        setting_limit: picsync_domain::Settings::default().onefile_calls_per_minute,
        concurrency: a.concurrency.max(1),
        latency_ms: a.latency_ms,
        changed_percent: a.changed_percent,
        changed: 0,
        edits: Vec::new(),
        phases: Vec::new(),
        peak_window: 0,
        baseline_learners: a.baseline_learners.clamp(20, a.learners),
        comparisons: Vec::new(),
        bench_peak_rss_kb: None,
        machine: machine::machine(),
        binaries: machine::binaries(exe),
        startup: None,
        worker_startup: None,
        criterion: machine::plan_benches(&machine::criterion_dir(a.criterion_dir.as_deref())),
        command: command_line(a),
    };

    // picsync: (a) initial, (b) edits then periodic, (c) periodic with no edits, (d) full sweep.
    let sims = start_world(a.learners, today, window, Client::Picsync, a.latency_ms).await?;
    let dir = tempfile::tempdir().map_err(bench_err)?;
    let runner = Runner {
        exe,
        sims: &sims,
        state_dir: dir.path(),
        window,
        concurrency: m.concurrency,
        used: Default::default(),
    };
    progress(&format!(
        "{} learners, OneFile minute scaled to {} ms, {} ms per call (real-world {} ms)",
        a.learners,
        window.as_millis(),
        scaled(Duration::from_millis(a.latency_ms), window).as_millis(),
        a.latency_ms
    ));
    m.phases
        .push(runner.phase(Workload::Initial, "initial sync").await?);
    let changed = edits::pick(
        &sims.info.in_scope,
        share(a.learners, a.changed_percent).min(sims.info.in_scope.len()),
    );
    m.changed = changed.len();
    m.edits = edits::apply(&sims, &changed, today)
        .into_iter()
        .map(|(e, n)| (e.describe().to_string(), n))
        .collect();
    m.phases.push(
        runner
            .phase(
                Workload::AfterEdits,
                &format!("periodic after edits to {}", m.changed),
            )
            .await?,
    );
    m.phases
        .push(runner.phase(Workload::Quiet, "periodic, no edits").await?);
    m.phases.push(
        runner
            .phase(Workload::FullSweep, "full sweep, no edits")
            .await?,
    );
    m.peak_window = sims.onefile.peak_calls_in_window();
    drop(sims);

    // picsync against the baseline: fresh copies of the same slice of the world per latency.
    if !a.skip_baseline {
        let mut latencies = a.baseline_latencies_ms.clone();
        latencies.push(a.latency_ms);
        latencies.sort_unstable();
        latencies.dedup();
        for latency in latencies {
            m.comparisons
                .push(compare(exe, &m, today, window, latency).await?);
        }
    }
    m.bench_peak_rss_kb = child::peak_rss_kb();
    m.machine.load_after = machine::load_average();
    if let Some(picsync) = m.binaries.iter().find(|b| b.name == "picsync") {
        let path = picsync.path.clone();
        m.startup = tokio::task::spawn_blocking(move || {
            machine::startup("picsync", &path, &["--version"], 20)
        })
        .await
        .map_err(bench_err)?;
    }
    if let Some(worker) = m.binaries.iter().find(|b| b.name == "worker") {
        progress("the Lambda worker's start-up…");
        let path = worker.path.clone();
        m.worker_startup = tokio::task::spawn_blocking(move || machine::worker_startup(&path, 10))
            .await
            .map_err(bench_err)?;
    }
    Ok(m)
}

fn command_line(a: &BenchArgs) -> String {
    format!(
        "picsync-lab bench --learners {} --minute-ms {} --changed-percent {} --concurrency {} --latency-ms {}{}",
        a.learners,
        a.minute_ms,
        a.changed_percent,
        a.concurrency,
        a.latency_ms,
        if a.skip_baseline {
            " --skip-baseline".to_string()
        } else {
            format!(
                " --baseline-learners {} --baseline-latencies-ms {}",
                a.baseline_learners,
                a.baseline_latencies_ms
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
    )
}

/// Which client a copy of the world is started for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Picsync,
    Baseline,
}

/// Both simulators seeded with the world, OneFile limited to 300 calls per `window`, every
/// OneFile call taking `latency_ms` (real-world, scaled like the minute).
///
/// For picsync, PICS calls take as long (both are APIs across the internet). For the baseline
/// they take no time: PICSWeb's OneFile interface runs inside PICS, next to its database. The
/// baseline's OneFile sends no `Retry-After`, so its client waits a whole window on each 429.
async fn start_world(
    learners: usize,
    today: chrono::NaiveDate,
    window: Duration,
    client: Client,
    latency_ms: u64,
) -> Result<world::Running, LabError> {
    let sims = world::start(learners, today, (ONEFILE_LIMIT, window))
        .await
        .map_err(bench_err)?;
    if client == Client::Baseline {
        sims.onefile.set_quirks(Quirks {
            retry_after: false,
            ..sims.onefile.quirks()
        });
    }
    let latency = scaled(Duration::from_millis(latency_ms), window);
    if !latency.is_zero() {
        let every = vec![Fault::Delay(latency)];
        sims.onefile.faults().random(None, 1.0, every.clone(), 1);
        if client == Client::Picsync {
            sims.pics.faults().random(None, 1.0, every, 2);
        }
    }
    Ok(sims)
}

/// picsync's and the baseline's initial syncs of fresh copies of the world's first
/// `m.baseline_learners` learners, at one OneFile latency.
async fn compare(
    exe: &Path,
    m: &Measured,
    today: chrono::NaiveDate,
    window: Duration,
    latency_ms: u64,
) -> Result<Comparison, LabError> {
    let n = m.baseline_learners;
    let mut runs = Vec::new();
    let mut baseline_peak_window = 0;
    for client in [Client::Picsync, Client::Baseline] {
        let sims = start_world(n, today, window, client, latency_ms).await?;
        let dir = tempfile::tempdir().map_err(bench_err)?;
        let (workload, concurrency, who) = match client {
            Client::Picsync => (Workload::Initial, m.concurrency, "picsync"),
            Client::Baseline => (Workload::Baseline, 1, "baseline"),
        };
        let runner = Runner {
            exe,
            sims: &sims,
            state_dir: dir.path(),
            window,
            concurrency,
            used: Default::default(),
        };
        let name = format!("{who}, {n} learners, {latency_ms} ms per call");
        runs.push(runner.phase(workload, &name).await?);
        if client == Client::Baseline {
            baseline_peak_window = sims.onefile.peak_calls_in_window();
        }
    }
    let baseline = runs.pop().ok_or_else(|| bench_err("no baseline run"))?;
    let picsync = runs.pop().ok_or_else(|| bench_err("no picsync run"))?;
    Ok(Comparison {
        latency_ms,
        picsync,
        baseline,
        baseline_peak_window,
    })
}

/// Runs phases as child processes against one pair of simulators and one state directory.
struct Runner<'a> {
    exe: &'a Path,
    sims: &'a world::Running,
    state_dir: &'a Path,
    window: Duration,
    concurrency: usize,
    /// A phase has run against these simulators.
    used: std::cell::Cell<bool>,
}

impl Runner<'_> {
    async fn phase(&self, workload: Workload, name: &str) -> Result<PhaseResult, LabError> {
        // Calls of the previous process all fall in earlier fixed windows than this one's (R35
        // holds per process; the bench does not overlap processes).
        if self.used.replace(true) {
            tokio::time::sleep(self.window + Duration::from_millis(100)).await;
        }
        let phase = workload.phase();
        progress(&format!("{name}…"));
        let onefile0 = self.sims.onefile.counters().snapshot();
        let pics0 = self.sims.pics.counters().snapshot();
        let limited0 = self.sims.onefile.rate_limited();
        let args = vec![
            "bench".to_string(),
            "--child".to_string(),
            phase_name(phase).to_string(),
            "--onefile-url".to_string(),
            self.sims.onefile.base_url(),
            "--pics-url".to_string(),
            self.sims.pics.base_url(),
            "--state-dir".to_string(),
            self.state_dir.display().to_string(),
            "--minute-ms".to_string(),
            self.window.as_millis().to_string(),
            "--concurrency".to_string(),
            self.concurrency.to_string(),
        ];
        let exe = self.exe.to_path_buf();
        let (wall, ready, out) = tokio::task::spawn_blocking(move || run_child(&exe, &args))
            .await
            .map_err(bench_err)??;
        let r = PhaseResult {
            name: name.to_string(),
            workload,
            phase,
            learners: out.synced + out.skipped,
            wall_ms: wall.as_secs_f64() * 1000.0,
            ready_ms: ready.map(|d| d.as_secs_f64() * 1000.0),
            onefile: calls_between(&onefile0, &self.sims.onefile.counters().snapshot()),
            pics: calls_between(&pics0, &self.sims.pics.counters().snapshot()),
            limited: self.sims.onefile.rate_limited().saturating_sub(limited0),
            out,
        };
        progress(&format!(
            "{name}: {} learners synced, {} skipped, {} failed; {} OneFile calls, {} 429s; {:.1} s",
            r.out.synced,
            r.out.skipped,
            r.out.failed,
            r.onefile_calls(),
            r.limited,
            wall.as_secs_f64()
        ));
        Ok(r)
    }
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Initial => "initial",
        Phase::Periodic => "periodic",
        Phase::Full => "full",
        Phase::Baseline => "baseline",
    }
}

/// Starts `exe args`, notes when it says it is ready, and reads its last line as the result.
fn run_child(
    exe: &Path,
    args: &[String],
) -> Result<(Duration, Option<Duration>, PhaseOutput), LabError> {
    let started = Instant::now();
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if std::env::var_os("PICSYNC_LOG").is_none() {
        // the baseline's 429s are expected: keep its warnings off the terminal
        cmd.env("PICSYNC_LOG", "error");
    }
    let mut child = cmd.spawn().map_err(bench_err)?;
    let mut ready = None;
    let mut last = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(bench_err)?;
            if line == READY && ready.is_none() {
                ready = Some(started.elapsed());
            } else if !line.trim().is_empty() {
                last = Some(line);
            }
        }
    }
    let status = child.wait().map_err(bench_err)?;
    let wall = started.elapsed();
    if !status.success() {
        return Err(bench_err(format!(
            "the run in a child process failed ({status})"
        )));
    }
    let out = last
        .ok_or_else(|| bench_err("the child process reported nothing"))
        .and_then(|l| serde_json::from_str(&l).map_err(bench_err))?;
    Ok((wall, ready, out))
}
