//! Assertions on HTTP answers against a real local JSON endpoint whose answer the test
//! sets: JSON values by path, response headers, a body pattern; what a failed one says;
//! and their registration, refused with the field and the reason when malformed.

use std::sync::{Arc, Mutex};

use axum::response::IntoResponse;
use serde_json::{Value, json};
use stackwatch::app::probe_once::spec_from_json;
use stackwatch::probe::Prober;
use tokio::net::TcpListener;

use crate::helpers::{error_fields, spawn_app};

/// The answer the endpoint gives: its content type and body.
type Answer = Arc<Mutex<(&'static str, String)>>;

/// A readiness endpoint at `/ready` answering 200 with what `answer` holds.
async fn endpoint() -> (String, Answer) {
    let answer: Answer = Arc::new(Mutex::new(("application/json", String::new())));
    let shared = answer.clone();
    let router = axum::Router::new().route(
        "/ready",
        axum::routing::get(move || {
            let (content_type, body) = shared.lock().unwrap().clone();
            async move { ([("content-type", content_type)], body).into_response() }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/ready", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, answer)
}

/// The probe's verdict: `None` when up, else the cause.
async fn verdict(check: &Value) -> Option<String> {
    let spec = spec_from_json(check.clone()).unwrap();
    let outcome = Prober::new(None, "stackwatch-test")
        .unwrap()
        .probe(&spec)
        .await;
    outcome.failure.map(|f| f.to_string())
}

#[tokio::test]
async fn a_200_is_judged_by_its_json_values_its_headers_and_its_body() {
    let (url, answer) = endpoint().await;
    let check = json!({
        "url": url,
        "json": [
            {"path": "$.status", "equals": "UP"},
            {"path": "$.db.latency_ms", "less_than": 200},
            {"path": "$.pools[*].state", "equals": "up"},
            {"path": "$.error", "exists": false},
        ],
        "headers_expect": {"Content-Type": "application/json*"},
        "body_matches": "\"version\": ?\"\\d+\\.\\d+\"",
    });
    let cases = [
        (
            "application/json; charset=utf-8",
            json!({"status": "UP", "db": {"latency_ms": 20}, "pools": [{"state": "up"}],
                "version": "2.14"}),
            None,
        ),
        (
            "application/json",
            json!({"status": "DOWN", "db": {"latency_ms": 20}, "pools": [{"state": "up"}], "version": "2.14"}),
            Some("JSON $.status is \"DOWN\", expected equal to \"UP\""),
        ),
        (
            "application/json",
            json!({"status": "UP", "db": {"latency_ms": 350}, "pools": [{"state": "up"}], "version": "2.14"}),
            Some("JSON $.db.latency_ms is 350, expected less than 200"),
        ),
        (
            "application/json",
            json!({"status": "UP", "db": {"latency_ms": 1}, "pools": [{"state": "up"},
                {"state": "draining"}], "version": "2.14"}),
            Some("JSON $.pools[*].state is \"draining\", expected equal to \"up\""),
        ),
        (
            "application/json",
            json!({"status": "UP", "db": {}, "pools": [{"state": "up"}], "version": "2.14"}),
            Some("JSON $.db.latency_ms is missing, expected less than 200"),
        ),
        (
            "application/json",
            json!({"status": "UP", "db": {"latency_ms": 1}, "pools": [{"state": "up"}],
                "error": "disk full", "version": "2.14"}),
            Some("JSON $.error is \"disk full\", expected nothing"),
        ),
        (
            "text/html",
            json!({"status": "UP", "db": {"latency_ms": 1}, "pools": [{"state": "up"}], "version": "2.14"}),
            Some("header content-type is \"text/html\", expected \"application/json*\""),
        ),
        (
            "application/json",
            json!({"status": "UP", "db": {"latency_ms": 1}, "pools": [{"state": "up"}], "version": "two"}),
            Some(r#"body is no match, expected to match "\"version\": ?\"\\d+\\.\\d+\"""#),
        ),
    ];
    for (content_type, body, cause) in cases {
        *answer.lock().unwrap() = (content_type, body.to_string());
        assert_eq!(verdict(&check).await.as_deref(), cause, "{body}");
    }
    *answer.lock().unwrap() = ("application/json", "<html>maintenance</html>".to_owned());
    let cause = verdict(&check).await.unwrap();
    assert!(
        cause
            .starts_with("the body is not JSON (expected value at line 1 column 1), expected JSON"),
        "{cause}"
    );
    // A target's long value is cut to the usual 512 bytes in the cause.
    *answer.lock().unwrap() = (
        "application/json",
        json!({"status": "x".repeat(5_000)}).to_string(),
    );
    let cause = verdict(&json!({"url": url, "json": [{"path": "$.status", "equals": "UP"}]}))
        .await
        .unwrap();
    assert!(cause.len() < 1_200, "{}", cause.len());
    assert!(cause.contains("… [cut, 5002 bytes in all]"), "{cause}");
}

#[tokio::test]
async fn malformed_assertions_are_refused_naming_the_field_and_kept_as_written() {
    let app = spawn_app().await;
    let refused = [
        (
            json!({"json": [{"path": "status", "equals": "UP"}]}),
            "json[0].path",
        ),
        (
            json!({"json": [{"path": "$.a"}, {"path": "$.b", "equals": 1, "exists": true}]}),
            "json[0]",
        ),
        (
            json!({"json": [{"path": "$.a", "less_than": "200"}]}),
            "json[0].less_than",
        ),
        (
            json!({"json": [{"path": "$.a", "matches": "x"}]}),
            "json[0].matches",
        ),
        (json!({"json": "$.status"}), "json"),
        (
            json!({"headers_expect": {"bad name": "x"}}),
            "headers_expect.bad name",
        ),
        (json!({"body_matches": "(unclosed"}), "body_matches"),
        (
            json!({"body_matches": "a{1000}".repeat(20)}),
            "body_matches",
        ),
    ];
    for (fields, field) in refused {
        let mut body = json!({"url": "http://127.0.0.1:9/ready"});
        body.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        let (status, problem) = app.put("/api/v1/checks/ready", &body).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert!(
            error_fields(&problem).contains(&field.to_owned()),
            "{field}: {problem}"
        );
    }
    let (_, list) = app.get("/api/v1/checks").await;
    assert_eq!(list["checks"], json!([]), "nothing half-written");

    let written = json!({"url": "http://127.0.0.1:9/ready",
        "json": [{"path": "$.status", "equals": "UP"}, {"path": "$.n", "greater_than": 1.5}],
        "headers_expect": {"Content-Type": "application/json*"},
        "body_matches": "ok|fine"});
    let (status, made) = app.put("/api/v1/checks/ready", &written).await;
    assert_eq!(status, 201, "{made}");
    let (_, read) = app.get("/api/v1/checks/ready").await;
    assert_eq!(read["json"], written["json"]);
    assert_eq!(
        read["headers_expect"],
        json!({"content-type": "application/json*"})
    );
    assert_eq!(read["body_matches"], "ok|fine");
    // The same body again changes nothing.
    assert_eq!(app.put("/api/v1/checks/ready", &written).await.0, 200);
    // The check page says what the check asserts, escaped.
    let page =
        crate::helpers::text_as(&app.url("/checks/ready"), crate::helpers::ADMIN_TOKEN).await;
    assert!(
        page.contains("JSON $.status equal to &quot;UP&quot;"),
        "{page}"
    );
    assert!(page.contains("JSON $.n greater than 1.5"), "{page}");
    assert!(
        page.contains("header content-type matches &quot;application/json*&quot;"),
        "{page}"
    );
    assert!(page.contains("body matches &quot;ok|fine&quot;"), "{page}");
    app.stop().await;
}
