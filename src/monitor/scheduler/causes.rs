//! Root causes at run time (see `domain::cause`): which checks a failing check relies on,
//! the root of its failure, the checks a root's outage explains, and early probes of a
//! failing check's neighbours so that the whole chain's verdicts are fresh when one of
//! them is confirmed. Only the checks this instance holds count: another instance's view
//! of a check is not known here.

use std::collections::{HashMap, HashSet};

use super::Scheduler;
use super::filed::Filed;
use crate::domain::{Check, CheckId, CheckName, Footing, Health};

/// The relations between the checks the scheduler has, kept as they come and go.
#[derive(Debug, Default)]
pub(super) struct Causes {
    /// Checks with a place in a host's chain, under each of their keys (see
    /// `Footing::keys`): a check's parents and children are a few lookups away, however
    /// many checks share its host.
    by_key: Filed<u64>,
    /// Checks that name what they rely on, under each name they name.
    named_by: Filed<CheckName>,
    /// Checks probed early because a neighbour started failing: until their result comes
    /// they count as being confirmed, so the neighbour's DOWN waits for their verdict.
    nudged: HashSet<CheckId>,
    /// Checks whose outage is held for a root cause.
    impacted: HashSet<CheckId>,
    /// The checks each root's DOWN named, for its RECOVERED (also those that came back
    /// before it); kept in memory only, so after a restart a RECOVERED names those still
    /// down.
    announced: HashMap<CheckId, Vec<String>>,
}

impl Causes {
    pub(super) fn add(&mut self, check: &Check) {
        if let Some(footing) = Footing::of(&check.spec) {
            for key in footing.keys() {
                self.by_key.add(key, check.id);
            }
        }
        for name in check.spec.depends_on() {
            self.named_by.add(name.clone(), check.id);
        }
    }

    pub(super) fn remove(&mut self, check: &Check) {
        if let Some(footing) = Footing::of(&check.spec) {
            for key in footing.keys() {
                self.by_key.remove(&key, check.id);
            }
        }
        for name in check.spec.depends_on() {
            self.named_by.remove(name, check.id);
        }
        self.nudged.remove(&check.id);
        self.impacted.remove(&check.id);
        self.announced.remove(&check.id);
    }

    /// The checks to name in `root`'s DOWN (`down`) or RECOVERED, given those failing
    /// with it now.
    pub(super) fn names_for(
        &mut self,
        root: CheckId,
        down: bool,
        failing: Vec<String>,
    ) -> Vec<String> {
        if down {
            if failing.is_empty() {
                self.announced.remove(&root);
            } else {
                self.announced.insert(root, failing.clone());
            }
            return failing;
        }
        let mut names = self.announced.remove(&root).unwrap_or_default();
        names.extend(failing);
        names.sort();
        names.dedup();
        names
    }
}

impl Scheduler {
    /// The checks `id` relies on: those it names, and those below it in its host's chain.
    fn parents(&self, id: CheckId) -> Vec<CheckId> {
        let Some(entry) = self.plan.checks().get(&id) else {
            return Vec::new();
        };
        let mut parents: Vec<CheckId> = entry
            .check
            .spec
            .depends_on()
            .iter()
            .filter_map(|name| self.by_name.get(name, self.plan.checks()))
            .collect();
        if let Some(footing) = Footing::of(&entry.check.spec) {
            parents.extend(self.filed(&footing.parent_keys(), |other| footing.relies_on(other)));
        }
        parents.retain(|p| *p != id);
        parents
    }

    /// The checks that rely on `id`: those naming it, and those above it in its chain.
    fn children(&self, id: CheckId) -> Vec<CheckId> {
        let Some(entry) = self.plan.checks().get(&id) else {
            return Vec::new();
        };
        let mut children: Vec<CheckId> = self.causes.named_by.get(&entry.check.name).to_vec();
        if let Some(footing) = Footing::of(&entry.check.spec) {
            children.extend(self.filed(&footing.child_keys(), |other| other.relies_on(&footing)));
        }
        children.retain(|c| *c != id);
        children
    }

    /// The checks filed under `keys` whose footing passes `related` (a key's hash could
    /// be another's).
    fn filed(&self, keys: &[u64], related: impl Fn(&Footing) -> bool) -> Vec<CheckId> {
        keys.iter()
            .flat_map(|key| self.causes.by_key.get(key))
            .filter(|id| {
                self.plan
                    .checks()
                    .get(id)
                    .and_then(|e| Footing::of(&e.check.spec))
                    .is_some_and(|other| related(&other))
            })
            .copied()
            .collect()
    }

