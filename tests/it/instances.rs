//! Several instances on one PostgreSQL database, each with its own pools as separate
//! processes have: the alert outbox is delivered once however they race for it, what an
//! instance claimed and never sent is taken over when its claim lapses, and a check
//! written through one instance reaches the scheduler of another.

use std::collections::BTreeMap;
use std::time::Duration;

use stackwatch::dispatch::Dispatcher;
use stackwatch::domain::{AlertKind, CheckName, CheckSpec, Timestamp};
use stackwatch::settings::Secret;
use stackwatch::store::{CheckWrite, Store, StoreOptions, Write, WriteMode};

use crate::dispatch::{hook_dispatcher, plain_check, record};
use crate::postgres::empty_database;
use crate::receivers::HookReceiver;

mod away;

/// An instance's store on the database at `url`.
async fn instance(url: &str) -> Store {
    let options = StoreOptions {
        busy_timeout: Duration::from_secs(5),
        read_connections: 2,
    };
    Store::open_postgres(url, "the test database", &options)
        .await
        .unwrap()
}

/// `checks` checks, each with a DOWN alert for `hook` pending since `at`.
async fn pending_alerts(store: &Store, checks: usize, at: i64) {
    let mut writes: Vec<Write> = Vec::new();
    for n in 0..checks {
        let check = plain_check(store, &format!("shared-{n:02}")).await;
        writes.push(record(&check, AlertKind::Down, at, 1));
    }
    store.record(&writes).await.unwrap();
}

