//! Heartbeat checks through the real server: a ping on time keeps a check up, `/start` then
//! a ping records the run's duration, `/fail` is DOWN at once with what the job posted, a
//! missed deadline is DOWN, an unknown key is a 404, a paused heartbeat and one inside a
//! maintenance window alert nobody; DOWN and RECOVERED go out once each.

use std::time::Duration;

use serde_json::{Value, json};
use stackwatch::domain::Timestamp;

use crate::binary::wait_for;
use crate::helpers::{TestApp, spawn_with_webhook};
use crate::receivers::HookReceiver;

async fn app_with_hook() -> (TestApp, HookReceiver, tempfile::TempDir) {
    let hook = HookReceiver::start().await;
    let (app, dir) = spawn_with_webhook(&hook).await;
    (app, hook, dir)
}

async fn create(app: &TestApp, name: &str, extra: Value) -> String {
    let mut body = json!({"kind": "heartbeat", "period": 10});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, created) = app.put(&format!("/api/v1/checks/{name}"), &body).await;
    assert_eq!(status, 201, "{created}");
    created["check"]["ping_url"].as_str().unwrap().to_owned()
}

async fn state(app: &TestApp, name: &str) -> Value {
    app.get(&format!("/api/v1/checks/{name}")).await.1["state"].clone()
}

async fn wait_state(app: &TestApp, name: &str, want: &str) {
    wait_for(&format!("{name} {want}"), 60, async || {
        (state(app, name).await == want).then_some(())
    })
    .await;
}

