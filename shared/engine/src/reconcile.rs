//! Runs never stick (§7, R39): a run's lease is short and renewed while its tasks report
//! (`heartbeat`), and a reconciler (`reconcile`) closes a run whose lease lapsed as abandoned,
//! counting the tasks that never reported as lost and freeing the lease. It runs at the start
//! of every run, and on a schedule of its own on AWS.

use std::future::Future;

use picsync_domain::TenantId;
use picsync_state::{Lease, LeaseOutcome, RunRecord, RunStatus, State};

use crate::Engine;
use crate::error::{EngineError, Result};

/// Runs looked at by the reconciler (newest first): a stuck run is always among the latest.
const RECENT_RUNS: usize = 20;

impl<S: State> Engine<S> {
    /// Closes the tenant's runs that stopped reporting: a running run whose lease lapsed (or
    /// went to another run), or whose owner is known to be dead (a CLI process killed on this
    /// host), is marked abandoned with its missing tasks lost, and its lease freed. A lease left
    /// held by a finished run is freed too. "Last synchronised" (R36) and the initial run's
    /// completion (R43) stay as they were. Returns the runs it closed.
    pub async fn reconcile(&self, tenant: &TenantId) -> Result<Vec<RunRecord>> {
        let now = self.now();
        let lease = self.state.get_lease(tenant).await?;
        let live = |run_id: &str| {
            lease
                .as_ref()
                .is_some_and(|l| l.run_id == run_id && l.expires_at > now)
        };
        let mut closed = Vec::new();
        let runs = self.state.list_runs(tenant, RECENT_RUNS).await?;
        for run in &runs {
            if run.finished() || run.dry_run {
                continue;
            }
            if live(&run.run_id) && !self.owner_dead(&run.owner) {
                continue;
            }
            if let Some(r) = self.state.abandon_run(tenant, &run.run_id, now).await? {
                tracing::warn!(
                    event = "run_abandoned", tenant = %tenant, run_id = %r.run_id,
                    done = r.done, lost = r.lost, owner = %r.owner,
                    "the run stopped reporting: closed as abandoned, its unreported tasks lost"
                );
                self.state.release_lease(tenant, &r.run_id).await?;
                self.observe_closed(&r);
                closed.push(r);
            }
        }
        // a lease still held by a run that has finished (a late renewal) frees nobody else
        if let Some(l) = &lease
            && l.expires_at > now
            && let Some(r) = self.state.get_run(tenant, &l.run_id).await?
            && r.finished()
        {
            self.state.release_lease(tenant, &l.holder).await?;
        }
        Ok(closed)
    }

    /// Keeps a queued run's lease while its tasks are worked (each worker batch calls it): the
    /// lease is renewed, or taken again if it lapsed while the run still runs. False when the
    /// run is over (finished or abandoned) or another run holds the tenant.
    pub async fn heartbeat(&self, tenant: &TenantId, run_id: &str) -> Result<bool> {
        match self.state.get_run(tenant, run_id).await? {
            Some(r) if !r.finished() => {}
            _ => return Ok(false),
        }
        let now = self.now();
        let held = self
            .state
            .renew_lease(tenant, run_id, now, self.lease_ttl)
            .await?
            || matches!(
                self.state
                    .acquire_lease(tenant, run_id, run_id, now, self.lease_ttl)
                    .await?,
                LeaseOutcome::Acquired
            );
        // the run's last task may have finished it (and freed the lease) meanwhile: a renewal
        // must not bring the lease of a finished run back
        if held
            && self
                .state
                .get_run(tenant, run_id)
                .await?
                .is_none_or(|r| r.finished())
        {
            self.state.release_lease(tenant, run_id).await?;
            return Ok(false);
        }
        Ok(held)
    }

    /// A task of a run that is no longer running (abandoned by the reconciler) is dropped: its
    /// outcome could not be counted, and the next run syncs the learner.
    pub(crate) async fn check_run_open(&self, tenant: &TenantId, run_id: &str) -> Result<()> {
        match self.state.get_run(tenant, run_id).await? {
            Some(r) if r.status == RunStatus::Abandoned => {
                Err(EngineError::RunClosed(run_id.to_string()))
            }
            _ => Ok(()),
        }
    }

    /// R35 and R39 for by-hand operations (enrol, link, refresh qualification links): they take
    /// the tenant's lease for their duration, so that they never overlap a run (one OneFile
    /// budget per tenant, whatever process runs them) and a run never starts under them. A dry
    /// run may not write the lease (R38): it is refused while anything holds it instead.
    pub(crate) async fn under_lease<T>(
        &self,
        tenant: &TenantId,
        what: &str,
        dry_run: bool,
        op: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        if dry_run {
            self.refuse_while_leased(tenant).await?;
            return op.await;
        }
        self.reconcile(tenant).await?;
        let holder = format!("{what}-{:08x}", fastrand::u32(..));
        let now = self.now();
        if let LeaseOutcome::Held(l) = self
            .state
            .acquire_lease(tenant, &holder, &holder, now, self.lease_ttl)
            .await?
        {
            return Err(busy(tenant, l));
        }
        let out = self.renewing(tenant, &holder, op).await;
        if let Err(e) = self.state.release_lease(tenant, &holder).await {
            tracing::warn!(tenant = %tenant, error = %e, "could not free the lease after {what}: it lapses by itself");
        }
        out
    }

    /// Runs `op` while renewing `holder`'s lease every third of its lifetime, so that a long
    /// operation (or a run's preparation) never lets it lapse under itself (R39). A renewal
    /// that fails is logged; the operation goes on (it cannot be stopped half-way safely).
    pub(crate) async fn renewing<T>(
        &self,
        tenant: &TenantId,
        holder: &str,
        op: impl Future<Output = T>,
    ) -> T {
        let every = (self.lease_ttl / 3)
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(30))
            .max(std::time::Duration::from_secs(1));
        // on the heap: a run's preparation is a large future, and debug builds poll it deep
        let mut op = Box::pin(op);
        loop {
            tokio::select! {
                out = &mut op => return out,
                () = tokio::time::sleep(every) => {
                    match self.state.renew_lease(tenant, holder, self.now(), self.lease_ttl).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(tenant = %tenant, holder, "the lease was lost while working under it"),
                        Err(e) => tracing::warn!(tenant = %tenant, holder, error = %e, "could not renew the lease"),
                    }
                }
            }
        }
    }

    /// A dry run (R38) waits for nothing and writes no lease: while a run or an operation holds
    /// the tenant's lease it is refused (Busy), making no OneFile call, so the tenant's budget
    /// stays the run's (R35).
    pub(crate) async fn refuse_while_leased(&self, tenant: &TenantId) -> Result<()> {
        match self.state.get_lease(tenant).await? {
            Some(l) if l.expires_at > self.now() => Err(busy(tenant, l)),
            _ => Ok(()),
        }
    }

    /// True when `owner` names a process known to be dead (see [`Engine::with_owner`]).
    pub(crate) fn owner_dead(&self, owner: &str) -> bool {
        !owner.is_empty() && owner != self.owner && (self.owner_dead)(owner)
    }
}

/// R39: the tenant is busy with the lease's holder.
fn busy(tenant: &TenantId, l: Lease) -> EngineError {
    EngineError::Busy {
        tenant: tenant.to_string(),
        run_id: l.run_id,
        holder: l.holder,
        until: l.expires_at.to_rfc3339(),
    }
}
