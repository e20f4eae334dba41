//! What the probes found: a check with its state and last result, its results, its uptime,
//! and incidents.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::auth::CanRead;
use super::check_body::{check_name, not_found, parse_name};
use super::problem::{ApiError, Problem};
use super::view::{CheckStatusView, ResultView};
use crate::domain::{Check, CheckName, FieldError, LocationName, Timestamp};
use crate::store::{IncidentFilter, IncidentRow, UptimeWindow};

/// Default and largest page of results and incidents.
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1_000;

/// Read one check, with its state and last result
#[utoipa::path(get, path = "/api/v1/checks/{name}", tag = "checks",
    params(("name" = String, Path, description = "Check name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")),
    responses(
        (status = 200, body = CheckStatusView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_check(
    State(state): State<ApiState>,
    reader: CanRead,
    Path(name): Path<String>,
) -> Result<Json<CheckStatusView>, ApiError> {
    let check = find(&state, name).await?;
    let name = check.name.clone();
    let live = vec![state.store.live_check(check).await?];
    let mut views = super::live::live_views(&state, live, reader.viewer()).await?;
    views.pop().map(Json).ok_or_else(|| not_found(&name))
}

async fn find(state: &ApiState, name: String) -> Result<Check, ApiError> {
    let name = check_name(name)?;
    state
        .store
        .get_check(&name)
        .await?
        .ok_or_else(|| not_found(&name))
}

/// Time range and paging of results.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// Only results at or after this time (RFC 3339).
    #[param(format = DateTime)]
    since: Option<String>,
    /// Only results before this time (RFC 3339); the previous page's `next_until`.
    #[param(format = DateTime)]
    until: Option<String>,
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Only results probed from this location.
    #[param(pattern = "^[a-z0-9][a-z0-9-]{0,31}$")]
    location: Option<String>,
}

/// A page of results, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultPage {
    pub results: Vec<ResultView>,
    /// Pass as `until` for the next (older) page; `null` on the last page.
    pub next_until: Option<String>,
}

fn parse_time(
    field: &str,
    value: Option<String>,
    errors: &mut Vec<FieldError>,
) -> Option<Timestamp> {
    let value = value?;
    let parsed = Timestamp::parse_rfc3339(&value);
    if parsed.is_none() {
        errors.push(FieldError::new(
            field,
            "must be an RFC 3339 time, e.g. 2026-11-26T08:00:00Z",
        ));
    }
    parsed
}

fn page_limit(limit: Option<u32>, errors: &mut Vec<FieldError>) -> u32 {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    limit
}

/// A check's probe results, newest first
#[utoipa::path(get, path = "/api/v1/checks/{name}/results", tag = "results",
    params(("name" = String, Path, description = "Check name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$"), ResultsQuery),
    responses(
        (status = 200, body = ResultPage),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn check_results(
    State(state): State<ApiState>,
    _: CanRead,
    Path(name): Path<String>,
    query: Result<Query<ResultsQuery>, QueryRejection>,
) -> Result<Json<ResultPage>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("(query)", e.body_text()))?;
    let mut errors = Vec::new();
    let since = parse_time("since", query.since, &mut errors).unwrap_or(Timestamp(i64::MIN));
    let until = parse_time("until", query.until, &mut errors).unwrap_or(Timestamp(i64::MAX));
    let limit = page_limit(query.limit, &mut errors);
    let location: Option<LocationName> = query
        .location
        .and_then(|l| parse_name("location", l, &mut errors));
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let check = find(&state, name).await?;
    let location = location.as_ref().map(LocationName::as_str);
    let mut rows = state
        .store
        .results_from(check.id, location, since, until, limit + 1)
        .await?;
    let next_until = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| Timestamp(r.at).to_rfc3339())
    } else {
        None
    };
    Ok(Json(ResultPage {
        results: rows.iter().map(ResultView::from).collect(),
        next_until,
    }))
}

/// Uptime over one window.
#[derive(Debug, Serialize, ToSchema)]
pub struct UptimeView {
    /// `24h`, `7d` or `30d`, ending now.
    pub window: String,
    pub probes: i64,
    pub up_probes: i64,
    /// Percent of probes that were up (slow or not); `null` without probes.
    pub uptime_percent: Option<f64>,
    /// Percent of probes that were up within the check's `degraded_after_ms` (slow ones
    /// count as not); `null` without probes or without `degraded_after_ms`. Hours rolled
    /// up before `degraded_after_ms` was set count none of theirs as slow.
    pub within_slo_percent: Option<f64>,
    /// Response time of up probes: count-weighted median of the hours' p50.
    pub p50_ms: Option<i64>,
    /// Response time of up probes: count-weighted median of the hours' p95.
    pub p95_ms: Option<i64>,
}

