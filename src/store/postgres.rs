//! The PostgreSQL database: its schema, applied by `stackwatch migrate`, and the copy of a
//! SQLite database into it (`stackwatch migrate --from-sqlite FILE`). The migrations in
//! `migrations/postgres` build the same tables and columns as the SQLite ones in PostgreSQL's
//! types; sqlx's migrator holds an advisory lock while it runs, so instances started
//! together against an empty database migrate it once.

use std::path::Path;
use std::str::FromStr;

use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Postgres, QueryBuilder, Row};

use super::StoreError;

/// Applies the pending PostgreSQL migrations to the database at `url` (`place` names it in
/// errors without the URL's credentials).
pub async fn migrate_postgres(url: &str, place: &str) -> Result<(), StoreError> {
    let open = |source| StoreError::Open {
        path: place.to_owned(),
        source,
    };
    let options = PgConnectOptions::from_str(url).map_err(open)?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(open)?;
    let applied = sqlx::migrate!("./migrations/postgres")
        .run(&pool)
        .await
        .map_err(StoreError::Migrate);
    pool.close().await;
    applied
}

/// The tables in an order that satisfies every foreign key.
const TABLES: [&str; 19] = [
    "checks",
    "check_tags",
    "check_state",
    "results",
    "result_blocks",
    "incidents",
    "rollups_hourly",
    "rollups_daily",
    "meta",
    "alerts",
    "deliveries",
    "contact_messages",
    "maintenance",
    "stack_settings",
    "statuscake_fields",
    "status_updates",
    "status_update_history",
    "subscribers",
    "subscriber_messages",
];

/// The tables whose `id` is an identity column (AUTOINCREMENT in SQLite).
const NUMBERED: [&str; 7] = [
    "checks",
    "incidents",
    "alerts",
    "maintenance",
    "status_updates",
    "subscribers",
    "subscriber_messages",
];

/// Rows per INSERT: well under PostgreSQL's 65,535 parameters for the widest table.
const ROWS_PER_INSERT: usize = 1_000;

/// How many rows of each table a copy moved, in [`TABLES`] order.
#[derive(Debug, Clone, Default)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
}

/// One column of a table as PostgreSQL types it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnKind {
    Integer,
    Flag,
    Text,
    Bytes,
}

/// A value read from SQLite, to be written to PostgreSQL.
enum Cell {
    Integer(Option<i64>),
    Flag(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

/// Copies every row of the SQLite database at `sqlite` into the PostgreSQL database at
/// `url` (migrated first), in one transaction: a copy that fails leaves PostgreSQL as it
/// was, so it can be run again. Refuses a PostgreSQL database that holds any row, and a
/// SQLite file whose schema is not the current one. Reads one snapshot of the file, so a
/// stackwatch still running on it does not tear the copy (what it writes later is not
/// copied: stop it first).
pub async fn copy_from_sqlite(
    sqlite: &Path,
    url: &str,
    place: &str,
) -> Result<CopyReport, StoreError> {
    let source_name = sqlite.display().to_string();
    let mut source = SqliteConnectOptions::new()
        .filename(sqlite)
        .read_only(true)
        .connect()
        .await
        .map_err(|source| StoreError::Open {
            path: source_name.clone(),
            source,
        })?;
    let current = sqlx::migrate!("./migrations/sqlite")
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0);
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut source)
            .await
            .map_err(|_| StoreError::NotCurrent(source_name.clone()))?;
    if applied != Some(current) {
        return Err(StoreError::NotCurrent(source_name));
    }
    migrate_postgres(url, place).await?;
    let options = PgConnectOptions::from_str(url).map_err(|source| StoreError::Open {
        path: place.to_owned(),
        source,
    })?;
    let mut target = PgConnection::connect_with(&options)
        .await
        .map_err(|source| StoreError::Open {
            path: place.to_owned(),
            source,
        })?;
    let mut tx = target.begin().await?;
    for table in TABLES {
        let taken: Option<i32> = sqlx::query_scalar(&format!("SELECT 1 FROM {table} LIMIT 1"))
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::NotEmpty {
                place: place.to_owned(),
                table,
            });
        }
    }
    // One read transaction on the file: every table from the same snapshot.
    let mut snapshot = source.begin().await?;
    let mut report = CopyReport::default();
    for table in TABLES {
        let columns = columns_of(&mut tx, table).await?;
        let copied = copy_table(&mut snapshot, &mut tx, table, &columns).await?;
        report.tables.push((table, copied));
    }
    for table in NUMBERED {
        // The next id continues after every id SQLite ever gave, deleted rows included.
        let given: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = ?")
                .bind(table)
                .fetch_optional(&mut *snapshot)
                .await?;
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             GREATEST($1, (SELECT COALESCE(MAX(id), 0) FROM {table})) + 1, false)"
        ))
        .bind(given.unwrap_or(0))
        .execute(&mut *tx)
        .await?;
    }
    // The copied checks logged themselves as changes (migrations/postgres/0004): nothing
    // follows this database yet, and an instance that starts loads every check anyway.
    sqlx::query("DELETE FROM changes").execute(&mut *tx).await?;
    snapshot.rollback().await?;
    tx.commit().await?;
    Ok(report)
}

