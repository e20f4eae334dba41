//! The body of `POST /api/v1/maintenance` as it is read, and its OpenAPI schema: one shape
//! per scope and timing.

use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{OneOfBuilder, Schema};

/// Longest window, one-off or recurring: 30 days, in seconds.
pub(super) const MAX_DURATION_S: u32 = 30 * 86_400;

/// A new maintenance window. One-off: `ends_at` or `duration` (from `starts_at`, default
/// now). Recurring: `cron` (5 fields, or 6 with seconds) + `duration` + `timezone`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceBody {
    /// `all`, `stack`, `tag` or `check`.
    pub scope: String,
    /// The stack, tag or check name; left out for `all`.
    pub target: Option<String>,
    /// RFC 3339; default now (one-off only).
    pub starts_at: Option<String>,
    /// RFC 3339 (one-off only).
    pub ends_at: Option<String>,
    /// Seconds the window stays open, 1-2592000.
    pub duration: Option<u32>,
    /// Cron expression for a recurring window, e.g. `0 2 * * Sun`.
    pub cron: Option<String>,
    /// IANA time zone of `cron`, e.g. `Europe/Paris` (default UTC).
    pub timezone: Option<String>,
    /// Why: shown in listings.
    pub reason: Option<String>,
    /// Announce the window on the status pages of the stacks it covers (default false).
    pub public: Option<bool>,
}

impl utoipa::PartialSchema for MaintenanceBody {
    /// One shape per scope (all, or a named stack, tag or check) and timing (until
    /// `ends_at`, for `duration`, or recurring by `cron`); a field a shape does not take may
    /// still be `null`, read as left out.
    fn schema() -> RefOr<Schema> {
        use serde_json::json;
        let optional = |schema: serde_json::Value| {
            let mut schema = schema;
            schema["type"] = json!([schema["type"].clone(), "null"]);
            schema
        };
        let time = json!({"type": "string", "format": "date-time",
            "description": "RFC 3339; a one-off window must end in the future, after it starts."});
        let duration = json!({"type": "integer", "minimum": 1, "maximum": MAX_DURATION_S,
            "description": "Seconds the window stays open."});
        let nothing = json!({"type": "null"});
        let timings = [
            (
                "until ends_at",
                json!({"starts_at": optional(time.clone()), "ends_at": time.clone(),
                "duration": nothing, "cron": nothing}),
                vec!["ends_at"],
            ),
            (
                "for a duration",
                json!({"starts_at": optional(time.clone()), "duration": duration,
                "ends_at": nothing, "cron": nothing}),
                vec!["duration"],
            ),
            (
                "recurring",
                json!({"cron": {"type": "string",
                    "description": "Cron expression, 5 fields or 6 with seconds, e.g. `0 2 * * Sun`."},
                "duration": duration, "timezone": optional(json!({"type": "string",
                    "description": "IANA time zone of `cron`, e.g. `Europe/Paris` (default UTC)."})),
                "starts_at": optional(json!({"type": "string", "format": "date-time",
                    "description": "RFC 3339; no occurrence starts before it (default: from now)."})),
                "ends_at": nothing}),
                vec!["cron", "duration"],
            ),
        ];
        let scopes = [
            (
                "all",
                json!({"scope": {"type": "string", "enum": ["all"]}, "target": nothing}),
                vec!["scope"],
            ),
            (
                "named",
                json!({"scope": {"type": "string", "enum": ["stack", "tag", "check"]},
                "target": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._:=-]{0,127}$",
                    "description": "The stack, tag or check name."}}),
                vec!["scope", "target"],
            ),
        ];
        let mut shapes = OneOfBuilder::new().description(Some(
            "A new maintenance window: one-off (`ends_at`, or `duration` from `starts_at`, \
             default now) or recurring (`cron` + `duration` + `timezone`, from `starts_at` if given), over every check, \
             a stack, a tag or one check.",
        ));
        for (scope_name, scope, scope_required) in &scopes {
            for (timing_name, timing, timing_required) in &timings {
                let mut properties = scope.clone();
                for (field, schema) in timing.as_object().into_iter().flatten() {
                    properties[field] = schema.clone();
                }
                properties["reason"] = json!({"type": ["string", "null"], "maxLength": 500,
                    "description": "Why: shown in listings, and on status pages when public (at most 500 bytes)."});
                properties["public"] = json!({"type": ["boolean", "null"],
                    "description": "Announce the window on the status pages of the stacks it covers, ahead of time and while open (default false)."});
                let required: Vec<&&str> = scope_required.iter().chain(timing_required).collect();
                let shape = json!({"type": "object", "title": format!("{scope_name}, {timing_name}"),
                    "properties": properties, "required": required,
                    "additionalProperties": false});
                match serde_json::from_value::<Schema>(shape) {
                    Ok(shape) => shapes = shapes.item(shape),
                    Err(e) => {
                        tracing::error!(error = %e, "a maintenance body shape is not a schema")
                    }
                }
            }
        }
        shapes
            .examples([
                json!({"scope": "stack", "target": "acme", "duration": 3600,
                    "reason": "database upgrade", "public": true}),
                json!({"scope": "tag", "target": "env:staging", "cron": "0 2 * * Sun",
                    "duration": 7200, "timezone": "Europe/Paris"}),
                json!({"scope": "all", "starts_at": "2030-01-05T02:00:00Z",
                    "ends_at": "2030-01-05T03:00:00Z"}),
            ])
            .into()
    }
}

impl ToSchema for MaintenanceBody {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("MaintenanceBody")
    }
}
