//! Leases on shards of the checks, for instances sharing a PostgreSQL database: who is
//! alive, which shards each one probes, and which one runs a job meant to run once.

use sqlx::Postgres;
use sqlx::pool::PoolConnection;

use super::db::{On, Sql};
use super::{Db, Store, StoreError};
use crate::domain::{CheckId, Timestamp};

/// The advisory lock key the instance running the rollup job holds ("stackrol").
const JOB_LOCK: i64 = 0x7374_6163_6b72_6f6c;

/// The right to run the rollup job: on a shared database, a session advisory lock on a
/// connection of its own, held until [`JobTurn::end`] or until the turn or the connection
/// drops (a cancelled job, a dead instance); on SQLite, its one process has it always.
pub struct JobTurn {
    held: Option<PoolConnection<Postgres>>,
}

impl JobTurn {
    /// Lets go of the lock. A connection that cannot say so is closed, which lets go too.
    pub async fn end(mut self) {
        let Some(mut conn) = self.held.take() else {
            return;
        };
        let unlocked = Sql::new("SELECT pg_advisory_unlock($1)")
            .bind(JOB_LOCK)
            .execute(On::Pg(&mut conn))
            .await;
        if unlocked.is_err() {
            drop(conn.detach());
        }
    }
}

impl Drop for JobTurn {
    /// A turn dropped without [`JobTurn::end`] (its task cancelled mid-job) closes its
    /// connection rather than hand it back to the pool still holding the lock.
    fn drop(&mut self) {
        if let Some(conn) = self.held.take() {
            drop(conn.detach());
        }
    }
}

/// How many shards the checks are cut into: one bit each in a `u64`, and fine enough
/// that a handful of instances share them evenly.
pub const SHARDS: i64 = 64;

/// The shard of a check: the top six bits of a multiplicative hash of its id, so checks
/// created one after another (a stack) land in different shards, not in the same few.
pub fn shard_of(id: CheckId) -> u32 {
    // Fibonacci hashing of the id's bits; a u64 shifted right by 58 is below 64.
    let bits = u64::from_ne_bytes(id.0.to_ne_bytes()).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58;
    u32::try_from(bits).unwrap_or(0)
}

/// Who an instance is among the others: its name, where it probes from and the home it
/// names.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub name: &'a str,
    pub location: &'a str,
    pub home: &'a str,
}

impl Store {
    /// One round of an instance's leases at `now`: says it is alive, renews the leases it
    /// holds for `lease_ms`, takes free or lapsed shards of its location up to its fair
    /// share of the location's live instances and lets go of those above it. Returns the
    /// shards it holds now, as a mask.
    pub async fn keep_leases(
        &self,
        me: Member<'_>,
        now: Timestamp,
        lease_ms: i64,
    ) -> Result<u64, StoreError> {
        let until = now.0.saturating_add(lease_ms);
        let mut tx = self.begin().await?;
        Sql::new(
            "INSERT INTO instances (name, seen_at, location, home) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at",
        )
        .bind(me.name)
        .bind(now.0)
        .bind(me.location)
        .bind(me.home)
        .execute(tx.on())
        .await?;
        let mut held: Vec<i64> = Sql::new(
            "UPDATE shard_leases SET expires_at = $1 WHERE holder = $2 AND location = $3 \
             RETURNING shard",
        )
        .bind(until)
        .bind(me.name)
        .bind(me.location)
        .scalar_all(tx.on())
        .await?;
        let live: i64 =
            Sql::new("SELECT COUNT(*) FROM instances WHERE seen_at > $1 AND location = $2")
                .bind(now.0 - lease_ms)
                .bind(me.location)
                .scalar_one(tx.on())
                .await?;
        let share = usize::try_from((SHARDS + live.max(1) - 1) / live.max(1)).unwrap_or(0);
        if held.len() < share {
            let wanted = i64::try_from(share - held.len()).unwrap_or(0);
            let taken: Vec<i64> = Sql::new(format!(
                "UPDATE shard_leases SET holder = $1, expires_at = $2 WHERE location = $5 \
                 AND shard IN (SELECT shard FROM shard_leases WHERE location = $5 \
                 AND expires_at <= $3 ORDER BY shard LIMIT $4{}) RETURNING shard",
                self.dialect().skip_locked("shard_leases")
            ))
            .bind(me.name)
            .bind(until)
            .bind(now.0)
            .bind(wanted)
            .bind(me.location)
            .scalar_all(tx.on())
            .await?;
            held.extend(taken);
        } else if held.len() > share {
            held.sort_unstable();
            let extra = held.split_off(share);
            let mut release =
                Sql::new("UPDATE shard_leases SET holder = NULL, expires_at = 0 WHERE location = ");
            release.push_bind(me.location).push(" AND shard IN ");
            release.push_list(extra);
            release.execute(tx.on()).await?;
        }
        Sql::new("DELETE FROM instances WHERE seen_at < $1")
            .bind(now.0 - 10 * lease_ms)
            .execute(tx.on())
            .await?;
        tx.commit().await?;
        Ok(held
            .into_iter()
            .filter(|s| (0..SHARDS).contains(s))
            .fold(0, |mask, s| mask | 1 << s))
    }

    /// Makes the lease rows of `location`'s shards, if its first instance has not yet, and
    /// answers the home another live instance names, if it is not `home`: instances that
    /// disagree on it would each judge the checks.
    pub async fn join_cluster(
        &self,
        location: &str,
        home: &str,
        now: Timestamp,
        lease_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin().await?;
        let mut rows = Sql::new("INSERT INTO shard_leases (location, shard, holder, expires_at) ");
        rows.push_values(0..SHARDS, |row, shard| {
            row.push_bind(location)
                .push_bind(shard)
                .push_bind(None::<String>)
                .push_bind(0_i64);
        });
        rows.push(" ON CONFLICT (location, shard) DO NOTHING");
        rows.execute(tx.on()).await?;
        let other: Option<String> = Sql::new(
            "SELECT home FROM instances WHERE seen_at > $1 AND home <> $2 AND home <> '' LIMIT 1",
        )
        .bind(now.0 - lease_ms)
        .bind(home)
        .scalar_optional(tx.on())
        .await?;
        tx.commit().await?;
        Ok(other)
    }

    /// The turn to run the rollup job, unless another instance is running it now.
    pub async fn job_turn(&self) -> Result<Option<JobTurn>, StoreError> {
        let Db::Postgres(pool) = &self.db else {
            return Ok(Some(JobTurn { held: None }));
        };
        let mut conn = pool.acquire().await?;
        let got: bool = Sql::new("SELECT pg_try_advisory_lock($1)")
            .bind(JOB_LOCK)
            .scalar_one(On::Pg(&mut conn))
            .await?;
        Ok(got.then_some(JobTurn { held: Some(conn) }))
    }

    /// Lets go of every lease `me` holds and says it is gone, so the others take its
    /// shards at their next round instead of when the leases lapse.
    pub async fn release_leases(&self, me: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        Sql::new("UPDATE shard_leases SET holder = NULL, expires_at = 0 WHERE holder = $1")
            .bind(me)
            .execute(tx.on())
            .await?;
        Sql::new("DELETE FROM instances WHERE name = $1")
            .bind(me)
            .execute(tx.on())
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_ids_spread_over_the_shards() {
        let shards: std::collections::BTreeSet<u32> =
            (1..=20).map(|id| shard_of(CheckId(id))).collect();
        assert!(shards.len() >= 15, "{shards:?}");
        assert!((1..=10_000).all(|id| shard_of(CheckId(id)) < 64));
    }
}
