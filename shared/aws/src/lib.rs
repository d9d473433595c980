#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests link the dev-dependencies too
//! picsync on AWS: the adapters the Lambda functions run on, and the plumbing they share.
//!
//! - [`dynamo::DynamoState`]: every state port on one DynamoDB table, conditional writes for
//!   leases, intents, cursors and run outcomes (expiry compared in conditions, never left to
//!   TTL deletion).
//! - [`secrets::SecretsManagerSource`]: one secret per tenant, cached per container, refreshed
//!   after a 401.
//! - [`queue::TaskSender`]: learner tasks to the worker's FIFO queue, one message group per
//!   tenant (R35).
//! - [`metrics::Metrics`] and [`logging::init`]: the functions' EMF metrics and JSON logs.
//! - [`config::FunctionConfig`] and [`tenants::Tenants`]: the functions' environment, and
//!   tenants built from the table, the secrets and the container's pacers.

pub mod config;
pub mod dynamo;
pub mod logging;
pub mod metrics;
pub mod profile;
pub mod queue;
pub mod secrets;
pub mod tenants;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

pub use config::{ConfigError, FunctionConfig};
pub use dynamo::{Connection, DynamoState};
pub use metrics::Metrics;
pub use profile::TenantProfile;
pub use queue::{DeadLetters, SendReport, TaskSender};
pub use secrets::SecretsManagerSource;
pub use tenants::{ClientTuning, Tenants, is_auth_error};

/// The SDK configuration of a Lambda: region, credentials and endpoints from the environment
/// (`AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` point it at stand-ins), with
/// [`sdk_timeouts`], so that no AWS call can outlive the invocation's deadline reserve.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(sdk_timeouts())
        .load()
        .await
}

/// Connect 3 s, each attempt 4 s, a whole operation (with the SDK's retries) 10 s: every
/// DynamoDB, SQS and Secrets Manager call picsync makes is small, and 10 s fits well inside the
/// worker's 15 s deadline reserve.
pub fn sdk_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(3))
        .operation_attempt_timeout(std::time::Duration::from_secs(4))
        .operation_timeout(std::time::Duration::from_secs(10))
        .build()
}

/// Everything a function builds once per container.
#[derive(Clone)]
pub struct Deployment {
    pub config: FunctionConfig,
    pub state: Arc<DynamoState>,
    pub tenants: Arc<Tenants>,
    pub sqs: aws_sdk_sqs::Client,
    /// Where the functions' EMF metrics go (stdout; a buffer in tests).
    pub metrics: Metrics,
    /// The engines' "now": the system clock; in tests, one that keeps the day their world was
    /// seeded for.
    pub clock: picsync_engine::Clock,
}

impl Deployment {
    /// Clients built from one SDK configuration.
    pub fn new(config: FunctionConfig, sdk: &aws_config::SdkConfig, tuning: ClientTuning) -> Self {
        Self::with_clients(
            config,
            aws_sdk_dynamodb::Client::new(sdk),
            aws_sdk_secretsmanager::Client::new(sdk),
            aws_sdk_sqs::Client::new(sdk),
            tuning,
        )
    }

    /// From clients built elsewhere (tests point each service at its own stand-in).
    pub fn with_clients(
        config: FunctionConfig,
        dynamodb: aws_sdk_dynamodb::Client,
        secretsmanager: aws_sdk_secretsmanager::Client,
        sqs: aws_sdk_sqs::Client,
        tuning: ClientTuning,
    ) -> Self {
        let state = Arc::new(DynamoState::new(dynamodb, config.table_name.clone()));
        let secrets = Arc::new(SecretsManagerSource::new(
            secretsmanager,
            config.secret_prefix.clone(),
            config.secrets_ttl,
        ));
        let tenants = Arc::new(Tenants::new(
            state.clone(),
            secrets,
            config.calls_per_minute_cap,
            config.secrets_ttl,
            tuning,
        ));
        Self {
            config,
            state,
            tenants,
            sqs,
            metrics: Metrics::stdout(),
            clock: picsync_engine::system_clock(),
        }
    }

    /// The metrics sent to `metrics` instead of stdout.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The engines run on `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: picsync_engine::Clock) -> Self {
        self.clock = clock;
        self
    }
}
