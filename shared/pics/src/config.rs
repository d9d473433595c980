//! Connection settings of one PICS tenant.

use std::time::Duration;

use picsync_http::RetryPolicy;
use secrecy::SecretString;

/// Default page size of learner listings.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Default timeout of one HTTP call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Token lifetime assumed when `POST /Authentication` gives no usable `ExpiresUtc` (the
/// documented lifetime of a PICS API token).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// How to reach one PICS instance. `Debug` never shows the password (it is a [`SecretString`]).
#[derive(Debug, Clone)]
pub struct PicsConfig {
    /// e.g. `https://provider.picsweb.co.uk/app/api/v1` (a trailing slash is accepted).
    pub base_url: String,
    /// The PICS API user.
    pub username: String,
    /// The API user's password.
    pub password: SecretString,
    /// Learners asked for per page (the server may give fewer; paging copes).
    pub page_size: u32,
    /// Timeout of one HTTP call (connect, send and read the whole reply).
    pub timeout: Duration,
    /// Retries and backoff (shared mechanism with the OneFile client).
    pub retry: RetryPolicy,
}

impl PicsConfig {
    /// Settings with the defaults: page size 100, 30 s timeout, the default retry policy.
    pub fn new(
        base_url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            username: username.into(),
            password: password.into(),
            page_size: DEFAULT_PAGE_SIZE,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_debug_hide_the_password() {
        let c = PicsConfig::new(
            "http://x/app/api/v1",
            "api",
            SecretString::from("hunter2-pw"),
        );
        assert_eq!(c.page_size, 100);
        assert_eq!(c.timeout, Duration::from_secs(30));
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2-pw"), "{dbg}");
        assert!(dbg.contains("api"));
    }
}
