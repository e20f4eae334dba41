//! Who is looking: a session cookie set by the login form (a read or admin token), a bearer
//! token, or nobody (allowed when the dashboard is public). Sessions live in memory: a
//! restart signs everyone out, and nothing secret is written to disk.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::WebState;
use super::layout::{html_response, page};
use crate::settings::{Refusal, Role};

/// The cookie that carries a session id.
pub const COOKIE: &str = "stackwatch_session";
/// How long a session lasts.
const SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3_600);

/// Signed-in sessions by id.
#[derive(Debug, Clone, Default)]
pub struct Sessions {
    by_id: Arc<Mutex<HashMap<String, (Role, Instant)>>>,
}

impl Sessions {
    fn create(&self, role: Role) -> Option<String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).ok()?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut map = self.by_id.lock().ok()?;
        let now = Instant::now();
        map.retain(|_, (_, expires)| *expires > now);
        map.insert(id.clone(), (role, now + SESSION_TTL));
        Some(id)
    }

    fn role(&self, id: &str) -> Option<Role> {
        let map = self.by_id.lock().ok()?;
        map.get(id)
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(role, _)| *role)
    }

    fn remove(&self, id: &str) {
        if let Ok(mut map) = self.by_id.lock() {
            map.remove(id);
        }
    }
}

/// Who a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// Signed in (cookie) or a bearer token.
    Known { role: Role, by_cookie: bool },
    /// Nobody, on a public dashboard.
    Anonymous,
}

impl Viewer {
    pub fn signed_in(self) -> bool {
        matches!(
            self,
            Self::Known {
                by_cookie: true,
                ..
            }
        )
    }
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Who is looking, if anyone may: `None` means sign in first. A bearer token counts
/// against `client`'s failed attempts, as on the API.
pub fn viewer(state: &WebState, headers: &HeaderMap, client: IpAddr) -> Option<Viewer> {
    if let Some(role) = cookie_value(headers, COOKIE).and_then(|id| state.sessions.role(id)) {
        return Some(Viewer::Known {
            role,
            by_cookie: true,
        });
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .and_then(|(_, token)| state.tokens.verify(client, token.trim()).ok())
        .filter(|role| *role != Role::Agent);
    if let Some(role) = bearer {
        return Some(Viewer::Known {
            role,
            by_cookie: false,
        });
    }
    state.public.then_some(Viewer::Anonymous)
}

/// The answer to a page request nobody may see yet: to the login form, then back.
pub fn sign_in_first(path_and_query: &str) -> Response {
    let next: String = url::form_urlencoded::byte_serialize(path_and_query.as_bytes()).collect();
    Redirect::to(&format!("/login?next={next}")).into_response()
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    token: String,
    next: Option<String>,
}

/// Only a path on this site: one `/` then no second `/` or `\\` before the path goes on
/// (browsers drop tabs and line breaks, so `/%09/evil.example` is `//evil.example`), no
/// control character, encoded or not, and nothing that would not make a valid header.
fn safe_next(next: Option<&str>) -> String {
    let Some(next) = next else {
        return "/".to_owned();
    };
    let decoded = percent_decode(next.as_bytes());
    let inert = |bytes: &[u8], space: bool| {
        !bytes
            .iter()
            .any(|b| b.is_ascii_control() || *b == b'\\' || (*b == b' ' && !space))
    };
    let second = |bytes: &[u8]| bytes.get(1).is_some_and(|b| *b == b'/');
    if next.starts_with('/')
        && !second(next.as_bytes())
        && !second(&decoded)
        && inert(next.as_bytes(), false)
        && inert(&decoded, true)
        && HeaderValue::from_str(next).is_ok()
    {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

/// `%XX` sequences decoded; everything else as it is.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(0));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// A form posted from another site (login CSRF: a visitor signed in as the attacker; or a
/// page acting with a signed-in visitor's session): refused when `Sec-Fetch-Site` or
/// `Origin` says it came from elsewhere.
pub(super) fn cross_site(headers: &HeaderMap) -> Option<Response> {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let cross = match fetch_site {
        Some(site) => !matches!(site, "same-origin" | "none"),
        None => match (
            headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
            headers.get(header::HOST).and_then(|v| v.to_str().ok()),
        ) {
            (Some(origin), Some(host)) => {
                let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
                !origin_host.eq_ignore_ascii_case(host)
            }
            (Some(_), None) => true,
            (None, _) => false,
        },
    };
    cross.then(|| (StatusCode::FORBIDDEN, "cross-site form refused\n").into_response())
}

fn login_page(next: &str, error: Option<&str>) -> maud::Markup {
    page(
        "Sign in",
        false,
        false,
        html! {
            div.login.card {
                h1 { "Sign in" }
                p.muted {
                    "With a read or admin API token: one of "
                    code { "auth.read_tokens" } " or " code { "auth.admin_tokens" }
                    " in the configuration, or, when none is configured, the admin token "
                    "stackwatch generated at its first start, in the file "
                    code { (crate::settings::ADMIN_TOKEN_FILE) } " of its data directory "
                    "(its start log names it too)."
                }
                @if let Some(error) = error { p.error { (error) } }
                form method="post" action="/login" {
                    input type="hidden" name="next" value=(next);
                    label for="token" { "Token" }
                    input #token type="password" name="token" autocomplete="current-password" required autofocus;
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
}

pub async fn login_form(Query(query): Query<NextQuery>) -> Response {
    html_response(
        login_page(&safe_next(query.next.as_deref()), None),
        "'none'",
    )
}

pub async fn login(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if let Some(refused) = cross_site(&headers) {
        return refused;
    }
    let next = safe_next(form.next.as_deref());
    let role = match state.tokens.verify(peer.ip(), form.token.trim()) {
        Ok(Role::Agent) => {
            let text = "An agent's token only pulls checks and pushes results; sign in with a read or admin token.";
            let mut response = html_response(login_page(&next, Some(text)), "'none'");
            *response.status_mut() = StatusCode::FORBIDDEN;
            return response;
        }
        Ok(role) => role,
        Err(Refusal::Unknown) => {
            let mut response = html_response(login_page(&next, Some("Unknown token.")), "'none'");
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            return response;
        }
        Err(Refusal::Wait { retry_after_s }) => {
            let wait = format!("Too many failed tokens: try again in {retry_after_s} s.");
            let mut response = html_response(login_page(&next, Some(&wait)), "'none'");
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
            return response;
        }
    };
    let Some(id) = state.sessions.create(role) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let secure = state.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    );
    let mut response = Redirect::to(&next).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

pub async fn logout(State(state): State<WebState>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie_value(&headers, COOKIE) {
        state.sessions.remove(id);
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "stackwatch_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/checks/a?range=7d")), "/checks/a?range=7d");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        for hostile in [
            "/%09/evil.example/",
            "/\t/evil.example/",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "/a\nb",
            "/a%0Ab",
            "/a%0Db",
            "/ /evil.example",
            "",
            "evil",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(Some("/?stack=acme%20web")), "/?stack=acme%20web");
    }

    #[test]
    fn sessions_give_back_their_role_until_removed() {
        let sessions = Sessions::default();
        let id = sessions.create(Role::Read).unwrap();
        assert_eq!(sessions.role(&id), Some(Role::Read));
        assert_eq!(sessions.role("nope"), None);
        sessions.remove(&id);
        assert_eq!(sessions.role(&id), None);
    }
}
