//! `/api/v1/checks`: register (upsert), read, list, pause, resume and delete single checks.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::IntoParams;

use super::ApiState;
use super::auth::{CanRead, CanWrite};
use super::check_body::{CheckObject, Place, check_name, not_found, parse_name, read_check};
use super::check_schema::CheckBody;
use super::json::parse_body;
use super::problem::{ApiError, Problem};
use super::view::{CheckChange, CheckPage, CheckView, Deleted};
use crate::domain::{CheckName, FieldError, Timestamp, Viewer};
use crate::store::{CheckFilter, PageStart, StoreError, Upsert, WriteMode};

/// Default and largest page of `GET /checks`.
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1_000;

/// Create or update a check by name
///
/// The body is the whole check without its name; fields left out take their defaults
/// (except `paused`, which keeps its value). An identical body writes nothing and answers
/// `changed: false`.
#[utoipa::path(put, path = "/api/v1/checks/{name}", tag = "checks",
    params(("name" = String, Path, description = "Check name, `[a-z0-9][a-z0-9._-]{0,127}`", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$"), WriteQuery),
    request_body = CheckBody,
    responses(
        (status = 201, description = "Created", body = CheckChange),
        (status = 200, description = "Updated or unchanged", body = CheckChange),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Read-only token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put_check(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(name): Path<String>,
    query: Result<Query<WriteQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<CheckChange>), ApiError> {
    // Every problem in one answer: a bad name, bad fields, unknown contacts.
    let mut errors = Vec::new();
    let name = CheckName::try_from(name)
        .map_err(|e| errors.push(FieldError::new("name", e.to_string())))
        .ok();
    let write = match parse_body::<CheckObject>(&headers, body) {
        Ok(body) => {
            let rdap = state.rdap_for([&body]).await;
            match read_check(body, Place::Single, Some(state.registry(&rdap))) {
                Ok((_, write)) => Some(write),
                Err(fields) => {
                    errors.extend(fields);
                    None
                }
            }
        }
        Err(ApiError::Invalid(fields)) => {
            errors.extend(fields);
            None
        }
        Err(other) => return Err(other),
    };
    let (Some(name), Some(write), true) = (name, write, errors.is_empty()) else {
        return Err(ApiError::Invalid(errors));
    };
    let mode = write_mode(query)?;
    let outcome = match state.store.upsert_check(&name, write, mode).await {
        Err(StoreError::Dependency { reason, .. }) => {
            return Err(ApiError::Invalid(vec![FieldError::new(
                "depends_on",
                reason,
            )]));
        }
        other => other?,
    };
    let status = match outcome {
        Upsert::Created(_) => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    let changed = !matches!(outcome, Upsert::Unchanged(_));
    if changed && !mode.dry_run {
        state.monitor.checks_changed(vec![name]);
    }
    Ok((
        status,
        Json(CheckChange {
            changed,
            check: CheckView::new(outcome.check(), Viewer::Admin),
        }),
    ))
}

/// Delete a check (idempotent: deleting a missing check answers `changed: false`)
#[utoipa::path(delete, path = "/api/v1/checks/{name}", tag = "checks",
    params(("name" = String, Path, description = "Check name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")),
    responses((status = 200, body = Deleted)),
    security(("bearer" = [])))]
pub async fn delete_check(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(name): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    let name = check_name(name)?;
    let existed = state.store.delete_check(&name).await?;
    if existed {
        state.monitor.checks_changed(vec![name.clone()]);
    }
    Ok(Json(Deleted {
        changed: existed,
        deleted: if existed {
            vec![name.to_string()]
        } else {
            Vec::new()
        },
    }))
}

/// Options of a write.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WriteQuery {
    /// Validate and answer what would change, but write nothing (Ansible's check mode).
    dry_run: Option<bool>,
}

/// The write mode a request asks for.
pub(super) fn write_mode(
    query: Result<Query<WriteQuery>, QueryRejection>,
) -> Result<WriteMode, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("(query)", e.body_text()))?;
    Ok(WriteMode {
        now: Timestamp::now(),
        dry_run: query.dry_run.unwrap_or(false),
    })
}

