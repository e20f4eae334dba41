//! `/api/v1/stacks/{stack}/subscribers`: webhooks the team adds to a stack, told of each
//! new status update and announced maintenance window as JSON (the page's visitors
//! subscribe by email on the page itself). A webhook URL is a secret: a read token sees
//! only its scheme and host.

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
use crate::domain::{REDACTED, StackName, Timestamp, Viewer};
use crate::store::WebhookSubscriber;

/// Longest webhook URL, in bytes.
const MAX_URL_BYTES: usize = 2_048;

/// A webhook to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// The http or https URL each update and announced window is POSTed to as JSON
    /// (`{"stack", "title", "text", "page"}`), at most 2,048 bytes.
    #[schema(
        max_length = 2048,
        pattern = "^https?://[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:[0-9]{1,5})?(/[^\\s]*)?$"
    )]
    pub url: String,
}

/// A webhook subscriber.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    /// In full for an admin token; `scheme://host/<redacted>` for a read token.
    pub url: String,
    pub created_at: String,
}

impl WebhookView {
    fn new(webhook: &WebhookSubscriber, viewer: Viewer) -> Self {
        Self {
            id: webhook.id,
            url: shown_url(&webhook.url, viewer),
            created_at: Timestamp(webhook.created_at).to_rfc3339(),
        }
    }
}

/// The answer to an add.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAdded {
    /// Whether it was new (false: the stack had it already).
    pub changed: bool,
    pub webhook: WebhookView,
}

/// A stack's webhooks, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

/// The answer to a delete.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeleted {
    pub changed: bool,
}

/// A webhook URL as `viewer` may see it.
fn shown_url(url: &str, viewer: Viewer) -> String {
    match viewer {
        Viewer::Admin => url.to_owned(),
        Viewer::Other => url::Url::parse(url).map_or_else(
            |_| REDACTED.to_owned(),
            |u| {
                let host = u.host_str().unwrap_or_default();
                match u.port() {
                    Some(port) => format!("{}://{host}:{port}/{REDACTED}", u.scheme()),
                    None => format!("{}://{host}/{REDACTED}", u.scheme()),
                }
            },
        ),
    }
}

fn stack_name(raw: String) -> Result<StackName, ApiError> {
    StackName::try_from(raw).map_err(|e| ApiError::invalid("stack", e.to_string()))
}

/// Add a webhook told of a stack's updates and announced windows (idempotent)
#[utoipa::path(post, path = "/api/v1/stacks/{stack}/subscribers", tag = "status pages",
    params(("stack" = String, Path, description = "Stack name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")),
    request_body = WebhookBody,
    responses(
        (status = 201, body = WebhookAdded, description = "Added"),
        (status = 200, body = WebhookAdded, description = "The stack had it already"),
        (status = 404, description = "No check belongs to this stack", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn add_webhook(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(stack): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<WebhookAdded>), ApiError> {
    let stack = stack_name(stack)?;
    let body: WebhookBody = parse_body(&headers, body)?;
    let url = body.url.trim();
    if url.len() > MAX_URL_BYTES
        || url.contains(char::is_whitespace)
        || !crate::notify::is_http_url(url)
    {
        return Err(ApiError::invalid(
            "url",
            format!("must be an http or https URL of at most {MAX_URL_BYTES} bytes"),
        ));
    }
    if state.store.checks_in_stack_count(&stack).await? == 0 {
        return Err(ApiError::NotFound(format!(
            "no check belongs to stack {stack}"
        )));
    }
    let (webhook, made) = state
        .store
        .add_webhook(&stack, url, Timestamp::now())
        .await?;
    let status = if made {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(WebhookAdded {
            changed: made,
            webhook: WebhookView::new(&webhook, Viewer::Admin),
        }),
    ))
}

/// List a stack's webhooks
#[utoipa::path(get, path = "/api/v1/stacks/{stack}/subscribers", tag = "status pages",
    params(("stack" = String, Path, description = "Stack name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")),
    responses((status = 200, body = WebhookList)),
    security(("bearer" = [])))]
pub async fn list_webhooks(
    State(state): State<ApiState>,
    reader: CanRead,
    Path(stack): Path<String>,
) -> Result<Json<WebhookList>, ApiError> {
    let stack = stack_name(stack)?;
    let webhooks = state.store.webhooks(&stack).await?;
    Ok(Json(WebhookList {
        webhooks: webhooks
            .iter()
            .map(|w| WebhookView::new(w, reader.viewer()))
            .collect(),
    }))
}

/// Remove a webhook (idempotent)
#[utoipa::path(delete, path = "/api/v1/stacks/{stack}/subscribers/{id}", tag = "status pages",
    params(
        ("stack" = String, Path, description = "Stack name", pattern = "^[a-z0-9][a-z0-9._-]{0,127}$"),
        ("id" = i64, Path, description = "Webhook id"),
    ),
    responses((status = 200, body = WebhookDeleted)),
    security(("bearer" = [])))]
pub async fn delete_webhook(
    State(state): State<ApiState>,
    _: CanWrite,
    Path((stack, id)): Path<(String, String)>,
) -> Result<Json<WebhookDeleted>, ApiError> {
    let stack = stack_name(stack)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::invalid("id", "must be a webhook id (a whole number)"))?;
    let changed = state.store.delete_webhook(&stack, id).await?;
    Ok(Json(WebhookDeleted { changed }))
}
