//! From a probe's outcome to the record the recorder writes: the state machine, the alert
//! decision and the contacts. Pure apart from cloning.

use std::collections::HashSet;
use std::sync::Arc;

use super::known::Known;
use crate::domain::{
    AlertContext, AlertKind, Check, CheckName, Failure, LocationName, MaintenanceWindow, Outcome,
    Routing, Transition, Votes, combine, decide, describe_cause, tally,
};
use crate::store::{Change, NewAlert, Record};

/// Turns an outcome into a record: state machine, alert decision, contacts.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    /// Who each alert of a check goes to (its own contacts, a route, or the defaults).
    pub routing: &'a Routing,
    pub windows: &'a [MaintenanceWindow],
    /// This process's location: that of checks that name none.
    pub own: &'a LocationName,
    /// Locations whose agents went silent: their votes do not count.
    pub silent: &'a HashSet<LocationName>,
}

/// Whether this outcome of this process's location `own`, judged now, would confirm DOWN
/// (for a check probed from several locations: `own`'s verdict).
pub fn would_confirm_down(
    check: &Check,
    known: &Known,
    outcome: &Outcome,
    own: &LocationName,
) -> bool {
    let before = match known.votes.get(own) {
        Some(vote) if check.spec.is_voted(own) => vote.state,
        _ => known.state,
    };
    let (_, transition) =
        before.observe(outcome.is_up(), check.spec.thresholds(), outcome.started_at);
    matches!(transition, Some(Transition::WentDown { .. }))
}

impl Judge<'_> {
    /// The record of one outcome of `check` probed `from` a location, given what was known
    /// before it. A check probed from several locations is judged by their votes; an
    /// outcome from a location the check does not name is kept as a plain result.
    /// `upstream` is the root cause of a failure, when a check this one relies on fails.
    pub fn judge(
        &self,
        check: &Check,
        known: &Known,
        outcome: Outcome,
        from: &Arc<LocationName>,
        upstream: Option<&CheckName>,
    ) -> Record {
        let voted = check.spec.is_voted(self.own);
        let quorum = check.spec.quorum_at(self.own);
        if outcome
            .failure
            .as_ref()
            .is_some_and(Failure::is_the_monitors)
            || !quorum.locations.contains(from)
        {
            // Recorded with its cause, but the prober's trouble is not the target's outage.
            return Record {
                check_id: check.id,
                location: from.clone(),
                outcome,
                change: None,
            };
        }
        let now = outcome.started_at;
        let thresholds = check.spec.thresholds();
        let (state, transition, votes, summary) = if voted {
            let cause = outcome
                .failure
                .as_ref()
                .map(|f| describe_cause(f, check.spec.target(), now));
            let (votes, _) = known
                .votes
                .clone()
                .only(quorum.locations)
                .observe(from, cause, thresholds, now);
            let counted = tally(quorum, &votes, &|l| self.silent.contains(l));
            let (state, transition) = combine(&known.state, &counted, now);
            let summary = counted.summary();
            (state, transition, votes, Some(summary))
        } else {
            let (state, transition) = known.state.observe(outcome.is_up(), thresholds, now);
            (state, transition, Votes::default(), None)
        };
        let (state, transition) =
            state.observe_speed(check.spec.speed_of(&outcome), thresholds, now, transition);
        let in_maintenance = self.windows.iter().any(|w| w.silences(check, now));
        let (memory, mut events) = decide(
            &known.memory.get(),
            AlertContext {
                spec: &check.spec,
                state: &state,
                outcome: &outcome,
                in_maintenance,
                upstream,
                now,
            },
        );
        for event in &mut events {
            if matches!(
                event.kind,
                AlertKind::Down | AlertKind::Recovered | AlertKind::Reminder
            ) {
                event.facts.locations.clone_from(&summary);
            }
        }

        let write_state = state != known.state
            || votes != known.votes
            || *known.memory.get() != memory
            || outcome
                .cert_not_after
                .is_some_and(|at| Some(at) != known.cert_not_after)
            || check.spec.states_every_result();
        let alerts: Vec<NewAlert> = events
            .into_iter()
            // Most probes cause no alert: contacts are resolved only for those that do.
            .map(|event| NewAlert {
                contacts: self.routing.contacts(&check.spec, event.kind, now),
                event,
            })
            .collect();
        let change = (write_state || transition.is_some() || !alerts.is_empty()).then(|| {
            Box::new(Change {
                check_name: check.name.clone(),
                state,
                votes,
                transition,
                memory,
                alerts,
                version: known.version + 1,
            })
        });
        Record {
            check_id: check.id,
            location: from.clone(),
            outcome,
            change,
        }
    }

    /// The record of a connection-level failure seen while the monitor was offline: kept
    /// as a result with the cause "monitor offline", the check's state and memory unchanged.
    pub fn offline(check: &Check, mut outcome: Outcome, from: &Arc<LocationName>) -> Record {
        if let Some(cause) = outcome.failure.take() {
            outcome.failure = Some(Failure::MonitorOffline {
                cause: Box::new(cause),
            });
        }
        Record {
            check_id: check.id,
            location: from.clone(),
            outcome,
            change: None,
        }
    }
}

