//! `kind = "slack"`: a Slack incoming webhook, with a coloured attachment of blocks within
//! Slack's documented limits, every outside text escaped for mrkdwn, and one plain-text
//! retry when Slack refuses a payload for its form.

use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::HttpClient;
use super::kinds::{Channel, webhook_url_problems, webhook_url_values};
use super::render::{cut_to, fit_lines, message_colour, pack_lines, text, title_within};
use super::{AlertMessage, Notifier, NotifyError, SendFuture};
use crate::domain::{AlertKind, Secret, Timestamp};

/// Slack's documented limits: a header's text, a section's text, blocks in a message.
pub const SLACK_HEADER_MAX: usize = 150;
pub const SLACK_SECTION_MAX: usize = 3_000;
pub const SLACK_BLOCKS_MAX: usize = 50;

/// `kind = "slack"`: a Slack incoming webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSettings {
    pub webhook_url: Secret,
}

impl Channel for SlackSettings {
    fn values_mut(&mut self) -> Vec<(String, &mut String)> {
        webhook_url_values(&mut self.webhook_url)
    }

    fn problems(&self) -> Vec<(String, String)> {
        webhook_url_problems(&self.webhook_url)
    }

    fn notifier(&self, client: &HttpClient) -> Result<Arc<dyn Notifier>, NotifyError> {
        Ok(Arc::new(SlackNotifier::new(client.clone(), self)))
    }
}

/// Slack's answers that refuse a payload for its form, where a plainer one can pass.
const SLACK_FORM_REFUSALS: [&str; 5] = [
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_too_long",
    "invalid_attachments",
    "too_many_attachments",
];

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
            let body = payload(message, now);
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
                    let minimal = minimal(message, now);
                    self.client
                        .post_json(&self.webhook_url, &none, &minimal)
                        .await
                }
                other => other,
            }
        })
    }
}

/// `text` made inert for Slack's mrkdwn: `&`, `<` and `>` escaped as Slack asks, so no text
/// a target or a job wrote (a cause, a banner, a `Location`, a `/fail` body) can mention
/// `@channel` or disguise a link. Every fact of the body is plain words, so all of it is
/// escaped.
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            other => out.push(other),
        }
    }
    out
}

/// A Slack incoming-webhook payload: a fallback `text` and a coloured attachment of blocks,
/// within Slack's limits (header 150, section 3,000 characters, 50 blocks).
pub fn payload(message: &AlertMessage, now: Timestamp) -> Value {
    let title = title_within(message, SLACK_HEADER_MAX);
    let lines: Vec<String> = text(message, now).lines().map(escaped).collect();
    // A digest or a group lists every alert: its lines fill as many sections as needed.
    let sections = if matches!(message.kind, AlertKind::Digest | AlertKind::Group) {
        pack_lines(&lines, SLACK_SECTION_MAX, SLACK_BLOCKS_MAX - 2)
    } else {
        vec![fit_lines(&lines, SLACK_SECTION_MAX)]
    };
    let mut blocks = vec![json!({"type": "header", "text": {"type": "plain_text", "text": title}})];
    blocks.extend(
        sections
            .into_iter()
            .map(|body| json!({"type": "section", "text": {"type": "mrkdwn", "text": body}})),
    );
    let buttons: Vec<Value> = [
        ("Open the check", &message.link),
        ("Acknowledge", &message.ack_link),
    ]
    .into_iter()
    .filter_map(|(label, url)| {
        url.as_ref().map(|url| {
                json!({"type": "button", "text": {"type": "plain_text", "text": label}, "url": url})
            })
    })
    .collect();
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    blocks.truncate(SLACK_BLOCKS_MAX);
    json!({
        "text": format!("{}: {}", escaped(&title), lines.first().map_or("", |l| l.as_str())),
        "attachments": [{"color": message_colour(message), "blocks": blocks}],
    })
}

/// The plainest Slack payload: the title and the first line as `text`, no blocks. Sent once
/// when Slack refuses the full one for its form (`invalid_blocks`, `msg_too_long`), so an
/// alert still arrives.
pub fn minimal(message: &AlertMessage, now: Timestamp) -> Value {
    let first = text(message, now)
        .lines()
        .next()
        .map(escaped)
        .unwrap_or_default();
    let line = format!(
        "{}: {first}",
        escaped(&title_within(message, SLACK_HEADER_MAX))
    );
    json!({"text": cut_to(&line, SLACK_SECTION_MAX)})
}
