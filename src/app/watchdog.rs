//! The dead man's switch: while stackwatch is ready (the rule of `/readyz`), a GET to the
//! configured URL every interval; while it is not, silence, so the service behind the URL
//! alerts. A ping that fails is logged and tried again at the next interval.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::monitor::Vitals;
use crate::notify::HttpClient;
use crate::store::Store;

/// What the watchdog needs.
pub struct Watchdog {
    pub url: String,
    pub interval: Duration,
    pub client: HttpClient,
    pub store: Store,
    pub vitals: Vitals,
}

impl Watchdog {
    /// One step: pings when ready; returns whether it pinged.
    pub async fn tick(&self) -> bool {
        let problems = self.vitals.readiness(&self.store).await;
        if !problems.is_empty() {
            tracing::warn!(problems = %problems.join("; "), "not ready: the watchdog is not pinged");
            return false;
        }
        match self.client.get(&self.url).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "the watchdog ping failed");
                false
            }
        }
    }

    /// Pings every interval until cancelled.
    pub async fn run(self, cancel: CancellationToken) {
        let mut every = tokio::time::interval(self.interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = every.tick() => { self.tick().await; }
            }
        }
    }
}
