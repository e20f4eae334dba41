//! What an incident tool (PagerDuty, Opsgenie, Pushover's emergency alerts) is asked to
//! do for a message: open, acknowledge or close an incident, named by a key made from
//! the check and when its outage began, so a repeated delivery names the same incident
//! and the tool's own deduplication makes it harmless. Pure.

use super::AlertMessage;
use crate::domain::{AlertKind, Health, Timestamp};

/// What is asked of the incident tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Open the incident (or add to it, when it is open).
    Open,
    Acknowledge,
    Close,
}

/// One step for one incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentStep<'a> {
    pub step: Step,
    /// Stable for the incident: `stackwatch/acme-web/1733222400000`.
    pub key: String,
    /// The alert it comes from (a digest's or a group's own alerts, one by one).
    pub message: &'a AlertMessage,
}

/// The steps of `message`, in order: one for most; one per alert for a group or a
/// digest (each check's incident is its own, so it closes when that check recovers); two
/// for a flapping check that settled DOWN (the flapping closes, the outage opens).
pub fn steps(message: &AlertMessage) -> Vec<IncidentStep<'_>> {
    let one = |step, key| IncidentStep { step, key, message };
    let check = &message.check;
    let outage = || match message.facts.down_since {
        Some(since) => format!("stackwatch/{check}/{}", since.0),
        None => format!("stackwatch/{check}"),
    };
    let flapping = || format!("stackwatch/{check}/flapping");
    let slow = |since: Timestamp| format!("stackwatch/{check}/degraded/{}", since.0);
    match message.kind {
        AlertKind::Down | AlertKind::Reminder | AlertKind::Escalated => {
            vec![one(Step::Open, outage())]
        }
        AlertKind::Recovered => match message.facts.degraded_since {
            Some(since) => vec![one(Step::Close, slow(since))],
            None => vec![one(Step::Close, outage())],
        },
        AlertKind::Degraded => match message.facts.degraded_since {
            Some(since) => vec![one(Step::Open, slow(since))],
            None => vec![one(Step::Open, format!("stackwatch/{check}/degraded"))],
        },
        AlertKind::Acknowledged => vec![one(Step::Acknowledge, outage())],
        AlertKind::Flapping => vec![one(Step::Open, flapping())],
        AlertKind::Settled if message.facts.health == Some(Health::Down) => {
            vec![one(Step::Close, flapping()), one(Step::Open, outage())]
        }
        AlertKind::Settled => vec![one(Step::Close, flapping())],
        AlertKind::CertExpiring => {
            let until = message.facts.cert_not_after.map_or(0, |t| t.0);
            vec![one(
                Step::Open,
                format!("stackwatch/{check}/certificate/{until}"),
            )]
        }
        AlertKind::DomainExpiring => {
            let until = message.facts.domain_expires_at.map_or(0, |t| t.0);
            vec![one(
                Step::Open,
                format!("stackwatch/{check}/domain/{until}"),
            )]
        }
        AlertKind::Offline | AlertKind::Online => {
            let place = message.facts.location.as_deref().unwrap_or("server");
            let step = if message.kind == AlertKind::Offline {
                Step::Open
            } else {
                Step::Close
            };
            vec![one(step, format!("stackwatch/offline/{place}"))]
        }
        AlertKind::Test => vec![one(
            Step::Open,
            format!("stackwatch/test/{}", message.created_at.0),
        )],
        AlertKind::Group | AlertKind::Digest => message.held.iter().flat_map(steps).collect(),
    }
}

/// Whether `message` warns of something that is not down yet (an expiry coming, slow
/// answers, flapping): paged as a warning where the tool has levels.
pub fn is_warning(message: &AlertMessage) -> bool {
    matches!(
        message.kind,
        AlertKind::CertExpiring
            | AlertKind::DomainExpiring
            | AlertKind::Flapping
            | AlertKind::Degraded
    )
}

/// Whether `message` is about something down now: paged at the configured urgency.
pub fn is_urgent(message: &AlertMessage) -> bool {
    match message.kind {
        AlertKind::Down | AlertKind::Reminder | AlertKind::Escalated | AlertKind::Offline => true,
        AlertKind::Settled | AlertKind::Group => message.facts.health == Some(Health::Down),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertFacts, Timestamp};

    fn message(kind: AlertKind, check: &str, since: i64) -> AlertMessage {
        AlertMessage {
            alert_id: 1,
            check: check.to_owned(),
            kind,
            facts: AlertFacts {
                down_since: Some(Timestamp(since)),
                ..AlertFacts::default()
            },
            created_at: Timestamp(5),
            link: None,
            held: Vec::new(),
            ack_link: None,
        }
    }

    #[test]
    fn an_outage_opens_is_acknowledged_and_closes_under_one_key() {
        let keys: Vec<(Step, String)> = [AlertKind::Down, AlertKind::Acknowledged]
            .into_iter()
            .chain([AlertKind::Reminder, AlertKind::Recovered])
            .map(|kind| {
                let m = message(kind, "web", 1_000);
                let s = steps(&m);
                (s[0].step, s[0].key.clone())
            })
            .collect();
        let key = "stackwatch/web/1000".to_owned();
        assert_eq!(
            keys,
            [
                (Step::Open, key.clone()),
                (Step::Acknowledge, key.clone()),
                (Step::Open, key.clone()),
                (Step::Close, key)
            ]
        );
    }

    #[test]
    fn a_group_is_each_checks_own_incident() {
        let held = vec![
            message(AlertKind::Down, "a", 1),
            message(AlertKind::Down, "b", 2),
        ];
        let group = AlertMessage::group(
            crate::notify::GroupOf::Stack("acme"),
            true,
            held,
            Timestamp(9),
        );
        let keys: Vec<String> = steps(&group).into_iter().map(|s| s.key).collect();
        assert_eq!(keys, ["stackwatch/a/1", "stackwatch/b/2"]);
        let mut settled = message(AlertKind::Settled, "c", 3);
        settled.facts.health = Some(Health::Down);
        let settled: Vec<(Step, String)> = steps(&settled)
            .into_iter()
            .map(|s| (s.step, s.key))
            .collect();
        assert_eq!(
            settled,
            [
                (Step::Close, "stackwatch/c/flapping".to_owned()),
                (Step::Open, "stackwatch/c/3".to_owned())
            ]
        );
    }
}
