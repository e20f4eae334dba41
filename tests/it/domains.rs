//! Domain checks against a local RDAP server holding RFC 9083's shapes: a registration
//! that expires soon is warned of once, an expired or unknown one is DOWN, a registry in
//! trouble is nobody's outage; a TLD without RDAP is refused at registration; and IANA's
//! bootstrap file is refreshed from its URL when a registration needs it, and kept.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use stackwatch::domain::Timestamp;
use tokio::net::TcpListener;

use crate::binary::wait_for;
use crate::helpers::{READ_TOKEN, TestApp, error_fields, spawn_with, test_settings, with_webhook};
use crate::receivers::HookReceiver;

const DAY_MS: i64 = 86_400_000;

/// What the registry answers for a domain.
#[derive(Clone, Copy)]
enum Registration {
    /// Registered, expiring this many milliseconds from the time of the question.
    ExpiresIn(i64),
    /// Not known: 404.
    Unknown,
    /// The service fails: 500.
    Broken,
}

/// A local RDAP server at `/rdap/` and a bootstrap file at `/dns.json` naming it for
/// `.test`; it counts the questions and keeps their `Accept` headers.
#[derive(Clone)]
struct Registry {
    addr: std::net::SocketAddr,
    domains: Arc<Mutex<BTreeMap<String, Registration>>>,
    asked: Arc<Mutex<Vec<(String, String)>>>,
    bootstraps: Arc<Mutex<u32>>,
}

