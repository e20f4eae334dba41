//! The shell every page shares (head, header, stylesheet, refresh script), the words and
//! symbols of states, and the security headers of HTML answers.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::domain::{Timestamp, ago};

pub const STYLE_CSS: &str = include_str!("assets/style.css");
pub const REFRESH_JS: &str = include_str!("assets/refresh.js");

pub use crate::domain::Shown;

/// How a page draws a shown state.
pub trait ShownMarks {
    /// A symbol, so the state reads without colour.
    fn symbol(self) -> &'static str;
    /// The state as a coloured symbol and word.
    fn badge(self) -> Markup;
}

impl ShownMarks for Shown {
    fn symbol(self) -> &'static str {
        match self {
            Self::Down => "▼",
            Self::Degraded => "◒",
            Self::Unknown => "?",
            Self::New => "✦",
            Self::Maintenance => "◆",
            Self::Paused => "Ⅱ",
            Self::Up => "▲",
        }
    }

    fn badge(self) -> Markup {
        html! {
            span class={ "state state-" (self.word()) } { (self.symbol()) " " (self.word()) }
        }
    }
}

/// A whole HTML page. `refresh`: the page keeps itself current.
pub fn page(title: &str, signed_in: bool, refresh: bool, body: Markup) -> Markup {
    shell(title, ("/", "stackwatch"), None, signed_in, refresh, body)
}

/// A page for the public (a status page): its brand, `(href, text)`, leads back to itself
/// or the customer's site, not to the dashboard's sign-in; with a logo, `(url, text)` shows
/// it (the text as its alternative).
pub fn public_page(title: &str, brand: (&str, &str), logo: Option<&str>, body: Markup) -> Markup {
    shell(title, brand, logo, false, true, body)
}

fn shell(
    title: &str,
    brand: (&str, &str),
    logo: Option<&str>,
    signed_in: bool,
    refresh: bool,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · stackwatch" }
                link rel="stylesheet" href="/static/style.css";
                script src="/static/refresh.js" defer {}
            }
            body {
                header.top {
                    @if let Some(logo) = logo {
                        a.brand href=(brand.0) { img.logo src=(logo) alt=(brand.1) height="32"; }
                    } @else {
                        a.brand href=(brand.0) { (brand.1) }
                    }
                    @if signed_in {
                        form method="post" action="/logout" { button type="submit" { "Sign out" } }
                    }
                }
                @if refresh {
                    main data-refresh { (body) }
                } @else {
                    main { (body) }
                }
            }
        }
    }
}

/// "5 minutes ago", or "never".
pub fn since(at: Option<Timestamp>, now: Timestamp) -> String {
    at.map_or_else(|| "never".to_owned(), |t| ago(now.0 - t.0))
}

/// A moment as "4 Dec 2026 17:40 UTC" in a `<time>` element; the page's script shows it
/// in the reader's time zone.
pub fn time_tag(at: Timestamp) -> Markup {
    let text = chrono::DateTime::from_timestamp_millis(at.0)
        .map_or_else(String::new, |t| t.format("%-d %b %Y %H:%M UTC").to_string());
    html! { time datetime=(at.to_rfc3339()) { (text) } }
}

/// A day as "4 Dec 2026" (UTC).
pub fn date_text(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(at.0)
        .map_or_else(String::new, |t| t.format("%-d %b %Y").to_string())
}

/// "99.95 %", or "–" without probes.
pub fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |p| format!("{p:.2} %"))
}

/// An HTML answer with the security headers every page carries; `frame_ancestors` is the
/// CSP's (`'none'` except for status pages configured to be embedded).
pub fn html_response(markup: Markup, frame_ancestors: &str) -> Response {
    html_response_with(markup, frame_ancestors, None)
}

/// [`html_response`], whose images may also come from `image_origin` (a status page's
/// configured logo).
pub fn html_response_with(
    markup: Markup,
    frame_ancestors: &str,
    image_origin: Option<&str>,
) -> Response {
    let mut response = markup.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let images = image_origin.map_or_else(String::new, |o| format!(" {o}"));
    let csp = format!(
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:{images}; \
         connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {frame_ancestors}"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// A static asset with its type, cacheable for an hour.
pub fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
