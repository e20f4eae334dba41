//! Checks: reads, filtered lists and pages in name order, pause and delete.

use std::collections::HashMap;

use sqlx::FromRow;

use super::db::{On, Sql, Tx};
use super::{Store, StoreError};
use crate::domain::{
    Check, CheckId, CheckName, CheckSpec, Health, StackName, Tag, Target, Timestamp,
};

/// Which checks a list returns; every set field must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckFilter {
    pub stack: Option<StackName>,
    pub tag: Option<Tag>,
    pub paused: Option<bool>,
    /// Only heartbeats (`true`) or only the other kinds (`false`).
    pub heartbeat: Option<bool>,
    /// Only checks with any of these tags (empty: no condition).
    pub any_tag: Vec<String>,
    /// Only checks with every one of these tags (empty: no condition).
    pub all_tags: Vec<String>,
    /// Only checks confirmed DOWN (`true`) or only the others (`false`).
    pub down: Option<bool>,
    /// Only domain checks (`true`) or only the other kinds (`false`).
    pub domain: Option<bool>,
    /// Only checks made as StatusCake SSL tests (`true`) or only the others (`false`).
    pub ssl_test: Option<bool>,
    /// Only checks whose name contains this text.
    pub name_contains: Option<String>,
}

impl CheckFilter {
    /// Adds the filter's conditions to a query over `checks` that already has a `WHERE`.
    pub(super) fn push_conditions<'a>(&'a self, query: &mut Sql<'a>) {
        if let Some(stack) = &self.stack {
            query.push(" AND stack = ").push_bind(stack.as_str());
        }
        if let Some(paused) = self.paused {
            query.push(" AND paused = ").push_bind(paused);
        }
        if let Some(tag) = &self.tag {
            query
                .push(" AND id IN (SELECT check_id FROM check_tags WHERE tag = ")
                .push_bind(tag.as_str())
                .push(")");
        }
        for (wanted, kind) in [
            (self.heartbeat, Target::HEARTBEAT),
            (self.domain, Target::DOMAIN),
        ] {
            if let Some(wanted) = wanted {
                let op = if wanted { "=" } else { "<>" };
                query.push(&format!(" AND kind {op} '{kind}'"));
            }
        }
        if !self.any_tag.is_empty() {
            query.push(" AND id IN (SELECT check_id FROM check_tags WHERE tag IN ");
            query.push_list(self.any_tag.iter().map(|tag| tag.as_str()));
            query.push(")");
        }
        if let Some(ssl) = self.ssl_test {
            query
                .push(if ssl { " AND id IN" } else { " AND id NOT IN" })
                .push(" (SELECT check_id FROM statuscake_fields WHERE fields LIKE ")
                .push_bind(super::statuscake::ssl_test_pattern())
                .push(")");
        }
        for tag in &self.all_tags {
            query
                .push(" AND id IN (SELECT check_id FROM check_tags WHERE tag = ")
                .push_bind(tag.as_str())
                .push(")");
        }
        if let Some(part) = &self.name_contains {
            let escaped = part
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            query
                .push(" AND name LIKE ")
                .push_bind(format!("%{escaped}%"))
                .push(" ESCAPE '\\'");
        }
        if let Some(down) = self.down {
            query
                .push(if down { " AND id IN" } else { " AND id NOT IN" })
                .push(" (SELECT check_id FROM check_state WHERE health = ")
                .push_bind(i64::from(Health::Down.code()))
                .push(")");
        }
    }
}

/// Where a page of checks starts, in name order.
#[derive(Debug, Clone, Copy)]
pub enum PageStart<'a> {
    /// After this name (the first page: `None`).
    After(Option<&'a CheckName>),
    /// After skipping this many (numbered pages).
    Skip(u64),
}

#[derive(FromRow)]
pub(super) struct CheckRow {
    id: i64,
    name: String,
    paused: bool,
    spec: String,
    ping_key: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<CheckRow> for Check {
    type Error = StoreError;

    fn try_from(row: CheckRow) -> Result<Self, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            name: row.name.clone(),
            reason,
        };
        let spec: CheckSpec = super::spec_form::decode(&row.spec).map_err(corrupt)?;
        let name = row.name.parse().map_err(|e| corrupt(format!("{e}")))?;
        Ok(Check {
            id: CheckId(row.id),
            name,
            spec,
            ping_key: row.ping_key.map(String::into_boxed_str),
            paused: row.paused,
            created_at: Timestamp(row.created_at),
            updated_at: Timestamp(row.updated_at),
        })
    }
}

/// Names or ids bound in one `IN (…)` list.
pub(super) const NAMES_PER_QUERY: usize = 500;

pub(super) const SELECT_CHECK: &str =
    "SELECT id, name, paused, spec, ping_key, created_at, updated_at FROM checks";

impl Store {
    /// The check whose heartbeat ping key is `key`, if any.
    pub async fn check_by_ping_key(&self, key: &str) -> Result<Option<Check>, StoreError> {
        let row: Option<CheckRow> = Sql::new(format!("{SELECT_CHECK} WHERE ping_key = $1"))
            .bind(key)
            .fetch_optional(self.reader())
            .await?;
        row.map(Check::try_from).transpose()
    }

