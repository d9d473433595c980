//! The worker Lambda's entry point: JSON logs, configuration from the environment, clients
//! built once per container, then `worker::Worker::handle` for every SQS batch.
#![recursion_limit = "256"]

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use picsync_aws::{ClientTuning, Deployment, FunctionConfig};
use worker::Worker;

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
    let worker = Worker::new(Deployment::new(config, &sdk, ClientTuning::default()));
    let worker = &worker;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        worker.handle(event).await
    }))
    .await
}
