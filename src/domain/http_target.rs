//! The fields of an `http` check: declared once here (type, default, bounds, meaning), read
//! from a client's JSON with every problem named, and the rules that tie them together.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::assertion::{BodyPattern, HeaderPattern, JsonAssertion, MOST_ASSERTIONS};
use super::field::{FieldError, FieldErrors, limits};
use super::form::Form;
use super::http_more::HttpMore;
use super::probe_url::ProbeUrl;
use super::status::{StatusItem, StatusRanges};

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// Non-empty, without `:`.
    #[schema(pattern = "^[^:]+$")]
    pub username: String,
    /// Answers show it as `<redacted>`.
    pub password: String,
}

/// The fields of an HTTP check as they are written (answers, the stored spec, the API's
/// schema): every field, each time. In memory a check holds them as an [`HttpTarget`].
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = HttpTarget)]
pub struct HttpFields {
    /// The http or https URL to probe (required).
    #[schema(inline)]
    pub(in crate::domain) url: ProbeUrl,
    /// GET (default), HEAD (StatusCake's HEAD), POST or PUT.
    #[schema(
        value_type = String,
        required = false,
        pattern = "^([Gg][Ee][Tt]|[Hh][Ee][Aa][Dd]|[Pp][Oo][Ss][Tt]|[Pp][Uu][Tt])$"
    )]
    pub(in crate::domain) method: Method,
    /// Extra request headers (names lowercased); credential headers are shown `<redacted>`.
    #[schema(required = false)]
    pub(in crate::domain) headers: BTreeMap<String, String>,
    /// Request body (POST and PUT only), at most 64 KiB.
    #[schema(max_length = 65536)]
    pub(in crate::domain) body: Option<String>,
    /// Basic authentication for the probe.
    pub(in crate::domain) basic_auth: Option<BasicAuth>,
    /// Codes and ranges that count as up, e.g. `[200, "300-399"]` (default `["200-399"]`).
    #[schema(required = false)]
    pub(in crate::domain) expected_status: StatusRanges,
    /// The first 64 KiB of the body must contain this text.
    #[schema(min_length = 1, max_length = 1024)]
    pub(in crate::domain) body_contains: Option<String>,
    /// The first 64 KiB of the body must not contain this text.
    #[schema(min_length = 1, max_length = 1024)]
    pub(in crate::domain) body_not_contains: Option<String>,
    /// Tests of the JSON body's values by JSONPath, up to 16, each
    /// `{"path": "$.status", "equals": "UP"}` with one of `equals`, `not_equals`,
    /// `less_than`, `greater_than`, `exists`; the first 64 KiB of the body must be JSON.
    #[serde(default)]
    #[schema(required = false, max_items = 16)]
    pub(in crate::domain) json: Vec<JsonAssertion>,
    /// Response headers the answer must have, by name, each value a pattern where `*` is
    /// any run of characters (`{"content-type": "application/json*"}`), up to 16.
    #[serde(default)]
    #[schema(required = false)]
    pub(in crate::domain) headers_expect: BTreeMap<String, HeaderPattern>,
    /// A regular expression the first 64 KiB of the body must match (Rust's `regex`
    /// syntax: linear time, at most 1,024 characters).
    #[serde(default)]
    pub(in crate::domain) body_matches: Option<BodyPattern>,
    /// Slower answers count as down, 1-75000 ms, below the timeout (default off).
    #[schema(minimum = 1, maximum = 75000)]
    pub(in crate::domain) max_response_time_ms: Option<u32>,
    /// Follow up to 10 redirects instead of judging the redirect itself (default false).
    #[schema(required = false)]
    pub(in crate::domain) follow_redirects: bool,
    /// Send basic auth, `Authorization`, `Cookie`, `Proxy-Authorization` and secret headers
    /// on a redirect to another scheme, host or port too (curl's `--location-trusted`;
    /// default false: they stay with the URL's origin). Only for a redirect target you trust.
    #[serde(default)]
    #[schema(required = false)]
    pub(in crate::domain) redirect_credentials: bool,
    /// Names of headers and query parameters whose values are secret beyond those whose
    /// names say so (`authorization`, `cookie`, `*key*`, `*token*`, `*secret*`, `*pass*`,
    /// `*auth*`, `*signature*`, `*session*`, `sig`, …), case-insensitive: shown as
    /// `<redacted>` and kept from other origins.
    #[serde(default)]
    #[schema(required = false, max_items = 32)]
    pub(in crate::domain) secret_names: Vec<String>,
    /// Reject invalid TLS certificates (default true).
    #[schema(required = false)]
    pub(in crate::domain) verify_tls: bool,
    /// Warn this many days before the certificate expires, 0-365, 0 = off (default 14).
    #[schema(required = false, minimum = 0, maximum = 365)]
    pub(in crate::domain) cert_expiry_days: u32,
}

