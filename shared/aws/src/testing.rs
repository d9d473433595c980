//! Helpers for tests against the local stand-ins (feature `testing`): DynamoDB Local and moto
//! server on 127.0.0.1, started by `scripts/standins.sh start` (or `scripts/test.sh`), which
//! writes their URLs to `.local/standins.env`. `PICSYNC_DYNAMODB_URL` / `PICSYNC_MOTO_URL` in
//! the environment take precedence. A missing or silent stand-in FAILS the test (never skips
//! it), with a hint naming the scripts.
//!
//! Tests share the stand-ins, so every helper makes its own table, queue or secret with a
//! unique name: nothing is reset under another test's feet.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::dynamo::DynamoState;

const ENV_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.local/standins.env");
const HINT: &str = "install them with scripts/install-standins.sh, then start them with `scripts/standins.sh start` (or run every test with scripts/test.sh, which starts and stops them)";

/// Where the stand-ins listen.
#[derive(Debug, Clone)]
pub struct Standins {
    pub dynamodb_url: String,
    pub moto_url: String,
}

fn from_file(var: &str) -> Option<String> {
    let text = std::fs::read_to_string(ENV_FILE).ok()?;
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == var)
        .map(|(_, v)| v.trim().to_string())
}

fn url(var: &str, what: &str) -> String {
    let u = std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| from_file(var))
        .unwrap_or_else(|| {
            panic!("{what} is not running: neither {var} nor {ENV_FILE} names it. The AWS stand-ins are needed: {HINT}")
        });
    let hostport = u
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let reachable = hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    assert!(
        reachable,
        "{what} does not answer at {u} (from {var}). The AWS stand-ins are needed: {HINT}"
    );
    u
}

/// The stand-ins' URLs; panics with the hint when one is absent or unreachable.
pub fn standins() -> Standins {
    Standins {
        dynamodb_url: url("PICSYNC_DYNAMODB_URL", "DynamoDB Local"),
        moto_url: url("PICSYNC_MOTO_URL", "moto server"),
    }
}

/// An SDK configuration for a stand-in: dummy credentials, a fixed region.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("eu-west-2"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "picsync-tests",
        ))
        .load()
        .await
}

/// A name nobody else uses (tests run in parallel against the same stand-ins).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{:08x}", std::process::id(), fastrand::u32(..))
}

/// A fresh table on DynamoDB Local.
pub async fn dynamo_state() -> DynamoState {
    let s = standins();
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(&s.dynamodb_url).await);
    let state = DynamoState::new(client, unique("picsync"));
    state
        .create_table()
        .await
        .expect("the table is created on DynamoDB Local");
    state
}

/// An SQS client on moto server.
pub async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config(&standins().moto_url).await)
}

/// A Secrets Manager client on moto server.
pub async fn secretsmanager() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&sdk_config(&standins().moto_url).await)
}

/// A FIFO task queue like the template's, with its dead-letter queue after `max_receive`
/// receives, and `visibility` seconds of visibility timeout. Returns (queue URL, DLQ URL).
pub async fn fifo_queue(
    sqs: &aws_sdk_sqs::Client,
    max_receive: u32,
    visibility: u32,
) -> (String, String) {
    let name = unique("picsync-tasks");
    let dlq = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("the DLQ is created on moto");
    let dlq_url = dlq.queue_url().unwrap_or_default().to_string();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("the DLQ's ARN")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let q = sqs
        .create_queue()
        .queue_name(format!("{name}.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility.to_string(),
        )
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receive}"}}"#),
        )
        .send()
        .await
        .expect("the queue is created on moto");
    (q.queue_url().unwrap_or_default().to_string(), dlq_url)
}

/// A deployment on the stand-ins: its own table, FIFO queue with DLQ, and secret prefix.
pub struct Stack {
    pub config: crate::FunctionConfig,
    pub state: DynamoState,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub dlq_url: String,
    /// The day (Europe/London) this stack's tests seed their world for: its deployments' engines
    /// keep it, should a test run past London midnight (`world::clock_of_day`).
    pub today: chrono::NaiveDate,
}

/// OneFile's minute in tests.
pub const WINDOW: Duration = Duration::from_millis(400);

/// Client tuning for tests: OneFile's minute scaled to [`WINDOW`], fast retries, short timeouts.
pub fn tuning() -> crate::ClientTuning {
    crate::ClientTuning {
        rate_window: WINDOW,
        retry: Some(picsync_http::RetryPolicy::fast()),
        timeout: Some(Duration::from_secs(3)),
    }
}

