#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests link the dev-dependencies too
//! `picsync-lab`: picsync's development tools, kept out of the operator binary (`picsync`).
//!
//! `picsync-lab bench` measures the engine on the workspace's simulators (OneFile budget use,
//! calls per learner, a PICSWeb-style baseline) and writes its sections of `BENCHMARKS.md`; the
//! report's prose is in `templates/benchmarks.md`.

mod bench;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use picsync_engine::EngineError;

#[derive(Parser)]
#[command(
    name = "picsync-lab",
    version,
    about = "picsync's development tools (not the operator's CLI): benchmarks on the simulators."
)]
struct Cli {
    /// Machine-readable output (JSON) instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measures picsync on the simulators (OneFile budget use, calls per learner, a PICSWeb-style baseline) and writes BENCHMARKS.md.
    Bench(bench::BenchArgs),
}

/// What went wrong, and which exit code it earns (2: bad input, 1: anything else).
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Other(String),
}

impl LabError {
    fn code(&self) -> u8 {
        match self {
            LabError::Input(_) => 2,
            LabError::Engine(e) if e.is_bad_input() => 2,
            _ => 1,
        }
    }
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PICSYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("picsync-lab: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async {
        match &cli.command {
            Command::Bench(a) => bench::run(a, cli.json).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("picsync-lab: {e}");
            ExitCode::from(e.code())
        }
    }
}
