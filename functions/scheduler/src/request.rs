//! What the scheduler may be asked, parsed and checked before anything is read or written.
//!
//! A sync (from EventBridge Scheduler or `aws lambda invoke`):
//! `{"tenant": "<id>" | "all", "mode": "initial" | "periodic", "dry_run": false, "learners": [..], "full": false, "if_busy": "fail" | "skip"}`
//! (`mode` left out: initial for the first run after enabling, else periodic, R43; `if_busy`
//! left out: a start that finds the lease held fails, R39, see [`IfBusy`]).
//! A by-hand operation on one tenant, named by `op`:
//! `{"op": "enrol", "tenant": "acme", "learner": "..", "pathways": {"<qualification>": <id>}, "centres": {..}, "dry_run": false}`,
//! `{"op": "link", "tenant": "acme", "learner": "..", "onefile_id": 123, "dry_run": false}`,
//! `{"op": "refresh_aims", "tenant": "acme", "dry_run": false}`,
//! `{"op": "reconcile", "tenant": "<id>" | "all"}` (close runs that stopped reporting; its own
//! schedule runs it every 10 minutes).
//! Anything else is refused with an error naming the problem.

use std::collections::{BTreeMap, BTreeSet};

use picsync_aws::config::tenant_id;
use picsync_domain::enrol::EnrolChoices;
use picsync_domain::{
    LearnerId, Mode, OfCentreId, OfPathwayId, OfUserId, QualificationId, TenantId,
};
use serde::Deserialize;

/// Learners one refresh may name.
pub const MAX_LEARNERS: usize = 1000;

/// Which tenants a sync covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    One(TenantId),
    /// Every tenant of `PICSYNC_TENANTS`.
    All,
}

/// R39: what a sync start does when another run of the tenant holds its lease.
///
/// **Decision**: by hand (the default) the start is refused with an error that names the run
/// holding the lease. A schedule that fires every 15 minutes meets the nightly full sweep (or
/// a long initial sync) still running as a matter of course: its input says `"if_busy":
/// "skip"`, and that tenant is then reported as skipped (a `LeaseRefused` metric and an info
/// line), not as a failed invocation that would page somebody. Nothing runs twice either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IfBusy {
    #[default]
    Fail,
    Skip,
}

/// A checked request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Sync {
        target: Target,
        mode: Option<Mode>,
        dry_run: bool,
        learners: Vec<LearnerId>,
        full: bool,
        /// R39: what a start that finds the tenant's lease held does.
        if_busy: IfBusy,
    },
    Enrol {
        tenant: TenantId,
        learner: LearnerId,
        choices: EnrolChoices,
        dry_run: bool,
    },
    Link {
        tenant: TenantId,
        learner: LearnerId,
        onefile: OfUserId,
        dry_run: bool,
    },
    RefreshAims {
        tenant: TenantId,
        dry_run: bool,
    },
    /// Close the runs that stopped reporting (abandoned), freeing their leases.
    Reconcile {
        target: Target,
    },
}

