//! Where a check's results are read from and how closed hours are compacted: the open hours'
//! results are rows of `results`; once the rollup job has rolled an hour up, that hour's rows
//! move into one block of `result_blocks` (see `block_codec`), and reads merge the two.

use std::collections::BTreeMap;

use super::db::{Sql, Tx};
use super::results::ResultRow;
use super::{HOUR_MS, Store, StoreError, block_codec};
use crate::domain::{CheckId, Timestamp};

/// Blocks read per query when walking back from the newest.
const BLOCKS_PER_QUERY: i64 = 24;

const SELECT_ROWS: &str = "SELECT at, location, outcome, status, dns_ms, connect_ms, tls_ms, ttfb_ms, \
     total_ms, error, lost FROM results";

/// One check's raw results in `[from_hour, to_hour)`, in time order, grouped by hour.
pub(super) async fn raw_hours(
    tx: &mut Tx,
    id: CheckId,
    from_hour: i64,
    to_hour: i64,
) -> Result<BTreeMap<i64, Vec<ResultRow>>, StoreError> {
    let rows: Vec<ResultRow> = Sql::new(format!(
        "{SELECT_ROWS} WHERE check_id = $1 AND at >= $2 AND at < $3 ORDER BY at, location"
    ))
    .bind(id.0)
    .bind(from_hour.saturating_mul(HOUR_MS))
    .bind(to_hour.saturating_mul(HOUR_MS))
    .fetch_all(tx.on())
    .await?;
    let mut hours: BTreeMap<i64, Vec<ResultRow>> = BTreeMap::new();
    for row in rows {
        hours
            .entry(row.at.div_euclid(HOUR_MS))
            .or_default()
            .push(row);
    }
    Ok(hours)
}

/// Moves these hours of one check's raw results into blocks, merging with a block the hour
/// already has (results recorded after it was compacted). Probes that change nothing do not
/// write the state row, so the newest result leaving the raw rows is kept there: its time
/// stays one seek away for the scheduler (a heartbeat's last ping).
pub(super) async fn compact(
    tx: &mut Tx,
    id: CheckId,
    hours: BTreeMap<i64, Vec<ResultRow>>,
) -> Result<(), StoreError> {
    if let Some(newest) = hours.values().flatten().max_by_key(|r| r.at) {
        Sql::new(
            "UPDATE check_state SET last_at = $1, last_total_ms = $2 \
             WHERE check_id = $3 AND (last_at IS NULL OR last_at < $4)",
        )
        .bind(newest.at)
        .bind(newest.total_ms)
        .bind(id.0)
        .bind(newest.at)
        .execute(tx.on())
        .await?;
    }
    for (hour, mut rows) in hours {
        let start = hour * HOUR_MS;
        let existing: Option<Vec<u8>> =
            Sql::new("SELECT data FROM result_blocks WHERE check_id = $1 AND hour = $2")
                .bind(id.0)
                .bind(hour)
                .scalar_optional(tx.on())
                .await?;
        if let Some(block) = existing {
            rows.extend(block_codec::decode(start, &block)?);
            rows.sort_by_key(|r| r.at);
            rows.dedup_by_key(|r| r.at);
        }
        Sql::new(
            "INSERT INTO result_blocks (check_id, hour, count, data) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (check_id, hour) DO UPDATE SET count = excluded.count, data = excluded.data",
        )
        .bind(id.0)
        .bind(hour)
        .bind(rows.len() as i64)
        .bind(block_codec::encode(start, &rows))
        .execute(tx.on())
        .await?;
        Sql::new("DELETE FROM results WHERE check_id = $1 AND at >= $2 AND at < $3")
            .bind(id.0)
            .bind(start)
            .bind(start + HOUR_MS)
            .execute(tx.on())
            .await?;
    }
    Ok(())
}

