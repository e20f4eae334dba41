//! The dashboard's read: one page of checks, worst first as [`Shown`] orders them, then by
//! stack and name. Which checks make the page is decided in SQL, so a page costs a scan of
//! `checks` and `check_state` and a handful of queries for its own checks, whether there
//! are a thousand checks or a million; no list of them all is held.

use super::checks::CheckRow;
use super::db::Sql;
use super::live::push_maintained;
use super::{CheckFilter, OverviewRow, Store, StoreError};
use crate::domain::{Check, CheckId, Health, MaintenanceScope, Shown, Timestamp};

/// Which checks the dashboard asks for.
#[derive(Debug, Default)]
pub struct DashboardQuery {
    pub filter: CheckFilter,
    /// Only checks shown in this state.
    pub shown: Option<Shown>,
}

/// A page of the dashboard and how many checks match in all.
#[derive(Debug)]
pub struct DashboardPage {
    pub rows: Vec<OverviewRow>,
    pub matching: u64,
}

/// The place of `shown` in [`Shown`]'s order, worst first.
fn rank(shown: Shown) -> usize {
    Shown::ALL.iter().position(|s| *s == shown).unwrap_or(0)
}

/// [`Shown::decide`] as a SQL expression giving [`rank`], over the columns `paused`,
/// `maintained`, `health` and `heartbeat`: generated from the rule itself, so the two cannot
/// disagree, and nested so a row meets four tests at most.
fn shown_rank_sql() -> String {
    fn flag(column: &str, then: &dyn Fn(bool) -> String) -> String {
        format!(
            "CASE WHEN {column} THEN {} ELSE {} END",
            then(true),
            then(false)
        )
    }
    flag("paused", &|paused| {
        flag("maintained", &|maintained| {
            let ranked = |health: Option<Health>| {
                flag("heartbeat", &|heartbeat| {
                    rank(Shown::decide(paused, maintained, health, heartbeat)).to_string()
                })
            };
            let mut by_health = String::from("CASE");
            for health in [Health::Unknown, Health::Up, Health::Down, Health::Degraded] {
                by_health.push_str(&format!(
                    " WHEN health = {} THEN {}",
                    health.code(),
                    ranked(Some(health))
                ));
            }
            by_health.push_str(&format!(" ELSE {} END", ranked(None)));
            by_health
        })
    })
}

/// `SELECT {columns}` over the checks `query` asks for, each with its `shown_rank`, `open`
/// being the scopes of the maintenance windows open now.
fn ranked<'a>(columns: &str, query: &'a DashboardQuery, open: &[&'a MaintenanceScope]) -> Sql<'a> {
    let mut sql = Sql::new(format!(
        "SELECT {columns} FROM (SELECT id, name, paused, spec, ping_key, created_at, \
         updated_at, stack, {} AS shown_rank FROM (SELECT c.id, c.name, c.paused, c.spec, \
         c.ping_key, c.created_at, c.updated_at, c.stack, ",
        shown_rank_sql()
    ));
    push_maintained(&mut sql, open);
    sql.push(
        " AS maintained, s.health, c.ping_key IS NOT NULL AS heartbeat \
         FROM checks c LEFT JOIN check_state s ON s.check_id = c.id WHERE 1 = 1",
    );
    query.filter.push_conditions(&mut sql);
    sql.push(") t) r WHERE 1 = 1");
    if let Some(shown) = query.shown {
        sql.push(" AND shown_rank = ")
            .push_bind(i64::try_from(rank(shown)).unwrap_or(0));
    }
    sql
}

impl Store {
    /// Every tag some check carries, in order.
    pub async fn tag_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(Sql::new("SELECT DISTINCT tag FROM check_tags ORDER BY tag")
            .scalar_all(self.reader())
            .await?)
    }

    /// Up to `limit` of the checks `query` asks for after skipping `skip`, worst first,
    /// with their state, newest result and 24 h / 30 d uptime; `open` as in
    /// [`Self::state_groups`].
    pub async fn dashboard_page(
        &self,
        query: &DashboardQuery,
        open: &[&MaintenanceScope],
        skip: u64,
        limit: u32,
        now: Timestamp,
    ) -> Result<DashboardPage, StoreError> {
        let count: i64 = ranked("COUNT(*)", query, open)
            .scalar_one(self.reader())
            .await?;
        let mut page = ranked(
            "id, name, paused, spec, ping_key, created_at, updated_at",
            query,
            open,
        );
        page.push(" ORDER BY shown_rank, COALESCE(stack, ''), name LIMIT ")
            .push_bind(i64::from(limit))
            .push(" OFFSET ")
            .push_bind(i64::try_from(skip).unwrap_or(i64::MAX));
        let rows: Vec<CheckRow> = page.fetch_all(self.reader()).await?;
        let checks: Vec<Check> = rows
            .into_iter()
            .map(Check::try_from)
            .collect::<Result<_, _>>()?;
        let ids: Vec<CheckId> = checks.iter().map(|c| c.id).collect();
        let mut states = self.check_states(&ids).await?;
        let with_states = checks
            .into_iter()
            .map(|check| {
                let state = states.remove(&check.id);
                (check, state)
            })
            .collect();
        let live = self.with_newest_results(with_states).await?;
        let rows = self.with_uptime(live, now).await?;
        Ok(DashboardPage {
            rows,
            matching: u64::try_from(count).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decided_state_has_a_rank_of_its_own() {
        let ranks: Vec<usize> = Shown::ALL.into_iter().map(rank).collect();
        assert_eq!(ranks, (0..Shown::ALL.len()).collect::<Vec<_>>());
    }
}
