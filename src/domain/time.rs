//! Points in time as unix milliseconds: compact to store, cheap to compare, and shown as
//! RFC 3339 at the API edge.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

/// A point in time, in milliseconds since the unix epoch (UTC).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time of the system clock.
    pub fn now() -> Self {
        Self(Utc::now().timestamp_millis())
    }

    /// RFC 3339 text in UTC, the fraction of a second written only as far as it is not
    /// zero, e.g. `2026-11-26T07:33:42.12Z` or `2026-11-26T07:33:42Z`. A time outside the
    /// years 0–9999, which RFC 3339 cannot write, is written as its number of milliseconds.
    pub fn to_rfc3339(self) -> String {
        let Some(t) = DateTime::<Utc>::from_timestamp_millis(self.0)
            .filter(|t| (0..=9999).contains(&t.year()))
        else {
            return self.0.to_string();
        };
        let seconds = t.format("%Y-%m-%dT%H:%M:%S");
        match self.0.rem_euclid(1000) {
            0 => format!("{seconds}Z"),
            millis => {
                let fraction = format!("{millis:03}");
                format!("{seconds}.{}Z", fraction.trim_end_matches('0'))
            }
        }
    }

    /// Parses RFC 3339 text.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| Self(t.timestamp_millis()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        let t = Timestamp(1_795_678_422_120);
        let text = t.to_rfc3339();
        assert_eq!(text, "2026-11-26T07:33:42.12Z");
        assert_eq!(Timestamp::parse_rfc3339(&text), Some(t));
        assert_eq!(
            Timestamp(1_795_678_422_000).to_rfc3339(),
            "2026-11-26T07:33:42Z"
        );
        assert_eq!(
            Timestamp(1_795_678_422_005).to_rfc3339(),
            "2026-11-26T07:33:42.005Z"
        );
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-26T08:33:42.5+01:00"),
            Some(Timestamp(1_795_678_422_500))
        );
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }
}
