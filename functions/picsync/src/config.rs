//! The CLI's configuration file (TOML): where state lives, and per tenant where PICS and OneFile
//! are, where its secrets are, and its settings (§2). Every error names the key at fault.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use picsync_domain::{OfCentreId, Settings, TenantId, TenantProfile};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default)]
    pub state: StateConfig,
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateConfig {
    /// Where the embedded state database lives.
    #[serde(default = "default_dir")]
    pub dir: PathBuf,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self { dir: default_dir() }
    }
}

fn default_dir() -> PathBuf {
    PathBuf::from(".picsync-data")
}

/// A `[tenants.<id>]` table: a tenant profile (`picsync_domain::profile`, the schema the
/// Lambda functions' profiles use: `pics_url`, `onefile_centre`, `[settings]`), plus
/// `secrets_file`, the secrets file (relative paths are read from the config file's folder).
pub(crate) type TenantConfig = toml::Table;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("cannot read config file {path}: {detail}")]
    Read { path: String, detail: String },
    #[error("config file {path}: {detail}")]
    Parse { path: String, detail: String },
    #[error("config file {path}: tenant {tenant:?}: {detail}")]
    Tenant {
        path: String,
        tenant: String,
        detail: String,
    },
    #[error("unknown tenant {tenant:?}: the config file {path} has {known}")]
    UnknownTenant {
        path: String,
        tenant: String,
        known: String,
    },
    #[error("the config file {path} has several tenants ({known}): choose one with --tenant")]
    WhichTenant { path: String, known: String },
}

/// A tenant as the config describes it, checked.
#[derive(Debug, Clone)]
pub(crate) struct TenantSetup {
    pub id: TenantId,
    pub pics_url: String,
    pub centre: Option<OfCentreId>,
    pub secrets_file: Option<PathBuf>,
    pub settings: Settings,
}

