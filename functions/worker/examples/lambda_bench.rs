#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package
//! The Lambda-path benchmark (issue 13): the real scheduler and worker handlers, fed as
//! Lambda's SQS event source mapping feeds a FIFO queue, against the simulators with a scaled
//! minute, at two call latencies; an initial sync of the world's tenant, then a full sweep.
//! Prints a report (Markdown) to stdout. Not a test: it runs for minutes, and not in CI.
//!
//!   bash scripts/install-standins.sh && bash scripts/standins.sh start
//!   eval "$(bash scripts/standins.sh env)"
//!   cargo run --release -p worker --example lambda_bench -- [learners] [minute_ms] [latencies_ms]
//!
//! (defaults: 2000 learners, a 6,000 ms minute, "100,300" ms per call in real-world time, each
//! scaled with the minute like every other duration).
//!
//! The event source mapping, as AWS documents it for FIFO queues:
//! - up to `MAX_CONCURRENCY` (the template's `WorkerMaxConcurrency`, 5) pollers, each
//!   receiving batches of up to 10 (`BatchSize`) with the queue's visibility timeout;
//! - at most one batch of a message group in flight: a receive that returns a message of a
//!   group already in flight hands it back at once;
//! - every invocation in a FRESH execution environment (a new `Worker`: its own clients,
//!   secret cache and OneFile pacer with an empty log), the worst case for R35, with the
//!   deadline of the function's timeout (300 s, scaled);
//! - partial batch responses: the messages not named are deleted (`DeleteMessageBatch`); those
//!   named keep the visibility the worker set (`ChangeMessageVisibility`).
//!
//! Budget use: the worker phase's OneFile calls over the most that a client keeping to the
//! tenant's budget (280 in any minute) can make in the same wall time, `280 × (wall ÷ minute
//! + 1)`: the `+ 1` is the phase's first minute, whose budget such a client may spend at once
//! (the pacer's sliding log does). So no client keeping to the budget can score over 100 %.
//! The bound is the least wall time such a client needs for the phase's calls:
//! `⌈calls ÷ 280⌉ − 1` minutes.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::MessageSystemAttributeName;
use lambda_runtime::{Context, LambdaEvent};
use picsync_aws::{ClientTuning, Deployment, FunctionConfig, testing};
use picsync_domain::TenantId;
use picsync_sim::faults::Fault;
use picsync_sim::world;
use picsync_state::{RunStatus, RunStore};
use serde_json::{Value, json};
use worker::Worker;

const MAX_CONCURRENCY: usize = 5;
const BUDGET: f64 = 280.0;
const TENANT: &str = "acme";
/// Tenants (message groups) in the benchmark's queue.
const TENANTS: usize = 1;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Phase {
    learners: usize,
    wall: Duration,
    onefile: u64,
    pics: u64,
    limited: u64,
    batches: usize,
    returned: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let learners: usize = args.first().map_or(Ok(2000), |a| a.parse())?;
    let minute_ms: u64 = args.get(1).map_or(Ok(6000), |a| a.parse())?;
    let latencies: Vec<u64> = args
        .get(2)
        .map_or("100,300", String::as_str)
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let minute = Duration::from_millis(minute_ms);
    let scale = minute_ms as f64 / 60_000.0;
    println!(
        "Lambda-path benchmark: {learners} learners, OneFile's minute scaled to {minute_ms} ms (x{:.0}), event source max concurrency {MAX_CONCURRENCY}, batch size 10, a fresh execution environment per invocation, WORKER_LEARNER_CONCURRENCY {}\n",
        1.0 / scale,
        worker::DEFAULT_LEARNER_CONCURRENCY
    );
    for latency in latencies {
        let real = Duration::from_millis(latency);
        let (initial, sweep, periodic, scheduler, peak) =
            one_latency(learners, minute, real).await?;
        println!("## {latency} ms per call\n");
        println!(
            "| run | learners | OneFile calls | PICS calls | batches | returned | 429s | wall (real-world min) | bound at 280/min (min) | budget use |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (name, p) in [
            ("initial", &initial),
            ("full sweep", &sweep),
            ("periodic, 2 % edited", &periodic.phase),
        ] {
            let wall_min = p.wall.as_secs_f64() / minute.as_secs_f64();
            println!(
                "| {name} | {} | {} | {} | {} | {} | {} | {wall_min:.1} | {:.1} | {:.1} % |",
                p.learners,
                p.onefile,
                p.pics,
                p.batches,
                p.returned,
                p.limited,
                bound(p.onefile),
                100.0 * budget_use(p, minute)
            );
        }
        let use_initial = budget_use(&initial, minute);
        println!(
            "\nScheduler phase (listing, learner states, queueing): {:.1} real-world min for {learners} learners.",
            scheduler.as_secs_f64() / minute.as_secs_f64()
        );
        let p = &periodic.phase;
        println!(
            "Periodic run (issue 16) after PICS edits to {} learners: {} compared, scheduler and workers {:.1} real-world min ({:.0} s), {} OneFile calls; every edit was in OneFile after it.",
            periodic.edits,
            p.learners,
            p.wall.as_secs_f64() / minute.as_secs_f64(),
            p.wall.as_secs_f64() / scale,
            p.onefile
        );
        // linear in the tenant's learners (the same share of them in scope)
        for n in [500usize, 2000, 5000] {
            let f = n as f64 / learners as f64;
            let sched = scheduler.as_secs_f64() / minute.as_secs_f64() * f;
            let init = initial.wall.as_secs_f64() / minute.as_secs_f64() * f;
            let sw = sweep.wall.as_secs_f64() / minute.as_secs_f64() * f;
            println!(
                "Projection to {n} learners at {latency} ms: initial sync ≈ {:.0} min, full sweep ≈ {:.0} min (scheduler phase included)",
                sched + init,
                sched + sw
            );
        }
        println!(
            "Most OneFile calls in one of the simulator's fixed windows, all phases: {peak} (OneFile admits 300; the tenant's setting is 280)."
        );
        println!(
            "\nLambda-path budget use at {latency} ms: {:.1} %\n",
            100.0 * use_initial
        );
    }
    Ok(())
}

