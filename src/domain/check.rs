//! A check: what to probe, how, what counts as up, and whom to tell. `CheckSpec` is the
//! validated, fully resolved configuration (defaults applied): the one home of a check's
//! fields. The API reads a client's JSON into it (`CheckSpec::read`), answers with its
//! serialised form, and documents it from its schema; the store keeps that same form.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::field::{FieldError, FieldErrors, limits};
use super::form::Form;
use super::http_target::HttpTarget;
use super::location::{Quorum, majority};
use super::probe_url::ProbeUrl;
use super::schedule::Cadence;
use super::spec_more::SpecMore;
use super::state::Speed;
use super::target::{KINDS, Target};
use super::{CheckName, ContactName, LocationName, StackName, Tag, Thresholds, Timestamp};

/// Row id of a check in the store; compact key for results and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CheckId(pub i64);

/// The validated configuration of one check, every default applied: the fields every kind
/// has, and the kind's own in `target` (written flat, beside a `kind` tag). Durations are
/// whole seconds. The schema of the common fields is derived here; each kind's in
/// `target.rs`, `http_target.rs` and `dns_target.rs`.
///
/// This is the written form (answers, the stored spec, the API's schema): every field,
/// each time. In memory a check holds it as a [`CheckSpec`].
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = CheckSpec)]
pub struct CheckFields {
    /// What to probe.
    #[serde(flatten)]
    #[schema(ignore)]
    pub(in crate::domain) target: Target,
    /// Seconds between probes, 10-86400 (default 60).
    #[schema(required = false, minimum = 10, maximum = 86400)]
    pub(in crate::domain) check_rate: u32,
    /// Seconds one probe may take in all, 1-75 (default 10).
    #[schema(required = false, minimum = 1, maximum = 75)]
    pub(in crate::domain) timeout: u32,
    /// Consecutive failures before DOWN, 1-10 (default 2).
    #[schema(required = false, minimum = 1, maximum = 10)]
    pub(in crate::domain) failures_to_confirm: u32,
    /// Consecutive successes before UP, 1-10 (default 1).
    #[schema(required = false, minimum = 1, maximum = 10)]
    pub(in crate::domain) successes_to_recover: u32,
    /// Seconds before re-probing an unconfirmed failure, 1-3600, at most check_rate
    /// (default 10).
    #[schema(required = false, minimum = 1, maximum = 3600)]
    pub(in crate::domain) retry_interval: u32,
    /// Notifier names to alert; left out or `null` means the configured default contacts,
    /// `[]` means nobody.
    #[schema(max_items = 16)]
    pub(in crate::domain) contacts: Option<Vec<ContactName>>,
    /// An answer slower than this many milliseconds (the whole probe), though otherwise
    /// up, is slow: `failures_to_confirm` slow answers in a row make the check
    /// `degraded` (alerted as `degraded`), `successes_to_recover` fast ones make it `up`
    /// again (alerted as `recovered`). 1-75000, below `timeout` and any
    /// `max_response_time_ms`; not for heartbeats (default off).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 75000)]
    pub(in crate::domain) degraded_after_ms: Option<u32>,
    /// Repeat the DOWN alert this often while down, 60-604800 s (default off).
    #[schema(minimum = 60, maximum = 604800)]
    pub(in crate::domain) reminder_every: Option<u32>,
    /// The stack the check belongs to (set by the path inside `PUT /stacks/{stack}`).
    pub(in crate::domain) stack: Option<StackName>,
    /// Labels for filtering, e.g. `env:prod`; order and duplicates do not matter.
    #[schema(required = false, max_items = 32)]
    pub(in crate::domain) tags: Vec<Tag>,
    /// A free-text name to show beside the check's name, 1-255 characters without control
    /// characters (e.g. `Acme :: readiness`, as StatusCake names checks).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]+$"
    )]
    pub(in crate::domain) display_name: Option<String>,
    /// Where the check is probed from: the server's `[monitor] location` and agents'
    /// locations; left out or `null` means the server's own. Not for heartbeats.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 16)]
    pub(in crate::domain) locations: Option<Vec<LocationName>>,
    /// How many of `locations` must confirm DOWN for the check to be DOWN; left out or
    /// `null` means a majority of them.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 16)]
    pub(in crate::domain) quorum: Option<u32>,
    /// Confirmed changes between UP and DOWN within `flap_window` beyond which the check
    /// is flapping: one `flapping` alert, then none until it is stable; 2-1000, left out
    /// or `null` means 4.
    #[serde(default)]
    #[schema(minimum = 2, maximum = 1000)]
    pub(in crate::domain) flap_threshold: Option<u32>,
    /// Seconds flapping is counted over, and how long a flapping check must go without a
    /// change to be stable again; 60-86400, left out or `null` means 1800.
    #[serde(default)]
    #[schema(minimum = 60, maximum = 86400)]
    pub(in crate::domain) flap_window: Option<u32>,
    /// Minutes an outage may go unacknowledged and unrecovered before `escalate_to` is
    /// alerted too, once; 1-10080, with `escalate_to` (default off).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10080)]
    pub(in crate::domain) escalate_after: Option<u32>,
    /// Notifier names an escalation alerts, 1-16, with `escalate_after`.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 16)]
    pub(in crate::domain) escalate_to: Option<Vec<ContactName>>,
    /// Checks this one relies on, by name, in any stack (up to 16; a cycle is refused).
    /// While one of them is DOWN or being confirmed, this check's outage is `impacted`:
    /// listed in that check's alert instead of alerted on its own. Checks of one host
    /// rely on each other without naming (see the README).
    #[serde(default)]
    #[schema(required = false, max_items = 16)]
    pub(in crate::domain) depends_on: Vec<CheckName>,
}