impl Config {
    pub(crate) fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: shown.clone(),
            detail: e.to_string(),
        })?;
        Self::parse(&text).map_err(|detail| ConfigError::Parse {
            path: shown,
            detail,
        })
    }

    /// Parses a config text; the error names the line (syntax) or the key (values).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let table = picsync_domain::settings::toml_table(text)?;
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let path = e.path().to_string();
            if path.is_empty() || path == "." {
                e.inner().message().to_string()
            } else {
                format!("`{path}`: {}", e.inner().message())
            }
        })
    }

    /// The tenant named, or the only one.
    pub(crate) fn tenant(&self, path: &Path, id: Option<&str>) -> Result<TenantSetup, ConfigError> {
        let shown = path.display().to_string();
        let known = || {
            if self.tenants.is_empty() {
                "no [tenants.<id>] table".to_string()
            } else {
                format!(
                    "tenants {}",
                    self.tenants.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            }
        };
        let (name, t) = match id {
            Some(id) => match self.tenants.get_key_value(id) {
                Some(kv) => kv,
                None => {
                    return Err(ConfigError::UnknownTenant {
                        path: shown,
                        tenant: id.to_string(),
                        known: known(),
                    });
                }
            },
            None => match self.tenants.len() {
                1 => self
                    .tenants
                    .iter()
                    .next()
                    .ok_or_else(|| ConfigError::UnknownTenant {
                        path: shown.clone(),
                        tenant: String::new(),
                        known: known(),
                    })?,
                0 => {
                    return Err(ConfigError::UnknownTenant {
                        path: shown,
                        tenant: String::new(),
                        known: known(),
                    });
                }
                _ => {
                    return Err(ConfigError::WhichTenant {
                        path: shown,
                        known: known(),
                    });
                }
            },
        };
        let err = |detail: String| ConfigError::Tenant {
            path: shown.clone(),
            tenant: name.clone(),
            detail,
        };
        let mut table = t.clone();
        let secrets_file = match table.remove("secrets_file") {
            None => None,
            Some(toml::Value::String(f)) => Some(PathBuf::from(f)),
            Some(other) => {
                return Err(err(format!(
                    "secrets_file: is a {}, not a path",
                    other.type_str()
                )));
            }
        };
        let profile = TenantProfile::from_table(table).map_err(|e| err(e.to_string()))?;
        let secrets_file = secrets_file.map(|p| {
            if p.is_relative() {
                path.parent().unwrap_or(Path::new(".")).join(p)
            } else {
                p
            }
        });
        Ok(TenantSetup {
            id: TenantId::new(name.clone()),
            pics_url: profile.pics_url,
            centre: profile.onefile_centre,
            secrets_file,
            settings: profile.settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<TenantSetup, ConfigError> {
        let c: Config = toml::from_str(s).map_err(|e| ConfigError::Parse {
            path: "t".into(),
            detail: e.message().to_string(),
        })?;
        c.tenant(Path::new("/etc/picsync/picsync.toml"), None)
    }

    #[test]
    fn a_full_tenant() {
        let t = parse(
            r#"
            [state]
            dir = "/var/lib/picsync"
            [tenants.acme]
            pics_url = "https://acme.picsweb.co.uk/app/api/v1/"
            secrets_file = "acme-secrets.toml"
            [tenants.acme.settings]
            environment = "beta"
            integration_enabled = true
            desktop_integration_disabled = true
            visit_type = "face_to_face"
            "#,
        )
        .unwrap();
        assert_eq!(t.pics_url, "https://acme.picsweb.co.uk/app/api/v1");
        assert_eq!(
            t.settings.environment,
            picsync_domain::settings::Environment::Beta
        );
        assert_eq!(
            t.secrets_file,
            Some(PathBuf::from("/etc/picsync/acme-secrets.toml"))
        );
        assert!(t.settings.integration_enabled);
    }

    #[test]
    fn a_tenant_table_is_a_tenant_profile() {
        // issue 15: the Lambda profile file, pasted under [tenants.acme], is a CLI tenant
        let profile = "pics_url = \"https://acme.picsweb.co.uk/app/api/v1\"\nonefile_centre = 10\n[settings]\nenvironment = \"practice\"\nupload_reviews = false\n";
        let cli = profile
            .replace("pics_url", "[tenants.acme]\npics_url")
            .replace("[settings]", "[tenants.acme.settings]");
        let t = parse(&cli).unwrap();
        let p = TenantProfile::from_toml(profile).unwrap();
        assert_eq!(
            (t.pics_url, t.centre, t.settings),
            (p.pics_url, p.onefile_centre, p.settings)
        );
    }

    #[test]
    fn errors_name_the_key() {
        let base = "[tenants.acme]\npics_url = \"https://x.picsweb.co.uk/app/api/v1\"\n";
        for (text, needle) in [
            (
                format!("{base}[tenants.acme.settings]\nenvironment = \"staging\"\n"),
                "staging",
            ),
            (
                format!("{base}[tenants.acme.settings]\nupload_review = true\n"),
                "upload_review",
            ),
            (
                format!("{base}[tenants.acme.settings]\nintegration_enabled = true\n"),
                "R42",
            ),
            (
                "[tenants.acme]\npics_url = \"http://pics.example.com\"\n".to_string(),
                "https",
            ),
            (format!("{base}onefile_environment = \"live\"\n"), "moved"),
            (format!("{base}secrets_file = 3\n"), "secrets_file"),
            ("[tenant.acme]\n".to_string(), "tenant"),
        ] {
            let e = parse(&text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn tenant_choice() {
        let c: Config = toml::from_str(
            "[tenants.a]\npics_url = \"https://a.example\"\n[tenants.b]\npics_url = \"https://b.example\"\n",
        )
        .unwrap();
        let p = Path::new("c.toml");
        assert!(matches!(
            c.tenant(p, None),
            Err(ConfigError::WhichTenant { .. })
        ));
        assert!(matches!(
            c.tenant(p, Some("zzz")),
            Err(ConfigError::UnknownTenant { .. })
        ));
        assert_eq!(c.tenant(p, Some("b")).unwrap().id.as_str(), "b");
    }
}
