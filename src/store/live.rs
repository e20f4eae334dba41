//! The one read model of "a check now": the check, its persisted state and its newest
//! result, a page at a time in SQL. A page of any size costs a fixed handful of queries
//! (checks, their states, newest raw results, newest blocks for the rest), never one per
//! check. The API's lists and single reads, its summary, `/v1`'s lists and the dashboard
//! and check pages read through it.

use std::collections::HashMap;

use sqlx::FromRow;

use super::checks::NAMES_PER_QUERY;
use super::db::Dialect;
use super::db::Sql;
use super::results::ResultRow;
use super::states::StoredState;
use super::{CheckFilter, HOUR_MS, PageStart, Store, StoreError, block_codec};
use crate::domain::{
    Check, CheckId, Health, MaintenanceScope, MaintenanceWindow, Shown, StackName, Timestamp,
};

/// A check with what is known of it now.
#[derive(Debug, Clone)]
pub struct LiveCheck {
    pub check: Check,
    /// `None` before the first judged probe.
    pub state: Option<StoredState>,
    /// The newest result, raw or compacted.
    pub last: Option<ResultRow>,
}

impl LiveCheck {
    /// The state the check is shown in at `now`.
    pub fn shown(&self, windows: &[MaintenanceWindow], now: Timestamp) -> Shown {
        let health = self.state.as_ref().map(|s| s.state.health);
        Shown::of(&self.check, health, windows, now)
    }

    /// Since when the check has been in its state (its creation, before any).
    pub fn since(&self) -> Timestamp {
        self.state
            .as_ref()
            .map_or(self.check.created_at, |s| s.state.since)
    }
}

/// How many checks share one combination of what decides the state they are shown in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateGroup {
    pub stack: Option<String>,
    pub paused: bool,
    /// In a maintenance window open now.
    pub maintained: bool,
    /// `None` before the first judged probe.
    pub health: Option<Health>,
    pub heartbeat: bool,
    pub checks: u64,
}

impl StateGroup {
    /// The state these checks are shown in.
    pub fn shown(&self) -> Shown {
        Shown::decide(self.paused, self.maintained, self.health, self.heartbeat)
    }
}

#[derive(FromRow)]
struct GroupRow {
    stack: Option<String>,
    paused: bool,
    maintained: bool,
    health: Option<i64>,
    heartbeat: bool,
    checks: i64,
}

impl From<GroupRow> for StateGroup {
    fn from(r: GroupRow) -> Self {
        StateGroup {
            stack: r.stack,
            paused: r.paused,
            maintained: r.maintained,
            health: r
                .health
                .map(|h| Health::from_code(u8::try_from(h).unwrap_or(0))),
            heartbeat: r.heartbeat,
            checks: u64::try_from(r.checks).unwrap_or(0),
        }
    }
}

#[derive(FromRow)]
struct NewestRaw {
    check_id: i64,
    #[sqlx(flatten)]
    row: ResultRow,
}

/// Whether the check `c` is in a maintenance window open now, `open` being those windows'
/// scopes, as a SQL expression: a scope is matched as [`MaintenanceScope::covers`] matches
/// it.
pub(super) fn push_maintained<'a>(query: &mut Sql<'a>, open: &[&'a MaintenanceScope]) {
    query.push("COALESCE((FALSE");
    for scope in open {
        match scope {
            MaintenanceScope::All => query.push(" OR TRUE"),
            MaintenanceScope::Stack(stack) => {
                query.push(" OR c.stack = ").push_bind(stack.as_str())
            }
            MaintenanceScope::Tag(tag) => query
                .push(" OR c.id IN (SELECT check_id FROM check_tags WHERE tag = ")
                .push_bind(tag.as_str())
                .push(")"),
            MaintenanceScope::Check(name) => query.push(" OR c.name = ").push_bind(name.as_str()),
        };
    }
    query.push("), FALSE)");
}

