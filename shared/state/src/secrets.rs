//! Where a tenant's credentials come from: a local secrets file with environment overrides (the
//! CLI), or AWS Secrets Manager (the Lambdas, in their own crate). Values are
//! [`SecretString`]s: they never reach a log, an error or a `Debug` print.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};

use picsync_domain::TenantId;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// One tenant's credentials.
#[derive(Clone)]
pub struct TenantSecrets {
    pub onefile_customer_token: SecretString,
    pub pics_username: String,
    pub pics_password: SecretString,
}

impl std::fmt::Debug for TenantSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantSecrets")
            .field("onefile_customer_token", &"[redacted]")
            .field("pics_username", &self.pics_username)
            .field("pics_password", &"[redacted]")
            .finish()
    }
}

impl TenantSecrets {
    /// A tenant's secrets from their three values.
    pub fn new(
        onefile_customer_token: impl Into<SecretString>,
        pics_username: impl Into<String>,
        pics_password: impl Into<SecretString>,
    ) -> Self {
        Self {
            onefile_customer_token: onefile_customer_token.into(),
            pics_username: pics_username.into(),
            pics_password: pics_password.into(),
        }
    }

    /// Every secret value, for scanning logs in tests.
    pub fn values(&self) -> Vec<String> {
        vec![
            self.onefile_customer_token.expose_secret().to_string(),
            self.pics_password.expose_secret().to_string(),
        ]
    }
}

/// Why a tenant's secrets cannot be had. Names the tenant and the key, never a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "secret {key:?} of tenant {tenant:?} is missing (set it in {source_name}, or in the environment variable {env})"
    )]
    Missing {
        tenant: String,
        key: &'static str,
        source_name: String,
        env: String,
    },
    #[error("secrets file {path}: {detail}")]
    File { path: String, detail: String },
    /// The tenant's secret in a secret store is absent or unusable (not JSON, a key missing or
    /// empty). `detail` names the key at fault, never a value.
    #[error("secret {secret_id} of tenant {tenant:?}: {detail}")]
    Invalid {
        tenant: String,
        secret_id: String,
        detail: String,
    },
    #[error("secret store: {0}")]
    Backend(String),
}

impl SecretError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SecretError::Backend(_))
    }
}

/// A source of tenant secrets.
pub trait SecretSource: Send + Sync {
    fn get(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<TenantSecrets, SecretError>> + Send;
}

/// The environment variable that overrides one secret: `PICSYNC_<TENANT>_<KEY>`, with the tenant
/// upper-cased and every character other than a letter or digit turned into `_`.
pub fn env_var(tenant: &TenantId, key: &str) -> String {
    let t: String = tenant
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("PICSYNC_{t}_{}", key.to_ascii_uppercase())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    onefile_customer_token: Option<SecretString>,
    pics_username: Option<String>,
    pics_password: Option<SecretString>,
}

/// A TOML file with one table per tenant:
///
/// ```toml
/// [acme]
/// onefile_customer_token = "…"
/// pics_username = "picsync"
/// pics_password = "…"
/// ```
///
/// `PICSYNC_<TENANT>_ONEFILE_CUSTOMER_TOKEN`, `…_PICS_USERNAME` and `…_PICS_PASSWORD` override it;
/// with all three set, the file is not needed at all.
/// Reads one environment variable.
type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

pub struct FileSecrets {
    path: Option<PathBuf>,
    env: EnvLookup,
}

impl FileSecrets {
    pub fn new(path: Option<&Path>) -> Self {
        Self {
            path: path.map(Path::to_path_buf),
            env: Box::new(|k| std::env::var(k).ok()),
        }
    }

    /// With a custom environment (tests).
    pub fn with_env(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            path: path.map(Path::to_path_buf),
            env: Box::new(env),
        }
    }

    fn read_file(&self, tenant: &TenantId) -> Result<FileEntry, SecretError> {
        let Some(path) = &self.path else {
            return Ok(FileEntry::default());
        };
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SecretError::File {
            path: shown.clone(),
            detail: e.to_string(),
        })?;
        // The parse error of a secrets file may quote the offending line: never show it.
        let mut all: BTreeMap<String, FileEntry> = toml::from_str(&text).map_err(|e| SecretError::File {
            path: shown.clone(),
            detail: format!(
                "not valid (expected a [tenant] table with onefile_customer_token, pics_username, pics_password){}",
                e.span().map(|s| format!(" at byte {}", s.start)).unwrap_or_default()
            ),
        })?;
        Ok(all.remove(tenant.as_str()).unwrap_or_default())
    }

    fn source_name(&self) -> String {
        self.path.as_ref().map_or_else(
            || "no secrets file".to_string(),
            |p| p.display().to_string(),
        )
    }
}

impl SecretSource for FileSecrets {
    async fn get(&self, tenant: &TenantId) -> Result<TenantSecrets, SecretError> {
        let env = |k: &str| (self.env)(&env_var(tenant, k)).filter(|v| !v.is_empty());
        let (tok_env, user_env, pass_env) = (
            env("onefile_customer_token"),
            env("pics_username"),
            env("pics_password"),
        );
        let file = if tok_env.is_some() && user_env.is_some() && pass_env.is_some() {
            FileEntry::default()
        } else {
            self.read_file(tenant)?
        };
        let missing = |key: &'static str| SecretError::Missing {
            tenant: tenant.to_string(),
            key,
            source_name: self.source_name(),
            env: env_var(tenant, key),
        };
        let token = tok_env
            .map(SecretString::from)
            .or(file.onefile_customer_token)
            .filter(|s| !s.expose_secret().trim().is_empty())
            .ok_or_else(|| missing("onefile_customer_token"))?;
        let user = user_env
            .or(file.pics_username)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| missing("pics_username"))?;
        let pass = pass_env
            .map(SecretString::from)
            .or(file.pics_password)
            .filter(|s| !s.expose_secret().is_empty())
            .ok_or_else(|| missing("pics_password"))?;
        Ok(TenantSecrets {
            onefile_customer_token: token,
            pics_username: user,
            pics_password: pass,
        })
    }
}
