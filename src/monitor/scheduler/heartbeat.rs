//! Heartbeat checks in the scheduler: nothing is probed; a ping records an outcome and moves
//! the deadline a whole period and grace away, and a deadline that passes records a late
//! failure. A run is judged by its bounds too: one that ends sooner than `min_runtime`,
//! goes on past `max_runtime`, or follows the previous too soon (`min_interval`) is a
//! failure. All go through the same state machine, alerts and windows as any probe.

use super::Scheduler;
use crate::domain::{Check, Failure, HeartbeatTarget, Missed, Outcome, Target, Timestamp, Timings};
use crate::monitor::{Ping, PingKind};

/// The outcome of a heartbeat whose time came: its run started at `started` has gone on
/// past `max_runtime`, or else its deadline passed. `None` for other checks.
pub(super) fn late(check: &Check, started: Option<Timestamp>, now: Timestamp) -> Option<Outcome> {
    let Target::Heartbeat(beat) = &check.spec.target() else {
        return None;
    };
    let too_long = beat
        .max_runtime()
        .filter(|max| started.is_some_and(|s| now.0 - s.0 >= i64::from(*max) * 1_000));
    let failure = match (too_long, beat.schedule()) {
        (Some(max_s), _) => Failure::RunTooLong { max_s },
        (None, Some((schedule, zone))) => Failure::RunMissed(Box::new(Missed {
            schedule: schedule.as_str().to_owned(),
            zone: zone.0.name().to_owned(),
            grace_s: beat.grace(),
        })),
        (None, None) => Failure::HeartbeatLate {
            after_s: beat.deadline_s(),
        },
    };
    Some(Outcome {
        started_at: now,
        status: None,
        timings: Timings::default(),
        cert_not_after: None,
        cert_of: None,
        failure: Some(failure),
    })
}

/// What a ping that ends a run says, given when the run started and when the previous
/// run ended: the job's own failure, a run too short, pings too frequent, or success.
fn verdict(
    beat: &HeartbeatTarget,
    ping: &Ping,
    started: Option<Timestamp>,
    previous: Option<Timestamp>,
) -> Option<Failure> {
    let ms = |from: Timestamp| u32::try_from((ping.at.0 - from.0).max(0)).unwrap_or(u32::MAX);
    if ping.kind == PingKind::Fail {
        return Some(Failure::HeartbeatFailed {
            message: ping.message.clone().unwrap_or_default(),
        });
    }
    if let (Some(min_s), Some(started)) = (beat.min_runtime(), started)
        && ms(started) < min_s.saturating_mul(1_000)
    {
        return Some(Failure::RunTooShort {
            ran_ms: ms(started),
            min_s,
        });
    }
    if let (Some(min_s), Some(previous)) = (beat.min_interval(), previous)
        && ms(previous) < min_s.saturating_mul(1_000)
    {
        return Some(Failure::PingedTooOften {
            after_ms: ms(previous),
            min_s,
        });
    }
    None
}

/// Milliseconds from `now` to `deadline`, none when it has passed.
fn ms_until(deadline: Timestamp, now: Timestamp) -> u64 {
    u64::try_from(deadline.0.saturating_sub(now.0)).unwrap_or(0)
}

/// For a heartbeat never pinged, how long it waits from `now` for its first ping
/// (`grace_first`, or its first deadline); `None` for one pinged before and for other
/// checks.
pub(super) fn first_wait(
    check: &Check,
    stored: Option<&crate::store::StoredState>,
    now: Timestamp,
) -> Option<u64> {
    let Target::Heartbeat(beat) = &check.spec.target() else {
        return None;
    };
    if stored.and_then(|s| s.last_at).is_some() {
        return None;
    }
    Some(ms_until(beat.first_deadline(now), now))
}

/// For a heartbeat, how long from `now` until a ping is due after one at `now` (a
/// period and grace, or the schedule's next run and grace); `None` for other checks.
pub(super) fn wait_after(check: &Check, now: Timestamp) -> Option<u64> {
    let Target::Heartbeat(beat) = &check.spec.target() else {
        return None;
    };
    Some(ms_until(beat.deadline_after(now), now))
}

/// For a heartbeat, how long until its deadline: from its last ping, or from its creation
/// if it was never pinged (`grace_first`), so a restart neither forgives a late job nor
/// shortens a punctual one's wait. `None` for other checks.
pub(super) fn wait_at_start(
    check: &Check,
    stored: Option<&crate::store::StoredState>,
    now: Timestamp,
) -> Option<u64> {
    let Target::Heartbeat(beat) = &check.spec.target() else {
        return None;
    };
    let deadline = match stored.and_then(|s| s.last_at) {
        Some(at) => beat.deadline_after(Timestamp(at.0.max(check.created_at.0))),
        None => beat.first_deadline(check.created_at),
    };
    Some(ms_until(deadline, now))
}

impl Scheduler {
    /// Takes a ping. A paused or deleted check, or one that is not a heartbeat, ignores it;
    /// so does a check another instance holds (which judges the ping from the log).
    pub(super) async fn pinged(&mut self, ping: Ping) {
        if !self.holds(ping.check) {
            return;
        }
        let Some(entry) = self.plan.checks().get(&ping.check) else {
            return;
        };
        if !entry.check.spec.is_heartbeat() {
            return;
        }
        let Target::Heartbeat(beat) = entry.check.spec.target().clone() else {
            return;
        };
        let started = match ping.kind {
            PingKind::Start => {
                self.heartbeat_starts.insert(ping.check, ping.at);
                if let Some(max_s) = beat.max_runtime() {
                    // The run must end by then: its check is looked at then.
                    let now = self.now_ms();
                    self.plan.due_by(ping.check, now + u64::from(max_s) * 1_000);
                }
                return;
            }
            PingKind::Success | PingKind::Fail => self.heartbeat_starts.remove(&ping.check),
        };
        let previous = self.heartbeat_ends.insert(ping.check, ping.at);
        let run_ms = started.map_or(0, |s| {
            u32::try_from((ping.at.0 - s.0).max(0)).unwrap_or(u32::MAX)
        });
        let failure = verdict(&beat, &ping, started, previous);
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
            // Due again a period and grace, or the schedule's next run and grace, after it.
            let wait_ms = ms_until(beat.deadline_after(ping.at), Timestamp::now());
            let now = self.now_ms();
            self.plan.restart_in(ping.check, now, wait_ms);
        }
    }
}
