//! Incidents: confirmed outages, listed for the API.

use sqlx::FromRow;

use super::db::Sql;
use super::{Store, StoreError};
use crate::domain::{CheckId, CheckName};

/// A stored incident.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct IncidentRow {
    pub id: i64,
    pub check_name: String,
    pub opened_at: i64,
    pub resolved_at: Option<i64>,
    pub cause: String,
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
        let mut query = Sql::new(
            "SELECT id, check_name, opened_at, resolved_at, cause FROM incidents WHERE 1 = 1",
        );
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
            let mut query = Sql::new(
                "SELECT id, check_name, opened_at, resolved_at, cause FROM (\
                 SELECT *, ROW_NUMBER() OVER \
                 (PARTITION BY check_id ORDER BY opened_at DESC, id DESC) AS nth \
                 FROM incidents WHERE check_id IN ",
            );
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
}
