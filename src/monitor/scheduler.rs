//! The scheduler: one task over a time-ordered queue of due checks (no task per check).
//! Start-to-start intervals, first probes spread by a hash of the check id, never two
//! probes of one check at once, re-probes after `retry_interval` while a change is being
//! confirmed, and a global limit on probes in flight so a hanging target delays nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Command;
use super::plan::{Cadence, Plan};
use crate::domain::{Check, CheckId, CheckName, CheckState, Outcome, Thresholds, Timestamp};
use crate::probe::Prober;
use crate::store::{Record, Store, StoreError};

/// What the scheduler needs.
#[derive(Clone)]
pub struct SchedulerDeps {
    pub store: Store,
    pub prober: Arc<Prober>,
    /// Where records go (the recorder).
    pub records: mpsc::UnboundedSender<Record>,
    pub max_concurrent_probes: usize,
}

/// Probes a check once and runs the state machine: the step the scheduler repeats.
pub async fn run_check_once(prober: &Prober, check: &Check, state: CheckState) -> Record {
    let outcome = prober.probe(&check.spec).await;
    judge(check, state, outcome)
}

fn judge(check: &Check, state: CheckState, outcome: Outcome) -> Record {
    let thresholds = Thresholds {
        failures_to_confirm: check.spec.failures_to_confirm,
        successes_to_recover: check.spec.successes_to_recover,
    };
    let (state, transition) = state.observe(outcome.is_up(), thresholds, outcome.started_at);
    Record {
        check_id: check.id,
        check_name: check.name.clone(),
        outcome,
        state,
        transition,
    }
}

/// Scheduling lag (due time to probe start) of the probes started so far.
#[derive(Debug, Default, Clone)]
pub struct LagStats {
    lags_ms: Vec<u32>,
}

impl LagStats {
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

/// A scheduled check and what the state machine knows of it.
struct Entry {
    check: Arc<Check>,
    state: CheckState,
}

/// A finished probe, sent back to the scheduler.
struct Finished {
    id: CheckId,
    outcome: Outcome,
    lag_ms: u32,
}

fn cadence(check: &Check) -> Cadence {
    Cadence {
        rate_ms: u64::from(check.spec.check_rate) * 1_000,
        retry_ms: u64::from(check.spec.retry_interval) * 1_000,
    }
}

/// The scheduler's state; `run` drives it until cancelled.
pub struct Scheduler {
    deps: SchedulerDeps,
    permits: Arc<Semaphore>,
    epoch: Instant,
    plan: Plan,
    entries: HashMap<CheckId, Entry>,
    by_name: HashMap<CheckName, CheckId>,
    finished_tx: mpsc::UnboundedSender<Finished>,
    finished_rx: mpsc::UnboundedReceiver<Finished>,
    lag: LagStats,
}

impl Scheduler {
    /// Loads every check and its persisted state, and plans the active ones.
    pub async fn load(deps: SchedulerDeps) -> Result<Self, StoreError> {
        let (finished_tx, finished_rx) = mpsc::unbounded_channel();
        let mut scheduler = Self {
            permits: Arc::new(Semaphore::new(deps.max_concurrent_probes.max(1))),
            deps,
            epoch: Instant::now(),
            plan: Plan::default(),
            entries: HashMap::new(),
            by_name: HashMap::new(),
            finished_tx,
            finished_rx,
            lag: LagStats::default(),
        };
        let now = Timestamp::now();
        for (check, stored) in scheduler.deps.store.checks_with_state().await? {
            if check.paused {
                continue;
            }
            let state = stored.map_or_else(|| CheckState::new(now), |s| s.state);
            scheduler.plan.add_at_start(check.id, cadence(&check), 0);
            scheduler.insert(check, state);
        }
        Ok(scheduler)
    }

