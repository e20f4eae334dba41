//! The pages people look at: the dashboard (`/`), each check's page, public status pages
//! per stack, the login form, and `/metrics` for Prometheus. Server-rendered with maud (the
//! templates are compiled into the binary); a few lines of script keep pages current.

mod ack;
mod announce;
mod aside;
mod badge;
mod charts;
mod check_page;
mod chunked;
mod dashboard;
mod feeds;
mod layout;
mod markdown;
mod metrics;
mod session;
mod status_page;
mod subscribe;
mod updates;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use layout::Shown;
pub use session::Sessions;
pub use subscribe::SUBSCRIBE_LIMITS;

use crate::domain::{AckKey, Routing};
use crate::monitor::Vitals;
use crate::settings::{StatusPagesEnabled, Tokens};
use crate::store::{IncidentRow, Store, StoreError};

/// What the pages need.
#[derive(Clone)]
pub struct WebState {
    pub store: Store,
    pub vitals: Vitals,
    pub tokens: Arc<Tokens>,
    pub sessions: Sessions,
    /// Anyone may see the dashboard, check pages and `/metrics`.
    pub public: bool,
    /// Which stacks have a status page.
    pub status_pages: StatusPagesEnabled,
    /// CSP `frame-ancestors` of status pages.
    pub frame_ancestors: String,
    /// Mark session cookies `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// `alerting.public_url`, where feeds' links point (empty: the request's host).
    pub public_url: String,
    /// Visitors of public pages may subscribe by email (`status_pages.subscriptions_via`).
    pub subscriptions: bool,
    /// Subscription requests per client address: each may mail a stranger, so few.
    pub subscribe_guard: Arc<std::sync::Mutex<crate::domain::Guesses>>,
    /// `[status_pages.pages.STACK]`: pages' own host names and looks, by stack.
    pub looks: Arc<std::collections::BTreeMap<String, crate::settings::PageLook>>,
    /// Who a check's alerts go to (an acknowledgement's too).
    pub routing: Arc<Routing>,
    /// Checks the signed acknowledgement links of alerts.
    pub ack_key: AckKey,
    /// The data directory, where a large `/metrics` answer sets lines aside.
    pub data_dir: Arc<std::path::Path>,
    /// Woken when a page files an alert, so the dispatcher sends it at once.
    pub alerts_filed: Arc<tokio::sync::Notify>,
}

/// The pages' routes.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(dashboard::dashboard))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/checks/{name}", get(check_page::check_page))
        .route("/checks/{name}/incidents/{id}/ack", post(ack::acknowledge))
        .route("/ack/{id}", get(ack::link_form).post(ack::link_acknowledge))
        .route("/stacks/{stack}", get(updates::stack_page))
        .route("/stacks/{stack}/updates", post(updates::post_update))
        .route("/stacks/{stack}/updates/{id}", post(updates::edit_update))
        .route(
            "/stacks/{stack}/updates/{id}/delete",
            post(updates::delete_update),
        )
        .route("/status/{stack}", get(status_page::status_page))
        .route("/status/{stack}/badge.svg", get(badge::stack_badge))
        .route("/status/{stack}/subscribe", post(subscribe::subscribe))
        .route(
            "/status/{stack}/confirm/{token}",
            get(subscribe::confirm_form).post(subscribe::confirm),
        )
        .route(
            "/status/{stack}/unsubscribe/{token}",
            get(subscribe::unsubscribe_form).post(subscribe::unsubscribe),
        )
        .route("/status/{stack}/feed.atom", get(feeds::atom))
        .route("/status/{stack}/feed.json", get(feeds::json_feed))
        .route("/checks/{name}/badge.svg", get(badge::check_badge))
        .route("/metrics", get(metrics::metrics))
        .route(
            "/static/style.css",
            get(|| async { layout::asset("text/css; charset=utf-8", layout::STYLE_CSS) }),
        )
        .route(
            "/static/refresh.js",
            get(|| async { layout::asset("text/javascript; charset=utf-8", layout::REFRESH_JS) }),
        )
        .with_state(state)
}

/// A page that could not be built: logged, and a plain 500.
#[derive(Debug)]
pub struct PageError(StoreError);

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        Self(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "cannot build a page");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the page cannot be built now",
        )
            .into_response()
    }
}

/// How many incidents began on a day (days since the epoch), for the uptime bar.
pub fn incident_days(incidents: &[IncidentRow]) -> impl Fn(i64) -> usize + '_ {
    move |day| {
        incidents
            .iter()
            .filter(|i| i.opened_at.div_euclid(86_400_000) == day)
            .count()
    }
}
