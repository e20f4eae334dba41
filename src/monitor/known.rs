//! What the scheduler knows of a check between two probes (what its stored state row
//! holds), kept small: a quiet check's alert memory inline, any other boxed.

use std::borrow::Cow;

use crate::domain::{
    AlertMemory, Check, CheckName, CheckState, Flaps, Health, LocationName, Outcome, Timestamp,
    Votes,
};
use crate::store::{Record, StoredState};

/// What the scheduler knows of a check between two probes: what its stored state row holds.
#[derive(Debug, Clone)]
pub struct Known {
    pub state: CheckState,
    pub memory: KeptMemory,
    pub cert_not_after: Option<Timestamp>,
    /// The version of the state row this was read from or last wrote (0: no row yet).
    pub version: i64,
    /// Each location's verdict, for a check probed from several.
    pub votes: Votes,
}

impl Known {
    /// What is known of a check from its stored state (a check never probed: nothing yet).
    pub fn from_stored(stored: Option<StoredState>, now: Timestamp) -> Self {
        match stored {
            Some(s) => Self {
                state: s.state,
                memory: KeptMemory::new(s.memory),
                cert_not_after: s.cert_not_after,
                version: s.version,
                votes: s.votes,
            },
            None => Self {
                state: CheckState::new(now),
                memory: KeptMemory::new(AlertMemory::default()),
                cert_not_after: None,
                version: 0,
                votes: Votes::default(),
            },
        }
    }

    /// Learns what `record` changed (a plain result changes only the certificate's
    /// expiry, if it carried one).
    pub fn learn(&mut self, record: &Record) {
        if let Some(change) = &record.change {
            self.state = change.state;
            self.memory = KeptMemory::new(change.memory.clone());
            self.version = change.version;
            self.votes.clone_from(&change.votes);
        }
        self.cert_not_after = record.outcome.cert_not_after.or(self.cert_not_after);
    }

    /// Away from home: follows this location's own outcome of `check` with the check's
    /// thresholds (no votes: the verdict is the home's), to time the next probe.
    pub fn observe_here(&mut self, check: &Check, outcome: &Outcome) {
        self.votes = Votes::default();
        let (state, _) =
            self.state
                .observe(outcome.is_up(), check.spec.thresholds(), outcome.started_at);
        self.state = state;
    }

    /// Whether `location`'s next probe should come after the retry interval: its own
    /// verdict is being confirmed (for a check probed from several, its vote's).
    pub fn confirming(&self, location: &LocationName) -> bool {
        match self.votes.get(location) {
            Some(vote) => vote.state.confirming(),
            None => self.votes.is_empty() && self.state.confirming(),
        }
    }
}

/// An alert memory as the scheduler keeps it between probes. Most checks' memory holds
/// nothing but the health people were last told of and the health last seen: that is kept
/// inline, and only a memory holding more (an outage's times, a cause, flapping, a root
/// cause) is boxed, so a quiet check's entry does not carry the whole memory.
#[derive(Debug, Clone)]
pub enum KeptMemory {
    Quiet {
        alerted: Option<Health>,
        seen: Option<Health>,
    },
    Full(Box<AlertMemory>),
}

impl KeptMemory {
    pub fn new(memory: AlertMemory) -> Self {
        let (alerted, seen) = (memory.alerted, memory.flaps.seen);
        if memory == quiet(alerted, seen) {
            Self::Quiet { alerted, seen }
        } else {
            Self::Full(Box::new(memory))
        }
    }

    /// The whole memory (made up for a quiet one: it allocates nothing).
    pub fn get(&self) -> Cow<'_, AlertMemory> {
        match self {
            Self::Quiet { alerted, seen } => Cow::Owned(quiet(*alerted, *seen)),
            Self::Full(memory) => Cow::Borrowed(memory),
        }
    }

    /// The health of the last DOWN or RECOVERED alert.
    pub fn alerted(&self) -> Option<Health> {
        match self {
            Self::Quiet { alerted, .. } => *alerted,
            Self::Full(memory) => memory.alerted,
        }
    }

    /// The root cause this check's outage is held for.
    pub fn impacted_by(&self) -> Option<&CheckName> {
        match self {
            Self::Quiet { .. } => None,
            Self::Full(memory) => memory.impacted_by.as_ref(),
        }
    }
}

/// The memory of a check with nothing to remember but these two healths.
fn quiet(alerted: Option<Health>, seen: Option<Health>) -> AlertMemory {
    AlertMemory {
        alerted,
        flaps: Flaps {
            seen,
            ..Flaps::default()
        },
        ..AlertMemory::default()
    }
}
