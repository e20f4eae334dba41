//! Schedule arithmetic: where a check's first probe falls inside its interval, and when
//! the next one is due. Times are milliseconds since the scheduler's start. Pure.

use super::CheckId;

/// How often a check is probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    /// Start-to-start interval of regular probes.
    pub rate_ms: u64,
    /// Delay before a re-probe while a change is being confirmed.
    pub retry_ms: u64,
}

/// Offset of a check's first probe inside its interval, from a hash of its id, so a
/// restart spreads probes evenly instead of firing them all at once.
pub fn first_offset_ms(id: CheckId, interval_ms: u64) -> u64 {
    if interval_ms == 0 {
        return 0;
    }
    splitmix64(id.0 as u64) % interval_ms
}

/// The next due time after a probe that was due at `due_ms`: start-to-start, so the
/// schedule does not drift by the probe's duration; slots already past `now_ms` are
/// skipped rather than run in a burst.
pub fn next_due_ms(due_ms: u64, interval_ms: u64, now_ms: u64) -> u64 {
    let interval = interval_ms.max(1);
    let next = due_ms + interval;
    if next > now_ms {
        next
    } else {
        let behind = now_ms - next;
        next + (behind / interval + 1) * interval
    }
}

/// Parses a cron expression: the usual 5 fields (minute hour day month weekday) as crontab
/// reads them, or 6-7 with seconds first as the `cron` crate reads them. A 5-field one gets
/// `0` seconds, and its weekdays are crontab's (0 or 7 Sunday, 1 Monday … 6 Saturday),
/// written out by name for the `cron` crate, which counts 1 as Sunday.
pub fn parse_cron(expression: &str) -> Result<cron::Schedule, String> {
    let fields: Vec<&str> = expression.split_whitespace().collect();
    let full = match fields.as_slice() {
        [minute, hour, day, month, weekday] => {
            let weekday = crontab_weekdays(weekday)
                .map_err(|e| format!("invalid cron expression {expression:?}: weekday {e}"))?;
            format!("0 {minute} {hour} {day} {month} {weekday}")
        }
        [_, _, _, _, _, _] | [_, _, _, _, _, _, _] => expression.to_owned(),
        other => {
            return Err(format!(
                "a cron expression has 5 fields (or 6-7 with seconds), not {}",
                other.len()
            ));
        }
    };
    full.parse::<cron::Schedule>()
        .map_err(|e| format!("invalid cron expression {expression:?}: {e}"))
}

/// Weekday names by crontab's number (0 Sunday … 6 Saturday).
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// A crontab weekday field (`*`, numbers 0-7, three-letter names, lists, ranges, steps)
/// as a list of day names, or `*` as it is.
fn crontab_weekdays(field: &str) -> Result<String, String> {
    if field == "*" {
        return Ok(field.to_owned());
    }
    let day = |text: &str| -> Result<usize, String> {
        if let Ok(n) = text.parse::<usize>() {
            return match n {
                0..=6 => Ok(n),
                7 => Ok(0),
                _ => Err(format!("{n} is not 0-7")),
            };
        }
        WEEKDAYS
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
            .ok_or_else(|| format!("{text:?} is not a day"))
    };
    let mut days = [false; 7];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => match step.parse::<usize>() {
                Ok(step) if step >= 1 => (range, step),
                _ => return Err(format!("step {step:?} is not a whole number from 1")),
            },
            None => (item, 1),
        };
        // Bounds on crontab's line 0-7, where 7 is Sunday again.
        let (first, last) = match range.split_once('-') {
            _ if range == "*" => (0, 6),
            Some((a, b)) => {
                let last = if b == "7" { 7 } else { day(b)? };
                (day(a)?, last)
            }
            None if step > 1 => (day(range)?, 6),
            None => (day(range)?, day(range)?),
        };
        if first > last {
            return Err(format!("range {range:?} runs backwards"));
        }
        for n in (first..=last).step_by(step) {
            days[n % 7] = true;
        }
    }
    let names: Vec<&str> = (0..7).filter(|&n| days[n]).map(|n| WEEKDAYS[n]).collect();
    Ok(names.join(","))
}

/// A well-mixed 64-bit hash (SplitMix64's finaliser): consecutive ids land far apart.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_due_is_start_to_start_and_skips_missed_slots() {
        let cases = [
            // (due, interval, now) -> next
            ((0, 1_000, 10), 1_000),
            ((0, 1_000, 999), 1_000),
            ((0, 1_000, 1_000), 2_000),
            ((0, 1_000, 3_500), 4_000),
            ((5_000, 60_000, 5_250), 65_000),
        ];
        for ((due, interval, now), want) in cases {
            assert_eq!(
                next_due_ms(due, interval, now),
                want,
                "{due} {interval} {now}"
            );
        }
    }

    #[test]
    fn five_field_weekdays_are_crontabs() {
        // 2026-12-06 is a Sunday; the next 02:00 of each weekday set, from midnight UTC.
        let sunday = chrono::DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let days = |expression: &str| -> Vec<String> {
            parse_cron(expression)
                .unwrap()
                .after(&sunday)
                .take(7)
                .map(|t| t.format("%a").to_string())
                .collect()
        };
        let all = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        assert_eq!(
            days("0 2 * * 1-5"),
            ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon", "Tue"]
        );
        assert_eq!(days("0 2 * * 0")[..2], ["Sun", "Sun"]);
        assert_eq!(days("0 2 * * 7")[..2], ["Sun", "Sun"]);
        assert_eq!(days("0 2 * * 5-7")[..4], ["Sun", "Fri", "Sat", "Sun"]);
        assert_eq!(days("0 2 * * */2")[..4], ["Sun", "Tue", "Thu", "Sat"]);
        assert_eq!(days("0 2 * * 1/3")[..3], ["Mon", "Thu", "Mon"]);
        assert_eq!(days("0 2 * * Sun,wed")[..3], ["Sun", "Wed", "Sun"]);
        assert_eq!(days("0 2 * * MON-FRI"), days("0 2 * * 1-5"));
        assert_eq!(days("0 2 * * *"), all);
        // Six fields are the cron crate's own, where 1 is Sunday.
        assert_eq!(days("0 0 2 * * 1")[..2], ["Sun", "Sun"]);
        for bad in ["0 2 * * 8", "0 2 * * 5-2", "0 2 * * 1/0", "0 2 * * Funday"] {
            assert!(parse_cron(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cron_accepts_five_and_six_fields() {
        assert!(parse_cron("17 * * * *").is_ok());
        assert!(parse_cron("0 17 * * * *").is_ok());
        assert!(parse_cron("0 2 * * Sun").is_ok());
        assert!(parse_cron("* *").is_err());
        assert!(parse_cron("61 * * * *").is_err());
    }

    #[test]
    fn first_offsets_spread_over_the_interval() {
        let interval = 60_000;
        let mut buckets = [0u32; 10];
        for id in 1..=10_000 {
            let offset = first_offset_ms(CheckId(id), interval);
            assert!(offset < interval);
            buckets[(offset * 10 / interval) as usize] += 1;
        }
        // 1,000 expected per tenth of the interval; a hash this good stays within 15 %.
        for (i, count) in buckets.iter().enumerate() {
            assert!((850..=1_150).contains(count), "bucket {i} holds {count}");
        }
    }
}
