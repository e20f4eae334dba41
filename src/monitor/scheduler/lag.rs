//! Scheduling lag (due time to probe start) of the probes started in a reporting period.

/// Scheduling lag (due time to probe start) of the probes started so far.
#[derive(Debug, Default, Clone)]
pub struct LagStats {
    lags_ms: Vec<u32>,
}

impl LagStats {
    /// Counts one probe that started `lag_ms` after it was due.
    pub fn push(&mut self, lag_ms: u32) {
        self.lags_ms.push(lag_ms);
    }

    /// Number of probes measured.
    pub fn count(&self) -> usize {
        self.lags_ms.len()
    }

    /// The nearest-rank percentile `p` (0-1) in milliseconds.
    pub fn percentile(&self, p: f64) -> Option<u32> {
        let mut sorted = self.lags_ms.clone();
        sorted.sort_unstable();
        let rank = (p * sorted.len() as f64).ceil() as usize;
        sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
    }
}
