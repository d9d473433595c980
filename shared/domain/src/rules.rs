//! The rules picsync follows, in one page: what it does for each, and where.
//!
//! Every rule has a stable id (R1, R3 … R43; there is no R2), and §1 to §7 name the groups of
//! rules below. Code comments, test names, plans, audit entries and error messages name them,
//! so a search for `R22` finds the rule here, its code and its tests. Items of this crate are
//! linked; code of the crates that depend on this one (`picsync_engine`, `picsync_state`, the
//! two API clients, the Lambda functions and the CLI) is named by its path. Where the rules
//! left a question open, picsync took a decision: each is marked **Decision** below and listed in
//! the README, section "Decisions taken where SPEC.md is silent".
//!
//! # §1 Vocabulary and matching
//!
//! picsync keeps a PICS learner (the apprenticeship MIS) and a OneFile learner (the e-portfolio)
//! in step. They are linked when the PICS learner holds the OneFile user id. A PICS Delivery
//! Plan qualification is matched to a OneFile learning aim when its VQ Reference equals the
//! code of the aim's standard ([`crate::Catalogue::matching`], [`crate::Rule::Match`], shown as
//! "§1" in plans). A PICS review is linked to a OneFile review through its "OneFile System ID".
//! A PICS officer is linked to a OneFile assessor (role 5) through its Other System ID, and an
//! organisation to a OneFile placement through its Additional ID; with `multiple_centres` both
//! are instead found by MIS value equal to the PICS Ident ([`crate::PicsOfficer::linked`],
//! [`crate::PicsOrganisation::linked`]). A learner's employer is its most recent placement of
//! type P, else its most recent placement of any type ([`crate::PicsLearner::employer`]).
//! With `classroom_from_main_tag`, the learner's Main Tag names its OneFile classroom (R7).
//!
//! A *tenant* is one training provider: one PICS, one OneFile customer token, one set of
//! settings; one deployment serves many.
//!
//! # §2 Settings
//!
//! [`crate::Settings`] holds one tenant's settings with their defaults: `integration_enabled`
//! (off, R1), `desktop_integration_disabled` (off, R42), `environment` (R5), the three
//! demographics directions (`ignore`, R32), `upload_reviews` and `download_reviews` (on, R15,
//! R20, R21), `visit_type` and its table of OneFile ids (R16), `additional_assessor_roles`
//! (R11), `classroom_from_main_tag` (R7), `push_new_qualifications` (on, R37),
//! `multiple_centres` (§1), `onefile_calls_per_minute` (280, R35), `full_sweep_hours` (§6) and
//! `review_reads` (`learner`; `centre` reads a run's reviews centre-wide, issue 16).
//! Unknown keys and bad values are refused with the key named ([`crate::Settings::validate`],
//! [`crate::settings::SettingsError`]). Secrets (the OneFile customer token, the PICS API
//! credentials) are never settings: they come from AWS Secrets Manager or a local secrets file
//! and never appear in logs, errors or test output.
//!
//! # §3 Operations
//!
//! Enrol a learner (§4, `picsync_engine::Engine::enrol`); link one to an existing OneFile
//! learner (R14, `picsync_engine::Engine::link`); sync a tenant (§5, `Engine::start_run`,
//! `Engine::run_tenant`); refresh one learner (R4); refresh the learning-aim list (R34,
//! `Engine::refresh_aims`); test the connection (`Engine::check`); and plan any of them without
//! writing (R38).
//!
//! # Rules
//!
//! ## Tenant
//!
//! - **R1** Integration off means no OneFile call. [`crate::Settings`]`::integration_enabled`
//!   defaults to false; `picsync_engine::Engine::check_enabled` refuses a disabled tenant before
//!   any call, in the CLI, the scheduler and the worker. **Decision**: the connection test
//!   (`picsync check`) runs while the integration is off.
//! - **R3** A learner is synced when it is linked, its PICS system status is Live, and it is
//!   either in learning or ended at most one calendar month ago, dates taken in Europe/London
//!   ([`crate::plan::in_scope`], [`crate::plan::scope`]). **Decision**: "one month ago" is today
//!   minus one month, clamped to the end of a shorter month; an end on that day is still in
//!   scope. A learner out of scope is listed as skipped, with the reason.
//! - **R4** Refreshing one learner is the same exchange as the sync, restricted to that learner
//!   (`picsync sync --learner`, `RunOptions::learners` in `picsync_engine`): it plans with
//!   [`crate::plan::plan`] and applies like any sync.
//! - **R5** The `environment` setting picks OneFile's servers: live, practice, beta or a custom
//!   base URL ([`crate::settings::Environment`], checked by [`crate::settings::check_url`]); the
//!   customer token belongs to one of them. The OneFile client takes its base URL from it
//!   (`picsync_onefile::OneFileConfig`).
//!
//! ## §4 Enrolment
//!
//! Planned whole by [`crate::enrol::plan_enrolment`] before anything is written: every check
//! runs first, and a problem ([`crate::enrol::Problem`]) stops the enrolment with nothing
//! created. `picsync_engine::Engine::enrol` then performs the steps, each OneFile create through
//! an intent (§7), so a retry after a crash resumes and never makes a second record.
//!
//! - **R6** The new OneFile learner carries the learner's names, email, telephone, mobile, date
//!   of birth, ULN, NI number, start and planned end dates, ethnicity, sex and disability
//!   ([`crate::DemographicField`]), its MIS value is the PICS Ident (**Decision**), its default
//!   assessor is the Main Officer's assessor and its placement the employer of §1
//!   ([`crate::enrol::Enrolment`]).
//! - **R7** With `classroom_from_main_tag`, the classroom is the OneFile class named like the
//!   Main Tag, created when there is none (**Decision**); otherwise the centre's default
//!   classroom, which is its lowest-id classroom (**Decision**) ([`crate::enrol::ClassroomStep`]).
//! - **R8** Only qualifications matching a learning aim of the centre are assigned
//!   ([`crate::enrol::AimStep`]); the others are reported as skipped and the enrolment goes on.
//! - **R9** A qualification whose learning aim has several pathways needs the pathway chosen in
//!   the request ([`crate::enrol::EnrolChoices`]); without it the enrolment fails before writing.
//! - **R10** Likewise for a learning aim offered by several centres. **Decision**: with
//!   `multiple_centres`, the cached catalogue covers every centre of the customer and is
//!   reloaded when the setting changes.
//! - **R11** Every officer the learner needs (Main Officer, each qualification's assessor, each
//!   review's officer, officers in `additional_assessor_roles`) is reused when linked; otherwise
//!   a OneFile assessor is created from its name and email and the PICS officer is linked to it
//!   ([`crate::enrol::AssessorStep`]). **Decision**: OneFile requires an email, so an officer
//!   without one cannot become a new assessor; an officer held by exactly one OneFile user of an
//!   assessing role ([`crate::enrol::ASSESSING_ROLES`]) is linked, held by a user of another
//!   role the enrolment is refused.
//! - **R12** Two or more OneFile users (archived ones included, every role) holding the MIS value
//!   being matched stop the enrolment with an error naming each, and nothing is created.
//! - **R13** The employer is reused when linked, otherwise created as a OneFile placement and
//!   linked, as for officers ([`crate::enrol::PlacementStep`]).
//! - **R14** A linked learner is never created again; a OneFile learner whose MIS value equals
//!   the Ident is linked instead of duplicated ([`crate::enrol::EnrolPlan`]). Linking by hand
//!   (`picsync_engine::Engine::link`) creates nothing.
//! - **R15** With `upload_reviews`, the learner's eligible reviews (R17) go up at enrolment
//!   ([`crate::enrol_reviews::plan_enrolment_reviews`]; a dry run lists them with
//!   [`crate::enrol_reviews::plan_dry_run_reviews`]). **Decision**: this ignores R3 scope.
//!
//! ## §5 Synchronisation of one learner
//!
//! [`crate::plan::plan`] decides every change for one learner from both sides, the baseline,
//! the settings, the mode and today's date; each change names its rule ([`crate::Rule`]).
//! `picsync_engine` reads the two sides, calls it, and applies the [`crate::Plan`]
//! (`shared/engine/src/learner.rs`, `shared/engine/src/writer.rs`). [`crate::apply`] replays a
//! plan on a view, for the tests that check a second plan after the first is empty.
//!
//! ### Reviews
//!
//! - **R16** An uploaded review is scheduled at the PICS proposed date and time, ends 60 minutes
//!   later ([`crate::plan::review_times`]), and its visit carries the OneFile id of the
//!   `visit_type` setting ([`crate::Settings::visit_type_id`]). **Decision**: the numeric ids are
//!   configurable (`visit_type_ids`), 0/1/2 by default.
//! - **R17** A PICS review may go up when it is of type Normal, its attendance and actual date
//!   are blank, its proposed date is set and it holds no OneFile id
//!   ([`crate::plan::eligible_for_upload`]).
//! - **R18** The OneFile review's assessor is the review officer's assessor, else the Main
//!   Officer's ([`crate::plan::upload_assessor`], [`crate::plan::r18_fallback`]).
//!   **Decision**: an unlinked review officer is reported as a warning.
//! - **R19** After upload the PICS review holds the OneFile review id, and a linked review never
//!   goes up again. The upload is exactly once across a crash between the OneFile create and
//!   the PICS write-back (§7, `shared/engine/src/writer.rs`, `upload_review`).
//! - **R20** With `upload_reviews`, the sync uploads every eligible review; without it, none.
//! - **R21** With `download_reviews`, each OneFile review updates the PICS review that holds its
//!   id, or creates a Normal PICS review when none does ([`crate::plan::NewPicsReview`]).
//!   Without it PICS reviews are left alone. No review is ever deleted, on either side.
//! - **R22** A downloaded review with a "started on" value is Attended, its actual date and time
//!   taken from it; otherwise the PICS attendance is kept. The proposed date and time follow
//!   OneFile's "scheduled for", and the reviewer becomes the officer linked to OneFile's
//!   assessor, except when that assessor was only the R18 fallback: then the PICS reviewer
//!   stays. Times are compared and written in whole seconds, PICS's precision
//!   ([`crate::time::whole_seconds`]), so OneFile's milliseconds never echo.
//!
//! ### Progress
//!
//! - **R23** For a linked qualification without units in PICS, Total Elements and Elements Done
//!   take OneFile's values.
//! - **R24** A qualification with units in PICS keeps its element values.
//!
//! ### Registration and certification
//!
//! Four fields per qualification, each decided on its own ([`crate::CertField`],
//! [`crate::plan::decide_cert`], [`crate::plan::CertDecision`]). Blank includes whitespace only
//! ([`crate::Value::Blank`]).
//!
//! - **R25** PICS blank, OneFile set: PICS takes OneFile's value.
//! - **R26** PICS set, OneFile blank: OneFile takes PICS's value.
//! - **R27** Both set and different: PICS takes OneFile's value.
//! - **R28** Both blank: nothing is written.
//!
//! With a baseline (R40) these apply to what changed since the last agreement; see R40.
//!
//! ### Initial mode
//!
//! [`crate::plan::Mode::Initial`]:
//!
//! - **R29** The first sync after enabling uploads every eligible Normal review of every linked
//!   learner, whatever its history.
//! - **R30** It applies R25–R28 literally to every linked learner's qualifications, ignoring any
//!   baseline.
//! - **R31** No setting of desktop PICS is read or respected: picsync has no such input, by
//!   construction (the only tie to the desktop routine is R42).
//!
//! ### Demographics
//!
//! - **R32** Per kind (learner, officer, organisation), `ignore` writes nothing after
//!   enrolment, `push` makes OneFile equal PICS, `pull` makes PICS equal OneFile, over the R6
//!   fields for learners, first name and surname for officers, name for organisations
//!   ([`crate::settings::Direction`], [`crate::DemographicField`]). **Decision**: a push or pull
//!   never blanks a field.
//! - **R33** Apart from R32, the sync never sends an enrolment field again.
//!
//! ### New qualifications
//!
//! - **R37** With `push_new_qualifications`, a Delivery Plan qualification added after
//!   enrolment that matches a learning aim is assigned to the OneFile learner and linked to the
//!   new aim. **Decision**: only when exactly one aim of the learner's centre matches, with at
//!   most one pathway (otherwise it is reported, as R9/R10 would need a choice); a
//!   qualification's start date stands for when it was added, so only one starting strictly
//!   after the day picsync enrolled or linked the learner ([`crate::plan::Context`]`::linked_on`)
//!   qualifies, and never in an initial run.
//!
//! ## Operations and safety
//!
//! - **R34** Refreshing qualification links replaces the cached catalogue of learning aims
//!   ([`crate::Catalogue`], kept in `picsync_state::TenantState`) and leaves "last
//!   synchronised" alone (`picsync_engine::Engine::refresh_aims`).
//! - **R35** One tenant's OneFile calls never exceed `onefile_calls_per_minute`, however many
//!   workers run: one `picsync_onefile::Pacer` per tenant per process, shared by the tenant's
//!   tasks; on Lambda a tenant's tasks share one SQS FIFO message group, so one worker at a
//!   time works for it (`picsync_aws`, `functions/worker`); enrol, link and refresh-aims run
//!   under the tenant's lease, never beside a run. A 429 is waited out and retried without
//!   spending an attempt (`picsync_http`), and never fails a learner by itself. See the OneFile
//!   client's crate page, "Rate limit".
//! - **R36** "Last synchronised" moves only when a tenant-wide run completes
//!   (`picsync_state::TenantState::last_synchronised`, closed in `shared/engine/src/run.rs`).
//!   **Decision**: an abandoned run moves neither it nor the initial run's completion.
//! - **R38** A plan (dry run) writes nothing anywhere, not even picsync's state, and lists
//!   exactly what the real run would do: the same [`crate::plan::plan`] result, not applied.
//!   **Decision**: a dry run is refused while a run holds the tenant's lease, since it may not
//!   take the lease itself.
//! - **R39** One sync routine per tenant at a time: a run takes the tenant's lease
//!   (`picsync_state::LeaseStore`), a second start is refused with a clear message, and a run
//!   whose holder died is reconciled (`picsync_engine::Engine::reconcile`). **Decision**:
//!   enrol, link and refresh-aims take the lease too.
//! - **R40** No echo: a value the sync wrote itself is not taken for a user change next time.
//!   In periodic runs the last agreed values are kept ([`crate::Baseline`]): a
//!   registration/certification field changed on one side only travels to the other; changed
//!   on both, OneFile wins (R27); cleared on one side, it is reported and neither refilled nor
//!   propagated. Initial runs (R30) ignore the baseline. The OneFile client also reads back
//!   the Assumed fields after their first write, so that a write OneFile silently dropped is
//!   not taken for agreement.
//! - **R41** A PICS write never overwrites a change made in PICS after the sync read it: every
//!   write under a learner is conditional on the learner's row version (see the PICS client's
//!   crate page, "Conditional writes"); on a conflict the learner is re-read and re-planned, a
//!   bounded number of times (`shared/engine/src/learner.rs`).
//! - **R42** A tenant cannot be enabled until `desktop_integration_disabled` is true, since two
//!   routines writing to OneFile create duplicates ([`crate::Settings::validate`],
//!   [`crate::settings::SettingsError`]); the error says what to do.
//! - **R43** The first run after enabling is initial without being asked
//!   (`picsync_state::TenantState::initial_done`); later runs are periodic unless started as
//!   initial. **Decision**: refusing a disabled tenant records the disabling, so the first run
//!   after it is enabled again is initial too.
//!
//! # §6 Incremental work
//!
//! A periodic run skips a learner only when neither side provably changed since its last
//! successful sync: PICS's last-modified time and OneFile's `LastModified` are no newer than the
//! cursors recorded then, and no attempt has failed since (`picsync_state::LearnerState`,
//! decided in `shared/engine/src/run.rs`). Because nobody documents which OneFile changes move
//! a learner's `LastModified`, every learner in scope is compared in full every
//! `full_sweep_hours` (daily by default). Cursors advance only once every change planned from
//! them was applied. **Decisions**: a full comparison is due `full_sweep_hours` after the last,
//! less min(10 min, half the interval), so an early schedule never slips a day and the
//! 15-minute schedule's run before the nightly sweep does not sweep too; PICS's local
//! `LastModified` is compared in UTC, and in the repeated autumn hour reads as changed; the
//! values left by the sync's own writes are recorded, so they are not taken for user changes.
//!
//! # §7 Guarantees
//!
//! - **At most once.** Every OneFile create (learner, assessor, placement, classroom, learning
//!   aim, visit, review) happens at most once per PICS record across retries, redeliveries,
//!   timeouts and crashes: picsync records an intent before the call (`picsync_state::Intent`),
//!   searches OneFile for the record before creating it again, and writes the new id back
//!   (`shared/engine/src/writer.rs`, `claim`). Creates are resent only when OneFile certainly
//!   did not act (see the OneFile client's crate page). **Decisions**: a record created earlier
//!   is reused only while OneFile still holds it; a claim lasts as long as the slowest create
//!   the retry policy allows; a visit that cannot be found is not created twice.
//! - **Isolation.** A failure, or a panic, in one learner fails that learner alone; a learner
//!   that keeps failing ends in the dead-letter queue with its reason and is retried by the
//!   next run (`functions/worker`, `shared/engine/src/run.rs`).
//! - **Audit.** Every change written, on either side, is recorded with tenant, learner,
//!   entity, field, old and new values, rule and run (`picsync_state::AuditEntry`), and can be
//!   listed per learner (`picsync audit`).
//! - **Bad input** (a malformed invocation or API reply, a missing secret, an unknown tenant)
//!   gives an error naming what is wrong and writes nothing. **Decision**: a date outside the
//!   years [`crate::time::FIRST_YEAR`]..=[`crate::time::LAST_YEAR`] from either system is
//!   malformed input.
//!
//! # Decisions
//!
//! Beyond those above: a PICS learner re-linked to another OneFile learner drops its baseline
//! and cursors, moves its reviews' and qualifications' links to the new learner, and is
//! reconciled as in an initial run ([`crate::relink::relink`]). The full list, with the
//! reasons, is in the README, section "Decisions taken where SPEC.md is silent".
