//! The dashboard's read: one page of checks, worst first as [`Shown`] orders them, then by
//! stack and name. Unfiltered or filtered by stack and state, the page is cut from the
//! counts per stack and state ([`Store::state_groups`]) and each stack's part of it read
//! through the stack's index, so any page costs a handful of queries for its own checks,
//! whether there are a thousand checks or a million. Other filters scan the checks they
//! name. No list of them all is held.

use std::collections::BTreeMap;

use super::checks::CheckRow;
use super::db::Sql;
use super::live::push_maintained;
use super::{CheckFilter, OverviewRow, StateGroup, Store, StoreError};
use crate::domain::{Check, CheckId, Health, MaintenanceScope, Shown, Timestamp};

/// Which checks the dashboard asks for.
#[derive(Debug, Default, PartialEq)]
pub struct DashboardQuery {
    pub filter: CheckFilter,
    /// Only checks shown in this state.
    pub shown: Option<Shown>,
    /// Only checks in no stack.
    pub no_stack: bool,
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
    if query.no_stack {
        sql.push(" AND c.stack IS NULL");
    }
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
    /// with their state, newest result and 24 h / 30 d uptime; `open` and `groups` as
    /// [`Self::state_groups`] gave them. A query naming at most a stack is cut from the
    /// counts: each stack's checks in each state are read through the stack's index, only
    /// those the page holds, so a page costs the same whichever it is. Any other filter
    /// scans the checks it names.
    pub async fn dashboard_page(
        &self,
        query: &DashboardQuery,
        open: &[&MaintenanceScope],
        groups: &[StateGroup],
        skip: u64,
        limit: u32,
        now: Timestamp,
    ) -> Result<DashboardPage, StoreError> {
        const COLUMNS: &str = "id, name, paused, spec, ping_key, created_at, updated_at";
        let by_counts = CheckFilter {
            stack: query.filter.stack.clone(),
            ..CheckFilter::default()
        };
        let (rows, matching) = if query.filter == by_counts {
            let wanted = |g: &StateGroup| {
                query.shown.is_none_or(|s| s == g.shown())
                    && query
                        .filter
                        .stack
                        .as_ref()
                        .is_none_or(|s| g.stack.as_deref() == Some(s.as_str()))
            };
            let (cells, matching) = cells(groups.iter().filter(|g| wanted(g)), skip, limit);
            let mut rows: Vec<CheckRow> = Vec::new();
            for cell in &cells {
                let mut sql = ranked(COLUMNS, &cell.query, open);
                sql.push(" ORDER BY name LIMIT ")
                    .push_bind(i64::try_from(cell.take).unwrap_or(i64::MAX))
                    .push(" OFFSET ")
                    .push_bind(i64::try_from(cell.skip).unwrap_or(i64::MAX));
                rows.extend(sql.fetch_all::<CheckRow>(self.reader()).await?);
            }
            (rows, matching)
        } else {
            let count: i64 = ranked("COUNT(*)", query, open)
                .scalar_one(self.reader())
                .await?;
            let mut page = ranked(COLUMNS, query, open);
            page.push(" ORDER BY shown_rank, COALESCE(stack, ''), name LIMIT ")
                .push_bind(i64::from(limit))
                .push(" OFFSET ")
                .push_bind(i64::try_from(skip).unwrap_or(i64::MAX));
            let rows = page.fetch_all(self.reader()).await?;
            (rows, u64::try_from(count).unwrap_or(0))
        };
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
        Ok(DashboardPage { rows, matching })
    }
}

/// One stack's checks (or those in no stack) in one shown state, as a page holds them:
/// `skip` of them passed, the next `take` on the page.
#[derive(Debug, PartialEq)]
struct Cell {
    query: DashboardQuery,
    skip: u64,
    take: u64,
}

/// The cells a page of `limit` checks after `skip` is made of, in the page's order (worst
/// first, then by stack, no stack first), from `groups`' counts; and how many checks they
/// count in all.
fn cells<'g>(
    groups: impl Iterator<Item = &'g StateGroup>,
    skip: u64,
    limit: u32,
) -> (Vec<Cell>, u64) {
    let mut counts: BTreeMap<(Shown, Option<&str>), u64> = BTreeMap::new();
    for group in groups {
        *counts
            .entry((group.shown(), group.stack.as_deref()))
            .or_default() += group.checks;
    }
    let matching = counts.values().sum();
    let (mut skip, mut left) = (skip, u64::from(limit));
    let mut cells = Vec::new();
    for ((shown, stack), checks) in counts {
        if left == 0 {
            break;
        }
        if skip >= checks {
            skip -= checks;
            continue;
        }
        let take = (checks - skip).min(left);
        let filter = CheckFilter {
            stack: stack.and_then(|s| s.parse().ok()),
            ..CheckFilter::default()
        };
        cells.push(Cell {
            query: DashboardQuery {
                filter,
                shown: Some(shown),
                no_stack: stack.is_none(),
            },
            skip,
            take,
        });
        left -= take;
        skip = 0;
    }
    (cells, matching)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decided_state_has_a_rank_of_its_own() {
        let ranks: Vec<usize> = Shown::ALL.into_iter().map(rank).collect();
        assert_eq!(ranks, (0..Shown::ALL.len()).collect::<Vec<_>>());
    }

    fn group(stack: Option<&str>, health: Health, checks: u64) -> StateGroup {
        StateGroup {
            stack: stack.map(str::to_owned),
            paused: false,
            maintained: false,
            health: Some(health),
            heartbeat: false,
            checks,
        }
    }

    /// Each cell as (state, stack, skipped, taken).
    fn cut(groups: &[StateGroup], skip: u64, limit: u32) -> (Vec<(Shown, String, u64, u64)>, u64) {
        let (cells, matching) = cells(groups.iter(), skip, limit);
        let cells = cells
            .into_iter()
            .map(|c| {
                let stack = match (&c.query.filter.stack, c.query.no_stack) {
                    (Some(stack), false) => stack.as_str().to_owned(),
                    (None, true) => "(none)".to_owned(),
                    other => panic!("{other:?}"),
                };
                (c.query.shown.unwrap(), stack, c.skip, c.take)
            })
            .collect();
        (cells, matching)
    }

    #[test]
    fn a_page_is_cut_from_the_counts_worst_first_then_by_stack_none_first() {
        let groups = [
            group(Some("blue"), Health::Up, 3),
            group(None, Health::Up, 2),
            group(Some("amber"), Health::Down, 1),
            group(Some("blue"), Health::Down, 2),
            group(Some("blue"), Health::Up, 1),
        ];
        let cell = |shown, stack: &str, skip, take| (shown, stack.to_owned(), skip, take);
        assert_eq!(
            cut(&groups, 0, 2),
            (
                vec![
                    cell(Shown::Down, "amber", 0, 1),
                    cell(Shown::Down, "blue", 0, 1)
                ],
                9
            )
        );
        assert_eq!(
            cut(&groups, 2, 3).0,
            [
                cell(Shown::Down, "blue", 1, 1),
                cell(Shown::Up, "(none)", 0, 2)
            ]
        );
        assert_eq!(
            cut(&groups, 6, 10).0,
            [cell(Shown::Up, "blue", 1, 3)],
            "the two groups of blue's UP checks are one cell"
        );
        assert_eq!(cut(&groups, 9, 10), (vec![], 9), "past the end");
    }
}
