//! What the CLI prints: readable text on a terminal, or JSON with --json.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use picsync_domain::enrol::EnrolPlan;
use picsync_domain::{LearnerId, Rule, TenantId};
use picsync_engine::{CheckReport, Engine, EnrolReport, Progress, RunSummary};
use picsync_state::embedded::EmbeddedState;
use picsync_state::{AuditEntry, LearnerState, RunRecord, TenantState};

pub(crate) struct Out {
    json: bool,
}

impl Out {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }

    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// Prints `text`, or `json` in JSON mode.
    pub(crate) fn line(&self, text: &str, json: &serde_json::Value) {
        if self.json {
            println!("{json}");
        } else {
            println!("{text}");
        }
    }
}

/// A progress bar on a terminal (hidden when not a terminal, or in JSON mode).
pub(crate) struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub(crate) fn new(json: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            None,
            if json {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {pos}/{len} learners [{elapsed_precise}] {wide_bar} eta {eta}",
        ) {
            bar.set_style(style);
        }
        Self { bar }
    }
}

impl Progress for Bar {
    fn started(&self, total: usize) {
        self.bar.set_length(total as u64);
    }
    fn learner_done(&self, _learner: &LearnerId, _ok: bool) {
        self.bar.inc(1);
    }
    fn finished(&self) {
        self.bar.finish_and_clear();
    }
}

fn rule_name(key: &str) -> &'static str {
    // the run record keeps rules by their stored names (and older ones too)
    Rule::from_stored(key).map_or("", Rule::summary)
}

pub(crate) fn run_text(s: &RunSummary, elapsed: Duration, dry_run: bool) -> String {
    let r = &s.run;
    let mut t = String::new();
    let verb = if dry_run { "would change" } else { "changed" };
    t.push_str(&format!(
        "{} run {} ({:?}{}): {} learners synced, {} failed, {} skipped as unchanged, {} out of scope, in {:.1} s\n",
        if dry_run { "Planned" } else { "Finished" },
        r.run_id,
        r.mode,
        if r.full_sweep { ", full comparison" } else { "" },
        r.done,
        r.failed,
        r.skipped_unchanged,
        r.out_of_scope,
        elapsed.as_secs_f64()
    ));
    if r.rule_counts.is_empty() {
        t.push_str(&format!("  nothing {verb}: both systems agree\n"));
    } else {
        t.push_str(&format!("  {verb}, per rule:\n"));
        for (rule, n) in &r.rule_counts {
            t.push_str(&format!("    {rule:>4}  {n:>6}  {}\n", rule_name(rule)));
        }
    }
    t.push_str(&format!(
        "  calls: {} OneFile, {} PICS\n",
        r.onefile_calls, r.pics_calls
    ));
    t.push_str(&format!("  {}\n", figures_text(r)));
    if let Some(why) = &r.review_reads_fallback {
        t.push_str(&format!(
            "  reviews read per learner (review_reads = \"centre\" fell back): {why}\n"
        ));
    }
    for f in &r.failures {
        t.push_str(&format!(
            "  FAILED {}: {}{}\n",
            f.learner,
            f.reason,
            if f.retryable {
                " (retried next run)"
            } else {
                ""
            }
        ));
    }
    t
}

