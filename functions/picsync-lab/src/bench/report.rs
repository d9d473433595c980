//! The report: the targets of issue 7 checked against what was measured, and `BENCHMARKS.md`
//! (method, machine, date, tables, and for each missed target by how much, why, and what would
//! close it). The prose is in `templates/benchmarks.md`, whose `{{name}}` placeholders are filled
//! here; the file's other sections (written by other tools) are kept ([`merge`]).

use std::collections::BTreeSet;
use std::fmt::Write;
use std::time::Duration;

use super::figures::{
    Check, Goal, ONEFILE_LIMIT, budget_use, lower_bound, per, per_learner, ratio, throughput,
};
use super::{Measured, PhaseResult, Workload};

const BUDGET: &str = "Budget use, initial sync (of the 280 setting)";
const NO_429: &str = "429s received by picsync (all runs)";
const WALL: &str = "Wall time ÷ lower bound at 280, initial sync";
const WALL_300: &str = "Wall time ÷ lower bound at OneFile's 300, initial sync";
const THROUGHPUT: &str = "Throughput ÷ baseline's (learners per second)";
const FULL_SWEEP: &str = "OneFile calls per unchanged learner, full sweep";
const INCREMENTAL: &str = "OneFile calls per unchanged learner, incremental run";
const MEMORY: &str = "Peak memory of a syncing process (whole tenant)";
const BINARY: &str = "Release binary size";

/// Calls made once per run, not per learner.
const RUN_WIDE: [&str; 4] = [
    "POST /authentication",
    "POST /user/search",
    "POST /standard/search",
    "GET /customer",
];

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}
fn times(v: f64) -> String {
    format!("{v:.2}×")
}
fn calls(v: f64) -> String {
    format!("{v:.3}")
}
fn mb(v: f64) -> String {
    format!("{v:.1} MB")
}
fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Budget use of a run against `limit` calls per window.
fn budget(r: &PhaseResult, limit: u32, window: Duration) -> f64 {
    budget_use(r.onefile_calls(), r.wall(), limit, window)
}

/// Wall time over the rate limit's lower bound at `limit`.
fn wall_ratio(r: &PhaseResult, limit: u32, window: Duration) -> f64 {
    ratio(r.wall(), lower_bound(r.onefile_calls(), limit, window))
}

/// picsync's throughput over the baseline's, both initial syncs in learners per second.
pub(super) fn throughput_ratio(picsync: &PhaseResult, baseline: &PhaseResult) -> f64 {
    let theirs = throughput(baseline.out.synced, baseline.wall());
    if theirs <= 0.0 {
        return 0.0;
    }
    throughput(picsync.out.synced, picsync.wall()) / theirs
}

/// Every run of picsync (not the baseline's).
fn picsync_runs(m: &Measured) -> impl Iterator<Item = &PhaseResult> {
    m.phases
        .iter()
        .chain(m.comparisons.iter().map(|c| &c.picsync))
}

/// The largest peak memory of picsync's runs (MB).
fn peak_mb(m: &Measured) -> Option<f64> {
    picsync_runs(m)
        .filter_map(|p| p.out.peak_rss_kb)
        .max()
        .map(|kb| kb as f64 / 1024.0)
}

/// The binary the size target is about: the worker's when it was built, else picsync's.
fn sized_binary(m: &Measured) -> Option<&super::machine::Binary> {
    m.binaries
        .iter()
        .find(|b| b.name == "worker")
        .or_else(|| m.binaries.first())
}

/// Every target of issue 7, checked.
pub(super) fn checks(m: &Measured) -> Vec<Check> {
    let w = m.window();
    let initial = m.run(Workload::Initial);
    let lim = m.setting_limit;
    let mut out = vec![
        Check::new(
            BUDGET,
            Goal::AtLeast,
            0.95,
            initial.map(|r| budget(r, lim, w)),
            pct,
        ),
        Check::new(
            NO_429,
            Goal::AtMost,
            0.0,
            Some(picsync_runs(m).map(|p| p.limited).sum::<u64>() as f64),
            |v| format!("{v:.0}"),
        ),
        Check::new(
            WALL,
            Goal::AtMost,
            1.05,
            initial.map(|r| wall_ratio(r, lim, w)),
            times,
        ),
        Check::new(
            WALL_300,
            Goal::AtMost,
            1.05,
            initial.map(|r| wall_ratio(r, ONEFILE_LIMIT, w)),
            times,
        ),
        Check::new(
            THROUGHPUT,
            Goal::AtLeast,
            2.0,
            m.main_comparison()
                .map(|c| throughput_ratio(&c.picsync, &c.baseline)),
            times,
        ),
        Check::new(
            FULL_SWEEP,
            Goal::AtMost,
            2.0,
            m.run(Workload::FullSweep)
                .map(|r| per(r.onefile_calls(), r.learners)),
            calls,
        ),
        Check::new(
            INCREMENTAL,
            Goal::AtMost,
            0.05,
            m.run(Workload::Quiet)
                .map(|r| per(r.onefile_calls(), r.learners)),
            calls,
        ),
        Check::new(MEMORY, Goal::Below, 64.0, peak_mb(m), mb),
    ];
    let sized = sized_binary(m).filter(|_| m.machine.profile == "release");
    let mut binary = Check::new(
        BINARY,
        Goal::Below,
        15.0,
        sized.map(|b| b.bytes as f64 / 1024.0 / 1024.0),
        mb,
    );
    if let Some(b) = sized {
        binary.measured = format!("{} (`{}`)", binary.measured, b.name);
    }
    out.push(binary);
    out
}

