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
    #[error(transparent)]
    BadBlock(#[from] super::block_codec::BadBlock),
    #[error("stored check {name} cannot be read: {reason}")]
    Corrupt { name: String, reason: String },
    #[error("check {name} belongs to stack {owner}")]
    OwnedByOtherStack {
        /// Position of the check in the request.
        index: usize,
        name: CheckName,
        owner: StackName,
    },
}