/// A table's columns in PostgreSQL, in their order.
async fn columns_of(
    tx: &mut PgConnection,
    table: &str,
) -> Result<Vec<(String, ColumnKind)>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *tx)
    .await?;
    rows.into_iter()
        .map(|(name, kind)| {
            let kind = match kind.as_str() {
                "bigint" => ColumnKind::Integer,
                "boolean" => ColumnKind::Flag,
                "text" => ColumnKind::Text,
                "bytea" => ColumnKind::Bytes,
                other => return Err(StoreError::Schema(format!("{table}.{name} is {other}"))),
            };
            Ok((name, kind))
        })
        .collect()
}

/// Copies every row of one table, a batch of rows per INSERT; the number of rows.
async fn copy_table(
    source: &mut SqliteConnection,
    target: &mut PgConnection,
    table: &str,
    columns: &[(String, ColumnKind)],
) -> Result<u64, StoreError> {
    let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
    let list = names.join(", ");
    let select = format!("SELECT {list} FROM {table}");
    let mut rows = sqlx::query(&select).fetch(&mut *source);
    let mut batch: Vec<Vec<Cell>> = Vec::with_capacity(ROWS_PER_INSERT);
    let mut copied = 0u64;
    while let Some(row) = rows.try_next().await? {
        let mut cells = Vec::with_capacity(columns.len());
        for (i, (_, kind)) in columns.iter().enumerate() {
            cells.push(match kind {
                ColumnKind::Integer => Cell::Integer(row.try_get(i)?),
                ColumnKind::Flag => Cell::Flag(row.try_get(i)?),
                ColumnKind::Text => Cell::Text(row.try_get(i)?),
                ColumnKind::Bytes => Cell::Bytes(row.try_get(i)?),
            });
        }
        batch.push(cells);
        if batch.len() == ROWS_PER_INSERT {
            copied += insert(target, table, &list, std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        copied += insert(target, table, &list, batch).await?;
    }
    Ok(copied)
}

async fn insert(
    target: &mut PgConnection,
    table: &str,
    list: &str,
    rows: Vec<Vec<Cell>>,
) -> Result<u64, StoreError> {
    let overriding = if NUMBERED.contains(&table) {
        " OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    let mut query =
        QueryBuilder::<Postgres>::new(format!("INSERT INTO {table} ({list}){overriding} "));
    query.push_values(rows, |mut values, cells| {
        for cell in cells {
            match cell {
                Cell::Integer(v) => values.push_bind(v),
                Cell::Flag(v) => values.push_bind(v),
                Cell::Text(v) => values.push_bind(v),
                Cell::Bytes(v) => values.push_bind(v),
            };
        }
    });
    Ok(query.build().execute(&mut *target).await?.rows_affected())
}
