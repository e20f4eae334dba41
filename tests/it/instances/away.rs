//! Instances of one cluster at two locations: `hq` (home) and `fra`. Each location probes
//! the checks that name it, once; the instance at home judges every check from both
//! locations' results. Each instance resolves names through its own DNS server, so the
//! test turns one location's view of the target wrong and not the other's.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};

use serde_json::json;
use stackwatch::settings::{Secret, Settings};

use crate::binary::wait_for;
use crate::helpers::{TestApp, spawn_with, test_settings, with_webhook};
use crate::receivers::HookReceiver;

/// An instance at `location` whose home is `hq`, on the database at `url`, resolving
/// names through `dns`.
async fn instance(
    url: &str,
    location: &str,
    dns: std::net::SocketAddr,
    hook: &HookReceiver,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = with_webhook(test_settings(dir.path()), hook);
    away_from(&mut settings, url, location);
    settings.probe.nameserver = dns.to_string();
    let mut app = spawn_with(settings).await;
    app.keep(dir);
    app
}

/// `settings` for the cluster at `url` whose home is `hq` and whose instance elsewhere is
/// at `fra`, for an instance at `location`.
fn away_from(settings: &mut Settings, url: &str, location: &str) {
    settings.database.url = Some(Secret::new(url));
    settings.database.lease_s = 3;
    settings.monitor.location = location.parse().unwrap();
    settings.monitor.home = Some("hq".parse().unwrap());
    settings.monitor.cluster_locations = vec!["fra".parse().unwrap()];
}

/// A DNS server answering every name with 127.0.0.1 for one second (the prober keeps
/// answers for their TTL), or with 127.0.0.2, where nothing listens, while its switch is
/// set.
async fn dns_server() -> (SocketAddr, Arc<AtomicBool>) {
    let wrong = Arc::new(AtomicBool::new(false));
    let flag = wrong.clone();
    let addr = crate::dns::dns_responder(move |question, answer| {
        let ip = if flag.load(Ordering::SeqCst) {
            Ipv4Addr::new(127, 0, 0, 2)
        } else {
            Ipv4Addr::LOCALHOST
        };
        answer.add_answer(Record::from_rdata(
            question.name().clone(),
            1,
            RData::A(A(ip)),
        ));
        true
    })
    .await;
    (addr, wrong)
}

