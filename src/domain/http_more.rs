//! The fields of an HTTP check most checks leave empty, kept in memory in one box beside
//! the others, and the way between a target in memory and its written form.

use std::collections::BTreeMap;

use super::assertion::{BodyPattern, HeaderPattern, JsonAssertion};
use super::http_target::{BasicAuth, HttpFields, HttpTarget};

/// The fields of an HTTP check most checks leave empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::domain) struct HttpMore {
    pub(in crate::domain) headers: BTreeMap<String, String>,
    pub(in crate::domain) body: Option<String>,
    pub(in crate::domain) basic_auth: Option<BasicAuth>,
    pub(in crate::domain) body_contains: Option<String>,
    pub(in crate::domain) body_not_contains: Option<String>,
    pub(in crate::domain) json: Vec<JsonAssertion>,
    pub(in crate::domain) headers_expect: BTreeMap<String, HeaderPattern>,
    pub(in crate::domain) body_matches: Option<BodyPattern>,
    pub(in crate::domain) max_response_time_ms: Option<u32>,
    pub(in crate::domain) secret_names: Vec<String>,
}

impl HttpMore {
    /// Every field empty: what a target without the box reads.
    const EMPTY: &'static Self = &Self {
        headers: BTreeMap::new(),
        body: None,
        basic_auth: None,
        body_contains: None,
        body_not_contains: None,
        json: Vec::new(),
        headers_expect: BTreeMap::new(),
        body_matches: None,
        max_response_time_ms: None,
        secret_names: Vec::new(),
    };
}

impl Default for HttpMore {
    fn default() -> Self {
        Self::EMPTY.clone()
    }
}

/// Equal when every field is: an absent [`HttpMore`] equals an empty one.
impl PartialEq for HttpTarget {
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url
            && self.method == other.method
            && self.expected_status == other.expected_status
            && self.follow_redirects == other.follow_redirects
            && self.redirect_credentials == other.redirect_credentials
            && self.verify_tls == other.verify_tls
            && self.cert_expiry_days == other.cert_expiry_days
            && self.more() == other.more()
    }
}

impl From<HttpFields> for HttpTarget {
    fn from(f: HttpFields) -> Self {
        let more = HttpMore {
            headers: f.headers,
            body: f.body,
            basic_auth: f.basic_auth,
            body_contains: f.body_contains,
            body_not_contains: f.body_not_contains,
            json: f.json,
            headers_expect: f.headers_expect,
            body_matches: f.body_matches,
            max_response_time_ms: f.max_response_time_ms,
            secret_names: f.secret_names,
        };
        Self {
            url: f.url,
            method: f.method,
            expected_status: f.expected_status,
            follow_redirects: f.follow_redirects,
            redirect_credentials: f.redirect_credentials,
            verify_tls: f.verify_tls,
            cert_expiry_days: f.cert_expiry_days,
            more: (more != *HttpMore::EMPTY).then(|| Box::new(more)),
        }
    }
}

impl From<HttpTarget> for HttpFields {
    fn from(t: HttpTarget) -> Self {
        let more = t.more.map_or_else(HttpMore::default, |more| *more);
        Self {
            url: t.url,
            method: t.method,
            headers: more.headers,
            body: more.body,
            basic_auth: more.basic_auth,
            expected_status: t.expected_status,
            body_contains: more.body_contains,
            body_not_contains: more.body_not_contains,
            json: more.json,
            headers_expect: more.headers_expect,
            body_matches: more.body_matches,
            max_response_time_ms: more.max_response_time_ms,
            follow_redirects: t.follow_redirects,
            redirect_credentials: t.redirect_credentials,
            secret_names: more.secret_names,
            verify_tls: t.verify_tls,
            cert_expiry_days: t.cert_expiry_days,
        }
    }
}

impl HttpTarget {
    /// The fields most checks leave empty.
    pub(in crate::domain) fn more(&self) -> &HttpMore {
        self.more.as_deref().unwrap_or(HttpMore::EMPTY)
    }

    /// Those fields to change, where the target has some (a target without any has
    /// nothing to change in them).
    pub(in crate::domain) fn more_given(&mut self) -> Option<&mut HttpMore> {
        self.more.as_deref_mut()
    }

    /// Those fields to set, for tests building a target field by field.
    #[cfg(test)]
    pub(in crate::domain) fn more_mut(&mut self) -> &mut HttpMore {
        self.more.get_or_insert_with(Box::default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_target_holds_no_rare_fields_and_is_written_whole() {
        let plain = HttpTarget::get("https://a.example/".parse().unwrap());
        assert!(plain.more.is_none());
        let written = serde_json::to_value(&plain).unwrap();
        let keys: Vec<&str> = written
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 17, "every field, each time: {keys:?}");
        assert_eq!(written["headers"], serde_json::json!({}));
        assert_eq!(written["body"], serde_json::Value::Null);
        assert_eq!(written["json"], serde_json::json!([]));
        let read: HttpTarget = serde_json::from_value(written).unwrap();
        assert_eq!(read, plain);
        assert!(read.more.is_none(), "empty fields read back take no box");
        // The in-memory form is a fraction of the written one.
        assert!(
            std::mem::size_of::<HttpTarget>() * 2 < std::mem::size_of::<HttpFields>(),
            "{} against {}",
            std::mem::size_of::<HttpTarget>(),
            std::mem::size_of::<HttpFields>()
        );
    }

    #[test]
    fn a_target_with_rare_fields_keeps_them_and_compares_by_value() {
        let mut written =
            serde_json::to_value(HttpTarget::get("https://a.example/".parse().unwrap())).unwrap();
        written["headers"] = serde_json::json!({"x-probe": "1"});
        written["max_response_time_ms"] = serde_json::json!(900);
        let read: HttpTarget = serde_json::from_value(written.clone()).unwrap();
        assert_eq!(read.headers().get("x-probe").map(String::as_str), Some("1"));
        assert_eq!(read.max_response_time_ms(), Some(900));
        assert_eq!(serde_json::to_value(&read).unwrap(), written);
        let mut emptied = read.clone();
        let more = emptied.more_mut();
        more.headers.clear();
        more.max_response_time_ms = None;
        let plain = HttpTarget::get("https://a.example/".parse().unwrap());
        assert_ne!(read, plain);
        assert_eq!(emptied, plain, "an emptied box equals none");
        assert_eq!(
            serde_json::to_value(&emptied).unwrap(),
            serde_json::to_value(&plain).unwrap()
        );
    }
}
