//! Lenient reading of PICS JSON values, and the contract's date-time format for writing.
//!
//! Reading accepts what a .NET API plausibly sends for each kind of field: numbers given as
//! strings (and ids given as numbers), blank strings as "no value", `null` lists as empty, date
//! fields given as midnight date-times, date-times with 0–9 fractional digits. PICS date-times
//! are local UK time without a zone; one that carries a zone anyway is converted to London time.
//! Anything else fails the read with a message saying what was expected.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use picsync_domain::OneFileId;
use picsync_domain::time::{parse_onefile_datetime, sane_year, utc_to_london};
use serde::de::{self, Deserialize, DeserializeOwned, Deserializer};
use serde::ser::Serializer;
use serde_json::Value;

/// The date-time format of the contract (`YYYY-MM-DDTHH:MM:SS`, local UK time).
pub(crate) const DATETIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// A short description of a JSON value for error messages (strings cut to 40 characters).
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => {
            let cut: String = s.chars().take(40).collect();
            if cut.len() < s.len() {
                format!("string {cut:?}…")
            } else {
                format!("string {cut:?}")
            }
        }
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// A required id (or row version): a non-blank string, or a number (kept as its text).
pub(crate) fn id<'de, D: Deserializer<'de>, T: From<String>>(d: D) -> Result<T, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) if !blank(&s) => Ok(s.into()),
        Value::Number(n) => Ok(n.to_string().into()),
        other => Err(de::Error::custom(format_args!(
            "expected an id (string or number), got {}",
            describe(&other)
        ))),
    }
}

/// A text that may be absent: `null` or blank → empty string.
pub(crate) fn text_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    opt_string(d).map(Option::unwrap_or_default)
}

/// An optional text: `null` or blank → `None`; numbers and booleans are kept as their text.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    text_of(Value::deserialize(d)?).map_err(de::Error::custom)
}

/// An optional PICS id, read as [`opt_string`].
pub(crate) fn opt_id<'de, D: Deserializer<'de>, T: From<String>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Ok(opt_string(d)?.map(T::from))
}

/// An optional OneFile id, read as [`opt_i64`].
pub(crate) fn opt_onefile_id<'de, D: Deserializer<'de>, T: OneFileId>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Ok(opt_i64(d)?.map(T::from_raw))
}

/// [`opt_string`] of a value already read.
fn text_of(v: Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if blank(&s) => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(format!("expected a text, got {}", describe(&other))),
    }
}

/// An optional integer: a JSON integer, a whole float, or a string of digits; `null` or blank
/// → `None`.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    let parsed = match &v {
        Value::Null => return Ok(None),
        Value::String(s) if blank(s) => return Ok(None),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        _ => None,
    };
    parsed
        .map(Some)
        .ok_or_else(|| de::Error::custom(format_args!("expected an integer, got {}", describe(&v))))
}

/// An optional boolean: `true`/`false`, `1`/`0`, or those as strings; `null` → `None`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Value::deserialize(d)?;
    let parsed = match &v {
        Value::Null => return Ok(None),
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) if blank(s) => return Ok(None),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    };
    parsed
        .map(Some)
        .ok_or_else(|| de::Error::custom(format_args!("expected a boolean, got {}", describe(&v))))
}

/// Parses a PICS date-time: local UK time, 0–9 fractional digits, a bare date as midnight; a
/// value with a zone (`Z`, `±hh:mm`) is converted to London time.
pub(crate) fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    let t = parse_onefile_datetime(s)?;
    if has_zone(s) {
        Some(utc_to_london(t))
    } else {
        // Without a zone the shared parser reads the wall-clock time as UTC: taking the naive
        // UTC value back gives exactly the wall-clock time that was sent.
        Some(t.naive_utc())
    }
}

/// Whether an ISO-8601 date-time names its zone.
fn has_zone(s: &str) -> bool {
    let Some(t) = s.find(['T', 't', ' ']) else {
        return false;
    };
    let time = &s[t + 1..];
    time.ends_with(['Z', 'z']) || time.contains(['+', '-'])
}

/// Parses a PICS date: `YYYY-MM-DD`, or a date-time whose date part is taken. A year outside
/// 1900–2200 is refused (§7, see [`picsync_domain::time::sane_year`]).
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .or_else(|| parse_datetime(s).map(|t| t.date()))
        .filter(|d| sane_year(d.year()))
}

/// An optional date (see [`parse_date`]); `null` or blank → `None`.
pub(crate) fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    date_of(&Value::deserialize(d)?).map_err(de::Error::custom)
}

