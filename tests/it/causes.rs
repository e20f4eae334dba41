//! One message for one cause, through the real server. A host in a network namespace of
//! the test's own whose address stops answering: one DOWN for its ICMP check naming the
//! seven checks that rely on it, one RECOVERED. A name whose DNS answers NXDOMAIN: one DOWN
//! for the DNS check. A heartbeat naming what it relies on with `depends_on`, held while
//! that is down and alerting on its own once it recovers. A single outage still arrives
//! within `check_rate + retry_interval × (failures_to_confirm − 1) + timeout + 1 s`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};
use serde_json::{Value, json};

use crate::binary::wait_for;
use crate::helpers::{
    READ_TOKEN, TestApp, error_fields, outbox_settled, spawn_with, test_settings, text_as,
    with_webhook,
};
use crate::netns::Net;
use crate::receivers::{HookReceiver, Received};
use crate::targets::http_target;

/// A DNS server answering every A question with `ip` for one second, or NXDOMAIN while
/// its switch is set.
async fn dns_server(ip: Ipv4Addr) -> (SocketAddr, Arc<AtomicBool>) {
    let missing = Arc::new(AtomicBool::new(false));
    let flag = missing.clone();
    let addr = crate::dns::dns_responder(move |question, answer| {
        if flag.load(Ordering::SeqCst) {
            answer.set_response_code(ResponseCode::NXDomain);
        } else {
            answer.add_answer(Record::from_rdata(
                question.name().clone(),
                1,
                RData::A(A(ip)),
            ));
        }
        true
    })
    .await;
    (addr, missing)
}

/// A server resolving names through `dns`, alerting `hook`.
async fn app(dns: SocketAddr, hook: &HookReceiver, dir: &std::path::Path) -> TestApp {
    let mut settings = with_webhook(test_settings(dir), hook);
    settings.probe.nameserver = dns.to_string();
    spawn_with(settings).await
}

/// Registers `checks` (name, body), each with the same quick timing.
async fn register(app: &TestApp, checks: &[(&str, Value)]) {
    for (name, body) in checks {
        let mut body = body.clone();
        body.as_object_mut().unwrap().extend(
            json!({"check_rate": 30, "retry_interval": 3, "failures_to_confirm": 2,
                "timeout": 2})
            .as_object()
            .unwrap()
            .clone(),
        );
        let (status, created) = app.put(&format!("/api/v1/checks/{name}"), &body).await;
        assert_eq!(status, 201, "{name}: {created}");
    }
}

/// Each check's state and the root cause its outage is held for.
async fn states(app: &TestApp, names: &[&str]) -> BTreeMap<String, (String, Option<String>)> {
    let mut states = BTreeMap::new();
    for name in names {
        let (_, check) = app.get(&format!("/api/v1/checks/{name}")).await;
        let state = check["state"].as_str().unwrap_or_default().to_owned();
        let root = check["impacted_by"].as_str().map(str::to_owned);
        states.insert((*name).to_owned(), (state, root));
    }
    states
}

