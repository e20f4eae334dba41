//! A host to probe: a host name or an IP address, checked once where it is read and kept
//! parsed (an address stays an address), written as the text the client gave.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::form::Form;

/// The longest host name, in bytes.
pub const MAX_HOST_BYTES: usize = 253;

/// What [`Host::parse`] accepts, as a pattern for the API's schema: an IP address (loosely:
/// hex digits, dots and colons, bracketed or not) or a host name of 1-63 character labels of
/// letters, digits and inner hyphens. Never narrower than the rule, so a schema-valid host
/// is refused only for its length or a malformed address.
pub const HOST_PATTERN: &str = "^(\\[*[0-9A-Fa-f:.]+\\]*|[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.?)$";

/// Whether `label` is one label of a host name: 1-63 letters, digits and inner hyphens.
pub(super) fn is_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// A host name or an IP address (an IPv6 address may keep its URL brackets).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Host {
    text: String,
    ip: Option<IpAddr>,
}

impl Host {
    /// The host in `text`, or why it cannot be probed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bare = text.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Self {
                text: text.to_owned(),
                ip: Some(ip),
            });
        }
        if text.is_empty()
            || text.len() > MAX_HOST_BYTES
            || !text.trim_end_matches('.').split('.').all(is_label)
        {
            return Err("must be a host name or an IP address".to_owned());
        }
        Ok(Self {
            text: text.to_owned(),
            ip: None,
        })
    }

    /// Reads `host` from `form`, checked: `missing` is the reason when it is left out.
    pub(super) fn read(form: &mut Form, missing: &str) -> Option<Self> {
        let Some(text) = form.take::<String>("host") else {
            form.error("host", missing);
            return None;
        };
        Self::parse(&text)
            .map_err(|reason| form.error("host", reason))
            .ok()
    }

    /// The host as the client wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The address, when the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// `host:port`, with an IPv6 address in brackets.
    pub fn with_port(&self, port: u16) -> String {
        match self.ip {
            Some(IpAddr::V6(_)) if !self.text.starts_with('[') => format!("[{}]:{port}", self.text),
            _ => format!("{}:{port}", self.text),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Host {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }
}

impl TryFrom<String> for Host {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl From<Host> for String {
    fn from(host: Host) -> Self {
        host.text
    }
}

impl PartialSchema for Host {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(MAX_HOST_BYTES))
            .pattern(Some(HOST_PATTERN))
            .into()
    }
}

impl ToSchema for Host {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Host")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses_parse_and_nothing_else() {
        for good in [
            "db.example.com",
            "127.0.0.1",
            "::1",
            "[::1]",
            "a-b.c.",
            "localhost",
        ] {
            assert!(Host::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-a.b",
            "a b",
            "a..b",
            "http://x",
            &"a".repeat(64),
            "é.example",
        ] {
            assert!(Host::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_address_stays_parsed_and_takes_brackets_with_a_port() {
        let v6 = Host::parse("[::1]").unwrap();
        assert_eq!(v6.ip(), Some("::1".parse().unwrap()));
        assert_eq!(v6.with_port(22), "[::1]:22");
        assert_eq!(Host::parse("::1").unwrap().with_port(22), "[::1]:22");
        assert_eq!(Host::parse("db").unwrap().with_port(6379), "db:6379");
        assert_eq!(Host::parse("db").unwrap().ip(), None);
    }

    #[test]
    fn written_as_the_text_given_and_checked_when_read_back() {
        let host = Host::parse("[::1]").unwrap();
        assert_eq!(serde_json::to_string(&host).unwrap(), "\"[::1]\"");
        assert_eq!(serde_json::from_str::<Host>("\"[::1]\"").unwrap(), host);
        assert!(serde_json::from_str::<Host>("\"a b\"").is_err());
    }
}
