//! `StoreError`: what can go wrong talking to the database, with its context.

use crate::domain::{CheckName, StackName};

/// A database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}")]
    Open {
        path: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot apply database migrations")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error(
        "{0} is not a stackwatch database of this version: run this version's `stackwatch \
         migrate` on its data directory first"
    )]
    NotCurrent(String),
    #[error(
        "PostgreSQL database {place} is not empty (table {table} has rows): copy into an empty one"
    )]
    NotEmpty { place: String, table: &'static str },
    #[error("unexpected database schema: {0}")]
    Schema(String),
    #[error(transparent)]
    BadBlock(#[from] super::block_codec::BadBlock),
    #[error("stored check {name} cannot be read: {reason}")]
    Corrupt { name: String, reason: String },
    #[error("check {name}: depends_on {reason}")]
    Dependency {
        /// Position of the check in the request.
        index: usize,
        name: CheckName,
        reason: String,
    },
    #[error("check {name} belongs to stack {owner}")]
    OwnedByOtherStack {
        /// Position of the check in the request.
        index: usize,
        name: CheckName,
        owner: StackName,
    },
}
