//! The StatusCake-compatible API under `/v1`: uptime checks (with their history, periods and
//! alerts), heartbeats, maintenance windows and contact groups, in StatusCake's shapes (form
//! bodies, `{"data": …}` answers, `{"message", "errors"}` errors), over the same checks and
//! tokens as the native API.

mod contacts;
mod form_reader;
mod heartbeat;
mod locations;
mod pages;
mod ssl;
mod translate;
mod translate_http;
mod update;
mod uptime;
mod view;
mod window_form;
mod windows;

use std::collections::BTreeMap;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::ApiState;
use super::check_body::{Place, read_check};
use crate::domain::{Check, CheckId, CheckName, Timestamp};
use crate::store::StoreError;
use form_reader::FieldProblems;
use pages::{
    ListQuery, base_of, bounded, links, numbered_page, pagination, time_bounds, time_page,
};

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
            get(windows::get_one)
                .put(windows::update)
                .delete(windows::delete),
        )
        .route("/v1/ssl", get(ssl::list).post(ssl::create))
        .route(
            "/v1/ssl/{id}",
            get(ssl::get_one).put(ssl::update).delete(ssl::delete),
        )
        .route(
            "/v1/contact-groups",
            get(contacts::list).post(locations::contacts_read_only),
        )
        .route(
            "/v1/contact-groups/{id}",
            get(contacts::get_one)
                .put(locations::contacts_read_only)
                .delete(locations::contacts_read_only),
        )
        .route("/v1/uptime-locations", get(locations::list))
        .route("/v1/pagespeed-locations", get(locations::list))
        .route(
            "/v1/pagespeed",
            get(locations::unavailable).post(locations::unavailable),
        )
        .route(
            "/v1/pagespeed/{id}",
            get(locations::unavailable)
                .put(locations::unavailable)
                .delete(locations::unavailable),
        )
        .route("/v1/pagespeed/{id}/history", get(locations::unavailable))
}

/// Answers every refusal under `/v1` in StatusCake's error shape: a missing or refused
/// token, too many failed tokens, an unknown route or method, a body too large come out of
/// shared code as problem+json and leave as `{"message", "errors"}` with the same status
/// and headers (`Retry-After`, `WWW-Authenticate`). Other paths pass untouched.
pub async fn errors_as_statuscake(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let v1 = path == "/v1" || path.starts_with("/v1/");
    let response = next.run(request).await;
    if !v1 {
        return response;
    }
    let problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/problem+json"));
    if !problem {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let detail: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let message = detail["detail"]
        .as_str()
        .or_else(|| detail["title"].as_str())
        .unwrap_or("The request was refused")
        .to_owned();
    let mut errors = Map::new();
    for e in detail["errors"].as_array().into_iter().flatten() {
        if let (Some(field), Some(reason)) = (e["field"].as_str(), e["reason"].as_str()) {
            let list = errors.entry(field).or_insert_with(|| json!([]));
            if let Value::Array(list) = list {
                list.push(json!(reason));
            }
        }
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    let body = json!({"message": message, "errors": errors}).to_string();
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// An error as StatusCake answers it.
pub(super) enum V1Error {
    Invalid(FieldProblems),
    NotFound,
    /// A feature stackwatch does not offer through `/v1`: `403`, as StatusCake refuses a
    /// feature the account lacks.
    Forbidden(&'static str),
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
            Self::Forbidden(message) => (
                StatusCode::FORBIDDEN,
                axum::Json(json!({"message": message, "errors": {}})),
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

pub(super) async fn check_of(state: &ApiState, id: &str) -> Result<Check, V1Error> {
    let id: i64 = id.parse().map_err(|_| V1Error::NotFound)?;
    state
        .store
        .check_by_id(CheckId(id))
        .await?
        .ok_or(V1Error::NotFound)
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
            crate::store::WriteMode::commit(Timestamp::now()),
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
            crate::store::WriteMode::commit(Timestamp::now()),
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
