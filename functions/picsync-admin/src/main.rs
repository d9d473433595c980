#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests link the dev-dependencies too
//! `picsync-admin`: manages a deployment's tenants in its DynamoDB table, with the operator's
//! own AWS credentials (the usual AWS_PROFILE / AWS_REGION / AWS_ENDPOINT_URL variables).
//! Kept apart from the `picsync` CLI so that the CLI builds without the AWS SDK.
//!
//!   picsync-admin tenant put --table T --tenant acme --file acme.toml
//!   picsync-admin tenant get --table T --tenant acme
//!   picsync-admin table create --table T        (local stand-ins only: SAM creates the real one)

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use picsync_aws::config::tenant_id;
use picsync_aws::{DynamoState, TenantProfile};

#[derive(Parser)]
#[command(
    name = "picsync-admin",
    version,
    about = "Manages picsync tenants in a deployment's DynamoDB table (settings and connection; secrets live in Secrets Manager)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A tenant's settings and connection.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// The table itself.
    #[command(subcommand)]
    Table(TableCommand),
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Stores a tenant's profile (TOML: pics_url, onefile_centre, [settings]) after checking it.
    Put {
        #[arg(long, env = "TABLE_NAME")]
        table: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Prints a tenant's stored profile as JSON.
    Get {
        #[arg(long, env = "TABLE_NAME")]
        table: String,
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand)]
enum TableCommand {
    /// Creates the table as the SAM template declares it (for DynamoDB Local).
    Create {
        #[arg(long, env = "TABLE_NAME")]
        table: String,
    },
}

async fn state(table: &str) -> DynamoState {
    let sdk = picsync_aws::sdk_config().await;
    DynamoState::new(aws_sdk_dynamodb::Client::new(&sdk), table)
}

async fn run(cli: Cli) -> Result<String, (u8, String)> {
    let bad = |e: String| (2, e);
    let failed = |e: picsync_state::StateError| (1, e.to_string());
    match cli.command {
        Command::Tenant(TenantCommand::Put {
            table,
            tenant,
            file,
        }) => {
            let id = tenant_id(&tenant).map_err(bad)?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| bad(format!("cannot read {}: {e}", file.display())))?;
            let profile = TenantProfile::from_toml(&text)
                .map_err(|e| bad(format!("{}: {e}", file.display())))?;
            profile
                .put(&state(&table).await, &id)
                .await
                .map_err(failed)?;
            Ok(format!("tenant {id} stored in table {table}"))
        }
        Command::Tenant(TenantCommand::Get { table, tenant }) => {
            let id = tenant_id(&tenant).map_err(bad)?;
            match TenantProfile::get(&state(&table).await, &id)
                .await
                .map_err(failed)?
            {
                Some(p) => serde_json::to_string_pretty(&p).map_err(|e| (1, e.to_string())),
                None => Err(bad(format!(
                    "unknown tenant {id}: table {table} has no profile for it"
                ))),
            }
        }
        Command::Table(TableCommand::Create { table }) => {
            state(&table).await.create_table().await.map_err(failed)?;
            Ok(format!("table {table} is there"))
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err((code, e)) => {
            eprintln!("picsync-admin: {e}");
            ExitCode::from(code)
        }
    }
}
