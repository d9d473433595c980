#![allow(unused_crate_dependencies)] // the binary links its package's dependencies for the library
//! The worker Lambda's entry point: JSON logs whose spans carry the request id, tenant, run and
//! learner, and EMF metrics on stdout (`picsync_aws::logging`, `picsync_aws::metrics`);
//! configuration from the environment, clients built once per container, then
//! `worker::Worker::handle` for every SQS batch.
#![recursion_limit = "256"]

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use picsync_aws::{ClientTuning, Deployment, FunctionConfig};
use worker::Worker;

#[tokio::main]
async fn main() -> Result<(), Error> {
    picsync_aws::logging::init();
    let config = FunctionConfig::from_env()?;
    let sdk = picsync_aws::sdk_config().await;
    let worker = Worker::new(Deployment::new(config, &sdk, ClientTuning::default()));
    let worker = &worker;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        worker.handle(event).await
    }))
    .await
}
