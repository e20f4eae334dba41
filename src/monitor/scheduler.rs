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
use crate::domain::{
    AlertContext, AlertMemory, Check, CheckId, CheckName, CheckState, ContactName,
    MaintenanceWindow, Outcome, Thresholds, Timestamp, decide,
};
use crate::probe::Prober;
use crate::store::{NewAlert, Record, Store, StoreError};

/// What the scheduler needs.
#[derive(Clone)]
pub struct SchedulerDeps {
    pub store: Store,
    pub prober: Arc<Prober>,
    /// Where records go (the recorder).
    pub records: mpsc::UnboundedSender<Record>,
    pub max_concurrent_probes: usize,
    /// Contacts of checks that name none.
    pub default_contacts: Vec<ContactName>,
}

/// What the scheduler knows of a check between two probes.
#[derive(Debug, Clone)]
pub struct Known {
    pub state: CheckState,
    pub memory: AlertMemory,
}

/// Turns an outcome into a record: state machine, alert decision, contacts.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    pub default_contacts: &'a [ContactName],
    pub windows: &'a [MaintenanceWindow],
}

impl Judge<'_> {
    /// The record of one outcome of `check`, given what was known before it.
    pub fn judge(&self, check: &Check, known: &Known, outcome: Outcome) -> Record {
        let thresholds = Thresholds {
            failures_to_confirm: check.spec.failures_to_confirm,
            successes_to_recover: check.spec.successes_to_recover,
        };
        let now = outcome.started_at;
        let (state, transition) = known.state.observe(outcome.is_up(), thresholds, now);
        let in_maintenance = self.windows.iter().any(|w| w.silences(check, now));
        let (memory, events) = decide(
            &known.memory,
            AlertContext {
                spec: &check.spec,
                state: &state,
                outcome: &outcome,
                in_maintenance,
                now,
            },
        );
        // Most probes cause no alert: resolve contacts only for those that do.
        let contacts = || {
            check
                .spec
                .contacts
                .clone()
                .unwrap_or_else(|| self.default_contacts.to_vec())
        };
        Record {
            check_id: check.id,
            check_name: check.name.clone(),
            outcome,
            state,
            transition,
            memory,
            alerts: events
                .into_iter()
                .map(|event| NewAlert {
                    event,
                    contacts: contacts(),
                })
                .collect(),
        }
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
    known: Known,
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
    windows: Vec<MaintenanceWindow>,
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
            windows: Vec::new(),
            lag: LagStats::default(),
        };
        scheduler.windows = scheduler.deps.store.maintenance_windows().await?;
        let now = Timestamp::now();
        for (check, stored) in scheduler.deps.store.checks_with_state().await? {
            if check.paused {
                continue;
            }
            scheduler.plan.add_at_start(check.id, cadence(&check), 0);
            scheduler.insert(check, known_from(stored, now));
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

    fn insert(&mut self, check: Check, known: Known) {
        self.by_name.insert(check.name.clone(), check.id);
        self.entries.insert(
            check.id,
            Entry {
                check: Arc::new(check),
                known,
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
        let names = match command {
            Command::Reload(names) => names,
            Command::ReloadMaintenance => {
                self.windows = self.deps.store.maintenance_windows().await?;
                return Ok(());
            }
        };
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
                    let stored = self.deps.store.check_state(check.id).await?;
                    self.plan.add_new(check.id, cadence(&check), now);
                    self.insert(check, known_from(stored, Timestamp::now()));
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
        let judge = Judge {
            default_contacts: &self.deps.default_contacts,
            windows: &self.windows,
        };
        let record = judge.judge(&entry.check, &entry.known, done.outcome);
        entry.known = Known {
            state: record.state,
            memory: record.memory.clone(),
        };
        let confirming = entry.known.state.confirming();
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

fn known_from(stored: Option<crate::store::StoredState>, now: Timestamp) -> Known {
    match stored {
        Some(s) => Known {
            state: s.state,
            memory: s.memory,
        },
        None => Known {
            state: CheckState::new(now),
            memory: AlertMemory::default(),
        },
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
