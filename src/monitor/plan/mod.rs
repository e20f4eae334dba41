//! The schedule itself, without I/O or clocks: which check is due when. The scheduler asks
//! it what is due at `now` and tells it when a probe finished; tests drive it over
//! simulated hours with plain numbers.

mod phase;

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU64;

use crate::domain::schedule::{first_offset_ms, next_due_ms};
use crate::domain::{Cadence, CheckId};

pub use phase::{Load, WAKE_TICK_MS};

/// A new or re-rated check's first probe comes within this time (or its interval, if
/// shorter), spread by its id, so a whole stack registered at once is not one burst.
pub const NEW_CHECK_SPREAD_MS: u64 = 5_000;
/// At most this many new or re-rated checks get a quick first probe per
/// `NEW_CHECK_SPREAD_MS` (1,000 a second on top of the regular probes); past it, as when a
/// whole fleet is registered at once, a check's first probe is its first regular slot, so
/// the targets and the monitor see the fleet's steady rate from the first round on.
pub const QUICK_FIRSTS_PER_SPREAD: u32 = 5_000;
/// A new or re-rated check's second probe comes at its phase, but not sooner than this
/// (or half its interval) after the first: two probes a moment apart tell nothing new.
pub const FIRST_GAP_MIN_MS: u64 = 1_000;

/// A planned check's place in the schedule. Its fields are the plan's alone; whoever keeps
/// the slot (see [`Slots`]) only holds it.
#[derive(Debug)]
pub struct Slot {
    cadence: Cadence,
    /// A regular slot of the schedule; later ones follow it at the rate.
    anchor_ms: u64,
    /// The generation of the slot's queued item, set at each scheduling from the plan's
    /// counter; queued items of other generations are stale (a counter of the plan's, not
    /// the slot's, so a check removed and added again never matches an item queued
    /// before). `None` while the check's probe runs: no item of it is current then. One
    /// word for both, so that a slot with its key is 40 bytes, not 48.
    queued: Option<NonZeroU64>,
}

impl Slot {
    /// Whether the queued item of this generation is the slot's current one: not queued
    /// again since, and not running.
    fn is_queued_as(&self, generation: NonZeroU64) -> bool {
        self.queued == Some(generation)
    }

    fn running(&self) -> bool {
        self.queued.is_none()
    }
}

/// Where a plan keeps its checks' slots: a map of their own, or a table that already has
/// an entry per check (the scheduler's), so that a million checks do not pay for a second
/// table of a million slots (some 85 MB at a million, its buckets doubled past 917,504).
pub trait Slots {
    fn slot(&self, id: CheckId) -> Option<&Slot>;
    fn slot_mut(&mut self, id: CheckId) -> Option<&mut Slot>;
    /// Puts a check's slot in place of the one it had, returned; `Err` gives the slot back
    /// when the table has no entry for the check, which is then not planned.
    fn put_slot(&mut self, id: CheckId, slot: Slot) -> Result<Option<Slot>, Slot>;
    fn take_slot(&mut self, id: CheckId) -> Option<Slot>;
}

impl Slots for HashMap<CheckId, Slot> {
    fn slot(&self, id: CheckId) -> Option<&Slot> {
        self.get(&id)
    }

    fn slot_mut(&mut self, id: CheckId) -> Option<&mut Slot> {
        self.get_mut(&id)
    }

    fn put_slot(&mut self, id: CheckId, slot: Slot) -> Result<Option<Slot>, Slot> {
        Ok(self.insert(id, slot))
    }

    fn take_slot(&mut self, id: CheckId) -> Option<Slot> {
        self.remove(&id)
    }
}

/// An entry of a table that has one per check, holding the check's slot while it is
/// planned: the scheduler's entries, or a stand-in for them in tests.
pub trait SlotEntry {
    fn slot(&self) -> Option<&Slot>;
    fn slot_cell(&mut self) -> &mut Option<Slot>;
}

/// The slots kept in the checks' entries: a check without an entry is not planned.
impl<E: SlotEntry> Slots for HashMap<CheckId, E> {
    fn slot(&self, id: CheckId) -> Option<&Slot> {
        self.get(&id)?.slot()
    }

    fn slot_mut(&mut self, id: CheckId) -> Option<&mut Slot> {
        self.get_mut(&id)?.slot_cell().as_mut()
    }

    fn put_slot(&mut self, id: CheckId, slot: Slot) -> Result<Option<Slot>, Slot> {
        match self.get_mut(&id) {
            Some(entry) => Ok(entry.slot_cell().replace(slot)),
            None => Err(slot),
        }
    }

    fn take_slot(&mut self, id: CheckId) -> Option<Slot> {
        self.get_mut(&id)?.slot_cell().take()
    }
}

