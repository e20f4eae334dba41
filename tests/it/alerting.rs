//! Alerts end to end: a target fails and recovers, and real receivers (an HTTP listener for
//! Slack and webhooks, an SMTP server for email) get exactly what they should, through
//! retries, restarts and maintenance windows.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use stackwatch::settings::{
    EmailSettings, NotifierSettings, Secret, Settings, SlackSettings, SmtpTls, WebhookSettings,
};

use crate::binary::wait_for;
use crate::helpers::{TestApp, error_fields, spawn_with, test_settings};
use crate::receivers::{HookReceiver, SmtpReceiver};
use crate::targets::{Target, http_target};

pub const SLACK_SECRET_PATH: &str = "/services/T0000/B0000/slack-secret-path";
pub const WEBHOOK_SECRET: &str = "Bearer webhook-secret-value";

/// Receivers for the three kinds of contact.
pub struct Receivers {
    pub slack: HookReceiver,
    pub smtp: SmtpReceiver,
    pub hook: HookReceiver,
}

impl Receivers {
    pub async fn start() -> Self {
        Self {
            slack: HookReceiver::slack().await,
            smtp: SmtpReceiver::start().await,
            hook: HookReceiver::start().await,
        }
    }

    /// Settings with contacts `ops-slack`, `oncall` (email) and `pager` (webhook), all
    /// three the default contacts.
    pub fn settings(&self, dir: &Path) -> Settings {
        let mut settings = test_settings(dir);
        settings.notifiers.insert(
            "ops-slack".into(),
            NotifierSettings::Slack(SlackSettings {
                webhook_url: Secret::new(self.slack.url(SLACK_SECRET_PATH)),
            }),
        );
        settings.notifiers.insert(
            "oncall".into(),
            NotifierSettings::Email(EmailSettings {
                smtp_url: format!("smtp://{}", self.smtp.addr),
                tls: Some(SmtpTls::None),
                username: None,
                password: None,
                from: "stackwatch@example.com".into(),
                to: vec!["oncall@example.com".into()],
            }),
        );
        settings.notifiers.insert(
            "pager".into(),
            NotifierSettings::Webhook(WebhookSettings {
                url: Secret::new(self.hook.url("/hook")),
                headers: BTreeMap::from([("Authorization".into(), Secret::new(WEBHOOK_SECRET))]),
            }),
        );
        settings.alerting.default_contacts =
            vec!["ops-slack".into(), "oncall".into(), "pager".into()];
        settings.alerting.public_url = "https://stackwatch.example.com".into();
        settings
    }
}

/// Waits up to a minute for `probe` to give a value.
async fn wait_until<T>(what: &str, probe: impl AsyncFnMut() -> Option<T>) -> T {
    wait_for(what, 60, probe).await
}

async fn state_of(app: &TestApp, name: &str) -> Value {
    app.get(&format!("/api/v1/checks/{name}")).await.1
}

async fn wait_state(app: &TestApp, name: &str, state: &str) {
    wait_until(state, async || {
        (state_of(app, name).await["state"] == state).then_some(())
    })
    .await;
}

async fn alerts(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, list) = app.get(&format!("/api/v1/alerts{query}")).await;
    assert_eq!(status, 200, "{list}");
    list["alerts"].as_array().unwrap().clone()
}

async fn register(app: &TestApp, name: &str, target: &Target) -> String {
    let url = target.url("http", "/status");
    let body = json!({"url": url, "stack": "acme", "check_rate": 10, "retry_interval": 1});
    assert_eq!(
        app.put(&format!("/api/v1/checks/{name}"), &body).await.0,
        201
    );
    url
}

