//! Tolerant reading and plain writing of OneFile JSON (the crate page, "Conventions").
//!
//! Reading accepts what OneFile is known to send: `204 No Content` or an empty body for an
//! empty result, missing and `null` fields, keys in any case, numbers sent as strings (and
//! strings as numbers), booleans as `0`/`1`, and dates with or without a zone and with 0–7
//! fractional digits. Date-only values are read in Europe/London (`parse_onefile_date`). A
//! value that still cannot be read is a [`OneFileError::Malformed`] naming the call and field.

use chrono::{DateTime, NaiveDate, Utc};
use picsync_domain::time::{date_to_onefile, parse_onefile_date, parse_onefile_datetime};
use picsync_domain::{DemographicField, Demographics, FieldKind, OneFileId, Value as FieldValue};
use serde_json::{Map, Value};

use crate::error::OneFileError;
use crate::fields;

/// Longest excerpt of a bad value quoted in an error.
const EXCERPT: usize = 60;

fn excerpt(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > EXCERPT {
        let mut out: String = s.chars().take(EXCERPT).collect();
        out.push('…');
        out
    } else {
        s
    }
}

/// Parses a body as JSON; `None` for an empty body or `null`. A body that is not JSON (cut
/// short, an HTML error page) is a transient `Malformed`: a second try may cure it.
pub(crate) fn parse_json(endpoint: &str, body: &[u8]) -> Result<Option<Value>, OneFileError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Null) => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_eof() => Err(OneFileError::unreadable(endpoint, "the body is cut short")),
        Err(e) => Err(OneFileError::unreadable(
            endpoint,
            format!("the body is not JSON ({e})"),
        )),
    }
}

/// A search result: a bare array of objects; 204, an empty body or `null` is an empty list.
pub(crate) fn parse_list(
    endpoint: &str,
    body: &[u8],
) -> Result<Vec<Map<String, Value>>, OneFileError> {
    match parse_json(endpoint, body)? {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(m) => Ok(m),
                other => Err(OneFileError::malformed(
                    endpoint,
                    format!("item {i} is not an object: {}", excerpt(&other)),
                )),
            })
            .collect(),
        Some(other) => Err(OneFileError::malformed(
            endpoint,
            format!("expected an array, got {}", excerpt(&other)),
        )),
    }
}

/// One record: a JSON object. `None` for no content.
pub(crate) fn parse_object(
    endpoint: &str,
    body: &[u8],
) -> Result<Option<Map<String, Value>>, OneFileError> {
    match parse_json(endpoint, body)? {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(OneFileError::malformed(
            endpoint,
            format!("expected an object, got {}", excerpt(&other)),
        )),
    }
}

