//! Tenant settings (§2 in [`crate::rules`]), with their defaults, loadable from TOML or JSON.
//! Unknown keys and bad values are refused with an error that names the key.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which OneFile servers a tenant talks to (R5). The customer token belongs to one of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Environment {
    #[default]
    Live,
    Practice,
    Beta,
    /// A custom base URL (a simulator, a proxy). Must be https unless it is on loopback.
    Custom(String),
}

impl Environment {
    pub fn base_url(&self) -> &str {
        match self {
            Environment::Live => "https://wsapi.onefile.co.uk/api/v2.1",
            Environment::Practice => "https://wsapi2.onefile.co.uk/api/v2.1",
            Environment::Beta => "https://wsapibeta.onefile.co.uk/api/v2.1",
            Environment::Custom(u) => u,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Environment::Live => "live",
            Environment::Practice => "practice",
            Environment::Beta => "beta",
            Environment::Custom(_) => "custom",
        }
    }

    /// `live`, `practice`, `beta`, or an `https://` URL (`http://` only for 127.0.0.1/localhost).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "live" => Ok(Environment::Live),
            "practice" => Ok(Environment::Practice),
            "beta" => Ok(Environment::Beta),
            _ => check_url(t).map(|u| Environment::Custom(u.trim_end_matches('/').to_string())),
        }
    }
}

/// Accepts `https://…`, or `http://` on loopback only (secrets never cross a network in clear).
pub fn check_url(u: &str) -> Result<&str, String> {
    if let Some(rest) = u.strip_prefix("https://") {
        if rest.is_empty() {
            return Err(format!("{u:?} has no host"));
        }
        return Ok(u);
    }
    if let Some(rest) = u.strip_prefix("http://") {
        let host = rest.split(['/', ':']).next().unwrap_or_default();
        if matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Ok(u);
        }
        return Err(format!(
            "{u:?} is plain http to a host that is not loopback: use https"
        ));
    }
    Err(format!(
        "{u:?} is neither live, practice, beta nor an https:// URL"
    ))
}

impl Serialize for Environment {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Environment::Custom(u) => s.serialize_str(u),
            other => s.serialize_str(other.name()),
        }
    }
}

impl<'de> Deserialize<'de> for Environment {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Environment::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// R32: per entity kind, which way demographics travel after enrolment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Ignore,
    Push,
    Pull,
}

/// R16: the visit type of uploaded reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitType {
    #[default]
    NotSpecified,
    RemoteSession,
    FaceToFace,
}

/// The tenant's settings. Every key has the default of §2 ([`crate::rules`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// R1: when off, nothing calls OneFile for this tenant.
    pub integration_enabled: bool,
    /// R42: the operator confirms desktop PICS no longer syncs with OneFile.
    pub desktop_integration_disabled: bool,
    /// R5: which OneFile servers; the customer token belongs to one of them.
    pub environment: Environment,
    /// R32: ignore, push or pull the learner fields of R6 after enrolment.
    pub learner_demographics: Direction,
    /// R32: ignore, push or pull officers' first name and surname.
    pub officer_demographics: Direction,
    /// R32: ignore, push or pull organisations' name.
    pub organisation_demographics: Direction,
    /// R15, R20: upload eligible PICS reviews, at enrolment and by the sync.
    pub upload_reviews: bool,
    /// R21: bring OneFile reviews into PICS.
    pub download_reviews: bool,
    /// R16: the visit type an uploaded review's visit gets.
    pub visit_type: VisitType,
    /// OneFile's numeric VisitTypeID per visit type: undocumented, so configurable
    /// (**Decision**: defaults 0, 1, 2 in the order PICSWeb lists them).
    pub visit_type_ids: BTreeMap<VisitType, i64>,
    /// R11: learner-officer roles whose officers are uploaded as assessors too.
    pub additional_assessor_roles: Vec<String>,
    /// R7: the OneFile classroom is named like the learner's Main Tag.
    pub classroom_from_main_tag: bool,
    /// R37 (**Decision**): assign qualifications added after enrolment.
    pub push_new_qualifications: bool,
    /// §1: match officers and organisations by MIS value = Ident.
    pub multiple_centres: bool,
    /// R35: at most this many OneFile calls per minute (OneFile allows 300 per token).
    pub onefile_calls_per_minute: u32,
    /// §6: hours between full comparisons of every learner in scope (periodic runs skip
    /// unchanged learners in between). **Decision**: 24.
    pub full_sweep_hours: u32,
    /// Issue 16: how a run reads OneFile reviews: `learner` (one search per learner compared)
    /// or `centre` (one paged centre-wide search per run, grouped per learner, with the
    /// per-learner search as the fallback). See [`ReviewReads`].
    pub review_reads: ReviewReads,
}

