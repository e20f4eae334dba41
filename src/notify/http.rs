//! Slack incoming webhooks and generic JSON webhooks: one POST each, over a shared HTTPS
//! client (rustls with ring, webpki roots).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::render;
use super::{AlertMessage, Notifier, NotifyError, SendFuture};
use crate::domain::Timestamp;
use crate::settings::{SlackSettings, WebhookSettings};

/// A delivery attempt may take this long in all.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// The HTTP(S) client notifiers share.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpClient {
    pub fn new() -> Result<Self, NotifyError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| NotifyError::Config(format!("TLS: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// POSTs a JSON document; success is any 2xx answer.
    async fn post_json(
        &self,
        url: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: &serde_json::Value,
    ) -> Result<(), NotifyError> {
        let mut request = hyper::Request::post(parse_uri(url)?)
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, "stackwatch")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|_| NotifyError::Config("cannot build the request".to_owned()))?;
        for (name, value) in headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        self.send(request).await
    }

    /// GETs a URL (the watchdog's ping); success is any 2xx answer.
    pub async fn get(&self, url: &str) -> Result<(), NotifyError> {
        let request = hyper::Request::get(parse_uri(url)?)
            .header(USER_AGENT, "stackwatch")
            .body(Full::new(Bytes::new()))
            .map_err(|_| NotifyError::Config("cannot build the request".to_owned()))?;
        self.send(request).await
    }

    async fn send(&self, request: hyper::Request<Full<Bytes>>) -> Result<(), NotifyError> {
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| NotifyError::Transport(transport_reason(&e)))?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            // Read the answer so the connection can be reused; only a short code word of
            // it is kept (Slack says why it refused a payload that way).
            let body = http_body_util::Limited::new(response.into_body(), 4_096)
                .collect()
                .await
                .map(http_body_util::Collected::to_bytes)
                .unwrap_or_default();
            if status.is_success() {
                Ok(())
            } else {
                Err(NotifyError::Status {
                    status: status.as_u16(),
                    retry_after_s: retry_after,
                    answer: code_word(&body),
                })
            }
        };
        tokio::time::timeout(SEND_TIMEOUT, exchange)
            .await
            .map_err(|_| NotifyError::Timeout(SEND_TIMEOUT.as_secs()))?
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

fn parse_uri(url: &str) -> Result<hyper::Uri, NotifyError> {
    url.parse()
        .map_err(|_| NotifyError::Config("the URL is invalid".to_owned()))
}

/// Why a request failed, in words that never include the URL.
fn transport_reason(error: &hyper_util::client::legacy::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return io.kind().to_string();
        }
        source = e.source();
    }
    if error.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    }
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
            match self.client.post_json(&self.webhook_url, &[], &body).await {
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
                        .post_json(&self.webhook_url, &[], &minimal)
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
    headers: Vec<(HeaderName, HeaderValue)>,
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

fn header_pairs(
    headers: &BTreeMap<String, crate::settings::Secret>,
) -> Vec<(HeaderName, HeaderValue)> {
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
