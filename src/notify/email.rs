//! Email through SMTP (lettre): STARTTLS, implicit TLS or plain, optional credentials.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::render;
use super::{AlertMessage, Notifier, NotifyError, SendFuture};
use crate::domain::Timestamp;
use crate::settings::{EmailSettings, SmtpTls};

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

impl Notifier for EmailNotifier {
    fn send<'a>(&'a self, message: &'a AlertMessage, now: Timestamp) -> SendFuture<'a> {
        Box::pin(async move {
            let (subject, body) = render::email(message, now);
            let mut mail = Message::builder().from(self.from.clone()).subject(subject);
            for to in &self.to {
                mail = mail.to(to.clone());
            }
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
        })
    }
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
