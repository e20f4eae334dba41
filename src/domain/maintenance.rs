//! Maintenance windows: which checks they cover and when they are open. One-off windows
//! have a start and an end; recurring ones open at each time a cron expression names (in a
//! time zone) and stay open for a duration. Pure.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::{Check, CheckName, StackName, Tag, Timestamp};

/// Which checks a window covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaintenanceScope {
    All,
    Stack(StackName),
    Tag(Tag),
    Check(CheckName),
}

impl MaintenanceScope {
    /// The scope's kind (`all`, `stack`, `tag`, `check`) and target name.
    pub fn parts(&self) -> (&'static str, Option<String>) {
        match self {
            Self::All => ("all", None),
            Self::Stack(s) => ("stack", Some(s.to_string())),
            Self::Tag(t) => ("tag", Some(t.to_string())),
            Self::Check(c) => ("check", Some(c.to_string())),
        }
    }

    pub fn covers(&self, check: &Check) -> bool {
        match self {
            Self::All => true,
            Self::Stack(stack) => check.spec.stack.as_ref() == Some(stack),
            Self::Tag(tag) => check.spec.tags.contains(tag),
            Self::Check(name) => &check.name == name,
        }
    }
}

/// When a window is open.
#[derive(Debug, Clone)]
pub enum WindowTiming {
    /// Open from `starts_at` (inclusive) to `ends_at` (exclusive).
    Once {
        starts_at: Timestamp,
        ends_at: Timestamp,
    },
    /// Open for `duration_s` from every time `schedule` names, read in `timezone`, the
    /// first occurrence not before `not_before` when it is set.
    Recurring {
        expression: String,
        not_before: Option<Timestamp>,
        schedule: Box<cron::Schedule>,
        duration_s: u32,
        timezone: Tz,
    },
}

/// A window's timing as flat optional fields (one-off: start and end; recurring: cron,
/// duration and time zone), the shape the API shows and the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimingFields<'a> {
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub cron: Option<&'a str>,
    pub duration_s: Option<u32>,
    pub timezone: Option<&'static str>,
}

impl WindowTiming {
    pub fn fields(&self) -> TimingFields<'_> {
        match self {
            Self::Once { starts_at, ends_at } => TimingFields {
                starts_at: Some(*starts_at),
                ends_at: Some(*ends_at),
                cron: None,
                duration_s: None,
                timezone: None,
            },
            Self::Recurring {
                expression,
                not_before,
                duration_s,
                timezone,
                ..
            } => TimingFields {
                starts_at: *not_before,
                ends_at: None,
                cron: Some(expression),
                duration_s: Some(*duration_s),
                timezone: Some(timezone.name()),
            },
        }
    }
}

/// A maintenance window.
#[derive(Debug, Clone)]
pub struct MaintenanceWindow {
    pub id: i64,
    pub scope: MaintenanceScope,
    pub timing: WindowTiming,
    pub reason: Option<String>,
    /// Shown ahead of time and while open on the status pages of the stacks it covers.
    pub public: bool,
    pub created_at: Timestamp,
}

impl WindowTiming {
    /// The occurrence open at `now`, or else the next one: `(start, end)`.
    pub fn occurrence_at_or_after(&self, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
        match self {
            WindowTiming::Once { starts_at, ends_at } => {
                (now < *ends_at).then_some((*starts_at, *ends_at))
            }
            WindowTiming::Recurring {
                schedule,
                not_before,
                duration_s,
                timezone,
                ..
            } => {
                let length = i64::from(*duration_s) * 1_000;
                let first = not_before.unwrap_or(Timestamp(i64::MIN));
                // An occurrence open now started within the last `length`, and none starts
                // before the first start.
                let from = (now.0 - length).max(first.0).saturating_sub(1_000);
                let from = to_utc(Timestamp(from))?.with_timezone(timezone);
                schedule
                    .after(&from)
                    .map(|start| Timestamp(start.timestamp_millis()))
                    .skip_while(|start| *start < first)
                    .map(|start| (start, Timestamp(start.0 + length)))
                    .find(|(_, end)| *end > now)
            }
        }
    }

