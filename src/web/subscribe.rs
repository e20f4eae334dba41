//! Subscribing to a public status page by email, double opt-in: the page's form writes an
//! unconfirmed subscription and mails its confirmation link (at most one such mail per
//! address every [`CONFIRM_AGAIN_MS`]); the link's page confirms with a button (a link
//! preview confirms nothing); every mail's unsubscribe link deletes the subscription,
//! with a button or RFC 8058's one-click POST. The answer to the form is the same whether
//! the address was subscribed or not, so it tells nobody who is.

use axum::Form;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::layout::{html_response, public_page};
use super::session::cross_site;
use super::status_page::published;
use super::{PageError, WebState};
use crate::domain::{EmailAddress, GuessLimits, StackName, Timestamp};

/// How long before a second confirmation mail may go to one address.
pub const CONFIRM_AGAIN_MS: i64 = 10 * 60_000;

/// Subscription requests (with a well-formed address) one client address may make in an
/// hour, and all together; past them, an hour's wait. Each may mail a stranger.
pub const SUBSCRIBE_LIMITS: GuessLimits = GuessLimits {
    per_client: 5,
    total: 100,
    window_ms: 3_600_000,
    max_wait_ms: 3_600_000,
};

#[derive(Debug, Deserialize)]
pub struct SubscribeForm {
    email: String,
}

/// A page of the subscription flow, with `status`.
fn answer(state: &WebState, stack: &StackName, status: StatusCode, body: maud::Markup) -> Response {
    let home = format!("/status/{stack}");
    let title = format!("{stack} status");
    let mut response = html_response(
        public_page(&title, (&home, &title), None, body),
        &state.frame_ancestors,
    );
    *response.status_mut() = status;
    response
}

/// The stack, if its page is public, has checks and takes subscriptions.
async fn subscribable(state: &WebState, stack: &str) -> Result<Option<StackName>, PageError> {
    let Ok(stack) = stack.parse::<StackName>() else {
        return Ok(None);
    };
    let open = state.subscriptions
        && published(state, &stack).await?
        && state.store.checks_in_stack_count(&stack).await? > 0;
    Ok(open.then_some(stack))
}

fn not_here() -> Response {
    (StatusCode::NOT_FOUND, "no status page here").into_response()
}

/// Counts a subscription request from `ip`; the seconds to wait if it is one too many.
fn too_many(state: &WebState, ip: std::net::IpAddr, now: Timestamp) -> Option<u64> {
    let Ok(mut guard) = state.subscribe_guard.lock() else {
        return Some(60);
    };
    match guard.admit(ip, now.0) {
        Ok(()) => {
            guard.failed(ip, now.0);
            None
        }
        Err(refused) => {
            if refused.log {
                tracing::warn!(client = %ip, refused = refused.refused_since_log, "subscription requests refused: too many");
            }
            Some(refused.retry_after_s)
        }
    }
}

