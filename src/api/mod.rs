//! The HTTP API (axum): routes, bearer auth, request validation, problem+json errors and
//! the OpenAPI document, which is generated from the same route table that serves requests.

pub mod agent;
mod alerts;
mod auth;
mod check_body;
mod check_schema;
mod checks;
mod contract;
mod health;
mod incidents;
mod json;
mod live;
pub(crate) mod maintenance;
mod maintenance_body;
mod ping;
mod problem;
mod stacks;
mod status;
mod statuscake;
mod subscribers;
mod updates;
mod view;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::{Role, Tokens};
pub use check_body::{CheckObject, spec_of};
pub use check_schema::CheckBody;
pub use json::MAX_BODY_BYTES;
pub use problem::{ApiError, Problem, ProblemField};

use crate::domain::{LocationName, Registry};
use crate::monitor::{MonitorHandle, Vitals};
use crate::store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    /// Whether probing and recording keep up, for `/readyz`.
    pub vitals: Vitals,
    pub tokens: Arc<Tokens>,
    /// Tells the scheduler about every change, so it applies without a restart.
    pub monitor: MonitorHandle,
    /// The configured contact names, which checks may name.
    pub contacts: Arc<BTreeSet<String>>,
    /// The contacts a check without its own list alerts.
    pub default_contacts: Arc<Vec<String>>,
    /// This server's location, and every location a check may name (its own and each
    /// agent token's).
    pub location: LocationName,
    pub locations: Arc<BTreeSet<String>>,
    /// The agents heard from, and how long a pull waits for a change.
    pub agents: agent::AgentContacts,
    pub poll_wait: Duration,
    /// Woken when a route files an alert, so the dispatcher sends it at once.
    pub alerts_filed: Arc<tokio::sync::Notify>,
    /// Who a check's alerts go to (an acknowledgement's too).
    pub routing: Arc<crate::domain::Routing>,
    /// Which RDAP services answer, for domain checks.
    pub rdap: crate::monitor::Rdap,
    openapi: Arc<String>,
}

impl ApiState {
    /// What a check's names must refer to, `rdap` answering for domains (see
    /// [`Self::rdap_for`]).
    pub fn registry<'a>(&'a self, rdap: &'a crate::domain::RdapDirectory) -> Registry<'a> {
        Registry {
            contacts: &self.contacts,
            locations: &self.locations,
            rdap,
        }
    }

    /// The RDAP directory to read `bodies` with: refreshed first (at most daily) when one
    /// of them is a domain check, so a registration can name a TLD IANA added since.
    pub async fn rdap_for<'b>(
        &self,
        bodies: impl IntoIterator<Item = &'b serde_json::Map<String, serde_json::Value>>,
    ) -> Arc<crate::domain::RdapDirectory> {
        if bodies
            .into_iter()
            .any(|b| b.get("kind").and_then(serde_json::Value::as_str) == Some("domain"))
        {
            self.rdap.refresh_if_due().await;
        }
        self.rdap.directory()
    }
}

/// What the API is built from.
pub struct ApiDeps {
    pub store: Store,
    /// The monitor's health, for `/readyz`.
    pub vitals: Vitals,
    pub tokens: Tokens,
    pub monitor: MonitorHandle,
    pub contacts: BTreeSet<String>,
    pub default_contacts: Vec<String>,
    pub location: LocationName,
    pub locations: BTreeSet<String>,
    pub request_timeout: Duration,
    pub alerts_filed: Arc<tokio::sync::Notify>,
    pub routing: Arc<crate::domain::Routing>,
    pub rdap: crate::monitor::Rdap,
}

/// Builds the application's router: every route, its auth, limits and error shapes.
pub fn router(deps: ApiDeps) -> Router {
    let (router, openapi) = api_routes().split_for_parts();
    let request_timeout = deps.request_timeout;
    let openapi = openapi_json(openapi, &deps.contacts, &deps.locations);
    let state = ApiState {
        store: deps.store,
        vitals: deps.vitals,
        tokens: Arc::new(deps.tokens),
        monitor: deps.monitor,
        contacts: Arc::new(deps.contacts),
        default_contacts: Arc::new(deps.default_contacts),
        location: deps.location,
        locations: Arc::new(deps.locations),
        agents: agent::AgentContacts::default(),
        // The long poll ends well inside the request timeout.
        poll_wait: request_timeout
            .saturating_sub(Duration::from_secs(5))
            .max(Duration::from_secs(1))
            .min(Duration::from_secs(25)),
        alerts_filed: deps.alerts_filed,
        routing: deps.routing,
        rdap: deps.rdap,
        openapi: Arc::new(openapi),
    };
    router
        .merge(statuscake::routes())
        .merge(agent::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(statuscake::errors_as_statuscake))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span each request is logged in: its method and path, with a ping key redacted and
/// no query (a path is all a log needs, and a query may carry anything).
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %logged_path(request.uri().path()),
    )
}

