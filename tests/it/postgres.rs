//! The PostgreSQL database, for real: a throw-away server that `./scripts/test` starts on
//! 127.0.0.1 (`TEST_POSTGRES_URL`), a new empty database for each test.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};
use sqlx::{Connection, PgConnection, Row, SqliteConnection};
use stackwatch::domain::Timestamp;
use stackwatch::monitor::rollup_once;
use stackwatch::store::{Record, Retention, Store, StoreOptions, Write};

use crate::binary::wait_for;
use crate::cli::{run, stackwatch};
use crate::helpers::{spawn_with, sqlite_test_settings, with_webhook};

/// A new empty database on the test server, and its URL.
pub async fn empty_database() -> String {
    static MADE: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "stackwatch_{}_{}",
        std::process::id(),
        MADE.fetch_add(1, Ordering::SeqCst)
    );
    let server = crate::helpers::postgres_server();
    let mut admin = PgConnection::connect(server.as_str()).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut url = server;
    url.set_path(&name);
    url.to_string()
}

/// Asserts that the database at `url` records every PostgreSQL migration once, applied.
async fn migrated_once(url: &str) {
    let mut db = PgConnection::connect(url).await.unwrap();
    let applied: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut db)
            .await
            .unwrap();
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count();
    let once: Vec<(i64, bool)> = (1..=migrations as i64).map(|v| (v, true)).collect();
    assert_eq!(applied, once, "each migration applied once, by one of them");
}

#[tokio::test]
async fn two_instances_migrating_an_empty_database_at_once_migrate_it_once() {
    let url = empty_database().await;
    let dir = tempfile::tempdir().unwrap();
    // Both started before either is waited for.
    let children: Vec<_> = (0..2)
        .map(|_| {
            stackwatch(dir.path())
                .arg("migrate")
                .env("STACKWATCH__DATABASE__URL", &url)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("is up to date"), "{stdout}");
    }
    migrated_once(&url).await;
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "no SQLite file beside PostgreSQL"
    );
}

/// Column name -> (kind, NOT NULL), by table.
type Schema = BTreeMap<String, BTreeMap<String, (String, bool)>>;

/// Columns that SQLite keeps as 0/1 integers and PostgreSQL as booleans.
const FLAGS: [(&str, &str); 3] = [
    ("checks", "paused"),
    ("stack_settings", "status_page"),
    ("maintenance", "public"),
];

async fn sqlite_schema(path: &std::path::Path) -> Schema {
    let mut db = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for table in tables {
        let columns: Vec<(String, String, bool, i64)> =
            sqlx::query_as("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)")
                .bind(&table)
                .fetch_all(&mut db)
                .await
                .unwrap();
        let columns = columns
            .into_iter()
            .map(|(column, kind, not_null, pk)| {
                let kind = match kind.as_str() {
                    "INTEGER" if FLAGS.contains(&(table.as_str(), column.as_str())) => "flag",
                    "INTEGER" => "integer",
                    "TEXT" => "text",
                    "BLOB" => "bytes",
                    other => panic!("{table}.{column}: SQLite type {other}"),
                };
                (column, (kind.to_owned(), not_null || pk > 0))
            })
            .collect();
        schema.insert(table, columns);
    }
    schema
}

async fn postgres_schema(url: &str) -> Schema {
    let mut db = PgConnection::connect(url).await.unwrap();
    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for (table, column, kind, nullable) in columns {
        let kind = match kind.as_str() {
            "bigint" => "integer",
            "boolean" => "flag",
            "text" => "text",
            "bytea" => "bytes",
            other => panic!("{table}.{column}: PostgreSQL type {other}"),
        };
        schema
            .entry(table)
            .or_default()
            .insert(column, (kind.to_owned(), nullable == "NO"));
    }
    schema
}

#[tokio::test]
async fn the_postgresql_schema_has_the_tables_and_columns_of_the_sqlite_one() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run(stackwatch(dir.path()).arg("migrate"));
    assert_eq!(code, 0, "{stderr}");
    let mut sqlite = sqlite_schema(&dir.path().join("stackwatch.db")).await;
    // Kept by triggers on SQLite only; PostgreSQL counts from the tables (see the migration).
    assert!(sqlite.remove("check_counts").is_some());

    let url = empty_database().await;
    let (code, stderr) = run(stackwatch(dir.path())
        .arg("migrate")
        .env("STACKWATCH__DATABASE__URL", &url));
    assert_eq!(code, 0, "{stderr}");
    let postgres = postgres_schema(&url).await;

    assert!(sqlite.len() >= 14, "{:?}", sqlite.keys());
    assert_eq!(
        sqlite.keys().collect::<Vec<_>>(),
        postgres.keys().collect::<Vec<_>>()
    );
    for (table, columns) in &sqlite {
        assert_eq!(columns, &postgres[table], "{table}");
    }
}

