//! The SAM template's IAM is least privilege (issue: security): no wildcard action anywhere, no
//! wildcard resource on the table, the queues or the secrets (secrets only under `picsync/`),
//! every statement names its resource. Reads `infra/template.yaml` as text, statement by
//! statement, so that it needs no CloudFormation-aware YAML parser.

use std::path::PathBuf;

#[derive(Debug, Default, Clone)]
struct Statement {
    line: usize,
    actions: Vec<String>,
    resources: Vec<String>,
}

fn template() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Splits the policy statements out of the template: a statement starts at `- Sid:` or
/// `- Effect:` and holds `Action:`/`Resource:` keys (inline lists or `- item` lines).
fn statements(t: &str) -> Vec<Statement> {
    let mut out: Vec<Statement> = Vec::new();
    let mut key: Option<(&str, usize)> = None;
    for (n, raw) in t.lines().enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with("- Sid:") || trimmed.starts_with("- Effect:") {
            out.push(Statement {
                line: n + 1,
                ..Default::default()
            });
            key = None;
        }
        let Some(cur) = out.last_mut() else { continue };
        let body = trimmed.trim_start_matches("- ");
        for (name, which) in [
            ("Action:", "a"),
            ("Resource:", "r"),
            ("NotAction:", "a"),
            ("NotResource:", "r"),
        ] {
            if let Some(v) = body.strip_prefix(name) {
                key = Some((which, indent));
                let v = v.trim();
                if !v.is_empty() {
                    let items: Vec<String> = v
                        .trim_matches(['[', ']'])
                        .split(',')
                        .map(|x| x.trim().trim_matches(['"', '\'']).to_string())
                        .collect();
                    if which == "a" {
                        cur.actions.extend(items);
                    } else {
                        cur.resources.extend(items);
                    }
                    key = None;
                }
            }
        }
        if let Some((which, at)) = key {
            match trimmed.strip_prefix("- ") {
                // a list item under Action:/Resource: (a new statement starts with "- Sid:"/"- Effect:")
                Some(item)
                    if indent >= at
                        && !item.starts_with("Sid:")
                        && !item.starts_with("Effect:") =>
                {
                    let item = item.trim().trim_matches(['"', '\'']).to_string();
                    if which == "a" {
                        cur.actions.push(item);
                    } else {
                        cur.resources.push(item);
                    }
                }
                _ if !trimmed.starts_with("Action:") && !trimmed.starts_with("Resource:") => {
                    key = None;
                }
                _ => {}
            }
        }
    }
    out
}

/// What is wrong with the template's IAM, one line per finding.
fn findings(t: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for s in statements(t) {
        if s.actions.iter().any(|a| a == "sts:AssumeRole") {
            continue; // trust policy
        }
        if s.actions.is_empty() || s.resources.is_empty() {
            bad.push(format!(
                "line {}: a statement without Action or Resource: {s:?}",
                s.line
            ));
        }
        for a in &s.actions {
            if a.contains('*') {
                bad.push(format!("line {}: wildcard action {a}", s.line));
            }
        }
        for r in &s.resources {
            let r_clean = r
                .trim_start_matches("!Sub ")
                .trim_start_matches("!GetAtt ")
                .trim_start_matches("!Ref ");
            if r_clean == "*" {
                bad.push(format!("line {}: wildcard resource", s.line));
            } else if r_clean.contains('*')
                && !r_clean.ends_with(":secret:picsync/*")
                && !r_clean.contains("log-group")
            {
                bad.push(format!("line {}: wildcard in resource {r}", s.line));
            }
        }
        let touches = |p: &str| s.actions.iter().any(|a| a.starts_with(p));
        if touches("dynamodb:") && !s.resources.iter().all(|r| r.contains("StateTable")) {
            bad.push(format!(
                "line {}: table actions on {:?}",
                s.line, s.resources
            ));
        }
        if touches("sqs:") && !s.resources.iter().all(|r| r.contains("Queue")) {
            bad.push(format!(
                "line {}: queue actions on {:?}",
                s.line, s.resources
            ));
        }
        if touches("secretsmanager:")
            && !s.resources.iter().all(|r| r.ends_with(":secret:picsync/*"))
        {
            bad.push(format!(
                "line {}: secret actions on {:?}",
                s.line, s.resources
            ));
        }
    }
    bad
}

#[test]
fn template_iam_is_least_privilege() {
    let t = template();
    let st = statements(&t);
    assert!(
        st.len() >= 8,
        "the template's policy statements were found: {st:#?}"
    );
    assert!(
        st.iter()
            .any(|s| s.actions.iter().any(|a| a.starts_with("dynamodb:"))),
        "{st:#?}"
    );
    let bad = findings(&t);
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn the_check_catches_wildcards() {
    let t = template();
    for (from, to) in [
        ("dynamodb:GetItem", "dynamodb:*"),
        ("Resource: !GetAtt StateTable.Arn", "Resource: \"*\""),
        ("secret:picsync/*", "secret:*"),
        ("Action: sqs:SendMessage", "Action: sqs:*"),
    ] {
        assert!(t.contains(from), "{from}");
        let broken = t.replacen(from, to, 1);
        assert!(
            !findings(&broken).is_empty(),
            "a template with {to} passes the check"
        );
    }
}
