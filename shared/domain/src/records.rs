//! The records the planner reads: a PICS learner with what hangs off it, and the OneFile side of
//! the same learner. They are snapshots taken by the engine through the API adapters; the
//! planner never fetches anything.

use crate::ids::*;
use crate::stored::stored_names;
use crate::value::Value;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

/// PICS system status of a learner. Only `Live` learners are synced (R3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SystemStatus {
    Live,
    Other(String),
}

impl SystemStatus {
    pub fn parse(s: Option<&str>) -> Self {
        match s.map(str::trim) {
            Some(t) if t.eq_ignore_ascii_case("live") => SystemStatus::Live,
            other => SystemStatus::Other(other.unwrap_or_default().to_string()),
        }
    }
}

/// PICS episode status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EpisodeStatus {
    InLearning,
    BreakInLearning,
    Ended,
    Other(String),
}

impl EpisodeStatus {
    pub fn parse(s: Option<&str>) -> Self {
        let t = s.unwrap_or_default().trim();
        let squashed: String = t
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        match squashed.as_str() {
            "inlearning" => EpisodeStatus::InLearning,
            "breakinlearning" => EpisodeStatus::BreakInLearning,
            "ended" => EpisodeStatus::Ended,
            _ => EpisodeStatus::Other(t.to_string()),
        }
    }
}

pub use crate::demographics::{DemographicField, Demographics, FieldKind};

/// The four registration and certification fields of R25–R28, per qualification; stored
/// (audit entries, baselines) under [`CertField::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CertField {
    RegistrationNumber,
    RegistrationDate,
    CertificateAppliedFor,
    CertificateReceived,
}

stored_names!(CertField {
    RegistrationNumber => "RegistrationNumber",
    RegistrationDate => "RegistrationDate",
    CertificateAppliedFor => "CertificateAppliedFor",
    CertificateReceived => "CertificateReceived",
});

impl CertField {
    pub const ALL: [CertField; 4] = [
        Self::RegistrationNumber,
        Self::RegistrationDate,
        Self::CertificateAppliedFor,
        Self::CertificateReceived,
    ];
}

/// Registration and certification values as one side holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertValues {
    pub registration_number: Option<String>,
    pub registration_date: Option<NaiveDate>,
    pub certificate_applied_for: Option<NaiveDate>,
    pub certificate_received: Option<NaiveDate>,
}

impl CertValues {
    pub fn get(&self, f: CertField) -> Value {
        match f {
            CertField::RegistrationNumber => Value::text(self.registration_number.as_deref()),
            CertField::RegistrationDate => Value::date(self.registration_date),
            CertField::CertificateAppliedFor => Value::date(self.certificate_applied_for),
            CertField::CertificateReceived => Value::date(self.certificate_received),
        }
    }

    pub fn set(&mut self, f: CertField, v: &Value) -> bool {
        match (f, v) {
            (CertField::RegistrationNumber, Value::Text(s)) => {
                self.registration_number = Some(s.clone());
            }
            (CertField::RegistrationNumber, Value::Blank) => self.registration_number = None,
            (CertField::RegistrationDate, v) => match date_or_blank(v) {
                Some(d) => self.registration_date = d,
                None => return false,
            },
            (CertField::CertificateAppliedFor, v) => match date_or_blank(v) {
                Some(d) => self.certificate_applied_for = d,
                None => return false,
            },
            (CertField::CertificateReceived, v) => match date_or_blank(v) {
                Some(d) => self.certificate_received = d,
                None => return false,
            },
            _ => return false,
        }
        true
    }
}

fn date_or_blank(v: &Value) -> Option<Option<NaiveDate>> {
    match v {
        Value::Blank => Some(None),
        Value::Date(d) => Some(Some(*d)),
        _ => None,
    }
}

/// A PICS review's type. Only `Normal` reviews are uploaded (R17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewType {
    Normal,
    Other(String),
}

impl ReviewType {
    pub fn parse(s: Option<&str>) -> Self {
        match s.map(str::trim) {
            Some(t) if t.eq_ignore_ascii_case("normal") => ReviewType::Normal,
            other => ReviewType::Other(other.unwrap_or_default().to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ReviewType::Normal => "Normal",
            ReviewType::Other(s) => s,
        }
    }
}

/// The PICS attended value of a review: blank, `Attended`, or anything else PICS holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Attendance {
    Attended,
    Other(String),
}

