//! The synced demographic fields of a learner (R6, R32), each defined once: one row of the
//! table at the bottom of this file.
//!
//! A row gives the field's variant of [`DemographicField`], its field of [`Demographics`], its
//! type (`String` for text, `NaiveDate` for a date), the name audit entries and baselines store
//! it under, its name in the PICS API, its name in the OneFile API, and whether OneFile
//! requires it on a user. From the table come the enum, [`DemographicField::ALL`], the stored
//! names, the struct, [`Demographics::get`]/[`held`](Demographics::held)/[`set`](Demographics::set)
//! and [`DemographicField::pics_name`]/[`onefile_name`](DemographicField::onefile_name).
//!
//! Everything else reads and writes the demographic fields by iterating
//! [`DemographicField::ALL`]: the planner (R32), the engine's write-backs, the OneFile client's
//! `User`/`NewUser`/`UserUpdate`, the PICS client's `Learner`/`LearnerPatch`, and both
//! simulators. Adding a row is what adding a synced field takes (README, "How to add a synced
//! field").

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::stored::stored_names;
use crate::value::Value;

/// What a demographic field holds: text or a date (either may be blank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    Text,
    Date,
}

impl FieldKind {
    /// Whether `v` is a value of this kind; blank is a value of every kind.
    pub fn accepts(self, v: &Value) -> bool {
        matches!(
            (self, v),
            (_, Value::Blank)
                | (FieldKind::Text, Value::Text(_))
                | (FieldKind::Date, Value::Date(_))
        )
    }
}

/// The Rust type of a field (the table's third column) and its conversions to [`Value`].
trait FieldType: Sized {
    const KIND: FieldKind;
    /// As the planner compares it: text trimmed, blank text blank.
    fn compared(v: Option<&Self>) -> Value;
    /// As held, untrimmed: what a client sends.
    fn held(v: Option<&Self>) -> Value;
    /// From a value of its kind; `None` for a value of another kind.
    fn from_value(v: &Value) -> Option<Option<Self>>;
}

impl FieldType for String {
    const KIND: FieldKind = FieldKind::Text;
    fn compared(v: Option<&Self>) -> Value {
        Value::text(v.map(String::as_str))
    }
    fn held(v: Option<&Self>) -> Value {
        v.map_or(Value::Blank, |s| Value::Text(s.clone()))
    }
    fn from_value(v: &Value) -> Option<Option<Self>> {
        match v {
            Value::Blank => Some(None),
            Value::Text(s) => Some(Some(s.clone())),
            _ => None,
        }
    }
}

impl FieldType for NaiveDate {
    const KIND: FieldKind = FieldKind::Date;
    fn compared(v: Option<&Self>) -> Value {
        Value::date(v.copied())
    }
    fn held(v: Option<&Self>) -> Value {
        Value::date(v.copied())
    }
    fn from_value(v: &Value) -> Option<Option<Self>> {
        match v {
            Value::Blank => Some(None),
            Value::Date(d) => Some(Some(*d)),
            _ => None,
        }
    }
}

