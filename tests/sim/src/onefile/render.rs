//! Records as OneFile serves them: PascalCase JSON, dates in the configured style, date-only
//! values as local (Europe/London) midnight in UTC, `null` or omitted empty fields.

use chrono::{DateTime, NaiveDate, NaiveTime, Timelike, Utc};
use chrono_tz::Europe::London;
use serde_json::{Map, Value, json};

use super::Quirks;
use super::store::{
    SimCentre, SimClassroom, SimLearningAim, SimPlacement, SimReview, SimStandard, SimUser,
    SimVisit, Store,
};
use picsync_domain::time::london_to_utc;
use picsync_domain::{DemographicField, Demographics, Value as Field};

/// How dates are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateStyle {
    /// `2022-02-23T12:49:33.150Z` (the usual form).
    #[default]
    UtcMillis,
    /// `2022-02-23T12:49:33`: UTC without a zone or fraction.
    NoZone,
    /// `2022-02-23T12:49:33.150+00:00`: London local time with its offset.
    Offset,
    /// `2022-02-23T12:49:33.1500000Z`: seven fractional digits (.NET style).
    SevenDigits,
}

impl DateStyle {
    /// An instant in this style.
    pub fn instant(self, t: DateTime<Utc>) -> String {
        match self {
            DateStyle::UtcMillis => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            DateStyle::NoZone => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            DateStyle::Offset => t
                .with_timezone(&London)
                .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
                .to_string(),
            DateStyle::SevenDigits => format!(
                "{}.{:07}Z",
                t.format("%Y-%m-%dT%H:%M:%S"),
                t.nanosecond() / 100
            ),
        }
    }

    /// A date-only value: OneFile stores local midnight, so 1 June is served as
    /// `2024-05-31T23:00:00Z` in summer.
    pub fn date(self, d: NaiveDate) -> String {
        self.instant(london_to_utc(d.and_time(NaiveTime::MIN)))
    }
}

/// A rendered record with its raw overrides ([`Store::overrides`]) applied.
pub(crate) fn with_overrides(store: &Store, mut v: Value) -> Value {
    let extra = v
        .get("ID")
        .and_then(Value::as_i64)
        .and_then(|id| store.overrides.get(&id));
    if let (Some(extra), Value::Object(m)) = (extra, &mut v) {
        for (k, x) in extra {
            m.insert(k.clone(), x.clone());
        }
    }
    v
}

/// Builds one JSON object, writing empty fields as `null` or leaving them out.
pub(crate) struct Out<'q> {
    map: Map<String, Value>,
    q: &'q Quirks,
}

impl<'q> Out<'q> {
    pub(crate) fn new(q: &'q Quirks) -> Self {
        Self { map: Map::new(), q }
    }

    pub(crate) fn put(mut self, key: &str, v: impl Into<Value>) -> Self {
        self.map.insert(key.to_string(), v.into());
        self
    }

    pub(crate) fn opt<T: Into<Value> + Clone>(self, key: &str, v: &Option<T>) -> Self {
        match v {
            Some(v) => self.put(key, v.clone()),
            None if self.q.omit_nulls => self,
            None => self.put(key, Value::Null),
        }
    }

    pub(crate) fn date(self, key: &str, v: Option<NaiveDate>) -> Self {
        let style = self.q.date_style;
        self.opt(key, &v.map(|d| style.date(d)))
    }

    pub(crate) fn instant(self, key: &str, v: Option<DateTime<Utc>>) -> Self {
        let style = self.q.date_style;
        self.opt(key, &v.map(|t| style.instant(t)))
    }

    /// Every demographic field of the domain's table under its OneFile name; a blank one that
    /// OneFile requires is `""`, any other blank one `null` (or left out).
    pub(crate) fn demographics(self, d: &Demographics) -> Self {
        DemographicField::ALL
            .into_iter()
            .fold(self, |out, f| match d.held(f) {
                Field::Text(s) => out.put(f.onefile_name(), s),
                Field::Date(day) => out.date(f.onefile_name(), Some(day)),
                _ if f.required_in_onefile() => out.put(f.onefile_name(), ""),
                _ => out.opt::<String>(f.onefile_name(), &None),
            })
    }

    pub(crate) fn build(self) -> Value {
        Value::Object(self.map)
    }
}

/// A user as `GET /User/{id}` serves it (everything).
pub(crate) fn user_full(u: &SimUser, q: &Quirks) -> Value {
    Out::new(q)
        .put("ID", u.id)
        .put("OrganisationID", u.organisation_id)
        .put("Role", u.role)
        .demographics(&u.demographics)
        .opt("MISID", &u.mis_id)
        .opt("Username", &u.username)
        .opt("DefaultAssessorID", &u.default_assessor_id)
        .opt("DefaultEmployerID", &u.default_employer_id)
        .opt("ClassroomID", &u.classroom_id)
        .opt("PlacementID", &u.placement_id)
        .opt("LearnerStatusID", &u.learner_status_id)
        .opt("WorkAddress", &u.work_address)
        .opt("HomeAddress", &u.home_address)
        .put("Archived", u.archived)
        .instant("LastModified", Some(u.last_modified))
        .opt("Progress", &u.progress)
        .build()
}

/// A user as `User/Search` serves it: a summary unless `full_user_search` is on
/// (`[{ID, FirstName, LastName, MISID, …}]`).
pub(crate) fn user_summary(u: &SimUser, q: &Quirks) -> Value {
    if q.full_user_search {
        return user_full(u, q);
    }
    Out::new(q)
        .put("ID", u.id)
        .put("OrganisationID", u.organisation_id)
        .put("Role", u.role)
        .put("FirstName", u.first_name())
        .put("LastName", u.last_name())
        .put("Email", u.email())
        .opt("MISID", &u.mis_id)
        .put("Archived", u.archived)
        .instant("LastModified", Some(u.last_modified))
        .build()
}