/// The id a create returned: a bare number (`123`), a quoted one (`"123"`) or a record
/// carrying `ID` (some creates return the id, others the record: the crate page, "Conventions").
pub(crate) fn parse_new_id(endpoint: &str, body: &[u8]) -> Result<i64, OneFileError> {
    let value = parse_json(endpoint, body)?
        .ok_or_else(|| OneFileError::malformed(endpoint, "no id in an empty reply"))?;
    match &value {
        Value::Object(m) => Obj::new(endpoint, "created record", m).raw_id(),
        v => as_i64(v).filter(|id| *id > 0).ok_or_else(|| {
            OneFileError::malformed(endpoint, format!("expected a new id, got {}", excerpt(v)))
        }),
    }
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A read-only view of one JSON object, with typed, tolerant getters whose errors name the
/// call, the record and the field.
pub(crate) struct Obj<'a> {
    endpoint: &'a str,
    kind: &'a str,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    /// `kind` names the record in errors ("user", "learning aim").
    pub(crate) fn new(endpoint: &'a str, kind: &'a str, map: &'a Map<String, Value>) -> Self {
        Self {
            endpoint,
            kind,
            map,
        }
    }

    /// The value of `key` in any case; `None` when missing or `null`.
    fn get(&self, key: &str) -> Option<&'a Value> {
        let v = self.map.get(key).or_else(|| {
            self.map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })?;
        (!v.is_null()).then_some(v)
    }

    fn bad(&self, key: &str, expected: &str, v: &Value) -> OneFileError {
        let id = self
            .get(fields::ID)
            .and_then(as_i64)
            .map(|id| format!(" {id}"))
            .unwrap_or_default();
        OneFileError::malformed(
            self.endpoint,
            format!(
                "{}{id}: field {key}: expected {expected}, got {}",
                self.kind,
                excerpt(v)
            ),
        )
    }

    /// The record's `ID`, which must be present.
    pub(crate) fn id<I: OneFileId>(&self) -> Result<I, OneFileError> {
        self.raw_id().map(I::from_raw)
    }

    /// The record's `ID` as the integer on the wire, which must be present.
    pub(crate) fn raw_id(&self) -> Result<i64, OneFileError> {
        self.opt_i64(fields::ID)?.ok_or_else(|| {
            OneFileError::malformed(
                self.endpoint,
                format!("{} without {}", self.kind, fields::ID),
            )
        })
    }

    /// The id of a record `key` refers to, read as leniently as [`Self::opt_i64`].
    pub(crate) fn opt_id<I: OneFileId>(&self, key: &str) -> Result<Option<I>, OneFileError> {
        Ok(self.opt_i64(key)?.map(I::from_raw))
    }

    /// An integer (a number, or a string holding one; an empty string is absent).
    pub(crate) fn opt_i64(&self, key: &str) -> Result<Option<i64>, OneFileError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(v) => as_i64(v)
                .map(Some)
                .ok_or_else(|| self.bad(key, "an integer", v)),
        }
    }

    /// A number (a number, or a string holding one).
    pub(crate) fn opt_f64(&self, key: &str) -> Result<Option<f64>, OneFileError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(v @ Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Some)
                .ok_or_else(|| self.bad(key, "a number", v)),
            Some(v) => Err(self.bad(key, "a number", v)),
        }
    }

    /// Text; numbers and booleans are given as text; blank text is absent.
    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<String>, OneFileError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(v) => Err(self.bad(key, "text", v)),
        }
    }

    /// A boolean: `true`/`false`, `1`/`0`, or those as text.
    pub(crate) fn opt_bool(&self, key: &str) -> Result<Option<bool>, OneFileError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v @ Value::Number(n)) => match n.as_i64() {
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                _ => Err(self.bad(key, "a boolean", v)),
            },
            Some(v @ Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "true" | "1" | "yes" => Ok(Some(true)),
                "false" | "0" | "no" => Ok(Some(false)),
                _ => Err(self.bad(key, "a boolean", v)),
            },
            Some(v) => Err(self.bad(key, "a boolean", v)),
        }
    }

    /// A date-only value, read in Europe/London (OneFile stores local midnight).
    pub(crate) fn opt_date(&self, key: &str) -> Result<Option<NaiveDate>, OneFileError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(v @ Value::String(s)) => parse_onefile_date(s)
                .map(Some)
                .ok_or_else(|| self.bad(key, "a date in the years 1900-2200", v)),
            Some(v) => Err(self.bad(key, "a date", v)),
        }
    }

    /// An instant; a value without a zone is read as UTC.
    pub(crate) fn opt_datetime(&self, key: &str) -> Result<Option<DateTime<Utc>>, OneFileError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(v @ Value::String(s)) => parse_onefile_datetime(s)
                .map(Some)
                .ok_or_else(|| self.bad(key, "a date-time in the years 1900-2200", v)),
            Some(v) => Err(self.bad(key, "a date-time", v)),
        }
    }

    /// Every demographic field of the domain's table, each under its OneFile name and read as
    /// its kind says ([`Obj::opt_str`], [`Obj::opt_date`]).
    pub(crate) fn demographics(&self) -> Result<Demographics, OneFileError> {
        let mut d = Demographics::default();
        for f in DemographicField::ALL {
            let key = f.onefile_name();
            let v = match f.kind() {
                FieldKind::Text => self
                    .opt_str(key)?
                    .map_or(FieldValue::Blank, FieldValue::Text),
                FieldKind::Date => FieldValue::date(self.opt_date(key)?),
            };
            let set = d.set(f, &v);
            debug_assert!(set, "{f:?} is read as its own kind");
        }
        Ok(d)
    }

    /// An array of objects (absent or `null` is empty).
    pub(crate) fn objects(&self, key: &str) -> Result<Vec<&'a Map<String, Value>>, OneFileError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Object(m) => Ok(m),
                    other => Err(self.bad(key, "an array of objects", other)),
                })
                .collect(),
            Some(v) => Err(self.bad(key, "an array", v)),
        }
    }

    /// A nested object of another kind, with the same call for errors.
    pub(crate) fn child(&self, kind: &'a str, map: &'a Map<String, Value>) -> Obj<'a> {
        Obj::new(self.endpoint, kind, map)
    }
}

