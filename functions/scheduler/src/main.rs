//! The scheduler Lambda's entry point: JSON logs whose spans carry the request id, tenant, run and
//! learner, and EMF metrics on stdout (`picsync_aws::logging`, `picsync_aws::metrics`);
//! configuration from the environment, clients built once per container, then
//! the handler of `scheduler::Scheduler` for every invocation.
#![recursion_limit = "256"]
// the package's dependencies are the library's (checked there); this entry point uses a few
#![allow(unused_crate_dependencies)]

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use picsync_aws::{ClientTuning, Deployment, FunctionConfig};
use scheduler::Scheduler;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    picsync_aws::logging::init();
    let config = FunctionConfig::from_env()?;
    let sdk = picsync_aws::sdk_config().await;
    let scheduler = Scheduler::new(Deployment::new(config, &sdk, ClientTuning::default()))?;
    let scheduler = &scheduler;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        scheduler.handle(event).await
    }))
    .await
}
