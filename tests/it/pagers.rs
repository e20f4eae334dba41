//! PagerDuty, Opsgenie, Pushover, Teams, Telegram and Matrix notifiers against local
//! services holding them to each one's contract (see `services`): an outage's DOWN,
//! acknowledgement and RECOVERED, a busy service's own retry hint, a refused payload sent
//! once more plainly, wrong credentials failed at once with the service's words and no
//! secret, a delivery repeated after kill -9 that opens no second incident and posts no
//! second message, and `notify-test` for each.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};
use stackwatch::settings::{
    MatrixSettings, NotifierSettings, OpsgeniePriority, OpsgenieRegion, OpsgenieSettings,
    PagerDutySettings, PagerDutySeverity, PushoverSettings, Secret, TeamsSettings,
    TelegramSettings,
};

use crate::binary::{self, wait_for};
use crate::cli::stackwatch;
use crate::helpers::{TestApp, outbox_settled, spawn_with, test_settings};
use crate::services::{Call, Service};
use crate::targets::{Target, http_target};

const PD_KEY: &str = "R0UT1NGKEY0123456789abcdefABCDEF";
const PD_WRONG: &str = "WR0NGKEY000123456789abcdefABCDEF";
const OG_KEY: &str = "og-right-0123456789";
const OG_WRONG: &str = "og-wrong-0123456789";
const PO_TOKEN: &str = "azGDORePK8gMaC0QOYAMyEEuzJnyUi";
const PO_WRONG: &str = "azGDORePK8gMaC0QOYAMyEEuzJnyUj";
const TEAMS_SIG: &str = "flow-right-0123";
const TG_TOKEN: &str = "123456:RightTokenAAAAAAAA";
const TG_WRONG: &str = "123456:WrongTokenBBBBBBBB";
const MX_TOKEN: &str = "syt_right_0123456789";

fn pagerduty(service: &Service, key: &str) -> NotifierSettings {
    NotifierSettings::PagerDuty(PagerDutySettings {
        routing_key: Secret::new(key),
        severity: PagerDutySeverity::Error,
        base_url: service.url(),
    })
}

fn opsgenie(service: &Service, key: &str) -> NotifierSettings {
    NotifierSettings::Opsgenie(OpsgenieSettings {
        api_key: Secret::new(key),
        region: OpsgenieRegion::Eu,
        base_url: Some(service.url()),
        priority: OpsgeniePriority::P2,
    })
}

fn pushover(service: &Service, token: &str) -> NotifierSettings {
    NotifierSettings::Pushover(PushoverSettings {
        token: Secret::new(token),
        user: Secret::new(Service::PUSHOVER_USER),
        priority: 2,
        retry: 30,
        expire: 600,
        device: None,
        sound: None,
        base_url: service.url(),
    })
}

fn teams(service: &Service, sig: &str) -> NotifierSettings {
    NotifierSettings::Teams(TeamsSettings {
        webhook_url: Secret::new(service.teams_url(sig)),
    })
}

fn telegram(service: &Service, token: &str) -> NotifierSettings {
    NotifierSettings::Telegram(TelegramSettings {
        bot_token: Secret::new(token),
        chat_id: "-100123".to_owned(),
        message_thread_id: None,
        base_url: service.url(),
    })
}

fn matrix(service: &Service, token: &str) -> NotifierSettings {
    NotifierSettings::Matrix(MatrixSettings {
        homeserver: service.url(),
        access_token: Secret::new(token),
        room_id: "!ops:example.org".to_owned(),
    })
}

/// An app with `contacts` (name, settings), two checks on one target: `shop` alerting
/// the contacts named in `good`, `old` those in `stale`.
async fn watching(
    contacts: Vec<(&str, NotifierSettings)>,
    good: &[&str],
    stale: &[&str],
    path: &str,
) -> (TestApp, Target) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir.path().join("data"));
    for (name, contact) in contacts {
        settings.notifiers.insert(name.into(), contact);
    }
    settings.alerting.public_url = "https://stackwatch.example".to_owned();
    let mut app = spawn_with(settings).await;
    app.keep(dir);
    let target = http_target().await;
    for (check, contacts) in [("shop", good), ("old", stale)] {
        let body = json!({"url": target.url("http", path), "check_rate": 10,
            "retry_interval": 1, "failures_to_confirm": 1, "contacts": contacts});
        assert_eq!(
            app.put(&format!("/api/v1/checks/{check}"), &body).await.0,
            201
        );
    }
    (app, target)
}

