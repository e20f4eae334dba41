//! The result of one probe: a value, never an error. `Failure` says why a check is down in
//! plain words; its code is what the store keeps.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// Milliseconds spent in each phase of a probe; `None` for a phase that did not happen
/// (no DNS for an IP address, no TLS for http) or was not reached. An ICMP probe keeps its
/// average round trip in `connect_ms` and its unanswered echo requests in `lost`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timings {
    pub dns_ms: Option<u32>,
    pub connect_ms: Option<u32>,
    /// ICMP: echo requests that got no reply.
    pub lost: Option<u8>,
    pub tls_ms: Option<u32>,
    /// From sending the request to the response headers.
    pub ttfb_ms: Option<u32>,
    /// The whole probe, redirects included.
    pub total_ms: u32,
}

/// Why a probe counts as down. Agents send it tagged by `kind` (see `api::agent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Failure {
    /// The host name did not resolve.
    Dns { detail: String },
    /// Nothing listens on the port.
    ConnectionRefused,
    /// The TCP connection was not established in time.
    ConnectTimeout,
    /// The TCP connection failed otherwise.
    Connect { detail: String },
    /// The certificate has expired.
    TlsExpired { not_after: Option<Timestamp> },
    /// The certificate chain is not trusted (self-signed, unknown CA).
    TlsUntrusted { detail: String },
    /// The certificate is not valid for the host name.
    TlsWrongName,
    /// The TLS handshake failed otherwise.
    TlsHandshake { detail: String },
    /// The whole probe took longer than the check's timeout.
    Timeout { after_s: u32 },
    /// The peer reset the connection.
    Reset,
    /// The connection closed before the response was complete.
    ClosedEarly,
    /// The peer's answer is not valid HTTP.
    Protocol { detail: String },
    /// The status code is not one of the expected ones.
    BadStatus { status: u16 },
    /// `body_contains` was not found.
    KeywordMissing { keyword: String },
    /// `body_not_contains` was found.
    KeywordPresent { keyword: String },
    /// The answer came, but slower than `max_response_time_ms`.
    TooSlow { ms: u32, max_ms: u32 },
    /// A redirect led back to a URL already visited.
    RedirectLoop { url: String },
    /// More redirects than the hop limit.
    TooManyRedirects { limit: u32 },
    /// A redirect without a usable Location.
    BadRedirect { detail: String },
    /// The probe failed while every canary failed too: the monitoring box was offline, so
    /// the result says nothing about the target and does not count towards confirmation.
    MonitorOffline { cause: Box<Failure> },
    /// A TCP, SMTP or SSH server said something else than expected.
    /// Boxed, as `AssertionFailed`: two texts would make every result larger.
    UnexpectedAnswer(Box<Unexpected>),
    /// No heartbeat ping arrived within the period and its grace.
    HeartbeatLate { after_s: u64 },
    /// The job pinged `/fail` (or a non-zero exit code), with what it posted.
    HeartbeatFailed { message: String },
    /// The job's run ended sooner than `min_runtime` after its `/start`.
    RunTooShort { ran_ms: u32, min_s: u32 },
    /// The job's run was still going `max_runtime` after its `/start`.
    RunTooLong { max_s: u32 },
    /// The job pinged sooner than `min_interval` after its previous run.
    PingedTooOften { after_ms: u32, min_s: u32 },
    /// No ping came for a scheduled run within its grace. Boxed, as `AssertionFailed`.
    RunMissed(Box<Missed>),
    /// No echo reply came back to any of the ICMP echo requests.
    NoEchoReply { packets: u8 },
    /// The kernel refuses this process an unprivileged ICMP socket.
    IcmpNotAllowed { detail: String },
    /// An assertion on the answer (a JSON value, a header, a body pattern) did not hold.
    /// Boxed: a rare failure should not make every result larger.
    AssertionFailed(Box<Unmet>),
    /// The domain's registry answered that it does not know the domain (RDAP 404).
    DomainNotRegistered { domain: String },
    /// The domain's registration expired at this time.
    DomainExpired { at: Timestamp },
    /// The registry's RDAP service did not say when the domain expires: the lookup's
    /// trouble, not the domain's.
    Rdap { detail: String },
}

/// What a TCP, SMTP, SSH or DNS server was expected to say, and what it said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unexpected {
    pub expected: String,
    pub got: String,
}

/// A scheduled run no ping came for: the schedule, its zone and the grace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missed {
    pub schedule: String,
    pub zone: String,
    pub grace_s: u32,
}

/// An assertion that did not hold: what was looked at, what was expected, what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmet {
    pub subject: String,
    pub expected: String,
    pub actual: String,
}

/// The most bytes of text taken from a target (a cause, a redirect target, a header) that
/// are kept: it is stored with every result, sent in alerts and logged.
pub const MAX_TARGET_TEXT_BYTES: usize = 512;

