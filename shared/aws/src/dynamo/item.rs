//! How records become DynamoDB items: `pk` (the tenant's partition), `sk` (the record's key
//! from `picsync_state::keys`), `doc` (the record as JSON) and `version` (bumped by every
//! conditional write), plus the few top-level attributes that condition expressions compare
//! (`holder`, `expires_at`, `created_id`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use picsync_domain::TenantId;
use picsync_state::{StateError, keys};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub type Item = HashMap<String, AttributeValue>;

pub(super) const PK: &str = "pk";
pub(super) const SK: &str = "sk";
pub(super) const DOC: &str = "doc";
pub(super) const VERSION: &str = "version";
pub(super) const HOLDER: &str = "holder";
pub(super) const RUN_ID: &str = "run_id";
pub(super) const EXPIRES_AT: &str = "expires_at";
pub(super) const CREATED_ID: &str = "created_id";

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// An instant as a number that conditions compare: microseconds since the epoch.
pub(super) fn time(t: DateTime<Utc>) -> AttributeValue {
    n(t.timestamp_micros())
}

/// The primary key of a tenant's record.
pub(super) fn key(tenant: &TenantId, sk: &str) -> Item {
    HashMap::from([
        (PK.to_string(), s(keys::partition(tenant))),
        (SK.to_string(), s(sk)),
    ])
}

/// A full item: the key, the record as JSON, and its version.
pub(super) fn record<T: Serialize>(
    tenant: &TenantId,
    sk: &str,
    doc: &T,
    version: u64,
) -> Result<Item, StateError> {
    let json = serde_json::to_string(doc)
        .map_err(|e| StateError::Backend(format!("cannot encode {sk}: {e}")))?;
    let mut item = key(tenant, sk);
    item.insert(DOC.to_string(), s(json));
    item.insert(VERSION.to_string(), n(version));
    Ok(item)
}

fn sk_of(item: &Item) -> String {
    match item.get(SK) {
        Some(AttributeValue::S(k)) => k.clone(),
        _ => "(no sort key)".to_string(),
    }
}

fn corrupt(item: &Item, detail: impl Into<String>) -> StateError {
    StateError::Corrupt {
        key: sk_of(item),
        detail: detail.into(),
    }
}

/// The record held in `doc`.
pub(super) fn doc<T: DeserializeOwned>(item: &Item) -> Result<T, StateError> {
    match item.get(DOC) {
        Some(AttributeValue::S(json)) => {
            serde_json::from_str(json).map_err(|e| corrupt(item, e.to_string()))
        }
        _ => Err(corrupt(item, "no `doc` string attribute")),
    }
}

/// A numeric attribute (None when absent).
pub(super) fn num(item: &Item, name: &str) -> Result<Option<i64>, StateError> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(v)) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|e| corrupt(item, format!("`{name}` is not an integer: {e}"))),
        Some(_) => Err(corrupt(item, format!("`{name}` is not a number"))),
    }
}

/// A string attribute.
pub(super) fn string(item: &Item, name: &str) -> Result<String, StateError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(corrupt(item, format!("no `{name}` string attribute"))),
    }
}

/// The item's version (0 when it has none).
pub(super) fn version(item: &Item) -> Result<u64, StateError> {
    Ok(num(item, VERSION)?.map_or(0, |v| v.max(0) as u64))
}

/// An instant stored by [`time`].
pub(super) fn instant(item: &Item, name: &str) -> Result<DateTime<Utc>, StateError> {
    let micros = num(item, name)?.ok_or_else(|| corrupt(item, format!("no `{name}`")))?;
    Ok(DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MIN_UTC))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_items() {
        let t = TenantId::from("acme");
        let item = record(&t, "RUN#1", &serde_json::json!({"a": 1}), 7).unwrap();
        assert_eq!(item[PK], s("T#acme"));
        assert_eq!(version(&item).unwrap(), 7);
        let back: serde_json::Value = doc(&item).unwrap();
        assert_eq!(back["a"], 1);
    }

    #[test]
    fn unreadable_items_name_their_key() {
        let mut item = key(&TenantId::from("acme"), "LEARNER#L1");
        item.insert(DOC.into(), s("{not json"));
        let e = doc::<serde_json::Value>(&item).unwrap_err().to_string();
        assert!(e.contains("LEARNER#L1"), "{e}");
        item.insert(VERSION.into(), s("x"));
        assert!(version(&item).is_err());
    }

    #[test]
    fn the_earliest_instant_survives_the_round_trip() {
        let mut item = key(&TenantId::from("acme"), "LEASE");
        item.insert(EXPIRES_AT.into(), time(DateTime::<Utc>::MIN_UTC));
        assert_eq!(
            instant(&item, EXPIRES_AT).unwrap(),
            DateTime::<Utc>::MIN_UTC
        );
    }
}
