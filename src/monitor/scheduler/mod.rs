//! The scheduler: one task over a time-ordered queue of due checks (no task per check).
//! Start-to-start intervals, first probes spread by a hash of the check id, never two
//! probes of one check at once, re-probes after `retry_interval` while a change is being
//! confirmed, and a global limit on probes in flight so a hanging target delays nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

mod causes;
mod entries;
mod filed;
mod handover;
mod heartbeat;
mod lag;
mod leased;
mod names;
mod remote;

use causes::Causes;
use entries::Entries;
use handover::Pending;
use names::Names;
mod offline_rule;

pub use lag::LagStats;

use offline_rule::OfflineRule;

use super::Command;
use super::judge::{Judge, would_confirm_down};
use super::known::Known;
use super::leases::Owned;
use super::offline::Verdict;
use super::plan::{Plan, Slot, WAKE_TICK_MS};
use super::vitals::Vitals;
use super::wait::{changed_opt, recv_opt, sleep_until_opt};
use crate::domain::{
    AlertKind, Check, CheckId, ContactName, Health, LocationName, MaintenanceWindow, Outcome,
    Routing, Timestamp,
};
use crate::probe::Prober;
use crate::store::{Record, Store, Write};

/// Checks read per query when loading at start.
const LOAD_PAGE: u32 = 2_000;

/// What the scheduler needs.
#[derive(Clone)]
pub struct SchedulerDeps {
    pub store: Store,
    pub prober: Arc<Prober>,
    /// Where records go (the recorder).
    pub records: mpsc::Sender<Write>,
    pub max_concurrent_probes: usize,
    /// Contacts of `offline`/`online` alerts.
    pub default_contacts: Vec<ContactName>,
    /// Who a check's alerts go to: its own contacts, a route, or the defaults.
    pub routing: Arc<Routing>,
    /// Reference URLs that answer whenever the box's network works (none: no offline rule).
    pub canaries: Vec<String>,
    /// Where the scheduler reports that it keeps up.
    pub vitals: Vitals,
    /// On a shared database, the shards this instance may probe (see `monitor::leases`);
    /// `None`: every check is this instance's.
    pub leases: Option<watch::Receiver<Owned>>,
    /// Where this process probes from (`[monitor] location`).
    pub location: Arc<LocationName>,
    /// The home location (`monitor.home`): that of checks that name none. Only an
    /// instance at home judges; one elsewhere probes its location's checks and logs the
    /// results for the instances at home, as an agent does.
    pub home: Arc<LocationName>,
}

/// A scheduled check, what the state machine knows of it, and its place in the plan
/// (`None` while it is not planned here: probed from elsewhere).
struct Entry {
    check: Arc<Check>,
    known: Known,
    slot: Option<Slot>,
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
    offline: Option<OfflineRule>,
    permits: Arc<Semaphore>,
    epoch: Instant,
    /// The plan, and every scheduled check's entry (`plan.checks()`).
    plan: Plan<Entries>,
    by_name: Names,
    finished_tx: mpsc::UnboundedSender<Finished>,
    finished_rx: mpsc::UnboundedReceiver<Finished>,
    windows: Vec<MaintenanceWindow>,
    lag: LagStats,
    /// When each heartbeat's current run began (`/start`), for its duration.
    heartbeat_starts: HashMap<CheckId, Timestamp>,
    /// When each heartbeat's previous run ended (its last ping this process took), for
    /// `min_interval`.
    heartbeat_ends: HashMap<CheckId, Timestamp>,
    /// Changes the API handed over that could not be read yet: retried until they are.
    pending: Pending,
    /// How many planned checks are `icmp`, for `/readyz` when the box has no ICMP socket.
    icmp_checks: usize,
    /// The leased shards whose checks' states were read since they were taken: only
    /// those are probed, so a shard taken over goes on from the state its last holder
    /// wrote, not from what this instance knew before.
    loaded: u64,
    /// Locations whose agents went silent: their votes do not count.
    silent: HashSet<LocationName>,
    /// Which checks rely on which, and whose outage is held for a root cause.
    causes: Causes,
}

