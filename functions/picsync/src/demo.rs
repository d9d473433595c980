//! `picsync demo`: both simulators in-process on 127.0.0.1, seeded with a realistic tenant; an
//! enrolment, an initial sync, edits made as users would on both sides, and a periodic sync,
//! with a readable account of what changed. No config, no network beyond loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use picsync_domain::settings::Direction;
use picsync_domain::{LearnerId, Settings, TenantId};
use picsync_engine::{Engine, EngineError, EnrolRequest, NoProgress, RunOptions, Tenant};
use picsync_onefile::Pacer;
use picsync_sim::world;
use picsync_state::embedded::EmbeddedState;
use picsync_state::secrets::TenantSecrets;
use secrecy::SecretString;

use crate::CliError;
use crate::output;

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Learners in the simulated tenant.
    #[arg(long, default_value_t = 240)]
    learners: usize,
    /// OneFile's one-minute rate window, scaled down so the demo stays short (milliseconds).
    /// OneFile allows 300 calls per window; picsync paces itself at 280.
    #[arg(long, default_value_t = 3000)]
    minute_ms: u64,
}

fn demo_err(e: impl std::fmt::Display) -> CliError {
    CliError::Other(format!("demo: {e}"))
}

pub(crate) async fn run(a: &DemoArgs, json: bool) -> Result<u8, CliError> {
    if a.learners < 10 {
        return Err(CliError::Input(format!(
            "--learners {} is too few for the demo: give at least 10",
            a.learners
        )));
    }
    let window = Duration::from_millis(a.minute_ms.max(100));
    let today = picsync_domain::time::london_date(Utc::now());
    let out = output::Out::new(json);
    let say = |s: &str| {
        if !json {
            println!("{s}");
        }
    };
    let started = Instant::now();
    let sims = world::start(a.learners, today, (300, window))
        .await
        .map_err(demo_err)?;
    say(&format!(
        "picsync demo: simulated PICS at {} and OneFile at {} ({} learners; OneFile's minute scaled to {} ms)",
        sims.pics.base_url(),
        sims.onefile.base_url(),
        a.learners,
        window.as_millis()
    ));

    let settings = Settings {
        integration_enabled: true,
        desktop_integration_disabled: true,
        environment: picsync_domain::settings::Environment::Custom(sims.onefile.base_url()),
        learner_demographics: Direction::Ignore,
        ..Settings::default()
    };
    let pacer = Pacer::new(settings.onefile_calls_per_minute, window);
    let tenant = Tenant::connect(
        TenantId::from("acme"),
        settings,
        &sims.pics.base_url(),
        Some(picsync_domain::OfCentreId(world::CENTRE)),
        &TenantSecrets::new(
            SecretString::from(world::ONEFILE_TOKEN),
            world::PICS_USERNAME,
            SecretString::from(world::PICS_PASSWORD),
        ),
        pacer,
        |_, onefile| onefile.rate_window = window,
    )?;
    let state = Arc::new(EmbeddedState::in_memory().map_err(demo_err)?);
    let engine = Engine::new(state, picsync_engine::system_clock());
    let mut report = serde_json::Map::new();

    // 1. Enrolment.
    say("\n1. Enrolment (SPEC §4)");
    let mut enrolled = Vec::new();
    for id in sims.info.unlinked.iter() {
        let req = EnrolRequest {
            learner: LearnerId::new(id),
            ..Default::default()
        };
        match engine.enrol(&tenant, &req).await {
            Ok(r) => {
                let what = match &r.plan {
                    picsync_domain::enrol::EnrolPlan::Link(_) => {
                        "linked to the OneFile learner holding its MIS value (R14)".to_string()
                    }
                    _ => format!(
                        "created {} records, uploaded {} changes (R6–R15)",
                        r.actions.len(),
                        r.sync.as_ref().map_or(0, |s| s.written)
                    ),
                };
                say(&format!(
                    "   {} → OneFile learner {}: {what}",
                    r.ident,
                    r.onefile_learner.map_or("-".into(), |u| u.to_string())
                ));
                enrolled.push(r.ident.clone());
            }
            Err(EngineError::Enrol { learner, problems }) => {
                say(&format!("   {learner} refused, nothing written:"));
                for p in &problems {
                    say(&format!("     {p}"));
                }
            }
            Err(e) => return Err(e.into()),
        }
        if enrolled.len() >= 4 {
            break;
        }
    }
    report.insert("enrolled".into(), serde_json::json!(enrolled));

    // 2. The initial sync (R43: the first run after enabling is initial by itself).
    say("\n2. Initial synchronisation (R29, R30)");
    let t0 = Instant::now();
    let first = engine
        .run_tenant(&tenant, &RunOptions::default(), &NoProgress)
        .await?;
    say(&output::run_text(&first, t0.elapsed(), false));
    report.insert(
        "initial".into(),
        serde_json::to_value(&first.run).unwrap_or_default(),
    );

    // 3. Users edit both systems.
    say("3. Users edit both systems");
    let edits = edit_as_users(&sims, today);
    for e in &edits {
        say(&format!("   {e}"));
    }

    // 4. The periodic sync.
    say("\n4. Periodic synchronisation (§6: unchanged learners are skipped)");
    let t1 = Instant::now();
    let second = engine
        .run_tenant(&tenant, &RunOptions::default(), &NoProgress)
        .await?;
    say(&output::run_text(&second, t1.elapsed(), false));
    report.insert(
        "periodic".into(),
        serde_json::to_value(&second.run).unwrap_or_default(),
    );

    // 5. A dry run now plans nothing.
    let plan = engine
        .run_tenant(
            &tenant,
            &RunOptions {
                dry_run: true,
                full: true,
                ..Default::default()
            },
            &NoProgress,
        )
        .await?;
    let pending: u64 = plan.run.rule_counts.values().sum();
    if pending == 0 {
        say("5. A full dry run (R38) now finds nothing to change: both systems agree.");
    } else {
        say(&format!(
            "5. A full dry run (R38) still finds {pending} changes to make: {:?}",
            plan.run.rule_counts
        ));
    }
    say(&format!(
        "\nOneFile: {} calls answered, {} rate-limited (429); PICS: {} calls. Done in {:.1} s.",
        sims.onefile.counters().total(),
        sims.onefile.rate_limited(),
        sims.pics.counters().total(),
        started.elapsed().as_secs_f64()
    ));
    report.insert("pending_after".into(), serde_json::json!(pending));
    report.insert(
        "onefile_rate_limited".into(),
        serde_json::json!(sims.onefile.rate_limited()),
    );
    report.insert(
        "seconds".into(),
        serde_json::json!(started.elapsed().as_secs_f64()),
    );
    if json {
        out.line("", &serde_json::Value::Object(report));
    }
    let failed = first.run.failed + second.run.failed;
    Ok(if failed > 0 || pending > 0 { 1 } else { 0 })
}

