//! The DynamoDB state backend: every state port on ONE table, partition key `pk` =
//! `keys::partition(tenant)`, sort key `sk` = the keys of `picsync_state::keys`.
//!
//! Every decision that two workers could race on is taken by a condition expression, never by
//! a read followed by an unconditional write, and never by TTL deletion (expired items stay
//! readable until AWS gets round to deleting them):
//! - lease (R39): `attribute_not_exists(pk) OR holder = :h OR expires_at <= :now`, the exact
//!   translation of `rules::lease_free`;
//! - intent claim (§7): the claim `rules::claim` decides from a consistent read is written only
//!   if the intent is still what was read (`version = :v`, not created, and expired or ours);
//! - intent completion (§7): `rules::complete` decides from a consistent read (only the claim's
//!   holder completes it), written on `version = :v`; retiring a done intent whose record is
//!   gone: a delete on `created_id = :id`;
//! - learner and tenant state: `version = :v` (or `attribute_not_exists(pk)` for version 0);
//! - run outcome: a transaction of the per-learner marker (`attribute_not_exists(pk)`) and the
//!   run updated by `rules::add_outcome` on the version read, retried (bounded) on conflict.

mod item;
mod ports;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
};
use picsync_domain::TenantId;
use picsync_onefile::{Pacer, PacerState};
use picsync_state::{StateError, keys};
use serde::{Deserialize, Serialize};

pub use item::Item;
use item::*;
pub use ports::MAX_FAILURES_KEPT;

/// Conditional writes that lose a race are tried again this many times (with a short jittered
/// pause) before the caller gets a retryable [`StateError::Conflict`].
const MAX_RACE_RETRIES: u32 = 40;

/// The sort key of a tenant's connection record (DynamoDB only: the CLI keeps it in its
/// config file).
pub const CONNECTION: &str = "CONNECTION";

/// The sort key of a tenant's OneFile pacing between two worker batches (R35).
pub const PACER: &str = "PACER";

/// Where a tenant's systems are: what the Lambda functions need besides the settings and the
/// secrets to talk to the tenant's PICS and OneFile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// The PICS API base URL (https).
    pub pics_url: String,
    /// The OneFile centre, when the customer has several.
    #[serde(default)]
    pub onefile_centre: Option<picsync_domain::OfCentreId>,
}

/// The DynamoDB state backend. Cheap to clone.
#[derive(Clone)]
pub struct DynamoState {
    client: Client,
    table: String,
    /// Distinguishes audit entries written in the same microsecond by different containers.
    audit_seq: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for DynamoState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoState")
            .field("table", &self.table)
            .finish()
    }
}

pub(crate) fn backend<E, R>(what: &str, e: &SdkError<E, R>) -> StateError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StateError::Backend(format!("DynamoDB {what}: {}", DisplayErrorContext(e)))
}

/// How a conditional write went.
pub(crate) enum Written {
    Done,
    /// The condition was false; the item as it was, when there was one.
    Refused(Option<Item>),
}

/// A short pause before trying a lost race again.
pub(crate) async fn pause(attempt: u32) {
    let base = 5u64 * u64::from(attempt.min(10) + 1);
    tokio::time::sleep(Duration::from_millis(base + fastrand::u64(0..=base))).await;
}

