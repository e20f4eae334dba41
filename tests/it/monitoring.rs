//! Checks registered through the API are probed, confirmed DOWN after
//! `failures_to_confirm` failures, UP again when they recover, and all of it is visible
//! through the API, across restarts too. These run in real time against real targets.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_with, test_settings};
use crate::targets::http_target;

/// Polls the check until `done` holds; panics with the last answer after 60 s.
async fn wait_for(app: &TestApp, name: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, check) = app.get(&format!("/api/v1/checks/{name}")).await;
        assert_eq!(status, 200, "{check}");
        if done(&check) {
            return check;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}: {check}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn incidents(app: &TestApp, name: &str) -> Vec<Value> {
    let (status, list) = app.get(&format!("/api/v1/incidents?check={name}")).await;
    assert_eq!(status, 200);
    list["incidents"].as_array().unwrap().clone()
}

async fn results(app: &TestApp, name: &str) -> Vec<Value> {
    let (status, page) = app
        .get(&format!("/api/v1/checks/{name}/results?limit=1000"))
        .await;
    assert_eq!(status, 200);
    page["results"].as_array().unwrap().clone()
}

fn fast_check(url: String) -> Value {
    json!({"url": url, "check_rate": 10, "retry_interval": 1, "failures_to_confirm": 2})
}

#[tokio::test]
async fn a_failing_target_turns_down_after_confirmation_and_up_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    let target = http_target().await;
    let (status, _) = app
        .put(
            "/api/v1/checks/acme-ready",
            &fast_check(target.url("http", "/status")),
        )
        .await;
    assert_eq!(status, 201);

    let up = wait_for(&app, "acme-ready", "up", |c| c["state"] == "up").await;
    assert_eq!(up["last_result"]["status"], 200);
    assert!(incidents(&app, "acme-ready").await.is_empty());

    target.status.store(500, Ordering::SeqCst);
    let down = wait_for(&app, "acme-ready", "down", |c| c["state"] == "down").await;
    assert_eq!(down["last_result"]["error"], "HTTP 500");
    let history = results(&app, "acme-ready").await;
    let verdicts: Vec<bool> = history.iter().map(|r| r["up"].as_bool().unwrap()).collect();
    assert_eq!(
        &verdicts[..3],
        &[false, false, true],
        "two failures in a row confirm: {history:?}"
    );
    let open = incidents(&app, "acme-ready").await;
    assert_eq!(open.len(), 1);
    assert_eq!(
        open[0]["cause"],
        format!("HTTP 500 from {}", target.url("http", "/status")),
        "the incident gives the alert's cause, in plain words"
    );
    assert_eq!(open[0]["resolved_at"], Value::Null);
    assert_eq!(
        open[0]["opened_at"], history[1]["at"],
        "the outage began at its first failure"
    );

    target.status.store(200, Ordering::SeqCst);
    wait_for(&app, "acme-ready", "recovery", |c| c["state"] == "up").await;
    let closed = incidents(&app, "acme-ready").await;
    assert_eq!(
        closed.len(),
        1,
        "recovery closes the incident, it opens no other"
    );
    assert!(closed[0]["resolved_at"].is_string());
    let (_, still_open) = app.get("/api/v1/incidents?open=true").await;
    assert_eq!(still_open["incidents"], json!([]));
}

#[tokio::test]
async fn a_single_failed_probe_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    let target = http_target().await;
    let mut body = fast_check(target.url("http", "/status"));
    body["retry_interval"] = json!(5);
    app.put("/api/v1/checks/blip", &body).await;
    wait_for(&app, "blip", "up", |c| c["state"] == "up").await;

    target.status.store(503, Ordering::SeqCst);
    wait_for(&app, "blip", "one failure", |c| {
        c["last_result"]["up"] == false
    })
    .await;
    target.status.store(200, Ordering::SeqCst);
    wait_for(&app, "blip", "the retry", |c| {
        c["last_result"]["up"] == true
    })
    .await;

    let check = wait_for(&app, "blip", "state", |_| true).await;
    assert_eq!(
        check["state"], "up",
        "a blip below confirmation changes nothing"
    );
    assert!(incidents(&app, "blip").await.is_empty());
    let (_, alerts) = app.get("/api/v1/alerts?check=blip").await;
    assert_eq!(alerts["alerts"], json!([]), "and no alert is decided");
    let failures = results(&app, "blip")
        .await
        .iter()
        .filter(|r| r["up"] == false)
        .count();
    assert_eq!(failures, 1);
}

