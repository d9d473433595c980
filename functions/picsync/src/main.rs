#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests link the dev-dependencies too
//! `picsync`: the operator's command line. The same engine the Lambda functions run, with
//! embedded state under a data directory and secrets from a local file or the environment.

mod config;
#[cfg(feature = "demo")]
mod demo;
mod output;
mod owner;
mod probe;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use picsync_domain::enrol::EnrolChoices;
use picsync_domain::{LearnerId, Mode, OfCentreId, OfPathwayId, OfUserId, QualificationId};
use picsync_engine::{Engine, EngineError, EnrolRequest, RunOptions, Tenant};
use picsync_onefile::Pacer;
use picsync_state::embedded::EmbeddedState;
use picsync_state::secrets::{FileSecrets, SecretSource};

use crate::config::{Config, TenantSetup};

#[derive(Parser)]
#[command(
    name = "picsync",
    version,
    about = "Keeps PICS (PICSWeb) and OneFile in step: reviews, progress, registration and certificates, without duplicates.",
    long_about = "Keeps PICS (PICSWeb) and OneFile in step: reviews, progress, registration and certificates, without duplicates.\n\n\
        Start with `picsync demo`, which runs everything against built-in simulators. Against real systems, write a config \
        file (see README) and run `picsync check`, then `picsync plan` (a dry run) and `picsync sync`.\n\n\
        Exit codes: 0 all good; 1 some learners failed (listed); 2 bad input or configuration (named)."
)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        env = "PICSYNC_CONFIG",
        default_value = "picsync.toml"
    )]
    config: PathBuf,
    /// The tenant (training provider) to work on; may be left out when the config has one.
    #[arg(long, global = true)]
    tenant: Option<String>,
    /// Machine-readable output (JSON) instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// More log output on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Keeps to this Europe/London day as today: the real time until it ends, its last
    /// millisecond after. For tests whose simulated world is seeded for a day (a run across
    /// midnight must not see another day); not for operators.
    #[arg(
        long,
        global = true,
        hide = true,
        env = "PICSYNC_TODAY",
        value_name = "YYYY-MM-DD"
    )]
    today: Option<chrono::NaiveDate>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the whole routine on built-in simulators of PICS and OneFile (no config, no network).
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
    /// Synchronises the tenant (every learner in scope, or those given with --learner).
    Sync(SyncArgs),
    /// Shows every change a sync (or, with --enrol, an enrolment) would make; writes nothing anywhere.
    Plan(PlanArgs),
    /// Enrols a PICS learner into OneFile (creating what is missing, exactly once).
    Enrol(EnrolArgs),
    /// Links a PICS learner to an existing OneFile learner, creating nothing.
    Link(LinkArgs),
    /// Reloads OneFile's learning aims used to match qualifications (does not count as a sync).
    RefreshAims,
    /// Tests the connection to both systems and shows the OneFile environment and centres.
    ///
    /// Runs even while the integration is disabled (integration_enabled = false): it only reads,
    /// and testing the connection comes before enabling (R1, a Decision). Every other command
    /// that talks to OneFile refuses a disabled tenant before calling it.
    Check,
    /// Shows the tenant's last runs and per-learner state.
    Status(StatusArgs),
    /// Lists every change picsync wrote for one learner (the audit trail).
    Audit(AuditArgs),
    /// Read-only checks of the undocumented ("Assumed") parts of the OneFile API (refused while the integration is disabled, R1).
    Probe,
}

#[derive(Args)]
struct SyncArgs {
    /// initial (full comparison, uploads every eligible review) or periodic. Default: initial for the
    /// first run after enabling, periodic after.
    #[arg(long)]
    mode: Option<Mode>,
    /// Only these PICS learners (a refresh); repeatable.
    #[arg(long = "learner")]
    learners: Vec<String>,
    /// Compare every learner in scope, skipping none.
    #[arg(long)]
    full: bool,
    /// Learners synced at once (they share the tenant's OneFile budget).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
}

#[derive(Args)]
struct PlanArgs {
    #[command(flatten)]
    sync: SyncArgs,
    /// Plan the enrolment of this PICS learner instead of a sync.
    #[arg(long, value_name = "LEARNER")]
    enrol: Option<String>,
    #[command(flatten)]
    choices: ChoiceArgs,
}

#[derive(Args)]
struct ChoiceArgs {
    /// For a qualification with several OneFile pathways: QUALIFICATION=PATHWAY (R9); repeatable.
    #[arg(long = "pathway", value_parser = parse_pair)]
    pathways: Vec<(String, i64)>,
    /// For a qualification offered by several centres: QUALIFICATION=CENTRE (R10); repeatable.
    #[arg(long = "centre", value_parser = parse_pair)]
    centres: Vec<(String, i64)>,
}

#[derive(Args)]
struct EnrolArgs {
    /// The PICS learner id.
    #[arg(long)]
    learner: String,
    #[command(flatten)]
    choices: ChoiceArgs,
}

#[derive(Args)]
struct LinkArgs {
    /// The PICS learner id.
    #[arg(long)]
    learner: String,
    /// The OneFile learner's ID.
    #[arg(long = "onefile-id")]
    onefile_id: i64,
    /// Show what would be done, write nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
struct StatusArgs {
    /// How many runs to show.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Show per-learner state for these learners only.
    #[arg(long = "learner")]
    learners: Vec<String>,
}

#[derive(Args)]
struct AuditArgs {
    /// The PICS learner id.
    #[arg(long)]
    learner: String,
}

fn parse_pair(s: &str) -> Result<(String, i64), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not QUALIFICATION=ID"))?;
    let id = v
        .trim()
        .parse::<i64>()
        .map_err(|_| format!("{v:?} in {s:?} is not a numeric OneFile id"))?;
    Ok((k.trim().to_string(), id))
}