impl DynamoState {
    /// The backend over `table` (the SAM template's table, or a test's).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        // audit sort keys carry a 10-digit sequence number: start somewhere random in it
        let seq = fastrand::u64(0..4_000_000_000);
        Self {
            client,
            table: table.into(),
            audit_seq: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(seq)),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the table as the SAM template declares it (pk, sk; on demand), for local use
    /// and tests. An existing table is left alone.
    pub async fn create_table(&self) -> Result<(), StateError> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| StateError::Backend(e.to_string()))
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| StateError::Backend(e.to_string()))
        };
        let out = self
            .client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(attr(PK)?)
            .attribute_definitions(attr(SK)?)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_dynamodb::operation::create_table::CreateTableError::is_resource_in_use_exception) =>
            {
                Ok(())
            }
            Err(e) => Err(backend("CreateTable", &e)),
        }
    }

    /// A tenant's connection record.
    pub async fn get_connection(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Connection>, StateError> {
        match self.get(tenant, CONNECTION).await? {
            Some(item) => doc(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Stores a tenant's connection record.
    pub async fn put_connection(
        &self,
        tenant: &TenantId,
        connection: &Connection,
    ) -> Result<(), StateError> {
        self.put(record(tenant, CONNECTION, connection, 1)?).await
    }

    /// The tenant's OneFile pacing as the last worker batch left it (R35); `None`: never
    /// stored. An unreadable record is an error (`Corrupt`): the worker then counts the last
    /// window as full rather than guess it empty.
    pub async fn get_pacer(&self, tenant: &TenantId) -> Result<Option<PacerState>, StateError> {
        match self.get(tenant, PACER).await? {
            Some(item) => doc(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Stores the tenant's OneFile pacing for its next worker batch (R35). Unconditional: a
    /// tenant's batches run one at a time (one FIFO message group).
    pub async fn put_pacer(&self, tenant: &TenantId, state: &PacerState) -> Result<(), StateError> {
        self.put(record(tenant, PACER, state, 1)?).await
    }

    /// R35: makes `pacer` take on the tenant's pacing as the last process to pace it (a worker
    /// batch, the scheduler) left it. A record that cannot be read or reached counts the last
    /// window as full: calls this process cannot see never share a window with its own.
    pub async fn take_on_pacing(&self, tenant: &TenantId, pacer: &Pacer) {
        match self.get_pacer(tenant).await {
            Ok(Some(state)) => pacer.restore(&state),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not read the tenant's pacing: counting the last window as full");
                pacer.assume_full_window();
            }
        }
    }

    /// R35: stores `pacer`'s state for the tenant's next process, once this one's OneFile calls
    /// are over. Should the store fail, the next process would not see this one's calls: this
    /// one waits until they have left the window, for at most `left` (its deadline).
    pub async fn hand_on_pacing(&self, tenant: &TenantId, pacer: &Pacer, left: Option<Duration>) {
        if let Err(e) = self.put_pacer(tenant, &pacer.state()).await {
            let wait = left.map_or(pacer.quiet_in(), |left| pacer.quiet_in().min(left));
            tracing::warn!(
                error = %e,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "could not store the tenant's pacing: waiting until its calls have left the window"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// A consistent read of one item.
    pub(crate) async fn get(
        &self,
        tenant: &TenantId,
        sk: &str,
    ) -> Result<Option<Item>, StateError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("GetItem", &e))?;
        Ok(out.item)
    }

    /// An unconditional write.
    pub(crate) async fn put(&self, item: Item) -> Result<(), StateError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| backend("PutItem", &e))?;
        Ok(())
    }

    /// A write under `condition`; a false condition gives the item as it was.
    pub(crate) async fn put_if(
        &self,
        item: Item,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<Written, StateError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (k, v) in values {
            req = req.expression_attribute_values(*k, v.clone());
        }
        match req.send().await {
            Ok(_) => Ok(Written::Done),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    Ok(Written::Refused(c.item.clone()))
                }
                _ => Err(backend("PutItem", &e)),
            },
        }
    }

    /// Every item of the tenant whose sort key starts with `prefix`, in sort-key order
    /// (consistent reads, all pages).
    pub(crate) async fn query_prefix(
        &self,
        tenant: &TenantId,
        prefix: &str,
    ) -> Result<Vec<Item>, StateError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :p AND begins_with(sk, :s)")
                .expression_attribute_values(":p", s(keys::partition(tenant)))
                .expression_attribute_values(":s", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| backend("Query", &e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(items)
    }
}
