//! Check ids filed under keys, where most keys hold one id (an HTTP check's URL is its
//! own): such a key costs one 16-byte slot, and only a key shared by several checks (a
//! host, a port, a name many checks rely on) keeps a list. As a map of lists, every key
//! cost a 32-byte slot and a list of its own, some 100 bytes a check at a million.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;

use crate::domain::CheckId;

/// Ids by key; a key is in `one` or in `many`, never both, and no list is shorter than two.
#[derive(Debug)]
pub(super) struct Filed<K> {
    one: HashMap<K, CheckId>,
    many: HashMap<K, Vec<CheckId>>,
}

impl<K> Default for Filed<K> {
    fn default() -> Self {
        Self {
            one: HashMap::new(),
            many: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq> Filed<K> {
    /// Files `id` under `key`, after the ids already there.
    pub(super) fn add(&mut self, key: K, id: CheckId) {
        if let Some(ids) = self.many.get_mut(&key) {
            ids.push(id);
            return;
        }
        match self.one.entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(id);
            }
            Entry::Occupied(slot) => {
                let (key, first) = slot.remove_entry();
                self.many.insert(key, vec![first, id]);
            }
        }
    }

    /// Takes every filing of `id` under `key` out.
    pub(super) fn remove(&mut self, key: &K, id: CheckId) {
        if self.one.get(key) == Some(&id) {
            self.one.remove(key);
            return;
        }
        let Some(ids) = self.many.get_mut(key) else {
            return;
        };
        ids.retain(|other| *other != id);
        if let [last] = ids[..] {
            if let Some((key, _)) = self.many.remove_entry(key) {
                self.one.insert(key, last);
            }
        } else if ids.is_empty() {
            self.many.remove(key);
        }
    }

    /// The ids filed under `key`, in the order they were filed.
    pub(super) fn get(&self, key: &K) -> &[CheckId] {
        match self.one.get(key) {
            Some(id) => std::slice::from_ref(id),
            None => self.many.get(key).map_or(&[], Vec::as_slice),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(raw: &[i64]) -> Vec<CheckId> {
        raw.iter().copied().map(CheckId).collect()
    }

    #[test]
    fn ids_come_back_in_filing_order_through_one_many_and_back_to_one() {
        let mut filed = Filed::default();
        assert_eq!(filed.get(&7u64), &[] as &[CheckId]);
        filed.add(7u64, CheckId(1));
        filed.add(8u64, CheckId(9));
        assert_eq!(filed.get(&7), ids(&[1]));
        filed.add(7, CheckId(2));
        filed.add(7, CheckId(3));
        assert_eq!(filed.get(&7), ids(&[1, 2, 3]));
        assert_eq!((filed.one.len(), filed.many.len()), (1, 1));

        filed.remove(&7, CheckId(1));
        assert_eq!(filed.get(&7), ids(&[2, 3]));
        filed.remove(&7, CheckId(3));
        assert_eq!(filed.get(&7), ids(&[2]));
        assert_eq!(
            (filed.one.len(), filed.many.len()),
            (2, 0),
            "a list of one is a slot"
        );

        filed.add(7, CheckId(4));
        assert_eq!(filed.get(&7), ids(&[2, 4]));
        filed.remove(&7, CheckId(2));
        filed.remove(&7, CheckId(4));
        assert_eq!(filed.get(&7), &[] as &[CheckId]);
        assert_eq!(filed.get(&8), ids(&[9]), "other keys are untouched");
        assert_eq!((filed.one.len(), filed.many.len()), (1, 0));
    }

    #[test]
    fn removing_an_id_not_filed_changes_nothing() {
        let mut filed = Filed::default();
        filed.add("db", CheckId(1));
        filed.remove(&"db", CheckId(2));
        filed.remove(&"web", CheckId(1));
        assert_eq!(filed.get(&"db"), ids(&[1]));
        filed.add("db", CheckId(3));
        filed.remove(&"db", CheckId(2));
        assert_eq!(filed.get(&"db"), ids(&[1, 3]));
    }

    #[test]
    fn an_id_filed_twice_under_one_key_is_taken_out_whole() {
        let mut filed = Filed::default();
        filed.add(1u64, CheckId(5));
        filed.add(1, CheckId(5));
        assert_eq!(filed.get(&1), ids(&[5, 5]));
        filed.remove(&1, CheckId(5));
        assert_eq!(filed.get(&1), &[] as &[CheckId]);
        assert_eq!((filed.one.len(), filed.many.len()), (0, 0));
    }
}
