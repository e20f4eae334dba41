//! `kind = "opsgenie"`: Opsgenie's Alert API v2 with a `GenieKey`. A DOWN creates an alert
//! whose `alias` is the incident (see `incident`), so Opsgenie folds a repeated delivery
//! into the open alert; an acknowledgement acknowledges it and a RECOVERED closes it. The
//! message keeps Opsgenie's 130 characters, the description carries the rest as plain
//! text.

use std::sync::Arc;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::HttpClient;
use super::incident::{IncidentStep, Step, is_urgent, is_warning, steps};
use super::kinds::{Channel, http_url_problem};
use super::render::{cut_to, fit_lines, text, title_within};
use super::{AlertMessage, Notifier, NotifyError, SendFuture};
use crate::domain::{Secret, Timestamp};

/// Opsgenie's limits: an alert's message, its description, a tag and the number of tags.
const MESSAGE_MAX: usize = 130;
const DESCRIPTION_MAX: usize = 15_000;
const TAG_MAX: usize = 50;
const TAGS_MOST: usize = 20;

/// `kind = "opsgenie"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieSettings {
    /// The API key of an API integration.
    pub api_key: Secret,
    /// `us` (api.opsgenie.com, default) or `eu` (api.eu.opsgenie.com).
    #[serde(default)]
    pub region: Region,
    /// Overrides the region's address (a proxy, a test).
    pub base_url: Option<String>,
    /// The priority of a DOWN, a reminder and an escalation (default `P1`); warnings go at
    /// `P3`, anything else at `P5`.
    #[serde(default)]
    pub priority: Priority,
}

/// Where an Opsgenie account lives.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    #[default]
    Us,
    Eu,
}

/// Opsgenie's priorities.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub enum Priority {
    #[default]
    P1,
    P2,
    P3,
    P4,
    P5,
}

impl Priority {
    fn as_str(self) -> &'static str {
        match self {
            Self::P1 => "P1",
            Self::P2 => "P2",
            Self::P3 => "P3",
            Self::P4 => "P4",
            Self::P5 => "P5",
        }
    }
}

impl OpsgenieSettings {
    fn base_url(&self) -> String {
        match (&self.base_url, self.region) {
            (Some(url), _) => url.trim_end_matches('/').to_owned(),
            (None, Region::Us) => "https://api.opsgenie.com".to_owned(),
            (None, Region::Eu) => "https://api.eu.opsgenie.com".to_owned(),
        }
    }
}

impl Channel for OpsgenieSettings {
    fn values_mut(&mut self) -> Vec<(String, &mut String)> {
        let mut values = vec![("api_key".to_owned(), self.api_key.expose_mut())];
        if let Some(url) = &mut self.base_url {
            values.push(("base_url".to_owned(), url));
        }
        values
    }

    fn problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = self
            .base_url
            .as_deref()
            .and_then(|url| http_url_problem("base_url", url))
            .into_iter()
            .collect();
        let key = self.api_key.expose();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            problems.push((
                "api_key".to_owned(),
                "must be an API integration's key (letters, digits and '-')".to_owned(),
            ));
        }
        problems
    }

    fn notifier(&self, client: &HttpClient) -> Result<Arc<dyn Notifier>, NotifyError> {
        let mut key = HeaderValue::from_str(&format!("GenieKey {}", self.api_key.expose()))
            .map_err(|_| NotifyError::Config("the API key is invalid".to_owned()))?;
        key.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, key);
        Ok(Arc::new(OpsgenieNotifier {
            client: client.clone(),
            alerts: format!("{}/v2/alerts", self.base_url()),
            headers,
            priority: self.priority,
        }))
    }
}

/// Creates, acknowledges and closes alerts of one Opsgenie integration.
pub struct OpsgenieNotifier {
    client: HttpClient,
    alerts: String,
    headers: HeaderMap,
    priority: Priority,
}

