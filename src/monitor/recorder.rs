//! The single writer of probe results: it batches records (up to `MAX_BATCH` or
//! `MAX_BATCH_DELAY`) and writes each batch in one transaction.

use std::time::Duration;

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::store::{Record, Store};

/// Most records in one transaction.
pub const MAX_BATCH: usize = 1_000;
/// Longest a record waits for its batch to fill.
pub const MAX_BATCH_DELAY: Duration = Duration::from_millis(100);
/// Attempts to write one batch before it is given up (with an error logged).
const WRITE_ATTEMPTS: u32 = 5;

/// Writes whatever is queued now, in batches; returns how many records were written.
pub async fn record_pending(store: &Store, records: &mut mpsc::UnboundedReceiver<Record>) -> usize {
    let mut written = 0;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Ok(record) = records.try_recv() {
        batch.push(record);
        if batch.len() == MAX_BATCH {
            written += write(store, &batch).await;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        written += write(store, &batch).await;
    }
    written
}

/// Runs until cancelled, then writes what is still queued and returns. `alerts_written`
/// is notified after a batch with alerts is committed, so the dispatcher sends them at once.
pub async fn run_recorder(
    store: Store,
    mut records: mpsc::UnboundedReceiver<Record>,
    alerts_written: Arc<Notify>,
    cancel: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            () = cancel.cancelled() => break,
            record = records.recv() => match record {
                Some(r) => r,
                None => break,
            },
        };
        let mut batch = Vec::with_capacity(MAX_BATCH);
        batch.push(first);
        let deadline = tokio::time::Instant::now() + MAX_BATCH_DELAY;
        while batch.len() < MAX_BATCH {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                record = records.recv() => match record {
                    Some(r) => batch.push(r),
                    None => break,
                },
            }
        }
        write(&store, &batch).await;
        if batch.iter().any(|r| !r.alerts.is_empty()) {
            alerts_written.notify_one();
        }
    }
    let rest = record_pending(&store, &mut records).await;
    tracing::debug!(records = rest, "recorder flushed at shutdown");
}

/// Writes one batch, retrying a failed transaction; returns the records written.
async fn write(store: &Store, batch: &[Record]) -> usize {
    for attempt in 1..=WRITE_ATTEMPTS {
        match store.record(batch).await {
            Ok(()) => return batch.len(),
            Err(e) if attempt < WRITE_ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "writing probe results failed; retrying");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            Err(e) => {
                tracing::error!(error = %e, records = batch.len(), "writing probe results failed; batch dropped");
            }
        }
    }
    0
}
