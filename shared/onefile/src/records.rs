//! OneFile records as picsync reads and writes them (the crate page, "Endpoints used").
//!
//! Plain structs with snake_case fields; on the wire they are PascalCase (names in
//! [`crate::fields`]). Every field OneFile may omit or null is an `Option`. Date-only fields
//! are `NaiveDate` (read in Europe/London, sent as midnight UTC); instants are `DateTime<Utc>`.
//! Input structs for updates send only the fields that are `Some` (partial updates); a `None`
//! leaves OneFile's value as it is (clearing a field is not supported by this client).

use chrono::{DateTime, NaiveDate, Utc};
use picsync_domain::{
    DemographicField, Demographics, OfAimId, OfCentreId, OfClassroomId, OfCustomerId, OfPathwayId,
    OfPlacementId, OfReviewId, OfStandardId, OfUserId, OfVisitId,
};
use serde_json::{Map, Value};

use crate::error::OneFileError;
use crate::fields as f;
use crate::wire::{Body, Obj};

/// OneFile role codes (Doc).
pub mod role {
    /// Learner.
    pub const LEARNER: i64 = 1;
    /// Trainee assessor.
    pub const TRAINEE_ASSESSOR: i64 = 4;
    /// Assessor / tutor.
    pub const ASSESSOR: i64 = 5;
    /// Internal quality assurer.
    pub const IQA: i64 = 10;
    /// Employer.
    pub const EMPLOYER: i64 = 40;
    /// Observer.
    pub const OBSERVER: i64 = 45;
    /// Every documented role (R12 counts users of all of them).
    pub const ALL: [i64; 6] = [LEARNER, TRAINEE_ASSESSOR, ASSESSOR, IQA, EMPLOYER, OBSERVER];
}

/// Whether two MIS values are the same: equal once trimmed, ignoring case (OneFile's MISID
/// filter may match by "contains": the crate page, "Conventions").
pub fn same_mis_value(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Reads a record from the wire; `endpoint` names the call in errors.
pub(crate) trait FromWire: Sized {
    /// The record's name in errors.
    const KIND: &'static str;
    fn from_obj(o: &Obj<'_>) -> Result<Self, OneFileError>;
    fn from_map(endpoint: &str, m: &Map<String, Value>) -> Result<Self, OneFileError> {
        Self::from_obj(&Obj::new(endpoint, Self::KIND, m))
    }
}

/// The customer (`GET /Customer`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Customer {
    /// Customer id.
    pub id: OfCustomerId,
    /// Customer name.
    pub name: Option<String>,
}

impl FromWire for Customer {
    const KIND: &'static str = "customer";
    fn from_obj(o: &Obj<'_>) -> Result<Self, OneFileError> {
        Ok(Self {
            id: o.id()?,
            name: o.opt_str(f::NAME)?,
        })
    }
}

/// A centre (`POST /Organisation/Search`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Centre {
    /// Organisation id.
    pub id: OfCentreId,
    /// Centre name.
    pub name: Option<String>,
}

impl FromWire for Centre {
    const KIND: &'static str = "centre";
    fn from_obj(o: &Obj<'_>) -> Result<Self, OneFileError> {
        Ok(Self {
            id: o.id()?,
            name: o.opt_str(f::NAME)?,
        })
    }
}

/// A user of any role (learner, assessor, employer, …).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct User {
    /// User id.
    pub id: OfUserId,
    /// Centre.
    pub organisation_id: Option<OfCentreId>,
    /// Role code ([`role`]).
    pub role: Option<i64>,
    /// The demographic fields of R6 (names and email for every role), under the OneFile names
    /// of the domain's table ([`DemographicField::onefile_name`]).
    pub demographics: Demographics,
    /// MIS value (for learners, the PICS Ident).
    pub mis_id: Option<String>,
    /// Default assessor.
    pub default_assessor_id: Option<OfUserId>,
    /// Classroom.
    pub classroom_id: Option<OfClassroomId>,
    /// Placement (employer).
    pub placement_id: Option<OfPlacementId>,
    /// Archived (User/Search returns archived users too).
    pub archived: Option<bool>,
    /// Last change.
    pub last_modified: Option<DateTime<Utc>>,
    /// Progress percentage.
    pub progress: Option<f64>,
}

