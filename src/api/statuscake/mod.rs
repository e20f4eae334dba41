//! The StatusCake-compatible API under `/v1`: uptime checks, their history, periods and
//! alerts, and contact groups, in StatusCake's shapes (form bodies, `{"data": …}` answers,
//! `{"message", "errors"}` errors), over the same checks and tokens as the native API.

mod translate;

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ApiState;
use super::auth::{CanRead, CanWrite};
use super::check_body::{Place, read_check};
use crate::domain::{Check, CheckId, CheckName, Health, Timestamp};
use crate::store::{AlertFilter, IncidentFilter, StoreError, WriteMode};
use translate::{FieldProblems, FormFields, contact_group_id, form_of, translate, view_of};

/// The `/v1` routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/uptime", get(list_uptime).post(create_uptime))
        .route(
            "/v1/uptime/{id}",
            get(get_uptime).put(update_uptime).delete(delete_uptime),
        )
        .route("/v1/uptime/{id}/history", get(uptime_history))
        .route("/v1/uptime/{id}/periods", get(uptime_periods))
        .route("/v1/uptime/{id}/alerts", get(uptime_alerts))
        .route("/v1/contact-groups", get(list_contact_groups))
        .route("/v1/contact-groups/{id}", get(get_contact_group))
}

/// An error as StatusCake answers it.
enum V1Error {
    Invalid(FieldProblems),
    NotFound,
    Store(StoreError),
}

impl From<StoreError> for V1Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl IntoResponse for V1Error {
    fn into_response(self) -> Response {
        match self {
            Self::Invalid(errors) => (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({
                    "message": "The provided parameters are invalid. Check the errors output for detailed information.",
                    "errors": errors,
                })),
            )
                .into_response(),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"message": "No results found", "errors": {}})),
            )
                .into_response(),
            Self::Store(e) => {
                tracing::error!(error = %e, "a /v1 request failed in the database");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(json!({"message": "Internal error", "errors": {}})),
                )
                    .into_response()
            }
        }
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> V1Error {
    V1Error::Invalid(BTreeMap::from([(field.to_owned(), vec![reason.into()])]))
}

/// The StatusCake field a native field's error belongs to.
fn statuscake_field(native: &str) -> &str {
    let head = native.split(['.', '[']).next().unwrap_or(native);
    match head {
        "display_name" => "name",
        "url" | "host" | "kind" => "website_url",
        "failures_to_confirm" => "confirmation",
        "contacts" => "contact_groups",
        "headers" => "custom_header",
        "body" => "post_raw",
        "basic_auth" => "basic_username",
        "body_contains" | "body_not_contains" => "find_string",
        "cert_expiry_days" => "enable_ssl_alert",
        "expected_status" => "status_codes_csv",
        "expect" => "dns_ips",
        "nameserver" => "dns_server",
        other => other,
    }
}

/// Reads a translated native body as the native API would; problems named as StatusCake
/// names the fields.
fn read_native(
    body: Map<String, Value>,
    state: &ApiState,
) -> Result<crate::store::CheckWrite, V1Error> {
    read_check(body, Place::Single, Some(&state.contacts))
        .map(|(_, write)| write)
        .map_err(|errors| {
            let mut problems = FieldProblems::new();
            for e in errors {
                problems
                    .entry(statuscake_field(&e.field).to_owned())
                    .or_default()
                    .push(e.reason);
            }
            V1Error::Invalid(problems)
        })
}

/// A slug for the native API from a StatusCake name: `Acme :: readiness` → `acme-readiness`.
fn slug(display: &str) -> Result<CheckName, V1Error> {
    let mut out = String::new();
    for c in display.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.chars().take(120).collect();
    let out = out.trim_end_matches('-');
    let out = if out.is_empty() { "check" } else { out };
    CheckName::try_from(out.to_owned()).map_err(|e| invalid("name", e.to_string()))
}

async fn create_uptime(
    State(state): State<ApiState>,
    _: CanWrite,
    body: Bytes,
) -> Result<Response, V1Error> {
    let form = translate::parse_form(&body);
    let translated = translate(&form, &state.contacts).map_err(V1Error::Invalid)?;
    let mut write = read_native(translated.body, &state)?;
    write.paused = translated.paused;
    let display = write.spec.display_name.clone().unwrap_or_default();
    let outcome = state
        .store
        .write_statuscake_check(
            &slug(&display)?,
            true,
            write,
            &translated.kept,
            WriteMode::commit(Timestamp::now()),
        )
        .await?;
    let check = outcome.check();
    state.monitor.checks_changed(vec![check.name.clone()]);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"data": {"new_id": check.id.0.to_string()}})),
    )
        .into_response())
}

async fn check_of(state: &ApiState, id: &str) -> Result<Check, V1Error> {
    let id: i64 = id.parse().map_err(|_| V1Error::NotFound)?;
    state
        .store
        .check_by_id(CheckId(id))
        .await?
        .ok_or(V1Error::NotFound)
}

