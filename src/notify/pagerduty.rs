//! `kind = "pagerduty"`: PagerDuty's Events API v2. A DOWN triggers, an acknowledgement
//! acknowledges and a RECOVERED resolves the alert whose `dedup_key` is the incident (see
//! `incident`), so a delivery repeated after a crash is deduplicated by PagerDuty. The
//! summary is the alert's first line within PagerDuty's 1,024 characters; the rest goes in
//! `custom_details`, which PagerDuty shows as data, never as markup.

use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::HttpClient;
use super::incident::{IncidentStep, Step, is_urgent, is_warning, steps};
use super::kinds::{Channel, http_url_problem};
use super::render::{cut_to, text, title_within};
use super::{AlertMessage, Notifier, NotifyError, SendFuture};
use crate::domain::{Secret, Timestamp};

/// PagerDuty's limit on a summary, in characters.
const SUMMARY_MAX: usize = 1_024;

/// `kind = "pagerduty"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutySettings {
    /// The integration key of an Events API v2 integration of a PagerDuty service.
    pub routing_key: Secret,
    /// The severity of a DOWN, a reminder and an escalation (default `critical`); a
    /// certificate or flapping warning is `warning`, anything else `info`.
    #[serde(default)]
    pub severity: Severity,
    /// Where the Events API answers (`https://events.pagerduty.com`).
    #[serde(default = "events_pagerduty")]
    pub base_url: String,
}

/// PagerDuty's severities.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Critical,
    Error,
    Warning,
    Info,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

fn events_pagerduty() -> String {
    "https://events.pagerduty.com".to_owned()
}

impl Channel for PagerDutySettings {
    fn values_mut(&mut self) -> Vec<(String, &mut String)> {
        vec![
            ("routing_key".to_owned(), self.routing_key.expose_mut()),
            ("base_url".to_owned(), &mut self.base_url),
        ]
    }

    fn problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = http_url_problem("base_url", &self.base_url)
            .into_iter()
            .collect();
        let key = self.routing_key.expose();
        if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            problems.push((
                "routing_key".to_owned(),
                "must be an integration key: 32 letters and digits".to_owned(),
            ));
        }
        problems
    }

    fn notifier(&self, client: &HttpClient) -> Result<Arc<dyn Notifier>, NotifyError> {
        Ok(Arc::new(PagerDutyNotifier {
            client: client.clone(),
            url: format!("{}/v2/enqueue", self.base_url.trim_end_matches('/')),
            routing_key: self.routing_key.expose().to_owned(),
            severity: self.severity,
        }))
    }
}

/// Sends events to one PagerDuty service.
pub struct PagerDutyNotifier {
    client: HttpClient,
    url: String,
    routing_key: String,
    severity: Severity,
}