/// The validated configuration of one check, in memory: the fields every check uses
/// inline, those most checks leave out (display name, locations, quorum, flapping,
/// escalation, dependencies, reminders, the slow bound) boxed apart, absent when all are
/// empty, so each of a million checks in memory holds a pointer for them instead of some
/// 140 bytes. Written and read as [`CheckFields`].
#[derive(Debug, Clone, Eq, Serialize, Deserialize)]
#[serde(from = "CheckFields", into = "CheckFields")]
pub struct CheckSpec {
    pub(in crate::domain) target: Target,
    pub(in crate::domain) check_rate: u32,
    pub(in crate::domain) timeout: u32,
    pub(in crate::domain) failures_to_confirm: u32,
    pub(in crate::domain) successes_to_recover: u32,
    pub(in crate::domain) retry_interval: u32,
    pub(in crate::domain) contacts: Option<Vec<ContactName>>,
    pub(in crate::domain) stack: Option<StackName>,
    pub(in crate::domain) tags: Vec<Tag>,
    /// `None` when every field of it is empty (as read, a spec without any has none).
    pub(in crate::domain) more: Option<Box<SpecMore>>,
}

/// When a check is flapping: more than `threshold` confirmed changes within `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlapRule {
    pub threshold: u32,
    pub window_ms: i64,
}

/// What a check's names must refer to: the configured contacts and the known locations.
#[derive(Debug, Clone, Copy)]
pub struct Registry<'a> {
    pub contacts: &'a BTreeSet<String>,
    pub locations: &'a BTreeSet<String>,
    /// Which RDAP services answer: a domain check's TLD must have one.
    pub rdap: &'a super::RdapDirectory,
}

impl CheckSpec {
    /// What to probe.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Seconds between probes.
    pub fn check_rate(&self) -> u32 {
        self.check_rate
    }

    /// Seconds one probe may take in all.
    pub fn timeout(&self) -> u32 {
        self.timeout
    }

    /// Consecutive failures before DOWN, as configured (see [`Self::thresholds`]).
    pub fn failures_to_confirm(&self) -> u32 {
        self.failures_to_confirm
    }

    /// Consecutive successes before UP, as configured (see [`Self::thresholds`]).
    pub fn successes_to_recover(&self) -> u32 {
        self.successes_to_recover
    }

