//! Heartbeat checks in the scheduler: nothing is probed; a ping records an outcome and moves
//! the deadline a whole period and grace away, and a deadline that passes records a late
//! failure. Both go through the same state machine, alerts and windows as any probe.

use super::Scheduler;
use crate::domain::{Check, Failure, Outcome, Target, Timestamp, Timings};
use crate::monitor::{Ping, PingKind};

/// The outcome of a heartbeat whose deadline has passed; `None` for other checks.
pub(super) fn late(check: &Check) -> Option<Outcome> {
    let Target::Heartbeat(beat) = &check.spec.target() else {
        return None;
    };
    Some(Outcome {
        started_at: Timestamp::now(),
        status: None,
        timings: Timings::default(),
        cert_not_after: None,
        cert_of: None,
        failure: Some(Failure::HeartbeatLate {
            after_s: beat.deadline_s(),
        }),
    })
}

/// For a heartbeat never pinged, how long it waits for its first ping from now
/// (`grace_first`); `None` for one pinged before and for other checks.
pub(super) fn first_wait(check: &Check, stored: Option<&crate::store::StoredState>) -> Option<u64> {
    let Target::Heartbeat(beat) = &check.spec.target() else {
        return None;
    };
    if stored.and_then(|s| s.last_at).is_some() {
        return None;
    }
    beat.first_deadline_s().checked_mul(1_000)
}

/// For a heartbeat, how long until its deadline: a whole period and grace from its last
/// ping, or `grace_first` from its creation if it was never pinged, so a restart neither
/// forgives a late job nor shortens a punctual one's wait. `None` for other checks.
pub(super) fn wait_at_start(
    check: &Check,
    stored: Option<&crate::store::StoredState>,
    now: Timestamp,
) -> Option<u64> {
    let Target::Heartbeat(beat) = &check.spec.target() else {
        return None;
    };
    let (last, wait_s) = match stored.and_then(|s| s.last_at) {
        Some(at) => (at.0.max(check.created_at.0), beat.deadline_s()),
        None => (check.created_at.0, beat.first_deadline_s()),
    };
    let deadline_ms = last.saturating_add(i64::try_from(wait_s * 1_000).ok()?);
    Some(u64::try_from(deadline_ms.saturating_sub(now.0)).unwrap_or(0))
}

impl Scheduler {
    /// Takes a ping. A paused or deleted check, or one that is not a heartbeat, ignores it;
    /// so does a check another instance holds (which judges the ping from the log).
    pub(super) async fn pinged(&mut self, ping: Ping) {
        if !self.holds(ping.check) {
            return;
        }
        let Some(entry) = self.entries.get(&ping.check) else {
            return;
        };
        if !entry.check.spec.is_heartbeat() {
            return;
        }
        let started = match ping.kind {
            PingKind::Start => {
                self.heartbeat_starts.insert(ping.check, ping.at);
                return;
            }
            PingKind::Success | PingKind::Fail => self.heartbeat_starts.remove(&ping.check),
        };
        let run_ms = started.map_or(0, |s| {
            u32::try_from((ping.at.0 - s.0).max(0)).unwrap_or(u32::MAX)
        });
        let failure = (ping.kind == PingKind::Fail).then(|| Failure::HeartbeatFailed {
            message: ping.message.unwrap_or_default(),
        });
        let outcome = Outcome {
            started_at: ping.at,
            status: None,
            timings: Timings {
                total_ms: run_ms,
                ..Timings::default()
            },
            cert_not_after: None,
            cert_of: None,
            failure: failure.map(Failure::bounded),
        };
        let here = self.deps.location.clone();
        if self
            .judge_and_record(ping.check, outcome, false, &here)
            .await
            .is_some()
        {
            let now = self.now_ms();
            self.plan.restart_interval(ping.check, now);
        }
    }
}
