//! Sends learner tasks to the worker's SQS queue: `SendMessageBatch` in chunks of 10. On a
//! FIFO queue (R35) every task of a tenant goes to the message group named by the tenant, so
//! one worker at a time works for a tenant while tenants run in parallel, and each task carries
//! the deduplication id `<run id>:<learner>`, so a scheduler retry cannot queue it twice.

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use picsync_engine::LearnerTask;

/// SQS takes at most 10 messages per batch.
pub const BATCH: usize = 10;
/// Entries SQS failed on its side (throttling, internal errors) are sent again this many times.
const RESENDS: u32 = 3;

/// A task that could not be queued, and why.
#[derive(Debug, Clone)]
pub struct Unsent {
    pub task: LearnerTask,
    pub reason: String,
}

/// What a send did.
#[derive(Debug, Clone, Default)]
pub struct SendReport {
    pub sent: usize,
    pub failed: Vec<Unsent>,
}

/// One task to send, with the message it replaces when the worker puts it back.
#[derive(Clone, Copy)]
struct Item<'t> {
    i: usize,
    task: &'t LearnerTask,
    source: Option<&'t str>,
}

/// Sends tasks to one queue.
#[derive(Clone, Debug)]
pub struct TaskSender {
    client: Client,
    queue_url: String,
}

/// SQS message group and deduplication ids: at most 128 characters of ASCII letters, digits
/// and punctuation. Other characters become `_`; a longer id keeps its head and a hash of
/// the whole, so that distinct ids stay distinct.
pub fn sqs_id(raw: &str) -> String {
    let clean: String = raw
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if clean.len() <= 128 && clean == raw {
        return clean;
    }
    // FNV-1a: stable across processes and versions
    let hash = raw.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let head: String = clean.chars().take(128 - 17).collect();
    format!("{head}~{hash:016x}")
}

impl TaskSender {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    fn fifo(&self) -> bool {
        self.queue_url.ends_with(".fifo")
    }

    fn entry(&self, item: Item<'_>) -> Result<SendMessageBatchRequestEntry, String> {
        let task = item.task;
        let body = serde_json::to_string(task).map_err(|e| format!("cannot encode task: {e}"))?;
        let mut e = SendMessageBatchRequestEntry::builder()
            .id(format!("t{}", item.i))
            .message_body(body);
        if self.fifo() {
            // A task put back by the worker replaces the message it came in: deduplicated by
            // that message's id, so a redelivery of the same message re-queued twice within
            // SQS's five-minute window is queued once, and a new copy is never taken for the
            // first sending of the task.
            let dedup = match item.source {
                None => format!("{}:{}", task.run_id, task.learner),
                Some(source) => format!("{}:{}:{source}", task.run_id, task.learner),
            };
            e = e
                .message_group_id(sqs_id(task.tenant.as_str()))
                .message_deduplication_id(sqs_id(&dedup));
        }
        e.build().map_err(|e| e.to_string())
    }

    /// Sends every task, in order, in batches of 10. Entries SQS failed on its side are sent
    /// again (bounded); every task that could not be queued is in the report with its reason.
    pub async fn send(&self, tasks: &[LearnerTask]) -> SendReport {
        let items: Vec<Item<'_>> = tasks
            .iter()
            .enumerate()
            .map(|(i, task)| Item {
                i,
                task,
                source: None,
            })
            .collect();
        self.send_items(&items).await
    }

    /// Puts tasks back at the tail of their tenant's queue (§7), in order: each with the id of
    /// the message it replaces. The report names those that could not be queued.
    pub async fn requeue(&self, tasks: &[(LearnerTask, String)]) -> SendReport {
        let items: Vec<Item<'_>> = tasks
            .iter()
            .enumerate()
            .map(|(i, (task, source))| Item {
                i,
                task,
                source: Some(source),
            })
            .collect();
        self.send_items(&items).await
    }

