//! The single writer of probe results: it batches records (up to `MAX_BATCH`, or until the
//! first waiting record's delay is up) and writes each batch in one transaction. A failed write is retried
//! with backoff for as long as it takes; meanwhile records wait in a bounded backlog that
//! only ever thins plain results, so no state change, incident or alert is lost.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::MonitorHandle;
use super::backlog::Backlog;
use super::vitals::Vitals;
use super::wait::sleep_until_opt;
use crate::store::{Store, Write};

/// Most records in one transaction.
pub const MAX_BATCH: usize = 1_000;
/// Longest a record that changes something (a state, an incident, an alert) waits for its
/// batch to fill.
pub const MAX_BATCH_DELAY: Duration = Duration::from_millis(100);
/// Longest a plain result waits: at a few probes a second this makes one transaction a
/// second instead of one per probe (each wakes SQLite's thread and runs its code cold).
pub const MAX_PLAIN_DELAY: Duration = Duration::from_secs(1);
/// Capacity of the channel from the scheduler; the recorder drains it even while a write
/// is failing, so it fills only if the recorder itself stops.
pub const CHANNEL_CAPACITY: usize = 16_384;
/// Records held while the store fails, before the oldest plain results are thinned
/// (136 bytes a plain result, some 14 MB full; 100,000 checks at 60 s fill it in a minute).
pub const BACKLOG_BOUND: usize = 100_000;
/// Delay before the first retry of a failed write; it doubles up to `MAX_RETRY_DELAY`.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(200);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);
/// A failing store is logged at most this often.
const FAULT_LOG_EVERY: Duration = Duration::from_secs(60);
/// At shutdown, how long writing what is left is tried before it is given up.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(5);

/// The channel the scheduler sends records on.
pub fn channel() -> (mpsc::Sender<Write>, mpsc::Receiver<Write>) {
    mpsc::channel(CHANNEL_CAPACITY)
}

/// The time the waiting records must be written by once `arrived` joins them at `now`.
fn sooner_write(write_by: Option<Instant>, arrived: &Write, now: Instant) -> Instant {
    let delay = if arrived.is_plain() {
        MAX_PLAIN_DELAY
    } else {
        MAX_BATCH_DELAY
    };
    let by = now + delay;
    write_by.map_or(by, |earlier| earlier.min(by))
}

/// The recorder's state: the backlog and the current write fault, if any.
pub struct Recorder {
    store: Store,
    vitals: Vitals,
    /// Notified after a batch with alerts is committed, so the dispatcher sends at once.
    alerts_written: Arc<Notify>,
    /// Told of checks whose state another instance replaced, so it reads them again.
    monitor: MonitorHandle,
    backlog: Backlog,
    fault: Option<Fault>,
}

/// A run of failed writes.
struct Fault {
    since: Instant,
    failures: u32,
    last_logged: Instant,
    retry_at: Instant,
}

impl Recorder {
    pub fn new(
        store: Store,
        vitals: Vitals,
        alerts_written: Arc<Notify>,
        monitor: MonitorHandle,
    ) -> Self {
        Self {
            store,
            vitals,
            alerts_written,
            monitor,
            backlog: Backlog::new(BACKLOG_BOUND),
            fault: None,
        }
    }

    fn push(&mut self, write: Write) {
        let thinned = self.backlog.push(write);
        if thinned > 0 {
            tracing::warn!(
                thinned,
                thinned_total = self.backlog.thinned(),
                waiting = self.backlog.len(),
                "the result backlog passed its bound: oldest plain results thinned (no state change, incident or alert)"
            );
        }
    }

    /// Writes the oldest batch while still taking records from `records`; returns whether
    /// the write committed.
    pub async fn write_batch(&mut self, records: &mut mpsc::Receiver<Write>) -> bool {
        let batch = self.backlog.take(MAX_BATCH);
        if batch.is_empty() {
            return true;
        }
        let result = {
            let write = self.store.record(&batch);
            tokio::pin!(write);
            loop {
                tokio::select! {
                    result = &mut write => break result,
                    Some(record) = records.recv() => {
                        let thinned = self.backlog.push(record);
                        if thinned > 0 {
                            tracing::warn!(thinned, thinned_total = self.backlog.thinned(), "result backlog thinned");
                        }
                    }
                }
            }
        };
        let ok = match result {
            Ok(stale) => {
                if !stale.is_empty() {
                    tracing::warn!(
                        checks = stale.len(),
                        "another instance changed the state of checks this one judged; their changes are not written and their states are read again"
                    );
                    self.monitor.states_stale(stale);
                }
                if batch.iter().any(Write::has_alerts) {
                    self.alerts_written.notify_one();
                }
                self.healed();
                true
            }
            Err(e) => {
                self.backlog.put_back(batch);
                self.failed(&e.to_string());
                false
            }
        };
        self.vitals
            .recorder_backlog(self.backlog.len(), self.backlog.thinned());
        ok
    }

