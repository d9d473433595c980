//! Reading a task message (an SQS body): a clear error naming what is wrong, never a panic.

use crate::error::{EngineError, Result};
use crate::run::LearnerTask;

/// Parses one task message. Unknown fields, missing fields and bad values are refused with the
/// field named.
pub fn parse_task(body: &str) -> Result<LearnerTask> {
    let mut de = serde_json::Deserializer::from_str(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let at = if path.is_empty() || path == "." {
            String::new()
        } else {
            format!(" at `{path}`")
        };
        EngineError::Invalid(format!("task message refused{at}: {}", e.inner()))
    })
}
