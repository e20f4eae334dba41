//! Storms through the real server. Thirty checks failing within seconds, to contacts whose
//! ceiling is five messages a minute: each contact gets at most five alerts and one digest
//! in any minute, every DOWN reaches each contact exactly once (alone or in a digest), and
//! Slack's digests stay within Slack's limits. Thirty stacks of three checks failing at
//! once, folded by stack: at most two messages per stack, every DOWN once.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use stackwatch::settings::{GroupBy, NotifierSettings, Secret, SlackSettings};

use crate::binary::wait_for;
use crate::helpers::{spawn_with, test_settings, with_webhook};
use crate::receivers::{HookReceiver, Received};

const CHECKS: usize = 30;
const CEILING: u32 = 5;

/// Each check's DOWN as a contact got it: alone, or inside a digest.
fn downs(received: &[Received]) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    let mut note = |alert: &Value| {
        if alert["event"] == "down" {
            let check = alert["check"].as_str().unwrap_or_default().to_owned();
            *seen.entry(check).or_insert(0) += 1;
        }
    };
    for r in received {
        assert!(r.answered == 200, "{}", r.body);
        note(&r.body);
        for held in r.body["held"].as_array().into_iter().flatten() {
            note(held);
        }
    }
    seen
}

/// A digest: the webhook's `event`, or the title Slack's text begins with.
fn is_digest(received: &Received) -> bool {
    received.body["event"] == "digest"
        || received.body["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("[DIGEST]"))
}

/// How many messages a contact got, how many of them digests or groups, and how long
/// after `since` the first came, for the figures a run prints.
fn figures(received: &[Received], since: std::time::Instant) -> String {
    let first = received
        .iter()
        .map(|r| r.at.duration_since(since).as_secs_f64())
        .fold(f64::INFINITY, f64::min);
    let folded = received
        .iter()
        .filter(|r| is_digest(r) || r.body["event"] == "group")
        .count();
    format!(
        "{} messages ({folded} digests or groups), the first {first:.1} s after the checks were registered",
        received.len()
    )
}

/// The most messages that arrived within any 60 s, and how many of those were digests.
fn busiest_minute(received: &[Received]) -> (usize, usize) {
    let mut busiest = (0, 0);
    for first in received {
        let within: Vec<&Received> = received
            .iter()
            .filter(|r| r.at >= first.at && r.at < first.at + Duration::from_secs(60))
            .collect();
        let digests = within.iter().filter(|r| is_digest(r)).count();
        busiest = busiest.max((within.len(), digests));
    }
    busiest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_stays_under_each_contact_s_ceiling_and_loses_nothing() {
    let hook = HookReceiver::start().await;
    let slack = HookReceiver::slack().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = with_webhook(test_settings(dir.path()), &hook);
    settings.notifiers.insert(
        "team-slack".into(),
        NotifierSettings::Slack(SlackSettings {
            webhook_url: Secret::new(slack.url("/services/T0/B0/x")),
        }),
    );
    settings.alerting.default_contacts.push("team-slack".into());
    settings.alerting.max_per_minute = CEILING;
    settings.alerting.group_by = GroupBy::None;
    let app = spawn_with(settings).await;
    let checks: Vec<Value> = (0..CHECKS)
        .map(|n| {
            json!({"name": format!("storm-{n:02}"), "url": "http://127.0.0.1:9/",
                "check_rate": 10, "failures_to_confirm": 1})
        })
        .collect();
    let registered = std::time::Instant::now();
    let (status, body) = app
        .put("/api/v1/stacks/storm", &json!({"checks": checks}))
        .await;
    assert_eq!(status, 200, "{body}");

    let slack_names = |received: &[Received]| {
        let text: String = received.iter().map(|r| r.body.to_string()).collect();
        (0..CHECKS)
            .filter(|n| text.contains(&format!("storm-{n:02}")))
            .count()
    };
    wait_for("every DOWN to reach both contacts", 180, async || {
        (downs(&hook.accepted()).len() == CHECKS && slack_names(&slack.accepted()) == CHECKS)
            .then_some(())
    })
    .await;
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    let received = hook.accepted();
    eprintln!(
        "storm of {CHECKS} checks: webhook {}; slack {}",
        figures(&received, registered),
        figures(&slack.accepted(), registered)
    );
    let each = downs(&received);
    assert_eq!(each.len(), CHECKS, "{each:?}");
    assert!(each.values().all(|n| *n == 1), "each DOWN once: {each:?}");
    let (most, digests) = busiest_minute(&received);
    assert!(
        most <= CEILING as usize + digests && digests <= 1,
        "{most} messages, {digests} digests within a minute"
    );
    assert!(
        received.iter().any(is_digest),
        "thirty DOWNs at five a minute need a digest"
    );

    // Slack: every payload within its limits (the receiver refuses others with 400).
    let slack_received = slack.received();
    assert!(
        slack_received.iter().all(|r| r.answered == 200),
        "{:?}",
        slack_received
            .iter()
            .filter(|r| r.answered != 200)
            .map(|r| &r.body)
            .collect::<Vec<_>>()
    );
    let (most, digests) = busiest_minute(&slack_received);
    assert!(
        most <= CEILING as usize + digests && digests <= 1,
        "{most} messages, {digests} digests within a minute: {:?}",
        slack_received
            .iter()
            .map(|r| (
                r.answered,
                r.body["text"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .take(60)
                    .collect::<String>()
            ))
            .collect::<Vec<_>>()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_stacks_failing_at_once_send_at_most_two_messages_each() {
    let hook = HookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = with_webhook(test_settings(dir.path()), &hook);
    // The ceiling out of the way: this is about folding by stack.
    settings.alerting.max_per_minute = 10_000;
    let app = spawn_with(settings).await;
    let registered = std::time::Instant::now();
    for s in 0..30 {
        let checks: Vec<Value> = ["web", "worker", "redis"]
            .iter()
            .map(|role| {
                json!({"name": format!("shop-{s:02}-{role}"), "url": "http://127.0.0.1:9/",
                    "check_rate": 10, "failures_to_confirm": 1})
            })
            .collect();
        let (status, body) = app
            .put(
                &format!("/api/v1/stacks/shop-{s:02}"),
                &json!({"checks": checks}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    wait_for("all ninety DOWNs", 180, async || {
        (downs(&hook.accepted()).len() == 90).then_some(())
    })
    .await;
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    let received = hook.accepted();
    eprintln!("30 stacks of 3: {}", figures(&received, registered));
    let each = downs(&received);
    assert!(each.values().all(|n| *n == 1), "each DOWN once: {each:?}");
    let mut per_stack: BTreeMap<String, usize> = BTreeMap::new();
    for r in &received {
        let stack = r.body["stack"].as_str().unwrap_or_default().to_owned();
        *per_stack.entry(stack).or_insert(0) += 1;
    }
    assert_eq!(per_stack.len(), 30, "{per_stack:?}");
    assert!(per_stack.values().all(|n| *n <= 2), "{per_stack:?}");
    // Three DOWNs within seconds: the first alone (or with those due with it), the rest
    // folded into one message, so each stack has one group.
    let groups: Vec<&Value> = received
        .iter()
        .filter(|r| r.body["event"] == "group")
        .map(|r| &r.body)
        .collect();
    assert_eq!(groups.len(), 30, "{per_stack:?}");
    for group in groups {
        assert_eq!(group["health"], "down", "{group}");
        let stack = group["stack"].as_str().unwrap();
        let title = group["title"].as_str().unwrap();
        let held = group["held"].as_array().unwrap();
        assert_eq!(
            title,
            format!("[DOWN] stack {stack}: {} checks", held.len())
        );
        assert!(held.iter().all(|h| h["stack"] == stack), "{group}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_failing_at_once_fold_by_their_tag() {
    let hook = HookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = with_webhook(test_settings(dir.path()), &hook);
    settings.alerting.max_per_minute = 10_000;
    settings.alerting.group_by = GroupBy::try_from("tag:team".to_owned()).unwrap();
    let app = spawn_with(settings).await;
    let registered = std::time::Instant::now();
    for t in 0..10 {
        for role in ["web", "worker", "redis"] {
            let body = json!({"url": "http://127.0.0.1:9/", "check_rate": 10,
                "failures_to_confirm": 1, "tags": ["env:prod", format!("team=t{t:02}")]});
            let (status, created) = app
                .put(&format!("/api/v1/checks/t{t:02}-{role}"), &body)
                .await;
            assert_eq!(status, 201, "{created}");
        }
    }
    wait_for("all thirty DOWNs", 180, async || {
        (downs(&hook.accepted()).len() == 30).then_some(())
    })
    .await;
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    let received = hook.accepted();
    eprintln!("10 teams of 3: {}", figures(&received, registered));
    assert!(downs(&received).values().all(|n| *n == 1), "each DOWN once");
    let team_of = |message: &Value| {
        message["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|t| t.starts_with("team="))
            .unwrap_or_default()
            .to_owned()
    };
    let mut per_team: BTreeMap<String, usize> = BTreeMap::new();
    for r in &received {
        *per_team.entry(team_of(&r.body)).or_insert(0) += 1;
    }
    assert_eq!(per_team.len(), 10, "{per_team:?}");
    assert!(per_team.values().all(|n| *n <= 2), "{per_team:?}");
    for group in received.iter().filter(|r| r.body["event"] == "group") {
        let team = team_of(&group.body);
        let held = group.body["held"].as_array().unwrap();
        assert_eq!(
            group.body["title"].as_str().unwrap(),
            format!("[DOWN] tag {team}: {} checks", held.len())
        );
        assert!(held.iter().all(|h| team_of(h) == team), "{}", group.body);
    }
    app.stop().await;
}
