//! The schedule itself, without I/O or clocks: which check is due when. The scheduler asks
//! it what is due at `now` and tells it when a probe finished; tests drive it over
//! simulated hours with plain numbers.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::domain::schedule::{first_offset_ms, next_due_ms};
use crate::domain::{Check, CheckId, Target};

/// A new or re-rated check's first probe comes within this time (or its interval, if
/// shorter), spread by its id, so a whole stack registered at once is not one burst.
pub const NEW_CHECK_SPREAD_MS: u64 = 5_000;

/// How often a check is probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    /// Start-to-start interval of regular probes.
    pub rate_ms: u64,
    /// Delay before a re-probe while a change is being confirmed.
    pub retry_ms: u64,
}

impl Cadence {
    /// A check's cadence: its rate and retry interval; a heartbeat is due when its
    /// deadline passes (a ping moves it: see the scheduler's `heartbeat`).
    pub fn of(check: &Check) -> Self {
        if let Target::Heartbeat(beat) = &check.spec.target {
            let deadline_ms = beat.deadline_s() * 1_000;
            return Self {
                rate_ms: deadline_ms,
                retry_ms: deadline_ms,
            };
        }
        Self {
            rate_ms: u64::from(check.spec.check_rate) * 1_000,
            retry_ms: u64::from(check.spec.retry_interval) * 1_000,
        }
    }
}

#[derive(Debug)]
struct Slot {
    cadence: Cadence,
    /// A regular slot of the schedule; later ones follow it at the rate.
    anchor_ms: u64,
    /// Bumped at each scheduling; queued items of older generations are stale.
    generation: u64,
    running: bool,
}

/// Every active check's next due time, in a time-ordered queue.
#[derive(Debug, Default)]
pub struct Plan {
    slots: HashMap<CheckId, Slot>,
    queue: BinaryHeap<Reverse<(u64, CheckId, u64)>>,
}

impl Plan {
    /// Adds a check loaded at start: its first probe falls inside its first interval,
    /// at an offset from a hash of its id.
    pub fn add_at_start(&mut self, id: CheckId, cadence: Cadence, now_ms: u64) {
        self.add(id, cadence, now_ms + first_offset_ms(id, cadence.rate_ms));
    }

    /// Adds a check created while running: probed within a few seconds, then at its own
    /// phase of the interval (the one a restart gives it, from a hash of its id), so a
    /// stack or a whole fleet registered at once is spread over the interval after its
    /// first round instead of probing in one burst every interval.
    pub fn add_new(&mut self, id: CheckId, cadence: Cadence, now_ms: u64) {
        let spread = cadence.rate_ms.min(NEW_CHECK_SPREAD_MS);
        let first_due = now_ms + first_offset_ms(id, spread);
        self.add(id, cadence, first_due);
        let rate = cadence.rate_ms.max(1);
        let phase = first_offset_ms(id, rate);
        let regular = first_due + (phase + rate - first_due % rate) % rate;
        if let Some(slot) = self.slots.get_mut(&id) {
            slot.anchor_ms = if regular > first_due {
                regular
            } else {
                regular + rate
            };
        }
    }

    /// Adds a check first due a whole interval from now: a heartbeat's first deadline.
    pub fn add_after_interval(&mut self, id: CheckId, cadence: Cadence, now_ms: u64) {
        self.add(id, cadence, now_ms + cadence.rate_ms);
    }

    /// Adds a check first due `wait_ms` from now: a heartbeat loaded at start, whose
    /// deadline counts from its last ping, not from the start.
    pub fn add_due_in(&mut self, id: CheckId, cadence: Cadence, now_ms: u64, wait_ms: u64) {
        self.add(id, cadence, now_ms + wait_ms.min(cadence.rate_ms));
    }

    /// Moves a check's next due time to a whole interval from now: a heartbeat pinged.
    pub fn restart_interval(&mut self, id: CheckId, now_ms: u64) {
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        slot.running = false;
        slot.anchor_ms = now_ms + slot.cadence.rate_ms;
        let due = slot.anchor_ms;
        self.push(id, due);
    }

    fn add(&mut self, id: CheckId, cadence: Cadence, first_due_ms: u64) {
        self.slots.insert(
            id,
            Slot {
                cadence,
                anchor_ms: first_due_ms,
                generation: 0,
                running: false,
            },
        );
        self.push(id, first_due_ms);
    }

