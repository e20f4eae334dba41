//! Who is looking: a session cookie set by the login form (a read or admin token), a bearer
//! token, or nobody (allowed when the dashboard is public). Sessions live in memory: a
//! restart signs everyone out, and nothing secret is written to disk.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::WebState;
use super::layout::{html_response, page};
use crate::settings::Role;

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

/// Who is looking, if anyone may: `None` means sign in first.
pub fn viewer(state: &WebState, headers: &HeaderMap) -> Option<Viewer> {
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
        .and_then(|(_, token)| state.tokens.role_of(token.trim()));
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

/// Only a path on this site: never `//host` or a full URL.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn login_page(next: &str, error: Option<&str>) -> maud::Markup {
    page(
        "Sign in",
        false,
        false,
        html! {
            div.login.card {
                h1 { "Sign in" }
                p.muted { "With a read or admin API token." }
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
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let Some(role) = state.tokens.role_of(form.token.trim()) else {
        let mut response = html_response(login_page(&next, Some("Unknown token.")), "'none'");
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return response;
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
