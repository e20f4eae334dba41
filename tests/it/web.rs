//! The pages and `/metrics` through the real server: sign-in, the dashboard's checks, states
//! and filters, a check page, a published and an unpublished status page, the security
//! headers, and `/metrics` read by a Prometheus text-format parser.

use std::collections::HashMap;

use serde_json::json;

use crate::binary::wait_for;
use crate::helpers::{ADMIN_TOKEN, READ_TOKEN, TestApp, spawn_with, test_settings};
use crate::targets::http_target;

/// An app with a published stack `acme` (one check up, one down) and a stack `hidden`.
pub async fn app_with_checks() -> (TestApp, tempfile::TempDir, crate::targets::Target) {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    let target = http_target().await;
    let acme = json!({"status_page": true, "checks": [
        {"name": "acme-liveness", "url": target.url("http", "/ok"), "check_rate": 10, "tags": ["env:prod"]},
        {"name": "acme-readiness", "url": "http://127.0.0.1:9/ready", "check_rate": 10, "retry_interval": 1},
    ]});
    assert_eq!(app.put("/api/v1/stacks/acme", &acme).await.0, 200);
    let hidden = json!({"checks": [{"name": "hidden-liveness", "url": target.url("http", "/ok"), "check_rate": 10}]});
    assert_eq!(app.put("/api/v1/stacks/hidden", &hidden).await.0, 200);
    for (name, state) in [
        ("acme-liveness", "up"),
        ("acme-readiness", "down"),
        ("hidden-liveness", "up"),
    ] {
        wait_for(&format!("{name} {state}"), 60, async || {
            let (_, check) = app.get(&format!("/api/v1/checks/{name}")).await;
            (check["state"] == state).then_some(())
        })
        .await;
    }
    (app, dir, target)
}

/// A client that keeps cookies and does not follow redirects.
pub fn browser_like() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn text(
    client: &reqwest::Client,
    url: String,
) -> (u16, reqwest::header::HeaderMap, String) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

