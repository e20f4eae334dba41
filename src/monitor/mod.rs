//! Monitoring: the scheduler that probes every active check at its rate, the offline guard
//! and its canaries, the recorder that writes results in batches and never drops a state
//! change or alert, the vitals that tell whether all of it keeps up, and the rollup job.

mod agents;
mod backlog;
mod canary;
mod changes;
mod escalation;
mod judge;
mod known;
mod leases;
mod metrics;
mod offline;
mod plan;
mod recorder;
mod rollup;
mod scheduler;
mod vitals;
mod wait;

use tokio::sync::mpsc;

pub use agents::AgentWatch;
pub use backlog::Backlog;
pub use canary::{Canaries, RoundDone};
pub use changes::{FOLLOW_EVERY, LogPosition, follow_changes};
pub use escalation::EscalationWatch;
pub use judge::Judge;
pub use known::Known;
pub use leases::{Membership, Owned, keep_leases};
pub use metrics::{BUCKETS_S, HistogramSnapshot, PHASES, ProbeMetrics};
pub use offline::{CANARY_MIN_GAP_MS, Change, OfflineGuard, Verdict};
pub use plan::{NEW_CHECK_SPREAD_MS, Plan, WAKE_TICK_MS};
pub use recorder::{
    BACKLOG_BOUND, CHANNEL_CAPACITY, MAX_BATCH, MAX_BATCH_DELAY, Recorder,
    channel as record_channel,
};
pub use rollup::{rollup_once, run_rollups};
pub use scheduler::{LagStats, Scheduler, SchedulerDeps};
pub use vitals::{SCHEDULER_STALL_AFTER, Vitals};
pub use wait::{instant_of, recv_opt, sleep_until_opt};

pub use crate::domain::{Ping, PingKind};

use std::collections::HashSet;
use std::sync::Arc;

use crate::domain::{CheckId, CheckName, LocationName, Outcome};

/// What the API tells the scheduler.
#[derive(Debug, Clone)]
pub enum Command {
    /// These checks were created, changed or deleted: read them again from the store.
    Reload(Vec<CheckName>),
    /// Maintenance windows were added or removed: read them again.
    ReloadMaintenance,
    /// A heartbeat check was pinged.
    Ping(Ping),
    /// Another instance wrote these checks' states: read them again.
    Restate(Vec<CheckId>),
    /// An agent's results from its location.
    Remote {
        location: Arc<LocationName>,
        outcomes: Vec<(CheckId, Outcome)>,
    },
    /// The locations whose agents are silent now (their votes stop counting).
    Silent(HashSet<LocationName>),
}

/// Where domain checks' registries are found; the API reads registrations with it.
pub use crate::probe::rdap::Rdap;

/// Whether this process may open an ICMP socket (the API refuses an `icmp` check it could
/// not probe); the API asks the monitor, never the prober.
pub fn icmp_allowed() -> Result<(), String> {
    crate::probe::icmp_allowed()
}

/// The API's side of the scheduler's channel. Sending never blocks a request.
#[derive(Debug, Clone)]
pub struct MonitorHandle {
    commands: mpsc::UnboundedSender<Command>,
}

impl MonitorHandle {
    /// A handle and the receiving end for the scheduler.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<Command>) {
        let (commands, receiver) = mpsc::unbounded_channel();
        (Self { commands }, receiver)
    }

    /// Tells the scheduler these checks changed; it reloads them from the store.
    pub fn checks_changed(&self, names: Vec<CheckName>) {
        if names.is_empty() {
            return;
        }
        if self.commands.send(Command::Reload(names)).is_err() {
            tracing::warn!("the scheduler has stopped; the change applies at the next start");
        }
    }

    /// Hands a heartbeat ping to the scheduler.
    pub fn ping(&self, ping: Ping) {
        if self.commands.send(Command::Ping(ping)).is_err() {
            tracing::warn!("the scheduler has stopped; a heartbeat ping is lost");
        }
    }

    /// Tells the scheduler these checks' states were written by another instance.
    pub fn states_stale(&self, ids: Vec<CheckId>) {
        if self.commands.send(Command::Restate(ids)).is_err() {
            tracing::warn!("the scheduler has stopped; stale states are read at the next start");
        }
    }

    /// Hands an agent's results to the scheduler, to be judged with the check's votes.
    pub fn remote_results(&self, location: Arc<LocationName>, outcomes: Vec<(CheckId, Outcome)>) {
        if self
            .commands
            .send(Command::Remote { location, outcomes })
            .is_err()
        {
            tracing::warn!("the scheduler has stopped; an agent's results are lost");
        }
    }

    /// Tells the scheduler which locations are silent now.
    pub fn silent_locations(&self, locations: HashSet<LocationName>) {
        if self.commands.send(Command::Silent(locations)).is_err() {
            tracing::warn!("the scheduler has stopped; silent locations apply at the next start");
        }
    }

    /// Tells the scheduler the maintenance windows changed.
    pub fn maintenance_changed(&self) {
        if self.commands.send(Command::ReloadMaintenance).is_err() {
            tracing::warn!("the scheduler has stopped; the change applies at the next start");
        }
    }
}
