//! Incidents: confirmed outages, listed for the API, and acknowledged by people.

use sqlx::FromRow;

use super::checks::{CheckRow, SELECT_CHECK};
use super::db::Sql;
use super::record::NewAlert;
use super::{Store, StoreError};
use crate::domain::{
    Acknowledgement, AlertEvent, AlertFacts, AlertKind, Check, CheckId, CheckName, Health, Routing,
    Timestamp,
};

/// A stored incident.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct IncidentRow {
    pub id: i64,
    pub check_name: String,
    pub opened_at: i64,
    pub resolved_at: Option<i64>,
    pub cause: String,
    /// When someone acknowledged it, who, and what they said.
    pub acked_at: Option<i64>,
    pub acked_by: Option<String>,
    pub ack_note: Option<String>,
}

/// The columns of an [`IncidentRow`].
const INCIDENT_COLUMNS: &str =
    "id, check_name, opened_at, resolved_at, cause, acked_at, acked_by, ack_note";

/// What acknowledging did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acked {
    /// Acknowledged now: its `acknowledged` alert is in the outbox.
    Now(IncidentRow),
    /// Acknowledged before: nothing more is sent.
    Already(IncidentRow),
    /// It recovered already.
    Resolved(IncidentRow),
    /// No such incident.
    Unknown,
}

/// Which incidents to list.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// By the name the check had: a deleted check's incidents too.
    pub check: Option<CheckName>,
    /// By the check itself: not those of an earlier check of the same name.
    pub check_id: Option<CheckId>,
    /// `Some(true)`: only open ones; `Some(false)`: only resolved ones.
    pub open: Option<bool>,
    pub limit: u32,
}

impl Store {
    /// Incidents, newest first.
    pub async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<IncidentRow>, StoreError> {
        let mut query = Sql::new(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE 1 = 1"
        ));
        if let Some(check) = &filter.check {
            query.push(" AND check_name = ").push_bind(check.as_str());
        }
        if let Some(id) = filter.check_id {
            query.push(" AND check_id = ").push_bind(id.0);
        }
        match filter.open {
            Some(true) => {
                query.push(" AND resolved_at IS NULL");
            }
            Some(false) => {
                query.push(" AND resolved_at IS NOT NULL");
            }
            None => {}
        }
        query
            .push(" ORDER BY opened_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(filter.limit));
        Ok(query.fetch_all(self.reader()).await?)
    }

    /// The newest `per_check` incidents of each of these checks, newest first, in one query
    /// per [`super::checks::NAMES_PER_QUERY`] checks.
    pub async fn recent_incidents(
        &self,
        ids: &[CheckId],
        per_check: u32,
    ) -> Result<Vec<IncidentRow>, StoreError> {
        let mut all = Vec::new();
        for chunk in ids.chunks(super::checks::NAMES_PER_QUERY) {
            let mut query = Sql::new(format!(
                "SELECT {INCIDENT_COLUMNS} FROM (\
                 SELECT *, ROW_NUMBER() OVER \
                 (PARTITION BY check_id ORDER BY opened_at DESC, id DESC) AS nth \
                 FROM incidents WHERE check_id IN "
            ));
            query.push_list(chunk.iter().map(|id| id.0));
            query
                .push(") AS numbered WHERE nth <= ")
                .push_bind(i64::from(per_check));
            let rows: Vec<IncidentRow> = query.fetch_all(self.reader()).await?;
            all.extend(rows);
        }
        all.sort_by_key(|i| std::cmp::Reverse((i.opened_at, i.id)));
        Ok(all)
    }

