//! What a check probes, by kind: each kind's fields declared once (type, bounds, meaning),
//! read from a client's JSON with every problem named. A field of one kind given on a
//! check of another is refused by name.

use serde::{Deserialize, Serialize};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::dns_target::DnsTarget;
use super::field::limits;
use super::field::limits::MAX_EXCHANGE_BYTES;
use super::form::Form;
use super::heartbeat_target::HeartbeatTarget;
use super::host::Host;
use super::host_targets::{HostPort, IcmpTarget, TcpTarget};
use super::http_target::{HttpFields, HttpTarget};
use super::job_schedule::{CronText, Zone};
use super::rdap::DomainName;

/// What a check probes, by kind, with the fields of that kind. Written with a `kind` tag
/// beside the fields. Each kind's fields are boxed, so a target in memory is a pointer
/// and a tag (16 bytes) beside its kind's own fields, not the size of the largest kind
/// (112 bytes) whatever its kind: every check the scheduler holds carries one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Target {
    /// An HTTP(S) request (StatusCake's HTTP and HEAD).
    Http(Box<HttpTarget>),
    /// A TCP connection, optionally sending a line and expecting text back.
    Tcp(Box<TcpTarget>),
    /// An SMTP server's greeting (`220`).
    Smtp(Box<HostPort>),
    /// An SSH server's banner (`SSH-`).
    Ssh(Box<HostPort>),
    /// A job that calls in: up while a ping arrives within `period + grace` of the last.
    Heartbeat(Box<HeartbeatTarget>),
    /// A DNS query that must answer (and hold the expected values).
    Dns(Box<DnsTarget>),
    /// ICMP echo (StatusCake's PING): up when any of `packets` echo requests is answered.
    Icmp(Box<IcmpTarget>),
    /// A domain's registration, looked up daily through RDAP: up until it expires.
    Domain(Box<DomainTarget>),
}

/// The fields of a domain check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DomainTarget {
    /// The registered domain whose expiry is watched (required), e.g. `acme.example`; its
    /// top-level domain must have an RDAP service.
    #[schema(inline)]
    pub(in crate::domain) domain: DomainName,
    /// Days before the registration expires to send `domain_expiring`, 1-365 (default 30).
    #[schema(required = false, minimum = 1, maximum = 365)]
    pub(in crate::domain) domain_expiry_days: u32,
}

impl DomainTarget {
    /// The registered domain whose expiry is watched.
    pub fn domain(&self) -> &DomainName {
        &self.domain
    }

    /// Days before expiry to warn.
    pub fn expiry_days(&self) -> u32 {
        self.domain_expiry_days
    }
}

/// The kinds a check may have, as the API spells them.
pub const KINDS: [&str; 8] = [
    "http",
    "tcp",
    "smtp",
    "ssh",
    "dns",
    "icmp",
    "heartbeat",
    "domain",
];

impl Target {
    /// The kind name of a heartbeat (the store's lists and `/metrics` ask for it by name).
    pub const HEARTBEAT: &'static str = "heartbeat";
    /// The kind name of a domain check.
    pub const DOMAIN: &'static str = "domain";

