//! Secrets stay secret and credentials stay with their host: a read token walks every route
//! and page and finds no secret of a check full of them; a redirect to another origin
//! receives none of the check's credentials; text from a target reaches Slack inert.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use stackwatch::app::probe_once::spec_from_json;
use stackwatch::domain::CheckSpec;
use stackwatch::probe::Prober;
use tokio::net::TcpListener;

use crate::binary::wait_for;
use crate::helpers::{ADMIN_TOKEN, READ_TOKEN, spawn_with_webhook};
use crate::receivers::{HookReceiver, path_and_headers};

/// Every secret the check below holds; none may reach a read token.
const SECRETS: [&str; 6] = [
    ADMIN_TOKEN,
    "query-secret-6b1f",
    "cookie-secret-0c2d",
    "apikey-secret-93aa",
    "marked-secret-5e07",
    "basic-secret-d411",
];

fn secretive_stack() -> Value {
    json!({
        "status_page": true,
        "checks": [
            {
                "name": "acme-web",
                "url": format!("http://127.0.0.1:9/ready?apikey={}&page=2", SECRETS[1]),
                "headers": {
                    "Authorization": format!("Bearer {ADMIN_TOKEN}"),
                    "Cookie": format!("sid={}", SECRETS[2]),
                    "X-Api-Key": SECRETS[3],
                    "X-Tenant": SECRETS[4],
                    "X-Trace": "visible-trace"
                },
                "secret_names": ["x-tenant"],
                "basic_auth": {"username": "probe", "password": SECRETS[5]},
                "check_rate": 10,
                "retry_interval": 1,
                "failures_to_confirm": 1
            },
            {"name": "acme-job", "kind": "heartbeat", "period": 60, "grace": 60}
        ]
    })
}

