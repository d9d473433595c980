//! Builds a tenant ready for the engine from what the deployment holds: its settings and
//! connection in the table, its secrets in Secrets Manager, its OneFile pacer from the
//! container's [`Pacers`] (R35). Built tenants are kept per container (their OneFile session
//! and PICS token live on) until the settings change, the secrets' TTL passes, or a 401 calls
//! for fresh secrets ([`Tenants::invalidate`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use picsync_domain::{Settings, TenantId};
use picsync_engine::{EngineError, Tenant};
use picsync_onefile::{OneFileError, Pacers};
use picsync_pics::PicsError;
use picsync_state::TenantStore;
use picsync_state::secrets::SecretSource;

use crate::dynamo::{Connection, DynamoState};
use crate::secrets::SecretsManagerSource;

/// How the API clients are tuned. The defaults are production's; tests scale OneFile's minute
/// down and retry faster.
#[derive(Debug, Clone)]
pub struct ClientTuning {
    /// OneFile's rate window (a minute).
    pub rate_window: Duration,
    /// Retries of both clients (None: their defaults).
    pub retry: Option<picsync_http::RetryPolicy>,
    /// Timeout of one HTTP call (None: the clients' defaults).
    pub timeout: Option<Duration>,
}

impl Default for ClientTuning {
    fn default() -> Self {
        Self {
            rate_window: Duration::from_secs(60),
            retry: None,
            timeout: None,
        }
    }
}

struct Built {
    at: Instant,
    settings: Settings,
    connection: Connection,
    tenant: Tenant,
}

/// The tenants of a container.
pub struct Tenants {
    state: Arc<DynamoState>,
    secrets: Arc<SecretsManagerSource>,
    pacers: Pacers,
    tuning: ClientTuning,
    calls_per_minute_cap: u32,
    ttl: Duration,
    built: Mutex<HashMap<TenantId, Built>>,
}

/// True for the errors that fresh secrets may cure: OneFile or PICS refused the credentials.
pub fn is_auth_error(e: &EngineError) -> bool {
    matches!(
        e,
        EngineError::OneFile(OneFileError::Unauthorised { .. })
            | EngineError::Pics(PicsError::Unauthorized { .. })
    )
}

impl Tenants {
    pub fn new(
        state: Arc<DynamoState>,
        secrets: Arc<SecretsManagerSource>,
        calls_per_minute_cap: u32,
        secrets_ttl: Duration,
        tuning: ClientTuning,
    ) -> Self {
        Self {
            state,
            secrets,
            pacers: Pacers::with_window(tuning.rate_window),
            tuning,
            calls_per_minute_cap,
            ttl: secrets_ttl,
            built: Mutex::default(),
        }
    }

    pub fn state(&self) -> &Arc<DynamoState> {
        &self.state
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, Built>> {
        self.built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The tenant's settings, or a clear error when the table has none (an unknown tenant).
    pub async fn settings(&self, id: &TenantId) -> Result<Settings, EngineError> {
        self.state.get_settings(id).await?.ok_or_else(|| {
            EngineError::Invalid(format!(
                "unknown tenant {id}: table {} holds no settings for it (put them with `picsync-admin tenant put --tenant {id} --file <settings.toml>`)",
                self.state.table()
            ))
        })
    }

    /// The tenant, ready for the engine: settings and connection read from the table now,
    /// clients reused while nothing changed.
    pub async fn load(&self, id: &TenantId) -> Result<Tenant, EngineError> {
        let settings = self.settings(id).await?;
        settings
            .validate()
            .map_err(|e| EngineError::Invalid(format!("tenant {id}: {e}")))?;
        let connection = self.state.get_connection(id).await?.ok_or_else(|| {
            EngineError::Invalid(format!(
                "tenant {id}: table {} holds no connection (pics_url) for it (put it with `picsync-admin tenant put`)",
                self.state.table()
            ))
        })?;
        if let Some(b) = self.lock().get(id)
            && b.at.elapsed() < self.ttl
            && b.settings == settings
            && b.connection == connection
        {
            return Ok(b.tenant.clone());
        }
        let tenant = self.build(id, &settings, &connection).await?;
        self.lock().insert(
            id.clone(),
            Built {
                at: Instant::now(),
                settings,
                connection,
                tenant: tenant.clone(),
            },
        );
        Ok(tenant)
    }

    /// Forgets the tenant's clients and cached secrets (after a 401: the next load fetches the
    /// secret again).
    pub fn invalidate(&self, id: &TenantId) {
        self.lock().remove(id);
        self.secrets.invalidate(id);
    }

    async fn build(
        &self,
        id: &TenantId,
        settings: &Settings,
        connection: &Connection,
    ) -> Result<Tenant, EngineError> {
        let secrets = self.secrets.get(id).await?;
        // R35: the tenant's budget, capped by the deployment's
        let calls = settings
            .onefile_calls_per_minute
            .min(self.calls_per_minute_cap);
        let pacer = self.pacers.get(id.as_str(), calls);
        Tenant::connect(
            id.clone(),
            settings.clone(),
            &connection.pics_url,
            connection.onefile_centre,
            &secrets,
            pacer,
            |pc, oc| {
                oc.rate_window = self.tuning.rate_window;
                if let Some(r) = &self.tuning.retry {
                    pc.retry = r.clone();
                    oc.retry = r.clone();
                }
                if let Some(t) = self.tuning.timeout {
                    pc.timeout = t;
                    oc.timeout = t;
                }
            },
        )
    }
}