    /// Who acknowledged each open incident that was, by check id.
    pub async fn open_acknowledgements(
        &self,
    ) -> Result<std::collections::HashMap<i64, String>, StoreError> {
        let rows: Vec<(i64, Option<String>)> = Sql::new(
            "SELECT check_id, acked_by FROM incidents \
             WHERE resolved_at IS NULL AND acked_at IS NOT NULL",
        )
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, by)| (id, by.unwrap_or_default()))
            .collect())
    }

    /// The open incident of the check named `check`, if it has one.
    pub async fn open_incident_of(&self, check: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            Sql::new("SELECT id FROM incidents WHERE check_name = $1 AND resolved_at IS NULL")
                .bind(check)
                .scalar_optional(self.reader())
                .await?,
        )
    }

    /// Acknowledges incident `id` once: its reminders stop (see `record_events`) and one
    /// `acknowledged` alert goes to its check's contacts (as `routing` says), in the same
    /// transaction; a second acknowledgement changes and sends nothing.
    pub async fn acknowledge(
        &self,
        id: i64,
        ack: &Acknowledgement,
        at: Timestamp,
        routing: &Routing,
    ) -> Result<Acked, StoreError> {
        let mut tx = self.begin().await?;
        let read = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1");
        let row: Option<IncidentRow> = Sql::new(read.clone())
            .bind(id)
            .fetch_optional(tx.on())
            .await?;
        let Some(row) = row else {
            return Ok(Acked::Unknown);
        };
        if row.resolved_at.is_some() {
            return Ok(Acked::Resolved(row));
        }
        if row.acked_at.is_some() {
            return Ok(Acked::Already(row));
        }
        let check_id: i64 = Sql::new(
            "UPDATE incidents SET acked_at = $1, acked_by = $2, ack_note = $3 \
             WHERE id = $4 AND acked_at IS NULL AND resolved_at IS NULL RETURNING check_id",
        )
        .bind(at.0)
        .bind(ack.by().to_owned())
        .bind(ack.note().map(str::to_owned))
        .bind(id)
        .scalar_one(tx.on())
        .await?;
        let check: Option<CheckRow> = Sql::new(format!("{SELECT_CHECK} WHERE id = $1"))
            .bind(check_id)
            .fetch_optional(tx.on())
            .await?;
        if let Some(check) = check.map(Check::try_from).transpose()? {
            let alert = NewAlert {
                event: AlertEvent {
                    kind: AlertKind::Acknowledged,
                    facts: AlertFacts {
                        cause: Some(row.cause.clone()),
                        down_since: Some(Timestamp(row.opened_at)),
                        acked_by: Some(ack.by().to_owned()),
                        note: ack.note().map(str::to_owned),
                        ..AlertFacts::of(&check.spec)
                    },
                },
                contacts: routing.contacts(&check.spec, AlertKind::Acknowledged, at),
            };
            super::alerts::insert_alert(&mut tx, check.id, check.name.as_str(), &alert, at).await?;
        }
        let row: IncidentRow = Sql::new(read).bind(id).fetch_one(tx.on()).await?;
        tx.commit().await?;
        Ok(Acked::Now(row))
    }

    /// Files the escalations due at `now`: for each open incident nobody acknowledged
    /// whose DOWN went out at least its escalation's minutes ago (the check's own
    /// `escalate_after`, or an escalation route's of `routing`), one `escalated` alert to
    /// the escalation's contacts, by compare-and-set on the incident, so it goes out once
    /// whichever instance files it. Returns how many were filed.
    pub async fn file_escalations(
        &self,
        now: Timestamp,
        routing: &Routing,
    ) -> Result<usize, StoreError> {
        const OPEN: &str = "i.resolved_at IS NULL AND i.acked_at IS NULL \
             AND i.escalated_at IS NULL AND s.alerted_health = $1";
        let query = if routing.escalates() {
            // A route may match any outage: every open one is read.
            Sql::new(format!(
                "SELECT i.id, i.opened_at, i.cause, i.check_id FROM incidents i \
                 JOIN checks c ON c.id = i.check_id \
                 JOIN check_state s ON s.check_id = i.check_id WHERE {OPEN}"
            ))
            .bind(i64::from(Health::Down.code()))
        } else {
            // Only a check's own escalation counts. Its minutes are in a column (null when
            // off), so the read starts from the checks that escalate, through their index
            // (CROSS JOIN keeps SQLite from starting at every open outage instead), and
            // takes only the outages already due.
            Sql::new(format!(
                "SELECT i.id, i.opened_at, i.cause, i.check_id FROM checks c \
                 CROSS JOIN incidents i CROSS JOIN check_state s \
                 WHERE i.check_id = c.id AND s.check_id = c.id AND {OPEN} \
                 AND c.escalate_after IS NOT NULL \
                 AND i.opened_at <= $2 - c.escalate_after * 60000"
            ))
            .bind(i64::from(Health::Down.code()))
            .bind(now.0)
        };
        let candidates: Vec<(i64, i64, String, i64)> = query.fetch_all(self.reader()).await?;
        let mut filed = 0;
        for (id, opened_at, cause, check_id) in candidates {
            let row: Option<CheckRow> = Sql::new(format!("{SELECT_CHECK} WHERE id = $1"))
                .bind(check_id)
                .fetch_optional(self.reader())
                .await?;
            let Some(check) = row.map(Check::try_from).transpose()? else {
                continue;
            };
            let Some(escalation) = routing.escalation(&check.spec, now) else {
                continue;
            };
            if now.0 < opened_at + i64::from(escalation.after_minutes()) * 60_000 {
                continue;
            }
            let mut tx = self.begin().await?;
            let claimed = Sql::new(
                "UPDATE incidents SET escalated_at = $1 WHERE id = $2 AND escalated_at IS NULL \
                 AND acked_at IS NULL AND resolved_at IS NULL",
            )
            .bind(now.0)
            .bind(id)
            .execute(tx.on())
            .await?;
            if claimed == 1 {
                let alert = NewAlert {
                    event: AlertEvent {
                        kind: AlertKind::Escalated,
                        facts: AlertFacts {
                            cause: Some(cause),
                            down_since: Some(Timestamp(opened_at)),
                            downtime_s: u64::try_from((now.0 - opened_at) / 1_000).ok(),
                            ..AlertFacts::of(&check.spec)
                        },
                    },
                    contacts: escalation.contacts().to_vec(),
                };
                super::alerts::insert_alert(&mut tx, check.id, check.name.as_str(), &alert, now)
                    .await?;
                filed += 1;
            }
            tx.commit().await?;
        }
        Ok(filed)
    }
}