/// What went wrong, and which exit code it earns.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Other(String),
}

impl CliError {
    fn code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Input(_) => 2,
            CliError::Engine(e) if e.is_bad_input() => 2,
            _ => 1,
        }
    }
}

fn init_logs(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,picsync=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PICSYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.verbose);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("picsync: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("picsync: {e}");
            ExitCode::from(e.code())
        }
    }
}

/// Builds the API clients of a configured tenant (secrets from the file or the environment).
async fn tenant(setup: &TenantSetup) -> Result<Tenant, CliError> {
    let secrets = FileSecrets::new(setup.secrets_file.as_deref())
        .get(&setup.id)
        .await
        .map_err(EngineError::from)?;
    // the settings carry the tenant's OneFile environment (config.rs puts it there)
    let pacer = Pacer::per_minute(setup.settings.onefile_calls_per_minute);
    Ok(Tenant::connect(
        setup.id.clone(),
        setup.settings.clone(),
        &setup.pics_url,
        setup.centre,
        &secrets,
        pacer,
        |_, _| {},
    )?)
}

fn choices(c: &ChoiceArgs) -> EnrolChoices {
    EnrolChoices {
        pathways: c
            .pathways
            .iter()
            .map(|(q, p)| (QualificationId::new(q), OfPathwayId(*p)))
            .collect(),
        centres: c
            .centres
            .iter()
            .map(|(q, p)| (QualificationId::new(q), OfCentreId(*p)))
            .collect(),
    }
}

async fn run(cli: Cli) -> Result<u8, CliError> {
    #[cfg(feature = "demo")]
    if let Command::Demo(args) = &cli.command {
        return demo::run(args, cli.json).await;
    }
    let config = Config::load(&cli.config)?;
    let setup = config.tenant(&cli.config, cli.tenant.as_deref())?;
    let state = EmbeddedState::open(&config.state.dir).map_err(|e| {
        CliError::Input(format!(
            "state directory {}: {e}",
            config.state.dir.display()
        ))
    })?;
    let clock = cli
        .today
        .map_or_else(picsync_engine::system_clock, picsync_engine::clock_of_day);
    let engine = Engine::new(Arc::new(state), clock)
        .with_lease_ttl(owner::LEASE_TTL)
        .with_owner(owner::this_process(), owner::dead);
    let out = output::Out::new(cli.json);
    match cli.command {
        #[cfg(feature = "demo")]
        Command::Demo(_) => Ok(0),
        Command::Status(a) => {
            output::status(&out, &engine, &setup.id, a.runs, &a.learners).await?;
            Ok(0)
        }
        Command::Audit(a) => {
            let entries = engine
                .audit_trail(&setup.id, &LearnerId::new(&a.learner))
                .await?;
            output::audit(&out, &a.learner, &entries);
            Ok(0)
        }
        command => {
            let t = tenant(&setup).await?;
            match command {
                Command::Sync(a) => sync(&out, &engine, &t, &a, false).await,
                Command::Plan(a) => match a.enrol {
                    Some(learner) => {
                        let r = engine
                            .enrol(
                                &t,
                                &EnrolRequest {
                                    learner: LearnerId::new(&learner),
                                    choices: choices(&a.choices),
                                    dry_run: true,
                                },
                            )
                            .await?;
                        output::enrol(&out, &r);
                        Ok(0)
                    }
                    None => sync(&out, &engine, &t, &a.sync, true).await,
                },
                Command::Enrol(a) => {
                    let r = engine
                        .enrol(
                            &t,
                            &EnrolRequest {
                                learner: LearnerId::new(&a.learner),
                                choices: choices(&a.choices),
                                dry_run: false,
                            },
                        )
                        .await?;
                    output::enrol(&out, &r);
                    Ok(0)
                }
                Command::Link(a) => {
                    let msg = engine
                        .link(
                            &t,
                            &LearnerId::new(&a.learner),
                            OfUserId(a.onefile_id),
                            a.dry_run,
                        )
                        .await?;
                    out.line(&msg, &serde_json::json!({ "result": msg }));
                    Ok(0)
                }
                Command::RefreshAims => {
                    let n = engine.refresh_aims(&t, false).await?;
                    out.line(
                        &format!("{n} OneFile learning aims loaded for matching (R34)"),
                        &serde_json::json!({ "learning_aims": n }),
                    );
                    Ok(0)
                }
                Command::Check => {
                    let r = engine.check(&t).await?;
                    output::check(&out, &r);
                    Ok(0)
                }
                Command::Probe => {
                    // R1: nothing calls OneFile for a disabled tenant (only `check` may)
                    Engine::<EmbeddedState>::check_enabled(&t)?;
                    probe::run(&out, &t).await
                }
                Command::Status(_) | Command::Audit(_) => Ok(0),
                #[cfg(feature = "demo")]
                Command::Demo(_) => Ok(0),
            }
        }
    }
}

async fn sync(
    out: &output::Out,
    engine: &Engine<EmbeddedState>,
    t: &Tenant,
    a: &SyncArgs,
    dry_run: bool,
) -> Result<u8, CliError> {
    let opts = RunOptions {
        mode: a.mode,
        dry_run,
        learners: a.learners.iter().map(LearnerId::new).collect(),
        concurrency: a.concurrency.max(1),
        full: a.full,
    };
    let bar = output::Bar::new(out.is_json());
    let started = std::time::Instant::now();
    let summary = engine.run_tenant(t, &opts, &bar).await?;
    output::run(out, &summary, started.elapsed(), dry_run);
    Ok(if summary.run.failed > 0 { 1 } else { 0 })
}
