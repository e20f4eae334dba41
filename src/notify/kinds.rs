//! The kinds of notifier (`[notifiers.NAME] kind = …`): the one list a new kind joins.
//! Each kind lives in a file of its own with its settings, their checks, its rendering
//! and its sending, behind [`Channel`].

use std::sync::Arc;

use serde::Deserialize;

use crate::domain::Secret;

use super::http::HttpClient;
use super::{
    DiscordSettings, EmailSettings, MatrixSettings, Notifier, NotifyError, NtfySettings,
    OpsgenieSettings, PagerDutySettings, PushoverSettings, SlackSettings, TeamsSettings,
    TelegramSettings, WebhookSettings,
};

/// One contact: where alerts go.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum NotifierSettings {
    Slack(SlackSettings),
    Email(EmailSettings),
    Webhook(WebhookSettings),
    Ntfy(NtfySettings),
    Discord(DiscordSettings),
    #[serde(rename = "pagerduty")]
    PagerDuty(PagerDutySettings),
    Opsgenie(OpsgenieSettings),
    Teams(TeamsSettings),
    Telegram(TelegramSettings),
    Matrix(MatrixSettings),
    Pushover(PushoverSettings),
}

impl NotifierSettings {
    /// The kind behind its common face.
    pub fn channel(&self) -> &dyn Channel {
        match self {
            Self::Slack(s) => s,
            Self::Email(s) => s,
            Self::Webhook(s) => s,
            Self::Ntfy(s) => s,
            Self::Discord(s) => s,
            Self::PagerDuty(s) => s,
            Self::Opsgenie(s) => s,
            Self::Teams(s) => s,
            Self::Telegram(s) => s,
            Self::Matrix(s) => s,
            Self::Pushover(s) => s,
        }
    }

    /// The kind behind its common face, to fill in values from the environment.
    pub fn channel_mut(&mut self) -> &mut dyn Channel {
        match self {
            Self::Slack(s) => s,
            Self::Email(s) => s,
            Self::Webhook(s) => s,
            Self::Ntfy(s) => s,
            Self::Discord(s) => s,
            Self::PagerDuty(s) => s,
            Self::Opsgenie(s) => s,
            Self::Teams(s) => s,
            Self::Telegram(s) => s,
            Self::Matrix(s) => s,
            Self::Pushover(s) => s,
        }
    }
}

/// What each kind of notifier provides.
pub trait Channel {
    /// Its values that may name environment variables (`${VAR}`), each with its field.
    fn values_mut(&mut self) -> Vec<(String, &mut String)>;
    /// What is wrong with it, as (field, reason); a reason never echoes a value.
    fn problems(&self) -> Vec<(String, String)>;
    /// The notifier it configures, sending through `client` if it speaks HTTP.
    fn notifier(&self, client: &HttpClient) -> Result<Arc<dyn Notifier>, NotifyError>;
}

/// Whether `value` is an http or https URL with a host.
pub fn is_http_url(value: &str) -> bool {
    url::Url::parse(value)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// The problem of a field that must be an http or https URL, if it is not one.
pub(super) fn http_url_problem(field: &str, value: &str) -> Option<(String, String)> {
    (!is_http_url(value)).then(|| (field.to_owned(), "must be an http or https URL".to_owned()))
}

/// The values of a kind whose one setting is its secret `webhook_url` (Slack, Discord,
/// Teams).
pub(super) fn webhook_url_values(url: &mut Secret) -> Vec<(String, &mut String)> {
    vec![("webhook_url".to_owned(), url.expose_mut())]
}

/// The problems of such a kind: its `webhook_url` must be an http or https URL.
pub(super) fn webhook_url_problems(url: &Secret) -> Vec<(String, String)> {
    http_url_problem("webhook_url", url.expose())
        .into_iter()
        .collect()
}
