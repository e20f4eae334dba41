//! `/v1/maintenance-windows`: StatusCake's windows over stackwatch's. A StatusCake window
//! names several checks and tags; a stackwatch window covers one scope, so one StatusCake
//! window becomes one stackwatch window per check and per tag, written together.
//! `repeat_interval` becomes a cron expression read in the window's time zone.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, TimeZone, Timelike};
use serde_json::{Value, json};

use super::V1Error;
use super::form_reader::{FieldProblems, parse_form};
use crate::api::ApiState;
use crate::api::auth::{CanRead, CanWrite};
use crate::api::maintenance::{MaintenanceBody, parse_window};
use crate::domain::{
    CheckId, CheckName, MaintenanceScope, MaintenanceWindow, Timestamp, WindowTiming,
    parse_timezone,
};

/// The StatusCake field a native window field's error belongs to.
fn statuscake_field(native: &str) -> &'static str {
    match native {
        "starts_at" => "start_at",
        "ends_at" | "duration" => "end_at",
        "cron" => "repeat_interval",
        "timezone" => "timezone",
        "reason" => "name",
        _ => "tests",
    }
}

fn problem(problems: &mut FieldProblems, field: &str, reason: impl Into<String>) {
    problems
        .entry(field.to_owned())
        .or_default()
        .push(reason.into());
}

/// The cron expression of a repeat interval starting at `start` in `zone`, or why none.
fn cron_of(interval: &str, start: Timestamp, zone: &str) -> Result<Option<String>, String> {
    let tz = parse_timezone(zone).ok_or_else(|| format!("{zone:?} is not an IANA time zone"))?;
    let local = tz
        .timestamp_millis_opt(start.0)
        .single()
        .ok_or("start_at is out of range")?;
    let (m, h) = (local.minute(), local.hour());
    Ok(match interval {
        "" | "never" => None,
        "1d" => Some(format!("{m} {h} * * *")),
        "1w" => Some(format!("{m} {h} * * {}", local.weekday())),
        "1m" => Some(format!("{m} {h} {} * *", local.day())),
        "2w" => {
            return Err(
                "every two weeks has no cron form here; use 1w, or one window per occurrence"
                    .into(),
            );
        }
        other => return Err(format!("must be never, 1d, 1w, 2w or 1m, not {other:?}")),
    })
}

/// The repeat interval a stored cron expression was made from (`never` for other forms).
fn interval_of(cron: &str) -> &'static str {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    match fields.as_slice() {
        [_, _, "*", "*", "*"] => "1d",
        [_, _, "*", "*", _] => "1w",
        [_, _, _, "*", "*"] => "1m",
        _ => "never",
    }
}

