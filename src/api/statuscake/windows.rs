//! `/v1/maintenance-windows`: StatusCake's windows over stackwatch's. A StatusCake window
//! names several checks and tags; a stackwatch window covers one scope, so one StatusCake
//! window becomes one stackwatch window per check and per tag (see `window_form`),
//! written together.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::V1Error;
use super::form_reader::{FormFields, parse_form};
use super::window_form::{interval_of, windows_of};
use crate::api::ApiState;
use crate::api::auth::{CanRead, CanWrite};
use crate::domain::{
    CheckId, CheckName, MaintenanceScope, MaintenanceWindow, Timestamp, WindowTiming,
};

pub(super) async fn create(
    State(state): State<ApiState>,
    _: CanWrite,
    body: Bytes,
) -> Result<Response, V1Error> {
    let form = parse_form(&body);
    let windows = windows_of(&state, &form, None).await?;
    let stored = state.store.add_maintenance_all(windows).await?;
    state.monitor.maintenance_changed();
    let first = stored.first().map(|w| w.id.to_string()).unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"data": {"new_id": first}})),
    )
        .into_response())
}

/// Replaces a window with the one its view and the request's fields make together: the
/// window keeps its id (a second test or tag the request names becomes a window of its
/// own). Timing the request leaves alone stays exactly as it was.
pub(super) async fn update(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, V1Error> {
    let window = window_of(&state, &id).await?;
    let request = parse_form(&body);
    let ids = check_ids(&state, std::slice::from_ref(&window)).await?;
    let mut whole = FormFields::new();
    if let Value::Object(view) = view(&window, &ids, Timestamp::now()) {
        for (key, value) in view {
            let values = match value {
                Value::String(s) => vec![s],
                Value::Array(items) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => continue,
            };
            whole.insert(key, values);
        }
    }
    let timing_asked = ["start_at", "end_at", "repeat_interval", "timezone"]
        .iter()
        .any(|f| request.contains_key(*f));
    for (key, values) in request {
        whole.insert(key, values);
    }
    let kept = (!timing_asked).then_some(&window.timing);
    let mut windows = windows_of(&state, &whole, kept).await?;
    for w in &mut windows {
        w.public = window.public;
    }
    if !state.store.replace_maintenance(window.id, windows).await? {
        return Err(V1Error::NotFound);
    }
    state.monitor.maintenance_changed();
    Ok(StatusCode::NO_CONTENT)
}
fn view(window: &MaintenanceWindow, ids: &HashMap<String, CheckId>, now: Timestamp) -> Value {
    let (tests, tags) = match &window.scope {
        MaintenanceScope::Check(name) => (
            ids.get(name.as_str())
                .map(|id| vec![id.0.to_string()])
                .unwrap_or_default(),
            Vec::new(),
        ),
        MaintenanceScope::Tag(tag) => (Vec::new(), vec![tag.to_string()]),
        MaintenanceScope::All | MaintenanceScope::Stack(_) => (Vec::new(), Vec::new()),
    };
    let (start, end) = window
        .occurrence_at_or_after(now)
        .or(match window.timing {
            WindowTiming::Once { starts_at, ends_at } => Some((starts_at, ends_at)),
            WindowTiming::Recurring { .. } => None,
        })
        .unwrap_or((window.created_at, window.created_at));
    let (interval, zone) = match &window.timing {
        WindowTiming::Once { .. } => ("never", "UTC"),
        WindowTiming::Recurring {
            expression,
            timezone,
            ..
        } => (interval_of(expression), timezone.name()),
    };
    json!({
        "id": window.id.to_string(),
        "name": window.reason.clone().unwrap_or_default(),
        "start_at": start.to_rfc3339(),
        "end_at": end.to_rfc3339(),
        "repeat_interval": interval,
        "state": if window.open_at(now) { "active" } else { "pending" },
        "tests": tests,
        "tags": tags,
        "timezone": zone,
    })
}

/// The ids of the checks the windows name (a window may name a check deleted since).
async fn check_ids(
    state: &ApiState,
    windows: &[MaintenanceWindow],
) -> Result<HashMap<String, CheckId>, V1Error> {
    let names: Vec<CheckName> = windows
        .iter()
        .filter_map(|w| match &w.scope {
            MaintenanceScope::Check(name) => Some(name.clone()),
            _ => None,
        })
        .collect();
    Ok(state
        .store
        .checks_named(&names)
        .await?
        .into_iter()
        .map(|c| (c.name.to_string(), c.id))
        .collect())
}

/// Query of `GET /v1/maintenance-windows`.
#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    page: Option<String>,
    limit: Option<String>,
    state: Option<String>,
}

pub(super) async fn list(
    State(state): State<ApiState>,
    _: CanRead,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<Value>, V1Error> {
    let page = super::bounded("page", query.page.as_deref(), 1, u32::MAX)?;
    let limit = super::bounded("limit", query.limit.as_deref(), 25, 100)?;
    let wanted = match query.state.as_deref() {
        None | Some("") => None,
        Some(s @ ("active" | "paused" | "pending")) => Some(s),
        Some(_) => return Err(super::invalid("state", "must be active, paused or pending")),
    };
    let now = Timestamp::now();
    let windows = state.store.maintenance_windows().await?;
    let ids = check_ids(&state, &windows).await?;
    let data: Vec<Value> = windows
        .iter()
        .map(|w| view(w, &ids, now))
        .filter(|v| wanted.is_none_or(|s| v["state"] == s))
        .collect();
    let total = data.len() as u64;
    let skip = usize::try_from(u64::from(page - 1) * u64::from(limit)).unwrap_or(usize::MAX);
    let data: Vec<Value> = data.into_iter().skip(skip).take(limit as usize).collect();
    Ok(axum::Json(json!({
        "data": data,
        "metadata": super::pagination(page, limit, total),
    })))
}

async fn window_of(state: &ApiState, id: &str) -> Result<MaintenanceWindow, V1Error> {
    let id: i64 = id.parse().map_err(|_| V1Error::NotFound)?;
    state
        .store
        .maintenance_windows()
        .await?
        .into_iter()
        .find(|w| w.id == id)
        .ok_or(V1Error::NotFound)
}

pub(super) async fn get_one(
    State(state): State<ApiState>,
    _: CanRead,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, V1Error> {
    let window = window_of(&state, &id).await?;
    let ids = check_ids(&state, std::slice::from_ref(&window)).await?;
    Ok(axum::Json(
        json!({"data": view(&window, &ids, Timestamp::now())}),
    ))
}

pub(super) async fn delete(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(id): Path<String>,
) -> Result<StatusCode, V1Error> {
    let window = window_of(&state, &id).await?;
    if state.store.delete_maintenance(window.id).await? {
        state.monitor.maintenance_changed();
    }
    Ok(StatusCode::NO_CONTENT)
}
