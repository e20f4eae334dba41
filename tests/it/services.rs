//! Local stand-ins for the services notifiers page through, each holding stackwatch to
//! that service's documented contract: where it is called, how it authenticates, which
//! fields it requires and their limits, and what it answers when the credentials are
//! wrong, when it is busy (with its own retry hint, where it gives one) and when it
//! refuses a payload. Each keeps what it was sent and what it made of it (incidents,
//! alerts, room messages), so a test can tell a repeated delivery from a duplicate.
//!
//! PagerDuty's Events API v2, Opsgenie's Alert API v2, a Teams workflow webhook,
//! Telegram's Bot API, a Matrix homeserver's client-server API and Pushover's Messages
//! API.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// One request a service received, and its answer's status.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    /// The JSON body, or a form's pairs as an object.
    pub document: Value,
    pub bytes: usize,
    pub status: u16,
    pub at: Instant,
}

/// What a service answers to a call, given what it remembers.
type Rules = fn(&Service, &Call) -> Response;

/// A local service.
#[derive(Clone)]
pub struct Service {
    pub addr: SocketAddr,
    /// The credential it accepts (a key, a token, a URL's secret part).
    pub secret: &'static str,
    /// The next this many calls are answered "busy" (429).
    pub busy: Arc<AtomicU32>,
    /// The next this many full payloads are refused as the service refuses a bad one.
    pub refuse: Arc<AtomicU32>,
    /// The next this many accepted calls are processed and never answered, as when the
    /// sender dies before the answer reaches it.
    pub hold: Arc<AtomicU32>,
    /// What the service made of the calls (incidents, alerts, messages), by its key.
    pub memory: Arc<Mutex<BTreeMap<String, Value>>>,
    calls: Arc<Mutex<Vec<Call>>>,
    rules: Rules,
}

/// Takes one from `counter` if any is left: whether one was.
pub fn take_one(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn answer(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), body.to_string()).into_response()
}