/// `text` cut to `MAX_TARGET_TEXT_BYTES` on a character boundary, marked when cut.
pub fn bound_text(text: &str) -> String {
    if text.len() <= MAX_TARGET_TEXT_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_TARGET_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [cut, {} bytes in all]", &text[..end], text.len())
}

/// A duration in milliseconds as seconds with one decimal: `3.2 s`.
fn seconds_text(ms: u32) -> String {
    format!("{}.{} s", ms / 1_000, (ms % 1_000) / 100)
}

/// `text` quoted with its control characters escaped (as `{:?}` does), cut to
/// `MAX_TARGET_TEXT_BYTES` after escaping: escaping can make a text eight times longer.
fn quoted(text: &str) -> String {
    bound_text(&format!("{text:?}"))
}

impl Failure {
    /// A server said something else than `expected`.
    pub fn unexpected(expected: impl Into<String>, got: impl Into<String>) -> Self {
        Self::UnexpectedAnswer(Box::new(Unexpected {
            expected: expected.into(),
            got: got.into(),
        }))
    }

    /// The same failure with every text that came from the target bounded (see
    /// [`bound_text`]), so a target cannot decide how much is stored or sent.
    pub fn bounded(self) -> Self {
        let cut = |s: String| bound_text(&s);
        match self {
            Self::Dns { detail } => Self::Dns {
                detail: cut(detail),
            },
            Self::Connect { detail } => Self::Connect {
                detail: cut(detail),
            },
            Self::TlsUntrusted { detail } => Self::TlsUntrusted {
                detail: cut(detail),
            },
            Self::TlsHandshake { detail } => Self::TlsHandshake {
                detail: cut(detail),
            },
            Self::Protocol { detail } => Self::Protocol {
                detail: cut(detail),
            },
            Self::KeywordMissing { keyword } => Self::KeywordMissing {
                keyword: cut(keyword),
            },
            Self::KeywordPresent { keyword } => Self::KeywordPresent {
                keyword: cut(keyword),
            },
            Self::RedirectLoop { url } => Self::RedirectLoop { url: cut(url) },
            Self::BadRedirect { detail } => Self::BadRedirect {
                detail: cut(detail),
            },
            Self::Rdap { detail } => Self::Rdap {
                detail: cut(detail),
            },
            Self::MonitorOffline { cause } => Self::MonitorOffline {
                cause: Box::new(cause.bounded()),
            },
            Self::UnexpectedAnswer(answer) => Self::UnexpectedAnswer(Box::new(Unexpected {
                expected: cut(answer.expected),
                got: cut(answer.got),
            })),
            Self::HeartbeatFailed { message } => Self::HeartbeatFailed {
                message: cut(message),
            },
            Self::AssertionFailed(unmet) => Self::AssertionFailed(Box::new(Unmet {
                subject: cut(unmet.subject),
                expected: cut(unmet.expected),
                actual: cut(unmet.actual),
            })),
            other => other,
        }
    }

    /// A small stable number per kind, for compact storage. 0 means up.
    pub fn code(&self) -> u8 {
        match self {
            Self::Dns { .. } => 1,
            Self::ConnectionRefused => 2,
            Self::ConnectTimeout => 3,
            Self::Connect { .. } => 4,
            Self::TlsExpired { .. } => 5,
            Self::TlsUntrusted { .. } => 6,
            Self::TlsWrongName => 7,
            Self::TlsHandshake { .. } => 8,
            Self::Timeout { .. } => 9,
            Self::Reset => 10,
            Self::ClosedEarly => 11,
            Self::Protocol { .. } => 12,
            Self::BadStatus { .. } => 13,
            Self::KeywordMissing { .. } => 14,
            Self::KeywordPresent { .. } => 15,
            Self::TooSlow { .. } => 16,
            Self::RedirectLoop { .. } => 17,
            Self::TooManyRedirects { .. } => 18,
            Self::BadRedirect { .. } => 19,
            Self::MonitorOffline { .. } => 20,
            Self::UnexpectedAnswer(_) => 21,
            Self::HeartbeatLate { .. } => 22,
            Self::HeartbeatFailed { .. } => 23,
            Self::NoEchoReply { .. } => 24,
            Self::IcmpNotAllowed { .. } => 25,
            Self::AssertionFailed(_) => 26,
            Self::RunTooShort { .. } => 27,
            Self::RunTooLong { .. } => 28,
            Self::PingedTooOften { .. } => 29,
            Self::RunMissed(_) => 30,
            Self::DomainNotRegistered { .. } => 31,
            Self::DomainExpired { .. } => 32,
            Self::Rdap { .. } => 33,
        }
    }

