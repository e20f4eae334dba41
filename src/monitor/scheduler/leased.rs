//! The scheduler on a shared database: which checks this instance probes and judges (those
//! of the shards its lease keeper holds, once their states are read), and taking shards
//! over from the states and pings their last holder left.

use tokio::time::Instant;

use super::Scheduler;
use crate::domain::{CheckId, Ping, Timestamp};
use crate::monitor::known::Known;
use crate::store::{StoreError, shard_of};

/// How far back an instance taking a shard over looks for pings its last holder did not
/// judge: longer than any lease.
const PINGS_REPLAYED_MS: i64 = 600_000;

impl Scheduler {
    /// Whether this instance probes and judges `id` now: always on a database of its own;
    /// on a shared one, if it holds the check's shard and has read its states since.
    /// Away from home, none: the instances at home judge every check.
    pub(super) fn holds(&self, id: CheckId) -> bool {
        self.at_home()
            && self.deps.leases.as_ref().is_none_or(|leases| {
                leases.borrow().owns(id, Instant::now()) && self.loaded & (1 << shard_of(id)) != 0
            })
    }

    /// Whether this instance probes `id` now: at home, the checks it holds; elsewhere,
    /// those of the shards it leases among its location's instances.
    pub(super) fn probes(&self, id: CheckId) -> bool {
        if self.at_home() {
            return self.holds(id);
        }
        self.deps
            .leases
            .as_ref()
            .is_none_or(|leases| leases.borrow().owns(id, Instant::now()))
    }

    /// Takes the shards the lease keeper now holds: states of the checks of shards just
    /// taken are read from the store (what their last holder wrote) before any is probed;
    /// a read that fails is tried again at the keeper's next round.
    pub(super) async fn leases_changed(&mut self) {
        let Some(leases) = &mut self.deps.leases else {
            return;
        };
        let shards = leases.borrow_and_update().shards;
        if self.deps.location != self.deps.home {
            // Nothing is judged away from home: no state to read.
            return;
        }
        self.loaded &= shards;
        let gained = shards & !self.loaded;
        if gained == 0 {
            return;
        }
        let ids: Vec<CheckId> = self
            .plan
            .checks()
            .keys()
            .filter(|id| gained & (1 << shard_of(**id)) != 0)
            .copied()
            .collect();
        match self.take_over(&ids).await {
            Ok(missed) => {
                self.loaded |= gained;
                tracing::info!(shards = shards.count_ones(), "leased shards");
                for ping in missed {
                    self.pinged(ping).await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the states of the checks of leased shards; retrying at the next lease round");
            }
        }
    }

    /// Reads the states of checks whose shards were just taken, and returns the pings of
    /// their heartbeats that came after their stored state (logged while nobody held them,
    /// or while the last holder was dying), to be judged now.
    async fn take_over(&mut self, ids: &[CheckId]) -> Result<Vec<Ping>, StoreError> {
        let mut states = self.deps.store.check_states(ids).await?;
        let beats: Vec<CheckId> = ids
            .iter()
            .filter(|id| {
                self.plan
                    .checks()
                    .get(id)
                    .is_some_and(|e| e.check.spec.is_heartbeat())
            })
            .copied()
            .collect();
        let now = Timestamp::now();
        let logged = if beats.is_empty() {
            Vec::new()
        } else {
            let since = Timestamp(now.0 - PINGS_REPLAYED_MS);
            self.deps.store.pings_since(&beats, since).await?
        };
        let missed = logged
            .into_iter()
            .filter(|ping| {
                let last = states.get(&ping.check).and_then(|s| s.last_at);
                last.is_none_or(|last| ping.at > last)
            })
            .collect();
        for id in ids {
            if let Some(entry) = self.plan.checks_mut().get_mut(id) {
                entry.known = Known::from_stored(states.remove(id), now);
            }
        }
        Ok(missed)
    }
}
