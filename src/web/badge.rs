//! Badges for READMEs and wikis: `/status/{stack}/badge.svg` and `/checks/{name}/badge.svg`
//! show a stack's or a check's state, or with `?uptime=24h|30d|90d` its uptime then, as a
//! small SVG. Public where the stack's status page is (and saying no more than it does); a
//! check outside a public page only to a signed-in viewer. Cached for a minute.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::layout::Shown;
use super::session::viewer;
use super::status_page::{overall, public_checks, published};
use super::{PageError, WebState};
use crate::domain::{CheckId, CheckName, StackName, Timestamp};
use crate::store::Tally;

/// How long a badge may be kept by a browser or a proxy, in seconds.
const MAX_AGE_S: u32 = 60;

/// `?uptime=24h|30d|90d`: the uptime over that window instead of the state.
#[derive(Debug, Deserialize)]
pub struct BadgeQuery {
    uptime: Option<String>,
}

/// An uptime window a badge may show.
#[derive(Debug, Clone, Copy)]
enum Window {
    Day,
    Days(i64),
}

impl Window {
    fn parse(text: &str) -> Option<(Self, &'static str)> {
        match text {
            "24h" => Some((Self::Day, "24h")),
            "30d" => Some((Self::Days(30), "30d")),
            "90d" => Some((Self::Days(90), "90d")),
            _ => None,
        }
    }
}

/// What a badge says: the label, the message and its colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    pub label: String,
    pub message: String,
    pub colour: &'static str,
}

pub async fn stack_badge(
    State(state): State<WebState>,
    Path(stack): Path<String>,
    Query(query): Query<BadgeQuery>,
) -> Result<Response, PageError> {
    let Ok(window) = read_window(&query) else {
        return Ok((StatusCode::BAD_REQUEST, BAD_WINDOW).into_response());
    };
    let Ok(stack) = stack.parse::<StackName>() else {
        return Ok(not_found());
    };
    let now = Timestamp::now();
    let Some(rows) = public_checks(&state, &stack, now).await? else {
        return Ok(not_found());
    };
    let badge = match window {
        Some((window, words)) => {
            let ids: Vec<CheckId> = rows.iter().map(|(c, ..)| c.id).collect();
            let tally = uptime(&state, &ids, window, now).await?;
            uptime_badge(stack.as_str(), words, tally)
        }
        None => {
            let (words, worst) = overall(&rows.iter().map(|r| r.2).collect::<Vec<_>>());
            Badge {
                label: stack.to_string(),
                message: words.to_lowercase(),
                colour: colour(worst),
            }
        }
    };
    Ok(svg_response(&badge, true))
}

pub async fn check_badge(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(query): Query<BadgeQuery>,
) -> Result<Response, PageError> {
    let Ok(window) = read_window(&query) else {
        return Ok((StatusCode::BAD_REQUEST, BAD_WINDOW).into_response());
    };
    let Ok(name) = name.parse::<CheckName>() else {
        return Ok(not_found());
    };
    let Some(check) = state.store.get_check(&name).await? else {
        return Ok(not_found());
    };
    let public = match check.spec.stack() {
        Some(stack) => published(&state, stack).await?,
        None => false,
    };
    // Outside a public page a badge is as private as the check's page: a stranger learns
    // nothing, not even that the check exists.
    if !public && viewer(&state, &headers, peer.ip()).is_none() {
        return Ok(not_found());
    }
    let now = Timestamp::now();
    let badge = match window {
        Some((window, words)) => {
            let tally = uptime(&state, &[check.id], window, now).await?;
            uptime_badge(name.as_str(), words, tally)
        }
        None => {
            let windows = state.store.maintenance_windows().await?;
            let live = state.store.live_check(check).await?;
            let shown = live.shown(&windows, now);
            Badge {
                label: name.to_string(),
                message: shown.word().to_owned(),
                colour: colour(shown),
            }
        }
    };
    Ok(svg_response(&badge, public))
}

/// Why `?uptime=` is refused (a 400).
const BAD_WINDOW: &str = "uptime: must be 24h, 30d or 90d";