    fn failed(&mut self, error: &str) {
        let now = Instant::now();
        self.vitals.recorder_failing(error);
        let fault = self.fault.get_or_insert(Fault {
            since: now,
            failures: 0,
            last_logged: now,
            retry_at: now,
        });
        fault.failures = fault.failures.saturating_add(1);
        let delay = FIRST_RETRY_DELAY
            .saturating_mul(2u32.saturating_pow(fault.failures.saturating_sub(1).min(10)))
            .min(MAX_RETRY_DELAY);
        fault.retry_at = now + delay;
        if fault.failures == 1 || now.duration_since(fault.last_logged) >= FAULT_LOG_EVERY {
            fault.last_logged = now;
            tracing::error!(
                error,
                failing_for_s = now.duration_since(fault.since).as_secs(),
                attempts = fault.failures,
                waiting = self.backlog.len(),
                thinned_total = self.backlog.thinned(),
                "writing probe results fails; they are kept and retried"
            );
        }
    }

    fn healed(&mut self) {
        if let Some(fault) = self.fault.take() {
            tracing::info!(
                failed_for_s = fault.since.elapsed().as_secs(),
                attempts = fault.failures,
                waiting = self.backlog.len(),
                thinned_total = self.backlog.thinned(),
                "writing probe results works again"
            );
        }
        self.vitals.recorder_ok();
    }

    /// When the next write should start, given the backlog, any fault and the earliest
    /// time a waiting record asked to be written by.
    fn next_write_at(&self, write_by: Option<Instant>) -> Option<Instant> {
        if self.backlog.is_empty() {
            return None;
        }
        if let Some(fault) = &self.fault {
            return Some(fault.retry_at);
        }
        if self.backlog.len() >= MAX_BATCH {
            return Some(Instant::now());
        }
        write_by
    }

    /// Runs until cancelled, then tries for a short while to write what is left.
    pub async fn run(mut self, mut records: mpsc::Receiver<Write>, cancel: CancellationToken) {
        let mut write_by: Option<Instant> = None;
        let mut open = true;
        loop {
            let write_at = self.next_write_at(write_by);
            tokio::select! {
                () = cancel.cancelled() => break,
                record = records.recv(), if open => match record {
                    Some(record) => {
                        write_by = Some(sooner_write(write_by, &record, Instant::now()));
                        self.push(record);
                        self.vitals.recorder_backlog(self.backlog.len(), self.backlog.thinned());
                    }
                    None => open = false,
                },
                () = sleep_until_opt(write_at) => {
                    self.write_batch(&mut records).await;
                    // What is left has waited already: it goes at the shorter delay.
                    write_by = (!self.backlog.is_empty()).then(|| Instant::now() + MAX_BATCH_DELAY);
                }
            }
            if !open && self.backlog.is_empty() {
                break;
            }
        }
        self.flush_at_shutdown(records).await;
    }

    async fn flush_at_shutdown(mut self, mut records: mpsc::Receiver<Write>) {
        records.close();
        while let Some(record) = records.recv().await {
            self.push(record);
        }
        let deadline = Instant::now() + SHUTDOWN_FLUSH;
        while !self.backlog.is_empty() {
            if !self.write_batch(&mut records).await {
                if Instant::now() >= deadline {
                    tracing::error!(
                        lost = self.backlog.len(),
                        "the database still refuses writes at shutdown; these results, and any \
                         alert among them, are decided again from the stored state at the next start"
                    );
                    return;
                }
                tokio::time::sleep(FIRST_RETRY_DELAY).await;
            }
        }
        tracing::debug!("recorder flushed at shutdown");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::backlog::tests::write;

    #[test]
    fn a_plain_result_may_wait_longer_than_a_change() {
        let now = Instant::now();
        assert_eq!(
            sooner_write(None, &write('p', 1), now),
            now + MAX_PLAIN_DELAY
        );
        for change in ['s', 't', 'a'] {
            assert_eq!(
                sooner_write(None, &write(change, 1), now),
                now + MAX_BATCH_DELAY
            );
        }
    }

    #[test]
    fn a_change_arriving_shortens_the_wait_and_a_plain_result_never_lengthens_it() {
        let start = Instant::now();
        let by = sooner_write(None, &write('p', 1), start);
        let later = start + Duration::from_millis(300);
        let by = sooner_write(Some(by), &write('p', 2), later);
        assert_eq!(
            by,
            start + MAX_PLAIN_DELAY,
            "the first plain result sets the time"
        );
        let by = sooner_write(Some(by), &write('s', 3), later);
        assert_eq!(
            by,
            later + MAX_BATCH_DELAY,
            "a state change is written soon"
        );
        let by = sooner_write(Some(by), &write('p', 4), later);
        assert_eq!(by, later + MAX_BATCH_DELAY);
    }
}
