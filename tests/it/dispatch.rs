//! The dispatcher, step by step (`deliver_pending_once` with an explicit `now`): alerts of
//! one check reach a contact in order, a refused delivery is retried after its backoff, and
//! one that keeps failing past the give-up age is given up.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use stackwatch::dispatch::{DeliveryReport, Dispatcher, RetryPolicy};
use stackwatch::domain::{
    AlertEvent, AlertFacts, AlertKind, AlertMemory, CheckName, CheckSpec, CheckState, Outcome,
    Timestamp, Timings,
};
use stackwatch::notify::Notifiers;
use stackwatch::settings::{NotifierSettings, Secret, WebhookSettings};
use stackwatch::store::{
    AlertFilter, Change, CheckWrite, DeliveryStatus, NewAlert, Record, Store, Write, WriteMode,
};

use crate::receivers::HookReceiver;

const HOUR: i64 = 3_600_000;

async fn store(dir: &std::path::Path) -> Store {
    crate::helpers::open_suite_store(dir).await
}

/// An HTTP check named `name` with every default, stored in `store`.
pub async fn plain_check(store: &Store, name: &str) -> stackwatch::domain::Check {
    let name: CheckName = name.parse().unwrap();
    let write = CheckWrite {
        spec: CheckSpec::with_defaults("http://127.0.0.1:9/".parse().unwrap()),
        paused: None,
    };
    store
        .upsert_check(&name, write, WriteMode::commit(Timestamp(0)))
        .await
        .unwrap()
        .check()
        .clone()
}

/// A dispatcher on `store` with one webhook contact, `hook`, posting to `receiver`; it
/// gives up after a day; its ceiling and grouping are out of the way (the tests using it
/// count each alert's deliveries; `storm::` tests both).
pub fn hook_dispatcher(store: Store, receiver: &HookReceiver) -> Dispatcher {
    let settings = [(
        "hook".to_owned(),
        NotifierSettings::Webhook(WebhookSettings {
            url: Secret::new(receiver.url("/hook")),
            headers: Default::default(),
        }),
    )]
    .into_iter()
    .collect();
    Dispatcher {
        store,
        notifiers: Notifiers::from_settings(&settings).unwrap(),
        policy: RetryPolicy::with_give_up(Duration::from_secs(24 * 3_600)),
        public_url: None,
        wake: Arc::new(tokio::sync::Notify::new()),
        max_per_minute: 10_000,
        group_by: stackwatch::settings::GroupBy::None,
        group_interval: Duration::ZERO,
        ack_key: None,
    }
}

/// A record of `check` at `at` that carries one alert of `kind` for the contact `hook`,
/// writing the check's state as its `version`th write (the state row's compare-and-set
/// takes them in order).
pub fn record(check: &stackwatch::domain::Check, kind: AlertKind, at: i64, version: i64) -> Write {
    Write::Probe(Record {
        check_id: check.id,
        location: std::sync::Arc::new("local".parse().unwrap()),
        outcome: Outcome {
            started_at: Timestamp(at),
            status: Some(200),
            timings: Timings::default(),
            cert_not_after: None,
            cert_of: None,
            failure: None,
        },
        change: Some(Box::new(Change {
            check_name: check.name.clone(),
            votes: Default::default(),
            state: CheckState::new(Timestamp(at)),
            transition: None,
            memory: AlertMemory::default(),
            alerts: vec![NewAlert {
                event: AlertEvent {
                    kind,
                    facts: AlertFacts {
                        url: check.spec.target().address(),
                        ..AlertFacts::default()
                    },
                },
                contacts: vec!["hook".parse().unwrap()],
            }],
            version,
        })),
    })
}

