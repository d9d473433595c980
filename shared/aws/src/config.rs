//! The Lambda functions' configuration, from their environment (set by the SAM template).
//! Every error names the variable at fault.

use std::time::Duration;

use picsync_domain::TenantId;

/// Reads one environment variable.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What both functions read from their environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    /// `TABLE_NAME`: the state table (required).
    pub table_name: String,
    /// `QUEUE_URL`: the worker's task queue (required by the scheduler).
    pub queue_url: Option<String>,
    /// `DEAD_LETTER_QUEUE_URL`: where the worker puts a task that failed on its last delivery,
    /// or a malformed one, with its reason (unset: the queue's own redrive takes them, reasonless).
    pub dlq_url: Option<String>,
    /// `SECRET_PREFIX` (`picsync/`): a tenant's secret is `<prefix><tenant>`.
    pub secret_prefix: String,
    /// `PICSYNC_TENANTS`: the tenants a `"tenant": "all"` invocation runs, comma-separated.
    pub tenants: Vec<TenantId>,
    /// `SECRETS_TTL_SECONDS` (900): how long a fetched secret is used before it is fetched again.
    pub secrets_ttl: Duration,
    /// `ONEFILE_CALLS_PER_MINUTE` (280): the deployment's cap on a tenant's OneFile calls per
    /// minute (R35); a tenant's own `onefile_calls_per_minute` applies when lower.
    pub calls_per_minute_cap: u32,
    /// `MAX_RECEIVE_COUNT` (10): the queue's redrive `maxReceiveCount`. A backstop only: the
    /// worker counts a task's attempts itself (`MAX_ATTEMPTS`), and re-queues rather than
    /// returns the tasks it did not finish, so a receive is rarely spent for nothing. The
    /// delivery with this receive count is treated as a task's last all the same.
    pub max_receive_count: u32,
    /// `MAX_ATTEMPTS` (5): after this many failed attempts (across re-queues and, for a
    /// permanent failure, consecutive runs) a learner's task goes to the dead-letter queue with
    /// its reason (§7).
    pub max_attempts: u32,
    /// `DEADLINE_RESERVE_SECONDS` (15): time kept free at the end of an invocation to record
    /// outcomes, re-queue unfinished tasks and answer; a learner still running then is cut off.
    pub deadline_reserve: Duration,
    /// `FUNCTION_TIMEOUT_SECONDS` (300, the worker's timeout in the template): no invocation
    /// works longer, so a create claimed by a worker is safe to take over once it has passed
    /// (§7: the claim on an intent lasts this long, plus 5 s, rather than the hours the retry
    /// budget of a process without a deadline would need).
    pub function_timeout: Duration,
    /// `LEARNER_MIN_SECONDS` (60): a learner is started only with at least this long left
    /// beyond the reserve (a learner takes ~11 calls; 60 s covers a rate-limit pause).
    pub learner_min: Duration,
    /// `LEASE_TTL_MINUTES` (30): how long a queued run holds its tenant's lease (R39) without
    /// renewal. Each worker batch renews it; the last task of the run releases it; a run whose
    /// lease lapsed is closed as abandoned by the reconciler.
    pub lease_ttl: Duration,
    /// `RETRY_DELAY_SECONDS` (60): a task the worker returns is delivered again after this
    /// long, doubled on each further delivery and capped at 15 minutes, instead of after the
    /// queue's whole visibility timeout (needs `QUEUE_URL`; 0 leaves it to the queue).
    pub retry_delay: Duration,
}

/// A configuration variable that is missing or wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration: {var} {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

/// A tenant id as picsync accepts it: 1 to 64 ASCII letters, digits, `-` or `_` (it names a
/// DynamoDB partition, a secret and an SQS message group). `all` is reserved.
pub fn tenant_id(raw: &str) -> Result<TenantId, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err("tenant is empty".into());
    }
    if t.len() > 64 {
        return Err(format!("tenant {t:?} is longer than 64 characters"));
    }
    if let Some(c) = t
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "tenant {t:?} has the character {c:?}: use letters, digits, - and _"
        ));
    }
    if t == "all" {
        return Err("\"all\" is not a tenant id: it stands for every tenant".into());
    }
    Ok(TenantId::new(t))
}

fn number<T: std::str::FromStr>(
    env: Lookup<'_>,
    var: &'static str,
    default: T,
    ok: impl Fn(&T) -> bool,
    expected: &str,
) -> Result<T, ConfigError> {
    match env(var)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    {
        None => Ok(default),
        Some(v) => v.parse::<T>().ok().filter(|n| ok(n)).ok_or(ConfigError {
            var,
            problem: format!("is {v:?}; expected {expected}"),
        }),
    }
}