impl FromWire for User {
    const KIND: &'static str = "user";
    fn from_obj(o: &Obj<'_>) -> Result<Self, OneFileError> {
        Ok(Self {
            id: o.id()?,
            organisation_id: o.opt_id(f::ORGANISATION_ID)?,
            role: o.opt_i64(f::ROLE)?,
            demographics: o.demographics()?,
            mis_id: o.opt_str(f::MIS_ID)?,
            default_assessor_id: o.opt_id(f::DEFAULT_ASSESSOR_ID)?,
            classroom_id: o.opt_id(f::CLASSROOM_ID)?,
            placement_id: o.opt_id(f::PLACEMENT_ID)?,
            archived: o.opt_bool(f::ARCHIVED)?,
            last_modified: o.opt_datetime(f::LAST_MODIFIED)?,
            progress: o.opt_f64(f::PROGRESS)?,
        })
    }
}

/// Filters of `POST /User/Search` (organisation and role are required).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserSearch {
    /// Centre.
    pub organisation_id: OfCentreId,
    /// Role code ([`role`]).
    pub role: i64,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// MIS value.
    pub mis_id: Option<String>,
    /// Only users changed at or after this time (Seen).
    pub last_modified: Option<DateTime<Utc>>,
}

impl UserSearch {
    /// Every user of `role` in the centre.
    pub fn new(organisation_id: OfCentreId, role: i64) -> Self {
        Self {
            organisation_id,
            role,
            ..Self::default()
        }
    }

    /// Whether a user OneFile returned for this search matches it on what must be exact: the
    /// role (when the record says) and the MIS value (trimmed, ignoring case).
    ///
    /// **Decision**: the other filters are left as OneFile answered. Names may match by
    /// "contains"; a wider `LastModified` result only costs work; and a user of another centre
    /// is kept, because dropping a holder of a MIS value on a field whose meaning in search
    /// rows is not documented could make R12/R14 miss it and create a duplicate, while
    /// counting one too many only refuses an enrolment with the user named.
    pub fn accepts(&self, u: &User) -> bool {
        u.role.is_none_or(|r| r == self.role)
            && self.mis_id.as_deref().is_none_or(|want| {
                u.mis_id
                    .as_deref()
                    .is_some_and(|held| same_mis_value(held, want))
            })
    }

    pub(crate) fn to_wire(&self) -> Value {
        Body::new()
            .id(f::ORGANISATION_ID, self.organisation_id)
            .put(f::ROLE, self.role)
            .opt(DemographicField::FirstName.onefile_name(), &self.first_name)
            .opt(DemographicField::Surname.onefile_name(), &self.last_name)
            .opt(f::MIS_ID, &self.mis_id)
            .instant(f::LAST_MODIFIED, self.last_modified)
            .build()
    }
}

/// A new user (`POST /User`). Learners need the default assessor, classroom and placement
/// (Doc); assessors and employers do not.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewUser {
    /// Centre.
    pub organisation_id: OfCentreId,
    /// Role code ([`role`]).
    pub role: i64,
    /// The demographic fields (R6; names and email for every role). The ones OneFile requires
    /// ([`DemographicField::required_in_onefile`]) are sent even when blank, as `""`.
    pub demographics: Demographics,
    /// MIS value (R6: the PICS Ident for learners).
    pub mis_id: Option<String>,
    /// Default assessor (learners).
    pub default_assessor_id: Option<OfUserId>,
    /// Default employer (learners).
    pub default_employer_id: Option<OfUserId>,
    /// Classroom (learners).
    pub classroom_id: Option<OfClassroomId>,
    /// Placement (learners).
    pub placement_id: Option<OfPlacementId>,
}

impl NewUser {
    pub(crate) fn to_wire(&self) -> Value {
        Body::new()
            .id(f::ORGANISATION_ID, self.organisation_id)
            .put(f::ROLE, self.role)
            .opt(f::MIS_ID, &self.mis_id)
            .opt_id(f::DEFAULT_ASSESSOR_ID, self.default_assessor_id)
            .opt_id(f::DEFAULT_EMPLOYER_ID, self.default_employer_id)
            .opt_id(f::CLASSROOM_ID, self.classroom_id)
            .opt_id(f::PLACEMENT_ID, self.placement_id)
            .demographics(&self.demographics, true)
            .build()
    }
}

