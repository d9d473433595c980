//! `picsync probe`: read-only checks of what `picsync_onefile`'s crate page marks "Assumed",
//! against the configured OneFile environment. Each check says holds, differs or unknown, and
//! why. It also checks whether the centre-wide review read (issue 16, `review_reads = "centre"`)
//! agrees with per-learner searches.

use picsync_domain::{OfCentreId, OfReviewId, OfUserId};
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

pub(crate) async fn run(out: &Out, t: &Tenant) -> Result<u8, CliError> {
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

    // Issue 16: whether the centre-wide review read can stand in for per-learner searches.
    found.push(centre_reads(of, centre, &learners).await);

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

/// Learners whose per-learner review search is compared with the centre-wide read.
const SAMPLE: usize = 20;

/// Up to `k` learner ids spread evenly over the whole listing (sorted by id), so that learners
/// late in the centre's list, and learners the centre-wide pages left out, are sampled too (a
/// read cut short loses the end of the list; a sample taken from the pages cannot see that).
fn spread(learners: &[picsync_onefile::User], k: usize) -> Vec<OfUserId> {
    let mut ids: Vec<OfUserId> = learners.iter().map(|u| u.id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() <= k {
        return ids;
    }
    (0..k).map(|i| ids[i * (ids.len() - 1) / (k - 1)]).collect()
}

/// Issue 16: reads the centre's reviews with the paged centre-wide search and compares them,
/// for up to [`SAMPLE`] learners spread over the whole listing, with each learner's own
/// search; and reads the reviews scheduled in the periodic runs' detection window, checking
/// that OneFile's `DateFrom`/`DateTo` filter on the scheduled date. `holds`: the pages were
/// consistent, served no review of another centre, agree with every learner sampled, and the
/// window held; then `review_reads = "centre"` is safe for the tenant. `differs` names what
/// did not hold. `unknown`: nothing to compare (no learners or no reviews), or a search
/// failed. Read-only.
async fn centre_reads(
    of: &picsync_onefile::OneFileClient,
    centre: OfCentreId,
    learners: &[picsync_onefile::User],
) -> Finding {
    use std::collections::{BTreeMap, BTreeSet, HashSet};
    const ITEM: &str = "centre-wide review reads (review_reads = \"centre\")";
    if learners.is_empty() {
        return finding(ITEM, "unknown", "the centre has no learners");
    }
    let ids: HashSet<OfUserId> = learners.iter().map(|u| u.id).collect();
    let read = match of.centre_reviews(centre, &ids).await {
        Ok(r) => r,
        Err(e) => {
            return finding(
                ITEM,
                "unknown",
                format!("the centre-wide search failed: {e}"),
            );
        }
    };
    let mut by_learner: BTreeMap<OfUserId, BTreeSet<OfReviewId>> = BTreeMap::new();
    for r in &read.reviews {
        if let Some(l) = r.learner_id {
            by_learner.entry(l).or_default().insert(r.id);
        }
    }
    let sample = spread(learners, SAMPLE);
    let mut problems = Vec::new();
    // the periodic runs' search of recent reviews, in their window
    let window = picsync_engine::recent_review_window(chrono::Utc::now());
    match of
        .centre_reviews_scheduled(centre, &ids, Some(window))
        .await
    {
        Ok(recent) => {
            let outside = recent
                .reviews
                .iter()
                .filter(|r| !picsync_engine::in_window(r.scheduled_for, window))
                .count();
            if outside > 0 {
                problems.push(format!(
                    "the search of reviews scheduled in a window served {outside} scheduled outside it (DateFrom/DateTo do not filter on the scheduled date)"
                ));
            }
        }
        Err(e) => {
            return finding(
                ITEM,
                "unknown",
                format!("the centre-wide search of recent reviews failed: {e}"),
            );
        }
    }
    if !read.paging.consistent() {
        problems.push(format!(
            "the pages repeated {} records and {} pages were longer than asked",
            read.paging.repeated, read.paging.oversized_pages
        ));
    }
    if read.foreign + read.unowned > 0 {
        problems.push(format!(
            "{} reviews served were of learners outside the centre (the OrganisationID filter looks ignored)",
            read.foreign + read.unowned
        ));
    }
    let mut compared = 0;
    for l in &sample {
        let own: BTreeSet<OfReviewId> =
            match of.search_reviews(&ReviewSearch::for_learner(*l)).await {
                Ok(r) => r.iter().map(|r| r.id).collect(),
                Err(e) => {
                    return finding(
                        ITEM,
                        "unknown",
                        format!("the review search of learner {l} failed: {e}"),
                    );
                }
            };
        compared += own.len();
        let wide = by_learner.get(l).cloned().unwrap_or_default();
        if own != wide {
            problems.push(format!(
                "learner {l}: {} reviews by its own search, {} in the centre-wide pages ({} missing, {} extra)",
                own.len(),
                wide.len(),
                own.difference(&wide).count(),
                wide.difference(&own).count()
            ));
        }
    }
    if !problems.is_empty() {
        return finding(ITEM, "differs", problems.join("; "));
    }
    if compared == 0 {
        return finding(
            ITEM,
            "unknown",
            format!(
                "no reviews to compare ({} in the centre-wide pages, none among {} learners sampled)",
                read.reviews.len(),
                sample.len()
            ),
        );
    }
    finding(
        ITEM,
        "holds",
        format!(
            "{} reviews in {} consistent pages; the {compared} reviews of {} learners sampled agree with their own searches",
            read.reviews.len(),
            read.paging.pages,
            sample.len()
        ),
    )
}
