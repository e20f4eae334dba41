//! What the recorder holds until the store commits it: bounded by thinning the oldest
//! plain results, never a state change, incident or alert. Pure, so the rules are tested
//! with plain values.

use std::collections::VecDeque;

use crate::store::Write;

/// Records waiting for the store, oldest first.
#[derive(Debug)]
pub struct Backlog {
    queue: VecDeque<Write>,
    /// Past this many records, the oldest plain ones are dropped.
    bound: usize,
    /// Plain results dropped so far.
    thinned: u64,
    /// Plain results in `queue`.
    plain: usize,
}

impl Backlog {
    pub fn new(bound: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            bound: bound.max(1),
            thinned: 0,
            plain: 0,
        }
    }

    /// Adds a record; returns how many plain results were thinned to stay within the bound.
    pub fn push(&mut self, write: Write) -> usize {
        self.plain += usize::from(write.is_plain());
        self.queue.push_back(write);
        if self.queue.len() <= self.bound {
            return 0;
        }
        // Thin down to 90 % of the bound at once, so a long fault does not scan per record.
        // Changes and alerts stay: while they fill the bound, wait until a tenth of it are
        // plain results, so that each scan thins many rather than one per record pushed.
        let excess = self.queue.len() - self.bound * 9 / 10;
        if self.plain < excess.min(self.bound / 10).max(1) {
            return 0;
        }
        let mut dropped = 0;
        self.queue.retain(|w| {
            if dropped < excess && w.is_plain() {
                dropped += 1;
                false
            } else {
                true
            }
        });
        self.thinned += dropped as u64;
        self.plain -= dropped;
        dropped
    }

    /// Takes up to `max` of the oldest records for one write.
    pub fn take(&mut self, max: usize) -> Vec<Write> {
        let n = max.min(self.queue.len());
        let batch: Vec<Write> = self.queue.drain(..n).collect();
        self.plain -= batch.iter().filter(|w| w.is_plain()).count();
        batch
    }

    /// Puts back a batch whose write failed, ahead of everything newer.
    pub fn put_back(&mut self, batch: Vec<Write>) {
        self.plain += batch.iter().filter(|w| w.is_plain()).count();
        for write in batch.into_iter().rev() {
            self.queue.push_front(write);
        }
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Plain results thinned since this backlog was made.
    pub fn thinned(&self) -> u64 {
        self.thinned
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::{
        AlertEvent, AlertFacts, AlertKind, AlertMemory, CheckId, CheckState, Outcome, Timestamp,
        Timings, Transition,
    };
    use crate::store::{Change, NewAlert, Record};

    /// A record at `at`: 'p' plain, 's' a state to write (no transition), 't' a
    /// transition, 'a' an alert.
    pub(in crate::monitor) fn write(kind: char, at: i64) -> Write {
        let alert = NewAlert {
            event: AlertEvent {
                kind: AlertKind::Down,
                facts: AlertFacts::default(),
            },
            contacts: Vec::new(),
        };
        let change = (kind != 'p').then(|| {
            Box::new(Change {
                check_name: "c".parse().unwrap(),
                state: CheckState::new(Timestamp(at)),
                votes: Default::default(),
                transition: (kind == 't').then_some(Transition::Recovered),
                memory: AlertMemory::default(),
                alerts: if kind == 'a' { vec![alert] } else { Vec::new() },
                version: 1,
            })
        });
        Write::Probe(Record {
            check_id: CheckId(1),
            location: std::sync::Arc::new("local".parse().unwrap()),
            outcome: Outcome {
                started_at: Timestamp(at),
                status: None,
                timings: Timings::default(),
                cert_not_after: None,
                cert_of: None,
                failure: None,
            },
            change,
        })
    }

    fn times(backlog: &mut Backlog) -> Vec<i64> {
        backlog
            .take(usize::MAX)
            .iter()
            .map(|w| match w {
                Write::Probe(r) => r.outcome.started_at.0,
                Write::Forward(r) => r.outcome.started_at.0,
                Write::Monitor { at, .. } => at.0,
            })
            .collect()
    }

    #[test]
    fn within_the_bound_nothing_is_thinned() {
        let mut backlog = Backlog::new(10);
        for i in 0..10 {
            assert_eq!(backlog.push(write('p', i)), 0);
        }
        assert_eq!(backlog.len(), 10);
        assert_eq!(times(&mut backlog), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn past_the_bound_the_oldest_plain_results_go_first() {
        let mut backlog = Backlog::new(10);
        // 0 alert, 1 plain, 2 change, 3 plain, 4 a state to write, 5.. plain
        backlog.push(write('a', 0));
        backlog.push(write('p', 1));
        backlog.push(write('t', 2));
        backlog.push(write('p', 3));
        backlog.push(write('s', 4));
        for i in 5..10 {
            backlog.push(write('p', i));
        }
        let thinned = backlog.push(write('p', 10));
        assert_eq!(thinned, 2, "down to 9 of 11");
        assert_eq!(backlog.thinned(), 2);
        assert_eq!(times(&mut backlog), vec![0, 2, 4, 5, 6, 7, 8, 9, 10]);
    }

    #[test]
    fn changes_and_alerts_are_never_thinned_even_past_the_bound() {
        let mut backlog = Backlog::new(4);
        for i in 0..20 {
            backlog.push(write(if i % 2 == 0 { 'a' } else { 't' }, i));
        }
        assert_eq!(backlog.len(), 20);
        assert_eq!(backlog.thinned(), 0);
        for i in 20..30 {
            backlog.push(write('p', i));
        }
        assert_eq!(times(&mut backlog)[..20], (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn behind_a_bound_of_changes_plain_results_are_thinned_a_tenth_at_a_time() {
        let mut backlog = Backlog::new(100);
        for i in 0..100 {
            backlog.push(write('t', i));
        }
        // Each plain result pushed now passes the bound; they wait until there are 10.
        for i in 100..109 {
            assert_eq!(backlog.push(write('p', i)), 0, "{i}");
        }
        assert_eq!(backlog.push(write('p', 109)), 10);
        assert_eq!((backlog.len(), backlog.thinned()), (100, 10));
        // A batch taken and put back keeps the count of plain results right.
        let batch = backlog.take(50);
        backlog.push(write('p', 110));
        backlog.put_back(batch);
        for i in 111..119 {
            assert_eq!(backlog.push(write('p', i)), 0, "{i}");
        }
        assert_eq!(backlog.push(write('p', 119)), 10);
        assert_eq!(times(&mut backlog), (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn a_failed_batch_goes_back_ahead_of_newer_records() {
        let mut backlog = Backlog::new(100);
        for i in 0..5 {
            backlog.push(write('p', i));
        }
        let batch = backlog.take(3);
        backlog.push(write('a', 5));
        backlog.put_back(batch);
        assert_eq!(times(&mut backlog), vec![0, 1, 2, 3, 4, 5]);
        assert!(backlog.is_empty());
    }
}
