//! Stored names: the name under which audit entries, run records and baselines store each rule
//! and field, written out here and not derived from the Rust identifier, so that renaming a
//! variant does not change stored history (issue 15). `tests/all/stored_names.rs` pins every name.

/// For a field-less enum: `as_str()` (its stored name; the `match` is exhaustive, so a new
/// variant without a name does not compile), `from_stored()` (its stored name, or a name stored
/// before, given as `aliases`), and serde through those names. A row may carry a `#[cfg(…)]`
/// (for a variant that is compiled only under it).
macro_rules! stored_names {
    (
        $ty:ident {
            $($(#[cfg($cfg:meta)])? $variant:ident => $name:literal),+ $(,)?
        }
        $(aliases { $($alias:literal => $avariant:ident),+ $(,)? })?
    ) => {
        impl $ty {
            /// The name it is stored under (audit entries, run records, baselines).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($(#[cfg($cfg)])? $ty::$variant => $name,)+
                }
            }

            /// The value stored under `name` (its name, or a name stored before).
            pub fn from_stored(name: &str) -> Option<Self> {
                match name {
                    $($(#[cfg($cfg)])? $name => Some($ty::$variant),)+
                    $($($alias => Some($ty::$avariant),)+)?
                    _ => None,
                }
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $ty::from_stored(&name).ok_or_else(|| {
                    serde::de::Error::unknown_variant(&name, &[$($(#[cfg($cfg)])? $name,)+])
                })
            }
        }
    };
}

pub(crate) use stored_names;
