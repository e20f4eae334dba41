//! The written form of a check's configuration: every field, each time, with its schema.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::target::Target;
use crate::domain::{CheckName, ContactName, LocationName, StackName, Tag};

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
