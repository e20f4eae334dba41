//! The check as clients write it (`CheckBody`) and its parsing into the domain's `CheckSpec`:
//! defaults applied, every field checked, every problem reported at once.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::target_body::{KINDS, SocketFields, parse_dns, parse_heartbeat, parse_icmp, refuse};
use crate::domain::{
    CheckName, CheckSpec, ContactName, FieldError, FieldErrors, HttpTarget, StackName, StatusRange,
    Tag, Target, limits,
};
use crate::store::CheckWrite;

/// A check's fields as sent to `PUT /checks/{name}` or inside `PUT /stacks/{stack}`.
/// Every field but `url` is optional and takes its default when left out; unknown fields
/// are rejected. Durations are whole seconds.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    /// What kind of check: `http` (the default; `method: HEAD` is StatusCake's HEAD),
    /// `tcp`, `smtp`, `ssh`, `dns`, `icmp` (StatusCake's PING) or `heartbeat`.
    #[schema(pattern = "^(http|tcp|smtp|ssh|dns|icmp|heartbeat)$")]
    pub kind: Option<String>,
    /// tcp, smtp, ssh: the host name or IP address to connect to; dns: the name to look up.
    #[schema(max_length = 253)]
    pub host: Option<String>,
    /// tcp (required), smtp (default 25), ssh (default 22).
    #[schema(minimum = 1, maximum = 65535)]
    pub port: Option<u32>,
    /// tcp: text to send once connected, 1-1024 bytes.
    #[schema(min_length = 1, max_length = 1024)]
    pub send: Option<String>,
    /// tcp: text the server's first bytes must contain (1-1024 bytes); dns: the values the
    /// answer must hold (a list, or one text).
    pub expect: Option<Expect>,
    /// icmp: echo requests sent per probe, 1-10 (default 3); up when any is answered.
    #[schema(minimum = 1, maximum = 10)]
    pub packets: Option<u32>,
    /// dns: `A` (default), `AAAA`, `CNAME`, `MX`, `TXT` or `NS`.
    #[schema(
        pattern = "^([Aa]|[Aa][Aa][Aa][Aa]|[Cc][Nn][Aa][Mm][Ee]|[Mm][Xx]|[Tt][Xx][Tt]|[Nn][Ss])$"
    )]
    pub record_type: Option<String>,
    /// dns: the nameserver to ask, `IP` or `IP:port` (default the system's).
    #[schema(max_length = 64)]
    pub nameserver: Option<String>,
    /// heartbeat (required): seconds expected between two pings, 10-2592000 (30 days).
    #[schema(minimum = 10, maximum = 2592000)]
    pub period: Option<u32>,
    /// heartbeat: seconds a ping may be late before the check is DOWN, 0-2592000 (default 0).
    #[schema(minimum = 0, maximum = 2592000)]
    pub grace: Option<u32>,
    /// The check's name: only inside a stack's `checks` list (elsewhere it is in the path).
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")]
    pub name: Option<String>,
    /// http: the http or https URL to probe (required for http).
    #[schema(
        required = true,
        max_length = 2048,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s@/?#]+([/?#]\\S*)?$"
    )]
    pub url: Option<String>,
    /// GET (default), HEAD, POST or PUT.
    #[schema(pattern = "^([Gg][Ee][Tt]|[Hh][Ee][Aa][Dd]|[Pp][Oo][Ss][Tt]|[Pp][Uu][Tt])$")]
    pub method: Option<String>,
    /// Extra request headers.
    pub headers: Option<BTreeMap<String, String>>,
    /// Request body (POST and PUT only), at most 64 KiB.
    #[schema(max_length = 65536)]
    pub body: Option<String>,
    /// Basic authentication for the probe.
    pub basic_auth: Option<BasicAuthBody>,
    /// Seconds between probes, 10-86400 (default 60).
    #[schema(minimum = 10, maximum = 86400)]
    pub check_rate: Option<u32>,
    /// Seconds one probe may take, 1-75 (default 10).
    #[schema(minimum = 1, maximum = 75)]
    pub timeout: Option<u32>,
    /// Codes and ranges that count as up, e.g. `[200, "300-399"]` (default `["200-399"]`).
    pub expected_status: Option<Vec<StatusItem>>,
    /// The first 64 KiB of the body must contain this text.
    #[schema(min_length = 1, max_length = 1024)]
    pub body_contains: Option<String>,
    /// The first 64 KiB of the body must not contain this text.
    #[schema(min_length = 1, max_length = 1024)]
    pub body_not_contains: Option<String>,
    /// Slower answers count as down, 1-75000 ms, below the timeout (default off).
    #[schema(minimum = 1, maximum = 75000)]
    pub max_response_time_ms: Option<u32>,
    /// Follow up to 10 redirects (default false).
    pub follow_redirects: Option<bool>,
    /// Reject invalid TLS certificates (default true).
    pub verify_tls: Option<bool>,
    /// Warn this many days before the certificate expires, 0-365, 0 = off (default 14).
    #[schema(minimum = 0, maximum = 365)]
    pub cert_expiry_days: Option<u32>,
    /// Consecutive failures before DOWN, 1-10 (default 2).
    #[schema(minimum = 1, maximum = 10)]
    pub failures_to_confirm: Option<u32>,
    /// Consecutive successes before UP, 1-10 (default 1).
    #[schema(minimum = 1, maximum = 10)]
    pub successes_to_recover: Option<u32>,
    /// Seconds before re-probing an unconfirmed failure, 1-3600, at most check_rate (default 10).
    #[schema(minimum = 1, maximum = 3600)]
    pub retry_interval: Option<u32>,
    /// Notifier names to alert; left out or null means the configured default contacts,
    /// `[]` means nobody.
    #[schema(max_items = 16, value_type = Option<Vec<ContactNameSchema>>)]
    pub contacts: Option<Vec<String>>,
    /// Repeat the DOWN alert this often while down, 60-604800 s (default off).
    #[schema(minimum = 60, maximum = 604800)]
    pub reminder_every: Option<u32>,
    /// Pause or resume; left out keeps the current value (false for a new check).
    pub paused: Option<bool>,
    /// The stack the check belongs to (set by the path inside `PUT /stacks/{stack}`).
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,127}$")]
    pub stack: Option<String>,
    /// Labels for filtering, e.g. `env:prod`; order and duplicates do not matter.
    #[schema(max_items = 32, value_type = Option<Vec<TagSchema>>)]
    pub tags: Option<Vec<String>>,
}

