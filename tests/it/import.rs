//! `stackwatch import statuscake`, run as the binary: against a stub StatusCake API serving
//! pages shaped like StatusCake's (written here), from a directory of such answers, and from
//! one stackwatch's own `/v1` into another.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, READ_TOKEN, TestApp, spawn_with_webhook};
use crate::receivers::HookReceiver;

const BIN: &str = env!("CARGO_BIN_EXE_stackwatch");
const API_KEY: &str = "statuscake-test-key";

/// Answers by path and query; anything else (or a wrong key) is a 404 or 401.
async fn serve_stub(pages: HashMap<String, Value>) -> String {
    async fn answer(
        State(pages): State<Arc<HashMap<String, Value>>>,
        request: Request,
    ) -> (StatusCode, axum::Json<Value>) {
        let authorised = request
            .headers()
            .get("authorization")
            .is_some_and(|v| v.as_bytes() == format!("Bearer {API_KEY}").as_bytes());
        if !authorised {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"message": "Unauthorized"})),
            );
        }
        match pages.get(&request.uri().to_string()) {
            Some(page) => (StatusCode::OK, axum::Json(page.clone())),
            None => (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"message": "No results found"})),
            ),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .fallback(answer)
        .with_state(Arc::new(pages));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// A StatusCake account as its API answers it, every object with every field of
/// StatusCake's published models (`statuscake_models`) and realistic values: two pages of
/// uptime tests and an empty third (`page_count` counts it), their details, a heartbeat,
/// two contact groups (one configured in stackwatch as `pager`), two windows.
fn account() -> HashMap<String, Value> {
    let detail = |id: &str, name: &str, extra: Value| {
        let mut check = json!({
            "id": id, "name": name, "test_type": "HTTP", "website_url": "http://127.0.0.1:9/health",
            "check_rate": 300, "confirmation": 2, "contact_groups": ["501"], "custom_header": "",
            "dns_ips": [], "dns_server": "", "do_not_find": false, "enable_ssl_alert": false,
            "final_endpoint": "", "find_string": "", "follow_redirects": false, "host": "",
            "include_header": false, "last_tested_at": "2026-11-30T10:15:02+00:00",
            "next_location": "", "paused": true, "port": 0, "post_body": "", "post_raw": "",
            "processing": false, "processing_on": "", "processing_state": "complete",
            "servers": [{"description": "London", "region": "United Kingdom", "region_code": "london",
                         "status": "up", "ipv4": "178.62.78.199", "ipv6": "2a03:b0c0:1:d0::5e1:a001"}],
            "status": "up", "status_codes": ["500", "502", "503", "504"], "tags": ["Production"],
            "timeout": 15, "trigger_rate": 0, "uptime": 99.98, "use_jar": false, "user_agent": "",
        });
        for (k, v) in extra.as_object().unwrap() {
            check[k] = v.clone();
        }
        check
    };
    let a = detail("1001", "Acme :: liveness", json!({}));
    let b = detail(
        "1002",
        "Acme :: readiness",
        json!({"find_string": "ready", "contact_groups": ["502"],
               "custom_header": "{\"X-Env\":\"prod\"}"}),
    );
    let c = detail(
        "1003",
        "Acme :: db",
        json!({"test_type": "TCP", "website_url": "127.0.0.1", "port": 5432, "status_codes": []}),
    );
    let d = detail(
        "1004",
        "Acme :: dns",
        json!({"test_type": "DNS", "website_url": "acme.test", "dns_ips": ["192.0.2.10"],
               "dns_server": "127.0.0.1", "status_codes": []}),
    );
    let overview = |c: &Value| {
        let fields = [
            "id",
            "name",
            "website_url",
            "test_type",
            "check_rate",
            "contact_groups",
            "paused",
            "status",
            "tags",
            "uptime",
        ];
        Value::Object(
            fields
                .iter()
                .map(|f| ((*f).to_owned(), c[*f].clone()))
                .collect(),
        )
    };
    let page = |items: Vec<&Value>, page: u32| {
        json!({"data": items.into_iter().map(overview).collect::<Vec<_>>(),
               "metadata": {"page": page, "per_page": 100, "page_count": 3, "total_count": 4}})
    };
    let ssl_page = |per_page: u32| {
        json!({"data": [{
            "id": "4001", "website_url": "https://127.0.0.1:9/", "check_rate": 86400,
            "alert_at": [7, 14, 30], "alert_broken": true, "alert_expiry": true,
            "alert_mixed": false, "alert_reminder": true, "contact_groups": ["501"],
            "follow_redirects": false, "mixed_content": [], "paused": false,
            "certificate_score": 95, "certificate_status": "CERT_OK",
            "cipher": "TLS_AES_256_GCM_SHA384", "cipher_score": 100,
            "issuer_common_name": "R11",
            "flags": {"follow_redirects": false, "has_mixed": false, "has_pfs": true,
                      "is_broken": false, "is_expired": false, "is_extended": false,
                      "is_missing": false, "is_revoked": false},
            "hostname": "", "last_reminder": 0, "updated_at": "2026-11-30T09:00:00+00:00",
            "user_agent": "", "valid_from": "2026-10-01T00:00:00+00:00",
            "valid_until": "2026-12-30T00:00:00+00:00",
        }], "metadata": {"page": 1, "per_page": per_page, "page_count": 1, "total_count": 1}})
    };
    let account = HashMap::from([
        (
            "/v1/contact-groups?page=1&limit=100".into(),
            json!({"data": [
            {"id": "501", "name": "Pager", "email_addresses": [], "integrations": [], "mobile_numbers": []},
            {"id": "502", "name": "Ops Team", "email_addresses": ["ops@example.com"], "integrations": ["77"], "mobile_numbers": ["+447700900123"], "ping_url": "https://hooks.example/ops"},
        ], "metadata": {"page": 1, "per_page": 100, "page_count": 1, "total_count": 2}}),
        ),
        ("/v1/uptime?page=1&limit=100".into(), page(vec![&a, &b], 1)),
        ("/v1/uptime?page=2&limit=100".into(), page(vec![&c, &d], 2)),
        ("/v1/uptime?page=3&limit=100".into(), page(vec![], 3)),
        ("/v1/uptime/1001".into(), json!({"data": a})),
        ("/v1/uptime/1002".into(), json!({"data": b})),
        ("/v1/uptime/1003".into(), json!({"data": c})),
        ("/v1/uptime/1004".into(), json!({"data": d})),
        (
            "/v1/heartbeat?page=1&limit=100".into(),
            json!({"data": [
            {"id": "2001", "name": "Acme :: backup", "url": "https://push.statuscake.com/?PK=x&TestID=2001&time=0",
             "period": 3600, "contact_groups": [], "paused": false, "status": "up", "tags": ["backup"], "uptime": 100},
        ], "metadata": {"page": 1, "per_page": 100, "page_count": 1, "total_count": 1}}),
        ),
        ("/v1/ssl?page=1&limit=1".into(), ssl_page(1)),
        ("/v1/ssl?page=1&limit=100".into(), ssl_page(100)),
        (
            "/v1/maintenance-windows?page=1&limit=100".into(),
            json!({"data": [
            {"id": "3001", "name": "Sunday deploys", "start_at": "2026-11-29T02:00:00Z", "end_at": "2026-11-29T03:00:00Z",
             "repeat_interval": "1w", "state": "pending", "tags": [], "tests": ["1001", "1002"], "timezone": "Europe/London"},
            {"id": "3002", "name": "Old", "start_at": "2026-11-29T02:00:00Z", "end_at": "2026-11-29T03:00:00Z",
             "repeat_interval": "never", "state": "pending", "tags": [], "tests": ["1099"], "timezone": "UTC"},
        ], "metadata": {"page": 1, "per_page": 100, "page_count": 1, "total_count": 2}}),
        ),
    ]);
    held_to_the_models(&account);
    account
}

