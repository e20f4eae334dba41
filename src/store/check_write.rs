//! Check writes: insert-or-update by name with change detection, the tags that follow a
//! check's spec, and the random keys of heartbeats and subscribers.

use std::collections::HashMap;

use super::checks::fetch_check;
use super::db::{Sql, Tx};
use super::statement_chunks::statement_chunks;
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
    let mut outcomes = upsert_all(tx, vec![(name.clone(), existing, write)], now).await?;
    outcomes.pop().ok_or_else(|| missing(name))
}

/// The insert-or-update step for checks whose stored forms (`None` where there is none)
/// the caller read in this transaction (a stack's checks are read in one query, not one
/// each); outcomes in the order given. New checks go [`INSERT_ROWS`] to a statement: a
/// stack of 1,000 new checks was 1,000 inserts, each a round trip to the database's thread.
pub(super) async fn upsert_all(
    tx: &mut Tx,
    checks: Vec<(CheckName, Option<Check>, CheckWrite)>,
    now: Timestamp,
) -> Result<Vec<Upsert>, StoreError> {
    let mut done = Vec::with_capacity(checks.len());
    let mut new = Vec::new();
    for (name, existing, write) in checks {
        match existing {
            Some(before) => done.push(Some(update_known(tx, &name, before, write, now).await?)),
            None => {
                new.push(NewCheck::of(name, write)?);
                done.push(None);
            }
        }
    }
    let mut created = insert_new(tx, new, now).await?.into_iter();
    done.into_iter()
        .map(|outcome| match outcome {
            Some(outcome) => Ok(outcome),
            None => created
                .next()
                .map(Upsert::Created)
                .ok_or_else(|| StoreError::Corrupt {
                    name: "checks".to_owned(),
                    reason: "fewer checks inserted than asked".to_owned(),
                }),
        })
        .collect()
}

/// Rows of a multi-row insert into `checks` (ten parameters each) or `check_tags` (two).
const INSERT_ROWS: usize = 128;

/// A check about to be inserted, with the key a heartbeat is given.
struct NewCheck {
    name: CheckName,
    spec: CheckSpec,
    columns: SpecColumns,
    paused: bool,
    ping_key: Option<String>,
}

impl NewCheck {
    fn of(name: CheckName, write: CheckWrite) -> Result<Self, StoreError> {
        let columns = SpecColumns::of(&name, &write.spec)?;
        let ping_key = if write.spec.is_heartbeat() {
            Some(random_key("ping key")?)
        } else {
            None
        };
        Ok(Self {
            name,
            columns,
            paused: write.paused.unwrap_or(false),
            ping_key,
            spec: write.spec,
        })
    }
}

/// What a check's row holds besides its spec's JSON, read from the spec for the queries
/// that filter on it.
struct SpecColumns {
    json: String,
    stack: Option<String>,
    escalate_after: Option<i64>,
    kind: &'static str,
    degraded_after_ms: Option<i64>,
    depends_on: Option<String>,
}

impl SpecColumns {
    fn of(name: &CheckName, spec: &CheckSpec) -> Result<Self, StoreError> {
        let json = super::spec_form::encode(spec).map_err(|reason| StoreError::Corrupt {
            name: name.to_string(),
            reason,
        })?;
        Ok(Self {
            json,
            stack: spec.stack().as_ref().map(|s| s.as_str().to_owned()),
            escalate_after: spec.escalation().map(|(minutes, _)| i64::from(minutes)),
            kind: spec.target().kind(),
            degraded_after_ms: spec.degraded_after_ms().map(i64::from),
            depends_on: super::dependencies::column(spec),
        })
    }
}

/// A check the insert or upsert gave nothing back for.
fn missing(name: &CheckName) -> StoreError {
    StoreError::Corrupt {
        name: name.to_string(),
        reason: "no row came back for it".to_owned(),
    }
}

