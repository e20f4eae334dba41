//! The offline rule's side of the scheduler: canary rounds, the failures that wait for
//! them, and the `offline`/`online` alerts. The decisions themselves are `offline`'s.

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Finished, Scheduler};
use crate::domain::{AlertEvent, AlertFacts, AlertKind, Timestamp};
use crate::monitor::canary::{Canaries, RoundDone};
use crate::monitor::offline::{Change, OfflineGuard, Verdict};
use crate::store::{NewAlert, Write};

/// The offline rule's moving parts: the canaries, the guard, and failures waiting for it.
pub(super) struct OfflineRule {
    pub(super) canaries: Canaries,
    pub(super) guard: OfflineGuard,
    /// Failures that would confirm a check DOWN, waiting for a canary round.
    pub(super) held: Vec<Finished>,
    pub(super) rounds_tx: mpsc::UnboundedSender<RoundDone>,
    pub(super) rounds_rx: mpsc::UnboundedReceiver<RoundDone>,
}

impl OfflineRule {
    /// The rule for these canaries; `None` without canaries.
    pub(super) fn new(urls: &[String]) -> Option<Self> {
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
    pub(super) fn next_round(&self) -> Option<Instant> {
        self.guard.next_round_at().map(crate::monitor::instant_of)
    }
}

impl Scheduler {
    /// Starts a canary round if one is due.
    pub(super) fn start_canary_round(&mut self) {
        let Some(rule) = &mut self.offline else {
            return;
        };
        let now = Timestamp::now();
        if rule.guard.start_round(now) {
            rule.canaries
                .spawn_round(self.deps.prober.clone(), now, rule.rounds_tx.clone());
        }
    }

    /// A canary round completed: alert on a connectivity change, then decide the failures
    /// that waited for it.
    pub(super) async fn canary_round_done(&mut self, round: RoundDone) {
        let Some(rule) = &mut self.offline else {
            return;
        };
        let now = Timestamp::now();
        let change = rule.guard.round_done(round.started, round.all_failed, now);
        let (ready, waiting): (Vec<Finished>, Vec<Finished>) = std::mem::take(&mut rule.held)
            .into_iter()
            .partition(|f| rule.guard.verdict(f.outcome.started_at) != Verdict::Wait);
        if !waiting.is_empty() {
            rule.guard.want_round();
        }
        rule.held = waiting;
        let offline = rule.guard.is_offline();
        if let Some(change) = change {
            let write = self.connectivity_alert(change);
            self.send(write).await;
        }
        for done in ready {
            self.conclude(done, offline).await;
        }
    }

    fn connectivity_alert(&self, change: Change) -> Write {
        let (kind, facts, at) = match change {
            Change::WentOffline { since, cause } => {
                tracing::warn!(
                    cause,
                    "every canary fails: stackwatch is offline; failures do not count meanwhile"
                );
                let facts = AlertFacts {
                    cause: Some(cause),
                    down_since: Some(since),
                    ..AlertFacts::default()
                };
                (AlertKind::Offline, facts, since)
            }
            Change::CameOnline { offline_since, at } => {
                let downtime_s = u64::try_from((at.0 - offline_since.0) / 1_000).unwrap_or(0);
                tracing::info!(
                    offline_s = downtime_s,
                    "a canary answers: stackwatch is online again"
                );
                let facts = AlertFacts {
                    down_since: Some(offline_since),
                    downtime_s: Some(downtime_s),
                    ..AlertFacts::default()
                };
                (AlertKind::Online, facts, at)
            }
        };
        Write::Monitor {
            alert: Box::new(NewAlert {
                event: AlertEvent { kind, facts },
                contacts: self.deps.default_contacts.clone(),
            }),
            at,
        }
    }
}
