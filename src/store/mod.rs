//! Persistent state in SQLite or PostgreSQL through sqlx: opening and migrating the
//! database, and the queries of each kind of record (one file per kind), each written once
//! for both (`db.rs`). On SQLite, reads use a pool and every write goes through one
//! dedicated connection, so writers queue in process instead of failing on SQLite's single
//! write lock; on PostgreSQL one pool serves both.

mod aggregate;
mod alerts;
mod block_codec;
mod changes;
mod check_write;
mod checks;
mod dashboard;
mod db;
mod delivery_status;
mod dependencies;
mod error;
mod incidents;
mod latency;
mod leases;
mod live;
mod locations;
mod maintenance;
mod metric_rows;
mod overview;
mod postgres;
mod record;
mod result_blocks;
mod results;
mod rollups;
mod spec_form;
mod sqlite_params;
mod stacks;
mod statement_chunks;
mod states;
mod statuscake;
mod subscribers;
mod updates;
mod webhooks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use db::{Dialect, On, Sql, Tx};

pub use alerts::{AlertFilter, DeliveryRow, DueDelivery, StoredAlert};
pub use changes::Changes;
pub use check_write::{CheckWrite, Upsert, WriteMode};
pub use checks::{CheckFilter, PageStart};
pub use dashboard::{DashboardPage, DashboardQuery};
pub use delivery_status::{AttemptResult, DeliveryStatus};
pub use error::StoreError;
pub use incidents::{Acked, IncidentFilter, IncidentRow};
pub use latency::LatencyPoint;
pub use leases::{JobTurn, Member, SHARDS, shard_of};
pub use live::{LiveCheck, StateGroup};
pub use locations::LocationRow;
pub use metric_rows::{MetricPack, MetricRow};
pub use overview::{Day, OverviewRow, Tally};
pub use postgres::{CopyReport, copy_from_sqlite, migrate_postgres};
pub use record::{Change, MONITOR_ALERT_NAME, MONITOR_CHECK_ID, NewAlert, Record, Write};
pub use results::ResultRow;
pub use rollups::{Retention, RollupReport, Uptime, UptimeWindow};
pub use spec_form::SPEC_VERSION;
pub use spec_form::{decode as decode_spec, encode as encode_spec};
pub use stacks::StackSync;
pub use states::StoredState;
pub use statuscake::{StatusCakeFields, is_ssl_test, mark_ssl_test};
pub use subscribers::{MailOutcome, SubscriberMail, Subscription};
pub use updates::{StatusUpdate, UpdateRevision};
pub use webhooks::WebhookSubscriber;

/// The PostgreSQL advisory lock key that configuration writes hold (any constant no other
/// user of the database takes; ASCII "stackwat").
const CONFIG_LOCK: i64 = 0x7374_6163_6b77_6174;

/// The advisory lock key that logging a heartbeat ping holds ("stackpng"), so the ping
/// log's ids grow in commit order without waiting on configuration writes.
const PING_LOCK: i64 = 0x7374_6163_6b70_6e67;

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

/// The database: a SQLite file (a read pool and a single-connection write pool) or a
/// PostgreSQL server (one pool).
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
}

#[derive(Debug, Clone)]
enum Db {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
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
        let store = Self::ready(Self {
            db: Db::Sqlite { read, write },
        })
        .await?;
        // One process holds a SQLite database: a claim left in it is its own from before.
        store.release_claims().await?;
        Ok(store)
    }

    /// Connects to the PostgreSQL database at `url` (`place` names it in errors without the
    /// URL's credentials) and applies pending migrations.
    pub async fn open_postgres(
        url: &str,
        place: &str,
        options: &StoreOptions,
    ) -> Result<Self, StoreError> {
        let open = |source| StoreError::Open {
            path: place.to_owned(),
            source,
        };
        let connect = PgConnectOptions::from_str(url).map_err(open)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.read_connections.saturating_add(2))
            .acquire_timeout(options.busy_timeout.max(Duration::from_secs(1)))
            .connect_with(connect)
            .await
            .map_err(open)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(StoreError::Migrate)?;
        Self::ready(Self {
            db: Db::Postgres(pool),
        })
        .await
    }

    /// Moves stored specs to the current form; the store, ready to use.
    async fn ready(store: Self) -> Result<Self, StoreError> {
        let upgraded = store.upgrade_stored_specs().await?;
        if upgraded > 0 {
            tracing::info!(checks = upgraded, "stored checks moved to the current form");
        }
        Ok(store)
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        Sql::new("SELECT 1").execute(self.reader()).await?;
        Ok(())
    }

    /// Closes the pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }

    /// Where a read runs.
    fn reader(&self) -> On<'_> {
        match &self.db {
            Db::Sqlite { read, .. } => On::SqlitePool(read),
            Db::Postgres(pool) => On::PgPool(pool),
        }
    }

    /// Where a single write outside a transaction runs.
    fn writer(&self) -> On<'_> {
        match &self.db {
            Db::Sqlite { write, .. } => On::SqlitePool(write),
            Db::Postgres(pool) => On::PgPool(pool),
        }
    }

    /// A write transaction.
    async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match &self.db {
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin().await?),
            Db::Postgres(pool) => Tx::Pg(pool.begin().await?),
        })
    }

    /// A write transaction that changes the configuration (checks, stacks, windows): such
    /// transactions run one at a time, as every write does on SQLite, so two clients
    /// creating one check at once make one row and one "created" answer, and the change
    /// log's ids grow in commit order. On PostgreSQL a transaction-scoped advisory lock
    /// does it; probe results do not take it.
    async fn begin_config(&self) -> Result<Tx, StoreError> {
        self.begin_serial(CONFIG_LOCK).await
    }

    /// A write transaction that holds the advisory lock `key` on PostgreSQL until it ends
    /// (on SQLite every write transaction runs alone anyway).
    async fn begin_serial(&self, key: i64) -> Result<Tx, StoreError> {
        let mut tx = self.begin().await?;
        if let Tx::Pg(_) = tx {
            Sql::new("SELECT pg_advisory_xact_lock($1)")
                .bind(key)
                .execute(tx.on())
                .await?;
        }
        Ok(tx)
    }

    /// Whether other instances may share this database (PostgreSQL): then a heartbeat
    /// ping is logged for the instance holding its check rather than judged at once.
    pub fn is_shared(&self) -> bool {
        matches!(self.db, Db::Postgres(_))
    }

    /// The SQL spellings of this store's database.
    fn dialect(&self) -> Dialect {
        match &self.db {
            Db::Sqlite { .. } => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }
}
