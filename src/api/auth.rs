//! Bearer-token authentication: admin tokens read and write, read tokens only read.
//! Tokens are compared in constant time; a token is never logged.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::ApiState;
use super::problem::ApiError;
use crate::settings::Refusal;
pub use crate::settings::{Role, Tokens};

/// The address a request came from (every connection the server accepts carries it).
pub fn client_of(extensions: &axum::http::Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

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
    tokens
        .verify(client_of(&parts.extensions), token.trim())
        .map_err(|refusal| match refusal {
            Refusal::Unknown => ApiError::Unauthorized,
            Refusal::Wait { retry_after_s } => ApiError::TooManyRequests { retry_after_s },
        })
}

/// Extractor: the request carries a valid token of any role, which it holds.
#[derive(Debug, Clone, Copy)]
pub struct CanRead(pub Role);

impl CanRead {
    /// What the caller may see of a check's secrets.
    pub fn viewer(self) -> crate::domain::Viewer {
        self.0.viewer()
    }
}

/// Extractor: the request carries an admin token.
#[derive(Debug, Clone, Copy)]
pub struct CanWrite;

impl FromRequestParts<ApiState> for CanRead {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        match role_from_parts(parts, &state.tokens)? {
            Role::Agent => Err(ApiError::Forbidden),
            role => Ok(CanRead(role)),
        }
    }
}

impl FromRequestParts<ApiState> for CanWrite {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        match role_from_parts(parts, &state.tokens)? {
            Role::Admin => Ok(CanWrite),
            Role::Read | Role::Agent => Err(ApiError::Forbidden),
        }
    }
}
