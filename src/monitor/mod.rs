//! Monitoring: the scheduler that probes every active check at its rate, the recorder that
//! writes results in batches, and the rollup job. Each is a loop around a public step.

mod plan;
mod recorder;
mod rollup;
mod scheduler;

use tokio::sync::mpsc;

pub use plan::{Cadence, NEW_CHECK_SPREAD_MS, Plan};
pub use recorder::{MAX_BATCH, MAX_BATCH_DELAY, record_pending, run_recorder};
pub use rollup::{rollup_once, run_rollups};
pub use scheduler::{Judge, Known, LagStats, Scheduler, SchedulerDeps};

use crate::domain::CheckName;

/// What the API tells the scheduler.
#[derive(Debug, Clone)]
pub enum Command {
    /// These checks were created, changed or deleted: read them again from the store.
    Reload(Vec<CheckName>),
    /// Maintenance windows were added or removed: read them again.
    ReloadMaintenance,
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

    /// Tells the scheduler the maintenance windows changed.
    pub fn maintenance_changed(&self) {
        if self.commands.send(Command::ReloadMaintenance).is_err() {
            tracing::warn!("the scheduler has stopped; the change applies at the next start");
        }
    }
}
