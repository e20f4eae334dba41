//! Registering single checks: create, update, unchanged, read, list, pause, delete.

use serde_json::json;

use crate::helpers::{listed_names, spawn_app};

#[tokio::test]
async fn put_creates_then_reports_unchanged_then_updated() {
    let app = spawn_app().await;
    let body = json!({"url": "http://127.0.0.1:9/live", "stack": "acme", "tags": ["env:prod"]});

    let (status, created) = app.put("/api/v1/checks/acme-liveness", &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["changed"], true);
    assert_eq!(created["check"]["name"], "acme-liveness");
    assert_eq!(created["check"]["check_rate"], 60);
    assert_eq!(created["check"]["failures_to_confirm"], 2);
    assert_eq!(created["check"]["expected_status"], json!(["200-399"]));

    let (status, same) = app.put("/api/v1/checks/acme-liveness", &body).await;
    assert_eq!(status, 200);
    assert_eq!(same["changed"], false);
    assert_eq!(same["check"]["updated_at"], created["check"]["updated_at"]);

    let changed_body = json!({"url": "http://127.0.0.1:9/live", "stack": "acme", "check_rate": 30});
    let (status, updated) = app.put("/api/v1/checks/acme-liveness", &changed_body).await;
    assert_eq!(status, 200);
    assert_eq!(updated["changed"], true);
    assert_eq!(updated["check"]["check_rate"], 30);
    assert_eq!(
        updated["check"]["tags"],
        json!([]),
        "PUT replaces the whole check"
    );
    assert_eq!(
        updated["check"]["created_at"],
        created["check"]["created_at"]
    );

    let (status, read) = app.get("/api/v1/checks/acme-liveness").await;
    assert_eq!(status, 200);
    for (key, value) in updated["check"].as_object().unwrap() {
        assert_eq!(&read[key], value, "GET shows the stored {key}");
    }
    assert_eq!(read["state"], "unknown", "not probed yet");
}

#[tokio::test]
async fn equivalent_bodies_are_unchanged() {
    let app = spawn_app().await;
    let first = json!({"url": "http://127.0.0.1:9/", "method": "get", "tags": ["b", "a"],
                       "expected_status": [200, "201-299"], "headers": {"X-Probe": "1"}});
    let second = json!({"url": "http://127.0.0.1:9/", "method": "GET", "tags": ["a", "b", "a"],
                        "expected_status": ["200-299"], "headers": {"x-probe": "1"}});
    assert_eq!(app.put("/api/v1/checks/eq", &first).await.0, 201);
    let (status, answer) = app.put("/api/v1/checks/eq", &second).await;
    assert_eq!(
        (status, &answer["changed"]),
        (200, &json!(false)),
        "{answer}"
    );
}

