//! Which OneFile servers to call, and how (SPEC §2 `environment`, R5).

use std::str::FromStr;
use std::time::Duration;

use picsync_http::RetryPolicy;
use secrecy::SecretString;

use crate::error::OneFileError;

/// A OneFile environment: the customer token belongs to exactly one (R5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environment {
    /// `https://wsapi.onefile.co.uk/api/v2.1`
    Live,
    /// `https://wsapi2.onefile.co.uk/api/v2.1`
    Practice,
    /// `https://wsapibeta.onefile.co.uk/api/v2.1`
    Beta,
    /// Any other base URL (a simulator, a proxy), without a trailing slash.
    Custom(String),
}

impl Environment {
    /// The base URL calls are made under (no trailing slash).
    pub fn base_url(&self) -> String {
        match self {
            Environment::Live => "https://wsapi.onefile.co.uk/api/v2.1".to_string(),
            Environment::Practice => "https://wsapi2.onefile.co.uk/api/v2.1".to_string(),
            Environment::Beta => "https://wsapibeta.onefile.co.uk/api/v2.1".to_string(),
            Environment::Custom(url) => url.trim_end_matches('/').to_string(),
        }
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Environment::Live => f.write_str("live"),
            Environment::Practice => f.write_str("practice"),
            Environment::Beta => f.write_str("beta"),
            Environment::Custom(url) => f.write_str(url),
        }
    }
}

impl FromStr for Environment {
    type Err = OneFileError;

    /// `live`, `practice`, `beta` (any case), or an `http(s)://` base URL.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "live" => Ok(Environment::Live),
            "practice" => Ok(Environment::Practice),
            "beta" => Ok(Environment::Beta),
            lower if lower.starts_with("http://") || lower.starts_with("https://") => {
                let url = reqwest::Url::parse(t).map_err(|e| {
                    OneFileError::Config(format!("environment {t:?} is not a valid URL: {e}"))
                })?;
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(OneFileError::Config(format!(
                        "environment {t:?} has no host"
                    )));
                }
                Ok(Environment::Custom(t.trim_end_matches('/').to_string()))
            }
            _ => Err(OneFileError::Config(format!(
                "unknown OneFile environment {t:?}: expected live, practice, beta or an http(s) URL"
            ))),
        }
    }
}

/// How the client calls OneFile.
#[derive(Debug, Clone)]
pub struct OneFileConfig {
    /// Base URL, e.g. [`Environment::base_url`].
    pub base_url: String,
    /// The tenant's customer token (never logged or printed).
    pub customer_token: SecretString,
    /// Records asked for per search page (default 100). The client copes with a server that
    /// caps pages below this (see `paging`).
    pub page_size: u32,
    /// Timeout of one HTTP call (default 30 s).
    pub timeout: Duration,
    /// Retries of transient failures (5xx, timeouts, resets) and waits on 429.
    pub retry: RetryPolicy,
    /// A session is renewed once it is this old (default 23 h; OneFile's last 24 h).
    pub session_renew_after: Duration,
    /// OneFile's rate-limit window (default 60 s): a 429 without `Retry-After` is waited out
    /// for this long, plus jitter, so the window has surely rolled over.
    pub rate_window: Duration,
}

impl OneFileConfig {
    /// A configuration with the defaults above.
    pub fn new(base_url: impl Into<String>, customer_token: SecretString) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            customer_token,
            page_size: 100,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            session_renew_after: Duration::from_secs(23 * 3600),
            rate_window: Duration::from_secs(60),
        }
    }

    /// A configuration for an [`Environment`].
    pub fn for_environment(env: &Environment, customer_token: SecretString) -> Self {
        Self::new(env.base_url(), customer_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn environments_parse_and_give_base_urls() {
        assert_eq!("LIVE".parse::<Environment>().unwrap(), Environment::Live);
        assert_eq!(
            "practice".parse::<Environment>().unwrap().base_url(),
            "https://wsapi2.onefile.co.uk/api/v2.1"
        );
        assert_eq!(
            " beta ".parse::<Environment>().unwrap().base_url(),
            "https://wsapibeta.onefile.co.uk/api/v2.1"
        );
        let custom: Environment = "http://127.0.0.1:9000/api/v2.1/".parse().unwrap();
        assert_eq!(custom.base_url(), "http://127.0.0.1:9000/api/v2.1");
        assert!("staging".parse::<Environment>().is_err());
        assert!("http://".parse::<Environment>().is_err());
    }

    #[test]
    fn config_defaults() {
        let c = OneFileConfig::new("http://x/", SecretString::from("tok-SECRET-123"));
        assert_eq!(c.base_url, "http://x");
        assert_eq!(c.page_size, 100);
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.session_renew_after, Duration::from_secs(23 * 3600));
        assert_eq!(c.rate_window, Duration::from_secs(60));
        // the token never shows in Debug
        assert!(!format!("{c:?}").contains("SECRET"));
    }
}
