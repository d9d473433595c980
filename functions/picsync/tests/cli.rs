#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package
//! The `picsync` binary as an operator uses it: help, exit codes, errors that name the problem,
//! secrets never printed, and a sync run end to end against the simulators through a config file.

use std::path::Path;
use std::process::{Command, Output};

use picsync_sim::world;

/// The day this test process seeds its worlds for; the binary keeps to it too (its hidden
/// `--today`, here `PICSYNC_TODAY`), so that a test running across London midnight does not
/// sync a world seeded for yesterday as of tomorrow (issue 15 item 5).
fn seeded_day() -> chrono::NaiveDate {
    static TODAY: std::sync::OnceLock<chrono::NaiveDate> = std::sync::OnceLock::new();
    *TODAY.get_or_init(|| picsync_domain::time::london_date(chrono::Utc::now()))
}

fn picsync(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_picsync"));
    c.args(args)
        .current_dir(dir)
        .env_remove("PICSYNC_CONFIG")
        .env("PICSYNC_TODAY", seeded_day().to_string());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the picsync binary runs")
}

/// A config file for tenant `acme` on the simulators, with these settings (TOML lines), and its
/// secrets file.
fn write_config(dir: &Path, sims: &world::Running, settings: &str) {
    let config = format!(
        "[state]\ndir = \"state\"\n[tenants.acme]\npics_url = \"{}\"\nonefile_centre = {}\nsecrets_file = \"secrets.toml\"\n[tenants.acme.settings]\nenvironment = \"{}\"\n{settings}",
        sims.pics.base_url(),
        world::CENTRE,
        sims.onefile.base_url()
    );
    std::fs::write(dir.join("picsync.toml"), config).unwrap();
    std::fs::write(
        dir.join("secrets.toml"),
        format!(
            "[acme]\nonefile_customer_token = \"{}\"\npics_username = \"{}\"\npics_password = \"{}\"\n",
            world::ONEFILE_TOKEN,
            world::PICS_USERNAME,
            world::PICS_PASSWORD
        ),
    )
    .unwrap();
}

/// The settings of a tenant whose integration is on (R1, R31).
const ENABLED: &str = "integration_enabled = true\ndesktop_integration_disabled = true\n";

