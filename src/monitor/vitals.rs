//! The monitor's own health, shared by the scheduler and the recorder (who report) and by
//! `/readyz` and the watchdog (who read): is probing keeping up, is recording working.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::metrics::ProbeMetrics;
use crate::domain::{Failure, duration_text};

/// A due probe not started after this long means the scheduler is stuck.
pub const SCHEDULER_STALL_AFTER: Duration = Duration::from_secs(30);

/// `next_due` value meaning "nothing planned".
const NOTHING_DUE: u64 = u64::MAX;

/// Shared, cheap to clone; every method is non-blocking.
#[derive(Debug, Clone)]
pub struct Vitals {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// What `*_ms` values count from.
    epoch: Instant,
    /// The earliest due time of a probe not started yet, in ms since `epoch`.
    next_due_ms: AtomicU64,
    /// Records waiting for the store.
    backlog: AtomicUsize,
    /// Plain results dropped since start because the backlog passed its bound.
    thinned: AtomicU64,
    /// Since when, and why, writing to the store fails.
    write_fault: Mutex<Option<WriteFault>>,
    /// Probing figures for `/metrics`.
    metrics: ProbeMetrics,
    /// Why changes from the API wait for the scheduler, and how many checks they name.
    handover_fault: Mutex<Option<(usize, String)>>,
    /// How many planned checks are `icmp`.
    icmp_checks: AtomicUsize,
}

#[derive(Debug, Clone)]
struct WriteFault {
    since: Instant,
    error: String,
}

impl Default for Vitals {
    fn default() -> Self {
        Self::new()
    }
}

