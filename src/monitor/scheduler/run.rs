//! The scheduler's loop: one turn per event, with the finished probes that are waiting
//! taken together and the wake-up for the next due time kept armed across turns.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::offline_rule::OfflineRule;
use super::{Finished, LagStats, Scheduler};
use crate::monitor::Command;
use crate::monitor::plan::WAKE_TICK_MS;
use crate::monitor::wait::{changed_opt, recv_opt, sleep_until_opt};

/// Finished probes taken in one turn of the loop, at most: those that came back while
/// the last turn ran, so that a burst of them does not turn the loop, and set its timers,
/// once each (a tick's probes against fast targets come back within a few milliseconds
/// of one another); few enough that due probes and commands wait for no more than that.
const FINISHED_PER_TURN: usize = 64;

impl Scheduler {
    /// Runs until `cancel`: starts due probes, takes finished ones, applies commands.
    pub async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        cancel: CancellationToken,
    ) {
        let mut report = tokio::time::interval(Duration::from_secs(60));
        // The wake-up for the next due time, moved only when that time moves: not a new
        // timer set and cancelled on every turn.
        let wake = tokio::time::sleep_until(Instant::now());
        tokio::pin!(wake);
        let mut armed = None;
        loop {
            let next = self.plan.next_due().map(|due| {
                self.epoch + Duration::from_millis(due.div_ceil(WAKE_TICK_MS) * WAKE_TICK_MS)
            });
            self.deps.vitals.scheduler_next_due(next);
            if next != armed {
                if let Some(at) = next {
                    wake.as_mut().reset(at);
                }
                armed = next;
            }
            let next_round = self.offline.as_ref().and_then(OfflineRule::next_round);
            let rounds = self.offline.as_mut().map(|rule| &mut rule.rounds_rx);
            tokio::select! {
                () = cancel.cancelled() => break,
                Some(command) = commands.recv() => self.apply(command).await,
                () = sleep_until_opt(self.pending.retry_at) => self.hand_over().await,
                Some(done) = self.finished_rx.recv() => self.finish_waiting(done).await,
                Some(round) = recv_opt(rounds) => self.canary_round_done(round).await,
                Some(()) = changed_opt(self.deps.leases.as_mut()) => self.leases_changed().await,
                () = sleep_until_opt(next_round) => self.start_canary_round(),
                () = &mut wake, if armed.is_some() => { self.start_due(); }
                _ = report.tick() => self.report(),
            }
        }
    }

    /// Takes a finished probe and those waiting behind it, up to `FINISHED_PER_TURN`.
    async fn finish_waiting(&mut self, first: Finished) {
        self.finish(first).await;
        for _ in 1..FINISHED_PER_TURN {
            let Ok(done) = self.finished_rx.try_recv() else {
                break;
            };
            self.finish(done).await;
        }
    }

    fn report(&mut self) {
        if self.lag.count() > 0 {
            tracing::info!(
                checks = self.plan.checks().len(),
                probes = self.lag.count(),
                lag_p50_ms = self.lag.percentile(0.50),
                lag_p99_ms = self.lag.percentile(0.99),
                "scheduler"
            );
        }
        self.lag = LagStats::default();
    }
}