/// A world of `learners` seeded for `day` on the simulators, and a directory holding the
/// tenant `acme`'s config on them with these settings (TOML lines).
async fn tenant_on_sims(
    learners: usize,
    day: chrono::NaiveDate,
    settings: &str,
) -> (world::Running, tempfile::TempDir) {
    let sims = world::start(learners, day, (300, std::time::Duration::from_secs(60)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sims, settings);
    (sims, dir)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn every_subcommand_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let top = picsync(&["--help"], dir.path(), &[]);
    assert!(top.status.success());
    let t = text(&top);
    #[cfg(feature = "demo")]
    let demo = ["demo"];
    #[cfg(not(feature = "demo"))]
    let demo: [&str; 0] = [];
    for sub in demo.into_iter().chain([
        "sync",
        "plan",
        "enrol",
        "link",
        "refresh-aims",
        "check",
        "status",
        "audit",
        "probe",
    ]) {
        assert!(t.contains(sub), "top-level help lists {sub}");
        let o = picsync(&[sub, "--help"], dir.path(), &[]);
        assert!(o.status.success(), "{sub} --help: {}", text(&o));
        assert!(text(&o).contains("Usage"), "{sub} --help");
    }
    assert!(text(&picsync(&["sync", "--help"], dir.path(), &[])).contains("--mode"));
    assert!(text(&picsync(&["enrol", "--help"], dir.path(), &[])).contains("--pathway"));
}

/// The operator binary is the product (issue 15): the benchmark harness lives in
/// `picsync-lab`, and a build without the `demo` feature carries no demo (nor its simulators).
#[test]
fn s15_the_operator_binary_lists_no_bench_and_the_demo_only_with_its_feature() {
    let dir = tempfile::tempdir().unwrap();
    let t = text(&picsync(&["--help"], dir.path(), &[]));
    let listed = |sub: &str| {
        t.lines()
            .any(|l| l.trim_start().starts_with(&format!("{sub} ")))
    };
    assert!(listed("sync"), "{t}");
    assert!(!listed("bench"), "picsync --help lists bench:\n{t}");
    let bench = picsync(&["bench", "--help"], dir.path(), &[]);
    assert!(!bench.status.success(), "picsync bench still runs");
    assert_eq!(
        listed("demo"),
        cfg!(feature = "demo"),
        "demo listed without its feature, or missing with it:\n{t}"
    );
}

#[test]
fn bad_configuration_exits_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    // no config file
    let o = picsync(&["sync"], dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("picsync.toml"), "{}", text(&o));
    // an unknown settings key
    std::fs::write(
        dir.path().join("picsync.toml"),
        "[tenants.acme]\npics_url = \"https://acme.picsweb.co.uk/app/api/v1\"\n\n[tenants.acme.settings]\nupload_review = true\n",
    )
    .unwrap();
    let o = picsync(&["sync"], dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("upload_review"), "{}", text(&o));
    // an unknown tenant
    std::fs::write(
        dir.path().join("picsync.toml"),
        "[tenants.acme]\npics_url = \"https://acme.picsweb.co.uk/app/api/v1\"\n",
    )
    .unwrap();
    let o = picsync(&["--tenant", "nobody", "sync"], dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("nobody") && text(&o).contains("acme"),
        "{}",
        text(&o)
    );
    // a missing secret: named, with the variable that would provide it
    let o = picsync(&["check"], dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("onefile_customer_token")
            && text(&o).contains("PICSYNC_ACME_ONEFILE_CUSTOMER_TOKEN"),
        "{}",
        text(&o)
    );
    // bad input on the command line
    let o = picsync(
        &["enrol", "--learner", "x", "--pathway", "q1"],
        dir.path(),
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = picsync(&["sync", "--mode", "sometimes"], dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn bad_config_files_table() {
    let dir = tempfile::tempdir().unwrap();
    let ok_tenant = "[tenants.acme]\npics_url = \"https://acme.picsweb.co.uk/app/api/v1\"\n";
    // (config text, a fragment the error must contain)
    let cases: Vec<(String, &str)> = vec![
        ("[tenants.acme]\nonefile_centre = 3\n".into(), "pics_url"),
        (
            "[tenants.acme]\npics_url = \"http://pics.example.com\"\n".into(),
            "https",
        ),
        (
            format!("{ok_tenant}[tenants.acme.settings]\nenvironment = \"http://10.0.0.1/api\"\n"),
            "environment",
        ),
        (
            format!("{ok_tenant}onefile_url = \"https://b.example\"\n"),
            "onefile_url",
        ),
        (format!("{ok_tenant}[surprise]\nx = 1\n"), "surprise"),
        (format!("{ok_tenant}secret = \"hunter2\"\n"), "secret"),
        ("[state]\ndir = 5\n".to_string() + ok_tenant, "dir"),
        (
            format!("{ok_tenant}onefile_centre = \"ten\"\n"),
            "onefile_centre",
        ),
        (
            format!("{ok_tenant}[tenants.acme.settings]\nvisit_type = \"video\"\n"),
            "video",
        ),
        (
            format!("{ok_tenant}[tenants.acme.settings]\nonefile_calls_per_minute = 400\n"),
            "onefile_calls_per_minute",
        ),
        ("[tenants]\nacme = 3\n".into(), "acme"),
        ("this is not toml".into(), "picsync.toml"),
    ];
    for (config, fragment) in &cases {
        std::fs::write(dir.path().join("picsync.toml"), config).unwrap();
        let o = picsync(&["sync"], dir.path(), &[]);
        assert_eq!(o.status.code(), Some(2), "config {config:?}: {}", text(&o));
        assert!(
            text(&o).contains(fragment),
            "config {config:?}: {} does not name {fragment:?}",
            text(&o)
        );
        assert!(
            !dir.path().join(".picsync-data").exists(),
            "config {config:?}: nothing written"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_status_audit_and_plan_through_a_config_file() {
    let (sims, dir) = tenant_on_sims(8, seeded_day(), ENABLED).await;
    let d = dir.path().to_path_buf();
    let run = move |args: Vec<&'static str>| {
        let d = d.clone();
        tokio::task::spawn_blocking(move || picsync(&args, &d, &[]))
    };
    let secrets = [world::ONEFILE_TOKEN, world::PICS_PASSWORD];

    let probe = run(vec!["probe"]).await.unwrap();
    assert!(probe.status.success(), "{}", text(&probe));
    for item in [
        "standard code field `Code`",
        "learning-aim field `TotalElements`",
        "User/Search filters by LastModified",
    ] {
        assert!(
            text(&probe)
                .lines()
                .any(|l| l.contains(item) && l.contains("holds")),
            "probe: {item}: {}",
            text(&probe)
        );
    }

    let check = run(vec!["check"]).await.unwrap();
    assert!(check.status.success(), "{}", text(&check));
    assert!(text(&check).contains("Acme Training"), "{}", text(&check));

    let before = sims.pics.state();
    let plan = run(vec!["plan"]).await.unwrap();
    assert!(plan.status.success(), "{}", text(&plan));
    assert!(
        text(&plan).contains("[R29]") && text(&plan).contains("Planned"),
        "{}",
        text(&plan)
    );
    assert_eq!(sims.pics.state(), before, "plan writes nothing (R38)");

    let sync = run(vec!["sync"]).await.unwrap();
    assert!(sync.status.success(), "{}", text(&sync));
    assert!(text(&sync).contains("Initial"), "{}", text(&sync));
    let json = run(vec!["--json", "sync"]).await.unwrap();
    assert!(json.status.success(), "{}", text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("--json prints JSON");
    assert_eq!(v["run"]["mode"], "periodic");

    let status = run(vec!["status"]).await.unwrap();
    assert!(
        status.status.success() && text(&status).contains("last synchronised"),
        "{}",
        text(&status)
    );
    let audit = run(vec!["audit", "--learner", "lrn-00000"]).await.unwrap();
    assert!(audit.status.success(), "{}", text(&audit));
    assert!(
        text(&audit).contains("R29") || text(&audit).contains("R2"),
        "{}",
        text(&audit)
    );

    // the unknown learner is named
    let bad = run(vec!["sync", "--learner", "lrn-99999"]).await.unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("lrn-99999"));

    for o in [&probe, &check, &plan, &sync, &json, &status, &audit, &bad] {
        for s in secrets {
            assert!(!text(o).contains(s), "a secret was printed");
        }
    }
}

#[cfg(feature = "demo")]
#[test]
fn the_demo_completes_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let o = picsync(
        &["demo", "--learners", "40", "--minute-ms", "500"],
        dir.path(),
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("Initial synchronisation") && t.contains("nothing to change"),
        "{t}"
    );
    assert!(!t.contains(world::ONEFILE_TOKEN) && !t.contains(world::PICS_PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r1_check_runs_while_the_integration_is_disabled_and_every_other_command_refuses() {
    let (sims, dir) = tenant_on_sims(
        4,
        seeded_day(),
        "integration_enabled = false\ndesktop_integration_disabled = true\n",
    )
    .await;
    let d = dir.path().to_path_buf();
    let run = move |args: Vec<&'static str>| {
        let d = d.clone();
        tokio::task::spawn_blocking(move || picsync(&args, &d, &[]))
    };
    // the help says the connection test runs while disabled (R1, a Decision)
    let help = run(vec!["check", "--help"]).await.unwrap();
    assert!(text(&help).contains("disabled"), "{}", text(&help));

    let calls = sims.onefile.counters().total();
    for args in [
        vec!["probe"],
        vec!["refresh-aims"],
        vec!["sync"],
        vec!["plan"],
        vec!["enrol", "--learner", "lrn-00009"],
        vec!["plan", "--enrol", "lrn-00009"],
        vec!["link", "--learner", "lrn-00009", "--onefile-id", "1"],
    ] {
        let o = run(args.clone()).await.unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("(R1)"), "{args:?}: {}", text(&o));
    }
    assert_eq!(
        sims.onefile.counters().total(),
        calls,
        "R1: no OneFile call: {:?}",
        sims.onefile.counters()
    );
    let check = run(vec!["check"]).await.unwrap();
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains("NOT enabled (R1)"),
        "{}",
        text(&check)
    );
    assert!(sims.onefile.counters().total() > calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_audit_through_the_cli_shows_the_whole_enrolment() {
    let (sims, dir) = tenant_on_sims(
        40,
        seeded_day(),
        &format!(
            "{ENABLED}classroom_from_main_tag = true\nadditional_assessor_roles = [\"IQA\"]\n"
        ),
    )
    .await;
    // lrn-00029: its main officer, two qualification assessors and its employer are created,
    // its Main Tag names a new classroom, one review goes up (R15)
    sims.pics.edit(|s| {
        s.learner_mut("lrn-00029").unwrap().main_tag = Some("Saturday group".into());
    });
    let d = dir.path().to_path_buf();
    let run = move |args: Vec<&'static str>| {
        let d = d.clone();
        tokio::task::spawn_blocking(move || picsync(&args, &d, &[]))
    };
    let plan = run(vec!["plan", "--enrol", "lrn-00029"]).await.unwrap();
    assert!(plan.status.success(), "{}", text(&plan));
    assert!(
        text(&plan).contains("lrn-00029-r1") && text(&plan).contains("[R15]"),
        "the dry run lists the R15 upload: {}",
        text(&plan)
    );
    let enrol = run(vec!["enrol", "--learner", "lrn-00029"]).await.unwrap();
    assert!(enrol.status.success(), "{}", text(&enrol));
    let audit = run(vec!["audit", "--learner", "lrn-00029"]).await.unwrap();
    assert!(audit.status.success(), "{}", text(&audit));
    let t = text(&audit);
    println!("$ picsync plan --enrol lrn-00029\n{}", text(&plan));
    println!("$ picsync enrol --learner lrn-00029\n{}", text(&enrol));
    println!("$ picsync audit --learner lrn-00029\n{t}");
    for (what, rule) in [
        ("OneFile assessor ", "[R11]"),
        ("OneFile placement ", "[R13]"),
        ("OneFile classroom ", "[R7]"),
        ("OneFile learner ", "[R6]"),
        ("OneFile learning aim ", "[R8]"),
        ("OneFile visit ", "[R15]"),
        ("OneFile review ", "[R15]"),
        ("assessor assigned", "[R11]"),
    ] {
        assert!(
            t.lines().any(|l| l.contains(what) && l.contains(rule)),
            "§7: the audit shows {what} {rule}:\n{t}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r39_a_killed_sync_is_abandoned_and_the_next_one_starts_within_two_minutes() {
    use picsync_sim::faults::Fault;
    let (sims, dir) = tenant_on_sims(8, seeded_day(), ENABLED).await;
    // every learner read is slow: the sync is still running when it is killed
    sims.pics.faults().random(
        Some("GET /learners/{id}"),
        1.0,
        vec![Fault::Delay(std::time::Duration::from_millis(1500))],
        7,
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_picsync"))
        .arg("sync")
        .current_dir(dir.path())
        .env_remove("PICSYNC_CONFIG")
        .env("PICSYNC_TODAY", seeded_day().to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // wait (bounded) until its run is recorded, then kill -9 it mid-run
    let runs_dir = dir.path().join("state");
    for _ in 0..100 {
        if runs_dir.exists() && sims.pics.counters().get("GET /learners/{id}") >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    sims.pics.faults().clear();
    let d = dir.path().to_path_buf();
    let run = move |args: Vec<&'static str>| {
        let d = d.clone();
        tokio::task::spawn_blocking(move || picsync(&args, &d, &[]))
    };
    // status shows the dead run as abandoned
    let status = run(vec!["--json", "status"]).await.unwrap();
    assert!(status.status.success(), "{}", text(&status));
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let first = &v["runs"][0];
    assert_eq!(first["status"], "abandoned", "{v}");
    assert!(first["lost"].as_u64().unwrap() > 0, "{first}");
    assert!(!first["owner"].as_str().unwrap().is_empty());
    // and the next sync starts at once (not after a lease of minutes), as an initial run again
    let began = std::time::Instant::now();
    let sync = run(vec!["--json", "sync"]).await.unwrap();
    assert!(sync.status.success(), "{}", text(&sync));
    assert!(began.elapsed() < std::time::Duration::from_secs(120));
    let v: serde_json::Value = serde_json::from_slice(&sync.stdout).unwrap();
    assert_eq!(
        v["run"]["mode"], "initial",
        "R43: the abandoned initial run did not count"
    );
    assert_eq!(v["run"]["status"], "completed", "{v}");
    // issue 14: the run's figures, named as the Lambda functions' metrics, in `sync --json`
    // and `status --json` alike
    let figures = &v["figures"];
    assert_eq!(
        figures["LearnersSynced"],
        json_f64(&v["run"]["done"]),
        "{v}"
    );
    assert_eq!(
        figures["OneFileCalls"],
        json_f64(&v["run"]["onefile_calls"])
    );
    assert!(figures["RunDuration"].as_f64().unwrap() >= 0.0);
    assert!(figures["BudgetUse"].as_f64().unwrap() > 0.0, "{figures}");
    let status = run(vec!["--json", "status"]).await.unwrap();
    let s: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s["runs"][0]["run_id"], v["run"]["run_id"]);
    assert_eq!(&s["runs"][0]["figures"], figures, "{s}");
    for k in [
        "PicsChanges",
        "OneFileChanges",
        "OneFile429",
        "PicsCalls",
        "LearnersFailed",
    ] {
        assert!(figures[k].is_number(), "{k} missing: {figures}");
    }
}

fn json_f64(v: &serde_json::Value) -> serde_json::Value {
    serde_json::json!(v.as_f64().unwrap())
}

/// Issue 16: `picsync probe` compares the centre-wide review pages with per-learner searches,
/// read-only, and says whether `review_reads = "centre"` can be trusted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i16_probe_compares_centre_wide_review_pages_with_per_learner_searches() {
    use picsync_sim::onefile::{Quirks, SimReview, SimUser};
    let today = seeded_day();
    let sims = world::start(30, today, (300, std::time::Duration::from_secs(60)))
        .await
        .unwrap();
    // pages of 10, so that the centre's reviews take several
    sims.onefile.set_quirks(Quirks {
        page_size_cap: Some(10),
        ..sims.onefile.quirks()
    });
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sims, ENABLED);
    let d = dir.path().to_path_buf();
    let probe = move || {
        let d = d.clone();
        tokio::task::spawn_blocking(move || picsync(&["probe"], &d, &[]))
    };
    let line = |o: &Output| {
        text(o)
            .lines()
            .find(|l| l.contains("centre-wide review reads"))
            .unwrap_or_else(|| panic!("no centre-wide check: {}", text(o)))
            .to_string()
    };
    let sizes = |s: &picsync_sim::onefile::Store| {
        (
            s.users.len(),
            s.reviews.len(),
            s.visits.len(),
            s.learning_aims.len(),
        )
    };
    let before = (sims.onefile.read(sizes), sims.pics.state());

    let o = probe().await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let l = line(&o);
    assert_eq!(
        sims.onefile.read(sizes),
        before.0,
        "the probe writes nothing"
    );
    assert!(l.trim_start().starts_with("holds"), "{l}");
    assert!(l.contains("20 learners sampled"), "{l}");

    // a read cut short (a short page taken for the last): learners late in the list are
    // sampled too, so the missing reviews show
    sims.onefile.set_quirks(Quirks {
        review_pages_cut_short: true,
        ..sims.onefile.quirks()
    });
    let l = line(&probe().await.unwrap());
    assert!(
        l.trim_start().starts_with("differs") && l.contains("missing"),
        "{l}"
    );

    // DateFrom/DateTo not honoured: the window's search serves reviews outside it
    sims.onefile.set_quirks(Quirks {
        review_pages_cut_short: false,
        ignore_review_date_filter: true,
        ..sims.onefile.quirks()
    });
    let l = line(&probe().await.unwrap());
    assert!(
        l.trim_start().starts_with("differs") && l.contains("DateFrom/DateTo"),
        "{l}"
    );
    sims.onefile.set_quirks(Quirks {
        ignore_review_date_filter: false,
        ..sims.onefile.quirks()
    });

    // pages that overlap
    sims.onefile.set_quirks(Quirks {
        review_pages_overlap: true,
        ..sims.onefile.quirks()
    });
    let l = line(&probe().await.unwrap());
    assert!(
        l.trim_start().starts_with("differs") && l.contains("repeated"),
        "{l}"
    );

    // a centre filter the server ignores
    sims.onefile.set_quirks(Quirks {
        review_pages_overlap: false,
        ignore_review_organisation_filter: true,
        ..sims.onefile.quirks()
    });
    sims.onefile.edit(|e| {
        let other = e.raw().add_centre("Elsewhere");
        let u = e.add_user(SimUser::learner(other, "Other", "Learner", "X1"));
        e.add_review(SimReview {
            learner_id: u,
            status: 1,
            ..SimReview::default()
        });
    });
    let before = (sims.onefile.read(sizes), before.1);
    let l = line(&probe().await.unwrap());
    assert!(
        l.trim_start().starts_with("differs") && l.contains("OrganisationID"),
        "{l}"
    );
    assert!(
        sims.onefile.read(sizes) == before.0 && sims.pics.state() == before.1,
        "the probe writes nothing"
    );
}

/// Issue 15 item 5: the binary keeps to the day its world was seeded for (the hidden
/// `--today`): a world seeded for yesterday is synced as of yesterday's last millisecond, as a
/// run that began before London midnight and went on after it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hidden_today_keeps_the_run_to_its_seeded_day() {
    let yesterday = seeded_day().pred_opt().unwrap();
    let (_sims, dir) = tenant_on_sims(4, yesterday, ENABLED).await;
    let d = dir.path().to_path_buf();
    let day = yesterday.to_string();
    let sync =
        tokio::task::spawn_blocking(move || picsync(&["--json", "--today", &day, "sync"], &d, &[]))
            .await
            .unwrap();
    assert!(sync.status.success(), "{}", text(&sync));
    let v: serde_json::Value = serde_json::from_slice(&sync.stdout).unwrap();
    assert_eq!(v["run"]["status"], "completed", "{v}");
    let started: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(v["run"]["started_at"].clone()).unwrap();
    assert_eq!(
        started,
        picsync_domain::time::last_instant_of(yesterday),
        "the run's today is the seeded day"
    );
    // and `--help` does not offer it to operators
    let help = picsync(&["--help"], dir.path(), &[]);
    assert!(!text(&help).contains("--today"), "{}", text(&help));
}
