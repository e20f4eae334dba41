//! Subscribing to a status page by email through the real server and a real SMTP
//! receiver: double opt-in (nothing is mailed before the confirmation, one confirmation
//! mail per address for a while), the next update and an announced window mailed with
//! the one-click unsubscribe headers, and no mail after unsubscribing.

use serde_json::json;
use stackwatch::settings::{EmailSettings, NotifierSettings, SmtpTls};

use crate::binary::wait_for;
use crate::helpers::{TestApp, spawn_with, test_settings};
use crate::receivers::SmtpReceiver;

const PUBLIC_URL: &str = "https://status.example.com";

/// A stackwatch whose status pages take subscriptions through `smtp`, with the published
/// stack `acme` and the unpublished `hidden`.
pub async fn app_with_subscriptions(smtp: &SmtpReceiver) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.notifiers.insert(
        "status-mail".into(),
        NotifierSettings::Email(EmailSettings {
            smtp_url: format!("smtp://{}", smtp.addr),
            tls: Some(SmtpTls::None),
            username: None,
            password: None,
            from: "status@example.com".into(),
            to: vec!["unused@example.com".into()],
        }),
    );
    settings.status_pages.subscriptions_via = "status-mail".into();
    settings.alerting.public_url = PUBLIC_URL.into();
    let app = spawn_with(settings).await;
    let acme = json!({"status_page": true, "checks": [
        {"name": "acme-web", "url": "http://127.0.0.1:9/", "check_rate": 60},
    ]});
    assert_eq!(app.put("/api/v1/stacks/acme", &acme).await.0, 200);
    let hidden =
        json!({"checks": [{"name": "hidden-web", "url": "http://127.0.0.1:9/", "check_rate": 60}]});
    assert_eq!(app.put("/api/v1/stacks/hidden", &hidden).await.0, 200);
    (app, dir)
}

/// A mail as its reader sees it: decoded subject and text, and a header.
pub struct Read {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub unsubscribe: Option<String>,
    pub one_click: Option<String>,
}

pub fn read_mails(smtp: &SmtpReceiver) -> Vec<Read> {
    smtp.mails()
        .into_iter()
        .map(|mail| {
            let parsed = mail_parser::MessageParser::default()
                .parse(mail.data.as_bytes())
                .unwrap_or_else(|| panic!("not a mail: {}", mail.data));
            let header = |name: &str| parsed.header_raw(name).map(|v| v.trim().to_owned());
            Read {
                to: mail.to.clone(),
                subject: parsed.subject().unwrap_or_default().to_owned(),
                text: parsed.body_text(0).unwrap_or_default().into_owned(),
                unsubscribe: header("List-Unsubscribe"),
                one_click: header("List-Unsubscribe-Post"),
            }
        })
        .collect()
}

/// Waits for a mail to `to` whose subject starts with `subject`; its text.
pub async fn mail_to(smtp: &SmtpReceiver, to: &str, subject: &str) -> Read {
    wait_for(&format!("a mail {subject} to {to}"), 60, async || {
        read_mails(smtp)
            .into_iter()
            .find(|m| m.to == [to] && m.subject.starts_with(subject))
    })
    .await
}

/// The path of the first link in `text` that starts with `PUBLIC_URL`.
pub fn link_path(text: &str, part: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with(PUBLIC_URL) && w.contains(part))
        .unwrap_or_else(|| panic!("no {part} link in {text}"))
        .trim_start_matches(PUBLIC_URL)
        .to_owned()
}

