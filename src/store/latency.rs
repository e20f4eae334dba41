//! A check's latency for the web page's charts: phase averages over its raw results in
//! equal slices of a window, or hourly averages from the rollups for longer windows.

use std::collections::BTreeMap;

use super::db::Sql;
use super::overview::Tally;
use super::results::ResultRow;
use super::{HOUR_MS, Store, StoreError};
use crate::domain::{CheckId, Timestamp};

/// One point of a latency series: phase averages (ms) over the probes that were up.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencyPoint {
    /// Start of the bucket.
    pub at: Timestamp,
    pub dns_ms: f64,
    pub connect_ms: f64,
    pub tls_ms: f64,
    pub ttfb_ms: f64,
    pub total_ms: f64,
    pub tally: Tally,
}

/// A latency bucket being summed: phase averages count the up probes that have the phase.
#[derive(Default)]
struct Bucket {
    probes: i64,
    up: i64,
    dns: Mean,
    connect: Mean,
    tls: Mean,
    ttfb: Mean,
    total: Mean,
}

impl Bucket {
    fn add(&mut self, row: &ResultRow) {
        self.probes += 1;
        if !row.up() {
            return;
        }
        self.up += 1;
        self.dns.add(row.dns_ms);
        self.connect.add(row.connect_ms);
        self.tls.add(row.tls_ms);
        self.ttfb.add(row.ttfb_ms);
        self.total.add(Some(row.total_ms));
    }
}

/// The mean of the values present (0 without any).
#[derive(Default)]
struct Mean {
    sum: i64,
    count: i64,
}

impl Mean {
    fn add(&mut self, value: Option<i64>) {
        if let Some(v) = value {
            self.sum += v;
            self.count += 1;
        }
    }

    fn average(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }
}

impl Store {
    /// A check's latency from raw results since `since`, in `buckets` equal slices up to
    /// `now`: phase averages over the probes that were up.
    pub async fn latency_series(
        &self,
        id: CheckId,
        since: Timestamp,
        now: Timestamp,
        buckets: i64,
    ) -> Result<Vec<LatencyPoint>, StoreError> {
        let width = ((now.0 - since.0) / buckets.max(1)).max(1);
        let mut series: BTreeMap<i64, Bucket> = BTreeMap::new();
        for row in self.results_between(id, since, now).await? {
            series
                .entry((row.at - since.0) / width)
                .or_default()
                .add(&row);
        }
        Ok(series
            .into_iter()
            .map(|(bucket, b)| LatencyPoint {
                at: Timestamp(since.0 + bucket * width),
                dns_ms: b.dns.average(),
                connect_ms: b.connect.average(),
                tls_ms: b.tls.average(),
                ttfb_ms: b.ttfb.average(),
                total_ms: b.total.average(),
                tally: Tally {
                    probes: b.probes,
                    up: b.up,
                },
            })
            .collect())
    }

    /// A check's hourly latency from rollups since `since` (30 days reach past raw
    /// retention): the average total over the probes that were up; phases are not rolled up.
    pub async fn hourly_latency(
        &self,
        id: CheckId,
        since: Timestamp,
    ) -> Result<Vec<LatencyPoint>, StoreError> {
        let rows: Vec<(i64, i64, i64, i64)> = Sql::new(
            "SELECT hour, count, up_count, latency_sum FROM rollups_hourly \
             WHERE check_id = $1 AND hour >= $2 ORDER BY hour",
        )
        .bind(id.0)
        .bind(since.0.div_euclid(HOUR_MS))
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(hour, probes, up, sum)| LatencyPoint {
                at: Timestamp(hour * HOUR_MS),
                total_ms: if up > 0 { sum as f64 / up as f64 } else { 0.0 },
                tally: Tally { probes, up },
                ..LatencyPoint::default()
            })
            .collect())
    }
}