    /// Whether an occurrence is open at `now`.
    pub fn open_at(&self, now: Timestamp) -> bool {
        self.occurrence_at_or_after(now)
            .is_some_and(|(start, _)| start <= now)
    }
}

fn to_utc(t: Timestamp) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(t.0).single()
}

impl MaintenanceWindow {
    /// Whether the window covers `check` at `now`.
    pub fn silences(&self, check: &Check, now: Timestamp) -> bool {
        self.scope.covers(check) && self.open_at(now)
    }

    /// Whether the window is open at `now`.
    pub fn open_at(&self, now: Timestamp) -> bool {
        self.timing.open_at(now)
    }

    /// The occurrence open at `now`, or else the next one: `(start, end)`.
    pub fn occurrence_at_or_after(&self, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
        self.timing.occurrence_at_or_after(now)
    }

    /// Whether a stack's status page announces the window: it is public and covers one of
    /// the stack's `checks`.
    pub fn announced_for(&self, checks: &[Check]) -> bool {
        self.public && checks.iter().any(|c| self.scope.covers(c))
    }

    /// An occurrence in the window's own time zone (UTC for a one-off window): "Sunday 6
    /// Dec 02:00–03:00 CET", or both ends in full when they fall on different days.
    pub fn occurrence_text(&self, start: Timestamp, end: Timestamp) -> String {
        let zone = match &self.timing {
            WindowTiming::Recurring { timezone, .. } => *timezone,
            WindowTiming::Once { .. } => chrono_tz::UTC,
        };
        let local =
            |t: Timestamp| DateTime::from_timestamp_millis(t.0).map(|t| t.with_timezone(&zone));
        let (Some(s), Some(e)) = (local(start), local(end)) else {
            return String::new();
        };
        if s.date_naive() == e.date_naive() {
            format!("{}–{}", s.format("%A %-d %b %H:%M"), e.format("%H:%M %Z"))
        } else {
            format!(
                "{} – {}",
                s.format("%A %-d %b %H:%M %Z"),
                e.format("%A %-d %b %H:%M %Z")
            )
        }
    }

    /// Whether the window can never open again after `now`.
    pub fn is_over(&self, now: Timestamp) -> bool {
        self.occurrence_at_or_after(now).is_none()
    }
}