/// Edits a few records on each side, as people would between two runs.
fn edit_as_users(sims: &world::Running, today: chrono::NaiveDate) -> Vec<String> {
    let mut done = Vec::new();
    let learners: Vec<String> = sims.info.in_scope.iter().take(12).cloned().collect();
    // PICS: a registration number typed in, and a new review booked.
    for (k, id) in learners.iter().enumerate().take(6) {
        let edited = sims.pics.edit(|s| {
            let l = s.learner_mut(id)?;
            if k % 2 == 0 {
                let q = l.qualifications.first_mut()?;
                q.registration_number = Some(format!("PICS-EDIT-{k}"));
                Some(format!(
                    "PICS: {} registration number of {} set to PICS-EDIT-{k}",
                    l.ident, q.qualification_id
                ))
            } else {
                let when = (today + chrono::Duration::days(21)).and_hms_opt(11, 30, 0)?;
                l.reviews.push(picsync_sim::pics::SimReview::normal(
                    format!("{id}-new"),
                    when,
                ));
                Some(format!("PICS: {} new review booked for {when}", l.ident))
            }
        });
        done.extend(edited);
    }
    // OneFile: a review started, and a certificate received.
    for id in learners.iter().skip(6) {
        let Some(uid) = sims.info.onefile_ids.get(id).copied() else {
            continue;
        };
        let edited = sims.onefile.edit(|e| {
            let review = e.store().reviews_of(uid).first().map(|r| r.id)?;
            let aim = e.store().learning_aims_of(uid).first().map(|a| a.id)?;
            let r = e.review(review)?;
            let started = r.scheduled_for.map(|t| t + chrono::Duration::minutes(3));
            r.started_on = started;
            let a = e.learning_aim(aim)?;
            a.certificate_received_date = Some(today);
            Some(format!("OneFile: learner {uid} review {review} started; learning aim {aim} certificate received {today}"))
        });
        done.extend(edited);
    }
    done
}
