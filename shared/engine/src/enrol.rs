//! Enrolment (§4): plan every step before the first write (R6–R14), then create each
//! OneFile record exactly once through an intent, linking PICS records as they are made; then
//! upload the learner's eligible reviews (R15).

use std::collections::BTreeMap;

use picsync_domain::enrol::*;
use picsync_domain::*;
use picsync_onefile as of;
use picsync_onefile::{UserSearch, role};
use picsync_pics as pics;
use picsync_state::State;
use serde::Serialize;

use crate::created::CreateAudit;
use crate::error::{EngineError, Result};
use crate::learner::{LearnerReport, RunCtx};
use crate::writer::Audited;
use crate::writer::{AimAssignment, Creation};
use crate::{Engine, Tenant, mapping};

/// A PICS write made with the learner's RowVersion (R41), see `Engine::write_if_match`.
#[derive(Clone, Copy)]
enum PicsWrite<'a> {
    Learner(&'a pics::LearnerPatch),
    Qualification(&'a QualificationId, &'a pics::QualificationPatch),
}

/// An enrolment request (operation 1).
#[derive(Debug, Clone, Default)]
pub struct EnrolRequest {
    pub learner: LearnerId,
    pub choices: EnrolChoices,
    /// R38: plan only.
    pub dry_run: bool,
}

/// What enrolment did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct EnrolReport {
    pub learner: LearnerId,
    pub ident: String,
    pub plan: EnrolPlan,
    /// The OneFile learner the PICS learner is now linked to.
    pub onefile_learner: Option<OfUserId>,
    /// One line per record created or linked.
    pub actions: Vec<String>,
    /// R15: the learner's eligible reviews uploaded at enrolment (in a dry run: to be uploaded),
    /// whatever its R3 scope.
    pub sync: Option<LearnerReport>,
}

/// R12: every user of the centre holding the MIS value `mis`, of every documented role,
/// archived included. `User/Search` is searched once per role (its `Role` filter is required);
/// the client keeps only exact MIS matches (a "contains" match is not a holder).
async fn users_holding(
    client: &of::OneFileClient,
    centre: OfCentreId,
    mis: &str,
) -> Result<Vec<OfUser>> {
    let mut out: Vec<OfUser> = Vec::new();
    for r in role::ALL {
        let q = UserSearch {
            mis_id: Some(mis.to_string()),
            ..UserSearch::new(centre, r)
        };
        for u in client.search_users(&q).await? {
            if !out.iter().any(|x| x.id == u.id) {
                let mut found = mapping::of_user(&u);
                // a search by role that omits the role in its rows still says it
                found.role = found.role.or(Some(r));
                out.push(found);
            }
        }
    }
    Ok(out)
}

impl<S: State> Engine<S> {
    /// Enrols one PICS learner into OneFile (or links it, R14).
    pub async fn enrol(&self, t: &Tenant, req: &EnrolRequest) -> Result<EnrolReport> {
        self.require_enabled(t, req.dry_run).await?;
        // R35: under the tenant's lease, never beside a run
        self.under_lease(&t.id, "enrol", req.dry_run, self.enrol_leased(t, req))
            .await
    }

