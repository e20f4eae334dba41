//! Bearer-token authentication: admin tokens read and write, read tokens only read.
//! Tokens are compared in constant time; a token is never logged.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::ApiState;
use super::problem::ApiError;
pub use crate::settings::{Role, Tokens};

fn role_from_parts(parts: &Parts, tokens: &Tokens) -> Result<Role, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized)?;
    let (scheme, token) = header.split_once(' ').ok_or(ApiError::Unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized);
    }
    tokens.role_of(token.trim()).ok_or(ApiError::Unauthorized)
}

/// Extractor: the request carries a valid token of any role.
#[derive(Debug, Clone, Copy)]
pub struct CanRead;

/// Extractor: the request carries an admin token.
#[derive(Debug, Clone, Copy)]
pub struct CanWrite;

impl FromRequestParts<ApiState> for CanRead {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        role_from_parts(parts, &state.tokens).map(|_| CanRead)
    }
}

impl FromRequestParts<ApiState> for CanWrite {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        match role_from_parts(parts, &state.tokens)? {
            Role::Admin => Ok(CanWrite),
            Role::Read => Err(ApiError::Forbidden),
        }
    }
}
