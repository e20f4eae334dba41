//! A check: what to probe, how, what counts as up, and whom to tell. `CheckSpec` is the
//! validated, fully resolved configuration (defaults applied): the one home of a check's
//! fields. The API reads a client's JSON into it (`CheckSpec::read`), answers with its
//! serialised form, and documents it from its schema; the store keeps that same form.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::field::limits;
use super::http_target::HttpTarget;
use super::location::{Quorum, majority};
use super::probe_url::ProbeUrl;
use super::schedule::Cadence;
use super::spec_more::SpecMore;
use super::state::Speed;
use super::target::Target;
use super::{CheckName, ContactName, LocationName, StackName, Tag, Thresholds, Timestamp};

mod fields;
mod read;

pub use fields::CheckFields;

/// Row id of a check in the store; compact key for results and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CheckId(pub i64);

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
mod tests;
