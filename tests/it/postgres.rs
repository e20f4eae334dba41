//! The PostgreSQL database, for real: a throw-away server that `./scripts/test` starts on
//! 127.0.0.1 (`TEST_POSTGRES_URL`), a new empty database for each test.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, PgConnection, SqliteConnection};

use crate::cli::{run, stackwatch};

/// The test server's URL.
fn server_url() -> url::Url {
    let url = std::env::var("TEST_POSTGRES_URL").expect(
        "TEST_POSTGRES_URL names the PostgreSQL server for the tests: ./scripts/test starts a \
         throw-away one (scripts/postgres-cluster)",
    );
    url.parse().unwrap()
}

/// A new empty database on the test server, and its URL.
async fn empty_database() -> String {
    static MADE: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "stackwatch_{}_{}",
        std::process::id(),
        MADE.fetch_add(1, Ordering::SeqCst)
    );
    let server = server_url();
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
    let mut db = PgConnection::connect(&url).await.unwrap();
    let applied: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(applied, vec![(1, true)], "applied once, by one of them");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "no SQLite file beside PostgreSQL"
    );
}

/// Column name -> (kind, NOT NULL), by table.
type Schema = BTreeMap<String, BTreeMap<String, (String, bool)>>;

/// Columns that SQLite keeps as 0/1 integers and PostgreSQL as booleans.
const FLAGS: [(&str, &str); 2] = [("checks", "paused"), ("stack_settings", "status_page")];

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
    let sqlite = sqlite_schema(&dir.path().join("stackwatch.db")).await;

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
async fn serve_refuses_postgresql_for_now_and_an_unreachable_one_is_named_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let mut url = url::Url::parse(&empty_database().await).unwrap();
    url.set_password(Some("hunter2-secret")).unwrap();
    let (code, stderr) = run(stackwatch(dir.path())
        .arg("serve")
        .env("STACKWATCH__DATABASE__URL", url.as_str()));
    assert_ne!(code, 0);
    assert!(
        stderr.contains("database.url") && stderr.contains("stackwatch migrate"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2-secret"), "{stderr}");

    // A port nothing listens on: the error names the place, never the password.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    url.set_port(Some(port)).unwrap();
    let (code, stderr) = run(stackwatch(dir.path())
        .arg("migrate")
        .env("STACKWATCH__DATABASE__URL", url.as_str()));
    assert_ne!(code, 0);
    assert!(stderr.contains(&format!("127.0.0.1:{port}/")), "{stderr}");
    assert!(!stderr.contains("hunter2-secret"), "{stderr}");
}