/// Every active check's next due time, in a time-ordered queue.
#[derive(Debug, Default)]
pub struct Plan<S = HashMap<CheckId, Slot>> {
    /// The slots, in the plan's own map or in the entries of the table `S`.
    slots: S,
    /// Queued items, (check, generation), by due time. Phases fall on ticks, so a due time
    /// gathers many checks: a probe's turn is one append and one read of a short list, not a
    /// binary heap's sift through the whole fleet (at 100,000 checks a probe's turn in the
    /// plan took 150 ns instead of 350, alone on a warm cache; in the running monitor the
    /// heap's pops were some 4 % of its CPU, cache misses mostly).
    queue: BTreeMap<u64, Vec<(CheckId, NonZeroU64)>>,
    /// The regular probes per second of every slot: how many ticks a second phases use.
    load: Load,
    /// The last generation given to a slot.
    generations: Option<NonZeroU64>,
    /// Quick first probes given since the window's start: (start, count).
    quick_firsts: (u64, u32),
}

impl<S: Slots> Plan<S> {
    /// The table the slots are kept in.
    pub fn checks(&self) -> &S {
        &self.slots
    }

    /// The table the slots are kept in, to add and remove its entries: an entry replaced
    /// must take the slot of the one it replaces along (or the plan's count of the load
    /// goes wrong), and a check leaves the plan (`remove`) before its entry leaves it.
    pub fn checks_mut(&mut self) -> &mut S {
        &mut self.slots
    }

    /// Adds the checks loaded at start: each first probe falls at the check's phase in its
    /// first interval, the phases laid out for the load of them all.
    pub fn add_all_at_start(&mut self, checks: &[(CheckId, Cadence)], now_ms: u64) {
        let mut expected = self.load;
        for (_, cadence) in checks {
            expected.add(cadence.rate_ms);
        }
        for &(id, cadence) in checks {
            self.add(id, cadence, now_ms + expected.phase_ms(id, cadence.rate_ms));
        }
    }

    /// Adds a check created while running: probed within a few seconds, then at its own
    /// phase of the interval (the one a restart gives it, from a hash of its id), so a
    /// stack or a whole fleet registered at once is spread over the interval after its
    /// first round instead of probing in one burst every interval. Past the budget of
    /// quick first probes, the first probe is the check's first regular slot.
    pub fn add_new(&mut self, id: CheckId, cadence: Cadence, now_ms: u64) {
        let (first_due, regular) = self.first_and_regular(id, cadence.rate_ms, now_ms);
        self.add(id, cadence, first_due);
        if let Some(slot) = self.slots.slot_mut(id) {
            slot.anchor_ms = regular;
        }
    }

    /// A new or re-rated check's first due time and the regular slot that follows it: a
    /// quick first probe while the budget lasts, else the regular slot itself.
    fn first_and_regular(&mut self, id: CheckId, rate_ms: u64, now_ms: u64) -> (u64, u64) {
        if self.quick_first(now_ms) {
            let first_due = now_ms + first_offset_ms(id, rate_ms.min(NEW_CHECK_SPREAD_MS));
            (first_due, self.regular_after(id, rate_ms, first_due))
        } else {
            let regular = self.phase_at_or_after(id, rate_ms, now_ms);
            (regular, regular)
        }
    }

    /// Whether one more quick first probe fits in the current window (taking it if so).
    fn quick_first(&mut self, now_ms: u64) -> bool {
        let (start, given) = &mut self.quick_firsts;
        if *given == 0 || now_ms >= *start + NEW_CHECK_SPREAD_MS {
            *start = now_ms;
            *given = 0;
        }
        if *given < QUICK_FIRSTS_PER_SPREAD {
            *given += 1;
            true
        } else {
            false
        }
    }

    /// The first regular slot of a check at least a moment after its first probe at
    /// `first_due_ms`: its phase, the same one a restart gives it.
    fn regular_after(&self, id: CheckId, rate_ms: u64, first_due_ms: u64) -> u64 {
        let gap = FIRST_GAP_MIN_MS.min(rate_ms.max(1) / 2);
        self.phase_at_or_after(id, rate_ms, first_due_ms + gap)
    }

    /// The check's phase of its interval, at or after `after_ms`.
    fn phase_at_or_after(&self, id: CheckId, rate_ms: u64, after_ms: u64) -> u64 {
        let rate = rate_ms.max(1);
        let phase = self.load.phase_ms(id, rate);
        after_ms + (phase + rate - after_ms % rate) % rate
    }

    /// Adds a check first due `wait_ms` from now: a heartbeat loaded at start, whose
    /// deadline counts from its last ping, not from the start.
    pub fn add_due_in(&mut self, id: CheckId, cadence: Cadence, now_ms: u64, wait_ms: u64) {
        self.add(id, cadence, now_ms + wait_ms.min(cadence.rate_ms));
    }

    /// Moves a check's next due time to `wait_ms` from now (at most its interval): a
    /// heartbeat pinged, due again when its next ping is.
    pub fn restart_in(&mut self, id: CheckId, now_ms: u64, wait_ms: u64) {
        let Some(slot) = self.slots.slot_mut(id) else {
            return;
        };
        slot.anchor_ms = now_ms + wait_ms.min(slot.cadence.rate_ms);
        let due = slot.anchor_ms;
        self.push(id, due);
    }

