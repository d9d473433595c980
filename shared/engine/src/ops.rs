//! The smaller operations: connection test (6), refresh of qualification links (5, R34), link
//! (2, R14), and the reads behind `status` and `audit`.

use picsync_domain::*;
use picsync_pics::LearnerQuery;
use picsync_state::{AuditEntry, LearnerState, RunRecord, State, TenantState};
use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::learner::RunCtx;
use crate::{Engine, Tenant, mapping};

/// What the connection test found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub tenant: String,
    pub environment: String,
    pub onefile_base_url: String,
    pub customer_id: OfCustomerId,
    pub customer_name: Option<String>,
    pub centres: Vec<(OfCentreId, Option<String>)>,
    pub pics_linked_learners: usize,
    pub integration_enabled: bool,
}

impl<S: State> Engine<S> {
    /// Operation 6: authenticate to both systems and read the customer record. Writes nothing.
    ///
    /// **Decision** (R1): the connection test runs whether or not the integration is enabled:
    /// it only reads, and testing the connection is what an operator does before enabling.
    /// Every other operation refuses a disabled tenant before any OneFile call.
    pub async fn check(&self, t: &Tenant) -> Result<CheckReport> {
        let customer = t.onefile.customer().await?;
        let centres = t.onefile.centres(customer.id).await?;
        let linked = t
            .pics
            .list_learners(&LearnerQuery {
                one_file_linked: Some(true),
                modified_since: None,
            })
            .await?;
        Ok(CheckReport {
            tenant: t.id.to_string(),
            environment: t.settings.environment.name().to_string(),
            onefile_base_url: t.settings.environment.base_url().to_string(),
            customer_id: customer.id,
            customer_name: customer.name,
            centres: centres.into_iter().map(|c| (c.id, c.name)).collect(),
            pics_linked_learners: linked.len(),
            integration_enabled: t.settings.integration_enabled,
        })
    }

    /// Operation 5 (R34): reloads OneFile's learning aims; "last synchronised" does not move.
    /// Returns the number of learning aims known.
    pub async fn refresh_aims(&self, t: &Tenant, dry_run: bool) -> Result<usize> {
        // R1: nothing calls OneFile for a disabled tenant (R43: the refusal is recorded)
        self.require_enabled(t, dry_run).await?;
        // R35: under the tenant's lease, never beside a run
        self.under_lease(
            &t.id,
            "refresh_aims",
            dry_run,
            self.refresh_aims_leased(t, dry_run),
        )
        .await
    }

    async fn refresh_aims_leased(&self, t: &Tenant, dry_run: bool) -> Result<usize> {
        let centre = self.centre(t).await?;
        let catalogue = self.load_catalogue(t, centre).await?;
        let n = catalogue.entries.len();
        if !dry_run {
            // B10: only the catalogue's fields, re-applied on a fresh read after a lost race
            let now = self.now();
            self.update_tenant(&t.id, |ts| {
                ts.centre = Some(centre);
                ts.catalogue = catalogue.clone();
                ts.catalogue_refreshed = Some(now);
                true
            })
            .await?;
        }
        Ok(n)
    }

    /// Operation 2 (R14): links a PICS learner to an existing OneFile learner, creating nothing.
    pub async fn link(
        &self,
        t: &Tenant,
        learner: &LearnerId,
        onefile: OfUserId,
        dry_run: bool,
    ) -> Result<String> {
        self.require_enabled(t, dry_run).await?;
        // R35: under the tenant's lease, never beside a run
        self.under_lease(
            &t.id,
            "link",
            dry_run,
            self.link_leased(t, learner, onefile, dry_run),
        )
        .await
    }

    async fn link_leased(
        &self,
        t: &Tenant,
        learner: &LearnerId,
        onefile: OfUserId,
        dry_run: bool,
    ) -> Result<String> {
        let pl = match t.pics.get_learner(learner).await {
            Ok(l) => mapping::pics_learner(&l),
            Err(picsync_pics::PicsError::NotFound { .. }) => {
                return Err(EngineError::Invalid(format!(
                    "PICS has no learner {learner}"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let user = match t.onefile.get_user(onefile).await {
            Ok(u) => u,
            Err(picsync_onefile::OneFileError::NotFound { .. }) => {
                return Err(EngineError::Invalid(format!(
                    "OneFile has no user {onefile}"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        if user
            .role
            .is_some_and(|r| r != picsync_onefile::role::LEARNER)
        {
            return Err(EngineError::Invalid(format!(
                "OneFile user {onefile} is not a learner (role {:?})",
                user.role
            )));
        }
        match pl.onefile_id {
            Some(id) if id == onefile => {
                return Ok(format!(
                    "learner {} is linked to OneFile learner {onefile} already",
                    pl.ident
                ));
            }
            Some(id) => {
                return Err(EngineError::Invalid(format!(
                    "learner {} is linked to OneFile learner {id}; unlink it in PICS first",
                    pl.ident
                )));
            }
            None => {}
        }
        let others = t
            .pics
            .list_learners(&LearnerQuery {
                one_file_linked: Some(true),
                modified_since: None,
            })
            .await?;
        if let Some(o) = others.iter().find(|s| s.one_file_id == Some(onefile)) {
            return Err(EngineError::Invalid(format!(
                "OneFile learner {onefile} is linked to PICS learner {} already",
                o.ident
            )));
        }
        if dry_run {
            return Ok(format!(
                "would link learner {} to OneFile learner {onefile} (R14)",
                pl.ident
            ));
        }
        let ts = self.prepare_tenant(t, false).await?;
        let centre = ts.centre.unwrap_or_default();
        let ctx = RunCtx::new(
            t,
            centre,
            ts.catalogue,
            Mode::Periodic,
            format!("link-{learner}"),
            false,
        );
        self.link_learner(&ctx, &pl, onefile, Rule::R14, &mut pl.row_version.clone())
            .await?;
        Ok(format!(
            "linked learner {} to OneFile learner {onefile} (R14)",
            pl.ident
        ))
    }

    pub async fn runs(&self, tenant: &TenantId, limit: usize) -> Result<Vec<RunRecord>> {
        Ok(self.state.list_runs(tenant, limit).await?)
    }

    pub async fn tenant_state(&self, tenant: &TenantId) -> Result<Option<TenantState>> {
        Ok(self.state.get_tenant(tenant).await?)
    }

    pub async fn learner_states(&self, tenant: &TenantId) -> Result<Vec<LearnerState>> {
        Ok(self.state.list_learner_states(tenant).await?)
    }

    pub async fn audit_trail(
        &self,
        tenant: &TenantId,
        learner: &LearnerId,
    ) -> Result<Vec<AuditEntry>> {
        Ok(self.state.list_audit(tenant, learner).await?)
    }
}