/// [`opt_date`] of a value already read.
fn date_of(v: &Value) -> Result<Option<NaiveDate>, String> {
    let parsed = match v {
        Value::Null => return Ok(None),
        Value::String(s) if blank(s) => return Ok(None),
        Value::String(s) => parse_date(s),
        _ => None,
    };
    parsed.map(Some).ok_or_else(|| {
        format!(
            "expected a date YYYY-MM-DD in the years 1900-2200, got {}",
            describe(v)
        )
    })
}

/// The demographic fields of a learner record (flattened into it), each under its PICS name
/// (the domain's field table) and read as its kind says ([`opt_string`], [`opt_date`]); other
/// keys are left to the record. Written back under the same names (dates `YYYY-MM-DD`).
pub(crate) mod demographics {
    use picsync_domain::{DemographicField, Demographics, FieldKind, Value as FieldValue};
    use serde::de::{self, Deserializer, MapAccess, Visitor};
    use serde::ser::{SerializeMap, Serializer};
    use serde_json::Value;
    use std::fmt;

    use super::{date_of, text_of};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Demographics, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = Demographics;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a learner's fields")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Demographics, A::Error> {
                let mut out = Demographics::default();
                while let Some(key) = m.next_key::<String>()? {
                    let Some(f) = DemographicField::ALL
                        .into_iter()
                        .find(|f| f.pics_name() == key)
                    else {
                        m.next_value::<de::IgnoredAny>()?;
                        continue;
                    };
                    let raw = m.next_value::<Value>()?;
                    let v = match f.kind() {
                        FieldKind::Text => {
                            text_of(raw).map(|t| t.map_or(FieldValue::Blank, FieldValue::Text))
                        }
                        FieldKind::Date => date_of(&raw).map(FieldValue::date),
                    }
                    .map_err(|e| de::Error::custom(format_args!("field {key}: {e}")))?;
                    let set = out.set(f, &v);
                    debug_assert!(set, "{f:?} is read as its own kind");
                }
                Ok(out)
            }
        }
        d.deserialize_map(Fields)
    }

    pub(crate) fn serialize<S: Serializer>(d: &Demographics, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for f in DemographicField::ALL {
            match d.held(f) {
                FieldValue::Text(t) => m.serialize_entry(f.pics_name(), &t)?,
                FieldValue::Date(day) => m.serialize_entry(f.pics_name(), &day)?,
                _ => {}
            }
        }
        m.end()
    }
}

/// An optional date-time (see [`parse_datetime`]); `null` or blank → `None`.
pub(crate) fn opt_datetime<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<NaiveDateTime>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) if blank(&s) => Ok(None),
        Value::String(s) => parse_datetime(&s).map(Some).ok_or_else(|| {
            de::Error::custom(format_args!(
                "expected a date-time YYYY-MM-DDTHH:MM:SS in the years 1900-2200, got {}",
                describe(&Value::String(s))
            ))
        }),
        other => Err(de::Error::custom(format_args!(
            "expected a date-time YYYY-MM-DDTHH:MM:SS in the years 1900-2200, got {}",
            describe(&other)
        ))),
    }
}

/// A list that may be `null` or absent (→ empty).
pub(crate) fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Option::<Vec<T>>::deserialize(d).map(Option::unwrap_or_default)
}

/// Writes an optional date-time in the contract's format (seconds, no fraction, no zone).
pub(crate) fn ser_opt_datetime<S: Serializer>(
    v: &Option<NaiveDateTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(t) => s.serialize_str(&t.format(DATETIME_FORMAT).to_string()),
        None => s.serialize_none(),
    }
}