impl Store {
    /// Every check counted by what decides its shown state, `open` being the scopes of the
    /// maintenance windows open now (a scope covers checks as [`MaintenanceScope::covers`]
    /// does; a heartbeat is a check with a ping key). The counts as if no window were open
    /// come from [`Self::unmaintained_groups`]; a window over everything or a stack covers
    /// whole groups, and the checks a tag or a name covers are counted in one more query
    /// over those checks only.
    pub async fn state_groups(
        &self,
        open: &[&MaintenanceScope],
    ) -> Result<Vec<StateGroup>, StoreError> {
        let mut groups = self.unmaintained_groups().await?;
        if open.iter().any(|s| matches!(s, MaintenanceScope::All)) {
            groups.iter_mut().for_each(|g| g.maintained = true);
            return Ok(groups);
        }
        let stacks: Vec<&StackName> = open
            .iter()
            .filter_map(|s| match s {
                MaintenanceScope::Stack(stack) => Some(stack),
                _ => None,
            })
            .collect();
        for group in &mut groups {
            group.maintained = group
                .stack
                .as_deref()
                .is_some_and(|stack| stacks.iter().any(|s| s.as_str() == stack));
        }
        for covered in self.covered_by_name_or_tag(open, &stacks).await? {
            let from = groups.iter_mut().find(|g| {
                !g.maintained
                    && (&g.stack, g.paused, g.health, g.heartbeat)
                        == (
                            &covered.stack,
                            covered.paused,
                            covered.health,
                            covered.heartbeat,
                        )
            });
            if let Some(from) = from {
                from.checks = from.checks.saturating_sub(covered.checks);
            }
            groups.push(covered);
        }
        groups.retain(|g| g.checks > 0);
        Ok(groups)
    }

    /// Every check counted by stack, paused, health and heartbeat, none maintained: on
    /// SQLite the few rows of `check_counts`, which triggers keep; on PostgreSQL, where two
    /// instances' writers would contend for those rows, counted from the tables.
    async fn unmaintained_groups(&self) -> Result<Vec<StateGroup>, StoreError> {
        let query = match self.dialect() {
            Dialect::Sqlite => {
                "SELECT NULLIF(stack, '') AS stack, paused <> 0 AS paused, FALSE AS maintained, \
                 NULLIF(health, -1) AS health, heartbeat <> 0 AS heartbeat, checks \
                 FROM check_counts WHERE checks > 0"
            }
            Dialect::Postgres => {
                "SELECT c.stack, c.paused, FALSE AS maintained, s.health, \
                 c.ping_key IS NOT NULL AS heartbeat, COUNT(*) AS checks \
                 FROM checks c LEFT JOIN check_state s ON s.check_id = c.id \
                 GROUP BY c.stack, c.paused, s.health, heartbeat"
            }
        };
        let rows: Vec<GroupRow> = Sql::new(query).fetch_all(self.reader()).await?;
        Ok(rows.into_iter().map(StateGroup::from).collect())
    }

    /// The checks a window over a tag or a check's name covers and none over their stack
    /// does, counted as [`Self::state_groups`] counts, all maintained. Reads those checks
    /// only (through the tag and name indexes), and nothing when no such window is open.
    async fn covered_by_name_or_tag(
        &self,
        open: &[&MaintenanceScope],
        stacks: &[&StackName],
    ) -> Result<Vec<StateGroup>, StoreError> {
        let tags: Vec<&str> = open
            .iter()
            .filter_map(|s| match s {
                MaintenanceScope::Tag(tag) => Some(tag.as_str()),
                _ => None,
            })
            .collect();
        let names: Vec<&str> = open
            .iter()
            .filter_map(|s| match s {
                MaintenanceScope::Check(name) => Some(name.as_str()),
                _ => None,
            })
            .collect();
        if tags.is_empty() && names.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = Sql::new(
            "SELECT c.stack, c.paused, TRUE AS maintained, s.health, \
             c.ping_key IS NOT NULL AS heartbeat, COUNT(*) AS checks \
             FROM checks c LEFT JOIN check_state s ON s.check_id = c.id WHERE (FALSE",
        );
        if !tags.is_empty() {
            query.push(" OR c.id IN (SELECT check_id FROM check_tags WHERE tag IN ");
            query.push_list(tags);
            query.push(")");
        }
        if !names.is_empty() {
            query.push(" OR c.name IN ");
            query.push_list(names);
        }
        query.push(")");
        if !stacks.is_empty() {
            query.push(" AND (c.stack IS NULL OR c.stack NOT IN ");
            query.push_list(stacks.iter().map(|s| s.as_str()));
            query.push(")");
        }
        query.push(" GROUP BY c.stack, c.paused, s.health, heartbeat");
        let rows: Vec<GroupRow> = query.fetch_all(self.reader()).await?;
        Ok(rows.into_iter().map(StateGroup::from).collect())
    }

