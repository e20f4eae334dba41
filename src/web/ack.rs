//! The check page's acknowledge button: an admin signed in (or with an admin bearer token)
//! takes an open incident, as `POST /api/v1/incidents/{id}/ack` does.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::{Viewer, cross_site, sign_in_first, viewer};
use super::{PageError, WebState};
use crate::domain::{Acknowledgement, CheckName, Timestamp};
use crate::settings::Role;
use crate::store::Acked;

#[derive(Debug, Deserialize)]
pub struct AckForm {
    by: String,
    note: Option<String>,
}

pub async fn acknowledge(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    Path((name, id)): Path<(String, String)>,
    Form(form): Form<AckForm>,
) -> Result<Response, PageError> {
    if let Some(refused) = cross_site(&headers) {
        return Ok(refused);
    }
    match viewer(&state, &headers, peer.ip()) {
        None => return Ok(sign_in_first(&uri.to_string())),
        Some(Viewer::Known {
            role: Role::Admin, ..
        }) => {}
        Some(_) => {
            return Ok((StatusCode::FORBIDDEN, "only an admin may acknowledge\n").into_response());
        }
    }
    let (Ok(name), Ok(id)) = (name.parse::<CheckName>(), id.parse::<i64>()) else {
        return Ok((StatusCode::NOT_FOUND, "no such incident\n").into_response());
    };
    let ack = match Acknowledgement::read(&form.by, form.note.as_deref()) {
        Ok(ack) => ack,
        Err(errors) => {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, text.join("\n")).into_response());
        }
    };
    let acked = state
        .store
        .acknowledge(id, &ack, Timestamp::now(), &state.routing)
        .await?;
    match acked {
        Acked::Now(_) => state.alerts_filed.notify_one(),
        Acked::Already(_) | Acked::Resolved(_) => {}
        Acked::Unknown => {
            return Ok((StatusCode::NOT_FOUND, "no such incident\n").into_response());
        }
    }
    Ok(Redirect::to(&format!("/checks/{name}")).into_response())
}