    /// Brings a check's next due time forward to `due_ms` when that is sooner, leaving its
    /// regular time where it is: a heartbeat's run that must end by then.
    pub fn due_by(&mut self, id: CheckId, due_ms: u64) {
        if self
            .slots
            .slot(id)
            .is_some_and(|slot| !slot.running() && due_ms < slot.anchor_ms)
        {
            self.push(id, due_ms);
        }
    }

    fn add(&mut self, id: CheckId, cadence: Cadence, first_due_ms: u64) {
        let slot = Slot {
            cadence,
            anchor_ms: first_due_ms,
            queued: None,
        };
        let Ok(replaced) = self.slots.put_slot(id, slot) else {
            return;
        };
        if let Some(old) = replaced {
            self.load.remove(old.cadence.rate_ms);
        }
        self.load.add(cadence.rate_ms);
        self.push(id, first_due_ms);
    }

    /// A check's cadence changed (or its spec did): same rate keeps the schedule, the next
    /// probe included (a new check's quick first probe too, when its registration is told
    /// twice); a new rate probes within a few seconds, then at the check's phase for that
    /// rate. A running probe is not disturbed: the next due time is set when it finishes.
    pub fn update(&mut self, id: CheckId, cadence: Cadence, now_ms: u64) {
        let Some(old) = self.slots.slot(id).map(|slot| slot.cadence) else {
            return;
        };
        if old.rate_ms == cadence.rate_ms {
            if let Some(slot) = self.slots.slot_mut(id) {
                slot.cadence = cadence;
            }
            return;
        }
        self.load.remove(old.rate_ms);
        self.load.add(cadence.rate_ms);
        let (first_due, regular) = self.first_and_regular(id, cadence.rate_ms, now_ms);
        let Some(slot) = self.slots.slot_mut(id) else {
            return;
        };
        slot.cadence = cadence;
        slot.anchor_ms = regular;
        if !slot.running() {
            self.push(id, first_due);
        }
    }

    /// Makes a check due now, unless its probe is running: a probe out of turn, to learn
    /// its verdict early, after which it goes on at its regular slots. Whether it was made
    /// due.
    pub fn nudge(&mut self, id: CheckId, now_ms: u64) -> bool {
        match self.slots.slot(id) {
            Some(slot) if !slot.running() => {
                self.push(id, now_ms);
                true
            }
            _ => false,
        }
    }

    /// Whether the check is planned.
    pub fn contains(&self, id: CheckId) -> bool {
        self.slots.slot(id).is_some()
    }

    /// Forgets a check; a probe of it still running is ignored when it finishes.
    pub fn remove(&mut self, id: CheckId) {
        if let Some(old) = self.slots.take_slot(id) {
            self.load.remove(old.cadence.rate_ms);
        }
    }

    /// The earliest due time, if any check is planned.
    pub fn next_due(&mut self) -> Option<u64> {
        while let Some(mut entry) = self.queue.first_entry() {
            let slots = &self.slots;
            let items = entry.get_mut();
            // Only the stale items ahead of the first current one go (`take_due` skips the
            // others): once the front is current, a turn of the scheduler's loop looks at
            // one item here, not at every check due at that time.
            if let Some(first) = items
                .iter()
                .position(|&(id, generation)| is_current(slots, id, generation))
            {
                items.drain(..first);
                return Some(*entry.key());
            }
            entry.remove();
        }
        None
    }

    /// Every check due at `now_ms`, with its due time; each is marked running, so it is not
    /// started again before it finishes.
    pub fn take_due(&mut self, now_ms: u64) -> Vec<(CheckId, u64)> {
        let mut due = Vec::new();
        while let Some(entry) = self.queue.first_entry() {
            if *entry.key() > now_ms {
                break;
            }
            let (at, items) = entry.remove_entry();
            for (id, generation) in items {
                if let Some(slot) = self.slots.slot_mut(id)
                    && slot.is_queued_as(generation)
                {
                    slot.queued = None;
                    due.push((id, at));
                }
            }
        }
        due
    }

    /// A probe finished at `now_ms`. While a change is being confirmed the check is probed
    /// again after the retry delay; otherwise at its next regular slot, start to start.
    pub fn finished(&mut self, id: CheckId, confirming: bool, now_ms: u64) -> Option<u64> {
        let slot = self.slots.slot_mut(id)?;
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

    fn push(&mut self, id: CheckId, due_ms: u64) {
        if let Some(slot) = self.slots.slot_mut(id) {
            let generation = self
                .generations
                .map_or(NonZeroU64::MIN, |last| last.saturating_add(1));
            self.generations = Some(generation);
            slot.queued = Some(generation);
            self.queue.entry(due_ms).or_default().push((id, generation));
        }
    }
}

/// Whether a queued item is the check's current one: the check is still planned, was not
/// queued again since, and is not running.
fn is_current(slots: &impl Slots, id: CheckId, generation: NonZeroU64) -> bool {
    slots.slot(id).is_some_and(|s| s.is_queued_as(generation))
}

#[cfg(test)]
mod tests;
