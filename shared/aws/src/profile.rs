//! A tenant's profile as an operator writes it (`picsync-admin tenant put --file acme.toml`):
//! where its PICS is, its OneFile centre, and its settings (§2), in the schema of
//! `picsync_domain::profile` (the CLI's `[tenants.<id>]` tables are the same). Stored in the
//! table as the SETTINGS record (what `TenantStore::get_settings` reads) and the CONNECTION
//! record. Secrets never go here: they live in Secrets Manager (`picsync/<tenant>`).

use picsync_domain::{Settings, TenantId};
use picsync_state::{StateError, TenantStore};
use serde::Serialize;

use crate::dynamo::{Connection, DynamoState};

/// A tenant's settings and connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantProfile {
    pub connection: Connection,
    pub settings: Settings,
}

impl TenantProfile {
    /// Parses and checks a profile file (`picsync_domain::profile`: the schema and checks the
    /// CLI's `[tenants.<id>]` tables share); the error names the key at fault.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let p = picsync_domain::TenantProfile::from_toml(text).map_err(|e| e.to_string())?;
        Ok(Self {
            connection: Connection {
                pics_url: p.pics_url,
                onefile_centre: p.onefile_centre,
            },
            settings: p.settings,
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
    fn the_domain_profile_becomes_connection_and_settings() {
        // parsing and its checks are picsync_domain::profile's (tested there)
        let p = TenantProfile::from_toml("pics_url = \"https://p.example\"\nonefile_centre = 10\n")
            .unwrap();
        assert_eq!(p.connection.pics_url, "https://p.example");
        assert_eq!(
            p.connection.onefile_centre,
            Some(picsync_domain::OfCentreId(10))
        );
        assert_eq!(p.settings, Settings::default());
    }

    #[test]
    fn errors_are_the_domain_profiles() {
        // the checks are picsync_domain::profile's (tested there); the message reaches the admin
        let e = TenantProfile::from_toml("pics_url = \"http://pics.example.com\"\n").unwrap_err();
        assert!(e.contains("pics_url") && e.contains("https"), "{e}");
    }
}