async fn subscribe(app: &TestApp, stack: &str, email: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(app.url(&format!("/status/{stack}/subscribe")))
        .form(&[("email", email)])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn post_update(app: &TestApp, status: &str, message: &str) {
    let body = json!({"status": status, "message": message, "checks": ["acme-web"]});
    assert_eq!(
        app.post_json("/api/v1/stacks/acme/updates", &body).await.0,
        201
    );
}

#[tokio::test]
async fn a_visitor_confirms_then_gets_the_updates_until_one_click_unsubscribes() {
    let smtp = SmtpReceiver::start().await;
    let (app, _dir) = app_with_subscriptions(&smtp).await;
    let anonymous = reqwest::Client::new();

    let (status, page) = subscribe(&app, "acme", "Reader@Example.com").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Check your inbox"), "{page}");
    let confirmation = mail_to(
        &smtp,
        "Reader@example.com",
        "[acme] Confirm your subscription",
    )
    .await;
    let confirm = link_path(&confirmation.text, "/confirm/");
    // Unconfirmed, it is told nothing; asked again at once, no second confirmation.
    post_update(&app, "investigating", "Before the confirmation").await;
    assert_eq!(subscribe(&app, "acme", "reader@EXAMPLE.com").await.0, 200);
    // A second reader, to tell when every mail queued so far has gone out.
    assert_eq!(subscribe(&app, "acme", "second@example.com").await.0, 200);
    let second = mail_to(&smtp, "second@example.com", "[acme] Confirm").await;

    let form = anonymous.get(app.url(&confirm)).send().await.unwrap();
    assert_eq!(form.status(), 200);
    assert!(
        form.text().await.unwrap().contains(">Confirm</button>"),
        "a GET confirms nothing"
    );
    for path in [confirm.clone(), link_path(&second.text, "/confirm/")] {
        let confirmed = anonymous.post(app.url(&path)).send().await.unwrap();
        assert_eq!(confirmed.status(), 200);
        assert!(
            confirmed
                .text()
                .await
                .unwrap()
                .contains("You are subscribed")
        );
    }

    post_update(&app, "identified", "The **pool** is full; freeing it.").await;
    let update = mail_to(&smtp, "Reader@example.com", "[acme] Identified: acme-web").await;
    assert!(
        update.text.contains("The **pool** is full; freeing it."),
        "{}",
        update.text
    );
    assert!(update.text.contains(&format!("{PUBLIC_URL}/status/acme")));
    let unsubscribe = link_path(&update.text, "/unsubscribe/");
    assert_eq!(
        update.unsubscribe,
        Some(format!("<{PUBLIC_URL}{unsubscribe}>"))
    );
    assert_eq!(
        update.one_click.as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let to_reader: Vec<String> = read_mails(&smtp)
        .into_iter()
        .filter(|m| m.to == ["Reader@example.com"])
        .map(|m| m.subject)
        .collect();
    assert_eq!(
        to_reader,
        [
            "[acme] Confirm your subscription",
            "[acme] Identified: acme-web"
        ],
        "one confirmation, nothing before it was confirmed"
    );

    let (cron_day, day) = crate::helpers::window_day();
    let window = json!({"scope": "check", "target": "acme-web", "cron": format!("0 2 * * {cron_day}"),
        "duration": 3600, "timezone": "Europe/Paris", "reason": "patching", "public": true});
    assert_eq!(app.post_json("/api/v1/maintenance", &window).await.0, 201);
    let notice = mail_to(
        &smtp,
        "Reader@example.com",
        &format!("[acme] Scheduled maintenance: {day}"),
    )
    .await;
    assert!(
        notice.subject.contains("02:00–03:00 CE"),
        "{}",
        notice.subject
    );
    assert!(notice.text.contains("patching"));

    // A mail client's one-click unsubscribe (RFC 8058): a POST from no page.
    let gone = anonymous
        .post(app.url(&unsubscribe))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 200);
    post_update(&app, "resolved", "All good again").await;
    mail_to(&smtp, "second@example.com", "[acme] Resolved").await;
    assert!(
        !read_mails(&smtp)
            .iter()
            .any(|m| m.to == ["Reader@example.com"] && m.subject.starts_with("[acme] Resolved")),
        "nothing after unsubscribing"
    );
    let again = anonymous.post(app.url(&confirm)).send().await.unwrap();
    assert_eq!(
        again.status(),
        404,
        "the address is gone, its links with it"
    );
}

#[tokio::test]
async fn subscribing_refuses_a_bad_address_a_hidden_page_and_a_cross_site_form() {
    let smtp = SmtpReceiver::start().await;
    let (app, _dir) = app_with_subscriptions(&smtp).await;
    let (status, page) = subscribe(&app, "acme", "not an address\r\nBcc: x@example.com").await;
    assert_eq!(status, 422);
    assert!(
        page.contains("email: must be an address like name@example.com"),
        "{page}"
    );
    assert_eq!(subscribe(&app, "hidden", "reader@example.com").await.0, 404);
    assert_eq!(
        subscribe(&app, "no-such-stack", "reader@example.com")
            .await
            .0,
        404
    );
    let cross = reqwest::Client::new()
        .post(app.url("/status/acme/subscribe"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("email", "reader@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let page = reqwest::Client::new()
        .get(app.url("/status/acme"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("action=\"/status/acme/subscribe\""), "{page}");
    // Only the refused ones were asked: no mail at all.
    assert_eq!(subscribe(&app, "acme", "last@example.com").await.0, 200);
    let only = mail_to(&smtp, "last@example.com", "[acme] Confirm").await;
    assert!(only.text.contains("/status/acme/confirm/"));
    assert_eq!(
        smtp.mails().len(),
        1,
        "{:?}",
        read_mails(&smtp).iter().map(|m| &m.to).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn webhooks_the_team_adds_get_each_update_until_removed_and_stay_secret_to_readers() {
    let smtp = SmtpReceiver::start().await;
    let hook = crate::receivers::HookReceiver::start().await;
    let (app, _dir) = app_with_subscriptions(&smtp).await;
    let add = |url: String| {
        let app = &app;
        async move {
            app.post_json("/api/v1/stacks/acme/subscribers", &json!({"url": url}))
                .await
        }
    };
    let (status, added) = add(hook.url("/customer/secret-path")).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["webhook"]["url"], hook.url("/customer/secret-path"));
    let (status, again) = add(hook.url("/customer/secret-path")).await;
    assert_eq!((status, &again["changed"]), (200, &json!(false)));
    let (status, sentinel) = add(hook.url("/sentinel")).await;
    assert_eq!(status, 201, "{sentinel}");
    for bad in [
        "ftp://example.com/x",
        "not a url",
        "http:// spaced.example.com/",
    ] {
        let (status, problem) = add(bad.to_owned()).await;
        assert_eq!(
            (status, crate::helpers::error_fields(&problem)),
            (422, vec!["url".to_owned()]),
            "{bad}"
        );
    }
    let (status, _) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/stacks/acme/subscribers",
            crate::helpers::READ_TOKEN,
            Some(&json!({"url": hook.url("/x")})),
        )
        .await;
    assert_eq!(status, 403);
    let (_, listed) = app.get("/api/v1/stacks/acme/subscribers").await;
    let shown: Vec<&str> = listed["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["url"].as_str().unwrap())
        .collect();
    assert_eq!(shown.len(), 2, "{listed}");
    assert!(
        shown
            .iter()
            .all(|u| u.ends_with("/<redacted>") && !u.contains("secret-path")),
        "a reader sees no path: {shown:?}"
    );

    post_update(&app, "identified", "The **pool** is full.").await;
    let delivered = wait_for("the update at the webhook", 60, async || {
        hook.accepted()
            .into_iter()
            .find(|r| r.path == "/customer/secret-path")
    })
    .await;
    assert_eq!(
        delivered.body,
        json!({"stack": "acme", "title": "[acme] Identified: acme-web",
            "text": "The **pool** is full.", "page": format!("{PUBLIC_URL}/status/acme")})
    );

    let id = added["webhook"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/stacks/acme/subscribers/{id}");
    assert_eq!(app.delete(&path).await.1["changed"], true);
    assert_eq!(app.delete(&path).await.1["changed"], false);
    post_update(&app, "resolved", "Fixed.").await;
    wait_for("the second update at the sentinel", 60, async || {
        hook.accepted()
            .iter()
            .any(|r| r.path == "/sentinel" && r.body["text"] == "Fixed.")
            .then_some(())
    })
    .await;
    let to_removed = hook
        .accepted()
        .iter()
        .filter(|r| r.path == "/customer/secret-path")
        .count();
    assert_eq!(to_removed, 1, "nothing after the webhook was removed");
}

#[tokio::test]
async fn an_unconfirmed_address_is_deleted_after_a_week_and_a_confirmed_one_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::helpers::open_suite_store(dir.path()).await;
    let stack: stackwatch::domain::StackName = "acme".parse().unwrap();
    let day = 86_400_000;
    let now = stackwatch::domain::Timestamp::now();
    let at = |days: i64| stackwatch::domain::Timestamp(now.0 - days * day);
    let old = store
        .subscribe(&stack, "old@example.com", at(8))
        .await
        .unwrap();
    store
        .queue_mail(old.id, "Confirm", "link", at(8))
        .await
        .unwrap();
    let recent = store
        .subscribe(&stack, "recent@example.com", at(6))
        .await
        .unwrap();
    let kept = store
        .subscribe(&stack, "kept@example.com", at(30))
        .await
        .unwrap();
    assert!(
        store
            .confirm_subscriber(&stack, &kept.token, at(29))
            .await
            .unwrap()
    );

    let cut =
        stackwatch::domain::Timestamp(now.0 - stackwatch::dispatch::mailer::UNCONFIRMED_KEPT_MS);
    assert_eq!(store.prune_unconfirmed(cut).await.unwrap(), 1);
    assert!(
        !store
            .confirm_subscriber(&stack, &old.token, now)
            .await
            .unwrap(),
        "gone"
    );
    assert!(
        store
            .confirm_subscriber(&stack, &recent.token, now)
            .await
            .unwrap(),
        "kept a week"
    );
    let again = store
        .subscribe(&stack, "kept@example.com", now)
        .await
        .unwrap();
    assert!(
        again.confirmed && again.token == kept.token,
        "a confirmed one stays as it was"
    );
    store.close().await;
}

#[tokio::test]
async fn one_client_may_ask_for_five_subscriptions_an_hour() {
    let smtp = SmtpReceiver::start().await;
    let (app, _dir) = app_with_subscriptions(&smtp).await;
    for i in 1..=5 {
        let (status, page) = subscribe(&app, "acme", &format!("reader{i}@example.com")).await;
        assert_eq!(status, 200, "{i}: {page}");
    }
    let refused = reqwest::Client::new()
        .post(app.url("/status/acme/subscribe"))
        .form(&[("email", "reader6@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3_600).contains(&wait), "{wait}");
    // The five were mailed; the sixth, written nowhere, never will be.
    for i in 1..=5 {
        mail_to(&smtp, &format!("reader{i}@example.com"), "[acme] Confirm").await;
    }
    assert!(
        !read_mails(&smtp)
            .iter()
            .any(|m| m.to == ["reader6@example.com"])
    );
}