/// Logs a confirmed change of state, and an alert nobody will hear of.
pub fn log_change(record: &crate::store::Record, from: crate::domain::Health) {
    let Some(change) = &record.change else {
        return;
    };
    if change.transition.is_some() {
        tracing::info!(
            check = %change.check_name,
            from = %from.as_str(),
            to = %change.state.health.as_str(),
            cause = change.memory.last_cause.as_deref().unwrap_or(""),
            "state changed"
        );
    }
    for alert in change.alerts.iter().filter(|a| a.contacts.is_empty()) {
        tracing::warn!(
            check = %change.check_name,
            event = alert.event.kind.as_str(),
            "{}",
            crate::domain::NOBODY_TOLD
        );
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::domain::{AlertMemory, CheckId, CheckSpec, Form, Timestamp, Timings};
    use crate::monitor::known::KeptMemory;

    /// A spec read from the API's JSON, as every spec is made.
    fn read_spec(body: serde_json::Value) -> CheckSpec {
        let serde_json::Value::Object(fields) = body else {
            panic!("not an object");
        };
        let mut form = Form::new(fields);
        let spec = CheckSpec::read(&mut form, None);
        form.finish(spec).unwrap()
    }

    fn local() -> Arc<LocationName> {
        Arc::new("local".parse().unwrap())
    }

    fn check(spec: CheckSpec) -> Check {
        Check {
            id: CheckId(1),
            name: "c".parse().unwrap(),
            spec,
            ping_key: None,
            paused: false,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn outcome(at: i64, up: bool, cert_not_after: Option<Timestamp>) -> Outcome {
        Outcome {
            started_at: Timestamp(at),
            status: Some(if up { 200 } else { 500 }),
            timings: Timings::default(),
            cert_not_after,
            cert_of: None,
            failure: (!up).then_some(Failure::BadStatus { status: 500 }),
        }
    }

    /// Judges `outcomes` of `check` in turn from this process's location, learning each
    /// record; `each` sees every record and what is known after it.
    fn judge_all(
        check: &Check,
        outcomes: impl IntoIterator<Item = Outcome>,
        mut each: impl FnMut(&Record, &Known),
    ) -> Known {
        let (own, silent) = (local(), HashSet::new());
        let judge = Judge {
            routing: &Routing::default(),
            windows: &[],
            own: &own,
            silent: &silent,
        };
        let mut known = Known::from_stored(None, Timestamp(0));
        for outcome in outcomes {
            let record = judge.judge(check, &known, outcome, &own, None);
            known.learn(&record);
            each(&record, &known);
        }
        known
    }

    #[test]
    fn the_box_without_an_icmp_socket_changes_no_state_and_alerts_nobody() {
        let spec =
            read_spec(serde_json::json!({"kind": "icmp", "host": "127.0.0.1", "packets": 3}));
        let refused = (1..=5).map(|at| Outcome {
            failure: Some(Failure::IcmpNotAllowed {
                detail: "Operation not permitted".into(),
            }),
            ..outcome(at * 60_000, false, None)
        });
        let known = judge_all(&check(spec), refused, |record, _| {
            assert!(record.change.is_none(), "{record:?}");
            assert!(record.outcome.failure.is_some(), "the cause is kept");
        });
        assert_eq!(known.state.health, crate::domain::Health::Unknown);
    }

    /// Judges `verdicts` in turn ('+' up, '-' down, 'n' up with a renewed certificate,
    /// kept from then on) and answers which records would write the state row, as '1'
    /// and '0'.
    fn writes(check: &Check, verdicts: &str, mut cert: Option<Timestamp>) -> String {
        let outcomes = verdicts.chars().enumerate().map(|(i, verdict)| {
            let at = (i as i64 + 1) * 60_000;
            if verdict == 'n' {
                cert = Some(Timestamp(at));
            }
            outcome(at, verdict != '-', cert)
        });
        let mut written = String::new();
        judge_all(check, outcomes, |record, _| {
            written.push(if record.change.is_some() { '1' } else { '0' });
        });
        written
    }

    /// The scheduler holds one `Known` per check: a quiet check's alert memory is inline,
    /// and a memory kept either way reads back as it was given.
    #[test]
    fn a_quiet_checks_memory_is_kept_inline_and_every_memory_reads_back_whole() {
        assert!(
            std::mem::size_of::<Known>() <= 112,
            "{}",
            std::mem::size_of::<Known>()
        );
        let http = check(CheckSpec::with_defaults(
            "http://127.0.0.1:9/".parse().unwrap(),
        ));
        let outcomes = "++--+++"
            .chars()
            .enumerate()
            .map(|(i, verdict)| outcome((i as i64 + 1) * 60_000, verdict == '+', None));
        let mut shapes = String::new();
        let known = judge_all(&http, outcomes, |record, known| {
            if let Some(change) = &record.change {
                assert_eq!(*known.memory.get(), change.memory, "{record:?}");
                assert_eq!(known.memory.alerted(), change.memory.alerted);
            }
            shapes.push(match known.memory {
                KeptMemory::Quiet { .. } => 'q',
                KeptMemory::Full(_) => 'F',
            });
        });
        // Up, then an outage (its cause and times are remembered from then on).
        assert_eq!(shapes, "qqFFFFF");
        assert!(matches!(known.memory.get(), Cow::Borrowed(_)));
        let held = AlertMemory {
            impacted_by: Some("db".parse().unwrap()),
            ..AlertMemory::default()
        };
        let kept = KeptMemory::new(held.clone());
        assert_eq!(*kept.get(), held);
        assert_eq!(kept.impacted_by().map(CheckName::as_str), Some("db"));
    }

    #[test]
    fn the_state_row_is_written_only_when_something_in_it_changes() {
        // Defaults: 2 failures confirm, 1 success recovers.
        let http = check(CheckSpec::with_defaults(
            "http://127.0.0.1:9/".parse().unwrap(),
        ));
        // The first probe (health known), then nothing while it stays up.
        assert_eq!(writes(&http, "++++++", None), "100000");
        // A failure starts a run; the second confirms (and alerts); then the outage is
        // settled until the first success recovers it.
        assert_eq!(writes(&http, "+++-----+++", None), "10011000100");
        // A certificate seen for the first time, or renewed, is written once.
        assert_eq!(writes(&http, "+++n++", Some(Timestamp(99))), "100100");
        // A heartbeat's row keeps its last ping: every ping is written.
        let beat = read_spec(serde_json::json!({"kind": "heartbeat", "period": 60, "grace": 0}));
        assert_eq!(writes(&check(beat), "++++", None), "1111");
    }

    #[test]
    fn a_result_while_the_monitor_is_offline_writes_no_state() {
        let http = check(CheckSpec::with_defaults(
            "http://127.0.0.1:9/".parse().unwrap(),
        ));
        let record = Judge::offline(&http, outcome(1, false, None), &local());
        assert!(record.is_plain());
    }
}
