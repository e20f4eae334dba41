//! Slack incoming webhooks and generic JSON webhooks: one POST each, over a shared HTTPS
//! client (reqwest over rustls with ring, webpki roots).

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use super::render;
use super::{AlertMessage, Notifier, NotifyError, SendFuture};
use crate::domain::Timestamp;
use crate::settings::{SlackSettings, WebhookSettings};

/// A delivery attempt may take this long in all.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);
/// The most of an answer read: enough for a code word, never a reason to wait for more.
const ANSWER_BYTES: usize = 4_096;

/// The HTTP(S) client notifiers share (reqwest with rustls, webpki roots). It follows no
/// redirect: a webhook URL is a secret, and so are the headers sent with it.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
}

impl HttpClient {
    pub fn new() -> Result<Self, NotifyError> {
        let client = reqwest::Client::builder()
            .user_agent("stackwatch")
            .redirect(reqwest::redirect::Policy::none())
            .timeout(SEND_TIMEOUT)
            .build()
            .map_err(|e| NotifyError::Config(format!("HTTP client: {}", e.without_url())))?;
        Ok(Self { client })
    }

    /// POSTs a JSON document; success is any 2xx answer.
    async fn post_json(
        &self,
        url: &str,
        headers: &HeaderMap,
        body: &serde_json::Value,
    ) -> Result<(), NotifyError> {
        let request = self
            .client
            .post(parse_url(url)?)
            .header(CONTENT_TYPE, "application/json")
            .headers(headers.clone())
            .body(body.to_string());
        self.send(request).await
    }

    /// GETs a URL (the watchdog's ping); success is any 2xx answer.
    pub async fn get(&self, url: &str) -> Result<(), NotifyError> {
        self.send(self.client.get(parse_url(url)?)).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(), NotifyError> {
        let mut response = request.send().await.map_err(failure)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if status.is_success() {
            return Ok(());
        }
        // Only a short code word of the answer is kept (Slack says why it refused a
        // payload that way).
        let mut body = Vec::new();
        while body.len() < ANSWER_BYTES
            && let Ok(Some(chunk)) = response.chunk().await
        {
            body.extend_from_slice(&chunk);
        }
        Err(NotifyError::Status {
            status: status.as_u16(),
            retry_after_s: retry_after,
            answer: code_word(&body),
        })
    }
}

/// An answer that is one code word (`invalid_blocks`), or nothing: any other text could
/// echo what was sent, and errors are logged and shown.
fn code_word(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let word =
        (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    word.then(|| text.to_owned())
}

/// Slack's answers that refuse a payload for its form, where a plainer one can pass.
const SLACK_FORM_REFUSALS: [&str; 5] = [
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_too_long",
    "invalid_attachments",
    "too_many_attachments",
];

fn parse_url(url: &str) -> Result<reqwest::Url, NotifyError> {
    url.parse()
        .map_err(|_| NotifyError::Config("the URL is invalid".to_owned()))
}

/// A failed request as an error, in words that never include the URL.
fn failure(error: reqwest::Error) -> NotifyError {
    if error.is_timeout() {
        return NotifyError::Timeout(SEND_TIMEOUT.as_secs());
    }
    let mut source: Option<&dyn std::error::Error> = Some(&error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return NotifyError::Transport(io.kind().to_string());
        }
        source = e.source();
    }
    NotifyError::Transport(if error.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    })
}

/// A Slack incoming webhook.
pub struct SlackNotifier {
    client: HttpClient,
    webhook_url: String,
}

impl SlackNotifier {
    pub fn new(client: HttpClient, settings: &SlackSettings) -> Self {
        Self {
            client,
            webhook_url: settings.webhook_url.expose().to_owned(),
        }
    }
}

impl Notifier for SlackNotifier {
    fn send<'a>(&'a self, message: &'a AlertMessage, now: Timestamp) -> SendFuture<'a> {
        Box::pin(async move {
            let body = render::slack(message, now);
            let none = HeaderMap::new();
            match self.client.post_json(&self.webhook_url, &none, &body).await {
                Err(NotifyError::Status {
                    status: 400,
                    answer: Some(answer),
                    ..
                }) if SLACK_FORM_REFUSALS.contains(&answer.as_str()) => {
                    tracing::warn!(
                        answer,
                        "Slack refused the alert's form; sending it once as plain text"
                    );
                    let minimal = render::slack_minimal(message, now);
                    self.client
                        .post_json(&self.webhook_url, &none, &minimal)
                        .await
                }
                other => other,
            }
        })
    }
}

/// A POST of the alert as a documented JSON document.
pub struct WebhookNotifier {
    client: HttpClient,
    url: String,
    headers: HeaderMap,
}

impl WebhookNotifier {
    pub fn new(client: HttpClient, settings: &WebhookSettings) -> Self {
        let headers = header_pairs(&settings.headers);
        Self {
            client,
            url: settings.url.expose().to_owned(),
            headers,
        }
    }
}

fn header_pairs(headers: &BTreeMap<String, crate::settings::Secret>) -> HeaderMap {
    // Validated when the settings were loaded; an invalid pair cannot reach here.
    headers
        .iter()
        .filter_map(|(name, value)| {
            let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
            let mut value = HeaderValue::from_str(value.expose()).ok()?;
            value.set_sensitive(true);
            Some((name, value))
        })
        .collect()
}

impl Notifier for WebhookNotifier {
    fn send<'a>(&'a self, message: &'a AlertMessage, now: Timestamp) -> SendFuture<'a> {
        Box::pin(async move {
            let body = render::webhook(message, now);
            self.client.post_json(&self.url, &self.headers, &body).await
        })
    }
}
