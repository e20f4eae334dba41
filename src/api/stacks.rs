//! `/api/v1/stacks`: declare the complete set of one stack's checks, read it, delete it.

use std::collections::HashSet;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::ToSchema;

use super::ApiState;
use super::auth::{CanRead, CanWrite};
use super::check_body::{CheckObject, Place, read_check};
use super::check_schema::StackCheckBody;
use super::checks::{WriteQuery, write_mode};
use super::json::parse_body;
use super::problem::{ApiError, Problem};
use super::view::{Deleted, StackChange, StackView};
use crate::domain::{FieldError, StackName};
use crate::store::{CheckFilter, PageStart, StoreError};

/// Most checks one stack may declare.
const MAX_STACK_CHECKS: usize = 1_000;

/// The body of `PUT /stacks/{stack}`: every check the stack must hold.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StackBody {
    /// The checks, each with its `name`; checks of the stack not listed are deleted.
    #[schema(value_type = Vec<StackCheckBody>)]
    pub checks: Vec<CheckObject>,
    /// Publish (true) or withdraw (false) the stack's public status page at
    /// `/status/{stack}`; left out keeps the current setting (not published at first).
    pub status_page: Option<bool>,
}

fn stack_name(raw: String) -> Result<StackName, ApiError> {
    StackName::try_from(raw).map_err(|e| ApiError::invalid("stack", e.to_string()))
}

/// Make a stack hold exactly the given checks
///
/// Creates, updates and deletes in one transaction; on any invalid check nothing is
/// written. A check that belongs to another stack is refused with 409.
#[utoipa::path(put, path = "/api/v1/stacks/{stack}", tag = "stacks",
    params(("stack" = String, Path, description = "Stack name, `[a-z0-9][a-z0-9._-]{0,127}`", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$"), WriteQuery),
    request_body = StackBody,
    responses(
        (status = 200, body = StackChange),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A check belongs to another stack", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put_stack(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(stack): Path<String>,
    query: Result<Query<WriteQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<StackChange>, ApiError> {
    let stack = stack_name(stack)?;
    let mode = write_mode(query)?;
    let body: StackBody = parse_body(&headers, body)?;
    if body.checks.len() > MAX_STACK_CHECKS {
        return Err(ApiError::invalid(
            "checks",
            format!("at most {MAX_STACK_CHECKS} checks per stack"),
        ));
    }
    let body_status_page = body.status_page;
    let mut errors = Vec::new();
    let mut desired = Vec::with_capacity(body.checks.len());
    let mut seen = HashSet::new();
    let rdap = state.rdap_for(&body.checks).await;
    for (i, check) in body.checks.into_iter().enumerate() {
        let prefix = format!("checks[{i}]");
        if let Some(name) = check.get("name").and_then(serde_json::Value::as_str)
            && !seen.insert(name.to_owned())
        {
            errors.push(FieldError::new(format!("{prefix}.name"), "is listed twice"));
        }
        match read_check(check, Place::InStack(&stack), Some(state.registry(&rdap))) {
            Ok((Some(name), write)) => desired.push((name, write)),
            Ok((None, _)) => errors.push(FieldError::new(format!("{prefix}.name"), "is required")),
            Err(found) => errors.extend(found.into_iter().map(|e| e.under(&prefix))),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    match state
        .store
        .sync_stack(&stack, desired, body_status_page, mode)
        .await
    {
        Ok(sync) if mode.dry_run => Ok(Json(sync.into())),
        Ok(sync) => {
            let touched = sync
                .created
                .iter()
                .chain(&sync.updated)
                .chain(&sync.deleted)
                .cloned()
                .collect();
            state.monitor.checks_changed(touched);
            Ok(Json(sync.into()))
        }
        Err(StoreError::OwnedByOtherStack { index, name, owner }) => {
            Err(ApiError::Conflict(vec![FieldError::new(
                format!("checks[{index}].name"),
                format!("check {name} belongs to stack {owner}; delete it there first"),
            )]))
        }
        Err(StoreError::Dependency {
            index,
            name: _,
            reason,
        }) => Err(ApiError::Invalid(vec![FieldError::new(
            format!("checks[{index}].depends_on"),
            reason,
        )])),
        Err(e) => Err(e.into()),
    }
}

/// Read a stack's checks
#[utoipa::path(get, path = "/api/v1/stacks/{stack}", tag = "stacks",
    params(("stack" = String, Path, description = "Stack name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")),
    responses(
        (status = 200, body = StackView),
        (status = 404, description = "No check belongs to this stack", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_stack(
    State(state): State<ApiState>,
    reader: CanRead,
    Path(stack): Path<String>,
) -> Result<Json<StackView>, ApiError> {
    let stack = stack_name(stack)?;
    let filter = CheckFilter {
        stack: Some(stack.clone()),
        ..CheckFilter::default()
    };
    let checks = state
        .store
        .live_checks(&filter, PageStart::After(None), u32::MAX)
        .await?;
    if checks.is_empty() {
        return Err(ApiError::NotFound(format!(
            "no check belongs to stack {stack}"
        )));
    }
    Ok(Json(StackView {
        stack: stack.to_string(),
        checks: super::live::live_views(&state, checks, reader.viewer()).await?,
    }))
}

/// Delete every check of a stack (idempotent)
#[utoipa::path(delete, path = "/api/v1/stacks/{stack}", tag = "stacks",
    params(("stack" = String, Path, description = "Stack name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")),
    responses((status = 200, body = Deleted)),
    security(("bearer" = [])))]
pub async fn delete_stack(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(stack): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    let stack = stack_name(stack)?;
    let deleted = state.store.delete_stack(&stack).await?;
    state.monitor.checks_changed(deleted.clone());
    Ok(Json(Deleted {
        changed: !deleted.is_empty(),
        deleted: deleted.into_iter().map(String::from).collect(),
    }))
}
