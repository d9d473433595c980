//! The Lambda functions' one logging setup: JSON lines (Lambda's JSON log format keeps them),
//! the level from `AWS_LAMBDA_LOG_LEVEL` (default info), and each event carrying the spans it
//! happened in (the invocation's request id, the tenant, the run, the learner) rather than
//! fields repeated by hand. Metrics go to stdout beside them ([`crate::metrics`]), as EMF
//! documents of their own: never nested in a log event's fields, which CloudWatch would not
//! read as metrics.

/// Installs the JSON subscriber (once per process; a second call changes nothing).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AWS_LAMBDA_LOG_LEVEL")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .with_ansi(false)
        .try_init();
}
