//! Webhooks the team adds to a stack: subscribers confirmed when added, told through the
//! same queue as the mails (see `subscribers`).

use sqlx::FromRow;

use super::db::Sql;
use super::subscribers::delete_subscriber;
use super::{Store, StoreError};
use crate::domain::{StackName, Timestamp};

/// A webhook the team added to a stack.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct WebhookSubscriber {
    pub id: i64,
    pub url: String,
    pub created_at: i64,
}

impl Store {
    /// Adds a webhook to `stack`'s subscribers, told from now on; the subscriber and whether
    /// it is new (a URL added twice is one subscriber).
    pub async fn add_webhook(
        &self,
        stack: &StackName,
        url: &str,
        now: Timestamp,
    ) -> Result<(WebhookSubscriber, bool), StoreError> {
        // A webhook has no links to follow; its token only fills the column.
        let token = super::check_write::random_key("subscriber token")?;
        let mut tx = self.begin().await?;
        let made = Sql::new(
            "INSERT INTO subscribers (stack, kind, address, token, confirmed_at, created_at) \
             VALUES ($1, 'webhook', $2, $3, $4, $4) ON CONFLICT (stack, address) DO NOTHING",
        )
        .bind(stack.as_str())
        .bind(url)
        .bind(&token)
        .bind(now.0)
        .execute(tx.on())
        .await?;
        let webhook: WebhookSubscriber = Sql::new(
            "SELECT id, address AS url, created_at FROM subscribers \
             WHERE stack = $1 AND address = $2",
        )
        .bind(stack.as_str())
        .bind(url)
        .fetch_one(tx.on())
        .await?;
        tx.commit().await?;
        Ok((webhook, made > 0))
    }

    /// The webhooks of `stack`, oldest first.
    pub async fn webhooks(&self, stack: &StackName) -> Result<Vec<WebhookSubscriber>, StoreError> {
        Ok(Sql::new(
            "SELECT id, address AS url, created_at FROM subscribers \
             WHERE stack = $1 AND kind = 'webhook' ORDER BY id",
        )
        .bind(stack.as_str())
        .fetch_all(self.reader())
        .await?)
    }

    /// Deletes a webhook of `stack` and its pending deliveries; whether there was one.
    pub async fn delete_webhook(&self, stack: &StackName, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let found: Option<i64> = Sql::new(
            "SELECT id FROM subscribers WHERE id = $1 AND stack = $2 AND kind = 'webhook'",
        )
        .bind(id)
        .bind(stack.as_str())
        .scalar_optional(tx.on())
        .await?;
        if found.is_some() {
            delete_subscriber(&mut tx, id).await?;
        }
        tx.commit().await?;
        Ok(found.is_some())
    }
}