/// A few lines for the terminal.
pub(super) fn summary(m: &Measured, checks: &[Check]) -> String {
    let mut s = format!(
        "picsync-lab bench: {} learners, OneFile minute = {} ms\n",
        m.learners, m.window_ms
    );
    for c in checks {
        let mark = match c.met {
            Some(true) => "ok  ",
            Some(false) => "MISS",
            None => "n/a ",
        };
        let _ = writeln!(
            s,
            "  {mark} {:<55} {:>12}  (target {})",
            c.figure, c.measured, c.target
        );
    }
    s
}

/// The template of this tool's sections of `BENCHMARKS.md`.
const TEMPLATE: &str = include_str!("../../templates/benchmarks.md");

/// This tool's sections of `BENCHMARKS.md`: the template filled with `m`'s figures. `Err` names a
/// placeholder of the template that has no value, or a value the template does not use.
pub(super) fn markdown(m: &Measured, checks: &[Check]) -> Result<String, String> {
    let latency = super::figures::scaled(Duration::from_millis(m.latency_ms), m.window());
    let edits = if m.edits.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = m.edits.iter().map(|(e, n)| format!("{e} ({n})")).collect();
        format!("\n  The edits of (b): {}.", list.join("; "))
    };
    let missing: Vec<String> = ["picsync", "worker"]
        .into_iter()
        .filter(|name| !m.binaries.iter().any(|b| b.name == *name))
        .map(|name| format!("`{name}`"))
        .collect();
    let not_built = if missing.is_empty() {
        String::new()
    } else {
        format!(
            " Not built next to it in this run, so not measured: {}.",
            missing.join(", ")
        )
    };
    let mut missed_block = String::new();
    missed(&mut missed_block, m, checks)?;
    missed_block.truncate(missed_block.trim_end().len());
    let values = [
        ("command", m.command.clone()),
        ("date", m.machine.date.clone()),
        ("profile", m.machine.profile.to_string()),
        ("targets_table", block(|s| targets_table(s, checks))),
        ("onefile_limit", ONEFILE_LIMIT.to_string()),
        ("window_ms", m.window_ms.to_string()),
        ("latency_scaled_ms", latency.as_millis().to_string()),
        ("latency_ms", m.latency_ms.to_string()),
        ("learners", m.learners.to_string()),
        (
            "in_scope",
            m.run(Workload::Initial)
                .map_or(0, |r| r.learners)
                .to_string(),
        ),
        ("setting_limit", m.setting_limit.to_string()),
        ("concurrency", m.concurrency.to_string()),
        ("changed", m.changed.to_string()),
        ("changed_percent", m.changed_percent.to_string()),
        ("edits", edits),
        ("baseline_learners", m.baseline_learners.to_string()),
        ("machine", block(|s| machine_section(s, m))),
        ("runs", block(|s| runs_table(s, m, m.window()))),
        (
            "onefile_calls",
            block(|s| endpoint_table(s, &m.phases.iter().collect::<Vec<_>>(), |r| &r.onefile)),
        ),
        (
            "pics_calls",
            block(|s| endpoint_table(s, &m.phases.iter().collect::<Vec<_>>(), |r| &r.pics)),
        ),
        ("after_edits", block(|s| after_edits(s, m))),
        ("baseline", block(|s| baseline_table(s, m))),
        ("not_built", not_built),
        ("process", block(|s| process_section(s, m))),
        ("plan", block(|s| plan_section(s, m))),
        ("missed", missed_block),
    ];
    fill(TEMPLATE, &values)
}

/// What `f` writes, without its trailing blank lines (the template spaces the sections).
fn block(f: impl FnOnce(&mut String)) -> String {
    let mut s = String::new();
    f(&mut s);
    s.truncate(s.trim_end().len());
    s
}

/// `template` with each `{{name}}` replaced by its value; runs of blank lines left by empty
/// values are collapsed to one.
pub(super) fn fill(template: &str, values: &[(&str, String)]) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() * 2);
    let mut used = BTreeSet::new();
    let mut rest = template;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after.find("}}").ok_or_else(|| {
            format!(
                "the template has an unclosed {{{{ before {:?}",
                after.lines().next().unwrap_or("")
            )
        })?;
        let name = &after[..end];
        let (_, value) = values
            .iter()
            .find(|(k, _)| *k == name)
            .ok_or_else(|| format!("the template's {{{{{name}}}}} has no value"))?;
        out.push_str(value);
        used.insert(name);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    if let Some((unused, _)) = values.iter().find(|(k, _)| !used.contains(k)) {
        return Err(format!("{{{{{unused}}}}} is not in the template"));
    }
    while out.contains("\n\n\n") {
        out = out.replace("\n\n\n", "\n\n");
    }
    Ok(out)
}

