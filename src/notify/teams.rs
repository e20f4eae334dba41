//! `kind = "teams"`: a Microsoft Teams channel through a Workflows (Power Automate)
//! webhook, "When a Teams webhook request is received", posting an Adaptive Card. Every
//! text is a `TextRun` of a `RichTextBlock`, which Teams renders without Markdown, so a
//! target's text stays text. The retired Office 365 connector format (`MessageCard`) is
//! not used.

use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::HttpClient;
use super::kinds::{Channel, webhook_url_problems, webhook_url_values};
use super::render::{fit_lines, text, title_within};
use super::{AlertMessage, Notifier, NotifyError, SendFuture};
use crate::domain::{AlertKind, Health, Secret, Timestamp};

/// Characters of body in a card: the whole request stays within the 28 KB Teams takes.
const BODY_MAX: usize = 6_000;

/// `kind = "teams"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsSettings {
    /// The workflow's webhook URL (it carries a signature: a secret).
    pub webhook_url: Secret,
}

impl Channel for TeamsSettings {
    fn values_mut(&mut self) -> Vec<(String, &mut String)> {
        webhook_url_values(&mut self.webhook_url)
    }

    fn problems(&self) -> Vec<(String, String)> {
        webhook_url_problems(&self.webhook_url)
    }

    fn notifier(&self, client: &HttpClient) -> Result<Arc<dyn Notifier>, NotifyError> {
        Ok(Arc::new(TeamsNotifier {
            client: client.clone(),
            url: self.webhook_url.expose().to_owned(),
        }))
    }
}

/// Posts cards to one workflow.
pub struct TeamsNotifier {
    client: HttpClient,
    url: String,
}

impl Notifier for TeamsNotifier {
    fn send<'a>(&'a self, message: &'a AlertMessage, now: Timestamp) -> SendFuture<'a> {
        Box::pin(async move {
            let none = HeaderMap::new();
            match self
                .client
                .post_json(&self.url, &none, &payload(message, now))
                .await
            {
                Err(NotifyError::Status { status: 400, .. }) => {
                    tracing::warn!("Teams refused the card; sending it once plainly");
                    let first = text(message, now)
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let plain = card(
                        vec![
                            run_block(&title_within(message, 250), true, None),
                            run_block(&first, false, None),
                        ],
                        Vec::new(),
                    );
                    self.client.post_json(&self.url, &none, &plain).await
                }
                other => other,
            }
        })
    }
}

/// A `RichTextBlock` of one `TextRun`: text Teams shows as written.
fn run_block(text: &str, title: bool, colour: Option<&str>) -> Value {
    let mut run = json!({"type": "TextRun", "text": text});
    if title {
        run["weight"] = "bolder".into();
        run["size"] = "medium".into();
    }
    if let Some(colour) = colour {
        run["color"] = colour.into();
    }
    json!({"type": "RichTextBlock", "inlines": [run]})
}

/// The message a workflow posts: one Adaptive Card.
fn card(body: Vec<Value>, actions: Vec<Value>) -> Value {
    let mut content = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    });
    if !actions.is_empty() {
        content["actions"] = actions.into();
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": content,
        }],
    })
}

/// The card's colour for the title: red for DOWN, green for RECOVERED, yellow otherwise.
fn colour(message: &AlertMessage) -> &'static str {
    match (message.kind, message.facts.health) {
        (AlertKind::Down | AlertKind::Escalated | AlertKind::Offline, _) => "attention",
        (AlertKind::Recovered | AlertKind::Online, _) => "good",
        (AlertKind::Group | AlertKind::Settled, Some(Health::Up)) => "good",
        (AlertKind::Group | AlertKind::Settled, _) => "attention",
        _ => "warning",
    }
}

/// The workflow's request for `message`.
pub fn payload(message: &AlertMessage, now: Timestamp) -> Value {
    let lines: Vec<String> = text(message, now).lines().map(str::to_owned).collect();
    let body = fit_lines(&lines, BODY_MAX);
    let mut blocks = vec![run_block(
        &title_within(message, 250),
        true,
        Some(colour(message)),
    )];
    blocks.extend(body.lines().map(|line| run_block(line, false, None)));
    let mut actions = Vec::new();
    if let Some(link) = &message.link {
        actions.push(json!({"type": "Action.OpenUrl", "title": "Open in stackwatch", "url": link}));
    }
    if let Some(ack) = &message.ack_link {
        actions.push(json!({"type": "Action.OpenUrl", "title": "Acknowledge", "url": ack}));
    }
    card(blocks, actions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AlertFacts;

    #[test]
    fn every_text_is_a_text_run_and_the_links_are_actions() {
        let message = AlertMessage {
            alert_id: 1,
            check: "acme-web".to_owned(),
            kind: AlertKind::Down,
            facts: AlertFacts {
                cause: Some("**bold** [x](https://evil.example)".to_owned()),
                ..AlertFacts::default()
            },
            created_at: Timestamp(0),
            link: Some("https://stackwatch.example/checks/acme-web".to_owned()),
            held: Vec::new(),
            ack_link: None,
        };
        let sent = payload(&message, Timestamp(0));
        let content = &sent["attachments"][0]["content"];
        assert_eq!(content["type"], "AdaptiveCard");
        for block in content["body"].as_array().unwrap() {
            assert_eq!(block["type"], "RichTextBlock");
            assert_eq!(block["inlines"][0]["type"], "TextRun");
        }
        assert_eq!(content["body"][0]["inlines"][0]["color"], "attention");
        assert_eq!(
            content["body"][1]["inlines"][0]["text"],
            "acme-web is DOWN: **bold** [x](https://evil.example)."
        );
        assert_eq!(
            content["actions"][0]["url"],
            "https://stackwatch.example/checks/acme-web"
        );
    }
}