pub(crate) fn centre(c: &SimCentre) -> Value {
    json!({"ID": c.id, "Name": c.name})
}

pub(crate) fn classroom(c: &SimClassroom, q: &Quirks) -> Value {
    Out::new(q)
        .put("ID", c.id)
        .put("OrganisationID", c.organisation_id)
        .put("Name", c.name.clone())
        .opt("MISID", &c.mis_id)
        .build()
}

pub(crate) fn placement(p: &SimPlacement, q: &Quirks) -> Value {
    Out::new(q)
        .put("ID", p.id)
        .put("OrganisationID", p.organisation_id)
        .put("Name", p.name.clone())
        .opt("MISID", &p.mis_id)
        .opt("Address", &p.address)
        .put("Active", p.active)
        .build()
}

pub(crate) fn standard(s: &SimStandard, q: &Quirks) -> Value {
    let pathways: Vec<Value> = s
        .pathways
        .iter()
        .map(|p| json!({"ID": p.id, "Name": p.name}))
        .collect();
    Out::new(q)
        .put("ID", s.id)
        .put("OrganisationID", s.organisation_id)
        .put("Code", s.code.clone())
        .put("Title", s.title.clone())
        .put("Pathways", pathways)
        .build()
}

pub(crate) fn learning_aim(a: &SimLearningAim, q: &Quirks) -> Value {
    Out::new(q)
        .put("ID", a.id)
        .put("UserID", a.user_id)
        .put("StandardID", a.standard_id)
        .opt("PathwayID", &a.pathway_id)
        .date("StartDate", a.start_date)
        .date("PlannedEnd", a.planned_end)
        .opt("Status", &a.status)
        .opt("RegistrationNumber", &a.registration_number)
        .date("RegistrationDate", a.registration_date)
        .date("CertificateAppliedDate", a.certificate_applied_date)
        .date("CertificateReceivedDate", a.certificate_received_date)
        .date("AchievedDate", a.achieved_date)
        .opt("TotalElements", &a.total_elements)
        .opt("ElementsDone", &a.elements_done)
        .opt("Progress", &a.progress)
        .instant("LastModified", Some(a.last_modified))
        .build()
}

pub(crate) fn visit(v: &SimVisit, q: &Quirks) -> Value {
    Out::new(q)
        .put("ID", v.id)
        .put("LearnerID", v.learner_id)
        .opt("OrganisationID", &v.organisation_id)
        .instant("DateFrom", v.date_from)
        .instant("DateTo", v.date_to)
        .opt("VisitTypeID", &v.visit_type_id)
        .put("SMSReminder", v.sms_reminder)
        .opt("AssessorID", &v.assessor_id)
        .build()
}

pub(crate) fn review(r: &SimReview, q: &Quirks) -> Value {
    Out::new(q)
        .put("ID", r.id)
        .put("LearnerID", r.learner_id)
        .opt("AssessorID", &r.assessor_id)
        .opt("VisitID", &r.visit_id)
        .put("Status", r.status)
        .instant("CreatedOn", r.created_on)
        .instant("ScheduledFor", r.scheduled_for)
        .instant("StartedOn", r.started_on)
        .instant("AssessorSignedOn", r.assessor_signed_on)
        .instant("LearnerSignedOn", r.learner_signed_on)
        .instant("EmployerSignedOn", r.employer_signed_on)
        .opt("Progress", &r.progress)
        .instant("LastModified", Some(r.last_modified))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use picsync_domain::time::{parse_onefile_date, parse_onefile_datetime};

    #[test]
    fn every_style_reads_back_to_the_same_instant_and_date() {
        let t = Utc.with_ymd_and_hms(2024, 7, 1, 9, 15, 30).unwrap()
            + chrono::Duration::milliseconds(150);
        let d = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        for style in [
            DateStyle::UtcMillis,
            DateStyle::NoZone,
            DateStyle::Offset,
            DateStyle::SevenDigits,
        ] {
            let back = parse_onefile_datetime(&style.instant(t)).unwrap();
            let tolerance = chrono::Duration::seconds(1);
            assert!(
                (back - t).abs() < tolerance,
                "{style:?}: {}",
                style.instant(t)
            );
            assert_eq!(parse_onefile_date(&style.date(d)), Some(d), "{style:?}");
        }
        assert_eq!(DateStyle::UtcMillis.date(d), "2024-05-31T23:00:00.000Z");
        assert_eq!(DateStyle::NoZone.instant(t), "2024-07-01T09:15:30");
        assert_eq!(
            DateStyle::Offset.instant(t),
            "2024-07-01T10:15:30.150+01:00"
        );
        assert_eq!(
            DateStyle::SevenDigits.instant(t),
            "2024-07-01T09:15:30.1500000Z"
        );
    }

    #[test]
    fn empty_fields_are_null_or_omitted() {
        let u = SimUser::assessor(1, "A", "B");
        let nulls = user_full(&u, &Quirks::default());
        assert_eq!(nulls["MISID"], Value::Null);
        let q = Quirks {
            omit_nulls: true,
            ..Quirks::default()
        };
        let omitted = user_full(&u, &q);
        assert!(omitted.get("MISID").is_none());
        assert!(user_summary(&u, &Quirks::default()).get("DOB").is_none());
    }
}