/// How many times each alert reached the receiver, by alert id.
fn deliveries_by_alert(receiver: &HookReceiver) -> BTreeMap<i64, usize> {
    let mut counts = BTreeMap::new();
    for received in receiver.accepted() {
        let id = received.body["alert_id"].as_i64().unwrap();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn two_instances_racing_for_the_outbox_deliver_every_alert_once() {
    let url = empty_database().await;
    let (one, two) = (instance(&url).await, instance(&url).await);
    let receiver = HookReceiver::start().await;
    let t0 = 1_000 * 3_600_000;
    pending_alerts(&one, 40, t0).await;

    // Both deliver at the same moment, round after round, until neither finds work.
    let drain = |d: Dispatcher| async move {
        let mut handled = 0;
        loop {
            let round = d.deliver_pending_once(Timestamp(t0 + 1_000)).await.unwrap();
            if round.handled() == 0 {
                return handled;
            }
            handled += round.handled();
        }
    };
    let (a, b) = tokio::join!(
        drain(hook_dispatcher(one.clone(), &receiver)),
        drain(hook_dispatcher(two.clone(), &receiver))
    );
    assert_eq!(a + b, 40, "one instance sent {a}, the other {b}");
    let counts = deliveries_by_alert(&receiver);
    assert_eq!(counts.len(), 40);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    assert_eq!(receiver.received().len(), 40, "nothing sent twice");
}

#[tokio::test]
async fn deliveries_an_instance_claimed_and_never_sent_are_taken_over_when_the_claim_lapses() {
    let url = empty_database().await;
    let receiver = HookReceiver::start().await;
    let t0 = 1_000 * 3_600_000;
    let survivor = instance(&url).await;
    pending_alerts(&survivor, 3, t0).await;

    // An instance claims the three deliveries, then dies before sending any.
    let dead = instance(&url).await;
    let claimed = dead
        .claim_due_deliveries(Timestamp(t0), 100, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    dead.close().await;

    // While the claims hold, the other instance sends nothing; as each lapses (30 s per
    // place in the contact's queue), it sends that one.
    let other = hook_dispatcher(survivor.clone(), &receiver);
    let at = |s: i64| Timestamp(t0 + s * 1_000);
    assert_eq!(
        other.deliver_pending_once(at(29)).await.unwrap().handled(),
        0
    );
    assert!(receiver.received().is_empty());
    assert_eq!(
        other.deliver_pending_once(at(30)).await.unwrap().delivered,
        1
    );
    assert_eq!(
        other.deliver_pending_once(at(90)).await.unwrap().delivered,
        2
    );
    let counts = deliveries_by_alert(&receiver);
    assert_eq!(counts.len(), 3);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    assert_eq!(
        other.deliver_pending_once(at(600)).await.unwrap().handled(),
        0
    );
}

/// A check as the API would store it from `body`.
fn spec(body: serde_json::Value) -> CheckSpec {
    let serde_json::Value::Object(fields) = body else {
        panic!("not an object: {body}");
    };
    let mut form = stackwatch::domain::Form::new(fields);
    CheckSpec::read(&mut form, None).expect("a valid check")
}

/// Another instance writes a check (its store on the shared database; it has no
/// scheduler, so every probe the target sees is this instance's): the running instance
/// probes it, then probes it with its new address, each within seconds, though its own API
/// was never told.
#[tokio::test]
async fn a_check_written_through_another_instance_is_probed_with_its_new_settings() {
    let url = empty_database().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::helpers::test_settings(dir.path());
    settings.database.url = Some(Secret::new(&url));
    let running = crate::helpers::spawn_with(settings).await;
    let writer = instance(&url).await;
    let target = HookReceiver::start().await;
    let name: CheckName = "followed".parse().unwrap();
    let write = |path: &str| CheckWrite {
        spec: spec(serde_json::json!({"url": target.url(path), "check_rate": 10})),
        paused: None,
    };
    let now = || WriteMode::commit(Timestamp::now());
    writer
        .upsert_check(&name, write("/first"), now())
        .await
        .unwrap();
    let probed = async |path: &str| {
        crate::binary::wait_for(&format!("a probe of {path}"), 60, async || {
            target
                .received()
                .iter()
                .any(|r| r.path == path)
                .then_some(())
        })
        .await
    };
    probed("/first").await;
    writer
        .upsert_check(&name, write("/second"), now())
        .await
        .unwrap();
    probed("/second").await;
    running.stop().await;
}

/// Probes the instance at `metrics` (its `/metrics` URL) finished since it started.
async fn probes_at(metrics: String) -> u64 {
    let body = crate::helpers::text_as(&metrics, crate::helpers::ADMIN_TOKEN).await;
    body.lines()
        .filter(|l| l.starts_with("stackwatch_probes_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// Waits until the instances whose `/metrics` are at `one` and `two` have both probed.
async fn both_probing(one: String, two: String) {
    crate::binary::wait_for("both instances probing", 90, async || {
        (probes_at(one.clone()).await > 0 && probes_at(two.clone()).await > 0).then_some(())
    })
    .await;
}

/// An instance of the application on the database at `url`, with a 3 s lease.
async fn serving(url: &str) -> crate::helpers::TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::helpers::test_settings(dir.path());
    settings.database.url = Some(Secret::new(url));
    settings.database.lease_s = 3;
    let mut app = crate::helpers::spawn_with(settings).await;
    app.keep(dir);
    app
}

/// Two instances share twenty checks out (each probes some), and when one stops, the
/// other probes every check, the stopped one's included.
#[tokio::test]
async fn two_instances_share_the_checks_and_one_takes_over_when_the_other_stops() {
    let url = empty_database().await;
    let (one, two) = (serving(&url).await, serving(&url).await);
    let target = HookReceiver::start().await;
    for n in 0..20 {
        let body = serde_json::json!({"url": target.url(&format!("/c{n}")), "check_rate": 10});
        let (status, answer) = one.put(&format!("/api/v1/checks/shared-{n}"), &body).await;
        assert_eq!(status, 201, "{answer}");
    }
    both_probing(one.url("/metrics"), two.url("/metrics")).await;

    one.stop().await;
    let at_stop = per_path(&target);
    every_check_probed_since(&target, &at_stop, "the stop").await;
    two.stop().await;
}

/// Probes the target received, by path.
fn per_path(target: &HookReceiver) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for received in target.received() {
        *counts.entry(received.path).or_default() += 1;
    }
    counts
}

/// Waits until each of the twenty checks `/c0` … `/c19` was probed again since `before`.
async fn every_check_probed_since(
    target: &HookReceiver,
    before: &BTreeMap<String, usize>,
    what: &str,
) {
    crate::binary::wait_for(
        &format!("every check probed after {what}"),
        90,
        async || {
            let now = per_path(target);
            (0..20)
                .all(|n| {
                    let path = format!("/c{n}");
                    now.get(&path).copied().unwrap_or(0) > before.get(&path).copied().unwrap_or(0)
                })
                .then_some(())
        },
    )
    .await;
}

/// The rollup job runs on one instance at a time: while one has the turn, another's run
/// is skipped; once it ends, the other may run it. A turn dies with its connection.
#[tokio::test]
async fn the_rollup_job_runs_on_one_instance_at_a_time() {
    let url = empty_database().await;
    let (one, two) = (instance(&url).await, instance(&url).await);
    let turn = one.job_turn().await.unwrap().expect("the first asks first");
    assert!(two.job_turn().await.unwrap().is_none(), "one runs it now");
    let retention = stackwatch::store::Retention {
        raw_days: 1,
        hourly_days: 1,
        daily_days: 1,
    };
    let skipped = stackwatch::monitor::rollup_once(&two, &retention, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(skipped, Default::default());
    turn.end().await;
    let turn = two.job_turn().await.unwrap().expect("free again");
    drop(turn);
    crate::binary::wait_for("a dropped turn's connection let go", 30, async || {
        one.job_turn().await.unwrap().map(|_| ())
    })
    .await;
}

/// An instance of the application on the database at `url` with a 3 s lease, alerting
/// `hook`.
async fn serving_with_hook(url: &str, hook: &HookReceiver) -> crate::helpers::TestApp {
    serving_with_canaries(url, hook, Vec::new()).await
}

/// As [`serving_with_hook`], judging its own network by `canaries`.
async fn serving_with_canaries(
    url: &str,
    hook: &HookReceiver,
    canaries: Vec<String>,
) -> crate::helpers::TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings =
        crate::helpers::with_webhook(crate::helpers::test_settings(dir.path()), hook);
    settings.database.url = Some(Secret::new(url));
    settings.database.lease_s = 3;
    settings.monitor.canaries = canaries;
    let mut app = crate::helpers::spawn_with(settings).await;
    app.keep(dir);
    app
}

/// How many instances hold a live lease on some shard.
async fn holders(url: &str) -> i64 {
    use sqlx::Connection as _;
    let mut db = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar("SELECT COUNT(DISTINCT holder) FROM shard_leases WHERE expires_at > $1")
        .bind(Timestamp::now().0)
        .fetch_one(&mut db)
        .await
        .unwrap()
}

/// A heartbeat ping may land on any instance: it is logged, and judged once, so ten
/// heartbeats failed through one instance and recovered through the other (each instance
/// holding some of them) each alert DOWN and RECOVERED once and keep one result per ping.
#[tokio::test]
async fn pings_to_either_instance_take_effect_once() {
    let url = empty_database().await;
    let hook = HookReceiver::start().await;
    let one = serving_with_hook(&url, &hook).await;
    let two = serving_with_hook(&url, &hook).await;
    let mut pings = Vec::new();
    for n in 0..10 {
        let body = serde_json::json!({"kind": "heartbeat", "period": 600});
        let (status, created) = one.put(&format!("/api/v1/checks/beat-{n}"), &body).await;
        assert_eq!(status, 201, "{created}");
        pings.push(created["check"]["ping_url"].as_str().unwrap().to_owned());
    }
    crate::binary::wait_for("both instances holding shards", 60, async || {
        (holders(&url).await == 2).then_some(())
    })
    .await;
    let client = reqwest::Client::new();
    let ping = async |app: &crate::helpers::TestApp, path: String| {
        let answer = client.post(app.url(&path)).body("").send().await.unwrap();
        assert_eq!(answer.status(), 200, "{path}");
    };
    let state =
        async |n: usize| one.get(&format!("/api/v1/checks/beat-{n}")).await.1["state"].clone();
    for path in &pings {
        ping(&two, format!("{path}/fail")).await;
    }
    let every_one = async |want: &str| {
        crate::binary::wait_for(&format!("every heartbeat {want}"), 60, async || {
            for n in 0..10 {
                if state(n).await != want {
                    return None;
                }
            }
            Some(())
        })
        .await;
    };
    every_one("down").await;
    for path in &pings {
        ping(&one, path.clone()).await;
    }
    every_one("up").await;
    crate::binary::wait_for("every RECOVERED delivered", 60, async || {
        (hook
            .accepted()
            .iter()
            .filter(|r| r.body["event"] == "recovered")
            .count()
            >= 10)
            .then_some(())
    })
    .await;
    for n in 0..10 {
        let check = format!("beat-{n}");
        let events: Vec<String> = hook
            .accepted()
            .iter()
            .filter(|r| r.body["check"] == check.as_str())
            .map(|r| r.body["event"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(events, ["down", "recovered"], "{check}");
        let (_, page) = two.get(&format!("/api/v1/checks/{check}/results")).await;
        assert_eq!(
            page["results"].as_array().unwrap().len(),
            2,
            "{check}: {page}"
        );
    }
    one.stop().await;
    two.stop().await;
}

/// A PostgreSQL server of the test's own (`scripts/postgres-cluster`), which it may stop
/// and start again; stopped and removed when dropped.
struct OwnServer {
    dir: tempfile::TempDir,
    url: String,
}

impl OwnServer {
    fn cluster(&self, command: &str) -> String {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres-cluster");
        let out = std::process::Command::new(script)
            .arg(command)
            .arg(self.dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{command}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn start() -> Self {
        let mut server = Self {
            dir: tempfile::tempdir().unwrap(),
            url: String::new(),
        };
        server.url = server.cluster("start");
        server
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.cluster("stop");
    }
}

/// `/readyz`: its status and its problems.
async fn readyz(app: &crate::helpers::TestApp) -> (u16, Vec<String>) {
    let answer = reqwest::get(app.url("/readyz")).await.unwrap();
    let status = answer.status().as_u16();
    let body: serde_json::Value = answer.json().await.unwrap();
    let problems = body["problems"]
        .as_array()
        .map(|p| p.iter().map(|p| p.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    (status, problems)
}

/// PostgreSQL stops for 30 s under a running instance: it goes on probing, `/readyz` says
/// that results cannot be written, a check that goes DOWN meanwhile is alerted once the
/// database is back, the results of the outage are kept, and the RECOVERED after it goes
/// out once too.
#[tokio::test]
async fn an_instance_goes_on_probing_while_postgresql_is_stopped_and_loses_nothing() {
    let server = OwnServer::start();
    let hook = HookReceiver::start().await;
    let target = HookReceiver::start().await;
    let app = serving_with_hook(&server.url, &hook).await;
    let body = serde_json::json!({
        "url": target.url("/outage"), "check_rate": 10, "retry_interval": 2,
        "failures_to_confirm": 2,
    });
    let (status, answer) = app.put("/api/v1/checks/outage", &body).await;
    assert_eq!(status, 201, "{answer}");
    crate::binary::wait_for("the check up", 60, async || {
        (app.get("/api/v1/checks/outage").await.1["state"] == "up").then_some(())
    })
    .await;

    server.cluster("stop");
    let stopped = std::time::Instant::now();
    let stopped_at = chrono::Utc::now();
    target
        .status
        .store(500, std::sync::atomic::Ordering::SeqCst);
    let probes_before = target.received().len();
    crate::binary::wait_for(
        "three probes while the database is stopped",
        60,
        async || (target.received().len() >= probes_before + 3).then_some(()),
    )
    .await;
    let (status, problems) = readyz(&app).await;
    assert_eq!(status, 503, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("writing results to the database fails since")),
        "{problems:?}"
    );
    assert!(
        hook.accepted().is_empty(),
        "nothing could be recorded to send"
    );
    // The outage lasts 30 s, as the scenario asks (a failover takes about as long): the
    // time is the fault being made, not a wait for something to happen.
    tokio::time::sleep(Duration::from_secs(30).saturating_sub(stopped.elapsed())).await;
    let resumed_at = chrono::Utc::now();
    server.cluster("resume");

    crate::binary::wait_for("the DOWN of the outage delivered", 90, async || {
        (!hook.accepted().is_empty()).then_some(())
    })
    .await;
    crate::binary::wait_for("/readyz ready again", 60, async || {
        (readyz(&app).await.0 == 200).then_some(())
    })
    .await;
    let (_, page) = app.get("/api/v1/checks/outage/results?limit=100").await;
    let failed_in_outage = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["up"] == false)
        .count();
    assert!(
        failed_in_outage >= 3,
        "the outage's probes are kept: {page}"
    );
    let (_, check) = app.get("/api/v1/checks/outage").await;
    assert_eq!(check["state"], "down", "{check}");

    target
        .status
        .store(200, std::sync::atomic::Ordering::SeqCst);
    crate::binary::wait_for("the RECOVERED delivered", 90, async || {
        (hook.accepted().len() >= 2).then_some(())
    })
    .await;
    let events: Vec<String> = hook
        .accepted()
        .iter()
        .map(|r| r.body["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["down", "recovered"]);
    // The DOWN was raised while the database was stopped, and sent once it was back.
    let (_, alerts) = app.get("/api/v1/alerts?check=outage").await;
    let down = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["event"] == "down")
        .unwrap()
        .clone();
    let raised = chrono::DateTime::parse_from_rfc3339(down["created_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert!(
        stopped_at < raised && raised < resumed_at,
        "raised {raised}, stopped {stopped_at}, resumed {resumed_at}"
    );
    app.stop().await;
}

/// The stack `stack` of `count` checks probing `target` at `/{prefix}{n}`, every 10 s,
/// DOWN after two failures 2 s apart, written through `app`.
async fn put_stack(
    app: &crate::binary::Process,
    stack: &str,
    prefix: &str,
    count: usize,
    target: &HookReceiver,
) {
    let checks: Vec<serde_json::Value> = (0..count)
        .map(|n| {
            serde_json::json!({
                "name": format!("{prefix}{n}"), "url": target.url(&format!("/{prefix}{n}")),
                "check_rate": 10, "retry_interval": 2, "failures_to_confirm": 2,
            })
        })
        .collect();
    let (status, answer) = app
        .put(
            &format!("/api/v1/stacks/{stack}"),
            &serde_json::json!({ "checks": checks }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
}

/// The events the hook accepted for each check, in order.
fn accepted_events(hook: &HookReceiver) -> BTreeMap<String, Vec<String>> {
    let mut events: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for received in hook.accepted() {
        let check = received.body["check"].as_str().unwrap().to_owned();
        let event = received.body["event"].as_str().unwrap().to_owned();
        events.entry(check).or_default().push(event);
    }
    events
}

/// The longest any of these paths went without a probe after `since`, up to now.
fn longest_gap(target: &HookReceiver, paths: &[String], since: std::time::Instant) -> Duration {
    let received = target.received();
    let now = std::time::Instant::now();
    paths
        .iter()
        .map(|path| {
            let mut last = since;
            let mut gap = Duration::ZERO;
            for at in received
                .iter()
                .filter(|r| &r.path == path && r.at > since)
                .map(|r| r.at)
            {
                gap = gap.max(at - last);
                last = at;
            }
            gap.max(now - last)
        })
        .max()
        .unwrap_or_default()
}

/// Two real processes, 200 checks, a webhook receiver. Twenty checks go DOWN while the
/// receiver refuses every alert, and one process is killed with SIGKILL with those
/// deliveries pending: the other probes every check on, delivers each DOWN once when the
/// receiver comes back and each RECOVERED once after, and each outage is one incident.
/// The killed one started again gets its share of the checks back.
#[tokio::test]
async fn kill_9_of_an_instance_with_alerts_pending_loses_and_doubles_nothing() {
    let url = empty_database().await;
    let hook = HookReceiver::start().await;
    let (steady, failing) = (HookReceiver::start().await, HookReceiver::start().await);
    let (dir_one, dir_two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Each alert alone and no ceiling: the test counts the deliveries of every alert.
    let config = format!(
        "[database]\nurl = {url:?}\nlease_s = 3\n\n[alerting]\ndefault_contacts = [\"pager\"]\n\
         group_by = \"none\"\nmax_per_minute = 10000\n\n\
         [notifiers.pager]\nkind = \"webhook\"\nurl = {:?}\n",
        hook.url("/hook")
    );
    let one = crate::binary::start(&dir_one.path().join("data"), &config).await;
    let two = crate::binary::start(&dir_two.path().join("data"), &config).await;
    put_stack(&one, "steady", "s", 180, &steady).await;
    put_stack(&two, "failing", "f", 20, &failing).await;
    both_probing(one.url("/metrics"), two.url("/metrics")).await;

    hook.status.store(503, std::sync::atomic::Ordering::SeqCst);
    failing
        .status
        .store(500, std::sync::atomic::Ordering::SeqCst);
    let downs_refused = async || {
        let checks: std::collections::BTreeSet<String> = hook
            .received()
            .iter()
            .filter(|r| r.body["event"] == "down")
            .map(|r| r.body["check"].as_str().unwrap().to_owned())
            .collect();
        (checks.len() == 20).then_some(())
    };
    crate::binary::wait_for("twenty DOWN alerts refused and pending", 90, downs_refused).await;
    assert!(hook.accepted().is_empty());
    let killed = std::time::Instant::now();
    one.kill9();
    hook.status.store(200, std::sync::atomic::Ordering::SeqCst);

    crate::binary::wait_for("every DOWN delivered", 180, async || {
        let events = accepted_events(&hook);
        (events.len() == 20 && events.values().all(|e| e.contains(&"down".to_owned())))
            .then_some(())
    })
    .await;
    failing
        .status
        .store(200, std::sync::atomic::Ordering::SeqCst);
    crate::binary::wait_for("every RECOVERED delivered", 120, async || {
        let events = accepted_events(&hook);
        events
            .values()
            .all(|e| e.contains(&"recovered".to_owned()))
            .then_some(())
    })
    .await;
    let steady_paths: Vec<String> = (0..180).map(|n| format!("/s{n}")).collect();
    let gap = longest_gap(&steady, &steady_paths, killed);
    let events = accepted_events(&hook);
    assert_eq!(events.len(), 20, "{events:?}");
    for (check, events) in &events {
        assert_eq!(events, &["down", "recovered"], "{check}");
    }
    let mut ids: Vec<i64> = hook
        .accepted()
        .iter()
        .map(|r| r.body["alert_id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 40, "each alert delivered once");
    let incidents: Vec<(String, i64, i64)> = {
        use sqlx::Connection as _;
        let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query_as(
            "SELECT check_name, COUNT(*), COUNT(resolved_at) FROM incidents \
             GROUP BY check_name ORDER BY check_name",
        )
        .fetch_all(&mut db)
        .await
        .unwrap()
    };
    assert_eq!(incidents.len(), 20, "{incidents:?}");
    assert!(
        incidents
            .iter()
            .all(|(_, n, resolved)| (*n, *resolved) == (1, 1)),
        "{incidents:?}"
    );
    let steady_probed = per_path(&steady);
    assert!(
        steady_paths.iter().all(|p| steady
            .received()
            .iter()
            .any(|r| &r.path == p && r.at > killed)),
        "every steady check probed after the kill: {steady_probed:?}"
    );
    eprintln!(
        "kill -9 with 20 DOWN alerts pending (lease 3 s, rate 10 s): 40 alerts delivered \
         once each; the longest a steady check went unprobed after the kill: {:.1} s",
        gap.as_secs_f64()
    );

    // Started again, the killed one takes its share back: 32 shards each.
    let one = crate::binary::start(&dir_one.path().join("data"), &config).await;
    crate::binary::wait_for("the shards shared out again", 60, async || {
        use sqlx::Connection as _;
        let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
        let shares: Vec<i64> = sqlx::query_scalar(
            "SELECT COUNT(*) FROM shard_leases WHERE expires_at > $1 GROUP BY holder",
        )
        .bind(Timestamp::now().0)
        .fetch_all(&mut db)
        .await
        .unwrap();
        (shares == [32, 32]).then_some(())
    })
    .await;
    let before = probes_at(one.url("/metrics")).await;
    crate::binary::wait_for("the restarted instance probing", 60, async || {
        (probes_at(one.url("/metrics")).await > before).then_some(())
    })
    .await;
    drop((one, two));
}

/// A maintenance window written through one instance silences the checks every instance
/// holds: ten checks of the stack fail from their first probe, each is confirmed DOWN by
/// whichever instance holds it, and nobody is alerted. The window reaches the other
/// instance through the change log before the checks do.
#[tokio::test]
async fn a_window_written_through_one_instance_silences_the_checks_the_others_hold() {
    let url = empty_database().await;
    let hook = HookReceiver::start().await;
    let target = HookReceiver::start().await;
    target
        .status
        .store(500, std::sync::atomic::Ordering::SeqCst);
    let one = serving_with_hook(&url, &hook).await;
    let two = serving_with_hook(&url, &hook).await;
    crate::binary::wait_for("both instances holding shards", 60, async || {
        (holders(&url).await == 2).then_some(())
    })
    .await;
    let window = serde_json::json!({"scope": "stack", "target": "deploying", "duration": 600});
    let answer = reqwest::Client::new()
        .post(two.url("/api/v1/maintenance"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .json(&window)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    for n in 0..10 {
        let body = serde_json::json!({
            "url": target.url(&format!("/w{n}")), "stack": "deploying", "check_rate": 10,
            "retry_interval": 1, "failures_to_confirm": 2,
        });
        let (status, created) = two.put(&format!("/api/v1/checks/held-{n}"), &body).await;
        assert_eq!(status, 201, "{created}");
    }
    // Confirmed DOWN (health 2) in the database, where the alert would have been written
    // in the same transaction.
    let down = async || {
        use sqlx::Connection as _;
        let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
        let down: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM check_state WHERE health = 2")
            .fetch_one(&mut db)
            .await
            .unwrap();
        let alerts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts")
            .fetch_one(&mut db)
            .await
            .unwrap();
        (down == 10).then_some(alerts)
    };
    let alerts = crate::binary::wait_for("every check confirmed DOWN", 60, down).await;
    assert_eq!(alerts, 0, "nobody alerted inside the window");
    assert!(hook.received().is_empty());
    for n in 0..10 {
        let (_, check) = one.get(&format!("/api/v1/checks/held-{n}")).await;
        assert_eq!(check["state"], "maintenance", "{check}");
    }
    one.stop().await;
    two.stop().await;
}

/// The offline rule is each instance's own: an instance whose canaries all fail (as if it
/// had lost its network) records the connection failures of the checks it holds as its
/// own — no DOWN — and says it is offline once, while the other instance, whose canary
/// answers, confirms the checks it holds DOWN.
#[tokio::test]
async fn an_instance_cut_off_marks_none_of_its_checks_down_and_the_other_marks_its_own() {
    let url = empty_database().await;
    let hook = HookReceiver::start().await;
    let canary = HookReceiver::start().await;
    let cut_off = serving_with_canaries(&url, &hook, vec!["http://127.0.0.1:9/".to_owned()]).await;
    let online = serving_with_canaries(&url, &hook, vec![canary.url("/")]).await;
    crate::binary::wait_for("both instances holding shards", 60, async || {
        (holders(&url).await == 2).then_some(())
    })
    .await;
    for n in 0..20 {
        // Nothing listens on port 9: every probe's connection is refused.
        let body = serde_json::json!({
            "url": format!("http://127.0.0.1:9/c{n}"), "check_rate": 10,
            "retry_interval": 2, "failures_to_confirm": 2,
        });
        let (status, created) = online.put(&format!("/api/v1/checks/cut-{n}"), &body).await;
        assert_eq!(status, 201, "{created}");
    }
    // Each check ends either DOWN (held by the instance online) or with its failures
    // recorded as the monitor's (held by the one cut off).
    let judged = async |n: usize| {
        let (_, check) = online.get(&format!("/api/v1/checks/cut-{n}")).await;
        let (_, results) = online.get(&format!("/api/v1/checks/cut-{n}/results")).await;
        let offline = results.to_string().contains("monitor offline");
        (check["state"] == "down", offline)
    };
    let outcomes = crate::binary::wait_for("every check judged by its holder", 90, async || {
        let mut outcomes = Vec::new();
        for n in 0..20 {
            let (down, offline) = judged(n).await;
            if !down && !offline {
                return None;
            }
            outcomes.push((down, offline));
        }
        Some(outcomes)
    })
    .await;
    assert!(
        outcomes.iter().all(|(down, offline)| down != offline),
        "{outcomes:?}"
    );
    let downs = outcomes.iter().filter(|(down, _)| *down).count();
    assert!(
        (1..20).contains(&downs),
        "both instances hold some: {outcomes:?}"
    );
    crate::binary::wait_for("the cut-off instance's offline alert", 60, async || {
        hook.accepted()
            .iter()
            .any(|r| r.body["event"] == "offline")
            .then_some(())
    })
    .await;
    crate::binary::wait_for("a DOWN for each check confirmed DOWN", 60, async || {
        let down_alerts = hook
            .accepted()
            .iter()
            .filter(|r| r.body["event"] == "down")
            .count();
        (down_alerts == downs).then_some(())
    })
    .await;
    let offline_alerts = hook
        .accepted()
        .iter()
        .filter(|r| r.body["event"] == "offline")
        .count();
    assert_eq!(offline_alerts, 1);
    cut_off.stop().await;
    online.stop().await;
}

/// An agent's results may reach any instance (through a load balancer): they are logged
/// and judged by the instance holding the check, once. Two failures pushed one through
/// each instance confirm the check DOWN (whichever holds it, one came through the other),
/// and every result is kept once, with its location.
#[tokio::test]
async fn an_agent_s_results_through_either_instance_count_once() {
    let url = empty_database().await;
    let hook = HookReceiver::start().await;
    let token = "agent-token-for-fra-0123456789";
    let start = async || {
        let dir = tempfile::tempdir().unwrap();
        let mut settings =
            crate::helpers::with_webhook(crate::helpers::test_settings(dir.path()), &hook);
        settings.database.url = Some(Secret::new(&url));
        settings.database.lease_s = 3;
        settings.auth.agent_tokens = [("fra".parse().unwrap(), Secret::new(token))].into();
        let mut app = crate::helpers::spawn_with(settings).await;
        app.keep(dir);
        app
    };
    let one = start().await;
    let two = start().await;
    let body = serde_json::json!({"url": "http://127.0.0.1:9/", "locations": ["fra"]});
    let (status, created) = one.put("/api/v1/checks/shop", &body).await;
    assert_eq!(status, 201, "{created}");
    crate::binary::wait_for("both instances holding shards", 60, async || {
        (holders(&url).await == 2).then_some(())
    })
    .await;
    let pulled: serde_json::Value = two
        .client
        .get(two.url("/api/v1/agent/checks"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = pulled["checks"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{pulled}"));
    let push = async |app: &crate::helpers::TestApp, at: i64, up: bool| {
        let failure = if up {
            serde_json::Value::Null
        } else {
            serde_json::json!({"kind": "connection_refused"})
        };
        let outcome = serde_json::json!({"started_at": at, "status": null, "cert_not_after": null,
            "failure": failure, "timings": {"dns_ms": null, "connect_ms": null, "lost": null,
            "tls_ms": null, "ttfb_ms": null, "total_ms": 1}});
        let response = app
            .client
            .post(app.url("/api/v1/agent/results"))
            .bearer_auth(token)
            .json(&serde_json::json!({"results": [{"check": id, "outcome": outcome}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    };
    let state = async || one.get("/api/v1/checks/shop").await.1["state"].clone();
    let now = Timestamp::now().0;
    push(&one, now - 3_000, false).await;
    push(&two, now - 2_000, false).await;
    crate::binary::wait_for("the check DOWN", 30, async || {
        (state().await == "down").then_some(())
    })
    .await;
    push(&two, now - 1_000, true).await;
    crate::binary::wait_for("the check UP", 30, async || {
        (state().await == "up").then_some(())
    })
    .await;
    let (_, page) = two.get("/api/v1/checks/shop/results?location=fra").await;
    assert_eq!(page["results"].as_array().unwrap().len(), 3, "{page}");
    crate::helpers::outbox_settled(&one.client, &one.url("")).await;
    let events: Vec<String> = hook
        .accepted()
        .iter()
        .map(|r| r.body["event"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(events, ["down", "recovered"]);
    one.stop().await;
    two.stop().await;
}