impl From<UptimeWindow> for UptimeView {
    fn from(w: UptimeWindow) -> Self {
        Self {
            window: w.window.to_owned(),
            probes: w.probes,
            up_probes: w.up_probes,
            uptime_percent: w.uptime_percent,
            within_slo_percent: w.within_slo_percent,
            p50_ms: w.p50_ms,
            p95_ms: w.p95_ms,
        }
    }
}

/// A check's uptime.
#[derive(Debug, Serialize, ToSchema)]
pub struct UptimeReport {
    pub check: String,
    pub windows: Vec<UptimeView>,
}

/// Uptime and response times over 24 hours, 7 days and 30 days
#[utoipa::path(get, path = "/api/v1/checks/{name}/uptime", tag = "results",
    params(("name" = String, Path, description = "Check name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")),
    responses(
        (status = 200, body = UptimeReport),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn check_uptime(
    State(state): State<ApiState>,
    _: CanRead,
    Path(name): Path<String>,
) -> Result<Json<UptimeReport>, ApiError> {
    let check = find(&state, name).await?;
    let windows = state
        .store
        .uptime(check.id, Timestamp::now(), check.spec.degraded_after_ms())
        .await?;
    Ok(Json(UptimeReport {
        check: check.name.to_string(),
        windows: windows.into_iter().map(UptimeView::from).collect(),
    }))
}

/// Filters of `GET /incidents`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IncidentsQuery {
    /// Only incidents of this check.
    #[param(pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")]
    check: Option<String>,
    /// `true`: only open incidents; `false`: only resolved ones.
    open: Option<bool>,
    /// Most incidents to return, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A confirmed outage.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentView {
    pub id: i64,
    pub check: String,
    /// When the first failure of the outage happened (RFC 3339).
    pub opened_at: String,
    /// When it recovered; `null` while open.
    pub resolved_at: Option<String>,
    /// Seconds from opening to resolution, or to now while open.
    pub duration_s: i64,
    /// The failure that confirmed the outage, in plain words.
    pub cause: String,
    /// When someone acknowledged it (RFC 3339), who, and their note; `null` until then.
    pub acked_at: Option<String>,
    pub acked_by: Option<String>,
    pub ack_note: Option<String>,
}

impl IncidentView {
    pub(super) fn new(row: IncidentRow, now: Timestamp) -> Self {
        let end = row.resolved_at.unwrap_or(now.0);
        Self {
            id: row.id,
            check: row.check_name,
            opened_at: Timestamp(row.opened_at).to_rfc3339(),
            resolved_at: row.resolved_at.map(|t| Timestamp(t).to_rfc3339()),
            duration_s: (end - row.opened_at).max(0) / 1_000,
            cause: row.cause,
            acked_at: row.acked_at.map(|t| Timestamp(t).to_rfc3339()),
            acked_by: row.acked_by,
            ack_note: row.ack_note,
        }
    }
}

/// Incidents, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentList {
    pub incidents: Vec<IncidentView>,
}

/// Confirmed outages, newest first
#[utoipa::path(get, path = "/api/v1/incidents", tag = "results", params(IncidentsQuery),
    responses(
        (status = 200, body = IncidentList),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_incidents(
    State(state): State<ApiState>,
    _: CanRead,
    query: Result<Query<IncidentsQuery>, QueryRejection>,
) -> Result<Json<IncidentList>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("(query)", e.body_text()))?;
    let mut errors = Vec::new();
    let check: Option<CheckName> = query
        .check
        .and_then(|c| parse_name("check", c, &mut errors));
    let limit = page_limit(query.limit, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let rows = state
        .store
        .incidents(&IncidentFilter {
            check,
            check_id: None,
            open: query.open,
            limit,
        })
        .await?;
    let now = Timestamp::now();
    Ok(Json(IncidentList {
        incidents: rows
            .into_iter()
            .map(|r| IncidentView::new(r, now))
            .collect(),
    }))
}