    /// Seconds before re-probing an unconfirmed failure.
    pub fn retry_interval(&self) -> u32 {
        self.retry_interval
    }

    /// The contacts named (`None`: the configured defaults; empty: nobody).
    pub fn contacts(&self) -> Option<&[ContactName]> {
        self.contacts.as_deref()
    }

    /// Milliseconds beyond which an answer is slow, when set.
    pub fn degraded_after_ms(&self) -> Option<u32> {
        self.more().degraded_after_ms
    }

    /// How `outcome` compares with the check's `degraded_after_ms`.
    pub fn speed_of(&self, outcome: &super::Outcome) -> Speed {
        if !outcome.is_up() {
            Speed::Failed
        } else if self
            .more()
            .degraded_after_ms
            .is_some_and(|ms| outcome.timings.total_ms > ms)
        {
            Speed::Slow
        } else {
            Speed::Fast
        }
    }

    /// Seconds between DOWN reminders, when set.
    pub fn reminder_every(&self) -> Option<u32> {
        self.more().reminder_every
    }

    pub fn stack(&self) -> Option<&StackName> {
        self.stack.as_ref()
    }

    pub fn tags(&self) -> &[Tag] {
        &self.tags
    }

    pub fn display_name(&self) -> Option<&str> {
        self.more().display_name.as_deref()
    }

    /// The locations named (`None`: the server's own).
    pub fn locations(&self) -> Option<&[LocationName]> {
        self.more().locations.as_deref()
    }

    /// The flapping rule, defaults applied.
    pub fn flap_rule(&self) -> FlapRule {
        FlapRule {
            threshold: self
                .more()
                .flap_threshold
                .unwrap_or(limits::FLAP_THRESHOLD.default),
            window_ms: i64::from(
                self.more()
                    .flap_window
                    .unwrap_or(limits::FLAP_WINDOW.default),
            ) * 1_000,
        }
    }

    /// After how many minutes an unacknowledged outage alerts whom too, when set.
    pub fn escalation(&self) -> Option<(u32, &[ContactName])> {
        self.more()
            .escalate_after
            .zip(self.more().escalate_to.as_deref())
    }

    /// The checks this one names as what it relies on.
    pub fn depends_on(&self) -> &[CheckName] {
        &self.more().depends_on
    }

    /// The flapping fields as configured (`None`: the defaults).
    pub fn flap_fields(&self) -> (Option<u32>, Option<u32>) {
        (self.more().flap_threshold, self.more().flap_window)
    }

    /// The quorum as configured (`None`: a majority).
    pub fn quorum(&self) -> Option<u32> {
        self.more().quorum
    }

    /// Where the check is probed from, `own` standing for the server's location, and how
    /// many of them must confirm DOWN.
    pub fn quorum_at<'a>(&'a self, own: &'a LocationName) -> Quorum<'a> {
        let locations = self
            .more()
            .locations
            .as_deref()
            .unwrap_or(std::slice::from_ref(own));
        Quorum {
            locations,
            needed: self
                .more()
                .quorum
                .unwrap_or_else(|| majority(locations.len())),
        }
    }

    /// Whether more than the server's own location probes this check: its locations'
    /// votes decide its health.
    pub fn is_voted(&self, own: &LocationName) -> bool {
        self.more()
            .locations
            .as_deref()
            .is_some_and(|l| l != std::slice::from_ref(own))
    }

    /// Whether `location` probes this check (`own`: the server's location).
    pub fn probed_from(&self, location: &LocationName, own: &LocationName) -> bool {
        match &self.more().locations {
            None => location == own,
            Some(list) => list.contains(location),
        }
    }

    /// This spec in `stack` (the stack a body is sent to decides it).
    pub fn in_stack(mut self, stack: Option<StackName>) -> Self {
        self.stack = stack;
        self
    }

    /// This spec with `timeout_s` seconds per probe, held within the field's bounds.
    pub fn with_timeout(mut self, timeout_s: u32) -> Self {
        self.timeout = timeout_s.clamp(limits::TIMEOUT.min, limits::TIMEOUT.max);
        self
    }
}