/// `expect` as written: one text, or a list of texts (dns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Expect {
    Text(String),
    List(Vec<String>),
}

/// A contact's name as the schema states it.
#[derive(ToSchema)]
#[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
pub struct ContactNameSchema(#[allow(dead_code)] String);

/// A tag as the schema states it.
#[derive(ToSchema)]
#[schema(pattern = "^[a-z0-9][a-z0-9._:=-]{0,63}$")]
pub struct TagSchema(#[allow(dead_code)] String);

/// Basic authentication credentials as written.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthBody {
    pub username: String,
    pub password: String,
}

/// One entry of `expected_status`: a code (`200`) or a code or range as text (`"200-299"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum StatusItem {
    Code(u16),
    Text(String),
}

impl From<StatusRange> for StatusItem {
    fn from(r: StatusRange) -> Self {
        if r.lo == r.hi {
            Self::Code(r.lo)
        } else {
            Self::Text(r.to_string())
        }
    }
}

/// Where a body is being parsed: it decides where the name and the stack come from.
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    /// `PUT /checks/{name}`: the name is in the path; the body may set the stack.
    Single,
    /// `PUT /stacks/{stack}`: the body names the check; the stack is the path's.
    InStack(&'a StackName),
}

impl CheckBody {
    /// Parses a single check's body (no name, no stack from a path) into its spec.
    pub fn into_spec(self) -> Result<CheckSpec, FieldErrors> {
        self.parse(Place::Single, None).map(|(_, write)| write.spec)
    }

