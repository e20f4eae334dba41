//! An instance among others on a shared database: its name in the `instances` and
//! `shard_leases` tables, and its lease keeper's first round.

use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;

use crate::monitor::Owned;
use crate::store::Store;

/// What an instance's lease keeper needs.
pub(super) struct Lessee {
    /// This instance in the `instances` and `shard_leases` tables.
    pub(super) name: String,
    pub(super) lease: Duration,
    pub(super) owned: watch::Sender<Owned>,
}

impl Lessee {
    /// Takes the first round of leases (before the checks are loaded, so the scheduler
    /// probes its shards from its first tick, with the states read after taking them);
    /// answers the keeper and what the scheduler watches.
    pub(super) async fn first_round(
        store: &Store,
        lease_s: u64,
    ) -> anyhow::Result<(Self, watch::Receiver<Owned>)> {
        let name = instance_name();
        let lease = Duration::from_secs(lease_s);
        let first = Owned::take(store, &name, lease)
            .await
            .context("cannot take the first leases")?;
        let (owned, leases) = watch::channel(first);
        Ok((Self { name, lease, owned }, leases))
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
