//! The logs other instances follow: `changes` (written by triggers on PostgreSQL),
//! `pings` (heartbeat pings any instance received) and `agent_results` (agents' results any
//! instance received): what is new after a position, where each log ends now, and pruning.

use super::db::{Sql, Tx};
use super::statement_chunks::statement_chunks;
use super::{PING_LOCK, Store, StoreError};
use crate::domain::{CheckId, CheckName, LocationName, Outcome, Ping, PingKind, Timestamp};

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

    /// Removes entries of the logs older than an hour before `now`; how many.
    pub async fn prune_changes(&self, now: Timestamp) -> Result<u64, StoreError> {
        let mut pruned = 0;
        for table in ["changes", "pings", "agent_results", "contact_messages"] {
            pruned += Sql::new(format!("DELETE FROM {table} WHERE at < $1"))
                .bind(now.0 - KEEP_MS)
                .execute(self.writer())
                .await?;
        }
        Ok(pruned)
    }

    /// Logs a heartbeat ping for the instance holding its check.
    pub async fn log_ping(&self, ping: &Ping) -> Result<(), StoreError> {
        let mut tx = self.begin_serial(PING_LOCK).await?;
        Sql::new("INSERT INTO pings (check_id, kind, message, at) VALUES ($1, $2, $3, $4)")
            .bind(ping.check.0)
            .bind(ping.kind.code())
            .bind(ping.message.clone())
            .bind(ping.at.0)
            .execute(tx.on())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The position of the newest logged ping (0 when there is none).
    pub async fn newest_ping(&self) -> Result<i64, StoreError> {
        let newest: Option<i64> = Sql::new("SELECT MAX(id) FROM pings")
            .scalar_one(self.reader())
            .await?;
        Ok(newest.unwrap_or(0))
    }

    /// The pings logged after `after` (a bounded number) and the position of the last one.
    pub async fn pings_after(&self, after: i64) -> Result<(i64, Vec<Ping>), StoreError> {
        let rows: Vec<PingRow> =
            Sql::new(format!("{SELECT_PING} WHERE id > $1 ORDER BY id LIMIT $2"))
                .bind(after)
                .bind(CHANGES_PER_READ)
                .fetch_all(self.reader())
                .await?;
        let through = rows.last().map_or(after, |row| row.0);
        Ok((through, rows.into_iter().filter_map(ping).collect()))
    }

    /// The logged pings of these checks at or after `since`, oldest first: what an
    /// instance taking their shard over judges if their stored state is older.
    pub async fn pings_since(
        &self,
        ids: &[CheckId],
        since: Timestamp,
    ) -> Result<Vec<Ping>, StoreError> {
        let mut pings = Vec::new();
        for chunk in ids.chunks(super::checks::NAMES_PER_QUERY) {
            let mut query = Sql::new(SELECT_PING);
            query.push(" WHERE at >= ").push_bind(since.0);
            query.push(" AND check_id IN ");
            query.push_list(chunk.iter().map(|id| id.0));
            query.push(" ORDER BY id");
            let rows: Vec<PingRow> = query.fetch_all(self.reader()).await?;
            pings.extend(rows.into_iter().filter_map(ping));
        }
        Ok(pings)
    }
}

/// Agents' results from one location, by check.
pub type AgentResults = (LocationName, Vec<(CheckId, Outcome)>);

impl Store {
    /// Logs an agent's results for the instances holding their checks (under the pings'
    /// lock, so ids grow in commit order).
    pub async fn log_agent_results(
        &self,
        location: &LocationName,
        outcomes: &[(CheckId, Outcome)],
    ) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_serial(PING_LOCK).await?;
        let rows: Vec<_> = outcomes
            .iter()
            .map(|(check, outcome)| (location, *check, outcome))
            .collect();
        log_results(&mut tx, &rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The position of the newest logged agent result (0 when there is none).
    pub async fn newest_agent_result(&self) -> Result<i64, StoreError> {
        let newest: Option<i64> = Sql::new("SELECT MAX(id) FROM agent_results")
            .scalar_one(self.reader())
            .await?;
        Ok(newest.unwrap_or(0))
    }

    /// The agents' results logged after `after` (a bounded number), in order, runs of one
    /// location together, and the position of the last one.
    pub async fn agent_results_after(
        &self,
        after: i64,
    ) -> Result<(i64, Vec<AgentResults>), StoreError> {
        let rows: Vec<(i64, String, i64, String)> = Sql::new(
            "SELECT id, location, check_id, outcome FROM agent_results WHERE id > $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(CHANGES_PER_READ)
        .fetch_all(self.reader())
        .await?;
        let through = rows.last().map_or(after, |row| row.0);
        let mut runs: Vec<AgentResults> = Vec::new();
        for (_, location, check, outcome) in rows {
            // Written by this code from the same types; anything else is skipped.
            let (Ok(location), Ok(outcome)) = (
                location.parse::<LocationName>(),
                serde_json::from_str::<Outcome>(&outcome),
            ) else {
                continue;
            };
            match runs.last_mut() {
                Some((l, outcomes)) if *l == location => outcomes.push((CheckId(check), outcome)),
                _ => runs.push((location, vec![(CheckId(check), outcome)])),
            }
        }
        Ok((through, runs))
    }
}

/// Rows per statement of the agents' log, at most: 4 parameters each. A power of two, see
/// [`statement_chunks`].
const LOGGED_PER_STATEMENT: usize = 1_024;

/// Inserts results into the agents' log, in a transaction that holds the pings' lock.
pub(super) async fn log_results(
    tx: &mut Tx,
    rows: &[(&LocationName, CheckId, &Outcome)],
) -> Result<(), StoreError> {
    for chunk in statement_chunks(rows, LOGGED_PER_STATEMENT) {
        let mut query = Sql::new("INSERT INTO agent_results (location, check_id, outcome, at) ");
        query.push_values(chunk, |row, (location, check, outcome)| {
            row.push_bind(location.to_string())
                .push_bind(check.0)
                .push_bind(serde_json::to_string(outcome).unwrap_or_default())
                .push_bind(outcome.started_at.0);
        });
        query.execute(tx.on()).await?;
    }
    Ok(())
}

const SELECT_PING: &str = "SELECT id, check_id, kind, message, at FROM pings";

/// A logged ping: id, check, kind, message, time.
type PingRow = (i64, i64, i64, Option<String>, i64);

fn ping((_, check, kind, message, at): PingRow) -> Option<Ping> {
    Some(Ping {
        check: CheckId(check),
        kind: PingKind::from_code(kind)?,
        message,
        at: Timestamp(at),
    })
}
