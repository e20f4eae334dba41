//! Bad input gets a clear problem+json answer naming the field, and writes nothing.

use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, error_fields, spawn_app, status_and_json};

#[tokio::test]
async fn every_invalid_field_is_rejected_with_its_name() {
    let app = spawn_app().await;
    let url = "http://127.0.0.1:9/";
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "url"),
        (json!({"url": "ftp://127.0.0.1/"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "http://user:pw@127.0.0.1/"}), "url"),
        (json!({"url": url, "method": "DELETE"}), "method"),
        (
            json!({"url": url, "headers": {"bad header": "x"}}),
            "headers.bad header",
        ),
        (
            json!({"url": url, "headers": {"Transfer-Encoding": "chunked"}}),
            "headers.Transfer-Encoding",
        ),
        (json!({"url": url, "body": "x"}), "body"),
        (
            json!({"url": url, "basic_auth": {"username": "a:b", "password": "p"}}),
            "basic_auth.username",
        ),
        (
            json!({"url": url, "basic_auth": {"username": "a"}}),
            "basic_auth",
        ),
        (json!({"url": url, "locations": []}), "locations"),
        (json!({"url": url, "locations": ["Fra"]}), "locations[0]"),
        (
            json!({"url": url, "locations": ["local", "mars"]}),
            "locations[1]",
        ),
        (json!({"url": url, "quorum": 0}), "quorum"),
        (json!({"url": url, "quorum": 2}), "quorum"),
        (
            json!({"kind": "heartbeat", "period": 60, "locations": ["local"]}),
            "locations",
        ),
        (json!({"url": url, "check_rate": 9}), "check_rate"),
        (json!({"url": url, "check_rate": 86_401}), "check_rate"),
        (json!({"url": url, "check_rate": "60"}), "check_rate"),
        (json!({"url": url, "check_rate": -60}), "check_rate"),
        (json!({"url": url, "timeout": 0}), "timeout"),
        (json!({"url": url, "timeout": 76}), "timeout"),
        (
            json!({"url": url, "expected_status": []}),
            "expected_status",
        ),
        (
            json!({"url": url, "expected_status": [200, "600"]}),
            "expected_status[1]",
        ),
        (
            json!({"url": url, "expected_status": ["300-200"]}),
            "expected_status[0]",
        ),
        (json!({"url": url, "body_contains": ""}), "body_contains"),
        (
            json!({"url": url, "body_not_contains": "x".repeat(1025)}),
            "body_not_contains",
        ),
        (
            json!({"url": url, "max_response_time_ms": 0}),
            "max_response_time_ms",
        ),
        (
            json!({"url": url, "max_response_time_ms": 10_000}),
            "max_response_time_ms",
        ),
        (
            json!({"url": url, "follow_redirects": "yes"}),
            "follow_redirects",
        ),
        (json!({"url": url, "verify_tls": 1}), "verify_tls"),
        (
            json!({"url": url, "cert_expiry_days": 366}),
            "cert_expiry_days",
        ),
        (
            json!({"url": url, "failures_to_confirm": 0}),
            "failures_to_confirm",
        ),
        (
            json!({"url": url, "failures_to_confirm": 11}),
            "failures_to_confirm",
        ),
        (
            json!({"url": url, "successes_to_recover": 0}),
            "successes_to_recover",
        ),
        (json!({"url": url, "retry_interval": 0}), "retry_interval"),
        (json!({"url": url, "retry_interval": 61}), "retry_interval"),
        (
            json!({"url": url, "contacts": ["Ops Slack"]}),
            "contacts[0]",
        ),
        (json!({"url": url, "reminder_every": 59}), "reminder_every"),
        (json!({"url": url, "paused": "no"}), "paused"),
        (json!({"url": url, "stack": "Acme"}), "stack"),
        (json!({"url": url, "tags": ["ok", ""]}), "tags[1]"),
        (json!({"url": url, "name": "x"}), "name"),
        (json!({"url": url, "colour": "red"}), "colour"),
        (
            json!({"url": url, "basic_auth": {"username": "a", "password": "p", "realm": "r"}}),
            "basic_auth.realm",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = app.put("/api/v1/checks/v", &body).await;
        assert_eq!(status, 422, "{body} → {problem}");
        assert_eq!(
            error_fields(&problem),
            vec![field.to_owned()],
            "{body} → {problem}"
        );
        assert_eq!(problem["status"], 422);
        assert!(
            problem["errors"][0]["reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
    }
    assert_eq!(
        app.get("/api/v1/checks/v").await.0,
        404,
        "no rejected body was stored"
    );
}

#[tokio::test]
async fn several_bad_fields_are_reported_together() {
    let app = spawn_app().await;
    let body = json!({"url": "ftp://x/", "check_rate": 1, "timeout": 99, "tags": ["Bad"]});
    let (status, problem) = app.put("/api/v1/checks/Bad%20Name", &body).await;
    assert_eq!(status, 422);
    assert_eq!(
        error_fields(&problem),
        vec!["name", "url", "check_rate", "timeout", "tags[0]"]
    );
}

#[tokio::test]
async fn names_outside_the_pattern_are_422() {
    let app = spawn_app().await;
    let body = json!({"url": "http://127.0.0.1:9/"});
    let long = "a".repeat(129);
    for name in ["UPPER", "-dash", "has%20space", "sl%2Fash", long.as_str()] {
        let (status, problem) = app.put(&format!("/api/v1/checks/{name}"), &body).await;
        assert_eq!(status, 422, "{name}: {problem}");
        assert_eq!(error_fields(&problem), vec!["name"], "{name}");
    }
    let (status, problem) = app.put("/api/v1/stacks/Acme", &json!({"checks": []})).await;
    assert_eq!(
        (status, error_fields(&problem)),
        (422, vec!["stack".to_owned()])
    );
    assert_eq!(
        app.put(&format!("/api/v1/checks/{}", "a".repeat(128)), &body)
            .await
            .0,
        201
    );
}

#[tokio::test]
async fn malformed_json_is_400_and_wrong_media_type_is_415() {
    let app = spawn_app().await;
    let send = |body: &'static str, content_type: &'static str| {
        app.client
            .put(app.url("/api/v1/checks/raw"))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for body in ["{\"url\": ", "", "{} {}", "not json"] {
        let (status, problem) =
            status_and_json(send(body, "application/json").await.unwrap()).await;
        assert_eq!(status, 400, "{body:?}: {problem}");
        assert_eq!(problem["title"], "Malformed JSON");
    }
    let (status, problem) = status_and_json(send("[1]", "application/json").await.unwrap()).await;
    assert_eq!(status, 422, "{problem}");
    let (status, _) = status_and_json(
        send(r#"{"url": "http://127.0.0.1:9/"}"#, "text/plain")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 415);
}

#[tokio::test]
async fn problems_are_served_as_problem_json() {
    let app = spawn_app().await;
    let response = app
        .client
        .put(app.url("/api/v1/checks/x"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"url": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413() {
    let app = spawn_app().await;
    let padding = "x".repeat(1 << 20);
    let body = json!({"url": "http://127.0.0.1:9/", "body_contains": padding});
    let (status, problem) = app.put("/api/v1/checks/huge", &body).await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(problem["status"], 413);
    assert_eq!(app.get("/api/v1/checks/huge").await.0, 404);
}

#[tokio::test]
async fn bad_list_parameters_are_422() {
    let app = spawn_app().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("stack=Bad", "stack"),
        ("tag=%20", "tag"),
    ] {
        let (status, problem) = app.get(&format!("/api/v1/checks?{query}")).await;
        assert_eq!(status, 422, "{query}: {problem}");
        assert_eq!(error_fields(&problem), vec![field.to_owned()], "{query}");
    }
    let (status, _) = app.get("/api/v1/checks?colour=red").await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problem_json() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/v1/nothing").await.0, 404);
    let (status, problem) = app.post("/api/v1/checks/x").await;
    assert_eq!(status, 405);
    assert_eq!(problem["status"], 405);
}
