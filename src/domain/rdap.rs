//! Domain registrations through RDAP: the name a domain check watches, IANA's bootstrap
//! file that says which RDAP service answers for each top-level domain (RFC 9224), and the
//! expiry date in a registry's answer (RFC 9083's `expiration` event). Pure: fetching is
//! `probe::rdap`'s.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::Timestamp;
use super::host::is_label;

/// IANA's bootstrap file for domain names as shipped with this build
/// (<https://data.iana.org/rdap/dns.json>, its `publication` inside).
pub const SHIPPED_BOOTSTRAP: &str = include_str!("../../assets/rdap-dns.json");

/// The longest domain name, in bytes.
const MAX_DOMAIN_BYTES: usize = 253;

/// What [`DomainName::parse`] accepts, for the API's schema: two or more labels of letters,
/// digits and inner hyphens (an IDN in its `xn--` form).
pub const DOMAIN_PATTERN: &str = "^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$";

/// A registered domain name (`acme.example`), kept in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

impl DomainName {
    /// The domain in `text`, or why it cannot be looked up.
    pub fn parse(text: &str) -> Result<Self, String> {
        let labels: Vec<&str> = text.split('.').collect();
        if text.len() > MAX_DOMAIN_BYTES || labels.len() < 2 || !labels.iter().all(|l| is_label(l))
        {
            return Err("must be a registered domain name such as acme.example (an \
                        internationalised one in its xn-- form)"
                .to_owned());
        }
        if labels.iter().all(|l| l.bytes().all(|b| b.is_ascii_digit())) {
            return Err("must be a domain name, not an IP address".to_owned());
        }
        Ok(Self(text.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The top-level domain (`example`).
    pub fn tld(&self) -> &str {
        self.0.rsplit('.').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DomainName {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl From<DomainName> for String {
    fn from(name: DomainName) -> Self {
        name.0
    }
}

impl PartialSchema for DomainName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(DOMAIN_PATTERN))
            .max_length(Some(MAX_DOMAIN_BYTES))
            .into()
    }
}

impl ToSchema for DomainName {}

/// Which RDAP service answers for which domains: IANA's bootstrap file, with local
/// servers named in the settings before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdapDirectory {
    /// The file's `publication` (RFC 3339), to tell a newer one.
    publication: String,
    /// Each entry (a TLD, or a longer suffix) and its service's base URL, ending in `/`.
    bases: BTreeMap<String, url::Url>,
}

/// The bootstrap file as IANA publishes it (RFC 9224 §3).
#[derive(Deserialize)]
struct BootstrapFile {
    publication: String,
    services: Vec<(Vec<String>, Vec<String>)>,
}

impl RdapDirectory {
    /// Reads a bootstrap file; each entry's base is its first `https` URL (else its first).
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: BootstrapFile =
            serde_json::from_str(text).map_err(|e| format!("not an RDAP bootstrap file: {e}"))?;
        if Timestamp::parse_rfc3339(&file.publication).is_none() {
            return Err(format!(
                "its publication {:?} is not an RFC 3339 time",
                file.publication
            ));
        }
        let mut bases = BTreeMap::new();
        for (entries, urls) in file.services {
            let base = urls
                .iter()
                .filter_map(|u| base_url(u).ok())
                .min_by_key(|u| u.scheme() != "https");
            let Some(base) = base else {
                continue;
            };
            for entry in entries {
                bases.insert(entry.to_ascii_lowercase(), base.clone());
            }
        }
        if bases.is_empty() {
            return Err("it names no RDAP service".to_owned());
        }
        Ok(Self {
            publication: file.publication,
            bases,
        })
    }

    /// The file shipped with this build.
    pub fn shipped() -> Self {
        // Checked by a test: the shipped file always parses.
        Self::parse(SHIPPED_BOOTSTRAP).unwrap_or_else(|_| Self {
            publication: String::new(),
            bases: BTreeMap::new(),
        })
    }

    /// When the file was published (RFC 3339).
    pub fn publication(&self) -> &str {
        &self.publication
    }

    /// This directory with `servers` (TLD or suffix → base URL) before its own entries.
    pub fn with_servers(mut self, servers: &BTreeMap<String, url::Url>) -> Self {
        for (entry, base) in servers {
            self.bases.insert(entry.to_ascii_lowercase(), base.clone());
        }
        self
    }

    /// The base URL of the service that answers for `domain`: the longest entry that is a
    /// whole-label suffix of it (RFC 9224 §4).
    pub fn server_for(&self, domain: &DomainName) -> Option<&url::Url> {
        let name = domain.as_str();
        let mut suffix = name;
        loop {
            if let Some(base) = self.bases.get(suffix) {
                return Some(base);
            }
            suffix = suffix.split_once('.')?.1;
        }
    }

    /// Why `domain`'s expiry cannot be read with this directory, if it cannot.
    pub fn refusal(&self, domain: &DomainName) -> Option<String> {
        self.server_for(domain).is_none().then(|| {
            format!(
                ".{} has no RDAP service in IANA's bootstrap file (published {}), so the \
                 expiry of {domain} cannot be read",
                domain.tld(),
                self.publication.get(..10).unwrap_or(&self.publication)
            )
        })
    }

    /// The URL of `domain`'s registration at its service.
    pub fn query_url(&self, domain: &DomainName) -> Option<url::Url> {
        self.server_for(domain)?
            .join(&format!("domain/{}", domain.as_str()))
            .ok()
    }
}

/// `text` as a base URL: `http` or `https`, ending in `/` so paths join beneath it.
pub fn base_url(text: &str) -> Result<url::Url, String> {
    let mut url = url::Url::parse(text).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http:// or https:// URL with a host".to_owned());
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The expiry of a registration from its RDAP answer: the date of its `expiration` event.
pub fn expiry_of(answer: &serde_json::Value) -> Result<Timestamp, String> {
    let events = answer
        .get("events")
        .and_then(serde_json::Value::as_array)
        .ok_or("the RDAP answer has no events")?;
    let date = events
        .iter()
        .find(|e| e.get("eventAction").and_then(serde_json::Value::as_str) == Some("expiration"))
        .and_then(|e| e.get("eventDate"))
        .and_then(serde_json::Value::as_str)
        .ok_or("the RDAP answer gives no expiration date")?;
    Timestamp::parse_rfc3339(date)
        .ok_or_else(|| format!("the RDAP answer's expiration date {date:?} is not a date"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> DomainName {
        DomainName::parse(text).unwrap()
    }

    #[test]
    fn domain_names_are_checked_and_kept_in_lower_case() {
        assert_eq!(name("Acme.Example").as_str(), "acme.example");
        assert_eq!(name("shop.acme.co.uk").tld(), "uk");
        assert_eq!(name("xn--bcher-kva.example").tld(), "example");
        for bad in [
            "example",
            "",
            "acme..example",
            "-acme.example",
            "192.0.2.1",
            "acme.example.",
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_longest_matching_entry_names_the_service() {
        let directory = RdapDirectory::parse(
            r#"{"version": "1.0", "publication": "2025-11-06T23:00:01Z", "services": [
                [["example", "test"], ["http://rdap.example/", "https://rdap.example/v1"]],
                [["co.example"], ["https://co.rdap.example/"]],
                [["broken"], ["ftp://x/"]]
            ]}"#,
        )
        .unwrap();
        let url = |d: &str| directory.query_url(&name(d)).map(|u| u.to_string());
        assert_eq!(
            url("acme.example").as_deref(),
            Some("https://rdap.example/v1/domain/acme.example"),
            "https preferred, a path kept"
        );
        assert_eq!(
            url("acme.co.example").as_deref(),
            Some("https://co.rdap.example/domain/acme.co.example")
        );
        assert_eq!(url("acme.broken"), None, "no usable URL");
        assert_eq!(
            directory.refusal(&name("shop.de")).unwrap(),
            ".de has no RDAP service in IANA's bootstrap file (published 2025-11-06), so the \
             expiry of shop.de cannot be read"
        );
        let local = BTreeMap::from([("de".to_owned(), base_url("http://127.0.0.1:9").unwrap())]);
        assert_eq!(
            directory
                .with_servers(&local)
                .query_url(&name("shop.de"))
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/domain/shop.de"
        );
    }

    #[test]
    fn the_shipped_file_parses_and_knows_the_big_registries() {
        let shipped = RdapDirectory::parse(SHIPPED_BOOTSTRAP).unwrap();
        assert_eq!(shipped, RdapDirectory::shipped());
        for d in ["acme.com", "acme.org", "acme.net", "acme.app"] {
            assert!(shipped.server_for(&name(d)).is_some(), "{d}");
        }
        assert!(shipped.server_for(&name("acme.de")).is_none());
    }

    #[test]
    fn the_expiry_is_the_expiration_event() {
        let answer = serde_json::json!({"objectClassName": "domain", "events": [
            {"eventAction": "registration", "eventDate": "2020-01-02T03:04:05Z"},
            {"eventAction": "expiration", "eventDate": "2027-01-02T03:04:05Z"}
        ]});
        assert_eq!(
            expiry_of(&answer),
            Ok(Timestamp::parse_rfc3339("2027-01-02T03:04:05Z").unwrap())
        );
        let none = serde_json::json!({"events": [{"eventAction": "registration", "eventDate": "2020-01-02T03:04:05Z"}]});
        assert_eq!(
            expiry_of(&none),
            Err("the RDAP answer gives no expiration date".to_owned())
        );
        assert!(expiry_of(&serde_json::json!({})).is_err());
    }
}
