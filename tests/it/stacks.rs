//! Declaring a whole stack's checks in one call.

use serde_json::{Value, json};

use crate::binary::wait_for;
use crate::helpers::{error_fields, listed_names, spawn_app};

fn stack_body(checks: &[(&str, &str)]) -> Value {
    let checks: Vec<Value> = checks
        .iter()
        .map(|(name, path)| json!({"name": name, "url": format!("http://127.0.0.1:9{path}")}))
        .collect();
    json!({ "checks": checks })
}

#[tokio::test]
async fn stack_sync_creates_updates_and_deletes_in_one_call() {
    let app = spawn_app().await;
    let (status, first) = app
        .put(
            "/api/v1/stacks/acme",
            &stack_body(&[
                ("acme-live", "/live"),
                ("acme-ready", "/ready"),
                ("acme-old", "/old"),
            ]),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["changed"], true);
    assert_eq!(
        first["created"],
        json!(["acme-live", "acme-old", "acme-ready"])
    );

    let (status, second) = app
        .put(
            "/api/v1/stacks/acme",
            &stack_body(&[
                ("acme-live", "/live"),
                ("acme-ready", "/ready2"),
                ("acme-new", "/new"),
            ]),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(second["created"], json!(["acme-new"]));
    assert_eq!(second["updated"], json!(["acme-ready"]));
    assert_eq!(second["deleted"], json!(["acme-old"]));
    assert_eq!(second["unchanged"], json!(["acme-live"]));

    let (_, again) = app
        .put(
            "/api/v1/stacks/acme",
            &stack_body(&[
                ("acme-live", "/live"),
                ("acme-ready", "/ready2"),
                ("acme-new", "/new"),
            ]),
        )
        .await;
    assert_eq!(again["changed"], false);
    assert_eq!(again["unchanged"].as_array().unwrap().len(), 3);

    let (status, stack) = app.get("/api/v1/stacks/acme").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = stack["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["acme-live", "acme-new", "acme-ready"]);
    assert!(
        stack["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["stack"] == "acme")
    );
    assert_eq!(app.get("/api/v1/checks/acme-old").await.0, 404);
}

#[tokio::test]
async fn one_invalid_check_writes_nothing() {
    let app = spawn_app().await;
    app.put(
        "/api/v1/stacks/acme",
        &stack_body(&[("acme-live", "/live")]),
    )
    .await;
    let body = json!({"checks": [
        {"name": "acme-live", "url": "http://127.0.0.1:9/changed"},
        {"name": "acme-ready", "url": "http://127.0.0.1:9/ready", "timeout": 0},
        {"name": "acme-ready", "url": "gopher://x"},
    ]});
    let (status, problem) = app.put("/api/v1/stacks/acme", &body).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        error_fields(&problem),
        vec!["checks[1].timeout", "checks[2].name", "checks[2].url"]
    );
    let (_, live) = app.get("/api/v1/checks/acme-live").await;
    assert_eq!(
        live["url"], "http://127.0.0.1:9/live",
        "nothing was half-written"
    );
    assert_eq!(app.get("/api/v1/checks/acme-ready").await.0, 404);
}

#[tokio::test]
async fn check_of_another_stack_is_a_conflict() {
    let app = spawn_app().await;
    app.put("/api/v1/stacks/alpha", &stack_body(&[("shared", "/a")]))
        .await;
    let (status, problem) = app
        .put(
            "/api/v1/stacks/beta",
            &stack_body(&[("beta-live", "/b"), ("shared", "/b")]),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(error_fields(&problem), vec!["checks[1].name"]);
    assert_eq!(
        app.get("/api/v1/checks/beta-live").await.0,
        404,
        "the transaction rolled back"
    );
    let (_, shared) = app.get("/api/v1/checks/shared").await;
    assert_eq!(shared["stack"], "alpha");
}

#[tokio::test]
async fn a_stack_adopts_a_check_without_stack() {
    let app = spawn_app().await;
    app.put(
        "/api/v1/checks/loose",
        &json!({"url": "http://127.0.0.1:9/x"}),
    )
    .await;
    let (status, answer) = app
        .put("/api/v1/stacks/acme", &stack_body(&[("loose", "/x")]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["updated"], json!(["loose"]));
}

#[tokio::test]
async fn a_stack_check_may_not_name_another_stack() {
    let app = spawn_app().await;
    let body = json!({"checks": [{"name": "x", "url": "http://127.0.0.1:9/", "stack": "other"}]});
    let (status, problem) = app.put("/api/v1/stacks/acme", &body).await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&problem), vec!["checks[0].stack"]);
}

#[tokio::test]
async fn delete_stack_removes_only_its_checks() {
    let app = spawn_app().await;
    app.put(
        "/api/v1/stacks/acme",
        &stack_body(&[("acme-live", "/l"), ("acme-ready", "/r")]),
    )
    .await;
    app.put("/api/v1/stacks/other", &stack_body(&[("other-live", "/l")]))
        .await;
    let (status, deleted) = app.delete("/api/v1/stacks/acme").await;
    assert_eq!(status, 200);
    assert_eq!(
        deleted,
        json!({"changed": true, "deleted": ["acme-live", "acme-ready"]})
    );
    assert_eq!(app.delete("/api/v1/stacks/acme").await.1["changed"], false);
    assert_eq!(app.get("/api/v1/stacks/acme").await.0, 404);
    assert_eq!(app.all_check_names().await, vec!["other-live"]);

    let (status, emptied) = app
        .put("/api/v1/stacks/other", &json!({"checks": []}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(emptied["deleted"], json!(["other-live"]));
}

#[tokio::test]
async fn a_stack_dry_run_lists_the_changes_and_writes_nothing() {
    let app = spawn_app().await;
    app.put(
        "/api/v1/stacks/acme",
        &stack_body(&[("acme-live", "/live"), ("acme-old", "/old")]),
    )
    .await;
    let (status, would) = app
        .put(
            "/api/v1/stacks/acme?dry_run=true",
            &stack_body(&[("acme-live", "/live2"), ("acme-new", "/new")]),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(would["created"], json!(["acme-new"]));
    assert_eq!(would["updated"], json!(["acme-live"]));
    assert_eq!(would["deleted"], json!(["acme-old"]));
    let after: Vec<&str> = would["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        after,
        vec!["acme-live", "acme-new"],
        "the stack as it would be"
    );
    assert_eq!(
        app.all_check_names().await,
        vec!["acme-live", "acme-old"],
        "as it is"
    );
}

/// A stack of a few hundred new checks is inserted a statement of many rows at a time
/// (128, 128, 32, 8, 4 and 1 here): each check keeps its own target and tags, and the
/// heartbeat among them its own key.
#[tokio::test]
async fn hundreds_of_new_checks_keep_each_their_own_tags_and_key() {
    let app = spawn_app().await;
    let mut checks: Vec<Value> = (0..300)
        .map(|i| {
            json!({
                "name": format!("big-{i:03}"),
                "url": format!("http://127.0.0.1:9/p{i}"),
                "tags": [format!("n{i}"), "big"],
            })
        })
        .collect();
    checks.push(json!({"name": "big-beat", "kind": "heartbeat", "period": 600, "tags": ["beat"]}));
    let (status, created) = app
        .put("/api/v1/stacks/big", &json!({ "checks": checks }))
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["created"].as_array().unwrap().len(), 301);

    let (_, big) = app.get("/api/v1/checks?tag=big&limit=1000").await;
    assert_eq!(listed_names(&big).len(), 300);
    for i in [0, 1, 127, 128, 255, 256, 287, 288, 295, 296, 299] {
        let (_, one) = app.get(&format!("/api/v1/checks?tag=n{i}")).await;
        assert_eq!(listed_names(&one), vec![format!("big-{i:03}")], "tag n{i}");
        assert_eq!(one["checks"][0]["url"], format!("http://127.0.0.1:9/p{i}"));
    }
    let (_, beat) = app.get("/api/v1/checks?tag=beat").await;
    assert_eq!(listed_names(&beat), vec!["big-beat"]);

    let ping_url = created["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "big-beat")
        .and_then(|c| c["ping_url"].as_str())
        .unwrap()
        .to_owned();
    let pinged = app.client.get(app.url(&ping_url)).send().await.unwrap();
    assert_eq!(pinged.status(), 200);
    wait_for("big-beat up", 60, async || {
        let (_, check) = app.get("/api/v1/checks/big-beat").await;
        (check["state"] == "up").then_some(())
    })
    .await;
}
