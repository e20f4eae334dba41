//! `[[routes]]`: which contacts an alert goes to by the check's stack, tags and kind, the
//! event and the time (see `domain::routing`), read into a `Routing` once at start; each
//! problem names its key (`routes[2].contacts[0]`).

use serde::Deserialize;

use crate::domain::schedule::parse_cron;
use crate::domain::{
    AlertKind, ContactName, KINDS, Route, Routing, Tag, WindowTiming, parse_timezone,
};

/// Events a route may name: those about a check (`offline` and `online`, about
/// stackwatch itself, go to the default contacts).
const EVENTS: [AlertKind; 10] = [
    AlertKind::Down,
    AlertKind::Recovered,
    AlertKind::Degraded,
    AlertKind::Reminder,
    AlertKind::CertExpiring,
    AlertKind::DomainExpiring,
    AlertKind::Flapping,
    AlertKind::Settled,
    AlertKind::Acknowledged,
    AlertKind::Escalated,
];

/// One `[[routes]]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSettings {
    #[serde(default)]
    pub stacks: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub events: Vec<String>,
    /// Only while a recurring window is open: cron, its length and time zone.
    pub during: Option<DuringSettings>,
    pub contacts: Vec<String>,
    /// Go on to the next routes after this one matched.
    #[serde(default, rename = "continue")]
    pub carry_on: bool,
    /// Minutes: makes the route the escalation of the checks it matches.
    pub escalate_after: Option<u32>,
}

/// A route's window, as maintenance windows recur.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuringSettings {
    pub cron: String,
    pub duration_s: u32,
    #[serde(default = "utc")]
    pub timezone: String,
}

fn utc() -> String {
    "UTC".to_owned()
}

/// Reads the routes, and the default contacts (whose problems `[alerting]`'s validation
/// names); `Err` lists every problem of the routes, each naming its key. `known`: the
/// configured notifiers.
pub fn routing(
    routes: &[RouteSettings],
    defaults: &[String],
    known: &dyn Fn(&str) -> bool,
) -> Result<Routing, Vec<String>> {
    let mut problems = Vec::new();
    let contacts_of = |key: &str, names: &[String], problems: &mut Vec<String>| {
        let mut parsed = Vec::new();
        for (i, name) in names.iter().enumerate() {
            match name.parse::<ContactName>() {
                Ok(contact) if known(contact.as_str()) => parsed.push(contact),
                Ok(contact) => problems.push(format!(
                    "{key}[{i}]: no notifier named {contact} is configured"
                )),
                Err(e) => problems.push(format!("{key}[{i}]: {e}")),
            }
        }
        parsed
    };
    let defaults = defaults
        .iter()
        .filter_map(|c| c.parse::<ContactName>().ok())
        .filter(|c| known(c.as_str()))
        .collect();
    let mut read = Vec::new();
    for (n, route) in routes.iter().enumerate() {
        let key = format!("routes[{n}]");
        let contacts = contacts_of(&format!("{key}.contacts"), &route.contacts, &mut problems);
        if route.contacts.is_empty() {
            problems.push(format!("{key}.contacts: must name at least one contact"));
        }
        let mut tags = Vec::new();
        for (i, tag) in route.tags.iter().enumerate() {
            match tag.parse::<Tag>() {
                Ok(tag) => tags.push(tag),
                Err(e) => problems.push(format!("{key}.tags[{i}]: {e}")),
            }
        }
        for (i, kind) in route.kinds.iter().enumerate() {
            if !KINDS.contains(&kind.as_str()) {
                problems.push(format!(
                    "{key}.kinds[{i}]: must be one of {}",
                    KINDS.join(", ")
                ));
            }
        }
        let mut events = Vec::new();
        for (i, event) in route.events.iter().enumerate() {
            match AlertKind::parse(event).filter(|e| EVENTS.contains(e)) {
                Some(event) => events.push(event),
                None => problems.push(format!(
                    "{key}.events[{i}]: must be one of {}",
                    EVENTS.map(AlertKind::as_str).join(", ")
                )),
            }
        }
        for (i, glob) in route.stacks.iter().enumerate() {
            if glob.is_empty() {
                problems.push(format!("{key}.stacks[{i}]: must not be empty"));
            }
        }
        let during = route.during.as_ref().and_then(|d| {
            let schedule = parse_cron(&d.cron)
                .map_err(|e| problems.push(format!("{key}.during.cron: {e}")))
                .ok();
            let timezone = parse_timezone(&d.timezone);
            if timezone.is_none() {
                problems.push(format!(
                    "{key}.during.timezone: {:?} is not an IANA time zone",
                    d.timezone
                ));
            }
            if !(60..=604_800).contains(&d.duration_s) {
                problems.push(format!(
                    "{key}.during.duration_s: must be between 60 and 604800, got {}",
                    d.duration_s
                ));
            }
            Some(WindowTiming::Recurring {
                expression: d.cron.clone(),
                not_before: None,
                schedule: Box::new(schedule?),
                duration_s: d.duration_s,
                timezone: timezone?,
            })
        });
        if let Some(minutes) = route.escalate_after {
            if !(1..=10_080).contains(&minutes) {
                problems.push(format!(
                    "{key}.escalate_after: must be between 1 and 10080 minutes, got {minutes}"
                ));
            }
            if !route.events.is_empty() || route.carry_on {
                problems.push(format!(
                    "{key}.escalate_after: an escalation route takes neither events nor \
                     continue (it only escalates outages)"
                ));
            }
        }
        read.push(Route {
            stacks: route.stacks.clone(),
            tags,
            kinds: route.kinds.clone(),
            events,
            during,
            contacts,
            carry_on: route.carry_on,
            escalate_after: route.escalate_after,
        });
    }
    if problems.is_empty() {
        Ok(Routing {
            routes: read,
            defaults,
        })
    } else {
        Err(problems)
    }
}
