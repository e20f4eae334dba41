//! Bearer tokens: 401 without or with a wrong token, 403 when a read token writes,
//! and the admin token generated when none is configured.

use std::os::unix::fs::PermissionsExt;

use serde_json::json;

use crate::helpers::{ADMIN_TOKEN, READ_TOKEN, spawn_app, spawn_with};

#[tokio::test]
async fn requests_without_a_valid_token_are_401() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/checks");
    let none = app.client.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    assert_eq!(none.headers()["content-type"], "application/problem+json");
    for header in [
        "Bearer wrong-token-0123456789",
        "Basic dXNlcjpwYXNz",
        ADMIN_TOKEN,
        "Bearer",
    ] {
        let response = app
            .client
            .get(&url)
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{header}");
    }
    let write = app
        .client
        .put(app.url("/api/v1/checks/x"))
        .json(&json!({"url": "http://127.0.0.1:9/"}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 401);
}

#[tokio::test]
async fn read_tokens_read_but_cannot_write() {
    let app = spawn_app().await;
    app.put("/api/v1/checks/x", &json!({"url": "http://127.0.0.1:9/"}))
        .await;
    let get = app
        .client
        .get(app.url("/api/v1/checks/x"))
        .bearer_auth(READ_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let attempts = [
        app.client
            .put(app.url("/api/v1/checks/x"))
            .json(&json!({"url": "http://127.0.0.1:9/changed"})),
        app.client.delete(app.url("/api/v1/checks/x")),
        app.client.post(app.url("/api/v1/checks/x/pause")),
        app.client
            .put(app.url("/api/v1/stacks/s"))
            .json(&json!({"checks": []})),
        app.client.delete(app.url("/api/v1/stacks/s")),
    ];
    for attempt in attempts {
        let response = attempt.bearer_auth(READ_TOKEN).send().await.unwrap();
        assert_eq!(response.status(), 403);
    }
    let (_, check) = app.get("/api/v1/checks/x").await;
    assert_eq!(check["url"], "http://127.0.0.1:9/", "nothing was written");
    assert_eq!(check["paused"], false);
}

#[tokio::test]
async fn health_endpoints_need_no_token() {
    let app = spawn_app().await;
    let healthz = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(healthz.status(), 200);
    let readyz = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(readyz.status(), 200);
    assert_eq!(
        readyz.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
}

#[tokio::test]
async fn without_configured_admin_tokens_one_is_generated_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    // A generated token is one data directory's: on SQLite only (PostgreSQL refuses to
    // start without a configured one, see tests/it/postgres.rs).
    let mut settings = crate::helpers::sqlite_test_settings(dir.path());
    settings.auth.admin_tokens.clear();
    let app = spawn_with(settings.clone()).await;

    let path = dir.path().join("admin.token");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let token = std::fs::read_to_string(&path).unwrap().trim().to_owned();
    assert!(token.len() >= 32);
    let put = app
        .client
        .put(app.url("/api/v1/checks/x"))
        .bearer_auth(&token)
        .json(&json!({"url": "http://127.0.0.1:9/"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    app.stop().await;

    let restarted = spawn_with(settings).await;
    let get = restarted
        .client
        .get(restarted.url("/api/v1/checks/x"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200, "the same token works after a restart");
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), token);
}

#[tokio::test]
async fn configured_admin_tokens_generate_nothing() {
    let app = spawn_app().await;
    assert!(!app.data_dir.join("admin.token").exists());
}