impl Request {
    /// The tenant named, for logs ("all" for every tenant).
    pub fn tenant(&self) -> &str {
        match self {
            Request::Sync {
                target: Target::All,
                ..
            }
            | Request::Reconcile {
                target: Target::All,
            } => "all",
            Request::Sync {
                target: Target::One(t),
                ..
            }
            | Request::Reconcile {
                target: Target::One(t),
            }
            | Request::Enrol { tenant: t, .. }
            | Request::Link { tenant: t, .. }
            | Request::RefreshAims { tenant: t, .. } => t.as_str(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncBody {
    tenant: String,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    learners: Vec<String>,
    #[serde(default)]
    full: bool,
    #[serde(default)]
    if_busy: IfBusy,
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum OpBody {
    Enrol {
        tenant: String,
        learner: String,
        #[serde(default)]
        pathways: BTreeMap<String, i64>,
        #[serde(default)]
        centres: BTreeMap<String, i64>,
        #[serde(default)]
        dry_run: bool,
    },
    Link {
        tenant: String,
        learner: String,
        onefile_id: i64,
        #[serde(default)]
        dry_run: bool,
    },
    RefreshAims {
        tenant: String,
        #[serde(default)]
        dry_run: bool,
    },
    Reconcile {
        tenant: String,
    },
}

/// Reads `T` from the payload; the error names the field at fault.
fn read<T: serde::de::DeserializeOwned>(payload: &serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(payload).map_err(|e| {
        let path = e.path().to_string();
        if path.is_empty() || path == "." {
            e.inner().to_string()
        } else {
            format!("`{path}`: {}", e.inner())
        }
    })
}

fn learner(raw: &str, field: &str) -> Result<LearnerId, String> {
    let l = raw.trim();
    if l.is_empty() {
        return Err(format!("`{field}` has an empty learner id"));
    }
    if l.len() > 100 || l.chars().any(char::is_control) {
        return Err(format!(
            "`{field}` has the learner id {l:?}, which is not a PICS learner id"
        ));
    }
    Ok(LearnerId::new(l))
}

fn positive(id: i64, what: &str) -> Result<i64, String> {
    if id > 0 {
        Ok(id)
    } else {
        Err(format!(
            "`{what}` is {id}; a OneFile id is a positive number"
        ))
    }
}

fn one_tenant(raw: &str) -> Result<TenantId, String> {
    tenant_id(raw).map_err(|e| format!("`tenant`: {e}"))
}

fn choices(
    pathways: BTreeMap<String, i64>,
    centres: BTreeMap<String, i64>,
) -> Result<EnrolChoices, String> {
    let mut c = EnrolChoices::default();
    for (q, p) in pathways {
        c.pathways.insert(
            QualificationId::new(q.trim()),
            OfPathwayId(positive(p, &format!("pathways.{q}"))?),
        );
    }
    for (q, id) in centres {
        c.centres.insert(
            QualificationId::new(q.trim()),
            OfCentreId(positive(id, &format!("centres.{q}"))?),
        );
    }
    Ok(c)
}

/// Parses and checks an invocation payload.
pub fn parse(payload: &serde_json::Value) -> Result<Request, String> {
    let Some(obj) = payload.as_object() else {
        return Err(format!(
            "the payload is {}, not a JSON object such as {{\"tenant\": \"acme\", \"mode\": \"initial\"}}",
            kind(payload)
        ));
    };
    if obj.contains_key("op") {
        return match read::<OpBody>(payload)? {
            OpBody::Enrol {
                tenant,
                learner: l,
                pathways,
                centres,
                dry_run,
            } => Ok(Request::Enrol {
                tenant: one_tenant(&tenant)?,
                learner: learner(&l, "learner")?,
                choices: choices(pathways, centres)?,
                dry_run,
            }),
            OpBody::Link {
                tenant,
                learner: l,
                onefile_id,
                dry_run,
            } => Ok(Request::Link {
                tenant: one_tenant(&tenant)?,
                learner: learner(&l, "learner")?,
                onefile: OfUserId(positive(onefile_id, "onefile_id")?),
                dry_run,
            }),
            OpBody::RefreshAims { tenant, dry_run } => Ok(Request::RefreshAims {
                tenant: one_tenant(&tenant)?,
                dry_run,
            }),
            OpBody::Reconcile { tenant } => Ok(Request::Reconcile {
                target: if tenant.trim() == "all" {
                    Target::All
                } else {
                    Target::One(one_tenant(&tenant)?)
                },
            }),
        };
    }
    let body: SyncBody = read(payload)?;
    let target = if body.tenant.trim() == "all" {
        Target::All
    } else {
        Target::One(one_tenant(&body.tenant)?)
    };
    if body.learners.len() > MAX_LEARNERS {
        return Err(format!(
            "`learners` names {} learners; at most {MAX_LEARNERS} may be refreshed at once (leave it out to sync every learner)",
            body.learners.len()
        ));
    }
    let mut learners = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, l) in body.learners.iter().enumerate() {
        let id = learner(l, &format!("learners[{i}]"))?;
        if !seen.insert(id.clone()) {
            return Err(format!("`learners[{i}]`: learner {id} is named twice"));
        }
        learners.push(id);
    }
    if target == Target::All && !learners.is_empty() {
        return Err(
            "`learners` names learners of one tenant: give that tenant, not \"all\"".into(),
        );
    }
    Ok(Request::Sync {
        target,
        mode: body.mode,
        dry_run: body.dry_run,
        learners,
        full: body.full,
        if_busy: body.if_busy,
    })
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn syncs_parse() {
        assert_eq!(
            parse(&json!({"tenant": "acme", "mode": "initial", "dry_run": false})).unwrap(),
            Request::Sync {
                target: Target::One(TenantId::from("acme")),
                mode: Some(Mode::Initial),
                dry_run: false,
                learners: vec![],
                full: false,
                if_busy: IfBusy::Fail,
            }
        );
        // R43: no mode, the engine decides
        assert!(matches!(
            parse(&json!({"tenant": "all"})).unwrap(),
            Request::Sync {
                target: Target::All,
                mode: None,
                ..
            }
        ));
        assert!(matches!(
            parse(&json!({"tenant": "acme", "learners": ["lrn-1", " lrn-2 "]})).unwrap(),
            Request::Sync { learners, .. } if learners == vec![LearnerId::from("lrn-1"), LearnerId::from("lrn-2")]
        ));
        // R39: the 15-minute schedule skips a tenant whose run is still going
        assert!(matches!(
            parse(&json!({"tenant": "all", "if_busy": "skip"})).unwrap(),
            Request::Sync {
                if_busy: IfBusy::Skip,
                ..
            }
        ));
        let e = parse(&json!({"tenant": "all", "if_busy": "wait"})).unwrap_err();
        assert!(e.contains("if_busy") || e.contains("wait"), "{e}");
    }

    #[test]
    fn operations_parse() {
        let r = parse(
            &json!({"op": "enrol", "tenant": "acme", "learner": "lrn-9", "pathways": {"Q1": 51}}),
        )
        .unwrap();
        assert!(matches!(r, Request::Enrol { ref choices, .. } if choices.pathways.len() == 1));
        assert!(matches!(
            parse(&json!({"op": "link", "tenant": "acme", "learner": "lrn-9", "onefile_id": 77, "dry_run": true})).unwrap(),
            Request::Link { onefile: OfUserId(77), dry_run: true, .. }
        ));
        assert!(matches!(
            parse(&json!({"op": "refresh_aims", "tenant": "acme"})).unwrap(),
            Request::RefreshAims { .. }
        ));
    }

    #[test]
    fn everything_else_is_refused_naming_the_problem() {
        let cases = [
            (json!("sync acme"), "not a JSON object"),
            (json!({}), "missing field `tenant`"),
            (json!({"tenant": "acme", "mode": "weekly"}), "`mode`"),
            (
                json!({"tenant": "acme", "dryrun": true}),
                "unknown field `dryrun`",
            ),
            (json!({"tenant": "acme", "dry_run": "yes"}), "`dry_run`"),
            (json!({"tenant": "ac/me"}), "`tenant`"),
            (json!({"tenant": ""}), "`tenant`"),
            (
                json!({"tenant": "all", "learners": ["lrn-1"]}),
                "not \"all\"",
            ),
            (
                json!({"tenant": "acme", "learners": ["lrn-1", "lrn-1"]}),
                "named twice",
            ),
            (json!({"tenant": "acme", "learners": [""]}), "learners[0]"),
            (json!({"tenant": "acme", "learners": "lrn-1"}), "`learners`"),
            (
                json!({"op": "delete", "tenant": "acme"}),
                "unknown variant `delete`",
            ),
            (
                json!({"op": "link", "tenant": "acme", "learner": "l"}),
                "missing field `onefile_id`",
            ),
            (
                json!({"op": "link", "tenant": "acme", "learner": "l", "onefile_id": -3}),
                "onefile_id",
            ),
            (
                json!({"op": "link", "tenant": "all", "learner": "l", "onefile_id": 3}),
                "every tenant",
            ),
            (
                json!({"op": "refresh_aims", "tenant": "acme", "mode": "initial"}),
                "unknown field `mode`",
            ),
            (
                json!({"op": "enrol", "tenant": "acme", "learner": "l", "pathways": {"Q1": 0}}),
                "pathways.Q1",
            ),
        ];
        for (payload, expected) in cases {
            let e = parse(&payload).expect_err(&payload.to_string());
            assert!(e.contains(expected), "{payload}: {e}");
        }
    }

    #[test]
    fn every_schedule_input_of_the_template_parses() {
        // infra/template.yaml's schedules invoke the scheduler with these payloads: each must
        // be a request this parser accepts (a typo would fail every scheduled run)
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
        let template = std::fs::read_to_string(path).unwrap();
        let inputs: Vec<&str> = template
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Input: '"))
            .map(|l| l.trim_end_matches('\''))
            .collect();
        assert!(
            inputs.len() >= 3,
            "periodic, nightly sweep, reconcile: {inputs:?}"
        );
        for input in inputs {
            let v: serde_json::Value = serde_json::from_str(input).unwrap();
            parse(&v).unwrap_or_else(|e| panic!("{input}: {e}"));
        }
    }
}
