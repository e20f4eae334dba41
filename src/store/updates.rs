//! Status updates of a stack: written, edited (each earlier text kept) and deleted (the row
//! kept, marked), read newest first for the stack's page, its feeds and the API.

use sqlx::FromRow;

use super::db::Sql;
use super::{Store, StoreError};
use crate::domain::{
    CheckName, FieldError, FieldErrors, StackName, Timestamp, UpdateText, update_mail,
};

/// An update as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub id: i64,
    pub stack: StackName,
    /// The detected incident it is about, if any.
    pub incident_id: Option<i64>,
    pub text: UpdateText,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
}

/// An earlier text of an update: written at `written_at`, replaced at `replaced_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateRevision {
    pub text: UpdateText,
    pub written_at: Timestamp,
    pub replaced_at: Timestamp,
}

#[derive(FromRow)]
struct UpdateRow {
    id: i64,
    stack: String,
    incident_id: Option<i64>,
    stage: String,
    message: String,
    checks: String,
    created_at: i64,
    edited_at: Option<i64>,
    deleted_at: Option<i64>,
}

#[derive(FromRow)]
struct RevisionRow {
    stage: String,
    message: String,
    checks: String,
    written_at: i64,
    replaced_at: i64,
}

const UPDATE_COLUMNS: &str =
    "id, stack, incident_id, stage, message, checks, created_at, edited_at, deleted_at";

