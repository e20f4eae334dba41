//! Reads for the web pages: checks as the one read model gives them ([`LiveCheck`]) with
//! their uptime in a few set queries (no scan of raw results beyond the hour not yet rolled
//! up), daily uptime for the 90-day bars, and per-stack settings.

use std::collections::HashMap;

use sqlx::FromRow;

use super::db::Sql;
use super::{HOUR_MS, LiveCheck, Store, StoreError};
use crate::domain::{CheckId, StackName, Timestamp};

const DAY_MS: i64 = 24 * HOUR_MS;

/// Probes and probes up over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub probes: i64,
    pub up: i64,
}

impl Tally {
    /// Uptime in percent, when there were probes.
    pub fn percent(self) -> Option<f64> {
        (self.probes > 0).then(|| self.up as f64 * 100.0 / self.probes as f64)
    }

    fn add(&mut self, other: Tally) {
        self.probes += other.probes;
        self.up += other.up;
    }
}

/// One check as the overview shows it: the check now, and its uptime.
#[derive(Debug, Clone)]
pub struct OverviewRow {
    pub live: LiveCheck,
    pub uptime_24h: Tally,
    pub uptime_30d: Tally,
}

/// One day of a check's 90-day bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    pub tally: Tally,
}

#[derive(FromRow)]
struct TallyRow {
    check_id: i64,
    probes_24h: i64,
    up_24h: i64,
    probes: i64,
    up: i64,
}

/// 24 h and 30 d tallies by check id.
type Tallies = HashMap<i64, (Tally, Tally)>;

impl Store {
    /// These checks with their 24 h / 30 d uptime, in the order given.
    pub(super) async fn with_uptime(
        &self,
        live: Vec<LiveCheck>,
        now: Timestamp,
    ) -> Result<Vec<OverviewRow>, StoreError> {
        let ids: Vec<CheckId> = live.iter().map(|l| l.check.id).collect();
        let mut tallies = Tallies::with_capacity(ids.len());
        for chunk in ids.chunks(super::checks::NAMES_PER_QUERY) {
            tallies.extend(self.tallies_of(now, chunk).await?);
        }
        Ok(live
            .into_iter()
            .map(|live| {
                let (uptime_24h, uptime_30d) =
                    tallies.get(&live.check.id.0).copied().unwrap_or_default();
                OverviewRow {
                    live,
                    uptime_24h,
                    uptime_30d,
                }
            })
            .collect())
    }

    /// The last 24 hours' tally of each of these checks that was probed in them.
    pub async fn day_tallies(
        &self,
        ids: &[CheckId],
        now: Timestamp,
    ) -> Result<HashMap<CheckId, Tally>, StoreError> {
        let mut day = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(super::checks::NAMES_PER_QUERY) {
            let tallies = self.tallies_of(now, chunk).await?;
            day.extend(tallies.into_iter().map(|(id, (d, _))| (CheckId(id), d)));
        }
        Ok(day)
    }

