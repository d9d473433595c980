//! The embedded state backend: one redb table of JSON records under a data directory (or in
//! memory). Each conditional operation runs inside one write transaction, so concurrent tasks
//! in the process see the same atomicity as DynamoDB's condition expressions give the Lambdas.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use picsync_domain::{LearnerId, Settings, TenantId};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::keys;
use crate::*;

const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("picsync");

/// Embedded state: cheap to clone, shared by every task of the process.
#[derive(Clone)]
pub struct EmbeddedState {
    db: Arc<Database>,
    seq: Arc<AtomicU64>,
}

impl std::fmt::Debug for EmbeddedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmbeddedState")
    }
}

fn backend(e: impl std::fmt::Display) -> StateError {
    StateError::Backend(e.to_string())
}

fn key(t: &TenantId, sk: &str) -> String {
    format!("{}|{sk}", keys::partition(t))
}

fn decode<T: DeserializeOwned>(k: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt {
        key: k.to_string(),
        detail: e.to_string(),
    })
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(backend)
}

impl EmbeddedState {
    /// Opens (or creates) `dir/picsync.redb`. The directory is created if absent.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join("picsync.redb");
        let db = Database::create(&path)
            .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
        Self::init(db)
    }

    /// A state that lives in memory only (tests, `picsync demo`).
    pub fn in_memory() -> Result<Self> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(backend)?;
        Self::init(db)
    }

    fn init(db: Database) -> Result<Self> {
        let w = db.begin_write().map_err(backend)?;
        w.open_table(KV).map_err(backend)?;
        w.commit().map_err(backend)?;
        Ok(Self {
            db: Arc::new(db),
            seq: Arc::new(AtomicU64::new(0)),
        })
    }

    fn get<T: DeserializeOwned>(&self, k: &str) -> Result<Option<T>> {
        let r = self.db.begin_read().map_err(backend)?;
        let t = r.open_table(KV).map_err(backend)?;
        match t.get(k).map_err(backend)? {
            Some(v) => decode(k, v.value()).map(Some),
            None => Ok(None),
        }
    }

    fn put<T: Serialize>(&self, k: &str, v: &T) -> Result<()> {
        let bytes = encode(v)?;
        let w = self.db.begin_write().map_err(backend)?;
        {
            let mut t = w.open_table(KV).map_err(backend)?;
            t.insert(k, bytes.as_slice()).map_err(backend)?;
        }
        w.commit().map_err(backend)
    }

    fn scan<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>> {
        let r = self.db.begin_read().map_err(backend)?;
        let t = r.open_table(KV).map_err(backend)?;
        let mut out = Vec::new();
        for item in t.range(prefix..).map_err(backend)? {
            let (k, v) = item.map_err(backend)?;
            if !k.value().starts_with(prefix) {
                break;
            }
            out.push(decode(k.value(), v.value())?);
        }
        Ok(out)
    }

    /// Reads a record, lets `f` decide the new value (or none), writes it, in one transaction.
    fn update<T, R>(
        &self,
        k: &str,
        f: impl FnOnce(Option<T>) -> Result<(Option<T>, R)>,
    ) -> Result<R>
    where
        T: Serialize + DeserializeOwned,
    {
        let w = self.db.begin_write().map_err(backend)?;
        let out = {
            let mut t = w.open_table(KV).map_err(backend)?;
            let current: Option<T> = match t.get(k).map_err(backend)? {
                Some(v) => Some(decode(k, v.value())?),
                None => None,
            };
            let (next, out) = f(current)?;
            if let Some(n) = next {
                let bytes = encode(&n)?;
                t.insert(k, bytes.as_slice()).map_err(backend)?;
            }
            out
        };
        w.commit().map_err(backend)?;
        Ok(out)
    }
}

impl TenantStore for EmbeddedState {
    async fn get_tenant(&self, tenant: &TenantId) -> Result<Option<TenantState>> {
        self.get(&key(tenant, keys::TENANT))
    }

    async fn put_tenant(&self, state: &TenantState) -> Result<()> {
        self.update(
            &key(&state.tenant, keys::TENANT),
            |cur: Option<TenantState>| {
                let stored = cur.as_ref().map_or(0, |c| c.version);
                if stored != state.version {
                    return Err(StateError::Conflict(format!(
                        "tenant {} state moved on (version {stored}, expected {})",
                        state.tenant, state.version
                    )));
                }
                let mut next = state.clone();
                next.version = stored + 1;
                Ok((Some(next), ()))
            },
        )
    }