/// Issue 14: a run's figures by the names of the functions' metrics (`LearnersSynced`,
/// `OneFile429`, `BudgetUse`, …), so that cron users get what CloudWatch shows.
pub(crate) fn figures(r: &RunRecord) -> serde_json::Value {
    r.figures()
        .into_iter()
        .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The figures the other lines do not show: changes per system, 429s, budget use.
fn figures_text(r: &RunRecord) -> String {
    format!(
        "changes: {} PICS, {} OneFile; OneFile 429s: {}; budget use: {}",
        r.pics_changes,
        r.onefile_changes,
        r.onefile_429s,
        r.budget_use()
            .map_or("-".to_string(), |b| format!("{:.0}%", b * 100.0))
    )
}

pub(crate) fn run(out: &Out, s: &RunSummary, elapsed: Duration, dry_run: bool) {
    if out.json {
        let v = serde_json::json!({
            "run": s.run,
            "figures": figures(&s.run),
            "elapsed_seconds": elapsed.as_secs_f64(),
            "plans": if dry_run { serde_json::to_value(&s.reports).unwrap_or_default() } else { serde_json::Value::Null },
        });
        println!("{v}");
        return;
    }
    if dry_run {
        for rep in &s.reports {
            let ops: Vec<String> = rep
                .plans
                .iter()
                .flat_map(|p| {
                    p.pics
                        .iter()
                        .map(std::string::ToString::to_string)
                        .chain(p.onefile.iter().map(std::string::ToString::to_string))
                })
                .collect();
            if ops.is_empty() {
                continue;
            }
            println!("learner {} ({}):", rep.ident, rep.learner);
            for o in ops {
                println!("  {o}");
            }
        }
    }
    print!("{}", run_text(s, elapsed, dry_run));
}

pub(crate) fn enrol(out: &Out, r: &EnrolReport) {
    if out.json {
        println!("{}", serde_json::to_value(r).unwrap_or_default());
        return;
    }
    match &r.plan {
        EnrolPlan::AlreadyLinked(id) => println!(
            "learner {} is linked to OneFile learner {id} already: nothing to do (R14)",
            r.ident
        ),
        EnrolPlan::Link(id) => println!(
            "learner {}: OneFile learner {id} holds its MIS value: link it, create nothing (R14)",
            r.ident
        ),
        EnrolPlan::Create(e) => {
            println!("enrolment of learner {}:", r.ident);
            use picsync_domain::enrol::{AssessorStep, ClassroomStep, PlacementStep};
            for a in &e.assessors {
                match a {
                    AssessorStep::Linked { officer, assessor } => {
                        println!("  officer {officer}: OneFile assessor {assessor} (linked)");
                    }
                    AssessorStep::LinkByMis { officer, assessor } => {
                        println!(
                            "  officer {officer}: link to OneFile assessor {assessor}, which holds its Ident (R11)"
                        );
                    }
                    AssessorStep::Create {
                        officer,
                        first_name,
                        last_name,
                        ..
                    } => {
                        println!(
                            "  officer {officer}: create OneFile assessor {first_name} {last_name} (R11)"
                        );
                    }
                }
            }
            match &e.placement {
                PlacementStep::Linked {
                    organisation,
                    placement,
                } => println!("  employer {organisation}: OneFile placement {placement} (linked)"),
                PlacementStep::LinkByMis {
                    organisation,
                    placement,
                } => {
                    println!(
                        "  employer {organisation}: link to OneFile placement {placement}, which holds its Ident (R13)"
                    );
                }
                PlacementStep::Create {
                    organisation, name, ..
                } => println!("  employer {organisation}: create OneFile placement {name:?} (R13)"),
            }
            match &e.classroom {
                ClassroomStep::Existing(c) => println!("  classroom {c} (R7)"),
                ClassroomStep::Create { name } => println!("  classroom: create {name:?} (R7)"),
            }
            println!(
                "  learner: create with MIS value {} and default assessor = officer {} (R6)",
                e.mis_id, e.main_officer
            );
            for a in &e.aims {
                println!(
                    "  learning aim {} for qualification {} (pathway {:?})",
                    a.code,
                    a.qualification,
                    a.pathway.map(|p| p.0)
                );
            }
            for s in &e.skipped {
                println!("  skipped {}: {} ({})", s.subject, s.reason, s.rule);
            }
        }
    }
    for a in &r.actions {
        println!("  done: {a}");
    }
    if let Some(s) = &r.sync {
        // R15 (and, in a dry run, R38: what would be uploaded)
        for p in &s.plans {
            for o in &p.pics {
                println!("  {o}");
            }
            for o in &p.onefile {
                println!("  {o}");
            }
            for w in &p.warnings {
                println!("  note: {w}");
            }
        }
        if r.onefile_learner.is_some() {
            println!(
                "  reviews uploaded at enrolment: {} changes (R15)",
                s.written
            );
        }
    }
}

pub(crate) fn check(out: &Out, r: &CheckReport) {
    if out.json {
        println!("{}", serde_json::to_value(r).unwrap_or_default());
        return;
    }
    println!(
        "tenant {}: OneFile {} ({})",
        r.tenant, r.environment, r.onefile_base_url
    );
    println!(
        "  customer {} {}",
        r.customer_id,
        r.customer_name.as_deref().unwrap_or("")
    );
    for (id, name) in &r.centres {
        println!("  centre {id} {}", name.as_deref().unwrap_or(""));
    }
    println!(
        "  PICS: {} learners linked to OneFile",
        r.pics_linked_learners
    );
    println!(
        "  integration {}",
        if r.integration_enabled {
            "enabled"
        } else {
            "NOT enabled (R1)"
        }
    );
}

fn run_line(r: &RunRecord) -> String {
    format!(
        "{}  {:?} {:?}  synced {}, failed {}, skipped {}  OneFile calls {}, PICS calls {}  {}  finished {}",
        r.run_id,
        r.mode,
        r.status,
        r.done,
        r.failed,
        r.skipped_unchanged,
        r.onefile_calls,
        r.pics_calls,
        figures_text(r),
        r.finished_at.map_or("-".to_string(), |t| t.to_rfc3339())
    )
}

pub(crate) async fn status(
    out: &Out,
    engine: &Engine<EmbeddedState>,
    tenant: &TenantId,
    runs: usize,
    learners: &[String],
) -> Result<(), picsync_engine::EngineError> {
    // a run whose process died shows as abandoned, not running (R39)
    engine.reconcile(tenant).await?;
    let ts = engine.tenant_state(tenant).await?;
    let list = engine.runs(tenant, runs).await?;
    let mut states = engine.learner_states(tenant).await?;
    if !learners.is_empty() {
        states.retain(|s| learners.iter().any(|l| l == s.learner.as_str()));
    }
    if out.json {
        // each run with its figures, named as the functions' metrics (issue 14)
        let runs: Vec<serde_json::Value> = list
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("figures".into(), figures(r));
                }
                v
            })
            .collect();
        let v = serde_json::json!({ "tenant": ts, "runs": runs, "learners": states });
        println!("{v}");
        return Ok(());
    }
    print!(
        "{}",
        status_text(tenant, ts.as_ref(), &list, &states, !learners.is_empty())
    );
    Ok(())
}

