//! What the recorder hands the store: a probe's record (its result, and what else it
//! changed) or an alert about stackwatch itself.

use std::sync::Arc;

use crate::domain::{
    AlertEvent, AlertMemory, CheckId, CheckName, CheckState, ContactName, LocationName, Outcome,
    Timestamp, Transition, Votes,
};

/// Everything one probe changes, written together. Most probes change nothing but their
/// result row: those carry no `change`, so a waiting plain result is its outcome and id
/// (a size test keeps it so), and judging it copies no name and no alert memory.
#[derive(Debug, Clone)]
pub struct Record {
    pub check_id: CheckId,
    /// Where the probe was made (shared: one per process or agent, not one per result).
    pub location: Arc<LocationName>,
    pub outcome: Outcome,
    /// What else the outcome changed; `None` for a plain result.
    pub change: Option<Box<Change>>,
}

/// What a probe changed beyond its result: the state row is written, and the incident and
/// alerts with it.
#[derive(Debug, Clone)]
pub struct Change {
    /// The check's name, kept on an incident it opens and on its alerts.
    pub check_name: CheckName,
    /// The state after this outcome.
    pub state: CheckState,
    /// Each location's verdict after this outcome (empty for a check probed from one
    /// place only).
    pub votes: Votes,
    /// The confirmed change this outcome caused, if any.
    pub transition: Option<Transition>,
    /// What people have been told, after this outcome's alerts.
    pub memory: AlertMemory,
    /// Alerts to deliver, each to its contacts.
    pub alerts: Vec<NewAlert>,
    /// The version of the state row this writes: one above the version it was judged
    /// from. The write is a compare-and-set: if the row is no longer at `version - 1`
    /// (another instance wrote it meanwhile), nothing of this change is written.
    pub version: i64,
}

impl Record {
    /// A plain result: nothing but the result row (no state to write, no incident, no
    /// alert). Only such records may be thinned when writes fail for long.
    pub fn is_plain(&self) -> bool {
        self.change.is_none()
    }

    /// The alerts this record raises.
    pub fn alerts(&self) -> &[NewAlert] {
        self.change.as_ref().map_or(&[], |c| c.alerts.as_slice())
    }
}

/// The check id alerts about stackwatch itself are filed under (no check has id 0).
pub const MONITOR_CHECK_ID: CheckId = CheckId(0);
/// The name alerts about stackwatch itself carry in the outbox.
pub const MONITOR_ALERT_NAME: &str = "stackwatch";

/// One thing the recorder writes.
#[derive(Debug, Clone)]
pub enum Write {
    /// Everything one probe changes.
    Probe(Record),
    /// An alert about stackwatch itself (`offline`, `online`), raised at `at`.
    Monitor { alert: Box<NewAlert>, at: Timestamp },
    /// A plain result of an instance away from home, logged (as an agent's) for the
    /// instance at home that judges its check (boxed: a waiting plain result stays small).
    Forward(Box<Record>),
}

impl Write {
    /// See [`Record::is_plain`]; an alert about stackwatch is never plain.
    pub fn is_plain(&self) -> bool {
        match self {
            Self::Probe(record) => record.is_plain(),
            Self::Forward(_) => true,
            Self::Monitor { .. } => false,
        }
    }

    /// Whether writing it puts alerts in the outbox.
    pub fn has_alerts(&self) -> bool {
        match self {
            Self::Probe(record) => !record.alerts().is_empty(),
            Self::Monitor { .. } => true,
            Self::Forward(_) => false,
        }
    }
}

/// An alert for the outbox and the contacts it goes to.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub event: AlertEvent,
    pub contacts: Vec<ContactName>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recorder's backlog holds up to 100,000 of these while the store lags: a plain
    /// result must stay its outcome and id, not carry the state, memory and name of
    /// records that change something.
    #[test]
    fn a_waiting_plain_result_stays_small() {
        assert!(
            std::mem::size_of::<Write>() <= 144,
            "{}",
            std::mem::size_of::<Write>()
        );
    }
}