    /// Whether `id` is held here and DOWN, being confirmed, or probed early and not heard
    /// from yet.
    pub(super) fn failing(&self, id: CheckId) -> bool {
        self.causes.nudged.contains(&id) || self.failing_on_record(id)
    }

    /// Whether `id` is held here and its state says DOWN or being confirmed.
    pub(super) fn failing_on_record(&self, id: CheckId) -> bool {
        self.plan.checks().get(&id).is_some_and(|e| {
            let state = &e.known.state;
            (state.health == Health::Down || state.failures > 0) && self.holds(id)
        })
    }

    /// The root cause of a failure of `id`: a check it relies on (directly or through
    /// others) that fails while nothing it relies on does; `None` when nothing upstream
    /// fails.
    pub(super) fn root_of(&self, id: CheckId) -> Option<CheckName> {
        let mut seen = HashSet::from([id]);
        let mut stack = vec![id];
        let mut fallback = None;
        while let Some(at) = stack.pop() {
            let failing: Vec<CheckId> = self
                .parents(at)
                .into_iter()
                .filter(|p| self.failing(*p))
                .collect();
            if failing.is_empty() && at != id {
                return self.plan.checks().get(&at).map(|e| e.check.name.clone());
            }
            fallback = fallback.or(failing.first().copied());
            stack.extend(failing.into_iter().filter(|p| seen.insert(*p)));
        }
        // Every failing check upstream relies on another failing one (named in a loop):
        // the nearest stands for them.
        fallback.and_then(|f| self.plan.checks().get(&f).map(|e| e.check.name.clone()))
    }

    /// The checks whose failure the outage of `root` explains: those relying on it,
    /// directly or through others, that fail and were not announced DOWN on their own.
    pub(super) fn impacted_below(&self, root: CheckId) -> Vec<String> {
        let mut seen = HashSet::from([root]);
        let mut stack = vec![root];
        let mut names = Vec::new();
        while let Some(at) = stack.pop() {
            for child in self.children(at) {
                if !self.failing_on_record(child) || !seen.insert(child) {
                    continue;
                }
                if let Some(entry) = self.plan.checks().get(&child)
                    && entry.known.memory.alerted() != Some(Health::Down)
                {
                    names.push(entry.check.name.to_string());
                }
                stack.push(child);
            }
        }
        names.sort();
        names
    }

    /// `id` started failing: the checks next to it in a chain that are not failing are
    /// probed now, so that whichever is confirmed first knows whether the others fail too.
    pub(super) fn nudge_neighbours(&mut self, id: CheckId) {
        let mut around = self.parents(id);
        around.extend(self.children(id));
        let now = self.now_ms();
        for other in around {
            let probed = self
                .plan
                .checks()
                .get(&other)
                .is_some_and(|e| !e.check.spec.is_heartbeat());
            if probed && !self.failing(other) && self.holds(other) && self.plan.nudge(other, now) {
                self.causes.nudged.insert(other);
            }
        }
    }

    /// Takes note of a judged result of `id`: it is no longer awaited, and whether its
    /// outage is now held for a root cause. When it stopped failing, every check whose
    /// outage is held and whose root no longer fails is judged again now (a heartbeat as
    /// late, the others by a probe), so a check still failing alerts on its own at once.
    pub(super) fn after_judging(&mut self, id: CheckId, stopped_failing: bool) {
        self.causes.nudged.remove(&id);
        let held = self
            .plan
            .checks()
            .get(&id)
            .is_some_and(|e| e.known.memory.impacted_by().is_some());
        if held {
            self.causes.impacted.insert(id);
        } else {
            self.causes.impacted.remove(&id);
        }
        if stopped_failing {
            self.release();
        }
    }

    /// Judges again now each check whose outage is held while nothing it relies on fails.
    pub(super) fn release(&mut self) {
        if self.causes.impacted.is_empty() {
            return;
        }
        let now = self.now_ms();
        let free: Vec<CheckId> = self
            .causes
            .impacted
            .iter()
            .copied()
            .filter(|id| self.root_of(*id).is_none())
            .collect();
        for id in free {
            self.plan.nudge(id, now);
        }
    }
}
