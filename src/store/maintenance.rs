//! Maintenance windows: stored as rows, read back as domain windows.

use sqlx::FromRow;

use super::db::{Sql, Tx};
use super::{Store, StoreError};
use crate::domain::schedule::parse_cron;
use crate::domain::{MaintenanceScope, MaintenanceWindow, Timestamp, WindowTiming, parse_timezone};

#[derive(FromRow)]
struct WindowRow {
    id: i64,
    scope: String,
    target: Option<String>,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    cron: Option<String>,
    duration_s: Option<i64>,
    timezone: Option<String>,
    reason: Option<String>,
    public: bool,
    created_at: i64,
}

impl TryFrom<WindowRow> for MaintenanceWindow {
    type Error = StoreError;

    fn try_from(row: WindowRow) -> Result<Self, StoreError> {
        let corrupt = |reason: &str| StoreError::Corrupt {
            name: format!("maintenance window {}", row.id),
            reason: reason.to_owned(),
        };
        let target = || row.target.clone().ok_or_else(|| corrupt("no target"));
        let scope = match row.scope.as_str() {
            "all" => MaintenanceScope::All,
            "stack" => MaintenanceScope::Stack(target()?.parse().map_err(|_| corrupt("stack"))?),
            "tag" => MaintenanceScope::Tag(target()?.parse().map_err(|_| corrupt("tag"))?),
            "check" => MaintenanceScope::Check(target()?.parse().map_err(|_| corrupt("check"))?),
            _ => return Err(corrupt("scope")),
        };
        let timing = match (row.starts_at, row.ends_at, &row.cron) {
            (Some(starts_at), Some(ends_at), None) => WindowTiming::Once {
                starts_at: Timestamp(starts_at),
                ends_at: Timestamp(ends_at),
            },
            (_, _, Some(expression)) => WindowTiming::Recurring {
                schedule: Box::new(parse_cron(expression).map_err(|e| corrupt(&e))?),
                expression: expression.clone(),
                not_before: row.starts_at.map(Timestamp),
                duration_s: row
                    .duration_s
                    .and_then(|d| u32::try_from(d).ok())
                    .ok_or_else(|| corrupt("duration"))?,
                timezone: parse_timezone(row.timezone.as_deref().unwrap_or("UTC"))
                    .ok_or_else(|| corrupt("timezone"))?,
            },
            _ => return Err(corrupt("timing")),
        };
        Ok(Self {
            id: row.id,
            scope,
            timing,
            reason: row.reason,
            public: row.public,
            created_at: Timestamp(row.created_at),
        })
    }
}

impl Store {
    /// Stores a new window; returns it with its id.
    pub async fn add_maintenance(
        &self,
        window: MaintenanceWindow,
    ) -> Result<MaintenanceWindow, StoreError> {
        let mut stored = self.add_maintenance_all(vec![window]).await?;
        stored.pop().ok_or_else(|| StoreError::Corrupt {
            name: "maintenance".into(),
            reason: "a window was written but not returned".into(),
        })
    }

    /// Stores new windows together (all or none); returns them with their ids.
    pub async fn add_maintenance_all(
        &self,
        mut windows: Vec<MaintenanceWindow>,
    ) -> Result<Vec<MaintenanceWindow>, StoreError> {
        let mut tx = self.begin_config().await?;
        for window in &mut windows {
            window.id = insert_window(&mut tx, window).await?;
        }
        tx.commit().await?;
        Ok(windows)
    }

    /// Replaces window `id` with the first of `windows` (it keeps the id) and adds the
    /// others, all or none; whether window `id` existed.
    pub async fn replace_maintenance(
        &self,
        id: i64,
        windows: Vec<MaintenanceWindow>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_config().await?;
        let mut rest = windows.into_iter();
        let Some(first) = rest.next() else {
            return Ok(false);
        };
        let (scope, target) = first.scope.parts();
        let t = first.timing.fields();
        let done = Sql::new(
            "UPDATE maintenance SET scope = $1, target = $2, starts_at = $3, ends_at = $4, \
             cron = $5, duration_s = $6, timezone = $7, reason = $8, public = $9 WHERE id = $10",
        )
        .bind(scope)
        .bind(target)
        .bind(t.starts_at.map(|s| s.0))
        .bind(t.ends_at.map(|e| e.0))
        .bind(t.cron)
        .bind(t.duration_s.map(i64::from))
        .bind(t.timezone)
        .bind(&first.reason)
        .bind(first.public)
        .bind(id)
        .execute(tx.on())
        .await?;
        if done == 0 {
            return Ok(false);
        }
        for window in rest {
            insert_window(&mut tx, &window).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Every stored window, oldest first.
    pub async fn maintenance_windows(&self) -> Result<Vec<MaintenanceWindow>, StoreError> {
        let rows: Vec<WindowRow> = Sql::new(
            "SELECT id, scope, target, starts_at, ends_at, cron, duration_s, timezone, reason, \
             public, created_at FROM maintenance ORDER BY id",
        )
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(MaintenanceWindow::try_from).collect()
    }

    /// Deletes a window; whether it existed.
    pub async fn delete_maintenance(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_config().await?;
        let done = Sql::new("DELETE FROM maintenance WHERE id = $1")
            .bind(id)
            .execute(tx.on())
            .await?;
        tx.commit().await?;
        Ok(done > 0)
    }
}

/// Writes a new window; its id.
async fn insert_window(tx: &mut Tx, window: &MaintenanceWindow) -> Result<i64, StoreError> {
    let (scope, target) = window.scope.parts();
    let t = window.timing.fields();
    Sql::new(
        "INSERT INTO maintenance (scope, target, starts_at, ends_at, cron, duration_s, \
         timezone, reason, public, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         RETURNING id",
    )
    .bind(scope)
    .bind(target)
    .bind(t.starts_at.map(|s| s.0))
    .bind(t.ends_at.map(|e| e.0))
    .bind(t.cron)
    .bind(t.duration_s.map(i64::from))
    .bind(t.timezone)
    .bind(&window.reason)
    .bind(window.public)
    .bind(window.created_at.0)
    .scalar_one(tx.on())
    .await
    .map_err(StoreError::from)
}
