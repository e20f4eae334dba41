//! `GET /api/v1/alerts`: every alert with its deliveries (contact, status, attempts, error).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::auth::CanRead;
use super::check_body::parse_name;
use super::problem::{ApiError, Problem};
use crate::domain::{CheckName, FieldError, Timestamp};
use crate::store::{AlertFilter, DeliveryRow, DeliveryStatus, StoredAlert};

/// Filters of `GET /alerts`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// Only alerts of this check.
    #[param(pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")]
    check: Option<String>,
    /// `pending` (a delivery still being tried), `delivered` (all delivered) or `failed`
    /// (a delivery given up).
    #[param(pattern = "^(pending|delivered|failed)$")]
    status: Option<String>,
    /// Most alerts to return, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// One delivery of an alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub contact: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: i64,
    /// Why the last attempt failed; never contains the contact's URL or credentials.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
}

/// An alert and its deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    pub id: i64,
    pub check: String,
    /// `down`, `recovered`, `reminder`, `cert_expiring`, or, about stackwatch itself
    /// (check `stackwatch`), `offline` and `online`: the same word as the webhook's `event`.
    pub event: String,
    pub created_at: String,
    pub stack: Option<String>,
    pub url: String,
    pub cause: Option<String>,
    pub down_since: Option<String>,
    pub downtime_s: Option<u64>,
    pub cert_expires_at: Option<String>,
    pub deliveries: Vec<DeliveryView>,
    /// Set when the alert had no contact: `no contact configured: nobody was told`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

impl AlertView {
    fn new(alert: StoredAlert, deliveries: Vec<DeliveryRow>) -> Self {
        let f = alert.facts;
        Self {
            id: alert.id,
            check: alert.check_name,
            event: alert.kind.as_str().to_owned(),
            created_at: alert.created_at.to_rfc3339(),
            stack: f.stack,
            url: f.url,
            cause: f.cause,
            down_since: f.down_since.map(Timestamp::to_rfc3339),
            downtime_s: f.downtime_s,
            cert_expires_at: f.cert_not_after.map(Timestamp::to_rfc3339),
            notice: deliveries
                .is_empty()
                .then(|| crate::domain::NOBODY_TOLD.to_owned()),
            deliveries: deliveries
                .into_iter()
                .map(|d| DeliveryView {
                    next_attempt_at: (d.status == DeliveryStatus::Pending)
                        .then(|| Timestamp(d.next_attempt_at).to_rfc3339()),
                    delivered_at: d.delivered_at.map(|t| Timestamp(t).to_rfc3339()),
                    contact: d.contact,
                    status: d.status.as_str().to_owned(),
                    attempts: d.attempts,
                    last_error: d.last_error,
                })
                .collect(),
        }
    }
}

/// Alerts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertList {
    pub alerts: Vec<AlertView>,
}

/// Alerts and the state of their deliveries, newest first
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertsQuery),
    responses(
        (status = 200, body = AlertList),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_alerts(
    State(state): State<ApiState>,
    _: CanRead,
    query: Result<Query<AlertsQuery>, QueryRejection>,
) -> Result<Json<AlertList>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("(query)", e.body_text()))?;
    let mut errors = Vec::new();
    let check: Option<CheckName> = query
        .check
        .and_then(|c| parse_name("check", c, &mut errors));
    let status = match query.status.as_deref() {
        None => None,
        Some(word) if DeliveryStatus::parse(word).is_some() => DeliveryStatus::parse(word),
        Some(_) => {
            errors.push(FieldError::new(
                "status",
                "must be pending, delivered or failed",
            ));
            None
        }
    };
    let limit = query.limit.unwrap_or(100);
    if !(1..=1_000).contains(&limit) {
        errors.push(FieldError::new("limit", "must be between 1 and 1000"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let rows = state
        .store
        .alerts(&AlertFilter {
            check,
            status,
            since: None,
            until: None,
            kinds: Vec::new(),
            limit,
        })
        .await?;
    Ok(Json(AlertList {
        alerts: rows
            .into_iter()
            .map(|(a, d)| AlertView::new(a, d))
            .collect(),
    }))
}
