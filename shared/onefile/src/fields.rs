//! Every JSON field name picsync reads from or sends to OneFile, in one place, except the
//! demographic fields' (the domain's field table, `picsync_domain::demographics`).
//!
//! Most names are documented or seen in public client code (the crate page). Four are
//! **Assumed** and must be confirmed against OneFile's Beta environment: the three
//! learning-aim names below ([`CERTIFICATE_RECEIVED_DATE`], [`TOTAL_ELEMENTS`],
//! [`ELEMENTS_DONE`]) and the standard's code ([`STANDARD_CODE`]). Confirming or correcting one
//! is a one-line change here; both reading and writing use these constants.
//!
//! Reading is case-insensitive (OneFile accepts and may return other key cases), so only the
//! spelling matters, not the case.

// --- Assumed (the crate page, "Assumed names") ----------------------------------------------

/// Learning aim: the certificate received date. **Assumed** name (synced by PICSWeb, undocumented).
pub const CERTIFICATE_RECEIVED_DATE: &str = "CertificateReceivedDate";
/// Learning aim: total elements. **Assumed** name (synced by PICSWeb, undocumented).
pub const TOTAL_ELEMENTS: &str = "TotalElements";
/// Learning aim: elements done. **Assumed** name (synced by PICSWeb, undocumented).
pub const ELEMENTS_DONE: &str = "ElementsDone";
/// Standard: the learning-aim code matched against the PICS VQ Reference. **Assumed** name.
pub const STANDARD_CODE: &str = "Code";

// --- Documented or seen -----------------------------------------------------------------------

/// Record id (every record).
pub const ID: &str = "ID";
/// Display name (customer, centre, classroom, placement, pathway).
pub const NAME: &str = "Name";
/// Standard title; [`NAME`] is read when it is absent.
pub const TITLE: &str = "Title";
/// Pathways of a standard (an array of `{ID, Name}`).
pub const PATHWAYS: &str = "Pathways";
/// Pathway chosen when assigning a standard (**Decision**: undocumented; sent only when set).
pub const PATHWAY_ID: &str = "PathwayID";
/// Customer id (centre search filter).
pub const CUSTOMER_ID: &str = "CustomerID";
/// Centre (organisation) id.
pub const ORGANISATION_ID: &str = "OrganisationID";
/// User role code (1 learner, 5 assessor, 40 employer, …).
pub const ROLE: &str = "Role";
/// MIS value (the PICS Ident for learners).
pub const MIS_ID: &str = "MISID";
// The demographic fields of a user (names, email, telephone, … L15) are not here: their OneFile
// names are a column of the domain's field table (`picsync_domain::demographics`), read by
// `DemographicField::onefile_name`.
/// Learner's default assessor.
pub const DEFAULT_ASSESSOR_ID: &str = "DefaultAssessorID";
/// Learner's default employer.
pub const DEFAULT_EMPLOYER_ID: &str = "DefaultEmployerID";
/// Learner's classroom.
pub const CLASSROOM_ID: &str = "ClassroomID";
/// Learner's placement (employer).
pub const PLACEMENT_ID: &str = "PlacementID";
/// Whether a user is archived.
pub const ARCHIVED: &str = "Archived";
/// Last change of a record (instant); also the user-search filter.
pub const LAST_MODIFIED: &str = "LastModified";
/// Progress percentage.
pub const PROGRESS: &str = "Progress";
/// Learner id (assignments, visits, reviews).
pub const LEARNER_ID: &str = "LearnerID";
/// Assignment level.
pub const LEVEL: &str = "Level";
/// Standard id (assignments, learning aims).
pub const STANDARD_ID: &str = "StandardID";
/// Placement address.
pub const ADDRESS: &str = "Address";
/// Placement active flag.
pub const ACTIVE: &str = "Active";
/// Learning aim: owning user.
pub const USER_ID: &str = "UserID";
/// Learning aim start date (date-only).
pub const START_DATE: &str = "StartDate";
/// Learning aim planned end (date-only).
pub const PLANNED_END: &str = "PlannedEnd";
/// Status code (learning aims, reviews).
pub const STATUS: &str = "Status";
/// Learning aim registration number.
pub const REGISTRATION_NUMBER: &str = "RegistrationNumber";
/// Learning aim registration date (date-only).
pub const REGISTRATION_DATE: &str = "RegistrationDate";
/// Learning aim certificate applied date (date-only).
pub const CERTIFICATE_APPLIED_DATE: &str = "CertificateAppliedDate";
/// Learning aim achieved date (date-only).
pub const ACHIEVED_DATE: &str = "AchievedDate";
/// Assessor of a visit or review.
pub const ASSESSOR_ID: &str = "AssessorID";
/// Visit of a review.
pub const VISIT_ID: &str = "VisitID";
/// Visit / review-search range start (instant).
pub const DATE_FROM: &str = "DateFrom";
/// Visit / review-search range end (instant).
pub const DATE_TO: &str = "DateTo";
/// Visit type (numeric, tenant-configured mapping).
pub const VISIT_TYPE_ID: &str = "VisitTypeID";
/// Visit SMS reminder flag.
pub const SMS_REMINDER: &str = "SMSReminder";
/// Review creation time (instant).
pub const CREATED_ON: &str = "CreatedOn";
/// Review scheduled time (instant).
pub const SCHEDULED_FOR: &str = "ScheduledFor";
/// Review started time (instant): "review started".
pub const STARTED_ON: &str = "StartedOn";
/// Review signed by the assessor (instant).
pub const ASSESSOR_SIGNED_ON: &str = "AssessorSignedOn";
/// Review signed by the learner (instant).
pub const LEARNER_SIGNED_ON: &str = "LearnerSignedOn";
/// Review signed by the employer (instant).
pub const EMPLOYER_SIGNED_ON: &str = "EmployerSignedOn";

/// Header carrying the customer token on `POST /Authentication`.
pub const CUSTOMER_TOKEN_HEADER: &str = "X-CustomerToken";
/// Header carrying the session on every other call.
pub const SESSION_HEADER: &str = "X-TokenID";
