//! The HTTP part of a check's body: the fields of an `http` check, parsed into an
//! `HttpTarget` with every problem reported, and the names of those given (refused on a
//! check of another kind).

use std::collections::BTreeMap;

use super::check_body::{BasicAuthBody, CheckBody, StatusItem};
use crate::domain::{
    BasicAuth, FieldError, FieldErrors, HttpTarget, Method, StatusRange, StatusRanges,
    header_problem, limits, url_problem,
};

impl CheckBody {
    /// The HTTP fields, checked.
    pub(super) fn parse_http(&mut self, errors: &mut FieldErrors) -> Option<HttpTarget> {
        let url = match self.url.take() {
            None => {
                errors.push(FieldError::new("url", "is required"));
                String::new()
            }
            Some(url) => {
                if let Some(reason) = url_problem(&url) {
                    errors.push(FieldError::new("url", reason));
                }
                url
            }
        };
        let mut http = HttpTarget::get(url);
        if let Some(m) = self.method.take() {
            match Method::parse(&m) {
                Some(method) => http.method = method,
                None => errors.push(FieldError::new(
                    "method",
                    format!("must be GET, HEAD, POST or PUT, not {m:?}"),
                )),
            }
        }
        http.headers = parse_headers(self.headers.take().unwrap_or_default(), errors);
        http.body = self.body.take();
        if http
            .body
            .as_ref()
            .is_some_and(|b| b.len() > limits::MAX_BODY_BYTES)
        {
            errors.push(FieldError::new(
                "body",
                format!("must be at most {} bytes", limits::MAX_BODY_BYTES),
            ));
        }
        http.basic_auth = self
            .basic_auth
            .take()
            .and_then(|b| parse_basic_auth(b, errors));
        if let Some(items) = self.expected_status.take()
            && let Some(ranges) = parse_status(items, errors)
        {
            http.expected_status = ranges;
        }
        http.body_contains = keyword("body_contains", self.body_contains.take(), errors);
        http.body_not_contains =
            keyword("body_not_contains", self.body_not_contains.take(), errors);
        http.max_response_time_ms =
            limits::MAX_RESPONSE_TIME_MS.resolve_optional(self.max_response_time_ms, errors);
        http.follow_redirects = self.follow_redirects.unwrap_or(false);
        http.verify_tls = self.verify_tls.unwrap_or(true);
        http.cert_expiry_days = limits::CERT_EXPIRY_DAYS.resolve(self.cert_expiry_days, errors);
        Some(http)
    }

    /// The names of the HTTP fields given, for refusing them on another kind.
    pub(super) fn http_fields_given(&self) -> Vec<&'static str> {
        [
            ("url", self.url.is_some()),
            ("method", self.method.is_some()),
            ("headers", self.headers.is_some()),
            ("body", self.body.is_some()),
            ("basic_auth", self.basic_auth.is_some()),
            ("expected_status", self.expected_status.is_some()),
            ("body_contains", self.body_contains.is_some()),
            ("body_not_contains", self.body_not_contains.is_some()),
            ("max_response_time_ms", self.max_response_time_ms.is_some()),
            ("follow_redirects", self.follow_redirects.is_some()),
            ("verify_tls", self.verify_tls.is_some()),
            ("cert_expiry_days", self.cert_expiry_days.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect()
    }
}

fn parse_headers(
    headers: BTreeMap<String, String>,
    errors: &mut FieldErrors,
) -> BTreeMap<String, String> {
    if headers.len() > limits::MAX_HEADERS {
        errors.push(FieldError::new(
            "headers",
            format!("at most {} headers", limits::MAX_HEADERS),
        ));
    }
    let mut parsed = BTreeMap::new();
    for (name, value) in headers {
        if let Some(reason) = header_problem(&name, &value) {
            errors.push(FieldError::new(format!("headers.{name}"), reason));
        } else if parsed.insert(name.to_ascii_lowercase(), value).is_some() {
            errors.push(FieldError::new(
                format!("headers.{name}"),
                "is given twice (header names ignore case)",
            ));
        }
    }
    parsed
}

fn parse_basic_auth(body: BasicAuthBody, errors: &mut FieldErrors) -> Option<BasicAuth> {
    if body.username.is_empty() || body.username.contains(':') {
        errors.push(FieldError::new(
            "basic_auth.username",
            "must be non-empty and contain no ':'",
        ));
        return None;
    }
    Some(BasicAuth {
        username: body.username,
        password: body.password,
    })
}

fn parse_status(items: Vec<StatusItem>, errors: &mut FieldErrors) -> Option<StatusRanges> {
    if items.is_empty() {
        errors.push(FieldError::new(
            "expected_status",
            "must list at least one code",
        ));
        return None;
    }
    let mut ranges = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let text = match item {
            StatusItem::Code(code) => code.to_string(),
            StatusItem::Text(text) => text,
        };
        match StatusRange::parse(&text) {
            Ok(r) => ranges.push(r),
            Err(reason) => errors.push(FieldError::new(format!("expected_status[{i}]"), reason)),
        }
    }
    StatusRanges::new(ranges)
}

fn keyword(field: &str, value: Option<String>, errors: &mut FieldErrors) -> Option<String> {
    let value = value?;
    if value.is_empty() || value.len() > limits::MAX_KEYWORD_BYTES {
        errors.push(FieldError::new(
            field,
            format!("must be 1 to {} bytes", limits::MAX_KEYWORD_BYTES),
        ));
    }
    Some(value)
}