/// The webhook events received for `check`, in order.
pub fn events(hook: &HookReceiver, check: &str) -> Vec<String> {
    hook.accepted()
        .iter()
        .filter(|r| r.body["check"] == check)
        .map(|r| r.body["event"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_go_up_with_pings_down_when_late_or_failed_and_alert_once() {
    let (app, hook, _dir) = app_with_hook().await;
    // A long period for the pinged one, so it cannot go late during the test.
    let cron = create(&app, "nightly-backup", json!({"period": 600})).await;
    assert!(
        cron.starts_with("/ping/") && cron.len() == "/ping/".len() + 32,
        "{cron}"
    );
    let forgotten = create(&app, "forgotten-job", json!({})).await;
    let _ = create(&app, "paused-job", json!({"paused": true})).await;
    let _ = create(&app, "maintained-job", json!({"stack": "maint"})).await;
    let (status, window) = app
        .client
        .post(app.url("/api/v1/maintenance"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .json(&json!({"scope": "stack", "target": "maint", "duration": 600}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 201, "{:?}", window.text().await);
    assert_eq!(state(&app, "nightly-backup").await, "new", "not pinged yet");

    // The key is stable across PUTs of the same check.
    assert_eq!(create_again(&app).await, cron);

    let ping = |path: String| {
        let client = app.client.clone();
        let url = app.url(&path);
        async move {
            client
                .post(url)
                .body("")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(ping(cron.clone()).await, 200);
    wait_state(&app, "nightly-backup", "up").await;

    assert_eq!(ping(format!("{cron}/start")).await, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ping(cron.clone()).await, 200);
    let run_ms = wait_for("the run's duration", 30, async || {
        let (_, page) = app
            .get("/api/v1/checks/nightly-backup/results?limit=1")
            .await;
        page["results"][0]["total_ms"].as_i64().filter(|ms| *ms > 0)
    })
    .await;
    assert!(
        run_ms >= 300,
        "the run took at least the 300 ms slept: {run_ms}"
    );

    let failed = app
        .client
        .post(app.url(&format!("{cron}/fail")))
        .body("pg_dump: disk full")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status().as_u16(), 200);
    wait_state(&app, "nightly-backup", "down").await;
    assert_eq!(ping(cron.clone()).await, 200);
    wait_state(&app, "nightly-backup", "up").await;

    // Never pinged: DOWN once its period has passed.
    wait_state(&app, "forgotten-job", "down").await;
    assert_eq!(ping(forgotten.clone()).await, 200);
    wait_state(&app, "forgotten-job", "up").await;
    // Inside its window it reads `maintenance`, and its late result is recorded.
    wait_for("maintained-job late", 60, async || {
        let (_, page) = app
            .get("/api/v1/checks/maintained-job/results?limit=1")
            .await;
        let error = page["results"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        error.contains("no ping for 10 s").then_some(())
    })
    .await;
    assert_eq!(state(&app, "maintained-job").await, "maintenance");

    let unknown = app
        .client
        .get(app.url("/ping/0123456789abcdef0123456789abcdef"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(
        app.client
            .get(app.url("/ping/not-a-key"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    let too_big = app
        .client
        .post(app.url(&cron))
        .body(vec![b'x'; 11 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status().as_u16(), 413);

    wait_for("the alerts", 30, async || {
        (events(&hook, "forgotten-job").len() == 2).then_some(())
    })
    .await;
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    assert_eq!(events(&hook, "nightly-backup"), vec!["down", "recovered"]);
    assert_eq!(events(&hook, "forgotten-job"), vec!["down", "recovered"]);
    assert!(
        events(&hook, "paused-job").is_empty(),
        "a paused heartbeat alerts nobody"
    );
    assert!(
        events(&hook, "maintained-job").is_empty(),
        "a window holds its alert back"
    );
    assert_eq!(state(&app, "paused-job").await, "paused");
    let down = hook
        .accepted()
        .into_iter()
        .find(|r| r.body["check"] == "nightly-backup" && r.body["event"] == "down")
        .unwrap();
    assert!(
        down.body["cause"]
            .as_str()
            .unwrap()
            .contains("pg_dump: disk full"),
        "the job's words reach the alert: {}",
        down.body
    );
    let late = hook
        .accepted()
        .into_iter()
        .find(|r| r.body["check"] == "forgotten-job" && r.body["event"] == "down")
        .unwrap();
    assert!(
        late.body["cause"]
            .as_str()
            .unwrap()
            .contains("no ping for 10 s"),
        "{}",
        late.body
    );
}

async fn create_again(app: &TestApp) -> String {
    let (status, again) = app
        .put(
            "/api/v1/checks/nightly-backup",
            &json!({"kind": "heartbeat", "period": 600, "grace": 0, "tags": ["cron"]}),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    again["check"]["ping_url"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_deadline_of_the_last_ping() {
    let dir = tempfile::tempdir().unwrap();
    let app = crate::helpers::spawn_with(crate::helpers::test_settings(dir.path())).await;
    let ping = create(&app, "restarted-job", json!({"period": 10})).await;
    let answer = app.client.get(app.url(&ping)).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    wait_state(&app, "restarted-job", "up").await;
    let pinged = std::time::Instant::now();
    app.stop().await;

    // Down while the deadline passes; the job does not ping again.
    tokio::time::sleep(Duration::from_secs(11).saturating_sub(pinged.elapsed())).await;
    let app = crate::helpers::spawn_with(crate::helpers::test_settings(dir.path())).await;
    // Counted from the restart, the deadline would be 10 s away; counted from the last
    // ping, it has passed, so the check is late as soon as the scheduler runs.
    wait_for("late right after the restart", 8, async || {
        (state(&app, "restarted-job").await == "down").then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_heartbeat_is_new_until_its_first_ping_and_down_after_grace_first_without_one() {
    let hook = HookReceiver::start().await;
    let (app, _dir) = spawn_with_webhook(&hook).await;
    let pinged = create(&app, "pinged-job", json!({"period": 3600})).await;
    let _ = create(
        &app,
        "silent-job",
        json!({"period": 3600, "grace_first": 10}),
    )
    .await;
    for name in ["pinged-job", "silent-job"] {
        assert_eq!(state(&app, name).await, "new", "{name}");
    }
    let (_, summary) = app.get("/api/v1/summary").await;
    assert_eq!(summary["new"], 2, "{summary}");
    let (_, listed) = app.get("/api/v1/checks?state=new").await;
    assert_eq!(listed["checks"].as_array().unwrap().len(), 2, "{listed}");
    let page = |path: &'static str| {
        app.client
            .get(app.url(path))
            .bearer_auth(crate::helpers::READ_TOKEN)
            .send()
    };
    let dashboard = page("/").await.unwrap().text().await.unwrap();
    assert!(dashboard.contains("✦ new"), "{dashboard}");
    let metrics = page("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("stackwatch_check_new{check=\"silent-job\""),
        "{metrics}"
    );

    assert_eq!(
        app.client
            .post(app.url(&pinged))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    wait_state(&app, "pinged-job", "up").await;
    // One hour's period, but 10 s for the first ping: then it is late.
    wait_state(&app, "silent-job", "down").await;
    let down = wait_for("the DOWN of the silent job", 30, async || {
        events(&hook, "silent-job").first().cloned()
    })
    .await;
    assert_eq!(down, "down");
}

/// A heartbeat pinged `/fail` and `/ping` in turn ten times: DOWN, RECOVERED, DOWN,
/// RECOVERED, then one `flapping` instead of sixteen more; once it has gone its
/// `flap_window` without a change, one `settled` says it is UP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_heartbeat_alerts_flapping_once_then_settled_once() {
    let (app, hook, _dir) = app_with_hook().await;
    let key = create(
        &app,
        "flappy-job",
        json!({"period": 600, "flap_window": 60}),
    )
    .await;
    let ping = async |suffix: &str| {
        let response = app
            .client
            .post(app.url(&format!("{key}{suffix}")))
            .body("")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    };
    ping("").await;
    wait_state(&app, "flappy-job", "up").await;
    for _ in 0..10 {
        ping("/fail").await;
        wait_state(&app, "flappy-job", "down").await;
        ping("").await;
        wait_state(&app, "flappy-job", "up").await;
    }
    // Every change is still recorded: 20 confirmed changes, each an incident's edge.
    let (_, incidents) = app.get("/api/v1/incidents?check=flappy-job").await;
    assert_eq!(
        incidents["incidents"].as_array().map(Vec::len),
        Some(10),
        "{incidents}"
    );
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    assert_eq!(
        events(&hook, "flappy-job"),
        ["down", "recovered", "down", "recovered", "flapping"]
    );
    let flapping = hook
        .accepted()
        .into_iter()
        .find(|r| r.body["event"] == "flapping")
        .unwrap();
    assert_eq!(flapping.body["changes"], 5, "{}", flapping.body);
    assert_eq!(flapping.body["window_s"], 60, "{}", flapping.body);

    // Each ping is judged; the first a minute after the last change settles it.
    wait_for("settled", 120, async || {
        ping("").await;
        events(&hook, "flappy-job")
            .contains(&"settled".to_owned())
            .then_some(())
    })
    .await;
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    assert_eq!(
        events(&hook, "flappy-job"),
        [
            "down",
            "recovered",
            "down",
            "recovered",
            "flapping",
            "settled"
        ]
    );
    let settled = hook
        .accepted()
        .into_iter()
        .find(|r| r.body["event"] == "settled")
        .unwrap();
    assert_eq!(settled.body["health"], "up", "{}", settled.body);
}

/// The newest result of `check` that came with an error, once there is one after `seen`.
async fn next_error(app: &TestApp, check: &str, seen: usize) -> String {
    wait_for(&format!("{check}'s next failure"), 60, async || {
        let (_, page) = app
            .get(&format!("/api/v1/checks/{check}/results?limit=100"))
            .await;
        let errors: Vec<String> = page["results"]
            .as_array()?
            .iter()
            .filter_map(|r| r["error"].as_str().map(str::to_owned))
            .collect();
        (errors.len() > seen).then(|| errors[0].clone())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_judged_by_its_exit_code_its_length_and_its_frequency() {
    let (app, hook, _dir) = app_with_hook().await;
    let bounds = json!({"period": 600, "min_runtime": 1, "max_runtime": 2, "min_interval": 4});
    let job = create(&app, "backup", bounds).await;
    let ping = |path: String, body: &'static str| {
        let client = app.client.clone();
        let url = app.url(&path);
        async move {
            let response = client.post(url).body(body).send().await.unwrap();
            response.status().as_u16()
        }
    };
    // Exit code 0 is a success; 3 is a failure, said with what the job posted.
    assert_eq!(ping(format!("{job}/0"), "").await, 200);
    wait_state(&app, "backup", "up").await;
    tokio::time::sleep(Duration::from_millis(4_100)).await; // past min_interval
    assert_eq!(ping(format!("{job}/3"), "rsync: vanished files").await, 200);
    assert_eq!(
        next_error(&app, "backup", 0).await,
        "the job reported a failure: exit code 3: rsync: vanished files"
    );
    assert_eq!(ping(format!("{job}/256"), "").await, 404);
    assert_eq!(ping(format!("{job}/x"), "").await, 404);

    // A run that ends within a second of its start gave up early.
    tokio::time::sleep(Duration::from_millis(4_100)).await;
    assert_eq!(ping(format!("{job}/start"), "").await, 200);
    assert_eq!(ping(job.clone(), "").await, 200);
    let short = next_error(&app, "backup", 1).await;
    assert!(
        short.starts_with("the run ended after 0.")
            && short.ends_with("sooner than the 1 s it takes at least"),
        "{short}"
    );

    // A run of 1.5 s is fine: UP again.
    tokio::time::sleep(Duration::from_millis(4_100)).await;
    assert_eq!(ping(format!("{job}/start"), "").await, 200);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(ping(job.clone(), "").await, 200);
    wait_state(&app, "backup", "up").await;

    // A run still going 2 s after its start hangs: DOWN without any other ping.
    assert_eq!(ping(format!("{job}/start"), "").await, 200);
    assert_eq!(
        next_error(&app, "backup", 2).await,
        "the run is still going 2 s after it started"
    );
    assert_eq!(state(&app, "backup").await, "down");

    // It ends at last, over 4 s after the previous run: UP. A run right after it loops:
    // too soon after the previous one.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(ping(job.clone(), "").await, 200);
    wait_state(&app, "backup", "up").await;
    assert_eq!(ping(format!("{job}/0"), "").await, 200);
    let looping = next_error(&app, "backup", 3).await;
    assert!(
        looping.starts_with("pinged 0.") && looping.ends_with("sooner than every 4 s"),
        "{looping}"
    );
    let downs = events(&hook, "backup")
        .iter()
        .filter(|e| *e == "down")
        .count();
    assert!(downs >= 1, "{:?}", events(&hook, "backup"));

    // Bounds that contradict each other are refused, naming the field.
    for (bad, field) in [
        (json!({"min_runtime": 5, "max_runtime": 5}), "max_runtime"),
        (json!({"period": 60, "min_interval": 60}), "min_interval"),
        (json!({"max_runtime": 0}), "max_runtime"),
    ] {
        let mut body = json!({"kind": "heartbeat", "period": 600});
        body.as_object_mut()
            .unwrap()
            .extend(bad.as_object().unwrap().clone());
        let (status, problem) = app.put("/api/v1/checks/bounded", &body).await;
        assert_eq!(status, 422, "{problem}");
        assert!(
            crate::helpers::error_fields(&problem).contains(&field.to_owned()),
            "{problem}"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_on_a_schedule_is_due_by_each_runs_time_and_grace() {
    let (app, hook, _dir) = app_with_hook().await;
    let body = json!({"kind": "heartbeat", "schedule": "* * * * *", "tz": "Europe/Paris",
        "grace": 2});
    let (status, created) = app.put("/api/v1/checks/minutely", &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["check"]["schedule"], "* * * * *");
    assert_eq!(created["check"]["tz"], "Europe/Paris");
    assert_eq!(created["check"]["period"], Value::Null);
    let job = created["check"]["ping_url"].as_str().unwrap().to_owned();

    // The job runs: UP. No ping for the next minute's run: DOWN once its 2 s grace is over.
    let ping = app.client.post(app.url(&job)).send().await.unwrap();
    assert_eq!(ping.status().as_u16(), 200);
    wait_state(&app, "minutely", "up").await;
    wait_for("the missed run", 130, async || {
        (state(&app, "minutely").await == "down").then_some(())
    })
    .await;
    let (_, page) = app.get("/api/v1/checks/minutely/results?limit=1").await;
    let late = &page["results"][0];
    assert_eq!(
        late["error"],
        "no ping for a run of \"* * * * *\" (Europe/Paris) by its time and 2 s grace"
    );
    // Judged at the run's time and grace, not a period after the ping.
    let at = Timestamp::parse_rfc3339(late["at"].as_str().unwrap()).unwrap();
    let second = (at.0 / 1_000) % 60;
    assert!(
        (2..6).contains(&second),
        "judged at second {second} of its minute"
    );
    let ping = app.client.post(app.url(&job)).send().await.unwrap();
    assert_eq!(ping.status().as_u16(), 200);
    wait_state(&app, "minutely", "up").await;
    // The RECOVERED is decided with the state, and delivered after it.
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    assert_eq!(events(&hook, "minutely"), ["down", "recovered"]);

    for (bad, field) in [
        (json!({"schedule": "* * * * *", "period": 60}), "schedule"),
        (json!({"schedule": "61 * * * *"}), "schedule"),
        (json!({"schedule": "0 2 * *"}), "schedule"),
        (json!({"schedule": "0 2 * * *", "tz": "Mars/Olympus"}), "tz"),
        (json!({"period": 60, "tz": "UTC"}), "tz"),
        (
            json!({"schedule": "*/5 * * * *", "min_interval": 300}),
            "min_interval",
        ),
        (json!({}), "period"),
    ] {
        let mut body = json!({"kind": "heartbeat"});
        body.as_object_mut()
            .unwrap()
            .extend(bad.as_object().unwrap().clone());
        let (status, problem) = app.put("/api/v1/checks/scheduled", &body).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert!(
            crate::helpers::error_fields(&problem).contains(&field.to_owned()),
            "{body}: {problem}"
        );
    }
    app.stop().await;
}