    /// Parses the body into a name (inside a stack only) and what to store. With
    /// `known_contacts`, every contact must be one of them.
    pub fn parse(
        mut self,
        place: Place<'_>,
        known_contacts: Option<&BTreeSet<String>>,
    ) -> Result<(Option<CheckName>, CheckWrite), FieldErrors> {
        let mut errors = Vec::new();
        let name = match (place, self.name.take()) {
            (Place::Single, Some(_)) => {
                errors.push(FieldError::new(
                    "name",
                    "is given by the URL path, not the body",
                ));
                None
            }
            (Place::Single, None) => None,
            (Place::InStack(_), None) => {
                errors.push(FieldError::new("name", "is required"));
                None
            }
            (Place::InStack(_), Some(n)) => parse_name("name", n, &mut errors),
        };
        let stack = match (place, self.stack.take()) {
            (Place::InStack(path_stack), Some(s)) if s != path_stack.as_str() => {
                errors.push(FieldError::new(
                    "stack",
                    format!("must be left out or equal the stack in the path ({path_stack})"),
                ));
                None
            }
            (Place::InStack(path_stack), _) => Some(path_stack.clone()),
            (Place::Single, Some(s)) => parse_name("stack", s, &mut errors),
            (Place::Single, None) => None,
        };
        let kind = self.kind.clone().unwrap_or_else(|| "http".to_owned());
        let expect = self.expect.take();
        let packets = self.packets.take();
        let dns_only: Vec<&'static str> = [
            ("record_type", self.record_type.is_some()),
            ("nameserver", self.nameserver.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect();
        let icmp_only: Vec<&'static str> =
            packets.is_some().then_some("packets").into_iter().collect();
        if kind != "icmp" {
            refuse(&kind, &icmp_only, "icmp", &mut errors);
        }
        let socket = SocketFields {
            host: self.host.take(),
            port: self.port.take(),
            send: self.send.take(),
            expect: expect.clone(),
        };
        let beat = (self.period.take(), self.grace.take());
        let beat_given: Vec<&'static str> =
            [("period", beat.0.is_some()), ("grace", beat.1.is_some())]
                .into_iter()
                .filter_map(|(name, given)| given.then_some(name))
                .collect();
        let target = match kind.as_str() {
            "http" => {
                refuse(
                    "http",
                    &socket.given(),
                    "tcp, smtp, ssh and dns",
                    &mut errors,
                );
                refuse("http", &beat_given, "heartbeat", &mut errors);
                refuse("http", &dns_only, "dns", &mut errors);
                self.parse_http(&mut errors).map(Target::Http)
            }
            "tcp" | "smtp" | "ssh" => {
                refuse(&kind, &self.http_fields_given(), "http", &mut errors);
                refuse(&kind, &beat_given, "heartbeat", &mut errors);
                refuse(&kind, &dns_only, "dns", &mut errors);
                socket.parse(&kind, &mut errors)
            }
            "heartbeat" => {
                refuse(&kind, &self.http_fields_given(), "http", &mut errors);
                refuse(
                    &kind,
                    &socket.given(),
                    "tcp, smtp, ssh and dns",
                    &mut errors,
                );
                refuse(&kind, &dns_only, "dns", &mut errors);
                parse_heartbeat(beat, &mut errors)
            }
            "icmp" => {
                refuse(&kind, &self.http_fields_given(), "http", &mut errors);
                refuse(&kind, &beat_given, "heartbeat", &mut errors);
                let mut extra: Vec<&'static str> = socket.given();
                extra.retain(|f| *f != "host");
                refuse(&kind, &extra, "tcp, smtp and ssh", &mut errors);
                refuse(&kind, &dns_only, "dns", &mut errors);
                parse_icmp(socket.host, packets, &mut errors)
            }
            "dns" => {
                refuse(&kind, &self.http_fields_given(), "http", &mut errors);
                refuse(&kind, &beat_given, "heartbeat", &mut errors);
                let mut extra = Vec::new();
                if socket.port.is_some() {
                    extra.push("port");
                }
                if socket.send.is_some() {
                    extra.push("send");
                }
                refuse(&kind, &extra, "tcp, smtp and ssh", &mut errors);
                parse_dns(
                    socket.host,
                    self.record_type.take(),
                    expect,
                    self.nameserver.take(),
                    &mut errors,
                )
            }
            other => {
                errors.push(FieldError::new(
                    "kind",
                    format!("must be one of {}, not {other:?}", KINDS.join(", ")),
                ));
                None
            }
        };
        let mut spec = CheckSpec::of(target.unwrap_or_else(|| Target::Http(HttpTarget::get(""))));
        spec.stack = stack;
        spec.check_rate = limits::CHECK_RATE.resolve(self.check_rate, &mut errors);
        spec.timeout = limits::TIMEOUT.resolve(self.timeout, &mut errors);
        spec.failures_to_confirm =
            limits::FAILURES_TO_CONFIRM.resolve(self.failures_to_confirm, &mut errors);
        spec.successes_to_recover =
            limits::SUCCESSES_TO_RECOVER.resolve(self.successes_to_recover, &mut errors);
        spec.retry_interval = limits::RETRY_INTERVAL.resolve(self.retry_interval, &mut errors);
        spec.contacts = self
            .contacts
            .map(|c| parse_contacts(c, known_contacts, &mut errors));
        spec.reminder_every =
            limits::REMINDER_EVERY.resolve_optional(self.reminder_every, &mut errors);
        spec.tags = parse_tags(self.tags.unwrap_or_default(), &mut errors);
        if errors.is_empty() {
            errors.extend(spec.relation_errors());
        }
        if errors.is_empty() {
            Ok((
                name,
                CheckWrite {
                    spec,
                    paused: self.paused,
                },
            ))
        } else {
            Err(errors)
        }
    }
}

/// Parses a name-like value, recording a field error when it is invalid.
pub(super) fn parse_name<T: TryFrom<String, Error = crate::domain::NameError>>(
    field: &str,
    value: String,
    errors: &mut FieldErrors,
) -> Option<T> {
    T::try_from(value)
        .map_err(|e| errors.push(FieldError::new(field, e.to_string())))
        .ok()
}

fn parse_contacts(
    contacts: Vec<String>,
    known: Option<&BTreeSet<String>>,
    errors: &mut FieldErrors,
) -> Vec<ContactName> {
    if contacts.len() > limits::MAX_CONTACTS {
        errors.push(FieldError::new(
            "contacts",
            format!("at most {} contacts", limits::MAX_CONTACTS),
        ));
    }
    let configured = || match known {
        Some(k) if !k.is_empty() => k.iter().map(String::as_str).collect::<Vec<_>>().join(", "),
        _ => "none".to_owned(),
    };
    let mut parsed: Vec<ContactName> = Vec::with_capacity(contacts.len());
    for (i, contact) in contacts.into_iter().enumerate() {
        let field = format!("contacts[{i}]");
        let Some(name) = parse_name::<ContactName>(&field, contact, errors) else {
            continue;
        };
        if known.is_some_and(|k| !k.contains(name.as_str())) {
            errors.push(FieldError::new(
                field,
                format!(
                    "no notifier named {name} is configured (configured: {})",
                    configured()
                ),
            ));
        }
        parsed.push(name);
    }
    parsed.sort();
    parsed.dedup();
    parsed
}

fn parse_tags(tags: Vec<String>, errors: &mut FieldErrors) -> Vec<Tag> {
    if tags.len() > limits::MAX_TAGS {
        errors.push(FieldError::new(
            "tags",
            format!("at most {} tags", limits::MAX_TAGS),
        ));
    }
    let mut parsed: Vec<Tag> = tags
        .into_iter()
        .enumerate()
        .filter_map(|(i, t)| parse_name(&format!("tags[{i}]"), t, errors))
        .collect();
    parsed.sort();
    parsed.dedup();
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: serde_json::Value) -> CheckBody {
        serde_json::from_value(json).unwrap()
    }

