//! The StatusCake-compatible API under `/v1`, driven as a StatusCake client drives it: form
//! bodies, bearer token, `{"data": …}` answers, ids, and lookup by name in the pages.

use serde_json::Value;

use crate::binary::wait_for;
use crate::helpers::{ADMIN_TOKEN, READ_TOKEN, TestApp, spawn_with_webhook, status_and_json};
use crate::receivers::HookReceiver;
use crate::targets::http_target;

fn form(fields: &[(&str, &str)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        out.append_pair(k, v);
    }
    out.finish()
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let response = app
        .client
        .request(method, app.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(fields))
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

async fn create(app: &TestApp, fields: &[(&str, &str)]) -> String {
    let (status, body) = send(app, reqwest::Method::POST, "/v1/uptime", fields).await;
    assert_eq!(status, 201, "{body}");
    body["data"]["new_id"].as_str().unwrap().to_owned()
}

/// Finds a check by exact name the way StatusCake clients do: page by page.
async fn find_by_name(app: &TestApp, name: &str) -> Option<Value> {
    let mut page = 1;
    loop {
        let (status, body) = app.get(&format!("/v1/uptime?limit=2&page={page}")).await;
        assert_eq!(status, 200, "{body}");
        if let Some(found) = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
        {
            return Some(found.clone());
        }
        if page >= body["metadata"]["page_count"].as_u64().unwrap() {
            return None;
        }
        page += 1;
    }
}

#[tokio::test]
async fn a_statuscake_client_creates_finds_updates_and_deletes_checks() {
    let hook = HookReceiver::start().await;
    let (app, _dir) = spawn_with_webhook(&hook).await;
    let target = http_target().await;

    let (status, groups) = app.get("/v1/contact-groups").await;
    assert_eq!(status, 200, "{groups}");
    assert_eq!(groups["data"][0]["name"], "pager");
    let pager = groups["data"][0]["id"].as_str().unwrap().to_owned();
    let (status, one) = app.get(&format!("/v1/contact-groups/{pager}")).await;
    assert_eq!((status, &one["data"]["name"]), (200, &Value::from("pager")));
    assert_eq!(app.get("/v1/contact-groups/1").await.0, 404);

    let url = target.url("http", "/ok");
    let id = create(
        &app,
        &[
            ("name", "Acme :: readiness"),
            ("test_type", "HTTP"),
            ("website_url", &url),
            ("check_rate", "60"),
            ("confirmation", "2"),
            ("contact_groups[]", &pager),
            ("custom_header", r#"{"X-Env": "prod"}"#),
            ("find_string", "OK"),
            ("do_not_find", "false"),
            ("follow_redirects", "true"),
            ("redirect_credentials", "true"),
            ("enable_ssl_alert", "true"),
            ("status_codes_csv", "500,502,503"),
            ("tags[]", "env:prod"),
            ("tags[]", "tier:web"),
            ("timeout", "20"),
            ("user_agent", "sc-test"),
            ("regions[]", "london"),
            ("trigger_rate", "5"),
            ("basic_username", "probe"),
            ("basic_password", "s3cret"),
            ("branding", "1"), // StatusCake tolerates fields it does not use; so do we
        ],
    )
    .await;

    let (status, got) = app.get(&format!("/v1/uptime/{id}")).await;
    assert_eq!(status, 200, "{got}");
    let c = &got["data"];
    assert_eq!(c["id"], id.as_str());
    assert_eq!(c["name"], "Acme :: readiness");
    assert_eq!(
        (&c["test_type"], &c["website_url"]),
        (&"HTTP".into(), &url.clone().into())
    );
    assert_eq!(
        (&c["check_rate"], &c["confirmation"], &c["timeout"]),
        (&60.into(), &2.into(), &20.into())
    );
    assert_eq!(c["contact_groups"], serde_json::json!([pager]));
    assert_eq!(c["custom_header"], r#"{"x-env":"prod"}"#);
    assert_eq!(
        (&c["find_string"], &c["do_not_find"]),
        (&"OK".into(), &false.into())
    );
    assert_eq!(
        (&c["follow_redirects"], &c["enable_ssl_alert"]),
        (&true.into(), &true.into())
    );
    assert_eq!(c["redirect_credentials"], true, "stackwatch's own field");
    assert_eq!(c["status_codes"], serde_json::json!(["500", "502", "503"]));
    assert_eq!(c["tags"], serde_json::json!(["env:prod", "tier:web"]));
    assert_eq!(
        (&c["user_agent"], &c["basic_username"]),
        (&"sc-test".into(), &"probe".into())
    );
    assert_eq!(
        (&c["regions"], &c["trigger_rate"]),
        (&serde_json::json!(["london"]), &5.into())
    );
    assert_eq!(c["paused"], false);
    assert!(
        c.get("basic_password").is_none(),
        "the password is never answered"
    );

    // The native API sees the same check under a slug, with the display name.
    let (status, native) = app.get("/api/v1/checks/acme-readiness").await;
    assert_eq!(status, 200, "{native}");
    assert_eq!(native["display_name"], "Acme :: readiness");
    assert_eq!(
        native["failures_to_confirm"], 3,
        "confirmation 2 = the failure and two more"
    );
    assert_eq!(native["contacts"], serde_json::json!(["pager"]));
    assert_eq!(
        native["expected_status"],
        serde_json::json!(["100-499", 501, "504-599"])
    );
    assert_eq!(native["body_contains"], "OK");
    assert_eq!(
        native["headers"],
        serde_json::json!({"x-env": "prod", "user-agent": "sc-test"})
    );
    assert_eq!(native["cert_expiry_days"], 14);

    // It is probed: history and periods fill in.
    let history = wait_for("a probe result in the history", 30, async || {
        let (_, h) = app.get(&format!("/v1/uptime/{id}/history")).await;
        (!h["data"].as_array()?.is_empty()).then_some(h)
    })
    .await;
    assert_eq!(history["data"][0]["status_code"], 200);
    let (status, periods) = app.get(&format!("/v1/uptime/{id}/periods")).await;
    assert_eq!(
        (status, &periods["data"][0]["status"]),
        (200, &"up".into()),
        "{periods}"
    );
    let (status, alerts) = app.get(&format!("/v1/uptime/{id}/alerts")).await;
    assert_eq!(
        (status, alerts["data"].as_array().map(Vec::len)),
        (200, Some(0))
    );

    // A second check with the same name gets its own slug; both are found by name.
    let second = create(
        &app,
        &[
            ("name", "Acme :: readiness"),
            ("test_type", "TCP"),
            ("website_url", "127.0.0.1"),
            ("port", "9"),
            ("check_rate", "300"),
            ("paused", "1"),
        ],
    )
    .await;
    assert_ne!(second, id);
    let (status, native) = app.get("/api/v1/checks/acme-readiness-2").await;
    assert_eq!(
        (status, &native["kind"], &native["port"]),
        (200, &"tcp".into(), &9.into())
    );
    for name in ["Billing :: liveness", "Billing :: readiness", "Search"] {
        create(
            &app,
            &[
                ("name", name),
                ("test_type", "HEAD"),
                ("website_url", &url),
                ("check_rate", "60"),
                ("paused", "true"),
            ],
        )
        .await;
    }
    let found = find_by_name(&app, "Billing :: readiness")
        .await
        .expect("found by name");
    assert_eq!(found["test_type"], "HEAD");
    assert!(find_by_name(&app, "No such check").await.is_none());
    let (_, tagged) = app.get("/v1/uptime?tags=tier:web").await;
    assert_eq!(tagged["metadata"]["total_count"], 1, "{tagged}");
    let (_, down) = app.get("/v1/uptime?status=down").await;
    assert_eq!(down["data"], serde_json::json!([]), "{down}");

    // An update changes only what it names; fields StatusCake has no word for stay.
    let (status, answer) = app
        .put("/api/v1/checks/acme-readiness", &{
            let mut body = native_body(&app, "acme-readiness").await;
            body["retry_interval"] = 5.into();
            body
        })
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/v1/uptime/{id}"),
        &[
            ("check_rate", "300"),
            ("paused", "true"),
            ("status_codes_csv", "500"),
        ],
    )
    .await;
    assert_eq!((status, &body), (204, &Value::Null));
    let (_, got) = app.get(&format!("/v1/uptime/{id}")).await;
    let c = &got["data"];
    assert_eq!(
        (&c["check_rate"], &c["paused"]),
        (&300.into(), &true.into())
    );
    assert_eq!(c["status_codes"], serde_json::json!(["500"]));
    assert_eq!(
        (&c["custom_header"], &c["regions"], &c["trigger_rate"]),
        (
            &r#"{"x-env":"prod"}"#.into(),
            &serde_json::json!(["london"]),
            &5.into()
        )
    );
    let (_, native) = app.get("/api/v1/checks/acme-readiness").await;
    assert_eq!(native["retry_interval"], 5);
    assert_eq!(native["basic_auth"]["username"], "probe");

    // A native change is seen through /v1.
    let mut body = native_body(&app, "acme-readiness").await;
    body["url"] = format!("{url}?v=2").into();
    assert_eq!(app.put("/api/v1/checks/acme-readiness", &body).await.0, 200);
    let (_, got) = app.get(&format!("/v1/uptime/{id}")).await;
    assert_eq!(got["data"]["website_url"], format!("{url}?v=2"));

    // Deleting through one API deletes it for the other.
    let (status, _) = send(
        &app,
        reqwest::Method::DELETE,
        &format!("/v1/uptime/{id}"),
        &[],
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(app.get("/api/v1/checks/acme-readiness").await.0, 404);
    assert_eq!(app.delete("/api/v1/checks/acme-readiness-2").await.0, 200);
    let (status, missing) = app.get(&format!("/v1/uptime/{second}")).await;
    assert_eq!(
        (status, &missing["message"]),
        (404, &"No results found".into())
    );
    assert_eq!(
        send(
            &app,
            reqwest::Method::PUT,
            &format!("/v1/uptime/{second}"),
            &[("paused", "1")]
        )
        .await
        .0,
        404
    );
    app.stop().await;
}

async fn native_body(app: &TestApp, name: &str) -> Value {
    let (_, mut view) = app.get(&format!("/api/v1/checks/{name}")).await;
    let object = view.as_object_mut().unwrap();
    for key in [
        "name",
        "ping_url",
        "paused",
        "created_at",
        "updated_at",
        "state",
        "state_since",
        "last_result",
        "cert_expires_at",
        "impacted_by",
    ] {
        object.remove(key);
    }
    if let Some(auth) = object.get_mut("basic_auth").and_then(Value::as_object_mut) {
        auth.insert("password".into(), "s3cret".into()); // answers show it redacted
    }
    view
}

#[tokio::test]
async fn bad_forms_are_refused_field_by_field_and_write_nothing() {
    let hook = HookReceiver::start().await;
    let (app, _dir) = spawn_with_webhook(&hook).await;
    let bad = [
        (
            vec![("test_type", "PUSH"), ("website_url", "http://127.0.0.1/")],
            vec!["name", "test_type"],
        ),
        (
            vec![("name", "x"), ("test_type", "HTTP")],
            vec!["website_url"],
        ),
        (
            vec![
                ("name", "x"),
                ("test_type", "HTTP"),
                ("website_url", "http://127.0.0.1/"),
                ("check_rate", "often"),
            ],
            vec!["check_rate"],
        ),
        (
            vec![
                ("name", "x"),
                ("test_type", "HTTP"),
                ("website_url", "http://127.0.0.1/"),
                ("contact_groups[]", "12345"),
            ],
            vec!["contact_groups"],
        ),
        (
            vec![
                ("name", "x"),
                ("test_type", "HTTP"),
                ("website_url", "http://127.0.0.1/"),
                ("status_codes_csv", "200,999"),
            ],
            vec!["status_codes_csv"],
        ),
        (
            vec![
                ("name", "x"),
                ("test_type", "HTTP"),
                ("website_url", "http://127.0.0.1/"),
                ("custom_header", "X-A: b"),
            ],
            vec!["custom_header"],
        ),
        (
            vec![
                ("name", "x"),
                ("test_type", "HTTP"),
                ("website_url", "http://127.0.0.1/"),
                ("timeout", "500"),
            ],
            vec!["timeout"],
        ),
        (
            vec![
                ("name", "x"),
                ("test_type", "HTTP"),
                ("website_url", "not a url"),
            ],
            vec!["website_url"],
        ),
        (
            vec![
                ("name", "x"),
                ("test_type", "TCP"),
                ("website_url", "127.0.0.1"),
            ],
            vec!["port"],
        ),
        (
            vec![
                ("name", "x"),
                ("test_type", "HTTP"),
                ("website_url", "http://127.0.0.1/"),
                ("paused", "maybe"),
            ],
            vec!["paused"],
        ),
    ];
    for (fields, expected) in bad {
        let (status, body) = send(&app, reqwest::Method::POST, "/v1/uptime", &fields).await;
        assert_eq!(status, 400, "{fields:?}: {body}");
        assert!(body["message"].is_string());
        let mut named: Vec<&str> = body["errors"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        named.sort_unstable();
        assert_eq!(named, expected, "{fields:?}: {body}");
    }
    let (_, all) = app.get("/v1/uptime").await;
    assert_eq!(all["data"], serde_json::json!([]), "nothing was written");
    let (status, body) = app.get("/v1/uptime?limit=1000").await;
    assert_eq!(
        (status, body["errors"]["limit"].is_array()),
        (400, true),
        "{body}"
    );

    // Same tokens as the native API: none is 401, a read token cannot write.
    let anonymous = app.client.get(app.url("/v1/uptime")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let reader = app
        .client
        .post(app.url("/v1/uptime"))
        .bearer_auth(READ_TOKEN)
        .body(form(&[("name", "x")]))
        .send()
        .await
        .unwrap();
    assert_eq!(reader.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn heartbeats_and_maintenance_windows_go_through_v1_too() {
    let hook = HookReceiver::start().await;
    let (app, _dir) = spawn_with_webhook(&hook).await;
    let (_, groups) = app.get("/v1/contact-groups").await;
    let pager = groups["data"][0]["id"].as_str().unwrap().to_owned();

    // A heartbeat: created, pinged at the URL it answers with, updated, listed apart.
    let (status, made) = send(
        &app,
        reqwest::Method::POST,
        "/v1/heartbeat",
        &[
            ("name", "Nightly backup"),
            ("period", "3600"),
            ("contact_groups[]", &pager),
            ("tags[]", "job:backup"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let beat = made["data"]["new_id"].as_str().unwrap().to_owned();
    let (_, read) = app.get(&format!("/v1/heartbeat/{beat}")).await;
    assert!(
        read["data"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/ping/<redacted>"),
        "a read token sees no ping key: {read}"
    );
    let as_admin = app
        .client
        .get(app.url(&format!("/v1/heartbeat/{beat}")))
        .bearer_auth(ADMIN_TOKEN);
    let (status, got) = status_and_json(as_admin.send().await.unwrap()).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (&got["data"]["name"], &got["data"]["period"]),
        (&"Nightly backup".into(), &3600.into())
    );
    assert_eq!(got["data"]["contact_groups"], serde_json::json!([pager]));
    let ping = got["data"]["url"].as_str().unwrap().to_owned();
    assert!(
        ping.starts_with(&format!("http://{}/ping/", app.addr)),
        "{ping}"
    );
    assert_eq!(app.client.get(&ping).send().await.unwrap().status(), 200);
    let (_, native) = app.get("/api/v1/checks/nightly-backup").await;
    assert_eq!(
        (&native["kind"], &native["display_name"]),
        (&"heartbeat".into(), &"Nightly backup".into())
    );
    let (status, _) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/v1/heartbeat/{beat}"),
        &[("period", "7200")],
    )
    .await;
    assert_eq!(status, 204);
    let (_, got) = app.get(&format!("/v1/heartbeat/{beat}")).await;
    assert_eq!(
        (&got["data"]["period"], &got["data"]["tags"]),
        (&7200.into(), &serde_json::json!(["job:backup"]))
    );
    let (_, beats) = app.get("/v1/heartbeat").await;
    assert_eq!(beats["metadata"]["total_count"], 1);
    let (_, uptime) = app.get("/v1/uptime").await;
    assert_eq!(
        uptime["data"],
        serde_json::json!([]),
        "heartbeats are not uptime checks"
    );
    assert_eq!(app.get(&format!("/v1/uptime/{beat}")).await.0, 404);
    let (status, bad) = send(
        &app,
        reqwest::Method::POST,
        "/v1/heartbeat",
        &[("name", "x"), ("period", "2")],
    )
    .await;
    assert_eq!(
        (status, bad["errors"]["period"].is_array()),
        (400, true),
        "{bad}"
    );

    // A window over one check and one tag becomes two windows, both open now.
    let check = create(
        &app,
        &[
            ("name", "Web"),
            ("test_type", "HTTP"),
            ("website_url", "http://127.0.0.1:9/"),
            ("check_rate", "60"),
            ("paused", "1"),
        ],
    )
    .await;
    let now = stackwatch::domain::Timestamp::now().0;
    let at = |offset_s: i64| stackwatch::domain::Timestamp(now + offset_s * 1000).to_rfc3339();
    let (start, end) = (at(-60), at(600));
    let window_fields = |interval: &'static str| {
        vec![
            ("name", "Deploy"),
            ("start_at", start.as_str()),
            ("end_at", end.as_str()),
            ("timezone", "Europe/Paris"),
            ("repeat_interval", interval),
            ("tests[]", check.as_str()),
            ("tags[]", "env:prod"),
        ]
    };
    let (status, made) = send(
        &app,
        reqwest::Method::POST,
        "/v1/maintenance-windows",
        &window_fields("never"),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let (_, windows) = app.get("/v1/maintenance-windows").await;
    let windows = windows["data"].as_array().unwrap().clone();
    assert_eq!(windows.len(), 2, "{windows:?}");
    assert_eq!(windows[0]["tests"], serde_json::json!([check]));
    assert_eq!(windows[1]["tags"], serde_json::json!(["env:prod"]));
    assert!(
        windows
            .iter()
            .all(|w| w["state"] == "active" && w["name"] == "Deploy")
    );
    let (status, made) = send(
        &app,
        reqwest::Method::POST,
        "/v1/maintenance-windows",
        &window_fields("1d"),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let daily = made["data"]["new_id"].as_str().unwrap().to_owned();
    let (_, got) = app.get(&format!("/v1/maintenance-windows/{daily}")).await;
    assert_eq!(
        (&got["data"]["repeat_interval"], &got["data"]["timezone"]),
        (&"1d".into(), &"Europe/Paris".into()),
        "{got}"
    );
    // A daily window from next week, at this time of day: pending until its first start.
    let week = 7 * 86_400;
    let minute = now - now.rem_euclid(60_000);
    let later =
        |offset_s: i64| stackwatch::domain::Timestamp(minute + offset_s * 1000).to_rfc3339();
    let (later_start, later_end) = (later(week - 60), later(week + 600));
    let (status, made) = send(
        &app,
        reqwest::Method::POST,
        "/v1/maintenance-windows",
        &[
            ("name", "Nightly from next week"),
            ("start_at", later_start.as_str()),
            ("end_at", later_end.as_str()),
            ("timezone", "Europe/Paris"),
            ("repeat_interval", "1d"),
            ("tags[]", "env:prod"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let later = made["data"]["new_id"].as_str().unwrap().to_owned();
    let (_, got) = app.get(&format!("/v1/maintenance-windows/{later}")).await;
    assert_eq!(
        (&got["data"]["state"], &got["data"]["start_at"]),
        (&"pending".into(), &later_start.as_str().into()),
        "{got}"
    );
    let (status, _) = send(
        &app,
        reqwest::Method::DELETE,
        &format!("/v1/maintenance-windows/{later}"),
        &[],
    )
    .await;
    assert_eq!(status, 204);
    let (_, native) = app.get("/api/v1/maintenance").await;
    assert_eq!(native["windows"].as_array().unwrap().len(), 4);

    let mut refused = vec![
        (window_fields("2w"), "repeat_interval"),
        (
            vec![
                ("name", "x"),
                ("start_at", end.as_str()),
                ("end_at", start.as_str()),
                ("tags[]", "env:prod"),
            ],
            "end_at",
        ),
        (
            vec![
                ("name", "x"),
                ("start_at", start.as_str()),
                ("end_at", end.as_str()),
            ],
            "tests",
        ),
        (
            vec![
                ("name", "x"),
                ("start_at", start.as_str()),
                ("end_at", end.as_str()),
                ("tests[]", "999999"),
            ],
            "tests",
        ),
        (
            vec![
                ("name", "x"),
                ("start_at", "yesterday"),
                ("end_at", end.as_str()),
                ("tags[]", "env:prod"),
            ],
            "start_at",
        ),
    ];
    for (fields, field) in refused.drain(..) {
        let (status, body) = send(
            &app,
            reqwest::Method::POST,
            "/v1/maintenance-windows",
            &fields,
        )
        .await;
        assert_eq!(status, 400, "{fields:?}: {body}");
        assert!(body["errors"][field].is_array(), "{fields:?}: {body}");
    }
    let (_, native) = app.get("/api/v1/maintenance").await;
    assert_eq!(
        native["windows"].as_array().unwrap().len(),
        4,
        "refused windows wrote nothing"
    );
    let (status, _) = send(
        &app,
        reqwest::Method::DELETE,
        &format!("/v1/maintenance-windows/{daily}"),
        &[],
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        app.get(&format!("/v1/maintenance-windows/{daily}")).await.0,
        404
    );
    let (status, _) = send(
        &app,
        reqwest::Method::DELETE,
        &format!("/v1/heartbeat/{beat}"),
        &[],
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(app.get("/api/v1/checks/nightly-backup").await.0, 404);
    app.stop().await;
}

#[tokio::test]
async fn uptime_and_heartbeat_lists_filter_by_tags_and_status_and_number_their_pages() {
    let hook = HookReceiver::start().await;
    let (app, _dir) = spawn_with_webhook(&hook).await;
    let target = http_target().await;
    let ok = target.url("http", "/ok");
    let refused = "http://127.0.0.1:9/".to_owned();
    for (name, body) in [
        ("a-shop", serde_json::json!({"url": ok, "tags": ["shop"]})),
        (
            "b-shop-eu",
            serde_json::json!({"url": ok, "tags": ["shop", "eu"]}),
        ),
        (
            "c-eu-down",
            serde_json::json!({"url": refused, "tags": ["eu"], "check_rate": 10,
                "failures_to_confirm": 1, "retry_interval": 1}),
        ),
        (
            "d-beat",
            serde_json::json!({"kind": "heartbeat", "period": 60, "tags": ["shop"]}),
        ),
    ] {
        let (status, answer) = app.put(&format!("/api/v1/checks/{name}"), &body).await;
        assert_eq!(status, 201, "{answer}");
    }
    wait_for("c-eu-down to be confirmed down", 60, async || {
        let (_, check) = app.get("/api/v1/checks/c-eu-down").await;
        (check["state"] == "down").then_some(())
    })
    .await;
    let names = |page: &Value| -> Vec<String> {
        let data = page["data"].as_array().unwrap();
        data.iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for (query, listed, total) in [
        ("tags=shop", vec!["a-shop", "b-shop-eu"], 2),
        ("tags=eu&status=down", vec!["c-eu-down"], 1),
        ("tags=eu,shop&status=up", vec!["b-shop-eu"], 1),
        (
            "tags=eu,shop&matchany=true&status=up",
            vec!["a-shop", "b-shop-eu"],
            2,
        ),
        ("limit=1&page=2", vec!["b-shop-eu"], 3),
        ("limit=2&page=2", vec!["c-eu-down"], 3),
        ("page=9", vec![], 3),
        ("tags=nothing", vec![], 1),
    ] {
        let (status, page) = app.get(&format!("/v1/uptime?{query}")).await;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(names(&page), listed, "{query}: {page}");
        assert_eq!(page["metadata"]["total_count"], total, "{query}: {page}");
    }
    let (_, down) = app.get("/v1/uptime?status=down").await;
    assert_eq!(down["data"][0]["status"], "down", "{down}");
    let (_, beats) = app.get("/v1/heartbeat").await;
    assert_eq!(names(&beats), ["d-beat"], "{beats}");
    assert_eq!(beats["metadata"]["total_count"], 1, "{beats}");

    // A check that changes kind moves between the lists.
    for (name, body) in [
        (
            "a-shop",
            serde_json::json!({"kind": "heartbeat", "period": 60, "tags": ["shop"]}),
        ),
        ("d-beat", serde_json::json!({"url": ok, "tags": ["shop"]})),
    ] {
        let (status, answer) = app.put(&format!("/api/v1/checks/{name}"), &body).await;
        assert_eq!(status, 200, "{answer}");
    }
    let (_, shop) = app.get("/v1/uptime?tags=shop").await;
    assert_eq!(names(&shop), ["b-shop-eu", "d-beat"], "{shop}");
    assert_eq!(shop["metadata"]["total_count"], 2, "{shop}");
    let (_, beats) = app.get("/v1/heartbeat").await;
    assert_eq!(names(&beats), ["a-shop"], "{beats}");
    app.stop().await;
}
