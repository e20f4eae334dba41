//! Agents' locations: when each was last heard from and whether it was declared offline.
//! The flag changes by compare-and-set in the transaction that files its alert, so one
//! `offline` and one `online` go out per silence, whichever instance notices it.

use sqlx::FromRow;

use super::db::Sql;
use super::record::{MONITOR_ALERT_NAME, MONITOR_CHECK_ID, NewAlert};
use super::{Store, StoreError};
use std::collections::HashSet;

use crate::domain::{Check, CheckId, LocationName, Timestamp};

/// What is known of an agent's location.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct LocationRow {
    pub name: String,
    /// When its agent was last heard from (ms).
    pub last_seen: i64,
    /// How long it may stay silent before it is offline (ms).
    pub silent_ms: i64,
    pub offline: bool,
}

/// Checks read per query when listing a location's.
const PAGE: u32 = 2_000;

impl Store {
    /// A text that changes whenever a check is created, changed or deleted: an agent polls
    /// it to learn its location's checks changed.
    pub async fn checks_version(&self) -> Result<String, StoreError> {
        let (count, newest, sum): (i64, i64, i64) = Sql::new(
            "SELECT COUNT(*), COALESCE(MAX(updated_at), 0), \
             CAST(COALESCE(SUM(updated_at % 1000003 + id), 0) AS BIGINT) FROM checks",
        )
        .fetch_one(self.reader())
        .await?;
        Ok(format!("{count}-{newest}-{sum}"))
    }

    /// The active checks probed from `location` (`own`: the server's location).
    pub async fn checks_probed_from(
        &self,
        location: &LocationName,
        own: &LocationName,
    ) -> Result<Vec<Check>, StoreError> {
        let mut found = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .list_checks(&Default::default(), after.as_ref(), PAGE)
                .await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.name.clone());
            found.extend(
                page.into_iter()
                    .filter(|c| !c.paused && c.spec.probed_from(location, own)),
            );
        }
        Ok(found)
    }

    /// Which of these checks are active and probed from `location`.
    pub async fn check_ids_probed_from(
        &self,
        ids: &[CheckId],
        location: &LocationName,
        own: &LocationName,
    ) -> Result<HashSet<CheckId>, StoreError> {
        let mut wanted: Vec<i64> = ids.iter().map(|id| id.0).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut probed = HashSet::new();
        for chunk in wanted.chunks(super::checks::NAMES_PER_QUERY) {
            let mut query = Sql::new(super::checks::SELECT_CHECK);
            query.push(" WHERE id IN ");
            query.push_list(chunk.iter().copied());
            let rows: Vec<super::checks::CheckRow> = query.fetch_all(self.reader()).await?;
            for row in rows {
                let check = Check::try_from(row)?;
                if !check.paused && check.spec.probed_from(location, own) {
                    probed.insert(check.id);
                }
            }
        }
        Ok(probed)
    }

    /// Notes that `location`'s agent was heard from at `at`, and how long it may stay
    /// silent from now on.
    pub async fn agent_seen(
        &self,
        location: &LocationName,
        at: Timestamp,
        silent_ms: i64,
    ) -> Result<(), StoreError> {
        self.note_agents(
            &[location],
            at,
            silent_ms,
            "DO UPDATE SET \
             last_seen = CASE WHEN excluded.last_seen > locations.last_seen \
                 THEN excluded.last_seen ELSE locations.last_seen END, \
             silent_ms = excluded.silent_ms",
        )
        .await
    }

    /// Starts counting the silence of these locations from `at`, for those never heard of.
    pub async fn expect_agents(
        &self,
        locations: &[&LocationName],
        at: Timestamp,
        silent_ms: i64,
    ) -> Result<(), StoreError> {
        self.note_agents(locations, at, silent_ms, "DO NOTHING")
            .await
    }

    /// Writes these locations' rows, `on_conflict` deciding what becomes of existing ones.
    async fn note_agents(
        &self,
        locations: &[&LocationName],
        at: Timestamp,
        silent_ms: i64,
        on_conflict: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for location in locations {
            Sql::new(format!(
                "INSERT INTO locations (name, last_seen, silent_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) {on_conflict}"
            ))
            .bind(location.as_str())
            .bind(at.0)
            .bind(silent_ms)
            .execute(tx.on())
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every agent's location as last noted.
    pub async fn agent_locations(&self) -> Result<Vec<LocationRow>, StoreError> {
        Ok(Sql::new(
            "SELECT name, last_seen, silent_ms, offline = 1 AS offline FROM locations ORDER BY name",
        )
        .fetch_all(self.reader())
        .await?)
    }

    /// Declares `location` offline (or back online) and files `alert` with it, unless
    /// another instance did first; returns whether this call changed it.
    pub async fn set_location_offline(
        &self,
        location: &str,
        offline: bool,
        alert: &NewAlert,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let changed =
            Sql::new("UPDATE locations SET offline = $1 WHERE name = $2 AND offline = $3")
                .bind(i64::from(offline))
                .bind(location)
                .bind(i64::from(!offline))
                .execute(tx.on())
                .await?
                > 0;
        if changed {
            super::alerts::insert_alert(&mut tx, MONITOR_CHECK_ID, MONITOR_ALERT_NAME, alert, at)
                .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }
}
