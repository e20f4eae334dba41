//! `kind = "discord"`: a Discord webhook with an embed (title, description, colour, link),
//! within Discord's documented limits, mentions switched off so no text can ping
//! `@everyone`, and Markdown in outside text escaped. One plain retry when Discord refuses
//! the payload's form (400).

use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::HttpClient;
use super::kinds::{Channel, webhook_url_problems, webhook_url_values};
use super::render::{cut_to, fit_lines, message_colour, pack_lines, text, title_within};
use super::{AlertMessage, Notifier, NotifyError, SendFuture};
use crate::domain::{AlertKind, Secret, Timestamp};

/// Discord's documented limits: a message's content, an embed's title and description,
/// and every embed's text together.
pub const CONTENT_MAX: usize = 2_000;
pub const EMBED_TITLE_MAX: usize = 256;
pub const EMBED_DESCRIPTION_MAX: usize = 4_096;
pub const EMBEDS_TEXT_MAX: usize = 6_000;

/// `kind = "discord"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordSettings {
    /// The webhook's URL (`https://discord.com/api/webhooks/ID/TOKEN`): a secret.
    pub webhook_url: Secret,
}

impl Channel for DiscordSettings {
    fn values_mut(&mut self) -> Vec<(String, &mut String)> {
        webhook_url_values(&mut self.webhook_url)
    }

    fn problems(&self) -> Vec<(String, String)> {
        webhook_url_problems(&self.webhook_url)
    }

    fn notifier(&self, client: &HttpClient) -> Result<Arc<dyn Notifier>, NotifyError> {
        let mut url = url::Url::parse(self.webhook_url.expose())
            .map_err(|_| NotifyError::Config("the URL is invalid".to_owned()))?;
        // Discord answers the created message (and its errors) only when asked to wait.
        url.query_pairs_mut().append_pair("wait", "true");
        Ok(Arc::new(DiscordNotifier {
            client: client.clone(),
            url: url.to_string(),
        }))
    }
}

/// Posts to one Discord webhook.
pub struct DiscordNotifier {
    client: HttpClient,
    url: String,
}

impl Notifier for DiscordNotifier {
    fn send<'a>(&'a self, message: &'a AlertMessage, now: Timestamp) -> SendFuture<'a> {
        Box::pin(async move {
            let none = HeaderMap::new();
            match self
                .client
                .post_json(&self.url, &none, &payload(message, now))
                .await
            {
                Err(NotifyError::Status { status: 400, .. }) => {
                    tracing::warn!("Discord refused the alert's form; sending it once plainly");
                    let minimal = minimal(message, now);
                    self.client.post_json(&self.url, &none, &minimal).await
                }
                other => other,
            }
        })
    }
}

/// `text` (one line) inert in Discord's Markdown: inline markup, links, mentions and
/// timestamps escaped with a backslash, and a heading, quote or list mark at its start, so
/// a target's text can neither format, ping nor disguise a link.
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    if text.starts_with(['#', '>', '-']) {
        out.push('\\');
    }
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '(' | ')' | '<' | '@'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A webhook payload: the title as content, an embed with the body, no mentions.
pub fn payload(message: &AlertMessage, now: Timestamp) -> Value {
    let title = title_within(message, EMBED_TITLE_MAX);
    let lines: Vec<String> = text(message, now).lines().map(escaped).collect();
    let description = if matches!(message.kind, AlertKind::Digest | AlertKind::Group) {
        pack_lines(&lines, EMBED_DESCRIPTION_MAX, 1).concat()
    } else {
        fit_lines(&lines, EMBED_DESCRIPTION_MAX)
    };
    // Every embed's text together stays within Discord's total.
    let description = cut_to(
        &description,
        EMBEDS_TEXT_MAX.saturating_sub(title.chars().count()),
    );
    let colour = u32::from_str_radix(message_colour(message).trim_start_matches('#'), 16)
        .unwrap_or_default();
    let mut embed = json!({
        "title": escaped(&title),
        "description": description,
        "color": colour,
    });
    if let Some(link) = &message.link {
        embed["url"] = link.as_str().into();
    }
    if let Some(ack) = &message.ack_link {
        embed["fields"] =
            json!([{"name": "Acknowledge", "value": format!("[stop the reminders]({ack})")}]);
    }
    json!({
        "content": cut_to(&escaped(&title), CONTENT_MAX),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    })
}

/// The plainest payload: the title and the first line as content.
fn minimal(message: &AlertMessage, now: Timestamp) -> Value {
    let first = text(message, now)
        .lines()
        .next()
        .map(escaped)
        .unwrap_or_default();
    let line = format!(
        "{}\n{first}",
        escaped(&title_within(message, EMBED_TITLE_MAX))
    );
    json!({
        "content": cut_to(&line, CONTENT_MAX),
        "allowed_mentions": {"parse": []},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AlertFacts;

    fn message(cause: &str) -> AlertMessage {
        AlertMessage {
            alert_id: 1,
            check: "acme-web".to_owned(),
            kind: AlertKind::Down,
            facts: AlertFacts {
                cause: Some(cause.to_owned()),
                url: "https://acme.example/".to_owned(),
                ..AlertFacts::default()
            },
            created_at: Timestamp(0),
            link: None,
            held: Vec::new(),
            ack_link: None,
        }
    }

    #[test]
    fn outside_text_cannot_mention_or_format_and_everything_fits() {
        let hostile = "@everyone **look** [here](https://evil.example) <@123> ".repeat(200);
        let body = payload(&message(&hostile), Timestamp(0));
        assert_eq!(body["allowed_mentions"], json!({"parse": []}));
        let description = body["embeds"][0]["description"].as_str().unwrap();
        assert!(!description.contains(" @everyone"), "{description}");
        assert!(description.contains("\\@everyone \\*\\*look\\*\\* \\[here\\]"));
        assert!(description.chars().count() <= EMBED_DESCRIPTION_MAX);
        assert!(body["content"].as_str().unwrap().chars().count() <= CONTENT_MAX);
        assert_eq!(body["embeds"][0]["title"], "\\[DOWN\\] acme-web");
        assert_eq!(escaped("# not a heading"), "\\# not a heading");
        assert_eq!(body["embeds"][0]["color"], 0xd9_2b2b);
    }
}