/// A fresh stack: `max_receive` receives before the DLQ, `visibility` seconds of visibility
/// timeout, `tenants` as PICSYNC_TENANTS.
pub async fn stack(tenants: &[&str], max_receive: u32, visibility: u32) -> Stack {
    let s = standins();
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config(&s.dynamodb_url).await);
    let moto = sdk_config(&s.moto_url).await;
    let sqs = aws_sdk_sqs::Client::new(&moto);
    let secretsmanager = aws_sdk_secretsmanager::Client::new(&moto);
    let state = DynamoState::new(dynamodb.clone(), unique("picsync"));
    state
        .create_table()
        .await
        .expect("the table is created on DynamoDB Local");
    let (queue_url, dlq_url) = fifo_queue(&sqs, max_receive, visibility).await;
    let config = crate::FunctionConfig {
        table_name: state.table().to_string(),
        queue_url: Some(queue_url.clone()),
        dlq_url: Some(dlq_url.clone()),
        secret_prefix: format!("{}/", unique("picsync")),
        tenants: tenants
            .iter()
            .map(|t| picsync_domain::TenantId::from(*t))
            .collect(),
        secrets_ttl: Duration::from_secs(600),
        calls_per_minute_cap: 280,
        max_receive_count: max_receive,
        max_attempts: max_receive,
        deadline_reserve: Duration::from_secs(15),
        function_timeout: Duration::from_secs(300),
        learner_min: Duration::from_secs(60),
        lease_ttl: Duration::from_secs(3600),
        // tests settle returned messages themselves
        retry_delay: Duration::ZERO,
    };
    Stack {
        config,
        state,
        dynamodb,
        secretsmanager,
        sqs,
        queue_url,
        dlq_url,
        today: picsync_sim::world::today(),
    }
}

impl Stack {
    /// A deployment (as a function builds it at start) over this stack.
    pub fn deployment(&self) -> crate::Deployment {
        self.deployment_with(self.config.clone())
    }

    /// A deployment over this stack with another configuration.
    pub fn deployment_with(&self, config: crate::FunctionConfig) -> crate::Deployment {
        crate::Deployment::with_clients(
            config,
            self.dynamodb.clone(),
            self.secretsmanager.clone(),
            self.sqs.clone(),
            tuning(),
        )
        // tests that read the metrics pass their own sink (`Deployment::with_metrics`)
        .with_metrics(crate::Metrics::to_writer(std::io::sink()))
        .with_clock(std::sync::Arc::new(picsync_sim::world::clock_of_day(
            self.today,
        )))
    }

    /// Stores a tenant's secret (`<prefix><tenant>`).
    pub async fn put_secret(&self, tenant: &str, json: &str) {
        let name = format!("{}{tenant}", self.config.secret_prefix);
        let created = self
            .secretsmanager
            .create_secret()
            .name(&name)
            .secret_string(json)
            .send()
            .await;
        if created.is_err() {
            self.secretsmanager
                .put_secret_value()
                .secret_id(&name)
                .secret_string(json)
                .send()
                .await
                .expect("the secret is stored on moto");
        }
    }

    /// Every item of the table (to check that nothing was written).
    pub async fn items(&self) -> usize {
        let out = self
            .dynamodb
            .scan()
            .table_name(self.state.table())
            .send()
            .await
            .expect("scan");
        out.count as usize
    }

    /// Messages in a queue, visible or in flight.
    pub async fn depth(&self, url: &str) -> usize {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("queue attributes");
        let attrs = out.attributes().cloned().unwrap_or_default();
        [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        ]
        .iter()
        .map(|k| {
            attrs
                .get(k)
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0)
        })
        .sum()
    }

    /// Registers the simulated tenant of `picsync_sim::world` (settings, connection, secret).
    pub async fn world_tenant(&self, tenant: &str, sims: &picsync_sim::world::Running) {
        use picsync_sim::world;
        let settings = picsync_domain::Settings {
            integration_enabled: true,
            desktop_integration_disabled: true,
            environment: picsync_domain::settings::Environment::Custom(sims.onefile.base_url()),
            ..picsync_domain::Settings::default()
        };
        let profile = crate::TenantProfile {
            connection: crate::Connection {
                pics_url: sims.pics.base_url(),
                onefile_centre: Some(picsync_domain::OfCentreId(world::CENTRE)),
            },
            settings,
        };
        profile
            .put(&self.state, &picsync_domain::TenantId::from(tenant))
            .await
            .expect("the tenant is stored");
        self.put_secret(
            tenant,
            &serde_json::json!({
                "onefile_customer_token": world::ONEFILE_TOKEN,
                "pics_username": world::PICS_USERNAME,
                "pics_password": world::PICS_PASSWORD,
            })
            .to_string(),
        )
        .await;
    }
}
