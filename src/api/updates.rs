//! `/api/v1/stacks/{stack}/updates`: what the team tells a stack's customers on its status
//! page (investigating, identified, monitoring, resolved), about a detected incident or a
//! problem stackwatch cannot see. Edits keep every earlier text; a delete hides the update
//! and keeps its texts.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiState;
use super::auth::{CanRead, CanWrite};
use super::json::parse_body;
use super::problem::{ApiError, Problem};
use crate::domain::{StackName, Timestamp, UpdateText};
use crate::store::{StatusUpdate, UpdateRevision};

/// Most updates a listing returns, newest first.
pub const LISTED_UPDATES: u32 = 100;

/// Where the team stands.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

/// A new update.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// Where the team stands.
    #[schema(value_type = Stage)]
    pub status: String,
    /// What the customers read: plain text, or the Markdown subset the README lists
    /// (rendered escaped), 1-5,000 characters.
    #[schema(
        min_length = 1,
        max_length = 5000,
        pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\x00-\\x20\\x7f-\\x9f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    pub message: String,
    /// The stack's checks it concerns (default: the incident's check, or none).
    #[schema(max_items = 100, value_type = Option<Vec<crate::domain::CheckName>>)]
    pub checks: Option<Vec<String>>,
    /// A detected incident of one of the stack's checks that it is about.
    pub incident_id: Option<i64>,
}

/// A change to an update: the fields given replace the current ones.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEdit {
    #[schema(value_type = Option<Stage>)]
    pub status: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 5000,
        pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\x00-\\x20\\x7f-\\x9f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    pub message: Option<String>,
    #[schema(max_items = 100, value_type = Option<Vec<crate::domain::CheckName>>)]
    pub checks: Option<Vec<String>>,
}

/// An update as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateView {
    pub id: i64,
    pub stack: String,
    #[schema(value_type = Stage)]
    pub status: &'static str,
    pub message: String,
    pub checks: Vec<String>,
    pub incident_id: Option<i64>,
    pub created_at: String,
    /// When the text was last changed; `null` if never.
    pub edited_at: Option<String>,
    /// When it was deleted; `null` while it shows.
    pub deleted_at: Option<String>,
}

impl From<&StatusUpdate> for UpdateView {
    fn from(u: &StatusUpdate) -> Self {
        Self {
            id: u.id,
            stack: u.stack.to_string(),
            status: u.text.stage.as_str(),
            message: u.text.message.as_str().to_owned(),
            checks: u.text.checks.iter().map(ToString::to_string).collect(),
            incident_id: u.incident_id,
            created_at: u.created_at.to_rfc3339(),
            edited_at: u.edited_at.map(Timestamp::to_rfc3339),
            deleted_at: u.deleted_at.map(Timestamp::to_rfc3339),
        }
    }
}

/// An earlier text of an update.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionView {
    #[schema(value_type = Stage)]
    pub status: &'static str,
    pub message: String,
    pub checks: Vec<String>,
    pub written_at: String,
    pub replaced_at: String,
}

impl From<&UpdateRevision> for RevisionView {
    fn from(r: &UpdateRevision) -> Self {
        Self {
            status: r.text.stage.as_str(),
            message: r.text.message.as_str().to_owned(),
            checks: r.text.checks.iter().map(ToString::to_string).collect(),
            written_at: r.written_at.to_rfc3339(),
            replaced_at: r.replaced_at.to_rfc3339(),
        }
    }
}

/// An update and its earlier texts, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateHistory {
    #[serde(flatten)]
    pub update: UpdateView,
    pub history: Vec<RevisionView>,
}

/// A stack's updates, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateList {
    pub updates: Vec<UpdateView>,
}

/// The answer to a delete.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateDeleted {
    /// Whether an update showed and is now deleted.
    pub changed: bool,
}

fn stack_name(raw: String) -> Result<StackName, ApiError> {
    StackName::try_from(raw).map_err(|e| ApiError::invalid("stack", e.to_string()))
}

fn update_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid("id", "must be an update id (a whole number)"))
}

/// Holds a text's checks to the stack's checks now, and the incident to one of them.
async fn check_against_stack(
    state: &ApiState,
    stack: &StackName,
    text: &mut UpdateText,
    incident_id: Option<i64>,
) -> Result<(), ApiError> {
    let errors = state.store.fit_to_stack(stack, text, incident_id).await?;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(errors))
    }
}

