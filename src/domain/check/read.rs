//! Reading a check's configuration from a client's JSON: each field, then the rules that tie
//! fields together.

use std::collections::BTreeSet;

use super::{CheckFields, CheckSpec, Registry};
use crate::domain::field::{FieldError, FieldErrors, limits};
use crate::domain::form::Form;
use crate::domain::http_target::HttpTarget;
use crate::domain::target::{KINDS, Target};
use crate::domain::{CheckName, ContactName, LocationName, Tag};

impl CheckSpec {
    /// Reads a check's configuration from a client's JSON object: `kind` (default `http`),
    /// the kind's fields and the common ones, defaults applied, every problem recorded in
    /// `form`. The name, stack and paused flag depend on where the body was sent and are
    /// taken out by the caller first. With `known_contacts`, every contact must be one.
    pub fn read(form: &mut Form, known: Option<Registry<'_>>) -> Option<Self> {
        let kind: String = form.take("kind").unwrap_or_else(|| "http".to_owned());
        let target = Target::read(&kind, form);
        if let (Some(Target::Domain(d)), Some(known)) = (&target, known)
            && let Some(reason) = known.rdap.refusal(d.domain())
        {
            form.error("domain", reason);
        }
        let check_rate = form.int(if kind == "domain" {
            limits::DOMAIN_CHECK_RATE
        } else {
            limits::CHECK_RATE
        });
        let timeout = form.int(limits::TIMEOUT);
        let failures_to_confirm = form.int(limits::FAILURES_TO_CONFIRM);
        let successes_to_recover = form.int(limits::SUCCESSES_TO_RECOVER);
        let retry_interval = form.int(limits::RETRY_INTERVAL);
        let contacts = form
            .take::<Vec<String>>("contacts")
            .map(|c| read_contacts("contacts", c, known.map(|k| k.contacts), form));
        let degraded_after_ms = form.optional_int(limits::DEGRADED_AFTER_MS);
        let reminder_every = form.optional_int(limits::REMINDER_EVERY);
        let tags = read_tags(form.take("tags").unwrap_or_default(), form);
        let display_name = form
            .take::<String>("display_name")
            .and_then(|text| read_display_name(text, form));
        let locations = form
            .take::<Vec<String>>("locations")
            .map(|l| read_locations(l, known.map(|k| k.locations), form));
        let quorum = form.optional_int(limits::QUORUM);
        let flap_threshold = form.optional_int(limits::FLAP_THRESHOLD);
        let flap_window = form.optional_int(limits::FLAP_WINDOW);
        let escalate_after = form.optional_int(limits::ESCALATE_AFTER);
        let escalate_to = form
            .take::<Vec<String>>("escalate_to")
            .map(|c| read_contacts("escalate_to", c, known.map(|k| k.contacts), form));
        let depends_on = read_depends_on(form);
        for field in form.leftover() {
            let kinds = Target::kinds_with(&field);
            if !KINDS.contains(&kind.as_str()) {
                continue;
            } else if kinds.is_empty() {
                form.error(field, "is not a field of a check");
            } else {
                let kinds = kinds.join(", ");
                form.error(field, format!("is only for {kinds} checks, not {kind}"));
            }
        }
        let spec: Self = CheckFields {
            target: target?,
            check_rate,
            timeout,
            failures_to_confirm,
            successes_to_recover,
            retry_interval,
            contacts,
            degraded_after_ms,
            reminder_every,
            stack: None,
            tags,
            display_name,
            locations,
            quorum,
            flap_threshold,
            flap_window,
            escalate_after,
            escalate_to,
            depends_on,
        }
        .into();
        if form.is_clean() {
            form.extend(spec.relation_errors());
        }
        Some(spec)
    }

    /// Rules that tie fields together; each field on its own is checked where it is read.
    pub fn relation_errors(&self) -> FieldErrors {
        let mut errors = Vec::new();
        if let Some(http) = self.http() {
            errors.extend(http.relation_errors(self.timeout));
        }
        let n = self.more().locations.as_ref().map_or(1, Vec::len);
        if self.more().quorum.is_some_and(|q| q as usize > n) {
            errors.push(FieldError::new(
                "quorum",
                format!("must not exceed the number of locations ({n})"),
            ));
        }
        let from_here = match &self.target {
            Target::Heartbeat(_) => {
                Some("is not for heartbeat checks: a heartbeat is pinged, not probed")
            }
            Target::Domain(_) => {
                Some("is not for domain checks: the registry is asked from the server")
            }
            _ => None,
        };
        if let Some(reason) = from_here
            && (self.more().locations.is_some() || self.more().quorum.is_some())
        {
            let field = if self.more().locations.is_some() {
                "locations"
            } else {
                "quorum"
            };
            errors.push(FieldError::new(field, reason));
        }
        if self.is_domain() && self.check_rate != limits::DOMAIN_CHECK_RATE.default {
            errors.push(FieldError::new(
                "check_rate",
                "a domain's registration is looked up once a day: 86400 (the default)",
            ));
        }
        match (&self.more().escalate_after, &self.more().escalate_to) {
            (Some(_), None) => errors.push(FieldError::new(
                "escalate_to",
                "is required with escalate_after: whom to alert",
            )),
            (None, Some(_)) => errors.push(FieldError::new(
                "escalate_after",
                "is required with escalate_to: after how many minutes",
            )),
            (_, Some(to)) if to.is_empty() => errors.push(FieldError::new(
                "escalate_to",
                "must name at least one contact",
            )),
            _ => {}
        }
        if let Some(ms) = self.more().degraded_after_ms {
            errors.extend(self.degraded_problem(ms));
        }
        if self.retry_interval > self.check_rate {
            errors.push(FieldError::new(
                "retry_interval",
                format!("must not exceed check_rate ({} s)", self.check_rate),
            ));
        }
        errors
    }
}

