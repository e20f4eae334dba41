//! `/api/v1/maintenance`: windows during which checks are probed and recorded but alert
//! nobody (a deploy playbook opens one before it restarts a stack).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiState;
use super::auth::{CanRead, CanWrite};
use super::check_body::parse_name;
use super::json::parse_body;
use super::maintenance_body::MAX_DURATION_S;
pub use super::maintenance_body::MaintenanceBody;
use super::problem::{ApiError, Problem};
use crate::domain::schedule::parse_cron;
use crate::domain::{
    FieldError, MaintenanceScope, MaintenanceWindow, Timestamp, WindowTiming, parse_timezone,
    window_mail,
};

/// A stored window.
#[derive(Debug, Serialize, ToSchema)]
pub struct MaintenanceView {
    pub id: i64,
    pub scope: String,
    pub target: Option<String>,
    /// One-off windows: start and end. Recurring ones: the first start, when one was set.
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// Recurring windows: the expression, its time zone, and each occurrence's length.
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub duration: Option<u32>,
    pub reason: Option<String>,
    /// Announced on the status pages of the stacks it covers.
    pub public: bool,
    pub created_at: String,
    /// Open now.
    pub active: bool,
    /// The occurrence open now, or else the next one; `null` once the window is over.
    pub next_starts_at: Option<String>,
    pub next_ends_at: Option<String>,
}

impl MaintenanceView {
    fn new(w: &MaintenanceWindow, now: Timestamp) -> Self {
        let (scope, target) = w.scope.parts();
        let next = w.occurrence_at_or_after(now);
        let t = w.timing.fields();
        Self {
            id: w.id,
            scope: scope.to_owned(),
            target,
            starts_at: t.starts_at.map(Timestamp::to_rfc3339),
            ends_at: t.ends_at.map(Timestamp::to_rfc3339),
            cron: t.cron.map(str::to_owned),
            timezone: t.timezone.map(str::to_owned),
            // A one-off window's length too, however it was given.
            duration: t.duration_s.or_else(|| {
                let (start, end) = (t.starts_at?, t.ends_at?);
                u32::try_from((end.0 - start.0) / 1000).ok()
            }),
            reason: w.reason.clone(),
            public: w.public,
            created_at: w.created_at.to_rfc3339(),
            active: w.open_at(now),
            next_starts_at: next.map(|(s, _)| s.to_rfc3339()),
            next_ends_at: next.map(|(_, e)| e.to_rfc3339()),
        }
    }
}

/// Windows, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MaintenanceList {
    pub windows: Vec<MaintenanceView>,
}

/// The answer to a delete.
#[derive(Debug, Serialize, ToSchema)]
pub struct MaintenanceDeleted {
    /// Whether a window existed and was deleted.
    pub changed: bool,
}

pub(super) fn parse_window(
    body: MaintenanceBody,
    now: Timestamp,
) -> Result<MaintenanceWindow, Vec<FieldError>> {
    let mut errors = Vec::new();
    let target = body.target;
    let scope = match (body.scope.as_str(), target) {
        ("all", None) => Some(MaintenanceScope::All),
        ("all", Some(_)) => {
            errors.push(FieldError::new(
                "target",
                "must be left out when scope is all",
            ));
            None
        }
        ("stack" | "tag" | "check", None) => {
            errors.push(FieldError::new(
                "target",
                format!("names the {}", body.scope),
            ));
            None
        }
        ("stack", Some(t)) => parse_name("target", t, &mut errors).map(MaintenanceScope::Stack),
        ("tag", Some(t)) => parse_name("target", t, &mut errors).map(MaintenanceScope::Tag),
        ("check", Some(t)) => parse_name("target", t, &mut errors).map(MaintenanceScope::Check),
        (other, _) => {
            errors.push(FieldError::new(
                "scope",
                format!("must be all, stack, tag or check, not {other:?}"),
            ));
            None
        }
    };
    if let Some(d) = body.duration
        && !(1..=MAX_DURATION_S).contains(&d)
    {
        errors.push(FieldError::new(
            "duration",
            format!("must be between 1 and {MAX_DURATION_S} seconds"),
        ));
    }
    let time = |field: &str, value: Option<String>, errors: &mut Vec<FieldError>| {
        value.and_then(|v| {
            let parsed = Timestamp::parse_rfc3339(&v);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    field,
                    "must be an RFC 3339 time, e.g. 2026-11-26T08:00:00Z",
                ));
            }
            parsed
        })
    };
    let timing = if let Some(expression) = body.cron {
        if body.ends_at.is_some() {
            errors.push(FieldError::new(
                "ends_at",
                "is for one-off windows; a recurring one has cron and duration",
            ));
        }
        let not_before = time("starts_at", body.starts_at, &mut errors);
        let schedule = parse_cron(&expression)
            .map_err(|reason| errors.push(FieldError::new("cron", reason)))
            .ok();
        let zone_name = body.timezone.unwrap_or_else(|| "UTC".to_owned());
        let timezone = parse_timezone(&zone_name);
        if timezone.is_none() {
            errors.push(FieldError::new(
                "timezone",
                format!("{zone_name:?} is not an IANA time zone such as Europe/Paris"),
            ));
        }
        if body.duration.is_none() {
            errors.push(FieldError::new("duration", "is required with cron"));
        }
        match (schedule, timezone, body.duration) {
            (Some(schedule), Some(timezone), Some(duration_s)) => Some(WindowTiming::Recurring {
                expression,
                not_before,
                schedule: Box::new(schedule),
                duration_s,
                timezone,
            }),
            _ => None,
        }
    } else {
        if body.timezone.is_some() {
            errors.push(FieldError::new(
                "timezone",
                "is for recurring windows (with cron)",
            ));
        }
        let starts_at = time("starts_at", body.starts_at, &mut errors).unwrap_or(now);
        let duration = body.duration.filter(|d| (1..=MAX_DURATION_S).contains(d));
        let ends_at = match (time("ends_at", body.ends_at, &mut errors), duration) {
            (Some(end), None) => Some(end),
            (None, Some(d)) => Some(Timestamp(starts_at.0 + i64::from(d) * 1_000)),
            (Some(_), Some(_)) => {
                errors.push(FieldError::new(
                    "duration",
                    "give ends_at or duration, not both",
                ));
                None
            }
            (None, None) if body.duration.is_some() => None, // a bad duration, reported above
            (None, None) => {
                errors.push(FieldError::new(
                    "ends_at",
                    "a one-off window needs ends_at or duration (or cron for a recurring one)",
                ));
                None
            }
        };
        match ends_at {
            Some(end) if end <= starts_at => {
                errors.push(FieldError::new("ends_at", "must be after starts_at"));
                None
            }
            Some(end) if end <= now => {
                errors.push(FieldError::new("ends_at", "is in the past"));
                None
            }
            Some(ends_at) => Some(WindowTiming::Once { starts_at, ends_at }),
            None => None,
        }
    };
    if body.reason.as_ref().is_some_and(|r| r.len() > 500) {
        errors.push(FieldError::new("reason", "must be at most 500 bytes"));
    }
    match (scope, timing) {
        (Some(scope), Some(timing)) if errors.is_empty() => Ok(MaintenanceWindow {
            id: 0,
            scope,
            timing,
            reason: body.reason,
            public: body.public.unwrap_or(false),
            created_at: now,
        }),
        _ => Err(errors),
    }
}