/// Issue 16: how a run reads OneFile reviews.
///
/// **Decision**: the default is `learner`. OneFile's paging and its `OrganisationID` filter on
/// reviews are undocumented; the engine detects what the pages show (a record served twice, a
/// page longer than asked, reviews of other centres) and falls back by itself, but a record
/// *skipped* between pages cannot be seen from the pages, and a review that a centre-wide read
/// kept missing would never be downloaded. `picsync probe` compares the centre-wide pages with
/// per-learner searches on the real tenant: when it says `holds`, switch the tenant to
/// `centre` (about one OneFile call per unchanged learner in a full sweep instead of two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReads {
    #[default]
    Learner,
    Centre,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            integration_enabled: false,
            desktop_integration_disabled: false,
            environment: Environment::Live,
            learner_demographics: Direction::Ignore,
            officer_demographics: Direction::Ignore,
            organisation_demographics: Direction::Ignore,
            upload_reviews: true,
            download_reviews: true,
            visit_type: VisitType::NotSpecified,
            visit_type_ids: BTreeMap::from([
                (VisitType::NotSpecified, 0),
                (VisitType::RemoteSession, 1),
                (VisitType::FaceToFace, 2),
            ]),
            additional_assessor_roles: Vec::new(),
            classroom_from_main_tag: false,
            push_new_qualifications: true,
            multiple_centres: false,
            onefile_calls_per_minute: 280,
            full_sweep_hours: 24,
            review_reads: ReviewReads::Learner,
        }
    }
}

/// A TOML text as a table; a syntax error names its line.
pub fn toml_table(text: &str) -> Result<toml::Table, String> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|sp| text[..sp.start.min(text.len())].matches('\n').count() + 1);
        match line {
            Some(l) => format!("line {l}: {}", e.message()),
            None => e.message().to_string(),
        }
    })
}

/// A setting that is wrong, with the key it concerns.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("settings: {0}")]
    Parse(String),
    #[error("settings: `{key}` {problem}")]
    Invalid { key: &'static str, problem: String },
    /// R42: the tenant cannot be enabled while desktop PICS may still sync with OneFile.
    #[error(
        "cannot enable the OneFile integration: desktop PICS may still be syncing with OneFile. \
         Disable the OneFile synchronisation in desktop PICS (scheduler and Basedata Maintenance), \
         then set `desktop_integration_disabled = true` and enable again (R42)"
    )]
    DesktopStillEnabled,
}

impl Settings {
    pub fn from_toml(s: &str) -> Result<Self, SettingsError> {
        Self::from_toml_table(toml_table(s).map_err(SettingsError::Parse)?)
    }

    /// From a parsed TOML table (a `[tenants.<id>.settings]` section).
    pub fn from_toml_table(table: toml::Table) -> Result<Self, SettingsError> {
        let v: Settings =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                SettingsError::Parse(with_path(&e.path().to_string(), e.inner().message()))
            })?;
        v.validate()?;
        Ok(v)
    }

    pub fn from_json(s: &str) -> Result<Self, SettingsError> {
        let mut de = serde_json::Deserializer::from_str(s);
        let v: Settings = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            SettingsError::Parse(with_path(&e.path().to_string(), &e.inner().to_string()))
        })?;
        v.validate()?;
        Ok(v)
    }

    /// Checks values serde cannot: ranges, the visit-type table, R42.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(1..=300).contains(&self.onefile_calls_per_minute) {
            return Err(SettingsError::Invalid {
                key: "onefile_calls_per_minute",
                problem: format!(
                    "is {}; it must be between 1 and 300 (OneFile allows 300 calls per minute per token)",
                    self.onefile_calls_per_minute
                ),
            });
        }
        if self.full_sweep_hours == 0 {
            return Err(SettingsError::Invalid {
                key: "full_sweep_hours",
                problem: "must be at least 1".into(),
            });
        }
        if !self.visit_type_ids.contains_key(&self.visit_type) {
            return Err(SettingsError::Invalid {
                key: "visit_type_ids",
                problem: format!("has no id for the chosen visit_type {:?}", self.visit_type),
            });
        }
        if self.integration_enabled && !self.desktop_integration_disabled {
            return Err(SettingsError::DesktopStillEnabled);
        }
        Ok(())
    }

    /// The OneFile VisitTypeID of the configured visit type (R16).
    pub fn visit_type_id(&self) -> i64 {
        self.visit_type_ids
            .get(&self.visit_type)
            .copied()
            .unwrap_or_default()
    }
}

