//! What is written stays written: across restarts, and under concurrent writers.

use std::collections::HashMap;

use serde_json::json;

use crate::helpers::{
    SideDb, ensure_database, spawn_app, spawn_with, suite_database, test_settings,
};

#[tokio::test]
async fn checks_survive_a_restart_on_the_same_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    let body =
        json!({"url": "http://127.0.0.1:9/live", "stack": "acme", "check_rate": 30, "tags": ["t"]});
    app.put("/api/v1/checks/acme-live", &body).await;
    app.post("/api/v1/checks/acme-live/pause").await;
    let (_, before) = app.get("/api/v1/checks/acme-live").await;
    app.stop().await;

    let restarted = spawn_with(test_settings(dir.path())).await;
    let (status, after) = restarted.get("/api/v1/checks/acme-live").await;
    assert_eq!(status, 200);
    assert_eq!(after, before);
    let (status, again) = restarted.put("/api/v1/checks/acme-live", &body).await;
    assert_eq!((status, &again["changed"]), (200, &json!(false)));
}

#[tokio::test]
async fn concurrent_puts_leave_exactly_the_right_rows() {
    let app = spawn_app().await;
    let mut requests = Vec::new();
    for i in 0..50 {
        // Even requests all write the same check; odd ones write 25 distinct checks.
        let name = if i % 2 == 0 {
            "same".to_owned()
        } else {
            format!("distinct-{i:02}")
        };
        let body = json!({"url": "http://127.0.0.1:9/", "tags": ["load"]});
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/checks/{name}"));
        requests.push(tokio::spawn(async move {
            let response = client
                .put(url)
                .bearer_auth(crate::helpers::ADMIN_TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            (name, response.status().as_u16())
        }));
    }
    let mut statuses: HashMap<String, Vec<u16>> = HashMap::new();
    for request in requests {
        let (name, status) = request.await.unwrap();
        statuses.entry(name).or_default().push(status);
    }
    let mut same = statuses.remove("same").unwrap();
    same.sort();
    let mut expected_same = vec![200; 24];
    expected_same.push(201);
    assert_eq!(same, expected_same, "one create, then 24 unchanged");
    assert!(statuses.values().all(|s| s == &vec![201]));

    let names = app.all_check_names().await;
    assert_eq!(names.len(), 26);
    let (_, tagged) = app.get("/api/v1/checks?tag=load&limit=1000").await;
    assert_eq!(
        tagged["checks"].as_array().unwrap().len(),
        26,
        "one tag row per check"
    );
}

/// A check as the store wrote it before check kinds (version 1: every field at the top).
const V1_SPEC: &str = r#"{"url":"http://127.0.0.1:9/ready","method":"GET","headers":{},
    "body":null,"basic_auth":null,"check_rate":60,"timeout":10,
    "expected_status":[{"lo":200,"hi":399}],"body_contains":"OK","body_not_contains":null,
    "max_response_time_ms":null,"follow_redirects":false,"verify_tls":true,
    "cert_expiry_days":14,"failures_to_confirm":2,"successes_to_recover":1,
    "retry_interval":10,"contacts":null,"reminder_every":null,"stack":"acme",
    "tags":["env:prod"]}"#;

#[tokio::test]
async fn checks_stored_in_the_old_form_carry_over_unchanged() {
    use crate::helpers::SideDb;
    let dir = tempfile::tempdir().unwrap();
    let store = crate::helpers::open_suite_store(dir.path()).await;
    store.close().await;
    SideDb::open(dir.path())
        .await
        .execute(
            "INSERT INTO checks (name, stack, paused, spec, created_at, updated_at) \
             VALUES ('old-readiness', 'acme', FALSE, $1, 0, 0)",
            &[V1_SPEC],
        )
        .await;

    let app = spawn_with(test_settings(dir.path())).await;
    let (status, check) = app.get("/api/v1/checks/old-readiness").await;
    assert_eq!(status, 200, "{check}");
    assert_eq!(check["kind"], "http");
    assert_eq!(check["url"], "http://127.0.0.1:9/ready");
    assert_eq!(check["body_contains"], "OK");
    assert_eq!(check["stack"], "acme");
    app.stop().await;

    let mut side = SideDb::open(dir.path()).await;
    let version = if side.is_postgres() {
        "SELECT (spec::jsonb ->> 'version')::BIGINT FROM checks WHERE name = 'old-readiness'"
    } else {
        "SELECT json_extract(spec, '$.version') FROM checks WHERE name = 'old-readiness'"
    };
    assert_eq!(
        side.ints(version, &[]).await[0],
        Some(stackwatch::store::SPEC_VERSION as i64),
        "rewritten in the current form at open"
    );
}

