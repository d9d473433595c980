//! Records as PICS serves them (the crate page): snake_case here, PascalCase on the wire.
//!
//! Reading is lenient (see the `wire` module): missing fields, `null`s, blank strings, numbers
//! as strings. Codes whose value sets PICS may extend (system status, episode status, attended
//! value, review type) stay text; the domain interprets them.

use chrono::{NaiveDate, NaiveDateTime};
use picsync_domain::{
    Demographics, LearnerId, OfAimId, OfReviewId, OfUserId, OfficerId, OrganisationId,
    QualificationId, ReviewId,
};
use serde::{Deserialize, Serialize};

use crate::wire;

/// A learner's opaque row version, sent back as `If-Match` on every write under it (R41).
pub type RowVersion = String;

/// Filters of [`PicsClient::list_learners`](crate::PicsClient::list_learners).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LearnerQuery {
    /// `Some(true)`: only learners holding a OneFile ID; `Some(false)`: only those without.
    pub one_file_linked: Option<bool>,
    /// Only learners modified at or after this local UK time (sent to the second).
    pub modified_since: Option<NaiveDateTime>,
}

impl LearnerQuery {
    /// The learners linked to OneFile, optionally only those modified since a time.
    pub fn linked(modified_since: Option<NaiveDateTime>) -> Self {
        Self {
            one_file_linked: Some(true),
            modified_since,
        }
    }
}

/// One row of the learner listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LearnerSummary {
    /// PICS learner id.
    #[serde(deserialize_with = "wire::id")]
    pub learner_id: LearnerId,
    /// The learner's Ident code.
    #[serde(default, deserialize_with = "wire::text_or_empty")]
    pub ident: String,
    /// The linked OneFile learner, if any.
    #[serde(default, deserialize_with = "wire::opt_onefile_id")]
    pub one_file_id: Option<OfUserId>,
    /// Live, Dormant, …
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub system_status: Option<String>,
    /// InLearning, BreakInLearning, Ended, …
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub episode_status: Option<String>,
    /// Actual end date of the episode.
    #[serde(default, deserialize_with = "wire::opt_date")]
    pub actual_end_date: Option<NaiveDate>,
    /// Last change to the learner or anything under it (local UK time).
    #[serde(default, deserialize_with = "wire::opt_datetime")]
    pub last_modified: Option<NaiveDateTime>,
}

/// A learner, whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Learner {
    /// PICS learner id.
    #[serde(deserialize_with = "wire::id")]
    pub learner_id: LearnerId,
    /// The learner's Ident code (sent to OneFile as MISID).
    #[serde(default, deserialize_with = "wire::text_or_empty")]
    pub ident: String,
    /// The row version to send back as `If-Match` (R41).
    #[serde(deserialize_with = "wire::id")]
    pub row_version: RowVersion,
    /// Last change (local UK time).
    #[serde(default, deserialize_with = "wire::opt_datetime")]
    pub last_modified: Option<NaiveDateTime>,
    /// The linked OneFile learner, if any.
    #[serde(default, deserialize_with = "wire::opt_onefile_id")]
    pub one_file_id: Option<OfUserId>,
    /// Live, Dormant, …
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub system_status: Option<String>,
    /// InLearning, BreakInLearning, Ended, …
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub episode_status: Option<String>,
    /// Actual end date of the episode.
    #[serde(default, deserialize_with = "wire::opt_date")]
    pub actual_end_date: Option<NaiveDate>,
    /// The demographic fields of R6, each under its PICS name (the domain's field table,
    /// [`DemographicField::pics_name`](picsync_domain::DemographicField::pics_name)), read as
    /// leniently as the fields around them.
    #[serde(flatten, with = "wire::demographics")]
    pub demographics: Demographics,
    /// Main Tag (the OneFile classroom with `classroom_from_main_tag`, R7).
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub main_tag: Option<String>,
    /// The learner's Main Officer.
    #[serde(default, deserialize_with = "wire::opt_id")]
    pub main_officer_id: Option<OfficerId>,
    /// Officers attached to the learner, with their roles (R11).
    #[serde(default, deserialize_with = "wire::list")]
    pub officers: Vec<LearnerOfficer>,
    /// Placements (the employer is the latest of type P, §1).
    #[serde(default, deserialize_with = "wire::list")]
    pub placements: Vec<LearnerPlacement>,
    /// The Delivery Plan.
    #[serde(default, deserialize_with = "wire::list")]
    pub qualifications: Vec<Qualification>,
    /// Reviews.
    #[serde(default, deserialize_with = "wire::list")]
    pub reviews: Vec<Review>,
}

