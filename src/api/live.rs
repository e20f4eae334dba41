//! What is known of checks now — state, since when, certificate expiry, last result — for
//! one check or a whole list at once, the `state=` filter, and `GET /summary`.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::auth::CanRead;
use super::problem::{ApiError, Problem};
use super::status::{CheckStatusView, ResultView};
use super::view::CheckView;
use crate::domain::{Check, MaintenanceWindow, Shown, Timestamp, Viewer};
use crate::store::StoredState;

/// The state a check is shown in (the one rule, `Shown::of`) and since when.
pub fn shown_state(
    check: &Check,
    stored: Option<&StoredState>,
    windows: &[MaintenanceWindow],
    now: Timestamp,
) -> (&'static str, Timestamp) {
    let health = stored.map(|s| s.state.health);
    let since = stored.map_or(check.created_at, |s| s.state.since);
    (Shown::of(check, health, windows, now).word(), since)
}

/// Checks with their live figures, in the order given.
pub async fn status_views(
    state: &ApiState,
    checks: &[Check],
    viewer: Viewer,
) -> Result<Vec<CheckStatusView>, ApiError> {
    let ids: Vec<_> = checks.iter().map(|c| c.id).collect();
    let stored = state.store.check_states(&ids).await?;
    let windows = state.store.maintenance_windows().await?;
    let now = Timestamp::now();
    let mut views = Vec::with_capacity(checks.len());
    for check in checks {
        let stored = stored.get(&check.id);
        let (shown, since) = shown_state(check, stored, &windows, now);
        let last = state
            .store
            .results(check.id, Timestamp(i64::MIN), Timestamp(i64::MAX), 1)
            .await?;
        views.push(CheckStatusView {
            state: shown.to_owned(),
            state_since: since.to_rfc3339(),
            cert_expires_at: stored
                .and_then(|s| s.cert_not_after)
                .map(Timestamp::to_rfc3339),
            last_result: last.first().map(ResultView::from),
            check: CheckView::new(check, viewer),
        });
    }
    Ok(views)
}

/// Reads a `state=` value, or an error naming the field.
pub fn parse_state(value: &str) -> Result<&'static str, String> {
    Shown::parse(value).map(Shown::word).ok_or_else(|| {
        let words: Vec<&str> = Shown::ALL.iter().map(|s| s.word()).collect();
        format!("must be one of {}, not {value:?}", words.join(", "))
    })
}

/// How to group the summary.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// `stack`: also count per stack.
    #[param(pattern = "^stack$")]
    by: Option<String>,
}

/// Checks per state.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct StateCounts {
    pub total: u64,
    pub up: u64,
    pub down: u64,
    pub unknown: u64,
    /// Heartbeats not pinged yet.
    pub new: u64,
    pub paused: u64,
    pub maintenance: u64,
}

impl StateCounts {
    fn add(&mut self, state: &str) {
        self.total += 1;
        match state {
            "up" => self.up += 1,
            "down" => self.down += 1,
            "paused" => self.paused += 1,
            "maintenance" => self.maintenance += 1,
            "new" => self.new += 1,
            _ => self.unknown += 1,
        }
    }
}

/// One stack's counts (`stack` is `null` for checks outside any stack).
#[derive(Debug, Serialize, ToSchema)]
pub struct StackCounts {
    pub stack: Option<String>,
    #[serde(flatten)]
    pub counts: StateCounts,
}

/// Every check counted by state, and per stack when asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    #[serde(flatten)]
    pub counts: StateCounts,
    /// With `by=stack`: each stack's counts, by stack name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stacks: Option<Vec<StackCounts>>,
}

/// Count checks per state (`up`, `down`, `unknown`, `paused`, `maintenance`)
#[utoipa::path(get, path = "/api/v1/summary", tag = "checks", params(SummaryQuery),
    responses(
        (status = 200, body = Summary),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn summary(
    State(state): State<ApiState>,
    _: CanRead,
    query: Result<Query<SummaryQuery>, QueryRejection>,
) -> Result<Json<Summary>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("(query)", e.body_text()))?;
    let by_stack = match query.by.as_deref() {
        None => false,
        Some("stack") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "by",
                format!("must be stack, not {other:?}"),
            ));
        }
    };
    let checks = state.store.checks_with_state().await?;
    let windows = state.store.maintenance_windows().await?;
    let now = Timestamp::now();
    let mut counts = StateCounts::default();
    let mut stacks: BTreeMap<Option<String>, StateCounts> = BTreeMap::new();
    for (check, stored) in &checks {
        let (shown, _) = shown_state(check, stored.as_ref(), &windows, now);
        counts.add(shown);
        if by_stack {
            let stack = check.spec.stack.as_ref().map(ToString::to_string);
            stacks.entry(stack).or_default().add(shown);
        }
    }
    Ok(Json(Summary {
        counts,
        stacks: by_stack.then(|| {
            stacks
                .into_iter()
                .map(|(stack, counts)| StackCounts { stack, counts })
                .collect()
        }),
    }))
}

/// The checks of `checks` whose shown state is `wanted`.
pub async fn keep_state(
    state: &ApiState,
    checks: Vec<Check>,
    wanted: &str,
) -> Result<Vec<Check>, ApiError> {
    let ids: Vec<_> = checks.iter().map(|c| c.id).collect();
    let stored: HashMap<_, _> = state.store.check_states(&ids).await?;
    let windows = state.store.maintenance_windows().await?;
    let now = Timestamp::now();
    Ok(checks
        .into_iter()
        .filter(|c| shown_state(c, stored.get(&c.id), &windows, now).0 == wanted)
        .collect())
}
