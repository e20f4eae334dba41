//! What the API answers with: checks as JSON documents (secrets redacted) and the
//! envelopes of each write.

use std::borrow::Cow;

use serde::Serialize;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::check_schema::{referenced_schemas, view_schema};
use crate::domain::{Check, CheckSpec, Target, Viewer};
use crate::store::StackSync;

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
        let ping_url = match &check.spec.target {
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
    pub checks: Vec<super::status::CheckStatusView>,
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
    pub checks: Vec<super::status::CheckStatusView>,
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
