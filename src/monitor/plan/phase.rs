//! Where in its interval a check's regular probes fall: on a whole second picked by a hash
//! of its id, and inside that second on as few of the scheduler's ticks as the load
//! allows, so that checks probed in the same second share one wake-up of the process
//! instead of waking it once each.

use crate::domain::CheckId;
use crate::domain::schedule::{first_offset_ms, splitmix64};

/// The scheduler wakes on multiples of this from its start, taking every probe due by
/// then: at 1,667 probes/s some 40 start together instead of each waking the runtime on
/// its own (the benchmark at 100,000 checks read 161 µs of CPU per probe without it, 129
/// with it). A check's due times are whole seconds apart, so each is rounded the same way
/// and its gaps stay even; lag grows by at most this.
pub const WAKE_TICK_MS: u64 = 25;
/// The ticks in a second.
const TICKS_PER_SECOND: u64 = 1_000 / WAKE_TICK_MS;
/// Regular probes a tick takes on average before the checks are spread over more of each
/// second's ticks: few enough that probes started together do not delay one another's
/// timings, many enough that a small fleet wakes the process about once a second.
const PROBES_PER_TICK: u64 = 16;

/// The regular probes per second of every planned check, in millionths.
#[derive(Debug, Default, Clone, Copy)]
pub struct Load {
    micro_per_s: u64,
}

impl Load {
    /// A check probed every `rate_ms` joins the plan.
    pub fn add(&mut self, rate_ms: u64) {
        self.micro_per_s = self.micro_per_s.saturating_add(micro_per_s(rate_ms));
    }

    /// A check probed every `rate_ms` leaves the plan.
    pub fn remove(&mut self, rate_ms: u64) {
        self.micro_per_s = self.micro_per_s.saturating_sub(micro_per_s(rate_ms));
    }

    /// How many of each second's ticks probes start on: one while the load fits a tick,
    /// up to every tick.
    pub fn ticks_in_use(&self) -> u64 {
        self.micro_per_s
            .div_ceil(PROBES_PER_TICK * 1_000_000)
            .clamp(1, TICKS_PER_SECOND)
    }

    /// A check's phase in its interval: a second from a hash of its id, then one of the
    /// ticks in use, spread evenly over the second. An interval that is not whole seconds
    /// gets any millisecond (no such rate is accepted today).
    pub fn phase_ms(&self, id: CheckId, rate_ms: u64) -> u64 {
        if rate_ms < 1_000 || !rate_ms.is_multiple_of(1_000) {
            return first_offset_ms(id, rate_ms);
        }
        let seconds = rate_ms / 1_000;
        // Ids are signed in the database but never negative; the cast only feeds a hash.
        let hash = splitmix64(id.0 as u64);
        let second = hash % seconds;
        let ticks = self.ticks_in_use();
        let tick = (hash / seconds) % ticks * TICKS_PER_SECOND / ticks;
        second * 1_000 + tick * WAKE_TICK_MS
    }
}

fn micro_per_s(rate_ms: u64) -> u64 {
    1_000_000_000 / rate_ms.max(1)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// The load of `checks` checks at `rate_ms`.
    fn load(checks: u64, rate_ms: u64) -> Load {
        let mut load = Load::default();
        for _ in 0..checks {
            load.add(rate_ms);
        }
        load
    }

    /// How many checks start on each distinct moment of the interval.
    fn per_moment(load: &Load, checks: i64, rate_ms: u64) -> HashMap<u64, u32> {
        let mut moments = HashMap::new();
        for id in 1..=checks {
            let phase = load.phase_ms(CheckId(id), rate_ms);
            assert!(phase < rate_ms, "inside the interval: {phase}");
            assert_eq!(phase % WAKE_TICK_MS, 0, "on a tick: {phase}");
            *moments.entry(phase).or_insert(0) += 1;
        }
        moments
    }

    #[test]
    fn a_small_fleet_shares_one_tick_a_second() {
        // 400 checks at 60 s: 6.7 probes a second, all on the second itself.
        let load = load(400, 60_000);
        assert_eq!(load.ticks_in_use(), 1);
        let moments = per_moment(&load, 400, 60_000);
        assert!(
            moments.keys().all(|phase| phase % 1_000 == 0),
            "{moments:?}"
        );
        assert!(moments.len() <= 60, "at most one wake a second");
        assert!(
            moments.len() >= 55,
            "yet spread over the minute: {}",
            moments.len()
        );
    }

    #[test]
    fn a_large_fleet_uses_every_tick_and_none_is_crowded() {
        // 100,000 checks at 60 s: 1,667 a second, 42 a tick on average.
        let load = load(100_000, 60_000);
        assert_eq!(load.ticks_in_use(), TICKS_PER_SECOND);
        let moments = per_moment(&load, 100_000, 60_000);
        assert_eq!(moments.len() as u64, 60 * TICKS_PER_SECOND);
        let most = moments.values().max().copied().unwrap_or(0);
        assert!(most < 80, "a crowded tick: {most}");
    }

    #[test]
    fn between_the_two_each_tick_in_use_takes_about_its_share() {
        // 6,000 at 60 s: 100 a second over ceil(100 / 16) = 7 ticks.
        let load = load(6_000, 60_000);
        assert_eq!(load.ticks_in_use(), 7);
        let moments = per_moment(&load, 6_000, 60_000);
        assert_eq!(moments.len(), 60 * 7);
        let most = moments.values().max().copied().unwrap_or(0);
        assert!(most <= 2 * PROBES_PER_TICK as u32, "a crowded tick: {most}");
    }

    #[test]
    fn removing_checks_gives_the_load_back() {
        let mut load = load(100_000, 10_000);
        assert_eq!(load.ticks_in_use(), TICKS_PER_SECOND);
        for _ in 0..100_000 {
            load.remove(10_000);
        }
        load.remove(10_000);
        assert_eq!(load.ticks_in_use(), 1);
        assert_eq!(load.micro_per_s, 0);
    }

    #[test]
    fn an_interval_of_less_than_a_second_or_not_whole_seconds_still_gets_a_phase() {
        let load = Load::default();
        assert!(load.phase_ms(CheckId(3), 500) < 500);
        assert!(load.phase_ms(CheckId(3), 1_500) < 1_500);
    }
}