/// The fields of an HTTP check, in memory: those every check uses inline, the ones most
/// checks leave out (headers, body, credentials, assertions) boxed apart, absent when all
/// are empty. A plain check then holds 144 bytes here instead of 392, and a million
/// checks are held in memory at once. Written and read as [`HttpFields`].
#[derive(Debug, Clone, Eq, Serialize, Deserialize)]
#[serde(from = "HttpFields", into = "HttpFields")]
pub struct HttpTarget {
    pub(in crate::domain) url: ProbeUrl,
    pub(in crate::domain) method: Method,
    pub(in crate::domain) expected_status: StatusRanges,
    pub(in crate::domain) follow_redirects: bool,
    pub(in crate::domain) redirect_credentials: bool,
    pub(in crate::domain) verify_tls: bool,
    pub(in crate::domain) cert_expiry_days: u32,
    /// `None` when every field of it is empty (as read, a target without any has none).
    pub(in crate::domain) more: Option<Box<HttpMore>>,
}

impl HttpTarget {
    /// The http or https URL to probe (required).
    pub fn url(&self) -> &ProbeUrl {
        &self.url
    }

    pub fn method(&self) -> Method {
        self.method
    }

    /// Extra request headers (names lowercased); credential headers are shown `<redacted>`.
    pub fn headers(&self) -> &BTreeMap<String, String> {
        &self.more().headers
    }

    /// Request body (POST and PUT only), at most 64 KiB.
    pub fn body(&self) -> Option<&str> {
        self.more().body.as_deref()
    }

    /// Basic authentication for the probe.
    pub fn basic_auth(&self) -> Option<&BasicAuth> {
        self.more().basic_auth.as_ref()
    }

    /// Codes and ranges that count as up, e.g. `[200, "300-399"]` (default `["200-399"]`).
    pub fn expected_status(&self) -> &StatusRanges {
        &self.expected_status
    }

    /// The first 64 KiB of the body must contain this text.
    pub fn body_contains(&self) -> Option<&str> {
        self.more().body_contains.as_deref()
    }

    /// The first 64 KiB of the body must not contain this text.
    pub fn body_not_contains(&self) -> Option<&str> {
        self.more().body_not_contains.as_deref()
    }

    /// Tests of the JSON body's values.
    pub fn json(&self) -> &[JsonAssertion] {
        &self.more().json
    }

    /// Response headers the answer must have, by lowercase name.
    pub fn headers_expect(&self) -> &BTreeMap<String, HeaderPattern> {
        &self.more().headers_expect
    }

    /// A regular expression the body must match.
    pub fn body_matches(&self) -> Option<&BodyPattern> {
        self.more().body_matches.as_ref()
    }

    /// The assertions on the answer beyond its status, in words, for people.
    pub fn assertions_text(&self) -> Vec<String> {
        let more = self.more();
        let mut all: Vec<String> = more.json.iter().map(JsonAssertion::describe).collect();
        all.extend(
            more.headers_expect
                .iter()
                .map(|(name, pattern)| format!("header {name} matches {:?}", pattern.as_str())),
        );
        all.extend(
            more.body_matches
                .iter()
                .map(|p| format!("body matches {:?}", p.as_str())),
        );
        all
    }

    /// Whether the check judges the answer's content (keywords, assertions), not only its
    /// status: it relies on a plain HTTP check of its URL.
    pub fn asserts_content(&self) -> bool {
        super::needs_body(self) || !self.more().headers_expect.is_empty()
    }

    /// Follow up to 10 redirects instead of judging the redirect itself (default false).
    pub fn follow_redirects(&self) -> bool {
        self.follow_redirects
    }

    /// Send basic auth, `Authorization`, `Cookie`, `Proxy-Authorization` and secret headers
    /// on a redirect to another scheme, host or port too (curl's `--location-trusted`;
    /// default false: they stay with the URL's origin). Only for a redirect target you trust.
    pub fn redirect_credentials(&self) -> bool {
        self.redirect_credentials
    }

