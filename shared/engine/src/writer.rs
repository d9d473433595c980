//! Applies a plan to the real systems: PICS writes first, each conditional on the RowVersion
//! read (R41); then OneFile writes, every create through an intent (§7); an audit entry
//! for every change written.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use picsync_domain::plan::{
    NameField, OneFileOp, PicsOp, Plan, QualField, ReviewField, ReviewUpload,
};
use picsync_domain::*;
use picsync_onefile as of;
use picsync_pics as pics;
use picsync_state::{AuditEntry, Claim, IntentClaim, State};

use crate::created::CreateAudit;
use crate::error::{EngineError, Result};
use crate::learner::RunCtx;
use crate::{Engine, mapping};

/// One change an audit entry records: `field` of `entity` in `system`, from `old` to `new`,
/// by `rule`.
pub(crate) struct Audited<'a> {
    pub(crate) system: &'a str,
    pub(crate) entity: String,
    pub(crate) field: &'a str,
    pub(crate) old: &'a Value,
    pub(crate) new: &'a Value,
    pub(crate) rule: Rule,
}

/// Where a create stands after its intent was claimed.
enum Resume {
    Fresh,
    Resumed,
}

impl<S: State> Engine<S> {
    pub(crate) fn audit_entry(
        &self,
        ctx: &RunCtx<'_>,
        learner: &LearnerId,
        change: Audited<'_>,
    ) -> AuditEntry {
        AuditEntry {
            tenant: ctx.tenant.id.clone(),
            learner: learner.clone(),
            run_id: ctx.run_id.clone(),
            at: self.now(),
            system: change.system.to_string(),
            entity: change.entity,
            field: change.field.to_string(),
            old: change.old.clone(),
            new: change.new.clone(),
            rule: change.rule,
        }
    }

    /// Claims the intent to create `key`; `Done` gives the id created before.
    async fn claim(
        &self,
        ctx: &RunCtx<'_>,
        key: &str,
        learner: Option<&LearnerId>,
        kind: &str,
    ) -> Result<std::result::Result<i64, Resume>> {
        match self
            .state
            .claim_intent(
                &ctx.tenant.id,
                &IntentClaim {
                    key,
                    learner,
                    kind,
                    holder: &self.holder,
                    now: self.now(),
                    ttl: self.claim_ttl(ctx.tenant),
                },
            )
            .await?
        {
            Claim::Done { id } => Ok(Ok(id)),
            Claim::Fresh => Ok(Err(Resume::Fresh)),
            Claim::Resumed { .. } => Ok(Err(Resume::Resumed)),
            Claim::Busy { until, .. } => Err(EngineError::IntentBusy {
                key: key.to_string(),
                until: until.to_rfc3339(),
            }),
        }
    }

    /// §7 in one place: claim the intent to create `key`; reuse the id of an earlier
    /// creation; after an attempt that stopped part-way, search OneFile before creating again;
    /// record the new id.
    pub(crate) async fn create_once<Fs, Fc>(
        &self,
        ctx: &RunCtx<'_>,
        key: &str,
        learner: &LearnerId,
        kind: &str,
        search: impl FnOnce() -> Fs,
        create: impl FnOnce() -> Fc,
    ) -> Result<i64>
    where
        Fs: std::future::Future<Output = Result<Option<i64>>>,
        Fc: std::future::Future<Output = Result<i64>>,
    {
        self.create_once_verified(
            ctx,
            key,
            learner,
            kind,
            |_| async { Ok(true) },
            search,
            create,
        )
        .await
    }