    /// The kind's name, as the API spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Http(_) => "http",
            Self::Tcp(_) => "tcp",
            Self::Smtp(_) => "smtp",
            Self::Ssh(_) => "ssh",
            Self::Heartbeat(_) => Self::HEARTBEAT,
            Self::Dns(_) => "dns",
            Self::Icmp(_) => "icmp",
            Self::Domain(_) => Self::DOMAIN,
        }
    }

    /// The schema of each kind's own fields, in the order of [`KINDS`].
    pub fn kind_schemas() -> [(&'static str, RefOr<Schema>); 8] {
        [
            ("http", HttpFields::schema()),
            ("tcp", TcpTarget::schema()),
            ("smtp", HostPort::schema()),
            ("ssh", HostPort::schema()),
            ("dns", DnsTarget::schema()),
            ("icmp", IcmpTarget::schema()),
            ("heartbeat", HeartbeatTarget::schema()),
            ("domain", DomainTarget::schema()),
        ]
    }

    /// The fields a check of `kind` cannot be written without (beside `kind` itself).
    pub fn required_fields(kind: &str) -> &'static [&'static str] {
        match kind {
            "http" => &["url"],
            "tcp" => &["host", "port"],
            "heartbeat" => &["period"],
            "domain" => &["domain"],
            _ => &["host"],
        }
    }

    /// The kinds that have a field named `field`.
    pub fn kinds_with(field: &str) -> Vec<&'static str> {
        Self::kind_schemas()
            .into_iter()
            .filter(|(_, schema)| match schema {
                RefOr::T(Schema::Object(object)) => object.properties.contains_key(field),
                _ => false,
            })
            .map(|(kind, _)| kind)
            .collect()
    }

    /// Reads the fields of a check of `kind` from `form`; an unknown kind is an error.
    pub fn read(kind: &str, form: &mut Form) -> Option<Self> {
        match kind {
            "http" => HttpTarget::read(form).map(|http| Self::Http(Box::new(http))),
            "tcp" => {
                let host = Host::read(form, "is required");
                let port = read_port(form, None);
                let send = exchange(form, "send");
                let expect = exchange(form, "expect");
                Some(Self::Tcp(Box::new(TcpTarget {
                    host: host?,
                    port: port?,
                    send,
                    expect,
                })))
            }
            "smtp" | "ssh" => {
                let host = Host::read(form, "is required");
                let port = read_port(form, Some(if kind == "smtp" { 25 } else { 22 }));
                let target = Box::new(HostPort {
                    host: host?,
                    port: port?,
                });
                Some(if kind == "smtp" {
                    Self::Smtp(target)
                } else {
                    Self::Ssh(target)
                })
            }
            "heartbeat" => {
                let has_schedule = form.given("schedule");
                let schedule = form.take::<String>("schedule").and_then(|text| {
                    CronText::read(&text)
                        .map_err(|reason| form.error("schedule", reason))
                        .ok()
                });
                let tz = form.take::<String>("tz").and_then(|name| {
                    Zone::read(&name)
                        .map_err(|reason| form.error("tz", reason))
                        .ok()
                });
                let period = match (form.given("period"), has_schedule) {
                    (true, true) => {
                        form.error(
                            "schedule",
                            "a heartbeat has a period or a schedule, not both",
                        );
                        None
                    }
                    (true, false) => Some(form.int(limits::PERIOD)),
                    (false, true) => None,
                    (false, false) => {
                        form.error("period", "is required (or a schedule)");
                        return None;
                    }
                };
                if tz.is_some() && schedule.is_none() {
                    form.error("tz", "is for a schedule's times: give a schedule");
                }
                let grace = form.int(limits::GRACE);
                let grace_first = form.optional_int(limits::GRACE_FIRST);
                let min_runtime = form.optional_int(limits::MIN_RUNTIME);
                let max_runtime = form.optional_int(limits::MAX_RUNTIME);
                let min_interval = form.optional_int(limits::MIN_INTERVAL);
                if let (Some(min), Some(max)) = (min_runtime, max_runtime)
                    && min >= max
                {
                    form.error("max_runtime", "must be above min_runtime");
                }
                let shortest = match (&schedule, period) {
                    (Some(s), _) => {
                        Some((s.shortest_gap_s(), "the shortest time between two runs"))
                    }
                    (None, Some(p)) => Some((u64::from(p), "the period")),
                    (None, None) => None,
                };
                if let (Some(min), Some((gap, what))) = (min_interval, shortest)
                    && u64::from(min) >= gap
                {
                    form.error("min_interval", format!("must be below {what} ({gap} s)"));
                }
                Some(Self::Heartbeat(Box::new(HeartbeatTarget {
                    period,
                    schedule,
                    tz,
                    grace,
                    grace_first,
                    min_runtime,
                    max_runtime,
                    min_interval,
                })))
            }
            "dns" => DnsTarget::read(form).map(|t| Self::Dns(Box::new(t))),
            "icmp" => {
                let host = Host::read(form, "is required");
                let packets = form.take::<u32>("packets").unwrap_or(3);
                let packets = u8::try_from(packets).ok().filter(|p| (1..=10).contains(p));
                if packets.is_none() {
                    form.error("packets", "must be between 1 and 10");
                }
                Some(Self::Icmp(Box::new(IcmpTarget {
                    host: host?,
                    packets: packets?,
                })))
            }
            "domain" => {
                let Some(text) = form.take::<String>("domain") else {
                    form.error("domain", "is required");
                    return None;
                };
                let domain = DomainName::parse(&text)
                    .map_err(|reason| form.error("domain", reason))
                    .ok();
                let domain_expiry_days = form.int(limits::DOMAIN_EXPIRY_DAYS);
                Some(Self::Domain(Box::new(DomainTarget {
                    domain: domain?,
                    domain_expiry_days,
                })))
            }
            other => {
                form.error(
                    "kind",
                    format!("must be one of {}, not {other:?}", KINDS.join(", ")),
                );
                None
            }
        }
    }

    /// Who refused a connection, for people: `host` or `host:port` of the kinds that
    /// connect, the address of the others.
    pub fn authority(&self) -> String {
        match self {
            Self::Http(http) => http.url.authority(),
            Self::Tcp(t) => t.host.with_port(t.port),
            Self::Smtp(t) | Self::Ssh(t) => t.host.with_port(t.port),
            Self::Heartbeat(_) | Self::Icmp(_) | Self::Dns(_) | Self::Domain(_) => self.address(),
        }
    }

    /// Where the check points, for people (alerts, pages, logs): the URL of an HTTP check
    /// with its secret query values redacted, `kind://host:port` of the others.
    pub fn address(&self) -> String {
        match self {
            Self::Http(http) => http.shown_url().into_owned(),
            Self::Tcp(t) => format!("tcp://{}", t.host.with_port(t.port)),
            Self::Smtp(t) => format!("smtp://{}", t.host.with_port(t.port)),
            Self::Ssh(t) => format!("ssh://{}", t.host.with_port(t.port)),
            Self::Heartbeat(h) => match h.schedule() {
                Some((schedule, zone)) => format!(
                    "heartbeat on \"{}\" {} (+{} s grace)",
                    schedule.as_str(),
                    zone.0.name(),
                    h.grace
                ),
                None => format!("heartbeat every {} s (+{} s grace)", h.period(), h.grace),
            },
            Self::Icmp(i) => format!("icmp:{}", i.host),
            Self::Domain(d) => format!("domain:{}", d.domain),
            Self::Dns(d) => match d.nameserver {
                Some(server) => format!("dns://{server}/{} {}", d.host, d.record_type.as_str()),
                None => format!("dns:{} {}", d.host, d.record_type.as_str()),
            },
        }
    }
}