#[tokio::test]
async fn a_deleted_check_closes_its_open_incident_in_postgresql_too() {
    let url = empty_database().await;
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run(stackwatch(dir.path())
        .arg("migrate")
        .env("STACKWATCH__DATABASE__URL", &url));
    assert_eq!(code, 0, "{stderr}");
    let mut db = PgConnection::connect(&url).await.unwrap();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO checks (name, spec, created_at, updated_at) \
         VALUES ('gone', '{}', 1, 1) RETURNING id",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO incidents (check_id, check_name, opened_at, cause) \
         VALUES ($1, 'gone', 1, 'refused')",
    )
    .bind(id)
    .execute(&mut db)
    .await
    .unwrap();
    sqlx::query("DELETE FROM checks WHERE id = $1")
        .bind(id)
        .execute(&mut db)
        .await
        .unwrap();
    let resolved: Option<i64> = sqlx::query_scalar("SELECT resolved_at FROM incidents")
        .fetch_one(&mut db)
        .await
        .unwrap();
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let resolved = resolved.expect("closed by the delete");
    assert!(
        (now_ms - 60_000..=now_ms).contains(&resolved),
        "closed at the delete, in unix milliseconds: {resolved} vs {now_ms}"
    );
}

#[test]
fn a_database_url_that_is_not_postgresql_stops_the_start_naming_the_key_not_the_password() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["migrate", "serve"] {
        let (code, stderr) = run(stackwatch(dir.path()).arg(command).env(
            "STACKWATCH__DATABASE__URL",
            "mysql://app:hunter2-secret@db/app",
        ));
        assert_ne!(code, 0, "{command}");
        assert!(
            stderr.contains("database.url") && stderr.contains("postgres://"),
            "{command}: {stderr}"
        );
        assert!(!stderr.contains("hunter2-secret"), "{command}: {stderr}");
    }
}

#[tokio::test]
async fn an_unreachable_postgresql_is_named_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let mut url = url::Url::parse(&empty_database().await).unwrap();
    url.set_password(Some("hunter2-secret")).unwrap();
    // A port nothing listens on: the error names the place, never the password.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    url.set_port(Some(port)).unwrap();
    for command in ["migrate", "serve"] {
        let (code, stderr) = run(stackwatch(dir.path())
            .arg(command)
            .env("STACKWATCH_ADMIN_TOKEN", "an-admin-token-0123456789")
            .env("STACKWATCH__DATABASE__URL", url.as_str()));
        assert_ne!(code, 0, "{command}");
        assert!(
            stderr.contains(&format!("127.0.0.1:{port}/")),
            "{command}: {stderr}"
        );
        assert!(!stderr.contains("hunter2-secret"), "{command}: {stderr}");
    }
}

/// A token generated at the first start is kept in one instance's data directory; the
/// other instances on the same database would not know it.
#[tokio::test]
async fn serving_from_postgresql_without_an_admin_token_set_stops_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = empty_database().await;
    let (code, stderr) = run(stackwatch(dir.path())
        .arg("serve")
        .env("STACKWATCH__DATABASE__URL", &url));
    assert_ne!(code, 0);
    assert!(
        stderr.contains("auth.admin_tokens") && stderr.contains("database.url"),
        "{stderr}"
    );
    assert!(!dir.path().join("admin.token").exists());
}

