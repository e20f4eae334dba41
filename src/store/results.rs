//! Probe results: the batched write of everything one probe causes (result, state,
//! incident, alerts) in one transaction.

use std::collections::HashSet;

use sqlx::FromRow;

use super::db::{Sql, Tx};
use super::record::{Change, MONITOR_ALERT_NAME, MONITOR_CHECK_ID, Record, Write};
use super::statement_chunks::statement_chunks;
use super::{PING_LOCK, Store, StoreError};
use crate::domain::{AlertKind, CheckId, Transition};

/// A stored probe result.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ResultRow {
    pub at: i64,
    /// The location that probed.
    pub location: String,
    pub outcome: i64,
    pub status: Option<i64>,
    pub dns_ms: Option<i64>,
    pub connect_ms: Option<i64>,
    pub tls_ms: Option<i64>,
    pub ttfb_ms: Option<i64>,
    pub total_ms: i64,
    pub error: Option<String>,
    /// ICMP: echo requests without a reply.
    pub lost: Option<i64>,
}

impl ResultRow {
    pub fn up(&self) -> bool {
        self.outcome == 0
    }
}

impl Store {
    /// Writes a batch of records in one transaction: all of it or nothing. The results and
    /// states of the whole batch go in a few multi-row statements (each statement is a
    /// round trip to SQLite's thread); alerts and incidents follow, record by record, in
    /// order.
    ///
    /// Each state write is a compare-and-set on the row's version: a change judged from a
    /// state another instance has since replaced writes nothing but its result (no state,
    /// incident or alert), nor does any later change of that check in the batch. Returns
    /// the checks whose changes were refused so, whose known state is stale.
    pub async fn record(&self, batch: &[Write]) -> Result<Vec<CheckId>, StoreError> {
        let forwarded: Vec<_> = batch
            .iter()
            .filter_map(|w| match w {
                Write::Forward(r) => Some((&*r.location, r.check_id, &r.outcome)),
                _ => None,
            })
            .collect();
        // The agents' log is written under the pings' lock, so its ids grow in commit order.
        let mut tx = if forwarded.is_empty() {
            self.begin().await?
        } else {
            self.begin_serial(PING_LOCK).await?
        };
        super::changes::log_results(&mut tx, &forwarded).await?;
        let probes: Vec<&Record> = batch
            .iter()
            .filter_map(|w| match w {
                Write::Probe(record) => Some(record),
                Write::Monitor { .. } | Write::Forward(_) => None,
            })
            .collect();
        for chunk in statement_chunks(&probes, ROWS_PER_STATEMENT) {
            insert_results(&mut tx, chunk).await?;
        }
        // Most probes of a steady check leave its state as it was: only changes are written.
        let changed: Vec<(usize, &Record, &Change)> = batch
            .iter()
            .enumerate()
            .filter_map(|(i, w)| match w {
                Write::Probe(r) => Some((i, r, r.change.as_deref()?)),
                Write::Monitor { .. } | Write::Forward(_) => None,
            })
            .collect();
        let mut refused: HashSet<usize> = HashSet::new();
        let mut lost: HashSet<CheckId> = HashSet::new();
        for run in distinct_runs(&changed, |(_, r, _)| r.check_id) {
            let live: Vec<(&Record, &Change)> = run
                .iter()
                .filter(|(_, r, _)| !lost.contains(&r.check_id))
                .map(|(_, r, c)| (*r, *c))
                .collect();
            let mut written = HashSet::new();
            for chunk in statement_chunks(&live, ROWS_PER_STATEMENT) {
                written.extend(upsert_states(&mut tx, chunk).await?);
            }
            for (i, r, _) in run {
                if !written.contains(&r.check_id.0) {
                    refused.insert(*i);
                    lost.insert(r.check_id);
                }
            }
        }
        for (i, write) in batch.iter().enumerate() {
            match write {
                Write::Probe(_) if refused.contains(&i) => {}
                Write::Forward(_) => {}
                Write::Probe(record) => record_events(&mut tx, record).await?,
                Write::Monitor { alert, at } => {
                    super::alerts::insert_alert(
                        &mut tx,
                        MONITOR_CHECK_ID,
                        MONITOR_ALERT_NAME,
                        alert,
                        *at,
                    )
                    .await?;
                }
            }
        }
        // A deleted check's state is not written either; only existing ones are stale.
        let stale = if lost.is_empty() {
            Vec::new()
        } else {
            let mut query = Sql::new("SELECT id FROM checks WHERE id IN ");
            query.push_list(lost.iter().map(|id| id.0));
            let ids: Vec<i64> = query.scalar_all(tx.on()).await?;
            ids.into_iter().map(CheckId).collect()
        };
        tx.commit().await?;
        Ok(stale)
    }
}

