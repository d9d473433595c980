//! What the bench ran on, and the figures of the binary itself: its size, how long it takes to
//! start, and `plan()`'s time per learner from criterion's last run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::figures::median;

/// The machine and build.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Machine {
    pub cpus: usize,
    pub cpu_model: Option<String>,
    pub memory: Option<String>,
    pub os: Option<String>,
    pub rustc: Option<String>,
    /// `release` or `debug` (a debug build's timings and size are not representative).
    pub profile: &'static str,
    pub date: String,
    /// Load averages (1, 5, 15 min) when the bench started, and when it ended: other work on
    /// the machine shares its cores.
    pub load_before: Option<String>,
    pub load_after: Option<String>,
}

/// Reads the machine's description (Linux's /proc; fields are `None` elsewhere).
pub(super) fn machine() -> Machine {
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
        load_before: load_average(),
        load_after: None,
    }
}

/// The load averages of /proc/loadavg (1, 5 and 15 minutes).
pub(super) fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let parts: Vec<&str> = text.split_whitespace().take(3).collect();
    (parts.len() == 3).then(|| parts.join(" / "))
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
pub(crate) struct Binary {
    pub name: String,
    pub path: PathBuf,
    pub bytes: u64,
}

/// The product binaries built next to `exe` (in the same target directory): the operator's
/// `picsync` and the Lambda `worker`, each when it is there.
pub(super) fn binaries(exe: &Path) -> Vec<Binary> {
    let Some(dir) = exe.parent() else {
        return Vec::new();
    };
    ["picsync", "worker"]
        .into_iter()
        .filter_map(|name| {
            let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
            let bytes = std::fs::metadata(&path).ok()?.len();
            Some(Binary {
                name: name.to_string(),
                path,
                bytes,
            })
        })
        .collect()
}

/// Start-up of a binary: the median and the fastest of `runs` runs of `exe args` to its exit.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Startup {
    pub command: String,
    pub runs: usize,
    pub median_ms: f64,
    pub min_ms: f64,
}

/// Times `runs` runs of `exe args` (output discarded), shown as `name args`. `None` when it
/// cannot be run.
pub(super) fn startup(name: &str, exe: &Path, args: &[&str], runs: usize) -> Option<Startup> {
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
        command: format!("{name} {}", args.join(" ")),
        runs: times.len(),
        median_ms: median(times).as_secs_f64() * 1000.0,
        min_ms: min.as_secs_f64() * 1000.0,
    })
}

/// The Lambda worker's start-up: from process start to its first request for an invocation
/// to a stand-in of the Lambda Runtime API, and its resident memory at that moment.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct WorkerStartup {
    pub runs: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    /// VmHWM when it asked for its first invocation.
    pub ready_rss_kb: Option<u64>,
}

/// How long the worker may take to ask for an invocation before the measurement gives up.
const WORKER_READY_WITHIN: Duration = Duration::from_secs(10);

/// Starts `worker` `runs` times with the Lambda environment pointed at a stand-in Runtime API
/// on 127.0.0.1 (dummy AWS settings, endpoints on a closed loopback port: nothing leaves the
/// machine) and times each start to its first `GET …/invocation/next`. `None` when the worker
/// never asks (its initialisation failed).
pub(super) fn worker_startup(worker: &Path, runs: usize) -> Option<WorkerStartup> {
    let mut times = Vec::new();
    let mut rss = None;
    for _ in 0..runs.max(1) {
        let (t, kb) = worker_ready_once(worker)?;
        times.push(t);
        rss = rss.max(kb);
    }
    let min = times.iter().min().copied().unwrap_or(Duration::ZERO);
    Some(WorkerStartup {
        runs: times.len(),
        median_ms: median(times).as_secs_f64() * 1000.0,
        min_ms: min.as_secs_f64() * 1000.0,
        ready_rss_kb: rss,
    })
}

fn worker_ready_once(worker: &Path) -> Option<(Duration, Option<u64>)> {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    listener.set_nonblocking(true).ok()?;
    let api = listener.local_addr().ok()?;
    let started = Instant::now();
    let mut child = Command::new(worker)
        .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "worker")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_LEVEL", "error")
        .env("AWS_REGION", "eu-west-2")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("TABLE_NAME", "picsync-bench")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let result = loop {
        match listener.accept() {
            Ok((mut conn, _)) => {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
                let mut buf = [0u8; 256];
                let n = conn.read(&mut buf).unwrap_or(0);
                let asked = String::from_utf8_lossy(&buf[..n]).contains("/invocation/next");
                let at = started.elapsed();
                let kb = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
                    .ok()
                    .and_then(|s| super::child::parse_vm_hwm(&s));
                break asked.then_some((at, kb));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if started.elapsed() > WORKER_READY_WITHIN
                    || matches!(child.try_wait(), Ok(Some(_)))
                {
                    break None;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(_) => break None,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// One criterion benchmark's last result.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CriterionResult {
    pub title: String,
    /// Mean time per iteration, and its 95 % confidence interval (nanoseconds).
    pub mean_ns: f64,
    pub low_ns: f64,
    pub high_ns: f64,
    /// When it was measured (the estimates file's time).
    pub measured: Option<String>,
}

/// The workspace's criterion results (`target/criterion`), unless another directory is given.
pub(super) fn criterion_dir(given: Option<&Path>) -> PathBuf {
    if let Some(d) = given {
        return d.to_path_buf();
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("criterion");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/criterion")
}

/// Every `plan/…` benchmark found under `dir` (`cargo bench -p picsync-domain --bench plan`).
pub(super) fn plan_benches(dir: &Path) -> Vec<CriterionResult> {
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

    /// A stand-in "worker" (a bash script) that asks the Runtime API for an invocation, and one
    /// that dies during its initialisation.
    #[cfg(target_os = "linux")]
    #[test]
    fn worker_start_is_timed_to_its_first_request_for_an_invocation() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = |name: &str, body: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, format!("#!/bin/bash\n{body}\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p
        };
        let polls = script(
            "polls",
            "exec 3<>/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API#*:}\n\
             printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3\n\
             exec sleep 5",
        );
        let w = worker_startup(&polls, 2).expect("the stand-in asks for an invocation");
        assert_eq!(w.runs, 2);
        assert!(w.min_ms > 0.0 && w.min_ms <= w.median_ms, "{w:?}");
        assert!(w.median_ms < WORKER_READY_WITHIN.as_secs_f64() * 1000.0);
        let dies = script("dies", "echo 'TABLE_NAME is not set' >&2; exit 1");
        assert!(worker_startup(&dies, 1).is_none());
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
