//! Tenant secrets from AWS Secrets Manager: one secret per tenant, named `<prefix><tenant>`
//! (`picsync/acme` by default), holding JSON
//! `{"onefile_customer_token": "…", "pics_username": "…", "pics_password": "…"}`.
//!
//! Fetched once per container and cached for a TTL; [`SecretsManagerSource::invalidate`] drops
//! a tenant's entry so that the next use fetches it again (after a 401: the token was rotated).
//! Errors name the tenant, the secret and the key at fault, never a value.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use picsync_domain::TenantId;
use picsync_state::secrets::{SecretError, SecretSource, TenantSecrets};
use secrecy::SecretString;

/// The default secret name prefix (the SAM template limits access to `secret:picsync/*`).
pub const DEFAULT_PREFIX: &str = "picsync/";
/// The default time a fetched secret is used before it is fetched again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);

const KEYS: [&str; 3] = ["onefile_customer_token", "pics_username", "pics_password"];

/// Tenant secrets from Secrets Manager, cached per container.
pub struct SecretsManagerSource {
    client: Client,
    prefix: String,
    ttl: Duration,
    cache: Mutex<HashMap<TenantId, (Instant, TenantSecrets)>>,
    fetches: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for SecretsManagerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManagerSource")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SecretsManagerSource {
    pub fn new(client: Client, prefix: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            prefix: prefix.into(),
            ttl,
            cache: Mutex::default(),
            fetches: Default::default(),
        }
    }

    /// The secret's name for a tenant.
    pub fn secret_id(&self, tenant: &TenantId) -> String {
        format!("{}{tenant}", self.prefix)
    }

    /// Forgets the tenant's cached secrets: the next [`SecretSource::get`] fetches them again.
    pub fn invalidate(&self, tenant: &TenantId) {
        self.lock().remove(tenant);
    }

    /// Fetches made from Secrets Manager so far (cache misses).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, (Instant, TenantSecrets)>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn fetch(&self, tenant: &TenantId) -> Result<TenantSecrets, SecretError> {
        let id = self.secret_id(tenant);
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let invalid = |detail: String| SecretError::Invalid {
            tenant: tenant.to_string(),
            secret_id: id.clone(),
            detail,
        };
        let out = match self.client.get_secret_value().secret_id(&id).send().await {
            Ok(out) => out,
            Err(e) => {
                return Err(match e.as_service_error() {
                    Some(GetSecretValueError::ResourceNotFoundException(_)) => invalid(
                        "does not exist in AWS Secrets Manager: create it with the JSON keys onefile_customer_token, pics_username, pics_password".into(),
                    ),
                    Some(GetSecretValueError::InvalidRequestException(_)) => invalid(
                        "cannot be read now (deleted, or scheduled for deletion)".into(),
                    ),
                    // the SDK's message names the call and the AWS error code, never the value
                    _ => SecretError::Backend(format!(
                        "AWS Secrets Manager, secret {id} of tenant {tenant:?}: {}",
                        DisplayErrorContext(&e)
                    )),
                });
            }
        };
        let text = out
            .secret_string()
            .ok_or_else(|| invalid("holds no SecretString (binary secrets are not read)".into()))?;
        parse(text).map_err(invalid)
    }
}

/// Reads the secret's JSON. The error names a key or a position, never a value (a serde error
/// message may quote one, so none is passed on).
fn parse(text: &str) -> Result<TenantSecrets, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "is not JSON (line {}, column {}): expected {{\"onefile_customer_token\", \"pics_username\", \"pics_password\"}}",
            e.line(),
            e.column()
        )
    })?;
    let serde_json::Value::Object(mut map) = value else {
        return Err(
            "is not a JSON object: expected {\"onefile_customer_token\", \"pics_username\", \"pics_password\"}"
                .into(),
        );
    };
    if let Some(unknown) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!(
            "has an unknown key {unknown:?} (expected onefile_customer_token, pics_username, pics_password)"
        ));
    }
    let mut take = |key: &str| match map.remove(key) {
        Some(serde_json::Value::String(v)) if !v.trim().is_empty() => Ok(v),
        Some(serde_json::Value::String(_)) => Err(format!("has an empty {key:?}")),
        Some(_) => Err(format!("has {key:?} that is not a string")),
        None => Err(format!("has no {key:?}")),
    };
    Ok(TenantSecrets {
        onefile_customer_token: SecretString::from(take("onefile_customer_token")?),
        pics_username: take("pics_username")?.trim().to_string(),
        pics_password: SecretString::from(take("pics_password")?),
    })
}

impl SecretSource for SecretsManagerSource {
    async fn get(&self, tenant: &TenantId) -> Result<TenantSecrets, SecretError> {
        if let Some((at, s)) = self.lock().get(tenant)
            && at.elapsed() < self.ttl
        {
            return Ok(s.clone());
        }
        let fresh = self.fetch(tenant).await?;
        self.lock()
            .insert(tenant.clone(), (Instant::now(), fresh.clone()));
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_well_formed_secret_parses() {
        let s = parse(
            r#"{"onefile_customer_token":"tok-1","pics_username":" api ","pics_password":"pw-1"}"#,
        )
        .unwrap();
        assert_eq!(s.onefile_customer_token.expose_secret(), "tok-1");
        assert_eq!(s.pics_username, "api");
        assert_eq!(s.pics_password.expose_secret(), "pw-1");
    }

    #[test]
    fn errors_name_the_key_never_the_value() {
        let cases = [
            (
                r#"{"pics_username":"u","pics_password":"hunter2"}"#,
                "onefile_customer_token",
            ),
            (
                r#"{"onefile_customer_token":"hunter2","pics_username":"u","pics_password":""}"#,
                "empty \"pics_password\"",
            ),
            (
                r#"{"onefile_customer_token":"hunter2","pics_username":7,"pics_password":"p"}"#,
                "not a string",
            ),
            (
                r#"{"onefile_customer_token":"hunter2","pics_username":"u","pics_password":"p","token":"x"}"#,
                "unknown key \"token\"",
            ),
            (r#"{"onefile_customer_token":"hunter2"#, "not JSON"),
            (r#""hunter2""#, "not a JSON object"),
        ];
        for (text, expected) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.contains(expected), "{e}");
            assert!(!e.contains("hunter2"), "a value leaked: {e}");
        }
    }
}