impl Vitals {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                epoch: Instant::now(),
                next_due_ms: AtomicU64::new(NOTHING_DUE),
                backlog: AtomicUsize::new(0),
                thinned: AtomicU64::new(0),
                write_fault: Mutex::new(None),
                metrics: ProbeMetrics::default(),
                handover_fault: Mutex::new(None),
                icmp_checks: AtomicUsize::new(0),
            }),
        }
    }

    /// The probing figures (durations, lag, results).
    pub fn metrics(&self) -> &ProbeMetrics {
        &self.inner.metrics
    }

    /// The scheduler's earliest due probe not yet started (`None`: nothing planned).
    pub fn scheduler_next_due(&self, due: Option<Instant>) {
        let ms = due.map_or(NOTHING_DUE, |d| {
            u64::try_from(d.saturating_duration_since(self.inner.epoch).as_millis())
                .unwrap_or(NOTHING_DUE - 1)
        });
        self.inner.next_due_ms.store(ms, Ordering::Relaxed);
    }

    /// The recorder's backlog now, and how many plain results it has thinned in all.
    pub fn recorder_backlog(&self, waiting: usize, thinned_total: u64) {
        self.inner.backlog.store(waiting, Ordering::Relaxed);
        self.inner.thinned.store(thinned_total, Ordering::Relaxed);
    }

    /// Writing failed with `error` (the first failure of a run sets the start time).
    pub fn recorder_failing(&self, error: &str) {
        if let Ok(mut fault) = self.inner.write_fault.lock() {
            let since = fault.as_ref().map_or_else(Instant::now, |f| f.since);
            *fault = Some(WriteFault {
                since,
                error: error.to_owned(),
            });
        }
    }

    /// Writing works.
    pub fn recorder_ok(&self) {
        if let Ok(mut fault) = self.inner.write_fault.lock() {
            *fault = None;
        }
    }

    /// Changes to `checks` checks cannot be read by the scheduler, with `error`.
    pub fn handover_failing(&self, checks: usize, error: &str) {
        if let Ok(mut fault) = self.inner.handover_fault.lock() {
            *fault = Some((checks, error.to_owned()));
        }
    }

    /// How many `icmp` checks the scheduler plans now.
    pub fn icmp_checks(&self, checks: usize) {
        self.inner.icmp_checks.store(checks, Ordering::Relaxed);
    }

    /// Every change handed over has been applied.
    pub fn handover_ok(&self) {
        if let Ok(mut fault) = self.inner.handover_fault.lock() {
            *fault = None;
        }
    }

    /// Records waiting for the store.
    pub fn backlog(&self) -> usize {
        self.inner.backlog.load(Ordering::Relaxed)
    }

    /// Plain results thinned since start.
    pub fn thinned(&self) -> u64 {
        self.inner.thinned.load(Ordering::Relaxed)
    }

    /// Everything that makes stackwatch not ready, in words: the database does not answer,
    /// the scheduler stalls, or writes fail. `/readyz` and the watchdog share this rule.
    pub async fn readiness(&self, store: &crate::store::Store) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = store.ping().await {
            problems.push(format!("the database does not answer: {e}"));
        }
        problems.extend(self.problems());
        problems
    }

    /// What is wrong now with probing and recording, in words; empty when healthy.
    pub fn problems(&self) -> Vec<String> {
        let now = Instant::now();
        let mut problems = Vec::new();
        let due = self.inner.next_due_ms.load(Ordering::Relaxed);
        if due != NOTHING_DUE {
            let due_at = self.inner.epoch + Duration::from_millis(due);
            let late = now.saturating_duration_since(due_at);
            if late > SCHEDULER_STALL_AFTER {
                problems.push(format!(
                    "the scheduler has not started a probe that was due {} ago",
                    duration_text(late.as_secs())
                ));
            }
        }
        let fault = self
            .inner
            .write_fault
            .lock()
            .ok()
            .and_then(|fault| fault.clone());
        if let Some(fault) = fault {
            problems.push(format!(
                "writing results to the database fails since {} ago ({} records waiting): {}",
                duration_text(now.saturating_duration_since(fault.since).as_secs()),
                self.backlog(),
                fault.error
            ));
        }
        let handover = self
            .inner
            .handover_fault
            .lock()
            .ok()
            .and_then(|fault| fault.clone());
        if let Some((checks, error)) = handover {
            problems.push(format!(
                "changes to {checks} checks wait for the scheduler (probing goes on with their \
                 old settings; retried every second): {error}"
            ));
        }
        let icmp = self.inner.icmp_checks.load(Ordering::Relaxed);
        if icmp > 0
            && let Err(detail) = crate::probe::icmp_allowed()
        {
            problems.push(format!(
                "{icmp} icmp checks are not judged (they alert nobody): {}",
                Failure::IcmpNotAllowed { detail }
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_until_a_write_fails_and_again_once_it_works() {
        let vitals = Vitals::new();
        assert!(vitals.problems().is_empty());
        vitals.recorder_backlog(12, 0);
        vitals.recorder_failing("database or disk is full");
        let problems = vitals.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("database or disk is full"),
            "{problems:?}"
        );
        assert!(problems[0].contains("12 records waiting"), "{problems:?}");
        vitals.recorder_ok();
        assert!(vitals.problems().is_empty());
    }

    #[test]
    fn changes_that_wait_for_the_scheduler_are_a_problem_until_applied() {
        let vitals = Vitals::new();
        vitals.handover_failing(3, "pool timed out");
        let problems = vitals.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("changes to 3 checks wait")
                && problems[0].contains("pool timed out"),
            "{problems:?}"
        );
        vitals.handover_ok();
        assert!(vitals.problems().is_empty());
    }

    #[test]
    fn a_due_probe_not_started_for_long_is_a_stall() {
        let vitals = Vitals::new();
        vitals.scheduler_next_due(Some(Instant::now()));
        assert!(vitals.problems().is_empty(), "just due is fine");
        let stalled = Vitals {
            inner: Arc::new(Inner {
                epoch: Instant::now()
                    .checked_sub(SCHEDULER_STALL_AFTER * 2)
                    .unwrap_or_else(Instant::now),
                next_due_ms: AtomicU64::new(0),
                backlog: AtomicUsize::new(0),
                thinned: AtomicU64::new(0),
                write_fault: Mutex::new(None),
                metrics: ProbeMetrics::default(),
                handover_fault: Mutex::new(None),
                icmp_checks: AtomicUsize::new(0),
            }),
        };
        let problems = stalled.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("scheduler"), "{problems:?}");
        stalled.scheduler_next_due(None);
        assert!(
            stalled.problems().is_empty(),
            "nothing planned is not a stall"
        );
    }
}
