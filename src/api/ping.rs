//! Heartbeat pings: `/ping/{key}` (a success), `/ping/{key}/fail`, `/ping/{key}/start` and
//! `/ping/{key}/{exit_code}` (0 a success, 1-255 a failure, as Healthchecks takes them), by
//! GET, HEAD or POST, with no token: the key (128 random bits) is the secret. A body of at
//! most 10 KiB (a job's last log lines) is kept with a failure and shown in its alert.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiState;
use super::problem::{ApiError, Problem};
use crate::domain::Timestamp;
use crate::monitor::{Ping, PingKind};

/// The most bytes a ping may post.
pub const MAX_PING_BODY: usize = 10 * 1024;

/// The answer to a ping.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pinged {
    /// `ok`.
    pub status: &'static str,
}

async fn take(
    state: &ApiState,
    key: &str,
    kind: PingKind,
    body: &[u8],
) -> Result<Json<Pinged>, ApiError> {
    let (check, message) = read(state, key, body).await?;
    take_as(state, check, kind, message).await
}

/// The check a ping's key names, and what the ping posted.
async fn read(
    state: &ApiState,
    key: &str,
    body: &[u8],
) -> Result<(crate::domain::Check, Option<String>), ApiError> {
    if body.len() > MAX_PING_BODY {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_PING_BODY,
        });
    }
    let unknown = || ApiError::NotFound("no heartbeat check has this key".to_owned());
    if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(unknown());
    }
    let check = state
        .store
        .check_by_ping_key(key)
        .await?
        .ok_or_else(unknown)?;
    let message = (!body.is_empty()).then(|| String::from_utf8_lossy(body).into_owned());
    Ok((check, message))
}

/// A ping with the job's exit code: 0 a success, 1-255 a failure said with its code.
async fn take_exit(
    state: &ApiState,
    key: &str,
    code: &str,
    body: &[u8],
) -> Result<Json<Pinged>, ApiError> {
    let code: u8 = code
        .parse()
        .map_err(|_| ApiError::NotFound("no such ping: an exit code is 0-255".to_owned()))?;
    let (check, message) = read(state, key, body).await?;
    if code == 0 {
        return take_as(state, check, PingKind::Success, message).await;
    }
    let said = match message {
        Some(posted) => format!("exit code {code}: {posted}"),
        None => format!("exit code {code}"),
    };
    take_as(state, check, PingKind::Fail, Some(said)).await
}

/// A heartbeat's job ended with this exit code: 0 a success, 1-255 a failure
#[utoipa::path(get, path = "/ping/{key}/{exit_code}", tag = "heartbeats",
    params(("key" = String, Path, description = "The heartbeat's ping key", pattern = "^[0-9a-f]{32}$"),
        ("exit_code" = String, Path, description = "The job's exit code, 0-255", pattern = "^[0-9]{1,3}$")),
    responses((status = 200, body = Pinged),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn exit_get(
    State(state): State<ApiState>,
    Path((key, code)): Path<(String, String)>,
) -> Result<Json<Pinged>, ApiError> {
    take_exit(&state, &key, &code, &[]).await
}

/// A heartbeat's job ended with this exit code: 0 a success, 1-255 a failure
#[utoipa::path(post, path = "/ping/{key}/{exit_code}", tag = "heartbeats",
    params(("key" = String, Path, description = "The heartbeat's ping key", pattern = "^[0-9a-f]{32}$"),
        ("exit_code" = String, Path, description = "The job's exit code, 0-255", pattern = "^[0-9]{1,3}$")),
    request_body(content = Option<String>, content_type = "text/plain", description = "Optional, at most 10 KiB"),
    responses((status = 200, body = Pinged),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json")))]
pub async fn exit_post(
    State(state): State<ApiState>,
    Path((key, code)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Pinged>, ApiError> {
    take_exit(&state, &key, &code, &body).await
}

async fn take_as(
    state: &ApiState,
    check: crate::domain::Check,
    kind: PingKind,
    message: Option<String>,
) -> Result<Json<Pinged>, ApiError> {
    let ping = Ping {
        check: check.id,
        kind,
        message,
        at: Timestamp::now(),
    };
    if state.store.is_shared() {
        // Judged by whichever instance holds the check, which reads the log every second.
        state.store.log_ping(&ping).await?;
    } else {
        state.monitor.ping(ping);
    }
    Ok(Json(Pinged { status: "ok" }))
}

macro_rules! ping_routes {
    ($get:ident, $post:ident, $path:literal, $kind:expr, $what:literal) => {
        #[doc = $what]
        #[utoipa::path(get, path = $path, tag = "heartbeats",
            params(("key" = String, Path, description = "The heartbeat's ping key", pattern = "^[0-9a-f]{32}$")),
            responses((status = 200, body = Pinged),
                (status = 404, body = Problem, content_type = "application/problem+json")))]
        pub async fn $get(State(state): State<ApiState>, Path(key): Path<String>) -> Result<Json<Pinged>, ApiError> {
            take(&state, &key, $kind, &[]).await
        }

        #[doc = $what]
        #[utoipa::path(post, path = $path, tag = "heartbeats",
            params(("key" = String, Path, description = "The heartbeat's ping key", pattern = "^[0-9a-f]{32}$")),
            request_body(content = Option<String>, content_type = "text/plain", description = "Optional, at most 10 KiB"),
            responses((status = 200, body = Pinged),
                (status = 404, body = Problem, content_type = "application/problem+json"),
                (status = 413, body = Problem, content_type = "application/problem+json")))]
        pub async fn $post(State(state): State<ApiState>, Path(key): Path<String>, body: Bytes) -> Result<Json<Pinged>, ApiError> {
            take(&state, &key, $kind, &body).await
        }
    };
}

ping_routes!(
    ping_get,
    ping_post,
    "/ping/{key}",
    PingKind::Success,
    "A heartbeat's job ran and succeeded"
);
ping_routes!(
    fail_get,
    fail_post,
    "/ping/{key}/fail",
    PingKind::Fail,
    "A heartbeat's job failed: the check is DOWN at once"
);
ping_routes!(
    start_get,
    start_post,
    "/ping/{key}/start",
    PingKind::Start,
    "A heartbeat's job starts: the next success records its duration"
);
