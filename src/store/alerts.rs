//! The alert outbox: alerts and their deliveries, one per contact, retried until delivered
//! or given up. Delivery order per check and contact follows alert order.

use std::collections::HashMap;

use sqlx::FromRow;

use super::db::{Sql, Tx};
use super::record::NewAlert;
use super::{AttemptResult, DeliveryStatus, Store, StoreError};
use crate::domain::{AlertFacts, AlertKind, CheckId, CheckName, Timestamp};

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAlert {
    pub id: i64,
    pub check_name: String,
    pub kind: AlertKind,
    pub created_at: Timestamp,
    pub facts: AlertFacts,
}

/// One delivery of an alert to one contact.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct DeliveryRow {
    pub alert_id: i64,
    pub contact: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
}

/// A delivery that is due, with its alert.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub alert: StoredAlert,
    pub contact: String,
    pub attempts: i64,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub check: Option<CheckName>,
    /// `Pending`: some delivery pending; `Delivered`: all delivered; `Failed`: some given up.
    pub status: Option<DeliveryStatus>,
    /// Only alerts created at or after this time.
    pub since: Option<Timestamp>,
    /// Only alerts created before this time.
    pub until: Option<Timestamp>,
    /// Only alerts of these kinds (none named: every kind).
    pub kinds: Vec<AlertKind>,
    pub limit: u32,
}

#[derive(FromRow)]
struct AlertRow {
    id: i64,
    check_name: String,
    kind: String,
    created_at: i64,
    facts: String,
}

impl TryFrom<AlertRow> for StoredAlert {
    type Error = StoreError;

    fn try_from(row: AlertRow) -> Result<Self, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            name: format!("alert {}", row.id),
            reason,
        };
        Ok(Self {
            id: row.id,
            kind: AlertKind::parse(&row.kind)
                .ok_or_else(|| corrupt(format!("kind {}", row.kind)))?,
            facts: serde_json::from_str(&row.facts).map_err(|e| corrupt(e.to_string()))?,
            check_name: row.check_name,
            created_at: Timestamp(row.created_at),
        })
    }
}

