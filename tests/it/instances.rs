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
        writes.push(record(&check, AlertKind::Down, at));
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
