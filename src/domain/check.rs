//! A check: what to probe, how, what counts as up, and whom to tell. `CheckSpec` is the
//! validated, fully resolved configuration (defaults applied) that the store keeps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::field::{FieldError, FieldErrors, limits};
use super::{CheckName, ContactName, StackName, StatusRanges, Tag, Timestamp};

/// Row id of a check in the store; compact key for results and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CheckId(pub i64);

/// HTTP method a probe sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
}

impl Method {
    /// Parses a method name, in any case.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Some(Self::Get),
            "HEAD" => Some(Self::Head),
            "POST" => Some(Self::Post),
            "PUT" => Some(Self::Put),
            _ => None,
        }
    }

    /// The method's canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
        }
    }

    /// Whether a request body makes sense with this method.
    pub fn takes_body(self) -> bool {
        matches!(self, Self::Post | Self::Put)
    }
}

/// Credentials for HTTP basic authentication of a probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
}

/// What a check probes, by kind, with the fields of that kind. Stored and sent with a
/// `kind` tag beside the fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Target {
    /// An HTTP(S) request (StatusCake's HTTP and HEAD).
    Http(HttpTarget),
    /// A TCP connection, optionally sending a line and expecting text back.
    Tcp(TcpTarget),
    /// An SMTP server's greeting (`220`).
    Smtp(HostPort),
    /// An SSH server's banner (`SSH-`).
    Ssh(HostPort),
    /// A job that calls in: up while a ping arrives within `period + grace` of the last.
    Heartbeat(HeartbeatTarget),
    /// A DNS query that must answer (and hold the expected values).
    Dns(DnsTarget),
    /// ICMP echo (StatusCake's PING): up when any of `packets` echo requests is answered.
    Icmp(IcmpTarget),
}

/// The fields of an ICMP check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IcmpTarget {
    /// A host name or an IP address.
    pub host: String,
    /// Echo requests sent, 1 to 10.
    pub packets: u8,
}

/// The record types a DNS check may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Ns,
}

impl RecordType {
    pub const ALL: [Self; 6] = [
        Self::A,
        Self::Aaaa,
        Self::Cname,
        Self::Mx,
        Self::Txt,
        Self::Ns,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::Aaaa => "AAAA",
            Self::Cname => "CNAME",
            Self::Mx => "MX",
            Self::Txt => "TXT",
            Self::Ns => "NS",
        }
    }

    /// The type a name spells, in any case.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(word))
    }
}

/// The fields of a DNS check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsTarget {
    /// The name to look up.
    pub host: String,
    pub record_type: RecordType,
    /// Values the answer must hold, each (as the record reads: an address, a name, a text).
    pub expect: Vec<String>,
    /// Whom to ask; `None` is the system's resolver configuration.
    pub nameserver: Option<std::net::SocketAddr>,
}

/// The fields of a heartbeat check. Seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatTarget {
    /// How often the job is expected to ping.
    pub period: u32,
    /// How late a ping may be before the check is DOWN.
    pub grace: u32,
}

impl HeartbeatTarget {
    /// The longest wait for a ping, in seconds.
    pub fn deadline_s(self) -> u64 {
        u64::from(self.period) + u64::from(self.grace)
    }
}

/// A host and a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPort {
    /// A host name or an IP address.
    pub host: String,
    pub port: u16,
}

/// The fields of a TCP check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpTarget {
    /// A host name or an IP address.
    pub host: String,
    pub port: u16,
    /// Text sent once connected.
    pub send: Option<String>,
    /// Text the first bytes the server sends must contain.
    pub expect: Option<String>,
}

impl Target {
    /// The kind's name, as the API spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Http(_) => "http",
            Self::Tcp(_) => "tcp",
            Self::Smtp(_) => "smtp",
            Self::Ssh(_) => "ssh",
            Self::Heartbeat(_) => "heartbeat",
            Self::Dns(_) => "dns",
            Self::Icmp(_) => "icmp",
        }
    }

    /// Where the check points, for people (alerts, pages): the URL of an HTTP check,
    /// `kind://host:port` of the others.
    pub fn address(&self) -> String {
        match self {
            Self::Http(http) => http.url.clone(),
            Self::Tcp(t) => format!("tcp://{}", host_port(&t.host, t.port)),
            Self::Smtp(t) => format!("smtp://{}", host_port(&t.host, t.port)),
            Self::Ssh(t) => format!("ssh://{}", host_port(&t.host, t.port)),
            Self::Heartbeat(h) => format!("heartbeat every {} s (+{} s grace)", h.period, h.grace),
            Self::Icmp(i) => format!("icmp:{}", i.host),
            Self::Dns(d) => match d.nameserver {
                Some(server) => format!("dns://{server}/{} {}", d.host, d.record_type.as_str()),
                None => format!("dns:{} {}", d.host, d.record_type.as_str()),
            },
        }
    }
}