    fn error_fields(json: serde_json::Value, place: Place<'_>) -> Vec<String> {
        match body(json).parse(place, None) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn url_alone_gives_the_documented_defaults() {
        let (name, write) = body(serde_json::json!({"url": "http://127.0.0.1/"}))
            .parse(Place::Single, None)
            .unwrap();
        assert_eq!(name, None);
        assert_eq!(write.paused, None);
        assert_eq!(write.spec, CheckSpec::with_defaults("http://127.0.0.1/"));
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let fields = error_fields(
            serde_json::json!({
                "url": "ftp://x/", "method": "PATCH", "check_rate": 5, "timeout": 100,
                "expected_status": [200, "abc"], "failures_to_confirm": 0,
                "tags": ["ok", "Not OK"], "contacts": ["ops", "bad name"],
                "headers": {"Content-Length": "1"}, "stack": "-x", "name": "n"
            }),
            Place::Single,
        );
        assert_eq!(
            fields,
            vec![
                "name",
                "stack",
                "url",
                "method",
                "headers.Content-Length",
                "expected_status[1]",
                "check_rate",
                "timeout",
                "failures_to_confirm",
                "contacts[1]",
                "tags[1]"
            ]
        );
    }

    #[test]
    fn stack_items_need_a_name_and_take_the_path_stack() {
        let stack: StackName = "acme".parse().unwrap();
        assert_eq!(
            error_fields(
                serde_json::json!({"url": "http://127.0.0.1/"}),
                Place::InStack(&stack)
            ),
            vec!["name"]
        );
        assert_eq!(
            error_fields(
                serde_json::json!({"name": "a", "url": "http://127.0.0.1/", "stack": "other"}),
                Place::InStack(&stack)
            ),
            vec!["stack"]
        );
        let (name, write) = body(serde_json::json!({"name": "a", "url": "http://127.0.0.1/"}))
            .parse(Place::InStack(&stack), None)
            .unwrap();
        assert_eq!(name.unwrap().as_str(), "a");
        assert_eq!(write.spec.stack, Some(stack));
    }

    #[test]
    fn equivalent_spellings_parse_to_equal_specs() {
        let a = body(serde_json::json!({
            "url": "http://127.0.0.1/", "method": "get", "tags": ["b", "a", "a"],
            "expected_status": ["200-299", 204], "headers": {"X-A": "1"}
        }));
        let b = body(serde_json::json!({
            "url": "http://127.0.0.1/", "method": "GET", "tags": ["a", "b"],
            "expected_status": ["200-299"], "headers": {"x-a": "1"}
        }));
        assert_eq!(
            a.parse(Place::Single, None).unwrap().1.spec,
            b.parse(Place::Single, None).unwrap().1.spec
        );
    }

    #[test]
    fn relations_are_checked_once_fields_are_valid() {
        assert_eq!(
            error_fields(
                serde_json::json!({"url": "http://127.0.0.1/", "check_rate": 10, "retry_interval": 20}),
                Place::Single
            ),
            vec!["retry_interval"]
        );
        assert_eq!(
            error_fields(
                serde_json::json!({"url": "http://127.0.0.1/", "expected_status": []}),
                Place::Single
            ),
            vec!["expected_status"]
        );
    }
}
