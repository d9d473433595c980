//! A tenant's profile as an operator writes it (`picsync-admin tenant put --file acme.toml`):
//! where its PICS is, its OneFile centre, and its settings (§2). Stored in the table as
//! the SETTINGS record (what `TenantStore::get_settings` reads) and the CONNECTION record.
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
//! Secrets never go here: they live in Secrets Manager (`picsync/<tenant>`).

use picsync_domain::settings::check_url;
use picsync_domain::{Settings, TenantId};
use picsync_state::{StateError, TenantStore};
use serde::{Deserialize, Serialize};

use crate::dynamo::{Connection, DynamoState};

/// A tenant's settings and connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantProfile {
    pub connection: Connection,
    pub settings: Settings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    pics_url: String,
    #[serde(default)]
    onefile_centre: Option<i64>,
    #[serde(default)]
    settings: toml::Table,
}

impl TenantProfile {
    /// Parses and checks a profile file; the error names the key at fault.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let f: ProfileFile = toml::from_str(text).map_err(|e| {
            format!(
                "{}{}",
                e.message(),
                e.span()
                    .map(|s| format!(" (at byte {})", s.start))
                    .unwrap_or_default()
            )
        })?;
        let pics_url = check_url(f.pics_url.trim())
            .map_err(|e| format!("pics_url: {e}"))?
            .trim_end_matches('/')
            .to_string();
        if let Some(c) = f.onefile_centre
            && c <= 0
        {
            return Err(format!(
                "onefile_centre is {c}; a OneFile centre id is positive"
            ));
        }
        let settings: Settings = toml::Value::Table(f.settings)
            .try_into()
            .map_err(|e: toml::de::Error| format!("settings: {}", e.message()))?;
        settings.validate().map_err(|e| e.to_string())?;
        Ok(Self {
            connection: Connection {
                pics_url,
                onefile_centre: f.onefile_centre,
            },
            settings,
        })
    }

    /// Stores the profile (settings and connection).
    pub async fn put(&self, state: &DynamoState, tenant: &TenantId) -> Result<(), StateError> {
        state.put_connection(tenant, &self.connection).await?;
        state.put_settings(tenant, &self.settings).await
    }

    /// The stored profile; None for an unknown tenant.
    pub async fn get(state: &DynamoState, tenant: &TenantId) -> Result<Option<Self>, StateError> {
        let (Some(settings), Some(connection)) = (
            state.get_settings(tenant).await?,
            state.get_connection(tenant).await?,
        ) else {
            return Ok(None);
        };
        Ok(Some(Self {
            connection,
            settings,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_parses() {
        let p = TenantProfile::from_toml(
            "pics_url = \"https://acme.picsweb.co.uk/app/api/v1/\"\nonefile_centre = 10\n[settings]\nintegration_enabled = true\ndesktop_integration_disabled = true\nenvironment = \"beta\"\n",
        )
        .unwrap();
        assert_eq!(
            p.connection.pics_url,
            "https://acme.picsweb.co.uk/app/api/v1"
        );
        assert_eq!(p.connection.onefile_centre, Some(10));
        assert!(p.settings.integration_enabled);
    }

    #[test]
    fn errors_name_the_key() {
        let e = TenantProfile::from_toml("[settings]\n").unwrap_err();
        assert!(e.contains("pics_url"), "{e}");
        let e = TenantProfile::from_toml("pics_url = \"http://pics.example.com\"\n").unwrap_err();
        assert!(e.contains("pics_url") && e.contains("https"), "{e}");
        let e = TenantProfile::from_toml(
            "pics_url = \"https://p.example\"\n[settings]\nupload_review = true\n",
        )
        .unwrap_err();
        assert!(e.contains("upload_review"), "{e}");
        let e = TenantProfile::from_toml(
            "pics_url = \"https://p.example\"\n[settings]\nintegration_enabled = true\n",
        )
        .unwrap_err();
        assert!(e.contains("R42"), "{e}");
        let e = TenantProfile::from_toml("pics_url = \"https://p.example\"\ntoken = \"x\"\n")
            .unwrap_err();
        assert!(e.contains("token"), "{e}");
    }
}