/// The line before this tool's part of `BENCHMARKS.md`.
pub(super) const BEGIN: &str = "<!-- picsync-lab bench: generated from here to its end marker; what is outside the markers was written by other tools and is kept -->";
/// The line after it.
pub(super) const END: &str = "<!-- picsync-lab bench: end -->";

/// `BENCHMARKS.md` with this tool's part replaced by `ours`, and every other part of `existing`
/// (another tool's section, such as the Lambda path's of `cargo run -p worker --example
/// lambda_bench`) kept as it was.
///
/// This tool's part is what lies between [`BEGIN`] and [`END`]. In a file written before the
/// markers, it is the text before the first `## ` heading and each `## ` section whose heading
/// the template has; the other sections are kept, in their order, after the new part.
pub(super) fn merge(existing: Option<&str>, ours: &str) -> String {
    let ours = format!("{BEGIN}\n{}\n{END}\n", ours.trim_end());
    let Some(existing) = existing else {
        return ours;
    };
    if let (Some(b), Some(e)) = (existing.find(BEGIN), existing.find(END))
        && b < e
    {
        let after = &existing[e + END.len()..];
        let after = after.strip_prefix('\n').unwrap_or(after);
        return format!("{}{ours}{after}", &existing[..b]);
    }
    let owned: BTreeSet<&str> = TEMPLATE
        .lines()
        .filter(|l| l.starts_with("## "))
        .map(str::trim_end)
        .collect();
    let kept: Vec<&str> = sections(existing)
        .into_iter()
        .skip(1)
        .filter(|sec| !owned.contains(sec.lines().next().unwrap_or("").trim_end()))
        .collect();
    if kept.is_empty() {
        return ours;
    }
    format!("{ours}\n{}", kept.concat())
}

/// `text` cut before each `## ` heading outside code fences: the text before the first heading,
/// then one piece per section (its heading, its `###` subsections and its body).
fn sections(text: &str) -> Vec<&str> {
    let mut cuts = vec![0];
    let mut fenced = false;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with("## ") {
            cuts.push(at);
        }
        at += line.len();
    }
    cuts.push(text.len());
    cuts.windows(2).map(|w| &text[w[0]..w[1]]).collect()
}

