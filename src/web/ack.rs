//! Acknowledging from a page: the check page's button (an admin signed in, or with an
//! admin bearer token), and the signed one-click link of an alert (`/ack/{id}`: its GET
//! shows a form, so a link preview acknowledges nothing; its POST acknowledges), both as
//! `POST /api/v1/incidents/{id}/ack` does.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use axum::extract::Query;
use maud::html;

use super::layout::{html_response, page};
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

/// A signed link's proof.
#[derive(Debug, Deserialize)]
pub struct Signed {
    until: i64,
    sig: String,
}

/// The signed link's form, posted.
#[derive(Debug, Deserialize)]
pub struct SignedAckForm {
    until: i64,
    sig: String,
    by: String,
    note: Option<String>,
}

/// A page of the signed link: a sentence, and the form while it can still be used.
fn link_page(status: StatusCode, text: &str, form: Option<(i64, &Signed)>) -> Response {
    let body = html! {
        h1 { "Acknowledge an outage" }
        div.card {
            p { (text) }
            @if let Some((id, signed)) = form {
                form method="post" action={ "/ack/" (id) } {
                    input type="hidden" name="until" value=(signed.until);
                    input type="hidden" name="sig" value=(signed.sig);
                    label { "Who " input type="text" name="by" required maxlength="100"; }
                    " "
                    label { "Note " input type="text" name="note" maxlength="1000"; }
                    " "
                    button type="submit" { "Acknowledge" }
                }
            }
        }
    };
    let mut response = html_response(page("Acknowledge", false, false, body), "'none'");
    *response.status_mut() = status;
    response
}

/// Whether the link of `id` is genuine and still valid.
fn genuine(state: &WebState, id: &str, signed: &Signed) -> Option<i64> {
    let id: i64 = id.parse().ok()?;
    state
        .ack_key
        .verify(id, Timestamp(signed.until), &signed.sig, Timestamp::now())
        .then_some(id)
}

const VOID: &str = "This link is not valid, or has expired: acknowledge on the check's page.";

pub async fn link_form(
    State(state): State<WebState>,
    Path(id): Path<String>,
    Query(signed): Query<Signed>,
) -> Response {
    match genuine(&state, &id, &signed) {
        Some(id) => link_page(
            StatusCode::OK,
            "Say who takes this outage: its reminders stop and its contacts are told.",
            Some((id, &signed)),
        ),
        None => link_page(StatusCode::FORBIDDEN, VOID, None),
    }
}

pub async fn link_acknowledge(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<SignedAckForm>,
) -> Result<Response, PageError> {
    if let Some(refused) = cross_site(&headers) {
        return Ok(refused);
    }
    let signed = Signed {
        until: form.until,
        sig: form.sig,
    };
    let Some(id) = genuine(&state, &id, &signed) else {
        return Ok(link_page(StatusCode::FORBIDDEN, VOID, None));
    };
    let ack = match Acknowledgement::read(&form.by, form.note.as_deref()) {
        Ok(ack) => ack,
        Err(errors) => {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return Ok(link_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &text.join("; "),
                Some((id, &signed)),
            ));
        }
    };
    let text = match state
        .store
        .acknowledge(id, &ack, Timestamp::now(), &state.routing)
        .await?
    {
        Acked::Now(row) => {
            state.alerts_filed.notify_one();
            format!(
                "Acknowledged the outage of {} as {}.",
                row.check_name,
                ack.by()
            )
        }
        Acked::Already(row) => format!(
            "The outage of {} was acknowledged already by {}.",
            row.check_name,
            row.acked_by.as_deref().unwrap_or("someone")
        ),
        Acked::Resolved(row) => {
            format!("{} has recovered: nothing to acknowledge.", row.check_name)
        }
        Acked::Unknown => VOID.to_owned(),
    };
    Ok(link_page(StatusCode::OK, &text, None))
}
