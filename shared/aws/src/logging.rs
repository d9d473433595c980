//! The Lambda functions' one logging setup: JSON lines (Lambda's JSON log format keeps them),
//! the level from `AWS_LAMBDA_LOG_LEVEL` (default info), and each event carrying the spans it
//! happened in (`invocation` with the request id, `tenant`, `learner` with the run and the
//! learner) rather than fields repeated by hand. Metrics go to stdout beside them
//! ([`crate::metrics`]), as EMF documents of their own: never nested in a log event's fields,
//! which CloudWatch would not read as metrics.

use tracing_subscriber::fmt::MakeWriter;

/// The functions' subscriber, writing to `writer` (stdout in a Lambda; a buffer in tests).
pub fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_env("AWS_LAMBDA_LOG_LEVEL")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .with_ansi(false)
        .with_writer(writer)
        .finish()
}

/// Installs the subscriber on stdout (once per process; a second call changes nothing).
pub fn init() {
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout));
}