#[tokio::test]
async fn changes_through_the_api_apply_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    let target = http_target().await;
    app.put(
        "/api/v1/checks/moving",
        &fast_check(target.url("http", "/code/500")),
    )
    .await;
    wait_for(&app, "moving", "down", |c| c["state"] == "down").await;

    // Pointing the check at a healthy path recovers it without any restart.
    app.put(
        "/api/v1/checks/moving",
        &fast_check(target.url("http", "/ok")),
    )
    .await;
    wait_for(&app, "moving", "up", |c| c["state"] == "up").await;

    // Paused: no more probes, and the state says so.
    app.post("/api/v1/checks/moving/pause").await;
    let paused = wait_for(&app, "moving", "paused", |c| c["state"] == "paused").await;
    assert_eq!(paused["paused"], true);

    // Deleted: it disappears, and its target is left alone.
    app.delete("/api/v1/checks/moving").await;
    assert_eq!(app.get("/api/v1/checks/moving").await.0, 404);
}

#[tokio::test]
async fn a_restart_keeps_states_and_incidents_and_reopens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    let target = http_target().await;
    target.status.store(500, Ordering::SeqCst);
    app.put(
        "/api/v1/checks/persist",
        &fast_check(target.url("http", "/status")),
    )
    .await;
    let down = wait_for(&app, "persist", "down", |c| c["state"] == "down").await;
    let before = results(&app, "persist").await.len();
    app.stop().await;

    let app = spawn_with(test_settings(dir.path())).await;
    let (_, restarted) = app.get("/api/v1/checks/persist").await;
    assert_eq!(restarted["state"], "down");
    assert_eq!(restarted["state_since"], down["state_since"]);
    wait_for(&app, "persist", "a probe after the restart", |c| {
        c["last_result"]["at"] != down["last_result"]["at"]
    })
    .await;
    assert!(results(&app, "persist").await.len() > before);
    let list = incidents(&app, "persist").await;
    assert_eq!(
        list.len(),
        1,
        "still down after a restart is the same outage: {list:?}"
    );

    target.status.store(200, Ordering::SeqCst);
    wait_for(&app, "persist", "recovery", |c| c["state"] == "up").await;
    let list = incidents(&app, "persist").await;
    assert_eq!(list.len(), 1);
    assert!(list[0]["resolved_at"].is_string());
}

