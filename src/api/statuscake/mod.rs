//! The StatusCake-compatible API under `/v1`: uptime checks (with their history, periods and
//! alerts), heartbeats, maintenance windows and contact groups, in StatusCake's shapes (form
//! bodies, `{"data": …}` answers, `{"message", "errors"}` errors), over the same checks and
//! tokens as the native API.

mod contacts;
mod form_reader;
mod heartbeat;
mod translate;
mod translate_http;
mod update;
mod uptime;
mod view;
mod windows;

use std::collections::BTreeMap;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::ApiState;
use super::check_body::{Place, read_check};
use crate::domain::{Check, CheckId, CheckName};
use crate::store::{CheckFilter, LiveCheck, PageStart, StoreError};
use form_reader::FieldProblems;

/// The `/v1` routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/uptime", get(uptime::list).post(uptime::create))
        .route(
            "/v1/uptime/{id}",
            get(uptime::get_one)
                .put(uptime::update)
                .delete(uptime::delete),
        )
        .route("/v1/uptime/{id}/history", get(uptime::history))
        .route("/v1/uptime/{id}/periods", get(uptime::periods))
        .route("/v1/uptime/{id}/alerts", get(uptime::alerts))
        .route(
            "/v1/heartbeat",
            get(heartbeat::list).post(heartbeat::create),
        )
        .route(
            "/v1/heartbeat/{id}",
            get(heartbeat::get_one)
                .put(heartbeat::update)
                .delete(heartbeat::delete),
        )
        .route(
            "/v1/maintenance-windows",
            get(windows::list).post(windows::create),
        )
        .route(
            "/v1/maintenance-windows/{id}",
            get(windows::get_one).delete(windows::delete),
        )
        .route("/v1/contact-groups", get(contacts::list))
        .route("/v1/contact-groups/{id}", get(contacts::get_one))
}

/// An error as StatusCake answers it.
pub(super) enum V1Error {
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

pub(super) fn invalid(field: &str, reason: impl Into<String>) -> V1Error {
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
pub(super) fn read_native(
    body: Map<String, Value>,
    state: &ApiState,
) -> Result<crate::store::CheckWrite, V1Error> {
    let rdap = state.rdap.directory();
    read_check(body, Place::Single, Some(state.registry(&rdap)))
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

/// One numbered page of the checks `filter` keeps, as StatusCake numbers pages (from 1):
/// the page's checks now, and the list's `metadata`.
pub(super) async fn numbered_page(
    state: &ApiState,
    filter: &CheckFilter,
    page: u32,
    limit: u32,
) -> Result<(Vec<LiveCheck>, Value), V1Error> {
    let total = state.store.count_checks(filter).await?;
    let first = u64::from(page.saturating_sub(1)) * u64::from(limit);
    let live = state
        .store
        .live_checks(filter, PageStart::Skip(first), limit)
        .await?;
    let metadata = json!({
        "page": page,
        "per_page": limit,
        "page_count": total.div_ceil(u64::from(limit)),
        "total_count": total,
    });
    Ok((live, metadata))
}

pub(super) async fn check_of(state: &ApiState, id: &str) -> Result<Check, V1Error> {
    let id: i64 = id.parse().map_err(|_| V1Error::NotFound)?;
    state
        .store
        .check_by_id(CheckId(id))
        .await?
        .ok_or(V1Error::NotFound)
}

pub(super) fn bounded(
    field: &str,
    text: Option<&str>,
    default: u32,
    max: u32,
) -> Result<u32, V1Error> {
    match text {
        None => Ok(default),
        Some(t) => match t.parse::<u32>() {
            Ok(v) if (1..=max).contains(&v) => Ok(v),
            _ => Err(invalid(field, format!("must be a whole number 1-{max}"))),
        },
    }
}

/// Writes a translated form as a new check, named by a slug of its StatusCake name:
/// `201 {"data": {"new_id": ID}}`.
pub(super) async fn create_from(
    state: &ApiState,
    translated: translate::Translated,
) -> Result<Response, V1Error> {
    let mut write = read_native(translated.body, state)?;
    write.paused = translated.paused;
    let display = write.spec.display_name().unwrap_or_default().to_owned();
    let outcome = state
        .store
        .write_statuscake_check(
            &CheckName::from_display(&display),
            true,
            write,
            &translated.kept,
            crate::store::WriteMode::commit(crate::domain::Timestamp::now()),
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

/// Writes an update: the check's own native body, with what the request's fields map to
/// taken from `translated` (the whole form read with the request laid over it); `204`.
pub(super) async fn update_from(
    state: &ApiState,
    check: &Check,
    translated: translate::Translated,
    request: &form_reader::FormFields,
    mut kept: crate::store::StatusCakeFields,
) -> Result<StatusCode, V1Error> {
    let stored = match serde_json::to_value(&check.spec) {
        Ok(Value::Object(stored)) => stored,
        _ => Map::new(),
    };
    let body = update::updated_body(stored, &translated.body, request);
    let mut write = read_native(body, state)?;
    write.paused = translated.paused.filter(|_| request.contains_key("paused"));
    kept.extend(translated.kept);
    let outcome = state
        .store
        .write_statuscake_check(
            &check.name,
            false,
            write,
            &kept,
            crate::store::WriteMode::commit(crate::domain::Timestamp::now()),
        )
        .await?;
    state
        .monitor
        .checks_changed(vec![outcome.check().name.clone()]);
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a check: `204`.
pub(super) async fn delete_from(state: &ApiState, check: Check) -> Result<StatusCode, V1Error> {
    if state.store.delete_check(&check.name).await? {
        state.monitor.checks_changed(vec![check.name]);
    }
    Ok(StatusCode::NO_CONTENT)
}