/// An officer attached to a learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LearnerOfficer {
    /// The officer.
    #[serde(deserialize_with = "wire::id")]
    pub officer_id: OfficerId,
    /// The officer's role for this learner.
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub role: Option<String>,
}

/// A placement of a learner with an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LearnerPlacement {
    /// The organisation.
    #[serde(deserialize_with = "wire::id")]
    pub organisation_id: OrganisationId,
    /// Placement type (`P` for the employer, §1).
    #[serde(rename = "Type", default, deserialize_with = "wire::opt_string")]
    pub type_: Option<String>,
    /// Start of the placement.
    #[serde(default, deserialize_with = "wire::opt_date")]
    pub start_date: Option<NaiveDate>,
}

/// A qualification of the learner's Delivery Plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Qualification {
    /// PICS qualification id.
    #[serde(deserialize_with = "wire::id")]
    pub qualification_id: QualificationId,
    /// VQ Reference (matched against the OneFile learning-aim code).
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub vq_reference: Option<String>,
    /// Title.
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub title: Option<String>,
    /// Start date.
    #[serde(default, deserialize_with = "wire::opt_date")]
    pub start_date: Option<NaiveDate>,
    /// Planned end date.
    #[serde(default, deserialize_with = "wire::opt_date")]
    pub planned_end_date: Option<NaiveDate>,
    /// Assessor of this qualification.
    #[serde(default, deserialize_with = "wire::opt_id")]
    pub assessor_officer_id: Option<OfficerId>,
    /// Whether units are attached (R24); `None` when PICS did not say.
    #[serde(default, deserialize_with = "wire::opt_bool")]
    pub has_units: Option<bool>,
    /// Total elements (R23).
    #[serde(default, deserialize_with = "wire::opt_i64")]
    pub total_elements: Option<i64>,
    /// Elements done (R23).
    #[serde(default, deserialize_with = "wire::opt_i64")]
    pub elements_done: Option<i64>,
    /// Registration number (R25–R28).
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub registration_number: Option<String>,
    /// Registration date (R25–R28).
    #[serde(default, deserialize_with = "wire::opt_date")]
    pub registration_date: Option<NaiveDate>,
    /// Certificate applied for (R25–R28).
    #[serde(default, deserialize_with = "wire::opt_date")]
    pub certificate_applied_for_date: Option<NaiveDate>,
    /// Certificate received (R25–R28).
    #[serde(default, deserialize_with = "wire::opt_date")]
    pub certificate_received_date: Option<NaiveDate>,
    /// The linked OneFile learning aim.
    #[serde(default, deserialize_with = "wire::opt_onefile_id")]
    pub one_file_learning_aim_id: Option<OfAimId>,
}

/// A review of the learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Review {
    /// PICS review id.
    #[serde(deserialize_with = "wire::id")]
    pub review_id: ReviewId,
    /// Normal, …
    #[serde(rename = "Type", default, deserialize_with = "wire::opt_string")]
    pub type_: Option<String>,
    /// Proposed date and time (local UK time).
    #[serde(default, deserialize_with = "wire::opt_datetime")]
    pub proposed_date_time: Option<NaiveDateTime>,
    /// `None` (blank), Attended, DidNotAttend, Cancelled, …
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub attended_value: Option<String>,
    /// Actual date and time (local UK time).
    #[serde(default, deserialize_with = "wire::opt_datetime")]
    pub actual_date_time: Option<NaiveDateTime>,
    /// The reviewer.
    #[serde(default, deserialize_with = "wire::opt_id")]
    pub reviewer_officer_id: Option<OfficerId>,
    /// The linked OneFile review ("OneFile System ID", R19).
    #[serde(default, deserialize_with = "wire::opt_onefile_id")]
    pub one_file_system_id: Option<OfReviewId>,
}

/// A PICS officer (a OneFile assessor when linked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Officer {
    /// PICS officer id.
    #[serde(deserialize_with = "wire::id")]
    pub officer_id: OfficerId,
    /// Ident code.
    #[serde(default, deserialize_with = "wire::text_or_empty")]
    pub ident: String,
    /// First name.
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub first_name: Option<String>,
    /// Surname.
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub surname: Option<String>,
    /// Email address (our contract adds it: OneFile requires an email on every user it creates).
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub email: Option<String>,
    /// Free text in PICS; holds the OneFile assessor id as text when linked (R11).
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub other_system_id: Option<String>,
}