/// `host:port`, with an IPv6 address in brackets.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Why `host` cannot be probed, if it cannot: a host name or an IP address, nothing else.
pub fn host_problem(host: &str) -> Option<String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.is_empty() || host.len() > 253 || !host.trim_end_matches('.').split('.').all(label_ok) {
        return Some("must be a host name or an IP address".to_owned());
    }
    None
}

/// The fields of an HTTP check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpTarget {
    /// The http or https URL to probe.
    pub url: String,
    /// The method to send.
    pub method: Method,
    /// Extra request headers, names lowercased.
    pub headers: BTreeMap<String, String>,
    /// Request body, only with POST or PUT.
    pub body: Option<String>,
    /// Basic authentication credentials.
    pub basic_auth: Option<BasicAuth>,
    /// Status codes that count as up.
    pub expected_status: StatusRanges,
    /// The first 64 KiB of the body must contain this.
    pub body_contains: Option<String>,
    /// The first 64 KiB of the body must not contain this.
    pub body_not_contains: Option<String>,
    /// A slower answer counts as down (milliseconds).
    pub max_response_time_ms: Option<u32>,
    /// Follow redirects (up to 10 hops) instead of judging the redirect itself.
    pub follow_redirects: bool,
    /// Reject invalid certificates.
    pub verify_tls: bool,
    /// Warn this many days before the certificate expires; 0 turns the warning off.
    pub cert_expiry_days: u32,
}

impl HttpTarget {
    /// A GET of `url`, every other field at its default.
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            method: Method::Get,
            headers: BTreeMap::new(),
            body: None,
            basic_auth: None,
            expected_status: StatusRanges::default_up(),
            body_contains: None,
            body_not_contains: None,
            max_response_time_ms: None,
            follow_redirects: false,
            verify_tls: true,
            cert_expiry_days: limits::CERT_EXPIRY_DAYS.default,
        }
    }
}

/// The validated configuration of one check, every default applied: the fields every kind
/// has, and the kind's own in `target`. Durations are seconds. This is the one home of a
/// check's fields: the API's body parses into it, its view and the store's form derive
/// from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckSpec {
    /// What to probe.
    pub target: Target,
    /// Seconds between the starts of two probes.
    pub check_rate: u32,
    /// Seconds one probe may take in all.
    pub timeout: u32,
    /// Consecutive failures before the check is DOWN.
    pub failures_to_confirm: u32,
    /// Consecutive successes before the check is UP again.
    pub successes_to_recover: u32,
    /// Seconds before re-probing after an unconfirmed failure.
    pub retry_interval: u32,
    /// Notifiers to alert; `None` means the configured default contacts.
    pub contacts: Option<Vec<ContactName>>,
    /// Seconds between repeated DOWN alerts while down; `None` sends one.
    pub reminder_every: Option<u32>,
    /// The stack this check belongs to.
    pub stack: Option<StackName>,
    /// Labels for filtering, sorted and without duplicates.
    pub tags: Vec<Tag>,
}

impl CheckSpec {
    /// An HTTP GET of `url` with every other field at its default.
    pub fn with_defaults(url: impl Into<String>) -> Self {
        Self::of(Target::Http(HttpTarget::get(url)))
    }

    /// A check of `target` with every common field at its default.
    pub fn of(target: Target) -> Self {
        Self {
            target,
            check_rate: limits::CHECK_RATE.default,
            timeout: limits::TIMEOUT.default,
            failures_to_confirm: limits::FAILURES_TO_CONFIRM.default,
            successes_to_recover: limits::SUCCESSES_TO_RECOVER.default,
            retry_interval: limits::RETRY_INTERVAL.default,
            contacts: None,
            reminder_every: None,
            stack: None,
            tags: Vec::new(),
        }
    }

    /// The HTTP fields, for an HTTP check.
    pub fn http(&self) -> Option<&HttpTarget> {
        match &self.target {
            Target::Http(http) => Some(http),
            _ => None,
        }
    }

    /// The HTTP fields, to change them, for an HTTP check.
    pub fn http_mut(&mut self) -> Option<&mut HttpTarget> {
        match &mut self.target {
            Target::Http(http) => Some(http),
            _ => None,
        }
    }

    /// Rules that tie fields together; each field on its own is checked where it is parsed.
    pub fn relation_errors(&self) -> FieldErrors {
        let mut errors = Vec::new();
        if let Some(http) = self.http() {
            errors.extend(http.relation_errors(self.timeout));
        }
        if self.retry_interval > self.check_rate {
            errors.push(FieldError::new(
                "retry_interval",
                format!("must not exceed check_rate ({} s)", self.check_rate),
            ));
        }
        errors
    }
}

