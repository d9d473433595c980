//! §7 audit of OneFile creations: every record picsync creates in OneFile (learner,
//! assessor, placement, classroom, learning aim, visit, review) and every assessor assignment
//! gets its own audit entry (system, record kind and id, rule), written inside the create step.

use picsync_domain::{LearnerId, OneFileId, Rule, Value};
use picsync_state::State;

use crate::Engine;
use crate::error::Result;
use crate::learner::RunCtx;
use crate::writer::{Audited, Creation};

/// What the audit entry of one OneFile creation says besides the new id.
#[derive(Debug, Clone)]
pub(crate) struct CreateAudit {
    /// The record written; `None`: "<kind> <new id>", e.g. "classroom 1181".
    pub entity: Option<String>,
    /// What was done, e.g. "created for officer off-6".
    pub field: String,
    pub rule: Rule,
}

impl CreateAudit {
    pub(crate) fn new(field: impl Into<String>, rule: Rule) -> Self {
        Self {
            entity: None,
            field: field.into(),
            rule,
        }
    }
}

impl<S: State> Engine<S> {
    /// [`Engine::create_once_verified`] with the creation's audit entry (§7).
    ///
    /// The entry is written in the create step itself, after OneFile answered and before the
    /// intent is completed: a crash after the create and before the entry leaves the intent
    /// resumable, and the resumed attempt, finding the record by its search, writes the entry
    /// then. A crash after the entry and before the completion writes it a second time. So an
    /// entry can be duplicated but never lost. (A create whose search cannot find the record,
    /// such as an assignment, is repeated on resume, and audited again with it.)
    pub(crate) async fn create_once_audited<I, Fe, Fs, Fc>(
        &self,
        ctx: &RunCtx<'_>,
        what: &Creation<'_>,
        audit: CreateAudit,
        exists: impl FnOnce(I) -> Fe,
        search: impl FnOnce() -> Fs,
        create: impl FnOnce() -> Fc,
    ) -> Result<I>
    where
        I: OneFileId,
        Fe: std::future::Future<Output = Result<bool>>,
        Fs: std::future::Future<Output = Result<Option<I>>>,
        Fc: std::future::Future<Output = Result<I>>,
    {
        let audit = &audit;
        let (learner, kind) = (what.learner, what.kind);
        self.create_once_verified(
            ctx,
            what,
            exists,
            || async move {
                let found = search().await?;
                if let Some(id) = found {
                    // an earlier attempt created it and may have died before its entry
                    self.audit_created(ctx, learner, kind, audit, id).await?;
                }
                Ok(found)
            },
            || async move {
                let id = create().await?;
                self.audit_created(ctx, learner, kind, audit, id).await?;
                Ok(id)
            },
        )
        .await
    }

    async fn audit_created(
        &self,
        ctx: &RunCtx<'_>,
        learner: &LearnerId,
        kind: &str,
        audit: &CreateAudit,
        id: impl OneFileId,
    ) -> Result<()> {
        let entity = audit
            .entity
            .clone()
            .unwrap_or_else(|| format!("{kind} {id}"));
        self.audit(
            ctx,
            learner,
            Audited {
                system: "OneFile",
                entity,
                field: &audit.field,
                old: &Value::Blank,
                new: &id.into(),
                rule: audit.rule,
            },
        )
        .await?;
        Ok(())
    }
}