/// "`key`: message", naming the key a value was refused for (serde's own message often doesn't).
fn with_path(path: &str, message: &str) -> String {
    if path.is_empty() || path == "." {
        message.to_string()
    } else {
        format!("`{path}`: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_spec_section_2() {
        let s = Settings::from_toml("").unwrap();
        assert!(!s.integration_enabled);
        assert!(s.upload_reviews && s.download_reviews && s.push_new_qualifications);
        assert_eq!(s.onefile_calls_per_minute, 280);
        assert_eq!(s.learner_demographics, Direction::Ignore);
        assert_eq!(s.environment, Environment::Live);
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Settings::from_toml("upload_review = true").unwrap_err();
        assert!(e.to_string().contains("upload_review"), "{e}");
        let e = Settings::from_json(r#"{"visit_typ": "face_to_face"}"#).unwrap_err();
        assert!(e.to_string().contains("visit_typ"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = Settings::from_toml("onefile_calls_per_minute = 500").unwrap_err();
        assert!(e.to_string().contains("onefile_calls_per_minute"), "{e}");
        let e = Settings::from_toml("learner_demographics = \"sideways\"").unwrap_err();
        assert!(e.to_string().contains("sideways"), "{e}");
        let e = Settings::from_toml("environment = \"http://example.com\"").unwrap_err();
        assert!(e.to_string().contains("https"), "{e}");
    }

    #[test]
    fn r42_enabling_needs_desktop_disabled() {
        let e = Settings::from_toml("integration_enabled = true").unwrap_err();
        assert_eq!(e, SettingsError::DesktopStillEnabled);
        assert!(e.to_string().contains("desktop_integration_disabled"));
        let ok =
            Settings::from_toml("integration_enabled = true\ndesktop_integration_disabled = true")
                .unwrap();
        assert!(ok.integration_enabled);
    }

    #[test]
    fn json_and_toml_agree() {
        let t = Settings::from_toml(
            "visit_type = \"face_to_face\"\nenvironment = \"beta\"\nadditional_assessor_roles = [\"IQA\"]",
        )
        .unwrap();
        let j = Settings::from_json(
            r#"{"visit_type":"face_to_face","environment":"beta","additional_assessor_roles":["IQA"]}"#,
        )
        .unwrap();
        assert_eq!(t, j);
        assert_eq!(t.visit_type_id(), 2);
        let back = Settings::from_json(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn i16_review_reads_default_to_learner_and_parse() {
        assert_eq!(Settings::default().review_reads, ReviewReads::Learner);
        let s = Settings::from_toml("review_reads = \"centre\"").unwrap();
        assert_eq!(s.review_reads, ReviewReads::Centre);
        let j = Settings::from_json(r#"{"review_reads":"learner"}"#).unwrap();
        assert_eq!(j.review_reads, ReviewReads::Learner);
        let e = Settings::from_toml("review_reads = \"customer\"").unwrap_err();
        assert!(e.to_string().contains("review_reads"), "{e}");
    }

    #[test]
    fn environments() {
        assert_eq!(
            Environment::parse("Practice").unwrap(),
            Environment::Practice
        );
        assert_eq!(
            Environment::parse("http://127.0.0.1:8080/api/v2.1/").unwrap(),
            Environment::Custom("http://127.0.0.1:8080/api/v2.1".into())
        );
        assert!(Environment::parse("ftp://x").is_err());
        assert!(Environment::parse("http://10.0.0.1/").is_err());
    }
}