    /// Names of headers and query parameters whose values are secret beyond those whose
    /// names say so (`authorization`, `cookie`, `*key*`, `*token*`, `*secret*`, `*pass*`,
    /// `*auth*`, `*signature*`, `*session*`, `sig`, …), case-insensitive: shown as
    /// `<redacted>` and kept from other origins.
    pub fn secret_names(&self) -> &[String] {
        &self.more().secret_names
    }

    /// Reject invalid TLS certificates (default true).
    pub fn verify_tls(&self) -> bool {
        self.verify_tls
    }

    /// Warn this many days before the certificate expires, 0-365, 0 = off (default 14).
    pub fn cert_expiry_days(&self) -> u32 {
        self.cert_expiry_days
    }
}

impl HttpTarget {
    /// A GET of `url`, every other field at its default.
    pub fn get(url: ProbeUrl) -> Self {
        Self {
            url,
            method: Method::Get,
            expected_status: StatusRanges::default_up(),
            follow_redirects: false,
            redirect_credentials: false,
            verify_tls: true,
            cert_expiry_days: limits::CERT_EXPIRY_DAYS.default,
            more: None,
        }
    }

    /// Reads the HTTP fields from `form`, defaults applied, each field checked.
    pub fn read(form: &mut Form) -> Option<Self> {
        let url = match form.take::<String>("url") {
            None => {
                form.error("url", "is required");
                None
            }
            Some(url) => ProbeUrl::parse(&url)
                .map_err(|reason| form.error("url", reason))
                .ok(),
        };
        let method = match form.take::<String>("method") {
            None => Method::Get,
            Some(m) => Method::parse(&m).unwrap_or_else(|| {
                form.error(
                    "method",
                    format!("must be GET, HEAD, POST or PUT, not {m:?}"),
                );
                Method::Get
            }),
        };
        let headers = read_headers(form);
        let body: Option<String> = form.take("body");
        if body
            .as_ref()
            .is_some_and(|b| b.len() > limits::MAX_BODY_BYTES)
        {
            form.error(
                "body",
                format!("must be at most {} bytes", limits::MAX_BODY_BYTES),
            );
        }
        let basic_auth = form.take::<BasicAuth>("basic_auth");
        if let Some(auth) = &basic_auth
            && (auth.username.is_empty() || auth.username.contains(':'))
        {
            form.error(
                "basic_auth.username",
                "must be non-empty and contain no ':'",
            );
        }
        let expected_status = form
            .take::<Vec<StatusItem>>("expected_status")
            .and_then(|items| read_status(items, form))
            .unwrap_or_else(StatusRanges::default_up);
        let body_contains = keyword(form, "body_contains");
        let body_not_contains = keyword(form, "body_not_contains");
        let json = read_json(form);
        let headers_expect = read_headers_expect(form);
        let body_matches = form.take::<String>("body_matches").and_then(|text| {
            BodyPattern::read(&text)
                .map_err(|reason| form.error("body_matches", reason))
                .ok()
        });
        let max_response_time_ms = form.optional_int(limits::MAX_RESPONSE_TIME_MS);
        let follow_redirects = form.take("follow_redirects").unwrap_or(false);
        let redirect_credentials = form.take("redirect_credentials").unwrap_or(false);
        let secret_names = read_secret_names(form);
        let verify_tls = form.take("verify_tls").unwrap_or(true);
        let cert_expiry_days = form.int(limits::CERT_EXPIRY_DAYS);
        let fields = HttpFields {
            url: url?,
            method,
            headers,
            body,
            basic_auth,
            expected_status,
            body_contains,
            body_not_contains,
            json,
            headers_expect,
            body_matches,
            max_response_time_ms,
            follow_redirects,
            redirect_credentials,
            secret_names,
            verify_tls,
            cert_expiry_days,
        };
        Some(fields.into())
    }

    /// Milliseconds beyond which an answer counts as down, when set.
    pub fn max_response_time_ms(&self) -> Option<u32> {
        self.more().max_response_time_ms
    }

