//! The scheduler: one task over a time-ordered queue of due checks (no task per check).
//! Start-to-start intervals, first probes spread by a hash of the check id, never two
//! probes of one check at once, re-probes after `retry_interval` while a change is being
//! confirmed, and a global limit on probes in flight so a hanging target delays nothing.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Command;
use crate::domain::schedule::{first_offset_ms, next_due_ms};
use crate::domain::{Check, CheckId, CheckName, CheckState, Outcome, Thresholds, Timestamp};
use crate::probe::Prober;
use crate::store::{Record, Store, StoreError};

/// A new check's first probe comes within this time (or its interval, if shorter), spread
/// by its id, so a whole stack registered at once is not probed in one burst.
const NEW_CHECK_SPREAD_MS: u64 = 5_000;

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

struct Entry {
    check: Arc<Check>,
    state: CheckState,
    /// A regular slot of this check's schedule; the next ones follow it at the check rate.
    anchor_ms: u64,
    /// Bumped at each (re)scheduling; queue items of older generations are stale.
    generation: u64,
    running: bool,
}

/// A finished probe, sent back to the scheduler.
struct Finished {
    id: CheckId,
    outcome: Outcome,
    lag_ms: u32,
}

/// The scheduler's state; `run` drives it until cancelled.
pub struct Scheduler {
    deps: SchedulerDeps,
    permits: Arc<Semaphore>,
    epoch: Instant,
    entries: HashMap<CheckId, Entry>,
    by_name: HashMap<CheckName, CheckId>,
    queue: BinaryHeap<Reverse<(u64, CheckId, u64)>>,
    finished_tx: mpsc::UnboundedSender<Finished>,
    finished_rx: mpsc::UnboundedReceiver<Finished>,
    lag: LagStats,
}

impl Scheduler {
    /// Loads every check and its persisted state, and schedules the active ones.
    pub async fn load(deps: SchedulerDeps) -> Result<Self, StoreError> {
        let (finished_tx, finished_rx) = mpsc::unbounded_channel();
        let mut scheduler = Self {
            permits: Arc::new(Semaphore::new(deps.max_concurrent_probes.max(1))),
            deps,
            epoch: Instant::now(),
            entries: HashMap::new(),
            by_name: HashMap::new(),
            queue: BinaryHeap::new(),
            finished_tx,
            finished_rx,
            lag: LagStats::default(),
        };
        let now = Timestamp::now();
        for (check, stored) in scheduler.deps.store.checks_with_state().await? {
            let state = stored.map_or_else(|| CheckState::new(now), |s| s.state);
            let interval = u64::from(check.spec.check_rate) * 1_000;
            let first = first_offset_ms(check.id, interval);
            scheduler.insert(check, state, first);
        }
        Ok(scheduler)
    }

    /// The number of checks scheduled.
    pub fn active_checks(&self) -> usize {
        self.entries.len()
    }

    /// The scheduling lag measured so far.
    pub fn lag(&self) -> &LagStats {
        &self.lag
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Adds an active check whose first probe is due at `first_due_ms`.
    fn insert(&mut self, check: Check, state: CheckState, first_due_ms: u64) {
        if check.paused {
            return;
        }
        let id = check.id;
        self.by_name.insert(check.name.clone(), id);
        self.entries.insert(
            id,
            Entry {
                check: Arc::new(check),
                state,
                anchor_ms: first_due_ms,
                generation: 0,
                running: false,
            },
        );
        self.push(id, first_due_ms);
    }

    fn push(&mut self, id: CheckId, due_ms: u64) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.generation += 1;
            self.queue.push(Reverse((due_ms, id, entry.generation)));
        }
    }

    fn remove(&mut self, id: CheckId) {
        if let Some(entry) = self.entries.remove(&id) {
            self.by_name.remove(&entry.check.name);
        }
    }

    /// Applies a command from the API.
    pub async fn apply(&mut self, command: Command) -> Result<(), StoreError> {
        let Command::Reload(names) = command;
        for name in names {
            let stored = self.deps.store.get_check(&name).await?;
            let old_id = self.by_name.get(&name).copied();
            match stored {
                Some(check) if !check.paused && old_id == Some(check.id) => self.update(check),
                Some(check) => {
                    if let Some(old) = old_id {
                        self.remove(old);
                    }
                    let state = match self.deps.store.check_state(check.id).await? {
                        Some(s) => s.state,
                        None => CheckState::new(Timestamp::now()),
                    };
                    let interval = u64::from(check.spec.check_rate) * 1_000;
                    let spread = first_offset_ms(check.id, interval.min(NEW_CHECK_SPREAD_MS));
                    let due = self.now_ms() + spread;
                    self.insert(check, state, due);
                }
                None => {
                    if let Some(old) = old_id {
                        self.remove(old);
                    }
                }
            }
        }
        Ok(())
    }

    /// A changed spec: keep the schedule's phase when the rate is the same.
    fn update(&mut self, check: Check) {
        let now = self.now_ms();
        let id = check.id;
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let rate_changed = entry.check.spec.check_rate != check.spec.check_rate;
        entry.check = Arc::new(check);
        let interval = u64::from(entry.check.spec.check_rate) * 1_000;
        if rate_changed {
            entry.anchor_ms = now + first_offset_ms(id, interval.min(NEW_CHECK_SPREAD_MS));
        }
        if entry.running {
            return; // scheduled again when the running probe finishes
        }
        let due = if rate_changed {
            entry.anchor_ms
        } else {
            next_due_ms(entry.anchor_ms, interval, now)
        };
        entry.anchor_ms = due;
        self.push(id, due);
    }

    /// Starts every probe that is due; returns how many started.
    pub fn start_due(&mut self) -> usize {
        let now = self.now_ms();
        let mut started = 0;
        while let Some(Reverse((due, id, generation))) = self.queue.peek().copied() {
            if due > now {
                break;
            }
            self.queue.pop();
            let Some(entry) = self.entries.get_mut(&id) else {
                continue;
            };
            if entry.generation != generation || entry.running {
                continue;
            }
            entry.running = true;
            started += 1;
            let check = entry.check.clone();
            let prober = self.deps.prober.clone();
            let permits = self.permits.clone();
            let finished = self.finished_tx.clone();
            let due_at = self.epoch + Duration::from_millis(due);
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
        let now = self.now_ms();
        // A check deleted or paused while its probe ran is gone from `entries`.
        let Some(entry) = self.entries.get_mut(&done.id) else {
            return;
        };
        entry.running = false;
        let record = judge(&entry.check, entry.state, done.outcome);
        entry.state = record.state;
        let spec = &entry.check.spec;
        let interval = u64::from(spec.check_rate) * 1_000;
        let due = if entry.state.confirming() {
            now + u64::from(spec.retry_interval) * 1_000
        } else {
            entry.anchor_ms = next_due_ms(entry.anchor_ms, interval, now);
            entry.anchor_ms
        };
        if self.deps.records.send(record).is_err() {
            tracing::error!("the recorder has stopped; a probe result is lost");
        }
        self.push(done.id, due);
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
                .queue
                .peek()
                .map(|Reverse((due, _, _))| self.epoch + Duration::from_millis(*due));
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