/// The text of `picsync status`: the tenant, its last runs, and the learners that fail (those
/// a retry cannot fix first, as needing attention), or the learners asked for.
pub(crate) fn status_text(
    tenant: &TenantId,
    ts: Option<&TenantState>,
    list: &[RunRecord],
    states: &[LearnerState],
    chosen: bool,
) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    match ts {
        Some(ts) => {
            _ = writeln!(
                o,
                "tenant {tenant}: last synchronised {}, initial run {}, last full comparison {}",
                ts.last_synchronised
                    .map_or("never".to_string(), |t| t.to_rfc3339()),
                if ts.initial_done {
                    "done"
                } else {
                    "pending (R43)"
                },
                ts.last_full_sweep
                    .map_or("never".to_string(), |t| t.to_rfc3339())
            );
        }
        None => _ = writeln!(o, "tenant {tenant}: never synchronised"),
    }
    for r in list {
        _ = writeln!(o, "  {}", run_line(r));
    }
    let failing: Vec<_> = states.iter().filter(|s| s.failures > 0).collect();
    // D2: a learner whose last failure a retry cannot fix needs someone to act (its error says
    // what to do); listed first
    let attention = failing.iter().filter(|s| s.needs_attention).count();
    _ = writeln!(
        o,
        "  {} learners known, {} failing, {attention} of them needing attention",
        states.len(),
        failing.len()
    );
    let mut shown: Vec<_> = if chosen {
        states.iter().collect()
    } else {
        failing
    };
    shown.sort_by_key(|s| !s.needs_attention);
    for s in shown {
        _ = writeln!(
            o,
            "    {}{}  last success {}  failures {}  {}",
            if s.needs_attention {
                "NEEDS ATTENTION  "
            } else {
                ""
            },
            s.learner,
            s.last_success
                .map_or("never".to_string(), |t| t.to_rfc3339()),
            s.failures,
            s.last_error.as_deref().unwrap_or("")
        );
    }
    o
}

pub(crate) fn audit(out: &Out, learner: &str, entries: &[AuditEntry]) {
    if out.json {
        println!("{}", serde_json::to_value(entries).unwrap_or_default());
        return;
    }
    if entries.is_empty() {
        println!("no changes recorded for learner {learner}");
    }
    for e in entries {
        println!(
            "{}  {} {} {}: {} → {}  [{}]  run {}",
            e.at.to_rfc3339(),
            e.system,
            e.entity,
            e.field,
            e.old,
            e.new,
            e.rule,
            e.run_id
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s7_status_lists_a_learner_needing_attention_with_what_to_do() {
        let gone = LearnerState {
            learner: LearnerId::new("lrn-00003"),
            failures: 2,
            last_error: Some(
                "learner L00003 is linked to OneFile learner 1037, which OneFile no longer holds (deleted?): link …".into(),
            ),
            needs_attention: true,
            ..Default::default()
        };
        let busy = LearnerState {
            learner: LearnerId::new("lrn-00004"),
            failures: 1,
            last_error: Some("OneFile answered HTTP 503".into()),
            ..Default::default()
        };
        let fine = LearnerState {
            learner: LearnerId::new("lrn-00005"),
            ..Default::default()
        };
        let t = status_text(
            &TenantId::from("acme"),
            None,
            &[],
            &[busy, gone, fine],
            false,
        );
        assert!(
            t.contains("3 learners known, 2 failing, 1 of them needing attention"),
            "{t}"
        );
        let lines: Vec<&str> = t.lines().filter(|l| l.contains("lrn-")).collect();
        assert_eq!(lines.len(), 2, "{t}");
        assert!(
            lines[0].contains("NEEDS ATTENTION")
                && lines[0].contains("lrn-00003")
                && lines[0].contains("deleted"),
            "{t}"
        );
        assert!(!lines[1].contains("NEEDS ATTENTION"), "{t}");
    }
}
