//! Following the logs of a shared database: every second, the checks and windows changed
//! since the last look — through any instance — are handed to this instance's scheduler,
//! as the API hands it its own changes, and so are the heartbeat pings and the agents'
//! results any instance received (the scheduler judges those of the checks it holds). A short poll of one
//! indexed range per log, not LISTEN/NOTIFY: a notification sent while an instance is
//! reconnecting is lost, where a log is read from where the instance left off.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::MonitorHandle;
use crate::store::Store;

/// How often the log is read.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// Where an instance has read the logs up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogPosition {
    pub changes: i64,
    pub pings: i64,
    pub agent_results: i64,
}

impl LogPosition {
    /// Where the logs end now.
    pub async fn newest(store: &Store) -> Result<Self, crate::store::StoreError> {
        Ok(Self {
            changes: store.newest_change().await?,
            pings: store.newest_ping().await?,
            agent_results: store.newest_agent_result().await?,
        })
    }
}

/// Reads the logs after `after` every [`FOLLOW_EVERY`] until `cancel`. A read that fails is
/// retried at the next tick from the same place, so nothing is skipped.
pub async fn follow_changes(
    store: Store,
    monitor: MonitorHandle,
    mut after: LogPosition,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(FOLLOW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        match read(&store, &monitor, &mut after).await {
            Ok(()) => {
                if failing {
                    tracing::info!("the change log can be read again");
                    failing = false;
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "cannot read the change log; retrying every second");
                    failing = true;
                }
            }
        }
    }
}

/// One look at both logs: hands over what is new and moves `after` past it.
async fn read(
    store: &Store,
    monitor: &MonitorHandle,
    after: &mut LogPosition,
) -> Result<(), crate::store::StoreError> {
    let changes = store.changes_after(after.changes).await?;
    after.changes = changes.through;
    // Windows first: a check created after a window (as a stack is, after the window for
    // its deploy) is never probed here without it.
    if changes.windows {
        monitor.maintenance_changed();
    }
    monitor.checks_changed(changes.checks);
    let (through, pings) = store.pings_after(after.pings).await?;
    after.pings = through;
    for ping in pings {
        monitor.ping(ping);
    }
    let (through, runs) = store.agent_results_after(after.agent_results).await?;
    after.agent_results = through;
    for (location, outcomes) in runs {
        monitor.remote_results(std::sync::Arc::new(location), outcomes);
    }
    Ok(())
}
