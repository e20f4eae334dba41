//! Notifier kinds against local receivers that hold each service to its documented
//! contract. ntfy: a JSON publish to the server's root with a topic of ntfy's pattern, a
//! priority of 1-5 and a message within ntfy's 4,096 bytes. Discord: a webhook execution
//! within Discord's content and embed limits, with mentions off. Each answers a wrong
//! token, a busy moment and a malformed payload as the service does.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use stackwatch::settings::{DiscordSettings, NotifierSettings, NtfySettings, Secret};
use tokio::net::TcpListener;

use crate::binary::wait_for;
use crate::cli::stackwatch;
use crate::helpers::{outbox_settled, spawn_with, test_settings};
use crate::targets::http_target;

/// An ntfy server: accepts a JSON publish to `/` bearing `token`; answers 429 to the next
/// `busy` publishes and 400 to the next `refuse` ones that carry actions.
#[derive(Clone)]
struct Ntfy {
    addr: std::net::SocketAddr,
    token: &'static str,
    busy: Arc<AtomicU32>,
    refuse: Arc<AtomicU32>,
    /// Each publish: its answer's status and its JSON.
    seen: Arc<Mutex<Vec<(u16, Value)>>>,
}

/// Takes one from `counter` if any is left: whether one was.
fn take_one(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// Serves `router` on a port of 127.0.0.1 of its own; its address.
async fn listen(router: axum::Router) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// ntfy's error document.
fn ntfy_error(status: u16, code: u32, error: &str) -> Response {
    let body = json!({"code": code, "http": status, "error": error});
    (StatusCode::from_u16(status).unwrap(), body.to_string()).into_response()
}

impl Ntfy {
    async fn start(token: &'static str) -> Self {
        let mut ntfy = Self {
            addr: ([127, 0, 0, 1], 0).into(),
            token,
            busy: Arc::new(AtomicU32::new(0)),
            refuse: Arc::new(AtomicU32::new(0)),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        ntfy.addr = listen(
            axum::Router::new()
                .fallback(Self::publish)
                .with_state(ntfy.clone()),
        )
        .await;
        ntfy
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn publish(State(this): State<Self>, request: Request) -> Response {
        let authorized = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some(&format!("Bearer {}", this.token));
        let path = request.uri().path().to_owned();
        let body = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let document: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let answer = this.judge(authorized, &path, &document);
        let status = answer.status().as_u16();
        this.seen.lock().unwrap().push((status, document));
        answer
    }

    /// ntfy's answer to a publish.
    fn judge(&self, authorized: bool, path: &str, document: &Value) -> Response {
        if !authorized {
            return ntfy_error(401, 40101, "unauthorized");
        }
        let topic_ok = document["topic"].as_str().is_some_and(|t| {
            (1..=64).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        let priority_ok = document["priority"]
            .as_u64()
            .is_none_or(|p| (1..=5).contains(&p));
        let message_ok = document["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty() && m.len() <= 4_096);
        if path != "/" || !topic_ok || !priority_ok || !message_ok {
            return ntfy_error(400, 40001, "invalid request");
        }
        if take_one(&self.busy) {
            return ntfy_error(429, 42901, "limit reached: too many requests");
        }
        if document.get("actions").is_some() && take_one(&self.refuse) {
            return ntfy_error(400, 40018, "invalid request: actions invalid");
        }
        let mut message = document.clone();
        message["id"] = "sTaCkWaTcH01".into();
        message["event"] = "message".into();
        (StatusCode::OK, message.to_string()).into_response()
    }

    /// The publishes accepted, in order.
    fn accepted(&self) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(status, _)| *status == 200)
            .map(|(_, document)| document.clone())
            .collect()
    }

    fn answers(&self) -> Vec<u16> {
        self.seen.lock().unwrap().iter().map(|(s, _)| *s).collect()
    }
}

fn ntfy_settings(ntfy: &Ntfy, token: &str) -> NotifierSettings {
    NotifierSettings::Ntfy(NtfySettings {
        server: ntfy.url(),
        topic: Secret::new("stackwatch-ops"),
        token: Some(Secret::new(token)),
        username: None,
        password: None,
        priority: 5,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ntfy_gets_down_and_recovered_and_its_answers_are_understood() {
    let ntfy = Ntfy::start("tk_right0123456789").await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir.path().join("data"));
    settings
        .notifiers
        .insert("phone".into(), ntfy_settings(&ntfy, "tk_right0123456789"));
    settings
        .notifiers
        .insert("stale".into(), ntfy_settings(&ntfy, "tk_wrong0123456789"));
    settings.alerting.public_url = "https://stackwatch.example".to_owned();
    let app = spawn_with(settings).await;
    let target = http_target().await;
    let body = |contact: &str| {
        json!({"url": target.url("http", "/status"), "check_rate": 10, "retry_interval": 1,
            "failures_to_confirm": 1, "contacts": [contact]})
    };

    // Busy twice, then a refusal of the full form: the DOWN still arrives, plainly.
    ntfy.busy.store(2, Ordering::SeqCst);
    ntfy.refuse.store(1, Ordering::SeqCst);
    assert_eq!(app.put("/api/v1/checks/shop", &body("phone")).await.0, 201);
    assert_eq!(app.put("/api/v1/checks/old", &body("stale")).await.0, 201);
    target.status.store(500, Ordering::SeqCst);
    let down = wait_for("the DOWN through ntfy", 90, async || {
        ntfy.accepted()
            .into_iter()
            .find(|p| p["title"] == "[DOWN] shop")
    })
    .await;
    assert_eq!(down["topic"], "stackwatch-ops");
    assert_eq!(
        down["message"].as_str().unwrap().lines().next().unwrap(),
        format!(
            "shop is DOWN: HTTP 500 from {}.",
            target.url("http", "/status")
        )
    );
    assert!(down.get("actions").is_none(), "the plain form: {down}");
    // Past the wrong token's 401s: twice busy, the full form refused, the plain one taken.
    let answers: Vec<u16> = ntfy.answers().into_iter().filter(|s| *s != 401).collect();
    assert_eq!(answers, [429, 429, 400, 200]);

    target.status.store(200, Ordering::SeqCst);
    let recovered = wait_for("the RECOVERED through ntfy", 60, async || {
        ntfy.accepted()
            .into_iter()
            .find(|p| p["title"] == "[RECOVERED] shop")
    })
    .await;
    assert_eq!(recovered["priority"], 3);
    assert_eq!(recovered["tags"][0], "white_check_mark");
    assert_eq!(recovered["click"], "https://stackwatch.example/checks/shop");
    outbox_settled(&app.client, &app.url("")).await;

    // The wrong token: failed at once, the token in no error.
    let (_, alerts) = app.get("/api/v1/alerts?check=old").await;
    let text = alerts.to_string();
    assert!(!text.contains("tk_wrong"), "{text}");
    let failed: Vec<&Value> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["deliveries"].as_array().unwrap())
        .collect();
    assert!(!failed.is_empty(), "{alerts}");
    for delivery in failed {
        assert_eq!(delivery["status"], "failed", "{delivery}");
        assert_eq!(delivery["attempts"], 1, "{delivery}");
        assert_eq!(
            delivery["last_error"], "the receiver answered HTTP 401 (unauthorized)",
            "{delivery}"
        );
    }
    app.stop().await;
}

// Threads of its own: the receiver answers while the command waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_sends_one_message_through_ntfy() {
    let ntfy = Ntfy::start("tk_cli0123456789").await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ntfy.toml");
    std::fs::write(
        &config,
        format!(
            "[notifiers.phone]\nkind = \"ntfy\"\nserver = \"{}\"\ntopic = \"stackwatch-ops\"\n\
             token = \"${{NTFY_TOKEN}}\"\n",
            ntfy.url()
        ),
    )
    .unwrap();
    let output = stackwatch(dir.path())
        .args(["notify-test", "phone", "--config"])
        .arg(&config)
        .env("NTFY_TOKEN", "tk_cli0123456789")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let accepted = ntfy.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["title"], "[TEST] stackwatch");
    assert_eq!(accepted[0]["tags"][0], "test_tube");

    // A topic outside ntfy's pattern stops the start, naming the key, not the value.
    std::fs::write(
        &config,
        "[notifiers.phone]\nkind = \"ntfy\"\ntopic = \"has spaces/secret\"\npriority = 9\n",
    )
    .unwrap();
    let output = stackwatch(dir.path())
        .args(["notify-test", "phone", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("notifiers.phone.topic: must be 1-64 letters"),
        "{stderr}"
    );
    assert!(
        stderr.contains("notifiers.phone.priority: must be 1 (min) to 5 (max)"),
        "{stderr}"
    );
    assert!(!stderr.contains("has spaces/secret"), "{stderr}");
}

/// A Discord webhook: `POST /api/webhooks/1/TOKEN?wait=true` with content or embeds within
/// Discord's limits and mentions switched off; a wrong token 401, a busy webhook 429 with
/// `retry_after` in its body, a refused form 400, as Discord answers them.
#[derive(Clone)]
struct Discord {
    addr: std::net::SocketAddr,
    token: &'static str,
    busy: Arc<AtomicU32>,
    refuse: Arc<AtomicU32>,
    seen: Arc<Mutex<Vec<(u16, Value, std::time::Instant)>>>,
}

fn discord_error(status: u16, code: u32, message: &str, retry_after: Option<f64>) -> Response {
    let mut body = json!({"code": code, "message": message});
    if let Some(seconds) = retry_after {
        body["retry_after"] = seconds.into();
        body["global"] = false.into();
    }
    (StatusCode::from_u16(status).unwrap(), body.to_string()).into_response()
}

impl Discord {
    async fn start(token: &'static str) -> Self {
        let mut discord = Self {
            addr: ([127, 0, 0, 1], 0).into(),
            token,
            busy: Arc::new(AtomicU32::new(0)),
            refuse: Arc::new(AtomicU32::new(0)),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        discord.addr = listen(
            axum::Router::new()
                .fallback(Self::execute)
                .with_state(discord.clone()),
        )
        .await;
        discord
    }

    fn url(&self, token: &str) -> String {
        format!("http://{}/api/webhooks/1/{token}", self.addr)
    }

    async fn execute(State(this): State<Self>, request: Request) -> Response {
        let path = request.uri().path().to_owned();
        let waits = request.uri().query() == Some("wait=true");
        let body = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let document: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let answer = if path != format!("/api/webhooks/1/{}", this.token) {
            discord_error(401, 50027, "Invalid Webhook Token", None)
        } else {
            this.judge(waits, &document)
        };
        let status = answer.status().as_u16();
        this.seen
            .lock()
            .unwrap()
            .push((status, document, std::time::Instant::now()));
        answer
    }

    fn judge(&self, waits: bool, document: &Value) -> Response {
        let chars = |v: &Value| v.as_str().map_or(0, |t| t.chars().count());
        let embeds = document["embeds"].as_array().cloned().unwrap_or_default();
        let embeds_text: usize = embeds
            .iter()
            .map(|e| chars(&e["title"]) + chars(&e["description"]))
            .sum();
        let within = chars(&document["content"]) <= 2_000
            && embeds.len() <= 10
            && embeds
                .iter()
                .all(|e| chars(&e["title"]) <= 256 && chars(&e["description"]) <= 4_096)
            && embeds_text <= 6_000;
        if !within || document["allowed_mentions"] != json!({"parse": []}) {
            return discord_error(400, 50035, "Invalid Form Body", None);
        }
        if chars(&document["content"]) == 0 && embeds.is_empty() {
            return discord_error(400, 50006, "Cannot send an empty message", None);
        }
        if take_one(&self.busy) {
            return discord_error(429, 0, "You are being rate limited.", Some(9.5));
        }
        if !embeds.is_empty() && take_one(&self.refuse) {
            return discord_error(400, 50035, "Invalid Form Body", None);
        }
        if !waits {
            return StatusCode::NO_CONTENT.into_response();
        }
        let mut created = document.clone();
        created["id"] = "1".into();
        (StatusCode::OK, created.to_string()).into_response()
    }

    fn answers(&self) -> Vec<(u16, Value, std::time::Instant)> {
        self.seen.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_gets_embeds_waits_as_asked_and_fails_a_wrong_token_at_once() {
    let discord = Discord::start("right-token").await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir.path().join("data"));
    for (name, token) in [("chat", "right-token"), ("stale", "wrong-token")] {
        settings.notifiers.insert(
            name.into(),
            NotifierSettings::Discord(DiscordSettings {
                webhook_url: Secret::new(discord.url(token)),
            }),
        );
    }
    let app = spawn_with(settings).await;
    let target = http_target().await;
    let body = |contact: &str| {
        json!({"url": target.url("http", "/status"), "check_rate": 10, "retry_interval": 1,
            "failures_to_confirm": 1, "contacts": [contact]})
    };
    // Busy once (wait 9.5 s, says its body), then the embed refused: the DOWN arrives plain.
    discord.busy.store(1, Ordering::SeqCst);
    discord.refuse.store(1, Ordering::SeqCst);
    assert_eq!(app.put("/api/v1/checks/shop", &body("chat")).await.0, 201);
    assert_eq!(app.put("/api/v1/checks/old", &body("stale")).await.0, 201);
    target.status.store(500, Ordering::SeqCst);
    let ok = |(status, _, _): &(u16, Value, std::time::Instant)| *status == 200;
    wait_for("the DOWN through Discord", 90, async || {
        discord.answers().iter().any(ok).then_some(())
    })
    .await;
    let answers: Vec<(u16, Value, std::time::Instant)> = discord
        .answers()
        .into_iter()
        .filter(|a| a.0 != 401)
        .collect();
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert_eq!(statuses, [429, 400, 200]);
    assert!(
        answers[1].2.duration_since(answers[0].2) >= std::time::Duration::from_millis(9_500),
        "the retry waited for Discord's retry_after"
    );
    assert_eq!(
        answers[2].1["content"],
        format!(
            "\\[DOWN\\] shop\nshop is DOWN: HTTP 500 from {}.",
            target.url("http", "/status")
        )
    );

    target.status.store(200, Ordering::SeqCst);
    let recovered = wait_for("the RECOVERED through Discord", 60, async || {
        discord
            .answers()
            .into_iter()
            .find(|(s, d, _)| *s == 200 && d["content"] == "\\[RECOVERED\\] shop")
    })
    .await;
    let embed = &recovered.1["embeds"][0];
    assert_eq!(embed["color"], 0x2e_b67d);
    assert!(
        embed["description"]
            .as_str()
            .unwrap()
            .starts_with("shop is UP again after"),
        "{embed}"
    );
    outbox_settled(&app.client, &app.url("")).await;

    let (_, alerts) = app.get("/api/v1/alerts?check=old").await;
    assert!(!alerts.to_string().contains("wrong-token"), "{alerts}");
    for alert in alerts["alerts"].as_array().unwrap() {
        let delivery = &alert["deliveries"][0];
        assert_eq!(delivery["status"], "failed", "{delivery}");
        assert_eq!(delivery["attempts"], 1, "{delivery}");
        assert_eq!(
            delivery["last_error"],
            "the receiver answered HTTP 401 (Invalid Webhook Token)"
        );
    }
    app.stop().await;
}
