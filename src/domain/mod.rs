//! Pure types and rules of stackwatch: checks and their bounds, probe outcomes, the state
//! machine, alert decisions, maintenance windows and schedule arithmetic.
//! Nothing here does I/O; every other module depends on this one and it depends on none.

mod ack;
mod ack_link;
mod alert;
mod assertion;
mod cause;
mod check;
mod dns_target;
mod email_address;
mod expect;
mod field;
mod flap;
mod form;
mod guesses;
mod heartbeat_target;
mod host;
mod host_targets;
mod http_more;
mod http_target;
mod job_schedule;
mod location;
mod maintenance;
mod name;
mod outcome;
mod ping;
mod probe_url;
mod rdap;
mod routing;
pub mod schedule;
mod secret;
mod secret_value;
mod shown;
mod spec_more;
mod state;
mod status;
mod status_update;
mod target;
mod time;
pub mod wire;

pub use ack::Acknowledgement;
pub use ack_link::{ACK_LINK_VALID_MS, AckKey};
pub use alert::{
    AlertContext, AlertEvent, AlertFacts, AlertKind, AlertMemory, NOBODY_TOLD, ago, decide,
    describe_cause, duration_text,
};
pub use assertion::{BodyPattern, HeaderPattern, JsonAssertion, MOST_ASSERTIONS, check_headers};
pub use cause::{Footing, Layer};
pub use check::{Check, CheckFields, CheckId, CheckSpec, FlapRule, Registry};
pub use dns_target::{DnsTarget, RecordType};
pub use email_address::EmailAddress;
pub use expect::{BODY_INSPECT_LIMIT, judge, needs_body};
pub use field::{FieldError, FieldErrors, IntField, limits};
pub use flap::{FlapStep, Flaps};
pub use form::Form;
pub use guesses::{GuessLimits, Guesses, Refused};
pub use heartbeat_target::HeartbeatTarget;
pub use host::{HOST_PATTERN, Host};
pub use host_targets::{HostPort, IcmpTarget, TcpTarget};
pub(crate) use http_target::HttpFields;
pub use http_target::{BasicAuth, HttpTarget, Method, header_problem};
pub use job_schedule::{CronText, Zone};
pub use location::{Quorum, Tally, Vote, Votes, combine, majority, tally};
pub use maintenance::{
    MaintenanceScope, MaintenanceWindow, TimingFields, WindowTiming, parse_timezone,
};
pub use name::{CheckName, ContactName, LocationName, NameError, StackName, Tag};
pub use outcome::{Failure, MAX_TARGET_TEXT_BYTES, Missed, Outcome, Timings, Unmet, bound_text};
pub use ping::{Ping, PingKind};
pub use probe_url::ProbeUrl;
pub use rdap::{DomainName, RdapDirectory, base_url, expiry_of};
pub use routing::{Escalation, Route, Routed, Routing, Subject, glob_matches};
pub use schedule::Cadence;
pub use secret::{REDACTED, Viewer, is_secret_name, redact_url, stays_with_origin};
pub use secret_value::Secret;
pub use shown::Shown;
pub use state::{CheckState, Health, Speed, Thresholds, Transition};
pub use status::{StatusItem, StatusRange, StatusRanges};
pub use status_update::{
    MAX_AFFECTED, MAX_MESSAGE_CHARS, UpdateMessage, UpdateStage, UpdateText, read_checks,
    update_mail, window_mail,
};
pub use target::{DomainTarget, KINDS, Target};
pub use time::Timestamp;