/// Rows per multi-row statement, at most: 21 parameters each stays far below SQLite's
/// limit. A power of two, see [`statement_chunks`].
const ROWS_PER_STATEMENT: usize = 512;

/// A check deleted while its probe ran has no row to attach to: its rows are skipped
/// (`EXISTS`) rather than failing the whole batch on the foreign key.
const ONLY_EXISTING: &str = ") AS v WHERE EXISTS (SELECT 1 FROM checks c WHERE c.id = v.column1)";

async fn insert_results(tx: &mut Tx, records: &[&Record]) -> Result<(), StoreError> {
    let mut query = Sql::new(
        "INSERT INTO results (check_id, at, location, outcome, status, dns_ms, connect_ms, \
         tls_ms, ttfb_ms, total_ms, error, lost) SELECT * FROM (",
    );
    query.push_values(records, |row, record| {
        let outcome = &record.outcome;
        let t = &outcome.timings;
        row.push_bind(record.check_id.0)
            .push_bind(outcome.started_at.0)
            .push_bind(record.location.to_string())
            .push_bind(outcome.failure.as_ref().map_or(0, |f| i64::from(f.code())))
            .push_bind(outcome.status.map(i64::from))
            .push_bind(t.dns_ms.map(i64::from))
            .push_bind(t.connect_ms.map(i64::from))
            .push_bind(t.tls_ms.map(i64::from))
            .push_bind(t.ttfb_ms.map(i64::from))
            .push_bind(i64::from(t.total_ms))
            .push_bind(outcome.failure.as_ref().map(ToString::to_string))
            .push_bind(t.lost.map(i64::from));
    });
    query.push(ONLY_EXISTING);
    // The WHERE above lets SQLite read this as the upsert clause; a result recorded twice
    // (a retried batch) is kept once.
    query.push(" ON CONFLICT DO NOTHING");
    query.execute(tx.on()).await?;
    Ok(())
}

/// `items` cut, in order, into runs of at most [`ROWS_PER_STATEMENT`] in which no key
/// repeats: PostgreSQL refuses an upsert that changes one row twice, and statements run one
/// after another keep the later record of a check winning, as in one statement on SQLite.
fn distinct_runs<T, K: Eq + std::hash::Hash>(items: &[T], key: impl Fn(&T) -> K) -> Vec<&[T]> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut seen = std::collections::HashSet::new();
    for (i, item) in items.iter().enumerate() {
        if i - start == ROWS_PER_STATEMENT || !seen.insert(key(item)) {
            runs.push(&items[start..i]);
            start = i;
            seen.clear();
            seen.insert(key(item));
        }
    }
    if start < items.len() {
        runs.push(&items[start..]);
    }
    runs
}

/// Writes these states, each only where the row is still at the version the change was
/// judged from (or absent); returns the ids of the checks whose rows were written.
async fn upsert_states(
    tx: &mut Tx,
    records: &[(&Record, &Change)],
) -> Result<HashSet<i64>, StoreError> {
    if records.is_empty() {
        return Ok(HashSet::new());
    }
    let mut query = Sql::new(
        "INSERT INTO check_state \
         (check_id, health, since, failures, successes, failing_since, cert_not_after, \
          alerted_health, down_since, last_down_alert_at, cert_warned_at, last_cause, \
          last_at, last_total_ms, version, votes, flaps, impacted_by, slow, fast, \
          degraded_since) SELECT * FROM (",
    );
    query.push_values(records, |row, (record, change)| {
        let (s, m, outcome) = (&change.state, &change.memory, &record.outcome);
        row.push_bind(record.check_id.0)
            .push_bind(i64::from(s.health.code()))
            .push_bind(s.since.0)
            .push_bind(i64::from(s.failures))
            .push_bind(i64::from(s.successes))
            .push_bind(s.failing_since.map(|t| t.0))
            .push_bind(outcome.cert_not_after.map(|t| t.0))
            .push_bind(m.alerted.map(|h| i64::from(h.code())))
            .push_bind(m.down_since.map(|t| t.0))
            .push_bind(m.last_down_alert_at.map(|t| t.0))
            .push_bind(m.cert_warned_at.map(|t| t.0))
            .push_bind(m.last_cause.clone())
            .push_bind(outcome.started_at.0)
            .push_bind(i64::from(outcome.timings.total_ms))
            .push_bind(change.version)
            .push_bind(
                (!change.votes.is_empty())
                    .then(|| serde_json::to_string(&change.votes).unwrap_or_default()),
            )
            .push_bind(
                (m.flaps != Default::default())
                    .then(|| serde_json::to_string(&m.flaps).unwrap_or_default()),
            )
            .push_bind(m.impacted_by.as_ref().map(ToString::to_string))
            .push_bind(i64::from(s.slow))
            .push_bind(i64::from(s.fast))
            .push_bind(m.degraded_since.map(|t| t.0));
    });
    query.push(ONLY_EXISTING);
    // Rows of one statement apply in order, so a check's later record in the batch wins.
    query.push(
        " ON CONFLICT (check_id) DO UPDATE SET health = excluded.health, \
         since = excluded.since, failures = excluded.failures, \
         successes = excluded.successes, failing_since = excluded.failing_since, \
         cert_not_after = COALESCE(excluded.cert_not_after, check_state.cert_not_after), \
         alerted_health = excluded.alerted_health, down_since = excluded.down_since, \
         last_down_alert_at = excluded.last_down_alert_at, \
         cert_warned_at = excluded.cert_warned_at, last_cause = excluded.last_cause, \
         last_at = excluded.last_at, last_total_ms = excluded.last_total_ms, \
         version = excluded.version, votes = excluded.votes, flaps = excluded.flaps, \
         impacted_by = excluded.impacted_by, slow = excluded.slow, fast = excluded.fast, \
         degraded_since = excluded.degraded_since \
         WHERE check_state.version = excluded.version - 1 RETURNING check_id",
    );
    Ok(query.scalar_all(tx.on()).await?.into_iter().collect())
}

