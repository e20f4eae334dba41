//! The HTTPS client every HTTP notifier sends through (reqwest over rustls with ring,
//! webpki roots), and what it makes of an answer: success, or a failure in words that
//! never include the URL.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};

use super::NotifyError;

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
    pub(super) async fn post_json(
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
        let header = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
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
            retry_after_s: retry_hint(header.as_deref(), &body),
            answer: code_word(&body),
        })
    }
}

/// How long a refusing service asks to wait, in whole seconds (rounded up): its
/// `Retry-After` header, or its body's `retry_after` (Discord, in seconds, fractional) or
/// `parameters.retry_after` (Telegram).
fn retry_hint(header: Option<&str>, body: &[u8]) -> Option<u64> {
    let seconds = |v: f64| (v.is_finite() && v >= 0.0).then(|| v.ceil() as u64);
    if let Some(s) = header
        .and_then(|h| h.trim().parse::<f64>().ok())
        .and_then(seconds)
    {
        return Some(s);
    }
    let document: serde_json::Value = serde_json::from_slice(body).ok()?;
    document["retry_after"]
        .as_f64()
        .or_else(|| document["parameters"]["retry_after"].as_f64())
        .and_then(seconds)
}

/// An answer that is one code word (`invalid_blocks`), or nothing: any other text could
/// echo what was sent, and errors are logged and shown.
fn code_word(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let word =
        (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    word.then(|| text.to_owned())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_hint_is_read_from_the_header_or_the_services_body() {
        assert_eq!(retry_hint(Some("7"), b""), Some(7));
        assert_eq!(retry_hint(Some("1.2"), b""), Some(2));
        assert_eq!(
            retry_hint(None, br#"{"message": "You are being rate limited.", "retry_after": 0.35, "global": false}"#),
            Some(1)
        );
        assert_eq!(
            retry_hint(
                None,
                br#"{"ok": false, "error_code": 429, "parameters": {"retry_after": 14}}"#
            ),
            Some(14)
        );
        assert_eq!(retry_hint(Some("soon"), b"busy"), None);
        assert_eq!(retry_hint(None, br#"{"retry_after": -1}"#), None);
    }
}
