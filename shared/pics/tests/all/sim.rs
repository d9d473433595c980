//! The PICS simulator's own behaviours, over raw HTTP (no client in between).

use std::time::{Duration, Instant};

use crate::common::*;
use picsync_domain::DemographicField;
use picsync_sim::pics::{SimLearner, SimQualification, SimReview};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Raw {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Raw {
    async fn new(sim: &picsync_sim::pics::PicsSim) -> Raw {
        let http = reqwest::Client::new();
        let base = sim.base_url();
        let v: Value = http
            .post(format!("{base}/Authentication"))
            .json(&json!({"Username": USER, "Password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(v["ExpiresUtc"].as_str().unwrap().ends_with('Z'));
        Raw {
            http,
            base,
            token: v["Token"].as_str().unwrap().to_string(),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        if_match: Option<&str>,
        body: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(v) = if_match {
            rb = rb.header("If-Match", v);
        }
        if let Some(b) = body {
            rb = rb
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let r = rb.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, headers, v)
    }
}

fn rv(sim: &picsync_sim::pics::PicsSim) -> String {
    sim.learner("L-00001").unwrap().row_version
}

#[tokio::test]
async fn sim_writes_under_a_learner_require_if_match() {
    let sim = full_builder().start().await.unwrap();
    let raw = Raw::new(&sim).await;
    let (s, _, v) = raw
        .call(
            Method::PATCH,
            "/Learners/L-00001",
            None,
            Some(r#"{"Sex": "M"}"#),
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_REQUIRED);
    assert!(v["Message"].as_str().unwrap().contains("If-Match"));
    let (s, _, _) = raw
        .call(Method::POST, "/Learners/L-00001/Reviews", None, Some("{}"))
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(sim.learner("L-00001").unwrap().demographics.sex, None);
}

#[tokio::test]
async fn sim_r41_stale_if_match_is_412_and_fresh_one_answers_the_new_row_version() {
    let sim = full_builder().start().await.unwrap();
    let raw = Raw::new(&sim).await;
    let old = rv(&sim);
    let (s, _, _) = raw
        .call(
            Method::PATCH,
            "/Learners/L-00001",
            Some("0000000000000001"),
            Some(r#"{"Sex": "M"}"#),
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    // quoted entity-tags are accepted too
    let quoted = format!("\"{old}\"");
    let (s, h, v) = raw
        .call(
            Method::PATCH,
            "/Learners/L-00001",
            Some(&quoted),
            Some(r#"{"Sex": "M"}"#),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let new = v["RowVersion"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(new, rv(&sim));
    assert_eq!(h["etag"].to_str().unwrap(), format!("\"{new}\""));
    // the old RowVersion is stale now
    let (s, _, _) = raw
        .call(
            Method::PATCH,
            "/Learners/L-00001",
            Some(&old),
            Some(r#"{"Sex": "F"}"#),
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        sim.learner("L-00001").unwrap().demographics.sex.as_deref(),
        Some("M")
    );
}

#[tokio::test]
async fn sim_a_write_that_changes_nothing_keeps_the_row_version() {
    let sim = full_builder().start().await.unwrap();
    let raw = Raw::new(&sim).await;
    let old = rv(&sim);
    let (s, _, v) = raw
        .call(
            Method::PATCH,
            "/Learners/L-00001",
            Some(&old),
            Some(r#"{"FirstName": "First1"}"#),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["RowVersion"], json!(old));
}

#[tokio::test]
async fn sim_bad_input_is_400_with_a_message_and_changes_nothing() {
    let sim = full_builder().start().await.unwrap();
    let raw = Raw::new(&sim).await;
    let before = sim.state();
    let r = rv(&sim);
    for (method, path, body) in [
        (Method::PATCH, "/Learners/L-00001", "{not json"),
        (Method::PATCH, "/Learners/L-00001", "[1, 2]"),
        (Method::PATCH, "/Learners/L-00001", r#"{"oneFileId": 5}"#),
        (Method::PATCH, "/Learners/L-00001", r#"{"RowVersion": "x"}"#),
        (
            Method::PATCH,
            "/Learners/L-00001",
            r#"{"Email": "a@b", "OneFileId": "5"}"#,
        ),
        (
            Method::PATCH,
            "/Learners/L-00001",
            r#"{"DateOfBirth": "03/02/2001"}"#,
        ),
        (
            Method::PATCH,
            "/Learners/L-00001/Qualifications/Q-1",
            r#"{"ElementsDone": -3}"#,
        ),
        (
            Method::POST,
            "/Learners/L-00001/Reviews",
            r#"{"ReviewId": "mine"}"#,
        ),
        (
            Method::POST,
            "/Learners/L-00001/Reviews",
            r#"{"ProposedDateTime": "2024-06-01T10:00:00Z"}"#,
        ),
        (
            Method::POST,
            "/Learners/L-00001/Reviews",
            r#"{"ReviewerOfficerId": "O-nobody"}"#,
        ),
        (Method::PATCH, "/Officers/O-1", r#"{"Ident": "X"}"#),
        (Method::PATCH, "/Organisations/G-1", r#"{"Name": 5}"#),
    ] {
        let (s, _, v) = raw.call(method.clone(), path, Some(&r), Some(body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{method} {path} {body}");
        assert!(v["Message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    for q in [
        "page=0",
        "pageSize=x",
        "oneFileLinked=maybe",
        "modifiedSince=yesterday",
    ] {
        let (s, _, v) = raw
            .call(Method::GET, &format!("/Learners?{q}"), None, None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
        assert!(v["Message"].is_string());
    }
    assert_eq!(sim.state(), before);
}

#[tokio::test]
async fn sim_routes_ignore_case_and_trailing_slashes_and_count_per_template() {
    let sim = full_builder().start().await.unwrap();
    let raw = Raw::new(&sim).await;
    let (s, _, v) = raw
        .call(Method::GET, "/LEARNERS/L-00001/", None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["LearnerId"], "L-00001");
    assert_eq!(v["Qualifications"][0]["VqReference"], "ST0123");
    assert_eq!(v["Placements"][0]["Type"], "P");
    raw.call(Method::GET, "/learners/L-00001", None, None).await;
    raw.call(Method::GET, "/learners?PAGESIZE=1&Page=1", None, None)
        .await;
    assert_eq!(sim.counters().get("GET /learners/{id}"), 2);
    assert_eq!(sim.counters().get("GET /learners"), 1);
    assert_eq!(sim.counters().get("POST /authentication"), 1);
    let (s, _, _) = raw
        .call(Method::DELETE, "/Learners/L-00001", None, None)
        .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let (s, _, _) = raw.call(Method::GET, "/Nowhere", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, v) = raw
        .call(Method::GET, "/Learners/L-nobody", None, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v["Message"].as_str().unwrap().contains("L-nobody"));
}

#[tokio::test]
async fn sim_unknown_or_missing_tokens_are_401() {
    let sim = full_builder().start().await.unwrap();
    let raw = Raw::new(&sim).await;
    let r = reqwest::get(format!("{}/Learners", sim.base_url()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    sim.expire_tokens();
    let (s, _, _) = raw.call(Method::GET, "/Learners", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(sim.unauthorized(), 2);
    let r = raw
        .http
        .post(format!("{}/Authentication", sim.base_url()))
        .json(&json!({"Username": USER, "Password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = raw
        .http
        .post(format!("{}/Authentication", sim.base_url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sim_tokens_expire_after_their_lifetime() {
    let sim = full_builder()
        .token_lifetime(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let raw = Raw::new(&sim).await;
    let (s, _, _) = raw.call(Method::GET, "/Learners", None, None).await;
    assert_eq!(s, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (s, _, _) = raw.call(Method::GET, "/Learners", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sim_edits_bump_row_version_and_last_modified_and_hooks_queue_per_write() {
    let sim = full_builder().start().await.unwrap();
    let raw = Raw::new(&sim).await;
    let l0 = sim.learner("L-00001").unwrap();
    sim.edit(|s| {
        s.learner_mut("L-00001").unwrap().reviews[0].attended_value = Some("Cancelled".into());
    });
    let l1 = sim.learner("L-00001").unwrap();
    assert_ne!(l1.row_version, l0.row_version);
    assert!(l1.last_modified > l0.last_modified);
    // an edit that touches nothing stamps nothing
    sim.edit(|s| {
        let _ = s.learner_mut("L-00001");
    });
    assert_eq!(sim.learner("L-00001").unwrap(), l1);
    // two hooks: one per write
    sim.before_next_write("L-00001", |s| {
        s.learner_mut("L-00001").unwrap().demographics.mobile = Some("1".into());
    });
    sim.before_next_write("L-00001", |s| {
        s.learner_mut("L-00001").unwrap().demographics.mobile = Some("2".into());
    });
    assert_eq!(sim.pending_hooks("L-00001"), 2);
    let (s, _, _) = raw
        .call(
            Method::PATCH,
            "/Learners/L-00001",
            Some(&l1.row_version),
            Some("{}"),
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    let (s, _, _) = raw
        .call(
            Method::PATCH,
            "/Learners/L-00001",
            Some(&rv(&sim)),
            Some("{}"),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::PRECONDITION_FAILED,
        "the second hook fires on the second write"
    );
    assert_eq!(sim.pending_hooks("L-00001"), 0);
    let (s, _, _) = raw
        .call(
            Method::PATCH,
            "/Learners/L-00001",
            Some(&rv(&sim)),
            Some("{}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        sim.learner("L-00001")
            .unwrap()
            .demographics
            .mobile
            .as_deref(),
        Some("2")
    );
}

#[tokio::test]
async fn sim_review_creation_answers_a_new_id_and_row_version() {
    let sim = full_builder().start().await.unwrap();
    let raw = Raw::new(&sim).await;
    let (s, h, v) = raw
        .call(
            Method::POST,
            "/Learners/L-00001/Reviews",
            Some(&rv(&sim)),
            Some(r#"{"Type": "Normal", "ProposedDateTime": "2024-09-01T09:30:00", "OneFileSystemId": 12}"#),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = v["ReviewId"].as_str().unwrap();
    assert_eq!(id.len(), 36, "GUID-like: {id}");
    assert_eq!(v["RowVersion"], json!(rv(&sim)));
    assert!(h.contains_key("etag"));
    let held = sim.learner("L-00001").unwrap();
    assert_eq!(held.review(id).unwrap().one_file_system_id, Some(12));
    // a second review holding OneFile review 12 is a duplicate
    let (s, _, v) = raw
        .call(
            Method::POST,
            "/Learners/L-00001/Reviews",
            Some(&rv(&sim)),
            Some(r#"{"OneFileSystemId": 12}"#),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(v["Message"].as_str().unwrap().contains(id));
}

#[tokio::test]
async fn sim_truncated_and_reset_faults_apply_the_write_and_break_its_answer() {
    let sim = full_builder().start().await.unwrap();
    let raw = Raw::new(&sim).await;
    use picsync_sim::faults::Fault;
    sim.faults()
        .script("PATCH /learners/{id}", [Fault::Truncated]);
    let old = rv(&sim);
    let r = raw
        .http
        .patch(format!("{}/Learners/L-00001", sim.base_url()))
        .bearer_auth(&raw.token)
        .header("If-Match", &old)
        .body(r#"{"Sex": "X"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());
    assert_eq!(
        sim.learner("L-00001").unwrap().demographics.sex.as_deref(),
        Some("X")
    );
    assert_ne!(rv(&sim), old);
    // a 500 answers instead of the call: nothing is written
    sim.faults()
        .script("PATCH /learners/{id}", [Fault::Status(500)]);
    let (s, _, _) = raw
        .call(
            Method::PATCH,
            "/Learners/L-00001",
            Some(&rv(&sim)),
            Some(r#"{"Sex": "Y"}"#),
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        sim.learner("L-00001").unwrap().demographics.sex.as_deref(),
        Some("X")
    );
}

#[tokio::test]
async fn sim_lists_2000_learners_quickly() {
    let t = dt(2024, 6, 1, 10, 0, 0);
    let learners = (0..2000).map(|i| SimLearner {
        qualifications: (0..5)
            .map(|q| SimQualification::new(format!("Q-{i}-{q}"), format!("ST{q:04}")))
            .collect(),
        reviews: (0..20)
            .map(|r| SimReview::normal(format!("R-{i}-{r}"), t))
            .collect(),
        ..learner(i, i % 2 == 0)
    });
    let started = Instant::now();
    let sim = builder().learners(learners).start().await.unwrap();
    let mut cfg = config(&sim);
    cfg.page_size = 250;
    cfg.timeout = Duration::from_secs(5);
    let c = picsync_pics::PicsClient::new(cfg).unwrap();
    let linked = c
        .list_learners(&picsync_pics::LearnerQuery::linked(None))
        .await
        .unwrap();
    assert_eq!(linked.len(), 1000);
    let one = c.get_learner(&"L-01999".into()).await.unwrap();
    assert_eq!((one.qualifications.len(), one.reviews.len()), (5, 20));
    let rv = c
        .patch_learner(
            &"L-01999".into(),
            &one.row_version,
            &demographics_patch(&[(DemographicField::Sex, text("F"))]),
        )
        .await
        .unwrap();
    assert_eq!(sim.learner("L-01999").unwrap().row_version, rv);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