    /// 24 h and 30 d tallies of these checks: rolled-up
    /// hours, plus raw results since the first hour not rolled up (one index seek per
    /// check).
    async fn tallies_of(&self, now: Timestamp, ids: &[CheckId]) -> Result<Tallies, StoreError> {
        let rolled_hour = self.rolled_hour().await?.unwrap_or(0);
        let day_ago = now.0 - DAY_MS;
        let month_ago = now.0 - 30 * DAY_MS;
        let raw_from = rolled_hour.saturating_mul(HOUR_MS).max(month_ago);
        let only_ids = |query: &mut Sql<'_>, column: &str| {
            query.push(&format!(" AND {column} IN "));
            query.push_list(ids.iter().map(|id| id.0));
        };
        let mut hourly = Sql::new(
            "SELECT check_id, \
             CAST(COALESCE(SUM(CASE WHEN hour >= ",
        );
        hourly
            .push_bind(day_ago.div_euclid(HOUR_MS))
            .push(" THEN count END), 0) AS BIGINT) AS probes_24h, CAST(COALESCE(SUM(CASE WHEN hour >= ")
            .push_bind(day_ago.div_euclid(HOUR_MS))
            .push(
                " THEN up_count END), 0) AS BIGINT) AS up_24h, CAST(SUM(count) AS BIGINT) AS probes, \
                 CAST(SUM(up_count) AS BIGINT) AS up \
                 FROM rollups_hourly WHERE hour >= ",
            )
            .push_bind(month_ago.div_euclid(HOUR_MS))
            .push(" AND hour < ")
            .push_bind(rolled_hour);
        only_ids(&mut hourly, "check_id");
        hourly.push(" GROUP BY check_id");
        let hourly: Vec<TallyRow> = hourly.fetch_all(self.reader()).await?;
        let mut raw = Sql::new("SELECT c.id AS check_id, COUNT(CASE WHEN r.at >= ");
        raw.push_bind(day_ago)
            .push(" THEN 1 END) AS probes_24h, COUNT(CASE WHEN r.at >= ")
            .push_bind(day_ago)
            .push(
                " AND r.outcome = 0 THEN 1 END) AS up_24h, \
                 COUNT(r.at) AS probes, COUNT(CASE WHEN r.outcome = 0 THEN 1 END) AS up \
                 FROM checks c JOIN results r ON r.check_id = c.id AND r.at >= ",
            )
            .push_bind(raw_from)
            .push(" WHERE 1 = 1");
        only_ids(&mut raw, "c.id");
        raw.push(" GROUP BY c.id");
        let raw: Vec<TallyRow> = raw.fetch_all(self.reader()).await?;
        let mut tallies: HashMap<i64, (Tally, Tally)> = HashMap::new();
        for row in hourly.into_iter().chain(raw) {
            let entry = tallies.entry(row.check_id).or_default();
            entry.0.add(Tally {
                probes: row.probes_24h,
                up: row.up_24h,
            });
            entry.1.add(Tally {
                probes: row.probes,
                up: row.up,
            });
        }
        Ok(tallies)
    }

    /// The last `days` days (today included) of a check, oldest first; days without probes
    /// have a zero tally.
    pub async fn daily_uptime(
        &self,
        id: CheckId,
        days: i64,
        now: Timestamp,
    ) -> Result<Vec<Day>, StoreError> {
        let mut all = self.daily_uptimes(&[id], days, now).await?;
        Ok(all.remove(&id).unwrap_or_default())
    }

    /// [`Self::daily_uptime`] of each of these checks, in three queries per
    /// [`super::checks::NAMES_PER_QUERY`] checks: daily rollups, hourly rollups of days not
    /// rolled up yet, raw results of hours not rolled up yet.
    pub async fn daily_uptimes(
        &self,
        ids: &[CheckId],
        days: i64,
        now: Timestamp,
    ) -> Result<HashMap<CheckId, Vec<Day>>, StoreError> {
        let today = now.0.div_euclid(DAY_MS);
        let first = today - days + 1;
        let rolled_hour = self.rolled_hour().await?.unwrap_or(0);
        let mut all = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(super::checks::NAMES_PER_QUERY) {
            let in_list = |query: &mut Sql<'_>| {
                query.push(" AND check_id IN ");
                query.push_list(chunk.iter().map(|id| id.0));
            };
            let mut by_day: HashMap<(i64, i64), Tally> = HashMap::new();
            let mut daily =
                Sql::new("SELECT check_id, day, count, up_count FROM rollups_daily WHERE day >= ");
            daily.push_bind(first);
            in_list(&mut daily);
            let daily: Vec<(i64, i64, i64, i64)> = daily.fetch_all(self.reader()).await?;
            let complete: std::collections::HashSet<(i64, i64)> =
                daily.iter().map(|d| (d.0, d.1)).collect();
            for (id, day, probes, up) in daily {
                by_day.insert((id, day), Tally { probes, up });
            }
            // Days not rolled up into a daily row yet: their hours, then raw results.
            let mut hours = Sql::new(
                "SELECT check_id, hour / 24, CAST(SUM(count) AS BIGINT), \
                 CAST(SUM(up_count) AS BIGINT) FROM rollups_hourly \
                 WHERE hour >= ",
            );
            hours
                .push_bind(first * 24)
                .push(" AND hour < ")
                .push_bind(rolled_hour);
            in_list(&mut hours);
            hours.push(" GROUP BY check_id, hour / 24");
            let mut raw = Sql::new(
                "SELECT check_id, at / 86400000, COUNT(*), \
                 COUNT(CASE WHEN outcome = 0 THEN 1 END) FROM results \
                 WHERE at >= ",
            );
            raw.push_bind((rolled_hour * HOUR_MS).max(first * DAY_MS));
            in_list(&mut raw);
            raw.push(" GROUP BY check_id, at / 86400000");
            for query in [hours, raw] {
                let rows: Vec<(i64, i64, i64, i64)> = query.fetch_all(self.reader()).await?;
                for (id, day, probes, up) in rows {
                    if !complete.contains(&(id, day)) {
                        by_day
                            .entry((id, day))
                            .or_default()
                            .add(Tally { probes, up });
                    }
                }
            }
            for id in chunk {
                let days = (first..=today)
                    .map(|day| Day {
                        day,
                        tally: by_day.get(&(id.0, day)).copied().unwrap_or_default(),
                    })
                    .collect();
                all.insert(*id, days);
            }
        }
        Ok(all)
    }

    /// Whether `stack`'s status page is published by its own setting.
    pub async fn status_page_published(&self, stack: &StackName) -> Result<bool, StoreError> {
        let flag: Option<bool> =
            Sql::new("SELECT status_page FROM stack_settings WHERE stack = $1")
                .bind(stack.as_str())
                .scalar_optional(self.reader())
                .await?;
        Ok(flag.unwrap_or(false))
    }
}
