//! Acknowledging an outage through the API and through the check page's button: its
//! reminders stop, its contacts are told once who took it, and a check down alongside it
//! that nobody acknowledged goes on being reminded of.

use serde_json::{Value, json};
use stackwatch::domain::Timestamp;

use crate::binary::wait_for;
use crate::heartbeats::events;
use crate::helpers::{ADMIN_TOKEN, READ_TOKEN, TestApp, error_fields, spawn_with_webhook};
use crate::receivers::HookReceiver;

/// `sig` with its last hex digit changed.
fn altered(sig: &str) -> String {
    let (head, last) = sig.split_at(sig.len() - 1);
    format!("{head}{}", if last == "0" { "1" } else { "0" })
}

/// A check of a port where nothing listens: DOWN at its first probe, reminded every minute.
async fn failing_check(app: &TestApp, name: &str) {
    let body = json!({"url": "http://127.0.0.1:9/", "check_rate": 10, "failures_to_confirm": 1,
        "reminder_every": 60});
    let (status, created) = app.put(&format!("/api/v1/checks/{name}"), &body).await;
    assert_eq!(status, 201, "{created}");
}

/// The check's open incident, once there is one.
async fn open_incident(app: &TestApp, name: &str) -> Value {
    wait_for(&format!("{name}'s incident"), 60, async || {
        let (_, list) = app
            .get(&format!("/api/v1/incidents?check={name}&open=true"))
            .await;
        list["incidents"].get(0).cloned()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_outage_is_not_reminded_of_and_its_contacts_are_told_once() {
    let hook = HookReceiver::start().await;
    let (app, _dir) = spawn_with_webhook(&hook).await;
    failing_check(&app, "taken").await;
    let incident = open_incident(&app, "taken").await;
    let id = incident["id"].as_i64().unwrap();
    let ack = format!("/api/v1/incidents/{id}/ack");

    // Refused: a read token, a bad body, an unknown incident.
    let read = app
        .client
        .post(app.url(&ack))
        .bearer_auth(READ_TOKEN)
        .json(&json!({"by": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status().as_u16(), 403);
    let (status, problem) = app
        .post_json(&ack, &json!({"by": " ", "note": "x", "extra": 1}))
        .await;
    assert_eq!(status, 422, "{problem}");
    let (status, problem) = app.post_json(&ack, &json!({"by": "\u{7}"})).await;
    assert_eq!(
        (status, error_fields(&problem)),
        (422, vec!["by".to_owned()])
    );
    let (status, _) = app
        .post_json("/api/v1/incidents/999999/ack", &json!({"by": "alice"}))
        .await;
    assert_eq!(status, 404);

    let (status, acked) = app
        .post_json(
            &ack,
            &json!({"by": "alice", "note": "restarting the <pool>"}),
        )
        .await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["acked_by"], "alice");
    assert_eq!(acked["ack_note"], "restarting the <pool>");
    // Again: the same answer, nothing sent twice.
    let (status, again) = app.post_json(&ack, &json!({"by": "bob"})).await;
    assert_eq!((status, &again["acked_by"]), (200, &json!("alice")));
    let dashboard = crate::helpers::text_as(&app.url("/"), ADMIN_TOKEN).await;
    assert!(dashboard.contains("(acknowledged by alice)"), "{dashboard}");

    // A second check, down at least ten seconds (a probe) after the first: once its first
    // reminder is out, the first one's was due too.
    let down_at = Timestamp::parse_rfc3339(incident["opened_at"].as_str().unwrap())
        .unwrap()
        .0;
    wait_for("ten seconds since the first went down", 30, async || {
        (Timestamp::now().0 >= down_at + 10_000).then_some(())
    })
    .await;
    failing_check(&app, "forgotten").await;
    let forgotten = open_incident(&app, "forgotten").await;
    wait_for("the second check's reminder", 120, async || {
        events(&hook, "forgotten")
            .contains(&"reminder".to_owned())
            .then_some(())
    })
    .await;
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    assert_eq!(events(&hook, "taken"), ["down", "acknowledged"]);
    let told = hook
        .accepted()
        .into_iter()
        .find(|r| r.body["event"] == "acknowledged")
        .unwrap();
    assert_eq!(told.body["acked_by"], "alice");
    assert!(
        told.body["text"]
            .as_str()
            .unwrap()
            .contains("alice acknowledged the outage of taken"),
        "{}",
        told.body
    );

    // The check page's button, with the admin's token; a read token may not.
    let id = forgotten["id"].as_i64().unwrap();
    let button = |token: &'static str| {
        app.client
            .post(app.url(&format!("/checks/forgotten/incidents/{id}/ack")))
            .bearer_auth(token)
            .form(&[("by", "carol"), ("note", "")])
            .send()
    };
    assert_eq!(button(READ_TOKEN).await.unwrap().status().as_u16(), 403);
    let page = crate::helpers::text_as(&app.url("/checks/forgotten"), ADMIN_TOKEN).await;
    assert!(page.contains(">Acknowledge<"), "{page}");
    let pressed = button(ADMIN_TOKEN).await.unwrap();
    assert!(pressed.status().is_success(), "{}", pressed.status());
    let page = crate::helpers::text_as(&app.url("/checks/forgotten"), ADMIN_TOKEN).await;
    assert!(page.contains("carol at "), "{page}");
    assert!(
        !page.contains(">Acknowledge<"),
        "no button once acknowledged"
    );
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    assert_eq!(
        events(&hook, "forgotten"),
        ["down", "reminder", "acknowledged"]
    );
}

/// `escalate_after` minutes into an outage nobody acknowledged, `escalate_to` is alerted
/// once, besides the DOWN its contacts had; an acknowledged outage is not escalated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_outage_escalates_once_at_its_time() {
    let hook = HookReceiver::start().await;
    let boss = HookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings =
        crate::helpers::with_webhook(crate::helpers::test_settings(dir.path()), &hook);
    settings.notifiers.insert(
        "boss".into(),
        stackwatch::settings::NotifierSettings::Webhook(stackwatch::settings::WebhookSettings {
            url: stackwatch::settings::Secret::new(boss.url("/hook")),
            headers: Default::default(),
        }),
    );
    let app = crate::helpers::spawn_with(settings).await;
    let escalating = json!({"url": "http://127.0.0.1:9/", "check_rate": 10,
        "failures_to_confirm": 1, "escalate_after": 1, "escalate_to": ["boss"]});

    // Both fields or neither, and only configured contacts.
    for (extra, field) in [
        (json!({"escalate_to": null}), "escalate_to"),
        (json!({"escalate_after": null}), "escalate_after"),
        (json!({"escalate_to": []}), "escalate_to"),
        (json!({"escalate_to": ["nobody"]}), "escalate_to[0]"),
        (json!({"escalate_after": 0}), "escalate_after"),
    ] {
        let mut body = escalating.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let body = Value::Object(
            body.as_object()
                .unwrap()
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        let (status, problem) = app.put("/api/v1/checks/refused", &body).await;
        assert_eq!(
            (status, error_fields(&problem)),
            (422, vec![field.to_owned()]),
            "{body}"
        );
    }

    let (status, created) = app.put("/api/v1/checks/taken", &escalating).await;
    assert_eq!(status, 201, "{created}");
    let taken = open_incident(&app, "taken").await;
    let (status, _) = app
        .post_json(
            &format!("/api/v1/incidents/{}/ack", taken["id"]),
            &json!({"by": "alice"}),
        )
        .await;
    assert_eq!(status, 200);
    // The second goes down well after the first (more than a round of the watch), so
    // when its escalation is out the first's was due before.
    let taken_at = Timestamp::parse_rfc3339(taken["opened_at"].as_str().unwrap())
        .unwrap()
        .0;
    wait_for("ten seconds since the first went down", 30, async || {
        (Timestamp::now().0 >= taken_at + 10_000).then_some(())
    })
    .await;
    // Escalation turned on by an update counts as much as one set at creation.
    let mut plain = escalating.clone();
    plain
        .as_object_mut()
        .unwrap()
        .retain(|key, _| !key.starts_with("escalate"));
    let (status, created) = app.put("/api/v1/checks/unheard", &plain).await;
    assert_eq!(status, 201, "{created}");
    let (status, updated) = app.put("/api/v1/checks/unheard", &escalating).await;
    assert_eq!(status, 200, "{updated}");
    let unheard = open_incident(&app, "unheard").await;
    wait_for("the escalation", 150, async || {
        (!boss.accepted().is_empty()).then_some(())
    })
    .await;
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    assert_eq!(
        boss.events_and_checks(),
        [("escalated".to_owned(), "unheard".to_owned())]
    );
    let escalated = &boss.accepted()[0].body;
    let opened = Timestamp::parse_rfc3339(unheard["opened_at"].as_str().unwrap())
        .unwrap()
        .0;
    let created_at = Timestamp::parse_rfc3339(escalated["created_at"].as_str().unwrap())
        .unwrap()
        .0;
    assert!(created_at >= opened + 60_000, "{escalated}");
    assert!(
        escalated["downtime_s"].as_u64().unwrap() >= 60,
        "{escalated}"
    );
    assert_eq!(events(&hook, "unheard"), ["down"]);
    assert_eq!(events(&hook, "taken"), ["down", "acknowledged"]);
    app.stop().await;
}

/// A DOWN carries a signed link that acknowledges its outage: its GET only shows a form
/// (a link preview acknowledges nothing), its POST acknowledges; a link altered in any
/// part is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signed_link_in_a_down_acknowledges_its_outage_and_no_other() {
    let hook = HookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings =
        crate::helpers::with_webhook(crate::helpers::test_settings(dir.path()), &hook);
    settings.alerting.public_url = "https://stackwatch.example".to_owned();
    let app = crate::helpers::spawn_with(settings).await;
    failing_check(&app, "linked").await;
    let incident = open_incident(&app, "linked").await;
    let down = wait_for("the DOWN", 60, async || {
        hook.accepted()
            .into_iter()
            .find(|r| r.body["event"] == "down")
    })
    .await;
    let link = down.body["ack_link"].as_str().unwrap().to_owned();
    let path = link
        .strip_prefix("https://stackwatch.example")
        .unwrap_or_else(|| panic!("{link}"));
    assert!(
        path.starts_with(&format!("/ack/{}?until=", incident["id"])),
        "{path}"
    );
    assert!(
        down.body["text"].as_str().unwrap().contains(&link),
        "the text carries it too"
    );
    let (_, alerts) = app.get("/api/v1/alerts?check=linked").await;
    assert!(!alerts.to_string().contains("sig="), "{alerts}");

    let client = reqwest::Client::new();
    let form = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(form.status().as_u16(), 200);
    assert!(form.text().await.unwrap().contains(">Acknowledge<"));
    let (_, open) = app.get("/api/v1/incidents?check=linked").await;
    assert_eq!(
        open["incidents"][0]["acked_at"],
        Value::Null,
        "a GET changes nothing"
    );

    let query: Vec<(String, String)> = url::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let value = |key: &str| query.iter().find(|(k, _)| k == key).unwrap().1.clone();
    let (until, sig) = (value("until"), value("sig"));
    let post = |id: String, until: String, sig: String| {
        client
            .post(app.url(&format!("/ack/{id}")))
            .form(&[
                ("until", until),
                ("sig", sig),
                ("by", "dave".to_owned()),
                ("note", "from the link".to_owned()),
            ])
            .send()
    };
    let id = incident["id"].to_string();
    let longer = (until.parse::<i64>().unwrap() + 1).to_string();
    for (id, until, sig) in [
        (
            (incident["id"].as_i64().unwrap() + 1).to_string(),
            until.clone(),
            sig.clone(),
        ),
        (id.clone(), longer, sig.clone()),
        (id.clone(), until.clone(), altered(&sig)),
    ] {
        let case = format!("/ack/{id} until {until} sig {sig}");
        let refused = post(id, until, sig).await.unwrap();
        assert_eq!(refused.status().as_u16(), 403, "{case}");
    }
    let accepted = post(id.clone(), until.clone(), sig.clone()).await.unwrap();
    assert_eq!(accepted.status().as_u16(), 200);
    assert!(
        accepted
            .text()
            .await
            .unwrap()
            .contains("Acknowledged the outage of linked as dave."),
    );
    let (_, acked) = app.get("/api/v1/incidents?check=linked").await;
    assert_eq!(acked["incidents"][0]["acked_by"], "dave");
    assert_eq!(acked["incidents"][0]["ack_note"], "from the link");
    let again = post(id, until, sig).await.unwrap().text().await.unwrap();
    assert!(again.contains("acknowledged already by dave"), "{again}");
    app.stop().await;
}