impl Attendance {
    /// Blank and whitespace read as no value (R17: "attended value is blank").
    pub fn parse(s: Option<&str>) -> Option<Self> {
        match s.map(str::trim) {
            None | Some("") => None,
            Some(t) if t.eq_ignore_ascii_case("attended") => Some(Attendance::Attended),
            Some(t) => Some(Attendance::Other(t.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Attendance::Attended => "Attended",
            Attendance::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PicsReview {
    pub id: ReviewId,
    pub kind: ReviewType,
    /// Proposed date/time, Europe/London wall clock.
    pub proposed: Option<NaiveDateTime>,
    pub attended: Option<Attendance>,
    /// Actual date/time, Europe/London wall clock.
    pub actual: Option<NaiveDateTime>,
    pub reviewer: Option<OfficerId>,
    /// "OneFile System ID": read-only in PICS, written by the sync (R19).
    pub onefile_id: Option<OfReviewId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PicsQualification {
    pub id: QualificationId,
    /// Matched against the OneFile learning-aim (standard) code (§1).
    pub vq_reference: Option<String>,
    pub title: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub planned_end_date: Option<NaiveDate>,
    pub assessor: Option<OfficerId>,
    /// A qualification with units keeps its element values (R24).
    pub has_units: bool,
    pub total_elements: Option<i64>,
    pub elements_done: Option<i64>,
    pub cert: CertValues,
    pub onefile_aim: Option<OfAimId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PicsPlacement {
    pub organisation: OrganisationId,
    /// Placement type; type `P` is the employer (§1).
    pub kind: Option<String>,
    pub start_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerOfficer {
    pub officer: OfficerId,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PicsLearner {
    pub id: LearnerId,
    pub ident: String,
    pub row_version: String,
    pub last_modified: Option<NaiveDateTime>,
    pub onefile_id: Option<OfUserId>,
    pub system_status: SystemStatus,
    pub episode_status: EpisodeStatus,
    pub actual_end_date: Option<NaiveDate>,
    pub demographics: Demographics,
    pub main_tag: Option<String>,
    pub main_officer: Option<OfficerId>,
    pub officers: Vec<LearnerOfficer>,
    pub placements: Vec<PicsPlacement>,
    pub qualifications: Vec<PicsQualification>,
    pub reviews: Vec<PicsReview>,
}

impl PicsLearner {
    /// The employer of §1: the most recent type-P placement, else the most recent of any type.
    pub fn employer(&self) -> Option<&OrganisationId> {
        let is_p = |p: &&PicsPlacement| {
            p.kind
                .as_deref()
                .is_some_and(|k| k.trim().eq_ignore_ascii_case("P"))
        };
        self.placements
            .iter()
            .filter(is_p)
            .max_by_key(|p| p.start_date)
            .or_else(|| self.placements.iter().max_by_key(|p| p.start_date))
            .map(|p| &p.organisation)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PicsOfficer {
    pub id: OfficerId,
    pub ident: String,
    pub first_name: Option<String>,
    pub surname: Option<String>,
    /// OneFile requires an email to create an assessor (R11).
    pub email: Option<String>,
    /// Holds the linked OneFile assessor id, as text.
    pub other_system_id: Option<String>,
}

impl PicsOfficer {
    /// The OneFile user this officer is linked to by Other System ID, if it holds a number.
    pub fn linked(&self) -> Option<OfUserId> {
        parse_link(self.other_system_id.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PicsOrganisation {
    pub id: OrganisationId,
    pub ident: String,
    pub name: Option<String>,
    /// Holds the linked OneFile placement id, as text.
    pub additional_id: Option<String>,
}

impl PicsOrganisation {
    pub fn linked(&self) -> Option<OfPlacementId> {
        parse_link(self.additional_id.as_deref()).map(|u| OfPlacementId(u.0))
    }
}

fn parse_link(s: Option<&str>) -> Option<OfUserId> {
    s.and_then(|t| t.trim().parse::<i64>().ok())
        .filter(|n| *n > 0)
        .map(OfUserId)
}

/// A OneFile learner (user with role 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfLearner {
    pub id: OfUserId,
    pub mis_id: Option<String>,
    pub demographics: Demographics,
    pub last_modified: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfLearningAim {
    pub id: OfAimId,
    pub standard: Option<OfStandardId>,
    /// The code of the aim's standard, resolved from the catalogue (§1 matching).
    pub code: Option<String>,
    pub cert: CertValues,
    pub total_elements: Option<i64>,
    pub elements_done: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfReview {
    pub id: OfReviewId,
    pub assessor: Option<OfUserId>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub started_on: Option<DateTime<Utc>>,
}

impl OfReview {
    /// A short digest of what the sync compares of the review: periodic runs in centre mode
    /// see a review changed in OneFile by its digest moving (issue 16; OneFile need not move
    /// the learner's `LastModified` when one of its reviews changes). FNV-1a (64 bits) over a
    /// fixed text form, so that a digest stored by one build is the same in the next.
    pub fn digest(&self) -> String {
        fn text(v: Option<i64>) -> String {
            v.map_or_else(String::new, |v| v.to_string())
        }
        let form = format!(
            "{}|{}|{}|{}",
            self.id.0,
            text(self.assessor.map(|a| a.0)),
            text(self.scheduled_for.map(|d| d.timestamp_millis())),
            text(self.started_on.map(|d| d.timestamp_millis())),
        );
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in form.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

/// A OneFile assessor (role 5) or any user matched by MIS value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfUser {
    pub id: OfUserId,
    pub role: Option<i64>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub mis_id: Option<String>,
    pub archived: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfPlacement {
    pub id: OfPlacementId,
    pub name: Option<String>,
    pub mis_id: Option<String>,
}

/// Everything OneFile holds for one learner that the sync compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneFileSide {
    pub learner: OfLearner,
    pub aims: Vec<OfLearningAim>,
    pub reviews: Vec<OfReview>,
}

/// A pathway of a standard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pathway {
    pub id: OfPathwayId,
    pub name: Option<String>,
}

/// A learning aim available in a centre: what a PICS qualification can be matched to (§1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    pub standard: OfStandardId,
    pub centre: OfCentreId,
    pub code: String,
    pub title: Option<String>,
    pub pathways: Vec<Pathway>,
}

/// OneFile's learning aims per centre (cached by "refresh qualification links", R34).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    pub entries: Vec<CatalogueEntry>,
    /// Loaded from every centre of the customer (`multiple_centres`, R10), not only the
    /// tenant's: a change of the setting reloads it.
    #[serde(default)]
    pub all_centres: bool,
}

impl Catalogue {
    /// Entries whose code equals a VQ reference (case and surrounding space ignored).
    pub fn matching<'a>(
        &'a self,
        vq_reference: &'a str,
    ) -> impl Iterator<Item = &'a CatalogueEntry> {
        let want = vq_reference.trim();
        self.entries
            .iter()
            .filter(move |e| !want.is_empty() && e.code.trim().eq_ignore_ascii_case(want))
    }

    pub fn code_of(&self, standard: OfStandardId) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.standard == standard)
            .map(|e| e.code.as_str())
    }
}

/// Everything both systems hold about one learner that the sync compares: the PICS learner, its
/// OneFile side, and the related officers, assessors, employer and placement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerView {
    pub pics: PicsLearner,
    pub onefile: OneFileSide,
    /// The PICS officers this learner refers to (main officer, reviewers, assessors, roles).
    pub officers: Vec<PicsOfficer>,
    /// The OneFile assessors linked to those officers.
    pub assessors: Vec<OfUser>,
    /// The employer of §1, when the learner has one.
    pub employer: Option<PicsOrganisation>,
    /// The OneFile placement linked to the employer.
    pub placement: Option<OfPlacement>,
    /// The OneFile reviews picsync uploaded for this learner's PICS reviews (§7: its completed
    /// review intents), by PICS review: R19's write-back is retried from these, and they are
    /// never downloaded as new PICS reviews (R21).
    #[serde(default)]
    pub uploaded: std::collections::BTreeMap<ReviewId, OfReviewId>,
}

impl LearnerView {
    /// The OneFile assessor linked to a PICS officer (Other System ID).
    pub fn onefile_of(&self, officer: &OfficerId) -> Option<OfUserId> {
        self.officers
            .iter()
            .find(|o| &o.id == officer)
            .and_then(PicsOfficer::linked)
    }

    /// The PICS officer linked to a OneFile assessor, when exactly one is (R22).
    pub fn officer_of(&self, assessor: OfUserId) -> Option<&OfficerId> {
        let mut it = self
            .officers
            .iter()
            .filter(|o| o.linked() == Some(assessor));
        match (it.next(), it.next()) {
            (Some(o), None) => Some(&o.id),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfClassroom {
    pub id: OfClassroomId,
    pub name: Option<String>,
}