/// A partial user update (`POST /User/{id}`): only the fields set are sent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserUpdate {
    /// The demographic fields to set; a blank one is not sent (this client does not clear).
    pub demographics: Demographics,
    /// MIS value.
    pub mis_id: Option<String>,
    /// Default assessor.
    pub default_assessor_id: Option<OfUserId>,
    /// Classroom.
    pub classroom_id: Option<OfClassroomId>,
    /// Placement.
    pub placement_id: Option<OfPlacementId>,
}

impl UserUpdate {
    pub(crate) fn to_wire(&self) -> Value {
        Body::new()
            .demographics(&self.demographics, false)
            .opt(f::MIS_ID, &self.mis_id)
            .opt_id(f::DEFAULT_ASSESSOR_ID, self.default_assessor_id)
            .opt_id(f::CLASSROOM_ID, self.classroom_id)
            .opt_id(f::PLACEMENT_ID, self.placement_id)
            .build()
    }
}

/// Assigns an assessor or employer to a learner (`POST /User/{id}/Assign`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Assignment {
    /// The learner.
    pub learner_id: OfUserId,
    /// Assignment level.
    pub level: i64,
    /// Restricts the assignment to one standard.
    pub standard_id: Option<OfStandardId>,
}

impl Assignment {
    pub(crate) fn to_wire(&self) -> Value {
        Body::new()
            .id(f::LEARNER_ID, self.learner_id)
            .put(f::LEVEL, self.level)
            .opt_id(f::STANDARD_ID, self.standard_id)
            .build()
    }
}

/// A classroom (`POST /Classroom/Search`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Classroom {
    /// Classroom id.
    pub id: OfClassroomId,
    /// Centre.
    pub organisation_id: Option<OfCentreId>,
    /// Name (R7: matched against the learner's Main Tag).
    pub name: Option<String>,
    /// MIS value.
    pub mis_id: Option<String>,
}

impl FromWire for Classroom {
    const KIND: &'static str = "classroom";
    fn from_obj(o: &Obj<'_>) -> Result<Self, OneFileError> {
        Ok(Self {
            id: o.id()?,
            organisation_id: o.opt_id(f::ORGANISATION_ID)?,
            name: o.opt_str(f::NAME)?,
            mis_id: o.opt_str(f::MIS_ID)?,
        })
    }
}

/// A new classroom (`POST /Classroom`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewClassroom {
    /// Centre.
    pub organisation_id: OfCentreId,
    /// Name.
    pub name: String,
    /// MIS value.
    pub mis_id: Option<String>,
}

impl NewClassroom {
    pub(crate) fn to_wire(&self) -> Value {
        Body::new()
            .id(f::ORGANISATION_ID, self.organisation_id)
            .put(f::NAME, self.name.clone())
            .opt(f::MIS_ID, &self.mis_id)
            .build()
    }
}

/// A placement (employer).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Placement {
    /// Placement id.
    pub id: OfPlacementId,
    /// Centre.
    pub organisation_id: Option<OfCentreId>,
    /// Name.
    pub name: Option<String>,
    /// MIS value.
    pub mis_id: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Active.
    pub active: Option<bool>,
}

impl FromWire for Placement {
    const KIND: &'static str = "placement";
    fn from_obj(o: &Obj<'_>) -> Result<Self, OneFileError> {
        Ok(Self {
            id: o.id()?,
            organisation_id: o.opt_id(f::ORGANISATION_ID)?,
            name: o.opt_str(f::NAME)?,
            mis_id: o.opt_str(f::MIS_ID)?,
            address: o.opt_str(f::ADDRESS)?,
            active: o.opt_bool(f::ACTIVE)?,
        })
    }
}

/// A new placement (`POST /Placement`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewPlacement {
    /// Centre.
    pub organisation_id: OfCentreId,
    /// Name.
    pub name: String,
    /// MIS value.
    pub mis_id: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Active.
    pub active: bool,
}

