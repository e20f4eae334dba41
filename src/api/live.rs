//! What is known of checks now — state, since when, certificate expiry, last result — for
//! one check or a whole list at once, the `state=` filter, and `GET /summary`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::auth::CanRead;
use super::problem::{ApiError, Problem};
use super::view::CheckStatusView;
use crate::domain::{Check, MaintenanceWindow, Shown, Timestamp, Viewer};
use crate::store::{LiveCheck, StoredState};

/// Checks with their live figures as `viewer` may see them, in the order given.
pub async fn live_views(
    state: &ApiState,
    checks: Vec<LiveCheck>,
    viewer: Viewer,
) -> Result<Vec<CheckStatusView>, ApiError> {
    let windows = state.store.maintenance_windows().await?;
    let now = Timestamp::now();
    Ok(checks
        .iter()
        .map(|live| CheckStatusView::new(live, &windows, now, viewer))
        .collect())
}

/// Reads a `state=` value, or an error naming the field.
pub fn parse_state(value: &str) -> Result<Shown, String> {
    Shown::parse(value).ok_or_else(|| {
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
    /// Up, but slower than their `degraded_after_ms`.
    pub degraded: u64,
    pub unknown: u64,
    /// Heartbeats not pinged yet.
    pub new: u64,
    pub paused: u64,
    pub maintenance: u64,
}

impl StateCounts {
    fn add(&mut self, shown: Shown, checks: u64) {
        self.total += checks;
        let count = match shown {
            Shown::Up => &mut self.up,
            Shown::Down => &mut self.down,
            Shown::Degraded => &mut self.degraded,
            Shown::Paused => &mut self.paused,
            Shown::Maintenance => &mut self.maintenance,
            Shown::New => &mut self.new,
            Shown::Unknown => &mut self.unknown,
        };
        *count += checks;
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
    let now = Timestamp::now();
    let windows = state.store.maintenance_windows().await?;
    let open: Vec<_> = windows
        .iter()
        .filter(|w| w.open_at(now))
        .map(|w| &w.scope)
        .collect();
    let mut counts = StateCounts::default();
    let mut stacks: BTreeMap<Option<String>, StateCounts> = BTreeMap::new();
    for group in state.store.state_groups(&open).await? {
        let shown = group.shown();
        counts.add(shown, group.checks);
        if by_stack {
            stacks
                .entry(group.stack)
                .or_default()
                .add(shown, group.checks);
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

/// The checks of `page` whose shown state at `now` is `wanted`.
pub fn keep_shown(
    page: Vec<(Check, Option<StoredState>)>,
    wanted: Shown,
    windows: &[MaintenanceWindow],
    now: Timestamp,
) -> Vec<(Check, Option<StoredState>)> {
    page.into_iter()
        .filter(|(check, stored)| {
            let health = stored.as_ref().map(|s| s.state.health);
            Shown::of(check, health, windows, now) == wanted
        })
        .collect()
}