/// Writes an alert and one pending delivery per contact, inside the caller's transaction.
pub(super) async fn insert_alert(
    tx: &mut Tx,
    check_id: CheckId,
    check_name: &str,
    alert: &NewAlert,
    now: Timestamp,
) -> Result<(), StoreError> {
    let facts = serde_json::to_string(&alert.event.facts).map_err(|e| StoreError::Corrupt {
        name: check_name.to_owned(),
        reason: e.to_string(),
    })?;
    let id: i64 = Sql::new(
        "INSERT INTO alerts (check_id, check_name, kind, created_at, facts) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(check_id.0)
    .bind(check_name)
    .bind(alert.event.kind.as_str())
    .bind(now.0)
    .bind(facts)
    .scalar_one(tx.on())
    .await?;
    for contact in &alert.contacts {
        Sql::new(
            "INSERT INTO deliveries (alert_id, contact, status, next_attempt_at) \
             VALUES ($1, $2, 'pending', $3) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(contact.as_str())
        .bind(now.0)
        .execute(tx.on())
        .await?;
    }
    Ok(())
}

impl Store {
    /// Claims the pending deliveries due at `now`, oldest alert first, and returns them; a
    /// delivery waits while an earlier alert of the same check to the same contact is still
    /// pending. A claimed delivery is nobody else's until it is done or its claim lapses:
    /// `per_delivery` after `now` for a contact's first, twice that for its second, and so
    /// on, as a contact's deliveries are sent one after another. On PostgreSQL, rows another
    /// instance is claiming at the same moment are skipped (`FOR UPDATE SKIP LOCKED`).
    pub async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
        per_delivery: std::time::Duration,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            alert: AlertRow,
            contact: String,
            attempts: i64,
        }
        let mut tx = self.begin().await?;
        let rows: Vec<Row> = Sql::new(format!(
            "SELECT a.id, a.check_name, a.kind, a.created_at, a.facts, d.contact, d.attempts \
             FROM deliveries d JOIN alerts a ON a.id = d.alert_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
             AND (d.claimed_until IS NULL OR d.claimed_until <= $1) \
             AND NOT EXISTS (SELECT 1 FROM deliveries d2 JOIN alerts a2 ON a2.id = d2.alert_id \
                 WHERE d2.status = 'pending' AND d2.contact = d.contact \
                 AND a2.check_id = a.check_id AND d2.alert_id < d.alert_id) \
             ORDER BY a.id LIMIT $2{}",
            self.dialect().skip_locked("d")
        ))
        .bind(now.0)
        .bind(i64::from(limit))
        .fetch_all(tx.on())
        .await?;
        let step = i64::try_from(per_delivery.as_millis()).unwrap_or(i64::MAX);
        let mut queued: HashMap<&str, i64> = HashMap::new();
        for row in &rows {
            let place = queued.entry(row.contact.as_str()).or_insert(0);
            *place += 1;
            Sql::new(
                "UPDATE deliveries SET claimed_until = $1 WHERE alert_id = $2 AND contact = $3",
            )
            .bind(now.0.saturating_add(step.saturating_mul(*place)))
            .bind(row.alert.id)
            .bind(row.contact.as_str())
            .execute(tx.on())
            .await?;
        }
        tx.commit().await?;
        rows.into_iter()
            .map(|r| {
                Ok(DueDelivery {
                    alert: r.alert.try_into()?,
                    contact: r.contact,
                    attempts: r.attempts,
                })
            })
            .collect()
    }

    /// Lets go of every claim: for the one process a SQLite database has, at its start,
    /// whatever it was sending when it stopped is due again at once.
    pub(super) async fn release_claims(&self) -> Result<(), StoreError> {
        Sql::new("UPDATE deliveries SET claimed_until = NULL WHERE claimed_until IS NOT NULL")
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// When the next pending delivery falls due: the earliest of those no earlier alert
    /// holds back (what `claim_due_deliveries` would claim first), a claimed one when its
    /// claim lapses. `None`: nothing is pending.
    pub async fn next_delivery_at(&self) -> Result<Option<Timestamp>, StoreError> {
        let at: Option<i64> = Sql::new(
            "SELECT MIN(CASE WHEN d.claimed_until > d.next_attempt_at THEN d.claimed_until \
                 ELSE d.next_attempt_at END) FROM deliveries d JOIN alerts a ON a.id = d.alert_id \
             WHERE d.status = 'pending' \
             AND NOT EXISTS (SELECT 1 FROM deliveries d2 JOIN alerts a2 ON a2.id = d2.alert_id \
                 WHERE d2.status = 'pending' AND d2.contact = d.contact \
                 AND a2.check_id = a.check_id AND d2.alert_id < d.alert_id)",
        )
        .scalar_one(self.reader())
        .await?;
        Ok(at.map(Timestamp))
    }

    /// Records how a delivery attempt ended.
    pub async fn delivery_done(
        &self,
        alert_id: i64,
        contact: &str,
        result: &AttemptResult,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let query = match result {
            AttemptResult::Delivered => Sql::new(
                "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, \
                 delivered_at = $1, last_error = NULL, claimed_until = NULL \
                 WHERE alert_id = $2 AND contact = $3",
            )
            .bind(now.0),
            AttemptResult::RetryAt { error, at } => Sql::new(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = $1, \
                 next_attempt_at = $2, claimed_until = NULL WHERE alert_id = $3 AND contact = $4",
            )
            .bind(error)
            .bind(at.0),
            AttemptResult::GiveUp { error } => Sql::new(
                "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, \
                 last_error = $1, claimed_until = NULL WHERE alert_id = $2 AND contact = $3",
            )
            .bind(error),
        };
        query
            .bind(alert_id)
            .bind(contact)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// How many messages `contact` was sent after `since`, and when the last digest among
    /// them went out.
    pub async fn contact_messages_since(
        &self,
        contact: &str,
        since: Timestamp,
    ) -> Result<(u32, Option<Timestamp>), StoreError> {
        let (count, digest): (i64, Option<i64>) = Sql::new(
            "SELECT COUNT(*), MAX(CASE WHEN digest = 1 THEN at END) FROM contact_messages \
             WHERE contact = $1 AND at > $2",
        )
        .bind(contact)
        .bind(since.0)
        .fetch_one(self.reader())
        .await?;
        Ok((
            u32::try_from(count).unwrap_or(u32::MAX),
            digest.map(Timestamp),
        ))
    }

    /// Notes a message sent to `contact` at `at` (`digest`: one of held alerts;
    /// `grouping`: the stack and event of a group's first or follow-up message).
    pub async fn note_contact_message(
        &self,
        contact: &str,
        at: Timestamp,
        digest: bool,
        grouping: Option<&str>,
    ) -> Result<(), StoreError> {
        Sql::new(
            "INSERT INTO contact_messages (contact, at, digest, grouping) VALUES ($1, $2, $3, $4)",
        )
        .bind(contact)
        .bind(at.0)
        .bind(i64::from(digest))
        .bind(grouping.map(str::to_owned))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// When `contact` last got a message of `grouping` after `since`, if it did.
    pub async fn last_grouped(
        &self,
        contact: &str,
        grouping: &str,
        since: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        let at: Option<i64> = Sql::new(
            "SELECT MAX(at) FROM contact_messages WHERE contact = $1 AND grouping = $2 AND at > $3",
        )
        .bind(contact)
        .bind(grouping)
        .bind(since.0)
        .scalar_one(self.reader())
        .await?;
        Ok(at.map(Timestamp))
    }

    /// Holds a delivery back until `until` (its contact's next digest), its attempts as
    /// they were.
    pub async fn hold_delivery(
        &self,
        alert_id: i64,
        contact: &str,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        Sql::new(
            "UPDATE deliveries SET next_attempt_at = $1, claimed_until = NULL \
             WHERE alert_id = $2 AND contact = $3",
        )
        .bind(until.0)
        .bind(alert_id)
        .bind(contact)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Deliveries counted by contact, alert kind and status, for `/metrics`.
    pub async fn delivery_counts(&self) -> Result<Vec<(String, String, String, i64)>, StoreError> {
        Ok(Sql::new(
            "SELECT d.contact, a.kind, d.status, COUNT(*) FROM deliveries d \
             JOIN alerts a ON a.id = d.alert_id GROUP BY d.contact, a.kind, d.status \
             ORDER BY d.contact, a.kind, d.status",
        )
        .fetch_all(self.reader())
        .await?)
    }

    /// Alerts with their deliveries, newest first.
    pub async fn alerts(
        &self,
        filter: &AlertFilter,
    ) -> Result<Vec<(StoredAlert, Vec<DeliveryRow>)>, StoreError> {
        let mut query =
            Sql::new("SELECT id, check_name, kind, created_at, facts FROM alerts a WHERE 1 = 1");
        if let Some(check) = &filter.check {
            query.push(" AND check_name = ").push_bind(check.as_str());
        }
        if let Some(since) = filter.since {
            query.push(" AND created_at >= ").push_bind(since.0);
        }
        if let Some(until) = filter.until {
            query.push(" AND created_at < ").push_bind(until.0);
        }
        if !filter.kinds.is_empty() {
            query
                .push(" AND kind IN ")
                .push_list(filter.kinds.iter().map(|k| k.as_str()));
        }
        match filter.status {
            Some(DeliveryStatus::Pending) => {
                query.push(" AND EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_id = a.id AND d.status = 'pending')");
            }
            Some(DeliveryStatus::Failed) => {
                query.push(" AND EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_id = a.id AND d.status = 'failed')");
            }
            Some(DeliveryStatus::Delivered) => {
                query.push(" AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_id = a.id AND d.status <> 'delivered')");
            }
            None => {}
        }
        query
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(filter.limit));
        let rows: Vec<AlertRow> = query.fetch_all(self.reader()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let alert = StoredAlert::try_from(row)?;
            let deliveries: Vec<DeliveryRow> = Sql::new(
                "SELECT alert_id, contact, status, attempts, next_attempt_at, last_error, \
                 delivered_at FROM deliveries WHERE alert_id = $1 ORDER BY contact",
            )
            .bind(alert.id)
            .fetch_all(self.reader())
            .await?;
            out.push((alert, deliveries));
        }
        Ok(out)
    }
}
