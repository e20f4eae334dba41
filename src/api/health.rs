//! `/healthz` (the process answers) and `/readyz` (the database answers, probing keeps up
//! and results are written), for container health checks and load balancers; neither
//! needs a token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiState;

/// Health status.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `ready` or `unavailable`.
    pub status: &'static str,
    /// Why stackwatch is not ready (database, scheduler, recording); empty when it is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Liveness: the process is up and serving
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        problems: Vec::new(),
    })
}

/// Readiness: the database answers, the scheduler starts due probes, results are written
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn readyz(State(state): State<ApiState>) -> Response {
    let problems = state.vitals.readiness(&state.store).await;
    if problems.is_empty() {
        return Json(Health {
            status: "ready",
            problems,
        })
        .into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(Health {
            status: "unavailable",
            problems,
        }),
    )
        .into_response()
}