pub async fn subscribe(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(stack): Path<String>,
    Form(form): Form<SubscribeForm>,
) -> Result<Response, PageError> {
    if let Some(refused) = cross_site(&headers) {
        return Ok(refused);
    }
    let Some(stack) = subscribable(&state, &stack).await? else {
        return Ok(not_here());
    };
    let address = match EmailAddress::parse(&form.email) {
        Ok(address) => address,
        Err(reason) => {
            let body = html! {
                h1 { "Subscribe to " (stack) }
                div.card { p.error { "email: " (reason) } p { a href={ "/status/" (stack) } { "Back to the page" } } }
            };
            return Ok(answer(
                &state,
                &stack,
                StatusCode::UNPROCESSABLE_ENTITY,
                body,
            ));
        }
    };
    let now = Timestamp::now();
    if let Some(wait) = too_many(&state, peer.ip(), now) {
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            "too many subscriptions from this address: try again later\n",
        )
            .into_response();
        if let Ok(value) = axum::http::HeaderValue::from_str(&wait.to_string()) {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let subscription = state.store.subscribe(&stack, address.as_str(), now).await?;
    let recently = subscription
        .last_mail_at
        .is_some_and(|at| now.0 - at.0 < CONFIRM_AGAIN_MS);
    if !subscription.confirmed && !recently {
        let link = format!(
            "{}/status/{stack}/confirm/{}",
            state.public_url.trim_end_matches('/'),
            subscription.token
        );
        let body = format!(
            "Someone, probably you, asked to be told of the updates and planned maintenance \
             of the {stack} status page at this address.\n\nConfirm: {link}\n\nIf it was not \
             you, do nothing: without a confirmation no other mail is sent."
        );
        state
            .store
            .queue_mail(
                subscription.id,
                &format!("[{stack}] Confirm your subscription"),
                &body,
                now,
            )
            .await?;
    }
    let body = html! {
        h1 { "Check your inbox" }
        div.card {
            p { "If " strong { (address.as_str()) } " is not subscribed to " (stack) " yet, a mail with a confirmation link is on its way. Nothing is sent before you confirm." }
            p { a href={ "/status/" (stack) } { "Back to the page" } }
        }
    };
    Ok(answer(&state, &stack, StatusCode::OK, body))
}

pub async fn confirm_form(
    State(state): State<WebState>,
    Path((stack, token)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let Some(stack) = subscribable(&state, &stack).await? else {
        return Ok(not_here());
    };
    let body = html! {
        h1 { "Confirm your subscription" }
        div.card {
            p { "Be told of " (stack) "'s updates and planned maintenance by email." }
            form method="post" action={ "/status/" (stack) "/confirm/" (token) } {
                button type="submit" { "Confirm" }
            }
        }
    };
    Ok(answer(&state, &stack, StatusCode::OK, body))
}

pub async fn confirm(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((stack, token)): Path<(String, String)>,
) -> Result<Response, PageError> {
    if let Some(refused) = cross_site(&headers) {
        return Ok(refused);
    }
    let Some(stack) = subscribable(&state, &stack).await? else {
        return Ok(not_here());
    };
    let done = state
        .store
        .confirm_subscriber(&stack, &token, Timestamp::now())
        .await?;
    let (status, text) = if done {
        (
            StatusCode::OK,
            "You are subscribed. Every mail has a link to stop them.",
        )
    } else {
        (
            StatusCode::NOT_FOUND,
            "This link confirms nothing: the subscription was ended, or never made.",
        )
    };
    let body = html! {
        h1 { (stack) " updates by email" }
        div.card { p { (text) } p { a href={ "/status/" (stack) } { "Back to the page" } } }
    };
    Ok(answer(&state, &stack, status, body))
}

pub async fn unsubscribe_form(
    State(state): State<WebState>,
    Path((stack, token)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let Ok(stack) = stack.parse::<StackName>() else {
        return Ok(not_here());
    };
    let body = html! {
        h1 { "Stop the mails of " (stack) }
        div.card {
            form method="post" action={ "/status/" (stack) "/unsubscribe/" (token) } {
                button type="submit" { "Unsubscribe" }
            }
        }
    };
    Ok(answer(&state, &stack, StatusCode::OK, body))
}

/// Unsubscribes: from the page's button, or a mail client's one-click POST (RFC 8058),
/// which comes from no page, so no cross-site rule applies; the token is the proof.
pub async fn unsubscribe(
    State(state): State<WebState>,
    Path((stack, token)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let Ok(stack) = stack.parse::<StackName>() else {
        return Ok(not_here());
    };
    state.store.unsubscribe(&stack, &token).await?;
    let body = html! {
        h1 { "Unsubscribed" }
        div.card { p { "No more mail of " (stack) " goes to this address, and the address is deleted." } }
    };
    Ok(answer(&state, &stack, StatusCode::OK, body))
}
