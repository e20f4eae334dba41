//! The plan driven over simulated time: spreading, rates, overlaps, confirmation, updates.

use super::*;

const MINUTE: Cadence = Cadence {
    rate_ms: 60_000,
    retry_ms: 10_000,
};

/// Runs the plan from 0 to `end_ms` in steps of `step_ms`; each probe takes
/// `duration_ms(id)` and succeeds unless `confirming(id, start)`. Returns the start
/// times of every probe, by check.
fn simulate<S: Slots>(
    plan: &mut Plan<S>,
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
    let mut plan: Plan = Plan::default();
    let checks: Vec<(CheckId, Cadence)> = (1..=6_000).map(|id| (CheckId(id), MINUTE)).collect();
    plan.add_all_at_start(&checks, 0);
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
    let mut plan: Plan = Plan::default();
    let registered_at = 7_000;
    for id in 1..=i64::from(QUICK_FIRSTS_PER_SPREAD) {
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
        let first_gap = times[1] - times[0];
        assert!(
            (FIRST_GAP_MIN_MS..=MINUTE.rate_ms + FIRST_GAP_MIN_MS).contains(&first_gap),
            "then at its phase, not just after the first: {id:?} {times:?}"
        );
        for pair in times[1..].windows(2) {
            assert_eq!(pair[1] - pair[0], MINUTE.rate_ms, "{id:?} {times:?}");
        }
        per_second[((times[2] / 1_000) % 60) as usize] += 1;
    }
    // 83 per second expected (within 40 %, as for 6,000 at start); a burst would put
    // them all in five seconds.
    assert!(
        per_second.iter().all(|n| (50..=117).contains(n)),
        "{per_second:?}"
    );
}

#[test]
fn a_fleet_registered_at_once_past_the_quick_budget_starts_at_its_phases() {
    let mut plan: Plan = Plan::default();
    let registered_at = 7_000;
    let fleet = 20_000;
    for id in 1..=fleet {
        plan.add_new(CheckId(id), MINUTE, registered_at);
    }
    // One more, once the budget's window has passed, is quick again.
    let late = registered_at + NEW_CHECK_SPREAD_MS;
    plan.add_new(CheckId(fleet + 1), MINUTE, late);
    let starts = simulate(&mut plan, registered_at + 200_000, 25, |_| 50, |_, _| false);
    // A quick first probe is off the check's phase; any other first probe is its first
    // regular slot, a whole interval before the second.
    let quick: Vec<&Vec<u64>> = starts
        .values()
        .filter(|times| times[1] - times[0] != MINUTE.rate_ms)
        .collect();
    assert_eq!(quick.len(), QUICK_FIRSTS_PER_SPREAD as usize + 1);
    assert!(
        quick
            .iter()
            .all(|times| times[0] <= late + NEW_CHECK_SPREAD_MS)
    );
    assert!(starts[&CheckId(fleet + 1)][0] <= late + NEW_CHECK_SPREAD_MS);
    let mut first_minute = [0u32; 60];
    for (id, times) in &starts {
        assert!(
            times[0] <= registered_at + MINUTE.rate_ms,
            "every check within one interval: {id:?} {times:?}"
        );
        for pair in times[1..].windows(2) {
            assert_eq!(pair[1] - pair[0], MINUTE.rate_ms, "{id:?} {times:?}");
        }
        for &t in times
            .iter()
            .filter(|&&t| t < registered_at + MINUTE.rate_ms)
        {
            first_minute[((t - registered_at) / 1_000) as usize] += 1;
        }
    }
    // The steady 333 a second, plus at most 1,000 a second of quick first probes in the
    // first five seconds: not 20,000 in five seconds.
    assert!(first_minute.iter().all(|&n| n <= 1_500), "{first_minute:?}");
}