/// `path` with the key of `/ping/{key}…` replaced by `<redacted>`.
fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/ping/") {
        Some(rest) => {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            format!("/ping/{}{tail}", crate::domain::REDACTED).into()
        }
        None => path.into(),
    }
}

/// The route table: each `routes!` call registers handlers and their documentation at once.
fn api_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(base_document())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(openapi))
        .routes(routes!(checks::list_checks))
        .routes(routes!(live::summary))
        .routes(routes!(
            checks::put_check,
            status::get_check,
            checks::delete_check
        ))
        .routes(routes!(checks::pause_check))
        .routes(routes!(checks::resume_check))
        .routes(routes!(
            stacks::put_stack,
            stacks::get_stack,
            stacks::delete_stack
        ))
        .routes(routes!(updates::post_update, updates::list_updates))
        .routes(routes!(
            subscribers::add_webhook,
            subscribers::list_webhooks
        ))
        .routes(routes!(subscribers::delete_webhook))
        .routes(routes!(
            updates::get_update,
            updates::edit_update,
            updates::delete_update
        ))
        .routes(routes!(status::check_results))
        .routes(routes!(status::check_uptime))
        .routes(routes!(status::list_incidents))
        .routes(routes!(incidents::acknowledge))
        .routes(routes!(alerts::list_alerts))
        .routes(routes!(
            maintenance::create_window,
            maintenance::list_windows
        ))
        .routes(routes!(maintenance::delete_window))
        .routes(routes!(ping::ping_get, ping::ping_post))
        .routes(routes!(ping::fail_get, ping::fail_post))
        .routes(routes!(ping::start_get, ping::start_post))
        .routes(routes!(ping::exit_get, ping::exit_post))
}

fn base_document() -> OpenApi {
    let mut doc = OpenApi::new(
        InfoBuilder::new()
            .title("stackwatch")
            .version(env!("CARGO_PKG_VERSION"))
            .description(Some(
                "Register uptime checks and whole stacks of checks; read their state.",
            ))
            .build(),
        utoipa::openapi::Paths::new(),
    );
    let mut components = utoipa::openapi::Components::new();
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc.components = Some(components);
    doc
}

fn openapi_json(
    mut doc: OpenApi,
    contacts: &BTreeSet<String>,
    locations: &BTreeSet<String>,
) -> String {
    contract::complete_error_responses(&mut doc);
    let rendered = serde_json::to_value(&doc).and_then(|mut value| {
        contract::inline_single_choices(&mut value);
        contract::add_links(&mut value);
        contract::add_update_links(&mut value);
        contract::name_the_contacts(&mut value, contacts);
        contract::name_the_locations(&mut value, locations);
        serde_json::to_string_pretty(&value)
    });
    rendered.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot render the OpenAPI document");
        "{}".to_owned()
    })
}

/// The OpenAPI 3.1 document of this API
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi(State(state): State<ApiState>) -> Response {
    let mut response = state.openapi.as_str().to_owned().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".to_owned())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::api_routes;
    use crate::domain::{CheckName, LocationName, StackName, Tag};

    fn pattern_of(schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>) -> String {
        let schema = serde_json::to_value(schema).unwrap();
        schema["pattern"].as_str().unwrap().to_owned()
    }

    /// utoipa takes a parameter's pattern only as a literal, so each route writes its name
    /// patterns out; this holds every one to the pattern its domain type declares.
    #[test]
    fn every_name_parameter_has_the_pattern_of_its_domain_type() {
        let (_, doc) = api_routes().split_for_parts();
        let doc = serde_json::to_value(&doc).unwrap();
        let expected = [
            ("name", pattern_of(CheckName::schema())),
            ("check", pattern_of(CheckName::schema())),
            ("after", pattern_of(CheckName::schema())),
            ("stack", pattern_of(StackName::schema())),
            ("tag", pattern_of(Tag::schema())),
            ("location", pattern_of(LocationName::schema())),
        ];
        let mut held = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    let name = parameter["name"].as_str().unwrap();
                    let Some(pattern) = parameter["schema"]["pattern"].as_str() else {
                        continue;
                    };
                    match expected.iter().find(|(n, _)| *n == name) {
                        Some((_, want)) => {
                            assert_eq!(pattern, want, "{method} {path}: {name}");
                            held += 1;
                        }
                        None => assert!(
                            !pattern.starts_with("^[a-z0-9]"),
                            "{method} {path}: {name} has a name pattern of no domain type"
                        ),
                    }
                }
            }
        }
        assert!(held >= 15, "{held} name parameters");
    }
}