impl Notifier for PagerDutyNotifier {
    fn send<'a>(&'a self, message: &'a AlertMessage, now: Timestamp) -> SendFuture<'a> {
        Box::pin(async move {
            let none = HeaderMap::new();
            for step in steps(message) {
                let full = event(&self.routing_key, self.severity, &step, now);
                match self.client.post_json(&self.url, &none, &full).await {
                    Ok(()) => {}
                    // An unknown key is a 400 naming it: sending again cannot help.
                    Err(NotifyError::Status {
                        status: 400,
                        answer,
                        ..
                    }) if !answer.as_deref().is_some_and(names_the_key) => {
                        tracing::warn!("PagerDuty refused the event's form; sending it plainly");
                        let minimal = minimal(&self.routing_key, &step);
                        self.client.post_json(&self.url, &none, &minimal).await?;
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
    }
}

fn names_the_key(answer: &str) -> bool {
    let answer = answer.to_ascii_lowercase();
    answer.contains("routing key") || answer.contains("routing_key")
}

fn action(step: Step) -> &'static str {
    match step {
        Step::Open => "trigger",
        Step::Acknowledge => "acknowledge",
        Step::Close => "resolve",
    }
}

/// The Events API v2 event of one step.
pub fn event(
    routing_key: &str,
    urgent: Severity,
    step: &IncidentStep<'_>,
    now: Timestamp,
) -> Value {
    let message = step.message;
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": action(step.step),
        "dedup_key": step.key,
    });
    if step.step != Step::Open {
        return event;
    }
    let body = text(message, now);
    let severity = if is_urgent(message) {
        urgent
    } else if is_warning(message) {
        Severity::Warning
    } else {
        Severity::Info
    };
    let f = &message.facts;
    let mut details = json!({"text": body, "url": f.url});
    for (key, value) in [
        ("stack", &f.stack),
        ("cause", &f.cause),
        ("locations", &f.locations),
    ] {
        if let Some(value) = value {
            details[key] = value.as_str().into();
        }
    }
    if !f.impacted.is_empty() {
        details["impacted"] = json!(f.impacted);
    }
    event["payload"] = json!({
        "summary": cut_to(body.lines().next().unwrap_or_default(), SUMMARY_MAX),
        "source": source(message),
        "severity": severity.as_str(),
        "timestamp": message.created_at.to_rfc3339(),
        "component": message.check,
        "class": message.kind.as_str(),
        "custom_details": details,
    });
    if let Some(stack) = &f.stack {
        event["payload"]["group"] = stack.as_str().into();
    }
    event["client"] = "stackwatch".into();
    let mut links = Vec::new();
    if let Some(link) = &message.link {
        event["client_url"] = link.as_str().into();
        links.push(json!({"href": link, "text": "The check in stackwatch"}));
    }
    if let Some(ack) = &message.ack_link {
        links.push(json!({"href": ack, "text": "Acknowledge in stackwatch"}));
    }
    if !links.is_empty() {
        event["links"] = links.into();
    }
    event
}

/// The host the check probes, or `stackwatch` for an alert about no target.
fn source(message: &AlertMessage) -> String {
    url::Url::parse(&message.facts.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .or_else(|| {
            let address = message.facts.url.trim();
            (!address.is_empty()).then(|| cut_to(address, 255))
        })
        .unwrap_or_else(|| "stackwatch".to_owned())
}

/// The plainest event of a step: what PagerDuty requires and nothing else.
fn minimal(routing_key: &str, step: &IncidentStep<'_>) -> Value {
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": action(step.step),
        "dedup_key": step.key,
    });
    if step.step == Step::Open {
        event["payload"] = json!({
            "summary": title_within(step.message, SUMMARY_MAX),
            "source": "stackwatch",
            "severity": "critical",
        });
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertFacts, AlertKind};

    #[test]
    fn a_down_triggers_with_its_facts_and_a_recovery_resolves_by_the_same_key() {
        let mut message = AlertMessage {
            alert_id: 1,
            check: "acme-web".to_owned(),
            kind: AlertKind::Down,
            facts: AlertFacts {
                stack: Some("acme".to_owned()),
                url: "https://acme.example/health".to_owned(),
                cause: Some("x".repeat(3_000)),
                down_since: Some(Timestamp(7_000)),
                ..AlertFacts::default()
            },
            created_at: Timestamp(8_000),
            link: Some("https://stackwatch.example/checks/acme-web".to_owned()),
            held: Vec::new(),
            ack_link: None,
        };
        let step = &steps(&message)[0];
        let down = event("k", Severity::Error, step, Timestamp(9_000));
        assert_eq!(down["event_action"], "trigger");
        assert_eq!(down["dedup_key"], "stackwatch/acme-web/7000");
        assert_eq!(down["payload"]["severity"], "error");
        assert_eq!(down["payload"]["source"], "acme.example");
        assert_eq!(down["payload"]["group"], "acme");
        let summary = down["payload"]["summary"].as_str().unwrap();
        assert!(summary.chars().count() <= SUMMARY_MAX);
        assert!(summary.starts_with("acme-web (stack acme) is DOWN: xxx"));
        message.kind = AlertKind::Recovered;
        let step = &steps(&message)[0];
        let up = event("k", Severity::Error, step, Timestamp(9_000));
        assert_eq!(
            up,
            json!({"routing_key": "k", "event_action": "resolve",
                "dedup_key": "stackwatch/acme-web/7000"})
        );
    }
}
