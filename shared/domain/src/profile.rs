//! A tenant as an operator describes it: where its PICS is, its OneFile centre, and its
//! settings (§2 in [`crate::rules`]). One schema, one parser and one set of checks for both
//! front ends: a `[tenants.<id>]` table of the CLI's config file (which may add
//! `secrets_file`), and the profile file `picsync-admin tenant put --file` stores for the Lambda
//! functions.
//!
//! ```toml
//! pics_url = "https://acme.picsweb.co.uk/app/api/v1"
//! onefile_centre = 10            # only when the OneFile customer has several centres
//! [settings]
//! integration_enabled = true
//! desktop_integration_disabled = true
//! environment = "live"           # live, practice, beta, or an https:// base URL (R5)
//! ```
//!
//! Secrets never go here.

use crate::settings::{Settings, SettingsError, check_url, toml_table};

/// A tenant's connection and settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantProfile {
    /// The PICS API base URL, without a trailing `/` (https, or http on loopback).
    pub pics_url: String,
    /// The OneFile centre, when the customer has several (positive).
    pub onefile_centre: Option<crate::OfCentreId>,
    pub settings: Settings,
}

/// Why a profile is refused; names the key at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProfileError {
    #[error("{0}")]
    Parse(String),
    #[error("`{key}` {problem}")]
    Invalid { key: &'static str, problem: String },
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// Keys of the CLI's former `[tenants.<id>]` tables, with where they went.
const MOVED: &[(&str, &str)] = &[
    (
        "onefile_environment",
        "moved: set `environment = \"live\"` (or practice, beta) in the tenant's [settings]",
    ),
    (
        "onefile_url",
        "moved: set `environment = \"https://…\"` in the tenant's [settings]",
    ),
];

impl TenantProfile {
    /// Parses and checks a profile file.
    pub fn from_toml(text: &str) -> Result<Self, ProfileError> {
        let table = toml_table(text).map_err(ProfileError::Parse)?;
        Self::from_table(table)
    }

    /// Checks a parsed TOML table (a profile file, or a `[tenants.<id>]` table without the
    /// CLI's own keys).
    pub fn from_table(mut table: toml::Table) -> Result<Self, ProfileError> {
        let pics_url = match table.remove("pics_url") {
            Some(toml::Value::String(u)) => check_url(u.trim())
                .map_err(|problem| ProfileError::Invalid {
                    key: "pics_url",
                    problem,
                })?
                .trim_end_matches('/')
                .to_string(),
            Some(other) => {
                return Err(ProfileError::Invalid {
                    key: "pics_url",
                    problem: format!("is a {}, not a URL", other.type_str()),
                });
            }
            None => {
                return Err(ProfileError::Invalid {
                    key: "pics_url",
                    problem: "is missing: the PICS API base URL, e.g. https://acme.picsweb.co.uk/app/api/v1".into(),
                });
            }
        };
        let onefile_centre = match table.remove("onefile_centre") {
            None => None,
            Some(toml::Value::Integer(c)) if c > 0 => Some(crate::OfCentreId(c)),
            Some(other) => {
                let shown = match &other {
                    toml::Value::Integer(c) => c.to_string(),
                    v => format!("a {}", v.type_str()),
                };
                return Err(ProfileError::Invalid {
                    key: "onefile_centre",
                    problem: format!("is {shown}; a OneFile centre id is a positive integer"),
                });
            }
        };
        let settings = match table.remove("settings") {
            None => Settings::from_toml_table(toml::Table::new())?,
            Some(toml::Value::Table(t)) => Settings::from_toml_table(t)?,
            Some(other) => {
                return Err(ProfileError::Invalid {
                    key: "settings",
                    problem: format!("is a {}, not a table", other.type_str()),
                });
            }
        };
        if let Some(key) = table.keys().next() {
            let hint = MOVED.iter().find(|(k, _)| k == key).map_or(
                "is not a key of a tenant (pics_url, onefile_centre, [settings])",
                |(_, h)| h,
            );
            return Err(ProfileError::Parse(format!("`{key}` {hint}")));
        }
        Ok(Self {
            pics_url,
            onefile_centre,
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Environment;

    #[test]
    fn a_profile_parses() {
        let p = TenantProfile::from_toml(
            "pics_url = \"https://acme.picsweb.co.uk/app/api/v1/\"\nonefile_centre = 10\n[settings]\nintegration_enabled = true\ndesktop_integration_disabled = true\nenvironment = \"beta\"\n",
        )
        .unwrap();
        assert_eq!(p.pics_url, "https://acme.picsweb.co.uk/app/api/v1");
        assert_eq!(p.onefile_centre, Some(crate::OfCentreId(10)));
        assert!(p.settings.integration_enabled);
        assert_eq!(p.settings.environment, Environment::Beta);
        // no [settings]: the defaults (§2), OneFile live
        let p = TenantProfile::from_toml("pics_url = \"https://p.example\"\n").unwrap();
        assert_eq!(p.settings, Settings::default());
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("[settings]\n", "pics_url"),
            ("pics_url = \"http://pics.example.com\"\n", "https"),
            ("pics_url = 3\n", "pics_url"),
            (
                "pics_url = \"https://p.example\"\nonefile_centre = 0\n",
                "onefile_centre",
            ),
            (
                "pics_url = \"https://p.example\"\nonefile_centre = \"x\"\n",
                "onefile_centre",
            ),
            (
                "pics_url = \"https://p.example\"\n[settings]\nupload_review = true\n",
                "upload_review",
            ),
            (
                "pics_url = \"https://p.example\"\n[settings]\nintegration_enabled = true\n",
                "R42",
            ),
            (
                "pics_url = \"https://p.example\"\n[settings]\nenvironment = \"http://10.0.0.1/api\"\n",
                "environment",
            ),
            ("pics_url = \"https://p.example\"\ntoken = \"x\"\n", "token"),
            (
                "pics_url = \"https://p.example\"\nsettings = 1\n",
                "settings",
            ),
            // the CLI's former keys say where they went
            (
                "pics_url = \"https://p.example\"\nonefile_environment = \"live\"\n",
                "environment = \"live\"",
            ),
            (
                "pics_url = \"https://p.example\"\nonefile_url = \"https://o.example\"\n",
                "moved",
            ),
            ("pics_url = \"https://p.example\"\nbad toml", "line 2"),
        ];
        for (text, needle) in cases {
            let e = TenantProfile::from_toml(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }
}