pub(super) async fn create(
    State(state): State<ApiState>,
    _: CanWrite,
    body: Bytes,
) -> Result<Response, V1Error> {
    let form = parse_form(&body);
    let text = |f: &str| form.get(f).and_then(|v| v.last()).cloned();
    let mut problems = FieldProblems::new();
    let name = text("name").filter(|n| !n.trim().is_empty());
    if name.is_none() {
        problem(&mut problems, "name", "is required");
    }
    let time = |field: &str, problems: &mut FieldProblems| match text(field) {
        None => {
            problem(problems, field, "is required");
            None
        }
        Some(t) => Timestamp::parse_rfc3339(&t).or_else(|| {
            problem(problems, field, "must be an RFC 3339 time");
            None
        }),
    };
    let start = time("start_at", &mut problems);
    let end = time("end_at", &mut problems);
    let zone = text("timezone").unwrap_or_else(|| "UTC".to_owned());
    let interval = text("repeat_interval").unwrap_or_default();
    let cron = match start.map(|s| cron_of(&interval, s, &zone)) {
        Some(Ok(cron)) => cron,
        Some(Err(reason)) => {
            let field = if reason.contains("time zone") {
                "timezone"
            } else {
                "repeat_interval"
            };
            problem(&mut problems, field, reason);
            None
        }
        None => None,
    };
    let mut scopes: Vec<(&str, String)> = Vec::new();
    for test in form
        .get("tests")
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
    {
        let check = match test.parse::<i64>() {
            Ok(id) => state.store.check_by_id(CheckId(id)).await?,
            Err(_) => None,
        };
        match check {
            Some(check) => scopes.push(("check", check.name.to_string())),
            None => problem(&mut problems, "tests", format!("no check has id {test}")),
        }
    }
    for tag in form
        .get("tags")
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
    {
        scopes.push(("tag", tag.clone()));
    }
    if scopes.is_empty() && !problems.contains_key("tests") {
        problem(
            &mut problems,
            "tests",
            "name at least one check (tests[]) or tag (tags[])",
        );
    }
    let (Some(start), Some(end)) = (start, end) else {
        return Err(V1Error::Invalid(problems));
    };
    if end <= start {
        problem(&mut problems, "end_at", "must be after start_at");
    }
    let now = Timestamp::now();
    let duration = u32::try_from((end.0 - start.0) / 1000).unwrap_or(u32::MAX);
    let mut windows = Vec::new();
    for (scope, target) in scopes {
        let body = MaintenanceBody {
            scope: scope.to_owned(),
            target: Some(target.clone()),
            starts_at: cron.is_none().then(|| start.to_rfc3339()),
            ends_at: cron.is_none().then(|| end.to_rfc3339()),
            duration: cron.is_some().then_some(duration),
            cron: cron.clone(),
            timezone: cron.is_some().then(|| zone.clone()),
            reason: name.clone(),
            public: None,
        };
        match parse_window(body, now) {
            Ok(window) => windows.push(window),
            Err(errors) => {
                for e in errors {
                    let field = if e.field == "target" && scope == "tag" {
                        "tags"
                    } else {
                        statuscake_field(&e.field)
                    };
                    problem(&mut problems, field, e.reason);
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(V1Error::Invalid(problems));
    }
    let stored = state.store.add_maintenance_all(windows).await?;
    state.monitor.maintenance_changed();
    let first = stored.first().map(|w| w.id.to_string()).unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"data": {"new_id": first}})),
    )
        .into_response())
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

pub(super) async fn list(
    State(state): State<ApiState>,
    _: CanRead,
) -> Result<axum::Json<Value>, V1Error> {
    let now = Timestamp::now();
    let windows = state.store.maintenance_windows().await?;
    let ids = check_ids(&state, &windows).await?;
    let data: Vec<Value> = windows.iter().map(|w| view(w, &ids, now)).collect();
    let total = data.len();
    Ok(axum::Json(json!({
        "data": data,
        "metadata": {"page": 1, "per_page": total.max(1), "page_count": 1, "total_count": total},
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_intervals_become_cron_in_the_window_zone_and_back() {
        let start = Timestamp::parse_rfc3339("2026-11-29T01:30:00Z").unwrap();
        let daily = cron_of("1d", start, "Europe/Paris").unwrap();
        assert_eq!(daily.as_deref(), Some("30 2 * * *"));
        let weekly = cron_of("1w", start, "UTC").unwrap();
        assert_eq!(
            weekly.as_deref(),
            Some("30 1 * * Sun"),
            "29 Nov 2026 is a Sunday"
        );
        let monthly = cron_of("1m", start, "UTC").unwrap();
        assert_eq!(monthly.as_deref(), Some("30 1 29 * *"));
        for cron in [daily, weekly, monthly].into_iter().flatten() {
            assert_ne!(interval_of(&cron), "never");
        }
        assert_eq!(cron_of("never", start, "UTC"), Ok(None));
        assert!(cron_of("2w", start, "UTC").is_err());
        assert!(cron_of("1d", start, "Mars/Olympus").is_err());
    }
}