/// The least wall time, in minutes, in which a client keeping to the budget in every minute
/// can make `calls`: its first minute's calls at once, then a minute per budget.
fn bound(calls: u64) -> f64 {
    (calls as f64 / BUDGET).ceil().max(1.0) - 1.0
}

/// A phase's OneFile calls over the most a client keeping to the budget can make in its wall
/// time (the first minute's budget spent at once included).
fn budget_use(p: &Phase, minute: Duration) -> f64 {
    p.onefile as f64 / (BUDGET * (p.wall.as_secs_f64() / minute.as_secs_f64() + 1.0))
}

/// A deployment over the stack whose OneFile minute is `minute`, its durations scaled.
fn deployment(stack: &testing::Stack, config: &FunctionConfig, minute: Duration) -> Deployment {
    let base = testing::tuning();
    Deployment::with_clients(
        config.clone(),
        stack.dynamodb.clone(),
        stack.secretsmanager.clone(),
        stack.sqs.clone(),
        ClientTuning {
            rate_window: minute,
            retry: base.retry,
            timeout: Some(Duration::from_secs(10)),
        },
    )
}

async fn one_latency(
    learners: usize,
    minute: Duration,
    real_latency: Duration,
) -> Result<(Phase, Phase, Periodic, Duration, u32), Error> {
    let scale = minute.as_secs_f64() / 60.0;
    let scaled = |d: Duration| d.mul_f64(scale);
    let stack = testing::stack(&[TENANT], 5, 1800).await;
    let today = picsync_domain::time::london_date(chrono::Utc::now());
    let sims = world::start(learners, today, (300, minute)).await?;
    stack.world_tenant(TENANT, &sims).await;
    let latency = scaled(real_latency);
    sims.onefile
        .faults()
        .random(None, 1.0, vec![Fault::Delay(latency)], 1);
    sims.pics
        .faults()
        .random(None, 1.0, vec![Fault::Delay(latency)], 2);
    let mut config = stack.config.clone();
    config.function_timeout = scaled(Duration::from_secs(300));
    config.deadline_reserve = scaled(Duration::from_secs(15));
    config.learner_min = scaled(Duration::from_secs(60));
    config.retry_delay = scaled(Duration::from_secs(60));
    let scheduler = scheduler::Scheduler::new(deployment(&stack, &config, minute))?;
    let began = Instant::now();
    let (run_id, in_scope) =
        start(&scheduler, json!({"tenant": TENANT, "mode": "initial"})).await?;
    let scheduled = began.elapsed();
    let initial = drain(&stack, &config, minute, &sims, &run_id, in_scope).await?;
    let (run_id, in_scope) = start(
        &scheduler,
        json!({"tenant": TENANT, "mode": "periodic", "full": true}),
    )
    .await?;
    let sweep = drain(&stack, &config, minute, &sims, &run_id, in_scope).await?;

    // a 15-minute periodic run (issue 16) after users changed 2 % of the learners in PICS: a
    // registration number of a qualification linked to a OneFile learning aim
    let mut edits = Vec::new();
    for (n, learner) in sims.info.in_scope.iter().step_by(50).enumerate() {
        let value = format!("LB-{n:05}");
        let Some((qual, aim)) = sims.linked_aim(learner) else {
            continue;
        };
        let done = sims.pics.edit(|s| {
            let q = s.learner_mut(learner)?.qualification_mut(&qual)?;
            q.registration_number = Some(value.clone());
            Some(())
        });
        if done.is_some() {
            edits.push((aim, value));
        }
    }
    // LastModified has second resolution: the edits are after the sweep's cursors
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let began = Instant::now();
    let (run_id, in_scope) =
        start(&scheduler, json!({"tenant": TENANT, "if_busy": "skip"})).await?;
    let mut periodic = drain(&stack, &config, minute, &sims, &run_id, in_scope).await?;
    periodic.wall = began.elapsed();
    let arrived = edits
        .iter()
        .filter(|(aim, value)| {
            sims.onefile.read(|s| {
                s.learning_aims
                    .get(aim)
                    .is_some_and(|a| a.registration_number.as_deref() == Some(value.as_str()))
            })
        })
        .count();
    if arrived != edits.len() {
        return Err(format!(
            "the periodic run delivered {arrived} of {} PICS edits to OneFile",
            edits.len()
        )
        .into());
    }
    Ok((
        initial,
        sweep,
        Periodic {
            phase: periodic,
            edits: edits.len(),
        },
        scheduled,
        sims.onefile.peak_calls_in_window(),
    ))
}

