//! The scheduler's table of checks: loading every check and its state at start, and
//! keeping the entries, the name index, the ICMP count and the dependency graph in step as
//! checks are added, changed and removed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::causes::Causes;
use super::handover::Pending;
use super::lag::LagStats;
use super::names::Names;
use super::offline_rule::OfflineRule;
use super::{Entry, LOAD_PAGE, Scheduler, SchedulerDeps, heartbeat};
use crate::domain::{Check, CheckId, Timestamp};
use crate::monitor::known::Known;
use crate::monitor::plan::{Plan, Slot, SlotEntry};
use crate::store::{PageStart, StoreError};

/// Every scheduled check's entry, kept in the plan, which keeps each check's slot there.
/// Boxed: a map's empty slots (up to half of them, as it doubles) then cost a pointer each,
/// not a whole entry, which is some 160 bytes.
pub(super) type Entries = HashMap<CheckId, Box<Entry>>;

fn is_icmp(check: &Check) -> bool {
    matches!(check.spec.target(), crate::domain::Target::Icmp(_))
}

impl Scheduler {
    /// Loads every check and its persisted state, and plans the active ones.
    pub async fn load(deps: SchedulerDeps) -> Result<Self, StoreError> {
        let (finished_tx, finished_rx) = mpsc::unbounded_channel();
        let offline = OfflineRule::new(&deps.canaries);
        let mut scheduler = Self {
            offline,
            permits: Arc::new(Semaphore::new(deps.max_concurrent_probes.max(1))),
            deps,
            epoch: Instant::now(),
            plan: Plan::default(),
            by_name: Names::default(),
            finished_tx,
            finished_rx,
            windows: Vec::new(),
            lag: LagStats::default(),
            heartbeat_starts: HashMap::new(),
            heartbeat_ends: HashMap::new(),
            pending: Pending::default(),
            icmp_checks: 0,
            loaded: 0,
            silent: HashSet::new(),
            causes: Causes::default(),
        };
        scheduler.windows = scheduler.deps.store.maintenance_windows().await?;
        let now = Timestamp::now();
        let mut after = None;
        // Phases are laid out once the load of every check is known.
        let mut regular = Vec::new();
        loop {
            let page = scheduler
                .deps
                .store
                .checks_with_state_page(
                    &Default::default(),
                    PageStart::After(after.as_ref()),
                    LOAD_PAGE,
                )
                .await?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = Some(last.name.clone());
            for (check, stored) in page {
                if check.paused {
                    continue;
                }
                let (id, cadence) = (check.id, check.spec.cadence());
                let heartbeat_wait = heartbeat::wait_at_start(&check, stored.as_ref(), now);
                if heartbeat_wait.is_none() && scheduler.probes_here(&check) {
                    regular.push((id, cadence));
                }
                // Away from home, only this location's own state machine is kept.
                let stored = stored.filter(|_| scheduler.at_home());
                // The entry first: the plan keeps the check's slot in it.
                scheduler.insert(check, Known::from_stored(stored, now));
                if let Some(wait_ms) = heartbeat_wait {
                    scheduler.plan.add_due_in(id, cadence, 0, wait_ms);
                }
            }
        }
        scheduler.plan.add_all_at_start(&regular, 0);
        // The states just read are current for the shards already leased.
        scheduler.loaded = scheduler
            .deps
            .leases
            .as_ref()
            .map_or(0, |leases| leases.borrow().shards);
        scheduler.deps.vitals.icmp_checks(scheduler.icmp_checks);
        Ok(scheduler)
    }

    /// Whether this process plans the check: a heartbeat (its lateness is judged at home),
    /// or a check probed from this location. The others are judged at home from agents'
    /// and other instances' results.
    pub(super) fn probes_here(&self, check: &Check) -> bool {
        if check.spec.is_heartbeat() {
            self.at_home()
        } else {
            check.spec.probed_from(&self.deps.location, &self.deps.home)
        }
    }

    /// Whether this process judges the checks it holds (it is at home).
    pub(super) fn at_home(&self) -> bool {
        self.deps.location == self.deps.home
    }

    /// The number of checks scheduled.
    pub fn active_checks(&self) -> usize {
        self.plan.checks().len()
    }

    /// Adds a check's entry, or replaces it (its place in the plan kept); the plan adds
    /// the check afterwards, into the entry.
    pub(super) fn insert(&mut self, check: Check, known: Known) {
        let id = check.id;
        self.icmp_checks += usize::from(is_icmp(&check));
        self.causes.add(&check);
        let entries = self.plan.checks_mut();
        let slot = entries.get_mut(&id).and_then(|old| old.slot.take());
        let old = entries.insert(
            id,
            Box::new(Entry {
                check: Arc::new(check),
                known,
                slot,
            }),
        );
        if let Some(old) = old {
            self.by_name.remove(id, &old.check.name);
            self.icmp_checks -= usize::from(is_icmp(&old.check));
            self.causes.remove(&old.check);
        }
        self.by_name.insert(id, self.plan.checks());
    }

    /// Replaces a check's spec, keeping what is known of it.
    pub(super) fn replace(&mut self, check: Check) {
        if let Some(entry) = self.plan.checks_mut().get_mut(&check.id) {
            self.icmp_checks += usize::from(is_icmp(&check));
            self.icmp_checks -= usize::from(is_icmp(&entry.check));
            self.causes.remove(&entry.check);
            self.causes.add(&check);
            entry.check = Arc::new(check);
        }
    }

    pub(super) fn remove(&mut self, id: CheckId) {
        // Out of the plan first: it keeps the check's slot in the entry.
        self.plan.remove(id);
        self.heartbeat_starts.remove(&id);
        self.heartbeat_ends.remove(&id);
        if let Some(entry) = self.plan.checks_mut().remove(&id) {
            self.by_name.remove(id, &entry.check.name);
            self.icmp_checks -= usize::from(is_icmp(&entry.check));
            self.causes.remove(&entry.check);
            // Outages held for this check are its no longer.
            self.release();
        }
    }
}

/// The plan keeps each check's slot in its entry.
impl SlotEntry for Box<Entry> {
    fn slot(&self) -> Option<&Slot> {
        self.slot.as_ref()
    }

    fn slot_cell(&mut self) -> &mut Option<Slot> {
        &mut self.slot
    }
}
