//! Reading request bodies as OneFile does: JSON objects with keys in any case. Every problem is
//! a [`BadRequest`] (HTTP 400 with a `{"Message"}` body); nothing here panics.

use chrono::{DateTime, NaiveDate, Utc};
use picsync_domain::time::{parse_onefile_date, parse_onefile_datetime};
use serde_json::{Map, Value};

/// A 400 answer's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRequest(pub(crate) String);

pub(crate) type Checked<T> = Result<T, BadRequest>;

fn bad<T>(msg: impl Into<String>) -> Checked<T> {
    Err(BadRequest(msg.into()))
}

/// A parsed request body.
pub(crate) struct Req {
    map: Map<String, Value>,
}

impl Req {
    /// An empty body is an empty object; anything but a JSON object is a 400.
    pub(crate) fn parse(body: &[u8]) -> Checked<Self> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self { map: Map::new() });
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Self { map }),
            Ok(Value::Null) => Ok(Self { map: Map::new() }),
            Ok(_) => bad("The request body must be a JSON object."),
            Err(_) => bad("The request is invalid: the body is not valid JSON."),
        }
    }

    /// The value of `key` in any case; `None` when absent or `null`.
    fn get(&self, key: &str) -> Option<&Value> {
        self.map
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    /// Whether `key` was sent (even as `null`).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.keys().any(|k| k.eq_ignore_ascii_case(key))
    }

    pub(crate) fn i64(&self, key: &str) -> Checked<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => Ok(Some(i)),
                None => bad(format!("{key} must be an integer.")),
            },
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => match s.trim().parse() {
                Ok(i) => Ok(Some(i)),
                Err(_) => bad(format!("{key} must be an integer.")),
            },
            Some(_) => bad(format!("{key} must be an integer.")),
        }
    }

    pub(crate) fn req_i64(&self, key: &str) -> Checked<i64> {
        match self.i64(key)? {
            Some(v) => Ok(v),
            None => bad(format!("{key} is required.")),
        }
    }

    pub(crate) fn string(&self, key: &str) -> Checked<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => bad(format!("{key} must be text.")),
        }
    }

    pub(crate) fn req_string(&self, key: &str) -> Checked<String> {
        match self.string(key)? {
            Some(v) => Ok(v),
            None => bad(format!("{key} is required.")),
        }
    }

    pub(crate) fn bool(&self, key: &str) -> Checked<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(Some(false)),
            Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(Some(true)),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => bad(format!("{key} must be true or false.")),
            },
            Some(_) => bad(format!("{key} must be true or false.")),
        }
    }

    pub(crate) fn f64(&self, key: &str) -> Checked<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) => match s.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Some(f)),
                _ => bad(format!("{key} must be a number.")),
            },
            Some(_) => bad(format!("{key} must be a number.")),
        }
    }

    /// A date-only value as OneFile stores it: the Europe/London date of the instant sent.
    pub(crate) fn date(&self, key: &str) -> Checked<Option<NaiveDate>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => match parse_onefile_date(s) {
                Some(d) => Ok(Some(d)),
                None => bad(format!("{key} is not a valid date.")),
            },
            Some(_) => bad(format!("{key} is not a valid date.")),
        }
    }

    pub(crate) fn instant(&self, key: &str) -> Checked<Option<DateTime<Utc>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => match parse_onefile_datetime(s) {
                Some(t) => Ok(Some(t)),
                None => bad(format!("{key} is not a valid date.")),
            },
            Some(_) => bad(format!("{key} is not a valid date.")),
        }
    }

    pub(crate) fn req_instant(&self, key: &str) -> Checked<DateTime<Utc>> {
        match self.instant(key)? {
            Some(v) => Ok(v),
            None => bad(format!("{key} is required.")),
        }
    }
}

/// Sets an optional `target` when the body has `key` (a `null` clears it).
pub(crate) fn set_opt<T>(req: &Req, key: &str, target: &mut Option<T>, v: Option<T>) -> bool {
    if req.has(key) {
        *target = v;
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_any_case_and_lenient_values() {
        let r = Req::parse(br#"{"organisationid": "12", "FIRSTNAME": "Ann", "Active": 1, "DOB": "2024-06-01T00:00:00Z"}"#).unwrap();
        assert_eq!(r.req_i64("OrganisationID").unwrap(), 12);
        assert_eq!(r.req_string("FirstName").unwrap(), "Ann");
        assert_eq!(r.bool("Active").unwrap(), Some(true));
        assert_eq!(r.date("DOB").unwrap(), NaiveDate::from_ymd_opt(2024, 6, 1));
        assert!(r.has("dob") && !r.has("MISID"));
    }

    #[test]
    fn bad_input_is_a_400_not_a_panic() {
        assert!(Req::parse(b"{not json").is_err());
        assert!(Req::parse(b"[1,2]").is_err());
        let r = Req::parse(br#"{"ID": "x", "DOB": "soon", "Active": "maybe", "N": {}}"#).unwrap();
        assert!(r.i64("ID").is_err());
        assert!(r.date("DOB").is_err());
        assert!(r.bool("Active").is_err());
        assert!(r.string("N").is_err());
        assert_eq!(
            r.req_i64("Missing").unwrap_err(),
            BadRequest("Missing is required.".into())
        );
        assert!(Req::parse(b"").unwrap().i64("x").unwrap().is_none());
    }
}
