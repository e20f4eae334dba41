//! Check writes: insert-or-update by name with change detection, the tags that follow a
//! check's spec, and the random keys of heartbeats and subscribers.

use super::checks::fetch_check;
use super::db::{Sql, Tx};
use super::{Store, StoreError};
use crate::domain::{Check, CheckId, CheckName, CheckSpec, Tag, Timestamp};

/// When a write happens, and whether it is kept.
#[derive(Debug, Clone, Copy)]
pub struct WriteMode {
    pub now: Timestamp,
    /// Compute the outcome, then roll back: what `?dry_run=true` and check mode use.
    pub dry_run: bool,
}

impl WriteMode {
    /// A write that is kept.
    pub fn commit(now: Timestamp) -> Self {
        Self {
            now,
            dry_run: false,
        }
    }

    /// Commits, or rolls back in a dry run.
    pub(super) async fn finish(self, tx: Tx) -> Result<(), StoreError> {
        if self.dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(())
    }
}

/// A check as a client wants it stored.
#[derive(Debug, Clone)]
pub struct CheckWrite {
    /// The full configuration.
    pub spec: CheckSpec,
    /// `Some` sets the paused flag; `None` keeps the stored one (false for a new check), so a
    /// redeploy does not resume a check someone paused by hand.
    pub paused: Option<bool>,
}

/// What an insert-or-update did.
#[derive(Debug, Clone)]
pub enum Upsert {
    Created(Check),
    Updated(Check),
    Unchanged(Check),
}

impl Upsert {
    /// The check as it is stored now.
    pub fn check(&self) -> &Check {
        match self {
            Self::Created(c) | Self::Updated(c) | Self::Unchanged(c) => c,
        }
    }

    /// The check as it is stored now, taken out.
    pub fn into_check(self) -> Check {
        match self {
            Self::Created(c) | Self::Updated(c) | Self::Unchanged(c) => c,
        }
    }
}

impl Store {
    /// Creates the check or updates it; writes nothing when it is already as asked. In a
    /// dry run the answer is the same but nothing is kept (the transaction rolls back).
    pub async fn upsert_check(
        &self,
        name: &CheckName,
        write: CheckWrite,
        mode: WriteMode,
    ) -> Result<Upsert, StoreError> {
        let mut tx = self.begin_config().await?;
        let outcome = upsert_in(&mut tx, name, write, mode.now).await?;
        super::dependencies::check_dependencies(&mut tx, &[(0, name, &outcome.check().spec)])
            .await?;
        mode.finish(tx).await?;
        Ok(outcome)
    }
}

/// The insert-or-update step, inside the caller's transaction.
pub(super) async fn upsert_in(
    tx: &mut Tx,
    name: &CheckName,
    write: CheckWrite,
    now: Timestamp,
) -> Result<Upsert, StoreError> {
    let existing = fetch_check(tx.on(), name).await?;
    upsert_known(tx, name, existing, write, now).await
}

/// The insert-or-update step for a check whose stored form (`existing`, `None` when there
/// is none) the caller read in this transaction: a stack's checks are read in one query,
/// not one each.
pub(super) async fn upsert_known(
    tx: &mut Tx,
    name: &CheckName,
    existing: Option<Check>,
    mut write: CheckWrite,
    now: Timestamp,
) -> Result<Upsert, StoreError> {
    if let Some(before) = &existing {
        // A client that read the check and writes it back sends `<redacted>` for secrets.
        write.spec.keep_secrets_of(&before.spec);
    }
    let spec_json =
        super::spec_form::encode(&write.spec).map_err(|reason| StoreError::Corrupt {
            name: name.to_string(),
            reason,
        })?;
    let stack = write.spec.stack().as_ref().map(|s| s.as_str().to_owned());
    let escalate_after = write
        .spec
        .escalation()
        .map(|(minutes, _)| i64::from(minutes));
    let degraded_after_ms = write.spec.degraded_after_ms().map(i64::from);
    let is_heartbeat = write.spec.is_heartbeat();
    let kind = write.spec.target().kind();
    let Some(before) = existing else {
        let paused = write.paused.unwrap_or(false);
        let ping_key = if is_heartbeat {
            Some(random_key("ping key")?)
        } else {
            None
        };
        let id: i64 = Sql::new(
            "INSERT INTO checks (name, stack, paused, spec, ping_key, created_at, updated_at, \
             escalate_after, kind, degraded_after_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(name.as_str())
        .bind(&stack)
        .bind(paused)
        .bind(&spec_json)
        .bind(&ping_key)
        .bind(now.0)
        .bind(now.0)
        .bind(escalate_after)
        .bind(kind)
        .bind(degraded_after_ms)
        .scalar_one(tx.on())
        .await?;
        insert_tags(tx, CheckId(id), write.spec.tags()).await?;
        return Ok(Upsert::Created(Check {
            id: CheckId(id),
            name: name.clone(),
            spec: write.spec,
            ping_key,
            paused,
            created_at: now,
            updated_at: now,
        }));
    };
    let paused = write.paused.unwrap_or(before.paused);
    if before.spec == write.spec && before.paused == paused {
        return Ok(Upsert::Unchanged(before));
    }
    // A heartbeat keeps its key across updates, so the job's crontab stays right.
    let ping_key = match (&before.ping_key, is_heartbeat) {
        (_, false) => None,
        (Some(key), true) => Some(key.clone()),
        (None, true) => Some(random_key("ping key")?),
    };
    Sql::new(
        "UPDATE checks SET stack = $1, paused = $2, spec = $3, ping_key = $4, updated_at = $5, \
         escalate_after = $6, kind = $7, degraded_after_ms = $8 WHERE id = $9",
    )
    .bind(&stack)
    .bind(paused)
    .bind(&spec_json)
    .bind(&ping_key)
    .bind(now.0)
    .bind(escalate_after)
    .bind(kind)
    .bind(degraded_after_ms)
    .bind(before.id.0)
    .execute(tx.on())
    .await?;
    if before.spec.tags() != write.spec.tags() {
        write_tags(tx, before.id, write.spec.tags()).await?;
    }
    Ok(Upsert::Updated(Check {
        spec: write.spec,
        ping_key,
        paused,
        updated_at: now,
        ..before
    }))
}

/// 128 random bits, as hex: a heartbeat's ping key, a subscriber's token.
pub(super) fn random_key(what: &str) -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Corrupt {
        name: what.to_owned(),
        reason: format!("no randomness: {e}"),
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Replaces a stored check's tags.
async fn write_tags(tx: &mut Tx, id: CheckId, tags: &[Tag]) -> Result<(), StoreError> {
    Sql::new("DELETE FROM check_tags WHERE check_id = $1")
        .bind(id.0)
        .execute(tx.on())
        .await?;
    insert_tags(tx, id, tags).await
}

/// Adds tags to a check that has none (a new one: deleting a check deletes its tags).
async fn insert_tags(tx: &mut Tx, id: CheckId, tags: &[Tag]) -> Result<(), StoreError> {
    for tag in tags {
        Sql::new("INSERT INTO check_tags (tag, check_id) VALUES ($1, $2)")
            .bind(tag.as_str())
            .bind(id.0)
            .execute(tx.on())
            .await?;
    }
    Ok(())
}
