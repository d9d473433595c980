//! Field values as the planner compares and reports them, and the rule ids (see [`crate::rules`]).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::stored::stored_names;

/// One field's value, typed, for plans, audit entries and baselines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Value {
    Blank,
    Text(String),
    Int(i64),
    Date(NaiveDate),
    /// A Europe/London wall-clock time (PICS date-times).
    LocalDateTime(NaiveDateTime),
    /// An instant (OneFile date-times).
    Instant(DateTime<Utc>),
}

impl Value {
    pub fn is_blank(&self) -> bool {
        matches!(self, Value::Blank)
    }

    /// Text, where blank and whitespace-only both read as [`Value::Blank`] (R25–R28 treat an
    /// empty string as blank).
    pub fn text(s: Option<&str>) -> Value {
        match s.map(str::trim) {
            Some(t) if !t.is_empty() => Value::Text(t.to_string()),
            _ => Value::Blank,
        }
    }

    pub fn date(d: Option<NaiveDate>) -> Value {
        d.map_or(Value::Blank, Value::Date)
    }

    pub fn int(i: Option<i64>) -> Value {
        i.map_or(Value::Blank, Value::Int)
    }

    pub fn local(t: Option<NaiveDateTime>) -> Value {
        t.map_or(Value::Blank, Value::LocalDateTime)
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_date(&self) -> Option<NaiveDate> {
        match self {
            Value::Date(d) => Some(*d),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_local(&self) -> Option<NaiveDateTime> {
        match self {
            Value::LocalDateTime(t) => Some(*t),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Blank => f.write_str("(blank)"),
            Value::Text(s) => write!(f, "{s:?}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Date(d) => write!(f, "{d}"),
            Value::LocalDateTime(t) => write!(f, "{}", t.format("%Y-%m-%d %H:%M")),
            Value::Instant(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%SZ")),
        }
    }
}

/// The rules a change can be made by, named so that a reader can go from a rule to its code
/// and tests; each is explained in [`crate::rules`].
///
/// Stored (audit entries, run records' rule counts) and shown under [`Rule::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    R3,
    R6,
    R7,
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
    R16,
    R17,
    R18,
    R19,
    R20,
    R21,
    R22,
    R23,
    R24,
    R25,
    R26,
    R27,
    R28,
    R29,
    R30,
    R32,
    R33,
    R37,
    R40,
    /// §1: a PICS qualification is matched to a OneFile learning aim by code.
    Match,
}

stored_names!(Rule {
    R3 => "R3",
    R6 => "R6",
    R7 => "R7",
    R8 => "R8",
    R9 => "R9",
    R10 => "R10",
    R11 => "R11",
    R12 => "R12",
    R13 => "R13",
    R14 => "R14",
    R15 => "R15",
    R16 => "R16",
    R17 => "R17",
    R18 => "R18",
    R19 => "R19",
    R20 => "R20",
    R21 => "R21",
    R22 => "R22",
    R23 => "R23",
    R24 => "R24",
    R25 => "R25",
    R26 => "R26",
    R27 => "R27",
    R28 => "R28",
    R29 => "R29",
    R30 => "R30",
    R32 => "R32",
    R33 => "R33",
    R37 => "R37",
    R40 => "R40",
    // **Decision**: stored as "§1", the name run records and reports already gave it; audit
    // entries written before issue 15 stored "Match", which still reads.
    Match => "§1",
} aliases {
    "Match" => Match,
});

impl Rule {
    /// Every rule, in order.
    pub const ALL: [Rule; 31] = [
        Rule::R3,
        Rule::R6,
        Rule::R7,
        Rule::R8,
        Rule::R9,
        Rule::R10,
        Rule::R11,
        Rule::R12,
        Rule::R13,
        Rule::R14,
        Rule::R15,
        Rule::R16,
        Rule::R17,
        Rule::R18,
        Rule::R19,
        Rule::R20,
        Rule::R21,
        Rule::R22,
        Rule::R23,
        Rule::R24,
        Rule::R25,
        Rule::R26,
        Rule::R27,
        Rule::R28,
        Rule::R29,
        Rule::R30,
        Rule::R32,
        Rule::R33,
        Rule::R37,
        Rule::R40,
        Rule::Match,
    ];

    /// One line of what the rule does, for plans and summaries.
    pub fn summary(self) -> &'static str {
        match self {
            Rule::R3 => "learner in scope",
            Rule::R6 => "enrol learner in OneFile",
            Rule::R7 => "classroom",
            Rule::R8 => "assign matching qualifications",
            Rule::R9 => "pathway choice needed",
            Rule::R10 => "centre choice needed",
            Rule::R11 => "officer linked or created as assessor",
            Rule::R12 => "duplicate MIS value",
            Rule::R13 => "employer linked or created as placement",
            Rule::R14 => "link, never duplicate",
            Rule::R15 => "upload reviews at enrolment",
            Rule::R16 => "review date, time and visit type",
            Rule::R17 => "review eligible for upload",
            Rule::R18 => "review assessor",
            Rule::R19 => "review linked after upload",
            Rule::R20 => "upload eligible review",
            Rule::R21 => "download review",
            Rule::R22 => "downloaded review fields",
            Rule::R23 => "progress from OneFile",
            Rule::R24 => "qualification with units keeps its elements",
            Rule::R25 => "PICS blank, OneFile set: PICS takes OneFile",
            Rule::R26 => "PICS set, OneFile blank: OneFile takes PICS",
            Rule::R27 => "both set and different: OneFile wins",
            Rule::R28 => "both blank: nothing written",
            Rule::R29 => "initial sync uploads every eligible review",
            Rule::R30 => "initial sync reconciles registration and certification",
            Rule::R32 => "demographics push or pull",
            Rule::R33 => "enrolment fields not re-sent",
            Rule::R37 => "new qualification assigned",
            Rule::R40 => "no echo: only a real change travels",
            Rule::Match => "qualification matched to learning aim by code",
        }
    }
}

/// Its stored name: plans and summaries show what run records count.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
