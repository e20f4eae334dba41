//! The escalation watch: every few seconds it files the escalations that fell due (see
//! `Store::file_escalations`), so an outage nobody acknowledged reaches `escalate_to` at
//! its time, across restarts and whichever instance is up.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::domain::{Routing, Timestamp};
use crate::store::Store;

/// How often due escalations are looked for: an escalation goes out at most this late.
pub const ESCALATIONS_EVERY: Duration = Duration::from_secs(5);

/// What the watch needs.
pub struct EscalationWatch {
    pub store: Store,
    /// Woken when an escalation was filed, so it goes out at once.
    pub alerts_written: Arc<Notify>,
    /// Escalation routes, for checks that name no escalation of their own.
    pub routing: Arc<Routing>,
}

impl EscalationWatch {
    /// Runs until cancelled; a failing store is logged once and retried next round.
    pub async fn run(self, cancel: CancellationToken) {
        let mut failing = false;
        loop {
            match self
                .store
                .file_escalations(Timestamp::now(), &self.routing)
                .await
            {
                Ok(filed) => {
                    failing = false;
                    if filed > 0 {
                        tracing::info!(filed, "escalations filed");
                        self.alerts_written.notify_one();
                    }
                }
                Err(e) if !failing => {
                    failing = true;
                    tracing::error!(error = %e, "due escalations cannot be read; retrying");
                }
                Err(_) => {}
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(ESCALATIONS_EVERY) => {}
            }
        }
    }
}
