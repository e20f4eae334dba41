//! A stack's page at `/stacks/{stack}`: the updates its status page shows, and for an admin
//! the forms that post, edit and delete them (the check page posts one too), as
//! `/api/v1/stacks/{stack}/updates` does.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{html_response, page};
use super::session::{Viewer, cross_site, sign_in_first, viewer};
use super::status_page::{published, update_list};
use super::{PageError, WebState};
use crate::domain::{CheckName, FieldErrors, StackName, Timestamp, UpdateStage, UpdateText};
use crate::settings::Role;

/// Updates the stack page lists.
const LISTED: u32 = 50;

/// The form of a new update or an edit.
#[derive(Debug, Deserialize)]
pub struct UpdateForm {
    status: String,
    message: String,
    /// Check names separated by commas or spaces.
    #[serde(default)]
    checks: String,
    /// A detected incident it is about (new updates only).
    incident_id: Option<String>,
    /// The check page it was posted from, to return to.
    from_check: Option<String>,
}

/// The form that posts an update: to `action`, with `checks` filled in.
pub fn update_form(
    action: &str,
    checks: &str,
    incident_id: Option<i64>,
    from_check: Option<&str>,
) -> Markup {
    html! {
        form.update-form method="post" action=(action) {
            label { "Status "
                select name="status" {
                    @for stage in UpdateStage::ALL { option value=(stage.as_str()) { (stage.title()) } }
                }
            }
            label { "Checks " input type="text" name="checks" value=(checks) maxlength="3000"; }
            label.wide { "Message (plain text; **bold**, *italic*, `code`, [links](https://…), - lists)"
                textarea name="message" rows="3" required maxlength="5000" {}
            }
            @if let Some(id) = incident_id { input type="hidden" name="incident_id" value=(id); }
            @if let Some(check) = from_check { input type="hidden" name="from_check" value=(check); }
            button type="submit" { "Post update" }
        }
    }
}

/// The answer to a request that may not change updates; `None` for an admin's.
fn not_admin(
    state: &WebState,
    headers: &HeaderMap,
    peer: SocketAddr,
    uri: &Uri,
) -> Option<Response> {
    if let Some(refused) = cross_site(headers) {
        return Some(refused);
    }
    match viewer(state, headers, peer.ip()) {
        None => Some(sign_in_first(&uri.to_string())),
        Some(Viewer::Known {
            role: Role::Admin, ..
        }) => None,
        Some(_) => {
            Some((StatusCode::FORBIDDEN, "only an admin may post updates\n").into_response())
        }
    }
}

fn refused(errors: &FieldErrors) -> Response {
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    (StatusCode::UNPROCESSABLE_ENTITY, text.join("\n")).into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such stack or update\n").into_response()
}

/// The form's text, held to the stack's checks (and incident).
async fn read_form(
    state: &WebState,
    stack: &StackName,
    form: &UpdateForm,
    incident_id: Option<i64>,
) -> Result<Result<UpdateText, FieldErrors>, PageError> {
    let names: Vec<String> = form
        .checks
        .split([',', ' '])
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    let mut text = match UpdateText::read(&form.status, &form.message, &names) {
        Ok(text) => text,
        Err(errors) => return Ok(Err(errors)),
    };
    let errors = state
        .store
        .fit_to_stack(stack, &mut text, incident_id)
        .await?;
    Ok(if errors.is_empty() {
        Ok(text)
    } else {
        Err(errors)
    })
}