impl CheckSpec {
    /// What is wrong with `degraded_after_ms = ms` beside the other fields, if anything.
    fn degraded_problem(&self, ms: u32) -> Option<FieldError> {
        let field = "degraded_after_ms";
        if self.is_heartbeat() {
            return Some(FieldError::new(
                field,
                "is not for heartbeat checks: a ping has no response time",
            ));
        }
        if self.is_domain() {
            return Some(FieldError::new(
                field,
                "is not for domain checks: the registry's speed is not the site's",
            ));
        }
        if u64::from(ms) >= u64::from(self.timeout) * 1_000 {
            return Some(FieldError::new(
                field,
                format!(
                    "must be below timeout ({} ms)",
                    u64::from(self.timeout) * 1_000
                ),
            ));
        }
        let down_after = self.http().and_then(HttpTarget::max_response_time_ms);
        down_after.filter(|max| ms >= *max).map(|max| {
            FieldError::new(
                field,
                format!(
                    "must be below max_response_time_ms ({max} ms), beyond which an answer is down"
                ),
            )
        })
    }
}

/// `depends_on`: check names, at most [`limits::MAX_DEPENDS_ON`], each once, in order.
fn read_depends_on(form: &mut Form) -> Vec<CheckName> {
    let Some(names) = form.take::<Vec<String>>("depends_on") else {
        return Vec::new();
    };
    if names.len() > limits::MAX_DEPENDS_ON {
        form.error(
            "depends_on",
            format!("at most {} checks", limits::MAX_DEPENDS_ON),
        );
    }
    let mut parsed: Vec<CheckName> = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        match name.parse::<CheckName>() {
            Ok(name) if !parsed.contains(&name) => parsed.push(name),
            Ok(_) => {}
            Err(e) => form.error(format!("depends_on[{i}]"), e.to_string()),
        }
    }
    parsed
}

fn read_contacts(
    key: &str,
    contacts: Vec<String>,
    known: Option<&BTreeSet<String>>,
    form: &mut Form,
) -> Vec<ContactName> {
    if contacts.len() > limits::MAX_CONTACTS {
        form.error(key, format!("at most {} contacts", limits::MAX_CONTACTS));
    }
    let configured = || match known {
        Some(k) if !k.is_empty() => k.iter().map(String::as_str).collect::<Vec<_>>().join(", "),
        _ => "none".to_owned(),
    };
    let mut parsed: Vec<ContactName> = Vec::with_capacity(contacts.len());
    for (i, contact) in contacts.into_iter().enumerate() {
        let field = format!("{key}[{i}]");
        let name = match ContactName::try_from(contact) {
            Ok(name) => name,
            Err(e) => {
                form.error(field, e.to_string());
                continue;
            }
        };
        if known.is_some_and(|k| !k.contains(name.as_str())) {
            form.error(
                field,
                format!(
                    "no notifier named {name} is configured (configured: {})",
                    configured()
                ),
            );
        }
        parsed.push(name);
    }
    parsed.sort();
    parsed.dedup();
    parsed
}

fn read_locations(
    locations: Vec<String>,
    known: Option<&BTreeSet<String>>,
    form: &mut Form,
) -> Vec<LocationName> {
    if locations.is_empty() || locations.len() > limits::MAX_LOCATIONS {
        form.error(
            "locations",
            format!("must name 1-{} locations", limits::MAX_LOCATIONS),
        );
    }
    let mut parsed: Vec<LocationName> = Vec::with_capacity(locations.len());
    for (i, location) in locations.into_iter().enumerate() {
        let field = format!("locations[{i}]");
        match LocationName::try_from(location) {
            Ok(name) if known.is_some_and(|k| !k.contains(name.as_str())) => {
                let known = known.map(|k| k.iter().map(String::as_str).collect::<Vec<_>>());
                form.error(
                    field,
                    format!(
                        "no location named {name} is known (known: the server's own and each \
                         agent token's: {})",
                        known.unwrap_or_default().join(", ")
                    ),
                );
            }
            Ok(name) => parsed.push(name),
            Err(e) => form.error(field, e.to_string()),
        }
    }
    parsed.sort();
    parsed.dedup();
    parsed
}

fn read_display_name(text: String, form: &mut Form) -> Option<String> {
    let length = text.chars().count();
    if !(1..=MAX_DISPLAY_NAME).contains(&length) {
        form.error(
            "display_name",
            format!("must be 1-{MAX_DISPLAY_NAME} characters (got {length})"),
        );
        None
    } else if text.chars().any(char::is_control) {
        form.error("display_name", "must not contain control characters");
        None
    } else {
        Some(text)
    }
}

/// The longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 255;

fn read_tags(tags: Vec<String>, form: &mut Form) -> Vec<Tag> {
    if tags.len() > limits::MAX_TAGS {
        form.error("tags", format!("at most {} tags", limits::MAX_TAGS));
    }
    let mut parsed: Vec<Tag> = Vec::with_capacity(tags.len());
    for (i, tag) in tags.into_iter().enumerate() {
        match Tag::try_from(tag) {
            Ok(tag) => parsed.push(tag),
            Err(e) => form.error(format!("tags[{i}]"), e.to_string()),
        }
    }
    parsed.sort();
    parsed.dedup();
    parsed
}