fn kinds(alerts: &[Value]) -> Vec<String> {
    alerts
        .iter()
        .rev()
        .map(|a| a["event"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn down_then_recovered_gives_exactly_two_alerts_per_contact() {
    let receivers = Receivers::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(receivers.settings(dir.path())).await;
    let target = http_target().await;
    let url = register(&app, "acme-readiness", &target).await;
    wait_state(&app, "acme-readiness", "up").await;

    target.status.store(500, Ordering::SeqCst);
    wait_state(&app, "acme-readiness", "down").await;
    target.status.store(200, Ordering::SeqCst);
    wait_state(&app, "acme-readiness", "up").await;
    let delivered = wait_until("both alerts delivered", async || {
        let list = alerts(&app, "?status=delivered").await;
        (list.len() == 2).then_some(list)
    })
    .await;
    assert_eq!(kinds(&delivered), vec!["down", "recovered"]);
    assert_eq!(alerts(&app, "").await.len(), 2, "nothing else was decided");
    let down = &delivered[1];
    assert_eq!(down["cause"], format!("HTTP 500 from {url}"));
    assert_eq!(down["stack"], "acme");
    let (_, incidents) = app.get("/api/v1/incidents?check=acme-readiness").await;
    assert_eq!(
        incidents["incidents"][0]["cause"], down["cause"],
        "the incident and its alert give one cause in the same words"
    );
    let contacts: Vec<&str> = down["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["contact"].as_str().unwrap())
        .collect();
    assert_eq!(contacts, vec!["oncall", "ops-slack", "pager"]);

    let slack = receivers.slack.accepted();
    assert_eq!(slack.len(), 2, "{slack:?}");
    assert_eq!(slack[0].path, SLACK_SECRET_PATH);
    let first = slack[0].body["text"].as_str().unwrap();
    assert!(
        first.starts_with(
            "[DOWN] acme-readiness: acme-readiness (stack acme) is DOWN: HTTP 500 from"
        ),
        "{first}"
    );
    assert_eq!(slack[0].body["attachments"][0]["color"], "#d92b2b");
    assert!(
        slack[1].body["text"]
            .as_str()
            .unwrap()
            .starts_with("[RECOVERED] acme-readiness")
    );
    let button = &slack[0].body["attachments"][0]["blocks"][2]["elements"][0]["url"];
    assert_eq!(
        button,
        "https://stackwatch.example.com/checks/acme-readiness"
    );

    let mails = receivers.smtp.mails();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0].to, vec!["oncall@example.com"]);
    assert_eq!(mails[0].from, "stackwatch@example.com");
    assert!(
        mails[0].data.contains("Subject: [DOWN] acme-readiness"),
        "{}",
        mails[0].data
    );
    assert!(
        mails[1]
            .data
            .contains("Subject: [RECOVERED] acme-readiness")
    );
    assert!(mails[1].data.contains("is UP again after"));

    let hooks = receivers.hook.accepted();
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0].body["event"], "down");
    assert_eq!(hooks[0].body["check"], "acme-readiness");
    assert_eq!(hooks[1].body["event"], "recovered");
    assert!(hooks[1].body["downtime_s"].is_u64());
    assert!(
        hooks[0]
            .headers
            .contains(&("authorization".into(), WEBHOOK_SECRET.into()))
    );
}