#[tokio::test]
async fn the_dashboard_shows_a_thousand_checks_a_page_the_worst_first() {
    let (app, _dir, _target) = app_with_checks().await;
    // Paused checks are never probed, so a thousand of them cost the test nothing.
    let bulk: Vec<_> = (0..1000)
        .map(|i| json!({"name": format!("bulk-{i:04}"), "url": "http://127.0.0.1:9/", "paused": true}))
        .collect();
    let (status, body) = app
        .put("/api/v1/stacks/bulk", &json!({"checks": bulk}))
        .await;
    assert_eq!(status, 200, "{body}");
    let client = reqwest::Client::new();
    let page = async |path: &str| {
        let response = client
            .get(app.url(path))
            .bearer_auth(READ_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        response.text().await.unwrap()
    };
    let listed = |page: &str, name: &str| page.contains(&format!("href=\"/checks/{name}\""));

    // Down first, then paused, then up: the 1,003rd check is on the second page.
    let first = page("/").await;
    assert!(
        first.contains("<strong>1003</strong> checks"),
        "every check counted"
    );
    assert!(first.contains("Page 1 of 2 (1003 checks match)"));
    assert!(
        first.contains("href=\"/?page=2\""),
        "a link to the next page"
    );
    assert!(listed(&first, "acme-readiness") && listed(&first, "bulk-0998"));
    assert!(
        first.find("acme-readiness") < first.find("bulk-0000"),
        "the worst first"
    );
    assert!(!listed(&first, "bulk-0999") && !listed(&first, "acme-liveness"));
    let second = page("/?page=2").await;
    assert!(second.contains("Page 2 of 2 (1003 checks match)"));
    assert!(second.contains("href=\"/?page=1\""), "a link back");
    for name in ["bulk-0999", "acme-liveness", "hidden-liveness"] {
        assert!(listed(&second, name), "{name} on the second page");
    }
    assert!(!listed(&second, "acme-readiness") && !listed(&second, "bulk-0998"));

    // Filters hold across pages, and the links keep them.
    let paused = page("/?state=paused&q=bulk-09&page=1").await;
    assert!(!paused.contains("Page 1 of"), "one page: {paused}");
    assert!(listed(&paused, "bulk-0900") && listed(&paused, "bulk-0999"));
    assert!(!listed(&paused, "bulk-0899") && !listed(&paused, "acme-readiness"));
    let last = page("/?q=l&page=2").await;
    assert!(last.contains("Page 2 of 2 (1002 checks match)"), "{last}");
    assert!(last.contains("href=\"/?q=l&amp;page=1\""));
    assert!(listed(&last, "acme-liveness") && listed(&last, "hidden-liveness"));
    assert!(!listed(&last, "bulk-0999") && !listed(&last, "acme-readiness"));
    let beyond = page("/?state=paused&page=2").await;
    assert!(beyond.contains("Page 2 of 1 (1000 checks match)"));
    assert!(
        beyond.contains("href=\"/?state=paused&amp;page=1\""),
        "a way back"
    );
    assert!(!listed(&beyond, "bulk-0999"));
    let stack = page("/?stack=bulk").await;
    assert!(listed(&stack, "bulk-0000") && listed(&stack, "bulk-0999"));
    assert!(!listed(&stack, "acme-readiness") && !stack.contains("Page 1 of"));
    let beyond = page("/?stack=bulk&page=2").await;
    assert!(
        beyond.contains("Page 2 of 1 (1000 checks match)"),
        "{beyond}"
    );
    assert!(!listed(&beyond, "bulk-0999"));
    let literal = page("/?q=bulk_0").await;
    assert!(
        literal.contains("No check matches."),
        "an underscore is a character, not a wildcard"
    );
    let nothing = page("/?stack=Not%20A%20Stack").await;
    assert!(nothing.contains("No check matches."));
}

#[tokio::test]
async fn pages_need_a_sign_in_then_show_every_check_its_state_and_numbers() {
    let (app, _dir, _target) = app_with_checks().await;
    let client = browser_like();
    let (status, headers, _) = text(&client, app.url("/?state=down")).await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/login?next=%2F%3Fstate%3Ddown");
    let (_, _, login) = text(&client, app.url("/login?next=%2F")).await;
    assert!(
        login.contains("auth.read_tokens") && login.contains("<code>admin.token</code>"),
        "the sign-in page says where a token is: {login}"
    );

    let wrong = client
        .post(app.url("/login"))
        .form(&[("token", "not-a-token-0123456789"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let signed = client
        .post(app.url("/login"))
        .form(&[("token", READ_TOKEN), ("next", "/?state=down")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status().as_u16(), 303);
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains(READ_TOKEN),
        "the cookie is a session id, not the token"
    );

    let (status, headers, page) = text(&client, app.url("/")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    for name in ["acme-liveness", "acme-readiness", "hidden-liveness"] {
        assert!(
            page.contains(&format!("href=\"/checks/{name}\"")),
            "{name} listed"
        );
    }
    assert!(
        page.contains("▼ down") && page.contains("▲ up"),
        "states read in words"
    );
    assert!(
        page.find("acme-readiness") < page.find("acme-liveness"),
        "the worst first"
    );
    assert!(page.contains("100.00 %"), "uptime of the healthy check");

    let (_, _, down_only) = text(&client, app.url("/?state=down")).await;
    assert!(down_only.contains("acme-readiness") && !down_only.contains("hidden-liveness"));
    let (_, _, by_tag) = text(&client, app.url("/?tag=env:prod")).await;
    assert!(by_tag.contains("/checks/acme-liveness") && !by_tag.contains("/checks/acme-readiness"));
    let (_, _, searched) = text(&client, app.url("/?q=hidden")).await;
    assert!(searched.contains("hidden-liveness") && !searched.contains("/checks/acme-"));

    let (status, _, check) = text(&client, app.url("/checks/acme-readiness")).await;
    assert_eq!(status, 200);
    assert!(check.contains("http://127.0.0.1:9/ready"));
    assert!(check.contains("connection refused"), "the cause");
    assert!(check.contains("aria-label=\"90-day uptime\""));
    assert_eq!(check.matches("class=\"day-").count(), 90, "one cell a day");
    assert!(check.contains("(ongoing)"), "the open incident");
    let (_, _, week) = text(&client, app.url("/checks/acme-liveness?range=7d")).await;
    assert!(week.contains("class=\"on\" href=\"?range=7d\""));
    let (status, _, _) = text(&client, app.url("/checks/no-such-check")).await;
    assert_eq!(status, 404);

    let out = client.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(out.status().as_u16(), 303);
    assert_eq!(text(&client, app.url("/")).await.0, 303, "signed out");
}

#[tokio::test]
async fn status_pages_show_published_stacks_without_internals() {
    let (app, _dir, target) = app_with_checks().await;
    let anonymous = browser_like();
    let (status, headers, page) = text(&anonymous, app.url("/status/acme")).await;
    assert_eq!(status, 200, "no token needed");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(page.contains("Partial outage"));
    assert!(
        page.contains("<span class=\"state state-down\">▼ Partial outage</span>"),
        "the overall state reads once, not \"▼ down Partial outage\""
    );
    assert_eq!(
        page.matches(" since ").count(),
        2,
        "minutes of data are not \"over 90 days\": {page}"
    );
    assert!(!page.contains("over 90 days"));
    assert!(page.contains("acme-liveness") && page.contains("acme-readiness"));
    assert_eq!(page.matches("aria-label=\"90-day uptime\"").count(), 2);
    for secret in [
        "127.0.0.1",
        &target.addr.port().to_string(),
        "refused",
        ADMIN_TOKEN,
    ] {
        assert!(!page.contains(secret), "{secret} must not show");
    }
    assert!(page.contains("(ongoing)"), "the current incident");
    assert_eq!(text(&anonymous, app.url("/status/hidden")).await.0, 404);
    assert_eq!(
        text(&anonymous, app.url("/status/nothing-here")).await.0,
        404
    );
    // Withdrawn by the stack's own setting.
    let body = json!({"status_page": false, "checks": [
        {"name": "acme-liveness", "url": target.url("http", "/ok"), "check_rate": 10, "tags": ["env:prod"]},
        {"name": "acme-readiness", "url": "http://127.0.0.1:9/ready", "check_rate": 10, "retry_interval": 1},
    ]});
    let (status, change) = app.put("/api/v1/stacks/acme", &body).await;
    assert_eq!(
        (status, &change["changed"], &change["status_page"]),
        (200, &json!(true), &json!(false))
    );
    assert_eq!(text(&anonymous, app.url("/status/acme")).await.0, 404);
}

#[tokio::test]
async fn metrics_name_every_check_once_however_many_reads_it_takes() {
    let (app, _dir, _target) = app_with_checks().await;
    // More checks than one read of the store packs (1,024): heartbeats nobody has pinged
    // are each one `stackwatch_check_new` line, and are never probed.
    let mut expected = Vec::new();
    for stack in ["jobs-a", "jobs-b"] {
        let jobs: Vec<String> = (0..520).map(|i| format!("{stack}-{i:03}")).collect();
        put_heartbeats(&app, stack, &jobs).await;
        expected.extend(jobs);
    }
    assert_eq!(new_heartbeats_in_metrics(&app).await, expected);
    // Deleting checks in the middle leaves a gap in the ids the reads walk.
    let kept: Vec<String> = (300..520).map(|i| format!("jobs-b-{i:03}")).collect();
    put_heartbeats(&app, "jobs-b", &kept).await;
    expected.retain(|name| !name.starts_with("jobs-b") || kept.contains(name));
    assert_eq!(expected.len(), 740);
    assert_eq!(new_heartbeats_in_metrics(&app).await, expected);
}

#[tokio::test]
async fn metrics_send_an_answer_of_many_chunks_whole_and_each_metric_together() {
    let (app, _dir, _target) = app_with_checks().await;
    // Names of the longest allowed (128) make each line some 180 bytes: 2,200 heartbeats
    // (four stacks, as a stack holds at most 1,000), over three reads of the store, fill
    // several of the chunks the answer is sent in (64 KiB). Half of them are pinged (up),
    // half never are (new).
    let tail = "x".repeat(128 - "beats-a-000-".len());
    let client = reqwest::Client::new();
    let mut pinged = Vec::new();
    let mut silent = Vec::new();
    for stack in ["beats-a", "beats-b", "beats-c", "beats-d"] {
        let names: Vec<String> = (0..550).map(|i| format!("{stack}-{i:03}-{tail}")).collect();
        let checks: Vec<_> = names
            .iter()
            .map(|name| json!({"name": name, "kind": "heartbeat", "period": 3600}))
            .collect();
        let (status, made) = app
            .put(
                &format!("/api/v1/stacks/{stack}"),
                &json!({"checks": checks}),
            )
            .await;
        assert_eq!(status, 200, "{made}");
        if matches!(stack, "beats-c" | "beats-d") {
            silent.extend(names);
            continue;
        }
        for check in made["checks"].as_array().unwrap() {
            let ping = app.url(check["ping_url"].as_str().unwrap());
            assert_eq!(client.get(ping).send().await.unwrap().status(), 200);
        }
        pinged.extend(names);
    }
    let body = wait_for("every pinged beat up in /metrics", 60, async || {
        let body = crate::helpers::text_as(&app.url("/metrics"), READ_TOKEN).await;
        (up_in_stacks(&body, "beats-") == pinged).then_some(body)
    })
    .await;
    assert!(body.len() > 5 * 64 * 1024, "{} bytes", body.len());
    // A metric's lines follow one another: the chunks came whole and in order.
    let lines: Vec<&str> = body.lines().collect();
    let mut named = Vec::new();
    for (metric, count) in [
        ("stackwatch_check_up{", 1_100 + 3),
        ("stackwatch_check_new{", 1_100),
    ] {
        let at: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].starts_with(metric))
            .collect();
        assert_eq!(at.len(), count, "{metric}");
        assert_eq!(
            at[at.len() - 1] - at[0],
            at.len() - 1,
            "{metric} lines apart"
        );
        named.push(
            at.iter()
                .map(|&i| {
                    let labels = lines[i].split_once('{').unwrap().1;
                    let name = labels.strip_prefix("check=\"").unwrap();
                    name.split_once('"').unwrap().0
                })
                .collect::<Vec<_>>(),
        );
    }
    // The new gauge's lines (some 200 KB, more than the answer holds in memory before
    // setting them aside in the data directory) came back whole: each silent beat once.
    // (Their order, the order the store read the checks in, is the aside's unit tests'.)
    let mut came_back = named[1].clone();
    came_back.sort_unstable();
    assert_eq!(came_back, silent);
    // No check here has a `degraded_after_ms`: none can be degraded, so none has the gauge.
    assert!(
        !body.contains("stackwatch_check_degraded{"),
        "a degraded gauge of a check that cannot be degraded"
    );
}

/// The checks of the stacks named from `prefix` that `/metrics` shows up, sorted.
fn up_in_stacks(body: &str, prefix: &str) -> Vec<String> {
    let lines = body.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid text format");
    let mut up: Vec<String> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "stackwatch_check_up" && s.labels["stack"].starts_with(prefix))
        .filter(|s| matches!(s.value, prometheus_parse::Value::Gauge(v) if v == 1.0))
        .map(|s| s.labels["check"].to_owned())
        .collect();
    up.sort();
    up
}

/// Makes `stack` hold exactly these heartbeats.
async fn put_heartbeats(app: &TestApp, stack: &str, names: &[String]) {
    let checks: Vec<_> = names
        .iter()
        .map(|name| json!({"name": name, "kind": "heartbeat", "period": 3600}))
        .collect();
    let (status, body) = app
        .put(
            &format!("/api/v1/stacks/{stack}"),
            &json!({"checks": checks}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The checks `/metrics` names as heartbeats never pinged, sorted; each line's check is
/// in its stack.
async fn new_heartbeats_in_metrics(app: &TestApp) -> Vec<String> {
    let body = crate::helpers::text_as(&app.url("/metrics"), READ_TOKEN).await;
    let lines = body.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid text format");
    let mut named: Vec<String> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "stackwatch_check_new")
        .map(|s| {
            let check = s.labels["check"].to_owned();
            assert!(check.starts_with(&s.labels["stack"]), "{check}");
            check
        })
        .collect();
    named.sort();
    named
}

#[tokio::test]
async fn metrics_are_valid_prometheus_text_with_the_checks_states() {
    let (app, _dir, _target) = app_with_checks().await;
    let anonymous = reqwest::Client::new();
    let refused = anonymous.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let body = crate::helpers::text_as(&app.url("/metrics"), READ_TOKEN).await;
    let lines = body.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid text format");
    let mut up: HashMap<String, f64> = HashMap::new();
    let mut stacks: HashMap<String, String> = HashMap::new();
    let mut names = Vec::new();
    for sample in &scrape.samples {
        names.push(sample.metric.clone());
        if sample.metric == "stackwatch_check_up"
            && let prometheus_parse::Value::Gauge(v) = sample.value
        {
            up.insert(sample.labels["check"].to_owned(), v);
            stacks.insert(
                sample.labels["check"].to_owned(),
                sample.labels["stack"].to_owned(),
            );
        }
    }
    assert_eq!(stacks["acme-liveness"], "acme");
    assert_eq!(up["acme-liveness"], 1.0);
    assert_eq!(up["acme-readiness"], 0.0);
    assert_eq!(up["hidden-liveness"], 1.0);
    for metric in [
        "stackwatch_probe_duration_seconds",
        "stackwatch_scheduler_lag_seconds",
        "stackwatch_probes_total",
        "stackwatch_up",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
    ] {
        assert!(
            names.iter().any(|n| n == metric),
            "{metric} missing:\n{body}"
        );
    }
    let phases: Vec<&str> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "stackwatch_probe_duration_seconds")
        .filter_map(|s| s.labels.get("phase"))
        .collect();
    for phase in ["connect", "first_byte", "total"] {
        assert!(phases.contains(&phase), "{phase}");
    }
    let healthy = scrape
        .samples
        .iter()
        .find(|s| s.metric == "stackwatch_up")
        .map(|s| s.value.clone());
    assert!(matches!(healthy, Some(prometheus_parse::Value::Gauge(v)) if v == 1.0));
}
