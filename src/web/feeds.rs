//! A status page's feeds, for a reader or a chat integration: `/status/{stack}/feed.atom`
//! (RFC 4287) and `/status/{stack}/feed.json` (JSON Feed 1.1), public where the page is.
//! Entries are the team's updates, newest first, and the public maintenance windows the
//! page announces; probe results and flaps are not in them.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::announce::{Announced, announced};
use super::markdown;
use super::status_page::public_checks;
use super::{PageError, WebState};
use crate::domain::{Check, StackName, Timestamp};
use crate::store::StatusUpdate;

/// Most updates a feed carries.
const FEED_UPDATES: u32 = 50;

/// One entry of either feed.
struct Item {
    id: String,
    title: String,
    html: String,
    text: String,
    published: Timestamp,
    updated: Timestamp,
}

fn update_item(stack: &StackName, u: &StatusUpdate) -> Item {
    let checks: Vec<&str> = u.text.checks.iter().map(|c| c.as_str()).collect();
    let title = if checks.is_empty() {
        u.text.stage.title().to_owned()
    } else {
        format!("{}: {}", u.text.stage.title(), checks.join(", "))
    };
    Item {
        id: format!("urn:stackwatch:{stack}:update:{}", u.id),
        title,
        html: markdown::render(u.text.message.as_str()).into_string(),
        text: u.text.message.as_str().to_owned(),
        published: u.created_at,
        updated: u.edited_at.unwrap_or(u.created_at),
    }
}

fn window_item(stack: &StackName, a: &Announced) -> Item {
    let state = if a.active { "In progress" } else { "Scheduled" };
    let text = match &a.reason {
        Some(reason) => format!("{state}: {} · {reason}", a.when),
        None => format!("{state}: {}", a.when),
    };
    Item {
        id: format!(
            "urn:stackwatch:{stack}:maintenance:{}:{}",
            a.window_id, a.starts_at.0
        ),
        title: format!("Maintenance {}", a.when),
        html: html! { p { (text) } }.into_string(),
        text,
        published: a.created_at,
        updated: a.created_at,
    }
}

/// The stack, its page's URL and its items, newest first, if its page is public and has
/// checks.
async fn feed(
    state: &WebState,
    headers: &HeaderMap,
    stack: &str,
) -> Result<Option<(StackName, String, Vec<Item>)>, PageError> {
    let Ok(stack) = stack.parse::<StackName>() else {
        return Ok(None);
    };
    let now = Timestamp::now();
    let Some(rows) = public_checks(state, &stack, now).await? else {
        return Ok(None);
    };
    let checks: Vec<Check> = rows.into_iter().map(|(c, ..)| c).collect();
    let windows = state.store.maintenance_windows().await?;
    let mut items: Vec<Item> = announced(&windows, &checks, now)
        .iter()
        .map(|a| window_item(&stack, a))
        .collect();
    let updates = state.store.status_updates(&stack, FEED_UPDATES).await?;
    items.extend(updates.iter().map(|u| update_item(&stack, u)));
    items.sort_by_key(|i| std::cmp::Reverse(i.updated));
    let page = format!("{}/status/{stack}", base_url(state, headers));
    Ok(Some((stack, page, items)))
}

/// Where the feeds' links point: `alerting.public_url`, else the host the request named.
fn base_url(state: &WebState, headers: &HeaderMap) -> String {
    if !state.public_url.is_empty() {
        return state.public_url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn feed_response(content_type: &'static str, body: String) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no status page here").into_response()
}

/// Text escaped for XML (the same five characters HTML escapes).
fn xml(text: &str) -> String {
    html! { (text) }.into_string()
}

pub async fn atom(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(stack): Path<String>,
) -> Result<Response, PageError> {
    let Some((stack, page, items)) = feed(&state, &headers, &stack).await? else {
        return Ok(not_found());
    };
    let updated = items
        .first()
        .map_or_else(|| Timestamp(0).to_rfc3339(), |i| i.updated.to_rfc3339());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str(&format!(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  <id>urn:stackwatch:{stack}:status</id>\n  \
         <title>{} status</title>\n  <updated>{updated}</updated>\n  \
         <author><name>{} status</name></author>\n  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n  \
         <link rel=\"self\" type=\"application/atom+xml\" href=\"{}/feed.atom\"/>\n",
        xml(stack.as_str()),
        xml(stack.as_str()),
        xml(&page),
        xml(&page),
    ));
    for item in &items {
        out.push_str(&format!(
            "  <entry>\n    <id>{}</id>\n    <title>{}</title>\n    <published>{}</published>\n    \
             <updated>{}</updated>\n    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n    \
             <content type=\"html\">{}</content>\n  </entry>\n",
            xml(&item.id),
            xml(&item.title),
            item.published.to_rfc3339(),
            item.updated.to_rfc3339(),
            xml(&page),
            xml(&item.html),
        ));
    }
    out.push_str("</feed>\n");
    Ok(feed_response("application/atom+xml; charset=utf-8", out))
}

pub async fn json_feed(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(stack): Path<String>,
) -> Result<Response, PageError> {
    let Some((stack, page, items)) = feed(&state, &headers, &stack).await? else {
        return Ok(not_found());
    };
    let items: Vec<serde_json::Value> = items
        .iter()
        .map(|i| {
            serde_json::json!({
                "id": i.id,
                "url": page,
                "title": i.title,
                "content_html": i.html,
                "content_text": i.text,
                "date_published": i.published.to_rfc3339(),
                "date_modified": i.updated.to_rfc3339(),
            })
        })
        .collect();
    let feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": format!("{stack} status"),
        "home_page_url": page,
        "feed_url": format!("{page}/feed.json"),
        "items": items,
    });
    Ok(feed_response("application/feed+json", feed.to_string()))
}