    /// [`Engine::create_once`] for a record someone may delete in OneFile (B5): the id of an
    /// earlier creation is reused only while `exists(id)` says the record is still there; when
    /// it is gone the intent is retired and the record created again.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn create_once_verified<Fe, Fs, Fc>(
        &self,
        ctx: &RunCtx<'_>,
        key: &str,
        learner: &LearnerId,
        kind: &str,
        exists: impl FnOnce(i64) -> Fe,
        search: impl FnOnce() -> Fs,
        create: impl FnOnce() -> Fc,
    ) -> Result<i64>
    where
        Fe: std::future::Future<Output = Result<bool>>,
        Fs: std::future::Future<Output = Result<Option<i64>>>,
        Fc: std::future::Future<Output = Result<i64>>,
    {
        let resume = match self.claim(ctx, key, Some(learner), kind).await? {
            Ok(id) => {
                if exists(id).await? {
                    return Ok(id);
                }
                tracing::warn!(
                    key,
                    id,
                    "the {kind} created earlier no longer exists in OneFile; creating it again (§7)"
                );
                self.state.retire_intent(&ctx.tenant.id, key, id).await?;
                match self.claim(ctx, key, Some(learner), kind).await? {
                    // created again by another worker meanwhile
                    Ok(other) => return Ok(other),
                    Err(resume) => resume,
                }
            }
            Err(resume) => resume,
        };
        let found = match resume {
            Resume::Fresh => None,
            Resume::Resumed => search().await?,
        };
        let id = match found {
            Some(id) => id,
            None => {
                if matches!(resume, Resume::Resumed) {
                    // B16: the search may have taken long; renew the claim (still ours, or
                    // IntentBusy) so that it outlives the create
                    if let Ok(id) = self.claim(ctx, key, Some(learner), kind).await? {
                        return Ok(id);
                    }
                }
                create().await?
            }
        };
        self.state
            .complete_intent(&ctx.tenant.id, key, &self.holder, id)
            .await?;
        Ok(id)
    }

    /// B5: does OneFile still hold user `id` (a learner or an assessor)?
    pub(crate) async fn user_exists(&self, ctx: &RunCtx<'_>, id: i64) -> Result<bool> {
        match ctx.tenant.onefile.get_user(id).await {
            Ok(_) => Ok(true),
            Err(of::OneFileError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// B5: does OneFile still hold placement `id`?
    pub(crate) async fn placement_exists(&self, ctx: &RunCtx<'_>, id: i64) -> Result<bool> {
        match ctx.tenant.onefile.get_placement(id).await {
            Ok(_) => Ok(true),
            Err(of::OneFileError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// B5: does OneFile learner `user` still hold learning aim `id`?
    pub(crate) async fn aim_exists(&self, ctx: &RunCtx<'_>, user: i64, id: i64) -> Result<bool> {
        match ctx.tenant.onefile.learning_aims(user).await {
            Ok(aims) => Ok(aims.iter().any(|a| a.id == id)),
            // the learner itself is gone: so is the aim
            Err(of::OneFileError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Applies `plan` (read from `view`); returns how many changes were written and the PICS
    /// learner's RowVersion after the last write.
    pub(crate) async fn apply_plan(
        &self,
        ctx: &RunCtx<'_>,
        view: &LearnerView,
        plan: &Plan,
    ) -> Result<(usize, String)> {
        let learner = &view.pics.id;
        let mut rv = view.pics.row_version.clone();
        let mut written = 0;
        written += self.apply_pics(ctx, view, &plan.pics, &mut rv).await?;
        written += self
            .apply_onefile(ctx, view, &plan.onefile, &mut rv)
            .await?;
        tracing::debug!(learner = %learner, written, "plan applied");
        Ok((written, rv))
    }

    async fn apply_pics(
        &self,
        ctx: &RunCtx<'_>,
        view: &LearnerView,
        ops: &[PicsOp],
        rv: &mut String,
    ) -> Result<usize> {
        let learner = &view.pics.id;
        let p = &ctx.tenant.pics;
        let mut n = 0;

        // learner demographics: one PATCH
        let mut patch = pics::LearnerPatch::default();
        let mut audit = Vec::new();
        for op in ops {
            if let PicsOp::SetLearner {
                field,
                old,
                new,
                rule,
            } = op
            {
                mapping::learner_patch(&mut patch, *field, new)?;
                audit.push(self.audit_entry(
                    ctx,
                    learner,
                    Audited {
                        system: "PICS",
                        entity: format!("learner {}", view.pics.ident),
                        field: field.as_str(),
                        old,
                        new,
                        rule: *rule,
                    },
                ));
            }
        }
        if !audit.is_empty() {
            *rv = p.patch_learner(learner.as_str(), rv, &patch).await?;
            n += audit.len();
            self.state.append_audit(&audit).await?;
        }

        // qualifications: one PATCH each
        let mut quals: BTreeMap<&QualificationId, (pics::QualificationPatch, Vec<AuditEntry>)> =
            BTreeMap::new();
        for op in ops {
            if let PicsOp::SetQualification {
                qualification,
                field,
                old,
                new,
                rule,
            } = op
            {
                let e = quals.entry(qualification).or_default();
                mapping::qualification_patch(&mut e.0, *field, new)?;
                e.1.push(self.audit_entry(
                    ctx,
                    learner,
                    Audited {
                        system: "PICS",
                        entity: format!("qualification {qualification}"),
                        field: &qual_field(*field),
                        old,
                        new,
                        rule: *rule,
                    },
                ));
            }
        }
        for (q, (patch, audit)) in quals {
            *rv = p
                .patch_qualification(learner.as_str(), q.as_str(), rv, &patch)
                .await?;
            n += audit.len();
            self.state.append_audit(&audit).await?;
        }

        // reviews: one PATCH each; new reviews one POST each
        let mut reviews: BTreeMap<&ReviewId, (pics::ReviewPatch, Vec<AuditEntry>)> =
            BTreeMap::new();
        for op in ops {
            if let PicsOp::SetReview {
                review,
                field,
                old,
                new,
                rule,
            } = op
            {
                let e = reviews.entry(review).or_default();
                mapping::review_patch(&mut e.0, *field, new)?;
                e.1.push(self.audit_entry(
                    ctx,
                    learner,
                    Audited {
                        system: "PICS",
                        entity: format!("review {review}"),
                        field: &review_field(*field),
                        old,
                        new,
                        rule: *rule,
                    },
                ));
            }
        }
        for (r, (patch, audit)) in reviews {
            *rv = p
                .patch_review(learner.as_str(), r.as_str(), rv, &patch)
                .await?;
            n += audit.len();
            self.state.append_audit(&audit).await?;
        }
        for op in ops {
            if let PicsOp::CreateReview { review, rule } = op {
                let body = pics::NewReview {
                    type_: Some(ReviewType::Normal.as_str().to_string()),
                    proposed_date_time: review.proposed,
                    attended_value: review.attended.as_ref().map(|a| a.as_str().to_string()),
                    actual_date_time: review.actual,
                    reviewer_officer_id: review.reviewer.as_ref().map(|o| o.0.clone()),
                    one_file_system_id: Some(review.onefile_review.0),
                };
                let created = match p.create_review(learner.as_str(), rv, &body).await {
                    Ok((id, new_rv)) => {
                        *rv = new_rv;
                        id
                    }
                    // §7: a review holding this OneFile id exists already (an earlier attempt whose
                    // answer was lost): nothing to create.
                    Err(pics::PicsError::Duplicate { .. }) => continue,
                    Err(e) => return Err(e.into()),
                };
                let entry = self.audit_entry(
                    ctx,
                    learner,
                    Audited {
                        system: "PICS",
                        entity: format!("review {created}"),
                        field: "created from OneFile review",
                        old: &Value::Blank,
                        new: &Value::Int(review.onefile_review.0),
                        rule: *rule,
                    },
                );
                n += 1;
                self.state.append_audit(&[entry]).await?;
            }
        }

        // officers and organisations (R32 pull): not under the learner, no RowVersion
        let mut officers: BTreeMap<&OfficerId, (pics::OfficerPatch, Vec<AuditEntry>)> =
            BTreeMap::new();
        for op in ops {
            if let PicsOp::SetOfficer {
                officer,
                field,
                old,
                new,
                rule,
            } = op
            {
                let e = officers.entry(officer).or_default();
                let v = new.as_text().map(str::to_string);
                match field {
                    NameField::FirstName => e.0.first_name = v,
                    NameField::Surname => e.0.surname = v,
                }
                e.1.push(self.audit_entry(
                    ctx,
                    learner,
                    Audited {
                        system: "PICS",
                        entity: format!("officer {officer}"),
                        field: mapping::name_field(*field),
                        old,
                        new,
                        rule: *rule,
                    },
                ));
            }
        }
        for (o, (patch, audit)) in officers {
            p.patch_officer(o.as_str(), &patch).await?;
            ctx.forget_officer(o);
            n += audit.len();
            self.state.append_audit(&audit).await?;
        }
        for op in ops {
            if let PicsOp::SetOrganisationName {
                organisation,
                old,
                new,
                rule,
            } = op
            {
                let patch = pics::OrganisationPatch {
                    name: new.as_text().map(str::to_string),
                    ..Default::default()
                };
                p.patch_organisation(organisation.as_str(), &patch).await?;
                ctx.forget_organisation(organisation);
                n += 1;
                let e = self.audit_entry(
                    ctx,
                    learner,
                    Audited {
                        system: "PICS",
                        entity: format!("organisation {organisation}"),
                        field: "Name",
                        old,
                        new,
                        rule: *rule,
                    },
                );
                self.state.append_audit(&[e]).await?;
            }
        }
        Ok(n)
    }

    async fn apply_onefile(
        &self,
        ctx: &RunCtx<'_>,
        view: &LearnerView,
        ops: &[OneFileOp],
        rv: &mut String,
    ) -> Result<usize> {
        let learner = &view.pics.id;
        let of = &ctx.tenant.onefile;
        let user = view.onefile.learner.id;
        let mut n = 0;

        let mut update = of::UserUpdate::default();
        let mut audit = Vec::new();
        for op in ops {
            if let OneFileOp::SetLearner {
                field,
                old,
                new,
                rule,
            } = op
            {
                mapping::user_update(&mut update, *field, new)?;
                audit.push(self.audit_entry(
                    ctx,
                    learner,
                    Audited {
                        system: "OneFile",
                        entity: format!("learner {user}"),
                        field: field.as_str(),
                        old,
                        new,
                        rule: *rule,
                    },
                ));
            }
        }
        if !audit.is_empty() {
            of.update_user(user.0, &update).await?;
            n += audit.len();
            self.state.append_audit(&audit).await?;
        }

        let mut aims: BTreeMap<OfAimId, (of::LearningAimUpdate, Vec<AuditEntry>)> = BTreeMap::new();
        for op in ops {
            if let OneFileOp::SetAim {
                aim,
                field,
                old,
                new,
                rule,
                ..
            } = op
            {
                let e = aims.entry(*aim).or_default();
                mapping::aim_update(&mut e.0, *field, new)?;
                e.1.push(self.audit_entry(
                    ctx,
                    learner,
                    Audited {
                        system: "OneFile",
                        entity: format!("learning aim {aim}"),
                        field: field.as_str(),
                        old,
                        new,
                        rule: *rule,
                    },
                ));
            }
        }
        for (aim, (update, audit)) in aims {
            of.update_learning_aim(aim.0, &update).await?;
            n += audit.len();
            self.state.append_audit(&audit).await?;
        }

        for op in ops {
            match op {
                OneFileOp::UploadReview(u) => {
                    n += self.upload_review(ctx, view, u, rv).await?;
                }
                OneFileOp::AssignStandard {
                    qualification,
                    standard,
                    pathway,
                    code,
                    rule,
                } => {
                    let claimed: Vec<i64> = view
                        .pics
                        .qualifications
                        .iter()
                        .filter_map(|q| q.onefile_aim.map(|a| a.0))
                        .collect();
                    let aim = self
                        .assign_standard(
                            ctx,
                            AimAssignment {
                                learner,
                                user,
                                qualification,
                                standard: *standard,
                                pathway: *pathway,
                                claimed: &claimed,
                            },
                            CreateAudit::new(
                                format!(
                                    "assigned: standard {standard} ({code}) for qualification {qualification}"
                                ),
                                *rule,
                            ),
                        )
                        .await?;
                    let patch = pics::QualificationPatch {
                        one_file_learning_aim_id: Some(aim),
                        ..Default::default()
                    };
                    *rv = ctx
                        .tenant
                        .pics
                        .patch_qualification(learner.as_str(), qualification.as_str(), rv, &patch)
                        .await?;
                    // the OneFile learning aim was audited as it was created (§7)
                    let e = [self.audit_entry(
                        ctx,
                        learner,
                        Audited {
                            system: "PICS",
                            entity: format!("qualification {qualification}"),
                            field: "OneFileLearningAimId",
                            old: &Value::Blank,
                            new: &Value::Int(aim),
                            rule: *rule,
                        },
                    )];
                    n += 2;
                    self.state.append_audit(&e).await?;
                }
                OneFileOp::SetAssessor {
                    assessor,
                    field,
                    old,
                    new,
                    rule,
                } => {
                    let mut u = of::UserUpdate::default();
                    match field {
                        NameField::FirstName => {
                            u.demographics.first_name = new.as_text().map(str::to_string);
                        }
                        NameField::Surname => {
                            u.demographics.surname = new.as_text().map(str::to_string);
                        }
                    }
                    of.update_user(assessor.0, &u).await?;
                    ctx.forget_assessor(*assessor);
                    n += 1;
                    let e = self.audit_entry(
                        ctx,
                        learner,
                        Audited {
                            system: "OneFile",
                            entity: format!("assessor {assessor}"),
                            field: mapping::name_field(*field),
                            old,
                            new,
                            rule: *rule,
                        },
                    );
                    self.state.append_audit(&[e]).await?;
                }
                OneFileOp::SetPlacementName {
                    placement,
                    old,
                    new,
                    rule,
                } => {
                    let u = of::PlacementUpdate {
                        name: new.as_text().map(str::to_string),
                        ..Default::default()
                    };
                    of.update_placement(placement.0, &u).await?;
                    n += 1;
                    let e = self.audit_entry(
                        ctx,
                        learner,
                        Audited {
                            system: "OneFile",
                            entity: format!("placement {placement}"),
                            field: "Name",
                            old,
                            new,
                            rule: *rule,
                        },
                    );
                    self.state.append_audit(&[e]).await?;
                }
                OneFileOp::SetLearner { .. } | OneFileOp::SetAim { .. } => {}
            }
        }
        Ok(n)
    }

    /// R16–R19 exactly once: visit, review, then the PICS write-back. Each create is claimed as an
    /// intent first; a resumed claim searches OneFile before creating again.
    async fn upload_review(
        &self,
        ctx: &RunCtx<'_>,
        view: &LearnerView,
        u: &ReviewUpload,
        rv: &mut String,
    ) -> Result<usize> {
        let learner = &view.pics.id;
        let of = &ctx.tenant.onefile;
        let user = view.onefile.learner.id.0;
        let same_slot = |at: Option<DateTime<Utc>>, assessor: Option<i64>| {
            at == Some(u.scheduled_for) && assessor == Some(u.assessor.0)
        };

        // `Visit/Search` is Assumed: OneFile may answer 404 for it. Then the learner's reviews
        // at that time show the visit, when the review was created too; otherwise the search's
        // 404 comes out of `create_once` with the intent left pending, and is handled below.
        const VISIT_SEARCH: &str = "POST /Visit/Search";
        let visit = self
            .create_once_audited(
                ctx,
                &format!("visit:{learner}:{}", u.review),
                learner,
                "visit",
                CreateAudit::new(format!("created for PICS review {}", u.review), u.rule),
                |id| async move {
                    // B5 (the learner was deleted and enrolled again): the visit must be the
                    // learner's; **Decision**: a OneFile that cannot search visits (404) is
                    // trusted, as before
                    match of.search_visits(user).await {
                        Ok(found) => Ok(found.iter().any(|v| v.id == id)),
                        Err(of::OneFileError::NotFound { .. }) => Ok(true),
                        Err(e) => Err(e.into()),
                    }
                },
                || async {
                    match of.search_visits(user).await {
                        Ok(found) => Ok(found
                            .into_iter()
                            .find(|v| same_slot(v.date_from, v.assessor_id))
                            .map(|v| v.id)),
                        Err(e @ of::OneFileError::NotFound { .. }) => {
                            let reviews = of
                                .search_reviews(&of::ReviewSearch::for_learner(user))
                                .await?;
                            match reviews
                                .into_iter()
                                .filter(|r| same_slot(r.scheduled_for, r.assessor_id))
                                .find_map(|r| r.visit_id)
                            {
                                Some(v) => Ok(Some(v)),
                                None => Err(e.into()),
                            }
                        }
                        Err(e) => Err(e.into()),
                    }
                },
                || async {
                    let visit = of::NewVisit {
                        learner_id: user,
                        organisation_id: ctx.centre,
                        date_from: u.scheduled_for,
                        date_to: u.ends,
                        visit_type_id: u.visit_type_id,
                        sms_reminder: false,
                        assessor_id: u.assessor.0,
                    };
                    Ok(of.create_visit(&visit).await?)
                },
            )
            .await;
        let visit = match visit {
            Ok(id) => Some(id),
            // **Decision** (§7 leaves it open): the earlier attempt may have created the
            // visit, and OneFile cannot be asked. A second visit could be a duplicate, which §7
            // forbids, so none is created: the review is uploaded without a visit, and the
            // operator is told where a visit may exist. The visit's intent stays pending (a
            // later attempt finds the same state again); the learner does not fail.
            Err(EngineError::OneFile(of::OneFileError::NotFound { endpoint }))
                if endpoint == VISIT_SEARCH =>
            {
                tracing::warn!(
                    learner = %learner,
                    review = %u.review,
                    onefile_learner = user,
                    at = %u.scheduled_for,
                    "OneFile cannot search visits (POST /Visit/Search answered 404): a visit for \
                     this review may have been created before an interruption; no second visit \
                     is created and the review is uploaded without one. Check the learner's \
                     OneFile calendar at that time"
                );
                None
            }
            Err(e) => return Err(e),
        };

        let review = self
            .create_once_audited(
                ctx,
                &format!("review:{learner}:{}", u.review),
                learner,
                "review",
                CreateAudit::new(format!("created for PICS review {}", u.review), u.rule),
                |id| async move {
                    let found = of
                        .search_reviews(&of::ReviewSearch::for_learner(user))
                        .await?;
                    Ok(found.iter().any(|r| r.id == id))
                },
                || async {
                    let found = of
                        .search_reviews(&of::ReviewSearch::for_learner(user))
                        .await?;
                    Ok(found
                        .into_iter()
                        .find(|r| same_slot(r.scheduled_for, r.assessor_id))
                        .map(|r| r.id))
                },
                || async {
                    let review = of::NewReview {
                        learner_id: user,
                        scheduled_for: u.scheduled_for,
                        visit_id: visit,
                        assessor_id: u.assessor.0,
                    };
                    Ok(of.create_review(&review).await?)
                },
            )
            .await?;

        // R19: the PICS review now holds the OneFile id (and R22's reviewer, when it differs).
        let patch = pics::ReviewPatch {
            one_file_system_id: Some(review),
            reviewer_officer_id: u.set_reviewer.as_ref().map(|o| o.0.clone()),
            ..Default::default()
        };
        *rv = ctx
            .tenant
            .pics
            .patch_review(learner.as_str(), u.review.as_str(), rv, &patch)
            .await?;
        // the OneFile visit and review were audited as they were created (§7)
        let mut audit = vec![self.audit_entry(
            ctx,
            learner,
            Audited {
                system: "PICS",
                entity: format!("review {}", u.review),
                field: "OneFileSystemId",
                old: &Value::Blank,
                new: &Value::Int(review),
                rule: Rule::R19,
            },
        )];
        if let Some(o) = &u.set_reviewer {
            let old = view
                .pics
                .reviews
                .iter()
                .find(|r| r.id == u.review)
                .and_then(|r| r.reviewer.clone());
            audit.push(self.audit_entry(
                ctx,
                learner,
                Audited {
                    system: "PICS",
                    entity: format!("review {}", u.review),
                    field: "ReviewerOfficerId",
                    old: &Value::text(old.as_ref().map(OfficerId::as_str)),
                    new: &Value::Text(o.0.clone()),
                    rule: Rule::R22,
                },
            ));
        }
        // the upload itself counts as one change, as the write-back's fields do
        let n = audit.len() + 1;
        self.state.append_audit(&audit).await?;
        Ok(n)
    }

    /// R8 (enrolment) and R37 (the sync) exactly once: the learning aim of a qualification,
    /// found again by its standard on a resumed claim (never one in `a.claimed`).
    pub(crate) async fn assign_standard(
        &self,
        ctx: &RunCtx<'_>,
        a: AimAssignment<'_>,
        audit: CreateAudit,
    ) -> Result<i64> {
        let of = &ctx.tenant.onefile;
        let user = a.user.0;
        self.create_once_audited(
            ctx,
            &format!("aim:{}:{}", a.learner, a.qualification),
            a.learner,
            "learning aim",
            audit,
            |id| self.aim_exists(ctx, user, id),
            || async {
                let aims = of.learning_aims(user).await?;
                Ok(aims
                    .into_iter()
                    .find(|x| x.standard_id == Some(a.standard.0) && !a.claimed.contains(&x.id))
                    .map(|x| x.id))
            },
            || async {
                Ok(of
                    .assign_standard(a.standard.0, user, a.pathway.map(|p| p.0))
                    .await?)
            },
        )
        .await
    }
}

/// A qualification's learning aim to assign in OneFile (R8, R37).
#[derive(Clone, Copy)]
pub(crate) struct AimAssignment<'a> {
    pub learner: &'a LearnerId,
    pub user: OfUserId,
    pub qualification: &'a QualificationId,
    pub standard: OfStandardId,
    pub pathway: Option<OfPathwayId>,
    /// Learning aims already linked to other qualifications: a resumed claim takes none.
    pub claimed: &'a [i64],
}

fn qual_field(f: QualField) -> String {
    match f {
        QualField::Cert(c) => c.as_str().into(),
        QualField::TotalElements => "TotalElements".into(),
        QualField::ElementsDone => "ElementsDone".into(),
        QualField::OneFileAim => "OneFileLearningAimId".into(),
    }
}

fn review_field(f: ReviewField) -> String {
    match f {
        ReviewField::Proposed => "ProposedDateTime",
        ReviewField::Attended => "AttendedValue",
        ReviewField::Actual => "ActualDateTime",
        ReviewField::Reviewer => "ReviewerOfficerId",
        ReviewField::OneFileId => "OneFileSystemId",
    }
    .into()
}