impl NewPlacement {
    pub(crate) fn to_wire(&self) -> Value {
        Body::new()
            .id(f::ORGANISATION_ID, self.organisation_id)
            .put(f::NAME, self.name.clone())
            .opt(f::MIS_ID, &self.mis_id)
            .opt(f::ADDRESS, &self.address)
            .put(f::ACTIVE, self.active)
            .build()
    }
}

/// A partial placement update (`POST /Placement/{id}`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlacementUpdate {
    /// Name.
    pub name: Option<String>,
    /// MIS value.
    pub mis_id: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Active.
    pub active: Option<bool>,
}

impl PlacementUpdate {
    pub(crate) fn to_wire(&self) -> Value {
        Body::new()
            .opt(f::NAME, &self.name)
            .opt(f::MIS_ID, &self.mis_id)
            .opt(f::ADDRESS, &self.address)
            .opt(f::ACTIVE, &self.active)
            .build()
    }
}

/// A pathway of a standard.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pathway {
    /// Pathway id.
    pub id: OfPathwayId,
    /// Name.
    pub name: Option<String>,
}

impl FromWire for Pathway {
    const KIND: &'static str = "pathway";
    fn from_obj(o: &Obj<'_>) -> Result<Self, OneFileError> {
        Ok(Self {
            id: o.id()?,
            name: o.opt_str(f::NAME)?,
        })
    }
}

/// A learning aim available to a centre (`POST /Standard/Search`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Standard {
    /// Standard id.
    pub id: OfStandardId,
    /// Code, matched against the PICS VQ Reference (field name Assumed: [`f::STANDARD_CODE`]).
    pub code: Option<String>,
    /// Title (`Title`, else `Name`).
    pub title: Option<String>,
    /// Pathways (R9: several need an explicit choice).
    pub pathways: Vec<Pathway>,
}

impl FromWire for Standard {
    const KIND: &'static str = "standard";
    fn from_obj(o: &Obj<'_>) -> Result<Self, OneFileError> {
        let pathways = o
            .objects(f::PATHWAYS)?
            .into_iter()
            .map(|m| Pathway::from_obj(&o.child(Pathway::KIND, m)))
            .collect::<Result<_, _>>()?;
        let title = match o.opt_str(f::TITLE)? {
            Some(t) => Some(t),
            None => o.opt_str(f::NAME)?,
        };
        Ok(Self {
            id: o.id()?,
            code: o.opt_str(f::STANDARD_CODE)?,
            title,
            pathways,
        })
    }
}

/// A learner's learning aim (a standard assigned to them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LearningAim {
    /// Learning aim id.
    pub id: OfAimId,
    /// The learner.
    pub user_id: Option<OfUserId>,
    /// The standard.
    pub standard_id: Option<OfStandardId>,
    /// Start date.
    pub start_date: Option<NaiveDate>,
    /// Planned end.
    pub planned_end: Option<NaiveDate>,
    /// Status code.
    pub status: Option<i64>,
    /// Registration number (R25–R28).
    pub registration_number: Option<String>,
    /// Registration date (R25–R28).
    pub registration_date: Option<NaiveDate>,
    /// Certificate applied for (R25–R28).
    pub certificate_applied_date: Option<NaiveDate>,
    /// Certificate received (R25–R28; name Assumed, [`f::CERTIFICATE_RECEIVED_DATE`]).
    pub certificate_received_date: Option<NaiveDate>,
    /// Achieved.
    pub achieved_date: Option<NaiveDate>,
    /// Total elements (R23; name Assumed, [`f::TOTAL_ELEMENTS`]).
    pub total_elements: Option<i64>,
    /// Elements done (R23; name Assumed, [`f::ELEMENTS_DONE`]).
    pub elements_done: Option<i64>,
    /// Progress percentage.
    pub progress: Option<f64>,
}

