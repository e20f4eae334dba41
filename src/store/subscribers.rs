//! Subscribers of status pages and the mails to them: a subscription is confirmed by the
//! link mailed to it (double opt-in) and deleted by its unsubscribe link; mails are
//! written before they are sent, claimed by the instance that sends them, and retried
//! until delivered or given up.

use sqlx::FromRow;

use super::db::{Sql, Tx};
use super::{Store, StoreError};
use crate::domain::{MaintenanceScope, StackName, Timestamp};

/// What a subscription request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    pub token: String,
    pub confirmed: bool,
    /// When the newest mail to it was written, if any.
    pub last_mail_at: Option<Timestamp>,
}

/// A mail due to be sent.
#[derive(Debug, Clone, FromRow)]
pub struct SubscriberMail {
    pub id: i64,
    pub subscriber_id: i64,
    pub stack: String,
    /// `email` or `webhook`: what `address` is.
    pub kind: String,
    pub address: String,
    pub token: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
}

/// How a send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailOutcome {
    Delivered,
    /// Try again at this time.
    Retry {
        at: Timestamp,
        error: String,
    },
    /// Given up.
    Failed {
        error: String,
    },
}

impl Store {
    /// The subscription of `address` to `stack`, made (unconfirmed, with a new random
    /// token) if there is none.
    pub async fn subscribe(
        &self,
        stack: &StackName,
        address: &str,
        now: Timestamp,
    ) -> Result<Subscription, StoreError> {
        let token = super::check_write::random_key("subscriber token")?;
        let mut tx = self.begin().await?;
        Sql::new(
            "INSERT INTO subscribers (stack, address, token, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (stack, address) DO NOTHING",
        )
        .bind(stack.as_str())
        .bind(address)
        .bind(&token)
        .bind(now.0)
        .execute(tx.on())
        .await?;
        let (id, token, confirmed_at): (i64, String, Option<i64>) = Sql::new(
            "SELECT id, token, confirmed_at FROM subscribers \
             WHERE stack = $1 AND address = $2 AND kind = 'email'",
        )
        .bind(stack.as_str())
        .bind(address)
        .fetch_one(tx.on())
        .await?;
        let last: Option<i64> =
            Sql::new("SELECT MAX(created_at) FROM subscriber_messages WHERE subscriber_id = $1")
                .bind(id)
                .scalar_one(tx.on())
                .await?;
        tx.commit().await?;
        Ok(Subscription {
            id,
            token,
            confirmed: confirmed_at.is_some(),
            last_mail_at: last.map(Timestamp),
        })
    }

    /// Confirms the subscription to `stack` whose token this is; whether there is one.
    pub async fn confirm_subscriber(
        &self,
        stack: &StackName,
        token: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> = Sql::new(
            "UPDATE subscribers SET confirmed_at = COALESCE(confirmed_at, $1) \
             WHERE stack = $2 AND token = $3 RETURNING id",
        )
        .bind(now.0)
        .bind(stack.as_str())
        .bind(token)
        .scalar_optional(self.writer())
        .await?;
        Ok(found.is_some())
    }

    /// Deletes the subscription to `stack` whose token this is, and its mails (the address
    /// is kept for nothing else); whether there was one.
    pub async fn unsubscribe(&self, stack: &StackName, token: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let id: Option<i64> =
            Sql::new("SELECT id FROM subscribers WHERE stack = $1 AND token = $2")
                .bind(stack.as_str())
                .bind(token)
                .scalar_optional(tx.on())
                .await?;
        if let Some(id) = id {
            delete_subscriber(&mut tx, id).await?;
        }
        tx.commit().await?;
        Ok(id.is_some())
    }

    /// Deletes the email subscriptions nobody confirmed since before `before`, with their
    /// mails: an address is kept only to tell its owner, who never asked; how many.
    pub async fn prune_unconfirmed(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let stale: Vec<i64> = Sql::new(
            "SELECT id FROM subscribers \
             WHERE kind = 'email' AND confirmed_at IS NULL AND created_at < $1",
        )
        .bind(before.0)
        .scalar_all(tx.on())
        .await?;
        for id in &stale {
            delete_subscriber(&mut tx, *id).await?;
        }
        tx.commit().await?;
        Ok(stale.len() as u64)
    }