/// The periodic run after edits: its figures (scheduler phase included in its wall time) and
/// how many learners were edited (every edit is checked to be in OneFile after it).
struct Periodic {
    phase: Phase,
    edits: usize,
}

async fn start(s: &scheduler::Scheduler, payload: Value) -> Result<(String, usize), Error> {
    let out = s
        .handle(LambdaEvent::new(payload, Context::default()))
        .await?;
    let run_id = out["run_id"]
        .as_str()
        .ok_or_else(|| format!("no run started: {out}"))?
        .to_string();
    let queued = out["tasks"].as_u64().unwrap_or(0);
    Ok((run_id, usize::try_from(queued)?))
}

/// The event source mapping until the run completes; the phase's figures.
async fn drain(
    stack: &testing::Stack,
    config: &FunctionConfig,
    minute: Duration,
    sims: &world::Running,
    run_id: &str,
    learners: usize,
) -> Result<Phase, Error> {
    let of0 = sims.onefile.counters().total();
    let p0 = sims.pics.counters().total();
    let l0 = sims.onefile.rate_limited();
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let stats = Arc::new(Mutex::new((0usize, 0usize)));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // One poller receives at a time: the stand-in does not keep a FIFO group to one batch in
    // flight, so two pollers receiving at once would get two batches of the one group, and the
    // one handed back would count a receive each time (5 receives and the stand-in's redrive
    // moves a task to the dead-letter queue, which SQS would never do here).
    let gate: Arc<tokio::sync::Mutex<()>> = Arc::default();
    let began = Instant::now();
    let pollers: Vec<_> = (0..MAX_CONCURRENCY)
        .map(|_| {
            let (stack_sqs, url) = (stack.sqs.clone(), stack.queue_url.clone());
            let deployment = || deployment(stack, config, minute);
            let make = Arc::new(deployment);
            let (in_flight, stats, done) = (in_flight.clone(), stats.clone(), done.clone());
            let gate = gate.clone();
            let timeout = config.function_timeout;
            async move {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let receiving = gate.lock().await;
                    // SQS delivers nothing of a group with a batch in flight: with the one
                    // tenant's group in flight, a receive would return nothing, so the poller
                    // waits here instead of loading the stand-in with empty receives.
                    if in_flight
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .len()
                        >= TENANTS
                    {
                        drop(receiving);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                    let msgs = stack_sqs
                        .receive_message()
                        .queue_url(&url)
                        .max_number_of_messages(10)
                        .wait_time_seconds(0)
                        .message_system_attribute_names(MessageSystemAttributeName::All)
                        .send()
                        .await
                        .map(|o| o.messages.unwrap_or_default())
                        .unwrap_or_default();
                    if msgs.is_empty() {
                        drop(receiving);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    // FIFO: at most one batch of a group in flight
                    let group = |m: &aws_sdk_sqs::types::Message| {
                        m.attributes()
                            .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                            .cloned()
                            .unwrap_or_default()
                    };
                    let groups: HashSet<String> = msgs.iter().map(group).collect();
                    let taken = {
                        let mut f = in_flight
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        if groups.iter().any(|g| f.contains(g)) {
                            false
                        } else {
                            f.extend(groups.iter().cloned());
                            true
                        }
                    };
                    drop(receiving);
                    if !taken {
                        for m in &msgs {
                            if let Some(h) = m.receipt_handle() {
                                let _ = stack_sqs
                                    .change_message_visibility()
                                    .queue_url(&url)
                                    .receipt_handle(h)
                                    .visibility_timeout(0)
                                    .send()
                                    .await;
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    // a fresh execution environment per invocation
                    let w = Worker::new(make());
                    let mut ctx = Context::default();
                    ctx.deadline = u64::try_from(chrono::Utc::now().timestamp_millis())
                        .unwrap_or(0)
                        + u64::try_from(timeout.as_millis()).unwrap_or(0);
                    let ev = event(&msgs);
                    let failed: Vec<String> = match w.handle(LambdaEvent::new(ev, ctx)).await {
                        Ok(r) => r
                            .batch_item_failures
                            .into_iter()
                            .map(|f| f.item_identifier)
                            .collect(),
                        Err(never) => match never {},
                    };
                    // the processed messages deleted in one call, as the event source does
                    let entries: Vec<_> = msgs
                        .iter()
                        .enumerate()
                        .filter(|(_, m)| !failed.iter().any(|f| Some(f.as_str()) == m.message_id()))
                        .filter_map(|(i, m)| {
                            aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                                .id(i.to_string())
                                .receipt_handle(m.receipt_handle()?)
                                .build()
                                .ok()
                        })
                        .collect();
                    if !entries.is_empty() {
                        let _ = stack_sqs
                            .delete_message_batch()
                            .queue_url(&url)
                            .set_entries(Some(entries))
                            .send()
                            .await;
                    }
                    {
                        let mut s = stats
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        s.0 += 1;
                        s.1 += failed.len();
                    }
                    let mut f = in_flight
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    for g in &groups {
                        f.remove(g);
                    }
                }
            }
        })
        .collect();
    let watcher = async {
        let t = TenantId::from(TENANT);
        let limit = minute * 600; // 10 real-world hours
        let mut ticks = 0u32;
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let run = stack.state.get_run(&t, run_id).await.ok().flatten();
            ticks += 1;
            if ticks % 150 == 0
                && let Some(r) = &run
            {
                eprintln!(
                    "  {:.0} s: {} of {learners} learners done, {} failed, {} OneFile calls",
                    began.elapsed().as_secs_f64(),
                    r.done,
                    r.failed,
                    sims.onefile.counters().total() - of0
                );
            }
            if run.as_ref().is_some_and(|r| r.status != RunStatus::Running)
                || began.elapsed() > limit
            {
                done.store(true, std::sync::atomic::Ordering::Relaxed);
                return run;
            }
        }
    };
    let (run, _) = tokio::join!(watcher, futures::future::join_all(pollers));
    let wall = began.elapsed();
    if let Some(r) = &run {
        eprintln!(
            "run {run_id}: {:?}, {} done, {} failed",
            r.status, r.done, r.failed
        );
    }
    let (batches, returned) = *stats
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(Phase {
        learners,
        wall,
        onefile: sims.onefile.counters().total() - of0,
        pics: sims.pics.counters().total() - p0,
        limited: sims.onefile.rate_limited() - l0,
        batches,
        returned,
    })
}

fn event(msgs: &[aws_sdk_sqs::types::Message]) -> aws_lambda_events::sqs::SqsEvent {
    let mut ev = aws_lambda_events::sqs::SqsEvent::default();
    for m in msgs {
        let mut r = aws_lambda_events::sqs::SqsMessage::default();
        r.message_id = m.message_id.clone();
        r.receipt_handle = m.receipt_handle.clone();
        r.body = m.body.clone();
        r.attributes = m
            .attributes()
            .map(|a| {
                a.iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        ev.records.push(r);
    }
    ev
}
