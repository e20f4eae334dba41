//! `kind = "ntfy"`: a push through ntfy (ntfy.sh or a self-hosted server at `server`):
//! ntfy's JSON publish with the topic, a title, a priority by event, tags and the links
//! as actions; an access token or basic auth for a protected topic. ntfy shows plain
//! text unless asked for Markdown, so outside text stays inert without escaping.

use std::sync::Arc;

use base64::Engine;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::HttpClient;
use super::kinds::{Channel, http_url_problem};
use super::render::{cut_to, fit_lines, text, title_within};
use super::{AlertMessage, Notifier, NotifyError, SendFuture};
use crate::domain::{AlertKind, Health, Secret, Timestamp};

/// ntfy's default `message-size-limit`, in bytes: a longer message is not a message.
const MESSAGE_MAX_BYTES: usize = 4_096;
/// The longest title sent; ntfy sets none, phones show about this much.
const TITLE_MAX: usize = 250;

/// `kind = "ntfy"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NtfySettings {
    /// The server: `https://ntfy.sh`, or a self-hosted one's URL.
    #[serde(default = "ntfy_sh")]
    pub server: String,
    /// The topic. On a public server anyone who knows it may read it: it is a secret.
    pub topic: Secret,
    /// An access token (`tk_…`) for a protected topic.
    pub token: Option<Secret>,
    /// Basic auth for a protected topic, instead of a token.
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The priority of DOWN, reminder, escalation and offline messages, 1-5 (default 4,
    /// high); the others go at 3 (default).
    #[serde(default = "high")]
    pub priority: u8,
}

fn ntfy_sh() -> String {
    "https://ntfy.sh".to_owned()
}

fn high() -> u8 {
    4
}

impl Channel for NtfySettings {
    fn values_mut(&mut self) -> Vec<(String, &mut String)> {
        let mut values = vec![
            ("server".to_owned(), &mut self.server),
            ("topic".to_owned(), self.topic.expose_mut()),
        ];
        if let Some(token) = &mut self.token {
            values.push(("token".to_owned(), token.expose_mut()));
        }
        if let Some(user) = &mut self.username {
            values.push(("username".to_owned(), user));
        }
        if let Some(password) = &mut self.password {
            values.push(("password".to_owned(), password.expose_mut()));
        }
        values
    }

    fn problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = http_url_problem("server", &self.server)
            .into_iter()
            .collect();
        let mut problem = |field: &str, reason: &str| {
            problems.push((field.to_owned(), reason.to_owned()));
        };
        let topic = self.topic.expose();
        if topic.is_empty()
            || topic.len() > 64
            || !topic
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            problem(
                "topic",
                "must be 1-64 letters, digits, '-' or '_' (ntfy's rule)",
            );
        }
        if !(1..=5).contains(&self.priority) {
            problem("priority", "must be 1 (min) to 5 (max)");
        }
        if self.token.is_some() && (self.username.is_some() || self.password.is_some()) {
            problem("token", "a token or a username and password, not both");
        }
        if self.username.is_some() != self.password.is_some() {
            problem("password", "a username and a password come together");
        }
        problems
    }

    fn notifier(&self, client: &HttpClient) -> Result<Arc<dyn Notifier>, NotifyError> {
        let mut headers = HeaderMap::new();
        let credentials = match (&self.token, &self.username, &self.password) {
            (Some(token), _, _) => Some(format!("Bearer {}", token.expose())),
            (None, Some(user), Some(password)) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{user}:{}", password.expose()))
            )),
            _ => None,
        };
        if let Some(credentials) = credentials {
            let mut value = HeaderValue::from_str(&credentials)
                .map_err(|_| NotifyError::Config("the credentials are invalid".to_owned()))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(Arc::new(NtfyNotifier {
            client: client.clone(),
            server: self.server.clone(),
            topic: self.topic.expose().to_owned(),
            headers,
            priority: self.priority,
        }))
    }
}

/// Publishes to one topic.
pub struct NtfyNotifier {
    client: HttpClient,
    server: String,
    topic: String,
    headers: HeaderMap,
    priority: u8,
}

impl Notifier for NtfyNotifier {
    fn send<'a>(&'a self, message: &'a AlertMessage, now: Timestamp) -> SendFuture<'a> {
        Box::pin(async move {
            let full = publication(&self.topic, self.priority, message, now);
            match self
                .client
                .post_json(&self.server, &self.headers, &full)
                .await
            {
                // A payload ntfy refused for its form: once more, the title and first line.
                Err(NotifyError::Status { status: 400, .. }) => {
                    tracing::warn!("ntfy refused the alert's form; sending it once plainly");
                    let minimal = minimal(&self.topic, message, now);
                    self.client
                        .post_json(&self.server, &self.headers, &minimal)
                        .await
                }
                other => other,
            }
        })
    }
}