/// The window `?uptime=` asks for (`None`: the state), or `Err` when it names none.
fn read_window(query: &BadgeQuery) -> Result<Option<(Window, &'static str)>, ()> {
    match &query.uptime {
        None => Ok(None),
        Some(text) => Window::parse(text).map(Some).ok_or(()),
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no badge here").into_response()
}

/// The probes and up probes of these checks over `window`.
async fn uptime(
    state: &WebState,
    ids: &[CheckId],
    window: Window,
    now: Timestamp,
) -> Result<Tally, PageError> {
    let mut total = Tally::default();
    match window {
        Window::Day => {
            for tally in state.store.day_tallies(ids, now).await?.into_values() {
                total.probes += tally.probes;
                total.up += tally.up;
            }
        }
        Window::Days(days) => {
            for day in state
                .store
                .daily_uptimes(ids, days, now)
                .await?
                .values()
                .flatten()
            {
                total.probes += day.tally.probes;
                total.up += day.tally.up;
            }
        }
    }
    Ok(total)
}

/// "acme uptime 30d: 99.95%", coloured by how good it is.
fn uptime_badge(name: &str, window: &str, tally: Tally) -> Badge {
    let (message, colour) = match tally.percent() {
        None => ("no data".to_owned(), GREY),
        Some(p) => {
            let colour = if p >= 99.9 {
                GREEN
            } else if p >= 99.0 {
                "#97ca00"
            } else if p >= 95.0 {
                YELLOW
            } else {
                RED
            };
            (format!("{p:.2}%"), colour)
        }
    };
    Badge {
        label: format!("{name} uptime {window}"),
        message,
        colour,
    }
}

const GREEN: &str = "#44cc11";
const RED: &str = "#e05d44";
const YELLOW: &str = "#dfb317";
const BLUE: &str = "#007ec6";
const GREY: &str = "#9f9f9f";

/// A shown state's colour on a badge.
fn colour(shown: Shown) -> &'static str {
    match shown {
        Shown::Up => GREEN,
        Shown::Down => RED,
        Shown::Degraded => YELLOW,
        Shown::Maintenance => BLUE,
        Shown::Unknown | Shown::New | Shown::Paused => GREY,
    }
}

/// The badge as an SVG answer: cached a minute (by anyone only when public), no script.
fn svg_response(badge: &Badge, public: bool) -> Response {
    let cache = if public {
        format!("public, max-age={MAX_AGE_S}")
    } else {
        format!("private, max-age={MAX_AGE_S}")
    };
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml".to_owned()),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'".to_owned(),
            ),
        ],
        svg(badge),
    )
        .into_response()
}

/// Width of `text` in pixels at 11 px Verdana, near enough: 7 px a character.
fn text_width(text: &str) -> usize {
    text.chars().count() * 7 + 10
}

/// `text` escaped for XML text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The badge drawn flat, as shields.io draws them: label on grey, message on its colour,
/// with a title and an accessible name.
pub fn svg(badge: &Badge) -> String {
    let (label, message) = (escape(&badge.label), escape(&badge.message));
    let (left, right) = (text_width(&badge.label), text_width(&badge.message));
    let width = left + right;
    let (label_x, message_x) = (left / 2, left + right / 2);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"20\" \
         role=\"img\" aria-label=\"{label}: {message}\"><title>{label}: {message}</title>\
         <rect width=\"{left}\" height=\"20\" fill=\"#555\"/>\
         <rect x=\"{left}\" width=\"{right}\" height=\"20\" fill=\"{colour}\"/>\
         <g fill=\"#fff\" text-anchor=\"middle\" \
         font-family=\"Verdana,DejaVu Sans,sans-serif\" font-size=\"11\">\
         <text x=\"{label_x}\" y=\"14\">{label}</text>\
         <text x=\"{message_x}\" y=\"14\">{message}</text></g></svg>",
        colour = badge.colour,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_text_is_escaped_and_the_width_follows_it() {
        let badge = Badge {
            label: "a<b>&\"c\"".to_owned(),
            message: "up".to_owned(),
            colour: GREEN,
        };
        let drawn = svg(&badge);
        assert!(
            drawn.contains("<title>a&lt;b&gt;&amp;&quot;c&quot;: up</title>"),
            "{drawn}"
        );
        assert!(!drawn.contains("<b>"));
        // 8 characters of label and 2 of message, 7 px each and 5 px of margin each side.
        let width = (8 * 7 + 10) + (2 * 7 + 10);
        assert!(
            drawn.starts_with(&format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\""
            )),
            "{drawn}"
        );
    }

    #[test]
    fn uptime_is_coloured_by_how_good_it_is() {
        let badge = |probes, up| uptime_badge("acme", "30d", Tally { probes, up });
        assert_eq!(badge(0, 0).message, "no data");
        assert_eq!(badge(10_000, 9_995).colour, GREEN);
        assert_eq!(badge(1_000, 995).colour, "#97ca00");
        assert_eq!(badge(100, 96).colour, YELLOW);
        assert_eq!(badge(100, 50).colour, RED);
        assert_eq!(badge(100, 50).label, "acme uptime 30d");
    }
}
