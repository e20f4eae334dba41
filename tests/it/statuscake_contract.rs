//! Every `/v1` operation StatusCake's published clients make, answered for every status a
//! client meets (success, empty lists, pages past the last, 400, 401, 403, 404, 429) and
//! held to StatusCake's own models (see `statuscake_models`), with requests encoded as
//! those clients encode them: form bodies, arrays comma-joined.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::binary::wait_for;
use crate::helpers::{ADMIN_TOKEN, READ_TOKEN, TestApp, spawn_with_webhook};
use crate::receivers::HookReceiver;
use crate::statuscake_models::Contract;
use crate::targets::http_target;

/// Calls operations as a StatusCake client does and notes what the contract finds.
struct Client<'a> {
    app: &'a TestApp,
    contract: Contract,
    /// The statuses each operation was answered with.
    answered: BTreeMap<String, BTreeSet<u16>>,
    problems: Vec<String>,
}

impl Client<'_> {
    /// Calls `operation` at `path` (ids filled in) with `fields` (a form for POST and
    /// PUT, else the query) as `token`; the answer must have status `expect`.
    async fn call(
        &mut self,
        operation: &str,
        path: &str,
        fields: &[(&str, &str)],
        token: Option<&str>,
        expect: u16,
    ) -> Value {
        let method = self
            .contract
            .operations()
            .into_iter()
            .find(|(id, _, _)| id == operation)
            .map(|(_, method, _)| method)
            .unwrap_or_else(|| panic!("no operation {operation}"));
        let method: reqwest::Method = method.parse().unwrap();
        let mut encoded = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            encoded.append_pair(k, v);
        }
        let encoded = encoded.finish();
        let mut request = if matches!(method, reqwest::Method::POST | reqwest::Method::PUT) {
            self.app
                .client
                .request(method, self.app.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encoded)
        } else if encoded.is_empty() {
            self.app.client.request(method, self.app.url(path))
        } else {
            let url = format!("{}?{encoded}", self.app.url(path));
            self.app.client.request(method, url)
        };
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{operation} {path}: not JSON ({e}): {text}"))
        };
        assert_eq!(status, expect, "{operation} {path} {fields:?}: {body}");
        if status == 204 {
            assert!(text.is_empty(), "{operation}: a 204 with a body: {text}");
        }
        for problem in self.contract.problems(operation, status, &body) {
            self.problems
                .push(format!("{operation} {path} ({status}): {problem}"));
        }
        self.answered
            .entry(operation.to_owned())
            .or_default()
            .insert(status);
        body
    }

    async fn admin(&mut self, op: &str, path: &str, fields: &[(&str, &str)], expect: u16) -> Value {
        self.call(op, path, fields, Some(ADMIN_TOKEN), expect).await
    }
}