    /// A short machine-readable name of the kind, for the API.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Dns { .. } => "dns",
            Self::ConnectionRefused => "connection_refused",
            Self::ConnectTimeout => "connect_timeout",
            Self::Connect { .. } => "connect",
            Self::TlsExpired { .. } => "tls_expired",
            Self::TlsUntrusted { .. } => "tls_untrusted",
            Self::TlsWrongName => "tls_wrong_name",
            Self::TlsHandshake { .. } => "tls_handshake",
            Self::Timeout { .. } => "timeout",
            Self::Reset => "reset",
            Self::ClosedEarly => "closed_early",
            Self::Protocol { .. } => "protocol",
            Self::BadStatus { .. } => "bad_status",
            Self::KeywordMissing { .. } => "keyword_missing",
            Self::KeywordPresent { .. } => "keyword_present",
            Self::TooSlow { .. } => "too_slow",
            Self::RedirectLoop { .. } => "redirect_loop",
            Self::TooManyRedirects { .. } => "too_many_redirects",
            Self::BadRedirect { .. } => "bad_redirect",
            Self::MonitorOffline { .. } => "monitor_offline",
            Self::UnexpectedAnswer(_) => "unexpected_answer",
            Self::HeartbeatLate { .. } => "heartbeat_late",
            Self::HeartbeatFailed { .. } => "heartbeat_failed",
            Self::NoEchoReply { .. } => "no_echo_reply",
            Self::IcmpNotAllowed { .. } => "icmp_not_allowed",
            Self::AssertionFailed(_) => "assertion_failed",
            Self::RunTooShort { .. } => "run_too_short",
            Self::RunTooLong { .. } => "run_too_long",
            Self::PingedTooOften { .. } => "pinged_too_often",
            Self::RunMissed(_) => "run_missed",
            Self::DomainNotRegistered { .. } => "domain_not_registered",
            Self::DomainExpired { .. } => "domain_expired",
            Self::Rdap { .. } => "rdap",
        }
    }

    /// Whether the failure is the prober's own (it cannot open an ICMP socket, or every
    /// canary failed: an agent marks such results), not the target's: such a result
    /// changes no state and alerts nobody.
    pub fn is_the_monitors(&self) -> bool {
        matches!(
            self,
            Self::IcmpNotAllowed { .. } | Self::MonitorOffline { .. } | Self::Rdap { .. }
        )
    }

    /// Whether the failure happened below HTTP (name, connection, TLS handshake, time): the
    /// kind a network outage of the monitoring box itself causes. An answer that came (a
    /// 500, a missing keyword, a certificate judged bad) is never connection-level.
    pub fn is_connection_level(&self) -> bool {
        matches!(
            self,
            Self::Dns { .. }
                | Self::NoEchoReply { .. }
                | Self::ConnectionRefused
                | Self::ConnectTimeout
                | Self::Connect { .. }
                | Self::TlsHandshake { .. }
                | Self::Timeout { .. }
                | Self::Reset
        )
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns { detail } => write!(f, "DNS lookup failed: {detail}"),
            Self::ConnectionRefused => f.write_str("connection refused"),
            Self::ConnectTimeout => f.write_str("connection timed out"),
            Self::Connect { detail } => write!(f, "cannot connect: {detail}"),
            Self::TlsExpired { not_after: Some(t) } => {
                write!(f, "TLS certificate expired at {}", t.to_rfc3339())
            }
            Self::TlsExpired { not_after: None } => f.write_str("TLS certificate expired"),
            Self::TlsUntrusted { detail } => write!(f, "TLS certificate not trusted: {detail}"),
            Self::TlsWrongName => f.write_str("TLS certificate is not valid for this host name"),
            Self::TlsHandshake { detail } => write!(f, "TLS handshake failed: {detail}"),
            Self::Timeout { after_s } => write!(f, "timed out after {after_s} s"),
            Self::Reset => f.write_str("connection reset by the server"),
            Self::ClosedEarly => f.write_str("connection closed before the response was complete"),
            Self::Protocol { detail } => write!(f, "invalid HTTP response: {detail}"),
            Self::BadStatus { status } => write!(f, "HTTP {status}"),
            Self::KeywordMissing { keyword } => {
                write!(f, "{} not found in the body", quoted(keyword))
            }
            Self::KeywordPresent { keyword } => write!(f, "{} found in the body", quoted(keyword)),
            Self::TooSlow { ms, max_ms } => {
                write!(f, "answered in {ms} ms, more than the {max_ms} ms allowed")
            }
            Self::RedirectLoop { url } => write!(f, "redirect loop back to {url}"),
            Self::TooManyRedirects { limit } => write!(f, "more than {limit} redirects"),
            Self::BadRedirect { detail } => write!(f, "bad redirect: {detail}"),
            Self::MonitorOffline { cause } => {
                write!(f, "monitor offline (every canary failed): {cause}")
            }
            Self::UnexpectedAnswer(answer) if answer.got.is_empty() => {
                write!(f, "expected {}, the server sent nothing", answer.expected)
            }
            Self::UnexpectedAnswer(answer) => {
                write!(
                    f,
                    "expected {}, got {}",
                    answer.expected,
                    quoted(&answer.got)
                )
            }
            Self::HeartbeatLate { after_s } => {
                write!(f, "no ping for {after_s} s (the period and its grace)")
            }
            Self::HeartbeatFailed { message } if message.is_empty() => {
                f.write_str("the job reported a failure")
            }
            Self::HeartbeatFailed { message } => {
                write!(f, "the job reported a failure: {message}")
            }
            Self::NoEchoReply { packets } => {
                write!(f, "no echo reply to {packets} ICMP echo request(s)")
            }
            Self::IcmpNotAllowed { detail } => write!(
                f,
                "this host gives stackwatch no ICMP socket ({detail}); allow unprivileged ones \
                 with sysctl net.ipv4.ping_group_range=\"0 2147483647\", or give the binary \
                 CAP_NET_RAW (setcap cap_net_raw+ep)"
            ),
            Self::RunTooShort { ran_ms, min_s } => write!(
                f,
                "the run ended after {}, sooner than the {min_s} s it takes at least",
                seconds_text(*ran_ms)
            ),
            Self::RunTooLong { max_s } => {
                write!(f, "the run is still going {max_s} s after it started")
            }
            Self::PingedTooOften { after_ms, min_s } => write!(
                f,
                "pinged {} after the previous run, sooner than every {min_s} s",
                seconds_text(*after_ms)
            ),
            Self::RunMissed(missed) => write!(
                f,
                "no ping for a run of \"{}\" ({}) by its time and {} s grace",
                missed.schedule, missed.zone, missed.grace_s
            ),
            Self::AssertionFailed(unmet) => write!(
                f,
                "{} is {}, expected {}",
                unmet.subject, unmet.actual, unmet.expected
            ),
            Self::DomainNotRegistered { domain } => {
                write!(
                    f,
                    "the registry does not know {domain}: it is not registered"
                )
            }
            Self::DomainExpired { at } => {
                write!(
                    f,
                    "the domain's registration expired at {}",
                    at.to_rfc3339()
                )
            }
            Self::Rdap { detail } => write!(f, "RDAP lookup failed: {detail}"),
        }
    }
}

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// When the probe started.
    pub started_at: Timestamp,
    /// The final response's status, when one came.
    pub status: Option<u16>,
    pub timings: Timings,
    /// The earliest `notAfter` of the certificates the peer sent, for https: the chain
    /// expires when its first certificate does. For a domain check: when its registration
    /// expires.
    pub cert_not_after: Option<Timestamp>,
    /// Which certificate that is when it is not the server's own (`intermediate "R3"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_of: Option<Box<str>>,
    /// `None` when the check is up.
    pub failure: Option<Failure>,
}