/// Every delivery of `check`'s alerts, by contact: (status, attempts, last error).
async fn deliveries(app: &TestApp, check: &str) -> Vec<(String, String, i64, String)> {
    let (_, alerts) = app.get(&format!("/api/v1/alerts?check={check}")).await;
    let mut all = Vec::new();
    for alert in alerts["alerts"].as_array().unwrap() {
        for d in alert["deliveries"].as_array().unwrap() {
            all.push((
                d["contact"].as_str().unwrap().to_owned(),
                d["status"].as_str().unwrap().to_owned(),
                d["attempts"].as_i64().unwrap(),
                d["last_error"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    all
}

/// Waits until `check` has at least `count` alerts: the stale contacts' check goes down
/// and up on its own probes, which may come after the other's.
async fn wait_alerts(app: &TestApp, check: &str, count: usize) {
    wait_for(&format!("{count} alerts of {check}"), 90, async || {
        let (_, alerts) = app.get(&format!("/api/v1/alerts?check={check}")).await;
        (alerts["alerts"].as_array()?.len() >= count).then_some(())
    })
    .await;
}

/// Every delivery to a stale contact failed at its first attempt with `errors[contact]`,
/// and no error shows a secret.
async fn failed_at_once(app: &TestApp, errors: &[(&str, &str)], secrets: &[&str]) {
    let (_, alerts) = app.get("/api/v1/alerts?check=old").await;
    for secret in secrets {
        assert!(!alerts.to_string().contains(secret), "{alerts}");
    }
    let all = deliveries(app, "old").await;
    assert!(all.len() >= errors.len() * 2, "DOWN and RECOVERED: {all:?}");
    for (contact, status, attempts, error) in all {
        let expected = errors.iter().find(|(c, _)| *c == contact).unwrap().1;
        assert_eq!(
            (status.as_str(), attempts, error.as_str()),
            ("failed", 1, expected),
            "{contact}"
        );
    }
}

/// The seconds between a service's first busy answer and the call after it.
fn waited_after_busy(calls: &[Call]) -> Duration {
    let busy = calls.iter().position(|c| c.status == 429).unwrap();
    calls[busy + 1].at.duration_since(calls[busy].at)
}

/// What PagerDuty keeps of `check`'s outage: its one alert.
fn pd_alert(pd: &Service, check: &str) -> Option<(String, Value)> {
    let prefix = format!("stackwatch/{check}/");
    pd.memory
        .lock()
        .unwrap()
        .iter()
        .find(|(k, _)| k.starts_with(&prefix))
        .map(|(k, v)| (k.clone(), v.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_tools_open_acknowledge_and_close_one_incident_per_outage() {
    let pd = Service::pagerduty(PD_KEY).await;
    let og = Service::opsgenie(OG_KEY).await;
    let po = Service::pushover(PO_TOKEN).await;
    let contacts = vec![
        ("pd", pagerduty(&pd, PD_KEY)),
        ("pd-stale", pagerduty(&pd, PD_WRONG)),
        ("og", opsgenie(&og, OG_KEY)),
        ("og-stale", opsgenie(&og, OG_WRONG)),
        ("po", pushover(&po, PO_TOKEN)),
        ("po-stale", pushover(&po, PO_WRONG)),
    ];
    // PagerDuty busy (no hint: the usual backoff), then its full event refused; Opsgenie
    // refusing the full alert; Pushover over its limit once.
    pd.busy.store(1, Ordering::SeqCst);
    pd.refuse.store(1, Ordering::SeqCst);
    og.refuse.store(1, Ordering::SeqCst);
    po.busy.store(1, Ordering::SeqCst);
    let (app, target) = watching(
        contacts,
        &["pd", "og", "po"],
        &["pd-stale", "og-stale", "po-stale"],
        "/status",
    )
    .await;
    target.status.store(500, Ordering::SeqCst);

    let (key, alert) = wait_for("PagerDuty's alert", 90, async || {
        pd_alert(&pd, "shop").filter(|(_, a)| a["status"] == "triggered")
    })
    .await;
    assert_eq!(alert["summary"], "[DOWN] shop", "the plain form: {alert}");
    let ours: Vec<u16> = pd
        .calls()
        .iter()
        .filter(|c| c.document["routing_key"] == PD_KEY)
        .map(|c| c.status)
        .collect();
    assert_eq!(ours, [429, 400, 202]);
    let og_alert = wait_for("Opsgenie's alert", 30, async || og.remembered(&key)).await;
    assert_eq!(og_alert["status"], "open");
    assert_eq!(
        og_alert["message"], "[DOWN] shop",
        "the plain form: {og_alert}"
    );
    let page = wait_for("the emergency push", 60, async || {
        po.calls()
            .into_iter()
            .find(|c| c.status == 200 && c.document["title"] == "[DOWN] shop")
    })
    .await;
    let tag = key.replace('/', "-");
    assert_eq!(page.document["priority"], "2");
    assert_eq!(page.document["tags"], tag.as_str());
    assert_eq!(
        page.document["url"],
        "https://stackwatch.example/checks/shop"
    );

    wait_alerts(&app, "old", 1).await;

    // Someone takes it: PagerDuty and Opsgenie acknowledge, Pushover's repeats stop.
    let (_, open) = app.get("/api/v1/incidents?check=shop&open=true").await;
    let id = &open["incidents"][0]["id"];
    let ack = app
        .post_json(
            &format!("/api/v1/incidents/{id}/ack"),
            &json!({"by": "alice"}),
        )
        .await;
    assert_eq!(ack.0, 200, "{ack:?}");
    wait_for("the acknowledgements", 60, async || {
        let acked = pd.remembered(&key)?["status"] == "acknowledged"
            && og.remembered(&key)?["status"] == "acked"
            && po.remembered("cancelled")? == json!([tag]);
        acked.then_some(())
    })
    .await;

    target.status.store(200, Ordering::SeqCst);
    wait_for("the incident closed", 60, async || {
        let closed = pd.remembered(&key)?["status"] == "resolved"
            && og.remembered(&key)?["status"] == "closed"
            && po
                .calls()
                .iter()
                .any(|c| c.status == 200 && c.document["title"] == "[RECOVERED] shop");
        closed.then_some(())
    })
    .await;
    wait_alerts(&app, "old", 2).await;
    outbox_settled(&app.client, &app.url("")).await;
    // One incident in each tool for the one outage.
    assert_eq!(pd.remembered(&key).unwrap()["opened"], 1);
    assert_eq!(og.remembered(&key).unwrap()["created"], 1);
    let recovered = po
        .calls()
        .into_iter()
        .find(|c| c.status == 200 && c.document["title"] == "[RECOVERED] shop")
        .unwrap();
    assert_eq!(recovered.document["priority"], "0");

    failed_at_once(
        &app,
        &[
            (
                "pd-stale",
                "the receiver answered HTTP 400 (Event object is invalid: Invalid routing key)",
            ),
            (
                "og-stale",
                "the receiver answered HTTP 401 (Could not authenticate)",
            ),
            (
                "po-stale",
                "the receiver answered HTTP 400 (application token is invalid)",
            ),
        ],
        &[PD_WRONG, OG_WRONG, PO_WRONG],
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_tools_get_down_and_recovered_escaped_and_wait_as_asked() {
    let ts = Service::teams(TEAMS_SIG).await;
    let tg = Service::telegram(TG_TOKEN).await;
    let mx = Service::matrix(MX_TOKEN).await;
    let contacts = vec![
        ("teams", teams(&ts, TEAMS_SIG)),
        ("teams-stale", teams(&ts, "flow-deleted-0123")),
        ("telegram", telegram(&tg, TG_TOKEN)),
        ("telegram-stale", telegram(&tg, TG_WRONG)),
        ("matrix", matrix(&mx, MX_TOKEN)),
        ("matrix-stale", matrix(&mx, "syt_revoked_0123456789")),
    ];
    // Each busy once with its own hint, then refusing the full form once.
    for service in [&ts, &tg, &mx] {
        service.busy.store(1, Ordering::SeqCst);
        service.refuse.store(1, Ordering::SeqCst);
    }
    // A URL with '&': Telegram refuses HTML where it is not escaped as "&amp;".
    let (app, target) = watching(
        contacts,
        &["teams", "telegram", "matrix"],
        &["teams-stale", "telegram-stale", "matrix-stale"],
        "/status?a=1&b=2",
    )
    .await;
    let url = target.url("http", "/status?a=1&b=2");
    target.status.store(500, Ordering::SeqCst);
    let accepted = |s: &Service, status: u16| {
        s.calls()
            .into_iter()
            .filter(move |c| c.status == status)
            .collect::<Vec<_>>()
    };
    wait_for("the DOWN in every chat", 90, async || {
        (accepted(&ts, 202).len() == 1 && accepted(&tg, 200).len() == 1 && mx.room().len() == 1)
            .then_some(())
    })
    .await;
    for (service, ok, hint) in [(&ts, 202, 2), (&tg, 200, 3), (&mx, 200, 2)] {
        let ours: Vec<Call> = service
            .calls()
            .into_iter()
            .filter(|c| c.status != 401)
            .collect();
        let statuses: Vec<u16> = ours.iter().map(|c| c.status).collect();
        assert_eq!(statuses, [429, 400, ok]);
        let waited = waited_after_busy(&ours);
        assert!(
            waited >= Duration::from_secs(hint),
            "the retry waited {waited:?}, not the service's {hint} s"
        );
    }
    let first_line = format!("shop is DOWN: HTTP 500 from {url}.");
    let plain = &accepted(&tg, 200)[0].document;
    assert!(plain.get("parse_mode").is_none(), "{plain}");
    assert_eq!(plain["text"], format!("[DOWN] shop\n{first_line}"));
    assert_eq!(
        mx.room()[0],
        json!({"msgtype": "m.text", "body": first_line})
    );
    let card = &accepted(&ts, 202)[0].document["attachments"][0]["content"];
    assert!(card.get("actions").is_none(), "the plain card: {card}");

    wait_alerts(&app, "old", 1).await;
    target.status.store(200, Ordering::SeqCst);
    wait_for("the RECOVERED in every chat", 60, async || {
        (accepted(&ts, 202).len() == 2 && accepted(&tg, 200).len() == 2 && mx.room().len() == 2)
            .then_some(())
    })
    .await;
    let html = accepted(&tg, 200)[1].document["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        html.starts_with("<b>[RECOVERED] shop</b>\nshop is UP again after"),
        "{html}"
    );
    let room = &mx.room()[1];
    assert_eq!(room["format"], "org.matrix.custom.html");
    assert!(
        room["formatted_body"]
            .as_str()
            .unwrap()
            .starts_with("<strong>[RECOVERED] shop</strong><br>shop is UP again after"),
        "{room}"
    );
    let card = &accepted(&ts, 202)[1].document["attachments"][0]["content"];
    assert_eq!(card["body"][0]["inlines"][0]["text"], "[RECOVERED] shop");
    assert_eq!(card["body"][0]["inlines"][0]["color"], "good");
    assert_eq!(
        card["actions"][0]["url"],
        "https://stackwatch.example/checks/shop"
    );
    wait_alerts(&app, "old", 2).await;
    outbox_settled(&app.client, &app.url("")).await;

    failed_at_once(
        &app,
        &[
            (
                "teams-stale",
                "the receiver answered HTTP 401 (The request must be authenticated only by Shared Access scheme.)",
            ),
            ("telegram-stale", "the receiver answered HTTP 401 (Unauthorized)"),
            (
                "matrix-stale",
                "the receiver answered HTTP 401 (Invalid access token passed.)",
            ),
        ],
        &["flow-deleted", "WrongToken", "syt_revoked"],
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_repeated_after_kill_9_opens_no_second_incident_and_posts_nothing_twice() {
    let pd = Service::pagerduty(PD_KEY).await;
    let mx = Service::matrix(MX_TOKEN).await;
    // Each takes the DOWN and never answers: stackwatch dies before it learns.
    pd.hold.store(1, Ordering::SeqCst);
    mx.hold.store(1, Ordering::SeqCst);
    let config = format!(
        "[alerting]\ndefault_contacts = [\"pd\", \"room\"]\n\n\
         [notifiers.pd]\nkind = \"pagerduty\"\nrouting_key = \"{PD_KEY}\"\nbase_url = \"{}\"\n\n\
         [notifiers.room]\nkind = \"matrix\"\nhomeserver = \"{}\"\naccess_token = \"{MX_TOKEN}\"\n\
         room_id = \"!ops:example.org\"\n",
        pd.url(),
        mx.url()
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = binary::start(&data, &config).await;
    let target = http_target().await;
    let body = json!({"url": target.url("http", "/"), "check_rate": 10, "retry_interval": 1,
        "failures_to_confirm": 1});
    assert_eq!(first.put("/api/v1/checks/shop", &body).await.0, 201);
    target.status.store(500, Ordering::SeqCst);
    wait_for("both services to take the DOWN", 90, async || {
        (pd_alert(&pd, "shop").is_some() && mx.room().len() == 1).then_some(())
    })
    .await;
    let mut logs = first.log();
    first.kill9();

    let second = binary::start(&data, &config).await;
    wait_for("the DOWN delivered after the restart", 90, async || {
        let (_, alerts) = second.get("/api/v1/alerts?check=shop").await;
        let deliveries = alerts["alerts"][0]["deliveries"].as_array()?.clone();
        (deliveries.len() == 2 && deliveries.iter().all(|d| d["status"] == "delivered"))
            .then_some(())
    })
    .await;
    outbox_settled(&second.client, &second.url("")).await;
    // Each service was sent the DOWN twice, and made one of it.
    let triggers = pd
        .calls()
        .iter()
        .filter(|c| c.document["event_action"] == "trigger")
        .count();
    assert_eq!(triggers, 2);
    let (_, alert) = pd_alert(&pd, "shop").unwrap();
    assert_eq!(alert["opened"], 1, "{alert}");
    let puts: Vec<String> = mx.calls().iter().map(|c| c.path.clone()).collect();
    assert_eq!(puts.len(), 2, "{puts:?}");
    assert_eq!(puts[0], puts[1], "one transaction id");
    assert_eq!(mx.room().len(), 1);
    logs.push_str(&second.log());
    assert!(logs.contains("alert delivered"), "{logs}");
    for secret in [PD_KEY, MX_TOKEN] {
        assert!(!logs.contains(secret), "{logs}");
    }
}

// Threads of its own: the services answer while the command waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_reaches_each_service_and_a_bad_value_names_its_key() {
    let pd = Service::pagerduty(PD_KEY).await;
    let og = Service::opsgenie(OG_KEY).await;
    let ts = Service::teams(TEAMS_SIG).await;
    let tg = Service::telegram(TG_TOKEN).await;
    let mx = Service::matrix(MX_TOKEN).await;
    let po = Service::pushover(PO_TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("contacts.toml");
    std::fs::write(
        &config,
        format!(
            "[notifiers.pd]\nkind = \"pagerduty\"\nrouting_key = \"${{PD_KEY}}\"\nbase_url = \"{}\"\n\n\
             [notifiers.og]\nkind = \"opsgenie\"\napi_key = \"{OG_KEY}\"\nregion = \"eu\"\nbase_url = \"{}\"\n\n\
             [notifiers.ts]\nkind = \"teams\"\nwebhook_url = \"{}\"\n\n\
             [notifiers.tg]\nkind = \"telegram\"\nbot_token = \"{TG_TOKEN}\"\nchat_id = \"-100123\"\nbase_url = \"{}\"\n\n\
             [notifiers.mx]\nkind = \"matrix\"\nhomeserver = \"{}\"\naccess_token = \"{MX_TOKEN}\"\nroom_id = \"!ops:example.org\"\n\n\
             [notifiers.po]\nkind = \"pushover\"\ntoken = \"{PO_TOKEN}\"\nuser = \"{}\"\nbase_url = \"{}\"\n",
            pd.url(),
            og.url(),
            ts.teams_url(TEAMS_SIG),
            tg.url(),
            mx.url(),
            Service::PUSHOVER_USER,
            po.url()
        ),
    )
    .unwrap();
    for name in ["pd", "og", "ts", "tg", "mx", "po"] {
        let output = stackwatch(dir.path())
            .args(["notify-test", name, "--config"])
            .arg(&config)
            .env("PD_KEY", PD_KEY)
            .output()
            .unwrap();
        assert!(output.status.success(), "{name}: {output:?}");
    }
    let ok = |s: &Service| {
        s.calls()
            .into_iter()
            .filter(|c| (200..300).contains(&c.status))
            .collect::<Vec<_>>()
    };
    let (key, alert) = pd_alert(&pd, "test").unwrap();
    assert!(key.starts_with("stackwatch/test/"), "{key}");
    assert!(
        alert["summary"].as_str().unwrap().contains("test message"),
        "{alert}"
    );
    assert_eq!(
        ok(&og)[0].document["message"]
            .as_str()
            .map(|m| m.contains("test message")),
        Some(true)
    );
    assert_eq!(
        ok(&ts)[0].document["attachments"][0]["content"]["body"][0]["inlines"][0]["text"],
        "[TEST] stackwatch"
    );
    assert!(
        ok(&tg)[0].document["text"]
            .as_str()
            .unwrap()
            .starts_with("<b>[TEST] stackwatch</b>")
    );
    assert!(
        mx.room()[0]["body"]
            .as_str()
            .unwrap()
            .starts_with("[TEST] stackwatch")
    );
    assert_eq!(ok(&po)[0].document["title"], "[TEST] stackwatch");

    // Values outside each service's form stop the command, naming the keys, not the values.
    std::fs::write(
        &config,
        "[notifiers.pd]\nkind = \"pagerduty\"\nrouting_key = \"short-secret\"\n\n\
         [notifiers.tg]\nkind = \"telegram\"\nbot_token = \"no-colon-secret\"\nchat_id = \"ops room\"\n\n\
         [notifiers.mx]\nkind = \"matrix\"\nhomeserver = \"matrix.example.org\"\naccess_token = \"t\"\nroom_id = \"#ops:example.org\"\n\n\
         [notifiers.po]\nkind = \"pushover\"\ntoken = \"po-secret\"\nuser = \"u\"\npriority = 2\nretry = 10\n",
    )
    .unwrap();
    for (name, keys) in [
        ("pd", vec!["notifiers.pd.routing_key"]),
        ("tg", vec!["notifiers.tg.bot_token", "notifiers.tg.chat_id"]),
        (
            "mx",
            vec!["notifiers.mx.homeserver", "notifiers.mx.room_id"],
        ),
        (
            "po",
            vec![
                "notifiers.po.token",
                "notifiers.po.user",
                "notifiers.po.retry",
            ],
        ),
    ] {
        let output = stackwatch(dir.path())
            .args(["notify-test", name, "--config"])
            .arg(&config)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        for key in keys {
            assert!(stderr.contains(&format!("{key}: ")), "{key}: {stderr}");
        }
        for secret in ["short-secret", "no-colon-secret", "po-secret"] {
            assert!(!stderr.contains(secret), "{stderr}");
        }
    }
}