impl CheckSpec {
    /// Whether the check is a heartbeat (pinged by a job, never probed): the one place
    /// that asks.
    pub fn is_heartbeat(&self) -> bool {
        matches!(self.target, Target::Heartbeat(_))
    }

    /// How many days ahead what the check watches expiring is warned of, and with which
    /// alert: an HTTP check's certificate (`cert_expiry_days`, 0 = never), a domain
    /// check's registration.
    pub fn expiry_warning(&self) -> Option<(u32, super::AlertKind)> {
        match &self.target {
            Target::Http(http) => (http.cert_expiry_days > 0)
                .then_some((http.cert_expiry_days, super::AlertKind::CertExpiring)),
            Target::Domain(domain) => {
                Some((domain.expiry_days(), super::AlertKind::DomainExpiring))
            }
            _ => None,
        }
    }

    /// Whether the check watches a domain's registration (looked up daily through RDAP).
    pub fn is_domain(&self) -> bool {
        matches!(self.target, Target::Domain(_))
    }

    /// The confirmation rule. A heartbeat's grace is its confirmation: one late or failed
    /// ping makes it DOWN, one ping makes it UP; a registry's answer about a domain is
    /// final too.
    pub fn thresholds(&self) -> Thresholds {
        if self.is_heartbeat() || self.is_domain() {
            return Thresholds {
                failures_to_confirm: 1,
                successes_to_recover: 1,
            };
        }
        Thresholds {
            failures_to_confirm: self.failures_to_confirm,
            successes_to_recover: self.successes_to_recover,
        }
    }

    /// How often the check is probed: its rate and retry interval; a heartbeat is due when
    /// its deadline passes (a ping moves it: see the scheduler's `heartbeat`).
    pub fn cadence(&self) -> Cadence {
        if let Target::Heartbeat(beat) = &self.target {
            let deadline_ms = beat.deadline_s() * 1_000;
            return Cadence {
                rate_ms: deadline_ms,
                retry_ms: deadline_ms,
            };
        }
        Cadence {
            rate_ms: u64::from(self.check_rate) * 1_000,
            retry_ms: u64::from(self.retry_interval) * 1_000,
        }
    }

    /// Whether every result rewrites the stored state, changed or not: a heartbeat's state
    /// row keeps its last ping, which a restart waits from.
    pub fn states_every_result(&self) -> bool {
        self.is_heartbeat()
    }

    /// An HTTP GET of `url` with every other field at its default.
    pub fn with_defaults(url: ProbeUrl) -> Self {
        Self::of(Target::Http(Box::new(HttpTarget::get(url))))
    }

    /// A check of `target` with every common field at its default.
    pub fn of(target: Target) -> Self {
        Self {
            target,
            check_rate: limits::CHECK_RATE.default,
            timeout: limits::TIMEOUT.default,
            failures_to_confirm: limits::FAILURES_TO_CONFIRM.default,
            successes_to_recover: limits::SUCCESSES_TO_RECOVER.default,
            retry_interval: limits::RETRY_INTERVAL.default,
            contacts: None,
            stack: None,
            tags: Vec::new(),
            more: None,
        }
    }

    /// The HTTP fields, for an HTTP check.
    pub fn http(&self) -> Option<&HttpTarget> {
        match &self.target {
            Target::Http(http) => Some(http),
            _ => None,
        }
    }

    /// The HTTP fields, to change them, for an HTTP check.
    pub(in crate::domain) fn http_mut(&mut self) -> Option<&mut HttpTarget> {
        match &mut self.target {
            Target::Http(http) => Some(http),
            _ => None,
        }
    }

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

/// A stored check: its identity, its configuration and when it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub id: CheckId,
    pub name: CheckName,
    pub spec: CheckSpec,
    /// A heartbeat's secret ping key (128 random bits, hex), kept across updates.
    pub ping_key: Option<Box<str>>,
    /// Not probed and not alerting while true.
    pub paused: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Method;

