//! The scheduled checks' ids by name. A map from name to id would keep a second copy of
//! every name (some 100 bytes a check with its slot); this table keeps only the ids,
//! hashed by their check's name, and reads the name from the check's entry.

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use super::entries::Entries;
use crate::domain::{CheckId, CheckName};

#[derive(Default)]
pub(super) struct Names {
    ids: HashTable<CheckId>,
    hasher: RandomState,
}

impl Names {
    /// The id of the check named `name`.
    pub(super) fn get(&self, name: &CheckName, entries: &Entries) -> Option<CheckId> {
        self.ids
            .find(self.hasher.hash_one(name), |id| named(entries, *id, name))
            .copied()
    }

    /// Files `id` under its entry's name (already in `entries`), in place of whichever
    /// check held the name before.
    pub(super) fn insert(&mut self, id: CheckId, entries: &Entries) {
        let Some(name) = entries.get(&id).map(|e| &e.check.name) else {
            return;
        };
        let hasher = &self.hasher;
        let hash = hasher.hash_one(name);
        // An id already filed under this name, or another id holding it: one slot.
        match self
            .ids
            .find_mut(hash, |other| named(entries, *other, name))
        {
            Some(slot) => *slot = id,
            None => {
                self.ids.insert_unique(hash, id, |other| {
                    entries
                        .get(other)
                        .map_or(0, |e| hasher.hash_one(&e.check.name))
                });
            }
        }
    }

    /// Takes `id`, which was filed under `name`, out (nothing if another check holds the
    /// name now).
    pub(super) fn remove(&mut self, id: CheckId, name: &CheckName) {
        if let Ok(slot) = self
            .ids
            .find_entry(self.hasher.hash_one(name), |other| *other == id)
        {
            slot.remove();
        }
    }
}

/// Whether the check filed as `id` is named `name`.
fn named(entries: &Entries, id: CheckId, name: &CheckName) -> bool {
    entries.get(&id).is_some_and(|e| e.check.name == *name)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::{Check, CheckSpec, Timestamp};
    use crate::monitor::Known;
    use crate::monitor::scheduler::Entry;

    fn entry(id: i64, name: &str) -> Box<Entry> {
        Box::new(Entry {
            check: Arc::new(Check {
                id: CheckId(id),
                name: name.parse().unwrap(),
                spec: CheckSpec::with_defaults("http://127.0.0.1:9/".parse().unwrap()),
                ping_key: None,
                paused: false,
                created_at: Timestamp(0),
                updated_at: Timestamp(0),
            }),
            known: Known::from_stored(None, Timestamp(0)),
            slot: None,
        })
    }

    fn name(s: &str) -> CheckName {
        s.parse().unwrap()
    }

    #[test]
    fn each_check_is_found_by_its_name_through_growth_and_removal() {
        let (mut entries, mut names) = (Entries::new(), Names::default());
        // Enough to make the table grow several times (each growth rehashes by name).
        for i in 1..=1_000 {
            entries.insert(CheckId(i), entry(i, &format!("c{i}")));
            names.insert(CheckId(i), &entries);
        }
        for i in 1..=1_000 {
            assert_eq!(
                names.get(&name(&format!("c{i}")), &entries),
                Some(CheckId(i))
            );
        }
        assert_eq!(names.get(&name("c0"), &entries), None);
        names.remove(CheckId(7), &name("c7"));
        entries.remove(&CheckId(7));
        assert_eq!(names.get(&name("c7"), &entries), None);
        assert_eq!(names.get(&name("c8"), &entries), Some(CheckId(8)));
        assert_eq!(names.ids.len(), 999);
    }

    #[test]
    fn a_name_taken_by_a_new_check_stays_its_when_the_old_one_goes() {
        let (mut entries, mut names) = (Entries::new(), Names::default());
        entries.insert(CheckId(1), entry(1, "web"));
        names.insert(CheckId(1), &entries);
        // Deleted and made again under the same name: a new id.
        entries.insert(CheckId(2), entry(2, "web"));
        names.insert(CheckId(2), &entries);
        assert_eq!(names.get(&name("web"), &entries), Some(CheckId(2)));
        assert_eq!(names.ids.len(), 1);
        names.remove(CheckId(1), &name("web"));
        entries.remove(&CheckId(1));
        assert_eq!(names.get(&name("web"), &entries), Some(CheckId(2)));
        // Filed again (a replaced entry): still one slot.
        names.insert(CheckId(2), &entries);
        assert_eq!(names.ids.len(), 1);
    }
}
