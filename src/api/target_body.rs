//! The kind-specific part of a check's body for `tcp`, `smtp` and `ssh`: host, port, and
//! for TCP what to send and expect; and the rule that a field of one kind is refused on a
//! check of another.

use crate::domain::{
    FieldError, FieldErrors, HeartbeatTarget, HostPort, Target, TcpTarget, host_problem, limits,
};

/// The kinds a check may have.
pub const KINDS: [&str; 5] = ["http", "tcp", "smtp", "ssh", "heartbeat"];

/// The most bytes of `send` and `expect`.
pub const MAX_EXCHANGE_BYTES: usize = 1_024;

/// The TCP-like fields as written.
#[derive(Debug, Default)]
pub struct SocketFields {
    pub host: Option<String>,
    pub port: Option<u32>,
    pub send: Option<String>,
    pub expect: Option<String>,
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
        let host = match self.host {
            None => {
                errors.push(FieldError::new("host", "is required"));
                None
            }
            Some(host) => match host_problem(&host) {
                Some(reason) => {
                    errors.push(FieldError::new("host", reason));
                    None
                }
                None => Some(host),
            },
        };
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
        for (field, value) in [("send", &self.send), ("expect", &self.expect)] {
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
                expect: self.expect,
            }),
            "smtp" => Target::Smtp(HostPort { host, port }),
            _ => Target::Ssh(HostPort { host, port }),
        })
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