    async fn enrol_leased(&self, t: &Tenant, req: &EnrolRequest) -> Result<EnrolReport> {
        let ts = self.prepare_tenant(t, req.dry_run).await?;
        let centre = ts
            .centre
            .ok_or_else(|| EngineError::Inconsistent("tenant has no OneFile centre".into()))?;
        let run_id = format!(
            "enrol-{}-{}",
            req.learner,
            self.now().format("%Y%m%dT%H%M%SZ")
        );
        let ctx = RunCtx::new(
            t,
            centre,
            ts.catalogue.clone(),
            Mode::Periodic,
            run_id,
            req.dry_run,
        );

        let pl = match t.pics.get_learner(&req.learner).await {
            Ok(l) => mapping::pics_learner(&l),
            Err(pics::PicsError::NotFound { .. }) => {
                return Err(EngineError::Invalid(format!(
                    "PICS has no learner {}",
                    req.learner
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let officers = self.officers_of(&ctx, &pl).await?;
        let employer = match pl.employer() {
            Some(id) => self.organisation(&ctx, id).await?,
            None => None,
        };

        // An enrolment picsync started (its learner intent exists) and did not finish resumes.
        let started = self
            .state
            .get_intent(&t.id, &format!("learner:{}", pl.id))
            .await?
            .is_some();
        let finished = self
            .state
            .get_intent(&t.id, &format!("enrolled:{}", pl.id))
            .await?
            .is_some();
        let resume = started && !finished;
        // What OneFile holds that enrolment matches against (read before any write).
        let mut lookups = EnrolLookups {
            resume,
            ..Default::default()
        };
        if pl.onefile_id.is_none() || resume {
            let same = users_holding(&t.onefile, centre, pl.ident.trim()).await?;
            lookups
                .users_by_mis
                .insert(pl.ident.trim().to_string(), same);
            for o in &officers {
                match o.linked() {
                    Some(id) => match t.onefile.get_user(id).await {
                        Ok(u) => {
                            lookups.users_by_id.insert(id, mapping::of_user(&u));
                        }
                        Err(of::OneFileError::NotFound { .. }) => {}
                        Err(e) => return Err(e.into()),
                    },
                    None => {
                        let same = users_holding(&t.onefile, centre, o.ident.trim()).await?;
                        lookups
                            .users_by_mis
                            .insert(o.ident.trim().to_string(), same);
                    }
                }
            }
            lookups.placements = t
                .onefile
                .placements(centre)
                .await?
                .iter()
                .map(mapping::of_placement)
                .collect();
            let classrooms = t.onefile.classrooms(centre).await?;
            // **Decision**: the centre's default classroom is its first (lowest id) classroom.
            lookups.default_classroom = classrooms.iter().map(|c| c.id).min();
            lookups.classrooms = classrooms
                .iter()
                .map(|c| OfClassroom {
                    id: c.id,
                    name: c.name.clone(),
                })
                .collect();
        }
        let plan = plan_enrolment(&EnrolInput {
            learner: &pl,
            officers: &officers,
            employer: employer.as_ref(),
            centre,
            lookups: &lookups,
            catalogue: &ts.catalogue,
            settings: &t.settings,
            choices: &req.choices,
        })
        .map_err(|problems| EngineError::Enrol {
            learner: pl.ident.clone(),
            problems,
        })?;

        let mut report = EnrolReport {
            learner: pl.id.clone(),
            ident: pl.ident.clone(),
            plan: plan.clone(),
            onefile_learner: None,
            actions: Vec::new(),
            sync: None,
        };
        if req.dry_run {
            // R38: the dry run lists the R15 uploads too
            report.sync = self.dry_run_reviews(&ctx, &pl, &officers, &plan).await?;
            return Ok(report);
        }
        let user = match &plan {
            EnrolPlan::AlreadyLinked(id) => {
                report.onefile_learner = Some(*id);
                report.actions.push(format!(
                    "already linked to OneFile learner {id}: nothing created (R14)"
                ));
                return Ok(report);
            }
            EnrolPlan::Link(id) => {
                self.link_learner(&ctx, &pl, *id, Rule::R14, &mut pl.row_version.clone())
                    .await?;
                report.actions.push(format!(
                    "linked to existing OneFile learner {id} holding MIS value {} (R14)",
                    pl.ident
                ));
                *id
            }
            EnrolPlan::Create(e) => {
                self.create_enrolment(&ctx, &pl, e, &mut report.actions)
                    .await?
            }
        };
        report.onefile_learner = Some(user);
        // R15: the learner's eligible reviews go up now, whatever its R3 scope (the rest of the
        // exchange is the synchronisation's, within R3).
        if t.settings.upload_reviews {
            report.sync = Some(self.upload_enrolment_reviews(&ctx, &pl.id).await?);
        }
        if matches!(plan, EnrolPlan::Create(_)) {
            // every step done, R15 included: a later enrolment of this learner is R14's
            // "already linked"; until then a retry resumes (§7)
            let done = format!("enrolled:{}", pl.id);
            self.create_once(
                &ctx,
                &Creation {
                    key: &done,
                    learner: &pl.id,
                    kind: "enrolment",
                },
                || async { Ok(None) },
                || async { Ok(user) },
            )
            .await?;
        }
        Ok(report)
    }

    /// R15 at enrolment: uploads the learner's eligible reviews (R17) and links them (R19),
    /// re-reading and re-planning after a PICS 412 (R41, bounded).
    async fn upload_enrolment_reviews(
        &self,
        ctx: &RunCtx<'_>,
        learner: &LearnerId,
    ) -> Result<LearnerReport> {
        let mut report = LearnerReport {
            learner: learner.clone(),
            ..Default::default()
        };
        let baseline = Baseline::default();
        let mut conflicts = 0;
        loop {
            report.passes += 1;
            let pics = mapping::pics_learner(&ctx.tenant.pics.get_learner(learner).await?);
            report.ident = pics.ident.clone();
            let view = self.read_view(ctx, pics, None).await?;
            let plan = picsync_domain::enrol_reviews::plan_enrolment_reviews(
                &view,
                &Context {
                    settings: &ctx.tenant.settings,
                    catalogue: &ctx.catalogue,
                    centre: Some(ctx.centre),
                    baseline: &baseline,
                    mode: ctx.mode,
                    today: self.today(),
                    linked_on: self.today(),
                },
            );
            report.plans.push(plan.clone());
            if plan.is_empty() {
                return Ok(report);
            }
            match self.apply_plan(ctx, &view, &plan).await {
                Ok((n, _)) => {
                    report.written += n;
                    return Ok(report);
                }
                Err(EngineError::Pics(e)) if e.is_conflict() => {
                    conflicts += 1;
                    if conflicts > self.max_replans {
                        return Err(EngineError::StillChanging(report.ident.clone()));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// R38: the R15 uploads an enrolment would make, read and planned without writing.
    async fn dry_run_reviews(
        &self,
        ctx: &RunCtx<'_>,
        pl: &PicsLearner,
        officers: &[PicsOfficer],
        plan: &EnrolPlan,
    ) -> Result<Option<LearnerReport>> {
        if !ctx.tenant.settings.upload_reviews {
            return Ok(None);
        }
        let baseline = Baseline::default();
        let dctx = Context {
            settings: &ctx.tenant.settings,
            catalogue: &ctx.catalogue,
            centre: Some(ctx.centre),
            baseline: &baseline,
            mode: ctx.mode,
            today: self.today(),
            linked_on: self.today(),
        };
        let planned = match plan {
            // enrolled already: nothing is uploaded at enrolment
            EnrolPlan::AlreadyLinked(_) => return Ok(None),
            EnrolPlan::Link(id) => {
                let mut linked = pl.clone();
                linked.onefile_id = Some(*id);
                let view = self.read_view(ctx, linked, None).await?;
                picsync_domain::enrol_reviews::plan_enrolment_reviews(&view, &dctx)
            }
            EnrolPlan::Create(e) => {
                picsync_domain::enrol_reviews::plan_dry_run_reviews(pl, officers, e, &dctx)
            }
        };
        Ok(Some(LearnerReport {
            learner: pl.id.clone(),
            ident: pl.ident.clone(),
            plans: vec![planned],
            passes: 1,
            ..Default::default()
        }))
    }

    /// Writes the OneFile id into the PICS learner (If-Match; re-read on 412, R41).
    pub(crate) async fn link_learner(
        &self,
        ctx: &RunCtx<'_>,
        pl: &PicsLearner,
        user: OfUserId,
        rule: Rule,
        rv: &mut String,
    ) -> Result<()> {
        if pl.onefile_id == Some(user) {
            // linked by an earlier attempt, which may have died before recording the day (R37)
            self.record_linked_on(&ctx.tenant.id, &pl.id, user).await?;
            return Ok(());
        }
        let patch = pics::LearnerPatch {
            one_file_id: Some(Some(user)),
            ..Default::default()
        };
        self.write_if_match(ctx, pl, rv, PicsWrite::Learner(&patch), |fresh| match fresh
            .one_file_id
            .filter(|o| *o != user)
        {
            Some(other) => Err(EngineError::Inconsistent(format!(
                "learner {} was linked to OneFile learner {other} by someone else meanwhile",
                pl.ident
            ))),
            None => Ok(()),
        })
        .await?;
        self.audit(
            ctx,
            &pl.id,
            Audited {
                system: "PICS",
                entity: format!("learner {}", pl.ident),
                field: "OneFileId",
                old: &Value::Blank,
                new: &user.into(),
                rule,
            },
        )
        .await?;
        self.record_linked_on(&ctx.tenant.id, &pl.id, user).await?;
        Ok(())
    }

    /// R41: a write to the PICS learner with its RowVersion (If-Match). After a 412 the learner
    /// is read again, `check` may refuse what it now holds, and the write is tried again with
    /// the new RowVersion (at most `max_replans` times). `rv` ends as the learner's RowVersion
    /// after the write.
    async fn write_if_match(
        &self,
        ctx: &RunCtx<'_>,
        pl: &PicsLearner,
        rv: &mut String,
        write: PicsWrite<'_>,
        check: impl Fn(&pics::Learner) -> Result<()>,
    ) -> Result<()> {
        let p = &ctx.tenant.pics;
        for _ in 0..=self.max_replans {
            let done = match write {
                PicsWrite::Learner(patch) => p.patch_learner(&pl.id, rv, patch).await,
                PicsWrite::Qualification(q, patch) => {
                    p.patch_qualification(&pl.id, q, rv, patch).await
                }
            };
            match done {
                Ok(new_rv) => {
                    *rv = new_rv;
                    return Ok(());
                }
                Err(e) if e.is_conflict() => {
                    let fresh = p.get_learner(&pl.id).await?;
                    check(&fresh)?;
                    *rv = fresh.row_version;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::StillChanging(pl.ident.clone()))
    }

    async fn create_enrolment(
        &self,
        ctx: &RunCtx<'_>,
        pl: &PicsLearner,
        e: &Enrolment,
        actions: &mut Vec<String>,
    ) -> Result<OfUserId> {
        let t = ctx.tenant;
        let of = &t.onefile;
        let centre = ctx.centre;
        let learner = &pl.id;

        // R11: assessors
        let mut assessors: BTreeMap<OfficerId, OfUserId> = BTreeMap::new();
        for step in &e.assessors {
            match step {
                AssessorStep::Linked { officer, assessor } => {
                    assessors.insert(officer.clone(), *assessor);
                }
                AssessorStep::LinkByMis { officer, assessor } => {
                    self.link_officer(ctx, learner, officer, *assessor).await?;
                    actions.push(format!(
                        "officer {officer} linked to OneFile assessor {assessor} by MIS value (R11)"
                    ));
                    assessors.insert(officer.clone(), *assessor);
                }
                AssessorStep::Create {
                    officer,
                    first_name,
                    last_name,
                    email,
                    mis_id,
                } => {
                    let id = self
                        .create_once_audited(
                            ctx,
                            &Creation {
                                key: &format!("assessor:{officer}"),
                                learner,
                                kind: "assessor",
                            },
                            CreateAudit::new(
                                format!("created for officer {officer} ({first_name} {last_name})"),
                                Rule::R11,
                            ),
                            |id| self.user_exists(ctx, id),
                            || async {
                                let q = UserSearch {
                                    mis_id: Some(mis_id.clone()),
                                    ..UserSearch::new(centre, role::ASSESSOR)
                                };
                                Ok(of.search_users(&q).await?.first().map(|u| u.id))
                            },
                            || async {
                                let u = of::NewUser {
                                    organisation_id: centre,
                                    role: role::ASSESSOR,
                                    demographics: Demographics {
                                        first_name: Some(first_name.clone()),
                                        surname: Some(last_name.clone()),
                                        email: Some(email.clone()),
                                        ..Demographics::default()
                                    },
                                    mis_id: Some(mis_id.clone()),
                                    ..Default::default()
                                };
                                Ok(of.create_user(&u).await?.id)
                            },
                        )
                        .await?;
                    self.link_officer(ctx, learner, officer, id).await?;
                    actions.push(format!("OneFile assessor {id} created for officer {officer} ({first_name} {last_name}) (R11)"));
                    assessors.insert(officer.clone(), id);
                }
            }
        }
        let assessor_of = |o: &OfficerId| {
            assessors.get(o).copied().ok_or_else(|| {
                EngineError::Inconsistent(format!(
                    "officer {o} has no OneFile assessor after enrolment planning"
                ))
            })
        };

        // R13: placement
        let placement = match &e.placement {
            PlacementStep::Linked { placement, .. } => *placement,
            PlacementStep::LinkByMis {
                organisation,
                placement,
            } => {
                self.link_organisation(ctx, learner, organisation, *placement)
                    .await?;
                actions.push(format!("organisation {organisation} linked to OneFile placement {placement} by MIS value (R13)"));
                *placement
            }
            PlacementStep::Create {
                organisation,
                name,
                mis_id,
            } => {
                let id = self
                    .create_once_audited(
                        ctx,
                        &Creation {
                            key: &format!("placement:{organisation}"),
                            learner,
                            kind: "placement",
                        },
                        CreateAudit::new(
                            format!("created for organisation {organisation} ({name})"),
                            Rule::R13,
                        ),
                        |id| self.placement_exists(ctx, id),
                        || async {
                            let all = of.placements(centre).await?;
                            Ok(all
                                .into_iter()
                                .find(|p| p.mis_id.as_deref() == Some(mis_id))
                                .map(|p| p.id))
                        },
                        || async {
                            let p = of::NewPlacement {
                                organisation_id: centre,
                                name: name.clone(),
                                mis_id: Some(mis_id.clone()),
                                address: None,
                                active: true,
                            };
                            Ok(of.create_placement(&p).await?)
                        },
                    )
                    .await?;
                self.link_organisation(ctx, learner, organisation, id)
                    .await?;
                actions.push(format!(
                    "OneFile placement {id} created for organisation {organisation} ({name}) (R13)"
                ));
                id
            }
        };

        // R7: classroom
        let classroom = match &e.classroom {
            ClassroomStep::Existing(c) => *c,
            ClassroomStep::Create { name } => {
                let same = |n: &Option<String>| {
                    n.as_deref()
                        .is_some_and(|n| n.trim().eq_ignore_ascii_case(name.trim()))
                };
                let id = self
                    .create_once_audited(
                        ctx,
                        &Creation {
                            key: &format!("classroom:{}", name.trim().to_lowercase()),
                            learner,
                            kind: "classroom",
                        },
                        CreateAudit::new(format!("created named {name:?}"), Rule::R7),
                        |id| async move {
                            Ok(of.classrooms(centre).await?.iter().any(|c| c.id == id))
                        },
                        || async {
                            Ok(of
                                .classrooms(centre)
                                .await?
                                .into_iter()
                                .find(|c| same(&c.name))
                                .map(|c| c.id))
                        },
                        || async {
                            let c = of::NewClassroom {
                                organisation_id: centre,
                                name: name.clone(),
                                mis_id: None,
                            };
                            Ok(of.create_classroom(&c).await?)
                        },
                    )
                    .await?;
                actions.push(format!("OneFile classroom {id} ({name}) (R7)"));
                id
            }
        };

        // R6: the learner
        let d = &e.demographics;
        let default_assessor = assessor_of(&e.main_officer)?;
        let user = self
            .create_once_audited(
                ctx,
                &Creation {
                    key: &format!("learner:{learner}"),
                    learner,
                    kind: "learner",
                },
                CreateAudit::new(format!("created with MIS value {}", e.mis_id), Rule::R6),
                |id| self.user_exists(ctx, id),
                || async {
                    let q = UserSearch {
                        mis_id: Some(e.mis_id.clone()),
                        ..UserSearch::new(centre, role::LEARNER)
                    };
                    Ok(of.search_users(&q).await?.first().map(|u| u.id))
                },
                || async {
                    let u = of::NewUser {
                        organisation_id: centre,
                        role: role::LEARNER,
                        demographics: d.clone(),
                        mis_id: Some(e.mis_id.clone()),
                        default_assessor_id: Some(default_assessor),
                        default_employer_id: None,
                        classroom_id: Some(classroom),
                        placement_id: Some(placement),
                    };
                    Ok(of.create_user(&u).await?.id)
                },
            )
            .await?;
        // the learner's RowVersion, carried from write to write (a 412 re-reads it, R41)
        let mut rv = pl.row_version.clone();
        self.link_learner(ctx, pl, user, Rule::R6, &mut rv).await?;
        actions.push(format!(
            "OneFile learner {user} created with MIS value {} (R6)",
            e.mis_id
        ));

        // R8: learning aims, each linked back to its qualification
        let mut assigned: Vec<OfAimId> = Vec::new();
        for a in &e.aims {
            let aim = self
                .assign_standard(
                    ctx,
                    AimAssignment {
                        learner,
                        user,
                        qualification: &a.qualification,
                        standard: a.standard,
                        pathway: a.pathway,
                        claimed: &assigned,
                    },
                    CreateAudit::new(
                        format!(
                            "assigned: standard {} ({}) for qualification {}",
                            a.standard, a.code, a.qualification
                        ),
                        Rule::R8,
                    ),
                )
                .await?;
            assigned.push(aim);
            self.link_qualification(ctx, pl, &a.qualification, aim, &mut rv)
                .await?;
            actions.push(format!(
                "learning aim {aim} ({}) assigned for qualification {} (R8)",
                a.code, a.qualification
            ));
            if let Some(o) = &a.assessor {
                self.assign_assessor(ctx, learner, user, assessor_of(o)?, Some(a.standard))
                    .await?;
                actions.push(format!(
                    "officer {o} assigned to the learner for standard {} (R11)",
                    a.standard
                ));
            }
        }
        for o in &e.additional_assessors {
            self.assign_assessor(ctx, learner, user, assessor_of(o)?, None)
                .await?;
            actions.push(format!("officer {o} assigned to the learner (R11)"));
        }
        Ok(user)
    }

    async fn link_officer(
        &self,
        ctx: &RunCtx<'_>,
        learner: &LearnerId,
        officer: &OfficerId,
        assessor: OfUserId,
    ) -> Result<()> {
        ctx.tenant
            .pics
            .patch_officer(
                officer,
                &pics::OfficerPatch {
                    // R11: PICS holds the OneFile id as free text
                    other_system_id: Some(assessor.to_string()),
                    ..Default::default()
                },
            )
            .await?;
        ctx.forget_officer(officer);
        self.audit(
            ctx,
            learner,
            Audited {
                system: "PICS",
                entity: format!("officer {officer}"),
                field: "OtherSystemId",
                old: &Value::Blank,
                new: &assessor.into(),
                rule: Rule::R11,
            },
        )
        .await?;
        Ok(())
    }

    async fn link_organisation(
        &self,
        ctx: &RunCtx<'_>,
        learner: &LearnerId,
        org: &OrganisationId,
        placement: OfPlacementId,
    ) -> Result<()> {
        ctx.tenant
            .pics
            .patch_organisation(
                org,
                &pics::OrganisationPatch {
                    // R13: PICS holds the OneFile id as free text
                    additional_id: Some(placement.to_string()),
                    ..Default::default()
                },
            )
            .await?;
        ctx.forget_organisation(org);
        self.audit(
            ctx,
            learner,
            Audited {
                system: "PICS",
                entity: format!("organisation {org}"),
                field: "AdditionalId",
                old: &Value::Blank,
                new: &placement.into(),
                rule: Rule::R13,
            },
        )
        .await?;
        Ok(())
    }

    async fn link_qualification(
        &self,
        ctx: &RunCtx<'_>,
        pl: &PicsLearner,
        q: &QualificationId,
        aim: OfAimId,
        rv: &mut String,
    ) -> Result<()> {
        let patch = pics::QualificationPatch {
            one_file_learning_aim_id: Some(aim),
            ..Default::default()
        };
        self.write_if_match(ctx, pl, rv, PicsWrite::Qualification(q, &patch), |_| Ok(()))
            .await?;
        self.audit(
            ctx,
            &pl.id,
            Audited {
                system: "PICS",
                entity: format!("qualification {q}"),
                field: "OneFileLearningAimId",
                old: &Value::Blank,
                new: &aim.into(),
                rule: Rule::R8,
            },
        )
        .await?;
        Ok(())
    }

    async fn assign_assessor(
        &self,
        ctx: &RunCtx<'_>,
        learner: &LearnerId,
        user: OfUserId,
        assessor: OfUserId,
        standard: Option<OfStandardId>,
    ) -> Result<()> {
        // the OneFile learner is part of the key: a learner enrolled again after its OneFile
        // record was deleted is a new learner to assign (B5)
        let key = format!(
            "assign:{learner}:{user}:{assessor}:{}",
            standard.map_or_else(|| "0".to_string(), |s| s.to_string())
        );
        // An assignment repeated after a crash assigns the same pair again, which OneFile treats
        // as the same assignment; the intent only saves the call.
        let assignment = of::Assignment {
            learner_id: user,
            level: 1,
            standard_id: standard,
        };
        let what = match standard {
            Some(s) => format!("assessor assigned for standard {s}"),
            None => "assessor assigned for every standard".to_string(),
        };
        self.create_once_audited(
            ctx,
            &Creation {
                key: &key,
                learner,
                kind: "assignment",
            },
            CreateAudit {
                entity: Some(format!("learner {user}")),
                field: what,
                rule: Rule::R11,
            },
            // the key names the OneFile learner: a deleted learner's assignment is never reused
            |_| async { Ok(true) },
            || async { Ok(None) },
            || async {
                ctx.tenant
                    .onefile
                    .assign_user(assessor, &assignment)
                    .await?;
                Ok(assessor)
            },
        )
        .await?;
        Ok(())
    }
}
