//! `kind = "pushover"`: Pushover's Messages API, as the form it documents: a title
//! within 250 characters, a plain-text message within 1,024 (Pushover parses no markup
//! unless asked), the check's link. At emergency priority (2) a DOWN repeats every
//! `retry` seconds until acknowledged in Pushover or `expire` passes; it is tagged with
//! its incident (see `incident`), and the outage's RECOVERED or acknowledgement in
//! stackwatch cancels the repeats by that tag.

use std::sync::Arc;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use super::http::{Body, HttpClient};
use super::incident::{Step, is_urgent, steps};
use super::kinds::{Channel, http_url_problem};
use super::render::{cut_to, fit_lines, text, title_within};
use super::{AlertMessage, Notifier, NotifyError, SendFuture};
use crate::domain::{Secret, Timestamp};

/// Pushover's limits: a message, a title, a URL and its title.
pub const MESSAGE_MAX: usize = 1_024;
pub const TITLE_MAX: usize = 250;
const URL_MAX: usize = 512;
/// The emergency priority: repeated until acknowledged.
const EMERGENCY: i8 = 2;

/// `kind = "pushover"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushoverSettings {
    /// The application's API token.
    pub token: Secret,
    /// The user's or group's key.
    pub user: Secret,
    /// The priority of a DOWN, a reminder and an escalation, -2 to 2 (default 1, high);
    /// the others go at 0.
    #[serde(default = "high")]
    pub priority: i8,
    /// At priority 2: seconds between repeats (at least 30, default 60) and until they
    /// stop (at most 10,800, default 3,600).
    #[serde(default = "sixty")]
    pub retry: u32,
    #[serde(default = "an_hour")]
    pub expire: u32,
    /// One device of the user's instead of all.
    pub device: Option<String>,
    /// A sound of Pushover's.
    pub sound: Option<String>,
    /// Where the API answers (`https://api.pushover.net`).
    #[serde(default = "api_pushover")]
    pub base_url: String,
}

fn high() -> i8 {
    1
}

fn sixty() -> u32 {
    60
}

fn an_hour() -> u32 {
    3_600
}

fn api_pushover() -> String {
    "https://api.pushover.net".to_owned()
}

