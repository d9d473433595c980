#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package
//! The OneFile simulator's own behaviour, checked with plain HTTP (no picsync client): routes,
//! sessions, rate limit, every quirk switch, bad input, LastModified, faults and counters.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use picsync_sim::faults::Fault;
use picsync_sim::onefile::{DateStyle, OneFileSim, Population, Quirks};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn sim_with(
    builder: picsync_sim::onefile::OneFileSimBuilder,
    learners: usize,
) -> (OneFileSim, Population) {
    let mut pop = Population::default();
    let sim = builder
        .seed(|s| pop = s.populate("North", learners, 2, 2))
        .start()
        .await;
    (sim, pop)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn session(sim: &OneFileSim) -> String {
    let r = http()
        .post(format!("{}/Authentication", sim.base_url()))
        .header("X-CustomerToken", sim.customer_token())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    serde_json::from_str::<String>(&body).unwrap_or(body)
}

async fn call(
    sim: &OneFileSim,
    s: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let url = format!("http://{}{path}", sim.addr());
    let mut req = http()
        .request(method.parse().unwrap(), url)
        .header("X-TokenID", s);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn routes_are_case_insensitive_with_or_without_a_trailing_slash() {
    let (sim, pop) = sim_with(OneFileSim::builder(), 1).await;
    let s = session(&sim).await;
    for path in [
        "/api/v2.1/Customer",
        "/API/V2.1/customer/",
        "/api/v2.1/CUSTOMER/",
    ] {
        let r = call(&sim, &s, "GET", path, None).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let learner = pop.learner_ids[0];
    let r = call(&sim, &s, "GET", &format!("/api/v2.1/uSeR/{learner}/"), None).await;
    assert_eq!(r.json::<Value>().await.unwrap()["ID"], json!(learner));
    let r = call(&sim, &s, "GET", "/api/v2.1/NoSuchThing", None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.json::<Value>().await.unwrap()["Message"].is_string());
    assert_eq!(sim.counters().get("GET /customer"), 3);
    assert_eq!(sim.counters().get("GET /user/{id}"), 1);
}

#[tokio::test]
async fn tokens_and_sessions_are_enforced() {
    let (sim, _) = sim_with(
        OneFileSim::builder().session_lifetime(Duration::from_millis(200)),
        1,
    )
    .await;
    let r = http()
        .post(format!("{}/Authentication", sim.base_url()))
        .header("X-CustomerToken", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = call(&sim, "no-such-session", "GET", "/api/v2.1/Customer", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let s = session(&sim).await;
    assert_eq!(s.len(), 344);
    assert_eq!(
        call(&sim, &s, "GET", "/api/v2.1/Customer", None)
            .await
            .status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        call(&sim, &s, "GET", "/api/v2.1/Customer", None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "the session expired"
    );
    assert_eq!(sim.unauthorised(), 3);
    assert_eq!(sim.sessions_issued(), 1);
}

#[tokio::test]
async fn the_session_is_bare_or_json_quoted() {
    for quote_session in [false, true] {
        let (sim, _) = sim_with(
            OneFileSim::builder().quirks(Quirks {
                quote_session,
                ..Quirks::default()
            }),
            0,
        )
        .await;
        let body = http()
            .post(format!("{}/authentication", sim.base_url()))
            .header("x-customertoken", sim.customer_token())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body.starts_with('"'), quote_session, "{body}");
        assert_eq!(body.len(), if quote_session { 346 } else { 344 });
    }
}

#[tokio::test]
async fn an_empty_search_is_204_or_an_empty_array() {
    for empty_as_204 in [false, true] {
        let (sim, pop) = sim_with(
            OneFileSim::builder().quirks(Quirks {
                empty_as_204,
                ..Quirks::default()
            }),
            1,
        )
        .await;
        let s = session(&sim).await;
        let q = json!({"OrganisationID": pop.centre_id, "Role": 1, "MISID": "nobody"});
        let r = call(&sim, &s, "POST", "/api/v2.1/User/Search/1/100", Some(q)).await;
        if empty_as_204 {
            assert_eq!(r.status(), StatusCode::NO_CONTENT);
            assert!(r.text().await.unwrap().is_empty());
        } else {
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(r.text().await.unwrap(), "[]");
        }
    }
}

#[tokio::test]
async fn dates_are_written_in_the_chosen_style_with_date_only_values_as_local_midnight() {
    let (sim, pop) = sim_with(OneFileSim::builder(), 1).await;
    let learner = pop.learner_ids[0];
    sim.edit(|e| {
        e.user(learner).unwrap().demographics.date_of_birth = NaiveDate::from_ymd_opt(2024, 6, 1);
    });
    let s = session(&sim).await;
    for (style, want) in [
        (DateStyle::UtcMillis, "2024-05-31T23:00:00.000Z"),
        (DateStyle::NoZone, "2024-05-31T23:00:00"),
        (DateStyle::Offset, "2024-06-01T00:00:00.000+01:00"),
        (DateStyle::SevenDigits, "2024-05-31T23:00:00.0000000Z"),
    ] {
        sim.set_quirks(Quirks {
            date_style: style,
            ..Quirks::default()
        });
        let r = call(&sim, &s, "GET", &format!("/api/v2.1/User/{learner}"), None).await;
        let u: Value = r.json().await.unwrap();
        assert_eq!(u["DOB"], json!(want), "{style:?}");
    }
}

#[tokio::test]
async fn empty_fields_are_null_or_left_out() {
    let (sim, pop) = sim_with(OneFileSim::builder(), 1).await;
    let s = session(&sim).await;
    let path = format!("/api/v2.1/User/{}", pop.learner_ids[0]);
    let u: Value = call(&sim, &s, "GET", &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(u["ULN"], Value::Null);
    assert!(u.as_object().unwrap().contains_key("ULN"));
    sim.set_quirks(Quirks {
        omit_nulls: true,
        ..Quirks::default()
    });
    let u: Value = call(&sim, &s, "GET", &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(!u.as_object().unwrap().contains_key("ULN"));
}

#[tokio::test]
async fn over_the_limit_is_429_with_or_without_retry_after() {
    for retry_after in [true, false] {
        let (sim, _) = sim_with(
            OneFileSim::builder()
                .rate_limit(3, Duration::from_millis(500))
                .quirks(Quirks {
                    retry_after,
                    ..Quirks::default()
                }),
            0,
        )
        .await;
        let s = session(&sim).await; // call 1
        for _ in 0..2 {
            assert_eq!(
                call(&sim, &s, "GET", "/api/v2.1/Customer", None)
                    .await
                    .status(),
                StatusCode::OK
            );
        }
        let r = call(&sim, &s, "GET", "/api/v2.1/Customer", None).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let header = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(header.is_some(), retry_after);
        if let Some(h) = header {
            let secs: f64 = h.parse().unwrap();
            assert!(secs > 0.0 && secs <= 0.5, "{h}");
        }
        assert_eq!(sim.rate_limited(), 1);
        assert_eq!(sim.rate_limited_counters().get("GET /customer"), 1);
        // the next window admits calls again
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            call(&sim, &s, "GET", "/api/v2.1/Customer", None)
                .await
                .status(),
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn the_page_size_cap_serves_fewer_than_asked_and_pages_by_what_it_served() {
    let (sim, pop) = sim_with(
        OneFileSim::builder().quirks(Quirks {
            page_size_cap: Some(50),
            ..Quirks::default()
        }),
        120,
    )
    .await;
    let s = session(&sim).await;
    let q = json!({"OrganisationID": pop.centre_id, "Role": 1});
    let page = |p: u32| {
        let (sim, s, q) = (&sim, &s, q.clone());
        async move {
            let r = call(
                sim,
                s,
                "POST",
                &format!("/api/v2.1/User/Search/{p}/100"),
                Some(q),
            )
            .await;
            r.json::<Vec<Value>>().await.unwrap()
        }
    };
    let (p1, p2, p3) = (page(1).await, page(2).await, page(3).await);
    assert_eq!((p1.len(), p2.len(), p3.len()), (50, 50, 20));
    assert_eq!(p2[0]["ID"], json!(pop.learner_ids[50]));
    // the unpaged search returns every match
    let all = call(&sim, &s, "POST", "/api/v2.1/User/Search", Some(q)).await;
    assert_eq!(all.json::<Vec<Value>>().await.unwrap().len(), 120);
    // searches return summaries unless full records are asked for
    assert!(p1[0].get("DOB").is_none() && p1[0].get("LastModified").is_some());
}

#[tokio::test]
async fn bad_input_is_a_400_with_a_message_and_never_a_panic() {
    let (sim, pop) = sim_with(OneFileSim::builder(), 1).await;
    let s = session(&sim).await;
    let raw = |path: &str, body: &'static str| {
        let url = format!("{}{path}", sim.base_url());
        let s = s.clone();
        async move {
            http()
                .post(url)
                .header("X-TokenID", s)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    for (path, body) in [
        ("/User/Search", "{not json"),
        ("/User/Search", "[1, 2]"),
        ("/User/Search", r#"{"OrganisationID": "north"}"#),
        ("/User/Search/0/100", "{}"),
        ("/User", r#"{"OrganisationID": 1}"#),
        ("/Review", r#"{"LearnerID": 1, "ScheduledFor": "someday"}"#),
        ("/Visit", r#"{"LearnerID": {"nested": true}}"#),
    ] {
        let r = raw(path, body).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path} {body}");
        let v: Value = r.json().await.unwrap();
        assert!(v["Message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    let learner = pop.learner_ids[0];
    let r = raw(&format!("/User/{learner}"), r#"{"DOB": "31/02/2000"}"#).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        sim.read(|st| st.users[&learner].demographics.date_of_birth.is_some()),
        "a bad update changes nothing"
    );
    // the server is still up
    assert_eq!(
        call(&sim, &s, "GET", "/api/v2.1/Customer", None)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn last_modified_moves_on_learner_aim_and_review_changes_and_children_touch_learners_by_quirk()
 {
    let (sim, pop) = sim_with(OneFileSim::builder(), 1).await;
    let learner = pop.learner_ids[0];
    let (aim, review) = sim.read(|s| {
        (
            s.learning_aims_of(learner)[0].id,
            s.reviews_of(learner)[0].id,
        )
    });
    let stamps = |sim: &OneFileSim| {
        sim.read(|s| {
            (
                s.users[&learner].last_modified,
                s.learning_aims[&aim].last_modified,
                s.reviews[&review].last_modified,
            )
        })
    };
    let s = session(&sim).await;
    let t0 = stamps(&sim);
    let r = call(
        &sim,
        &s,
        "POST",
        &format!("/api/v2.1/LearningAim/{aim}"),
        Some(json!({"ElementsDone": 9})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    sim.edit(|e| e.review(review).unwrap().status = 2);
    let t1 = stamps(&sim);
    assert!(t1.1 > t0.1 && t1.2 > t0.2);
    assert_eq!(t1.0, t0.0, "the learner is untouched without the quirk");

    sim.set_quirks(Quirks {
        child_changes_touch_learner: true,
        ..Quirks::default()
    });
    sim.edit(|e| e.review(review).unwrap().status = 3);
    let t2 = stamps(&sim);
    assert!(
        t2.0 > t1.0,
        "with the quirk, a review change moves the learner"
    );
    let r = call(
        &sim,
        &s,
        "POST",
        &format!("/api/v2.1/User/{learner}"),
        Some(json!({"Telephone": "1"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(stamps(&sim).0 > t2.0, "a learner update moves the learner");
}

#[tokio::test]
async fn creates_answer_the_record_or_a_bare_id_as_onefile_does() {
    let (sim, pop) = sim_with(OneFileSim::builder(), 1).await;
    let s = session(&sim).await;
    let learner = pop.learner_ids[0];
    let visit = json!({"LearnerID": learner, "OrganisationID": pop.centre_id,
        "DateFrom": "2025-01-06T10:00:00Z", "DateTo": "2025-01-06T11:00:00Z",
        "VisitTypeID": 1, "SMSReminder": false, "AssessorID": pop.assessor_ids[0]});
    let r = call(&sim, &s, "POST", "/api/v2.1/Visit", Some(visit)).await;
    let id: i64 = r.text().await.unwrap().parse().unwrap();
    assert!(sim.read(|st| st.visits.contains_key(&id)));
    let room = json!({"OrganisationID": pop.centre_id, "Name": "Evening"});
    let r = call(&sim, &s, "POST", "/api/v2.1/Classroom", Some(room)).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["Name"], json!("Evening"));
    let sid = pop.standard_ids[0];
    let r = call(
        &sim,
        &s,
        "POST",
        &format!("/api/v2.1/Standard/{sid}/Assign/{learner}"),
        None,
    )
    .await;
    let aim: i64 = r.text().await.unwrap().parse().unwrap();
    assert_eq!(sim.read(|st| st.learning_aims[&aim].standard_id), sid);
}

#[tokio::test]
async fn faults_are_served_per_endpoint_and_counted() {
    let (sim, _) = sim_with(OneFileSim::builder(), 0).await;
    let s = session(&sim).await;
    sim.faults().script(
        "GET /customer",
        [
            Fault::Status(503),
            Fault::Malformed,
            Fault::Truncated,
            Fault::Reset,
            Fault::Delay(Duration::from_millis(150)),
        ],
    );
    let get = || call(&sim, &s, "GET", "/api/v2.1/Customer", None);
    assert_eq!(get().await.status(), StatusCode::SERVICE_UNAVAILABLE);
    let malformed = get().await.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&malformed).is_err());
    let truncated = get().await.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&truncated).is_err());
    assert!(
        r#"{"ID":1,"Name":"Simulated Training Ltd"}"#.starts_with(&truncated),
        "{truncated}"
    );
    let reset = get().await;
    assert_eq!(reset.status(), StatusCode::OK, "headers arrive…");
    assert!(reset.bytes().await.is_err(), "…then the connection drops");
    let started = Instant::now();
    assert_eq!(get().await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(
        get().await.status(),
        StatusCode::OK,
        "the script is used up"
    );
    assert_eq!(sim.faults().injected(), 5);
    assert_eq!(sim.counters().get("GET /customer"), 6);
    assert_eq!(sim.counters().get("POST /authentication"), 1);
    assert_eq!(sim.counters().total(), 7);
}

#[tokio::test]
async fn random_faults_by_probability_hit_every_endpoint() {
    let (sim, _) = sim_with(OneFileSim::builder(), 0).await;
    let s = session(&sim).await;
    sim.faults().random(None, 0.5, vec![Fault::Status(500)], 11);
    let mut failed = 0;
    for _ in 0..40 {
        if call(&sim, &s, "GET", "/api/v2.1/Customer", None)
            .await
            .status()
            == StatusCode::INTERNAL_SERVER_ERROR
        {
            failed += 1;
        }
    }
    assert!((8..=32).contains(&failed), "{failed} of 40");
    assert_eq!(sim.faults().injected(), failed);
}

#[tokio::test]
async fn a_centre_of_2000_learners_with_5_aims_and_20_reviews_each_is_served_fast() {
    let mut pop = Population::default();
    let sim = OneFileSim::builder()
        .seed(|s| pop = s.populate("Big", 2000, 5, 20))
        .start()
        .await;
    let s = session(&sim).await;
    let started = Instant::now();
    let q = json!({"OrganisationID": pop.centre_id, "Role": 1});
    let mut seen = 0;
    for p in 1..=20 {
        let r = call(
            &sim,
            &s,
            "POST",
            &format!("/api/v2.1/User/Search/{p}/100"),
            Some(q.clone()),
        )
        .await;
        seen += r.json::<Vec<Value>>().await.unwrap().len();
    }
    assert_eq!(seen, 2000);
    for learner in pop.learner_ids.iter().take(50) {
        let r = call(
            &sim,
            &s,
            "POST",
            "/api/v2.1/Review/Search",
            Some(json!({"LearnerID": learner})),
        )
        .await;
        assert_eq!(r.json::<Vec<Value>>().await.unwrap().len(), 20);
        let r = call(
            &sim,
            &s,
            "POST",
            "/api/v2.1/LearningAim/Search",
            Some(json!({"UserID": learner})),
        )
        .await;
        assert_eq!(r.json::<Vec<Value>>().await.unwrap().len(), 5);
    }
    // a guard against a search that scans the store per record (minutes), not a benchmark: a
    // loaded 2-core machine serves this in about 10 s
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(sim.read(|st| st.reviews.len()), 40_000);
}