/// An instant as OneFile is sent it: UTC, `Z`, milliseconds.
pub(crate) fn format_instant(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A request body: a JSON object with PascalCase keys, holding only the fields that are set
/// (updates are partial).
#[derive(Default)]
pub(crate) struct Body(Map<String, Value>);

impl Body {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `v`.
    pub(crate) fn put(mut self, key: &str, v: impl Into<Value>) -> Self {
        self.0.insert(key.to_string(), v.into());
        self
    }

    /// Sets `key` when `v` is `Some`.
    pub(crate) fn opt<T: Into<Value> + Clone>(self, key: &str, v: &Option<T>) -> Self {
        match v {
            Some(v) => self.put(key, v.clone()),
            None => self,
        }
    }

    /// Sets `key` to the integer of a record's id.
    pub(crate) fn id(self, key: &str, id: impl OneFileId) -> Self {
        self.put(key, id.raw())
    }

    /// Sets `key` to the integer of a record's id when there is one.
    pub(crate) fn opt_id(self, key: &str, id: Option<impl OneFileId>) -> Self {
        match id {
            Some(id) => self.id(key, id),
            None => self,
        }
    }

    /// Sets a date-only `key` (as midnight UTC) when `v` is `Some`.
    pub(crate) fn date(self, key: &str, v: Option<NaiveDate>) -> Self {
        match v {
            Some(d) => self.put(key, format_instant(date_to_onefile(d))),
            None => self,
        }
    }

    /// Sets an instant `key` when `v` is `Some`.
    pub(crate) fn instant(self, key: &str, v: Option<DateTime<Utc>>) -> Self {
        match v {
            Some(t) => self.put(key, format_instant(t)),
            None => self,
        }
    }

    /// Sets each demographic field of `d` that holds a value, under its OneFile name (dates as
    /// [`Body::date`]). A blank field is left out, except that with `required_as_empty` one that
    /// OneFile requires is sent as `""` (a create sends them all).
    pub(crate) fn demographics(mut self, d: &Demographics, required_as_empty: bool) -> Self {
        for f in DemographicField::ALL {
            let key = f.onefile_name();
            self = match d.held(f) {
                FieldValue::Text(s) => self.put(key, s),
                FieldValue::Date(day) => self.date(key, Some(day)),
                _ if required_as_empty && f.required_in_onefile() => self.put(key, ""),
                _ => self,
            };
        }
        self
    }

    pub(crate) fn build(self) -> Value {
        Value::Object(self.0)
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
    fn empty_results_read_as_empty_lists() {
        assert!(parse_list("e", b"").unwrap().is_empty());
        assert!(parse_list("e", b"  ").unwrap().is_empty());
        assert!(parse_list("e", b"null").unwrap().is_empty());
        assert!(parse_list("e", b"[]").unwrap().is_empty());
        assert_eq!(parse_list("e", br#"[{"ID":1}]"#).unwrap().len(), 1);
    }

    #[test]
    fn unreadable_bodies_are_transient_and_bad_shapes_permanent() {
        let cut = parse_list("POST /User/Search", br#"[{"ID":1},{"ID""#).unwrap_err();
        assert!(cut.is_retryable(), "{cut}");
        assert!(cut.to_string().contains("POST /User/Search"));
        let html = parse_list("e", b"<html>").unwrap_err();
        assert!(html.is_retryable());
        let shape = parse_list("e", br#"{"ID":1}"#).unwrap_err();
        assert!(!shape.is_retryable());
        let item = parse_list("e", b"[1]").unwrap_err();
        assert!(!item.is_retryable());
    }

    #[test]
    fn new_ids_in_every_shape() {
        assert_eq!(parse_new_id("e", b"123").unwrap(), 123);
        assert_eq!(parse_new_id("e", b"\"45\"").unwrap(), 45);
        assert_eq!(parse_new_id("e", br#"{"ID": 7, "Name": "x"}"#).unwrap(), 7);
        assert_eq!(parse_new_id("e", br#"{"id": "8"}"#).unwrap(), 8);
        assert!(parse_new_id("e", b"").is_err());
        assert!(parse_new_id("e", b"0").is_err());
        assert!(parse_new_id("e", b"\"abc\"").is_err());
    }

    #[test]
    fn getters_are_tolerant() {
        let m = map(json!({
            "ID": "12", "firstname": "Ann", "MISID": 4711, "Archived": 1, "Active": "false",
            "Progress": 42.5, "Blank": "", "Null": null, "DOB": "2024-05-31T23:00:00Z",
            "StartOn": "2024-01-15T00:00:00.1234567", "LastModified": "2022-02-23T13:49:33+01:00"
        }));
        let o = Obj::new("GET /User/12", "user", &m);
        assert_eq!(o.raw_id().unwrap(), 12);
        assert_eq!(o.opt_str("FirstName").unwrap().as_deref(), Some("Ann"));
        assert_eq!(o.opt_str("MISID").unwrap().as_deref(), Some("4711"));
        assert_eq!(o.opt_bool("Archived").unwrap(), Some(true));
        assert_eq!(o.opt_bool("Active").unwrap(), Some(false));
        assert_eq!(o.opt_f64("Progress").unwrap(), Some(42.5));
        assert_eq!(o.opt_str("Blank").unwrap(), None);
        assert_eq!(o.opt_i64("Null").unwrap(), None);
        assert_eq!(o.opt_i64("Missing").unwrap(), None);
        // summer midnight in London is the next day
        assert_eq!(
            o.opt_date("DOB").unwrap(),
            NaiveDate::from_ymd_opt(2024, 6, 1)
        );
        assert_eq!(
            o.opt_date("StartOn").unwrap(),
            NaiveDate::from_ymd_opt(2024, 1, 15)
        );
        assert_eq!(
            o.opt_datetime("LastModified")
                .unwrap()
                .map(format_instant)
                .as_deref(),
            Some("2022-02-23T12:49:33.000Z")
        );
    }

    #[test]
    fn a_bad_value_names_call_record_and_field() {
        let m = map(json!({"ID": 9, "DOB": "yesterday", "Role": "learner", "Pathways": 3}));
        let o = Obj::new("GET /User/9", "user", &m);
        let e = o.opt_date("DOB").unwrap_err();
        assert_eq!(
            e.to_string(),
            "OneFile gave a malformed answer on GET /User/9: user 9: field DOB: expected a date in the years 1900-2200, got \"yesterday\""
        );
        assert!(!e.is_retryable());
        assert!(o.opt_i64("Role").is_err());
        assert!(o.objects("Pathways").is_err());
        let no_id = map(json!({"Name": "x"}));
        assert!(Obj::new("e", "centre", &no_id).raw_id().is_err());
    }

    #[test]
    fn extreme_dates_are_malformed_naming_the_field() {
        // B4: these panicked in the London conversions before
        for bad in [
            "-262143-01-01T00:00:00Z",
            "-262143-01-01T00:00:00+01:00",
            "+262142-12-31T23:30:00",
            "1899-12-31T23:00:00Z",
            "2201-01-01T00:00:00.000Z",
        ] {
            let m = map(json!({"ID": 9, "DOB": bad, "LastModified": bad}));
            let o = Obj::new("GET /User/9", "user", &m);
            let e = o.opt_date("DOB").unwrap_err().to_string();
            assert!(e.contains("field DOB") && e.contains("1900-2200"), "{e}");
            let e = o.opt_datetime("LastModified").unwrap_err().to_string();
            assert!(e.contains("field LastModified"), "{e}");
        }
    }

    #[test]
    fn bodies_hold_only_set_fields_and_dates_as_midnight_utc() {
        let b = Body::new()
            .put("OrganisationID", 3)
            .opt::<String>("MISID", &None)
            .opt("Email", &Some("a@b".to_string()))
            .date("DOB", NaiveDate::from_ymd_opt(2024, 6, 1))
            .date("StartOn", None)
            .build();
        assert_eq!(
            b,
            json!({"OrganisationID": 3, "Email": "a@b", "DOB": "2024-06-01T00:00:00.000Z"})
        );
    }
}
