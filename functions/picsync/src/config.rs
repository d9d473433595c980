//! The CLI's configuration file (TOML): where state lives, and per tenant where PICS and OneFile
//! are, where its secrets are, and its settings (§2). Every error names the key at fault.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use picsync_domain::settings::{Environment, check_url};
use picsync_domain::{Settings, TenantId};
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TenantConfig {
    /// The PICS API base URL, e.g. `https://provider.picsweb.co.uk/app/api/v1`.
    pub pics_url: String,
    /// `live`, `practice` or `beta` (R5).
    pub onefile_environment: Option<String>,
    /// A custom OneFile base URL instead of an environment (https, or http on loopback).
    pub onefile_url: Option<String>,
    /// The OneFile centre, when the customer has several.
    pub onefile_centre: Option<i64>,
    /// The secrets file (relative paths are read from the config file's folder).
    pub secrets_file: Option<PathBuf>,
    #[serde(default)]
    pub settings: toml::Table,
}

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
    pub centre: Option<i64>,
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
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|sp| text[..sp.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(l) => format!("line {l}: {}", e.message()),
                None => e.message().to_string(),
            }
        })?;
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
        let pics_url = check_url(t.pics_url.trim())
            .map_err(|e| err(format!("pics_url: {e}")))?
            .trim_end_matches('/')
            .to_string();
        let environment = match (&t.onefile_environment, &t.onefile_url) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "give onefile_environment or onefile_url, not both".into()
                ));
            }
            (Some(e), None) => {
                Environment::parse(e).map_err(|e| err(format!("onefile_environment: {e}")))?
            }
            (None, Some(u)) => Environment::Custom(
                check_url(u.trim())
                    .map_err(|e| err(format!("onefile_url: {e}")))?
                    .trim_end_matches('/')
                    .to_string(),
            ),
            (None, None) => {
                return Err(err(
                    "onefile_environment (live, practice, beta) or onefile_url is required".into(),
                ));
            }
        };
        let mut table = t.settings.clone();
        table.insert(
            "environment".into(),
            toml::Value::String(match &environment {
                Environment::Custom(u) => u.clone(),
                other => other.name().to_string(),
            }),
        );
        let settings = Settings::from_toml_table(table).map_err(|e| err(e.to_string()))?;
        let secrets_file = t.secrets_file.as_ref().map(|p| {
            if p.is_relative() {
                path.parent().unwrap_or(Path::new(".")).join(p)
            } else {
                p.clone()
            }
        });
        Ok(TenantSetup {
            id: TenantId::new(name.clone()),
            pics_url,
            centre: t.onefile_centre,
            secrets_file,
            settings,
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
            onefile_environment = "beta"
            secrets_file = "acme-secrets.toml"
            [tenants.acme.settings]
            integration_enabled = true
            desktop_integration_disabled = true
            visit_type = "face_to_face"
            "#,
        )
        .unwrap();
        assert_eq!(t.pics_url, "https://acme.picsweb.co.uk/app/api/v1");
        assert_eq!(t.settings.environment, Environment::Beta);
        assert_eq!(
            t.secrets_file,
            Some(PathBuf::from("/etc/picsync/acme-secrets.toml"))
        );
        assert!(t.settings.integration_enabled);
    }

    #[test]
    fn errors_name_the_key() {
        let base = "[tenants.acme]\npics_url = \"https://x.picsweb.co.uk/app/api/v1\"\n";
        let e = parse(base).unwrap_err().to_string();
        assert!(e.contains("onefile_environment"), "{e}");
        let e = parse(&format!("{base}onefile_environment = \"staging\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("onefile_environment") && e.contains("staging"),
            "{e}"
        );
        let e = parse(&format!(
            "{base}onefile_environment = \"live\"\n[tenants.acme.settings]\nupload_review = true\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("upload_review"), "{e}");
        let e = parse(&format!("{base}onefile_environment = \"live\"\n[tenants.acme.settings]\nintegration_enabled = true\n")).unwrap_err().to_string();
        assert!(e.contains("R42"), "{e}");
        let e = parse("[tenants.acme]\npics_url = \"http://pics.example.com\"\nonefile_environment = \"live\"\n").unwrap_err().to_string();
        assert!(e.contains("pics_url") && e.contains("https"), "{e}");
        let e = parse("[tenant.acme]\n").unwrap_err().to_string();
        assert!(e.contains("tenant"), "{e}");
    }

    #[test]
    fn tenant_choice() {
        let c: Config = toml::from_str(
            "[tenants.a]\npics_url = \"https://a.example\"\nonefile_environment = \"live\"\n[tenants.b]\npics_url = \"https://b.example\"\nonefile_environment = \"live\"\n",
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
