//! `kind = "telegram"`: the Bot API's `sendMessage` to a chat (and a topic of it), in
//! HTML parse mode with every outside text escaped, within Telegram's 4,096 characters
//! of text. One plain retry when Telegram cannot parse the text; a 429 waits for
//! Telegram's `parameters.retry_after`.

use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::HttpClient;
use super::kinds::{Channel, http_url_problem};
use super::render::{cut_to, fit_lines, html_escaped as escaped, text, title_within};
use super::{AlertMessage, Notifier, NotifyError, SendFuture};
use crate::domain::{Secret, Timestamp};

/// Telegram's limit on a message's text, in characters after its markup is parsed.
pub const TEXT_MAX: usize = 4_096;

/// `kind = "telegram"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    /// The bot's token from @BotFather (`123456:ABC…`).
    pub bot_token: Secret,
    /// The chat: its id (`-1001234567890`) or a public channel's `@name`.
    pub chat_id: String,
    /// A topic of a forum chat.
    pub message_thread_id: Option<i64>,
    /// Where the Bot API answers (`https://api.telegram.org`).
    #[serde(default = "api_telegram")]
    pub base_url: String,
}

fn api_telegram() -> String {
    "https://api.telegram.org".to_owned()
}

impl Channel for TelegramSettings {
    fn values_mut(&mut self) -> Vec<(String, &mut String)> {
        vec![
            ("bot_token".to_owned(), self.bot_token.expose_mut()),
            ("chat_id".to_owned(), &mut self.chat_id),
            ("base_url".to_owned(), &mut self.base_url),
        ]
    }

    fn problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = http_url_problem("base_url", &self.base_url)
            .into_iter()
            .collect();
        let token = self.bot_token.expose();
        let token_ok = token.split_once(':').is_some_and(|(id, secret)| {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && !secret.is_empty()
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        if !token_ok {
            problems.push((
                "bot_token".to_owned(),
                "must be a bot token: digits, ':', then letters, digits, '_' or '-'".to_owned(),
            ));
        }
        let chat = &self.chat_id;
        let chat_ok = match chat.strip_prefix('@') {
            Some(name) => {
                (5..=32).contains(&name.len())
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            }
            None => chat.parse::<i64>().is_ok(),
        };
        if !chat_ok {
            problems.push((
                "chat_id".to_owned(),
                "must be a chat's numeric id or a channel's @name".to_owned(),
            ));
        }
        problems
    }

    fn notifier(&self, client: &HttpClient) -> Result<Arc<dyn Notifier>, NotifyError> {
        Ok(Arc::new(TelegramNotifier {
            client: client.clone(),
            url: format!(
                "{}/bot{}/sendMessage",
                self.base_url.trim_end_matches('/'),
                self.bot_token.expose()
            ),
            chat_id: self.chat_id.clone(),
            thread: self.message_thread_id,
        }))
    }
}

/// Sends to one chat.
pub struct TelegramNotifier {
    client: HttpClient,
    url: String,
    chat_id: String,
    thread: Option<i64>,
}

impl Notifier for TelegramNotifier {
    fn send<'a>(&'a self, message: &'a AlertMessage, now: Timestamp) -> SendFuture<'a> {
        Box::pin(async move {
            let none = HeaderMap::new();
            let mut full = json!({"chat_id": self.chat_id, "parse_mode": "HTML",
                "text": html(message, now), "link_preview_options": {"is_disabled": true}});
            if let Some(thread) = self.thread {
                full["message_thread_id"] = thread.into();
            }
            match self.client.post_json(&self.url, &none, &full).await {
                // "Bad Request: can't parse entities…": once more as plain text. A chat
                // that does not exist is not helped by another form.
                Err(NotifyError::Status {
                    status: 400,
                    answer,
                    ..
                }) if !answer
                    .as_deref()
                    .is_some_and(|a| a.contains("chat not found")) =>
                {
                    tracing::warn!("Telegram refused the message's form; sending it plainly");
                    let mut plain = full;
                    plain["text"] = plain_text(message, now);
                    if let Some(fields) = plain.as_object_mut() {
                        fields.remove("parse_mode");
                    }
                    self.client.post_json(&self.url, &none, &plain).await
                }
                other => other,
            }
        })
    }
}

/// The message in Telegram's HTML: the title in bold, then the body, escaped, fitted to
/// 4,096 characters of visible text before escaping (escaping adds no visible character).
pub fn html(message: &AlertMessage, now: Timestamp) -> String {
    let title = title_within(message, 250);
    let lines: Vec<String> = text(message, now).lines().map(str::to_owned).collect();
    let body = fit_lines(&lines, TEXT_MAX - title.chars().count() - 1);
    format!("<b>{}</b>\n{}", escaped(&title), escaped(&body))
}

/// The plainest text: the title and the first line, no markup.
fn plain_text(message: &AlertMessage, now: Timestamp) -> Value {
    let first = text(message, now)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    cut_to(
        &format!("{}\n{first}", title_within(message, 250)),
        TEXT_MAX,
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertFacts, AlertKind};

    #[test]
    fn outside_text_is_escaped_and_the_visible_text_fits() {
        let message = AlertMessage {
            alert_id: 1,
            check: "acme-web".to_owned(),
            kind: AlertKind::Down,
            facts: AlertFacts {
                url: "https://acme.example/?a=1&b=2".to_owned(),
                cause: Some("<a href=\"https://evil.example\">click</a> ".repeat(300)),
                ..AlertFacts::default()
            },
            created_at: Timestamp(0),
            link: None,
            held: Vec::new(),
            ack_link: None,
        };
        let out = html(&message, Timestamp(0));
        assert!(out.starts_with("<b>[DOWN] acme-web</b>\nacme-web is DOWN: &lt;a href=&quot;"));
        assert!(!out.contains("<a "), "{out}");
        let visible = out
            .replace("<b>", "")
            .replace("</b>", "")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&");
        assert!(visible.chars().count() <= TEXT_MAX, "{}", visible.len());
    }
}
