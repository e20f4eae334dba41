//! Rollups and retention: raw results are aggregated per check and hour (count, up count,
//! latency sum/min/max, p50, p95), hours into days, then pruned by age; uptime figures are
//! read from the rollups plus the raw results of hours not rolled up yet.

use std::collections::BTreeMap;

use sqlx::FromRow;

use super::aggregate::{Aggregate, aggregate, by_hour, combine};
use super::db::{Sql, Tx};
use super::{HOUR_MS, Store, StoreError};
use crate::domain::{CheckId, Timestamp};

const DAY_MS: i64 = 86_400_000;
/// The first hour whose results are not rolled up yet.
const META_ROLLED_HOUR: &str = "rolled_up_to_hour";
/// Checks rolled up per transaction, so probe writes are not held back for long.
const CHECKS_PER_TRANSACTION: usize = 200;

/// How long each kind of data is kept, in days.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub raw_days: u32,
    pub hourly_days: u32,
    pub daily_days: u32,
}

/// What one run of the rollup job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollupReport {
    pub hourly_rows: u64,
    pub daily_rows: u64,
    pub results_pruned: u64,
    pub hourly_pruned: u64,
    pub daily_pruned: u64,
}

/// Uptime over one window ending now.
#[derive(Debug, Clone, PartialEq)]
pub struct UptimeWindow {
    /// `24h`, `7d` or `30d`.
    pub window: &'static str,
    pub probes: i64,
    pub up_probes: i64,
    /// Up probes over all probes, in percent; `None` without probes.
    pub uptime_percent: Option<f64>,
    /// Up probes within the check's `degraded_after_ms` over all probes, in percent;
    /// `None` without probes or without `degraded_after_ms`.
    pub within_slo_percent: Option<f64>,
    /// Count-weighted median of the hours' p50 response times (up probes only).
    pub p50_ms: Option<i64>,
    /// Count-weighted median of the hours' p95 response times (up probes only).
    pub p95_ms: Option<i64>,
}

/// Uptime over the standard windows.
pub type Uptime = Vec<UptimeWindow>;

/// One check's hourly rows in `[from, to)` hours.
const SELECT_HOURS: &str = "SELECT hour, count, up_count, slow_count, latency_sum, latency_min, \
     latency_max, p50, p95 FROM rollups_hourly WHERE check_id = $1 AND hour >= $2 AND hour < $3";

#[derive(FromRow)]
struct HourRow {
    hour: i64,
    #[sqlx(flatten)]
    aggregate: Aggregate,
}

