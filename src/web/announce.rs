//! The public maintenance windows a stack's status page (and its feeds) announce: those
//! covering one of its checks, open now or opening within two weeks, in the window's own
//! time zone. Pure.

use crate::domain::{Check, MaintenanceWindow, Timestamp};

const DAY_MS: i64 = 86_400_000;
/// How far ahead a public window is announced.
const ANNOUNCED_AHEAD_MS: i64 = 14 * DAY_MS;

/// A public window as a page announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    /// Open now (else ahead).
    pub active: bool,
    /// "Sunday 6 Dec 02:00–03:00 CET", in the window's own time zone (UTC for one-off).
    pub when: String,
    pub reason: Option<String>,
    pub starts_at: Timestamp,
    pub window_id: i64,
    /// When the window was made (what a feed says it was published).
    pub created_at: Timestamp,
}

/// The public windows that cover one of `checks` and are open now or open within
/// [`ANNOUNCED_AHEAD_MS`], soonest first.
pub fn announced(
    windows: &[MaintenanceWindow],
    checks: &[Check],
    now: Timestamp,
) -> Vec<Announced> {
    let mut out: Vec<Announced> = windows
        .iter()
        .filter(|w| w.announced_for(checks))
        .filter_map(|w| {
            let (start, end) = w.occurrence_at_or_after(now)?;
            (start.0 - now.0 <= ANNOUNCED_AHEAD_MS).then(|| Announced {
                active: start <= now,
                when: w.occurrence_text(start, end),
                reason: w.reason.clone(),
                starts_at: start,
                window_id: w.id,
                created_at: w.created_at,
            })
        })
        .collect();
    out.sort_by_key(|a| a.starts_at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CheckId;

    #[test]
    fn public_windows_are_announced_ahead_in_their_zone() {
        use crate::domain::schedule::parse_cron;
        use crate::domain::{CheckSpec, MaintenanceScope, WindowTiming, parse_timezone};
        let check = Check {
            id: CheckId(1),
            name: "acme-web".parse().unwrap(),
            spec: CheckSpec::with_defaults("http://127.0.0.1/".parse().unwrap()),
            ping_key: None,
            paused: false,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        };
        let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
        let window = |id, scope, timing, public| MaintenanceWindow {
            id,
            scope,
            timing,
            reason: Some("database upgrade".into()),
            public,
            created_at: Timestamp(0),
        };
        let sundays = || WindowTiming::Recurring {
            expression: "0 2 * * Sun".into(),
            not_before: None,
            schedule: Box::new(parse_cron("0 2 * * Sun").unwrap()),
            duration_s: 3_600,
            timezone: parse_timezone("Europe/Paris").unwrap(),
        };
        let once = |from: &str, to: &str| WindowTiming::Once {
            starts_at: at(from),
            ends_at: at(to),
        };
        let acme = || MaintenanceScope::Check("acme-web".parse().unwrap());
        let windows = [
            window(1, acme(), sundays(), true),
            window(2, acme(), sundays(), false),
            window(
                3,
                MaintenanceScope::Check("other-web".parse().unwrap()),
                sundays(),
                true,
            ),
            window(
                4,
                MaintenanceScope::All,
                once("2026-12-04T11:00:00Z", "2026-12-05T13:00:00Z"),
                true,
            ),
            window(
                5,
                acme(),
                once("2026-12-30T10:00:00Z", "2026-12-30T11:00:00Z"),
                true,
            ),
        ];
        // Friday 4 December 2026, noon UTC.
        let shown = announced(&windows, &[check], at("2026-12-04T12:00:00Z"));
        let texts: Vec<(bool, &str)> = shown.iter().map(|a| (a.active, a.when.as_str())).collect();
        assert_eq!(
            texts,
            [
                (true, "Friday 4 Dec 11:00 UTC – Saturday 5 Dec 13:00 UTC"),
                (false, "Sunday 6 Dec 02:00–03:00 CET"),
            ]
        );
        assert_eq!(shown[1].reason.as_deref(), Some("database upgrade"));
    }
}