/// ntfy's JSON publish of `message` to `topic`.
pub fn publication(topic: &str, urgent: u8, message: &AlertMessage, now: Timestamp) -> Value {
    let lines: Vec<String> = text(message, now).lines().map(str::to_owned).collect();
    let mut body = fit_lines(&lines, MESSAGE_MAX_BYTES);
    while body.len() > MESSAGE_MAX_BYTES {
        // Characters beyond one byte: cut by what is over, in bytes, until it fits.
        let chars = body.chars().count();
        body = cut_to(&body, chars - (body.len() - MESSAGE_MAX_BYTES).min(chars));
    }
    let mut tags = vec![emoji(message).to_owned()];
    tags.extend(message.facts.stack.clone());
    let mut publication = json!({
        "topic": topic,
        "title": title_within(message, TITLE_MAX),
        "message": body,
        "priority": if is_urgent(message) { urgent } else { 3 },
        "tags": tags,
    });
    if let Some(link) = &message.link {
        publication["click"] = link.as_str().into();
    }
    if let Some(ack) = &message.ack_link {
        publication["actions"] = json!([{"action": "view", "label": "Acknowledge", "url": ack}]);
    }
    publication
}

/// The plainest publication: the title and the first line.
fn minimal(topic: &str, message: &AlertMessage, now: Timestamp) -> Value {
    let first = text(message, now)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    json!({
        "topic": topic,
        "title": title_within(message, TITLE_MAX),
        "message": cut_to(&first, 1_000),
    })
}

/// Whether the message is about something down now: it goes at the configured priority.
fn is_urgent(message: &AlertMessage) -> bool {
    match message.kind {
        AlertKind::Down | AlertKind::Reminder | AlertKind::Escalated | AlertKind::Offline => true,
        AlertKind::Group => message.facts.health != Some(Health::Up),
        _ => false,
    }
}

/// The tag ntfy shows as an emoji before the title.
fn emoji(message: &AlertMessage) -> &'static str {
    match message.kind {
        AlertKind::Down | AlertKind::Escalated => "rotating_light",
        AlertKind::Recovered | AlertKind::Online => "white_check_mark",
        AlertKind::Reminder => "hourglass",
        AlertKind::CertExpiring => "lock",
        AlertKind::DomainExpiring => "spiral_calendar",
        AlertKind::Degraded => "snail",
        AlertKind::Test => "test_tube",
        AlertKind::Offline => "satellite",
        AlertKind::Flapping => "arrows_counterclockwise",
        AlertKind::Settled | AlertKind::Acknowledged => "information_source",
        AlertKind::Digest => "inbox_tray",
        AlertKind::Group if message.facts.health == Some(Health::Up) => "white_check_mark",
        AlertKind::Group => "rotating_light",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AlertFacts;

    fn message(kind: AlertKind, cause: &str) -> AlertMessage {
        AlertMessage {
            alert_id: 3,
            check: "acme-web".to_owned(),
            kind,
            facts: AlertFacts {
                stack: Some("acme".to_owned()),
                url: "https://acme.example/".to_owned(),
                cause: Some(cause.to_owned()),
                ..AlertFacts::default()
            },
            created_at: Timestamp(0),
            link: Some("https://stackwatch.example/checks/acme-web".to_owned()),
            held: Vec::new(),
            ack_link: Some("https://stackwatch.example/ack/9?sig=x".to_owned()),
        }
    }

    #[test]
    fn a_down_is_urgent_with_its_links_and_a_recovery_is_not() {
        let down = publication(
            "ops",
            5,
            &message(AlertKind::Down, "HTTP 500"),
            Timestamp(0),
        );
        assert_eq!(down["topic"], "ops");
        assert_eq!(down["title"], "[DOWN] acme-web");
        assert_eq!(down["priority"], 5);
        assert_eq!(down["tags"], json!(["rotating_light", "acme"]));
        assert_eq!(down["click"], "https://stackwatch.example/checks/acme-web");
        assert_eq!(
            down["actions"][0]["url"],
            "https://stackwatch.example/ack/9?sig=x"
        );
        assert!(
            down["message"]
                .as_str()
                .unwrap()
                .starts_with("acme-web (stack acme) is DOWN")
        );
        let up = publication("ops", 5, &message(AlertKind::Recovered, ""), Timestamp(0));
        assert_eq!(up["priority"], 3);
        assert_eq!(up["tags"][0], "white_check_mark");
    }

    #[test]
    fn a_long_message_fits_ntfy_s_limit_in_bytes() {
        let cause = "é".repeat(5_000);
        let down = publication("ops", 4, &message(AlertKind::Down, &cause), Timestamp(0));
        let body = down["message"].as_str().unwrap();
        assert!(body.len() <= MESSAGE_MAX_BYTES, "{}", body.len());
        assert!(body.starts_with("acme-web (stack acme) is DOWN"));
        assert!(body.contains("… [cut]"));
    }
}