/// Post an update on a stack's status page
///
/// The stack must hold checks. `checks` and `incident_id` must be the stack's.
#[utoipa::path(post, path = "/api/v1/stacks/{stack}/updates", tag = "status pages",
    params(("stack" = String, Path, description = "Stack name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")),
    request_body = UpdateBody,
    responses(
        (status = 201, body = UpdateView),
        (status = 404, description = "No check belongs to this stack", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn post_update(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(stack): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<UpdateView>), ApiError> {
    let stack = stack_name(stack)?;
    let body: UpdateBody = parse_body(&headers, body)?;
    let checks = body.checks.unwrap_or_default();
    let mut text =
        UpdateText::read(&body.status, &body.message, &checks).map_err(ApiError::Invalid)?;
    if state.store.checks_in_stack_count(&stack).await? == 0 {
        return Err(ApiError::NotFound(format!(
            "no check belongs to stack {stack}"
        )));
    }
    check_against_stack(&state, &stack, &mut text, body.incident_id).await?;
    let update = state
        .store
        .add_status_update(&stack, body.incident_id, text, Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(UpdateView::from(&update))))
}

/// List a stack's updates that show, newest first (at most 100)
#[utoipa::path(get, path = "/api/v1/stacks/{stack}/updates", tag = "status pages",
    params(("stack" = String, Path, description = "Stack name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")),
    responses((status = 200, body = UpdateList)),
    security(("bearer" = [])))]
pub async fn list_updates(
    State(state): State<ApiState>,
    _: CanRead,
    Path(stack): Path<String>,
) -> Result<Json<UpdateList>, ApiError> {
    let stack = stack_name(stack)?;
    let updates = state.store.status_updates(&stack, LISTED_UPDATES).await?;
    Ok(Json(UpdateList {
        updates: updates.iter().map(UpdateView::from).collect(),
    }))
}

/// Read one update with its earlier texts (a deleted one too)
#[utoipa::path(get, path = "/api/v1/stacks/{stack}/updates/{id}", tag = "status pages",
    params(
        ("stack" = String, Path, description = "Stack name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$"),
        ("id" = i64, Path, description = "Update id"),
    ),
    responses(
        (status = 200, body = UpdateHistory),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_update(
    State(state): State<ApiState>,
    _: CanRead,
    Path((stack, id)): Path<(String, String)>,
) -> Result<Json<UpdateHistory>, ApiError> {
    let stack = stack_name(stack)?;
    let id = update_id(&id)?;
    let (update, history) = state
        .store
        .status_update(&stack, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no update {id} of stack {stack}")))?;
    Ok(Json(UpdateHistory {
        update: UpdateView::from(&update),
        history: history.iter().map(RevisionView::from).collect(),
    }))
}

/// Change an update: the fields given replace the current ones, which are kept as history
#[utoipa::path(patch, path = "/api/v1/stacks/{stack}/updates/{id}", tag = "status pages",
    params(
        ("stack" = String, Path, description = "Stack name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$"),
        ("id" = i64, Path, description = "Update id"),
    ),
    request_body = UpdateEdit,
    responses(
        (status = 200, body = UpdateView),
        (status = 404, description = "No such update, or it is deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn edit_update(
    State(state): State<ApiState>,
    _: CanWrite,
    Path((stack, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<UpdateView>, ApiError> {
    let stack = stack_name(stack)?;
    let id = update_id(&id)?;
    let body: UpdateEdit = parse_body(&headers, body)?;
    let not_found = || ApiError::NotFound(format!("no update {id} of stack {stack}"));
    let (current, _) = state
        .store
        .status_update(&stack, id)
        .await?
        .filter(|(u, _)| u.deleted_at.is_none())
        .ok_or_else(not_found)?;
    let checks = body.checks.unwrap_or_else(|| {
        current
            .text
            .checks
            .iter()
            .map(ToString::to_string)
            .collect()
    });
    let mut text = UpdateText::read(
        body.status
            .as_deref()
            .unwrap_or(current.text.stage.as_str()),
        body.message
            .as_deref()
            .unwrap_or(current.text.message.as_str()),
        &checks,
    )
    .map_err(ApiError::Invalid)?;
    check_against_stack(&state, &stack, &mut text, None).await?;
    let update = state
        .store
        .edit_status_update(&stack, id, text, Timestamp::now())
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(UpdateView::from(&update)))
}

/// Delete an update: it no longer shows; its texts are kept (idempotent)
#[utoipa::path(delete, path = "/api/v1/stacks/{stack}/updates/{id}", tag = "status pages",
    params(
        ("stack" = String, Path, description = "Stack name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$"),
        ("id" = i64, Path, description = "Update id"),
    ),
    responses((status = 200, body = UpdateDeleted)),
    security(("bearer" = [])))]
pub async fn delete_update(
    State(state): State<ApiState>,
    _: CanWrite,
    Path((stack, id)): Path<(String, String)>,
) -> Result<Json<UpdateDeleted>, ApiError> {
    let stack = stack_name(stack)?;
    let id = update_id(&id)?;
    let changed = state
        .store
        .delete_status_update(&stack, id, Timestamp::now())
        .await?;
    Ok(Json(UpdateDeleted { changed }))
}