impl Notifier for OpsgenieNotifier {
    fn send<'a>(&'a self, message: &'a AlertMessage, now: Timestamp) -> SendFuture<'a> {
        Box::pin(async move {
            for step in steps(message) {
                let (url, full) = self.request(&step, now);
                match self.client.post_json(&url, &self.headers, &full).await {
                    Ok(()) => {}
                    // 422: Opsgenie could not process the document; once more, plainly.
                    Err(NotifyError::Status { status: 422, .. }) if step.step == Step::Open => {
                        tracing::warn!("Opsgenie refused the alert's form; sending it plainly");
                        let minimal = json!({
                            "message": title_within(step.message, MESSAGE_MAX),
                            "alias": step.key,
                        });
                        self.client.post_json(&url, &self.headers, &minimal).await?;
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
    }
}

impl OpsgenieNotifier {
    /// Where a step goes and what it carries.
    fn request(&self, step: &IncidentStep<'_>, now: Timestamp) -> (String, Value) {
        let alias: String = url::form_urlencoded::byte_serialize(step.key.as_bytes()).collect();
        match step.step {
            Step::Open => (
                self.alerts.clone(),
                alert(self.priority, step.message, &step.key, now),
            ),
            Step::Acknowledge => (
                format!("{}/{alias}/acknowledge?identifierType=alias", self.alerts),
                json!({"source": "stackwatch", "note": ack_note(step.message)}),
            ),
            Step::Close => (
                format!("{}/{alias}/close?identifierType=alias", self.alerts),
                json!({"source": "stackwatch", "note": cut_to(text(step.message, now).lines().next().unwrap_or_default(), 1_000)}),
            ),
        }
    }
}

fn ack_note(message: &AlertMessage) -> String {
    match &message.facts.acked_by {
        Some(who) => cut_to(&format!("Acknowledged in stackwatch by {who}"), 1_000),
        None => "Acknowledged in stackwatch".to_owned(),
    }
}

/// The create request of `message` under `alias`.
pub fn alert(urgent: Priority, message: &AlertMessage, alias: &str, now: Timestamp) -> Value {
    let body = text(message, now);
    let lines: Vec<String> = body.lines().map(str::to_owned).collect();
    let priority = if is_urgent(message) {
        urgent
    } else if is_warning(message) {
        Priority::P3
    } else {
        Priority::P5
    };
    let f = &message.facts;
    let mut tags: Vec<String> = vec!["stackwatch".to_owned(), message.kind.as_str().to_owned()];
    tags.extend(f.stack.iter().map(|s| format!("stack:{s}")));
    tags.extend(f.tags.iter().cloned());
    tags.truncate(TAGS_MOST);
    let tags: Vec<String> = tags.iter().map(|t| cut_to(t, TAG_MAX)).collect();
    let mut details = json!({"url": f.url});
    for (key, value) in [
        ("stack", &f.stack),
        ("cause", &f.cause),
        ("locations", &f.locations),
    ] {
        if let Some(value) = value {
            details[key] = cut_to(value, 1_000).into();
        }
    }
    if let Some(link) = &message.link {
        details["link"] = link.as_str().into();
    }
    if let Some(ack) = &message.ack_link {
        details["acknowledge"] = ack.as_str().into();
    }
    json!({
        "message": cut_to(lines.first().map_or("", String::as_str), MESSAGE_MAX),
        "alias": alias,
        "description": fit_lines(&lines, DESCRIPTION_MAX),
        "tags": tags,
        "details": details,
        "entity": cut_to(&message.check, 512),
        "source": "stackwatch",
        "priority": priority.as_str(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertFacts, AlertKind};

    #[test]
    fn the_message_fits_130_and_the_description_has_the_rest() {
        let message = AlertMessage {
            alert_id: 1,
            check: "acme-web".to_owned(),
            kind: AlertKind::Down,
            facts: AlertFacts {
                url: "https://acme.example/".to_owned(),
                cause: Some("a very long cause ".repeat(20)),
                down_since: Some(Timestamp(1)),
                ..AlertFacts::default()
            },
            created_at: Timestamp(2),
            link: None,
            held: Vec::new(),
            ack_link: None,
        };
        let created = alert(
            Priority::P2,
            &message,
            "stackwatch/acme-web/1",
            Timestamp(3),
        );
        let text = created["message"].as_str().unwrap();
        assert!(text.chars().count() <= MESSAGE_MAX, "{text}");
        assert!(text.starts_with("acme-web is DOWN: a very long cause"));
        assert!(
            created["description"]
                .as_str()
                .unwrap()
                .contains(&"a very long cause ".repeat(20))
        );
        assert_eq!(created["priority"], "P2");
        assert_eq!(created["alias"], "stackwatch/acme-web/1");
    }
}
