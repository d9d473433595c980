//! The engine's error: every failure says whether trying again may help.

use picsync_domain::enrol::Problem;
use picsync_onefile::OneFileError;
use picsync_pics::PicsError;
use picsync_state::StateError;
use picsync_state::secrets::SecretError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    OneFile(#[from] OneFileError),
    #[error(transparent)]
    Pics(#[from] PicsError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// R1.
    #[error(
        "the OneFile integration is not enabled for tenant {0}: nothing calls OneFile (R1). Set integration_enabled = true (after desktop_integration_disabled = true, R42)"
    )]
    NotEnabled(String),
    /// R39.
    #[error(
        "tenant {tenant} is being synchronised already by run {run_id} (held by {holder} until {until}); not started twice (R39)"
    )]
    Busy {
        tenant: String,
        run_id: String,
        holder: String,
        until: String,
    },
    /// Another worker is creating the same record right now (§7).
    #[error("another worker is creating {key} until {until}; will retry")]
    IntentBusy { key: String, until: String },
    /// R41: PICS kept changing under the sync.
    #[error("learner {0} kept changing in PICS while it was being synchronised; will retry (R41)")]
    StillChanging(String),
    /// §7: the invocation's deadline came before the learner's sync finished; the task is put
    /// back in the queue (what was written is kept, every create resumes through its intent).
    #[error("learner {0} was cut off at the invocation's deadline; it is queued again")]
    Deadline(String),
    /// §7: the learner's outcome could not be recorded on its run (or the run not closed): the
    /// task is tried again, so that the run still completes. `result` is the learner's own.
    #[error(
        "the outcome of learner {learner} could not be recorded on its run ({source}); will retry. The learner's own result: {result}"
    )]
    Unrecorded {
        learner: String,
        result: String,
        #[source]
        source: Box<EngineError>,
    },
    /// A task of a run the reconciler closed as abandoned: dropped (the next run syncs it).
    #[error("run {0} was abandoned: its late task is dropped (the next run syncs the learner)")]
    RunClosed(String),
    /// Enrolment checks failed before anything was written (R9, R10, R12, …).
    #[error("enrolment of {learner} refused, nothing written: {}", .problems.iter().map(std::string::ToString::to_string).collect::<Vec<_>>().join("; "))]
    Enrol {
        learner: String,
        problems: Vec<Problem>,
    },
    /// The request or configuration is wrong.
    #[error("{0}")]
    Invalid(String),
    /// A record the sync needs is missing or inconsistent.
    #[error("{0}")]
    Inconsistent(String),
    /// A bug: the sync of one learner panicked. That learner fails for good (a retry would
    /// panic again); the others go on (§7).
    #[error(
        "internal error (a bug) while synchronising learner {learner}: {message}; this learner failed, the others go on"
    )]
    Panicked { learner: String, message: String },
}

impl EngineError {
    pub fn is_retryable(&self) -> bool {
        match self {
            EngineError::OneFile(e) => e.is_retryable(),
            EngineError::Pics(e) => e.is_retryable(),
            EngineError::State(e) => e.is_retryable(),
            EngineError::Secret(e) => e.is_retryable(),
            EngineError::IntentBusy { .. }
            | EngineError::StillChanging(_)
            | EngineError::Deadline(_)
            | EngineError::Unrecorded { .. }
            | EngineError::Busy { .. } => true,
            EngineError::NotEnabled(_)
            | EngineError::RunClosed(_)
            | EngineError::Enrol { .. }
            | EngineError::Invalid(_)
            | EngineError::Inconsistent(_)
            | EngineError::Panicked { .. } => false,
        }
    }

    /// Bad input or configuration: the CLI's exit code 2.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            EngineError::NotEnabled(_)
                | EngineError::Invalid(_)
                | EngineError::Secret(
                    SecretError::Missing { .. }
                        | SecretError::File { .. }
                        | SecretError::Invalid { .. }
                )
        )
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;
