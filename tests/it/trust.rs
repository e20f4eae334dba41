//! Trust under faults, against the real binary and real sockets: kill -9 with alerts
//! pending, a data directory whose filesystem fills up, the box's own network outage
//! (canaries), a permanent Slack 404, a 429 with Retry-After, Happy Eyeballs past a dead
//! address, and a background task that panics.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::binary::{Process, start, wait_for};
use crate::receivers::HookReceiver;
use crate::targets::{Switchable, Target, http_target};

/// A configuration with one Slack contact, the default for every check.
fn slack_config(slack: &HookReceiver, extra: &str) -> String {
    format!(
        "[alerting]\ndefault_contacts = [\"ops-slack\"]\n\n\
         [notifiers.ops-slack]\nkind = \"slack\"\nwebhook_url = \"{}\"\n\n{extra}",
        slack.url("/slack")
    )
}

/// Registers a check probing `url` every 10 s, re-probed after 1 s while confirming.
async fn register(p: &Process, name: &str, url: &str) {
    let body = json!({"url": url, "check_rate": 10, "retry_interval": 1, "failures_to_confirm": 2});
    let (status, answer) = p.put(&format!("/api/v1/checks/{name}"), &body).await;
    assert_eq!(status, 201, "{answer}");
}

/// What the Slack receiver accepted, as (event word from the title, check) pairs.
fn slack_events(slack: &HookReceiver) -> Vec<String> {
    slack
        .accepted()
        .iter()
        .map(|r| r.body["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn count_with(events: &[String], prefix: &str) -> usize {
    events.iter().filter(|e| e.starts_with(prefix)).count()
}

async fn alerts(p: &Process, query: &str) -> Vec<Value> {
    let (status, list) = p.get(&format!("/api/v1/alerts{query}")).await;
    assert_eq!(status, 200, "{list}");
    list["alerts"].as_array().unwrap().clone()
}

async fn readyz(p: &Process) -> (u16, Value) {
    let response = p.client.get(p.url("/readyz")).send().await.unwrap();
    crate::helpers::status_and_json(response).await
}

async fn wait_all_state(p: &Process, names: &[String], state: &str) {
    for name in names {
        wait_for(&format!("{name} {state}"), 60, async || {
            let (_, check) = p.get(&format!("/api/v1/checks/{name}")).await;
            (check["state"] == state).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_ten_alerts_pending_delivers_each_exactly_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let slack = HookReceiver::slack().await;
    slack.status.store(500, Ordering::SeqCst);
    let target = http_target().await;
    target.status.store(500, Ordering::SeqCst);
    let config = slack_config(&slack, "");

    let p = start(&data, &config).await;
    for i in 0..10 {
        register(&p, &format!("killed-{i}"), &target.url("http", "/status")).await;
    }
    wait_for("10 pending DOWN alerts", 60, async || {
        (alerts(&p, "?status=pending").await.len() == 10).then_some(())
    })
    .await;
    assert!(slack.accepted().is_empty(), "the receiver refused them all");
    p.kill9();

    slack.status.store(200, Ordering::SeqCst);
    let p = start(&data, &config).await;
    wait_for("10 DOWN alerts delivered", 90, async || {
        (slack.accepted().len() >= 10).then_some(())
    })
    .await;
    crate::helpers::outbox_settled(&p.client, &p.url("")).await;
    let events = slack_events(&slack);
    assert_eq!(events.len(), 10, "{events:#?}");
    let mut checks: Vec<&str> = events
        .iter()
        .map(|e| e.split_whitespace().nth(1).unwrap())
        .collect();
    checks.sort_unstable();
    checks.dedup();
    assert_eq!(checks.len(), 10, "one DOWN per check: {events:#?}");
    assert_eq!(count_with(&events, "[DOWN]"), 10);

    let all = alerts(&p, "?limit=1000").await;
    assert_eq!(all.len(), 10, "no alert decided twice: {all:#?}");
    let (_, open) = p.get("/api/v1/incidents?open=true").await;
    let open = open["incidents"].as_array().unwrap();
    let mut incident_checks: Vec<&str> =
        open.iter().map(|i| i["check"].as_str().unwrap()).collect();
    incident_checks.sort_unstable();
    incident_checks.dedup();
    assert_eq!((open.len(), incident_checks.len()), (10, 10), "{open:#?}");
}

/// The data directory's filesystem, in the server's namespaces, filled and freed.
struct SmallDisk {
    data: std::path::PathBuf,
    /// Present while the filler runs; removing it stops the filler.
    flag: std::path::PathBuf,
    filler: Option<std::process::Child>,
}

impl SmallDisk {
    /// Fills the filesystem to the last byte, and keeps taking any byte it frees later (a
    /// shrinking WAL) until `free`.
    fn fill(p: &Process, data: &Path) -> Self {
        let flag = data.with_file_name("keep-full");
        std::fs::write(&flag, b"").unwrap();
        let filler = data.join("filler");
        let script = format!(
            "while [ -e {flag:?} ]; do cat /dev/zero >> {filler:?} 2>/dev/null; sleep 0.005; done"
        );
        let child = p.in_namespace(&script).spawn().unwrap();
        SmallDisk {
            data: data.to_path_buf(),
            flag,
            filler: Some(child),
        }
    }

    fn free(&mut self, p: &Process) {
        let _ = std::fs::remove_file(&self.flag);
        if let Some(mut child) = self.filler.take() {
            child.wait().unwrap();
        }
        let filler = self.data.join("filler");
        let removed = p.in_namespace(&format!("rm {filler:?}")).status().unwrap();
        assert!(removed.success(), "removing the filler");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.flag);
        if let Some(mut child) = self.filler.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A data directory on a 16 MiB filesystem filled to the last byte: SQLite's own "database
/// or disk is full", for anyone who runs the tests (the tmpfs lives in namespaces of the
/// server's own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_loses_no_alert_and_readyz_and_the_watchdog_say_so() {
    let dir = tempfile::tempdir().unwrap();
    full_disk_loses_no_alert(&dir.path().join("data")).await;
}

/// Writes fail, then 10 checks fail: every one is judged DOWN meanwhile, nothing is sent,
/// `/readyz` is 503 and the watchdog is withheld; space freed, each DOWN arrives once.
async fn full_disk_loses_no_alert(data: &Path) {
    let slack = HookReceiver::slack().await;
    let pings = HookReceiver::start().await;
    let target = http_target().await;
    let config = slack_config(
        &slack,
        &format!(
            "[watchdog]\nurl = \"{}\"\ninterval = 5\n\n[database]\nbusy_timeout_ms = 100\n",
            pings.url("/ping")
        ),
    );
    let p = crate::binary::start_on_small_disk(data, &config, 16).await;
    let names: Vec<String> = (0..10).map(|i| format!("disk-{i}")).collect();
    for name in &names {
        register(&p, name, &target.url("http", "/status")).await;
    }
    wait_all_state(&p, &names, "up").await;
    wait_for("a watchdog ping", 30, async || {
        (!pings.received().is_empty()).then_some(())
    })
    .await;

    let mut disk = SmallDisk::fill(&p, data);
    let (_, not_ready) = wait_for("/readyz 503", 60, async || {
        let (status, body) = readyz(&p).await;
        (status == 503).then_some((status, body))
    })
    .await;
    let problems = not_ready["problems"].to_string();
    assert!(
        problems.contains("writing results") && problems.contains("full"),
        "{not_ready}"
    );
    let pings_while_full = pings.received().len();
    let withheld_before = p.log().matches("the watchdog is not pinged").count();
    target.status.store(500, Ordering::SeqCst);
    // Judged (and logged) at once; committed, and so sent, only once writes succeed.
    for name in &names {
        wait_for(&format!("{name} judged DOWN"), 60, async || {
            let line = format!("check={name} from=up to=down");
            p.log().contains(&line).then_some(())
        })
        .await;
    }
    wait_for("the watchdog withholding a ping", 30, async || {
        (p.log().matches("the watchdog is not pinged").count() > withheld_before).then_some(())
    })
    .await;
    assert_eq!(
        pings.received().len(),
        pings_while_full,
        "no watchdog ping while writes fail"
    );
    assert!(
        slack.accepted().is_empty(),
        "nothing committed, nothing sent yet"
    );
    assert_eq!(readyz(&p).await.0, 503);

    disk.free(&p);
    let freed = Instant::now();
    wait_for("10 DOWN alerts after space came back", 60, async || {
        (slack.accepted().len() >= 10).then_some(())
    })
    .await;
    let recovery = freed.elapsed();
    wait_for("/readyz 200", 30, async || {
        (readyz(&p).await.0 == 200).then_some(())
    })
    .await;
    wait_for("the watchdog pings again", 30, async || {
        (pings.received().len() > pings_while_full).then_some(())
    })
    .await;
    crate::helpers::outbox_settled(&p.client, &p.url("")).await;
    let events = slack_events(&slack);
    assert_eq!(count_with(&events, "[DOWN]"), 10, "{events:#?}");
    assert_eq!(events.len(), 10, "each once: {events:#?}");
    let log = p.log();
    let fault_lines = log.matches("writing probe results fails").count();
    assert!(
        (1..=2).contains(&fault_lines),
        "the fault is logged once a minute, not per probe: {fault_lines} lines"
    );
    eprintln!(
        "full disk: {} DOWN alerts caused and delivered, {} thinning events, all delivered {:.1} s after space came back",
        count_with(&events, "[DOWN]"),
        log.matches("oldest plain results thinned").count(),
        recovery.as_secs_f64()
    );
    drop(p);
}

/// A configuration with one canary.
fn canary_config(slack: &HookReceiver, canary: &Switchable) -> String {
    slack_config(
        slack,
        &format!("[monitor]\ncanaries = [\"{}\"]\n", canary.url()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_and_canary_down_together_is_one_offline_and_one_online_alert() {
    let dir = tempfile::tempdir().unwrap();
    let slack = HookReceiver::slack().await;
    let canary = Switchable::start().await;
    let target = Switchable::start().await;
    let p = start(&dir.path().join("data"), &canary_config(&slack, &canary)).await;
    let names: Vec<String> = (0..5).map(|i| format!("offline-{i}")).collect();
    for name in &names {
        register(&p, name, &target.url()).await;
    }
    wait_all_state(&p, &names, "up").await;

    canary.set_up(false);
    target.set_up(false);
    wait_for("the offline alert", 60, async || {
        (count_with(&slack_events(&slack), "[OFFLINE]") == 1).then_some(())
    })
    .await;
    // Failures meanwhile are recorded as the monitor's, for every check.
    for name in &names {
        wait_for("a failure recorded as the monitor's", 60, async || {
            let (_, results) = p.get(&format!("/api/v1/checks/{name}/results")).await;
            results
                .to_string()
                .contains("monitor offline")
                .then_some(())
        })
        .await;
    }
    canary.set_up(true);
    target.set_up(true);
    wait_for("the online alert", 60, async || {
        (count_with(&slack_events(&slack), "[ONLINE]") == 1).then_some(())
    })
    .await;
    crate::helpers::outbox_settled(&p.client, &p.url("")).await;
    let events = slack_events(&slack);
    assert_eq!(
        events.len(),
        2,
        "offline and online, nothing else: {events:#?}"
    );
    for name in &names {
        let (_, check) = p.get(&format!("/api/v1/checks/{name}")).await;
        assert_eq!(check["state"], "up", "{check}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_down_with_the_canary_up_alert_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let slack = HookReceiver::slack().await;
    let canary = Switchable::start().await;
    let target = Switchable::start().await;
    let p = start(&dir.path().join("data"), &canary_config(&slack, &canary)).await;
    let names: Vec<String> = (0..3).map(|i| format!("real-outage-{i}")).collect();
    for name in &names {
        register(&p, name, &target.url()).await;
    }
    wait_all_state(&p, &names, "up").await;

    target.set_up(false);
    wait_for("3 DOWN alerts", 60, async || {
        (count_with(&slack_events(&slack), "[DOWN]") == 3).then_some(())
    })
    .await;
    assert_eq!(count_with(&slack_events(&slack), "[OFFLINE]"), 0);
    wait_all_state(&p, &names, "down").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_404_is_failed_after_one_attempt_and_a_429_waits_for_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let slack = HookReceiver::slack().await;
    slack.status.store(404, Ordering::SeqCst);
    let target: Target = http_target().await;
    target.status.store(500, Ordering::SeqCst);
    let p = start(&dir.path().join("data"), &slack_config(&slack, "")).await;
    register(&p, "gone-hook", &target.url("http", "/status")).await;

    let failed = wait_for("the delivery marked failed", 60, async || {
        alerts(&p, "?status=failed").await.into_iter().next()
    })
    .await;
    let delivery = &failed["deliveries"][0];
    assert_eq!(delivery["attempts"], 1, "{failed}");
    assert!(
        delivery["last_error"].as_str().unwrap().contains("404"),
        "{failed}"
    );
    let failed_seen = Instant::now();
    assert_eq!(slack.received().len(), 1);

    // A 429 with Retry-After: 120 is retried, not before two minutes.
    slack.status.store(429, Ordering::SeqCst);
    *slack.retry_after.lock().unwrap() = Some(120);
    target.status.store(200, Ordering::SeqCst);
    let pending = wait_for("the RECOVERED delivery waiting", 60, async || {
        alerts(&p, "?status=pending")
            .await
            .into_iter()
            .find(|a| a["deliveries"][0]["attempts"] == 1)
    })
    .await;
    let created =
        chrono::DateTime::parse_from_rfc3339(pending["created_at"].as_str().unwrap()).unwrap();
    let next = chrono::DateTime::parse_from_rfc3339(
        pending["deliveries"][0]["next_attempt_at"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(
        next - created >= chrono::TimeDelta::seconds(120),
        "retried after Retry-After: {pending}"
    );
    // Had the 404 been retried with the usual backoff, it would have been within 6 s of the
    // failure (5 s first retry, at most 20 % later): past that, it was never tried again.
    tokio::time::sleep_until((failed_seen + Duration::from_secs(8)).into()).await;
    let downs = slack_events_received(&slack, "[DOWN]");
    assert_eq!(downs, 1, "never tried again");
    let failed_now = alerts(&p, "?status=failed").await;
    let again = failed_now.iter().find(|a| a["id"] == failed["id"]).unwrap();
    assert_eq!(again["deliveries"][0]["attempts"], 1, "{again}");
}

/// How many payloads the receiver got (accepted or not) whose text starts with `prefix`.
fn slack_events_received(slack: &HookReceiver, prefix: &str) -> usize {
    slack
        .received()
        .iter()
        .filter(|r| {
            r.body["text"]
                .as_str()
                .is_some_and(|t| t.starts_with(prefix))
        })
        .count()
}

#[tokio::test]
async fn happy_eyeballs_connects_past_an_address_that_never_answers() {
    use stackwatch::probe::connect::race;
    // A listener whose backlog is full: its SYNs are dropped, so connects hang.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let black_hole = socket.listen(1).unwrap();
    let dead = black_hole.local_addr().unwrap();
    let mut fillers = Vec::new();
    loop {
        let attempt = tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(dead),
        )
        .await;
        match attempt {
            Ok(Ok(stream)) => fillers.push(stream),
            _ => break,
        }
        assert!(fillers.len() < 64, "the backlog never filled");
    }
    let alive = http_target().await;

    // Bounded like a probe: without racing, the first attempt would hang past it.
    let connected = tokio::time::timeout(Duration::from_secs(5), race(&[dead, alive.addr]))
        .await
        .expect("connected within the probe's timeout")
        .expect("the second address answers");
    assert_eq!(connected.addr, alive.addr);
    drop(fillers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_before_the_answer_is_a_reset_however_it_races_the_request() {
    // Accepted, then reset: the reset reaches the prober while it writes the request or
    // while it waits for the answer. Either way it is the connection-level failure the
    // offline rule holds, never "closed before the response was complete".
    let target = Switchable::start().await;
    target.set_up(false);
    let spec = stackwatch::app::probe_once::spec_from_json(json!({"url": target.url()})).unwrap();
    let prober = stackwatch::probe::Prober::new(None, "stackwatch-test").unwrap();
    for _ in 0..200 {
        let outcome = prober.probe(&spec).await;
        let failure = outcome.failure.expect("a reset target is down");
        assert!(failure.is_connection_level(), "{failure}");
    }
}

#[tokio::test]
async fn a_panicking_or_ending_task_is_reported_with_its_name_and_cause() {
    use stackwatch::app::Supervisor;
    let mut supervisor = Supervisor::new();
    let _quiet = supervisor.spawn("quiet", std::future::pending());
    let _scheduler = supervisor.spawn("scheduler", async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        panic!("the plan is corrupt");
    });
    let ended = supervisor.first_ended().await;
    assert_eq!(ended.task, "scheduler");
    assert_eq!(ended.how, "panicked: the plan is corrupt");
    assert_eq!(
        ended.to_string(),
        "the scheduler task panicked: the plan is corrupt"
    );
    let _rollup = supervisor.spawn("rollup", async {});
    let ended = supervisor.first_ended().await;
    assert_eq!(
        (ended.task, ended.how.as_str()),
        ("rollup", "ended unexpectedly")
    );
}
