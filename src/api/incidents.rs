//! Acknowledging an incident: someone is on it, so its reminders stop and its contacts are
//! told once who took it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::ToSchema;

use super::ApiState;
use super::auth::CanWrite;
use super::json::parse_body;
use super::problem::{ApiError, Problem};
use super::status::IncidentView;
use crate::domain::{Acknowledgement, FieldError, Timestamp};
use crate::store::Acked;

/// Who acknowledges, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    /// Who takes the incident, 1-100 characters without control characters, e.g. `alice`.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x20\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub by: String,
    /// A note for the team, up to 1,000 characters, e.g. `restarting the pool`.
    #[schema(
        max_length = 1000,
        pattern = "^[^\\x00-\\x09\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    pub note: Option<String>,
}

/// Acknowledge an open incident: its reminders stop and its contacts are told once
#[utoipa::path(post, path = "/api/v1/incidents/{id}/ack", tag = "results",
    params(("id" = i64, Path, description = "Incident id")),
    request_body = AckBody,
    responses(
        (status = 200, body = IncidentView, description = "Acknowledged now, or before (nothing is sent twice)"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The incident is resolved"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn acknowledge(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IncidentView>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::invalid("id", "must be an incident id (a whole number)"))?;
    let body: AckBody = parse_body(&headers, body)?;
    let ack = Acknowledgement::read(&body.by, body.note.as_deref()).map_err(ApiError::Invalid)?;
    let now = Timestamp::now();
    match state
        .store
        .acknowledge(id, &ack, now, &state.routing)
        .await?
    {
        Acked::Now(row) => {
            state.alerts_filed.notify_one();
            Ok(Json(IncidentView::new(row, now)))
        }
        Acked::Already(row) => Ok(Json(IncidentView::new(row, now))),
        Acked::Resolved(_) => Err(ApiError::Conflict(vec![FieldError::new(
            "id",
            "the incident is resolved: there is nothing to acknowledge",
        )])),
        Acked::Unknown => Err(ApiError::NotFound(format!("no incident {id}"))),
    }
}
