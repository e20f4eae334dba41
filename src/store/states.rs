//! Checks' persisted states: what the scheduler and the API read back of what
//! `Store::record` wrote.

use sqlx::FromRow;

use super::db::Sql;
use super::{Store, StoreError};
use crate::domain::{AlertMemory, Check, CheckId, CheckState, Health, Timestamp, Votes};

/// A check's persisted state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredState {
    pub state: CheckState,
    pub memory: AlertMemory,
    pub cert_not_after: Option<Timestamp>,
    /// The result that last changed the state (for a heartbeat: every ping and lateness),
    /// or a newer one the rollup job compacted (see `Store::newest_result`).
    pub last_at: Option<Timestamp>,
    /// How many times the row was written: a write must name the version it was judged
    /// from (see [`Change::version`]).
    pub version: i64,
    /// Each location's verdict (empty for a check probed from one place only).
    pub votes: Votes,
}

#[derive(FromRow)]
struct StateRow {
    check_id: i64,
    health: i64,
    since: i64,
    failures: i64,
    successes: i64,
    failing_since: Option<i64>,
    slow: i64,
    fast: i64,
    degraded_since: Option<i64>,
    cert_not_after: Option<i64>,
    alerted_health: Option<i64>,
    down_since: Option<i64>,
    last_down_alert_at: Option<i64>,
    cert_warned_at: Option<i64>,
    last_cause: Option<String>,
    last_at: Option<i64>,
    version: i64,
    votes: Option<String>,
    flaps: Option<String>,
    impacted_by: Option<String>,
}

impl From<&StateRow> for StoredState {
    fn from(row: &StateRow) -> Self {
        let count = |v: i64| u32::try_from(v).unwrap_or(0);
        Self {
            state: CheckState {
                health: Health::from_code(u8::try_from(row.health).unwrap_or(0)),
                since: Timestamp(row.since),
                failures: count(row.failures),
                successes: count(row.successes),
                failing_since: row.failing_since.map(Timestamp),
                slow: count(row.slow),
                fast: count(row.fast),
            },
            memory: AlertMemory {
                alerted: row
                    .alerted_health
                    .map(|h| Health::from_code(u8::try_from(h).unwrap_or(0))),
                down_since: row.down_since.map(Timestamp),
                last_down_alert_at: row.last_down_alert_at.map(Timestamp),
                cert_warned_at: row.cert_warned_at.map(Timestamp),
                degraded_since: row.degraded_since.map(Timestamp),
                last_cause: row.last_cause.clone(),
                // Written by this code from the same type; unreadable, it starts afresh.
                flaps: row
                    .flaps
                    .as_deref()
                    .and_then(|text| serde_json::from_str(text).ok())
                    .unwrap_or_default(),
                impacted_by: row.impacted_by.as_deref().and_then(|n| n.parse().ok()),
            },
            cert_not_after: row.cert_not_after.map(Timestamp),
            last_at: row.last_at.map(Timestamp),
            version: row.version,
            votes: votes_of(row.votes.as_deref()),
        }
    }
}

/// The votes a state row keeps (none when NULL). Written by this code from the same type;
/// votes that cannot be read start afresh.
pub(super) fn votes_of(text: Option<&str>) -> Votes {
    text.and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

const SELECT_STATE: &str = "SELECT check_id, health, since, failures, successes, failing_since, \
     slow, fast, degraded_since, cert_not_after, alerted_health, down_since, last_down_alert_at, cert_warned_at, last_cause, \
     last_at, version, votes, flaps, impacted_by FROM check_state";

impl Store {
    /// Every check with its persisted state (absent for a check never probed).
    pub async fn checks_with_state(&self) -> Result<Vec<(Check, Option<StoredState>)>, StoreError> {
        let checks = self
            .list_checks(&Default::default(), None, u32::MAX)
            .await?;
        let rows: Vec<StateRow> = Sql::new(SELECT_STATE).fetch_all(self.reader()).await?;
        let states: std::collections::HashMap<i64, StoredState> =
            rows.iter().map(|r| (r.check_id, r.into())).collect();
        Ok(checks
            .into_iter()
            .map(|c| {
                let state = states.get(&c.id.0).cloned();
                (c, state)
            })
            .collect())
    }

    /// A page of checks matching `filter` by name, from `start`, each with its persisted
    /// state (two queries per 500 checks). The scheduler loads its checks this way at start,
    /// so that loading 100,000 checks does not hold them all twice (rows and plan) at once.
    pub async fn checks_with_state_page(
        &self,
        filter: &super::CheckFilter,
        start: super::PageStart<'_>,
        limit: u32,
    ) -> Result<Vec<(Check, Option<StoredState>)>, StoreError> {
        let checks = self.checks_from(filter, start, limit).await?;
        let ids: Vec<CheckId> = checks.iter().map(|c| c.id).collect();
        let mut states = self.check_states(&ids).await?;
        Ok(checks
            .into_iter()
            .map(|c| {
                let state = states.remove(&c.id);
                (c, state)
            })
            .collect())
    }

    /// The persisted states of these checks (those probed before), a few hundred per query.
    pub async fn check_states(
        &self,
        ids: &[CheckId],
    ) -> Result<std::collections::HashMap<CheckId, StoredState>, StoreError> {
        let mut states = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(super::checks::NAMES_PER_QUERY) {
            let mut query = Sql::new(SELECT_STATE);
            query.push(" WHERE check_id IN ");
            query.push_list(chunk.iter().map(|id| id.0));

            let rows: Vec<StateRow> = query.fetch_all(self.reader()).await?;
            states.extend(rows.iter().map(|r| (CheckId(r.check_id), r.into())));
        }
        Ok(states)
    }

    /// The persisted state of one check.
    pub async fn check_state(&self, id: CheckId) -> Result<Option<StoredState>, StoreError> {
        let row: Option<StateRow> = Sql::new(format!("{SELECT_STATE} WHERE check_id = $1"))
            .bind(id.0)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(StoredState::from))
    }
}
