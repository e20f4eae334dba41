//! `kind = "email"`: plain-text mail through SMTP (lettre): STARTTLS, implicit TLS or
//! plain, optional credentials.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use super::http::HttpClient;
use super::kinds::Channel;
use super::render::{text, title_within};
use super::{AlertMessage, Notifier, NotifyError, SendFuture};
use crate::domain::{Secret, Timestamp};

/// The longest email subject sent (RFC 5322 advises lines under 78, clients show ~200).
pub const EMAIL_SUBJECT_MAX: usize = 200;

/// How an email contact's SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (usually port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (usually port 465).
    Implicit,
    /// No TLS at all: only for a relay on a trusted network.
    None,
}

/// `kind = "email"`: SMTP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// `smtp://host:port` (or `smtps://` for implicit TLS).
    pub smtp_url: String,
    #[serde(default)]
    pub tls: Option<SmtpTls>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub to: Vec<String>,
}

/// Where an email contact's SMTP server is, and how to secure the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpEndpoint {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
}

impl EmailSettings {
    /// The host, port and TLS mode from `smtp_url` and `tls`.
    pub fn smtp_endpoint(&self) -> Result<SmtpEndpoint, String> {
        let url = url::Url::parse(&self.smtp_url)
            .map_err(|_| "not a URL like smtp://host:587".to_owned())?;
        let (default_tls, default_port) = match url.scheme() {
            "smtp" => (SmtpTls::Starttls, 587),
            "smtps" => (SmtpTls::Implicit, 465),
            other => return Err(format!("scheme must be smtp or smtps, not {other}")),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("must name a host")?;
        Ok(SmtpEndpoint {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: url.port().unwrap_or(default_port),
            tls: self.tls.unwrap_or(default_tls),
        })
    }
}

impl Channel for EmailSettings {
    fn values_mut(&mut self) -> Vec<(String, &mut String)> {
        let mut values = vec![
            ("smtp_url".to_owned(), &mut self.smtp_url),
            ("from".to_owned(), &mut self.from),
        ];
        if let Some(user) = &mut self.username {
            values.push(("username".to_owned(), user));
        }
        if let Some(password) = &mut self.password {
            values.push(("password".to_owned(), password.expose_mut()));
        }
        for to in &mut self.to {
            values.push(("to".to_owned(), to));
        }
        values
    }

    fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut problem = |field: &str, reason: &str| {
            problems.push((field.to_owned(), reason.to_owned()));
        };
        if let Err(reason) = self.smtp_endpoint() {
            problem("smtp_url", &reason);
        }
        if !looks_like_address(&self.from) {
            problem("from", "not an email address");
        }
        if self.to.is_empty() {
            problem("to", "needs at least one address");
        }
        for (i, to) in self.to.iter().enumerate() {
            if !looks_like_address(to) {
                problem(&format!("to[{i}]"), "not an email address");
            }
        }
        if self.password.is_some() && self.username.is_none() {
            problem("password", "a password needs a username");
        }
        problems
    }

    fn notifier(&self, _: &HttpClient) -> Result<Arc<dyn Notifier>, NotifyError> {
        Ok(Arc::new(EmailNotifier::new(self)?))
    }
}

/// `name@domain`, or `Name <name@domain>`: enough to catch a typo at start.
fn looks_like_address(value: &str) -> bool {
    let address = match (value.find('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value,
    };
    let mut parts = address.trim().splitn(2, '@');
    matches!((parts.next(), parts.next()), (Some(local), Some(domain))
        if !local.is_empty() && domain.contains('.') && !domain.contains(' '))
}

/// One SMTP conversation may take this long.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Sends alerts as plain-text mail.
pub struct EmailNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl EmailNotifier {
    pub fn new(settings: &EmailSettings) -> Result<Self, NotifyError> {
        let endpoint = settings.smtp_endpoint().map_err(NotifyError::Config)?;
        let tls_parameters = || {
            TlsParameters::new_rustls(endpoint.host.clone())
                .map_err(|e| NotifyError::Config(format!("TLS: {e}")))
        };
        let tls = match endpoint.tls {
            SmtpTls::Starttls => Tls::Required(tls_parameters()?),
            SmtpTls::Implicit => Tls::Wrapper(tls_parameters()?),
            SmtpTls::None => Tls::None,
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(endpoint.host.clone())
                .port(endpoint.port)
                .tls(tls)
                .timeout(Some(SMTP_TIMEOUT));
        if let Some(username) = &settings.username {
            let password = settings
                .password
                .as_ref()
                .map(|p| p.expose().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        let parse = |address: &str, field: &str| {
            address
                .parse::<Mailbox>()
                .map_err(|e| NotifyError::Config(format!("{field}: {e}")))
        };
        Ok(Self {
            transport: builder.build(),
            from: parse(&settings.from, "from")?,
            to: settings
                .to
                .iter()
                .map(|a| parse(a, "to"))
                .collect::<Result<_, _>>()?,
        })
    }
}

impl EmailNotifier {
    /// Sends one plain-text mail to `to` (a subscriber, not the contact's own `to`), with
    /// the one-click unsubscribe headers of RFC 8058 when `unsubscribe` is given.
    pub async fn send_to(
        &self,
        to: &str,
        subject: &str,
        body: String,
        unsubscribe: Option<&str>,
    ) -> Result<(), NotifyError> {
        use lettre::message::header::{HeaderName, HeaderValue};
        let to = to
            .parse::<Mailbox>()
            .map_err(|e| NotifyError::Config(format!("to: {e}")))?;
        let mut mail = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject);
        if let Some(url) = unsubscribe {
            mail = mail
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        self.deliver(mail, body).await
    }

    /// Sends a mail built up to its body, as plain text.
    async fn deliver(
        &self,
        mail: lettre::message::MessageBuilder,
        body: String,
    ) -> Result<(), NotifyError> {
        let mail = mail
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| NotifyError::Config(format!("cannot build the mail: {e}")))?;
        self.transport
            .send(mail)
            .await
            .map(|_| ())
            .map_err(|e| NotifyError::Smtp {
                reason: smtp_reason(&e),
                permanent: e.is_permanent(),
            })
    }
}

impl Notifier for EmailNotifier {
    fn send<'a>(&'a self, message: &'a AlertMessage, now: Timestamp) -> SendFuture<'a> {
        Box::pin(async move {
            let (subject, body) = render(message, now);
            let mut mail = Message::builder().from(self.from.clone()).subject(subject);
            for to in &self.to {
                mail = mail.to(to.clone());
            }
            self.deliver(mail, body).await
        })
    }
}

/// An email's subject and plain-text body.
pub fn render(message: &AlertMessage, now: Timestamp) -> (String, String) {
    let body = format!(
        "{}\n\n-- \nstackwatch, alert {} at {}\n",
        text(message, now),
        message.alert_id,
        message.created_at.to_rfc3339()
    );
    (title_within(message, EMAIL_SUBJECT_MAX), body)
}

/// The SMTP error without the credentials or server details lettre may include.
fn smtp_reason(error: &lettre::transport::smtp::Error) -> String {
    if error.is_permanent() {
        "the server refused the message (permanent error)".to_owned()
    } else if error.is_transient() {
        "the server refused the message for now (transient error)".to_owned()
    } else if error.is_timeout() {
        "the server did not answer in time".to_owned()
    } else if error.is_tls() {
        "TLS with the server failed".to_owned()
    } else {
        "cannot talk to the server".to_owned()
    }
}