    /// The number of checks scheduled.
    pub fn active_checks(&self) -> usize {
        self.entries.len()
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn insert(&mut self, check: Check, state: CheckState) {
        self.by_name.insert(check.name.clone(), check.id);
        self.entries.insert(
            check.id,
            Entry {
                check: Arc::new(check),
                state,
            },
        );
    }

    fn remove(&mut self, id: CheckId) {
        self.plan.remove(id);
        if let Some(entry) = self.entries.remove(&id) {
            self.by_name.remove(&entry.check.name);
        }
    }

    /// Applies a command from the API: reloads the named checks from the store.
    pub async fn apply(&mut self, command: Command) -> Result<(), StoreError> {
        let Command::Reload(names) = command;
        for name in names {
            let stored = self.deps.store.get_check(&name).await?;
            let old_id = self.by_name.get(&name).copied();
            let now = self.now_ms();
            match stored {
                Some(check) if !check.paused && old_id == Some(check.id) => {
                    self.plan.update(check.id, cadence(&check), now);
                    if let Some(entry) = self.entries.get_mut(&check.id) {
                        entry.check = Arc::new(check);
                    }
                }
                Some(check) if !check.paused => {
                    if let Some(old) = old_id {
                        self.remove(old);
                    }
                    let state = match self.deps.store.check_state(check.id).await? {
                        Some(s) => s.state,
                        None => CheckState::new(Timestamp::now()),
                    };
                    self.plan.add_new(check.id, cadence(&check), now);
                    self.insert(check, state);
                }
                _ => {
                    if let Some(old) = old_id {
                        self.remove(old);
                    }
                }
            }
        }
        Ok(())
    }

    /// Starts every probe that is due; returns how many started.
    pub fn start_due(&mut self) -> usize {
        let due = self.plan.take_due(self.now_ms());
        let started = due.len();
        for (id, due_ms) in due {
            let Some(entry) = self.entries.get(&id) else {
                continue;
            };
            let check = entry.check.clone();
            let prober = self.deps.prober.clone();
            let permits = self.permits.clone();
            let finished = self.finished_tx.clone();
            let due_at = self.epoch + Duration::from_millis(due_ms);
            tokio::spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return;
                };
                let lag_ms = u32::try_from(due_at.elapsed().as_millis()).unwrap_or(u32::MAX);
                let outcome = prober.probe(&check.spec).await;
                let _ = finished.send(Finished {
                    id: check.id,
                    outcome,
                    lag_ms,
                });
            });
        }
        started
    }

    /// Takes a finished probe: state machine, record, next due time.
    fn finish(&mut self, done: Finished) {
        self.lag.lags_ms.push(done.lag_ms);
        // A check deleted or paused while its probe ran is gone from `entries`.
        let Some(entry) = self.entries.get_mut(&done.id) else {
            return;
        };
        let record = judge(&entry.check, entry.state, done.outcome);
        entry.state = record.state;
        let confirming = entry.state.confirming();
        let now = self.now_ms();
        self.plan.finished(done.id, confirming, now);
        if self.deps.records.send(record).is_err() {
            tracing::error!("the recorder has stopped; a probe result is lost");
        }
    }

    /// Runs until `cancel`: starts due probes, takes finished ones, applies commands.
    pub async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        cancel: CancellationToken,
    ) {
        let mut report = tokio::time::interval(Duration::from_secs(60));
        loop {
            let next = self
                .plan
                .next_due()
                .map(|due| self.epoch + Duration::from_millis(due));
            tokio::select! {
                () = cancel.cancelled() => break,
                Some(command) = commands.recv() => {
                    if let Err(e) = self.apply(command).await {
                        tracing::error!(error = %e, "cannot reload changed checks");
                    }
                }
                Some(done) = self.finished_rx.recv() => self.finish(done),
                () = sleep_until_opt(next) => { self.start_due(); }
                _ = report.tick() => self.report(),
            }
        }
    }

    fn report(&mut self) {
        if self.lag.count() > 0 {
            tracing::info!(
                checks = self.entries.len(),
                probes = self.lag.count(),
                lag_p50_ms = self.lag.percentile(0.50),
                lag_p99_ms = self.lag.percentile(0.99),
                "scheduler"
            );
        }
        self.lag = LagStats::default();
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
