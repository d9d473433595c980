//! What the bench ran on, and the figures of the binary itself: its size, how long it takes to
//! start, and `plan()`'s time per learner from criterion's last run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::figures::median;

/// The machine and build.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: Option<String>,
    pub memory: Option<String>,
    pub os: Option<String>,
    pub rustc: Option<String>,
    /// `release` or `debug` (a debug build's timings and size are not representative).
    pub profile: &'static str,
    pub date: String,
}

/// Reads the machine's description (Linux's /proc; fields are `None` elsewhere).
pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        cpu_model: field(&cpuinfo, "model name", ':'),
        memory: field(&meminfo, "MemTotal", ':').and_then(|kb| {
            let kb: f64 = kb.split_whitespace().next()?.parse().ok()?;
            Some(format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        }),
        os: field(&os, "PRETTY_NAME", '=').map(|s| s.trim_matches('"').to_string()),
        rustc: Command::new("rustc")
            .arg("--version")
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()),
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// The value of the first `key<sep>value` line.
fn field(text: &str, key: &str, sep: char) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(sep)?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

/// A binary's size on disk.
#[derive(Debug, Clone, Serialize)]
pub struct Binary {
    pub name: String,
    pub path: PathBuf,
    pub bytes: u64,
}

/// The running binary, and the Lambda worker's when one was built next to it.
pub fn binaries(exe: &Path) -> Vec<Binary> {
    let mut out = Vec::new();
    let mut add = |name: &str, path: PathBuf| {
        if let Ok(m) = std::fs::metadata(&path) {
            out.push(Binary {
                name: name.to_string(),
                path,
                bytes: m.len(),
            });
        }
    };
    add("picsync", exe.to_path_buf());
    if let Some(dir) = exe.parent() {
        add(
            "worker",
            dir.join(format!("worker{}", std::env::consts::EXE_SUFFIX)),
        );
    }
    out
}

/// Start-up of a binary: the median and the fastest of `runs` runs of `exe args` to its exit.
#[derive(Debug, Clone, Serialize)]
pub struct Startup {
    pub command: String,
    pub runs: usize,
    pub median_ms: f64,
    pub min_ms: f64,
}

/// Times `runs` runs of `exe args` (output discarded). `None` when it cannot be run.
pub fn startup(exe: &Path, args: &[&str], runs: usize) -> Option<Startup> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let status = Command::new(exe)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
        times.push(t.elapsed());
    }
    let min = times.iter().min().copied().unwrap_or(Duration::ZERO);
    Some(Startup {
        command: format!("picsync {}", args.join(" ")),
        runs: times.len(),
        median_ms: median(times).as_secs_f64() * 1000.0,
        min_ms: min.as_secs_f64() * 1000.0,
    })
}

/// One criterion benchmark's last result.
#[derive(Debug, Clone, Serialize)]
pub struct CriterionResult {
    pub title: String,
    /// Mean time per iteration, and its 95 % confidence interval (nanoseconds).
    pub mean_ns: f64,
    pub low_ns: f64,
    pub high_ns: f64,
    /// When it was measured (the estimates file's time).
    pub measured: Option<String>,
}

/// The workspace's criterion results (`target/criterion`), unless another directory is given.
pub fn criterion_dir(given: Option<&Path>) -> PathBuf {
    if let Some(d) = given {
        return d.to_path_buf();
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("criterion");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/criterion")
}

/// Every `plan/…` benchmark found under `dir` (`cargo bench -p picsync-domain --bench plan`).
pub fn plan_benches(dir: &Path) -> Vec<CriterionResult> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<CriterionResult> = entries
        .filter_map(Result::ok)
        .filter_map(|e| read_bench(&e.path().join("new")))
        .filter(|r| r.title.starts_with("plan/"))
        .collect();
    out.sort_by(|a, b| a.title.cmp(&b.title));
    out
}

fn read_bench(dir: &Path) -> Option<CriterionResult> {
    let bench: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("benchmark.json")).ok()?).ok()?;
    let est_path = dir.join("estimates.json");
    let est: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&est_path).ok()?).ok()?;
    let mean = &est["mean"];
    let measured = std::fs::metadata(&est_path)
        .and_then(|m| m.modified())
        .ok()
        .map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        });
    Some(CriterionResult {
        title: bench["title"].as_str()?.to_string(),
        mean_ns: mean["point_estimate"].as_f64()?,
        low_ns: mean["confidence_interval"]["lower_bound"].as_f64()?,
        high_ns: mean["confidence_interval"]["upper_bound"].as_f64()?,
        measured,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_proc_files() {
        let cpu = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: x\n";
        assert_eq!(
            field(cpu, "model name", ':').as_deref(),
            Some("AMD EPYC 7B13")
        );
        let os = "NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n";
        assert_eq!(
            field(os, "PRETTY_NAME", '=').as_deref(),
            Some("\"Debian GNU/Linux 12\"")
        );
        assert_eq!(field(os, "MISSING", '='), None);
    }

    #[test]
    fn criterion_results_are_read_and_filtered() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, title: &str, mean: f64| {
            let d = dir.path().join(name).join("new");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join("benchmark.json"),
                serde_json::json!({ "title": title }).to_string(),
            )
            .unwrap();
            std::fs::write(
                d.join("estimates.json"),
                serde_json::json!({ "mean": { "point_estimate": mean,
                    "confidence_interval": { "lower_bound": mean - 1.0, "upper_bound": mean + 1.0 } } })
                .to_string(),
            )
            .unwrap();
        };
        write("plan_b", "plan/b", 20.0);
        write("plan_a", "plan/a", 5400.0);
        write("other", "other/x", 1.0);
        std::fs::create_dir_all(dir.path().join("broken/new")).unwrap();
        let found = plan_benches(dir.path());
        let titles: Vec<_> = found.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(titles, ["plan/a", "plan/b"]);
        assert_eq!(found[0].mean_ns, 5400.0);
        assert_eq!(found[0].low_ns, 5399.0);
        assert!(found[0].measured.is_some());
        assert!(plan_benches(&dir.path().join("absent")).is_empty());
    }
}
