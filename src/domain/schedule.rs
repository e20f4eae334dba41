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

/// Parses a cron expression: the usual 5 fields (minute hour day month weekday), or 6-7
/// with seconds first as the `cron` crate wants them. A 5-field one gets `0` seconds.
pub fn parse_cron(expression: &str) -> Result<cron::Schedule, String> {
    let fields = expression.split_whitespace().count();
    let full = match fields {
        5 => format!("0 {expression}"),
        6 | 7 => expression.to_owned(),
        n => {
            return Err(format!(
                "a cron expression has 5 fields (or 6-7 with seconds), not {n}"
            ));
        }
    };
    full.parse::<cron::Schedule>()
        .map_err(|e| format!("invalid cron expression {expression:?}: {e}"))
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