async fn update_uptime(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, V1Error> {
    let check = check_of(&state, &id).await?;
    let kept = state.store.statuscake_fields(&[check.id]).await?;
    let kept = kept.get(&check.id);
    let request = translate::parse_form(&body);
    let mut whole: FormFields = form_of(&check, kept);
    for (key, values) in &request {
        whole.insert(key.clone(), values.clone());
    }
    let translated = translate(&whole, &state.contacts).map_err(V1Error::Invalid)?;
    let stored = match serde_json::to_value(&check.spec) {
        Ok(Value::Object(stored)) => stored,
        _ => Map::new(),
    };
    let body = translate::updated_body(stored, &translated.body, &request);
    let mut write = read_native(body, &state)?;
    write.paused = request
        .contains_key("paused")
        .then_some(translated.paused)
        .flatten();
    let mut fields = kept.cloned().unwrap_or_default();
    fields.extend(translated.kept);
    let outcome = state
        .store
        .write_statuscake_check(
            &check.name,
            false,
            write,
            &fields,
            WriteMode::commit(Timestamp::now()),
        )
        .await?;
    state
        .monitor
        .checks_changed(vec![outcome.check().name.clone()]);
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_uptime(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(id): Path<String>,
) -> Result<StatusCode, V1Error> {
    let check = check_of(&state, &id).await?;
    if state.store.delete_check(&check.name).await? {
        state.monitor.checks_changed(vec![check.name]);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The live figures StatusCake shows with a check: `status`, `uptime` (last 24 hours, in
/// percent) and `last_tested_at`.
async fn with_live_figures(
    state: &ApiState,
    check: &Check,
    health: Option<Health>,
    kept: Option<&Map<String, Value>>,
) -> Result<Value, V1Error> {
    let mut view = view_of(check, kept);
    let now = Timestamp::now();
    let uptime = state.store.uptime(check.id, now).await?;
    let day = uptime
        .iter()
        .find(|w| w.window == "24h")
        .and_then(|w| w.uptime_percent)
        .unwrap_or(100.0);
    let last = state
        .store
        .results(check.id, Timestamp(i64::MIN), Timestamp(i64::MAX), 1)
        .await?;
    if let Value::Object(object) = &mut view {
        let down = matches!(health, Some(Health::Down));
        object.insert("status".into(), json!(if down { "down" } else { "up" }));
        object.insert("uptime".into(), json!((day * 100.0).round() / 100.0));
        if let Some(last) = last.first() {
            object.insert(
                "last_tested_at".into(),
                json!(Timestamp(last.at).to_rfc3339()),
            );
        }
    }
    Ok(view)
}

async fn get_uptime(
    State(state): State<ApiState>,
    _: CanRead,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, V1Error> {
    let check = check_of(&state, &id).await?;
    let kept = state.store.statuscake_fields(&[check.id]).await?;
    let health = state
        .store
        .check_state(check.id)
        .await?
        .map(|s| s.state.health);
    let view = with_live_figures(&state, &check, health, kept.get(&check.id)).await?;
    Ok(axum::Json(json!({"data": view})))
}

/// Query of `GET /v1/uptime`; other parameters StatusCake takes are ignored.
#[derive(Debug, Deserialize)]
struct ListQuery {
    page: Option<String>,
    limit: Option<String>,
    tags: Option<String>,
    status: Option<String>,
}

fn bounded(field: &str, text: Option<&str>, default: u32, max: u32) -> Result<u32, V1Error> {
    match text {
        None => Ok(default),
        Some(t) => match t.parse::<u32>() {
            Ok(v) if (1..=max).contains(&v) => Ok(v),
            _ => Err(invalid(field, format!("must be a whole number 1-{max}"))),
        },
    }
}

async fn list_uptime(
    State(state): State<ApiState>,
    _: CanRead,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<Value>, V1Error> {
    let page = bounded("page", query.page.as_deref(), 1, u32::MAX)?;
    let limit = bounded("limit", query.limit.as_deref(), 25, 100)?;
    let want_down = match query.status.as_deref() {
        None | Some("") => None,
        Some("down") => Some(true),
        Some("up") => Some(false),
        Some(_) => return Err(invalid("status", "must be up or down")),
    };
    let tags: Vec<&str> = query
        .tags
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let all = state.store.checks_with_state().await?;
    let matching: Vec<(Check, Option<Health>)> = all
        .into_iter()
        .map(|(check, stored)| (check, stored.map(|s| s.state.health)))
        .filter(|(check, health)| {
            let down = matches!(health, Some(Health::Down));
            want_down.is_none_or(|w| w == down)
                && (tags.is_empty() || check.spec.tags.iter().any(|t| tags.contains(&t.as_str())))
        })
        .collect();
    let total = matching.len();
    let per_page = limit as usize;
    let first = (page as usize - 1).saturating_mul(per_page);
    let shown: Vec<&(Check, Option<Health>)> = matching.iter().skip(first).take(per_page).collect();
    let ids: Vec<CheckId> = shown.iter().map(|(c, _)| c.id).collect();
    let kept = state.store.statuscake_fields(&ids).await?;
    let mut data = Vec::with_capacity(shown.len());
    for (check, health) in shown {
        data.push(with_live_figures(&state, check, *health, kept.get(&check.id)).await?);
    }
    Ok(axum::Json(json!({
        "data": data,
        "metadata": {
            "page": page,
            "per_page": limit,
            "page_count": total.div_ceil(per_page),
            "total_count": total,
        },
    })))
}

/// Query of the history, periods and alerts lists.
#[derive(Debug, Deserialize)]
struct HistoryQuery {
    limit: Option<String>,
    before: Option<String>,
}

async fn uptime_history(
    State(state): State<ApiState>,
    _: CanRead,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<axum::Json<Value>, V1Error> {
    let check = check_of(&state, &id).await?;
    let limit = bounded("limit", query.limit.as_deref(), 25, 100)?;
    let before = match query.before.as_deref() {
        None => i64::MAX,
        Some(t) => t
            .parse::<i64>()
            .map_err(|_| invalid("before", "must be a unix time in seconds"))?
            .saturating_mul(1000),
    };
    let rows = state
        .store
        .results(check.id, Timestamp(i64::MIN), Timestamp(before), limit)
        .await?;
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "created_at": Timestamp(r.at).to_rfc3339(),
                "status_code": r.status.unwrap_or(0),
                "location": "stackwatch",
                "performance": r.total_ms,
                "up": r.up(),
                "error": r.error,
            })
        })
        .collect();
    Ok(axum::Json(json!({"data": data, "links": {}})))
}

async fn uptime_periods(
    State(state): State<ApiState>,
    _: CanRead,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, V1Error> {
    let check = check_of(&state, &id).await?;
    let mut incidents = state
        .store
        .incidents(&IncidentFilter {
            check: Some(check.name.clone()),
            open: None,
            limit: 1000,
        })
        .await?;
    incidents.sort_by_key(|i| i.opened_at);
    // Up from the check's creation to its first outage, between outages, and after the last.
    let now = Timestamp::now().0;
    let mut periods = Vec::new();
    let mut up_from = Some(check.created_at.0);
    let period = |status: &str, from: i64, to: Option<i64>| {
        json!({
            "status": status,
            "created_at": Timestamp(from).to_rfc3339(),
            "ended_at": to.map(|t| Timestamp(t).to_rfc3339()),
            "duration": (to.unwrap_or(now) - from).max(0) / 1000,
        })
    };
    for incident in &incidents {
        if let Some(from) = up_from.filter(|f| *f < incident.opened_at) {
            periods.push(period("up", from, Some(incident.opened_at)));
        }
        periods.push(period("down", incident.opened_at, incident.resolved_at));
        up_from = incident.resolved_at;
    }
    if let Some(from) = up_from {
        periods.push(period("up", from, None));
    }
    periods.reverse();
    Ok(axum::Json(json!({"data": periods, "links": {}})))
}

async fn uptime_alerts(
    State(state): State<ApiState>,
    _: CanRead,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<axum::Json<Value>, V1Error> {
    let check = check_of(&state, &id).await?;
    let limit = bounded("limit", query.limit.as_deref(), 25, 100)?;
    let alerts = state
        .store
        .alerts(&AlertFilter {
            check: Some(check.name.clone()),
            status: None,
            limit,
        })
        .await?;
    let data: Vec<Value> = alerts
        .iter()
        .filter_map(|(alert, _)| {
            let status = match alert.kind {
                crate::domain::AlertKind::Down | crate::domain::AlertKind::Reminder => "down",
                crate::domain::AlertKind::Recovered => "up",
                _ => return None,
            };
            Some(json!({
                "id": alert.id.to_string(),
                "status": status,
                "status_code": 0,
                "triggered_at": alert.created_at.to_rfc3339(),
                "cause": alert.facts.cause,
            }))
        })
        .collect();
    Ok(axum::Json(json!({"data": data, "links": {}})))
}

fn contact_group(name: &str) -> Value {
    json!({
        "id": contact_group_id(name),
        "name": name,
        "email_addresses": [],
        "integrations": [],
        "mobile_numbers": [],
        "ping_url": null,
    })
}

async fn list_contact_groups(State(state): State<ApiState>, _: CanRead) -> axum::Json<Value> {
    let data: Vec<Value> = state.contacts.iter().map(|c| contact_group(c)).collect();
    let total = data.len();
    axum::Json(json!({
        "data": data,
        "metadata": {"page": 1, "per_page": total.max(1), "page_count": 1, "total_count": total},
    }))
}

async fn get_contact_group(
    State(state): State<ApiState>,
    _: CanRead,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, V1Error> {
    let by_id: HashMap<String, &String> = state
        .contacts
        .iter()
        .map(|c| (contact_group_id(c), c))
        .collect();
    let name = by_id.get(&id).ok_or(V1Error::NotFound)?;
    Ok(axum::Json(json!({"data": contact_group(name)})))
}