impl FunctionConfig {
    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// From any lookup (tests).
    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, ConfigError> {
        let table_name = env("TABLE_NAME")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or(ConfigError {
                var: "TABLE_NAME",
                problem: "is not set: the name of the state table".into(),
            })?;
        let queue_url = env("QUEUE_URL")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        if let Some(u) = &queue_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(ConfigError {
                var: "QUEUE_URL",
                problem: format!("is {u:?}, not a queue URL"),
            });
        }
        let dlq_url = env("DEAD_LETTER_QUEUE_URL")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        let secret_prefix =
            env("SECRET_PREFIX").unwrap_or_else(|| crate::secrets::DEFAULT_PREFIX.into());
        let tenants = env("PICSYNC_TENANTS")
            .unwrap_or_default()
            .split([',', ' ', '\n'])
            .filter(|t| !t.trim().is_empty())
            .map(|t| {
                tenant_id(t).map_err(|problem| ConfigError {
                    var: "PICSYNC_TENANTS",
                    problem,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let secrets_ttl = Duration::from_secs(number(
            env,
            "SECRETS_TTL_SECONDS",
            crate::secrets::DEFAULT_TTL.as_secs(),
            |n| *n <= 86_400,
            "a number of seconds up to 86400",
        )?);
        let calls_per_minute_cap = number(
            env,
            "ONEFILE_CALLS_PER_MINUTE",
            280u32,
            |n| (1..=300).contains(n),
            "a number from 1 to 300 (OneFile allows 300 calls per minute per token)",
        )?;
        let max_receive_count = number(
            env,
            "MAX_RECEIVE_COUNT",
            10u32,
            |n| (1..=1000).contains(n),
            "the queue's maxReceiveCount, 1 to 1000",
        )?;
        let max_attempts = number(
            env,
            "MAX_ATTEMPTS",
            5u32,
            |n| (1..=100).contains(n),
            "a number of attempts from 1 to 100",
        )?;
        let deadline_reserve = Duration::from_secs(number(
            env,
            "DEADLINE_RESERVE_SECONDS",
            15u64,
            |n| *n <= 600,
            "a number of seconds up to 600",
        )?);
        let function_timeout = Duration::from_secs(number(
            env,
            "FUNCTION_TIMEOUT_SECONDS",
            300u64,
            |n| (1..=900).contains(n),
            "a number of seconds from 1 to 900 (Lambda's limit)",
        )?);
        let learner_min = Duration::from_secs(number(
            env,
            "LEARNER_MIN_SECONDS",
            60u64,
            |n| *n <= 600,
            "a number of seconds up to 600",
        )?);
        let lease_ttl = Duration::from_secs(
            60 * number(
                env,
                "LEASE_TTL_MINUTES",
                30u64,
                |n| (1..=10_080).contains(n),
                "a number of minutes from 1 to 10080",
            )?,
        );
        let retry_delay = Duration::from_secs(number(
            env,
            "RETRY_DELAY_SECONDS",
            60u64,
            |n| *n <= 900,
            "a number of seconds up to 900",
        )?);
        Ok(Self {
            retry_delay,
            dlq_url,
            lease_ttl,
            table_name,
            queue_url,
            secret_prefix,
            tenants,
            secrets_ttl,
            calls_per_minute_cap,
            max_receive_count,
            max_attempts,
            deadline_reserve,
            function_timeout,
            learner_min,
        })
    }

    /// The queue URL, which the scheduler cannot work without.
    pub fn require_queue(&self) -> Result<&str, ConfigError> {
        self.queue_url.as_deref().ok_or(ConfigError {
            var: "QUEUE_URL",
            problem: "is not set: the URL of the worker's task queue".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<FunctionConfig, ConfigError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        FunctionConfig::from_lookup(&|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_and_tenant_list() {
        let c = cfg(&[("TABLE_NAME", "t"), ("PICSYNC_TENANTS", "acme, beta-2")]).unwrap();
        assert_eq!(c.secret_prefix, "picsync/");
        assert_eq!(c.calls_per_minute_cap, 280);
        assert_eq!(c.max_receive_count, 10);
        assert_eq!(c.max_attempts, 5);
        assert_eq!(
            c.tenants,
            vec![TenantId::from("acme"), TenantId::from("beta-2")]
        );
        assert!(c.require_queue().is_err());
    }

    #[test]
    fn errors_name_the_variable() {
        assert_eq!(cfg(&[]).unwrap_err().var, "TABLE_NAME");
        let e = cfg(&[("TABLE_NAME", "t"), ("ONEFILE_CALLS_PER_MINUTE", "400")]).unwrap_err();
        assert_eq!(e.var, "ONEFILE_CALLS_PER_MINUTE");
        assert!(e.to_string().contains("400"), "{e}");
        let e = cfg(&[("TABLE_NAME", "t"), ("PICSYNC_TENANTS", "acme,all")]).unwrap_err();
        assert_eq!(e.var, "PICSYNC_TENANTS");
        let e = cfg(&[("TABLE_NAME", "t"), ("QUEUE_URL", "my-queue")]).unwrap_err();
        assert_eq!(e.var, "QUEUE_URL");
    }

    #[test]
    fn tenant_ids_are_checked() {
        assert!(tenant_id("acme_2-b").is_ok());
        assert!(tenant_id("").is_err());
        assert!(tenant_id("a/b").unwrap_err().contains("'/'"));
        assert!(tenant_id(&"x".repeat(65)).is_err());
        assert!(tenant_id("all").is_err());
    }
}
