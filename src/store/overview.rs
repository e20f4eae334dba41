//! Reads for the web pages and `/metrics`: checks as the one read model gives them
//! ([`LiveCheck`]) with their uptime in a few set queries (no scan of raw results beyond the
//! hour not yet rolled up), daily uptime for the 90-day bars, and per-stack settings.

use std::collections::HashMap;

use sqlx::FromRow;

use super::db::Sql;
use super::{HOUR_MS, LiveCheck, Store, StoreError};
use crate::domain::{CheckId, Health, LocationName, StackName, Timestamp};

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

/// What `/metrics` shows of one check: its labels and confirmed state, nothing parsed,
/// borrowed from the pack it was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricRow<'a> {
    pub name: &'a str,
    pub stack: Option<&'a str>,
    /// The health code; `None` before the first probe.
    pub health: Option<i64>,
    pub cert_not_after: Option<i64>,
    /// A heartbeat (it has a ping key).
    pub heartbeat: bool,
    /// A domain check (`cert_not_after` is its registration's expiry).
    pub domain: bool,
    /// Each location's verdict, for a check probed from several (see `domain::Votes`).
    pub votes: Option<&'a str>,
}

impl MetricRow<'_> {
    /// Each location's health, for a check probed from several.
    pub fn location_healths(&self) -> Vec<(LocationName, Health)> {
        super::states::votes_of(self.votes)
            .iter()
            .map(|(location, vote)| (location.clone(), vote.state.health))
            .collect()
    }
}

/// Checks read per query of [`Store::each_metric_row`], packed into one text.
const METRIC_ROWS_PER_PACK: i64 = 1_024;
/// What separates the checks of a pack, and the fields of one check. Neither can occur in
/// a field: names and stacks are lowercase letters, digits and a few marks, numbers are
/// digits, and votes are JSON, which escapes control characters.
const PACK_ROW: char = '\u{1e}';
const PACK_FIELD: char = '\u{1f}';

/// One pack of metric rows as the query gives it: the last check id in it, and the rows.
#[derive(FromRow)]
struct MetricPack {
    last: Option<i64>,
    rows: Option<String>,
}

/// The checks of one pack, each handed to `each`.
fn unpack_metric_rows<'p>(
    pack: &'p str,
    each: &mut impl FnMut(MetricRow<'p>),
) -> Result<(), StoreError> {
    for record in pack.split(PACK_ROW) {
        let corrupt = |reason: &str| StoreError::Corrupt {
            name: record
                .split(PACK_FIELD)
                .next()
                .unwrap_or_default()
                .to_owned(),
            reason: format!("metric row: {reason}"),
        };
        let mut fields = record.split(PACK_FIELD);
        let mut field = || fields.next().ok_or_else(|| corrupt("too few fields"));
        let number = |f: &str| -> Result<Option<i64>, StoreError> {
            present(f)
                .map(|f| f.parse().map_err(|_| corrupt("a number is not one")))
                .transpose()
        };
        let name = field()?;
        let stack = present(field()?);
        let health = number(field()?)?;
        let cert_not_after = number(field()?)?;
        let heartbeat = field()? == "1";
        let domain = field()? == "1";
        let votes = present(field()?);
        each(MetricRow {
            name,
            stack,
            health,
            cert_not_after,
            heartbeat,
            domain,
            votes,
        });
    }
    Ok(())
}

/// A packed field: empty for none.
fn present(field: &str) -> Option<&str> {
    (!field.is_empty()).then_some(field)
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

    /// Every check's labels and state for `/metrics`, handed to `each` as it is read: no
    /// spec parsed, no uptime tallied and no list of them all held (some 10 MB at 100,000
    /// checks). They come in id order, [`METRIC_ROWS_PER_PACK`] per query packed into one
    /// text, as a row of a SQLite result costs a few microseconds of the driver's handing
    /// over: a million checks, one row each, took 3 to 9 s to read where 1,024 a row take
    /// well under one.
    pub async fn each_metric_row(
        &self,
        mut each: impl FnMut(MetricRow<'_>),
    ) -> Result<(), StoreError> {
        let aggregate = match self.dialect() {
            super::db::Dialect::Sqlite => "group_concat",
            super::db::Dialect::Postgres => "string_agg",
        };
        let text = format!(
            "SELECT MAX(id) AS last, {aggregate}(line, '{PACK_ROW}') AS rows FROM (\
             SELECT c.id, c.name || '{PACK_FIELD}' || COALESCE(c.stack, '') || '{PACK_FIELD}' \
                 || COALESCE(CAST(s.health AS TEXT), '') || '{PACK_FIELD}' \
                 || COALESCE(CAST(s.cert_not_after AS TEXT), '') || '{PACK_FIELD}' \
                 || CASE WHEN c.ping_key IS NULL THEN '0' ELSE '1' END || '{PACK_FIELD}' \
                 || CASE WHEN c.kind = 'domain' THEN '1' ELSE '0' END || '{PACK_FIELD}' \
                 || COALESCE(s.votes, '') AS line \
             FROM checks c LEFT JOIN check_state s ON s.check_id = c.id \
             WHERE c.id > $1 ORDER BY c.id LIMIT $2) pack"
        );
        let mut after = 0;
        loop {
            let pack: MetricPack = Sql::new(text.as_str())
                .bind(after)
                .bind(METRIC_ROWS_PER_PACK)
                .fetch_one(self.reader())
                .await?;
            let (Some(last), Some(rows)) = (pack.last, pack.rows) else {
                return Ok(());
            };
            unpack_metric_rows(&rows, &mut each)?;
            after = last;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn unpack(pack: &str) -> Result<Vec<MetricRow<'_>>, StoreError> {
        let mut rows = Vec::new();
        unpack_metric_rows(pack, &mut |row| rows.push(row))?;
        Ok(rows)
    }

    #[test]
    fn a_pack_gives_each_check_with_empty_fields_as_none() {
        let pack = format!(
            "web{f}shop{f}0{f}1700000000000{f}0{f}0{f}{{\"fra\":1}}{r}job{f}{f}{f}{f}1{f}0{f}",
            f = PACK_FIELD,
            r = PACK_ROW
        );
        let rows = unpack(&pack).unwrap();
        assert_eq!(
            rows,
            vec![
                MetricRow {
                    name: "web",
                    stack: Some("shop"),
                    health: Some(0),
                    cert_not_after: Some(1_700_000_000_000),
                    heartbeat: false,
                    domain: false,
                    votes: Some("{\"fra\":1}"),
                },
                MetricRow {
                    name: "job",
                    stack: None,
                    health: None,
                    cert_not_after: None,
                    heartbeat: true,
                    domain: false,
                    votes: None,
                },
            ]
        );
    }

    #[test]
    fn a_pack_cut_short_or_with_a_bad_number_is_refused_naming_the_check() {
        let short = format!("web{f}shop{f}0", f = PACK_FIELD);
        let bad = format!("web{f}{f}up{f}{f}0{f}0{f}", f = PACK_FIELD);
        for pack in [short, bad] {
            match unpack(&pack) {
                Err(StoreError::Corrupt { name, .. }) => assert_eq!(name, "web"),
                other => panic!("{pack:?}: {other:?}"),
            }
        }
    }
}
