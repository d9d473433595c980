//! Bad input, table-driven: settings, task messages (SQS bodies) and API responses. Each case
//! gets a clear error that names the problem, and nothing is written. (Configuration files are
//! covered through the binary in functions/picsync/tests/cli.rs; scheduler payloads with the
//! scheduler function.)

use crate::common::*;

use picsync_domain::{LearnerId, Settings};
use picsync_engine::{LearnerTask, NoProgress, RunOptions};
use serde_json::json;

#[test]
fn bad_settings_are_refused_naming_the_key() {
    // (TOML text, a fragment the error must contain)
    let cases: &[(&str, &str)] = &[
        ("upload_review = true", "upload_review"),
        ("integration_enabled = \"yes\"", "integration_enabled"),
        ("integration_enabled = true", "desktop_integration_disabled"),
        ("onefile_calls_per_minute = 0", "onefile_calls_per_minute"),
        ("onefile_calls_per_minute = 301", "onefile_calls_per_minute"),
        ("onefile_calls_per_minute = -5", "onefile_calls_per_minute"),
        (
            "onefile_calls_per_minute = \"fast\"",
            "onefile_calls_per_minute",
        ),
        ("learner_demographics = \"both\"", "both"),
        ("officer_demographics = 1", "officer_demographics"),
        ("organisation_demographics = \"PUSH!\"", "PUSH!"),
        ("visit_type = \"video\"", "video"),
        ("visit_type_ids = { video = 3 }", "video"),
        (
            "visit_type = \"face_to_face\"\nvisit_type_ids = { not_specified = 0 }",
            "visit_type_ids",
        ),
        ("environment = \"staging\"", "staging"),
        ("environment = \"http://onefile.example.com/api\"", "https"),
        ("environment = \"ftp://x\"", "ftp://x"),
        ("environment = \"https://\"", "no host"),
        (
            "additional_assessor_roles = \"IQA\"",
            "additional_assessor_roles",
        ),
        ("full_sweep_hours = 0", "full_sweep_hours"),
        ("full_sweep_hours = 1.5", "full_sweep_hours"),
        (
            "push_new_qualifications = [true]",
            "push_new_qualifications",
        ),
        ("classroom_from_main_tag = ", "line 1"),
        ("upload_reviews = true\nupload_reviews = false", "line 2"),
    ];
    for (text, fragment) in cases {
        let e = Settings::from_toml(text).expect_err(text).to_string();
        assert!(
            e.contains(fragment),
            "settings {text:?}: error {e:?} does not name {fragment:?}"
        );
    }
    // the same refusals in JSON
    let json_cases: &[(&str, &str)] = &[
        (r#"{"upload_review": true}"#, "upload_review"),
        (
            r#"{"onefile_calls_per_minute": 1000}"#,
            "onefile_calls_per_minute",
        ),
        (r#"{"environment": 5}"#, "environment"),
        (r#"{"visit_type": null}"#, "visit_type"),
        (r#"[1, 2]"#, "expected"),
        (r#"{"integration_enabled": true}"#, "R42"),
    ];
    for (text, fragment) in json_cases {
        let e = Settings::from_json(text).expect_err(text).to_string();
        assert!(
            e.contains(fragment),
            "settings {text}: error {e:?} does not name {fragment:?}"
        );
    }
}

#[test]
fn bad_task_messages_are_refused_naming_the_field() {
    let good = json!({"tenant": "acme", "run_id": "r1", "learner": "lrn-1", "mode": "periodic"});
    assert!(serde_json::from_value::<LearnerTask>(good).is_ok());
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (
            json!({"run_id": "r1", "learner": "lrn-1", "mode": "periodic"}),
            "tenant",
        ),
        (
            json!({"tenant": "acme", "learner": "lrn-1", "mode": "periodic"}),
            "run_id",
        ),
        (
            json!({"tenant": "acme", "run_id": "r1", "mode": "periodic"}),
            "learner",
        ),
        (
            json!({"tenant": "acme", "run_id": "r1", "learner": "lrn-1"}),
            "mode",
        ),
        (
            json!({"tenant": "acme", "run_id": "r1", "learner": "lrn-1", "mode": "sometimes"}),
            "sometimes",
        ),
        (
            json!({"tenant": "acme", "run_id": "r1", "learner": "lrn-1", "mode": "periodic", "extra": 1}),
            "extra",
        ),
        (
            json!({"tenant": 7, "run_id": "r1", "learner": "lrn-1", "mode": "periodic"}),
            "tenant",
        ),
        (
            json!({"tenant": "acme", "run_id": "r1", "learner": ["lrn-1"], "mode": "periodic"}),
            "learner",
        ),
        (
            json!({"tenant": "acme", "run_id": "r1", "learner": "lrn-1", "mode": "periodic", "dry_run": "no"}),
            "dry_run",
        ),
        (
            json!({"tenant": "acme", "run_id": "r1", "learner": "lrn-1", "mode": "periodic", "onefile_user": {"id": "x"}}),
            "onefile_user",
        ),
        (json!("acme"), "expected"),
        (json!(null), "expected"),
    ];
    for (body, fragment) in cases {
        let e = serde_json::from_value::<LearnerTask>(body.clone())
            .expect_err(&body.to_string())
            .to_string();
        let e2 = picsync_engine::parse_task(&body.to_string())
            .expect_err(&body.to_string())
            .to_string();
        assert!(
            e.contains(fragment) || e2.contains(fragment),
            "task {body}: error {e2:?} does not name {fragment:?}"
        );
        assert!(
            e2.contains("task"),
            "the error says what was being read: {e2}"
        );
    }
    let e = picsync_engine::parse_task("{not json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("task"), "{e}");
}

/// A OneFile answer with a bad value fails that learner with an error naming the call and the
/// field; nothing is written for it, the other learners sync, and the next run succeeds once
/// OneFile answers well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_api_answers_fail_only_their_learner_naming_the_field() {
    // (field, bad value)
    let cases: Vec<(&str, serde_json::Value)> = vec![
        ("RegistrationDate", json!("31/05/2024")),
        ("CertificateAppliedDate", json!("not a date")),
        ("TotalElements", json!("forty")),
        ("ElementsDone", json!({"n": 1})),
        ("StandardID", json!([1])),
        ("ID", json!("abc")),
        ("StartDate", json!("2024-13-45")),
        ("CertificateReceivedDate", json!(true)),
        // B4: years at the edge of chrono's range panicked; outside 1900–2200 is malformed
        ("RegistrationDate", json!("-262143-01-01T00:00:00Z")),
        (
            "CertificateAppliedDate",
            json!("-262143-01-01T00:00:00+01:00"),
        ),
        ("CertificateReceivedDate", json!("1850-06-01T00:00:00Z")),
    ];
    for (field, value) in cases {
        let env = env(6).await;
        let target = env.sims.info.in_scope[0].clone();
        let uid = env.sims.info.onefile_ids[&target];
        let aim = env.sims.onefile.read(|s| s.learning_aims_of(uid)[0].id);
        env.sims
            .onefile
            .edit(|e| e.raw().override_field(aim, field, value.clone()));
        let before = env.sims.pics.learner(&target).unwrap();
        let run = env
            .engine
            .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
            .await
            .unwrap();
        let failed: Vec<_> = run
            .run
            .failures
            .iter()
            .filter(|f| f.learner == LearnerId::new(&target))
            .collect();
        assert_eq!(
            failed.len(),
            1,
            "{field}={value}: the learner fails: {:?}",
            run.run.failures
        );
        let reason = &failed[0].reason;
        assert!(
            reason.contains(field) || (field == "ID" && reason.contains("ID")),
            "{field}={value}: {reason}"
        );
        assert!(
            reason.to_lowercase().contains("learningaim"),
            "{field}: the call is named: {reason}"
        );
        assert_eq!(
            env.sims.pics.learner(&target).unwrap(),
            before,
            "{field}: nothing written for the learner"
        );
        assert!(run.run.done >= 1, "the other learners synced");
        // OneFile answers well again: the next run syncs the learner
        env.sims.onefile.edit(|e| {
            e.raw().overrides.remove(&aim);
        });
        let again = env
            .engine
            .run_tenant(&env.tenant, &RunOptions::default(), &NoProgress)
            .await
            .unwrap();
        assert_eq!(again.run.failed, 0, "{field}: {:?}", again.run.failures);
    }
}