/// A PICS organisation (a OneFile placement when linked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Organisation {
    /// PICS organisation id.
    #[serde(deserialize_with = "wire::id")]
    pub organisation_id: OrganisationId,
    /// Ident code.
    #[serde(default, deserialize_with = "wire::text_or_empty")]
    pub ident: String,
    /// Name.
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub name: Option<String>,
    /// Free text in PICS; holds the OneFile placement id as text when linked (R13).
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub additional_id: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", bound = "T: serde::de::DeserializeOwned")]
pub(crate) struct Page<T> {
    #[serde(default, deserialize_with = "wire::list")]
    pub items: Vec<T>,
    #[serde(default, deserialize_with = "wire::opt_i64")]
    pub page_size: Option<i64>,
    #[serde(default, deserialize_with = "wire::opt_i64")]
    pub total_count: Option<i64>,
}

/// The answer to a write under a learner.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WriteAnswer {
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub row_version: Option<String>,
    #[serde(default, deserialize_with = "wire::opt_id")]
    pub review_id: Option<ReviewId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learner_reads_the_contract_shape_leniently() {
        let json = r#"{
            "LearnerId": "7d0c-11", "Ident": "ID001", "RowVersion": "00000000000007D1",
            "LastModified": "2024-06-01T10:30:00.123", "OneFileId": "1234",
            "SystemStatus": "Live", "EpisodeStatus": "InLearning", "ActualEndDate": null,
            "FirstName": "Ada", "Surname": "Lovelace", "Email": "", "Uln": 1234567890,
            "DateOfBirth": "2000-02-29T00:00:00", "MainOfficerId": "O-1",
            "Officers": [{"OfficerId": "O-1", "Role": "Assessor"}],
            "Placements": [{"OrganisationId": 55, "Type": "P", "StartDate": "2024-01-02"}],
            "Qualifications": [{"QualificationId": "Q-1", "VqReference": "ST0001",
                "HasUnits": false, "TotalElements": 10, "ElementsDone": "4",
                "OneFileLearningAimId": null, "RegistrationDate": "2024-03-01"}],
            "Reviews": null,
            "SomethingNew": {"nested": true}
        }"#;
        let l: Learner = serde_json::from_str(json).unwrap();
        assert_eq!(l.learner_id, "7d0c-11");
        assert_eq!(l.one_file_id, Some(OfUserId(1234)));
        let d = &l.demographics;
        assert_eq!(d.first_name.as_deref(), Some("Ada"));
        assert_eq!(d.email, None, "blank reads as no value");
        assert_eq!(d.uln.as_deref(), Some("1234567890"));
        assert_eq!(d.date_of_birth, NaiveDate::from_ymd_opt(2000, 2, 29));
        assert_eq!(l.officers[0].role.as_deref(), Some("Assessor"));
        assert_eq!(l.placements[0].organisation_id, "55");
        assert_eq!(l.placements[0].type_.as_deref(), Some("P"));
        assert_eq!(l.qualifications[0].elements_done, Some(4));
        assert_eq!(l.qualifications[0].has_units, Some(false));
        assert!(l.reviews.is_empty());
        assert!(d.telephone.is_none());
    }

    #[test]
    fn records_round_trip_through_their_own_serialisation() {
        let json = r#"{"LearnerId": "L", "RowVersion": "1", "Uln": " 12 ", "StartDate": "2024-01-02",
            "Reviews": [{"ReviewId": "R",
            "Type": "Normal", "ProposedDateTime": "2024-06-01T10:00:00", "OneFileSystemId": 9}]}"#;
        let l: Learner = serde_json::from_str(json).unwrap();
        let back: Learner = serde_json::from_value(serde_json::to_value(&l).unwrap()).unwrap();
        assert_eq!(l, back);
        assert_eq!(back.reviews[0].type_.as_deref(), Some("Normal"));
        assert_eq!(back.demographics.uln.as_deref(), Some(" 12 "));
    }

    #[test]
    fn a_bad_demographic_value_names_its_field() {
        let e = serde_json::from_str::<Learner>(
            r#"{"LearnerId": "L", "RowVersion": "1", "DateOfBirth": "03/02/2001"}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("field DateOfBirth: expected a date"),
            "{e}"
        );
        let e = serde_json::from_str::<Learner>(
            r#"{"LearnerId": "L", "RowVersion": "1", "Sex": ["M"]}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("field Sex: expected a text"), "{e}");
    }

    #[test]
    fn a_learner_without_row_version_is_rejected() {
        let e = serde_json::from_str::<Learner>(r#"{"LearnerId": "L"}"#).unwrap_err();
        assert!(e.to_string().contains("RowVersion"), "{e}");
    }
}
