//! The PostgreSQL database: its schema, applied by `stackwatch migrate`. The migrations in
//! `migrations/postgres` build the same tables and columns as the SQLite ones in PostgreSQL's
//! types; sqlx's migrator holds an advisory lock while it runs, so instances started
//! together against an empty database migrate it once.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

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