/// The alerts and the incident change one record carries, if any.
async fn record_events(tx: &mut Tx, record: &Record) -> Result<(), StoreError> {
    let Some(change) = record.change.as_deref() else {
        return Ok(());
    };
    if change.alerts.is_empty() && change.transition.is_none() {
        return Ok(());
    }
    let outcome = &record.outcome;
    // The incident's cause is the alert's, in the same plain words.
    let cause = change
        .memory
        .last_cause
        .clone()
        .or_else(|| outcome.failure.as_ref().map(ToString::to_string))
        .unwrap_or_else(|| "down".to_owned());
    let exists = Sql::new("SELECT id FROM checks WHERE id = $1")
        .bind(record.check_id.0)
        .scalar_optional::<i64>(tx.on())
        .await?
        .is_some();
    if !exists {
        return Ok(());
    }
    for alert in &change.alerts {
        if alert.event.kind == AlertKind::Reminder && acknowledged(tx, record.check_id).await? {
            // Someone is on it: an acknowledged outage is not reminded of.
            continue;
        }
        super::alerts::insert_alert(
            tx,
            record.check_id,
            change.check_name.as_str(),
            alert,
            outcome.started_at,
        )
        .await?;
    }
    match change.transition {
        Some(Transition::WentDown { since }) => {
            // The partial unique index allows one open incident per check; an existing one
            // (from before a restart) stays the open one.
            Sql::new(
                "INSERT INTO incidents (check_id, check_name, opened_at, cause) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(record.check_id.0)
            .bind(change.check_name.as_str())
            .bind(since.0)
            .bind(cause)
            .execute(tx.on())
            .await?;
        }
        Some(Transition::Recovered) => {
            Sql::new(
                "UPDATE incidents SET resolved_at = $1 WHERE check_id = $2 AND resolved_at IS NULL",
            )
            .bind(outcome.started_at.0)
            .bind(record.check_id.0)
            .execute(tx.on())
            .await?;
        }
        // Slow is not down: no incident opens or closes.
        Some(Transition::FirstUp | Transition::Degraded | Transition::Restored) | None => {}
    }
    Ok(())
}

/// Whether the check's open incident was acknowledged.
async fn acknowledged(tx: &mut Tx, check: CheckId) -> Result<bool, StoreError> {
    let acked: Option<Option<i64>> =
        Sql::new("SELECT acked_at FROM incidents WHERE check_id = $1 AND resolved_at IS NULL")
            .bind(check.0)
            .scalar_optional(tx.on())
            .await?;
    Ok(acked.flatten().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_break_where_a_key_repeats_and_keep_the_order() {
        let items = [1, 2, 3, 2, 4, 1, 1];
        let runs = distinct_runs(&items, |i| *i);
        assert_eq!(runs, vec![&[1, 2, 3][..], &[2, 4, 1][..], &[1][..]]);
        let many: Vec<usize> = (0..ROWS_PER_STATEMENT * 2 + 1).collect();
        let lengths: Vec<usize> = distinct_runs(&many, |i| *i)
            .iter()
            .map(|r| r.len())
            .collect();
        assert_eq!(lengths, vec![ROWS_PER_STATEMENT, ROWS_PER_STATEMENT, 1]);
        assert!(distinct_runs(&[] as &[u8], |i| *i).is_empty());
    }
}
