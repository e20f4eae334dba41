//! An instance among others on a shared database: its name in the `instances` and
//! `shard_leases` tables, and its lease keeper's first round.

use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;

use crate::domain::{LocationName, Timestamp};
use crate::monitor::{Membership, Owned};
use crate::settings::SettingsError;
use crate::store::Store;

/// What an instance's lease keeper needs.
pub(super) struct Lessee {
    /// This instance in the `instances` and `shard_leases` tables.
    pub(super) me: Membership,
    pub(super) lease: Duration,
    pub(super) owned: watch::Sender<Owned>,
}

impl Lessee {
    /// Takes the first round of leases (before the checks are loaded, so the scheduler
    /// probes its shards from its first tick, with the states read after taking them);
    /// answers the keeper and what the scheduler watches.
    /// Refuses to start beside a live instance that names another home.
    pub(super) async fn first_round(
        store: &Store,
        lease_s: u64,
        location: &LocationName,
        home: &LocationName,
    ) -> anyhow::Result<(Self, watch::Receiver<Owned>)> {
        let me = Membership {
            name: instance_name(),
            location: location.clone(),
            home: home.clone(),
        };
        let lease = Duration::from_secs(lease_s);
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let other = store
            .join_cluster(location.as_str(), home.as_str(), Timestamp::now(), lease_ms)
            .await
            .context("cannot join the instances on the database")?;
        if let Some(other) = other {
            let problem = format!(
                "monitor.home: is {home}, but a live instance on this database names {other}: \
                 every instance of a cluster names the same home"
            );
            return Err(
                anyhow::Error::new(SettingsError::one(problem)).context("invalid configuration")
            );
        }
        let first = Owned::take(store, &me, lease)
            .await
            .context("cannot take the first leases")?;
        let (owned, leases) = watch::channel(first);
        Ok((Self { me, lease, owned }, leases))
    }
}

/// A name for this process among the instances on a shared database: the host, the
/// process id and random bits, so a restarted instance is a new one.
fn instance_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let mut bits = [0u8; 4];
    let tag: String = match getrandom::fill(&mut bits) {
        Ok(()) => bits.iter().map(|b| format!("{b:02x}")).collect(),
        Err(_) => String::new(),
    };
    format!("{host}-{}-{tag}", std::process::id())
}