/// `port`, checked, `default` when left out (required without one).
fn read_port(form: &mut Form, default: Option<u16>) -> Option<u16> {
    let Some(port) = form.take::<u32>("port").or(default.map(u32::from)) else {
        form.error("port", "is required");
        return None;
    };
    let port = u16::try_from(port).ok().filter(|p| *p > 0);
    if port.is_none() {
        form.error("port", "must be between 1 and 65535");
    }
    port
}

/// A text to send or expect on a TCP connection, checked.
fn exchange(form: &mut Form, field: &str) -> Option<String> {
    let text: String = form.take(field)?;
    if text.is_empty() || text.len() > MAX_EXCHANGE_BYTES {
        form.error(field, format!("must be 1 to {MAX_EXCHANGE_BYTES} bytes"));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_in_memory_is_a_pointer_and_a_tag() {
        assert_eq!(std::mem::size_of::<Target>(), 16);
    }

    #[test]
    fn kinds_with_reads_the_declared_fields() {
        assert_eq!(Target::kinds_with("url"), vec!["http"]);
        assert_eq!(
            Target::kinds_with("host"),
            vec!["tcp", "smtp", "ssh", "dns", "icmp"]
        );
        assert_eq!(Target::kinds_with("expect"), vec!["tcp", "dns"]);
        assert!(Target::kinds_with("colour").is_empty());
    }
}