/// Open a maintenance window
#[utoipa::path(post, path = "/api/v1/maintenance", tag = "maintenance",
    request_body = MaintenanceBody,
    responses(
        (status = 201, body = MaintenanceView),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_window(
    State(state): State<ApiState>,
    _: CanWrite,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<MaintenanceView>), ApiError> {
    let body: MaintenanceBody = parse_body(&headers, body)?;
    let now = Timestamp::now();
    let window = parse_window(body, now).map_err(ApiError::Invalid)?;
    let window = state.store.add_maintenance(window).await?;
    state.monitor.maintenance_changed();
    if window.public {
        announce(&state, &window, now).await;
    }
    Ok((
        StatusCode::CREATED,
        Json(MaintenanceView::new(&window, now)),
    ))
}

/// Mails the subscribers of each stack a public window covers of its next occurrence. A
/// failure is logged: the window stands, and its page announces it anyway.
async fn announce(state: &ApiState, window: &MaintenanceWindow, now: Timestamp) {
    let Some((start, end)) = window.occurrence_at_or_after(now) else {
        return;
    };
    let when = window.occurrence_text(start, end);
    let stacks = match state.store.stacks_covered(&window.scope).await {
        Ok(stacks) => stacks,
        Err(e) => {
            tracing::error!(error = %e, window = window.id, "cannot tell subscribers of a window");
            return;
        }
    };
    for stack in stacks {
        let (subject, body) = window_mail(&stack, &when, window.reason.as_deref());
        if let Err(e) = state
            .store
            .queue_mail_to_stack(&stack, &subject, &body, now)
            .await
        {
            tracing::error!(error = %e, window = window.id, "cannot tell subscribers of a window");
        }
    }
}

/// List maintenance windows, including ones that are over
#[utoipa::path(get, path = "/api/v1/maintenance", tag = "maintenance",
    responses((status = 200, body = MaintenanceList)),
    security(("bearer" = [])))]
pub async fn list_windows(
    State(state): State<ApiState>,
    _: CanRead,
) -> Result<Json<MaintenanceList>, ApiError> {
    let now = Timestamp::now();
    let windows = state.store.maintenance_windows().await?;
    Ok(Json(MaintenanceList {
        windows: windows
            .iter()
            .map(|w| MaintenanceView::new(w, now))
            .collect(),
    }))
}

/// Close (delete) a maintenance window (idempotent)
#[utoipa::path(delete, path = "/api/v1/maintenance/{id}", tag = "maintenance",
    params(("id" = i64, Path, description = "Window id")),
    responses((status = 200, body = MaintenanceDeleted)),
    security(("bearer" = [])))]
pub async fn delete_window(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(id): Path<String>,
) -> Result<Json<MaintenanceDeleted>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::invalid("id", "must be a window id (a whole number)"))?;
    let changed = state.store.delete_maintenance(id).await?;
    if changed {
        state.monitor.maintenance_changed();
    }
    Ok(Json(MaintenanceDeleted { changed }))
}
