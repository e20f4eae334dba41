//! The fields of a heartbeat check: when a ping is due (a period or a cron schedule, and
//! grace), and the limits on a run's length and on the time between runs.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Timestamp;
use super::job_schedule::{CronText, Zone};

/// The fields of a heartbeat check. Seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HeartbeatTarget {
    /// Seconds expected between two pings, 10-2592000 (30 days); this or `schedule` is
    /// required.
    #[serde(default)]
    #[schema(minimum = 10, maximum = 2592000)]
    pub(in crate::domain) period: Option<u32>,
    /// When the job runs instead of a period: a 5-field cron expression (`30 2 * * *`),
    /// read in `tz`; a ping is due by each run's time plus `grace`.
    #[serde(default)]
    pub(in crate::domain) schedule: Option<CronText>,
    /// The IANA time zone `schedule` is read in (default UTC), e.g. `Europe/Paris`.
    #[serde(default)]
    pub(in crate::domain) tz: Option<Zone>,
    /// Seconds a ping may be late before the check is DOWN, 0-2592000 (default 0).
    #[schema(required = false, minimum = 0, maximum = 2592000)]
    pub(in crate::domain) grace: u32,
    /// Seconds a new heartbeat waits for its first ping before it is DOWN, 10-5184000
    /// (default: period + grace). Until then it is shown `new`.
    #[serde(default)]
    #[schema(minimum = 10, maximum = 5184000)]
    pub(in crate::domain) grace_first: Option<u32>,
    /// A run (from `/start` to its end) shorter than this many seconds is a failure:
    /// a job that gave up early; 1-2592000 (default off).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 2592000)]
    pub(in crate::domain) min_runtime: Option<u32>,
    /// A run still going this many seconds after `/start` is a failure: a job that hangs;
    /// 1-2592000 (default off).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 2592000)]
    pub(in crate::domain) max_runtime: Option<u32>,
    /// A ping sooner than this many seconds after the previous run's is a failure: a job
    /// looping; 1-2592000, below `period` (default off).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 2592000)]
    pub(in crate::domain) min_interval: Option<u32>,
}

impl HeartbeatTarget {
    /// Seconds expected between two pings: the period, or the longest time between two
    /// runs of the schedule.
    pub fn period(&self) -> u32 {
        match (&self.schedule, self.period) {
            (Some(schedule), _) => u32::try_from(schedule.longest_gap_s()).unwrap_or(u32::MAX),
            (None, period) => period.unwrap_or(0),
        }
    }

    /// The cron expression and the zone it is read in, for a scheduled heartbeat.
    pub fn schedule(&self) -> Option<(&CronText, Zone)> {
        self.schedule
            .as_ref()
            .map(|s| (s, self.tz.unwrap_or(Zone::UTC)))
    }

    /// Seconds a ping may be late.
    pub fn grace(&self) -> u32 {
        self.grace
    }

    /// When a ping is due at the latest after one at `last`: a period and grace later, or
    /// the schedule's next run after it plus grace.
    pub fn deadline_after(&self, last: Timestamp) -> Timestamp {
        let grace_ms = i64::from(self.grace) * 1_000;
        match self.schedule() {
            Some((schedule, zone)) => match schedule.next_after(last, zone) {
                Some(run) => Timestamp(run.0.saturating_add(grace_ms)),
                None => Timestamp(i64::MAX),
            },
            None => Timestamp(
                last.0
                    .saturating_add(i64::from(self.period.unwrap_or(0)) * 1_000 + grace_ms),
            ),
        }
    }

    /// When the first ping is due at the latest for a heartbeat created at `created`.
    pub fn first_deadline(&self, created: Timestamp) -> Timestamp {
        match self.grace_first {
            Some(first) => Timestamp(created.0.saturating_add(i64::from(first) * 1_000)),
            None => self.deadline_after(created),
        }
    }
}

impl HeartbeatTarget {
    /// The shortest acceptable run, in seconds.
    pub fn min_runtime(&self) -> Option<u32> {
        self.min_runtime
    }

    /// The longest acceptable run, in seconds.
    pub fn max_runtime(&self) -> Option<u32> {
        self.max_runtime
    }

    /// The shortest acceptable time between two runs, in seconds.
    pub fn min_interval(&self) -> Option<u32> {
        self.min_interval
    }

    /// The longest wait for a ping, in seconds: a period, or the schedule's longest gap,
    /// and the grace.
    pub fn deadline_s(&self) -> u64 {
        u64::from(self.period()) + u64::from(self.grace)
    }
}