impl Outcome {
    pub fn is_up(&self) -> bool {
        self.failure.is_none()
    }

    /// This outcome as another process sent it, held to what a probe here could have
    /// produced: texts bounded, a status code that exists. `Err` names the field.
    pub fn checked(mut self) -> Result<Self, (&'static str, String)> {
        if self.status.is_some_and(|s| !(100..=999).contains(&s)) {
            return Err(("status", "must be an HTTP status code, 100-999".to_owned()));
        }
        if self
            .failure
            .as_ref()
            .is_some_and(|f| matches!(f, Failure::MonitorOffline { cause } if matches!(**cause, Failure::MonitorOffline { .. })))
        {
            return Err(("failure", "a monitor_offline cause cannot nest".to_owned()));
        }
        self.failure = self.failure.map(Failure::bounded);
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_text_is_cut_on_a_character_boundary_and_marked() {
        assert_eq!(bound_text("short"), "short");
        let long = format!("ftp://x/{}", "é".repeat(300_000));
        let cut = bound_text(&long);
        assert!(cut.len() < MAX_TARGET_TEXT_BYTES + 64, "{}", cut.len());
        assert!(cut.ends_with(&format!("[cut, {} bytes in all]", long.len())));
        let failure = Failure::BadRedirect { detail: long }.bounded();
        assert!(failure.to_string().len() < MAX_TARGET_TEXT_BYTES + 100);
    }

    #[test]
    fn the_cut_holds_after_escaping() {
        let banner = String::from_utf8(vec![0x7f; 1_000]).unwrap();
        let failure = Failure::unexpected("+PONG", banner).bounded();
        let shown = failure.to_string();
        assert!(shown.len() < MAX_TARGET_TEXT_BYTES + 100, "{}", shown.len());
        assert!(shown.contains("\\u{7f}"), "{shown}");
    }
}