/// Reads a stored text back; `what` names the row if it cannot be.
fn text_of(what: &str, stage: &str, message: &str, checks: &str) -> Result<UpdateText, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        name: what.to_owned(),
        reason,
    };
    let checks: Vec<String> = serde_json::from_str(checks).map_err(|e| corrupt(e.to_string()))?;
    UpdateText::read(stage, message, &checks).map_err(|errors| {
        corrupt(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

/// The check names as stored: a JSON array.
fn checks_column(checks: &[CheckName]) -> String {
    let names: Vec<&str> = checks.iter().map(CheckName::as_str).collect();
    serde_json::Value::from(names).to_string()
}

impl TryFrom<UpdateRow> for StatusUpdate {
    type Error = StoreError;

    fn try_from(row: UpdateRow) -> Result<Self, StoreError> {
        let what = format!("status update {}", row.id);
        Ok(Self {
            id: row.id,
            stack: row.stack.parse().map_err(|_| StoreError::Corrupt {
                name: what.clone(),
                reason: "stack".into(),
            })?,
            incident_id: row.incident_id,
            text: text_of(&what, &row.stage, &row.message, &row.checks)?,
            created_at: Timestamp(row.created_at),
            edited_at: row.edited_at.map(Timestamp),
            deleted_at: row.deleted_at.map(Timestamp),
        })
    }
}

impl Store {
    /// Stores a new update of `stack`, and in the same transaction its mail to each of
    /// the stack's confirmed subscribers.
    pub async fn add_status_update(
        &self,
        stack: &StackName,
        incident_id: Option<i64>,
        text: UpdateText,
        now: Timestamp,
    ) -> Result<StatusUpdate, StoreError> {
        let mut tx = self.begin().await?;
        let id: i64 = Sql::new(
            "INSERT INTO status_updates (stack, incident_id, stage, message, checks, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(stack.as_str())
        .bind(incident_id)
        .bind(text.stage.as_str())
        .bind(text.message.as_str())
        .bind(checks_column(&text.checks))
        .bind(now.0)
        .scalar_one(tx.on())
        .await?;
        let (subject, body) = update_mail(stack, &text);
        super::subscribers::queue_to_stack(&mut tx, stack, &subject, &body, now).await?;
        tx.commit().await?;
        Ok(StatusUpdate {
            id,
            stack: stack.clone(),
            incident_id,
            text,
            created_at: now,
            edited_at: None,
            deleted_at: None,
        })
    }

    /// The stack's updates that are not deleted, newest first, at most `limit`.
    pub async fn status_updates(
        &self,
        stack: &StackName,
        limit: u32,
    ) -> Result<Vec<StatusUpdate>, StoreError> {
        let rows: Vec<UpdateRow> = Sql::new(format!(
            "SELECT {UPDATE_COLUMNS} FROM status_updates \
             WHERE stack = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(stack.as_str())
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(StatusUpdate::try_from).collect()
    }

    /// One update of `stack` (deleted or not) and its earlier texts, oldest first.
    pub async fn status_update(
        &self,
        stack: &StackName,
        id: i64,
    ) -> Result<Option<(StatusUpdate, Vec<UpdateRevision>)>, StoreError> {
        let row: Option<UpdateRow> = Sql::new(format!(
            "SELECT {UPDATE_COLUMNS} FROM status_updates WHERE id = $1 AND stack = $2"
        ))
        .bind(id)
        .bind(stack.as_str())
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let update = StatusUpdate::try_from(row)?;
        let rows: Vec<RevisionRow> = Sql::new(
            "SELECT stage, message, checks, written_at, replaced_at FROM status_update_history \
             WHERE update_id = $1 ORDER BY replaced_at, written_at",
        )
        .bind(id)
        .fetch_all(self.reader())
        .await?;
        let what = format!("status update {id}");
        let history = rows
            .into_iter()
            .map(|r| {
                Ok(UpdateRevision {
                    text: text_of(&what, &r.stage, &r.message, &r.checks)?,
                    written_at: Timestamp(r.written_at),
                    replaced_at: Timestamp(r.replaced_at),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some((update, history)))
    }

    /// Replaces the text of a live update of `stack`, keeping the one it had; `None` when
    /// there is no such update (or it is deleted).
    pub async fn edit_status_update(
        &self,
        stack: &StackName,
        id: i64,
        text: UpdateText,
        now: Timestamp,
    ) -> Result<Option<StatusUpdate>, StoreError> {
        let mut tx = self.begin().await?;
        let row: Option<UpdateRow> = Sql::new(format!(
            "SELECT {UPDATE_COLUMNS} FROM status_updates \
             WHERE id = $1 AND stack = $2 AND deleted_at IS NULL"
        ))
        .bind(id)
        .bind(stack.as_str())
        .fetch_optional(tx.on())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut update = StatusUpdate::try_from(row)?;
        Sql::new(
            "INSERT INTO status_update_history \
             (update_id, stage, message, checks, written_at, replaced_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(update.text.stage.as_str())
        .bind(update.text.message.as_str())
        .bind(checks_column(&update.text.checks))
        .bind(update.edited_at.unwrap_or(update.created_at).0)
        .bind(now.0)
        .execute(tx.on())
        .await?;
        Sql::new(
            "UPDATE status_updates SET stage = $1, message = $2, checks = $3, edited_at = $4 \
             WHERE id = $5",
        )
        .bind(text.stage.as_str())
        .bind(text.message.as_str())
        .bind(checks_column(&text.checks))
        .bind(now.0)
        .bind(id)
        .execute(tx.on())
        .await?;
        tx.commit().await?;
        update.text = text;
        update.edited_at = Some(now);
        Ok(Some(update))
    }

    /// Marks a live update of `stack` deleted (its texts are kept); whether there was one.
    pub async fn delete_status_update(
        &self,
        stack: &StackName,
        id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = Sql::new(
            "UPDATE status_updates SET deleted_at = $1 \
             WHERE id = $2 AND stack = $3 AND deleted_at IS NULL",
        )
        .bind(now.0)
        .bind(id)
        .bind(stack.as_str())
        .execute(self.writer())
        .await?;
        Ok(done > 0)
    }

    /// The name of the check an incident is of, if the check is one of `stack`'s now.
    pub async fn incident_check_in_stack(
        &self,
        incident_id: i64,
        stack: &StackName,
    ) -> Result<Option<String>, StoreError> {
        Ok(Sql::new(
            "SELECT i.check_name FROM incidents i JOIN checks c ON c.id = i.check_id \
             WHERE i.id = $1 AND c.stack = $2",
        )
        .bind(incident_id)
        .bind(stack.as_str())
        .scalar_optional(self.reader())
        .await?)
    }

    /// Holds a text's checks to `stack`'s checks now and the incident to one of them: what
    /// does not fit, each naming its field. With an incident and no checks, the text
    /// concerns the incident's check.
    pub async fn fit_to_stack(
        &self,
        stack: &StackName,
        text: &mut UpdateText,
        incident_id: Option<i64>,
    ) -> Result<FieldErrors, StoreError> {
        let mut errors = Vec::new();
        if let Some(id) = incident_id {
            match self.incident_check_in_stack(id, stack).await? {
                Some(check) => {
                    if text.checks.is_empty()
                        && let Ok(name) = check.parse()
                    {
                        text.checks.push(name);
                    }
                }
                None => errors.push(FieldError::new(
                    "incident_id",
                    format!("no incident {id} of a check of stack {stack}"),
                )),
            }
        }
        let present = self.checks_in_stack(stack, &text.checks).await?;
        for (i, name) in text.checks.iter().enumerate() {
            if !present.iter().any(|p| p == name.as_str()) {
                errors.push(FieldError::new(
                    format!("checks[{i}]"),
                    format!("no check {name} in stack {stack}"),
                ));
            }
        }
        Ok(errors)
    }

    /// How many checks `stack` holds now.
    pub async fn checks_in_stack_count(&self, stack: &StackName) -> Result<i64, StoreError> {
        Ok(Sql::new("SELECT COUNT(*) FROM checks WHERE stack = $1")
            .bind(stack.as_str())
            .scalar_one(self.reader())
            .await?)
    }

    /// Which of `names` are checks of `stack` now.
    pub async fn checks_in_stack(
        &self,
        stack: &StackName,
        names: &[CheckName],
    ) -> Result<Vec<String>, StoreError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = Sql::new("SELECT name FROM checks WHERE stack = ");
        query.push_bind(stack.as_str()).push(" AND name IN ");
        query.push_list(names.iter().map(|n| n.as_str().to_owned()));
        Ok(query.scalar_all(self.reader()).await?)
    }
}