/// An HTTP check as the store writes it (version 3), with `degraded_after_ms` set.
const SLOW_SPEC: &str = r#"{"version":3,"kind":"http","url":"http://127.0.0.1:9/ready",
    "method":"GET","headers":{},"body":null,"basic_auth":null,"expected_status":["200-399"],
    "body_contains":null,"body_not_contains":null,"json":[],"headers_expect":{},
    "body_matches":null,"max_response_time_ms":null,"follow_redirects":false,
    "redirect_credentials":false,"secret_names":[],"verify_tls":true,"cert_expiry_days":14,
    "check_rate":60,"timeout":10,"failures_to_confirm":2,"successes_to_recover":1,
    "retry_interval":10,"contacts":[],"degraded_after_ms":400,"reminder_every":null,
    "stack":"acme","tags":[],"display_name":null,"locations":null,"quorum":null,
    "flap_threshold":null,"flap_window":null,"escalate_after":null,"escalate_to":null,
    "depends_on":[]}"#;

#[tokio::test]
async fn a_database_from_before_the_degraded_column_fills_it_from_each_spec() {
    use sqlx::Connection as _;
    let dir = tempfile::tempdir().unwrap();
    // The SQLite migrations before the one that adds `checks.degraded_after_ms`.
    let mut side = migrated_before(dir.path(), None, ("0026", "")).await;
    let plain = SLOW_SPEC.replace(r#""degraded_after_ms":400"#, r#""degraded_after_ms":null"#);
    for (name, spec) in [("slow-readiness", SLOW_SPEC), ("plain-readiness", &plain)] {
        side.execute(
            "INSERT INTO checks (name, stack, paused, spec, created_at, updated_at) \
             VALUES ($1, 'acme', 0, $2, 0, 0)",
            &[name, spec],
        )
        .await;
    }
    side.close().await;
    let url = format!("sqlite://{}", dir.path().join("stackwatch.db").display());

    let app = spawn_with(crate::helpers::sqlite_test_settings(dir.path())).await;
    let (status, check) = app.get("/api/v1/checks/slow-readiness").await;
    assert_eq!((status, &check["degraded_after_ms"]), (200, &json!(400)));
    app.stop().await;

    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let column: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT name, degraded_after_ms FROM checks ORDER BY name")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(
        column,
        [
            ("plain-readiness".to_owned(), None),
            ("slow-readiness".to_owned(), Some(400))
        ]
    );
}

/// The migrations before the one named `first_left_out` (SQLite's, PostgreSQL's), as sqlx
/// reads them, run on the PostgreSQL database `postgres` names, or else on a new SQLite
/// file in `data_dir`.
async fn migrated_before(
    data_dir: &std::path::Path,
    postgres: Option<String>,
    first_left_out: (&str, &str),
) -> SideDb {
    use sqlx::Connection as _;
    let (source, last) = match &postgres {
        Some(_) => ("migrations/postgres", first_left_out.1),
        None => ("migrations/sqlite", first_left_out.0),
    };
    let earlier = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < last {
            std::fs::copy(&path, earlier.path().join(name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(earlier.path()).await.unwrap();
    match postgres {
        Some(url) => {
            ensure_database(&url).await;
            let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
            migrator.run(&mut db).await.unwrap();
            SideDb::Postgres(db)
        }
        None => {
            let url = format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("stackwatch.db").display()
            );
            let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
            migrator.run(&mut db).await.unwrap();
            SideDb::Sqlite(db)
        }
    }
}

#[tokio::test]
async fn a_database_from_before_the_depends_on_column_still_refuses_a_loop_through_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut side = migrated_before(dir.path(), suite_database(dir.path()), ("0027", "0020")).await;
    let api = SLOW_SPEC.replace(r#""degraded_after_ms":400"#, r#""degraded_after_ms":null"#);
    let worker = api.replace(r#""depends_on":[]"#, r#""depends_on":["api"]"#);
    for (name, spec) in [("api", &api), ("worker", &worker)] {
        side.execute(
            "INSERT INTO checks (name, stack, spec, created_at, updated_at) \
             VALUES ($1, 'acme', $2, 0, 0)",
            &[name, spec],
        )
        .await;
    }
    side.close().await;

    let app = spawn_with(test_settings(dir.path())).await;
    let mut side = SideDb::open(dir.path()).await;
    let filled = "SELECT COUNT(*) FROM checks WHERE depends_on IS NOT NULL";
    assert_eq!(
        side.ints(filled, &[]).await,
        [Some(1)],
        "worker's, not api's"
    );
    // The loop closes through the stored worker's `depends_on`, read from the column.
    let looping = json!({"url": "http://127.0.0.1:9/ready", "stack": "acme",
        "depends_on": ["worker"]});
    let (status, problem) = app.put("/api/v1/checks/api", &looping).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem
            .to_string()
            .contains("would make a cycle: api → worker → api"),
        "{problem}"
    );
    // Once worker names nothing, the same write is taken and the column follows both.
    let alone = json!({"url": "http://127.0.0.1:9/ready", "stack": "acme"});
    assert_eq!(app.put("/api/v1/checks/worker", &alone).await.0, 200);
    let (status, body) = app.put("/api/v1/checks/api", &looping).await;
    assert_eq!(status, 200, "{body}");
    let api_named = "SELECT COUNT(*) FROM checks WHERE depends_on IS NOT NULL AND name = 'api'";
    assert_eq!(side.ints(filled, &[]).await, [Some(1)]);
    assert_eq!(side.ints(api_named, &[]).await, [Some(1)]);
    app.stop().await;
}
