//! What the API answers with: checks as JSON documents (secrets redacted), with their
//! state and last result when read, and the envelopes of each write.

use std::borrow::Cow;

use serde::Serialize;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::check_schema::{referenced_schemas, view_schema};
use crate::domain::{Check, CheckSpec, MaintenanceWindow, Target, Timestamp, Viewer};
use crate::store::{LiveCheck, ResultRow, StackSync};

/// A stored check, as every read and write answers it: its name, `kind` and the fields of
/// that kind beside the common ones (the domain's own form, defaults filled in), with
/// credentials redacted.
#[derive(Debug, Serialize)]
pub struct CheckView {
    pub name: String,
    #[serde(flatten)]
    pub spec: CheckSpec,
    /// heartbeat: where the job pings (`/ping/KEY`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ping_url: Option<String>,
    pub paused: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; changes only when the check changed.
    pub updated_at: String,
}

impl PartialSchema for CheckView {
    fn schema() -> RefOr<Schema> {
        view_schema()
    }
}

impl ToSchema for CheckView {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("CheckView")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        referenced_schemas(schemas);
    }
}

impl CheckView {
    /// `check` as `viewer` may see it (the one rule: [`Check::shown_to`]).
    pub fn new(check: &Check, viewer: Viewer) -> Self {
        let check = check.shown_to(viewer);
        let ping_url = match &check.spec.target() {
            Target::Heartbeat(_) => check.ping_key.as_ref().map(|k| format!("/ping/{k}")),
            _ => None,
        };
        Self {
            name: check.name.to_string(),
            spec: check.spec,
            ping_url,
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
    pub checks: Vec<CheckStatusView>,
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
    pub checks: Vec<CheckStatusView>,
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

/// Only an admin writes a stack, so the answer is an admin's view.
impl From<StackSync> for StackChange {
    fn from(sync: StackSync) -> Self {
        let names = |v: Vec<_>| v.into_iter().map(String::from).collect();
        Self {
            changed: sync.changed(),
            created: names(sync.created),
            updated: names(sync.updated),
            deleted: names(sync.deleted),
            unchanged: names(sync.unchanged),
            checks: sync
                .checks
                .iter()
                .map(|c| CheckView::new(c, Viewer::Admin))
                .collect(),
            status_page: sync.status_page,
        }
    }
}

/// One probe result.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultView {
    /// When the probe started (RFC 3339).
    pub at: String,
    /// The location that probed (`[monitor] location` for the server's own probes).
    pub location: String,
    pub up: bool,
    /// HTTP status of the final response, when one came.
    pub status: Option<i64>,
    pub dns_ms: Option<i64>,
    pub connect_ms: Option<i64>,
    pub tls_ms: Option<i64>,
    pub ttfb_ms: Option<i64>,
    pub total_ms: i64,
    /// Why the probe failed, in plain words; `null` when up.
    pub error: Option<String>,
    /// icmp: echo requests that got no reply (the average round trip is `connect_ms`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<i64>,
}

impl From<&ResultRow> for ResultView {
    fn from(r: &ResultRow) -> Self {
        Self {
            at: Timestamp(r.at).to_rfc3339(),
            location: r.location.clone(),
            up: r.up(),
            status: r.status,
            dns_ms: r.dns_ms,
            connect_ms: r.connect_ms,
            tls_ms: r.tls_ms,
            ttfb_ms: r.ttfb_ms,
            total_ms: r.total_ms,
            error: r.error.clone(),
            lost: r.lost,
        }
    }
}

/// A check with what is known of its target.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckStatusView {
    #[serde(flatten)]
    pub check: CheckView,
    /// `up`, `down`, `degraded` (up, but slower than its `degraded_after_ms`), `unknown`
    /// (not confirmed yet), `new` (a heartbeat never pinged), `paused`, or `maintenance` (a
    /// window is open: probed and recorded, no alerts).
    pub state: String,
    /// When `state` last changed (RFC 3339).
    pub state_since: String,
    /// When the target's TLS certificate expires, for https checks.
    pub cert_expires_at: Option<String>,
    pub last_result: Option<ResultView>,
    /// While `down`: the check whose outage explains this one's (a check it relies on,
    /// named or on the same host), in whose alert it was listed instead of alerting on its
    /// own; `null` otherwise.
    pub impacted_by: Option<String>,
    /// For a check probed from several locations: each one's own verdict.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub location_states: Vec<LocationStateView>,
}

/// One location's verdict on a check probed from several.
#[derive(Debug, Serialize, ToSchema)]
pub struct LocationStateView {
    pub location: String,
    /// `up`, `down` or `unknown` (not confirmed yet).
    pub state: String,
    /// When `state` last changed (RFC 3339).
    pub since: String,
    /// Failures in a row at this location now (counted up to the check's confirmation).
    pub failures: u32,
    /// Why its last probe failed; `null` after a success.
    pub cause: Option<String>,
}

impl CheckStatusView {
    /// `live` as `viewer` may see it, in the state it is shown in at `now`.
    pub fn new(
        live: &LiveCheck,
        windows: &[MaintenanceWindow],
        now: Timestamp,
        viewer: Viewer,
    ) -> Self {
        Self {
            state: live.shown(windows, now).word().to_owned(),
            state_since: live.since().to_rfc3339(),
            cert_expires_at: live
                .state
                .as_ref()
                .and_then(|s| s.cert_not_after)
                .map(Timestamp::to_rfc3339),
            last_result: live.last.as_ref().map(ResultView::from),
            impacted_by: live
                .state
                .as_ref()
                .and_then(|s| s.memory.impacted_by.as_ref())
                .map(ToString::to_string),
            location_states: live
                .state
                .iter()
                .flat_map(|s| s.votes.iter())
                .map(|(location, vote)| LocationStateView {
                    location: location.to_string(),
                    state: vote.state.health.as_str().to_owned(),
                    since: vote.state.since.to_rfc3339(),
                    failures: vote.state.failures,
                    cause: vote.cause.clone(),
                })
                .collect(),
            check: CheckView::new(&live.check, viewer),
        }
    }
}