/// Filters and paging of `GET /checks`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only checks of this stack.
    #[param(pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")]
    stack: Option<String>,
    /// Only checks with this tag.
    #[param(pattern = "^[a-z0-9][a-z0-9._:=-]{0,63}$")]
    tag: Option<String>,
    /// Only paused (true) or only active (false) checks.
    paused: Option<bool>,
    /// Only checks in this state: `up`, `down`, `degraded`, `unknown`, `new`, `paused` or
    /// `maintenance`.
    #[param(pattern = "^(up|down|degraded|unknown|new|paused|maintenance)$")]
    state: Option<String>,
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Start after this check name (the previous page's `next_after`).
    #[param(pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")]
    after: Option<String>,
}

/// List checks, by name, filtered and paginated
#[utoipa::path(get, path = "/api/v1/checks", tag = "checks", params(ListQuery),
    responses(
        (status = 200, body = CheckPage),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_checks(
    State(state): State<ApiState>,
    reader: CanRead,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<CheckPage>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("(query)", e.body_text()))?;
    let mut errors = Vec::new();
    let filter = CheckFilter {
        stack: query
            .stack
            .and_then(|v| parse_name("stack", v, &mut errors)),
        tag: query.tag.and_then(|v| parse_name("tag", v, &mut errors)),
        paused: query.paused,
        ..CheckFilter::default()
    };
    let after: Option<CheckName> = query
        .after
        .and_then(|v| parse_name("after", v, &mut errors));
    let wanted = query.state.and_then(|v| {
        super::live::parse_state(&v)
            .map_err(|reason| errors.push(FieldError::new("state", reason)))
            .ok()
    });
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    // With a state filter, read on in batches until a page (and one more) has matched.
    let batch = if wanted.is_some() { 1_000 } else { limit + 1 };
    let windows = state.store.maintenance_windows().await?;
    let now = Timestamp::now();
    let mut checks = Vec::new();
    let mut cursor = after;
    loop {
        let read = state
            .store
            .checks_with_state_page(&filter, PageStart::After(cursor.as_ref()), batch)
            .await?;
        let exhausted = read.len() < batch as usize;
        cursor = read.last().map(|(c, _)| c.name.clone());
        match wanted {
            Some(wanted) => checks.extend(super::live::keep_shown(read, wanted, &windows, now)),
            None => checks.extend(read),
        }
        if exhausted || checks.len() > limit as usize {
            break;
        }
    }
    let next_after = if checks.len() > limit as usize {
        checks.truncate(limit as usize);
        checks.last().map(|(c, _)| c.name.to_string())
    } else {
        None
    };
    let live = state.store.with_newest_results(checks).await?;
    Ok(Json(CheckPage {
        checks: super::live::live_views(&state, live, reader.viewer()).await?,
        next_after,
    }))
}

async fn set_paused(
    state: &ApiState,
    name: String,
    paused: bool,
) -> Result<Json<CheckChange>, ApiError> {
    let name = check_name(name)?;
    let (check, changed) = state
        .store
        .set_paused(&name, paused, Timestamp::now())
        .await?
        .ok_or_else(|| not_found(&name))?;
    if changed {
        state.monitor.checks_changed(vec![name]);
    }
    Ok(Json(CheckChange {
        changed,
        check: CheckView::new(&check, Viewer::Admin),
    }))
}

/// Pause a check: no probes, no alerts, until it is resumed
#[utoipa::path(post, path = "/api/v1/checks/{name}/pause", tag = "checks",
    params(("name" = String, Path, description = "Check name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")),
    responses(
        (status = 200, body = CheckChange),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn pause_check(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(name): Path<String>,
) -> Result<Json<CheckChange>, ApiError> {
    set_paused(&state, name, true).await
}

/// Resume a paused check
#[utoipa::path(post, path = "/api/v1/checks/{name}/resume", tag = "checks",
    params(("name" = String, Path, description = "Check name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")),
    responses(
        (status = 200, body = CheckChange),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn resume_check(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(name): Path<String>,
) -> Result<Json<CheckChange>, ApiError> {
    set_paused(&state, name, false).await
}
