//! The HTTPS client every HTTP notifier sends through (reqwest over rustls with ring,
//! webpki roots), and what it makes of an answer: success, or a failure in words that
//! never include the URL.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};

use super::NotifyError;

/// A delivery attempt may take this long in all.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);
/// The most of an answer read: enough for a service's message, never a reason to wait
/// for more.
const ANSWER_BYTES: usize = 4_096;
/// The longest service message kept in an error.
const SAYS_MAX: usize = 200;
/// A word this long in a service's message that also appears in what was sent (the URL,
/// a header, the body) may be a secret echoed back: the message is then not kept.
const ECHO_MIN: usize = 12;

/// What a request carries.
pub(super) enum Body<'a> {
    Json(&'a serde_json::Value),
    /// `application/x-www-form-urlencoded` pairs.
    Form(&'a [(&'a str, String)]),
}

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
    pub async fn post_json(
        &self,
        url: &str,
        headers: &HeaderMap,
        body: &serde_json::Value,
    ) -> Result<(), NotifyError> {
        self.exchange(Method::POST, url, headers, Body::Json(body))
            .await
    }

    /// Sends `body` with `method`; success is any 2xx answer. A refusal keeps the
    /// service's own short message unless it repeats a long word of what was sent.
    pub(super) async fn exchange(
        &self,
        method: Method,
        url: &str,
        headers: &HeaderMap,
        body: Body<'_>,
    ) -> Result<(), NotifyError> {
        let (content_type, text) = match body {
            Body::Json(document) => ("application/json", document.to_string()),
            Body::Form(pairs) => (
                "application/x-www-form-urlencoded",
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
                    .finish(),
            ),
        };
        let mut sent = format!("{url} {text}");
        for value in headers.values() {
            sent.push(' ');
            sent.push_str(&String::from_utf8_lossy(value.as_bytes()));
        }
        let request = self
            .client
            .request(method, parse_url(url)?)
            .header(CONTENT_TYPE, content_type)
            .headers(headers.clone())
            .body(text);
        self.send(request, &sent).await
    }

    /// GETs a URL (the watchdog's ping); success is any 2xx answer.
    pub async fn get(&self, url: &str) -> Result<(), NotifyError> {
        self.send(self.client.get(parse_url(url)?), url).await
    }

    async fn send(&self, request: reqwest::RequestBuilder, sent: &str) -> Result<(), NotifyError> {
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
        let mut body = Vec::new();
        while body.len() < ANSWER_BYTES
            && let Ok(Some(chunk)) = response.chunk().await
        {
            body.extend_from_slice(&chunk);
        }
        Err(NotifyError::Status {
            status: status.as_u16(),
            retry_after_s: retry_hint(header.as_deref(), &body),
            answer: service_says(&body, sent),
        })
    }
}

/// How long a refusing service asks to wait, in whole seconds (rounded up): its
/// `Retry-After` header, or its body's `retry_after` (Discord, in seconds, fractional),
/// `parameters.retry_after` (Telegram) or `retry_after_ms` (Matrix).
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
        .or_else(|| document["retry_after_ms"].as_f64().map(|ms| ms / 1_000.0))
        .and_then(seconds)
}

/// What a refusing service said, in a few words: a code word (Slack's `invalid_blocks`), or
/// the message of its JSON error (`description`: Telegram; `error`: Matrix, ntfy;
/// `message`: Discord, PagerDuty, Opsgenie; `error.message`: Teams' workflows; `errors`:
/// Pushover, PagerDuty's details),
/// printable and cut to 200 characters. Nothing when a long word of it also appears in
/// `sent`: an answer that echoes a request may echo its secrets, and errors are logged and
/// shown.
fn service_says(body: &[u8], sent: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let word =
        (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    let says = if word {
        text.to_owned()
    } else {
        let document: serde_json::Value = serde_json::from_str(text).ok()?;
        let errors = document["errors"].as_array().map(|all| {
            all.iter()
                .filter_map(serde_json::Value::as_str)
                .collect::<Vec<_>>()
                .join("; ")
        });
        let main = ["description", "error", "message"]
            .iter()
            .find_map(|key| document[*key].as_str())
            .or_else(|| document["error"]["message"].as_str())
            .map(str::to_owned);
        match (main, errors.filter(|e| !e.is_empty())) {
            (Some(main), Some(errors)) => format!("{main}: {errors}"),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => return None,
        }
    };
    let says: String = says
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(SAYS_MAX)
        .collect();
    let echoes = says
        .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '-')
        .any(|w| w.len() >= ECHO_MIN && sent.contains(w));
    (!echoes && !says.trim().is_empty()).then(|| says.trim().to_owned())
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
        assert_eq!(
            retry_hint(
                None,
                br#"{"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 2500}"#
            ),
            Some(3)
        );
        assert_eq!(retry_hint(Some("soon"), b"busy"), None);
        assert_eq!(retry_hint(None, br#"{"retry_after": -1}"#), None);
    }

    #[test]
    fn a_services_message_is_kept_unless_it_echoes_what_was_sent() {
        assert_eq!(
            service_says(b"invalid_blocks", "").as_deref(),
            Some("invalid_blocks")
        );
        assert_eq!(
            service_says(
                br#"{"ok": false, "error_code": 400, "description": "Bad Request: chat not found"}"#,
                "https://api.telegram.org/bot123:SECRETSECRETSECRET/sendMessage"
            )
            .as_deref(),
            Some("Bad Request: chat not found")
        );
        assert_eq!(
            service_says(
                br#"{"status": "invalid event", "message": "Event object is invalid", "errors": ["Length of 'routing_key' is incorrect"]}"#,
                ""
            )
            .as_deref(),
            Some("Event object is invalid: Length of 'routing_key' is incorrect")
        );
        let echo = br#"{"message": "unknown key R0ut1ngK3yS3cr3t0123"}"#;
        assert_eq!(
            service_says(echo, r#"{"routing_key":"R0ut1ngK3yS3cr3t0123"}"#),
            None
        );
        assert_eq!(service_says(b"<html>Bad Gateway</html>", ""), None);
    }
}
