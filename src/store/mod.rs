//! Persistent state in SQLite through sqlx: opening and migrating the database, and the
//! queries of each kind of record (one file per kind). PostgreSQL has its schema and
//! migrations so far (`postgres.rs`), not yet the queries. Reads use a pool; every write goes
//! through one dedicated connection, so writers queue in process instead of failing on
//! SQLite's single write lock.

mod alerts;
mod block_codec;
mod checks;
mod error;
mod incidents;
mod latency;
mod live;
mod maintenance;
mod overview;
mod postgres;
mod record;
mod result_blocks;
mod results;
mod rollups;
mod spec_form;
mod stacks;
mod statuscake;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use alerts::{
    AlertFilter, AttemptResult, DeliveryRow, DeliveryStatus, DueDelivery, StoredAlert,
};
pub use checks::{CheckFilter, CheckWrite, PageStart, Upsert, WriteMode};
pub use error::StoreError;
pub use incidents::{IncidentFilter, IncidentRow};
pub use latency::LatencyPoint;
pub use live::{LiveCheck, StateGroup};
pub use overview::{Day, MetricRow, OverviewRow, Tally};
pub use postgres::{CopyReport, copy_from_sqlite, migrate_postgres};
pub use record::{Change, MONITOR_ALERT_NAME, MONITOR_CHECK_ID, NewAlert, Record, Write};
pub use results::{ResultRow, StoredState};
pub use rollups::{Retention, RollupReport, Uptime, UptimeWindow};
pub use spec_form::SPEC_VERSION;
pub use stacks::StackSync;
pub use statuscake::StatusCakeFields;

/// An hour in milliseconds: results, rollups and blocks are kept by UTC hour.
const HOUR_MS: i64 = 3_600_000;

/// Whether a connection handed back to the write pool is outside any transaction. After a
/// COMMIT that failed (a full or read-only disk), SQLite may have rolled the transaction back
/// itself while sqlx still counts it as open: the next `begin` would then be a SAVEPOINT
/// inside it and "succeed" without ever committing. Such a connection is dropped instead of
/// reused, so every later write starts clean.
fn transaction_closed(conn: &sqlx::SqliteConnection) -> bool {
    use sqlx::{Database, Sqlite, TransactionManager};
    let depth = <<Sqlite as Database>::TransactionManager>::get_transaction_depth(conn);
    if depth > 0 {
        tracing::debug!(
            depth,
            "a database connection left a transaction open; it is replaced"
        );
    }
    depth == 0
}

/// Options for opening the database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a connection waits for a lock held by another process.
    pub busy_timeout: Duration,
    /// Connections in the read pool.
    pub read_connections: u32,
}

/// The database: a read pool and a single-connection write pool on one SQLite file.
#[derive(Debug, Clone)]
pub struct Store {
    read: SqlitePool,
    write: SqlitePool,
}

impl Store {
    /// Opens (creating if missing) the database at `path` and applies pending migrations.
    pub async fn open(path: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str("sqlite:")
            .map_err(StoreError::Database)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .after_release(|conn, _| Box::pin(async move { Ok(transaction_closed(conn)) }))
            .connect_with(connect.clone())
            .await
            .map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                source: e,
            })?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&write)
            .await
            .map_err(StoreError::Migrate)?;
        let read = SqlitePoolOptions::new()
            .max_connections(options.read_connections)
            .connect_with(connect)
            .await
            .map_err(StoreError::Database)?;
        let store = Self { read, write };
        let upgraded = store.upgrade_stored_specs().await?;
        if upgraded > 0 {
            tracing::info!(checks = upgraded, "stored checks moved to the current form");
        }
        Ok(store)
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Closes both pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}
