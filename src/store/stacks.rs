//! Stacks: make one stack hold exactly a given set of checks, in one transaction.

use std::collections::{HashMap, HashSet};

use super::check_write::{CheckWrite, Upsert, WriteMode, upsert_all};
use super::checks::checks_named_in;
use super::db::Sql;
use super::{Store, StoreError};
use crate::domain::{Check, CheckName, StackName};

/// What a stack sync did, by check name, each list sorted.
#[derive(Debug, Clone, Default)]
pub struct StackSync {
    pub created: Vec<CheckName>,
    pub updated: Vec<CheckName>,
    pub unchanged: Vec<CheckName>,
    pub deleted: Vec<CheckName>,
    /// The stack's checks after the sync, by name.
    pub checks: Vec<Check>,
    /// Whether the stack's status page is published (after the sync).
    pub status_page: bool,
    /// Whether this sync changed `status_page`.
    pub status_page_changed: bool,
}

impl StackSync {
    /// Whether anything was written.
    pub fn changed(&self) -> bool {
        self.status_page_changed
            || !(self.created.is_empty() && self.updated.is_empty() && self.deleted.is_empty())
    }
}

impl Store {
    /// Creates, updates and deletes so that `stack` holds exactly `desired`. A check that
    /// belongs to another stack is refused (and nothing is written) rather than moved, so two
    /// stacks declaring the same name cannot take it from each other on every deploy.
    pub async fn sync_stack(
        &self,
        stack: &StackName,
        desired: Vec<(CheckName, CheckWrite)>,
        status_page: Option<bool>,
        mode: WriteMode,
    ) -> Result<StackSync, StoreError> {
        let now = mode.now;
        let mut tx = self.begin_config().await?;
        let mut sync = StackSync::default();
        let mut keep: HashSet<String> = HashSet::with_capacity(desired.len());
        let mut index_of: HashMap<String, usize> = HashMap::with_capacity(desired.len());
        let names: Vec<CheckName> = desired.iter().map(|(name, _)| name.clone()).collect();
        let mut stored = checks_named_in(&mut tx, &names).await?;
        let mut planned = Vec::with_capacity(desired.len());
        for (index, (name, write)) in desired.into_iter().enumerate() {
            let existing = stored.remove(&name);
            if let Some(owner) = existing
                .as_ref()
                .and_then(|c| c.spec.stack().cloned())
                .filter(|owner| owner != stack)
            {
                return Err(StoreError::OwnedByOtherStack { index, name, owner });
            }
            index_of.insert(name.to_string(), index);
            keep.insert(name.to_string());
            planned.push((name, existing, write));
        }
        for outcome in upsert_all(&mut tx, planned, now).await? {
            let name = outcome.check().name.clone();
            match &outcome {
                Upsert::Created(_) => sync.created.push(name),
                Upsert::Updated(_) => sync.updated.push(name),
                Upsert::Unchanged(_) => sync.unchanged.push(name),
            }
            sync.checks.push(outcome.into_check());
        }
        let present: Vec<String> = Sql::new("SELECT name FROM checks WHERE stack = $1")
            .bind(stack.as_str())
            .scalar_all(tx.on())
            .await?;
        for name in present.into_iter().filter(|n| !keep.contains(n)) {
            let deleted: Option<String> =
                Sql::new("DELETE FROM checks WHERE name = $1 RETURNING name")
                    .bind(&name)
                    .scalar_optional(tx.on())
                    .await?;
            sync.deleted.extend(deleted.and_then(|n| n.parse().ok()));
        }
        // The stack now holds exactly the checks just written: the rest were deleted.
        sync.checks.sort_by(|a, b| a.name.cmp(&b.name));
        let written: Vec<_> = sync
            .checks
            .iter()
            .map(|c| {
                (
                    index_of.get(c.name.as_str()).copied().unwrap_or(0),
                    &c.name,
                    &c.spec,
                )
            })
            .collect();
        super::dependencies::check_dependencies(&mut tx, &written).await?;
        let published: Option<bool> =
            Sql::new("SELECT status_page FROM stack_settings WHERE stack = $1")
                .bind(stack.as_str())
                .scalar_optional(tx.on())
                .await?;
        sync.status_page = published.unwrap_or(false);
        if let Some(wanted) = status_page
            && wanted != sync.status_page
        {
            Sql::new(
                "INSERT INTO stack_settings (stack, status_page) VALUES ($1, $2) \
                 ON CONFLICT (stack) DO UPDATE SET status_page = excluded.status_page",
            )
            .bind(stack.as_str())
            .bind(wanted)
            .execute(tx.on())
            .await?;
            sync.status_page = wanted;
            sync.status_page_changed = true;
        }
        mode.finish(tx).await?;
        for list in [
            &mut sync.created,
            &mut sync.updated,
            &mut sync.unchanged,
            &mut sync.deleted,
        ] {
            list.sort();
        }
        Ok(sync)
    }

    /// The checks of `stack`, ordered by name.
    pub async fn stack_checks(&self, stack: &StackName) -> Result<Vec<Check>, StoreError> {
        self.list_checks(
            &super::CheckFilter {
                stack: Some(stack.clone()),
                ..Default::default()
            },
            None,
            u32::MAX,
        )
        .await
    }

    /// Deletes every check of `stack`; the names deleted, sorted.
    pub async fn delete_stack(&self, stack: &StackName) -> Result<Vec<CheckName>, StoreError> {
        let mut tx = self.begin_config().await?;
        let names: Vec<String> = Sql::new("DELETE FROM checks WHERE stack = $1 RETURNING name")
            .bind(stack.as_str())
            .scalar_all(tx.on())
            .await?;
        Sql::new("DELETE FROM stack_settings WHERE stack = $1")
            .bind(stack.as_str())
            .execute(tx.on())
            .await?;
        tx.commit().await?;
        let mut names: Vec<CheckName> = names.into_iter().filter_map(|n| n.parse().ok()).collect();
        names.sort();
        Ok(names)
    }
}
