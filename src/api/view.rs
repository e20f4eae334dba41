//! What the API answers with: checks as JSON documents (secrets redacted) and the
//! envelopes of each write.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::check_body::StatusItem;
use crate::domain::{Check, Target};
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

/// A stored check, as every read and write answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckView {
    pub name: String,
    /// The kind of check: `http`.
    pub kind: String,
    pub stack: Option<String>,
    pub tags: Vec<String>,
    pub url: String,
    pub method: String,
    /// Custom headers; credential headers show `<redacted>`.
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    /// The basic-auth user; the password is never shown.
    pub basic_auth: Option<BasicAuthView>,
    pub check_rate: u32,
    pub timeout: u32,
    pub expected_status: Vec<StatusItem>,
    pub body_contains: Option<String>,
    pub body_not_contains: Option<String>,
    pub max_response_time_ms: Option<u32>,
    pub follow_redirects: bool,
    pub verify_tls: bool,
    pub cert_expiry_days: u32,
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
#[derive(Debug, Serialize, ToSchema)]
pub struct BasicAuthView {
    pub username: String,
}

fn strings<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

impl From<&Check> for CheckView {
    fn from(check: &Check) -> Self {
        let spec = &check.spec;
        let Target::Http(http) = &spec.target;
        Self {
            name: check.name.to_string(),
            kind: spec.target.kind().to_owned(),
            stack: spec.stack.as_ref().map(ToString::to_string),
            tags: strings(&spec.tags),
            url: http.url.clone(),
            method: http.method.as_str().to_owned(),
            headers: http
                .headers
                .iter()
                .map(|(k, v)| {
                    let shown = if SECRET_HEADERS.contains(&k.as_str()) {
                        REDACTED
                    } else {
                        v
                    };
                    (k.clone(), shown.to_owned())
                })
                .collect(),
            body: http.body.clone(),
            basic_auth: http.basic_auth.as_ref().map(|b| BasicAuthView {
                username: b.username.clone(),
            }),
            check_rate: spec.check_rate,
            timeout: spec.timeout,
            expected_status: http
                .expected_status
                .ranges()
                .iter()
                .map(|r| (*r).into())
                .collect(),
            body_contains: http.body_contains.clone(),
            body_not_contains: http.body_not_contains.clone(),
            max_response_time_ms: http.max_response_time_ms,
            follow_redirects: http.follow_redirects,
            verify_tls: http.verify_tls,
            cert_expiry_days: http.cert_expiry_days,
            failures_to_confirm: spec.failures_to_confirm,
            successes_to_recover: spec.successes_to_recover,
            retry_interval: spec.retry_interval,
            contacts: spec.contacts.as_deref().map(strings),
            reminder_every: spec.reminder_every,
            paused: check.paused,
            created_at: check.created_at.to_rfc3339(),
            updated_at: check.updated_at.to_rfc3339(),
        }
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
