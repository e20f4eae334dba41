//! `ApiError`: every way a request can fail, answered as `application/problem+json`
//! (RFC 9457) with an `errors` list that names each bad field.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{FieldError, FieldErrors};
use crate::store::StoreError;

/// A request that could not be served, and why.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request is invalid")]
    Invalid(FieldErrors),
    #[error("missing or unknown bearer token")]
    Unauthorized,
    #[error("this token may only read")]
    Forbidden,
    #[error("too many failed tokens from this address: try again in {retry_after_s} s")]
    TooManyRequests { retry_after_s: u64 },
    #[error("{0}")]
    NotFound(String),
    #[error("this route does not take that method")]
    MethodNotAllowed,
    #[error("the request conflicts with stored data")]
    Conflict(FieldErrors),
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request body must be JSON: send Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl ApiError {
    /// A 422 for one field.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, reason)])
    }
}

/// The problem+json document (RFC 9457) sent with every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// Each rejected field and why; empty unless the problem is about fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// One rejected field in a problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// Path of the field, e.g. `check_rate` or `checks[2].url`.
    pub field: String,
    /// Why it was rejected.
    pub reason: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title) = match &self {
            Self::MalformedJson(_) => (
                StatusCode::BAD_REQUEST,
                "/problems/malformed-json",
                "Malformed JSON",
            ),
            Self::Invalid(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/invalid-fields",
                "Invalid fields",
            ),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "/problems/unauthorized",
                "Unauthorized",
            ),
            Self::Forbidden => (StatusCode::FORBIDDEN, "/problems/forbidden", "Forbidden"),
            Self::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "/problems/too-many-requests",
                "Too many requests",
            ),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "/problems/not-found", "Not found"),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "/problems/method-not-allowed",
                "Method not allowed",
            ),
            Self::Conflict(_) => (StatusCode::CONFLICT, "/problems/conflict", "Conflict"),
            Self::PayloadTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "/problems/too-large",
                "Payload too large",
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "/problems/unsupported-media-type",
                "Unsupported media type",
            ),
            Self::Store(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "/problems/internal",
                "Internal error",
            ),
        };
        if let Self::Store(e) = &self {
            // Logged here, where it is handled; the client sees no internals.
            tracing::error!(error = %e, source = ?std::error::Error::source(e), "request failed");
        }
        let fields = match &self {
            Self::Invalid(errors) | Self::Conflict(errors) => errors.as_slice(),
            _ => &[],
        };
        let detail = match fields {
            [] => self.to_string(),
            [one] => one.to_string(),
            many => format!("{} fields are invalid", many.len()),
        };
        let problem = Problem {
            kind,
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            errors: fields
                .iter()
                .map(|e| ProblemField {
                    field: e.field.clone(),
                    reason: e.reason.clone(),
                })
                .collect(),
        };
        let mut response = (status, Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Self::TooManyRequests { retry_after_s } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
        }
        if matches!(self, Self::Unauthorized) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
