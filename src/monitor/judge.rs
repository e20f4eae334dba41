//! From a probe's outcome to the record the recorder writes: the state machine, the alert
//! decision and the contacts. Pure apart from cloning.

use crate::domain::{
    AlertContext, AlertMemory, Check, CheckState, ContactName, Failure, MaintenanceWindow, Outcome,
    Thresholds, Transition, decide,
};
use crate::store::{NewAlert, Record};

/// What the scheduler knows of a check between two probes.
#[derive(Debug, Clone)]
pub struct Known {
    pub state: CheckState,
    pub memory: AlertMemory,
}

/// Turns an outcome into a record: state machine, alert decision, contacts.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    pub default_contacts: &'a [ContactName],
    pub windows: &'a [MaintenanceWindow],
}

/// The check's confirmation rule. A heartbeat's grace is its confirmation: one late or
/// failed ping makes it DOWN, one ping makes it UP.
fn thresholds(check: &Check) -> Thresholds {
    if matches!(check.spec.target, crate::domain::Target::Heartbeat(_)) {
        return Thresholds {
            failures_to_confirm: 1,
            successes_to_recover: 1,
        };
    }
    Thresholds {
        failures_to_confirm: check.spec.failures_to_confirm,
        successes_to_recover: check.spec.successes_to_recover,
    }
}

/// Whether this outcome, judged now, would confirm the check DOWN.
pub fn would_confirm_down(check: &Check, known: &Known, outcome: &Outcome) -> bool {
    let (_, transition) =
        known
            .state
            .observe(outcome.is_up(), thresholds(check), outcome.started_at);
    matches!(transition, Some(Transition::WentDown { .. }))
}

impl Judge<'_> {
    /// The record of one outcome of `check`, given what was known before it.
    pub fn judge(&self, check: &Check, known: &Known, outcome: Outcome) -> Record {
        let now = outcome.started_at;
        let (state, transition) = known.state.observe(outcome.is_up(), thresholds(check), now);
        let in_maintenance = self.windows.iter().any(|w| w.silences(check, now));
        let (memory, events) = decide(
            &known.memory,
            AlertContext {
                spec: &check.spec,
                state: &state,
                outcome: &outcome,
                in_maintenance,
                now,
            },
        );
        // Most probes cause no alert: resolve contacts only for those that do.
        let contacts = || {
            check
                .spec
                .contacts
                .clone()
                .unwrap_or_else(|| self.default_contacts.to_vec())
        };
        Record {
            check_id: check.id,
            check_name: check.name.clone(),
            outcome,
            state,
            transition,
            memory,
            alerts: events
                .into_iter()
                .map(|event| NewAlert {
                    event,
                    contacts: contacts(),
                })
                .collect(),
        }
    }

    /// The record of a connection-level failure seen while the monitor was offline: kept
    /// as a result with the cause "monitor offline", the check's state and memory unchanged.
    pub fn offline(check: &Check, known: &Known, mut outcome: Outcome) -> Record {
        if let Some(cause) = outcome.failure.take() {
            outcome.failure = Some(Failure::MonitorOffline {
                cause: Box::new(cause),
            });
        }
        Record {
            check_id: check.id,
            check_name: check.name.clone(),
            outcome,
            state: known.state,
            transition: None,
            memory: known.memory.clone(),
            alerts: Vec::new(),
        }
    }
}
