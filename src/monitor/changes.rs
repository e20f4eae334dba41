//! Following the change log of a shared database: every second, the checks and windows
//! changed since the last look — through any instance — are handed to this instance's
//! scheduler, as the API hands it its own changes. A short poll of one indexed range, not
//! LISTEN/NOTIFY: a notification sent while an instance is reconnecting is lost, where the
//! log is read from where the instance left off.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::MonitorHandle;
use crate::store::Store;

/// How often the log is read.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// Reads the log after `after` every [`FOLLOW_EVERY`] until `cancel`. A read that fails is
/// retried at the next tick from the same place, so no change is skipped.
pub async fn follow_changes(
    store: Store,
    monitor: MonitorHandle,
    mut after: i64,
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
        match store.changes_after(after).await {
            Ok(changes) => {
                if failing {
                    tracing::info!("the change log can be read again");
                    failing = false;
                }
                after = changes.through;
                monitor.checks_changed(changes.checks);
                if changes.windows {
                    monitor.maintenance_changed();
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