#[test]
fn probes_start_at_the_rate_without_drift() {
    let mut plan: Plan = Plan::default();
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
    let mut plan: Plan = Plan::default();
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
    let mut plan: Plan = Plan::default();
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
    let mut plan: Plan = Plan::default();
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
fn a_registration_told_twice_keeps_its_quick_first_probe() {
    let daily = Cadence {
        rate_ms: 86_400_000,
        retry_ms: 10_000,
    };
    let mut plan: Plan = Plan::default();
    plan.add_new(CheckId(3), daily, 1_000);
    let first = plan.next_due().unwrap();
    assert!(first < 1_000 + NEW_CHECK_SPREAD_MS, "quick: {first}");
    // The shared database's change log tells of the same registration again.
    plan.update(CheckId(3), daily, 1_500);
    assert_eq!(plan.next_due(), Some(first), "not a day later");
    assert_eq!(plan.take_due(first), vec![(CheckId(3), first)]);
}

#[test]
fn removed_and_running_checks_are_not_started() {
    let mut plan: Plan = Plan::default();
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

#[test]
fn a_running_check_is_not_nudged_due_sooner_or_requeued_by_a_new_rate() {
    let mut plan: Plan = Plan::default();
    plan.add(CheckId(1), MINUTE, 0);
    assert_eq!(plan.take_due(0), vec![(CheckId(1), 0)]);
    assert!(!plan.nudge(CheckId(1), 10), "running: not nudged");
    plan.due_by(CheckId(1), 20);
    plan.update(
        CheckId(1),
        Cadence {
            rate_ms: 30_000,
            retry_ms: 5_000,
        },
        30,
    );
    assert_eq!(plan.next_due(), None, "nothing queued while it runs");
    assert_eq!(
        plan.finished(CheckId(1), true, 1_000),
        Some(6_000),
        "the new retry"
    );
    assert!(plan.nudge(CheckId(1), 2_000), "queued again: nudged");
    assert_eq!(plan.take_due(2_000), vec![(CheckId(1), 2_000)]);
    assert_eq!(
        plan.take_due(6_000),
        vec![],
        "the item the nudge replaced is stale"
    );
}

#[test]
fn a_slot_with_its_key_is_five_words() {
    assert!(
        size_of::<(CheckId, Slot)>() <= 40,
        "{}",
        size_of::<(CheckId, Slot)>()
    );
}

#[test]
fn a_small_fleet_probes_in_one_wake_a_second_after_a_start_or_a_registration() {
    use std::collections::HashSet;
    // 200 stacks of two checks at 60 s: one loaded at start, one registered while running.
    let mut plan: Plan = Plan::default();
    let loaded: Vec<(CheckId, Cadence)> = (1..=200).map(|id| (CheckId(id), MINUTE)).collect();
    plan.add_all_at_start(&loaded, 0);
    for id in 201..=400 {
        plan.add_new(CheckId(id), MINUTE, 3_000);
    }
    let starts = simulate(&mut plan, 300_000, 25, |_| 40, |_, _| false);
    assert_eq!(starts.len(), 400);
    // From the third minute on every check is at its phase.
    let moments: HashSet<u64> = starts
        .values()
        .flatten()
        .filter(|&&t| (120_000..180_000).contains(&t))
        .copied()
        .collect();
    assert!(moments.iter().all(|t| t % 1_000 == 0), "{moments:?}");
    assert!(moments.len() <= 60, "{} wakes in a minute", moments.len());
    for times in starts.values() {
        for pair in times[1..].windows(2) {
            assert_eq!(pair[1] - pair[0], MINUTE.rate_ms, "{times:?}");
        }
    }
}

#[test]
fn a_check_removed_and_added_again_keeps_no_due_time_from_before() {
    // A paused check leaves the plan; resumed, it comes back under the same id.
    let mut plan: Plan = Plan::default();
    plan.add(CheckId(1), MINUTE, 1_000);
    plan.remove(CheckId(1));
    plan.add(CheckId(1), MINUTE, 5_000);
    assert_eq!(plan.take_due(1_000), vec![], "the old due time is stale");
    assert_eq!(plan.take_due(5_000), vec![(CheckId(1), 5_000)]);
}

/// An entry per check holding its slot, as the scheduler's entries do.
impl SlotEntry for Option<Slot> {
    fn slot(&self) -> Option<&Slot> {
        self.as_ref()
    }

    fn slot_cell(&mut self) -> &mut Option<Slot> {
        self
    }
}

#[test]
fn slots_kept_in_the_checks_entries_plan_as_a_map_of_their_own_does() {
    let checks: Vec<(CheckId, Cadence)> = (1..=300).map(|id| (CheckId(id), MINUTE)).collect();
    let mut own: Plan = Plan::default();
    own.add_all_at_start(&checks, 0);
    let mut kept: Plan<HashMap<CheckId, Option<Slot>>> = Plan::default();
    for (id, _) in &checks {
        kept.checks_mut().insert(*id, None);
    }
    kept.add_all_at_start(&checks, 0);
    let confirming = |id: CheckId, start: u64| id.0 % 7 == 0 && start < 90_000;
    // One registered while running, and some checks confirming a change.
    own.add_new(CheckId(301), MINUTE, 30_000);
    kept.checks_mut().insert(CheckId(301), None);
    kept.add_new(CheckId(301), MINUTE, 30_000);
    let own_starts = simulate(&mut own, 600_000, 100, |_| 50, confirming);
    let kept_starts = simulate(&mut kept, 600_000, 100, |_| 50, confirming);
    assert_eq!(kept_starts.len(), 301);
    assert_eq!(kept_starts, own_starts);
}

#[test]
fn a_check_without_an_entry_is_not_planned_and_one_removed_leaves_its_entry_empty() {
    let mut plan: Plan<HashMap<CheckId, Option<Slot>>> = Plan::default();
    plan.checks_mut().insert(CheckId(1), None);
    plan.add_new(CheckId(2), MINUTE, 0);
    assert!(!plan.contains(CheckId(2)));
    assert_eq!(
        plan.next_due(),
        None,
        "nothing is planned for a check without an entry"
    );
    plan.add_new(CheckId(1), MINUTE, 0);
    assert!(plan.contains(CheckId(1)));
    plan.remove(CheckId(1));
    assert!(!plan.contains(CheckId(1)));
    assert!(
        plan.checks()[&CheckId(1)].is_none(),
        "the entry stays, without its slot"
    );
    assert_eq!(plan.take_due(MINUTE.rate_ms * 2), vec![]);
}

#[test]
fn stale_items_before_or_after_a_current_one_are_neither_due_nor_woken_for() {
    let mut plan: Plan = Plan::default();
    for (id, due_ms) in [(1, 1_000), (2, 1_000), (3, 1_000), (4, 1_000), (5, 2_000)] {
        plan.add(CheckId(id), MINUTE, due_ms);
    }
    for id in [1, 3, 4, 5] {
        plan.remove(CheckId(id));
    }
    assert_eq!(plan.next_due(), Some(1_000), "2 among stale items");
    assert_eq!(plan.take_due(1_000), vec![(CheckId(2), 1_000)]);
    plan.finished(CheckId(2), false, 1_100);
    assert_eq!(plan.next_due(), Some(61_000), "stale items only");
    assert_eq!(plan.take_due(61_000), vec![(CheckId(2), 61_000)]);
}
