//! Which OneFile servers to call, and how (the `environment` setting, R5).

use std::time::Duration;

use picsync_http::RetryPolicy;
use secrecy::SecretString;

/// A OneFile environment (R5): the one type of the domain's settings, so that the three server
/// URLs are written in one place.
pub use picsync_domain::settings::Environment;

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
    fn configs_for_environments() {
        let token = || SecretString::from("t");
        let beta = OneFileConfig::for_environment(&Environment::parse(" beta ").unwrap(), token());
        assert_eq!(beta.base_url, "https://wsapibeta.onefile.co.uk/api/v2.1");
        let custom = Environment::parse("http://127.0.0.1:9000/api/v2.1/").unwrap();
        assert_eq!(
            OneFileConfig::for_environment(&custom, token()).base_url,
            "http://127.0.0.1:9000/api/v2.1"
        );
        assert!(Environment::parse("staging").is_err());
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