    /// The check named `name`, if any.
    pub async fn get_check(&self, name: &CheckName) -> Result<Option<Check>, StoreError> {
        fetch_check(self.reader(), name).await
    }

    /// The checks with these names that exist, a few hundred names per query.
    pub async fn checks_named(&self, names: &[CheckName]) -> Result<Vec<Check>, StoreError> {
        let mut checks = Vec::with_capacity(names.len());
        for chunk in names.chunks(NAMES_PER_QUERY) {
            let rows: Vec<CheckRow> = select_named(chunk).fetch_all(self.reader()).await?;
            for row in rows {
                checks.push(Check::try_from(row)?);
            }
        }
        Ok(checks)
    }

    /// Up to `limit` checks matching `filter`, ordered by name, starting after `after`.
    pub async fn list_checks(
        &self,
        filter: &CheckFilter,
        after: Option<&CheckName>,
        limit: u32,
    ) -> Result<Vec<Check>, StoreError> {
        self.checks_from(filter, PageStart::After(after), limit)
            .await
    }

    /// Up to `limit` checks matching `filter`, ordered by name, from `start`.
    pub async fn checks_from(
        &self,
        filter: &CheckFilter,
        start: PageStart<'_>,
        limit: u32,
    ) -> Result<Vec<Check>, StoreError> {
        let mut query = Sql::new(SELECT_CHECK);
        query.push(" WHERE 1 = 1");
        filter.push_conditions(&mut query);
        if let PageStart::After(Some(after)) = start {
            query.push(" AND name > ").push_bind(after.as_str());
        }
        query
            .push(" ORDER BY name LIMIT ")
            .push_bind(i64::from(limit));
        if let PageStart::Skip(skip) = start {
            query
                .push(" OFFSET ")
                .push_bind(i64::try_from(skip).unwrap_or(i64::MAX));
        }
        let rows: Vec<CheckRow> = query.fetch_all(self.reader()).await?;
        rows.into_iter().map(Check::try_from).collect()
    }

    /// How many checks match `filter`.
    pub async fn count_checks(&self, filter: &CheckFilter) -> Result<u64, StoreError> {
        let mut query = Sql::new("SELECT COUNT(*) FROM checks WHERE 1 = 1");
        filter.push_conditions(&mut query);
        let count: i64 = query.scalar_one(self.reader()).await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Sets the paused flag; `None` when there is no such check, else the check and whether
    /// the flag changed.
    pub async fn set_paused(
        &self,
        name: &CheckName,
        paused: bool,
        now: Timestamp,
    ) -> Result<Option<(Check, bool)>, StoreError> {
        let mut tx = self.begin_config().await?;
        let Some(mut check) = fetch_check(tx.on(), name).await? else {
            return Ok(None);
        };
        let changed = check.paused != paused;
        if changed {
            Sql::new("UPDATE checks SET paused = $1, updated_at = $2 WHERE id = $3")
                .bind(paused)
                .bind(now.0)
                .bind(check.id.0)
                .execute(tx.on())
                .await?;
            check.paused = paused;
            check.updated_at = now;
        }
        tx.commit().await?;
        Ok(Some((check, changed)))
    }

    /// Deletes the check; whether it existed.
    pub async fn delete_check(&self, name: &CheckName) -> Result<bool, StoreError> {
        let mut tx = self.begin_config().await?;
        let done = Sql::new("DELETE FROM checks WHERE name = $1")
            .bind(name.as_str())
            .execute(tx.on())
            .await?;
        tx.commit().await?;
        Ok(done > 0)
    }
}

/// The checks with these names that exist, by name, inside the caller's transaction.
pub(super) async fn checks_named_in(
    tx: &mut Tx,
    names: &[CheckName],
) -> Result<HashMap<CheckName, Check>, StoreError> {
    let mut checks = HashMap::with_capacity(names.len());
    for chunk in names.chunks(NAMES_PER_QUERY) {
        let rows: Vec<CheckRow> = select_named(chunk).fetch_all(tx.on()).await?;
        for row in rows {
            let check = Check::try_from(row)?;
            checks.insert(check.name.clone(), check);
        }
    }
    Ok(checks)
}

/// The query for the checks with these names (at most [`NAMES_PER_QUERY`]).
fn select_named(names: &[CheckName]) -> Sql<'_> {
    let mut query = Sql::new(SELECT_CHECK);
    query.push(" WHERE name IN ");
    query.push_list(names.iter().map(|name| name.as_str()));
    query
}

pub(super) async fn fetch_check(on: On<'_>, name: &CheckName) -> Result<Option<Check>, StoreError> {
    let row: Option<CheckRow> = Sql::new(format!("{SELECT_CHECK} WHERE name = $1"))
        .bind(name.as_str())
        .fetch_optional(on)
        .await?;
    row.map(Check::try_from).transpose()
}