/// Parses an IANA time zone name such as `Europe/Paris`.
pub fn parse_timezone(name: &str) -> Option<Tz> {
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::parse_cron;
    use crate::domain::{CheckId, CheckSpec};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    fn recurring(expression: &str, duration_s: u32, timezone: &str) -> MaintenanceWindow {
        MaintenanceWindow {
            id: 1,
            scope: MaintenanceScope::All,
            timing: WindowTiming::Recurring {
                expression: expression.to_owned(),
                not_before: None,
                schedule: Box::new(parse_cron(expression).unwrap()),
                duration_s,
                timezone: parse_timezone(timezone).unwrap(),
            },
            reason: None,
            public: false,
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn recurring_windows_open_at_each_occurrence_in_their_timezone() {
        // Every day at 02:00 Paris time for 30 minutes. 2026-11-26 is winter time (UTC+1).
        let window = recurring("0 2 * * *", 1_800, "Europe/Paris");
        let cases = [
            ("2026-11-26T00:59:59Z", false),
            ("2026-11-26T01:00:00Z", true),
            ("2026-11-26T01:29:59Z", true),
            ("2026-11-26T01:30:00Z", false),
            ("2026-11-27T01:10:00Z", true),
            // Summer time (UTC+2): 02:00 Paris is 00:00 UTC.
            ("2026-07-01T00:10:00Z", true),
            ("2026-07-01T01:10:00Z", false),
        ];
        for (now, open) in cases {
            assert_eq!(window.open_at(at(now)), open, "{now}");
        }
        let (start, end) = window
            .occurrence_at_or_after(at("2026-11-26T12:00:00Z"))
            .unwrap();
        assert_eq!(start.to_rfc3339(), "2026-11-27T01:00:00Z");
        assert_eq!(end.to_rfc3339(), "2026-11-27T01:30:00Z");
    }

    #[test]
    fn weekly_windows_follow_the_weekday() {
        // Sundays 03:00-05:00 UTC. 2026-11-29 is a Sunday.
        let window = recurring("0 3 * * Sun", 7_200, "UTC");
        assert!(window.open_at(at("2026-11-29T04:59:00Z")));
        assert!(!window.open_at(at("2026-11-28T04:00:00Z")));
        assert!(!window.open_at(at("2026-11-29T05:00:00Z")));
    }

    #[test]
    fn recurring_windows_wait_for_their_first_start() {
        // Saturdays 02:00-03:00 London time, from 5 Jan 2030 (a Saturday).
        let mut window = recurring("0 2 * * Sat", 3_600, "Europe/London");
        if let WindowTiming::Recurring { not_before, .. } = &mut window.timing {
            *not_before = Some(at("2030-01-05T02:00:00Z"));
        }
        // A Saturday 02:30 before the first start: not open, the next is the first.
        let before = at("2026-12-05T02:30:00Z");
        assert!(!window.open_at(before));
        let (start, end) = window.occurrence_at_or_after(before).unwrap();
        assert_eq!(start.to_rfc3339(), "2030-01-05T02:00:00Z");
        assert_eq!(end.to_rfc3339(), "2030-01-05T03:00:00Z");
        assert!(window.open_at(at("2030-01-05T02:00:00Z")));
        assert!(!window.open_at(at("2030-01-05T03:00:00Z")));
        assert!(window.open_at(at("2030-01-12T02:59:59Z")));
        // A first start between occurrences: the next one after it is the first.
        if let WindowTiming::Recurring { not_before, .. } = &mut window.timing {
            *not_before = Some(at("2030-01-05T02:30:00Z"));
        }
        assert!(!window.open_at(at("2030-01-05T02:45:00Z")));
        let (start, _) = window.occurrence_at_or_after(before).unwrap();
        assert_eq!(start.to_rfc3339(), "2030-01-12T02:00:00Z");
    }

    #[test]
    fn one_off_windows_are_half_open_and_end() {
        let window = MaintenanceWindow {
            id: 2,
            scope: MaintenanceScope::All,
            timing: WindowTiming::Once {
                starts_at: Timestamp(1_000),
                ends_at: Timestamp(2_000),
            },
            reason: None,
            public: false,
            created_at: Timestamp(0),
        };
        assert!(!window.open_at(Timestamp(999)));
        assert!(window.open_at(Timestamp(1_000)));
        assert!(!window.open_at(Timestamp(2_000)));
        assert!(!window.is_over(Timestamp(1_999)));
        assert!(window.is_over(Timestamp(2_000)));
    }

    #[test]
    fn scopes_cover_their_checks() {
        let mut spec = CheckSpec::with_defaults("http://127.0.0.1/".parse().unwrap());
        spec.stack = Some("acme".parse().unwrap());
        spec.tags = vec!["env:prod".parse().unwrap()];
        let check = Check {
            id: CheckId(1),
            name: "acme-ready".parse().unwrap(),
            spec,
            ping_key: None,
            paused: false,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        };
        let covers = |scope: MaintenanceScope| scope.covers(&check);
        assert!(covers(MaintenanceScope::All));
        assert!(covers(MaintenanceScope::Stack("acme".parse().unwrap())));
        assert!(!covers(MaintenanceScope::Stack("other".parse().unwrap())));
        assert!(covers(MaintenanceScope::Tag("env:prod".parse().unwrap())));
        assert!(!covers(MaintenanceScope::Tag("env:dev".parse().unwrap())));
        assert!(covers(MaintenanceScope::Check(
            "acme-ready".parse().unwrap()
        )));
        assert!(!covers(MaintenanceScope::Check(
            "acme-live".parse().unwrap()
        )));
    }
}