    /// Rules that tie the HTTP fields together (and to the check's `timeout`).
    pub fn relation_errors(&self, timeout: u32) -> FieldErrors {
        let mut errors = Vec::new();
        let more = self.more();
        if more.body.is_some() && !self.method.takes_body() {
            errors.push(FieldError::new(
                "body",
                format!(
                    "a body needs method POST or PUT, not {}",
                    self.method.as_str()
                ),
            ));
        }
        if let Some(ms) = more.max_response_time_ms
            && u64::from(ms) >= u64::from(timeout) * 1_000
        {
            errors.push(FieldError::new(
                "max_response_time_ms",
                format!("must be below the timeout ({timeout} s)"),
            ));
        }
        if let (Some(yes), Some(no)) = (&more.body_contains, &more.body_not_contains)
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

/// `json`: each assertion read, each problem named by its place (`json[1].path`).
fn read_json(form: &mut Form) -> Vec<JsonAssertion> {
    let items: Vec<serde_json::Value> = form.take("json").unwrap_or_default();
    if items.len() > MOST_ASSERTIONS {
        form.error("json", format!("at most {MOST_ASSERTIONS} assertions"));
    }
    let mut json = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match JsonAssertion::read(item) {
            Ok(assertion) => json.push(assertion),
            Err(reason) => match reason.split_once(": ") {
                Some((key, why)) if !key.contains(' ') => {
                    form.error(format!("json[{i}].{key}"), why);
                }
                _ => form.error(format!("json[{i}]"), reason),
            },
        }
    }
    json
}

/// `headers_expect`: names lowercased and valid, patterns bounded.
fn read_headers_expect(form: &mut Form) -> BTreeMap<String, HeaderPattern> {
    let given: BTreeMap<String, String> = form.take("headers_expect").unwrap_or_default();
    if given.len() > MOST_ASSERTIONS {
        form.error(
            "headers_expect",
            format!("at most {MOST_ASSERTIONS} headers"),
        );
    }
    let mut expected = BTreeMap::new();
    for (name, pattern) in given {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            form.error(
                format!("headers_expect.{name}"),
                "is not a valid header name",
            );
            continue;
        }
        match HeaderPattern::read(pattern) {
            Ok(pattern) => {
                if expected
                    .insert(name.to_ascii_lowercase(), pattern)
                    .is_some()
                {
                    form.error(
                        format!("headers_expect.{name}"),
                        "is given twice (header names ignore case)",
                    );
                }
            }
            Err(reason) => form.error(format!("headers_expect.{name}"), reason),
        }
    }
    expected
}

fn read_headers(form: &mut Form) -> BTreeMap<String, String> {
    let headers: BTreeMap<String, String> = form.take("headers").unwrap_or_default();
    if headers.len() > limits::MAX_HEADERS {
        form.error(
            "headers",
            format!("at most {} headers", limits::MAX_HEADERS),
        );
    }
    let mut parsed = BTreeMap::new();
    for (name, value) in headers {
        if let Some(reason) = header_problem(&name, &value) {
            form.error(format!("headers.{name}"), reason);
        } else if parsed.insert(name.to_ascii_lowercase(), value).is_some() {
            form.error(
                format!("headers.{name}"),
                "is given twice (header names ignore case)",
            );
        }
    }
    parsed
}

fn read_secret_names(form: &mut Form) -> Vec<String> {
    let names: Vec<String> = form.take("secret_names").unwrap_or_default();
    if names.len() > limits::MAX_SECRET_NAMES {
        form.error(
            "secret_names",
            format!("at most {} names", limits::MAX_SECRET_NAMES),
        );
    }
    let mut parsed = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        if name.is_empty() || name.len() > 128 || name.chars().any(|c| c.is_control()) {
            form.error(
                format!("secret_names[{i}]"),
                "must be 1-128 characters without control characters",
            );
        } else {
            parsed.push(name.to_ascii_lowercase());
        }
    }
    parsed.sort();
    parsed.dedup();
    parsed
}

fn read_status(items: Vec<StatusItem>, form: &mut Form) -> Option<StatusRanges> {
    if items.is_empty() {
        form.error("expected_status", "must list at least one code");
        return None;
    }
    let mut ranges = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.parse() {
            Ok(r) => ranges.push(r),
            Err(reason) => form.error(format!("expected_status[{i}]"), reason),
        }
    }
    StatusRanges::new(ranges)
}

fn keyword(form: &mut Form, field: &str) -> Option<String> {
    let value: String = form.take(field)?;
    if value.is_empty() || value.len() > limits::MAX_KEYWORD_BYTES {
        form.error(
            field,
            format!("must be 1 to {} bytes", limits::MAX_KEYWORD_BYTES),
        );
    }
    Some(value)
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
