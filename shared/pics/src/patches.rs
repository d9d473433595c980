//! What the client writes: partial updates and new reviews.
//!
//! Every field is optional and only the fields set are sent. Learner fields that a sync may have
//! to clear can send `null`: the OneFile link is an `Option<Option<T>>` (`None` leaves it alone,
//! `Some(None)` clears it, `Some(Some(v))` sets it), and the demographics of R6/R32 are a
//! [`DemographicsPatch`] (a blank value clears the field).

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use picsync_domain::{DemographicField, OfAimId, OfReviewId, OfUserId, OfficerId, Value};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::wire;

/// `PATCH /Learners/{id}`: link/unlink (`OneFileId`) and demographics (R6, R32).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LearnerPatch {
    /// Link (`Some(Some(id))`) or unlink (`Some(None)`) the OneFile learner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_file_id: Option<Option<OfUserId>>,
    /// Demographic fields (R32 pull), each under its PICS name.
    #[serde(flatten)]
    pub demographics: DemographicsPatch,
}

/// The demographic fields a [`LearnerPatch`] writes, each under its PICS name (the domain's
/// field table, [`DemographicField::pics_name`]): a blank value sends `null` (clears the field),
/// a date is sent as `YYYY-MM-DD`. Fields not set are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemographicsPatch(BTreeMap<DemographicField, Value>);

impl DemographicsPatch {
    /// Writes `f` as `v`; a value not of the field's kind is refused (`false`, nothing set).
    pub fn set(&mut self, f: DemographicField, v: &Value) -> bool {
        let ok = f.kind().accepts(v);
        if ok {
            self.0.insert(f, v.clone());
        }
        ok
    }

    /// The value `f` is written as, when it is written.
    pub fn get(&self, f: DemographicField) -> Option<&Value> {
        self.0.get(&f)
    }

    /// Whether no field is written.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for DemographicsPatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (f, v) in &self.0 {
            match v {
                Value::Text(t) => m.serialize_entry(f.pics_name(), t)?,
                Value::Date(d) => m.serialize_entry(f.pics_name(), d)?,
                // `set` admits only blank, text and dates
                _ => m.serialize_entry(f.pics_name(), &())?,
            }
        }
        m.end()
    }
}

/// `PATCH /Learners/{id}/Qualifications/{qualificationId}` (R23, R25–R28, R37).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QualificationPatch {
    /// Total elements (R23).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_elements: Option<i64>,
    /// Elements done (R23).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elements_done: Option<i64>,
    /// Registration number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_number: Option<String>,
    /// Registration date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_date: Option<NaiveDate>,
    /// Certificate applied for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_applied_for_date: Option<NaiveDate>,
    /// Certificate received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_received_date: Option<NaiveDate>,
    /// Link to a OneFile learning aim (R37).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_file_learning_aim_id: Option<OfAimId>,
}

/// `POST /Learners/{id}/Reviews`: a review downloaded from OneFile (R21, R22).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewReview {
    /// Review type (R21: `Normal`).
    #[serde(rename = "Type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Proposed date and time (local UK time, sent to the second).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::ser_opt_datetime"
    )]
    pub proposed_date_time: Option<NaiveDateTime>,
    /// Attended value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attended_value: Option<String>,
    /// Actual date and time (local UK time, sent to the second).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::ser_opt_datetime"
    )]
    pub actual_date_time: Option<NaiveDateTime>,
    /// Reviewer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewer_officer_id: Option<OfficerId>,
    /// The OneFile review this PICS review mirrors (R19, R21).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_file_system_id: Option<OfReviewId>,
}

/// `PATCH /Learners/{id}/Reviews/{reviewId}`: the same fields as [`NewReview`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReviewPatch {
    /// Review type.
    #[serde(rename = "Type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Proposed date and time (R22).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::ser_opt_datetime"
    )]
    pub proposed_date_time: Option<NaiveDateTime>,
    /// Attended value (R22).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attended_value: Option<String>,
    /// Actual date and time (R22).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::ser_opt_datetime"
    )]
    pub actual_date_time: Option<NaiveDateTime>,
    /// Reviewer (R22).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewer_officer_id: Option<OfficerId>,
    /// Link to the OneFile review after upload (R19).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_file_system_id: Option<OfReviewId>,
}

/// `PATCH /Officers/{id}`: the OneFile link (R11) or names (R32).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OfficerPatch {
    /// The OneFile assessor id, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_system_id: Option<String>,
    /// First name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Surname.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
}

/// `PATCH /Organisations/{id}`: the OneFile link (R13) or the name (R32).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrganisationPatch {
    /// The OneFile placement id, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_id: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn learner_patch_sends_only_set_fields_and_null_to_clear() {
        let mut p = LearnerPatch {
            one_file_id: Some(Some(OfUserId(42))),
            ..Default::default()
        };
        assert!(p.demographics.set(DemographicField::Email, &Value::Blank));
        let dob = Value::Date(NaiveDate::from_ymd_opt(2001, 2, 3).unwrap());
        assert!(p.demographics.set(DemographicField::DateOfBirth, &dob));
        assert!(
            !p.demographics.set(DemographicField::Uln, &dob),
            "a date is not a ULN"
        );
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"OneFileId": 42, "Email": null, "DateOfBirth": "2001-02-03"})
        );
        assert_eq!(
            serde_json::to_value(LearnerPatch::default()).unwrap(),
            json!({})
        );
    }

    #[test]
    fn reviews_send_datetimes_to_the_second_without_zone() {
        let t = NaiveDate::from_ymd_opt(2024, 6, 1)
            .unwrap()
            .and_hms_milli_opt(10, 0, 5, 250)
            .unwrap();
        let r = NewReview {
            type_: Some("Normal".into()),
            proposed_date_time: Some(t),
            one_file_system_id: Some(OfReviewId(7)),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"Type": "Normal", "ProposedDateTime": "2024-06-01T10:00:05", "OneFileSystemId": 7})
        );
    }

    #[test]
    fn qualification_officer_and_organisation_patches_use_contract_names() {
        let q = QualificationPatch {
            certificate_applied_for_date: NaiveDate::from_ymd_opt(2024, 1, 2),
            one_file_learning_aim_id: Some(OfAimId(9)),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&q).unwrap(),
            json!({"CertificateAppliedForDate": "2024-01-02", "OneFileLearningAimId": 9})
        );
        let o = OfficerPatch {
            other_system_id: Some("55".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&o).unwrap(),
            json!({"OtherSystemId": "55"})
        );
        let g = OrganisationPatch {
            name: Some("Acme".into()),
            ..Default::default()
        };
        assert_eq!(serde_json::to_value(&g).unwrap(), json!({"Name": "Acme"}));
    }
}