impl FromWire for LearningAim {
    const KIND: &'static str = "learning aim";
    fn from_obj(o: &Obj<'_>) -> Result<Self, OneFileError> {
        Ok(Self {
            id: o.id()?,
            user_id: o.opt_id(f::USER_ID)?,
            standard_id: o.opt_id(f::STANDARD_ID)?,
            start_date: o.opt_date(f::START_DATE)?,
            planned_end: o.opt_date(f::PLANNED_END)?,
            status: o.opt_i64(f::STATUS)?,
            registration_number: o.opt_str(f::REGISTRATION_NUMBER)?,
            registration_date: o.opt_date(f::REGISTRATION_DATE)?,
            certificate_applied_date: o.opt_date(f::CERTIFICATE_APPLIED_DATE)?,
            certificate_received_date: o.opt_date(f::CERTIFICATE_RECEIVED_DATE)?,
            achieved_date: o.opt_date(f::ACHIEVED_DATE)?,
            total_elements: o.opt_i64(f::TOTAL_ELEMENTS)?,
            elements_done: o.opt_i64(f::ELEMENTS_DONE)?,
            progress: o.opt_f64(f::PROGRESS)?,
        })
    }
}

impl LearningAim {
    /// What the aim holds in an **Assumed** field (`name` is one of [`LearningAimUpdate`]'s).
    pub(crate) fn assumed(&self, name: &str) -> Option<AssumedValue> {
        match name {
            f::CERTIFICATE_RECEIVED_DATE => self.certificate_received_date.map(AssumedValue::Date),
            f::TOTAL_ELEMENTS => self.total_elements.map(AssumedValue::Int),
            f::ELEMENTS_DONE => self.elements_done.map(AssumedValue::Int),
            _ => None,
        }
    }
}

/// A partial learning-aim update (`POST /LearningAim/{id}`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LearningAimUpdate {
    /// Start date.
    pub start_date: Option<NaiveDate>,
    /// Planned end.
    pub planned_end: Option<NaiveDate>,
    /// Status code.
    pub status: Option<i64>,
    /// Registration number.
    pub registration_number: Option<String>,
    /// Registration date.
    pub registration_date: Option<NaiveDate>,
    /// Certificate applied for.
    pub certificate_applied_date: Option<NaiveDate>,
    /// Certificate received.
    pub certificate_received_date: Option<NaiveDate>,
    /// Achieved.
    pub achieved_date: Option<NaiveDate>,
    /// Total elements.
    pub total_elements: Option<i64>,
    /// Elements done.
    pub elements_done: Option<i64>,
}

/// A value sent in an **Assumed** learning-aim field, to compare with what OneFile stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AssumedValue {
    Date(NaiveDate),
    Int(i64),
}

impl LearningAimUpdate {
    /// The **Assumed** fields this update sends ([`f::CERTIFICATE_RECEIVED_DATE`],
    /// [`f::TOTAL_ELEMENTS`], [`f::ELEMENTS_DONE`]), with their values.
    pub(crate) fn assumed(&self) -> Vec<(&'static str, AssumedValue)> {
        let mut out = Vec::new();
        if let Some(d) = self.certificate_received_date {
            out.push((f::CERTIFICATE_RECEIVED_DATE, AssumedValue::Date(d)));
        }
        if let Some(n) = self.total_elements {
            out.push((f::TOTAL_ELEMENTS, AssumedValue::Int(n)));
        }
        if let Some(n) = self.elements_done {
            out.push((f::ELEMENTS_DONE, AssumedValue::Int(n)));
        }
        out
    }

    pub(crate) fn to_wire(&self) -> Value {
        Body::new()
            .date(f::START_DATE, self.start_date)
            .date(f::PLANNED_END, self.planned_end)
            .opt(f::STATUS, &self.status)
            .opt(f::REGISTRATION_NUMBER, &self.registration_number)
            .date(f::REGISTRATION_DATE, self.registration_date)
            .date(f::CERTIFICATE_APPLIED_DATE, self.certificate_applied_date)
            .date(f::CERTIFICATE_RECEIVED_DATE, self.certificate_received_date)
            .date(f::ACHIEVED_DATE, self.achieved_date)
            .opt(f::TOTAL_ELEMENTS, &self.total_elements)
            .opt(f::ELEMENTS_DONE, &self.elements_done)
            .build()
    }
}