fn targets_table(s: &mut String, checks: &[Check]) {
    let _ = writeln!(s, "| Figure | Target | Measured | Met |");
    let _ = writeln!(s, "|---|---|---|---|");
    for c in checks {
        let met = match (c.met, &c.shortfall) {
            (Some(true), _) => "yes".to_string(),
            (Some(false), Some(by)) => format!("**no**: {by}"),
            (Some(false), None) => "**no**".to_string(),
            (None, _) => "not measured".to_string(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {met} |",
            c.figure, c.target, c.measured
        );
    }
    let _ = writeln!(s);
}

fn machine_section(s: &mut String, m: &Measured) {
    let mc = &m.machine;
    let _ = writeln!(
        s,
        "- CPUs: {} ({})",
        mc.cpus,
        mc.cpu_model.as_deref().unwrap_or("model unknown")
    );
    let _ = writeln!(s, "- Memory: {}", mc.memory.as_deref().unwrap_or("unknown"));
    let _ = writeln!(s, "- OS: {}", mc.os.as_deref().unwrap_or("unknown"));
    let _ = writeln!(
        s,
        "- Toolchain: {}; `{}` profile",
        mc.rustc.as_deref().unwrap_or("rustc unknown"),
        mc.profile
    );
    if let Some(before) = &mc.load_before {
        let _ = writeln!(
            s,
            "- Load average (1 / 5 / 15 min): {before} when the bench started, {} when it ended \
             (other work shared the cores; the runs are bound mostly by OneFile's pacing and the \
             simulated latency, not by CPU)",
            mc.load_after.as_deref().unwrap_or("?")
        );
    }
    let _ = writeln!(s, "- Date: {}\n", mc.date);
}

fn runs_table(s: &mut String, m: &Measured, w: Duration) {
    let _ = writeln!(
        s,
        "| Run | Learners in scope | Synced | Skipped (§6) | Failed | Changes written | OneFile calls | PICS calls | 429s |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &m.phases {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.learners,
            r.out.synced,
            r.out.skipped,
            r.out.failed,
            r.out.written,
            r.onefile_calls(),
            r.pics_calls(),
            r.limited
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "| Run | Wall | Bound at {} | Wall ÷ bound | Bound at {ONEFILE_LIMIT} | Wall ÷ bound | Budget use of {} | of {ONEFILE_LIMIT} |",
        m.setting_limit, m.setting_limit
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &m.phases {
        let c = r.onefile_calls();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            secs(r.wall()),
            secs(lower_bound(c, m.setting_limit, w)),
            times(wall_ratio(r, m.setting_limit, w)),
            secs(lower_bound(c, ONEFILE_LIMIT, w)),
            times(wall_ratio(r, ONEFILE_LIMIT, w)),
            pct(budget(r, m.setting_limit, w)),
            pct(budget(r, ONEFILE_LIMIT, w)),
        );
    }
    let _ = writeln!(
        s,
        "\nMost OneFile calls in one fixed window over picsync's runs: {} (OneFile's limit {ONEFILE_LIMIT}).\n",
        m.peak_window
    );
    let failures: Vec<&String> = m.phases.iter().flat_map(|p| &p.out.failures).collect();
    if !failures.is_empty() {
        let _ = writeln!(s, "Failures (first few):\n");
        for f in failures {
            let _ = writeln!(s, "- {f}");
        }
        let _ = writeln!(s);
    }
}

/// Calls per learner in scope, per endpoint and run, for one side.
fn endpoint_table(
    s: &mut String,
    runs: &[&PhaseResult],
    side: impl Fn(&PhaseResult) -> &std::collections::BTreeMap<String, u64>,
) {
    let endpoints: BTreeSet<&String> = runs.iter().flat_map(|r| side(r).keys()).collect();
    let _ = write!(s, "| Endpoint |");
    for r in runs {
        let _ = write!(s, " {} |", r.name);
    }
    let _ = write!(s, "\n|---|");
    for _ in runs {
        let _ = write!(s, "---:|");
    }
    let _ = writeln!(s);
    let per_run: Vec<_> = runs
        .iter()
        .map(|r| per_learner(side(r), r.learners))
        .collect();
    for e in endpoints {
        let _ = write!(s, "| `{e}` |");
        for p in &per_run {
            let _ = write!(s, " {} |", p.get(e).map_or("–".into(), |v| calls(*v)));
        }
        let _ = writeln!(s);
    }
    let _ = write!(s, "| **total** |");
    for r in runs {
        let _ = write!(
            s,
            " **{}** |",
            calls(per(side(r).values().sum(), r.learners))
        );
    }
    let _ = writeln!(s, "\n");
}

/// The periodic run after edits, per learner synced.
fn after_edits(s: &mut String, m: &Measured) {
    if let Some(r) = m.run(Workload::AfterEdits) {
        let _ = writeln!(
            s,
            "In the periodic run after edits, {} learners were synced for {} edited: {} OneFile \
             and {} PICS calls per learner synced.\n",
            r.out.synced,
            m.changed,
            calls(per(r.onefile_calls(), r.out.synced)),
            calls(per(r.pics_calls(), r.out.synced)),
        );
    }
}

fn baseline_table(s: &mut String, m: &Measured) {
    if m.comparisons.is_empty() {
        let _ = writeln!(s, "Not run (`--skip-baseline`).\n");
        return;
    }
    let w = m.window();
    let _ = writeln!(
        s,
        "Initial syncs of {} learners; picsync syncs {} at once. Latency is per OneFile call in \
         real life (scaled with the minute); picsync's PICS calls take as long, the baseline's \
         none.\n",
        m.baseline_learners, m.concurrency
    );
    let _ = writeln!(
        s,
        "| OneFile latency | Client | Learners synced | Wall | Learners/s | OneFile calls | 429s | Budget use of {ONEFILE_LIMIT} | Wall ÷ bound at {ONEFILE_LIMIT} | picsync ÷ baseline |"
    );
    let _ = writeln!(s, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for c in &m.comparisons {
        let ratio = times(throughput_ratio(&c.picsync, &c.baseline));
        for (who, r, ratio) in [
            ("picsync", &c.picsync, ratio.as_str()),
            ("baseline", &c.baseline, ""),
        ] {
            let _ = writeln!(
                s,
                "| {} ms | {who} | {} | {} | {:.2} | {} | {} | {} | {} | {ratio} |",
                c.latency_ms,
                r.out.synced,
                secs(r.wall()),
                throughput(r.out.synced, r.wall()),
                r.onefile_calls(),
                r.limited,
                pct(budget(r, ONEFILE_LIMIT, w)),
                times(wall_ratio(r, ONEFILE_LIMIT, w)),
            );
        }
    }
    let _ = writeln!(
        s,
        "\nEach figure is one run. The baseline's wall time depends on where its 429s fall in \
         OneFile's windows, so it varies from run to run where it meets the limit (up to about \
         {} ms a call); a larger `--baseline-learners` averages more windows.",
        60_000 / u64::from(ONEFILE_LIMIT)
    );
    let peaks: Vec<String> = m
        .comparisons
        .iter()
        .map(|c| format!("{} at {} ms", c.baseline_peak_window, c.latency_ms))
        .collect();
    let _ = writeln!(
        s,
        "\nMost calls the baseline made in one fixed window: {} (OneFile's limit {ONEFILE_LIMIT}; \
         the calls over it were refused with a 429).\n",
        peaks.join(", ")
    );
}

fn process_section(s: &mut String, m: &Measured) {
    let _ = writeln!(s, "| Figure | Value |");
    let _ = writeln!(s, "|---|---:|");
    let baselines = m.comparisons.iter().map(|c| &c.baseline);
    for r in picsync_runs(m).chain(baselines) {
        if let Some(kb) = r.out.peak_rss_kb {
            let _ = writeln!(
                s,
                "| Peak memory (VmHWM), {} | {} |",
                r.name,
                mb(kb as f64 / 1024.0)
            );
        }
    }
    if let Some(kb) = m.bench_peak_rss_kb {
        let _ = writeln!(
            s,
            "| Peak memory of the bench's parent process (both simulators, every world copy) | {} |",
            mb(kb as f64 / 1024.0)
        );
    }
    for b in &m.binaries {
        let build = if m.machine.profile == "release" {
            "release build, stripped by the workspace's release profile"
        } else {
            "debug build: not representative"
        };
        let _ = writeln!(
            s,
            "| Size of `{}` ({build}) | {} |",
            b.name,
            mb(b.bytes as f64 / 1024.0 / 1024.0)
        );
    }
    if let Some(st) = &m.startup {
        let _ = writeln!(
            s,
            "| Process start to exit, `{}` (median / fastest of {}) | {:.1} ms / {:.1} ms |",
            st.command, st.runs, st.median_ms, st.min_ms
        );
    }
    if let Some(w) = &m.worker_startup {
        let _ = writeln!(
            s,
            "| Worker: process start to its first request for an invocation, from a stand-in Lambda Runtime API on 127.0.0.1 (median / fastest of {}) | {:.1} ms / {:.1} ms |",
            w.runs, w.median_ms, w.min_ms
        );
        if let Some(kb) = w.ready_rss_kb {
            let _ = writeln!(
                s,
                "| Worker: resident memory when ready (VmHWM) | {} |",
                mb(kb as f64 / 1024.0)
            );
        }
    }
    let ready: Vec<Duration> = m
        .phases
        .iter()
        .filter_map(|p| p.ready_ms)
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .collect();
    if !ready.is_empty() {
        let _ = writeln!(
            s,
            "| Process start to ready (runtime, state opened, both clients built; median of {} runs) | {:.1} ms |",
            ready.len(),
            super::figures::median(ready).as_secs_f64() * 1000.0
        );
    }
    let _ = writeln!(s);
}

fn plan_section(s: &mut String, m: &Measured) {
    if m.criterion.is_empty() {
        let _ = writeln!(
            s,
            "No criterion results found: run `cargo bench -p picsync-domain --bench plan` first.\n"
        );
        return;
    }
    let _ = writeln!(
        s,
        "From `cargo bench -p picsync-domain --bench plan` (the planner alone, no I/O).\n"
    );
    let _ = writeln!(
        s,
        "| Benchmark | Mean per learner | 95 % interval | Measured |"
    );
    let _ = writeln!(s, "|---|---:|---:|---|");
    for c in &m.criterion {
        let _ = writeln!(
            s,
            "| {} | {:.2} µs | {:.2}–{:.2} µs | {} |",
            c.title,
            c.mean_ns / 1000.0,
            c.low_ns / 1000.0,
            c.high_ns / 1000.0,
            c.measured.as_deref().unwrap_or("?")
        );
    }
    if let Some(initial) = m.run(Workload::Initial)
        && let Some(c) = m.criterion.first()
    {
        let planning = Duration::from_secs_f64(c.mean_ns * initial.out.synced as f64 / 1e9);
        let _ = writeln!(
            s,
            "\nPlanning all {} learners of the initial sync costs about {:.1} ms of CPU, against \
             {} of wall time: the sync is bound by OneFile's budget, not by computation.\n",
            initial.out.synced,
            planning.as_secs_f64() * 1000.0,
            secs(initial.wall())
        );
    }
}

/// For each missed target: by how much, why, and what would close it.
fn missed(s: &mut String, m: &Measured, checks: &[Check]) -> Result<(), String> {
    let misses: Vec<&Check> = checks.iter().filter(|c| c.met == Some(false)).collect();
    if misses.is_empty() {
        let _ = writeln!(s, "None in this run.\n");
        return Ok(());
    }
    for c in misses {
        let _ = writeln!(
            s,
            "### {}: {} (target {}; {})\n",
            c.figure,
            c.measured,
            c.target,
            c.shortfall.as_deref().unwrap_or("missed")
        );
        let _ = writeln!(s, "{}\n", why(m, &c.figure)?);
    }
    Ok(())
}

/// The paragraphs of `templates/missed.md`, one per missed target (and parts of them).
const MISSED: &str = include_str!("../../templates/missed.md");

/// The paragraph after `<!-- key -->` in [`MISSED`], filled with `values`.
fn paragraph(key: &str, values: &[(&str, String)]) -> Result<String, String> {
    let marker = format!("<!-- {key} -->");
    let mut lines = MISSED.lines().skip_while(|l| l.trim() != marker);
    if lines.next().is_none() {
        return Err(format!("templates/missed.md has no paragraph {marker}"));
    }
    let text: Vec<&str> = lines
        .take_while(|l| !(l.starts_with("<!-- ") && l.trim_end().ends_with(" -->")))
        .collect();
    Ok(fill(text.join("\n").trim(), values)?.trim().to_string())
}

/// Why a target was missed and what would close it, from what this run measured.
fn why(m: &Measured, figure: &str) -> Result<String, String> {
    let w = m.window();
    let initial = m.run(Workload::Initial);
    // the pacer's sliding log admits the setting's calls in any span of a window (R35)
    let paced = m.setting_limit;
    match figure {
        BUDGET | WALL => paragraph(
            "budget",
            &[
                ("paced", paced.to_string()),
                (
                    "ready",
                    initial
                        .and_then(|r| r.ready_ms)
                        .map_or("?".into(), |ms| format!("{ms:.0} ms")),
                ),
                ("concurrency", m.concurrency.to_string()),
            ],
        ),
        WALL_300 => paragraph(
            "wall_300",
            &[
                ("setting_limit", m.setting_limit.to_string()),
                ("onefile_limit", ONEFILE_LIMIT.to_string()),
                (
                    "headroom",
                    ONEFILE_LIMIT.saturating_sub(m.setting_limit).to_string(),
                ),
                ("paced", paced.to_string()),
                (
                    "best",
                    times(f64::from(ONEFILE_LIMIT) / f64::from(paced.max(1))),
                ),
            ],
        ),
        NO_429 => paragraph("no_429", &[]),
        THROUGHPUT => throughput_why(m, w),
        FULL_SWEEP => {
            let (learner, fixed) = m.run(Workload::FullSweep).map_or((0.0, 0.0), |r| {
                let run_wide: u64 = r
                    .onefile
                    .iter()
                    .filter(|(k, _)| RUN_WIDE.contains(&k.as_str()))
                    .map(|(_, v)| v)
                    .sum();
                (
                    per(r.onefile_calls().saturating_sub(run_wide), r.learners),
                    per(run_wide, r.learners),
                )
            });
            paragraph(
                "full_sweep",
                &[("per_learner", calls(learner)), ("run_wide", calls(fixed))],
            )
        }
        INCREMENTAL => paragraph("incremental", &[]),
        MEMORY => paragraph("memory", &[]),
        BINARY => paragraph("binary", &[]),
        _ => Ok(String::new()),
    }
}

fn throughput_why(m: &Measured, w: Duration) -> Result<String, String> {
    let paced = m.setting_limit;
    let worst = f64::from(paced) / (f64::from(ONEFILE_LIMIT) / 2.0);
    // a serial client reaches the limit while one call takes less than a minute ÷ limit
    let reaches = 60_000 / u64::from(ONEFILE_LIMIT.max(1));
    // below the limit it makes a minute ÷ latency calls: half of picsync's at this latency
    let twice = 60_000.0 * 2.0 / f64::from(paced.max(1));
    let ratios: Vec<String> = m
        .comparisons
        .iter()
        .map(|c| {
            format!(
                "{} at {} ms ({} 429s for the baseline, {} of OneFile's budget)",
                times(throughput_ratio(&c.picsync, &c.baseline)),
                c.latency_ms,
                c.baseline.limited,
                pct(budget(&c.baseline, ONEFILE_LIMIT, w))
            )
        })
        .collect();
    let measured = if ratios.is_empty() {
        String::new()
    } else {
        paragraph("throughput_measured", &[("ratios", ratios.join("; "))])? + " "
    };
    let periodic = match (m.run(Workload::AfterEdits), m.run(Workload::FullSweep)) {
        (Some(b), Some(d)) => paragraph(
            "throughput_periodic",
            &[
                ("changed_percent", m.changed_percent.to_string()),
                ("edited_calls", calls(per(b.onefile_calls(), b.learners))),
                ("edited_wall", secs(b.wall())),
                ("sweep_calls", calls(per(d.onefile_calls(), d.learners))),
                ("sweep_wall", secs(d.wall())),
                ("longer", times(ratio(d.wall(), b.wall()))),
            ],
        )?,
        _ => String::new(),
    };
    paragraph(
        "throughput",
        &[
            ("reaches", reaches.to_string()),
            ("onefile_limit", ONEFILE_LIMIT.to_string()),
            ("paced", paced.to_string()),
            ("worst", times(worst)),
            ("concurrency", m.concurrency.to_string()),
            ("twice", format!("{twice:.0}")),
            ("measured", measured),
            ("periodic", periodic),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::child::{Phase, PhaseOutput};
    use crate::bench::{Comparison, machine};
    use std::collections::BTreeMap;

    fn result(workload: Workload, synced: u64, wall_s: f64, onefile: u64) -> PhaseResult {
        PhaseResult {
            name: format!("{workload:?}"),
            workload,
            phase: Phase::Initial,
            learners: synced,
            wall_ms: wall_s * 1000.0,
            ready_ms: Some(20.0),
            out: PhaseOutput {
                synced,
                peak_rss_kb: Some(30 * 1024),
                ..Default::default()
            },
            onefile: BTreeMap::from([("POST /learningaim/search".to_string(), onefile)]),
            pics: BTreeMap::new(),
            limited: 0,
        }
    }

    fn measured() -> Measured {
        Measured {
            learners: 100,
            window_ms: 6000,
            setting_limit: 280,
            concurrency: 4,
            latency_ms: 100,
            changed_percent: 5.0,
            changed: 5,
            edits: Vec::new(),
            // 2,800 calls in 61 s: bound at 280 is 60 s
            phases: vec![
                result(Workload::Initial, 100, 61.0, 2800),
                result(Workload::Quiet, 0, 1.0, 2),
                result(Workload::FullSweep, 0, 8.0, 250),
            ],
            peak_window: 280,
            baseline_learners: 50,
            comparisons: vec![Comparison {
                latency_ms: 100,
                picsync: result(Workload::Initial, 50, 30.5, 1400),
                baseline: result(Workload::Baseline, 50, 61.0, 1400),
                baseline_peak_window: 300,
            }],
            bench_peak_rss_kb: None,
            machine: machine::machine(),
            binaries: Vec::new(),
            startup: None,
            worker_startup: None,
            criterion: Vec::new(),
            command: "picsync-lab bench".into(),
        }
    }

    /// The template's every placeholder is filled from made-up figures, its prose is there, and
    /// the figures land in it.
    #[test]
    fn s15_the_report_is_the_template_filled_with_the_figures() {
        let mut m = measured();
        m.edits = vec![("PICS: new review booked".into(), 3)];
        m.command = "picsync-lab bench --learners 100".into();
        let md = markdown(&m, &checks(&m)).unwrap();
        assert!(!md.contains("{{") && !md.contains("}}"), "{md}");
        for heading in TEMPLATE.lines().filter(|l| l.starts_with('#')) {
            assert!(md.contains(heading), "{heading} missing");
        }
        assert!(
            md.starts_with("# Benchmarks\n\nGenerated by `picsync-lab bench --learners 100` on ")
        );
        assert!(md.contains("- **Tenant.** 100 PICS learners, of which 100 are linked"));
        assert!(md.contains("every other duration is scaled with it. Every call to either simulator takes 10 ms (a simulated network and server time of 100 ms"));
        assert!(md.contains("The edits of (b): PICS: new review booked (3)."));
        assert!(md.contains("| Figure | Target | Measured | Met |"));
        assert!(
            md.contains("Not built next to it in this run, so not measured: `picsync`, `worker`.")
        );
        assert!(!md.contains("\n\n\n"), "runs of blank lines are collapsed");
    }

    /// Each target's "why" paragraph of `templates/missed.md` is there and filled.
    #[test]
    fn s15_every_missed_target_has_its_paragraph_filled_from_the_template() {
        let mut m = measured();
        m.phases.push(result(Workload::AfterEdits, 5, 2.0, 20));
        for figure in [
            BUDGET,
            NO_429,
            WALL,
            WALL_300,
            THROUGHPUT,
            FULL_SWEEP,
            INCREMENTAL,
            MEMORY,
            BINARY,
        ] {
            let text = why(&m, figure).unwrap();
            assert!(text.len() > 100, "{figure}: {text}");
            assert!(
                !text.contains("{{") && !text.contains("<!--"),
                "{figure}: {text}"
            );
        }
        let t = why(&m, THROUGHPUT).unwrap();
        assert!(t.contains("(4 learners at once)"), "{t}");
        assert!(
            t.contains("Measured: 2.00× at 100 ms (0 429s for the baseline"),
            "{t}"
        );
        assert!(
            t.contains("(§6): after edits to 5 % of the learners"),
            "{t}"
        );
        assert!(t.ends_with("pays the latter."), "{t}");
        let w = why(&m, WALL_300).unwrap();
        assert!(
            w.contains("leaving 20 calls a minute") && w.contains("300 ÷ 280 = 1.07×"),
            "{w}"
        );
        assert!(paragraph("no_such_target", &[]).is_err());
    }

    #[test]
    fn s15_a_placeholder_without_a_value_or_a_value_without_a_placeholder_is_an_error() {
        let v = |k: &'static str| (k, "x".to_string());
        assert_eq!(fill("a {{b}} c", &[v("b")]).unwrap(), "a x c");
        assert!(
            fill("a {{b}} {{c}}", &[v("b")])
                .unwrap_err()
                .contains("{{c}}")
        );
        assert!(
            fill("a {{b}}", &[v("b"), v("d")])
                .unwrap_err()
                .contains("{{d}}")
        );
        assert!(fill("a {{b", &[v("b")]).is_err());
    }

    /// Regenerating the repository's BENCHMARKS.md (written before the markers) replaces this
    /// tool's sections and keeps the Lambda path's, which another tool wrote, word for word.
    #[test]
    fn s15_regenerating_benchmarks_md_keeps_the_sections_of_other_tools() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../BENCHMARKS.md");
        let existing = std::fs::read_to_string(&path).unwrap();
        let ours_headings: Vec<&str> = TEMPLATE.lines().filter(|l| l.starts_with("## ")).collect();
        let pieces = sections(&existing);
        let foreign: Vec<&str> = pieces[1..]
            .iter()
            .copied()
            .filter(|sec| !ours_headings.contains(&sec.lines().next().unwrap_or("").trim_end()))
            .collect();
        assert!(
            foreign
                .iter()
                .any(|sec| sec.starts_with("## The Lambda path")),
            "BENCHMARKS.md has the Lambda path's section, written by another tool"
        );
        let m = measured();
        let ours = markdown(&m, &checks(&m)).unwrap();
        let merged = merge(Some(&existing), &ours);
        for sec in &foreign {
            assert!(
                merged.contains(sec),
                "not kept: {}",
                sec.lines().next().unwrap()
            );
            // this tool's part comes first, the kept sections after it
            assert!(merged.find(END).unwrap() < merged.find(sec).unwrap());
        }
        assert!(merged.contains(ours.trim_end()));
        assert!(
            !merged.contains(pieces[0].trim()),
            "the old preamble stayed"
        );
        // whole heading lines: another tool's section may have a "### Method" of its own
        let headings = |h: &str| merged.lines().filter(|l| *l == h).count();
        assert_eq!(headings("# Benchmarks"), 1, "{merged}");
        assert_eq!(headings("## Method"), 1);
        // the next regeneration goes by the markers, and is stable
        let again = merge(Some(&merged), &ours);
        assert_eq!(again, merged);
        let mut m2 = measured();
        m2.command = "picsync-lab bench --learners 42".into();
        let next = merge(Some(&merged), &markdown(&m2, &checks(&m2)).unwrap());
        assert!(next.contains("--learners 42") && !next.contains("--learners 100`"));
        for sec in &foreign {
            assert!(next.contains(sec));
        }
    }

    #[test]
    fn s15_text_outside_the_markers_is_kept_byte_for_byte() {
        let old = format!(
            "Intro by hand.\n\n{BEGIN}\n# Benchmarks\n\nold figures\n{END}\n\n## Other tool\n\n```\n## not a heading\n```\nmore\n"
        );
        let merged = merge(Some(&old), "# Benchmarks\n\nnew figures\n");
        assert_eq!(
            merged,
            format!(
                "Intro by hand.\n\n{BEGIN}\n# Benchmarks\n\nnew figures\n{END}\n\n## Other tool\n\n```\n## not a heading\n```\nmore\n"
            )
        );
        assert_eq!(merge(None, "x\n"), format!("{BEGIN}\nx\n{END}\n"));
        // before the markers: unknown sections are kept, a fenced "## " line is not a heading
        let legacy = "# Benchmarks\n\nold\n\n## Method\n\nold method\n\n## Other tool\n\n```\n## Method\n```\n";
        let merged = merge(Some(legacy), "# Benchmarks\n\nnew\n");
        assert_eq!(
            merged,
            format!(
                "{BEGIN}\n# Benchmarks\n\nnew\n{END}\n\n## Other tool\n\n```\n## Method\n```\n"
            )
        );
    }

    fn check<'a>(cs: &'a [Check], figure: &str) -> &'a Check {
        cs.iter().find(|c| c.figure == figure).unwrap()
    }

    #[test]
    fn checks_use_the_initial_sync_and_the_main_comparison() {
        let mut m = measured();
        m.phases[1].learners = 100;
        m.phases[2].learners = 100;
        let cs = checks(&m);
        // 2,800 calls in 61 s of 6 s windows at 280: 2800 / (61/6 × 280) = 98.4 %
        assert_eq!(check(&cs, BUDGET).measured, "98.4 %");
        assert_eq!(check(&cs, BUDGET).met, Some(true));
        assert_eq!(check(&cs, WALL).measured, "1.02×");
        // at 300 the bound is 56 s: 61/56 = 1.09, over 1.05
        assert_eq!(check(&cs, WALL_300).met, Some(false));
        // 50 learners in 30.5 s against 50 in 61 s
        assert_eq!(check(&cs, THROUGHPUT).measured, "2.00×");
        assert_eq!(check(&cs, FULL_SWEEP).measured, "2.500");
        assert_eq!(check(&cs, FULL_SWEEP).met, Some(false));
        assert_eq!(check(&cs, INCREMENTAL).measured, "0.020");
        assert_eq!(check(&cs, MEMORY).measured, "30.0 MB");
        assert_eq!(check(&cs, NO_429).met, Some(true));
    }

    #[test]
    fn the_report_names_every_missed_target_with_a_reason() {
        let mut m = measured();
        m.phases[2].learners = 100;
        let cs = checks(&m);
        let md = markdown(&m, &cs).unwrap();
        for c in cs.iter().filter(|c| c.met == Some(false)) {
            assert!(md.contains(&format!("### {}", c.figure)), "{}", c.figure);
            assert!(!why(&m, &c.figure).unwrap().is_empty(), "{}", c.figure);
        }
        assert!(md.contains("## Method") && md.contains("## Machine"));
        assert!(md.contains("picsync ÷ baseline"));
        assert!(md.contains("No criterion results found"));
    }
}