/// The names of a list's checks in `state`, and every listed check's state.
fn listed(page: &Value) -> Vec<(String, String)> {
    page["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert!(c["state_since"].is_string(), "{c}");
            (
                c["name"].as_str().unwrap().to_owned(),
                c["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn lists_carry_each_checks_state_filter_by_it_and_the_summary_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    let target = http_target().await;
    let ok = target.url("http", "/ok");
    let failing = target.url("http", "/status");
    target.status.store(500, Ordering::SeqCst);
    for (name, body) in [
        (
            "a-up",
            json!({"url": ok, "check_rate": 10, "stack": "acme"}),
        ),
        (
            "b-up",
            json!({"url": ok, "check_rate": 10, "stack": "acme"}),
        ),
        (
            "c-down",
            json!({"url": failing, "check_rate": 10, "retry_interval": 1, "failures_to_confirm": 1, "stack": "acme"}),
        ),
        ("d-paused", json!({"url": ok, "paused": true})),
        (
            "e-quiet",
            json!({"url": ok, "check_rate": 10, "tags": ["quiet"]}),
        ),
    ] {
        let (status, answer) = app.put(&format!("/api/v1/checks/{name}"), &body).await;
        assert_eq!(status, 201, "{answer}");
    }
    let (status, window) = app
        .client
        .post(app.url("/api/v1/maintenance"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .json(&json!({"scope": "tag", "target": "quiet", "duration": 600}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 201, "{:?}", window.text().await);
    wait_for(&app, "c-down", "c-down DOWN", |c| c["state"] == "down").await;
    for name in ["a-up", "b-up"] {
        wait_for(&app, name, "UP", |c| c["state"] == "up").await;
    }

    let (status, all) = app.get("/api/v1/checks").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        listed(&all),
        [
            ("a-up", "up"),
            ("b-up", "up"),
            ("c-down", "down"),
            ("d-paused", "paused"),
            ("e-quiet", "maintenance")
        ]
        .map(|(n, s)| (n.to_owned(), s.to_owned()))
    );
    let checks = all["checks"].as_array().unwrap();
    assert_eq!(checks[0]["last_result"]["status"], 200, "{}", checks[0]);
    assert_eq!(checks[2]["last_result"]["up"], false);
    assert!(checks[3]["last_result"].is_null(), "never probed");

    let (_, down) = app.get("/api/v1/checks?state=down").await;
    assert_eq!(listed(&down), [("c-down".to_owned(), "down".to_owned())]);
    let (_, first) = app.get("/api/v1/checks?state=up&limit=1").await;
    assert_eq!(
        (listed(&first).len(), &first["next_after"]),
        (1, &json!("a-up"))
    );
    let (_, second) = app.get("/api/v1/checks?state=up&limit=1&after=a-up").await;
    assert_eq!(listed(&second), [("b-up".to_owned(), "up".to_owned())]);
    assert!(second["next_after"].is_null(), "{second}");
    let (status, bad) = app.get("/api/v1/checks?state=sideways").await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(crate::helpers::error_fields(&bad), ["state"]);

    let (_, stack) = app.get("/api/v1/stacks/acme").await;
    assert_eq!(listed(&stack).len(), 3);
    assert_eq!(stack["checks"][2]["state"], "down");

    let (status, summary) = app.get("/api/v1/summary").await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        summary,
        json!({"total": 5, "up": 2, "down": 1, "degraded": 0, "unknown": 0, "new": 0, "paused": 1, "maintenance": 1})
    );
    let (_, by_stack) = app.get("/api/v1/summary?by=stack").await;
    assert_eq!(
        by_stack["stacks"],
        json!([
            {"stack": null, "total": 2, "up": 0, "down": 0, "degraded": 0, "unknown": 0, "new": 0, "paused": 1, "maintenance": 1},
            {"stack": "acme", "total": 3, "up": 2, "down": 1, "degraded": 0, "unknown": 0, "new": 0, "paused": 0, "maintenance": 0},
        ])
    );
    let (status, bad) = app.get("/api/v1/summary?by=tag").await;
    assert_eq!(
        (status, crate::helpers::error_fields(&bad)),
        (422, vec!["by".to_owned()])
    );
    app.stop().await;
}

#[tokio::test]
async fn the_summary_counts_each_window_scope_as_the_list_filter_does() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    let target = http_target().await;
    let ok = target.url("http", "/ok");
    for (name, body) in [
        ("in-stack", json!({"url": ok, "stack": "blue"})),
        ("tagged", json!({"url": ok, "tags": ["quiet"]})),
        ("named", json!({"url": ok})),
        ("other", json!({"url": ok, "stack": "green"})),
        ("untouched", json!({"url": ok})),
    ] {
        let (status, answer) = app.put(&format!("/api/v1/checks/{name}"), &body).await;
        assert_eq!(status, 201, "{answer}");
    }
    let open = |scope: &str, target: Option<&str>| {
        let mut body = json!({"scope": scope, "duration": 600});
        if let Some(target) = target {
            body["target"] = json!(target);
        }
        body
    };
    let maintained =
        |page: &Value| -> Vec<String> { listed(page).into_iter().map(|(name, _)| name).collect() };
    for window in [
        open("stack", Some("blue")),
        open("tag", Some("quiet")),
        open("check", Some("named")),
    ] {
        let (status, answer) = app.post_json("/api/v1/maintenance", &window).await;
        assert_eq!(status, 201, "{answer}");
    }
    let (_, summary) = app.get("/api/v1/summary?by=stack").await;
    let (_, list) = app.get("/api/v1/checks?state=maintenance").await;
    assert_eq!(
        (&summary["total"], &summary["maintenance"]),
        (&json!(5), &json!(3)),
        "{summary}"
    );
    assert_eq!(maintained(&list), ["in-stack", "named", "tagged"]);
    let green = summary["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stack"] == "green");
    assert_eq!(green.unwrap()["maintenance"], 0, "{summary}");

    let (status, answer) = app
        .post_json("/api/v1/maintenance", &open("all", None))
        .await;
    assert_eq!(status, 201, "{answer}");
    let (_, summary) = app.get("/api/v1/summary").await;
    let (_, list) = app.get("/api/v1/checks?state=maintenance").await;
    assert_eq!(summary["maintenance"], 5, "{summary}");
    assert_eq!(maintained(&list).len(), 5);
    app.stop().await;
}

/// The summary by stack agrees with every check's own state as the list reads it.
async fn assert_summary_agrees(app: &TestApp, after: &str) {
    let (_, list) = app.get("/api/v1/checks?limit=1000").await;
    let mut counted: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for check in list["checks"].as_array().unwrap() {
        let stack = check["stack"].as_str().unwrap_or("-").to_owned();
        let state = check["state"].as_str().unwrap().to_owned();
        *counted.entry(stack).or_default().entry(state).or_default() += 1;
    }
    let (_, summary) = app.get("/api/v1/summary?by=stack").await;
    let mut summed: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for stack in summary["stacks"].as_array().unwrap() {
        let counts = summed
            .entry(stack["stack"].as_str().unwrap_or("-").to_owned())
            .or_default();
        for (state, n) in stack.as_object().unwrap() {
            if let Some(n) = n.as_u64().filter(|n| *n > 0 && state != "total") {
                counts.insert(state.clone(), n);
            }
        }
    }
    assert_eq!(summed, counted, "after {after}: {summary} against {list}");
}

#[tokio::test]
async fn the_summary_follows_every_change_to_what_decides_a_checks_state() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    let target = http_target().await;
    let ok = target.url("http", "/ok");
    let failing = target.url("http", "/status");
    target.status.store(500, Ordering::SeqCst);
    let fast = |url: &str, stack: &str| {
        json!({"url": url, "check_rate": 10, "retry_interval": 1, "failures_to_confirm": 1,
               "stack": stack})
    };
    for (name, body) in [
        ("up-one", fast(&ok, "blue")),
        ("down-one", fast(&failing, "blue")),
        (
            "job",
            json!({"kind": "heartbeat", "period": 3600, "stack": "blue"}),
        ),
        ("loose", json!({"url": ok, "check_rate": 10})),
    ] {
        let (status, answer) = app.put(&format!("/api/v1/checks/{name}"), &body).await;
        assert_eq!(status, 201, "{answer}");
    }
    assert_summary_agrees(&app, "creating").await;
    wait_for(&app, "up-one", "UP", |c| c["state"] == "up").await;
    wait_for(&app, "down-one", "DOWN", |c| c["state"] == "down").await;
    wait_for(&app, "loose", "UP", |c| c["state"] == "up").await;
    assert_summary_agrees(&app, "the first results").await;

    let (status, answer) = app.put("/api/v1/checks/up-one", &fast(&ok, "green")).await;
    assert_eq!(status, 200, "{answer}");
    assert_summary_agrees(&app, "a move to another stack").await;
    let mut paused = fast(&failing, "blue");
    paused["paused"] = json!(true);
    let (status, answer) = app.put("/api/v1/checks/down-one", &paused).await;
    assert_eq!(status, 200, "{answer}");
    assert_summary_agrees(&app, "a pause").await;
    let (status, answer) = app.put("/api/v1/checks/job", &fast(&ok, "blue")).await;
    assert_eq!(status, 200, "{answer}");
    assert_summary_agrees(&app, "a heartbeat made an HTTP check").await;
    wait_for(&app, "job", "UP", |c| c["state"] == "up").await;
    assert_summary_agrees(&app, "its first result").await;

    target.status.store(200, Ordering::SeqCst);
    paused["paused"] = json!(false);
    let (status, answer) = app.put("/api/v1/checks/down-one", &paused).await;
    assert_eq!(status, 200, "{answer}");
    wait_for(&app, "down-one", "UP again", |c| c["state"] == "up").await;
    assert_summary_agrees(&app, "a resume and a recovery").await;

    let stack = json!({"checks": [
        {"name": "s-one", "url": ok},
        {"name": "s-two", "url": ok, "paused": true},
    ]});
    let (status, answer) = app.put("/api/v1/stacks/red", &stack).await;
    assert_eq!(status, 200, "{answer}");
    assert_summary_agrees(&app, "a stack registered").await;
    let stack = json!({"checks": [{"name": "s-one", "url": ok}]});
    let (status, answer) = app.put("/api/v1/stacks/red", &stack).await;
    assert_eq!(status, 200, "{answer}");
    assert_summary_agrees(&app, "a check dropped from its stack").await;
    let (status, answer) = app.delete("/api/v1/checks/loose").await;
    assert_eq!(status, 200, "{answer}");
    assert_summary_agrees(&app, "a delete").await;
    let (_, summary) = app.get("/api/v1/summary").await;
    assert_eq!(summary["total"], 4, "{summary}");
    app.stop().await;
}

#[tokio::test]
async fn a_down_nobody_hears_of_is_said_in_the_log_the_api_and_the_pages() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let process = crate::binary::start(&data, "").await;
    assert!(
        process.log().contains("alerting.default_contacts is empty"),
        "serve warns at start: {}",
        process.log()
    );
    let body = json!({"url": "http://127.0.0.1:9/", "check_rate": 10, "retry_interval": 1,
                      "failures_to_confirm": 1});
    assert_eq!(process.put("/api/v1/checks/unheard", &body).await.0, 201);
    let alert = crate::binary::wait_for("the DOWN alert", 30, async || {
        let (_, list) = process.get("/api/v1/alerts").await;
        list["alerts"].as_array().and_then(|a| a.first().cloned())
    })
    .await;
    assert_eq!(alert["deliveries"], json!([]));
    assert_eq!(alert["notice"], "no contact configured: nobody was told");
    let log = crate::binary::wait_for("the state change in the log", 10, async || {
        let log = process.log();
        log.contains("nobody was told").then_some(log)
    })
    .await;
    let changed = log
        .lines()
        .find(|l| l.contains("state changed"))
        .unwrap_or_else(|| panic!("no state change logged: {log}"));
    for field in [
        "check=unheard",
        "from=unknown",
        "to=down",
        "connection refused",
    ] {
        assert!(changed.contains(field), "{field} in {changed}");
    }
    let page = |path: &str| {
        process
            .client
            .get(process.url(path))
            .bearer_auth(crate::helpers::ADMIN_TOKEN)
            .send()
    };
    let check_page = page("/checks/unheard").await.unwrap().text().await.unwrap();
    assert!(check_page.contains("no contact configured: nobody was told"));
    let dashboard = page("/").await.unwrap().text().await.unwrap();
    assert!(
        dashboard.contains("<th class=\"wide w-cause\">Cause</th>")
            && dashboard.contains("connection refused by 127.0.0.1:9"),
        "{dashboard}"
    );
}