    /// Up to `limit` checks matching `filter` by name from `start`, each with its state
    /// and newest result.
    pub async fn live_checks(
        &self,
        filter: &CheckFilter,
        start: PageStart<'_>,
        limit: u32,
    ) -> Result<Vec<LiveCheck>, StoreError> {
        let page = self.checks_with_state_page(filter, start, limit).await?;
        self.with_newest_results(page).await
    }

    /// One check with its state and newest result.
    pub async fn live_check(&self, check: Check) -> Result<LiveCheck, StoreError> {
        let state = self.check_state(check.id).await?;
        let last = self.newest_results(&[check.id]).await?.remove(&check.id);
        Ok(LiveCheck { check, state, last })
    }

    /// These checks (with their states, as read) with their newest results, in the order
    /// given.
    pub async fn with_newest_results(
        &self,
        page: Vec<(Check, Option<StoredState>)>,
    ) -> Result<Vec<LiveCheck>, StoreError> {
        let ids: Vec<CheckId> = page.iter().map(|(c, _)| c.id).collect();
        let mut newest = self.newest_results(&ids).await?;
        Ok(page
            .into_iter()
            .map(|(check, state)| LiveCheck {
                last: newest.remove(&check.id),
                check,
                state,
            })
            .collect())
    }

    /// The newest result of each of these checks that has one: raw results in one query
    /// per [`NAMES_PER_QUERY`] checks, and for the checks whose raw results are all
    /// compacted, their newest block in one more.
    pub async fn newest_results(
        &self,
        ids: &[CheckId],
    ) -> Result<HashMap<CheckId, ResultRow>, StoreError> {
        let mut newest = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(NAMES_PER_QUERY) {
            let mut query = Sql::new(
                "SELECT check_id, at, location, outcome, status, dns_ms, connect_ms, tls_ms, ttfb_ms, \
                 total_ms, error, lost FROM results r WHERE r.at = \
                 (SELECT MAX(at) FROM results WHERE check_id = r.check_id) AND r.check_id IN ",
            );
            query.push_list(chunk.iter().map(|id| id.0));
            let rows: Vec<NewestRaw> = query.fetch_all(self.reader()).await?;
            newest.extend(rows.into_iter().map(|r| (CheckId(r.check_id), r.row)));
        }
        let compacted: Vec<CheckId> = ids
            .iter()
            .copied()
            .filter(|id| !newest.contains_key(id))
            .collect();
        for chunk in compacted.chunks(NAMES_PER_QUERY) {
            let mut query = Sql::new(
                "SELECT check_id, hour, data FROM result_blocks b WHERE b.hour = \
                 (SELECT MAX(hour) FROM result_blocks WHERE check_id = b.check_id) \
                 AND b.check_id IN ",
            );
            query.push_list(chunk.iter().map(|id| id.0));
            let blocks: Vec<(i64, i64, Vec<u8>)> = query.fetch_all(self.reader()).await?;
            for (id, hour, data) in blocks {
                let decoded = block_codec::decode(hour * HOUR_MS, &data)?;
                if let Some(row) = decoded.into_iter().max_by_key(|r| r.at) {
                    newest.insert(CheckId(id), row);
                }
            }
        }
        Ok(newest)
    }
}
