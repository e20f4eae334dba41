//! Counters and histograms of probing, for `/metrics`: probe phase durations, scheduling
//! lag, probes by result. Lock-free, so the scheduler records without waiting on a reader.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::Outcome;

/// Bucket bounds in seconds, for probe phases and scheduling lag alike.
pub const BUCKETS_S: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The phases of a probe, as the `phase` label names them.
pub const PHASES: [&str; 5] = ["dns", "connect", "tls", "first_byte", "total"];

/// A histogram with fixed buckets; values in milliseconds.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Count of values at or below each bound (not cumulative; summed when read).
    buckets: [AtomicU64; BUCKETS_S.len()],
    count: AtomicU64,
    sum_ms: AtomicU64,
}

/// What a histogram holds at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// `(upper bound in seconds, cumulative count)`, then `+Inf` is `count`.
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_s: f64,
}

impl Histogram {
    pub fn observe_ms(&self, ms: u32) {
        let seconds = f64::from(ms) / 1_000.0;
        if let Some(i) = BUCKETS_S.iter().position(|b| seconds <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ms.fetch_add(u64::from(ms), Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = 0;
        let buckets = BUCKETS_S
            .iter()
            .zip(&self.buckets)
            .map(|(bound, n)| {
                cumulative += n.load(Ordering::Relaxed);
                (*bound, cumulative)
            })
            .collect();
        HistogramSnapshot {
            buckets,
            count: self.count.load(Ordering::Relaxed),
            sum_s: self.sum_ms.load(Ordering::Relaxed) as f64 / 1_000.0,
        }
    }
}

/// The probing figures; cheap to clone and share.
#[derive(Debug, Clone, Default)]
pub struct ProbeMetrics {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    phases: [Histogram; PHASES.len()],
    lag: Histogram,
    up: AtomicU64,
    down: AtomicU64,
}

impl ProbeMetrics {
    /// Records one finished probe and how late it started.
    pub fn record(&self, outcome: &Outcome, lag_ms: u32) {
        let t = &outcome.timings;
        let phases = [
            t.dns_ms,
            t.connect_ms,
            t.tls_ms,
            t.ttfb_ms,
            Some(t.total_ms),
        ];
        for (histogram, value) in self.inner.phases.iter().zip(phases) {
            if let Some(ms) = value {
                histogram.observe_ms(ms);
            }
        }
        self.inner.lag.observe_ms(lag_ms);
        let counter = if outcome.is_up() {
            &self.inner.up
        } else {
            &self.inner.down
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The duration histogram of each phase, by its label.
    pub fn phases(&self) -> Vec<(&'static str, HistogramSnapshot)> {
        PHASES
            .iter()
            .zip(&self.inner.phases)
            .map(|(name, h)| (*name, h.snapshot()))
            .collect()
    }

    pub fn lag(&self) -> HistogramSnapshot {
        self.inner.lag.snapshot()
    }

    /// Probes finished since start: `(up, down)`.
    pub fn probes(&self) -> (u64, u64) {
        (
            self.inner.up.load(Ordering::Relaxed),
            self.inner.down.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_the_sum_is_in_seconds() {
        let h = Histogram::default();
        for ms in [3, 7, 40, 40, 60_000] {
            h.observe_ms(ms);
        }
        let s = h.snapshot();
        assert_eq!(s.count, 5);
        assert!((s.sum_s - 60.09).abs() < 1e-9);
        assert_eq!(s.buckets[0], (0.005, 1));
        assert_eq!(s.buckets[1], (0.01, 2));
        assert_eq!(s.buckets[3], (0.05, 4));
        assert_eq!(
            s.buckets.last().copied(),
            Some((30.0, 4)),
            "60 s is only in +Inf"
        );
    }
}