    /// A check's cadence changed (or its spec did): same rate keeps the schedule's phase; a
    /// new rate starts a new phase within a few seconds. A running probe is not disturbed:
    /// the next due time is set when it finishes.
    pub fn update(&mut self, id: CheckId, cadence: Cadence, now_ms: u64) {
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        let new_rate = slot.cadence.rate_ms != cadence.rate_ms;
        slot.cadence = cadence;
        if new_rate {
            let spread = cadence.rate_ms.min(NEW_CHECK_SPREAD_MS);
            slot.anchor_ms = now_ms + first_offset_ms(id, spread);
        } else if slot.anchor_ms <= now_ms {
            slot.anchor_ms = next_due_ms(slot.anchor_ms, cadence.rate_ms, now_ms);
        }
        if !slot.running {
            let due = slot.anchor_ms;
            self.push(id, due);
        }
    }

    /// Forgets a check; a probe of it still running is ignored when it finishes.
    pub fn remove(&mut self, id: CheckId) {
        self.slots.remove(&id);
    }

    /// The earliest due time, if any check is planned.
    pub fn next_due(&mut self) -> Option<u64> {
        while let Some(Reverse((due, id, generation))) = self.queue.peek().copied() {
            if self.is_current(id, generation) {
                return Some(due);
            }
            self.queue.pop();
        }
        None
    }

    /// Every check due at `now_ms`, with its due time; each is marked running, so it is not
    /// started again before it finishes.
    pub fn take_due(&mut self, now_ms: u64) -> Vec<(CheckId, u64)> {
        let mut due = Vec::new();
        while let Some(Reverse((at, id, generation))) = self.queue.peek().copied() {
            if at > now_ms {
                break;
            }
            self.queue.pop();
            if !self.is_current(id, generation) {
                continue;
            }
            if let Some(slot) = self.slots.get_mut(&id) {
                slot.running = true;
                due.push((id, at));
            }
        }
        due
    }

    /// A probe finished at `now_ms`. While a change is being confirmed the check is probed
    /// again after the retry delay; otherwise at its next regular slot, start to start.
    pub fn finished(&mut self, id: CheckId, confirming: bool, now_ms: u64) -> Option<u64> {
        let slot = self.slots.get_mut(&id)?;
        slot.running = false;
        let due = if confirming {
            now_ms + slot.cadence.retry_ms
        } else {
            // The anchor is ahead only after a new check's first probe (see `add_new`).
            if slot.anchor_ms <= now_ms {
                slot.anchor_ms = next_due_ms(slot.anchor_ms, slot.cadence.rate_ms, now_ms);
            }
            slot.anchor_ms
        };
        self.push(id, due);
        Some(due)
    }

    fn is_current(&self, id: CheckId, generation: u64) -> bool {
        self.slots
            .get(&id)
            .is_some_and(|s| s.generation == generation && !s.running)
    }