#[tokio::test]
async fn missing_check_is_404_and_delete_is_idempotent() {
    let app = spawn_app().await;
    let (status, problem) = app.get("/api/v1/checks/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(problem["status"], 404);

    app.put(
        "/api/v1/checks/gone",
        &json!({"url": "http://127.0.0.1:9/"}),
    )
    .await;
    let (status, first) = app.delete("/api/v1/checks/gone").await;
    assert_eq!((status, &first["changed"]), (200, &json!(true)));
    assert_eq!(first["deleted"], json!(["gone"]));
    let (status, second) = app.delete("/api/v1/checks/gone").await;
    assert_eq!((status, &second["changed"]), (200, &json!(false)));
    assert_eq!(app.get("/api/v1/checks/gone").await.0, 404);
}

#[tokio::test]
async fn pause_and_resume_report_changes_and_put_keeps_pause() {
    let app = spawn_app().await;
    let body = json!({"url": "http://127.0.0.1:9/"});
    app.put("/api/v1/checks/p", &body).await;

    let (status, paused) = app.post("/api/v1/checks/p/pause").await;
    assert_eq!((status, &paused["changed"]), (200, &json!(true)));
    assert_eq!(paused["check"]["paused"], true);
    assert_eq!(app.post("/api/v1/checks/p/pause").await.1["changed"], false);

    let (_, after_put) = app.put("/api/v1/checks/p", &body).await;
    assert_eq!(
        after_put["changed"], false,
        "a redeploy leaves a paused check paused"
    );
    assert_eq!(after_put["check"]["paused"], true);

    let (_, resumed) = app.post("/api/v1/checks/p/resume").await;
    assert_eq!(
        (&resumed["changed"], &resumed["check"]["paused"]),
        (&json!(true), &json!(false))
    );
    let (_, explicit) = app
        .put(
            "/api/v1/checks/p",
            &json!({"url": "http://127.0.0.1:9/", "paused": true}),
        )
        .await;
    assert_eq!(
        (&explicit["changed"], &explicit["check"]["paused"]),
        (&json!(true), &json!(true))
    );

    assert_eq!(app.post("/api/v1/checks/missing/pause").await.0, 404);
}

#[tokio::test]
async fn list_filters_by_stack_tag_and_paused_and_paginates() {
    let app = spawn_app().await;
    for i in 0..20 {
        let stack = if i % 2 == 0 { "even" } else { "odd" };
        let tags = if i % 5 == 0 {
            json!(["five"])
        } else {
            json!([])
        };
        let body = json!({"url": "http://127.0.0.1:9/", "stack": stack, "tags": tags});
        assert_eq!(
            app.put(&format!("/api/v1/checks/c{i:02}"), &body).await.0,
            201
        );
    }
    app.post("/api/v1/checks/c03/pause").await;

    let names = app.all_check_names().await;
    let expected: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
    assert_eq!(
        names, expected,
        "pages of 7 cover every check once, in order"
    );

    let (_, odd) = app.get("/api/v1/checks?stack=odd&limit=1000").await;
    assert_eq!(listed_names(&odd).len(), 10);
    let (_, five) = app.get("/api/v1/checks?tag=five").await;
    assert_eq!(listed_names(&five), vec!["c00", "c05", "c10", "c15"]);
    let (_, paused) = app.get("/api/v1/checks?paused=true").await;
    assert_eq!(listed_names(&paused), vec!["c03"]);
    let (_, both) = app.get("/api/v1/checks?stack=even&tag=five").await;
    assert_eq!(listed_names(&both), vec!["c00", "c10"]);
    assert_eq!(both["next_after"], serde_json::Value::Null);
}

#[tokio::test]
async fn answers_never_show_credentials() {
    let app = spawn_app().await;
    let body = json!({
        "url": "http://127.0.0.1:9/",
        "headers": {"Authorization": "Bearer very-secret", "X-Trace": "visible"},
        "basic_auth": {"username": "probe", "password": "hunter2-secret"}
    });
    let (status, created) = app.put("/api/v1/checks/secretive", &body).await;
    assert_eq!(status, 201);
    let (_, read) = app.get("/api/v1/checks/secretive").await;
    for answer in [created.to_string(), read.to_string()] {
        assert!(!answer.contains("very-secret"), "{answer}");
        assert!(!answer.contains("hunter2"), "{answer}");
    }
    assert_eq!(read["headers"]["x-trace"], "visible");
    assert_eq!(read["headers"]["authorization"], "<redacted>");
    assert_eq!(
        read["basic_auth"],
        json!({"username": "probe", "password": "<redacted>"})
    );
    let (_, again) = app.put("/api/v1/checks/secretive", &body).await;
    assert_eq!(
        again["changed"], false,
        "the stored secret is compared, not the redacted one"
    );
}

#[tokio::test]
async fn dry_runs_answer_what_would_change_and_write_nothing() {
    let app = spawn_app().await;
    let body = json!({"url": "http://127.0.0.1:9/live"});
    let (status, would) = app.put("/api/v1/checks/dry?dry_run=true", &body).await;
    assert_eq!((status, &would["changed"]), (201, &json!(true)));
    assert_eq!(
        would["check"]["check_rate"], 60,
        "the answer shows the check as it would be"
    );
    assert_eq!(
        app.get("/api/v1/checks/dry").await.0,
        404,
        "nothing was written"
    );

    app.put("/api/v1/checks/dry", &body).await;
    let (status, same) = app.put("/api/v1/checks/dry?dry_run=true", &body).await;
    assert_eq!((status, &same["changed"]), (200, &json!(false)));
    let changed = json!({"url": "http://127.0.0.1:9/other"});
    let (_, would_change) = app.put("/api/v1/checks/dry?dry_run=true", &changed).await;
    assert_eq!(would_change["changed"], true);
    assert_eq!(would_change["check"]["url"], "http://127.0.0.1:9/other");
    let (_, stored) = app.get("/api/v1/checks/dry").await;
    assert_eq!(stored["url"], "http://127.0.0.1:9/live");
    assert_eq!(
        app.put("/api/v1/checks/dry?dry_run=maybe", &body).await.0,
        422
    );
}