/// A new visit (`POST /Visit`), to which an uploaded review belongs (R16).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewVisit {
    /// The learner.
    pub learner_id: OfUserId,
    /// Centre.
    pub organisation_id: OfCentreId,
    /// Start (R16: the proposed date/time).
    pub date_from: DateTime<Utc>,
    /// End (R16: start + 60 minutes).
    pub date_to: DateTime<Utc>,
    /// OneFile's numeric visit type (a configured mapping).
    pub visit_type_id: i64,
    /// Send an SMS reminder.
    pub sms_reminder: bool,
    /// The assessor (R18).
    pub assessor_id: OfUserId,
}

impl NewVisit {
    pub(crate) fn to_wire(&self) -> Value {
        Body::new()
            .id(f::LEARNER_ID, self.learner_id)
            .id(f::ORGANISATION_ID, self.organisation_id)
            .instant(f::DATE_FROM, Some(self.date_from))
            .instant(f::DATE_TO, Some(self.date_to))
            .put(f::VISIT_TYPE_ID, self.visit_type_id)
            .put(f::SMS_REMINDER, self.sms_reminder)
            .id(f::ASSESSOR_ID, self.assessor_id)
            .build()
    }
}

/// A visit (`POST /Visit/Search`; the search is **Assumed** by OneFile's conventions, it is
/// not in the documented list). Used to find a visit created before a crash (§7).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Visit {
    /// Visit id.
    pub id: OfVisitId,
    /// The learner.
    pub learner_id: Option<OfUserId>,
    /// Centre.
    pub organisation_id: Option<OfCentreId>,
    /// Start.
    pub date_from: Option<DateTime<Utc>>,
    /// End.
    pub date_to: Option<DateTime<Utc>>,
    /// Visit type.
    pub visit_type_id: Option<i64>,
    /// The assessor.
    pub assessor_id: Option<OfUserId>,
}

impl FromWire for Visit {
    const KIND: &'static str = "visit";
    fn from_obj(o: &Obj<'_>) -> Result<Self, OneFileError> {
        Ok(Self {
            id: o.id()?,
            learner_id: o.opt_id(f::LEARNER_ID)?,
            organisation_id: o.opt_id(f::ORGANISATION_ID)?,
            date_from: o.opt_datetime(f::DATE_FROM)?,
            date_to: o.opt_datetime(f::DATE_TO)?,
            visit_type_id: o.opt_i64(f::VISIT_TYPE_ID)?,
            assessor_id: o.opt_id(f::ASSESSOR_ID)?,
        })
    }
}

/// A new review (`POST /Review`); it is always created with `Status: 1`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewReview {
    /// The learner.
    pub learner_id: OfUserId,
    /// Scheduled for (R16).
    pub scheduled_for: DateTime<Utc>,
    /// The visit it belongs to.
    pub visit_id: Option<OfVisitId>,
    /// The assessor (R18).
    pub assessor_id: OfUserId,
}

/// The status a review is created with.
pub const NEW_REVIEW_STATUS: i64 = 1;

impl NewReview {
    pub(crate) fn to_wire(&self) -> Value {
        Body::new()
            .id(f::LEARNER_ID, self.learner_id)
            .put(f::STATUS, NEW_REVIEW_STATUS)
            .instant(f::SCHEDULED_FOR, Some(self.scheduled_for))
            .opt_id(f::VISIT_ID, self.visit_id)
            .id(f::ASSESSOR_ID, self.assessor_id)
            .build()
    }
}

/// A review.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Review {
    /// Review id.
    pub id: OfReviewId,
    /// The learner.
    pub learner_id: Option<OfUserId>,
    /// The centre, when OneFile says it (not Seen on reviews; read to guard centre-wide reads).
    pub organisation_id: Option<OfCentreId>,
    /// The assessor.
    pub assessor_id: Option<OfUserId>,
    /// The visit.
    pub visit_id: Option<OfVisitId>,
    /// Status code.
    pub status: Option<i64>,
    /// Created.
    pub created_on: Option<DateTime<Utc>>,
    /// Scheduled for (R22: the PICS proposed date/time).
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Started: "review started" (R22: the PICS actual date/time, attended).
    pub started_on: Option<DateTime<Utc>>,
    /// Signed by the assessor.
    pub assessor_signed_on: Option<DateTime<Utc>>,
    /// Signed by the learner.
    pub learner_signed_on: Option<DateTime<Utc>>,
    /// Signed by the employer.
    pub employer_signed_on: Option<DateTime<Utc>>,
    /// Progress percentage.
    pub progress: Option<f64>,
}

