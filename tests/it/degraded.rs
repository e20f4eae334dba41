//! Slow is not down: a real local endpoint whose answers the test slows down and speeds up.
//! Confirmed slow answers make the check `degraded` (one alert), fast ones make it `up`
//! again (one `recovered`); the API, dashboard, status page and `/metrics` show it, uptime
//! counts it as up and the "within SLO" figure as not. Registration refuses bounds that
//! cannot work.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::binary::wait_for;
use crate::helpers::{READ_TOKEN, TestApp, error_fields, spawn_with, test_settings, with_webhook};
use crate::receivers::HookReceiver;

/// An endpoint at `/ready` answering 200 after the milliseconds `delay` holds.
async fn slow_endpoint() -> (String, Arc<AtomicU64>) {
    let delay = Arc::new(AtomicU64::new(0));
    let shared = delay.clone();
    let router = axum::Router::new().route(
        "/ready",
        axum::routing::get(move || {
            let ms = shared.load(Ordering::SeqCst);
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                "OK"
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/ready", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, delay)
}

async fn wait_state(app: &TestApp, name: &str, state: &str) {
    wait_for(&format!("{name} {state}"), 60, async || {
        let (_, check) = app.get(&format!("/api/v1/checks/{name}")).await;
        (check["state"] == state).then_some(())
    })
    .await;
}

/// The events the hook received, in order.
fn events(hook: &HookReceiver) -> Vec<Value> {
    hook.accepted().into_iter().map(|r| r.body).collect()
}

async fn page(app: &TestApp, path: &str) -> String {
    crate::helpers::text_as(&app.url(path), READ_TOKEN).await
}

#[tokio::test]
async fn slow_answers_make_a_check_degraded_once_and_fast_ones_recover_it() {
    let hook = HookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(with_webhook(test_settings(dir.path()), &hook)).await;
    let (url, delay) = slow_endpoint().await;
    let stack = json!({"status_page": true, "checks": [{
        "name": "acme-readiness", "url": url, "check_rate": 10, "retry_interval": 1,
        "timeout": 5, "failures_to_confirm": 2, "degraded_after_ms": 400,
    }]});
    assert_eq!(app.put("/api/v1/stacks/acme", &stack).await.0, 200);
    let (_, check) = app.get("/api/v1/checks/acme-readiness").await;
    assert_eq!(check["degraded_after_ms"], 400, "{check}");
    wait_state(&app, "acme-readiness", "up").await;
    assert_eq!(degraded_gauge(&app).await.as_deref(), Some("0"), "up");

    delay.store(700, Ordering::SeqCst);
    wait_state(&app, "acme-readiness", "degraded").await;
    let degraded = wait_for("the degraded alert", 30, async || {
        events(&hook).into_iter().find(|e| e["event"] == "degraded")
    })
    .await;
    assert_eq!(degraded["degraded_after_ms"], 400);
    assert!(
        degraded["response_ms"].as_u64().unwrap() >= 700,
        "{degraded}"
    );
    assert!(degraded["degraded_since"].is_string());
    assert_eq!(degraded["title"], "[DEGRADED] acme-readiness");
    let text = degraded["text"].as_str().unwrap();
    assert!(
        text.starts_with("acme-readiness (stack acme) is DEGRADED: it answers, but slowly ("),
        "{text}"
    );

    // Shown as degraded everywhere, counted as up.
    let (_, summary) = app.get("/api/v1/summary").await;
    assert_eq!(
        (&summary["degraded"], &summary["up"]),
        (&json!(1), &json!(0))
    );
    let (_, listed) = app.get("/api/v1/checks?state=degraded").await;
    assert_eq!(listed["checks"].as_array().unwrap().len(), 1, "{listed}");
    let dashboard = page(&app, "/").await;
    assert!(dashboard.contains("state-degraded"), "{dashboard}");
    let status = app
        .client
        .get(app.url("/status/acme"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status.contains("Degraded performance"), "{status}");
    assert!(status.contains("state-degraded"), "{status}");
    let metrics = page(&app, "/metrics").await;
    let up = "stackwatch_check_up{check=\"acme-readiness\"";
    let value = metrics
        .lines()
        .find(|l| l.starts_with(up))
        .unwrap_or_else(|| panic!("{up} in {metrics}"));
    assert!(value.ends_with("} 1"), "{value}");
    assert_eq!(degraded_gauge(&app).await.as_deref(), Some("1"), "degraded");
    let (_, uptime) = app.get("/api/v1/checks/acme-readiness/uptime").await;
    let day = &uptime["windows"][0];
    assert_eq!(day["window"], "24h");
    assert_eq!(day["uptime_percent"], 100.0, "slow is up: {uptime}");
    let within = day["within_slo_percent"].as_f64().unwrap();
    assert!(within < 100.0 && within > 0.0, "{uptime}");
    let check_page = page(&app, "/checks/acme-readiness").await;
    assert!(check_page.contains("within SLO"), "{check_page}");
    assert!(
        check_page.contains("answers slower than 400 ms"),
        "{check_page}"
    );

    delay.store(0, Ordering::SeqCst);
    wait_state(&app, "acme-readiness", "up").await;
    let recovered = wait_for("the recovered alert", 30, async || {
        events(&hook)
            .into_iter()
            .find(|e| e["event"] == "recovered")
    })
    .await;
    assert_eq!(recovered["degraded_since"], degraded["degraded_since"]);
    assert!(recovered["downtime_s"].is_u64());
    assert!(
        recovered["text"]
            .as_str()
            .unwrap()
            .contains("answers in time again after"),
        "{recovered}"
    );
    let (_, alerts) = app.get("/api/v1/alerts?check=acme-readiness").await;
    let kinds: Vec<&str> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|a| a["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["degraded", "recovered"], "and nothing else");
    let (_, incidents) = app.get("/api/v1/incidents?check=acme-readiness").await;
    assert_eq!(incidents["incidents"], json!([]), "slow is not an outage");
    assert_eq!(
        degraded_gauge(&app).await.as_deref(),
        Some("0"),
        "recovered"
    );

    // Without the setting the check cannot be degraded, and has no degraded gauge.
    let plain = json!({"url": url, "check_rate": 10, "retry_interval": 1, "timeout": 5,
        "failures_to_confirm": 2, "stack": "acme"});
    let (status, body) = app.put("/api/v1/checks/acme-readiness", &plain).await;
    assert_eq!(status, 200, "{body}");
    wait_for("up, without a degraded gauge", 30, async || {
        let metrics = page(&app, "/metrics").await;
        let up = metrics.contains("stackwatch_check_up{check=\"acme-readiness\",stack=\"acme\"} 1");
        (up && degraded_gauge(&app).await.is_none()).then_some(())
    })
    .await;
}

/// The value of `acme-readiness`'s degraded gauge in `/metrics`, if it has one.
async fn degraded_gauge(app: &TestApp) -> Option<String> {
    let metrics = page(app, "/metrics").await;
    let line = "stackwatch_check_degraded{check=\"acme-readiness\"";
    let found = metrics.lines().find(|l| l.starts_with(line))?;
    found.rsplit_once(' ').map(|(_, value)| value.to_owned())
}

#[tokio::test]
async fn degraded_after_ms_is_refused_where_it_cannot_work() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    let cases = [
        (
            json!({"url": "http://127.0.0.1:9/", "timeout": 2, "degraded_after_ms": 2000}),
            "must be below timeout (2000 ms)",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "max_response_time_ms": 800,
                "degraded_after_ms": 800}),
            "must be below max_response_time_ms (800 ms), beyond which an answer is down",
        ),
        (
            json!({"kind": "heartbeat", "period": 60, "degraded_after_ms": 100}),
            "is not for heartbeat checks: a ping has no response time",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "degraded_after_ms": 0}),
            "must be between 1 and 75000, got 0",
        ),
    ];
    for (body, reason) in cases {
        let (status, problem) = app.put("/api/v1/checks/slow", &body).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(error_fields(&problem), ["degraded_after_ms"], "{body}");
        assert_eq!(problem["errors"][0]["reason"], reason, "{body}");
    }
    assert_eq!(
        app.get("/api/v1/checks/slow").await.0,
        404,
        "nothing written"
    );
    let tcp = json!({"kind": "tcp", "host": "127.0.0.1", "port": 9, "degraded_after_ms": 250});
    let (status, created) = app.put("/api/v1/checks/slow", &tcp).await;
    assert_eq!(status, 201, "every probed kind takes it: {created}");
}