impl Scheduler {
    /// Milliseconds since the scheduler started: the plan's clock.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Starts every probe that is due; returns how many started.
    pub fn start_due(&mut self) -> usize {
        // Up to the last tick passed, not to the moment: a wake that comes late by a few
        // milliseconds does not take the next tick's probes early.
        let due = self
            .plan
            .take_due(self.now_ms() / WAKE_TICK_MS * WAKE_TICK_MS);
        let started = due.len();
        let now_ms = self.now_ms();
        for (id, due_ms) in due {
            let Some(entry) = self.plan.checks().get(&id) else {
                continue;
            };
            let check = entry.check.clone();
            // A heartbeat's lateness is judged by its holder at home.
            let ours = if check.spec.is_heartbeat() {
                self.holds(id)
            } else {
                self.probes(id)
            };
            if !ours {
                // Another instance's: its slot passes here unprobed.
                self.plan.finished(id, false, now_ms);
                continue;
            }
            let started = self.heartbeat_starts.get(&id).copied();
            if let Some(late) = heartbeat::late(&check, started, Timestamp::now()) {
                let _ = self.finished_tx.send(Finished {
                    id,
                    outcome: late,
                    lag_ms: 0,
                });
                continue;
            }

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

    /// Takes a finished probe: with canaries, a connection-level failure may wait for a
    /// canary round or count as the monitor's own; otherwise state machine and record.
    async fn finish(&mut self, done: Finished) {
        self.lag.push(done.lag_ms);
        self.deps
            .vitals
            .metrics()
            .record(&done.outcome, done.lag_ms);
        // A check deleted or paused while its probe ran is gone from `entries`.
        let Some(entry) = self.plan.checks().get(&done.id) else {
            return;
        };
        if let Some(rule) = &mut self.offline
            && done
                .outcome
                .failure
                .as_ref()
                .is_some_and(|f| f.is_connection_level())
        {
            match rule.guard.verdict(done.outcome.started_at) {
                Verdict::Offline => return self.conclude(done, true).await,
                Verdict::Online => {}
                Verdict::Wait => {
                    if !entry.known.confirming(&self.deps.location) {
                        // A check starts confirming: look at the canaries at once.
                        rule.guard.want_round();
                    }
                    if would_confirm_down(
                        &entry.check,
                        &entry.known,
                        &done.outcome,
                        &self.deps.location,
                    ) {
                        rule.guard.want_round();
                        rule.held.push(done);
                        return;
                    }
                }
            }
        }
        self.conclude(done, false).await;
    }

    /// Records a probe (as the monitor's own failure when `offline`) and plans the next one.
    async fn conclude(&mut self, done: Finished, offline: bool) {
        let here = self.deps.location.clone();
        let Some(confirming) = self
            .judge_and_record(done.id, done.outcome, offline, &here)
            .await
        else {
            return;
        };
        let now = self.now_ms();
        self.plan.finished(done.id, confirming, now);
    }

    /// Judges an outcome of a check probed `from` a location, updates what is known of it
    /// and hands the record to the recorder; returns whether this process's own location
    /// is confirming a change of the check (`None`: no such check any more).
    async fn judge_and_record(
        &mut self,
        id: CheckId,
        outcome: Outcome,
        offline: bool,
        from: &Arc<LocationName>,
    ) -> Option<bool> {
        if !self.at_home() {
            return self.forward(id, outcome, offline, from).await;
        }
        // A probe that was started before this instance let go of the check's shard (a
        // hanging one takes its whole timeout) is kept as a plain result: the new holder
        // judges the check from the state in the database.
        let held = self.holds(id);
        let failed = !offline
            && held
            && outcome
                .failure
                .as_ref()
                .is_some_and(|f| !f.is_the_monitors());
        // The root cause upstream matters only to a failure.
        let upstream = if failed { self.root_of(id) } else { None };
        let was_failing = self.failing(id);
        let first_failure = failed && !self.failing_on_record(id);
        let entry = self.plan.checks().get(&id)?;
        let mut record = if offline {
            Judge::offline(&entry.check, outcome, from)
        } else if !held {
            Record {
                check_id: id,
                location: from.clone(),
                outcome,
                change: None,
            }
        } else {
            let judge = Judge {
                routing: &self.deps.routing,
                windows: &self.windows,
                own: &self.deps.home,
                silent: &self.silent,
            };
            judge.judge(&entry.check, &entry.known, outcome, from, upstream.as_ref())
        };
        super::judge::log_change(&record, entry.known.state.health);
        self.tell_impacted(id, &mut record);
        let entry = self.plan.checks_mut().get_mut(&id)?;
        entry.known.learn(&record);
        let confirming = entry.known.confirming(&self.deps.location);
        let failing_now =
            entry.known.state.failures > 0 || entry.known.state.health == Health::Down;
        if held && !offline {
            self.after_judging(id, was_failing && !failing_now);
            if first_failure {
                self.nudge_neighbours(id);
            }
        }
        self.send(Write::Probe(record)).await;
        Some(confirming)
    }

    /// A root cause's DOWN and RECOVERED name the checks whose outage it explains: its
    /// DOWN those failing with it, its RECOVERED those its DOWN named and those still
    /// held for it.
    fn tell_impacted(&mut self, id: CheckId, record: &mut Record) {
        let Some(change) = record.change.as_deref_mut() else {
            return;
        };
        for alert in &mut change.alerts {
            let down = match alert.event.kind {
                AlertKind::Down => true,
                AlertKind::Recovered => false,
                _ => continue,
            };
            let failing = self.impacted_below(id);
            alert.event.facts.impacted = self.causes.names_for(id, down, failing);
        }
    }

    /// Away from home: hands an outcome of this location's probe to the recorder, which
    /// logs it for the instance at home holding the check (a failure while the monitor is
    /// offline marked as its own); the verdict is the home's, but this location's own
    /// state machine, kept here, says whether the next probe is a retry.
    async fn forward(
        &mut self,
        id: CheckId,
        outcome: Outcome,
        offline: bool,
        from: &Arc<LocationName>,
    ) -> Option<bool> {
        let entry = self.plan.checks_mut().get_mut(&id)?;
        let record = if offline {
            Judge::offline(&entry.check, outcome, from)
        } else {
            entry.known.observe_here(&entry.check, &outcome);
            Record {
                check_id: id,
                location: from.clone(),
                outcome,
                change: None,
            }
        };
        let confirming = entry.known.state.confirming();
        self.send(Write::Forward(Box::new(record))).await;
        Some(confirming)
    }

    /// Hands a record to the recorder, waiting if its channel is full (the recorder drains
    /// it even while the store fails, so this waits only if the recorder is gone).
    async fn send(&self, write: Write) {
        if self.deps.records.send(write).await.is_err() {
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
            let next = self.plan.next_due().map(|due| {
                self.epoch + Duration::from_millis(due.div_ceil(WAKE_TICK_MS) * WAKE_TICK_MS)
            });
            self.deps.vitals.scheduler_next_due(next);
            let next_round = self.offline.as_ref().and_then(OfflineRule::next_round);
            let rounds = self.offline.as_mut().map(|rule| &mut rule.rounds_rx);
            tokio::select! {
                () = cancel.cancelled() => break,
                Some(command) = commands.recv() => self.apply(command).await,
                () = sleep_until_opt(self.pending.retry_at) => self.hand_over().await,
                Some(done) = self.finished_rx.recv() => self.finish(done).await,
                Some(round) = recv_opt(rounds) => self.canary_round_done(round).await,
                Some(()) = changed_opt(self.deps.leases.as_mut()) => self.leases_changed().await,
                () = sleep_until_opt(next_round) => self.start_canary_round(),
                () = sleep_until_opt(next) => { self.start_due(); }
                _ = report.tick() => self.report(),
            }
        }
    }

    fn report(&mut self) {
        if self.lag.count() > 0 {
            tracing::info!(
                checks = self.plan.checks().len(),
                probes = self.lag.count(),
                lag_p50_ms = self.lag.percentile(0.50),
                lag_p99_ms = self.lag.percentile(0.99),
                "scheduler"
            );
        }
        self.lag = LagStats::default();
    }
}
