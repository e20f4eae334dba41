//! `kind = "webhook"`: a POST of the alert as the JSON document the README documents,
//! with optional headers whose values are secrets.

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::HttpClient;
use super::kinds::{Channel, http_url_problem};
use super::render::{text, title};
use super::{AlertMessage, Notifier, NotifyError, SendFuture};
use crate::domain::{Secret, Timestamp};

/// `kind = "webhook"`: a POST of the alert as JSON.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub url: Secret,
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
}

impl Channel for WebhookSettings {
    fn values_mut(&mut self) -> Vec<(String, &mut String)> {
        let mut values = vec![("url".to_owned(), self.url.expose_mut())];
        for (header, value) in &mut self.headers {
            values.push((format!("headers.{header}"), value.expose_mut()));
        }
        values
    }

    fn problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = http_url_problem("url", self.url.expose())
            .into_iter()
            .collect();
        for (header, value) in &self.headers {
            if HeaderName::from_bytes(header.as_bytes()).is_err()
                || HeaderValue::from_str(value.expose()).is_err()
            {
                problems.push((format!("headers.{header}"), "not a valid header".to_owned()));
            }
        }
        problems
    }

    fn notifier(&self, client: &HttpClient) -> Result<Arc<dyn Notifier>, NotifyError> {
        Ok(Arc::new(WebhookNotifier::new(client.clone(), self)))
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

fn header_pairs(headers: &BTreeMap<String, Secret>) -> HeaderMap {
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
            let body = document(message, now);
            self.client.post_json(&self.url, &self.headers, &body).await
        })
    }
}
/// The webhook's JSON document (documented in the README).
pub fn document(message: &AlertMessage, now: Timestamp) -> Value {
    let f = &message.facts;
    let mut shaped = json!({
        "event": message.kind.as_str(),
        "alert_id": message.alert_id,
        "check": message.check,
        "stack": f.stack,
        "url": f.url,
        "cause": f.cause,
        "locations": f.locations,
        "location": f.location,
        "down_since": f.down_since.map(Timestamp::to_rfc3339),
        "downtime_s": f.downtime_s,
        "degraded_since": f.degraded_since.map(Timestamp::to_rfc3339),
        "response_ms": f.response_ms,
        "degraded_after_ms": f.degraded_after_ms,
        "cert_expires_at": f.cert_not_after.map(Timestamp::to_rfc3339),
        "cert_of": f.cert_of,
        "domain_expires_at": f.domain_expires_at.map(Timestamp::to_rfc3339),
        "changes": f.changes,
        "window_s": f.window_s,
        "health": f.health,
        "acked_by": f.acked_by,
        "note": f.note,
        "impacted": f.impacted,
        "tags": f.tags,
        "created_at": message.created_at.to_rfc3339(),
        "link": message.link,
        "ack_link": message.ack_link,
        "title": title(message),
        "text": text(message, now),
    });
    if !message.held.is_empty() {
        shaped["held"] = message.held.iter().map(|h| document(h, now)).collect();
    }
    shaped
}