impl HttpTarget {
    /// Rules that tie the HTTP fields together (and to the check's `timeout`).
    fn relation_errors(&self, timeout: u32) -> FieldErrors {
        let mut errors = Vec::new();
        if self.body.is_some() && !self.method.takes_body() {
            errors.push(FieldError::new(
                "body",
                format!(
                    "a body needs method POST or PUT, not {}",
                    self.method.as_str()
                ),
            ));
        }
        if let Some(ms) = self.max_response_time_ms
            && u64::from(ms) >= u64::from(timeout) * 1_000
        {
            errors.push(FieldError::new(
                "max_response_time_ms",
                format!("must be below the timeout ({timeout} s)"),
            ));
        }
        if let (Some(yes), Some(no)) = (&self.body_contains, &self.body_not_contains)
            && yes == no
        {
            errors.push(FieldError::new(
                "body_not_contains",
                "is the same as body_contains, so the check could never be up",
            ));
        }
        errors
    }
}

/// A stored check: its identity, its configuration and when it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub id: CheckId,
    pub name: CheckName,
    pub spec: CheckSpec,
    /// A heartbeat's secret ping key (128 random bits, hex), kept across updates.
    pub ping_key: Option<String>,
    /// Not probed and not alerting while true.
    pub paused: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Why `url` cannot be probed, if it cannot: http or https, a host, no credentials.
pub fn url_problem(url: &str) -> Option<String> {
    if url.len() > limits::MAX_URL_BYTES {
        return Some(format!("must be at most {} bytes", limits::MAX_URL_BYTES));
    }
    // What is stored is what is probed: no silent trimming or encoding by the URL parser.
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(
            "must not contain spaces, line breaks or control characters (percent-encode them)"
                .to_owned(),
        );
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Some("must start with http:// or https://".to_owned());
    }
    let parsed = match url::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return Some(format!("is not a valid URL ({e})")),
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Some(format!(
            "scheme must be http or https, not {}",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Some("must name a host".to_owned());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some("must not contain credentials; use basic_auth".to_owned());
    }
    None
}

/// Headers that describe the message framing or the connection; the prober sets them.
const RESERVED_HEADERS: &[&str] = &[
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Why a custom header cannot be sent, if it cannot.
pub fn header_problem(name: &str, value: &str) -> Option<String> {
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Some("is not a valid header name".to_owned());
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Some("is set by the prober and cannot be overridden".to_owned());
    }
    if http::HeaderValue::from_str(value).is_err() {
        return Some("value must be visible ASCII without line breaks".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(errors: &FieldErrors) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn defaults_have_no_relation_errors() {
        assert!(
            CheckSpec::with_defaults("http://127.0.0.1/")
                .relation_errors()
                .is_empty()
        );
    }

    #[test]
    fn relation_errors_name_each_field() {
        let mut spec = CheckSpec::with_defaults("http://127.0.0.1/");
        spec.retry_interval = 61;
        let http = spec.http_mut().unwrap();
        http.body = Some("x".into());
        http.max_response_time_ms = Some(10_000);
        http.body_contains = Some("ok".into());
        http.body_not_contains = Some("ok".into());
        assert_eq!(
            fields(&spec.relation_errors()),
            vec![
                "body",
                "max_response_time_ms",
                "body_not_contains",
                "retry_interval"
            ]
        );
        spec.retry_interval = 60;
        let http = spec.http_mut().unwrap();
        http.method = Method::Post;
        http.max_response_time_ms = Some(9_999);
        http.body_not_contains = None;
        assert!(spec.relation_errors().is_empty());
    }

    #[test]
    fn url_problem_accepts_only_probeable_urls() {
        let cases: &[(&str, bool)] = &[
            ("http://127.0.0.1:8080/healthz", true),
            ("https://acme.example/readiness?full=1", true),
            ("ftp://acme.example/", false),
            ("acme.example/readiness", false),
            ("http://user:pw@acme.example/", false),
            ("http://", false),
            ("HTTPS://acme.example/", true),
            (" http://acme.example/", false),
            ("http://acme.example/a b", false),
            ("http://acme.example/\r\nX-Injected: 1", false),
            ("http://acme.example/\0", false),
            ("http:/acme.example/", false),
            ("http:\\\\acme.example/", false),
        ];
        for (url, ok) in cases {
            assert_eq!(
                url_problem(url).is_none(),
                *ok,
                "{url}: {:?}",
                url_problem(url)
            );
        }
    }

    #[test]
    fn header_problem_rejects_framing_and_bad_values() {
        assert_eq!(header_problem("X-Probe", "stackwatch"), None);
        assert!(header_problem("Content-Length", "3").is_some());
        assert!(header_problem("bad name", "x").is_some());
        assert!(header_problem("X-Probe", "a\r\nb").is_some());
    }

    #[test]
    fn method_parses_any_case() {
        assert_eq!(Method::parse("head"), Some(Method::Head));
        assert_eq!(Method::parse("PUT"), Some(Method::Put));
        assert_eq!(Method::parse("DELETE"), None);
    }
}
