//! The scheduler Lambda's entry point: JSON logs, configuration from the environment, clients
//! built once per container, then the handler of `scheduler::Scheduler` for every invocation.
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use picsync_aws::{ClientTuning, Deployment, FunctionConfig};
use scheduler::Scheduler;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AWS_LAMBDA_LOG_LEVEL")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .with_ansi(false)
        .init();
    let config = FunctionConfig::from_env()?;
    let sdk = picsync_aws::sdk_config().await;
    let scheduler = Scheduler::new(Deployment::new(config, &sdk, ClientTuning::default()))?;
    let scheduler = &scheduler;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        scheduler.handle(event).await
    }))
    .await
}
