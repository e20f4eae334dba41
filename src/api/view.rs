//! What the API answers with: checks as JSON documents (secrets redacted) and the
//! envelopes of each write.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::check_body::{Expect, StatusItem};
use crate::domain::{Check, HttpTarget, Target};
use crate::store::StackSync;

/// Header names whose values are credentials; answers show them redacted.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "proxy-authorization",
    "x-api-key",
    "x-auth-token",
];

/// The placeholder shown instead of a secret value.
pub const REDACTED: &str = "<redacted>";

/// A stored check, as every read and write answers it: the common fields, `kind`, and
/// the fields of that kind (the others are left out).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct CheckView {
    pub name: String,
    /// The kind of check: `http`, `tcp`, `smtp`, `ssh`, `dns`, `icmp` or `heartbeat`.
    pub kind: String,
    pub stack: Option<String>,
    pub tags: Vec<String>,
    /// http
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// http
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// http: custom headers; credential headers show `<redacted>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// http
    pub body: Option<String>,
    /// http: the basic-auth user; the password is never shown.
    pub basic_auth: Option<BasicAuthView>,
    pub check_rate: u32,
    pub timeout: u32,
    /// http
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_status: Option<Vec<StatusItem>>,
    /// http
    pub body_contains: Option<String>,
    /// http
    pub body_not_contains: Option<String>,
    /// http
    pub max_response_time_ms: Option<u32>,
    /// http
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_redirects: Option<bool>,
    /// http
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_tls: Option<bool>,
    /// http
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_expiry_days: Option<u32>,
    /// tcp, smtp, ssh
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// tcp, smtp, ssh
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// tcp: text sent once connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// tcp: text the server's first bytes must contain; dns: the values the answer holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    /// icmp: echo requests sent per probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets: Option<u8>,
    /// dns: the record type asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// dns: the nameserver asked (`null`: the system's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nameserver: Option<String>,
    /// heartbeat: seconds expected between two pings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    /// heartbeat: seconds a ping may be late.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace: Option<u32>,
    /// heartbeat: where the job pings, relative to stackwatch's address (`/ping/KEY`;
    /// `/fail` and `/start` appended for those).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ping_url: Option<String>,
    pub failures_to_confirm: u32,
    pub successes_to_recover: u32,
    pub retry_interval: u32,
    /// `null`: the configured default contacts.
    pub contacts: Option<Vec<String>>,
    pub reminder_every: Option<u32>,
    pub paused: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; changes only when the check changed.
    pub updated_at: String,
}

/// Basic-auth settings as shown: the user only.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct BasicAuthView {
    pub username: String,
}

fn strings<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

impl From<&Check> for CheckView {
    fn from(check: &Check) -> Self {
        let spec = &check.spec;
        let mut view = Self {
            name: check.name.to_string(),
            kind: spec.target.kind().to_owned(),
            stack: spec.stack.as_ref().map(ToString::to_string),
            tags: strings(&spec.tags),
            check_rate: spec.check_rate,
            timeout: spec.timeout,
            failures_to_confirm: spec.failures_to_confirm,
            successes_to_recover: spec.successes_to_recover,
            retry_interval: spec.retry_interval,
            contacts: spec.contacts.as_deref().map(strings),
            reminder_every: spec.reminder_every,
            paused: check.paused,
            created_at: check.created_at.to_rfc3339(),
            updated_at: check.updated_at.to_rfc3339(),
            ..Self::default()
        };
        match &spec.target {
            Target::Http(http) => view.show_http(http),
            Target::Tcp(t) => {
                view.host = Some(t.host.clone());
                view.port = Some(t.port);
                view.send = t.send.clone();
                view.expect = t.expect.clone().map(Expect::Text);
            }
            Target::Smtp(t) | Target::Ssh(t) => {
                view.host = Some(t.host.clone());
                view.port = Some(t.port);
            }
            Target::Icmp(i) => {
                view.host = Some(i.host.clone());
                view.packets = Some(i.packets);
            }
            Target::Dns(d) => {
                view.host = Some(d.host.clone());
                view.record_type = Some(d.record_type.as_str().to_owned());
                view.expect = Some(Expect::List(d.expect.clone()));
                view.nameserver = d.nameserver.map(|n| n.to_string());
            }
            Target::Heartbeat(h) => {
                view.period = Some(h.period);
                view.grace = Some(h.grace);
                view.ping_url = check.ping_key.as_ref().map(|k| format!("/ping/{k}"));
            }
        }
        view
    }
}

impl CheckView {
    fn show_http(&mut self, http: &HttpTarget) {
        self.url = Some(http.url.clone());
        self.method = Some(http.method.as_str().to_owned());
        let shown = |(k, v): (&String, &String)| {
            let value = if SECRET_HEADERS.contains(&k.as_str()) {
                REDACTED
            } else {
                v
            };
            (k.clone(), value.to_owned())
        };
        self.headers = Some(http.headers.iter().map(shown).collect());
        self.body = http.body.clone();
        self.basic_auth = http.basic_auth.as_ref().map(|b| BasicAuthView {
            username: b.username.clone(),
        });
        let ranges = http.expected_status.ranges().iter();
        self.expected_status = Some(ranges.map(|r| (*r).into()).collect());
        self.body_contains = http.body_contains.clone();
        self.body_not_contains = http.body_not_contains.clone();
        self.max_response_time_ms = http.max_response_time_ms;
        self.follow_redirects = Some(http.follow_redirects);
        self.verify_tls = Some(http.verify_tls);
        self.cert_expiry_days = Some(http.cert_expiry_days);
    }
}

/// The answer to a write of one check.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckChange {
    /// Whether anything was written.
    pub changed: bool,
    pub check: CheckView,
}

/// A page of checks.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckPage {
    pub checks: Vec<CheckView>,
    /// Pass as `after` to get the next page; `null` on the last page.
    pub next_after: Option<String>,
}

/// The answer to a delete.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    /// Whether something existed and was deleted.
    pub changed: bool,
    /// Names of the deleted checks.
    pub deleted: Vec<String>,
}

/// A stack and its checks.
#[derive(Debug, Serialize, ToSchema)]
pub struct StackView {
    pub stack: String,
    pub checks: Vec<CheckView>,
}

/// The answer to `PUT /stacks/{stack}`: what changed, by check name.
#[derive(Debug, Serialize, ToSchema)]
pub struct StackChange {
    pub changed: bool,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub deleted: Vec<String>,
    pub unchanged: Vec<String>,
    /// The stack's checks after the change (or as they would be, in a dry run).
    pub checks: Vec<CheckView>,
    /// Whether the stack's public status page (`/status/{stack}`) is published by the
    /// stack's own setting.
    pub status_page: bool,
}

impl From<StackSync> for StackChange {
    fn from(sync: StackSync) -> Self {
        let names = |v: Vec<_>| v.into_iter().map(String::from).collect();
        Self {
            changed: sync.changed(),
            created: names(sync.created),
            updated: names(sync.updated),
            deleted: names(sync.deleted),
            unchanged: names(sync.unchanged),
            checks: sync.checks.iter().map(CheckView::from).collect(),
            status_page: sync.status_page,
        }
    }
}