/// Inserts the checks and their tags; the checks as stored, in the order given.
async fn insert_new(
    tx: &mut Tx,
    new: Vec<NewCheck>,
    now: Timestamp,
) -> Result<Vec<Check>, StoreError> {
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(new.len());
    for chunk in statement_chunks(&new, INSERT_ROWS) {
        let mut query = Sql::new(
            "INSERT INTO checks (name, stack, paused, spec, ping_key, created_at, updated_at, \
             escalate_after, kind, degraded_after_ms, depends_on) ",
        );
        query.push_values(chunk, |row, c| {
            row.push_bind(c.name.as_str())
                .push_bind(&c.columns.stack)
                .push_bind(c.paused)
                .push_bind(&c.columns.json)
                .push_bind(&c.ping_key)
                .push_bind(now.0)
                .push_bind(now.0)
                .push_bind(c.columns.escalate_after)
                .push_bind(c.columns.kind)
                .push_bind(c.columns.degraded_after_ms)
                .push_bind(&c.columns.depends_on);
        });
        // The rows come back in no promised order: each is matched by its name.
        query.push(" RETURNING id, name");
        let rows: Vec<(i64, String)> = query.fetch_all(tx.on()).await?;
        ids.extend(rows.into_iter().map(|(id, name)| (name, id)));
    }
    let checks = new
        .into_iter()
        .map(|c| {
            let id = ids
                .get(c.name.as_str())
                .copied()
                .ok_or_else(|| missing(&c.name))?;
            Ok(Check {
                id: CheckId(id),
                name: c.name,
                spec: c.spec,
                ping_key: c.ping_key.map(String::into_boxed_str),
                paused: c.paused,
                created_at: now,
                updated_at: now,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let tags: Vec<(&Tag, CheckId)> = checks
        .iter()
        .flat_map(|c| c.spec.tags().iter().map(|tag| (tag, c.id)))
        .collect();
    insert_tags(tx, &tags).await?;
    Ok(checks)
}

/// Updates a stored check unless it is already as asked.
async fn update_known(
    tx: &mut Tx,
    name: &CheckName,
    before: Check,
    mut write: CheckWrite,
    now: Timestamp,
) -> Result<Upsert, StoreError> {
    // A client that read the check and writes it back sends `<redacted>` for secrets.
    write.spec.keep_secrets_of(&before.spec);
    let paused = write.paused.unwrap_or(before.paused);
    if before.spec == write.spec && before.paused == paused {
        return Ok(Upsert::Unchanged(before));
    }
    let columns = SpecColumns::of(name, &write.spec)?;
    // A heartbeat keeps its key across updates, so the job's crontab stays right.
    let ping_key = match (&before.ping_key, write.spec.is_heartbeat()) {
        (_, false) => None,
        (Some(key), true) => Some(key.clone()),
        (None, true) => Some(random_key("ping key")?.into_boxed_str()),
    };
    Sql::new(
        "UPDATE checks SET stack = $1, paused = $2, spec = $3, ping_key = $4, updated_at = $5, \
         escalate_after = $6, kind = $7, degraded_after_ms = $8, depends_on = $9 WHERE id = $10",
    )
    .bind(&columns.stack)
    .bind(paused)
    .bind(&columns.json)
    .bind(ping_key.as_deref())
    .bind(now.0)
    .bind(columns.escalate_after)
    .bind(columns.kind)
    .bind(columns.degraded_after_ms)
    .bind(&columns.depends_on)
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
    let rows: Vec<(&Tag, CheckId)> = tags.iter().map(|tag| (tag, id)).collect();
    insert_tags(tx, &rows).await
}

/// Adds tags to checks that have none (new ones: deleting a check deletes its tags).
async fn insert_tags(tx: &mut Tx, rows: &[(&Tag, CheckId)]) -> Result<(), StoreError> {
    for chunk in statement_chunks(rows, INSERT_ROWS) {
        let mut query = Sql::new("INSERT INTO check_tags (tag, check_id) ");
        query.push_values(chunk, |row, (tag, id)| {
            row.push_bind(tag.as_str()).push_bind(id.0);
        });
        query.execute(tx.on()).await?;
    }
    Ok(())
}