pub async fn stack_page(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    Path(stack): Path<String>,
) -> Result<Response, PageError> {
    let Some(who) = viewer(&state, &headers, peer.ip()) else {
        return Ok(sign_in_first(&uri.to_string()));
    };
    let Ok(stack) = stack.parse::<StackName>() else {
        return Ok(not_found());
    };
    if state.store.checks_in_stack_count(&stack).await? == 0 {
        return Ok(not_found());
    }
    let admin = matches!(
        who,
        Viewer::Known {
            role: Role::Admin,
            ..
        }
    );
    let updates = state.store.status_updates(&stack, LISTED).await?;
    let public = published(&state, &stack).await?;
    let action = format!("/stacks/{stack}/updates");
    let body = html! {
        h1 { "Stack " (stack) }
        p {
            a href={ "/?stack=" (stack) } { "Its checks" }
            @if public { " · " a href={ "/status/" (stack) } { "Its status page" } }
            @else { span.muted { " · its status page is not published" } }
        }
        @if admin {
            h2 { "Post an update" }
            div.card { (update_form(&action, "", None, None)) }
        }
        h2 { "Updates" }
        @if updates.is_empty() { p.muted { "No update yet." } }
        (update_list(&updates))
        @if admin {
            @for u in &updates {
                details.card {
                    summary { "Edit or delete the " (u.text.stage.as_str()) " update #" (u.id) }
                    form.update-form method="post" action={ (action) "/" (u.id) } {
                        label { "Status "
                            select name="status" {
                                @for stage in UpdateStage::ALL {
                                    option value=(stage.as_str()) selected[stage == u.text.stage] { (stage.title()) }
                                }
                            }
                        }
                        label { "Checks " input type="text" name="checks" maxlength="3000"
                            value=(u.text.checks.iter().map(CheckName::as_str).collect::<Vec<_>>().join(", ")); }
                        label.wide { "Message" textarea name="message" rows="3" required maxlength="5000" { (u.text.message.as_str()) } }
                        button type="submit" { "Save" }
                    }
                    form method="post" action={ (action) "/" (u.id) "/delete" } {
                        button type="submit" { "Delete" }
                    }
                }
            }
        }
    };
    Ok(html_response(
        page(&format!("Stack {stack}"), who.signed_in(), false, body),
        "'none'",
    ))
}

pub async fn post_update(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    Path(stack): Path<String>,
    Form(form): Form<UpdateForm>,
) -> Result<Response, PageError> {
    if let Some(answer) = not_admin(&state, &headers, peer, &uri) {
        return Ok(answer);
    }
    let Ok(stack) = stack.parse::<StackName>() else {
        return Ok(not_found());
    };
    if state.store.checks_in_stack_count(&stack).await? == 0 {
        return Ok(not_found());
    }
    let incident_id = match form.incident_id.as_deref().filter(|i| !i.is_empty()) {
        None => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                return Ok(refused(&vec![crate::domain::FieldError::new(
                    "incident_id",
                    "must be an incident id (a whole number)",
                )]));
            }
        },
    };
    let text = match read_form(&state, &stack, &form, incident_id).await? {
        Ok(text) => text,
        Err(errors) => return Ok(refused(&errors)),
    };
    state
        .store
        .add_status_update(&stack, incident_id, text, Timestamp::now())
        .await?;
    let back = form
        .from_check
        .as_deref()
        .and_then(|c| c.parse::<CheckName>().ok())
        .map_or_else(|| format!("/stacks/{stack}"), |c| format!("/checks/{c}"));
    Ok(Redirect::to(&back).into_response())
}

pub async fn edit_update(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    Path((stack, id)): Path<(String, String)>,
    Form(form): Form<UpdateForm>,
) -> Result<Response, PageError> {
    if let Some(answer) = not_admin(&state, &headers, peer, &uri) {
        return Ok(answer);
    }
    let (Ok(stack), Ok(id)) = (stack.parse::<StackName>(), id.parse::<i64>()) else {
        return Ok(not_found());
    };
    let text = match read_form(&state, &stack, &form, None).await? {
        Ok(text) => text,
        Err(errors) => return Ok(refused(&errors)),
    };
    match state
        .store
        .edit_status_update(&stack, id, text, Timestamp::now())
        .await?
    {
        Some(_) => Ok(Redirect::to(&format!("/stacks/{stack}")).into_response()),
        None => Ok(not_found()),
    }
}

pub async fn delete_update(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    Path((stack, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    if let Some(answer) = not_admin(&state, &headers, peer, &uri) {
        return Ok(answer);
    }
    let (Ok(stack), Ok(id)) = (stack.parse::<StackName>(), id.parse::<i64>()) else {
        return Ok(not_found());
    };
    state
        .store
        .delete_status_update(&stack, id, Timestamp::now())
        .await?;
    Ok(Redirect::to(&format!("/stacks/{stack}")).into_response())
}