    fn fields(errors: &FieldErrors) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    /// Reads `body` as the API does, with the shipped RDAP directory.
    fn read(body: serde_json::Value) -> Result<CheckSpec, FieldErrors> {
        let serde_json::Value::Object(fields) = body else {
            panic!("not an object");
        };
        let (contacts, locations) = (BTreeSet::new(), BTreeSet::new());
        let rdap = crate::domain::RdapDirectory::shipped();
        let known = Registry {
            contacts: &contacts,
            locations: &locations,
            rdap: &rdap,
        };
        let mut form = Form::new(fields);
        let spec = CheckSpec::read(&mut form, Some(known));
        form.finish(spec)
    }

    #[test]
    fn a_domain_check_is_looked_up_daily_and_only_where_rdap_answers() {
        let spec = read(serde_json::json!({"kind": "domain", "domain": "Acme.COM"})).unwrap();
        assert_eq!(spec.check_rate(), 86_400, "its own default rate");
        assert_eq!(spec.cadence().rate_ms, 86_400_000);
        assert_eq!(
            spec.thresholds(),
            Thresholds {
                failures_to_confirm: 1,
                successes_to_recover: 1
            },
            "a registry's answer is final"
        );
        let written = serde_json::to_string(&spec).unwrap();
        assert!(
            written.starts_with("{\"kind\":\"domain\",\"domain\":\"acme.com\""),
            "the store finds domain checks by this prefix: {written}"
        );
        let refused = |body: serde_json::Value| {
            read(body)
                .unwrap_err()
                .into_iter()
                .map(|e| (e.field, e.reason))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            refused(serde_json::json!({"kind": "domain", "domain": "shop.de"})),
            [(
                "domain".to_owned(),
                ".de has no RDAP service in IANA's bootstrap file (published 2025-11-06), so \
                 the expiry of shop.de cannot be read"
                    .to_owned()
            )]
        );
        for (body, field) in [
            (
                serde_json::json!({"kind": "domain", "domain": "acme.com", "check_rate": 60}),
                "check_rate",
            ),
            (
                serde_json::json!({"kind": "domain", "domain": "acme.com", "locations": []}),
                "locations",
            ),
            (
                serde_json::json!({"kind": "domain", "domain": "192.0.2.1"}),
                "domain",
            ),
            (
                serde_json::json!({"kind": "domain", "domain": "acme.com", "domain_expiry_days": 0}),
                "domain_expiry_days",
            ),
            (
                serde_json::json!({"kind": "domain", "domain": "acme.com", "degraded_after_ms": 100}),
                "degraded_after_ms",
            ),
            (
                serde_json::json!({"kind": "domain", "domain": "acme.com", "url": "http://acme.com/"}),
                "url",
            ),
        ] {
            let errors = refused(body.clone());
            assert_eq!(errors.len(), 1, "{body}: {errors:?}");
            assert_eq!(errors[0].0, field, "{body}");
        }
    }

    #[test]
    fn defaults_have_no_relation_errors() {
        assert!(
            CheckSpec::with_defaults("http://127.0.0.1/".parse().unwrap())
                .relation_errors()
                .is_empty()
        );
    }

    #[test]
    fn relation_errors_name_each_field() {
        let mut spec = CheckSpec::with_defaults("http://127.0.0.1/".parse().unwrap());
        spec.retry_interval = 61;
        let more = spec.http_mut().unwrap().more_mut();
        more.body = Some("x".into());
        more.max_response_time_ms = Some(10_000);
        more.body_contains = Some("ok".into());
        more.body_not_contains = Some("ok".into());
        assert_eq!(
            fields(&spec.relation_errors()),
            vec![
                "body",
                "max_response_time_ms",
                "body_not_contains",
                "retry_interval"
            ]
        );
        spec.retry_interval = 60;
        let http = spec.http_mut().unwrap();
        http.method = Method::Post;
        let more = http.more_mut();
        more.max_response_time_ms = Some(9_999);
        more.body_not_contains = None;
        assert!(spec.relation_errors().is_empty());
    }
}
