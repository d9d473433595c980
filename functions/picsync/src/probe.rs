//! `picsync probe`: read-only checks of what `picsync_onefile`'s crate page marks "Assumed",
//! against the configured OneFile environment. Each check says holds, differs or unknown, and
//! why.

use picsync_engine::Tenant;
use picsync_onefile::{ReviewSearch, UserSearch, fields, role};
use serde::Serialize;

use crate::CliError;
use crate::output::Out;

#[derive(Debug, Serialize)]
struct Finding {
    item: String,
    verdict: &'static str,
    evidence: String,
}

fn finding(item: impl Into<String>, verdict: &'static str, evidence: impl Into<String>) -> Finding {
    Finding {
        item: item.into(),
        verdict,
        evidence: evidence.into(),
    }
}

pub async fn run(out: &Out, t: &Tenant) -> Result<u8, CliError> {
    let of = &t.onefile;
    let mut found = Vec::new();
    let customer = of
        .customer()
        .await
        .map_err(picsync_engine::EngineError::from)?;
    let centres = of
        .centres(customer.id)
        .await
        .map_err(picsync_engine::EngineError::from)?;
    let Some(centre) = t.centre.or_else(|| centres.first().map(|c| c.id)) else {
        return Err(CliError::Other(format!(
            "OneFile customer {} has no centre to probe",
            customer.id
        )));
    };

    // The standard's code field.
    let standards = of
        .standards(centre)
        .await
        .map_err(picsync_engine::EngineError::from)?;
    let with_code = standards
        .iter()
        .filter(|s| s.code.as_deref().is_some_and(|c| !c.trim().is_empty()))
        .count();
    found.push(match (standards.len(), with_code) {
        (0, _) => finding(
            format!("standard code field `{}`", fields::STANDARD_CODE),
            "unknown",
            "the centre offers no standards",
        ),
        (n, 0) => finding(
            format!("standard code field `{}`", fields::STANDARD_CODE),
            "differs",
            format!("none of {n} standards carries it"),
        ),
        (n, k) => finding(
            format!("standard code field `{}`", fields::STANDARD_CODE),
            "holds",
            format!("{k} of {n} standards carry it"),
        ),
    });

    // The learning-aim fields, on the aims of a few learners.
    let learners = of
        .search_users(&UserSearch::new(centre, role::LEARNER))
        .await
        .map_err(picsync_engine::EngineError::from)?;
    let mut aims = Vec::new();
    for u in learners.iter().take(20) {
        aims.extend(
            of.learning_aims(u.id)
                .await
                .map_err(picsync_engine::EngineError::from)?,
        );
    }
    let checks: [(&str, usize); 3] = [
        (
            fields::CERTIFICATE_RECEIVED_DATE,
            aims.iter()
                .filter(|a| a.certificate_received_date.is_some())
                .count(),
        ),
        (
            fields::TOTAL_ELEMENTS,
            aims.iter().filter(|a| a.total_elements.is_some()).count(),
        ),
        (
            fields::ELEMENTS_DONE,
            aims.iter().filter(|a| a.elements_done.is_some()).count(),
        ),
    ];
    for (name, n) in checks {
        found.push(if aims.is_empty() {
            finding(
                format!("learning-aim field `{name}`"),
                "unknown",
                "no learning aims among the first 20 learners",
            )
        } else if n > 0 {
            finding(
                format!("learning-aim field `{name}`"),
                "holds",
                format!("set on {n} of {} learning aims", aims.len()),
            )
        } else {
            finding(
                format!("learning-aim field `{name}`"),
                "unknown",
                format!("blank or absent on all {} learning aims read", aims.len()),
            )
        });
    }

    // User/Search with LastModified filters (Seen).
    let future = chrono::Utc::now() + chrono::Duration::days(1);
    let later = of
        .search_users(&UserSearch {
            last_modified: Some(future),
            ..UserSearch::new(centre, role::LEARNER)
        })
        .await
        .map_err(picsync_engine::EngineError::from)?;
    found.push(if learners.is_empty() {
        finding(
            "User/Search filters by LastModified",
            "unknown",
            "the centre has no learners",
        )
    } else if later.is_empty() {
        finding(
            "User/Search filters by LastModified",
            "holds",
            format!("no learner changed after tomorrow, of {}", learners.len()),
        )
    } else {
        finding(
            "User/Search filters by LastModified",
            "differs",
            format!("{} learners returned for a time in the future", later.len()),
        )
    });

    // Reviews carry StartedOn (read-only check on the first learner with reviews).
    let mut reviews = Vec::new();
    for u in learners.iter().take(20) {
        reviews = of
            .search_reviews(&ReviewSearch::for_learner(u.id))
            .await
            .map_err(picsync_engine::EngineError::from)?;
        if !reviews.is_empty() {
            break;
        }
    }
    let started = reviews.iter().filter(|r| r.started_on.is_some()).count();
    found.push(match (reviews.len(), started) {
        (0, _) => finding(
            "review `StartedOn`",
            "unknown",
            "no reviews among the first 20 learners",
        ),
        (n, 0) => finding(
            "review `StartedOn`",
            "unknown",
            format!("blank on all {n} reviews read"),
        ),
        (n, k) => finding(
            "review `StartedOn`",
            "holds",
            format!("set on {k} of {n} reviews"),
        ),
    });

    if out.is_json() {
        println!("{}", serde_json::to_value(&found).unwrap_or_default());
    } else {
        println!(
            "OneFile {} — customer {} centre {centre}: read-only checks of the Assumed items",
            t.settings.environment.name(),
            customer.id
        );
        for f in &found {
            println!("  {:<8} {}: {}", f.verdict, f.item, f.evidence);
        }
    }
    Ok(0)
}