impl FromWire for Review {
    const KIND: &'static str = "review";
    fn from_obj(o: &Obj<'_>) -> Result<Self, OneFileError> {
        Ok(Self {
            id: o.id()?,
            learner_id: o.opt_id(f::LEARNER_ID)?,
            // not Seen on reviews and read only as an extra guard of centre-wide reads: a value
            // of another shape is left out rather than failing every review search (the
            // learner-id guard is the one that decides)
            organisation_id: o.opt_id(f::ORGANISATION_ID).ok().flatten(),
            assessor_id: o.opt_id(f::ASSESSOR_ID)?,
            visit_id: o.opt_id(f::VISIT_ID)?,
            status: o.opt_i64(f::STATUS)?,
            created_on: o.opt_datetime(f::CREATED_ON)?,
            scheduled_for: o.opt_datetime(f::SCHEDULED_FOR)?,
            started_on: o.opt_datetime(f::STARTED_ON)?,
            assessor_signed_on: o.opt_datetime(f::ASSESSOR_SIGNED_ON)?,
            learner_signed_on: o.opt_datetime(f::LEARNER_SIGNED_ON)?,
            employer_signed_on: o.opt_datetime(f::EMPLOYER_SIGNED_ON)?,
            progress: o.opt_f64(f::PROGRESS)?,
        })
    }
}

/// Filters of `POST /Review/Search` (all optional).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReviewSearch {
    /// Centre.
    pub organisation_id: Option<OfCentreId>,
    /// Learner.
    pub learner_id: Option<OfUserId>,
    /// Status code.
    pub status: Option<i64>,
    /// From (scheduled).
    pub date_from: Option<DateTime<Utc>>,
    /// To (scheduled).
    pub date_to: Option<DateTime<Utc>>,
}

impl ReviewSearch {
    /// Every review of one learner.
    pub fn for_learner(learner_id: OfUserId) -> Self {
        Self {
            learner_id: Some(learner_id),
            ..Self::default()
        }
    }