/// A change judged from a state that was replaced meanwhile (another instance wrote it)
/// writes its result but no state, incident or alert, nor does any later change of that
/// check in its batch; the recorder learns which checks' states are stale.
#[tokio::test]
async fn a_change_judged_from_a_replaced_state_writes_nothing_but_its_result() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let check = plain_check(&store, "contested").await;
    let t0 = 1_000 * HOUR;
    let stale = store
        .record(&[record(&check, AlertKind::Down, t0, 1)])
        .await
        .unwrap();
    assert!(stale.is_empty(), "{stale:?}");

    // A second judge, who read the state before that write, raises its own DOWN and then a
    // RECOVERED (which would match the row's version now, were it not after a refused one).
    let stale = store
        .record(&[
            record(&check, AlertKind::Down, t0 + 1, 1),
            record(&check, AlertKind::Recovered, t0 + 2, 2),
        ])
        .await
        .unwrap();
    assert_eq!(stale, vec![check.id]);
    let mut db = crate::helpers::SideDb::open(dir.path()).await;
    let counts = |sql| format!("{sql} WHERE check_id = $1");
    let alerts = db
        .ints(&counts("SELECT COUNT(*) FROM alerts"), &[check.id.0])
        .await;
    let results = db
        .ints(&counts("SELECT COUNT(*) FROM results"), &[check.id.0])
        .await;
    let version = db
        .ints(&counts("SELECT version FROM check_state"), &[check.id.0])
        .await;
    assert_eq!(
        (alerts, results, version),
        (vec![Some(1)], vec![Some(3)], vec![Some(1)])
    );

    // Judged again from the stored state, the next change is written.
    let stale = store
        .record(&[record(&check, AlertKind::Recovered, t0 + 3, 2)])
        .await
        .unwrap();
    assert!(stale.is_empty(), "{stale:?}");
    let alerts = db
        .ints(&counts("SELECT COUNT(*) FROM alerts"), &[check.id.0])
        .await;
    assert_eq!(alerts, vec![Some(2)]);
}

#[tokio::test]
async fn deliveries_keep_order_retry_after_backoff_and_give_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let receiver = HookReceiver::start().await;
    receiver.status.store(500, Ordering::SeqCst);
    let check = plain_check(&store, "ordered").await;
    let t0 = 1_000 * HOUR;
    store
        .record(&[
            record(&check, AlertKind::Down, t0, 1),
            record(&check, AlertKind::Recovered, t0 + 1, 2),
        ])
        .await
        .unwrap();

    let dispatcher = hook_dispatcher(store.clone(), &receiver);

    // Refused: only the DOWN alert is tried; RECOVERED waits behind it.
    let first = dispatcher
        .deliver_pending_once(Timestamp(t0 + 100))
        .await
        .unwrap();
    assert_eq!(
        first,
        DeliveryReport {
            delivered: 0,
            retrying: 1,
            given_up: 0
        }
    );
    assert_eq!(receiver.received().len(), 1);
    // Before its backoff (5 s ± 20 %) nothing is due.
    let early = dispatcher
        .deliver_pending_once(Timestamp(t0 + 3_000))
        .await
        .unwrap();
    assert_eq!(early.handled(), 0);

    receiver.status.store(200, Ordering::SeqCst);
    let second = dispatcher
        .deliver_pending_once(Timestamp(t0 + 7_000))
        .await
        .unwrap();
    assert_eq!(second.delivered, 1);
    let third = dispatcher
        .deliver_pending_once(Timestamp(t0 + 7_001))
        .await
        .unwrap();
    assert_eq!(third.delivered, 1);
    let events: Vec<String> = receiver
        .accepted()
        .iter()
        .map(|r| r.body["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, vec!["down", "recovered"], "in order for the check");

    // A delivery still failing after the give-up age is given up, and says why.
    receiver.status.store(503, Ordering::SeqCst);
    store
        .record(&[record(&check, AlertKind::Down, t0 + HOUR, 3)])
        .await
        .unwrap();
    let retried = dispatcher
        .deliver_pending_once(Timestamp(t0 + HOUR + 1))
        .await
        .unwrap();
    assert_eq!(retried.retrying, 1);
    let late = dispatcher
        .deliver_pending_once(Timestamp(t0 + 26 * HOUR))
        .await
        .unwrap();
    assert_eq!(late.given_up, 1);
    let failed = store
        .alerts(&AlertFilter {
            check: Some(check.name.clone()),
            status: Some(DeliveryStatus::Failed),
            since: None,
            until: None,
            kinds: Vec::new(),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    let delivery = &failed[0].1[0];
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(delivery.attempts, 2);
    assert_eq!(
        delivery.last_error.as_deref(),
        Some("the receiver answered HTTP 503")
    );
}