#[tokio::test]
async fn a_receiver_answering_500_gets_the_alert_after_a_retry() {
    let receivers = Receivers::start().await;
    receivers.slack.status.store(500, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(receivers.settings(dir.path())).await;
    let target = http_target().await;
    target.status.store(503, Ordering::SeqCst);
    register(&app, "flaky-slack", &target).await;
    wait_state(&app, "flaky-slack", "down").await;

    let failing = wait_until("a failed attempt", async || {
        let list = alerts(&app, "?status=pending").await;
        let slack = list.first()?["deliveries"]
            .as_array()?
            .iter()
            .find(|d| d["contact"] == "ops-slack")?
            .clone();
        (slack["attempts"].as_i64()? >= 1).then_some(slack)
    })
    .await;
    assert_eq!(failing["status"], "pending");
    assert_eq!(failing["last_error"], "the receiver answered HTTP 500");
    assert!(failing["next_attempt_at"].is_string());

    receivers.slack.status.store(200, Ordering::SeqCst);
    let delivered = wait_until("the retry", async || {
        let list = alerts(&app, "?status=delivered").await;
        list.into_iter().next()
    })
    .await;
    let slack = delivered["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["contact"] == "ops-slack")
        .unwrap()
        .clone();
    assert!(slack["attempts"].as_i64().unwrap() >= 2);
    assert_eq!(slack["last_error"], Value::Null);
    assert_eq!(receivers.slack.accepted().len(), 1, "delivered once");
    assert!(
        receivers.slack.received().len() >= 2,
        "after at least one refusal"
    );
}

#[tokio::test]
async fn alerts_pending_at_shutdown_are_delivered_after_a_restart() {
    let receivers = Receivers::start().await;
    receivers.hook.status.store(503, Ordering::SeqCst);
    receivers.smtp.refuse.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(receivers.settings(dir.path())).await;
    let target = http_target().await;
    target.status.store(500, Ordering::SeqCst);
    register(&app, "restarted", &target).await;
    wait_state(&app, "restarted", "down").await;
    wait_until("a refused webhook", async || {
        (!receivers.hook.received().is_empty()).then_some(())
    })
    .await;
    app.stop().await;

    receivers.hook.status.store(200, Ordering::SeqCst);
    receivers.smtp.refuse.store(false, Ordering::SeqCst);
    let app = spawn_with(receivers.settings(dir.path())).await;
    let delivered = wait_until("delivery after the restart", async || {
        let list = alerts(&app, "?status=delivered").await;
        list.into_iter().next()
    })
    .await;
    assert_eq!(delivered["event"], "down");
    assert_eq!(receivers.hook.accepted().len(), 1);
    assert_eq!(receivers.smtp.mails().len(), 1);
    assert_eq!(receivers.slack.accepted().len(), 1);
    assert_eq!(
        alerts(&app, "").await.len(),
        1,
        "still down after the restart: no second DOWN"
    );
}

#[tokio::test]
async fn a_maintenance_window_suppresses_alerts_then_releases_them() {
    let receivers = Receivers::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(receivers.settings(dir.path())).await;
    let target = http_target().await;
    register(&app, "deploying", &target).await;
    wait_state(&app, "deploying", "up").await;

    let response = app
        .client
        .post(app.url("/api/v1/maintenance"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .json(&json!({"scope": "stack", "target": "acme", "duration": 25, "reason": "deploy"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let window: Value = response.json().await.unwrap();
    assert_eq!(window["active"], true);
    wait_state(&app, "deploying", "maintenance").await;

    // The next probe comes within 10 s and its retry 1 s later: both well inside the window.
    target.status.store(500, Ordering::SeqCst);
    // Probed and recorded during the window: two failures in a row.
    wait_until("failures recorded", async || {
        let (_, page) = app.get("/api/v1/checks/deploying/results?limit=2").await;
        let results = page["results"].as_array()?.clone();
        (results.len() == 2 && results.iter().all(|r| r["up"] == false)).then_some(())
    })
    .await;
    assert!(
        alerts(&app, "").await.is_empty(),
        "no alert inside the window"
    );
    let (_, incidents) = app.get("/api/v1/incidents?check=deploying").await;
    assert_eq!(
        incidents["incidents"].as_array().unwrap().len(),
        1,
        "the outage is still recorded"
    );

    // Still down when the window closes: DOWN goes out then, once.
    wait_state(&app, "deploying", "down").await;
    let delivered = wait_until("the released DOWN", async || {
        let list = alerts(&app, "?status=delivered").await;
        list.into_iter().next()
    })
    .await;
    assert_eq!(delivered["event"], "down");
    let window_end = window["next_ends_at"].as_str().unwrap();
    assert!(delivered["created_at"].as_str().unwrap() >= window_end);
    assert_eq!(receivers.slack.accepted().len(), 1);
}

#[tokio::test]
async fn maintenance_windows_are_validated_listed_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    let post = |body: Value| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(app.url("/api/v1/maintenance"))
                .bearer_auth(crate::helpers::ADMIN_TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            crate::helpers::status_and_json(response).await
        }
    };
    let bad = [
        (json!({"scope": "planet"}), vec!["scope", "ends_at"]),
        (json!({"scope": "stack", "duration": 60}), vec!["target"]),
        (
            json!({"scope": "all", "target": "x", "duration": 60}),
            vec!["target"],
        ),
        (
            json!({"scope": "all", "cron": "0 2 * *", "duration": 60}),
            vec!["cron"],
        ),
        (
            json!({"scope": "all", "cron": "0 2 * * *", "duration": 60, "timezone": "Mars/Olympus"}),
            vec!["timezone"],
        ),
        (
            json!({"scope": "all", "cron": "0 2 * * *"}),
            vec!["duration"],
        ),
        (
            json!({"scope": "all", "ends_at": "2020-01-01T00:00:00Z"}),
            vec!["ends_at"],
        ),
        (
            json!({"scope": "all", "ends_at": "tomorrow"}),
            vec!["ends_at", "ends_at"],
        ),
        (
            json!({"scope": "all", "cron": "0 2 * * *", "duration": 60,
                   "starts_at": "soon", "ends_at": "2030-01-01T00:00:00Z"}),
            vec!["ends_at", "starts_at"],
        ),
        (json!({"scope": "all", "duration": 0}), vec!["duration"]),
        (
            json!({"scope": "all", "duration": 60, "colour": "red"}),
            vec!["colour"],
        ),
    ];
    for (body, fields) in bad {
        let (status, problem) = post(body.clone()).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(error_fields(&problem), fields, "{body}");
    }
    let (status, recurring) = post(
        json!({"scope": "tag", "target": "env:prod", "cron": format!("0 2 * * {}", crate::helpers::window_day().0),
                                          "duration": 3600, "timezone": "Europe/Paris"}),
    )
    .await;
    assert_eq!(status, 201, "{recurring}");
    assert_eq!(recurring["timezone"], "Europe/Paris");
    let next = recurring["next_starts_at"].as_str().unwrap();
    assert!(
        next.ends_with("T01:00:00Z") || next.ends_with("T00:00:00Z"),
        "02:00 Paris is {next}"
    );
    // A recurring window from a first start: no occurrence before it, even one due now.
    let (status, later) = post(
        json!({"scope": "all", "cron": "* * * * *", "duration": 3600,
        "starts_at": "2030-01-05T02:00:00Z"}),
    )
    .await;
    assert_eq!(status, 201, "{later}");
    assert_eq!(later["active"], false, "{later}");
    assert_eq!(later["starts_at"], "2030-01-05T02:00:00Z");
    assert_eq!(later["next_starts_at"], "2030-01-05T02:00:00Z");
    let id = later["id"].as_i64().unwrap();
    app.delete(&format!("/api/v1/maintenance/{id}")).await;
    let (status, once) = post(json!({"scope": "check", "target": "x", "duration": 600})).await;
    assert_eq!(status, 201);
    assert_eq!(once["active"], true);
    assert_eq!(
        once["duration"], 600,
        "a one-off window lists its length: {once}"
    );

    let (_, list) = app.get("/api/v1/maintenance").await;
    assert_eq!(list["windows"].as_array().unwrap().len(), 2);
    let id = once["id"].as_i64().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/maintenance/{id}")).await.1["changed"],
        true
    );
    assert_eq!(
        app.delete(&format!("/api/v1/maintenance/{id}")).await.1["changed"],
        false
    );
    assert_eq!(app.delete("/api/v1/maintenance/abc").await.0, 422);
}

#[tokio::test]
async fn unknown_contacts_are_refused_at_registration() {
    let receivers = Receivers::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(receivers.settings(dir.path())).await;
    let (status, problem) = app
        .put(
            "/api/v1/checks/x",
            &json!({"url": "http://127.0.0.1:9/", "contacts": ["ops-slack", "nobody"]}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&problem), vec!["contacts[1]"]);
    assert!(
        problem["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("oncall, ops-slack, pager")
    );
    let stack =
        json!({"checks": [{"name": "y", "url": "http://127.0.0.1:9/", "contacts": ["nobody"]}]});
    let (status, problem) = app.put("/api/v1/stacks/s", &stack).await;
    assert_eq!(
        (status, error_fields(&problem)),
        (422, vec!["checks[0].contacts[0]".to_owned()])
    );
    let (status, _) = app
        .put(
            "/api/v1/checks/x",
            &json!({"url": "http://127.0.0.1:9/", "contacts": ["pager"]}),
        )
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn an_alert_longer_than_slack_allows_is_cut_to_fit_and_delivered() {
    let receivers = Receivers::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(receivers.settings(dir.path())).await;
    let target = http_target().await;
    // Every `&` becomes `&amp;` in Slack's mrkdwn: the section would pass 3,000 characters.
    // The target answers 404 to a path it does not serve.
    let url = target.url("http", &format!("/missing?{}", "a=1&".repeat(480)));
    assert!(url.len() > 1_900 && url.len() <= 2_048, "{}", url.len());
    let name = format!("a{}", "b".repeat(127));
    let body = json!({"url": url, "check_rate": 10, "retry_interval": 1, "failures_to_confirm": 1});
    let (status, made) = app.put(&format!("/api/v1/checks/{name}"), &body).await;
    assert_eq!(status, 201, "{made}");
    let slack = wait_until("the DOWN in Slack", async || {
        receivers.slack.accepted().into_iter().next()
    })
    .await;
    assert!(
        receivers.slack.received().iter().all(|r| r.answered == 200),
        "Slack never had to refuse it"
    );
    let blocks = slack.body["attachments"][0]["blocks"].as_array().unwrap();
    let header = blocks[0]["text"]["text"].as_str().unwrap();
    assert_eq!(
        header,
        format!("[DOWN] {name}"),
        "the name and the event whole"
    );
    let section = blocks[1]["text"]["text"].as_str().unwrap();
    assert!(
        section.chars().count() <= 3_000,
        "{}",
        section.chars().count()
    );
    assert!(
        section.starts_with(&format!("{name} is DOWN: HTTP 404 from http://")),
        "{section}"
    );
    assert!(section.contains("… [cut]"), "a visible mark: {section}");
    assert_eq!(
        section.matches("/missing?").count(),
        1,
        "the URL once: {section}"
    );
    // The webhook has no such limit: it carries the whole URL.
    let hook = wait_until("the webhook DOWN", async || {
        receivers.hook.accepted().into_iter().next()
    })
    .await;
    assert_eq!(hook.body["url"], url);
}

#[tokio::test]
async fn a_payload_slack_refuses_for_its_form_is_sent_once_more_as_plain_text() {
    let mut receivers = Receivers::start().await;
    // A workspace that takes no blocks at all: Slack's answer names the form it refused.
    receivers.slack = HookReceiver::with_rules(Some(|payload| match payload.get("attachments") {
        Some(_) => Err("invalid_blocks"),
        None => Ok(()),
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(receivers.settings(dir.path())).await;
    let body = json!({"url": "http://127.0.0.1:9/", "check_rate": 10, "retry_interval": 1,
                      "failures_to_confirm": 1, "contacts": ["ops-slack"]});
    assert_eq!(app.put("/api/v1/checks/plain", &body).await.0, 201);
    let delivered = wait_until("the DOWN delivered", async || {
        let list = alerts(&app, "?status=delivered").await;
        list.into_iter().next()
    })
    .await;
    assert_eq!(delivered["deliveries"][0]["attempts"], 1, "{delivered}");
    let received = receivers.slack.received();
    assert_eq!(
        received.iter().map(|r| r.answered).collect::<Vec<_>>(),
        vec![400, 200],
        "the full form, refused, then the plain one"
    );
    let text = received[1].body["text"].as_str().unwrap();
    assert!(
        text.starts_with("[DOWN] plain: plain is DOWN: connection refused"),
        "{text}"
    );
}
