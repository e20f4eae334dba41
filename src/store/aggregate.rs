//! The arithmetic of rollups: a period's aggregate from its probes (count, up count, slow
//! count, latency sum/min/max, nearest-rank p50 and p95), and periods summed into a longer
//! one with count-weighted medians.

use std::collections::BTreeMap;

use sqlx::FromRow;

use super::HOUR_MS;

/// Aggregates of one period (an hour, a day, or a window).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromRow)]
pub struct Aggregate {
    pub count: i64,
    pub up_count: i64,
    /// Up probes slower than the check's `degraded_after_ms` when they were rolled up.
    pub slow_count: i64,
    pub latency_sum: i64,
    pub latency_min: Option<i64>,
    pub latency_max: Option<i64>,
    pub p50: Option<i64>,
    pub p95: Option<i64>,
}

/// The nearest-rank percentile `p` (0-1) of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Aggregates raw `(up, latency_ms)` probes; latency figures use up probes only, and
/// those slower than `slow_after` ms are counted slow.
pub(super) fn aggregate(probes: &[(bool, i64)], slow_after: Option<u32>) -> Aggregate {
    let mut latencies: Vec<i64> = probes.iter().filter(|p| p.0).map(|p| p.1).collect();
    latencies.sort_unstable();
    let slow_count = slow_after.map_or(0, |ms| {
        latencies.iter().filter(|l| **l > i64::from(ms)).count() as i64
    });
    Aggregate {
        count: probes.len() as i64,
        up_count: latencies.len() as i64,
        slow_count,
        latency_sum: latencies.iter().sum(),
        latency_min: latencies.first().copied(),
        latency_max: latencies.last().copied(),
        p50: percentile(&latencies, 0.50),
        p95: percentile(&latencies, 0.95),
    }
}

/// The weighted median of `(value, weight)` pairs.
fn weighted_median(mut items: Vec<(i64, i64)>) -> Option<i64> {
    items.retain(|i| i.1 > 0);
    items.sort_unstable();
    let total: i64 = items.iter().map(|i| i.1).sum();
    let mut seen = 0;
    for (value, weight) in items {
        seen += weight;
        if seen * 2 >= total {
            return Some(value);
        }
    }
    None
}

/// Raw `(at, outcome, total_ms)` results grouped by hour as `(up, latency_ms)` probes.
pub(super) fn by_hour(rows: Vec<(i64, i64, i64)>) -> BTreeMap<i64, Vec<(bool, i64)>> {
    let mut hours: BTreeMap<i64, Vec<(bool, i64)>> = BTreeMap::new();
    for (at, outcome, total_ms) in rows {
        hours
            .entry(at.div_euclid(HOUR_MS))
            .or_default()
            .push((outcome == 0, total_ms));
    }
    hours
}

/// Sums periods into one (a day from its hours).
pub(super) fn combine(parts: &[Aggregate]) -> Aggregate {
    Aggregate {
        count: parts.iter().map(|a| a.count).sum(),
        up_count: parts.iter().map(|a| a.up_count).sum(),
        slow_count: parts.iter().map(|a| a.slow_count).sum(),
        latency_sum: parts.iter().map(|a| a.latency_sum).sum(),
        latency_min: parts.iter().filter_map(|a| a.latency_min).min(),
        latency_max: parts.iter().filter_map(|a| a.latency_max).max(),
        p50: weighted_median(
            parts
                .iter()
                .filter_map(|a| Some((a.p50?, a.up_count)))
                .collect(),
        ),
        p95: weighted_median(
            parts
                .iter()
                .filter_map(|a| Some((a.p95?, a.up_count)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_uses_nearest_rank() {
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.50), Some(50));
        assert_eq!(percentile(&values, 0.95), Some(95));
        assert_eq!(percentile(&[7], 0.95), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn aggregate_counts_all_probes_and_times_up_ones() {
        let a = aggregate(
            &[(true, 10), (false, 10_000), (true, 30), (true, 20)],
            Some(15),
        );
        assert_eq!((a.count, a.up_count, a.latency_sum), (4, 3, 60));
        assert_eq!(
            a.slow_count, 2,
            "up probes over 15 ms; the failed one is not slow"
        );
        assert_eq!(aggregate(&[(true, 10), (true, 30)], None).slow_count, 0);
        assert_eq!(
            (a.latency_min, a.latency_max, a.p50),
            (Some(10), Some(30), Some(20))
        );
    }

    #[test]
    fn combine_sums_and_takes_weighted_medians() {
        let hour = |count, up, p50| Aggregate {
            count,
            up_count: up,
            slow_count: 1,
            latency_sum: up * p50,
            latency_min: Some(p50),
            latency_max: Some(p50),
            p50: Some(p50),
            p95: Some(p50),
        };
        let day = combine(&[hour(60, 60, 10), hour(60, 10, 500), hour(60, 60, 20)]);
        assert_eq!((day.count, day.up_count, day.slow_count), (180, 130, 3));
        assert_eq!((day.latency_min, day.latency_max), (Some(10), Some(500)));
        assert_eq!(day.p50, Some(20));
    }
}