/// The stub's answers are what StatusCake's published models allow.
fn held_to_the_models(account: &HashMap<String, Value>) {
    let contract = crate::statuscake_models::Contract::load();
    for (path, answer) in account {
        let operation = match path.split('?').next().unwrap() {
            "/v1/contact-groups" => "list_contact_groups",
            "/v1/uptime" => "list_uptime_tests",
            "/v1/heartbeat" => "list_heartbeat_tests",
            "/v1/ssl" => "list_ssl_tests",
            "/v1/maintenance-windows" => "list_maintenance_windows",
            _ => "get_uptime_test",
        };
        let problems = contract.problems(operation, 200, answer);
        assert!(problems.is_empty(), "{path}: {problems:?}");
    }
}

/// Runs the importer on a blocking thread, so the application in this test keeps answering.
async fn import(args: &[&str]) -> (bool, String) {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || run_import(&args))
        .await
        .unwrap()
}

fn run_import(args: &[String]) -> (bool, String) {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("STACKWATCH") || key.starts_with("STATUSCAKE") {
            command.env_remove(key);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    command.env("STACKWATCH_DATA_DIR", dir.path());
    let output = command
        .arg("import")
        .arg("statuscake")
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

async fn v1_views(app: &TestApp, resource: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/v1/{resource}?limit=100")).await;
    assert_eq!(status, 200, "{body}");
    let mut views: Vec<Value> = body["data"].as_array().unwrap().clone();
    for view in &mut views {
        let object = view.as_object_mut().unwrap();
        for live in ["id", "status", "uptime", "last_tested_at", "url"] {
            object.remove(live);
        }
    }
    views.sort_by_key(|v| v["name"].as_str().unwrap_or("").to_owned());
    views
}

#[tokio::test]
async fn an_account_moves_across_in_one_command_and_a_rerun_changes_nothing() {
    let stub = serve_stub(account()).await;
    let hook = HookReceiver::start().await;
    let (app, _dir) = spawn_with_webhook(&hook).await;
    let base = app.url("");
    let from_api = [
        "--api-url",
        &stub,
        "--api-key",
        API_KEY,
        "--url",
        &base,
        "--token",
        ADMIN_TOKEN,
    ];

    let (ok, dry) = import(&[&from_api[..], &["--dry-run"]].concat()).await;
    assert!(ok, "{dry}");
    assert!(dry.contains("7 would be created"), "{dry}");
    assert_eq!(
        v1_views(&app, "uptime").await.len(),
        0,
        "a dry run writes nothing"
    );

    let (ok, first) = import(&from_api).await;
    assert!(ok, "{first}");
    for line in [
        "contact      mapped     pager",
        "contact      suggested  ops-team",
        "uptime       created    Acme :: liveness",
        "uptime       created    Acme :: readiness",
        "uptime       created    Acme :: db",
        "heartbeat    created    Acme :: backup",
        "ssl          created    https://127.0.0.1:9/",
        "window       created    Sunday deploys",
    ] {
        assert!(first.contains(line), "{line:?} in:\n{first}");
    }
    assert!(
        first.contains("uptime       created    Acme :: dns"),
        "{first}"
    );
    assert!(
        first.contains("window       skipped    Old: none of its checks came across"),
        "{first}"
    );
    assert!(first.contains("the job must now call http://"), "{first}");
    assert!(
        first.contains("[notifiers.ops-team]\nkind = \"email\""),
        "{first}"
    );
    assert!(
        first.contains("7 created, 0 updated, 0 unchanged, 1 skipped"),
        "{first}"
    );

    let (_, native) = app.get("/api/v1/checks/acme-readiness").await;
    assert_eq!(native["display_name"], "Acme :: readiness");
    assert_eq!(native["body_contains"], "ready");
    assert_eq!(
        native["contacts"],
        json!(null),
        "its group is not configured here: default contacts"
    );
    assert_eq!(native["tags"], json!(["production"]));
    assert_eq!(native["paused"], true);
    let (_, liveness) = app.get("/api/v1/checks/acme-liveness").await;
    assert_eq!(liveness["contacts"], json!(["pager"]));
    assert_eq!(
        liveness["expected_status"],
        json!(["100-499", 501, "505-599"])
    );
    let (_, db) = app.get("/api/v1/checks/acme-db").await;
    assert_eq!((&db["kind"], &db["port"]), (&json!("tcp"), &json!(5432)));
    let (_, ssl) = app.get("/v1/ssl").await;
    let ssl = &ssl["data"][0];
    assert_eq!(
        (
            &ssl["website_url"],
            &ssl["alert_at"],
            &ssl["alert_reminder"]
        ),
        (
            &json!("https://127.0.0.1:9/"),
            &json!([7, 14, 30]),
            &json!(true)
        ),
        "{ssl}"
    );
    let (_, native) = app.get("/api/v1/checks?limit=100").await;
    let certificate: Vec<&Value> = native["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["url"] == "https://127.0.0.1:9/")
        .map(|c| &c["cert_expiry_days"])
        .collect();
    assert_eq!(certificate, [&json!(30)], "warned at the earliest alert_at");
    let (_, windows) = app.get("/v1/maintenance-windows").await;
    assert_eq!(
        windows["data"].as_array().unwrap().len(),
        2,
        "one window per check it named"
    );
    assert_eq!(windows["data"][0]["repeat_interval"], "1w");

    let before = (
        v1_views(&app, "uptime").await,
        v1_views(&app, "heartbeat").await,
    );
    let (ok, again) = import(&from_api).await;
    assert!(ok, "{again}");
    assert!(
        again.contains("0 created, 0 updated, 7 unchanged, 1 skipped"),
        "{again}"
    );
    assert_eq!(
        (
            v1_views(&app, "uptime").await,
            v1_views(&app, "heartbeat").await
        ),
        before
    );

    let (ok, refused) = import(&[
        "--api-url",
        &stub,
        "--api-key",
        "wrong",
        "--url",
        &base,
        "--token",
        ADMIN_TOKEN,
    ])
    .await;
    assert!(!ok && refused.contains("401"), "{refused}");
    app.stop().await;
}

/// An export as files: each list answer as the API gave it, the uptime checks with every
/// field (each check's own answer, gathered into one list).
fn write_answers(dir: &Path) {
    let pages = account();
    let mut checks = Vec::new();
    for (path, answer) in &pages {
        let Some(name) = path.strip_prefix("/v1/") else {
            continue;
        };
        if name.ends_with("&limit=1") {
            continue;
        }
        if name.starts_with("uptime/") {
            checks.push(answer["data"].clone());
        } else if !name.starts_with("uptime?") {
            let file = name.replace("?page=", "-").replace("&limit=100", "") + ".json";
            std::fs::write(dir.join(file), answer.to_string()).unwrap();
        }
    }
    std::fs::write(
        dir.join("uptime.json"),
        json!({ "data": checks }).to_string(),
    )
    .unwrap();
}

#[tokio::test]
async fn an_export_of_json_files_imports_like_the_api() {
    let dir = tempfile::tempdir().unwrap();
    write_answers(dir.path());
    let hook = HookReceiver::start().await;
    let (app, _data) = spawn_with_webhook(&hook).await;
    let (ok, out) = import(&[
        "--from-dir",
        dir.path().to_str().unwrap(),
        "--url",
        &app.url(""),
        "--token",
        ADMIN_TOKEN,
    ])
    .await;
    assert!(ok, "{out}");
    assert!(out.contains("uptime       created    Acme :: db"), "{out}");
    let (_, db) = app.get("/api/v1/checks/acme-db").await;
    assert_eq!(db["port"], 5432);
    app.stop().await;
}

#[tokio::test]
async fn one_stackwatch_exports_into_another_and_the_checks_are_the_same() {
    let hook = HookReceiver::start().await;
    let (first, _a) = spawn_with_webhook(&hook).await;
    let (second, _b) = spawn_with_webhook(&hook).await;
    for (name, body) in [
        (
            "shop-web",
            json!({"url": "https://127.0.0.1:9/", "check_rate": 300, "tags": ["env:prod"], "body_contains": "ok", "display_name": "Shop :: web"}),
        ),
        (
            "shop-db",
            json!({"kind": "tcp", "host": "127.0.0.1", "port": 5432, "contacts": []}),
        ),
        (
            "shop-cron",
            json!({"kind": "heartbeat", "period": 600, "contacts": ["pager"]}),
        ),
    ] {
        let (status, answer) = first.put(&format!("/api/v1/checks/{name}"), &body).await;
        assert_eq!(status, 201, "{answer}");
    }
    let (ok, out) = import(&[
        "--api-url",
        &first.url(""),
        "--api-key",
        READ_TOKEN,
        "--url",
        &second.url(""),
        "--token",
        ADMIN_TOKEN,
    ])
    .await;
    assert!(ok, "{out}");
    assert!(out.contains("3 created"), "{out}");
    assert_eq!(
        v1_views(&second, "uptime").await,
        v1_views(&first, "uptime").await
    );
    assert_eq!(
        v1_views(&second, "heartbeat").await,
        v1_views(&first, "heartbeat").await
    );
    let (_, copied) = second.get("/api/v1/checks/shop-web").await;
    assert_eq!(
        (&copied["check_rate"], &copied["body_contains"]),
        (&json!(300), &json!("ok"))
    );
    first.stop().await;
    second.stop().await;
}

/// A hostile "StatusCake" API: every page of every resource is `answer(page)`.
async fn serve_hostile(answer: fn(u64) -> String) -> String {
    async fn any(
        State(answer): State<fn(u64) -> String>,
        request: Request,
    ) -> (StatusCode, [(&'static str, &'static str); 1], String) {
        let page = request
            .uri()
            .query()
            .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("page=")))
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        (
            StatusCode::OK,
            [("content-type", "application/json")],
            answer(page),
        )
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(any).with_state(answer);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn import_from(api: &str) -> (bool, String) {
    import(&[
        "--api-url",
        api,
        "--api-key",
        API_KEY,
        "--url",
        "http://127.0.0.1:9",
        "--token",
        ADMIN_TOKEN,
        "--dry-run",
    ])
    .await
}

#[tokio::test]
async fn an_api_that_never_ends_its_pages_is_stopped_with_a_clear_error() {
    let api = serve_hostile(|page| {
        json!({
            "data": [{"id": page.to_string(), "name": format!("group {page}"), "email_addresses": []}],
            "metadata": {"page": page, "per_page": 1, "page_count": 1_000_000_000u64, "total_count": 1_000_000_000u64}
        })
        .to_string()
    })
    .await;
    let (ok, out) = import_from(&api).await;
    assert!(!ok, "{out}");
    assert!(out.contains("has more than 10000 pages"), "{out}");
}

#[tokio::test]
async fn an_answer_past_16_mib_is_refused_not_read_into_memory() {
    let api = serve_hostile(|_| {
        let name = "x".repeat(17 * 1024 * 1024);
        json!({"data": [{"id": "1", "name": name}], "metadata": {"page_count": 1}}).to_string()
    })
    .await;
    let (ok, out) = import_from(&api).await;
    assert!(!ok, "{out}");
    assert!(out.contains("larger than 16777216 bytes"), "{out}");
}
