//! The offline guard, without I/O or clocks: whether the monitoring box itself has lost its
//! network, judged by canary URLs that are up whenever it has. A connection-level failure
//! confirms a check DOWN only after a canary round that started after it; when every canary
//! fails, stackwatch is offline and such failures do not count.

use crate::domain::Timestamp;

/// Least time between the starts of two canary rounds.
pub const CANARY_MIN_GAP_MS: i64 = 5_000;

/// What a canary round says of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A canary answered after the failure began: the failure is the target's.
    Online,
    /// Every canary fails: the failure is the monitor's own.
    Offline,
    /// No canary round has started since the failure began: wait for one.
    Wait,
}

/// A change of the box's connectivity, to alert on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    WentOffline {
        since: Timestamp,
        cause: String,
    },
    CameOnline {
        offline_since: Timestamp,
        at: Timestamp,
    },
}

/// The guard's state.
#[derive(Debug, Default)]
pub struct OfflineGuard {
    /// Since when every canary fails, and why.
    offline: Option<(Timestamp, String)>,
    /// The start of the round under way.
    in_flight: Option<Timestamp>,
    last_started: Option<Timestamp>,
    /// The start of the last round that completed with a canary answering.
    last_online_round: Option<Timestamp>,
    /// A round is wanted as soon as the gap allows.
    wanted: bool,
}

impl OfflineGuard {
    pub fn is_offline(&self) -> bool {
        self.offline.is_some()
    }

    /// What is known of a connection-level failure of a probe that started at `failed_at`.
    pub fn verdict(&self, failed_at: Timestamp) -> Verdict {
        if self.offline.is_some() {
            Verdict::Offline
        } else if self.last_online_round.is_some_and(|t| t >= failed_at) {
            Verdict::Online
        } else {
            Verdict::Wait
        }
    }

    /// Asks for a round as soon as the gap allows (a check started confirming, or a failure
    /// waits for a verdict).
    pub fn want_round(&mut self) {
        self.wanted = true;
    }

    /// When the next round should start: now or later if one is wanted (or the box is
    /// offline, to see it come back), `None` if none is.
    pub fn next_round_at(&self) -> Option<Timestamp> {
        if self.in_flight.is_some() || !(self.wanted || self.offline.is_some()) {
            return None;
        }
        Some(match self.last_started {
            Some(last) => Timestamp(last.0 + CANARY_MIN_GAP_MS),
            None => Timestamp(0),
        })
    }

    /// Starts a round at `now` if one is due; returns whether it did.
    pub fn start_round(&mut self, now: Timestamp) -> bool {
        if self.next_round_at().is_none_or(|at| at > now) {
            return false;
        }
        self.in_flight = Some(now);
        self.last_started = Some(now);
        self.wanted = false;
        true
    }

    /// A round that started at `started` completed: `failed_cause` is `Some` when every
    /// canary failed (with the first cause). Returns the connectivity change, if any.
    pub fn round_done(
        &mut self,
        started: Timestamp,
        failed_cause: Option<String>,
        now: Timestamp,
    ) -> Option<Change> {
        if self.in_flight == Some(started) {
            self.in_flight = None;
        }
        match (failed_cause, self.offline.take()) {
            (Some(cause), None) => {
                self.offline = Some((started, cause.clone()));
                Some(Change::WentOffline {
                    since: started,
                    cause,
                })
            }
            (Some(_), still) => {
                self.offline = still;
                None
            }
            (None, was) => {
                self.last_online_round = Some(started);
                was.map(|(offline_since, _)| Change::CameOnline {
                    offline_since,
                    at: now,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    #[test]
    fn a_failure_waits_for_a_round_that_started_after_it() {
        let mut guard = OfflineGuard::default();
        assert_eq!(guard.verdict(t(1_000)), Verdict::Wait);
        assert_eq!(guard.next_round_at(), None, "nothing wanted yet");
        guard.want_round();
        assert!(guard.start_round(t(1_200)));
        assert_eq!(guard.verdict(t(1_000)), Verdict::Wait, "not completed yet");
        assert_eq!(guard.round_done(t(1_200), None, t(1_300)), None);
        assert_eq!(guard.verdict(t(1_000)), Verdict::Online);
        assert_eq!(
            guard.verdict(t(1_500)),
            Verdict::Wait,
            "a later failure needs a later round"
        );
    }

    #[test]
    fn rounds_are_spaced_by_the_gap() {
        let mut guard = OfflineGuard::default();
        guard.want_round();
        assert!(guard.start_round(t(10_000)));
        guard.want_round();
        assert!(!guard.start_round(t(11_000)), "one in flight");
        guard.round_done(t(10_000), None, t(10_100));
        assert_eq!(guard.next_round_at(), Some(t(10_000 + CANARY_MIN_GAP_MS)));
        assert!(!guard.start_round(t(12_000)));
        assert!(guard.start_round(t(15_000)));
    }

    #[test]
    fn every_canary_failing_is_offline_once_then_online_once() {
        let mut guard = OfflineGuard::default();
        guard.want_round();
        assert!(guard.start_round(t(0)));
        let change = guard.round_done(t(0), Some("connection refused".into()), t(50));
        assert_eq!(
            change,
            Some(Change::WentOffline {
                since: t(0),
                cause: "connection refused".into()
            })
        );
        assert_eq!(guard.verdict(t(100)), Verdict::Offline);
        assert_eq!(
            guard.next_round_at(),
            Some(t(CANARY_MIN_GAP_MS)),
            "offline: keep looking"
        );
        assert!(guard.start_round(t(5_000)));
        assert_eq!(
            guard.round_done(t(5_000), Some("refused".into()), t(5_050)),
            None
        );
        assert!(guard.start_round(t(10_000)));
        assert_eq!(
            guard.round_done(t(10_000), None, t(10_050)),
            Some(Change::CameOnline {
                offline_since: t(0),
                at: t(10_050)
            })
        );
        assert!(!guard.is_offline());
        assert_eq!(guard.next_round_at(), None);
        assert_eq!(guard.verdict(t(9_000)), Verdict::Online);
    }
}
