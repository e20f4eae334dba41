//! Status updates and public maintenance through the real server: posted, edited (history
//! kept) and deleted through the API and the dashboard's forms, validated field by field,
//! and read by an anonymous visitor of the stack's status page, escaped.

use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, READ_TOKEN, error_fields};
use crate::web::{app_with_checks, browser_like, text};

/// The open incident of `check`.
async fn open_incident(app: &crate::helpers::TestApp, check: &str) -> i64 {
    let (status, list) = app
        .get(&format!("/api/v1/incidents?check={check}&open=true"))
        .await;
    assert_eq!(status, 200, "{list}");
    list["incidents"][0]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn updates_are_validated_posted_edited_and_deleted_and_show_on_the_status_page() {
    let (app, _dir, _target) = app_with_checks().await;
    let updates = "/api/v1/stacks/acme/updates";
    let post_as = |token: &'static str, body: Value| {
        let app = &app;
        async move {
            app.send(reqwest::Method::POST, updates, token, Some(&body))
                .await
        }
    };
    let (status, _) = post_as(
        READ_TOKEN,
        json!({"status": "investigating", "message": "x"}),
    )
    .await;
    assert_eq!(status, 403, "a read token may not post");

    let (status, problem) = post_as(
        ADMIN_TOKEN,
        json!({"status": "fixed", "message": "  ", "checks": ["Bad", "hidden-liveness"]}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(error_fields(&problem), ["status", "message", "checks[0]"]);
    let (status, problem) = post_as(
        ADMIN_TOKEN,
        json!({"status": "identified", "message": "m", "checks": ["hidden-liveness"], "incident_id": 999_999}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(error_fields(&problem), ["incident_id", "checks[0]"]);
    assert!(
        problem
            .to_string()
            .contains("no check hidden-liveness in stack acme"),
        "{problem}"
    );
    let (status, _) = app
        .post_json(
            "/api/v1/stacks/no-such-stack/updates",
            &json!({"status": "investigating", "message": "m"}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        app.get(updates).await.1["updates"],
        json!([]),
        "nothing half-written"
    );

    let incident = open_incident(&app, "acme-readiness").await;
    let (status, first) = post_as(
        ADMIN_TOKEN,
        json!({"status": "identified", "message": "The **primary** database is full.", "incident_id": incident}),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        first["checks"],
        json!(["acme-readiness"]),
        "the incident's check"
    );
    assert_eq!(first["incident_id"], incident);
    let (status, second) = post_as(
        ADMIN_TOKEN,
        json!({"status": "investigating", "message": "Payments fail <script>alert(1)</script>\n\n- card\n- wire"}),
    )
    .await;
    assert_eq!(status, 201, "{second}");
    let (_, list) = app.get(updates).await;
    let ids: Vec<&Value> = list["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["id"])
        .collect();
    assert_eq!(ids, [&second["id"], &first["id"]], "newest first");

    let anonymous = reqwest::Client::new();
    let (status, _, page) = text(&anonymous, app.url("/status/acme")).await;
    assert_eq!(status, 200);
    let (at_second, at_first) = (
        page.find("Payments fail").unwrap(),
        page.find("database is full").unwrap(),
    );
    assert!(at_second < at_first, "newest first on the page");
    assert!(
        page.contains("The <strong>primary</strong> database is full."),
        "{page}"
    );
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped: {page}"
    );
    assert!(page.contains("<li>card</li><li>wire</li>"));
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains("<strong>Investigating</strong>") && page.contains("<time datetime="));

    // An edit keeps what was said before.
    let first_url = format!("{updates}/{}", first["id"]);
    let (status, edited) = app
        .send(
            reqwest::Method::PATCH,
            &first_url,
            ADMIN_TOKEN,
            Some(&json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (&edited["status"], &edited["message"]),
        (&json!("resolved"), &first["message"])
    );
    assert!(edited["edited_at"].is_string());
    let (status, problem) = app
        .send(
            reqwest::Method::PATCH,
            &first_url,
            ADMIN_TOKEN,
            Some(&json!({"message": ""})),
        )
        .await;
    assert_eq!(
        (status, error_fields(&problem)),
        (422, vec!["message".to_owned()])
    );
    let (_, history) = app.get(&first_url).await;
    assert_eq!(history["status"], "resolved");
    assert_eq!(history["history"].as_array().unwrap().len(), 1, "{history}");
    assert_eq!(history["history"][0]["status"], "identified");
    assert_eq!(history["history"][0]["message"], first["message"]);

    // A delete hides it and keeps it.
    let second_url = format!("{updates}/{}", second["id"]);
    assert_eq!(app.delete(&second_url).await.1["changed"], true);
    assert_eq!(app.delete(&second_url).await.1["changed"], false);
    let (_, kept) = app.get(&second_url).await;
    assert!(kept["deleted_at"].is_string(), "{kept}");
    let (status, _) = app
        .send(
            reqwest::Method::PATCH,
            &second_url,
            ADMIN_TOKEN,
            Some(&json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(status, 404, "a deleted update is not edited");
    let (_, _, page) = text(&anonymous, app.url("/status/acme")).await;
    assert!(!page.contains("Payments fail"));
    assert!(page.contains("<strong>Resolved</strong>"));
    let (status, _) = app.get(&format!("{updates}/not-a-number")).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn public_windows_are_announced_ahead_and_while_open_and_private_ones_are_not() {
    let (app, _dir, _target) = app_with_checks().await;
    let (cron_day, day) = crate::helpers::window_day();
    let windows = [
        json!({"scope": "stack", "target": "acme", "cron": format!("0 2 * * {cron_day}"), "duration": 3600,
            "timezone": "Europe/Paris", "reason": "database upgrade", "public": true}),
        json!({"scope": "check", "target": "acme-readiness", "duration": 3600,
            "reason": "replacing the load balancer", "public": true}),
        json!({"scope": "stack", "target": "acme", "duration": 600, "reason": "internal-only-reason"}),
        json!({"scope": "stack", "target": "hidden", "duration": 600, "reason": "other-stack-reason", "public": true}),
    ];
    for window in &windows {
        let (status, created) = app.post_json("/api/v1/maintenance", window).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(
            created["public"],
            window.get("public").cloned().unwrap_or(json!(false))
        );
    }
    let (_, _, page) = text(&reqwest::Client::new(), app.url("/status/acme")).await;
    let scheduled = page
        .find(&format!("Scheduled: </strong>{day} "))
        .expect(&page);
    assert!(
        page[scheduled..].contains("02:00–03:00 CE"),
        "in Paris time: {page}"
    );
    assert!(page.contains("database upgrade"));
    assert!(
        page.contains("In progress: </strong>") && page.contains("replacing the load balancer")
    );
    assert!(!page.contains("internal-only-reason") && !page.contains("other-stack-reason"));
    assert!(
        page.contains("◆ maintenance"),
        "the checks in a window: {page}"
    );
    assert!(!page.contains("▼ down"), "not down while in maintenance");
}

#[tokio::test]
async fn the_dashboard_posts_edits_and_deletes_updates_for_an_admin_only() {
    let (app, _dir, _target) = app_with_checks().await;
    let sign_in = async |token: &str| {
        let client = browser_like();
        let signed = client
            .post(app.url("/login"))
            .form(&[("token", token), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(signed.status().as_u16(), 303);
        client
    };
    let admin = sign_in(ADMIN_TOKEN).await;
    let reader = sign_in(READ_TOKEN).await;

    let (status, _, check_page) = text(&admin, app.url("/checks/acme-readiness")).await;
    assert_eq!(status, 200);
    let incident = open_incident(&app, "acme-readiness").await;
    assert!(
        check_page.contains("action=\"/stacks/acme/updates\""),
        "{check_page}"
    );
    assert!(check_page.contains(&format!("name=\"incident_id\" value=\"{incident}\"")));
    let (_, _, read_only) = text(&reader, app.url("/checks/acme-readiness")).await;
    assert!(!read_only.contains("action=\"/stacks/acme/updates\""));

    let form = [
        ("status", "investigating"),
        ("message", "Looking into *slow* pages"),
        ("checks", "acme-readiness, acme-liveness"),
        ("from_check", "acme-readiness"),
    ];
    let refused = reader
        .post(app.url("/stacks/acme/updates"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let cross = admin
        .post(app.url("/stacks/acme/updates"))
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status().as_u16(), 403, "a cross-site form is refused");
    let bad = admin
        .post(app.url("/stacks/acme/updates"))
        .form(&[
            ("status", "investigating"),
            ("message", "m"),
            ("checks", "hidden-liveness"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 422);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("checks[0]: no check hidden-liveness in stack acme")
    );
    let posted = admin
        .post(app.url("/stacks/acme/updates"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status().as_u16(), 303);
    assert_eq!(posted.headers()["location"], "/checks/acme-readiness");

    let (_, list) = app.get("/api/v1/stacks/acme/updates").await;
    let update = &list["updates"][0];
    assert_eq!(update["checks"], json!(["acme-readiness", "acme-liveness"]));
    let id = update["id"].as_i64().unwrap();
    let (status, _, stack_page) = text(&admin, app.url("/stacks/acme")).await;
    assert_eq!(status, 200);
    assert!(
        stack_page.contains("Looking into <em>slow</em> pages"),
        "{stack_page}"
    );
    assert!(stack_page.contains(&format!("action=\"/stacks/acme/updates/{id}/delete\"")));

    let saved = admin
        .post(app.url(&format!("/stacks/acme/updates/{id}")))
        .form(&[
            ("status", "monitoring"),
            ("message", "A fix is out"),
            ("checks", "acme-readiness"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status().as_u16(), 303);
    let (_, _, page) = text(&reqwest::Client::new(), app.url("/status/acme")).await;
    assert!(page.contains("<strong>Monitoring</strong>") && page.contains("A fix is out"));
    let (_, history) = app.get(&format!("/api/v1/stacks/acme/updates/{id}")).await;
    assert_eq!(
        history["history"][0]["message"],
        "Looking into *slow* pages"
    );

    let deleted = admin
        .post(app.url(&format!("/stacks/acme/updates/{id}/delete")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 303);
    let (_, list) = app.get("/api/v1/stacks/acme/updates").await;
    assert_eq!(list["updates"], json!([]));
}

#[tokio::test]
async fn a_public_page_has_atom_and_json_feeds_of_its_updates_and_windows() {
    let (app, _dir, _target) = app_with_checks().await;
    let update = json!({"status": "identified", "checks": ["acme-readiness"],
        "message": "The **pool** is full <b>&</b> draining."});
    assert_eq!(
        app.post_json("/api/v1/stacks/acme/updates", &update)
            .await
            .0,
        201
    );
    let (cron_day, day) = crate::helpers::window_day();
    let window = json!({"scope": "stack", "target": "acme", "cron": format!("0 2 * * {cron_day}"),
        "duration": 3600, "timezone": "Europe/Paris", "reason": "patching", "public": true});
    assert_eq!(app.post_json("/api/v1/maintenance", &window).await.0, 201);

    let anonymous = reqwest::Client::new();
    for (path, content_type, kind) in [
        (
            "/status/acme/feed.atom",
            "application/atom+xml; charset=utf-8",
            feed_rs::model::FeedType::Atom,
        ),
        (
            "/status/acme/feed.json",
            "application/feed+json",
            feed_rs::model::FeedType::JSON,
        ),
    ] {
        let response = anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], content_type);
        assert_eq!(response.headers()["cache-control"], "public, max-age=60");
        let body = response.bytes().await.unwrap();
        let feed = feed_rs::parser::parse(&body[..])
            .unwrap_or_else(|e| panic!("{path}: {e}: {}", String::from_utf8_lossy(&body)));
        assert_eq!(feed.feed_type, kind);
        assert_eq!(feed.title.unwrap().content, "acme status");
        let titles: Vec<String> = feed
            .entries
            .iter()
            .map(|e| e.title.clone().unwrap().content)
            .collect();
        assert_eq!(titles.len(), 2, "{path}: {titles:?}");
        assert!(
            titles.contains(&"Identified: acme-readiness".to_owned()),
            "{titles:?}"
        );
        assert!(
            titles
                .iter()
                .any(|t| t.starts_with(&format!("Maintenance {day}"))),
            "{titles:?}"
        );
        let update = feed
            .entries
            .iter()
            .find(|e| e.title.as_ref().unwrap().content.starts_with("Identified"))
            .unwrap();
        let html = update.content.as_ref().unwrap().body.clone().unwrap();
        assert_eq!(
            html, "<p>The <strong>pool</strong> is full &lt;b&gt;&amp;&lt;/b&gt; draining.</p>",
            "{path}"
        );
        assert!(
            update.id.starts_with("urn:stackwatch:acme:update:"),
            "{}",
            update.id
        );
    }
    let (_, _, page) = text(&anonymous, app.url("/status/acme")).await;
    assert!(page.contains("href=\"/status/acme/feed.atom\""));
    for path in ["/status/hidden/feed.atom", "/status/hidden/feed.json"] {
        let status = anonymous.get(app.url(path)).send().await.unwrap().status();
        assert_eq!(status, 404, "{path}: no feed of an unpublished stack");
    }
}

#[tokio::test]
async fn a_page_on_its_own_host_name_shows_its_title_logo_and_link() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::helpers::test_settings(dir.path());
    settings.status_pages.pages.insert(
        "acme".into(),
        stackwatch::settings::PageLook {
            hosts: vec!["status.acme.example".into()],
            title: Some("Acme Cloud <status>".into()),
            logo_url: Some("https://cdn.acme.example/logo.svg".into()),
            link: Some("https://acme.example/".into()),
        },
    );
    settings.status_pages.pages.insert(
        "hidden".into(),
        stackwatch::settings::PageLook {
            hosts: vec!["status.hidden.example".into()],
            ..Default::default()
        },
    );
    let app = crate::helpers::spawn_with(settings).await;
    let acme = json!({"status_page": true, "checks": [{"name": "acme-web", "url": "http://127.0.0.1:9/"}]});
    assert_eq!(app.put("/api/v1/stacks/acme", &acme).await.0, 200);
    let hidden = json!({"checks": [{"name": "hidden-web", "url": "http://127.0.0.1:9/"}]});
    assert_eq!(app.put("/api/v1/stacks/hidden", &hidden).await.0, 200);
    let client = browser_like();
    let at = |host: &'static str| {
        let client = &client;
        let url = app.url("/");
        async move {
            let response = client.get(url).header("host", host).send().await.unwrap();
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            (status, headers, response.text().await.unwrap())
        }
    };

    let (status, headers, page) = at("Status.Acme.Example:8443").await;
    assert_eq!(status, 200, "no sign-in for the page's own host: {page}");
    assert!(
        page.contains("<h1>Acme Cloud &lt;status&gt;</h1>"),
        "{page}"
    );
    assert!(page.contains("<title>Acme Cloud &lt;status&gt; · stackwatch</title>"));
    assert!(
        page.contains("<a class=\"brand\" href=\"https://acme.example/\"><img class=\"logo\" src=\"https://cdn.acme.example/logo.svg\""),
        "{page}"
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("img-src 'self' data: https://cdn.acme.example;"),
        "{csp}"
    );
    assert!(page.contains("acme-web") && !page.contains("hidden-web"));
    // The same page at its usual address, and nothing of it elsewhere.
    let (_, _, usual) = text(&client, app.url("/status/acme")).await;
    assert!(usual.contains("<h1>Acme Cloud &lt;status&gt;</h1>"));
    assert_eq!(
        at("status.hidden.example").await.0,
        404,
        "an unpublished stack's host"
    );
    let (status, headers, _) = at("stackwatch.internal.example").await;
    assert_eq!(status, 303, "any other host is the dashboard");
    assert!(headers["location"].to_str().unwrap().starts_with("/login"));
}
