//! The records the PICS simulator holds, shaped as `picsync_pics`'s crate page describes them
//! (PascalCase on the wire). Tests, the demo and benchmarks build them directly to seed a
//! simulator.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use picsync_domain::Demographics;
use serde::{Deserialize, Serialize};

/// A learner with everything under it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimLearner {
    pub learner_id: String,
    pub ident: String,
    /// Set by the simulator (on seeding when empty, and on every change).
    pub row_version: String,
    /// Set by the simulator on every change; kept as seeded when given.
    pub last_modified: Option<NaiveDateTime>,
    pub one_file_id: Option<i64>,
    pub system_status: Option<String>,
    pub episode_status: Option<String>,
    pub actual_end_date: Option<NaiveDate>,
    /// The demographic fields, each under its PICS name (the domain's field table).
    #[serde(flatten, with = "pics_names")]
    pub demographics: Demographics,
    pub main_tag: Option<String>,
    pub main_officer_id: Option<String>,
    pub officers: Vec<SimLearnerOfficer>,
    pub placements: Vec<SimPlacement>,
    pub qualifications: Vec<SimQualification>,
    pub reviews: Vec<SimReview>,
}

impl SimLearner {
    /// A Live, In Learning learner with only its id and Ident set.
    pub fn new(learner_id: impl Into<String>, ident: impl Into<String>) -> Self {
        Self {
            learner_id: learner_id.into(),
            ident: ident.into(),
            system_status: Some("Live".into()),
            episode_status: Some("InLearning".into()),
            ..Self::default()
        }
    }

    /// The qualification with this id.
    pub fn qualification(&self, id: &str) -> Option<&SimQualification> {
        self.qualifications
            .iter()
            .find(|q| q.qualification_id == id)
    }

    /// The qualification with this id, to change.
    pub fn qualification_mut(&mut self, id: &str) -> Option<&mut SimQualification> {
        self.qualifications
            .iter_mut()
            .find(|q| q.qualification_id == id)
    }

    /// The review with this id.
    pub fn review(&self, id: &str) -> Option<&SimReview> {
        self.reviews.iter().find(|r| r.review_id == id)
    }
}

/// An officer attached to a learner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimLearnerOfficer {
    pub officer_id: String,
    pub role: Option<String>,
}

/// A placement of a learner with an organisation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimPlacement {
    pub organisation_id: String,
    #[serde(rename = "Type")]
    pub type_: Option<String>,
    pub start_date: Option<NaiveDate>,
}

/// A qualification of a learner's Delivery Plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimQualification {
    pub qualification_id: String,
    pub vq_reference: Option<String>,
    pub title: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub planned_end_date: Option<NaiveDate>,
    pub assessor_officer_id: Option<String>,
    pub has_units: bool,
    pub total_elements: Option<i64>,
    pub elements_done: Option<i64>,
    pub registration_number: Option<String>,
    pub registration_date: Option<NaiveDate>,
    pub certificate_applied_for_date: Option<NaiveDate>,
    pub certificate_received_date: Option<NaiveDate>,
    pub one_file_learning_aim_id: Option<i64>,
}

impl SimQualification {
    /// A qualification with its id and VQ Reference.
    pub fn new(qualification_id: impl Into<String>, vq_reference: impl Into<String>) -> Self {
        Self {
            qualification_id: qualification_id.into(),
            vq_reference: Some(vq_reference.into()),
            ..Self::default()
        }
    }
}

/// A review of a learner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimReview {
    pub review_id: String,
    #[serde(rename = "Type")]
    pub type_: Option<String>,
    pub proposed_date_time: Option<NaiveDateTime>,
    pub attended_value: Option<String>,
    pub actual_date_time: Option<NaiveDateTime>,
    pub reviewer_officer_id: Option<String>,
    pub one_file_system_id: Option<i64>,
}

impl SimReview {
    /// A Normal review proposed for `proposed` (eligible for upload per R17 as it stands).
    pub fn normal(review_id: impl Into<String>, proposed: NaiveDateTime) -> Self {
        Self {
            review_id: review_id.into(),
            type_: Some("Normal".into()),
            proposed_date_time: Some(proposed),
            ..Self::default()
        }
    }
}

/// A PICS officer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimOfficer {
    pub officer_id: String,
    pub ident: String,
    pub first_name: Option<String>,
    pub surname: Option<String>,
    pub other_system_id: Option<String>,
    /// Email (picsync's contract: OneFile needs one to create an assessor).
    pub email: Option<String>,
}

impl SimOfficer {
    /// An officer with its id, Ident and names.
    pub fn new(
        officer_id: impl Into<String>,
        ident: impl Into<String>,
        first_name: impl Into<String>,
        surname: impl Into<String>,
    ) -> Self {
        Self {
            officer_id: officer_id.into(),
            ident: ident.into(),
            first_name: Some(first_name.into()),
            surname: Some(surname.into()),
            other_system_id: None,
            email: None,
        }
    }
}

/// A PICS organisation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimOrganisation {
    pub organisation_id: String,
    pub ident: String,
    pub name: Option<String>,
    pub additional_id: Option<String>,
}

impl SimOrganisation {
    /// An organisation with its id, Ident and name.
    pub fn new(
        organisation_id: impl Into<String>,
        ident: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            organisation_id: organisation_id.into(),
            ident: ident.into(),
            name: Some(name.into()),
            additional_id: None,
        }
    }
}

/// Everything the simulator holds, keyed by id (what [`PicsSim::state`](super::PicsSim::state)
/// returns).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PicsState {
    pub learners: BTreeMap<String, SimLearner>,
    pub officers: BTreeMap<String, SimOfficer>,
    pub organisations: BTreeMap<String, SimOrganisation>,
}

/// [`Demographics`] under the PICS names of the domain's field table: every field is written
/// (`null` when blank, dates `YYYY-MM-DD`), and read back from the same names.
mod pics_names {
    use chrono::NaiveDate;
    use picsync_domain::{DemographicField, Demographics, FieldKind, Value};
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub(super) fn serialize<S: Serializer>(d: &Demographics, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(DemographicField::ALL.len()))?;
        for f in DemographicField::ALL {
            match d.held(f) {
                Value::Text(t) => m.serialize_entry(f.pics_name(), &t)?,
                Value::Date(day) => m.serialize_entry(f.pics_name(), &day)?,
                _ => m.serialize_entry(f.pics_name(), &())?,
            }
        }
        m.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Demographics, D::Error> {
        let mut held = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
        let mut out = Demographics::default();
        for f in DemographicField::ALL {
            let v = match (f.kind(), held.remove(f.pics_name())) {
                (_, None | Some(serde_json::Value::Null)) => Value::Blank,
                (FieldKind::Text, Some(serde_json::Value::String(t))) => Value::Text(t),
                (FieldKind::Date, Some(serde_json::Value::String(t))) => {
                    Value::Date(t.parse::<NaiveDate>().map_err(serde::de::Error::custom)?)
                }
                (_, Some(other)) => {
                    return Err(serde::de::Error::custom(format_args!(
                        "{}: unexpected {other}",
                        f.pics_name()
                    )));
                }
            };
            out.set(f, &v);
        }
        Ok(out)
    }
}