/// A web server on 127.0.0.1 answering 200; its port.
async fn target() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route("/", axum::routing::get(async || "ok"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// Each location's confirmed verdict on `name`, as the API shows it.
async fn location_states(app: &TestApp, name: &str) -> Vec<(String, String)> {
    let (_, check) = app.get(&format!("/api/v1/checks/{name}")).await;
    check["location_states"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["location"].as_str().unwrap_or_default().to_owned(),
                s["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The locations `name`'s results came from, each once.
async fn result_locations(app: &TestApp, name: &str) -> Vec<String> {
    let (status, page) = app.get(&format!("/api/v1/checks/{name}/results")).await;
    assert_eq!(status, 200, "{page}");
    let mut locations: Vec<String> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["location"].as_str().unwrap().to_owned())
        .collect();
    locations.sort();
    locations.dedup();
    locations
}

fn events(hook: &HookReceiver) -> Vec<(String, String)> {
    hook.accepted()
        .iter()
        .map(|r| {
            (
                r.body["event"].as_str().unwrap_or_default().to_owned(),
                r.body["check"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn set(flag: &Arc<AtomicBool>, failing: bool) {
    flag.store(failing, Ordering::SeqCst);
}

/// With quorum 2 of `hq` and `fra`: `fra` alone failing alerts nobody and shows on the
/// check; both failing: one DOWN from the instance at home naming both; both back: one
/// RECOVERED. A check naming only `fra` is probed by the instance there, one naming none
/// by the one at home. When `fra`'s instance stops, its location goes offline: one alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_at_two_locations_probe_their_own_and_home_judges_once() {
    let url = crate::postgres::empty_database().await;
    let hook = HookReceiver::start().await;
    let (hq_dns, hq_failing) = dns_server().await;
    let (fra_dns, fra_failing) = dns_server().await;
    let hq = instance(&url, "hq", hq_dns, &hook).await;
    let fra = instance(&url, "fra", fra_dns, &hook).await;
    let port = target().await;
    let web = format!("http://ok.test:{port}/");
    let common =
        json!({"check_rate": 10, "retry_interval": 1, "failures_to_confirm": 2, "timeout": 2});
    for (name, extra) in [
        ("web", json!({"locations": ["hq", "fra"], "quorum": 2})),
        ("web-fra", json!({"locations": ["fra"]})),
        ("web-home", json!({})),
    ] {
        let mut body = json!({"url": web});
        for fields in [&common, &extra] {
            body.as_object_mut()
                .unwrap()
                .extend(fields.as_object().unwrap().clone());
        }
        // Registered through the instance away from home: it knows the same locations.
        let (status, created) = fra.put(&format!("/api/v1/checks/{name}"), &body).await;
        assert_eq!(status, 201, "{created}");
    }
    let both = |hq_state: &str, fra_state: &str| {
        vec![
            ("fra".to_owned(), fra_state.to_owned()),
            ("hq".to_owned(), hq_state.to_owned()),
        ]
    };
    wait_for("both locations to see web up", 60, async || {
        (location_states(&hq, "web").await == both("up", "up")).then_some(())
    })
    .await;
    wait_for("web-fra and web-home probed", 60, async || {
        let fra_only = result_locations(&hq, "web-fra").await;
        let home = result_locations(&hq, "web-home").await;
        (!fra_only.is_empty() && !home.is_empty()).then_some((fra_only, home))
    })
    .await;
    assert_eq!(result_locations(&hq, "web-fra").await, ["fra"]);
    assert_eq!(result_locations(&hq, "web-home").await, ["hq"]);
    assert_eq!(result_locations(&hq, "web").await, ["fra", "hq"]);

    // fra alone is sent astray: its vote is DOWN, the check is not, nobody is told.
    set(&fra_failing, true);
    wait_for("fra to see web down", 60, async || {
        (location_states(&hq, "web").await == both("up", "down")).then_some(())
    })
    .await;
    wait_for("web-fra down", 60, async || {
        (hq.get("/api/v1/checks/web-fra").await.1["state"] == "down").then_some(())
    })
    .await;
    assert_eq!(hq.get("/api/v1/checks/web").await.1["state"], "up");
    assert_eq!(hq.get("/api/v1/checks/web-home").await.1["state"], "up");

    // hq too: the quorum is met, one DOWN names both.
    set(&hq_failing, true);
    for name in ["web", "web-home"] {
        wait_for(&format!("{name} down"), 60, async || {
            (hq.get(&format!("/api/v1/checks/{name}")).await.1["state"] == "down").then_some(())
        })
        .await;
    }
    set(&hq_failing, false);
    set(&fra_failing, false);
    for name in ["web", "web-fra", "web-home"] {
        wait_for(&format!("{name} up again"), 60, async || {
            (hq.get(&format!("/api/v1/checks/{name}")).await.1["state"] == "up").then_some(())
        })
        .await;
    }
    crate::helpers::outbox_settled(&hq.client, &hq.url("")).await;
    let web_events: Vec<_> = hook
        .accepted()
        .into_iter()
        .filter(|r| r.body["check"] == "web")
        .collect();
    let kinds: Vec<&str> = web_events
        .iter()
        .map(|r| r.body["event"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["down", "recovered"], "{:?}", events(&hook));
    let down_locations = web_events[0].body["locations"].as_str().unwrap_or_default();
    assert_eq!(
        down_locations,
        format!("down from fra and hq (connection refused by ok.test:{port})")
    );
    for name in ["web-fra", "web-home"] {
        let kinds: Vec<String> = events(&hook)
            .into_iter()
            .filter(|(_, check)| check == name)
            .map(|(event, _)| event)
            .collect();
        assert_eq!(kinds, ["down", "recovered"], "{name}");
    }

    // The instance at fra stops: its location falls silent, one `offline` names it.
    fra.stop().await;
    wait_for("fra offline", 90, async || {
        events(&hook)
            .iter()
            .any(|(event, _)| event == "offline")
            .then_some(())
    })
    .await;
    crate::helpers::outbox_settled(&hq.client, &hq.url("")).await;
    let offline: Vec<_> = hook
        .accepted()
        .into_iter()
        .filter(|r| r.body["event"] == "offline")
        .collect();
    assert_eq!(offline.len(), 1, "{:?}", events(&hook));
    assert_eq!(offline[0].body["location"], "fra");
    hq.stop().await;
}

/// An instance that names another home than the live ones stops at start, naming the key.
#[tokio::test]
async fn an_instance_naming_another_home_stops_the_start_naming_the_key() {
    let url = crate::postgres::empty_database().await;
    let hook = HookReceiver::start().await;
    let (dns, _) = dns_server().await;
    let hq = instance(&url, "hq", dns, &hook).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    away_from(&mut settings, &url, "fra");
    settings.monitor.home = Some("fra".parse().unwrap());
    settings.monitor.cluster_locations = Vec::new();
    let error = match stackwatch::app::App::build(settings).await {
        Ok(_) => panic!("an instance naming home fra started beside one naming hq"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        error.contains("monitor.home: is fra, but a live instance on this database names hq"),
        "{error}"
    );
    hq.stop().await;
}
