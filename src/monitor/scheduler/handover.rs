//! Changes handed to the scheduler (from the API, the change log, or the recorder for
//! states another instance wrote): applied at once, or kept and retried every second
//! while the store cannot be read, with `/readyz` saying so.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::{Scheduler, heartbeat};
use crate::domain::{Check, CheckId, CheckName, Timestamp};
use crate::monitor::Command;
use crate::monitor::known::Known;
use crate::store::StoreError;

/// Changes waiting to be applied, and when to try again.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) names: Vec<CheckName>,
    /// Checks whose states another instance wrote: read again before they are judged.
    pub(super) states: Vec<CheckId>,
    pub(super) windows: bool,
    pub(super) retry_at: Option<Instant>,
}

/// How soon a hand-over that failed is tried again.
const HANDOVER_RETRY: Duration = Duration::from_secs(1);

impl Scheduler {
    /// Applies a command from the API. A change whose reading fails is not dropped: it
    /// waits and is tried again every second, with `/readyz` saying so, until it applies.
    pub async fn apply(&mut self, command: Command) {
        match command {
            Command::Reload(names) => {
                // On a shared database the change log names again a check the API just
                // handed over: each waits once, and `/readyz` counts it once.
                self.pending.names.extend(names);
                self.pending.names.sort();
                self.pending.names.dedup();
            }
            Command::ReloadMaintenance => self.pending.windows = true,
            Command::Restate(ids) => self.pending.states.extend(ids),
            Command::Ping(ping) => return self.pinged(ping).await,
            Command::Remote { location, outcomes } => {
                return self.remote(&location, outcomes).await;
            }
            Command::Silent(locations) => return self.silent_changed(locations).await,
        }
        self.hand_over().await;
    }

    /// Applies what is pending; on failure keeps it for the next try.
    pub(super) async fn hand_over(&mut self) {
        match self.apply_pending().await {
            Ok(()) => {
                self.deps.vitals.icmp_checks(self.icmp_checks);
                if self.pending.retry_at.take().is_some() {
                    tracing::info!("the changes that waited reached the scheduler");
                }
                self.deps.vitals.handover_ok();
            }
            Err(e) => {
                if self.pending.retry_at.is_none() {
                    tracing::error!(
                        error = %e,
                        checks = self.pending.names.len(),
                        "changed checks cannot be read; retrying every second"
                    );
                }
                self.pending.retry_at = Some(Instant::now() + HANDOVER_RETRY);
                self.deps
                    .vitals
                    .handover_failing(self.pending.names.len(), &e.to_string());
            }
        }
    }

    async fn apply_pending(&mut self) -> Result<(), StoreError> {
        if self.pending.windows {
            self.windows = self.deps.store.maintenance_windows().await?;
            self.pending.windows = false;
        }
        if !self.pending.states.is_empty() {
            let mut states = self.deps.store.check_states(&self.pending.states).await?;
            let now = Timestamp::now();
            for id in std::mem::take(&mut self.pending.states) {
                if let Some(entry) = self.plan.checks_mut().get_mut(&id) {
                    entry.known = Known::from_stored(states.remove(&id), now);
                }
            }
        }
        if self.pending.names.is_empty() {
            return Ok(());
        }
        self.reload(self.pending.names.clone()).await?;
        self.pending.names.clear();
        Ok(())
    }

    /// Reads the named checks again from the store and plans them as they now are.
    async fn reload(&mut self, names: Vec<CheckName>) -> Result<(), StoreError> {
        // Two queries for the whole list (a stack of 1,000 checks is one command), not
        // two per check, so the loop is back to starting probes sooner.
        let mut names = names;
        names.sort();
        names.dedup();
        let mut found: HashMap<CheckName, Check> = self
            .deps
            .store
            .checks_named(&names)
            .await?
            .into_iter()
            .map(|c| (c.name.clone(), c))
            .collect();
        let new_ids: Vec<CheckId> = found
            .values()
            .filter(|c| !c.paused && self.by_name.get(&c.name, self.plan.checks()) != Some(c.id))
            .map(|c| c.id)
            .collect();
        let mut states = self.deps.store.check_states(&new_ids).await?;
        for name in names {
            let stored = found.remove(&name);
            let old_id = self.by_name.get(&name, self.plan.checks());
            let now = self.now_ms();
            match stored {
                Some(check) if !check.paused && old_id == Some(check.id) => {
                    match (self.probes_here(&check), self.plan.contains(check.id)) {
                        (true, true) => self.plan.update(check.id, check.spec.cadence(), now),
                        (true, false) => self.plan.add_new(check.id, check.spec.cadence(), now),
                        (false, _) => self.plan.remove(check.id),
                    }
                    self.replace(check);
                }
                Some(check) if !check.paused => {
                    if let Some(old) = old_id {
                        self.remove(old);
                    }
                    let stored = states.remove(&check.id);
                    let wall = Timestamp::now();
                    // A heartbeat never pinged waits `grace_first` from now for its first
                    // ping; one pinged before (resumed) waits as if pinged now.
                    let heartbeat_wait = heartbeat::first_wait(&check, stored.as_ref(), wall)
                        .or_else(|| heartbeat::wait_after(&check, wall));
                    let probed = heartbeat_wait.is_none() && self.probes_here(&check);
                    let (id, cadence) = (check.id, check.spec.cadence());
                    // The entry first: the plan keeps the check's slot in it.
                    self.insert(check, Known::from_stored(stored, Timestamp::now()));
                    if let Some(wait_ms) = heartbeat_wait {
                        self.plan.add_due_in(id, cadence, now, wait_ms);
                    } else if probed {
                        self.plan.add_new(id, cadence, now);
                    }
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
}