async fn wait_for_states(
    app: &TestApp,
    what: &str,
    want: &BTreeMap<String, (String, Option<String>)>,
) {
    let names: Vec<&str> = want.keys().map(String::as_str).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let seen = states(app, &names).await;
        if seen == *want {
            return;
        }
        if Instant::now() >= deadline {
            let mut causes = Vec::new();
            for name in &names {
                let (_, check) = app.get(&format!("/api/v1/checks/{name}")).await;
                causes.push(format!("{name}: {}", check["last_result"]));
            }
            panic!(
                "gave up waiting for {what}: {seen:?}\n{}",
                causes.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `names` all in `state`, held for `root` (none when `None`).
fn all(
    names: &[&str],
    state: &str,
    root: Option<&str>,
) -> BTreeMap<String, (String, Option<String>)> {
    names
        .iter()
        .map(|n| ((*n).to_owned(), (state.to_owned(), root.map(str::to_owned))))
        .collect()
}

/// The alerts the contact got of `event`, of any check.
fn got(hook: &HookReceiver, event: &str) -> Vec<Received> {
    hook.accepted()
        .into_iter()
        .filter(|r| r.body["event"] == event)
        .collect()
}

/// Once every delivery settled: the one alert of `event` the contact got, of `check`.
async fn the_only(app: &TestApp, hook: &HookReceiver, event: &str, check: &str) -> Value {
    outbox_settled(&app.client, &app.url("")).await;
    let all: Vec<Value> = got(hook, event).into_iter().map(|r| r.body).collect();
    assert_eq!(all.len(), 1, "one {event}: {all:?}");
    assert_eq!(all[0]["check"], check, "{all:?}");
    all[0].clone()
}

/// The names an alert lists as impacted.
fn impacted(alert: &Value) -> Vec<String> {
    alert["impacted"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| n.as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_stops_answering_is_one_down_for_its_address_naming_what_relies_on_it() {
    stackwatch::probe::icmp_allowed().expect("the test runs where ICMP echo may be sent");
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new('h', "203.0.113.128/25");
    let host_ns = net.host("web", 10);
    let address = &net.address(10);
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "ok, web here").unwrap();
    for port in ["8080", "8081"] {
        net.spawn_in(
            &host_ns,
            "python3",
            &[
                "-m",
                "http.server",
                port,
                "--bind",
                address,
                "--directory",
                &www.to_string_lossy(),
            ],
            &[],
            &dir.path().join(format!("web-{port}.log")),
        );
    }
    let (dns, _) = dns_server(address.parse().unwrap()).await;
    let hook = HookReceiver::start().await;
    let app = app(dns, &hook, &dir.path().join("data")).await;

    let name = "web.test";
    let checks = [
        (
            "web-dns",
            json!({"kind": "dns", "host": name, "nameserver": dns.to_string()}),
        ),
        (
            "web-ping",
            json!({"kind": "icmp", "host": name, "packets": 2}),
        ),
        (
            "web-tcp-8080",
            json!({"kind": "tcp", "host": name, "port": 8080}),
        ),
        (
            "web-tcp-8081",
            json!({"kind": "tcp", "host": name, "port": 8081}),
        ),
        ("web-home", json!({"url": format!("http://{name}:8080/")})),
        ("web-other", json!({"url": format!("http://{name}:8081/")})),
        (
            "web-index",
            json!({"url": format!("http://{name}:8080/index.html")}),
        ),
        (
            "web-home-says-ok",
            json!({"url": format!("http://{name}:8080/"), "body_contains": "web here"}),
        ),
        (
            "web-other-says-ok",
            json!({"url": format!("http://{name}:8081/"), "body_contains": "web here"}),
        ),
    ];
    register(&app, &checks).await;
    let names: Vec<&str> = checks.iter().map(|(n, _)| *n).collect();
    let relying: Vec<&str> = names[2..].to_vec();
    wait_for_states(&app, "every check of the host up", &all(&names, "up", None)).await;

    // The host stops answering the server: its replies have no route back.
    net.cut(&host_ns, &net.gateway());
    let cut_at = Instant::now();
    let mut want = all(&relying, "down", Some("web-ping"));
    want.insert("web-ping".into(), ("down".into(), None));
    want.insert("web-dns".into(), ("up".into(), None));
    wait_for_states(&app, "the address down and the rest held for it", &want).await;
    let down = the_only(&app, &hook, "down", "web-ping").await;
    let mut relying_names: Vec<String> = relying.iter().map(|n| (*n).to_owned()).collect();
    relying_names.sort();
    assert_eq!(impacted(&down), relying_names, "the DOWN lists the seven");
    let title = down["title"].as_str().unwrap_or_default();
    assert_eq!(title, "[DOWN] web-ping and 7 checks that rely on it");
    eprintln!(
        "host cut: the DOWN came {:.1} s after the cut:\n{title}\n{}",
        got(&hook, "down")[0]
            .at
            .duration_since(cut_at)
            .as_secs_f64(),
        down["text"].as_str().unwrap_or_default()
    );
    // The dashboard says which check holds each outage.
    let dashboard = text_as(&app.url("/"), READ_TOKEN).await;
    assert!(dashboard.contains("(impacted by <a href=\"/checks/web-ping\">web-ping</a>)"));

    net.restore(&host_ns, &net.gateway());
    wait_for_states(
        &app,
        "every check of the host up again",
        &all(&names, "up", None),
    )
    .await;
    let recovered = the_only(&app, &hook, "recovered", "web-ping").await;
    assert_eq!(
        impacted(&recovered),
        relying_names,
        "the RECOVERED stands for the seven"
    );
    eprintln!(
        "{}\n{}",
        recovered["title"].as_str().unwrap_or_default(),
        recovered["text"].as_str().unwrap_or_default()
    );
    assert_eq!(got(&hook, "down").len(), 1, "and no other DOWN");
    assert_eq!(hook.accepted().len(), 2, "two messages in all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_stops_resolving_is_one_down_for_its_dns_check() {
    stackwatch::probe::icmp_allowed().expect("the test runs where ICMP echo may be sent");
    let target = http_target().await;
    let port = target.addr.port();
    let (dns, missing) = dns_server(Ipv4Addr::LOCALHOST).await;
    let hook = HookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app(dns, &hook, dir.path()).await;
    let name = "site.test";
    let timing =
        json!({"check_rate": 30, "retry_interval": 3, "failures_to_confirm": 2, "timeout": 2});
    let with_timing = |mut body: Value| {
        body.as_object_mut()
            .unwrap()
            .extend(timing.as_object().unwrap().clone());
        body
    };
    let (status, body) = app
        .put(
            "/api/v1/stacks/site",
            &json!({"status_page": true, "checks": [
                with_timing(json!({"name": "site-dns", "kind": "dns", "host": name,
                    "nameserver": dns.to_string()})),
                with_timing(json!({"name": "site-ping", "kind": "icmp", "host": name, "packets": 1})),
                with_timing(json!({"name": "site-tcp", "kind": "tcp", "host": name, "port": port})),
                with_timing(json!({"name": "site-status", "url": format!("http://{name}:{port}/status")})),
                with_timing(json!({"name": "site-body", "url": format!("http://{name}:{port}/body"),
                    "body_contains": "hello"})),
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let names = [
        "site-body",
        "site-dns",
        "site-ping",
        "site-status",
        "site-tcp",
    ];
    wait_for_states(&app, "every check of the name up", &all(&names, "up", None)).await;

    missing.store(true, Ordering::SeqCst);
    let mut want = all(&names, "down", Some("site-dns"));
    want.insert("site-dns".into(), ("down".into(), None));
    wait_for_states(&app, "the DNS check down and the rest held for it", &want).await;
    let down = the_only(&app, &hook, "down", "site-dns").await;
    assert_eq!(
        impacted(&down),
        ["site-body", "site-ping", "site-status", "site-tcp"]
    );
    // The public status page says the checks are held, without naming another check.
    let page = app
        .client
        .get(app.url("/status/site"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        page.matches("impacted: something it relies on is down")
            .count(),
        4,
        "{page}"
    );

    missing.store(false, Ordering::SeqCst);
    wait_for_states(
        &app,
        "every check of the name up again",
        &all(&names, "up", None),
    )
    .await;
    the_only(&app, &hook, "recovered", "site-dns").await;
    assert_eq!(hook.accepted().len(), 2, "two messages in all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_names_what_it_relies_on_and_alerts_on_its_own_once_that_recovers() {
    let target = http_target().await;
    let hook = HookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(with_webhook(test_settings(dir.path()), &hook)).await;

    // What it relies on must exist, and no check may rely on itself through others.
    let worker = json!({"kind": "heartbeat", "period": 10, "depends_on": ["api"]});
    let (status, problem) = app.put("/api/v1/checks/worker", &worker).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(error_fields(&problem), ["depends_on"]);
    assert!(
        problem.to_string().contains("no check is named api"),
        "{problem}"
    );
    let (status, problem) = app
        .put(
            "/api/v1/checks/worker",
            &json!({"kind": "heartbeat", "period": 10, "depends_on": ["a b"]}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(error_fields(&problem), ["depends_on[0]"]);

    let api = json!({"url": target.url("http", "/status"), "check_rate": 10, "retry_interval": 1,
        "failures_to_confirm": 2, "timeout": 2});
    let (status, body) = app.put("/api/v1/checks/api", &api).await;
    assert_eq!(status, 201, "{body}");
    let (status, created) = app.put("/api/v1/checks/worker", &worker).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["check"]["depends_on"], json!(["api"]));
    let mut looping = api.clone();
    looping["depends_on"] = json!(["worker"]);
    let (status, problem) = app.put("/api/v1/checks/api", &looping).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem
            .to_string()
            .contains("would make a cycle: api → worker → api"),
        "{problem}"
    );
    let (_, unchanged) = app.get("/api/v1/checks/api").await;
    assert_eq!(unchanged["depends_on"], json!([]), "nothing was written");

    // The job pings as it runs, here every 100 ms until both are up: one ping alone would
    // race the api's first probe against the worker's 10 s deadline, and on PostgreSQL a
    // ping is judged up to a second after it came, from the time it came.
    let ping = app.url(created["check"]["ping_url"].as_str().unwrap());
    let both_up = all(&["api", "worker"], "up", None);
    wait_for("both up", 120, async || {
        app.client.get(&ping).send().await.unwrap();
        (states(&app, &["api", "worker"]).await == both_up).then_some(())
    })
    .await;

    target.status.store(500, Ordering::SeqCst);
    // The worker is kept pinged until the api's DOWN: it must not go late before.
    wait_for("the api's DOWN", 60, async || {
        app.client.get(&ping).send().await.unwrap();
        (!got(&hook, "down").is_empty()).then_some(())
    })
    .await;
    assert_eq!(got(&hook, "down")[0].body["check"], "api");
    // Pinged now, the worker goes late 10 s later, while the api is down.
    app.client.get(&ping).send().await.unwrap();
    let mut want = all(&["api"], "down", None);
    want.insert("worker".into(), ("down".into(), Some("api".into())));
    wait_for_states(&app, "the worker held for the api", &want).await;
    outbox_settled(&app.client, &app.url("")).await;
    assert_eq!(
        got(&hook, "down").len(),
        1,
        "the worker's outage was not alerted"
    );

    // The api recovers; the worker, still silent, alerts on its own.
    target.status.store(200, Ordering::SeqCst);
    let worker_down = wait_for("the worker's own DOWN", 60, async || {
        got(&hook, "down")
            .into_iter()
            .find(|r| r.body["check"] == "worker")
    })
    .await;
    let recovered = got(&hook, "recovered");
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].body["check"], "api");
    assert_eq!(impacted(&recovered[0].body), ["worker"]);
    assert!(
        recovered[0].at <= worker_down.at,
        "the worker's DOWN follows the api's recovery"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_outage_arrives_as_fast_as_without_root_causes() {
    let target = http_target().await;
    let hook = HookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(with_webhook(test_settings(dir.path()), &hook)).await;
    let (check_rate, retry, failures, timeout) = (10, 2, 2, 2);
    let timing = json!({"check_rate": check_rate, "retry_interval": retry,
        "failures_to_confirm": failures, "timeout": timeout});
    // The port answers (its TCP check stays up) while the page fails: no root cause.
    let mut port = json!({"kind": "tcp", "host": "127.0.0.1", "port": target.addr.port()});
    let mut page = json!({"url": target.url("http", "/status")});
    for body in [&mut port, &mut page] {
        body.as_object_mut()
            .unwrap()
            .extend(timing.as_object().unwrap().clone());
    }
    assert_eq!(app.put("/api/v1/checks/port", &port).await.0, 201);
    assert_eq!(app.put("/api/v1/checks/page", &page).await.0, 201);
    wait_for_states(&app, "both up", &all(&["page", "port"], "up", None)).await;

    target.status.store(503, Ordering::SeqCst);
    let failed_at = Instant::now();
    let down = wait_for("the page's DOWN", 60, async || {
        got(&hook, "down").into_iter().next()
    })
    .await;
    let latency = down.at.duration_since(failed_at);
    let bound = Duration::from_secs(check_rate + retry * (failures - 1) + timeout + 1);
    eprintln!(
        "single outage: DOWN after {:.1} s (bound {} s)",
        latency.as_secs_f64(),
        bound.as_secs()
    );
    assert_eq!(down.body["check"], "page");
    assert!(impacted(&down.body).is_empty());
    assert!(latency <= bound, "DOWN after {latency:?}, beyond {bound:?}");
}