/// Every row of every table of a schema read through a connection, as JSON objects by
/// column in primary-key order (flags as booleans, blocks as byte lists): one reading for
/// both databases, whose row types differ.
macro_rules! rows_of {
    ($db:expr, $schema:expr) => {{
        let mut all: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (table, columns) in $schema {
            let rows = sqlx::query(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
                .fetch_all(&mut *$db)
                .await
                .unwrap();
            let rows = rows
                .iter()
                .map(|row| {
                    let mut object = serde_json::Map::new();
                    for (column, (kind, _)) in columns {
                        let column = column.as_str();
                        let value = match kind.as_str() {
                            "integer" => json!(row.get::<Option<i64>, _>(column)),
                            "flag" => json!(row.get::<Option<bool>, _>(column)),
                            "text" => json!(row.get::<Option<String>, _>(column)),
                            _ => json!(row.get::<Option<Vec<u8>>, _>(column)),
                        };
                        object.insert(column.to_owned(), value);
                    }
                    Value::Object(object)
                })
                .collect();
            all.insert(table.clone(), rows);
        }
        all
    }};
}

async fn sqlite_rows(path: &std::path::Path, schema: &Schema) -> BTreeMap<String, Vec<Value>> {
    let mut db = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    rows_of!(&mut db, schema)
}

async fn postgres_rows(url: &str, schema: &Schema) -> BTreeMap<String, Vec<Value>> {
    let mut db = PgConnection::connect(url).await.unwrap();
    rows_of!(&mut db, schema)
}

/// A data directory a real stackwatch wrote: a stack with a status page and tags, a check
/// down (incident, alerts, deliveries to a webhook), a heartbeat, a `/v1` check with its
/// StatusCake fields, a maintenance window, a deleted check, and an hour compacted by the
/// rollup job (blocks, hourly and daily rollups) beside raw results.
async fn a_used_database() -> (tempfile::TempDir, crate::receivers::HookReceiver) {
    let hook = crate::receivers::HookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = with_webhook(sqlite_test_settings(dir.path()), &hook);
    // Status pages take subscriptions; the mail server is not there (the mail stays queued).
    settings.notifiers.insert(
        "status-mail".into(),
        stackwatch::settings::NotifierSettings::Email(stackwatch::settings::EmailSettings {
            smtp_url: "smtp://127.0.0.1:9".into(),
            tls: Some(stackwatch::settings::SmtpTls::None),
            username: None,
            password: None,
            from: "status@example.com".into(),
            to: vec!["unused@example.com".into()],
        }),
    );
    settings.status_pages.subscriptions_via = "status-mail".into();
    settings.alerting.public_url = "https://status.example.com".into();
    let app = spawn_with(settings).await;
    let acme = json!({"status_page": true, "checks": [
        {"name": "acme-web", "url": "http://127.0.0.1:9/", "check_rate": 10, "retry_interval": 1, "tags": ["env:prod", "web"]},
        {"name": "acme-backup", "kind": "heartbeat", "period": 3600},
    ]});
    assert_eq!(app.put("/api/v1/stacks/acme", &acme).await.0, 200);
    let (status, body) = app
        .post_json(
            "/api/v1/maintenance",
            &json!({"scope": "tag", "target": "web", "cron": format!("0 2 * * {}", crate::helpers::window_day().0), "duration": 3600, "timezone": "Europe/Paris", "public": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // A status update, edited once (its earlier text kept), and a deleted one.
    for message in ["Looking into it", "Gone soon"] {
        let (status, body) = app
            .post_json(
                "/api/v1/stacks/acme/updates",
                &json!({"status": "investigating", "message": message, "checks": ["acme-web"]}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = app
        .send(
            reqwest::Method::PATCH,
            "/api/v1/stacks/acme/updates/1",
            crate::helpers::ADMIN_TOKEN,
            Some(&json!({"status": "identified"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.delete("/api/v1/stacks/acme/updates/2").await.0, 200);
    let subscribed = app
        .client
        .post(app.url("/status/acme/subscribe"))
        .form(&[("email", "reader@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(subscribed.status(), 200);
    let created = app
        .client
        .post(app.url("/v1/uptime"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=Shop&test_type=HTTP&website_url=http%3A%2F%2F127.0.0.1%3A9%2Fshop&check_rate=300&trigger_rate=2")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    wait_for("acme-web down and its DOWN delivered", 60, async || {
        hook.accepted()
            .iter()
            .any(|r| r.body.to_string().contains("acme-web"))
            .then_some(())
    })
    .await;
    // The newest check is deleted: its id must not be given again.
    let gone = json!({"url": "http://127.0.0.1:9/gone", "check_rate": 60});
    assert_eq!(app.put("/api/v1/checks/gone", &gone).await.0, 201);
    assert_eq!(app.delete("/api/v1/checks/gone").await.0, 200);
    let data_dir = app.data_dir.clone();
    app.stop().await;

    // Two days ago, three results; the rollup job compacts that hour and rolls up its day.
    let store = Store::open(
        &data_dir.join("stackwatch.db"),
        &StoreOptions {
            busy_timeout: std::time::Duration::from_secs(5),
            read_connections: 1,
        },
    )
    .await
    .unwrap();
    let web = store
        .get_check(&"acme-web".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let now = Timestamp::now();
    let earlier = now.0 - 2 * 86_400_000;
    let writes: Vec<Write> = (0..3)
        .map(|i| {
            Write::Probe(Record {
                check_id: web.id,
                location: std::sync::Arc::new("local".parse().unwrap()),
                outcome: crate::retention::outcome(earlier + i * 60_000, i != 1, 40 + i as u32),
                change: None,
            })
        })
        .collect();
    store.record(&writes).await.unwrap();
    let retention = Retention {
        raw_days: 30,
        hourly_days: 90,
        daily_days: 1825,
    };
    rollup_once(&store, &retention, now).await.unwrap();
    store.close().await;
    (dir, hook)
}

#[tokio::test]
async fn a_used_sqlite_database_is_copied_into_postgresql_row_for_row_once() {
    let (dir, _hook) = a_used_database().await;
    let file = dir.path().join("stackwatch.db");
    let url = empty_database().await;
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = || {
        let output = stackwatch(elsewhere.path())
            .arg("migrate")
            .arg("--from-sqlite")
            .arg(&file)
            .env("STACKWATCH__DATABASE__URL", &url)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = copy();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("copied") && stdout.contains("checks: 3 rows"),
        "{stdout}"
    );

    let mut schema = sqlite_schema(&file).await;
    // Kept by triggers on SQLite only, not copied.
    assert!(schema.remove("check_counts").is_some());
    let before = sqlite_rows(&file, &schema).await;
    let after = postgres_rows(&url, &schema).await;
    for (table, rows) in &before {
        // The logs, the live instances, their leases (made by each location's first
        // instance) and the agents last heard of: empty on SQLite here, and empty after a
        // copy (no instance runs on the new database yet).
        let shared_only = [
            "agent_results",
            "changes",
            "instances",
            "locations",
            "pings",
            "shard_leases",
        ]
        .contains(&table.as_str());
        assert_eq!(rows.is_empty(), shared_only, "the test writes {table}");
        assert_eq!(rows, &after[table], "{table}");
    }

    // The next check continues after every id SQLite gave, the deleted one's included.
    let mut db = PgConnection::connect(&url).await.unwrap();
    let next: i64 = sqlx::query_scalar(
        "INSERT INTO checks (name, spec, created_at, updated_at) VALUES ('new', '{}', 1, 1) \
         RETURNING id",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    let most: i64 = before["checks"]
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .max()
        .unwrap();
    assert!(next > most + 1, "{next} after {most} and a deleted one");
    // Gone again, with the two changes it logged.
    sqlx::query("DELETE FROM checks WHERE name = 'new'")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("DELETE FROM changes WHERE check_name = 'new'")
        .execute(&mut db)
        .await
        .unwrap();

    // Again: refused, nothing changed.
    let (code, _, stderr) = copy();
    assert_ne!(code, Some(0));
    assert!(stderr.contains("not empty"), "{stderr}");
    assert_eq!(postgres_rows(&url, &schema).await, after);
}

#[tokio::test]
async fn a_sqlite_file_of_another_version_or_no_postgresql_is_refused_before_anything_is_copied() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.db");
    let mut old = SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", file.display()))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE checks (id INTEGER PRIMARY KEY, name TEXT)")
        .execute(&mut old)
        .await
        .unwrap();
    drop(old);
    let url = empty_database().await;
    let (code, stderr) = run(stackwatch(dir.path())
        .arg("migrate")
        .arg("--from-sqlite")
        .arg(&file)
        .env("STACKWATCH__DATABASE__URL", &url));
    assert_ne!(code, 0);
    assert!(stderr.contains("stackwatch migrate"), "{stderr}");
    let mut db = PgConnection::connect(&url).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(tables, 0, "nothing written");

    let (code, stderr) = run(stackwatch(dir.path())
        .arg("migrate")
        .arg("--from-sqlite")
        .arg(&file));
    assert_ne!(code, 0);
    assert!(stderr.contains("database.url"), "{stderr}");
}

/// Two `serve` started at the same moment against an empty database: one migrates it, the
/// other waits for sqlx's lock and finds it done, and both serve the same checks.
#[tokio::test]
async fn two_instances_serving_an_empty_database_from_the_same_moment_migrate_it_once() {
    let url = empty_database().await;
    let (dir_one, dir_two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = format!("[database]\nurl = {url:?}\n");
    let (data_one, data_two) = (dir_one.path().join("data"), dir_two.path().join("data"));
    let (one, two) = tokio::join!(
        crate::binary::start(&data_one, &config),
        crate::binary::start(&data_two, &config)
    );
    let body = json!({"url": "http://127.0.0.1:9/", "check_rate": 60});
    let (status, created) = one.put("/api/v1/checks/together", &body).await;
    assert_eq!(status, 201, "{created}");
    let (status, read) = two.get("/api/v1/checks/together").await;
    assert_eq!(status, 200, "{read}");
    migrated_once(&url).await;
    drop((one, two));
}
