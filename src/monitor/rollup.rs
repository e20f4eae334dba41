//! The rollup and retention job, run on a cron schedule.

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::domain::Timestamp;
use crate::store::{Retention, RollupReport, Store, StoreError};

/// One run of the job: roll up complete hours and days, then prune by age.
pub async fn rollup_once(
    store: &Store,
    retention: &Retention,
    now: Timestamp,
) -> Result<RollupReport, StoreError> {
    let Some(turn) = store.job_turn().await? else {
        tracing::info!("another instance is running the rollup job");
        return Ok(RollupReport::default());
    };
    let done = async {
        let report = store.rollup_and_prune(now, retention).await?;
        store.prune_changes(now).await?;
        Ok::<_, StoreError>(report)
    }
    .await;
    turn.end().await;
    let report = done?;
    tracing::info!(
        hourly_rows = report.hourly_rows,
        daily_rows = report.daily_rows,
        results_pruned = report.results_pruned,
        "rollup done"
    );
    Ok(report)
}

/// Runs the job at every time `schedule` names (UTC) until cancelled.
pub async fn run_rollups(
    store: Store,
    retention: Retention,
    schedule: cron::Schedule,
    cancel: CancellationToken,
) {
    loop {
        let Some(next) = schedule.upcoming(Utc).next() else {
            tracing::warn!("the rollup schedule names no future time; rollups stop");
            return;
        };
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        if let Err(e) = rollup_once(&store, &retention, Timestamp::now()).await {
            tracing::error!(error = %e, "rollup failed; it runs again at the next scheduled time");
        }
    }
}
