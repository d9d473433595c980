//! Reading the bodies of the simulator's writes: which fields each call may set, and their
//! types. Strict on purpose: a field name in the wrong case, a read-only field or a value of
//! the wrong type is a `400`, so a client bug shows up in tests rather than being ignored.

use chrono::{NaiveDate, NaiveDateTime};
use picsync_domain::{DemographicField, FieldKind, Value as Field};
use serde_json::{Map, Value};

use super::model::{SimLearner, SimOfficer, SimOrganisation, SimQualification, SimReview};

/// A JSON object body.
pub(crate) type Fields = Map<String, Value>;

/// Parses a write's body: a JSON object.
pub(crate) fn object(body: &[u8]) -> Result<Fields, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("the body must be a JSON object".into()),
        Err(e) => Err(format!("the body is not valid JSON: {e}")),
    }
}

fn text(key: &str, v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(format!("{key} must be a string or null")),
    }
}

fn int(key: &str, v: &Value) -> Result<Option<i64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("{key} must be an integer")),
        _ => Err(format!("{key} must be an integer or null")),
    }
}

fn count(key: &str, v: &Value) -> Result<Option<i64>, String> {
    match int(key, v)? {
        Some(n) if n < 0 => Err(format!("{key} cannot be negative")),
        other => Ok(other),
    }
}

fn date(key: &str, v: &Value) -> Result<Option<NaiveDate>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("{key} must be a date YYYY-MM-DD")),
        _ => Err(format!("{key} must be a date YYYY-MM-DD or null")),
    }
}

/// A local date-time without zone, with or without fractional seconds.
pub(crate) fn parse_local_datetime(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok()
}

fn datetime(key: &str, v: &Value) -> Result<Option<NaiveDateTime>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => parse_local_datetime(s)
            .map(Some)
            .ok_or_else(|| format!("{key} must be a local date-time YYYY-MM-DDTHH:MM:SS")),
        _ => Err(format!("{key} must be a date-time or null")),
    }
}

fn refuse(key: &str, what: &str) -> String {
    format!("{key} cannot be changed through {what}")
}

/// `PATCH /Learners/{id}`: OneFileId and the demographic fields (R6).
pub(crate) fn learner(l: &mut SimLearner, f: &Fields) -> Result<(), String> {
    for (k, v) in f {
        match k.as_str() {
            "OneFileId" => l.one_file_id = int(k, v)?,
            other => {
                // a demographic field of the domain's table, by its PICS name
                let Some(f) = DemographicField::ALL
                    .into_iter()
                    .find(|f| f.pics_name() == other)
                else {
                    return Err(refuse(other, "PATCH /Learners/{id}"));
                };
                let value = match f.kind() {
                    FieldKind::Text => text(k, v)?.map_or(Field::Blank, Field::Text),
                    FieldKind::Date => Field::date(date(k, v)?),
                };
                let set = l.demographics.set(f, &value);
                debug_assert!(set, "{f:?} is read as its own kind");
            }
        }
    }
    Ok(())
}

/// `PATCH /Learners/{id}/Qualifications/{qualificationId}`.
pub(crate) fn qualification(q: &mut SimQualification, f: &Fields) -> Result<(), String> {
    for (k, v) in f {
        match k.as_str() {
            "TotalElements" => q.total_elements = count(k, v)?,
            "ElementsDone" => q.elements_done = count(k, v)?,
            "RegistrationNumber" => q.registration_number = text(k, v)?,
            "RegistrationDate" => q.registration_date = date(k, v)?,
            "CertificateAppliedForDate" => q.certificate_applied_for_date = date(k, v)?,
            "CertificateReceivedDate" => q.certificate_received_date = date(k, v)?,
            "OneFileLearningAimId" => q.one_file_learning_aim_id = int(k, v)?,
            other => {
                return Err(refuse(
                    other,
                    "PATCH /Learners/{id}/Qualifications/{qualificationId}",
                ));
            }
        }
    }
    Ok(())
}

/// The fields of `POST /Learners/{id}/Reviews` and `PATCH /Learners/{id}/Reviews/{reviewId}`.
pub(crate) fn review(r: &mut SimReview, f: &Fields) -> Result<(), String> {
    for (k, v) in f {
        match k.as_str() {
            "Type" => r.type_ = text(k, v)?,
            "ProposedDateTime" => r.proposed_date_time = datetime(k, v)?,
            "AttendedValue" => r.attended_value = text(k, v)?,
            "ActualDateTime" => r.actual_date_time = datetime(k, v)?,
            "ReviewerOfficerId" => r.reviewer_officer_id = text(k, v)?,
            "OneFileSystemId" => r.one_file_system_id = int(k, v)?,
            other => return Err(refuse(other, "the Reviews endpoints")),
        }
    }
    Ok(())
}

/// `PATCH /Officers/{id}`: the OneFile link or the names.
pub(crate) fn officer(o: &mut SimOfficer, f: &Fields) -> Result<(), String> {
    for (k, v) in f {
        match k.as_str() {
            "OtherSystemId" => o.other_system_id = text(k, v)?,
            "FirstName" => o.first_name = text(k, v)?,
            "Surname" => o.surname = text(k, v)?,
            other => return Err(refuse(other, "PATCH /Officers/{id}")),
        }
    }
    Ok(())
}

/// `PATCH /Organisations/{id}`: the OneFile link or the name.
pub(crate) fn organisation(o: &mut SimOrganisation, f: &Fields) -> Result<(), String> {
    for (k, v) in f {
        match k.as_str() {
            "AdditionalId" => o.additional_id = text(k, v)?,
            "Name" => o.name = text(k, v)?,
            other => return Err(refuse(other, "PATCH /Organisations/{id}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Fields {
        object(json.as_bytes()).unwrap()
    }

    #[test]
    fn learner_fields_set_and_clear() {
        let mut l = SimLearner::new("L", "I");
        l.demographics.email = Some("old@x".into());
        learner(
            &mut l,
            &fields(r#"{"OneFileId": 5, "Email": null, "DateOfBirth": "2000-01-02"}"#),
        )
        .unwrap();
        assert_eq!(l.one_file_id, Some(5));
        assert_eq!(l.demographics.email, None);
        assert_eq!(
            l.demographics.date_of_birth,
            NaiveDate::from_ymd_opt(2000, 1, 2)
        );
    }

    #[test]
    fn wrong_names_types_and_read_only_fields_are_refused() {
        let mut l = SimLearner::new("L", "I");
        assert!(learner(&mut l, &fields(r#"{"oneFileId": 5}"#)).is_err());
        assert!(learner(&mut l, &fields(r#"{"OneFileId": "5"}"#)).is_err());
        assert!(learner(&mut l, &fields(r#"{"RowVersion": "x"}"#)).is_err());
        assert!(learner(&mut l, &fields(r#"{"DateOfBirth": "02/01/2000"}"#)).is_err());
        let mut q = SimQualification::new("Q", "ST1");
        assert!(qualification(&mut q, &fields(r#"{"ElementsDone": -1}"#)).is_err());
        let mut r = SimReview::default();
        assert!(
            review(
                &mut r,
                &fields(r#"{"ProposedDateTime": "2024-06-01T10:00:00Z"}"#)
            )
            .is_err()
        );
        review(
            &mut r,
            &fields(r#"{"ProposedDateTime": "2024-06-01T10:00:00.250", "OneFileSystemId": 3}"#),
        )
        .unwrap();
        assert_eq!(r.one_file_system_id, Some(3));
        assert!(object(b"[1,2]").is_err());
        assert!(object(b"{nope").is_err());
    }
}