    async fn get_settings(&self, tenant: &TenantId) -> Result<Option<Settings>> {
        self.get(&key(tenant, keys::SETTINGS))
    }

    async fn put_settings(&self, tenant: &TenantId, settings: &Settings) -> Result<()> {
        self.put(&key(tenant, keys::SETTINGS), settings)
    }
}

impl LeaseStore for EmbeddedState {
    async fn acquire_lease(
        &self,
        tenant: &TenantId,
        holder: &str,
        run_id: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> Result<LeaseOutcome> {
        self.update(&key(tenant, keys::LEASE), |cur: Option<Lease>| {
            if rules::lease_free(cur.as_ref(), holder, now) {
                let l = Lease {
                    holder: holder.to_string(),
                    run_id: run_id.to_string(),
                    expires_at: now + ttl,
                };
                Ok((Some(l), LeaseOutcome::Acquired))
            } else {
                let held = cur.ok_or_else(|| backend("lease vanished"))?;
                Ok((None, LeaseOutcome::Held(held)))
            }
        })
    }

    async fn renew_lease(
        &self,
        tenant: &TenantId,
        holder: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> Result<bool> {
        self.update(&key(tenant, keys::LEASE), |cur: Option<Lease>| match cur {
            Some(mut l) if l.holder == holder => {
                l.expires_at = now + ttl;
                Ok((Some(l), true))
            }
            _ => Ok((None, false)),
        })
    }

    async fn release_lease(&self, tenant: &TenantId, holder: &str) -> Result<()> {
        self.update(&key(tenant, keys::LEASE), |cur: Option<Lease>| match cur {
            // Released by expiring it now: the record stays, the condition decides.
            Some(mut l) if l.holder == holder => {
                l.expires_at = DateTime::<Utc>::MIN_UTC;
                Ok((Some(l), ()))
            }
            _ => Ok((None, ())),
        })
    }

    async fn get_lease(&self, tenant: &TenantId) -> Result<Option<Lease>> {
        self.get(&key(tenant, keys::LEASE))
    }
}

impl RunStore for EmbeddedState {
    async fn put_run(&self, run: &RunRecord) -> Result<()> {
        self.put(&key(&run.tenant, &keys::run(&run.run_id)), run)
    }

    async fn get_run(&self, tenant: &TenantId, run_id: &str) -> Result<Option<RunRecord>> {
        self.get(&key(tenant, &keys::run(run_id)))
    }

    async fn list_runs(&self, tenant: &TenantId, limit: usize) -> Result<Vec<RunRecord>> {
        let mut runs: Vec<RunRecord> = self.scan(&key(tenant, "RUN#"))?;
        runs.sort_by(|a, b| {
            b.started_at
                .cmp(&a.started_at)
                .then_with(|| b.run_id.cmp(&a.run_id))
        });
        runs.truncate(limit);
        Ok(runs)
    }

    async fn abandon_run(
        &self,
        tenant: &TenantId,
        run_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>> {
        self.update(
            &key(tenant, &keys::run(run_id)),
            |cur: Option<RunRecord>| {
                let Some(mut run) = cur else {
                    return Ok((None, None));
                };
                if rules::abandon(&mut run, now) {
                    Ok((Some(run.clone()), Some(run)))
                } else {
                    Ok((None, None))
                }
            },
        )
    }

    async fn add_outcome(
        &self,
        tenant: &TenantId,
        run_id: &str,
        o: &LearnerOutcome,
        now: DateTime<Utc>,
    ) -> Result<RunRecord> {
        let run_key = key(tenant, &keys::run(run_id));
        let mark_key = key(tenant, &keys::run_outcome(run_id, &o.learner));
        let w = self.db.begin_write().map_err(backend)?;
        let run = {
            let mut t = w.open_table(KV).map_err(backend)?;
            let mut run: RunRecord = match t.get(run_key.as_str()).map_err(backend)? {
                Some(v) => decode(&run_key, v.value())?,
                None => {
                    return Err(StateError::Conflict(format!(
                        "run {run_id} of tenant {tenant} does not exist"
                    )));
                }
            };
            let counted = t.get(mark_key.as_str()).map_err(backend)?.is_some();
            if !counted {
                rules::add_outcome(&mut run, o, now);
                let bytes = encode(&run)?;
                t.insert(run_key.as_str(), bytes.as_slice())
                    .map_err(backend)?;
                t.insert(mark_key.as_str(), b"1".as_slice())
                    .map_err(backend)?;
            }
            run
        };
        w.commit().map_err(backend)?;
        Ok(run)
    }
}

impl LearnerStore for EmbeddedState {
    async fn get_learner_state(
        &self,
        tenant: &TenantId,
        learner: &LearnerId,
    ) -> Result<Option<LearnerState>> {
        self.get(&key(tenant, &keys::learner(learner)))
    }

    async fn put_learner_state(&self, tenant: &TenantId, state: &LearnerState) -> Result<u64> {
        self.update(
            &key(tenant, &keys::learner(&state.learner)),
            |cur: Option<LearnerState>| {
                let stored = cur.map_or(0, |c| c.version);
                if stored != state.version {
                    return Err(StateError::Conflict(format!(
                        "learner {} state moved on (version {stored}, expected {})",
                        state.learner, state.version
                    )));
                }
                let mut next = state.clone();
                next.version = stored + 1;
                let v = next.version;
                Ok((Some(next), v))
            },
        )
    }

    async fn list_learner_states(&self, tenant: &TenantId) -> Result<Vec<LearnerState>> {
        self.scan(&key(tenant, "LEARNER#"))
    }
}

impl IntentStore for EmbeddedState {
    async fn claim_intent(&self, tenant: &TenantId, claim: &IntentClaim<'_>) -> Result<Claim> {
        self.update(
            &key(tenant, &keys::intent(claim.key)),
            |cur: Option<Intent>| {
                let (outcome, next) = rules::claim(cur.as_ref(), claim);
                Ok((next, outcome))
            },
        )
    }

    async fn complete_intent(
        &self,
        tenant: &TenantId,
        k: &str,
        holder: &str,
        id: i64,
    ) -> Result<()> {
        self.update(&key(tenant, &keys::intent(k)), |cur: Option<Intent>| {
            Ok((rules::complete(cur.as_ref(), k, holder, id)?, ()))
        })
    }

    async fn retire_intent(&self, tenant: &TenantId, k: &str, id: i64) -> Result<bool> {
        let ik = key(tenant, &keys::intent(k));
        let w = self.db.begin_write().map_err(backend)?;
        let retired = {
            let mut t = w.open_table(KV).map_err(backend)?;
            let current: Option<Intent> = match t.get(ik.as_str()).map_err(backend)? {
                Some(v) => Some(decode(&ik, v.value())?),
                None => None,
            };
            let done_with_id = current.is_some_and(|i| i.created_id == Some(id));
            if done_with_id {
                t.remove(ik.as_str()).map_err(backend)?;
            }
            done_with_id
        };
        w.commit().map_err(backend)?;
        Ok(retired)
    }

    async fn list_intents_with_prefix(
        &self,
        tenant: &TenantId,
        prefix: &str,
    ) -> Result<Vec<Intent>> {
        self.scan(&key(tenant, &keys::intent(prefix)))
    }

    async fn get_intent(&self, tenant: &TenantId, k: &str) -> Result<Option<Intent>> {
        self.get(&key(tenant, &keys::intent(k)))
    }

    async fn list_intents(&self, tenant: &TenantId, pending_only: bool) -> Result<Vec<Intent>> {
        let all: Vec<Intent> = self.scan(&key(tenant, "INTENT#"))?;
        Ok(all
            .into_iter()
            .filter(|i| !pending_only || i.created_id.is_none())
            .collect())
    }
}

impl AuditStore for EmbeddedState {
    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let w = self.db.begin_write().map_err(backend)?;
        {
            let mut t = w.open_table(KV).map_err(backend)?;
            for e in entries {
                let seq = self.seq.fetch_add(1, Ordering::Relaxed);
                let k = key(
                    &e.tenant,
                    &keys::audit(&e.learner, e.at.timestamp_micros(), seq),
                );
                let bytes = encode(e)?;
                t.insert(k.as_str(), bytes.as_slice()).map_err(backend)?;
            }
        }
        w.commit().map_err(backend)
    }

    async fn list_audit(&self, tenant: &TenantId, learner: &LearnerId) -> Result<Vec<AuditEntry>> {
        self.scan(&key(tenant, &keys::audit_prefix(learner)))
    }
}