/// Generates everything a demographic field needs from the rows of the table below. A row may
/// carry one `#[cfg(…)]`: the field then exists only where that holds.
macro_rules! demographic_fields {
    ($(
        $(#[cfg($cfg:meta)])?
        $variant:ident => $field:ident: $ty:ident, $stored:literal, $pics:literal, $onefile:literal, $required:literal;
    )+) => {
        /// The demographic fields of R6, as either side holds them (one per row of the table in
        /// [`crate::demographics`]). Every field may be blank.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct Demographics {
            $($(#[cfg($cfg)])? pub $field: Option<$ty>,)+
        }

        /// A demographic field of R6/R32, stored (audit entries) under
        /// [`DemographicField::as_str`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum DemographicField {
            $($(#[cfg($cfg)])? $variant,)+
        }

        stored_names!(DemographicField {
            $($(#[cfg($cfg)])? $variant => $stored,)+
        });

        /// How many demographic fields this build syncs.
        const COUNT: usize = {
            let all: &[DemographicField] = &[$($(#[cfg($cfg)])? DemographicField::$variant,)+];
            all.len()
        };

        impl DemographicField {
            /// Every field, in the table's order.
            pub const ALL: [DemographicField; COUNT] = [$($(#[cfg($cfg)])? Self::$variant,)+];

            /// Whether it holds text or a date.
            pub fn kind(self) -> FieldKind {
                match self {
                    $($(#[cfg($cfg)])? Self::$variant => <$ty as FieldType>::KIND,)+
                }
            }

            /// Its name in the PICS API (learner records and patches).
            pub fn pics_name(self) -> &'static str {
                match self {
                    $($(#[cfg($cfg)])? Self::$variant => $pics,)+
                }
            }

            /// Its name in the OneFile API (user records, creates and updates).
            pub fn onefile_name(self) -> &'static str {
                match self {
                    $($(#[cfg($cfg)])? Self::$variant => $onefile,)+
                }
            }

            /// Fields OneFile requires on a learner: always sent on a create, never blanked there
            /// (R32 push skips a blank).
            pub fn required_in_onefile(self) -> bool {
                match self {
                    $($(#[cfg($cfg)])? Self::$variant => $required,)+
                }
            }
        }

        impl Demographics {
            /// The value as the planner compares it (text trimmed; blank text is blank).
            pub fn get(&self, f: DemographicField) -> Value {
                match f {
                    $($(#[cfg($cfg)])? DemographicField::$variant => {
                        <$ty as FieldType>::compared(self.$field.as_ref())
                    })+
                }
            }

            /// The value as held, text untrimmed: what a client sends.
            pub fn held(&self, f: DemographicField) -> Value {
                match f {
                    $($(#[cfg($cfg)])? DemographicField::$variant => {
                        <$ty as FieldType>::held(self.$field.as_ref())
                    })+
                }
            }

            /// Sets a field from a value; a value of the wrong kind leaves it unchanged and
            /// says so.
            pub fn set(&mut self, f: DemographicField, v: &Value) -> bool {
                match f {
                    $($(#[cfg($cfg)])? DemographicField::$variant => {
                        match <$ty as FieldType>::from_value(v) {
                            Some(x) => {
                                self.$field = x;
                                true
                            }
                            None => false,
                        }
                    })+
                }
            }
        }
    };
}

// The table: one row per synced field. Stored names are history (audit entries, baselines):
// never change one (tests/all/stored_names.rs pins them). The PICS and OneFile names are the
// APIs' (the crate pages of picsync-pics and picsync-onefile).
//
//  variant          field               type       stored            PICS              OneFile          OneFile requires
demographic_fields! {
    FirstName      => first_name:       String,    "FirstName",      "FirstName",      "FirstName",     true;
    Surname        => surname:          String,    "Surname",        "Surname",        "LastName",      true;
    Email          => email:            String,    "Email",          "Email",          "Email",         true;
    Telephone      => telephone:        String,    "Telephone",      "Telephone",      "Telephone",     false;
    Mobile         => mobile:           String,    "Mobile",         "Mobile",         "MobileNumber",  false;
    DateOfBirth    => date_of_birth:    NaiveDate, "DateOfBirth",    "DateOfBirth",    "DOB",           false;
    Uln            => uln:              String,    "Uln",            "Uln",            "ULN",           false;
    NiNumber       => ni_number:        String,    "NiNumber",       "NiNumber",       "NINO",          false;
    StartDate      => start_date:       NaiveDate, "StartDate",      "StartDate",      "StartOn",       false;
    PlannedEndDate => planned_end_date: NaiveDate, "PlannedEndDate", "PlannedEndDate", "PlannedEndDate", false;
    Ethnicity      => ethnicity:        String,    "Ethnicity",      "Ethnicity",      "L12",           false;
    Sex            => sex:              String,    "Sex",            "Sex",            "L13",           false;
    Disability     => disability:       String,    "Disability",     "Disability",     "L15",           false;
    // Test only (README, "How to add a synced field"): not in SPEC's R6, so no shipped build
    // has it; the scenario tests turn the feature on and carry it through every path.
    #[cfg(feature = "test-field")]
    KnownAs        => known_as:         String,    "KnownAs",        "KnownAs",        "KnownAs",       false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_sets_gets_and_refuses_the_other_kind() {
        for f in DemographicField::ALL {
            let mut d = Demographics::default();
            let (good, bad) = match f.kind() {
                FieldKind::Text => (Value::Text(" x ".into()), Value::Date(NaiveDate::MIN)),
                FieldKind::Date => (Value::Date(NaiveDate::MIN), Value::Text("x".into())),
            };
            assert!(d.set(f, &good), "{f:?}");
            assert_eq!(d.held(f), good, "{f:?}");
            assert_eq!(
                d.get(f) == good,
                f.kind() == FieldKind::Date,
                "{f:?} trims text"
            );
            assert!(!d.set(f, &bad), "{f:?}");
            assert_eq!(
                d.held(f),
                good,
                "{f:?} unchanged by a value of another kind"
            );
            assert!(d.set(f, &Value::Blank));
            assert_eq!(d, Demographics::default(), "{f:?}");
            assert!(f.kind().accepts(&good) && !f.kind().accepts(&bad));
        }
    }

    #[test]
    fn names_are_unique_per_side() {
        use std::collections::BTreeSet;
        for name in [
            DemographicField::as_str,
            DemographicField::pics_name,
            DemographicField::onefile_name,
        ] {
            let names: BTreeSet<_> = DemographicField::ALL.into_iter().map(name).collect();
            assert_eq!(names.len(), DemographicField::ALL.len());
        }
    }
}
