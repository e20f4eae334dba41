//! The kind-specific part of a check's body for `tcp`, `smtp` and `ssh`: host, port, and
//! for TCP what to send and expect; and the rule that a field of one kind is refused on a
//! check of another.

use super::check_body::Expect;
use crate::domain::{
    DnsTarget, FieldError, FieldErrors, HeartbeatTarget, HostPort, IcmpTarget, RecordType, Target,
    TcpTarget, host_problem, limits,
};

/// The kinds a check may have.
pub const KINDS: [&str; 7] = ["http", "tcp", "smtp", "ssh", "dns", "icmp", "heartbeat"];

/// The most bytes of `send` and `expect`.
pub const MAX_EXCHANGE_BYTES: usize = 1_024;

/// The TCP-like fields as written.
#[derive(Debug, Default)]
pub struct SocketFields {
    pub host: Option<String>,
    pub port: Option<u32>,
    pub send: Option<String>,
    pub expect: Option<Expect>,
}

impl SocketFields {
    /// The names of the fields given, for refusing them on an HTTP check.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("host", self.host.is_some()),
            ("port", self.port.is_some()),
            ("send", self.send.is_some()),
            ("expect", self.expect.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect()
    }

    /// The target of a `tcp`, `smtp` or `ssh` check.
    pub fn parse(self, kind: &str, errors: &mut FieldErrors) -> Option<Target> {
        let host = parse_host(self.host, "is required", errors);
        let default_port = match kind {
            "smtp" => Some(25),
            "ssh" => Some(22),
            _ => None,
        };
        let port = match self.port.or(default_port) {
            None => {
                errors.push(FieldError::new("port", "is required"));
                None
            }
            Some(p) => match u16::try_from(p).ok().filter(|p| *p > 0) {
                Some(p) => Some(p),
                None => {
                    errors.push(FieldError::new("port", "must be between 1 and 65535"));
                    None
                }
            },
        };
        if kind != "tcp" {
            for (field, given) in [
                ("send", self.send.is_some()),
                ("expect", self.expect.is_some()),
            ] {
                if given {
                    errors.push(FieldError::new(field, "is only for tcp checks"));
                }
            }
        }
        let expect = match self.expect {
            None => None,
            Some(Expect::Text(text)) => Some(text),
            Some(Expect::List(_)) => {
                errors.push(FieldError::new(
                    "expect",
                    "must be one text for a tcp check",
                ));
                None
            }
        };
        for (field, value) in [("send", &self.send), ("expect", &expect)] {
            if let Some(text) = value
                && (text.is_empty() || text.len() > MAX_EXCHANGE_BYTES)
            {
                errors.push(FieldError::new(
                    field,
                    format!("must be 1 to {MAX_EXCHANGE_BYTES} bytes"),
                ));
            }
        }
        let (host, port) = (host?, port?);
        Some(match kind {
            "tcp" => Target::Tcp(TcpTarget {
                host,
                port,
                send: self.send,
                expect,
            }),
            "smtp" => Target::Smtp(HostPort { host, port }),
            _ => Target::Ssh(HostPort { host, port }),
        })
    }
}

/// `host`, checked: `missing` is the reason when it is left out.
fn parse_host(host: Option<String>, missing: &str, errors: &mut FieldErrors) -> Option<String> {
    let Some(host) = host else {
        errors.push(FieldError::new("host", missing));
        return None;
    };
    match host_problem(&host) {
        Some(reason) => {
            errors.push(FieldError::new("host", reason));
            None
        }
        None => Some(host),
    }
}

/// Refuses each field of `fields` given on a check of `kind`, which does not have them.
pub fn refuse(kind: &str, fields: &[&'static str], only_for: &str, errors: &mut FieldErrors) {
    for field in fields {
        errors.push(FieldError::new(
            *field,
            format!("is only for {only_for} checks, not {kind}"),
        ));
    }
}

/// The target of a `heartbeat` check from `(period, grace)` as written.
pub fn parse_heartbeat(
    (period, grace): (Option<u32>, Option<u32>),
    errors: &mut FieldErrors,
) -> Option<Target> {
    let Some(period) = period else {
        errors.push(FieldError::new("period", "is required"));
        return None;
    };
    let period = limits::PERIOD.resolve(Some(period), errors);
    let grace = limits::GRACE.resolve(grace, errors);
    Some(Target::Heartbeat(HeartbeatTarget { period, grace }))
}

/// The most values a dns check may expect.
pub const MAX_DNS_EXPECT: usize = 16;

/// The target of a `dns` check.
pub fn parse_dns(
    host: Option<String>,
    record_type: Option<String>,
    expect: Option<Expect>,
    nameserver: Option<String>,
    errors: &mut FieldErrors,
) -> Option<Target> {
    let host = parse_host(host, "is required (the name to look up)", errors);
    let record_type = match record_type {
        None => Some(RecordType::A),
        Some(word) => {
            let parsed = RecordType::parse(&word);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    "record_type",
                    "must be A, AAAA, CNAME, MX, TXT or NS",
                ));
            }
            parsed
        }
    };
    let expect = match expect {
        None => Vec::new(),
        Some(Expect::Text(text)) => vec![text],
        Some(Expect::List(list)) => list,
    };
    if expect.len() > MAX_DNS_EXPECT
        || expect
            .iter()
            .any(|e| e.is_empty() || e.len() > MAX_EXCHANGE_BYTES)
    {
        errors.push(FieldError::new(
            "expect",
            format!("at most {MAX_DNS_EXPECT} values of 1 to {MAX_EXCHANGE_BYTES} bytes"),
        ));
    }
    let nameserver = match nameserver {
        None => None,
        Some(text) => {
            let parsed = text.parse::<std::net::SocketAddr>().ok().or_else(|| {
                text.parse::<std::net::IpAddr>()
                    .ok()
                    .map(|ip| (ip, 53).into())
            });
            if parsed.is_none() {
                errors.push(FieldError::new("nameserver", "must be IP or IP:port"));
            }
            parsed
        }
    };
    Some(Target::Dns(DnsTarget {
        host: host?,
        record_type: record_type?,
        expect,
        nameserver,
    }))
}

/// The target of an `icmp` check.
pub fn parse_icmp(
    host: Option<String>,
    packets: Option<u32>,
    errors: &mut FieldErrors,
) -> Option<Target> {
    let host = parse_host(host, "is required", errors);
    let packets = match u8::try_from(packets.unwrap_or(3))
        .ok()
        .filter(|p| (1..=10).contains(p))
    {
        Some(p) => Some(p),
        None => {
            errors.push(FieldError::new("packets", "must be between 1 and 10"));
            None
        }
    };
    Some(Target::Icmp(IcmpTarget {
        host: host?,
        packets: packets?,
    }))
}