/// Deletes one check's results before `cutoff` from its blocks; returns how many.
pub(super) async fn prune(tx: &mut Tx, id: CheckId, cutoff: Timestamp) -> Result<u64, StoreError> {
    let cutoff_hour = cutoff.0.div_euclid(HOUR_MS);
    let counts: Vec<i64> =
        Sql::new("DELETE FROM result_blocks WHERE check_id = $1 AND hour < $2 RETURNING count")
            .bind(id.0)
            .bind(cutoff_hour)
            .scalar_all(tx.on())
            .await?;
    let mut pruned: u64 = counts.iter().map(|c| u64::try_from(*c).unwrap_or(0)).sum();
    // The hour the cutoff falls in keeps its younger part.
    let straddling: Option<Vec<u8>> =
        Sql::new("SELECT data FROM result_blocks WHERE check_id = $1 AND hour = $2")
            .bind(id.0)
            .bind(cutoff_hour)
            .scalar_optional(tx.on())
            .await?;
    if let Some(block) = straddling {
        let start = cutoff_hour * HOUR_MS;
        let mut rows = block_codec::decode(start, &block)?;
        let before = rows.len();
        rows.retain(|r| r.at >= cutoff.0);
        if rows.len() < before {
            pruned += (before - rows.len()) as u64;
            Sql::new("DELETE FROM result_blocks WHERE check_id = $1 AND hour = $2")
                .bind(id.0)
                .bind(cutoff_hour)
                .execute(tx.on())
                .await?;
            let mut hours = BTreeMap::new();
            if !rows.is_empty() {
                hours.insert(cutoff_hour, rows);
            }
            compact(tx, id, hours).await?;
        }
    }
    Ok(pruned)
}

impl Store {
    /// Results of a check, newest first, with `since <= at < until`, at most `limit`.
    pub async fn results(
        &self,
        id: CheckId,
        since: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ResultRow>, StoreError> {
        self.results_from(id, None, since, until, limit).await
    }

    /// As [`Store::results`], only those probed from `location` when one is given.
    pub async fn results_from(
        &self,
        id: CheckId,
        location: Option<&str>,
        since: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ResultRow>, StoreError> {
        let limit = limit as usize;
        let mut query = Sql::new(format!(
            "{SELECT_ROWS} WHERE check_id = $1 AND at >= $2 AND at < $3"
        ))
        .bind(id.0)
        .bind(since.0)
        .bind(until.0);
        if let Some(location) = location {
            query
                .push(" AND location = ")
                .push_bind(location.to_owned());
        }
        query
            .push(" ORDER BY at DESC, location DESC LIMIT ")
            .push_bind(limit as i64);
        let mut rows: Vec<ResultRow> = query.fetch_all(self.reader()).await?;
        // Blocks hold disjoint hours: once `limit` results come from blocks newer than the
        // next one, nothing older can be among the newest `limit`.
        let mut from_blocks = 0;
        let mut below_hour = until
            .0
            .saturating_sub(1)
            .div_euclid(HOUR_MS)
            .saturating_add(1);
        while from_blocks < limit {
            let blocks = self.blocks_before(id, since, below_hour).await?;
            let Some((oldest, _)) = blocks.last() else {
                break;
            };
            below_hour = *oldest;
            for (hour, data) in &blocks {
                let decoded = block_codec::decode(hour * HOUR_MS, data)?;
                let in_range = decoded.into_iter().filter(|r| {
                    r.at >= since.0 && r.at < until.0 && location.is_none_or(|l| l == r.location)
                });
                let before = rows.len();
                rows.extend(in_range);
                from_blocks += rows.len() - before;
            }
        }
        rows.sort_by_key(|r| std::cmp::Reverse(r.at));
        rows.truncate(limit);
        Ok(rows)
    }

    /// Every result of a check with `since <= at < until`, in time order.
    pub async fn results_between(
        &self,
        id: CheckId,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<ResultRow>, StoreError> {
        let mut rows = self.results(id, since, until, u32::MAX).await?;
        rows.reverse();
        Ok(rows)
    }

    /// Up to [`BLOCKS_PER_QUERY`] blocks of a check from the hour of `since` to before
    /// `below_hour`, newest first.
    async fn blocks_before(
        &self,
        id: CheckId,
        since: Timestamp,
        below_hour: i64,
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        Ok(Sql::new(
            "SELECT hour, data FROM result_blocks WHERE check_id = $1 AND hour >= $2 AND hour < $3 \
             ORDER BY hour DESC LIMIT $4",
        )
        .bind(id.0)
        .bind(since.0.div_euclid(HOUR_MS))
        .bind(below_hour)
        .bind(BLOCKS_PER_QUERY)
        .fetch_all(self.reader())
        .await?)
    }
}