/// Writes a date-time in the contract's format (for query strings).
pub(crate) fn format_datetime(t: &NaiveDateTime) -> String {
    t.format(DATETIME_FORMAT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct Probe {
        #[serde(default, deserialize_with = "opt_i64")]
        n: Option<i64>,
        #[serde(default, deserialize_with = "opt_string")]
        s: Option<String>,
        #[serde(default, deserialize_with = "opt_date")]
        d: Option<NaiveDate>,
        #[serde(default, deserialize_with = "opt_datetime")]
        t: Option<NaiveDateTime>,
        #[serde(default, deserialize_with = "opt_bool")]
        b: Option<bool>,
    }

    fn probe(json: &str) -> Result<Probe, serde_json::Error> {
        serde_json::from_str(json)
    }

    fn dt(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, s)
            .unwrap()
    }

    #[test]
    fn integers_from_numbers_strings_and_blanks() {
        assert_eq!(probe(r#"{"n": 42}"#).unwrap().n, Some(42));
        assert_eq!(probe(r#"{"n": "42"}"#).unwrap().n, Some(42));
        assert_eq!(probe(r#"{"n": " 42 "}"#).unwrap().n, Some(42));
        assert_eq!(probe(r#"{"n": 42.0}"#).unwrap().n, Some(42));
        assert_eq!(probe(r#"{"n": ""}"#).unwrap().n, None);
        assert_eq!(probe(r#"{"n": null}"#).unwrap().n, None);
        assert_eq!(probe(r#"{}"#).unwrap().n, None);
        let e = probe(r#"{"n": "abc"}"#).unwrap_err().to_string();
        assert!(e.contains("expected an integer"), "{e}");
        assert!(probe(r#"{"n": 4.5}"#).is_err());
    }

    #[test]
    fn texts_blank_is_none_numbers_kept_as_text() {
        assert_eq!(probe(r#"{"s": "x"}"#).unwrap().s.as_deref(), Some("x"));
        assert_eq!(probe(r#"{"s": "  "}"#).unwrap().s, None);
        assert_eq!(probe(r#"{"s": 1234}"#).unwrap().s.as_deref(), Some("1234"));
        assert!(probe(r#"{"s": [1]}"#).is_err());
    }

    #[test]
    fn dates_plain_or_as_midnight_datetimes() {
        let want = NaiveDate::from_ymd_opt(2024, 6, 1);
        assert_eq!(probe(r#"{"d": "2024-06-01"}"#).unwrap().d, want);
        assert_eq!(probe(r#"{"d": "2024-06-01T00:00:00"}"#).unwrap().d, want);
        assert_eq!(probe(r#"{"d": ""}"#).unwrap().d, None);
        let e = probe(r#"{"d": "01/06/2024"}"#).unwrap_err().to_string();
        assert!(e.contains("expected a date"), "{e}");
        assert!(probe(r#"{"d": 20240601}"#).is_err());
    }

    #[test]
    fn datetimes_local_with_fractions_and_zones() {
        let want = Some(dt(2024, 6, 1, 10, 30, 0));
        assert_eq!(probe(r#"{"t": "2024-06-01T10:30:00"}"#).unwrap().t, want);
        let frac = probe(r#"{"t": "2024-06-01T10:30:00.1234567"}"#)
            .unwrap()
            .t
            .unwrap();
        assert_eq!(
            frac.format(DATETIME_FORMAT).to_string(),
            "2024-06-01T10:30:00"
        );
        assert_eq!(probe(r#"{"t": "2024-06-01T10:30"}"#).unwrap().t, want);
        // a zone is converted to London wall-clock time (BST in June)
        assert_eq!(probe(r#"{"t": "2024-06-01T09:30:00Z"}"#).unwrap().t, want);
        assert_eq!(
            probe(r#"{"t": "2024-06-01T10:30:00+01:00"}"#).unwrap().t,
            want
        );
        // a bare date is midnight
        assert_eq!(
            probe(r#"{"t": "2024-06-01"}"#).unwrap().t,
            Some(dt(2024, 6, 1, 0, 0, 0))
        );
        assert!(probe(r#"{"t": "tomorrow"}"#).is_err());
    }

    #[test]
    fn extreme_years_are_refused_naming_the_range() {
        // B4: these overflowed chrono's arithmetic (+60 minutes, London offsets) downstream
        for body in [
            r#"{"t": "+262142-12-31T23:30:00"}"#,
            r#"{"t": "-262143-01-01T00:00:00+01:00"}"#,
            r#"{"t": "1899-12-31T23:59:59"}"#,
            r#"{"d": "2201-01-01"}"#,
            r#"{"d": "+262142-12-31"}"#,
        ] {
            let e = probe(body).unwrap_err().to_string();
            assert!(e.contains("1900-2200"), "{body}: {e}");
        }
        assert!(probe(r#"{"d": "1900-01-01", "t": "2200-12-31T23:59:59"}"#).is_ok());
    }

    #[test]
    fn booleans_lenient() {
        assert_eq!(probe(r#"{"b": true}"#).unwrap().b, Some(true));
        assert_eq!(probe(r#"{"b": 0}"#).unwrap().b, Some(false));
        assert_eq!(probe(r#"{"b": "True"}"#).unwrap().b, Some(true));
        assert_eq!(probe(r#"{"b": null}"#).unwrap().b, None);
        assert!(probe(r#"{"b": "maybe"}"#).is_err());
    }

    #[test]
    fn zone_detection() {
        assert!(has_zone("2024-06-01T10:00:00Z"));
        assert!(has_zone("2024-06-01T10:00:00-05:00"));
        assert!(!has_zone("2024-06-01T10:00:00"));
        assert!(!has_zone("2024-06-01"));
    }
}
