//! The subscribers' mailer: sends what is written to status pages' subscribers, by mail
//! through the email contact `status_pages.subscriptions_via` (with the page's link and
//! the one-click unsubscribe link), or as a JSON POST to a webhook the team added. A
//! message is claimed before it is sent (another instance does not send it too), retried
//! with backoff on a transient failure, given up after [`GIVE_UP_ATTEMPTS`] or on a
//! permanent one; no subscriber gets more than [`PER_HOUR`] an hour (the rest wait).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::Timestamp;
use crate::notify::{EmailNotifier, HttpClient, NotifyError, Retry};
use crate::store::{MailOutcome, Store, SubscriberMail};

/// Most mails one subscriber is sent in an hour.
pub const PER_HOUR: i64 = 10;
/// Attempts before a mail is given up.
pub const GIVE_UP_ATTEMPTS: i64 = 10;
/// How often the queue is read.
const POLL: Duration = Duration::from_secs(2);
/// How long an unconfirmed email subscription is kept.
pub const UNCONFIRMED_KEPT_MS: i64 = 7 * 24 * HOUR_MS;
/// How often unconfirmed subscriptions past [`UNCONFIRMED_KEPT_MS`] are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3_600);
/// How long a claimed mail stays this instance's: longer than one SMTP conversation.
const CLAIM_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// Sends subscribers' mails.
pub struct Mailer {
    pub store: Store,
    /// The email contact of `status_pages.subscriptions_via`, when set.
    pub email: Option<Arc<EmailNotifier>>,
    /// For webhook subscribers (it follows no redirect).
    pub http: HttpClient,
    /// `alerting.public_url`, without a trailing slash.
    pub public_url: String,
}

/// When to try again after `attempts` failed ones: 30 s doubling, at most an hour.
pub fn retry_after_ms(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.clamp(0, 7)).unwrap_or(7);
    (30_000_i64 << doublings).min(HOUR_MS)
}

impl Mailer {
    pub async fn run(self, cancel: CancellationToken) {
        let mut pruned: Option<std::time::Instant> = None;
        loop {
            if pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                let before = Timestamp(Timestamp::now().0 - UNCONFIRMED_KEPT_MS);
                match self.store.prune_unconfirmed(before).await {
                    Ok(gone) if gone > 0 => {
                        tracing::info!(gone, "unconfirmed subscriptions deleted")
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "cannot delete unconfirmed subscriptions")
                    }
                }
                pruned = Some(std::time::Instant::now());
            }
            if let Err(e) = self.send_due(Timestamp::now()).await {
                tracing::error!(error = %e, "cannot read the subscribers' mail queue");
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    async fn send_due(&self, now: Timestamp) -> Result<(), crate::store::StoreError> {
        for mail in self.store.claim_mails(now, CLAIM_MS, 50).await? {
            let sent = self
                .store
                .mails_sent_since(mail.subscriber_id, Timestamp(now.0 - HOUR_MS))
                .await?;
            if sent >= PER_HOUR {
                self.store
                    .postpone_mail(mail.id, Timestamp(now.0 + HOUR_MS / 6))
                    .await?;
                continue;
            }
            let outcome = match self.send(&mail).await {
                Ok(()) => MailOutcome::Delivered,
                Err(e) => {
                    let error = e.to_string();
                    tracing::warn!(mail = mail.id, stack = %mail.stack, error = %error, "a subscriber's mail failed");
                    if matches!(e.retry(), Retry::Never) || mail.attempts + 1 >= GIVE_UP_ATTEMPTS {
                        MailOutcome::Failed { error }
                    } else {
                        MailOutcome::Retry {
                            at: Timestamp(now.0 + retry_after_ms(mail.attempts)),
                            error,
                        }
                    }
                }
            };
            self.store
                .mail_sent(mail.id, &outcome, Timestamp::now())
                .await?;
        }
        Ok(())
    }

    async fn send(&self, mail: &SubscriberMail) -> Result<(), NotifyError> {
        let page = format!("{}/status/{}", self.public_url, mail.stack);
        if mail.kind == "webhook" {
            let document = serde_json::json!({
                "stack": mail.stack,
                "title": mail.subject,
                "text": mail.body,
                "page": (!self.public_url.is_empty()).then_some(&page),
            });
            return self
                .http
                .post_json(&mail.address, &axum::http::HeaderMap::new(), &document)
                .await;
        }
        let Some(email) = &self.email else {
            return Err(NotifyError::Config(
                "status_pages.subscriptions_via is not set: no mail is sent".to_owned(),
            ));
        };
        let unsubscribe = format!("{page}/unsubscribe/{}", mail.token);
        let body = format!(
            "{}\n\n-- \nThe status page: {page}\nStop these mails: {unsubscribe}\n",
            mail.body
        );
        email
            .send_to(&mail.address, &mail.subject, body, Some(&unsubscribe))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        let waits: Vec<i64> = (0..9).map(retry_after_ms).collect();
        assert_eq!(
            waits,
            [
                30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000
            ]
        );
    }
}