    async fn send_items(&self, items: &[Item<'_>]) -> SendReport {
        let mut report = SendReport::default();
        for chunk in items.chunks(BATCH) {
            let mut pending: Vec<Item<'_>> = chunk.to_vec();
            for attempt in 0..=RESENDS {
                let (retry, failed) = self.send_batch(&pending).await;
                report.sent += pending.len() - retry.len() - failed.len();
                report.failed.extend(failed);
                if retry.is_empty() {
                    break;
                }
                if attempt == RESENDS {
                    report
                        .failed
                        .extend(retry.into_iter().map(|(item, reason)| Unsent {
                            task: item.task.clone(),
                            reason,
                        }));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                pending = retry.into_iter().map(|(p, _)| p).collect();
            }
        }
        report
    }

    /// One SendMessageBatch: (entries worth sending again, with the last reason; entries
    /// refused for good).
    async fn send_batch<'t>(&self, pending: &[Item<'t>]) -> (Vec<(Item<'t>, String)>, Vec<Unsent>) {
        let mut failed = Vec::new();
        let mut entries = Vec::new();
        let mut sendable = Vec::new();
        for &item in pending {
            match self.entry(item) {
                Ok(e) => {
                    entries.push(e);
                    sendable.push(item);
                }
                Err(reason) => failed.push(Unsent {
                    task: item.task.clone(),
                    reason,
                }),
            }
        }
        if entries.is_empty() {
            return (Vec::new(), failed);
        }
        let out = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let reason = format!("SQS SendMessageBatch: {}", DisplayErrorContext(&e));
                // no answer: the whole batch may be sent again (FIFO deduplication keeps it once)
                return (
                    sendable.into_iter().map(|p| (p, reason.clone())).collect(),
                    failed,
                );
            }
        };
        let mut retry = Vec::new();
        for f in out.failed() {
            let Some(p) = sendable.iter().find(|p| format!("t{}", p.i) == f.id()) else {
                continue;
            };
            let reason = format!(
                "SQS refused the task ({}{})",
                f.code(),
                f.message().map(|m| format!(": {m}")).unwrap_or_default()
            );
            if f.sender_fault() {
                failed.push(Unsent {
                    task: p.task.clone(),
                    reason,
                });
            } else {
                retry.push((*p, reason));
            }
        }
        (retry, failed)
    }
}

/// The dead-letter queue, written by the worker itself so that a task arrives there with its
/// reason (a message attribute) and without holding up the later tasks of its tenant.
#[derive(Clone, Debug)]
pub struct DeadLetters {
    client: Client,
    url: String,
}

/// SQS message attributes hold at most 256 KiB; reasons are cut far shorter.
const MAX_REASON: usize = 2000;

impl DeadLetters {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// Puts a message there: its original body, its group (FIFO), and `reason`.
    pub async fn send(
        &self,
        body: &str,
        group: Option<&str>,
        message_id: &str,
        receive_count: u32,
        reason: &str,
    ) -> Result<(), String> {
        let attr = |v: String| {
            aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| e.to_string())
        };
        let mut reason = reason.to_string();
        if reason.len() > MAX_REASON {
            let mut cut = MAX_REASON;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
        }
        let mut req = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(if body.is_empty() { "(empty)" } else { body })
            .message_attributes("reason", attr(reason)?)
            .message_attributes("source_message_id", attr(message_id.to_string())?)
            .message_attributes("receive_count", attr(receive_count.to_string())?);
        if self.url.ends_with(".fifo") {
            req = req
                .message_group_id(sqs_id(group.unwrap_or("malformed")))
                .message_deduplication_id(sqs_id(message_id));
        }
        req.send().await.map(|_| ()).map_err(|e| {
            format!(
                "SQS SendMessage to the dead-letter queue: {}",
                DisplayErrorContext(&e)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_ids_stay_valid_and_distinct() {
        assert_eq!(
            sqs_id("20240701T020000Z-ab12:lrn-00001"),
            "20240701T020000Z-ab12:lrn-00001"
        );
        let spaced = sqs_id("run:learner one");
        assert!(spaced.chars().all(|c| c.is_ascii_graphic()), "{spaced}");
        assert_ne!(spaced, sqs_id("run:learner_one"));
        let long_a = sqs_id(&format!("{}a", "x".repeat(200)));
        let long_b = sqs_id(&format!("{}b", "x".repeat(200)));
        assert!(long_a.len() <= 128);
        assert_ne!(long_a, long_b);
    }
}