/// The hand-over from the API to the scheduler, broken on purpose: the table the
/// scheduler reads a new check's state from is renamed away under the running app (the
/// API's write does not touch it), so the check is written but cannot be planned. The
/// change is kept and retried, `/readyz` says so meanwhile, and once the table is back
/// the check is probed without anything else being sent.
#[tokio::test]
async fn a_change_the_scheduler_cannot_read_waits_readyz_says_so_and_it_applies() {
    let app = crate::helpers::spawn_app().await;
    let mut side = crate::helpers::SideDb::open(&app.data_dir).await;
    let rename = async |side: &mut crate::helpers::SideDb, from: &str, to: &str| {
        side.execute(&format!("ALTER TABLE {from} RENAME TO {to}"), &[])
            .await;
    };
    rename(&mut side, "check_state", "check_state_away").await;
    let (status, body) = app
        .put(
            "/api/v1/checks/handed-over",
            &fast_check("http://127.0.0.1:9/".into()),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let readyz = async || {
        let answer = app.client.get(app.url("/readyz")).send().await.unwrap();
        let status = answer.status().as_u16();
        (status, answer.json::<Value>().await.unwrap())
    };
    let waiting = crate::binary::wait_for("readyz naming the waiting change", 60, async || {
        let (status, body) = readyz().await;
        let named = body["problems"].as_array().is_some_and(|p| {
            p.iter().any(|p| {
                p.as_str()
                    .is_some_and(|p| p.contains("changes to 1 checks wait for the scheduler"))
            })
        });
        (status == 503 && named).then_some(body)
    })
    .await;
    assert_eq!(waiting["status"], "unavailable");
    let (_, check) = app.get("/api/v1/checks/handed-over").await;
    assert_eq!(check["last_result"], Value::Null, "not probed yet: {check}");
    rename(&mut side, "check_state_away", "check_state").await;
    wait_for(&app, "handed-over", "the first probe", |c| {
        c["last_result"].is_object()
    })
    .await;
    crate::binary::wait_for("readyz ready again", 60, async || {
        let (status, body) = readyz().await;
        (status == 200 && body["status"] == "ready").then_some(())
    })
    .await;
}
