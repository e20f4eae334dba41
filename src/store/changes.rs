//! The change log other instances follow (`changes`, written by triggers on PostgreSQL):
//! what is new after a position, where the log ends now, and pruning.

use super::db::Sql;
use super::{Store, StoreError};
use crate::domain::{CheckName, Timestamp};

/// Entries read per call.
const CHANGES_PER_READ: i64 = 10_000;

/// How long entries are kept: instances read every second, so an hour is ample.
const KEEP_MS: i64 = 3_600_000;

/// What changed after a position of the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// The position of the last entry read: where the next read starts.
    pub through: i64,
    /// Checks created, changed or deleted, by name.
    pub checks: Vec<CheckName>,
    /// Whether maintenance windows changed.
    pub windows: bool,
}

impl Store {
    /// The position of the newest entry of the log (0 when it is empty).
    pub async fn newest_change(&self) -> Result<i64, StoreError> {
        let newest: Option<i64> = Sql::new("SELECT MAX(id) FROM changes")
            .scalar_one(self.reader())
            .await?;
        Ok(newest.unwrap_or(0))
    }

    /// The changes logged after `after`, up to a bounded number of entries.
    pub async fn changes_after(&self, after: i64) -> Result<Changes, StoreError> {
        let rows: Vec<(i64, Option<String>)> =
            Sql::new("SELECT id, check_name FROM changes WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(CHANGES_PER_READ)
                .fetch_all(self.reader())
                .await?;
        let mut changes = Changes {
            through: rows.last().map_or(after, |(id, _)| *id),
            ..Changes::default()
        };
        for (_, name) in rows {
            match name.map(|n| n.parse::<CheckName>()) {
                Some(Ok(name)) => changes.checks.push(name),
                Some(Err(_)) => {} // not a name a check can have: nothing to reload
                None => changes.windows = true,
            }
        }
        changes.checks.sort();
        changes.checks.dedup();
        Ok(changes)
    }

    /// Removes entries older than an hour before `now`; how many.
    pub async fn prune_changes(&self, now: Timestamp) -> Result<u64, StoreError> {
        Ok(Sql::new("DELETE FROM changes WHERE at < $1")
            .bind(now.0 - KEEP_MS)
            .execute(self.writer())
            .await?)
    }
}