impl Store {
    /// Rolls up every complete hour and day not rolled up yet, then prunes by age.
    pub async fn rollup_and_prune(
        &self,
        now: Timestamp,
        retention: &Retention,
    ) -> Result<RollupReport, StoreError> {
        let mut report = RollupReport::default();
        let current_hour = now.0.div_euclid(HOUR_MS);
        let from_hour = self.rolled_hour().await?.unwrap_or(
            Sql::new("SELECT MIN(at) FROM results")
                .scalar_one::<Option<i64>>(self.reader())
                .await?
                .map_or(current_hour, |at| at.div_euclid(HOUR_MS)),
        );
        if from_hour < current_hour {
            let ids: Vec<i64> = Sql::new("SELECT id FROM checks ORDER BY id")
                .scalar_all(self.reader())
                .await?;
            for chunk in ids.chunks(CHECKS_PER_TRANSACTION) {
                let mut tx = self.begin().await?;
                for id in chunk {
                    let (hours, days) =
                        rollup_check(&mut tx, CheckId(*id), from_hour, current_hour).await?;
                    report.hourly_rows += hours;
                    report.daily_rows += days;
                }
                tx.commit().await?;
            }
            Sql::new("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(META_ROLLED_HOUR)
                .bind(current_hour)
                .execute(self.writer())
                .await?;
        }
        self.prune(now, retention, &mut report).await?;
        Ok(report)
    }

    /// The first hour not rolled up yet (`None` before the first rollup).
    pub(super) async fn rolled_hour(&self) -> Result<Option<i64>, StoreError> {
        Ok(Sql::new("SELECT value FROM meta WHERE key = $1")
            .bind(META_ROLLED_HOUR)
            .scalar_optional(self.reader())
            .await?)
    }

    async fn prune(
        &self,
        now: Timestamp,
        retention: &Retention,
        report: &mut RollupReport,
    ) -> Result<(), StoreError> {
        let rolled_ms = self.rolled_hour().await?.unwrap_or(0) * HOUR_MS;
        // Raw results go only once they are rolled up, whatever their age.
        let raw_cutoff = (now.0 - i64::from(retention.raw_days) * DAY_MS).min(rolled_ms);
        let ids: Vec<i64> = Sql::new("SELECT id FROM checks ORDER BY id")
            .scalar_all(self.reader())
            .await?;
        for chunk in ids.chunks(CHECKS_PER_TRANSACTION) {
            let mut tx = self.begin().await?;
            for id in chunk {
                let done = Sql::new("DELETE FROM results WHERE check_id = $1 AND at < $2")
                    .bind(*id)
                    .bind(raw_cutoff)
                    .execute(tx.on())
                    .await?;
                report.results_pruned += done;
                report.results_pruned +=
                    super::result_blocks::prune(&mut tx, CheckId(*id), Timestamp(raw_cutoff))
                        .await?;
            }
            tx.commit().await?;
        }
        let hour_cutoff = (now.0 - i64::from(retention.hourly_days) * DAY_MS).div_euclid(HOUR_MS);
        report.hourly_pruned = Sql::new("DELETE FROM rollups_hourly WHERE hour < $1")
            .bind(hour_cutoff)
            .execute(self.writer())
            .await?;
        let day_cutoff = (now.0 - i64::from(retention.daily_days) * DAY_MS).div_euclid(DAY_MS);
        report.daily_pruned = Sql::new("DELETE FROM rollups_daily WHERE day < $1")
            .bind(day_cutoff)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Uptime and response times of a check over the last 24 hours, 7 days and 30 days;
    /// with `slow_after` (its `degraded_after_ms`), the share within it too.
    pub async fn uptime(
        &self,
        id: CheckId,
        now: Timestamp,
        slow_after: Option<u32>,
    ) -> Result<Uptime, StoreError> {
        let windows: [(&'static str, i64); 3] =
            [("24h", DAY_MS), ("7d", 7 * DAY_MS), ("30d", 30 * DAY_MS)];
        let oldest = now.0 - 30 * DAY_MS;
        let rolled_hour = self.rolled_hour().await?.unwrap_or(i64::MIN / HOUR_MS);
        let mut hours: Vec<(i64, Aggregate)> = Sql::new(SELECT_HOURS)
            .bind(id.0)
            .bind(oldest.div_euclid(HOUR_MS))
            .bind(rolled_hour)
            .fetch_all::<HourRow>(self.reader())
            .await?
            .into_iter()
            .map(|r| (r.hour, r.aggregate))
            .collect();
        let raw: Vec<(i64, i64, i64)> =
            Sql::new("SELECT at, outcome, total_ms FROM results WHERE check_id = $1 AND at >= $2")
                .bind(id.0)
                .bind(oldest.max(rolled_hour.saturating_mul(HOUR_MS)))
                .fetch_all(self.reader())
                .await?;
        hours.extend(
            by_hour(raw)
                .into_iter()
                .map(|(h, probes)| (h, aggregate(&probes, slow_after))),
        );
        Ok(windows
            .into_iter()
            .map(|(window, span)| {
                let first_hour = (now.0 - span).div_euclid(HOUR_MS);
                let parts: Vec<Aggregate> = hours
                    .iter()
                    .filter(|(h, _)| *h >= first_hour)
                    .map(|(_, a)| *a)
                    .collect();
                let total = combine(&parts);
                UptimeWindow {
                    window,
                    probes: total.count,
                    up_probes: total.up_count,
                    uptime_percent: (total.count > 0)
                        .then(|| total.up_count as f64 * 100.0 / total.count as f64),
                    within_slo_percent: (total.count > 0 && slow_after.is_some()).then(|| {
                        (total.up_count - total.slow_count) as f64 * 100.0 / total.count as f64
                    }),
                    p50_ms: total.p50,
                    p95_ms: total.p95,
                }
            })
            .collect())
    }
}

/// Rolls up one check's hours in `[from_hour, to_hour)` and the complete days they touch,
/// then compacts those hours' results into blocks.
async fn rollup_check(
    tx: &mut Tx,
    id: CheckId,
    from_hour: i64,
    to_hour: i64,
) -> Result<(u64, u64), StoreError> {
    let raw = super::result_blocks::raw_hours(tx, id, from_hour, to_hour).await?;
    let slow_after = if raw.is_empty() {
        None
    } else {
        slow_after(tx, id).await?
    };
    let by_hour: BTreeMap<i64, Vec<(bool, i64)>> = raw
        .iter()
        .map(|(hour, rows)| (*hour, rows.iter().map(|r| (r.up(), r.total_ms)).collect()))
        .collect();
    let mut days = std::collections::BTreeSet::new();
    let hourly_rows = by_hour.len() as u64;
    for (hour, probes) in &by_hour {
        let a = aggregate(probes, slow_after);
        write_aggregate(tx, "rollups_hourly", "hour", id, *hour, &a).await?;
        days.insert(hour * HOUR_MS / DAY_MS);
    }
    let mut daily_rows = 0;
    for day in days {
        let day_end_hour = (day + 1) * DAY_MS / HOUR_MS;
        if day_end_hour > to_hour {
            continue; // not complete yet; rolled up on the run after it ends
        }
        let parts: Vec<Aggregate> = Sql::new(SELECT_HOURS)
            .bind(id.0)
            .bind(day * DAY_MS / HOUR_MS)
            .bind(day_end_hour)
            .fetch_all::<HourRow>(tx.on())
            .await?
            .into_iter()
            .map(|r| r.aggregate)
            .collect();
        write_aggregate(tx, "rollups_daily", "day", id, day, &combine(&parts)).await?;
        daily_rows += 1;
    }
    super::result_blocks::compact(tx, id, raw).await?;
    Ok((hourly_rows, daily_rows))
}

/// The check's `degraded_after_ms` as stored in its spec, if set.
async fn slow_after(tx: &mut Tx, id: CheckId) -> Result<Option<u32>, StoreError> {
    /// The one field read of the spec.
    #[derive(serde::Deserialize)]
    struct Bound {
        degraded_after_ms: Option<u32>,
    }
    let spec: Option<String> = Sql::new("SELECT spec FROM checks WHERE id = $1")
        .bind(id.0)
        .scalar_optional(tx.on())
        .await?;
    // Written by this code from `CheckSpec`: unreadable, nothing counts as slow.
    Ok(spec
        .and_then(|text| serde_json::from_str::<Bound>(&text).ok())
        .and_then(|b| b.degraded_after_ms))
}

async fn write_aggregate(
    tx: &mut Tx,
    table: &str,
    period: &str,
    id: CheckId,
    key: i64,
    a: &Aggregate,
) -> Result<(), StoreError> {
    Sql::new(format!(
        "INSERT INTO {table} (check_id, {period}, count, up_count, latency_sum, \
         latency_min, latency_max, p50, p95, slow_count) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (check_id, {period}) DO UPDATE SET count = excluded.count, \
         up_count = excluded.up_count, slow_count = excluded.slow_count, \
         latency_sum = excluded.latency_sum, \
         latency_min = excluded.latency_min, latency_max = excluded.latency_max, \
         p50 = excluded.p50, p95 = excluded.p95"
    ))
    .bind(id.0)
    .bind(key)
    .bind(a.count)
    .bind(a.up_count)
    .bind(a.latency_sum)
    .bind(a.latency_min)
    .bind(a.latency_max)
    .bind(a.p50)
    .bind(a.p95)
    .bind(a.slow_count)
    .execute(tx.on())
    .await?;
    Ok(())
}
