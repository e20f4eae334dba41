//! The agent's own offline rule, the server's (`monitor::offline`) applied to its results:
//! with `monitor.canaries` configured, a connection-level failure that would confirm its
//! location's verdict DOWN waits for a canary round; if every canary fails the agent is
//! offline and such failures go to the server marked as its own (`monitor_offline`), where
//! they are kept but change no vote.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Queued;
use crate::domain::{Failure, Timestamp};
use crate::monitor::{Canaries, Change, OfflineGuard, RoundDone, Verdict};
use crate::probe::Prober;

/// The canaries, the guard, and the results waiting for a round.
pub struct OfflineRule {
    canaries: Canaries,
    guard: OfflineGuard,
    held: Vec<Queued>,
    rounds_tx: mpsc::UnboundedSender<RoundDone>,
    pub rounds_rx: mpsc::UnboundedReceiver<RoundDone>,
}

impl OfflineRule {
    /// The rule for these canaries; `None` without any.
    pub fn new(urls: &[String]) -> Option<Self> {
        Canaries::new(urls).map(|canaries| {
            let (rounds_tx, rounds_rx) = mpsc::unbounded_channel();
            Self {
                canaries,
                guard: OfflineGuard::default(),
                held: Vec::new(),
                rounds_tx,
                rounds_rx,
            }
        })
    }

    /// When the next canary round should start.
    pub fn next_round(&self) -> Option<Instant> {
        self.guard.next_round_at().map(crate::monitor::instant_of)
    }

    /// Starts a canary round if one is due.
    pub fn start_round(&mut self, prober: &Arc<Prober>) {
        let now = Timestamp::now();
        if self.guard.start_round(now) {
            self.canaries
                .spawn_round(prober.clone(), now, self.rounds_tx.clone());
        }
    }

    /// A finished probe's result: sent on at once, marked, or held for a round.
    /// `confirms_down`: it would confirm this location's verdict DOWN.
    pub fn take(
        &mut self,
        queued: Queued,
        starts_confirming: bool,
        confirms_down: bool,
    ) -> Option<Queued> {
        let connection_level = queued
            .outcome
            .failure
            .as_ref()
            .is_some_and(Failure::is_connection_level);
        if !connection_level {
            return Some(queued);
        }
        match self.guard.verdict(queued.outcome.started_at) {
            Verdict::Offline => Some(mark(queued)),
            Verdict::Online => Some(queued),
            Verdict::Wait => {
                if starts_confirming || confirms_down {
                    self.guard.want_round();
                }
                if confirms_down {
                    self.held.push(queued);
                    None
                } else {
                    Some(queued)
                }
            }
        }
    }

    /// A round completed: the results it decides, marked when the agent is offline.
    pub fn round_done(&mut self, round: RoundDone) -> Vec<Queued> {
        let change = self
            .guard
            .round_done(round.started, round.all_failed, Timestamp::now());
        match change {
            Some(Change::WentOffline { cause, .. }) => tracing::warn!(
                cause,
                "every canary fails: this agent is offline; its failures do not count meanwhile"
            ),
            Some(Change::CameOnline { .. }) => {
                tracing::info!("a canary answers: this agent is online again");
            }
            None => {}
        }
        let (ready, waiting): (Vec<Queued>, Vec<Queued>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|q| self.guard.verdict(q.outcome.started_at) != Verdict::Wait);
        if !waiting.is_empty() {
            self.guard.want_round();
        }
        self.held = waiting;
        let offline = self.guard.is_offline();
        ready
            .into_iter()
            .map(|q| if offline { mark(q) } else { q })
            .collect()
    }
}

/// A failure marked as the agent's own.
fn mark(mut queued: Queued) -> Queued {
    if let Some(cause) = queued.outcome.failure.take() {
        queued.outcome.failure = Some(Failure::MonitorOffline {
            cause: Box::new(cause),
        });
    }
    queued
}
