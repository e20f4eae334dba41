//! The lease keeper of an instance on a shared database: every third of the lease it
//! renews its shards, takes its fair share, and tells the scheduler which shards it may
//! probe and until when. A round that fails changes nothing: what the scheduler holds
//! lapses at its deadline, before the database's lease does, so two instances never
//! probe one shard in the steady state.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::domain::{CheckId, Timestamp};
use crate::store::{Store, StoreError, shard_of};

/// The shards an instance may probe, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owned {
    /// One bit per shard.
    pub shards: u64,
    /// When the right lapses unless a round renews it.
    pub until: Instant,
}

impl Owned {
    /// One round of leases for `me` (see `Store::keep_leases`), and what it gives.
    pub async fn take(store: &Store, me: &str, lease: Duration) -> Result<Self, StoreError> {
        // The deadline counts from before the round, and ends a fifth of the lease early:
        // the database's lease, counted from after, outlives it.
        let started = Instant::now();
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let shards = store.keep_leases(me, Timestamp::now(), lease_ms).await?;
        Ok(Self {
            shards,
            until: started + lease - lease / 5,
        })
    }

    /// Whether the check may be probed here at `now`.
    pub fn owns(&self, id: CheckId, now: Instant) -> bool {
        now < self.until && self.shards & (1 << shard_of(id)) != 0
    }
}

/// Keeps this instance's leases until `cancel`, then lets go of them.
pub async fn keep_leases(
    store: Store,
    me: String,
    lease: Duration,
    owned: watch::Sender<Owned>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(lease / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        match Owned::take(&store, &me, lease).await {
            Ok(now_owned) => {
                if failing {
                    tracing::info!("leases renewed again");
                    failing = false;
                }
                owned.send_replace(now_owned);
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "cannot renew the leases; this instance stops probing its checks when they lapse");
                    failing = true;
                }
            }
        }
    }
    if let Err(e) = store.release_leases(&me).await {
        tracing::warn!(error = %e, "cannot let go of the leases; they lapse by themselves");
    }
}