async fn text_of(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_read_token_finds_no_secret_on_any_route_or_page() {
    let hook = HookReceiver::start().await;
    let (app, _dir) = spawn_with_webhook(&hook).await;
    let (status, created) = app.put("/api/v1/stacks/acme", &secretive_stack()).await;
    assert_eq!(status, 200, "{created}");
    let job = created["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "acme-job")
        .unwrap();
    let ping_url = job["ping_url"].as_str().unwrap().to_owned();
    let ping_key = ping_url.trim_start_matches("/ping/").to_owned();
    assert_eq!(ping_key.len(), 32, "an admin sees the ping key: {ping_url}");
    // The DOWN alert names the URL and its cause: wait until it went out.
    wait_for("the DOWN alert of acme-web", 30, async || {
        hook.accepted()
            .into_iter()
            .find(|r| r.body["check"] == "acme-web")
    })
    .await;
    let (_, list) = app.get("/v1/uptime").await;
    let v1_id = list["data"][0]["id"].as_str().unwrap().to_owned();
    let (_, beats) = app.get("/v1/heartbeat").await;
    let beat_id = beats["data"][0]["id"].as_str().unwrap().to_owned();
    let ssl_url = format!("https://127.0.0.1:9/?apikey={}", SECRETS[1]);
    let ssl = app
        .client
        .post(app.url("/v1/ssl"))
        .bearer_auth(ADMIN_TOKEN)
        .form(&[
            ("website_url", ssl_url.as_str()),
            ("check_rate", "3600"),
            ("alert_at", "7,30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ssl.status().as_u16(), 201);
    let ssl: Value = ssl.json().await.unwrap();
    let ssl_id = ssl["data"]["new_id"].as_str().unwrap().to_owned();
    let routes = [
        "/api/v1/checks".to_owned(),
        "/api/v1/checks/acme-web".to_owned(),
        "/api/v1/checks/acme-job".to_owned(),
        "/api/v1/stacks/acme".to_owned(),
        "/api/v1/checks/acme-web/results".to_owned(),
        "/api/v1/checks/acme-web/uptime".to_owned(),
        "/api/v1/maintenance".to_owned(),
        "/api/v1/incidents".to_owned(),
        "/api/v1/alerts".to_owned(),
        "/api/v1/summary".to_owned(),
        "/v1/uptime".to_owned(),
        format!("/v1/uptime/{v1_id}"),
        format!("/v1/uptime/{v1_id}/history"),
        format!("/v1/uptime/{v1_id}/periods"),
        format!("/v1/uptime/{v1_id}/alerts"),
        "/v1/heartbeat".to_owned(),
        format!("/v1/heartbeat/{beat_id}"),
        "/v1/ssl".to_owned(),
        format!("/v1/ssl/{ssl_id}"),
        "/v1/uptime-locations".to_owned(),
        "/".to_owned(),
        "/checks/acme-web".to_owned(),
        "/checks/acme-job".to_owned(),
        "/metrics".to_owned(),
    ];
    let mut secrets: Vec<&str> = SECRETS.to_vec();
    secrets.push(&ping_key);
    for route in &routes {
        let request = app.client.get(app.url(route)).bearer_auth(READ_TOKEN);
        let (status, body) = text_of(request).await;
        assert_eq!(status, 200, "{route}: {body}");
        for secret in &secrets {
            assert!(!body.contains(secret), "{route} shows {secret}: {body}");
        }
    }
    let (status, page) = text_of(app.client.get(app.url("/status/acme"))).await;
    assert_eq!(status, 200, "{page}");
    for secret in &secrets {
        assert!(!page.contains(secret), "the status page shows {secret}");
    }
    for received in hook.received() {
        let sent = received.body.to_string();
        for secret in &secrets {
            assert!(!sent.contains(secret), "an alert carries {secret}: {sent}");
        }
    }
    // What is redacted is still there: the read view says so, and other fields show.
    let (_, web) = app.get("/api/v1/checks/acme-web").await;
    assert_eq!(web["headers"]["x-tenant"], "<redacted>");
    assert_eq!(web["headers"]["x-trace"], "visible-trace");
    assert_eq!(
        web["url"],
        "http://127.0.0.1:9/ready?apikey=<redacted>&page=2"
    );
    let (_, beat) = app.get("/api/v1/checks/acme-job").await;
    assert_eq!(beat["ping_url"], "/ping/<redacted>");
}

#[tokio::test]
async fn a_read_token_cannot_take_the_admin_token_through_v1() {
    let hook = HookReceiver::start().await;
    let (app, _dir) = spawn_with_webhook(&hook).await;
    let (status, _) = app.put("/api/v1/stacks/acme", &secretive_stack()).await;
    assert_eq!(status, 200);
    let (_, list) = app.get("/v1/uptime").await;
    let view = &list["data"][0];
    let headers: Value = serde_json::from_str(view["custom_header"].as_str().unwrap()).unwrap();
    assert_eq!(headers["authorization"], "<redacted>");
    assert_eq!(view["basic_username"], "probe");
    for answer in [list.to_string(), view.to_string()] {
        assert!(!answer.contains(ADMIN_TOKEN), "{answer}");
    }
    let id = view["id"].as_str().unwrap();
    let (_, one) = app.get(&format!("/v1/uptime/{id}")).await;
    assert!(!one.to_string().contains(ADMIN_TOKEN), "{one}");
}

#[tokio::test]
async fn writing_back_what_was_read_keeps_the_secrets() {
    let hook = HookReceiver::start().await;
    let (app, _dir) = spawn_with_webhook(&hook).await;
    let (status, _) = app.put("/api/v1/stacks/acme", &secretive_stack()).await;
    assert_eq!(status, 200);
    let (_, read) = app.get("/api/v1/checks/acme-web").await;
    let mut body = read.clone();
    let object = body.as_object_mut().unwrap();
    for field in [
        "name",
        "paused",
        "created_at",
        "updated_at",
        "state",
        "state_since",
        "cert_expires_at",
        "last_result",
        "impacted_by",
    ] {
        object.remove(field);
    }
    let (status, again) = app.put("/api/v1/checks/acme-web", &body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["changed"], false, "{again}");
}

/// What one host received: each request's path and headers.
type Seen = Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>;

/// A host on `ip` that answers `/start` with a redirect to `location` and anything else
/// with 200, recording every request.
async fn host(ip: &str, location: Arc<Mutex<String>>) -> (SocketAddr, Seen) {
    async fn answer(
        State((seen, location)): State<(Seen, Arc<Mutex<String>>)>,
        request: Request,
    ) -> Response {
        seen.lock().unwrap().push(path_and_headers(&request));
        if request.uri().path() == "/start" {
            let to = location.lock().unwrap().clone();
            (StatusCode::FOUND, [("location", to)]).into_response()
        } else {
            "ok".into_response()
        }
    }
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .fallback(answer)
        .with_state((seen.clone(), location));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

fn credentialed(url: String, trusted: bool) -> CheckSpec {
    spec_from_json(json!({
        "url": url,
        "follow_redirects": true,
        "redirect_credentials": trusted,
        "basic_auth": {"username": "probe", "password": "basic-secret"},
        "headers": {
            "x-api-key": "key-secret",
            "cookie": "sid=cookie-secret",
            "x-tenant": "marked-secret",
            "x-trace": "plain",
        },
        "secret_names": ["x-tenant"],
    }))
    .unwrap()
}

fn credential_headers(headers: &[(String, String)]) -> Vec<&str> {
    let mut names: Vec<&str> = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| ["authorization", "x-api-key", "cookie", "x-tenant"].contains(k))
        .collect();
    names.sort_unstable();
    names
}

#[tokio::test]
async fn credentials_stay_with_their_origin_unless_the_check_trusts_the_redirect() {
    let (other, other_seen) = host("127.0.0.2", Arc::default()).await;
    let location = Arc::new(Mutex::new(format!("http://{other}/steal")));
    let (origin, origin_seen) = host("127.0.0.1", location.clone()).await;
    let prober = Prober::new(None, "stackwatch-test").unwrap();

    let outcome = prober
        .probe(&credentialed(format!("http://{origin}/start"), false))
        .await;
    assert!(outcome.is_up(), "{:?}", outcome.failure);
    let first = origin_seen.lock().unwrap()[0].1.clone();
    assert_eq!(
        credential_headers(&first),
        vec!["authorization", "cookie", "x-api-key", "x-tenant"]
    );
    let stolen = other_seen.lock().unwrap()[0].clone();
    assert_eq!(stolen.0, "/steal");
    assert_eq!(credential_headers(&stolen.1), Vec::<&str>::new());
    assert!(stolen.1.iter().any(|(k, v)| k == "x-trace" && v == "plain"));

    // The same host on another port is another origin too.
    let (same_ip, same_ip_seen) = host("127.0.0.1", Arc::default()).await;
    *location.lock().unwrap() = format!("http://{same_ip}/next");
    prober
        .probe(&credentialed(format!("http://{origin}/start"), false))
        .await;
    assert_eq!(
        credential_headers(&same_ip_seen.lock().unwrap()[0].1),
        Vec::<&str>::new()
    );

    // A redirect within the origin keeps them; a trusted one carries them anywhere.
    *location.lock().unwrap() = "/inside".to_owned();
    prober
        .probe(&credentialed(format!("http://{origin}/start"), false))
        .await;
    let inside = origin_seen.lock().unwrap().last().unwrap().clone();
    assert_eq!(inside.0, "/inside");
    assert_eq!(credential_headers(&inside.1).len(), 4);
    *location.lock().unwrap() = format!("http://{other}/trusted");
    prober
        .probe(&credentialed(format!("http://{origin}/start"), true))
        .await;
    let trusted = other_seen.lock().unwrap().last().unwrap().clone();
    assert_eq!(trusted.0, "/trusted");
    assert_eq!(credential_headers(&trusted.1).len(), 4);
}

#[tokio::test]
async fn a_redirect_in_a_cause_shows_no_secret_query_value() {
    let location = Arc::new(Mutex::new(String::new()));
    let (origin, _) = host("127.0.0.1", location.clone()).await;
    let url = format!("http://{origin}/start?apikey=loop-secret-77");
    *location.lock().unwrap() = url.clone();
    let spec = spec_from_json(json!({"url": url, "follow_redirects": true})).unwrap();
    let prober = Prober::new(None, "stackwatch-test").unwrap();
    let outcome = prober.probe(&spec).await;
    let cause = outcome.failure.unwrap().to_string();
    assert!(cause.starts_with("redirect loop back to"), "{cause}");
    assert!(!cause.contains("loop-secret"), "{cause}");
    assert!(cause.contains("apikey=<redacted>"), "{cause}");
}

/// A client that sends from `ip` (any 127.0.0.0/8 address reaches the app) and follows no
/// redirect.
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn sign_in(app: &crate::helpers::TestApp, client: &reqwest::Client, token: &str) -> u16 {
    client
        .post(app.url("/login"))
        .form(&[("token", token), ("next", "/")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn guessing_is_slow_and_the_right_token_from_elsewhere_still_works() {
    let app = crate::helpers::spawn_app().await;
    let guesser = client_from("127.0.0.11");
    for i in 0..10 {
        assert_eq!(
            sign_in(&app, &guesser, &format!("wrong-{i}")).await,
            401,
            "guess {i}"
        );
    }
    let refused = guesser
        .post(app.url("/login"))
        .form(&[("token", ADMIN_TOKEN), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 429, "even the right token waits");
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Bearer tokens count against the same address.
    let api = guesser
        .get(app.url("/api/v1/checks"))
        .bearer_auth(READ_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 429);
    assert!(api.headers().contains_key("retry-after"));
    // An admin elsewhere is not locked out.
    let admin = client_from("127.0.0.12");
    assert_eq!(sign_in(&app, &admin, ADMIN_TOKEN).await, 303);
    let fine = admin
        .get(app.url("/api/v1/checks"))
        .bearer_auth(READ_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status().as_u16(), 200);

    // Failed bearer tokens alone reach the limit too.
    let bearer_guesser = client_from("127.0.0.13");
    let mut answers = Vec::new();
    for i in 0..11 {
        let response = bearer_guesser
            .get(app.url("/v1/uptime"))
            .bearer_auth(format!("guess-{i}"))
            .send()
            .await
            .unwrap();
        answers.push(response.status().as_u16());
    }
    assert_eq!(answers[..10], [401; 10]);
    assert_eq!(answers[10], 429);
}

#[tokio::test]
async fn next_is_only_a_path_here_and_no_input_answers_500() {
    let app = crate::helpers::spawn_app().await;
    let client = client_from("127.0.0.1");
    for (next, location) in [
        ("/checks/a?range=7d", "/checks/a?range=7d"),
        ("/\t/evil.example/", "/"),
        ("/%09/evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("/a\nSet-Cookie: x=1", "/"),
        ("/a%0d%0aSet-Cookie:%20x=1", "/"),
        ("https://evil.example/", "/"),
    ] {
        let response = client
            .post(app.url("/login"))
            .form(&[("token", READ_TOKEN), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303, "{next:?}");
        assert_eq!(response.headers()["location"], location, "{next:?}");
    }
    let form = client
        .get(app.url("/login?next=%2F%09%2Fevil.example%2F"))
        .send()
        .await
        .unwrap();
    let page = form.text().await.unwrap();
    assert!(page.contains(r#"name="next" value="/""#), "{page}");
}

#[tokio::test]
async fn a_sign_in_posted_from_another_site_is_refused() {
    let app = crate::helpers::spawn_app().await;
    let client = client_from("127.0.0.1");
    let post = |headers: &[(&'static str, String)]| {
        let mut request = client
            .post(app.url("/login"))
            .form(&[("token", READ_TOKEN), ("next", "/")]);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request
    };
    let host = app.addr.to_string();
    for (headers, status) in [
        (vec![("origin", "http://evil.example".to_owned())], 403),
        (vec![("sec-fetch-site", "cross-site".to_owned())], 403),
        (vec![("sec-fetch-site", "same-site".to_owned())], 403),
        (vec![("origin", format!("http://{host}"))], 303),
        (
            vec![
                ("sec-fetch-site", "same-origin".to_owned()),
                ("origin", format!("http://{host}")),
            ],
            303,
        ),
        (vec![], 303),
    ] {
        let response = post(&headers).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{headers:?}");
        if status == 403 {
            assert!(!response.headers().contains_key("set-cookie"));
        }
    }
}

#[tokio::test]
async fn an_unpublished_stack_answers_as_a_missing_one_and_incidents_go_by_check() {
    let hook = HookReceiver::start().await;
    let (app, _dir) = spawn_with_webhook(&hook).await;
    let target = crate::targets::http_target().await;
    let down = json!({
        "checks": [{
            "name": "api", "url": "http://127.0.0.1:9/", "check_rate": 10,
            "retry_interval": 1, "failures_to_confirm": 1
        }]
    });
    let (status, _) = app.put("/api/v1/stacks/private", &down).await;
    assert_eq!(status, 200);
    let (_, incidents) = wait_for("the private check's incident", 30, async || {
        let (status, list) = app.get("/api/v1/incidents?check=api").await;
        (list["incidents"].as_array().is_some_and(|i| !i.is_empty())).then_some((status, list))
    })
    .await;
    assert_eq!(incidents["incidents"][0]["check"], "api", "{incidents}");

    let anonymous = reqwest::Client::new();
    let answer = async |path: &str| {
        let response = anonymous.get(app.url(path)).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    assert_eq!(
        answer("/status/private").await,
        answer("/status/no-such-stack").await,
        "an unpublished stack cannot be told from a missing one"
    );

    let (status, _) = app.delete("/api/v1/checks/api").await;
    assert_eq!(status, 200);
    let up = json!({
        "status_page": true,
        "checks": [{"name": "api", "url": target.url("http", "/status")}]
    });
    let (status, _) = app.put("/api/v1/stacks/public", &up).await;
    assert_eq!(status, 200);
    let (status, page) = answer("/status/public").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("No incident."), "{page}");
    // The API's history by name still has the deleted check's incident.
    let (_, by_name) = app.get("/api/v1/incidents?check=api").await;
    assert_eq!(by_name["incidents"].as_array().unwrap().len(), 1);
}

fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_data_directory_is_private_and_an_unsafe_one_stops_the_start() {
    use crate::cli::{run, stackwatch};
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let (code, stderr) = run(stackwatch(&data).arg("migrate"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(mode_of(&data), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode_of(&path), 0o600, "{}", path.display());
        files += 1;
    }
    assert!(files >= 1, "the database was created");

    let refuse = |what: &str| {
        let (code, stderr) = run(stackwatch(&data).arg("migrate"));
        assert_eq!(code, 2, "{what}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{what}: one line: {stderr}"
        );
        stderr
    };
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    let said = refuse("a directory others can write");
    assert!(
        said.contains(&data.display().to_string()) && said.contains("chmod 700"),
        "{said}"
    );
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();

    let token = data.join("admin.token");
    std::fs::write(&token, "planted-token-0123456789abcdef\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o666)).unwrap();
    let said = refuse("a planted token others can write");
    assert!(said.contains("admin.token can be written"), "{said}");
    std::fs::remove_file(&token).unwrap();

    let db = data.join("stackwatch.db");
    let elsewhere = root.path().join("elsewhere.db");
    std::fs::rename(&db, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &db).unwrap();
    let said = refuse("a database that is a link");
    assert!(said.contains("is a symbolic link"), "{said}");
    std::fs::remove_file(&db).unwrap();
    std::fs::rename(&elsewhere, &db).unwrap();

    // A file an older version left readable by all is made private, not refused.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, stderr) = run(stackwatch(&data).arg("migrate"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(mode_of(&db), 0o600);
}

#[tokio::test]
async fn text_a_job_posts_is_inert_in_every_notifier() {
    let receivers = crate::alerting::Receivers::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = crate::helpers::spawn_with(receivers.settings(dir.path())).await;
    let (status, made) = app
        .put(
            "/api/v1/checks/nightly",
            &json!({"kind": "heartbeat", "period": 3600, "grace": 60}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let ping = made["check"]["ping_url"].as_str().unwrap().to_owned();
    let hostile = "<!channel> <http://evil.example|Session expired, sign in again> & more";
    let response = app
        .client
        .post(app.url(&format!("{ping}/fail")))
        .body(hostile)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let slack = wait_for("the Slack DOWN", 30, async || {
        receivers.slack.accepted().into_iter().next()
    })
    .await;
    let payload = slack.body.to_string();
    assert!(!payload.contains("<!channel>"), "{payload}");
    assert!(!payload.contains("<http://evil.example"), "{payload}");
    let section = slack.body["attachments"][0]["blocks"][1]["text"]["text"]
        .as_str()
        .unwrap();
    assert!(
        section.contains(
            "&lt;!channel&gt; &lt;http://evil.example|Session expired, sign in again&gt; &amp; more"
        ),
        "{section}"
    );
    assert!(
        slack.body["text"]
            .as_str()
            .unwrap()
            .contains("&lt;!channel&gt;"),
        "the fallback text too: {payload}"
    );

    let hook = wait_for("the webhook DOWN", 30, async || {
        receivers.hook.accepted().into_iter().next()
    })
    .await;
    // JSON carries the text as data, quoted by the encoding itself.
    assert_eq!(
        hook.body["cause"],
        format!("the job reported a failure: {hostile}")
    );

    let mail = wait_for("the email DOWN", 30, async || {
        receivers.smtp.mails().into_iter().next()
    })
    .await;
    assert!(
        mail.data.contains("Content-Type: text/plain"),
        "email is plain text, where markup is inert: {}",
        mail.data
    );
}

/// No container engine can pull a base image here, so the image's user and volume are read
/// from the Dockerfile: `/data` belongs to the user stackwatch runs as, and nothing opens it
/// to others, so the start-up check of the data directory accepts a named volume.
#[test]
fn the_image_data_volume_belongs_to_the_user_it_runs_as() {
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    let user = dockerfile
        .lines()
        .find_map(|l| l.trim().strip_prefix("USER "))
        .unwrap()
        .trim();
    assert!(
        dockerfile.contains(&format!("chown {user}:{user} /data")),
        "{dockerfile}"
    );
    assert!(dockerfile.contains("STACKWATCH_DATA_DIR=/data"));
    assert!(dockerfile.contains("VOLUME /data"));
    assert!(
        !dockerfile.contains("chmod"),
        "no mode change opens /data to others"
    );
    // `mkdir -p /data` makes it 0755, which the check accepts for its owner.
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, stderr) = crate::cli::run(crate::cli::stackwatch(&data).arg("migrate"));
    assert_eq!(code, 0, "{stderr}");
}