    pub(crate) fn to_wire(&self) -> Value {
        Body::new()
            .opt_id(f::ORGANISATION_ID, self.organisation_id)
            .opt_id(f::LEARNER_ID, self.learner_id)
            .opt(f::STATUS, &self.status)
            .instant(f::DATE_FROM, self.date_from)
            .instant(f::DATE_TO, self.date_to)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn learning_aim_reads_the_assumed_names_from_fields() {
        let m = map(json!({
            "ID": 5, "UserID": 2, "StandardID": 3,
            f::CERTIFICATE_RECEIVED_DATE: "2024-05-31T23:00:00Z",
            f::TOTAL_ELEMENTS: 40, f::ELEMENTS_DONE: "12", "Status": null
        }));
        let a = LearningAim::from_map("GET /LearningAim/5", &m).unwrap();
        assert_eq!(
            a.certificate_received_date,
            NaiveDate::from_ymd_opt(2024, 6, 1)
        );
        assert_eq!((a.total_elements, a.elements_done), (Some(40), Some(12)));
        assert_eq!(a.status, None);
        let u = LearningAimUpdate {
            certificate_received_date: NaiveDate::from_ymd_opt(2024, 6, 1),
            elements_done: Some(3),
            ..Default::default()
        };
        assert_eq!(
            u.to_wire(),
            json!({f::CERTIFICATE_RECEIVED_DATE: "2024-06-01T00:00:00.000Z", f::ELEMENTS_DONE: 3})
        );
    }

    #[test]
    fn standard_with_code_title_fallback_and_pathways() {
        let m = map(json!({
            "ID": 9, "Code": "ST0116", "Name": "Customer Service",
            "Pathways": [{"ID": 1, "Name": "A"}, {"ID": 2}]
        }));
        let s = Standard::from_map("POST /Standard/Search", &m).unwrap();
        assert_eq!(s.code.as_deref(), Some("ST0116"));
        assert_eq!(s.title.as_deref(), Some("Customer Service"));
        assert_eq!(s.pathways.len(), 2);
        let bad = map(json!({"ID": 9, "Pathways": [{"Name": "no id"}]}));
        let e = Standard::from_map("POST /Standard/Search", &bad).unwrap_err();
        assert!(e.to_string().contains("pathway without ID"), "{e}");
    }

    #[test]
    fn a_review_whose_organisation_is_of_an_unexpected_shape_still_reads() {
        // issue 16: `OrganisationID` is not Seen on reviews; it must not fail the search
        let m = map(json!({"ID": 4, "LearnerID": 2, "OrganisationID": {"ID": 7}}));
        let r = Review::from_map("POST /Review/Search", &m).unwrap();
        assert_eq!(
            (r.id, r.learner_id, r.organisation_id),
            (OfReviewId(4), Some(OfUserId(2)), None)
        );
        let m = map(json!({"ID": 4, "LearnerID": 2, "OrganisationID": "12"}));
        let r = Review::from_map("POST /Review/Search", &m).unwrap();
        assert_eq!(r.organisation_id, Some(OfCentreId(12)));
        // the fields that decide are still checked
        let m = map(json!({"ID": 4, "LearnerID": {"ID": 2}}));
        assert!(Review::from_map("POST /Review/Search", &m).is_err());
    }

    #[test]
    fn new_review_always_has_status_1() {
        let r = NewReview {
            learner_id: OfUserId(1),
            scheduled_for: DateTime::parse_from_rfc3339("2024-06-03T09:30:00Z")
                .unwrap()
                .with_timezone(&Utc),
            visit_id: Some(OfVisitId(4)),
            assessor_id: OfUserId(2),
        };
        assert_eq!(
            r.to_wire(),
            json!({"LearnerID": 1, "Status": 1, "ScheduledFor": "2024-06-03T09:30:00.000Z",
                   "VisitID": 4, "AssessorID": 2})
        );
    }

    /// Issue 15 item 2: the domain's field table is the one list of the user's demographic
    /// fields; every one is read, created and updated under its OneFile name.
    #[test]
    fn s15_every_demographic_field_is_read_and_written_under_its_onefile_name() {
        use picsync_domain::{FieldKind, Value as V};
        let mut d = Demographics::default();
        let mut wire = Map::new();
        for (i, f) in (1..).zip(DemographicField::ALL) {
            let (v, sent) = match f.kind() {
                FieldKind::Text => (V::Text(format!("v{i}")), json!(format!("v{i}"))),
                FieldKind::Date => {
                    let day = NaiveDate::from_ymd_opt(2000, 1, i).unwrap();
                    (V::Date(day), json!(format!("{day}T00:00:00.000Z")))
                }
            };
            assert!(d.set(f, &v));
            wire.insert(f.onefile_name().to_string(), sent);
        }
        let new = NewUser {
            demographics: d.clone(),
            ..NewUser::default()
        };
        let update = UserUpdate {
            demographics: d.clone(),
            ..UserUpdate::default()
        };
        for body in [new.to_wire(), update.to_wire()] {
            for (k, v) in &wire {
                assert_eq!(body.get(k), Some(v), "{k}");
            }
        }
        let mut read = wire.clone();
        read.insert("ID".into(), json!(1));
        let u = User::from_map("GET /User/1", &read).unwrap();
        assert_eq!(u.demographics, d);
        // a create sends the fields OneFile requires even when blank; an update sends no blank
        let blank = NewUser::default().to_wire();
        for f in DemographicField::ALL {
            let want = f.required_in_onefile().then(|| json!(""));
            assert_eq!(blank.get(f.onefile_name()), want.as_ref(), "{f:?}");
        }
    }

    #[test]
    fn user_with_nothing_but_an_id_reads() {
        let u = User::from_map("GET /User/1", &map(json!({"id": 1}))).unwrap();
        assert_eq!(
            u,
            User {
                id: OfUserId(1),
                ..User::default()
            }
        );
        assert!(
            UserUpdate::default()
                .to_wire()
                .as_object()
                .unwrap()
                .is_empty()
        );
    }
}
