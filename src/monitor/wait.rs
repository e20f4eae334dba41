//! Waits the monitor's loops (and the agent's) select on that may have nothing to wait for.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::domain::Timestamp;

/// The next item of `receiver`; never, without one.
pub async fn recv_opt<T>(receiver: Option<&mut mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match receiver {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

/// Until `deadline`; never, without one.
pub async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Until `receiver` sees a new value (`None` once its sender is gone); never, without one.
pub(super) async fn changed_opt<T>(receiver: Option<&mut watch::Receiver<T>>) -> Option<()> {
    match receiver {
        Some(r) => r.changed().await.ok(),
        None => std::future::pending().await,
    }
}

/// The monotonic instant of a wall-clock time (now, if it has passed).
pub fn instant_of(at: Timestamp) -> Instant {
    let ahead_ms = u64::try_from(at.0 - Timestamp::now().0).unwrap_or(0);
    Instant::now() + Duration::from_millis(ahead_ms)
}
