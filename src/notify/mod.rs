//! Notifiers: where alerts go (Slack, email, a JSON webhook, ntfy, Discord, PagerDuty,
//! Opsgenie, Teams, Telegram, Matrix, Pushover), each kind in a file of its own behind one
//! trait (see `kinds`), over the shared words of `render` and, for incident tools, the
//! steps of `incident`. A notifier's error never contains its URL or credentials, since
//! errors are logged and shown by the API.

mod discord;
mod email;
mod http;
mod incident;
mod kinds;
mod matrix;
mod ntfy;
mod opsgenie;
mod pagerduty;
mod pushover;
pub mod render;
mod slack;
mod teams;
mod telegram;
mod webhook;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::domain::{AlertFacts, AlertKind, Health, Timestamp};

pub use discord::DiscordSettings;
pub use email::{EmailNotifier, EmailSettings, SmtpEndpoint, SmtpTls};
pub use http::HttpClient;
pub use kinds::{Channel, NotifierSettings, is_http_url};
pub use matrix::MatrixSettings;
pub use ntfy::NtfySettings;
pub use opsgenie::{OpsgenieSettings, Priority as OpsgeniePriority, Region as OpsgenieRegion};
pub use pagerduty::{PagerDutySettings, Severity as PagerDutySeverity};
pub use pushover::PushoverSettings;
pub use slack::{SlackNotifier, SlackSettings};
pub use teams::TeamsSettings;
pub use telegram::TelegramSettings;
pub use webhook::{WebhookNotifier, WebhookSettings};

/// An alert ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMessage {
    /// The outbox id (0 for a test message).
    pub alert_id: i64,
    pub check: String,
    pub kind: AlertKind,
    pub facts: AlertFacts,
    pub created_at: Timestamp,
    /// Where to read more about the check, when `alerting.public_url` is set.
    pub link: Option<String>,
    /// A digest's alerts (see [`AlertMessage::digest`]); empty for any other message.
    pub held: Vec<AlertMessage>,
    /// The signed link that acknowledges the outage, for a DOWN, reminder or escalation
    /// when `alerting.public_url` is set.
    pub ack_link: Option<String>,
}

/// What a group's alerts share (`alerting.group_by`).
#[derive(Debug, Clone, Copy)]
pub enum GroupOf<'a> {
    Stack(&'a str),
    /// A tag, `team:web`.
    Tag(&'a str),
}

impl AlertMessage {
    /// One message for `held`, alerts of one event (DOWN or RECOVERED) of one group.
    pub fn group(of: GroupOf<'_>, down: bool, held: Vec<AlertMessage>, now: Timestamp) -> Self {
        let (stack, tags) = match of {
            GroupOf::Stack(stack) => (Some(stack.to_owned()), Vec::new()),
            GroupOf::Tag(tag) => (None, vec![tag.to_owned()]),
        };
        Self {
            alert_id: held.first().map_or(0, |m| m.alert_id),
            check: "stackwatch".to_owned(),
            kind: AlertKind::Group,
            facts: AlertFacts {
                stack,
                tags,
                health: Some(if down { Health::Down } else { Health::Up }),
                ..AlertFacts::default()
            },
            created_at: now,
            link: None,
            held,
            ack_link: None,
        }
    }

    /// One message listing `held`, the alerts a contact's ceiling held back, oldest first.
    pub fn digest(held: Vec<AlertMessage>, now: Timestamp) -> Self {
        Self {
            alert_id: held.first().map_or(0, |m| m.alert_id),
            check: "stackwatch".to_owned(),
            kind: AlertKind::Digest,
            facts: AlertFacts::default(),
            created_at: now,
            link: None,
            held,
            ack_link: None,
        }
    }
}

/// A delivery failed; the message says why without revealing the destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("the receiver answered HTTP {status}{}", answer.as_deref().map(|a| format!(" ({a})")).unwrap_or_default())]
    Status {
        status: u16,
        /// The answer's `Retry-After`, in seconds, when it gave one.
        retry_after_s: Option<u64>,
        /// The answer's body when it is one short code word, as Slack's are
        /// (`invalid_blocks`, `msg_too_long`): nothing else of an answer is kept.
        answer: Option<String>,
    },
    #[error("cannot reach the receiver: {0}")]
    Transport(String),
    #[error("the receiver did not answer within {0} s")]
    Timeout(u64),
    #[error("SMTP: {reason}")]
    Smtp {
        reason: String,
        /// A 5xx answer: the server refuses for good.
        permanent: bool,
    },
    #[error("the notifier is misconfigured: {0}")]
    Config(String),
}

/// Whether a failed delivery can succeed later, and when to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Retry with the usual backoff.
    Backoff,
    /// Retry, but not before this many seconds (a 429's `Retry-After`).
    After(u64),
    /// It cannot succeed by retrying: mark it failed now.
    Never,
}

impl NotifyError {
    /// Sorts a failure: a receiver's 4xx (but 408 and 429), an SMTP 5xx or a configuration
    /// problem is permanent; anything else is worth retrying.
    pub fn retry(&self) -> Retry {
        match self {
            Self::Status {
                status: 429,
                retry_after_s: Some(s),
                ..
            } => Retry::After(*s),
            Self::Status { status, .. }
                if (400..500).contains(status) && *status != 408 && *status != 429 =>
            {
                Retry::Never
            }
            Self::Smtp {
                permanent: true, ..
            }
            | Self::Config(_) => Retry::Never,
            _ => Retry::Backoff,
        }
    }
}

/// The future a notifier returns.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>>;

/// Something alerts can be sent through.
pub trait Notifier: Send + Sync {
    /// Sends one message; `now` is used to word relative times.
    fn send<'a>(&'a self, message: &'a AlertMessage, now: Timestamp) -> SendFuture<'a>;
}

/// Every configured contact, by name.
#[derive(Clone, Default)]
pub struct Notifiers {
    by_name: BTreeMap<String, Arc<dyn Notifier>>,
}

impl Notifiers {
    /// Builds a notifier per configured contact.
    pub fn from_settings(
        settings: &BTreeMap<String, NotifierSettings>,
    ) -> Result<Self, NotifyError> {
        let client = HttpClient::new()?;
        let mut by_name: BTreeMap<String, Arc<dyn Notifier>> = BTreeMap::new();
        for (name, notifier) in settings {
            by_name.insert(name.clone(), notifier.channel().notifier(&client)?);
        }
        Ok(Self { by_name })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Notifier>> {
        self.by_name.get(name)
    }

    /// The configured contact names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}