/// Whether `value` has the form of Pushover's keys: 30 letters and digits.
fn is_key(value: &str) -> bool {
    value.len() == 30 && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Channel for PushoverSettings {
    fn values_mut(&mut self) -> Vec<(String, &mut String)> {
        vec![
            ("token".to_owned(), self.token.expose_mut()),
            ("user".to_owned(), self.user.expose_mut()),
            ("base_url".to_owned(), &mut self.base_url),
        ]
    }

    fn problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = http_url_problem("base_url", &self.base_url)
            .into_iter()
            .collect();
        let mut problem = |field: &str, reason: &str| {
            problems.push((field.to_owned(), reason.to_owned()));
        };
        if !is_key(self.token.expose()) {
            problem(
                "token",
                "must be an application token: 30 letters and digits",
            );
        }
        if !is_key(self.user.expose()) {
            problem("user", "must be a user or group key: 30 letters and digits");
        }
        if !(-2..=2).contains(&self.priority) {
            problem("priority", "must be -2 (lowest) to 2 (emergency)");
        }
        if self.retry < 30 {
            problem("retry", "must be at least 30 seconds (Pushover's rule)");
        }
        if !(self.retry..=10_800).contains(&self.expire) {
            problem(
                "expire",
                "must be from retry to 10800 seconds (Pushover's rule)",
            );
        }
        let name_ok = |v: &Option<String>| {
            v.as_deref().is_none_or(|v| {
                (1..=25).contains(&v.len())
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
        };
        if !name_ok(&self.device) {
            problem("device", "must be 1-25 letters, digits, '_' or '-'");
        }
        if !name_ok(&self.sound) {
            problem("sound", "must be 1-25 letters, digits, '_' or '-'");
        }
        problems
    }

    fn notifier(&self, client: &HttpClient) -> Result<Arc<dyn Notifier>, NotifyError> {
        Ok(Arc::new(PushoverNotifier {
            client: client.clone(),
            base: self.base_url.trim_end_matches('/').to_owned(),
            settings: self.clone(),
        }))
    }
}

/// Pushes to one user or group.
pub struct PushoverNotifier {
    client: HttpClient,
    base: String,
    settings: PushoverSettings,
}

impl Notifier for PushoverNotifier {
    fn send<'a>(&'a self, message: &'a AlertMessage, now: Timestamp) -> SendFuture<'a> {
        Box::pin(async move {
            let none = HeaderMap::new();
            let url = format!("{}/1/messages.json", self.base);
            let full = form(&self.settings, message, now);
            match self
                .client
                .exchange(Method::POST, &url, &none, Body::Form(&full))
                .await
            {
                Ok(()) => {}
                // A 400 names what it refused: a wrong token or user cannot be mended.
                Err(NotifyError::Status {
                    status: 400,
                    answer,
                    ..
                }) if !answer.as_deref().is_some_and(names_a_key) => {
                    tracing::warn!("Pushover refused the message's form; sending it plainly");
                    let plain = minimal(&self.settings, message, now);
                    self.client
                        .exchange(Method::POST, &url, &none, Body::Form(&plain))
                        .await?;
                }
                Err(e) => return Err(e),
            }
            if self.settings.priority == EMERGENCY {
                // An outage that ended or that someone took: its repeats stop.
                for step in steps(message).iter().filter(|s| s.step != Step::Open) {
                    let tag = tag(&step.key);
                    let cancel = format!("{}/1/receipts/cancel_by_tag/{tag}.json", self.base);
                    let token = [("token", self.settings.token.expose().to_owned())];
                    self.client
                        .exchange(Method::POST, &cancel, &none, Body::Form(&token))
                        .await?;
                }
            }
            Ok(())
        })
    }
}

/// An incident's key as a Pushover tag: letters, digits and '-'.
fn tag(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn names_a_key(answer: &str) -> bool {
    answer.contains("token") || answer.contains("user")
}

/// The form of `message`.
pub fn form(
    settings: &PushoverSettings,
    message: &AlertMessage,
    now: Timestamp,
) -> Vec<(&'static str, String)> {
    let lines: Vec<String> = text(message, now).lines().map(str::to_owned).collect();
    let priority = if is_urgent(message) {
        settings.priority
    } else {
        0
    };
    let mut form = vec![
        ("token", settings.token.expose().to_owned()),
        ("user", settings.user.expose().to_owned()),
        ("title", title_within(message, TITLE_MAX)),
        ("message", fit_lines(&lines, MESSAGE_MAX)),
        ("priority", priority.to_string()),
        ("timestamp", (message.created_at.0 / 1_000).to_string()),
    ];
    if let Some(link) = message.link.as_ref().filter(|l| l.len() <= URL_MAX) {
        form.push(("url", link.clone()));
        form.push(("url_title", "Open in stackwatch".to_owned()));
    }
    if priority == EMERGENCY {
        form.push(("retry", settings.retry.to_string()));
        form.push(("expire", settings.expire.to_string()));
        let keys: Vec<String> = steps(message).iter().map(|s| tag(&s.key)).collect();
        form.push(("tags", keys.join(",")));
    }
    for (key, value) in [("device", &settings.device), ("sound", &settings.sound)] {
        if let Some(value) = value {
            form.push((key, value.clone()));
        }
    }
    form
}

/// The plainest form: the credentials, the title and the first line.
fn minimal(
    settings: &PushoverSettings,
    message: &AlertMessage,
    now: Timestamp,
) -> Vec<(&'static str, String)> {
    let first = text(message, now)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    vec![
        ("token", settings.token.expose().to_owned()),
        ("user", settings.user.expose().to_owned()),
        ("title", title_within(message, TITLE_MAX)),
        ("message", cut_to(&first, MESSAGE_MAX)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertFacts, AlertKind};

    #[test]
    fn an_emergency_down_repeats_under_its_incidents_tag_within_the_limits() {
        let settings = PushoverSettings {
            token: Secret::new("a".repeat(30)),
            user: Secret::new("u".repeat(30)),
            priority: 2,
            retry: 30,
            expire: 600,
            device: None,
            sound: None,
            base_url: api_pushover(),
        };
        let message = AlertMessage {
            alert_id: 1,
            check: "acme-web".to_owned(),
            kind: AlertKind::Down,
            facts: AlertFacts {
                cause: Some("é".repeat(3_000)),
                down_since: Some(Timestamp(4_000)),
                ..AlertFacts::default()
            },
            created_at: Timestamp(5_000),
            link: None,
            held: Vec::new(),
            ack_link: None,
        };
        let sent: std::collections::BTreeMap<&str, String> =
            form(&settings, &message, Timestamp(6_000))
                .into_iter()
                .collect();
        assert!(sent["message"].chars().count() <= MESSAGE_MAX);
        assert_eq!(sent["priority"], "2");
        assert_eq!(sent["retry"], "30");
        assert_eq!(sent["tags"], "stackwatch-acme-web-4000");
        assert_eq!(sent["timestamp"], "5");
    }
}
