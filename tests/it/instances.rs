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
    let body = reqwest::Client::new()
        .get(metrics)
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    body.lines()
        .filter(|l| l.starts_with("stackwatch_probes_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
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
    crate::binary::wait_for("both instances probing", 90, async || {
        (probes_at(one.url("/metrics")).await > 0 && probes_at(two.url("/metrics")).await > 0)
            .then_some(())
    })
    .await;

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

/// Two real processes share the checks; one is killed with SIGKILL (no shutdown, its
/// leases not let go): once they lapse, the other probes every check, the dead one's
/// included.
#[tokio::test]
async fn after_kill_9_of_one_instance_the_other_probes_its_checks() {
    let url = empty_database().await;
    let (dir_one, dir_two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = format!("[database]\nurl = {url:?}\nlease_s = 3\n");
    let one = crate::binary::start(&dir_one.path().join("data"), &config).await;
    let two = crate::binary::start(&dir_two.path().join("data"), &config).await;
    let target = HookReceiver::start().await;
    for n in 0..20 {
        let body = serde_json::json!({"url": target.url(&format!("/c{n}")), "check_rate": 10});
        let (status, answer) = one.put(&format!("/api/v1/checks/shared-{n}"), &body).await;
        assert_eq!(status, 201, "{answer}");
    }
    crate::binary::wait_for("both instances probing", 90, async || {
        (probes_at(one.url("/metrics")).await > 0 && probes_at(two.url("/metrics")).await > 0)
            .then_some(())
    })
    .await;
    let at_kill = per_path(&target);
    let killed = std::time::Instant::now();
    one.kill9();
    every_check_probed_since(&target, &at_kill, "the kill").await;
    eprintln!(
        "after kill -9 (lease 3 s, rate 10 s): every check probed again within {:.1} s",
        killed.elapsed().as_secs_f64()
    );
    drop(two);
}
