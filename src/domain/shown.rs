//! The state a check is shown in — one rule for the API, the dashboard, check and status
//! pages: paused, else in maintenance, else `new` for a heartbeat never judged, else its
//! health. Pure.

use super::{Check, Health, MaintenanceWindow, Timestamp};

/// The state a check is shown in, worst first (the order pages sort by).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Shown {
    Down,
    /// Up, but slower than the check's `degraded_after_ms`.
    Degraded,
    Unknown,
    /// A heartbeat that has not been pinged yet.
    New,
    Maintenance,
    Paused,
    Up,
}

impl Shown {
    pub const ALL: [Self; 7] = [
        Self::Down,
        Self::Degraded,
        Self::Unknown,
        Self::New,
        Self::Maintenance,
        Self::Paused,
        Self::Up,
    ];

    /// How `check` is shown at `now`, given its judged health (`None`: never judged).
    pub fn of(
        check: &Check,
        health: Option<Health>,
        windows: &[MaintenanceWindow],
        now: Timestamp,
    ) -> Self {
        let maintained = windows.iter().any(|w| w.silences(check, now));
        Self::decide(check.paused, maintained, health, check.spec.is_heartbeat())
    }

    /// The rule itself, from what decides it: whether the check is paused, in an open
    /// maintenance window, its health and whether it is a heartbeat. For readers that
    /// count checks by these without reading each one (the summary).
    pub fn decide(paused: bool, maintained: bool, health: Option<Health>, heartbeat: bool) -> Self {
        if paused {
            return Self::Paused;
        }
        if maintained {
            return Self::Maintenance;
        }
        match health {
            Some(Health::Up) => Self::Up,
            Some(Health::Down) => Self::Down,
            Some(Health::Degraded) => Self::Degraded,
            None if heartbeat => Self::New,
            _ => Self::Unknown,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Self::Down => "down",
            Self::Degraded => "degraded",
            Self::Unknown => "unknown",
            Self::New => "new",
            Self::Maintenance => "maintenance",
            Self::Paused => "paused",
            Self::Up => "up",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.word() == word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CheckId, CheckSpec, HeartbeatTarget, HttpTarget, Target};

    fn check(target: Target, paused: bool) -> Check {
        let mut spec = CheckSpec::with_defaults("http://127.0.0.1/".parse().unwrap());
        spec.target = target;
        Check {
            id: CheckId(1),
            name: "shown".parse().unwrap(),
            spec,
            ping_key: None,
            paused,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn heartbeat() -> Target {
        Target::Heartbeat(Box::new(HeartbeatTarget {
            period: Some(60),
            schedule: None,
            tz: None,
            grace: 0,
            grace_first: None,
            min_runtime: None,
            max_runtime: None,
            min_interval: None,
        }))
    }

    #[test]
    fn paused_then_maintenance_then_new_then_health() {
        let now = Timestamp(1_000_000);
        let url = "http://a/".parse().unwrap();
        let http = check(Target::Http(Box::new(HttpTarget::get(url))), false);
        let beat = check(heartbeat(), false);
        let paused = check(heartbeat(), true);
        assert_eq!(
            Shown::of(&paused, Some(Health::Down), &[], now),
            Shown::Paused
        );
        assert_eq!(Shown::of(&beat, None, &[], now), Shown::New);
        assert_eq!(Shown::of(&http, None, &[], now), Shown::Unknown);
        assert_eq!(
            Shown::of(&http, Some(Health::Unknown), &[], now),
            Shown::Unknown
        );
        assert_eq!(Shown::of(&http, Some(Health::Down), &[], now), Shown::Down);
        assert_eq!(Shown::of(&beat, Some(Health::Up), &[], now), Shown::Up);
        for shown in Shown::ALL {
            assert_eq!(Shown::parse(shown.word()), Some(shown));
        }
    }
}
