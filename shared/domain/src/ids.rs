//! Identifier newtypes: PICS ids are GUID-like strings, OneFile ids are integers.
//! A PICS id can never be passed where a OneFile id is expected, nor a review id for a learner id.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! pics_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);
        impl $name {
            pub fn new(s: impl Into<String>) -> Self { Self(s.into()) }
            pub fn as_str(&self) -> &str { &self.0 }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> Self { Self(s.to_string()) }
        }
        impl From<String> for $name {
            fn from(s: String) -> Self { Self(s) }
        }
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool { self.0 == other }
        }
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool { self.0 == *other }
        }
    };
}

/// The id of a OneFile record: the integer OneFile knows it by, typed by the kind of record.
///
/// The integer itself leaves the program only at the boundaries that cannot carry the type: the
/// OneFile wire (the client's request bodies and paths), the intent store, which keeps the id
/// a create returned whatever was created (`Engine::create_once` gives it back typed), and
/// audit entries, which store it as [`Value::Int`](crate::Value::Int).
pub trait OneFileId:
    Copy + Eq + std::hash::Hash + fmt::Debug + fmt::Display + Into<crate::Value>
{
    /// The integer OneFile knows the record by.
    fn raw(self) -> i64;
    /// The id of the record OneFile knows by `raw`.
    fn from_raw(raw: i64) -> Self;
}

macro_rules! onefile_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);
        impl OneFileId for $name {
            fn raw(self) -> i64 { self.0 }
            fn from_raw(raw: i64) -> Self { Self(raw) }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { write!(f, "{}", self.0) }
        }
        impl From<$name> for crate::Value {
            /// The id as an audit entry stores it: the integer OneFile knows the record by.
            fn from(id: $name) -> Self { Self::Int(id.0) }
        }
    };
}

pics_id!(
    /// A PICS learner (`LearnerId`).
    LearnerId
);
pics_id!(
    /// A qualification in a PICS learner's Delivery Plan.
    QualificationId
);
pics_id!(
    /// A PICS review.
    ReviewId
);
pics_id!(
    /// A PICS officer.
    OfficerId
);
pics_id!(
    /// A PICS organisation (employer).
    OrganisationId
);
pics_id!(
    /// A tenant: one training provider.
    TenantId
);

onefile_id!(
    /// A OneFile user of any role (learner, assessor, employer…).
    OfUserId
);
onefile_id!(
    /// A OneFile learning aim (a standard assigned to a learner).
    OfAimId
);
onefile_id!(
    /// A OneFile review.
    OfReviewId
);
onefile_id!(
    /// A OneFile standard (learning aim available to a centre).
    OfStandardId
);
onefile_id!(
    /// A pathway of a OneFile standard.
    OfPathwayId
);
onefile_id!(
    /// A OneFile organisation: a centre.
    OfCentreId
);
onefile_id!(
    /// A OneFile placement (employer).
    OfPlacementId
);
onefile_id!(
    /// A OneFile classroom.
    OfClassroomId
);
onefile_id!(
    /// A OneFile visit (a review belongs to one, R16).
    OfVisitId
);
onefile_id!(
    /// A OneFile customer (the owner of the token; its centres are organisations).
    OfCustomerId
);