    fn push(&mut self, id: CheckId, due_ms: u64) {
        if let Some(slot) = self.slots.get_mut(&id) {
            slot.generation += 1;
            self.queue.push(Reverse((due_ms, id, slot.generation)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Cadence = Cadence {
        rate_ms: 60_000,
        retry_ms: 10_000,
    };

    /// Runs the plan from 0 to `end_ms` in steps of `step_ms`; each probe takes
    /// `duration_ms(id)` and succeeds unless `confirming(id, start)`. Returns the start
    /// times of every probe, by check.
    fn simulate(
        plan: &mut Plan,
        end_ms: u64,
        step_ms: u64,
        duration_ms: impl Fn(CheckId) -> u64,
        confirming: impl Fn(CheckId, u64) -> bool,
    ) -> HashMap<CheckId, Vec<u64>> {
        let mut starts: HashMap<CheckId, Vec<u64>> = HashMap::new();
        let mut running: Vec<(u64, CheckId, bool)> = Vec::new();
        let mut now = 0;
        while now <= end_ms {
            running.sort();
            while let Some(&(end, id, c)) = running.first() {
                if end > now {
                    break;
                }
                running.remove(0);
                plan.finished(id, c, now);
            }
            for (id, _due) in plan.take_due(now) {
                starts.entry(id).or_default().push(now);
                running.push((now + duration_ms(id), id, confirming(id, now)));
            }
            now += step_ms;
        }
        starts
    }

    #[test]
    fn first_probes_after_a_start_spread_over_the_interval() {
        let mut plan = Plan::default();
        for id in 1..=6_000 {
            plan.add_at_start(CheckId(id), MINUTE, 0);
        }
        let mut per_second = [0u32; 60];
        for (_, due) in plan.take_due(59_999) {
            per_second[(due / 1_000) as usize] += 1;
        }
        assert_eq!(
            per_second.iter().sum::<u32>(),
            6_000,
            "all due within one interval"
        );
        // 100 per second expected; a burst would put hundreds in one second.
        assert!(
            per_second.iter().all(|n| (60..=140).contains(n)),
            "{per_second:?}"
        );
    }

    #[test]
    fn checks_registered_together_spread_over_the_interval_after_their_first_probe() {
        let mut plan = Plan::default();
        let registered_at = 7_000;
        for id in 1..=6_000 {
            plan.add_new(CheckId(id), MINUTE, registered_at);
        }
        let starts = simulate(
            &mut plan,
            registered_at + 200_000,
            100,
            |_| 50,
            |_, _| false,
        );
        let mut per_second = [0u32; 60];
        for (id, times) in &starts {
            assert!(
                times[0] <= registered_at + NEW_CHECK_SPREAD_MS,
                "first probe within a few seconds: {id:?} {times:?}"
            );
            assert!(times[1] - times[0] <= MINUTE.rate_ms, "{id:?} {times:?}");
            for pair in times[1..].windows(2) {
                assert_eq!(pair[1] - pair[0], MINUTE.rate_ms, "{id:?} {times:?}");
            }
            per_second[((times[2] / 1_000) % 60) as usize] += 1;
        }
        // 100 per second expected; a burst would put them all in five seconds.
        assert!(
            per_second.iter().all(|n| (60..=140).contains(n)),
            "{per_second:?}"
        );
    }

    #[test]
    fn probes_start_at_the_rate_without_drift() {
        let mut plan = Plan::default();
        plan.add(CheckId(1), MINUTE, 0);
        // Every probe takes 1.7 s: start-to-start scheduling must not add it up.
        let starts = simulate(&mut plan, 3_600_000, 100, |_| 1_700, |_, _| false);
        let times = &starts[&CheckId(1)];
        assert_eq!(times.len(), 61);
        for (i, t) in times.iter().enumerate() {
            assert_eq!(*t, i as u64 * 60_000, "probe {i}");
        }
    }

    #[test]
    fn a_probe_longer_than_its_interval_never_overlaps_itself() {
        let mut plan = Plan::default();
        let cadence = Cadence {
            rate_ms: 10_000,
            retry_ms: 10_000,
        };
        plan.add(CheckId(1), cadence, 0);
        plan.add(CheckId(2), cadence, 0);
        // Check 1 hangs for 25 s each time; check 2 answers at once.
        let starts = simulate(
            &mut plan,
            120_000,
            100,
            |id| if id == CheckId(1) { 25_000 } else { 10 },
            |_, _| false,
        );
        let slow = &starts[&CheckId(1)];
        for pair in slow.windows(2) {
            assert!(pair[1] >= pair[0] + 25_000, "overlap: {slow:?}");
        }
        assert_eq!(
            slow,
            &vec![0, 30_000, 60_000, 90_000, 120_000],
            "next free slot"
        );
        assert_eq!(
            starts[&CheckId(2)].len(),
            13,
            "the slow check delays nothing else"
        );
    }

    #[test]
    fn confirming_reprobes_after_the_retry_delay_then_returns_to_the_rate() {
        let mut plan = Plan::default();
        plan.add(CheckId(1), MINUTE, 0);
        // The probe at 60 s fails (confirming); the retry at 70 s confirms.
        let starts = simulate(&mut plan, 240_000, 100, |_| 100, |_, start| start == 60_000);
        assert_eq!(
            starts[&CheckId(1)],
            vec![0, 60_000, 70_100, 120_000, 180_000, 240_000]
        );
    }

    #[test]
    fn updates_keep_the_phase_unless_the_rate_changes() {
        let mut plan = Plan::default();
        plan.add(CheckId(7), MINUTE, 15_000);
        assert_eq!(plan.take_due(15_000), vec![(CheckId(7), 15_000)]);
        plan.finished(CheckId(7), false, 15_200);
        plan.update(CheckId(7), MINUTE, 20_000);
        assert_eq!(plan.next_due(), Some(75_000), "same rate: same phase");
        let faster = Cadence {
            rate_ms: 10_000,
            retry_ms: 5_000,
        };
        plan.update(CheckId(7), faster, 20_000);
        let due = plan.next_due().unwrap();
        assert!((20_000..25_000).contains(&due), "new rate: soon, got {due}");
    }

    #[test]
    fn removed_and_running_checks_are_not_started() {
        let mut plan = Plan::default();
        plan.add(CheckId(1), MINUTE, 0);
        plan.add(CheckId(2), MINUTE, 0);
        plan.remove(CheckId(2));
        assert_eq!(plan.take_due(0), vec![(CheckId(1), 0)]);
        plan.update(CheckId(1), MINUTE, 100);
        assert_eq!(
            plan.take_due(100_000),
            vec![],
            "still running: not started twice"
        );
        assert_eq!(plan.finished(CheckId(2), false, 10), None);
        assert_eq!(plan.finished(CheckId(1), false, 100_000), Some(120_000));
    }
}
