//! The lease keeper of an instance on a shared database: every third of the lease it
//! renews its shards, takes its fair share, and tells the scheduler which shards it may
//! probe and until when. The scheduler's deadline ends before the database's lease does,
//! so two instances never probe one shard in the steady state.
//!
//! A round that fails (the database is down, or cannot be reached from here) keeps what
//! the instance holds: when PostgreSQL stops, nobody can take a shard over, and the checks
//! must go on being probed, their results waiting in the recorder's backlog. If only this
//! instance is cut off, the others take its shards once its leases lapse and those checks
//! are probed twice until it is back; state changes are compare-and-set, so each is
//! alerted once, and its first round back gives up what others took.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::domain::{CheckId, LocationName, Timestamp};
use crate::store::{Member, Store, StoreError, shard_of};

/// The shortest silence after which a location whose instances all stopped is offline.
const LEAST_SILENCE_MS: i64 = 30_000;

/// This instance among the others: its name in the `instances` and `shard_leases` tables,
/// where it probes from, and the home location.
#[derive(Debug, Clone)]
pub struct Membership {
    pub name: String,
    pub location: LocationName,
    pub home: LocationName,
}

impl Membership {
    fn member(&self) -> Member<'_> {
        Member {
            name: &self.name,
            location: self.location.as_str(),
            home: self.home.as_str(),
        }
    }
}

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
    pub async fn take(store: &Store, me: &Membership, lease: Duration) -> Result<Self, StoreError> {
        // The deadline counts from before the round, and ends a fifth of the lease early:
        // the database's lease, counted from after, outlives it.
        let started = Instant::now();
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let now = Timestamp::now();
        let shards = store.keep_leases(me.member(), now, lease_ms).await?;
        if me.location != me.home {
            // Away from home this instance reports as an agent does: while one of the
            // location's instances renews its leases, the location is not silent.
            store
                .agent_seen(&me.location, now, lease_ms.max(LEAST_SILENCE_MS))
                .await?;
        }
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
    me: Membership,
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
        // A round the database does not answer in time fails like one it refuses, so the
        // deadline is pushed on before it passes.
        let round = tokio::time::timeout(lease / 3, Owned::take(&store, &me, lease)).await;
        let round = round
            .map_err(|_| "no answer from the database in time".to_owned())
            .and_then(|taken| taken.map_err(|e| e.to_string()));
        match round {
            Ok(now_owned) => {
                if failing {
                    tracing::info!("leases renewed again");
                    failing = false;
                }
                owned.send_replace(now_owned);
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "cannot renew the leases; this instance goes on probing the checks it holds until the database answers");
                    failing = true;
                }
                let until = Instant::now() + lease - lease / 5;
                owned.send_modify(|held| held.until = until);
            }
        }
    }
    if let Err(e) = store.release_leases(&me.name).await {
        tracing::warn!(error = %e, "cannot let go of the leases; they lapse by themselves");
    }
}