fn new_id(created: &Value) -> String {
    created["data"]["new_id"].as_str().unwrap().to_owned()
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_v1_answer_holds_to_statuscakes_published_models() {
    let hook = HookReceiver::start().await;
    let (app, _dir) = spawn_with_webhook(&hook).await;
    let target = http_target().await;
    let mut c = Client {
        app: &app,
        contract: Contract::load(),
        answered: BTreeMap::new(),
        problems: Vec::new(),
    };

    // Empty lists are page 1 of 1.
    for (op, path) in [
        ("list_uptime_tests", "/v1/uptime"),
        ("list_heartbeat_tests", "/v1/heartbeat"),
        ("list_ssl_tests", "/v1/ssl"),
        ("list_maintenance_windows", "/v1/maintenance-windows"),
    ] {
        let empty = c.call(op, path, &[], Some(READ_TOKEN), 200).await;
        assert_eq!(empty["data"], serde_json::json!([]), "{op}");
        assert_eq!(empty["metadata"]["page_count"], 1, "{op}: {empty}");
    }

    // Contact groups and locations, which tests name.
    let groups = c
        .call(
            "list_contact_groups",
            "/v1/contact-groups",
            &[],
            Some(READ_TOKEN),
            200,
        )
        .await;
    let group = ids(&groups).remove(0);
    c.call(
        "get_contact_group",
        &format!("/v1/contact-groups/{group}"),
        &[],
        Some(READ_TOKEN),
        200,
    )
    .await;
    c.call(
        "get_contact_group",
        "/v1/contact-groups/1",
        &[],
        Some(READ_TOKEN),
        404,
    )
    .await;
    c.admin(
        "create_contact_group",
        "/v1/contact-groups",
        &[("name", "ops")],
        403,
    )
    .await;
    let group_path = format!("/v1/contact-groups/{group}");
    c.admin("update_contact_group", &group_path, &[("name", "ops")], 403)
        .await;
    c.admin("delete_contact_group", &group_path, &[], 403).await;
    let locations = c
        .call(
            "list_uptime_monitoring_locations",
            "/v1/uptime-locations",
            &[],
            Some(READ_TOKEN),
            200,
        )
        .await;
    let region = locations["data"][0]["region_code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        locations["data"].as_array().unwrap().len(),
        1,
        "{locations}"
    );
    c.call(
        "list_pagespeed_monitoring_locations",
        "/v1/pagespeed-locations",
        &[("region_code", &region)],
        Some(READ_TOKEN),
        200,
    )
    .await;

    // Uptime tests, comma-joined arrays as the clients send them.
    let ok = target.url("http", "/ok");
    let up = c
        .admin(
            "create_uptime_test",
            "/v1/uptime",
            &[
                ("name", "Shop front"),
                ("test_type", "HTTP"),
                ("website_url", &ok),
                ("check_rate", "30"),
                ("tags", "sdk,shop"),
                ("contact_groups", &group),
                ("regions", &region),
                ("status_codes_csv", "500,502"),
            ],
            201,
        )
        .await;
    let up = new_id(&up);
    let down = c
        .admin(
            "create_uptime_test",
            "/v1/uptime",
            &[
                ("name", "Refused"),
                ("test_type", "HTTP"),
                ("website_url", "http://127.0.0.1:9/"),
                ("check_rate", "0"),
                ("confirmation", "0"),
                ("tags", "sdk"),
            ],
            201,
        )
        .await;
    let down = new_id(&down);
    c.admin(
        "create_uptime_test",
        "/v1/uptime",
        &[("test_type", "HTTP")],
        400,
    )
    .await;
    let one = c
        .call(
            "get_uptime_test",
            &format!("/v1/uptime/{up}"),
            &[],
            Some(READ_TOKEN),
            200,
        )
        .await;
    assert_eq!(
        one["data"]["tags"],
        serde_json::json!(["sdk", "shop"]),
        "{one}"
    );
    c.call(
        "get_uptime_test",
        "/v1/uptime/999999",
        &[],
        Some(READ_TOKEN),
        404,
    )
    .await;
    for (query, expected) in [
        (vec![("tags", "sdk")], vec![up.clone(), down.clone()]),
        (vec![("tags", "sdk,shop")], vec![up.clone()]),
        (
            vec![("tags", "shop,nothing"), ("matchany", "true")],
            vec![up.clone()],
        ),
        (vec![("tags", "nothing")], vec![]),
        (vec![("limit", "1"), ("page", "9")], vec![]),
    ] {
        let mut listed = ids(&c
            .call(
                "list_uptime_tests",
                "/v1/uptime",
                &query,
                Some(READ_TOKEN),
                200,
            )
            .await);
        listed.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(listed, expected, "{query:?}");
    }
    c.call(
        "list_uptime_tests",
        "/v1/uptime",
        &[("limit", "0")],
        Some(READ_TOKEN),
        400,
    )
    .await;
    c.admin(
        "update_uptime_test",
        &format!("/v1/uptime/{up}"),
        &[("tags", "sdk,shop,eu"), ("timeout", "20")],
        204,
    )
    .await;
    c.admin(
        "update_uptime_test",
        "/v1/uptime/999999",
        &[("timeout", "20")],
        404,
    )
    .await;
    c.admin(
        "update_uptime_test",
        &format!("/v1/uptime/{up}"),
        &[("check_rate", "x")],
        400,
    )
    .await;

    // History, periods and alerts once the refused test is down and probed twice.
    wait_for(
        "two probes and a DOWN alert of the refused test",
        60,
        async || {
            let (_, alerts) = app.get(&format!("/v1/uptime/{down}/alerts")).await;
            let (_, history) = app.get(&format!("/v1/uptime/{down}/history")).await;
            (!alerts["data"].as_array()?.is_empty() && history["data"].as_array()?.len() >= 2)
                .then_some(())
        },
    )
    .await;
    let history_path = format!("/v1/uptime/{down}/history");
    let first = c
        .call(
            "list_uptime_test_history",
            &history_path,
            &[("limit", "1")],
            Some(READ_TOKEN),
            200,
        )
        .await;
    assert!(
        first["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{history_path}?limit=1")),
        "{first}"
    );
    let next = first["links"]["next"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let before = next.split("before=").nth(1).unwrap().to_owned();
    let second = c
        .call(
            "list_uptime_test_history",
            &history_path,
            &[("limit", "1"), ("before", &before)],
            Some(READ_TOKEN),
            200,
        )
        .await;
    assert_ne!(first["data"][0], second["data"][0]);
    let past = c
        .call(
            "list_uptime_test_history",
            &history_path,
            &[("before", "1")],
            Some(READ_TOKEN),
            200,
        )
        .await;
    assert_eq!(past["data"], serde_json::json!([]));
    assert!(past["links"].get("next").is_none(), "{past}");
    c.call(
        "list_uptime_test_history",
        &history_path,
        &[("limit", "101")],
        Some(READ_TOKEN),
        400,
    )
    .await;
    c.call(
        "list_uptime_test_history",
        "/v1/uptime/999999/history",
        &[],
        Some(READ_TOKEN),
        404,
    )
    .await;
    let periods = c
        .call(
            "list_uptime_test_periods",
            &format!("/v1/uptime/{down}/periods"),
            &[],
            Some(READ_TOKEN),
            200,
        )
        .await;
    let ongoing = &periods["data"][0];
    assert!(ongoing.get("ended_at").is_none(), "{periods}");
    c.call(
        "list_uptime_test_periods",
        "/v1/uptime/999999/periods",
        &[],
        Some(READ_TOKEN),
        404,
    )
    .await;
    c.call(
        "list_uptime_test_periods",
        &format!("/v1/uptime/{down}/periods"),
        &[("after", "-1")],
        Some(READ_TOKEN),
        400,
    )
    .await;
    // An acknowledgement is an alert too, newer than the DOWN, but not one StatusCake
    // lists: a page of one still holds the DOWN.
    let (_, incidents) = app.get("/api/v1/incidents?check=refused&open=true").await;
    let incident = incidents["incidents"][0]["id"].as_i64().unwrap();
    let (status, acked) = app
        .post_json(
            &format!("/api/v1/incidents/{incident}/ack"),
            &serde_json::json!({"by": "alice"}),
        )
        .await;
    assert_eq!(status, 200, "{acked}");
    let alerts = c
        .call(
            "list_uptime_test_alerts",
            &format!("/v1/uptime/{down}/alerts"),
            &[("limit", "1")],
            Some(READ_TOKEN),
            200,
        )
        .await;
    assert_eq!(alerts["data"][0]["status"], "down", "{alerts}");
    c.call(
        "list_uptime_test_alerts",
        "/v1/uptime/999999/alerts",
        &[],
        Some(READ_TOKEN),
        404,
    )
    .await;

    // Heartbeats.
    let beat = c
        .admin(
            "create_heartbeat_test",
            "/v1/heartbeat",
            &[
                ("name", "Nightly backup"),
                ("period", "3600"),
                ("tags", "sdk,jobs"),
            ],
            201,
        )
        .await;
    let beat = new_id(&beat);
    c.admin(
        "create_heartbeat_test",
        "/v1/heartbeat",
        &[("name", "x")],
        400,
    )
    .await;
    let shown = c
        .call(
            "get_heartbeat_test",
            &format!("/v1/heartbeat/{beat}"),
            &[],
            Some(READ_TOKEN),
            200,
        )
        .await;
    assert!(!shown["data"]["url"].as_str().unwrap().contains(ADMIN_TOKEN));
    c.call(
        "get_heartbeat_test",
        "/v1/heartbeat/999999",
        &[],
        Some(READ_TOKEN),
        404,
    )
    .await;
    let beats = c
        .call(
            "list_heartbeat_tests",
            "/v1/heartbeat",
            &[("tags", "jobs")],
            Some(READ_TOKEN),
            200,
        )
        .await;
    assert_eq!(ids(&beats), std::slice::from_ref(&beat));
    c.call(
        "list_heartbeat_tests",
        "/v1/heartbeat",
        &[("status", "sideways")],
        Some(READ_TOKEN),
        400,
    )
    .await;
    c.admin(
        "update_heartbeat_test",
        &format!("/v1/heartbeat/{beat}"),
        &[("period", "7200")],
        204,
    )
    .await;
    c.admin(
        "update_heartbeat_test",
        "/v1/heartbeat/999999",
        &[("period", "60")],
        404,
    )
    .await;

    // SSL tests.
    let ssl = c
        .admin(
            "create_ssl_test",
            "/v1/ssl",
            &[
                ("website_url", "https://127.0.0.1:9/"),
                ("check_rate", "3600"),
                ("alert_at", "1,7,30"),
                ("alert_expiry", "true"),
                ("contact_groups", &group),
            ],
            201,
        )
        .await;
    let ssl = new_id(&ssl);
    c.admin(
        "create_ssl_test",
        "/v1/ssl",
        &[("website_url", "http://127.0.0.1:9/")],
        400,
    )
    .await;
    let one = c
        .call(
            "get_ssl_test",
            &format!("/v1/ssl/{ssl}"),
            &[],
            Some(READ_TOKEN),
            200,
        )
        .await;
    assert_eq!(
        one["data"]["alert_at"],
        serde_json::json!([1, 7, 30]),
        "{one}"
    );
    c.call(
        "get_ssl_test",
        &format!("/v1/ssl/{up}"),
        &[],
        Some(READ_TOKEN),
        404,
    )
    .await;
    let listed = c
        .call("list_ssl_tests", "/v1/ssl", &[], Some(READ_TOKEN), 200)
        .await;
    assert_eq!(ids(&listed), std::slice::from_ref(&ssl));
    c.call(
        "get_uptime_test",
        &format!("/v1/uptime/{ssl}"),
        &[],
        Some(READ_TOKEN),
        404,
    )
    .await;
    c.admin(
        "update_ssl_test",
        &format!("/v1/ssl/{ssl}"),
        &[("alert_at", "14")],
        204,
    )
    .await;
    c.admin(
        "update_ssl_test",
        &format!("/v1/ssl/{ssl}"),
        &[("check_rate", "60")],
        400,
    )
    .await;
    c.admin(
        "update_ssl_test",
        "/v1/ssl/999999",
        &[("alert_at", "14")],
        404,
    )
    .await;
    let (_, native) = app.get("/api/v1/checks?limit=100").await;
    let days: Vec<&Value> = native["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["display_name"] == "SSL 127.0.0.1")
        .map(|k| &k["cert_expiry_days"])
        .collect();
    assert_eq!(days, [&Value::from(14)], "{native}");

    // Maintenance windows.
    let window = c
        .admin(
            "create_maintenance_window",
            "/v1/maintenance-windows",
            &[
                ("name", "Deploy"),
                ("start_at", "2030-01-05T02:00:00Z"),
                ("end_at", "2030-01-05T03:00:00Z"),
                ("timezone", "Europe/London"),
                ("repeat_interval", "1w"),
                ("tests", &up),
            ],
            201,
        )
        .await;
    let window = new_id(&window);
    c.admin(
        "create_maintenance_window",
        "/v1/maintenance-windows",
        &[("name", "x")],
        400,
    )
    .await;
    let window_path = format!("/v1/maintenance-windows/{window}");
    c.call(
        "get_maintenance_window",
        &window_path,
        &[],
        Some(READ_TOKEN),
        200,
    )
    .await;
    c.call(
        "get_maintenance_window",
        "/v1/maintenance-windows/999999",
        &[],
        Some(READ_TOKEN),
        404,
    )
    .await;
    let pending = c
        .call(
            "list_maintenance_windows",
            "/v1/maintenance-windows",
            &[("state", "pending")],
            Some(READ_TOKEN),
            200,
        )
        .await;
    assert_eq!(ids(&pending), std::slice::from_ref(&window));
    let active = c
        .call(
            "list_maintenance_windows",
            "/v1/maintenance-windows",
            &[("state", "active")],
            Some(READ_TOKEN),
            200,
        )
        .await;
    assert_eq!(active["data"], serde_json::json!([]));
    c.call(
        "list_maintenance_windows",
        "/v1/maintenance-windows",
        &[("state", "x")],
        Some(READ_TOKEN),
        400,
    )
    .await;
    c.admin(
        "update_maintenance_window",
        &window_path,
        &[("name", "Weekly deploy")],
        204,
    )
    .await;
    let renamed = c
        .call(
            "get_maintenance_window",
            &window_path,
            &[],
            Some(READ_TOKEN),
            200,
        )
        .await;
    assert_eq!(renamed["data"]["name"], "Weekly deploy");
    assert_eq!(renamed["data"]["repeat_interval"], "1w", "{renamed}");
    c.admin(
        "update_maintenance_window",
        &window_path,
        &[("end_at", "yesterday")],
        400,
    )
    .await;
    c.admin(
        "update_maintenance_window",
        "/v1/maintenance-windows/999999",
        &[("name", "x")],
        404,
    )
    .await;

    // PageSpeed: answered as a feature the account lacks.
    c.call(
        "list_pagespeed_tests",
        "/v1/pagespeed",
        &[],
        Some(READ_TOKEN),
        403,
    )
    .await;
    c.admin(
        "create_pagespeed_test",
        "/v1/pagespeed",
        &[("name", "x")],
        403,
    )
    .await;
    for op in [
        "get_pagespeed_test",
        "update_pagespeed_test",
        "delete_pagespeed_test",
    ] {
        c.admin(op, "/v1/pagespeed/1", &[], 403).await;
    }
    c.call(
        "list_pagespeed_test_history",
        "/v1/pagespeed/1/history",
        &[],
        Some(READ_TOKEN),
        403,
    )
    .await;

    // Deletes, then the same ids are gone.
    for (op, path) in [
        ("delete_maintenance_window", window_path.clone()),
        ("delete_ssl_test", format!("/v1/ssl/{ssl}")),
        ("delete_heartbeat_test", format!("/v1/heartbeat/{beat}")),
        ("delete_uptime_test", format!("/v1/uptime/{up}")),
    ] {
        c.admin(op, &path, &[], 204).await;
        c.admin(op, &path, &[], 404).await;
    }

    // Tokens: none, a read token writing, an unknown one, then too many unknown ones.
    c.call("list_uptime_tests", "/v1/uptime", &[], None, 401)
        .await;
    c.call(
        "delete_uptime_test",
        &format!("/v1/uptime/{down}"),
        &[],
        Some(READ_TOKEN),
        403,
    )
    .await;
    c.call(
        "get_uptime_test",
        "/v1/nonsense/1",
        &[],
        Some(READ_TOKEN),
        404,
    )
    .await;
    let mut refused = 0;
    for _ in 0..200 {
        let (op, path) = ("list_uptime_tests", "/v1/uptime");
        let status = app
            .client
            .get(app.url(path))
            .bearer_auth("guess")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 429 {
            c.call(op, path, &[], Some("guess"), 429).await;
            refused += 1;
            break;
        }
        c.call(op, path, &[], Some("guess"), 401).await;
    }
    assert_eq!(refused, 1, "no 429 after 200 unknown tokens");

    let missing: Vec<String> = c
        .contract
        .operations()
        .into_iter()
        .map(|(id, _, _)| id)
        .filter(|id| !c.answered.contains_key(id))
        .collect();
    assert!(missing.is_empty(), "operations never called: {missing:?}");
    assert!(c.problems.is_empty(), "{}", c.problems.join("\n"));
    app.stop().await;
}
