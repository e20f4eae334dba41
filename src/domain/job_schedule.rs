//! When a cron job runs, for a heartbeat that follows it: a 5-field cron expression read
//! in an IANA time zone, as Healthchecks' cron checks take them. Each part is parsed once
//! when the check is registered; the longest gap between two runs is worked out then too,
//! so the scheduler never waits less than a run may take to come.

use std::fmt;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use super::Timestamp;
use super::schedule::parse_cron;

/// The runs looked at to find the longest gap between two: at most this many…
const RUNS_LOOKED_AT: usize = 1_000;
/// …within this many days from a fixed day.
const DAYS_LOOKED_AT: i64 = 800;
/// The fixed day they count from (2026-01-01), so the same expression always has the same
/// longest gap.
const FROM_MS: i64 = 1_767_225_600_000;

/// A 5-field cron expression (`30 2 * * *`), parsed.
#[derive(Clone)]
pub struct CronText {
    text: String,
    schedule: Box<cron::Schedule>,
    /// The longest and the shortest time between two runs, in seconds.
    longest_gap_s: u64,
    shortest_gap_s: u64,
}

impl CronText {
    /// Parses `text`: five fields as crontab reads them, running at least twice in
    /// 800 days.
    pub fn read(text: &str) -> Result<Self, String> {
        if text.split_whitespace().count() != 5 {
            return Err(
                "must be a cron expression of 5 fields: minute hour day month weekday".to_owned(),
            );
        }
        let schedule = parse_cron(text)?;
        let from = Utc
            .timestamp_millis_opt(FROM_MS)
            .single()
            .ok_or("the reference day is out of range")?;
        let until = from + chrono::Duration::days(DAYS_LOOKED_AT);
        let runs: Vec<i64> = schedule
            .after(&from)
            .take(RUNS_LOOKED_AT)
            .take_while(|t| *t < until)
            .map(|t| t.timestamp())
            .collect();
        let gaps: Vec<u64> = runs
            .windows(2)
            .map(|w| u64::try_from(w[1] - w[0]).unwrap_or(0))
            .collect();
        let (Some(&longest_gap_s), Some(&shortest_gap_s)) = (gaps.iter().max(), gaps.iter().min())
        else {
            return Err("runs less than twice in 800 days".to_owned());
        };
        Ok(Self {
            text: text.to_owned(),
            schedule: Box::new(schedule),
            longest_gap_s,
            shortest_gap_s,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The longest time between two runs, in seconds.
    pub fn longest_gap_s(&self) -> u64 {
        self.longest_gap_s
    }

    /// The shortest time between two runs, in seconds.
    pub fn shortest_gap_s(&self) -> u64 {
        self.shortest_gap_s
    }

    /// The first run strictly after `at`, its times read in `zone`.
    pub fn next_after(&self, at: Timestamp, zone: Zone) -> Option<Timestamp> {
        let at = Utc
            .timestamp_millis_opt(at.0)
            .single()?
            .with_timezone(&zone.0);
        let next = self.schedule.after(&at).next()?;
        Some(Timestamp(next.timestamp_millis()))
    }
}

impl PartialEq for CronText {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for CronText {}

impl fmt::Debug for CronText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronText({:?})", self.text)
    }
}

impl Serialize for CronText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for CronText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::read(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for CronText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .examples([serde_json::json!("30 2 * * *")])
            .into()
    }
}

impl ToSchema for CronText {}

/// An IANA time zone (`Europe/Paris`), parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(pub Tz);

impl Zone {
    pub fn read(name: &str) -> Result<Self, String> {
        name.parse::<Tz>()
            .map(Self)
            .map_err(|_| "must be an IANA time zone name such as Europe/Paris".to_owned())
    }

    pub const UTC: Self = Self(Tz::UTC);
}

impl Serialize for Zone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.name())
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::read(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Zone {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .examples([serde_json::json!("Europe/Paris")])
            .into()
    }
}

impl ToSchema for Zone {}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn the_next_run_is_read_in_the_zone_and_the_longest_gap_known() {
        let nightly = CronText::read("30 2 * * *").unwrap();
        assert_eq!(nightly.longest_gap_s(), 86_400);
        let paris = Zone::read("Europe/Paris").unwrap();
        // 02:30 in Paris is 01:30 UTC in winter.
        assert_eq!(
            nightly.next_after(at("2026-12-04T12:00:00Z"), paris),
            Some(at("2026-12-05T01:30:00Z"))
        );
        assert_eq!(
            nightly.next_after(at("2026-12-05T01:30:00Z"), Zone::UTC),
            Some(at("2026-12-05T02:30:00Z"))
        );
        // 2027-03-28 has no 02:30 in Paris (02:00 becomes 03:00): that run is skipped.
        assert_eq!(
            nightly.next_after(at("2027-03-27T02:00:00Z"), paris),
            Some(at("2027-03-29T00:30:00Z"))
        );
        let weekdays = CronText::read("0 6 * * 1-5").unwrap();
        assert_eq!(weekdays.longest_gap_s(), 3 * 86_400, "Friday to Monday");
        assert_eq!(weekdays.shortest_gap_s(), 86_400);
        assert!(CronText::read("0 6 * *").unwrap_err().contains("5 fields"));
        assert!(CronText::read("0 0 30 2 *").unwrap_err().contains("twice"));
        assert!(Zone::read("Mars/Olympus").is_err());
    }
}