    /// Writes a mail to one subscriber.
    pub async fn queue_mail(
        &self,
        subscriber_id: i64,
        subject: &str,
        body: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        Sql::new(
            "INSERT INTO subscriber_messages \
             (subscriber_id, subject, body, status, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, 'pending', $4, $4)",
        )
        .bind(subscriber_id)
        .bind(subject)
        .bind(body)
        .bind(now.0)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Writes a mail to every confirmed subscriber of `stack`; how many.
    pub async fn queue_mail_to_stack(
        &self,
        stack: &StackName,
        subject: &str,
        body: &str,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let queued = queue_to_stack(&mut tx, stack, subject, body, now).await?;
        tx.commit().await?;
        Ok(queued)
    }

    /// The stacks with checks a window's scope covers now.
    pub async fn stacks_covered(
        &self,
        scope: &MaintenanceScope,
    ) -> Result<Vec<StackName>, StoreError> {
        let names: Vec<String> =
            match scope {
                MaintenanceScope::All => {
                    Sql::new("SELECT DISTINCT stack FROM checks WHERE stack IS NOT NULL")
                        .scalar_all(self.reader())
                        .await?
                }
                MaintenanceScope::Stack(stack) => vec![stack.to_string()],
                MaintenanceScope::Tag(tag) => Sql::new(
                    "SELECT DISTINCT c.stack FROM checks c JOIN check_tags t ON t.check_id = c.id \
                     WHERE t.tag = $1 AND c.stack IS NOT NULL",
                )
                .bind(tag.as_str())
                .scalar_all(self.reader())
                .await?,
                MaintenanceScope::Check(name) => {
                    Sql::new("SELECT stack FROM checks WHERE name = $1 AND stack IS NOT NULL")
                        .bind(name.as_str())
                        .scalar_all(self.reader())
                        .await?
                }
            };
        Ok(names.into_iter().filter_map(|n| n.parse().ok()).collect())
    }

    /// Claims up to `limit` mails due at `now` for `claim_ms`: another instance does not
    /// take them meanwhile.
    pub async fn claim_mails(
        &self,
        now: Timestamp,
        claim_ms: i64,
        limit: u32,
    ) -> Result<Vec<SubscriberMail>, StoreError> {
        let due: Vec<SubscriberMail> = Sql::new(
            "SELECT m.id, m.subscriber_id, s.stack, s.kind, s.address, s.token, m.subject, m.body, \
             m.attempts, m.next_attempt_at FROM subscriber_messages m \
             JOIN subscribers s ON s.id = m.subscriber_id \
             WHERE m.status = 'pending' AND m.next_attempt_at <= $1 \
             ORDER BY m.next_attempt_at, m.id LIMIT $2",
        )
        .bind(now.0)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        let mut claimed = Vec::with_capacity(due.len());
        for mail in due {
            let taken = Sql::new(
                "UPDATE subscriber_messages SET next_attempt_at = $1 \
                 WHERE id = $2 AND status = 'pending' AND next_attempt_at = $3",
            )
            .bind(now.0 + claim_ms)
            .bind(mail.id)
            .bind(mail.next_attempt_at)
            .execute(self.writer())
            .await?;
            if taken > 0 {
                claimed.push(mail);
            }
        }
        Ok(claimed)
    }

    /// How many mails a subscriber was sent since `since`.
    pub async fn mails_sent_since(
        &self,
        subscriber_id: i64,
        since: Timestamp,
    ) -> Result<i64, StoreError> {
        Ok(Sql::new(
            "SELECT COUNT(*) FROM subscriber_messages \
             WHERE subscriber_id = $1 AND status = 'delivered' AND delivered_at >= $2",
        )
        .bind(subscriber_id)
        .bind(since.0)
        .scalar_one(self.reader())
        .await?)
    }

    /// Records how sending a claimed mail ended.
    pub async fn mail_sent(
        &self,
        id: i64,
        outcome: &MailOutcome,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let sql = match outcome {
            MailOutcome::Delivered => Sql::new(
                "UPDATE subscriber_messages SET status = 'delivered', attempts = attempts + 1, \
                 delivered_at = $1, last_error = NULL WHERE id = $2",
            )
            .bind(now.0)
            .bind(id),
            MailOutcome::Retry { at, error } => Sql::new(
                "UPDATE subscriber_messages SET attempts = attempts + 1, next_attempt_at = $1, \
                 last_error = $2 WHERE id = $3",
            )
            .bind(at.0)
            .bind(error.as_str())
            .bind(id),
            MailOutcome::Failed { error } => Sql::new(
                "UPDATE subscriber_messages SET status = 'failed', attempts = attempts + 1, \
                 last_error = $1 WHERE id = $2",
            )
            .bind(error.as_str())
            .bind(id),
        };
        sql.execute(self.writer()).await?;
        Ok(())
    }

    /// Puts a claimed mail back, untried, to be sent at `at` (a subscriber over its rate).
    pub async fn postpone_mail(&self, id: i64, at: Timestamp) -> Result<(), StoreError> {
        Sql::new("UPDATE subscriber_messages SET next_attempt_at = $1 WHERE id = $2")
            .bind(at.0)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}

/// Writes a mail to every confirmed subscriber of `stack` in `tx`; how many.
pub(super) async fn queue_to_stack(
    tx: &mut Tx,
    stack: &StackName,
    subject: &str,
    body: &str,
    now: Timestamp,
) -> Result<u64, StoreError> {
    Ok(Sql::new(
        "INSERT INTO subscriber_messages \
         (subscriber_id, subject, body, status, next_attempt_at, created_at) \
         SELECT id, $1, $2, 'pending', $3, $3 FROM subscribers \
         WHERE stack = $4 AND confirmed_at IS NOT NULL",
    )
    .bind(subject)
    .bind(body)
    .bind(now.0)
    .bind(stack.as_str())
    .execute(tx.on())
    .await?)
}

/// Deletes a subscriber and what is queued for it, in `tx`.
pub(super) async fn delete_subscriber(tx: &mut Tx, id: i64) -> Result<(), StoreError> {
    Sql::new("DELETE FROM subscriber_messages WHERE subscriber_id = $1")
        .bind(id)
        .execute(tx.on())
        .await?;
    Sql::new("DELETE FROM subscribers WHERE id = $1")
        .bind(id)
        .execute(tx.on())
        .await?;
    Ok(())
}