impl Registry {
    async fn start(domains: &[(&str, Registration)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let registry = Self {
            addr: listener.local_addr().unwrap(),
            domains: Arc::new(Mutex::new(
                domains.iter().map(|(d, r)| ((*d).to_owned(), *r)).collect(),
            )),
            asked: Arc::default(),
            bootstraps: Arc::default(),
        };
        let router = axum::Router::new()
            .route("/rdap/domain/{name}", axum::routing::get(answer))
            .route("/dns.json", axum::routing::get(bootstrap))
            .with_state(registry.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        registry
    }

    fn base(&self) -> String {
        format!("http://{}/rdap/", self.addr)
    }

    fn asked(&self, domain: &str) -> Vec<String> {
        let asked = self.asked.lock().unwrap();
        asked
            .iter()
            .filter(|(d, _)| d == domain)
            .map(|(_, accept)| accept.clone())
            .collect()
    }
}

async fn answer(
    State(registry): State<Registry>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> axum::response::Response {
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    registry.asked.lock().unwrap().push((name.clone(), accept));
    let found = registry.domains.lock().unwrap().get(&name).copied();
    let rdap = [("content-type", "application/rdap+json")];
    match found {
        Some(Registration::ExpiresIn(ms)) => {
            let at = |t: i64| Timestamp(t).to_rfc3339();
            let now = Timestamp::now().0;
            let body = json!({
                "objectClassName": "domain",
                "rdapConformance": ["rdap_level_0", "icann_rdap_response_profile_0"],
                "ldhName": name.to_ascii_uppercase(),
                "status": ["client transfer prohibited"],
                "events": [
                    {"eventAction": "registration", "eventDate": at(now - 800 * DAY_MS)},
                    {"eventAction": "expiration", "eventDate": at(now + ms)},
                    {"eventAction": "last update of RDAP database", "eventDate": at(now)},
                ],
            });
            (rdap, body.to_string()).into_response()
        }
        Some(Registration::Broken) => {
            (StatusCode::INTERNAL_SERVER_ERROR, rdap, "{}").into_response()
        }
        Some(Registration::Unknown) | None => (
            StatusCode::NOT_FOUND,
            rdap,
            json!({"errorCode": 404, "title": "Not Found"}).to_string(),
        )
            .into_response(),
    }
}

async fn bootstrap(State(registry): State<Registry>) -> axum::response::Response {
    *registry.bootstraps.lock().unwrap() += 1;
    json!({
        "version": "1.0",
        "description": "RDAP bootstrap file for Domain Name System registrations",
        "publication": "2099-01-01T00:00:00Z",
        "services": [[["test"], [registry.base()]]],
    })
    .to_string()
    .into_response()
}

async fn wait_state(app: &TestApp, name: &str, state: &str) -> Value {
    wait_for(&format!("{name} {state}"), 60, async || {
        let (_, check) = app.get(&format!("/api/v1/checks/{name}")).await;
        (check["state"] == state).then_some(check)
    })
    .await
}

async fn register(app: &TestApp, name: &str, domain: &str) -> (u16, Value) {
    let body = json!({"kind": "domain", "domain": domain, "domain_expiry_days": 30});
    app.put(&format!("/api/v1/checks/{name}"), &body).await
}

/// The check's alerts, newest first: event and cause.
async fn alerts(app: &TestApp, check: &str) -> Vec<(String, Value)> {
    let (_, list) = app.get(&format!("/api/v1/alerts?check={check}")).await;
    list["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["event"].as_str().unwrap().to_owned(), a["cause"].clone()))
        .collect()
}

async fn page(app: &TestApp, path: &str) -> String {
    crate::helpers::text_as(&app.url(path), READ_TOKEN).await
}

#[tokio::test]
async fn a_registration_expiring_soon_is_warned_of_and_an_expired_or_unknown_one_is_down() {
    let registry = Registry::start(&[
        (
            "soon.test",
            Registration::ExpiresIn(10 * DAY_MS + 3_600_000),
        ),
        ("later.test", Registration::ExpiresIn(400 * DAY_MS)),
        ("lapsed.test", Registration::ExpiresIn(-2 * DAY_MS)),
        ("gone.test", Registration::Unknown),
        ("broken.test", Registration::Broken),
    ])
    .await;
    let hook = HookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = with_webhook(test_settings(dir.path()), &hook);
    settings
        .probe
        .rdap_servers
        .insert("test".into(), registry.base());
    let app = spawn_with(settings).await;
    for name in ["soon", "later", "lapsed", "gone", "broken"] {
        let (status, created) = register(&app, name, &format!("{name}.test")).await;
        assert_eq!(status, 201, "{name}: {created}");
    }

    wait_state(&app, "soon", "up").await;
    wait_state(&app, "later", "up").await;
    let lapsed = wait_state(&app, "lapsed", "down").await;
    let gone = wait_state(&app, "gone", "down").await;
    let warned = wait_for("the expiry warning", 30, async || {
        let events: Vec<Value> = hook.accepted().into_iter().map(|r| r.body).collect();
        events.into_iter().find(|e| e["event"] == "domain_expiring")
    })
    .await;
    assert_eq!(warned["check"], "soon");
    assert_eq!(warned["title"], "[DOMAIN EXPIRING] soon");
    let text = warned["text"].as_str().unwrap();
    assert!(
        text.starts_with("The registration of the domain soon.test (soon) expires in 10 days ("),
        "{text}"
    );
    let expires = Timestamp::parse_rfc3339(warned["domain_expires_at"].as_str().unwrap()).unwrap();
    assert!((expires.0 - Timestamp::now().0 - 10 * DAY_MS).abs() < 3 * 3_600_000);

    // The registry's trouble is recorded with its cause, but it is nobody's outage.
    let broken = wait_for("the registry's trouble recorded", 60, async || {
        let (_, results) = app.get("/api/v1/checks/broken/results").await;
        results["results"]
            .as_array()
            .and_then(|r| r.first().cloned())
    })
    .await;
    assert_eq!(
        broken["error"],
        format!("RDAP lookup failed: 127.0.0.1: HTTP 500"),
        "{broken}"
    );
    assert_eq!(app.get("/api/v1/checks/broken").await.1["state"], "unknown");

    assert_eq!(
        alerts(&app, "gone").await,
        [(
            "down".to_owned(),
            json!("the registry does not know gone.test: it is not registered")
        )]
    );
    let lapsed_alerts = alerts(&app, "lapsed").await;
    assert_eq!(lapsed_alerts.len(), 1, "{lapsed_alerts:?}");
    assert!(
        lapsed_alerts[0]
            .1
            .as_str()
            .unwrap()
            .starts_with("the domain's registration expired at "),
        "{lapsed_alerts:?}"
    );
    assert_eq!(alerts(&app, "soon").await.len(), 1, "the warning only");
    assert!(alerts(&app, "later").await.is_empty());
    assert!(alerts(&app, "broken").await.is_empty());
    for check in [&lapsed, &gone] {
        assert_eq!(check["kind"], "domain", "{check}");
    }

    // Each registration was asked for once, as RDAP asks to be asked.
    for domain in [
        "soon.test",
        "later.test",
        "lapsed.test",
        "gone.test",
        "broken.test",
    ] {
        let asked = registry.asked(domain);
        assert_eq!(asked.len(), 1, "{domain}: {asked:?}");
        assert!(asked[0].starts_with("application/rdap+json"), "{asked:?}");
    }

    let metrics = page(&app, "/metrics").await;
    assert!(
        metrics.contains("stackwatch_check_domain_expiry_timestamp_seconds{check=\"soon\""),
        "{metrics}"
    );
    assert!(!metrics.contains("stackwatch_check_cert_expiry_timestamp_seconds{check=\"soon\""));
    let check_page = page(&app, "/checks/soon").await;
    assert!(check_page.contains("Registration"), "{check_page}");
    assert!(check_page.contains("domain:soon.test"), "{check_page}");
}

#[tokio::test]
async fn a_domain_whose_tld_has_no_rdap_or_a_bad_field_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    let (status, problem) = register(&app, "shop", "shop.de").await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(error_fields(&problem), ["domain"]);
    assert_eq!(
        problem["errors"][0]["reason"],
        ".de has no RDAP service in IANA's bootstrap file (published 2025-11-06), so the \
         expiry of shop.de cannot be read"
    );
    for (body, field) in [
        (json!({"kind": "domain"}), "domain"),
        (json!({"kind": "domain", "domain": "localhost"}), "domain"),
        (
            json!({"kind": "domain", "domain": "shop.com", "check_rate": 300}),
            "check_rate",
        ),
        (
            json!({"kind": "domain", "domain": "shop.com", "domain_expiry_days": 400}),
            "domain_expiry_days",
        ),
        (
            json!({"kind": "domain", "domain": "shop.com", "host": "shop.com"}),
            "host",
        ),
    ] {
        let (status, problem) = app.put("/api/v1/checks/shop", &body).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(error_fields(&problem), [field], "{body}");
    }
    assert_eq!(
        app.get("/api/v1/checks/shop").await.0,
        404,
        "nothing written"
    );
    // The stack route reads domain checks the same way.
    let stack = json!({"checks": [{"name": "shop-domain", "kind": "domain", "domain": "shop.de"}]});
    let (status, problem) = app.put("/api/v1/stacks/shop", &stack).await;
    assert_eq!(
        (status, error_fields(&problem)),
        (422, vec!["checks[0].domain".to_owned()])
    );
}

#[tokio::test]
async fn the_bootstrap_file_is_fetched_when_a_registration_needs_it_and_kept_for_the_next_start() {
    let registry = Registry::start(&[
        ("acme.test", Registration::ExpiresIn(200 * DAY_MS)),
        ("shop.test", Registration::ExpiresIn(200 * DAY_MS)),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.probe.rdap_bootstrap_url = format!("http://{}/dns.json", registry.addr);
    let app = spawn_with(settings).await;
    let (status, created) = register(&app, "acme-domain", "acme.test").await;
    assert_eq!(status, 201, "the fetched file names .test: {created}");
    wait_state(&app, "acme-domain", "up").await;
    let (status, created) = register(&app, "shop-domain", "shop.test").await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        *registry.bootstraps.lock().unwrap(),
        1,
        "fetched once a day at most"
    );
    let kept = std::fs::read_to_string(dir.path().join("rdap-dns.json")).unwrap();
    assert!(kept.contains("2099-01-01T00:00:00Z"), "{kept}");
    app.stop().await;

    // Started again without a URL to fetch from: the kept file still names .test.
    let mut settings = test_settings(dir.path());
    settings.probe.rdap_bootstrap_url = String::new();
    let app = spawn_with(settings).await;
    let (status, created) = register(&app, "other-domain", "other.test").await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(*registry.bootstraps.lock().unwrap(), 1);
}