impl Service {
    async fn start(secret: &'static str, rules: Rules) -> Self {
        let mut service = Self {
            addr: ([127, 0, 0, 1], 0).into(),
            secret,
            busy: Arc::new(AtomicU32::new(0)),
            refuse: Arc::new(AtomicU32::new(0)),
            hold: Arc::new(AtomicU32::new(0)),
            memory: Arc::new(Mutex::new(BTreeMap::new())),
            calls: Arc::new(Mutex::new(Vec::new())),
            rules,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        service.addr = listener.local_addr().unwrap();
        let router = axum::Router::new()
            .fallback(Self::receive)
            .with_state(service.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        service
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn receive(State(this): State<Self>, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let form = parts.headers.get("content-type").is_some_and(|v| {
            v.as_bytes()
                .starts_with(b"application/x-www-form-urlencoded")
        });
        let document = if form {
            let pairs: serde_json::Map<String, Value> = url::form_urlencoded::parse(&body)
                .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
                .collect();
            Value::Object(pairs)
        } else {
            serde_json::from_slice(&body).unwrap_or(Value::Null)
        };
        let mut call = Call {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().unwrap_or_default().to_owned(),
            headers: parts.headers,
            document,
            bytes: body.len(),
            status: 0,
            at: Instant::now(),
        };
        let response = (this.rules)(&this, &call);
        call.status = response.status().as_u16();
        this.calls.lock().unwrap().push(call);
        if response.status().is_success() && take_one(&this.hold) {
            std::future::pending::<()>().await;
        }
        response
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// What the service remembers under `key`.
    pub fn remembered(&self, key: &str) -> Option<Value> {
        self.memory.lock().unwrap().get(key).cloned()
    }

    fn remember(&self, key: &str, value: Value) {
        self.memory.lock().unwrap().insert(key.to_owned(), value);
    }

    fn bearer(&self, call: &Call, scheme: &str) -> bool {
        call.headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some(&format!("{scheme} {}", self.secret))
    }

    // PagerDuty -------------------------------------------------------------------------

    /// PagerDuty's Events API v2 at `/v2/enqueue` for the integration key `secret` (32
    /// characters). It keeps alerts by `dedup_key`: a trigger for an open one adds to it,
    /// a trigger after its resolve opens a new one.
    pub async fn pagerduty(secret: &'static str) -> Self {
        Self::start(secret, Self::pagerduty_rules).await
    }

    fn pagerduty_rules(&self, call: &Call) -> Response {
        let invalid = |errors: &[&str]| {
            answer(
                400,
                json!({"status": "invalid event", "message": "Event object is invalid",
                    "errors": errors}),
            )
        };
        if call.method != "POST" || call.path != "/v2/enqueue" {
            return answer(404, json!({"status": "Not Found"}));
        }
        let d = &call.document;
        let key = d["routing_key"].as_str().unwrap_or_default();
        if key.len() != 32 {
            return invalid(&["Length of 'routing_key' is incorrect (should be 32 characters)"]);
        }
        if key != self.secret {
            return invalid(&["Invalid routing key"]);
        }
        let action = d["event_action"].as_str().unwrap_or_default();
        let dedup = d["dedup_key"].as_str().unwrap_or_default();
        if !["trigger", "acknowledge", "resolve"].contains(&action) {
            return invalid(&["'event_action' is invalid"]);
        }
        if dedup.is_empty() || dedup.chars().count() > 255 {
            return invalid(&["'dedup_key' must be 1-255 characters"]);
        }
        if action == "trigger" {
            let p = &d["payload"];
            let summary = p["summary"].as_str().unwrap_or_default().chars().count();
            let severity_ok = p["severity"]
                .as_str()
                .is_some_and(|s| ["critical", "error", "warning", "info"].contains(&s));
            if !(1..=1_024).contains(&summary)
                || p["source"].as_str().is_none_or(str::is_empty)
                || !severity_ok
            {
                return invalid(&["'payload' is missing or invalid"]);
            }
        }
        if take_one(&self.busy) {
            return answer(
                429,
                json!({"status": "throttle event", "message": "Requests for this service are arriving too quickly."}),
            );
        }
        if d["payload"].get("custom_details").is_some() && take_one(&self.refuse) {
            return invalid(&["'custom_details' is invalid"]);
        }
        let mut alert = self.remembered(dedup).unwrap_or(json!({"opened": 0}));
        let open = alert["status"] == "triggered" || alert["status"] == "acknowledged";
        match action {
            "trigger" if !open => {
                alert["opened"] = (alert["opened"].as_u64().unwrap() + 1).into();
                alert["status"] = "triggered".into();
                alert["summary"] = d["payload"]["summary"].clone();
            }
            "trigger" => {}
            "acknowledge" if open => alert["status"] = "acknowledged".into(),
            "resolve" if open => alert["status"] = "resolved".into(),
            _ => {}
        }
        self.remember(dedup, alert);
        answer(
            202,
            json!({"status": "success", "message": "Event processed", "dedup_key": dedup}),
        )
    }

    // Opsgenie --------------------------------------------------------------------------

    /// Opsgenie's Alert API v2 for the API key `secret` (`Authorization: GenieKey …`):
    /// create at `/v2/alerts`, acknowledge and close by alias. It keeps alerts by alias.
    pub async fn opsgenie(secret: &'static str) -> Self {
        Self::start(secret, Self::opsgenie_rules).await
    }

    fn opsgenie_rules(&self, call: &Call) -> Response {
        let took = json!(0.01);
        if !self.bearer(call, "GenieKey") {
            return answer(
                401,
                json!({"message": "Could not authenticate", "took": took, "requestId": "r1"}),
            );
        }
        if take_one(&self.busy) {
            return answer(
                429,
                json!({"message": "You are making too many requests! To avoid errors, we recommend you limit requests.", "took": took, "requestId": "r2"}),
            );
        }
        let accepted = || {
            answer(
                202,
                json!({"result": "Request will be processed", "took": took, "requestId": "r3"}),
            )
        };
        let d = &call.document;
        if call.path == "/v2/alerts" {
            let chars = |v: &Value| v.as_str().map_or(0, |t| t.chars().count());
            let tags = d["tags"].as_array().cloned().unwrap_or_default();
            let valid = (1..=130).contains(&chars(&d["message"]))
                && chars(&d["alias"]) <= 512
                && chars(&d["description"]) <= 15_000
                && tags.len() <= 20
                && tags.iter().all(|t| chars(t) <= 50)
                && d["priority"]
                    .as_str()
                    .is_none_or(|p| ["P1", "P2", "P3", "P4", "P5"].contains(&p));
            if !valid || (d.get("details").is_some() && take_one(&self.refuse)) {
                return answer(
                    422,
                    json!({"message": "Request body is not processable. Please check the errors.",
                        "errors": {"message": "Message can not be empty."}, "took": took, "requestId": "r4"}),
                );
            }
            let alias = d["alias"].as_str().unwrap_or_default().to_owned();
            let mut alert = self.remembered(&alias).unwrap_or(json!({"created": 0}));
            if alert["status"] != "open" && alert["status"] != "acked" {
                alert["created"] = (alert["created"].as_u64().unwrap() + 1).into();
                alert["status"] = "open".into();
                alert["message"] = d["message"].clone();
                alert["priority"] = d["priority"].clone();
            }
            self.remember(&alias, alert);
            return accepted();
        }
        let Some(rest) = call.path.strip_prefix("/v2/alerts/") else {
            return answer(404, json!({"message": "Not found", "took": took}));
        };
        let action = rest.rsplit('/').next().unwrap_or_default();
        let alias = rest.trim_end_matches(action).trim_end_matches('/');
        let alias: String = url::form_urlencoded::parse(format!("a={alias}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if call.query != "identifierType=alias" || !["close", "acknowledge"].contains(&action) {
            return answer(404, json!({"message": "Not found", "took": took}));
        }
        let mut alert = self.remembered(&alias).unwrap_or(json!({"created": 0}));
        alert["status"] = if action == "close" { "closed" } else { "acked" }.into();
        self.remember(&alias, alert);
        accepted()
    }

    // Teams -----------------------------------------------------------------------------

    /// A Teams workflow's "When a Teams webhook request is received" trigger at
    /// `/workflows/{secret}/triggers/manual/paths/invoke`: an Adaptive Card message
    /// within 28 KB; a busy flow answers 429 with `Retry-After`.
    pub async fn teams(secret: &'static str) -> Self {
        Self::start(secret, Self::teams_rules).await
    }

    pub fn teams_url(&self, secret: &str) -> String {
        format!(
            "{}/workflows/{secret}/triggers/manual/paths/invoke?api-version=1&sig=s",
            self.url()
        )
    }

    fn teams_rules(&self, call: &Call) -> Response {
        let error = |status: u16, code: &str, message: &str| {
            answer(status, json!({"error": {"code": code, "message": message}}))
        };
        if call.path != format!("/workflows/{}/triggers/manual/paths/invoke", self.secret) {
            return error(
                401,
                "DirectApiAuthorizationRequired",
                "The request must be authenticated only by Shared Access scheme.",
            );
        }
        if call.bytes > 28 * 1024 {
            return error(413, "MessageTooLarge", "The message is too large.");
        }
        let card = &call.document["attachments"][0];
        let valid = call.document["type"] == "message"
            && card["contentType"] == "application/vnd.microsoft.card.adaptive"
            && card["content"]["type"] == "AdaptiveCard"
            && card["content"]["body"]
                .as_array()
                .is_some_and(|b| !b.is_empty());
        if !valid {
            return error(
                400,
                "TriggerInputSchemaMismatch",
                "The input body for trigger 'manual' of type 'Request' did not match its schema definition.",
            );
        }
        if take_one(&self.busy) {
            let mut busy = error(429, "TooManyRequests", "Rate limit is exceeded.");
            busy.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("2"));
            return busy;
        }
        if card["content"].get("actions").is_some() && take_one(&self.refuse) {
            return error(400, "BadRequest", "The card could not be posted.");
        }
        StatusCode::ACCEPTED.into_response()
    }

    // Telegram --------------------------------------------------------------------------

    /// Telegram's Bot API `sendMessage` at `/bot{secret}/sendMessage` for the chat
    /// `-100123`: HTML parse mode checked as Telegram parses it (only its tags, every `&`
    /// an entity), at most 4,096 characters of visible text; busy is a 429 with
    /// `parameters.retry_after`.
    pub async fn telegram(secret: &'static str) -> Self {
        Self::start(secret, Self::telegram_rules).await
    }

    fn telegram_rules(&self, call: &Call) -> Response {
        let refused = |status: u16, description: &str| {
            answer(
                status,
                json!({"ok": false, "error_code": status, "description": description}),
            )
        };
        if call.path != format!("/bot{}/sendMessage", self.secret) {
            return refused(401, "Unauthorized");
        }
        let d = &call.document;
        if d["chat_id"] != "-100123" {
            return refused(400, "Bad Request: chat not found");
        }
        let text = d["text"].as_str().unwrap_or_default();
        let visible = if d["parse_mode"] == "HTML" {
            match telegram_visible(text) {
                Ok(visible) => visible,
                Err(why) => {
                    return refused(400, &format!("Bad Request: can't parse entities: {why}"));
                }
            }
        } else {
            text.to_owned()
        };
        if visible.trim().is_empty() {
            return refused(400, "Bad Request: message text is empty");
        }
        if visible.chars().count() > 4_096 {
            return refused(400, "Bad Request: message is too long");
        }
        if take_one(&self.busy) {
            return answer(
                429,
                json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3",
                    "parameters": {"retry_after": 3}}),
            );
        }
        if d["parse_mode"] == "HTML" && take_one(&self.refuse) {
            return refused(
                400,
                "Bad Request: can't parse entities: unsupported start tag",
            );
        }
        let id = self.calls().iter().filter(|c| c.status == 200).count() + 1;
        answer(
            200,
            json!({"ok": true, "result": {"message_id": id, "chat": {"id": -100123}, "text": visible}}),
        )
    }

    // Matrix ----------------------------------------------------------------------------

    /// A homeserver's `PUT /_matrix/client/v3/rooms/!ops:example.org/send/m.room.message/{txn}`
    /// for the access token `secret`, whose user is in that room only. A transaction id seen
    /// before answers the event it made, posting nothing (the spec's idempotency). Busy is
    /// `M_LIMIT_EXCEEDED` with `retry_after_ms`.
    pub async fn matrix(secret: &'static str) -> Self {
        Self::start(secret, Self::matrix_rules).await
    }

    fn matrix_rules(&self, call: &Call) -> Response {
        let error = |status: u16, code: &str, message: &str| {
            answer(status, json!({"errcode": code, "error": message}))
        };
        if !self.bearer(call, "Bearer") {
            return error(401, "M_UNKNOWN_TOKEN", "Invalid access token passed.");
        }
        let prefix = "/_matrix/client/v3/rooms/";
        let Some(rest) = call.path.strip_prefix(prefix) else {
            return error(404, "M_UNRECOGNIZED", "Unrecognized request");
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let [room, "send", "m.room.message", txn] = parts[..] else {
            return error(404, "M_UNRECOGNIZED", "Unrecognized request");
        };
        if call.method != "PUT" {
            return error(405, "M_UNRECOGNIZED", "Unrecognized request");
        }
        if room != "%21ops%3Aexample.org" && room != "!ops:example.org" {
            return error(403, "M_FORBIDDEN", "User is not in the room");
        }
        if call.bytes > 65_536 {
            return error(413, "M_TOO_LARGE", "event too large");
        }
        let d = &call.document;
        if d["msgtype"].as_str().is_none() || d["body"].as_str().is_none() {
            return error(400, "M_BAD_JSON", "msgtype and body are required");
        }
        if take_one(&self.busy) {
            return answer(
                429,
                json!({"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": 2_000}),
            );
        }
        if d.get("formatted_body").is_some() && take_one(&self.refuse) {
            return error(400, "M_BAD_JSON", "formatted_body is invalid");
        }
        let key = format!("txn:{txn}");
        if let Some(event) = self.remembered(&key) {
            return answer(200, json!({"event_id": event["event_id"]}));
        }
        let mut room = self.remembered("room").unwrap_or(json!([]));
        let event_id = format!("$event{}", room.as_array().unwrap().len() + 1);
        room.as_array_mut().unwrap().push(d.clone());
        self.remember("room", room);
        self.remember(&key, json!({"event_id": event_id}));
        answer(200, json!({"event_id": event_id}))
    }

    /// The room's messages, in order.
    pub fn room(&self) -> Vec<Value> {
        self.remembered("room")
            .and_then(|r| r.as_array().cloned())
            .unwrap_or_default()
    }

    // Pushover --------------------------------------------------------------------------

    /// Pushover's `/1/messages.json` (a form) for the application token `secret` and the
    /// user `uQiRzpo4DXghDmr9QzzfQu27cmVRsG`, within its limits; `cancel_by_tag` for
    /// emergency receipts. A wrong token or user is a 400 naming it.
    pub async fn pushover(secret: &'static str) -> Self {
        Self::start(secret, Self::pushover_rules).await
    }

    pub const PUSHOVER_USER: &'static str = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG";

    fn pushover_rules(&self, call: &Call) -> Response {
        let refused = |field: &str, error: &str| {
            let mut body = json!({"errors": [error], "status": 0, "request": "r1"});
            body[field] = "invalid".into();
            answer(400, body)
        };
        let d = &call.document;
        if d["token"] != self.secret {
            return refused("token", "application token is invalid");
        }
        if let Some(tag) = call
            .path
            .strip_prefix("/1/receipts/cancel_by_tag/")
            .and_then(|t| t.strip_suffix(".json"))
        {
            let mut cancelled = self.remembered("cancelled").unwrap_or(json!([]));
            cancelled.as_array_mut().unwrap().push(tag.into());
            self.remember("cancelled", cancelled);
            return answer(200, json!({"status": 1, "canceled": 1, "request": "r2"}));
        }
        if call.path != "/1/messages.json" {
            return answer(404, json!({"status": 0, "errors": ["not found"]}));
        }
        if d["user"] != Self::PUSHOVER_USER {
            return refused(
                "user",
                "user identifier is not a valid user, group, or subscribed user key",
            );
        }
        let chars = |v: &Value| v.as_str().map_or(0, |t| t.chars().count());
        let number = |v: &Value| v.as_str().and_then(|t| t.parse::<i64>().ok());
        if chars(&d["message"]) == 0 {
            return refused("message", "message cannot be blank");
        }
        if chars(&d["message"]) > 1_024 || chars(&d["title"]) > 250 || chars(&d["url"]) > 512 {
            return refused("message", "message is too long");
        }
        let priority = number(&d["priority"]).unwrap_or(0);
        if !(-2..=2).contains(&priority) {
            return refused("priority", "priority is invalid");
        }
        if priority == 2
            && !(number(&d["retry"]).is_some_and(|r| r >= 30)
                && number(&d["expire"]).is_some_and(|e| e <= 10_800))
        {
            return refused(
                "retry",
                "retry and expire are required for emergency priority",
            );
        }
        if take_one(&self.busy) {
            return answer(
                429,
                json!({"status": 0, "errors": ["application is over its message limit"]}),
            );
        }
        if d.get("url").is_some() && take_one(&self.refuse) {
            return refused("url", "url is invalid");
        }
        let mut body = json!({"status": 1, "request": "r3"});
        if priority == 2 {
            body["receipt"] = "rcpt1".into();
        }
        answer(200, body)
    }
}

/// The visible text of Telegram HTML, or why Telegram could not parse it: only its tags,
/// and every `&` an entity it knows.
fn telegram_visible(text: &str) -> Result<String, String> {
    const TAGS: [&str; 10] = [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "s",
        "code",
        "pre",
        "a",
        "blockquote",
    ];
    let mut visible = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(['<', '&']) {
        visible.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('<') {
            let end = rest.find('>').ok_or("unclosed start tag")?;
            let tag = rest[1..end].trim_start_matches('/');
            let name = tag.split_whitespace().next().unwrap_or_default();
            if !TAGS.contains(&name) {
                return Err(format!("unsupported start tag \"{name}\""));
            }
            rest = &rest[end + 1..];
        } else {
            let end = rest.find(';').ok_or("unescaped &")?;
            visible.push(match &rest[..=end] {
                "&lt;" => '<',
                "&gt;" => '>',
                "&amp;" => '&',
                "&quot;" => '"',
                other => return Err(format!("unsupported entity {other}")),
            });
            rest = &rest[end + 1..];
        }
    }
    visible.push_str(rest);
    Ok(visible)
}
