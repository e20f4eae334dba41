//! A URL stackwatch can probe: http or https, a host, no credentials, no spaces. Checked
//! once where it is read and kept parsed, so the prober and the alerts never parse it
//! again; written as the exact text the client gave (what is stored is what is probed).

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::field::limits::MAX_URL_BYTES;

/// What [`ProbeUrl::parse`] accepts, loosely, as a pattern for the API's schema.
const URL_PATTERN: &str = "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s@/?#]+([/?#]\\S*)?$";

/// An http or https URL with a host and no credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProbeUrl {
    parsed: Url,
    /// The text as written, when the parser's serialisation differs from it (`HTTPS://A`
    /// is `https://a/`): most URLs are kept once, not twice.
    written: Option<Box<str>>,
}

impl ProbeUrl {
    /// The URL in `text`, or why it cannot be probed.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_URL_BYTES {
            return Err(format!("must be at most {MAX_URL_BYTES} bytes"));
        }
        // What is stored is what is probed: no silent trimming or encoding by the parser.
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(
                "must not contain spaces, line breaks or control characters (percent-encode them)"
                    .to_owned(),
            );
        }
        let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err("must start with http:// or https://".to_owned());
        }
        let parsed = Url::parse(text).map_err(|e| format!("is not a valid URL ({e})"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "scheme must be http or https, not {}",
                parsed.scheme()
            ));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err("must name a host".to_owned());
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("must not contain credentials; use basic_auth".to_owned());
        }
        Ok(Self::new(parsed, text))
    }

    fn new(parsed: Url, text: &str) -> Self {
        let written = (parsed.as_str() != text).then(|| text.into());
        Self { parsed, written }
    }

    /// The URL as the client wrote it.
    pub fn as_str(&self) -> &str {
        self.written.as_deref().unwrap_or(self.parsed.as_str())
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.parsed
    }

    /// `host` or `host:port` (a port only when the URL names one), for people.
    pub fn authority(&self) -> String {
        let host = self.parsed.host_str().unwrap_or_default();
        match self.parsed.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// This URL with its text replaced by `shown` (the same URL with secret values
    /// redacted), or without its query when `shown` does not read as a URL.
    pub(super) fn shown_as(&self, shown: &str) -> Self {
        Self::parse(shown).unwrap_or_else(|_| {
            let mut bare = self.parsed.clone();
            bare.set_query(None);
            bare.set_fragment(None);
            Self {
                parsed: bare,
                written: None,
            }
        })
    }
}

impl fmt::Display for ProbeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ProbeUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }
}

impl TryFrom<String> for ProbeUrl {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl From<ProbeUrl> for String {
    fn from(url: ProbeUrl) -> Self {
        match url.written {
            Some(written) => written.into(),
            None => url.parsed.into(),
        }
    }
}

impl PartialEq<str> for ProbeUrl {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ProbeUrl {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialSchema for ProbeUrl {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(MAX_URL_BYTES))
            .pattern(Some(URL_PATTERN))
            .into()
    }
}

impl ToSchema for ProbeUrl {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ProbeUrl")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_probeable_urls_parse() {
        let cases: &[(&str, bool)] = &[
            ("http://acme.example/", true),
            ("https://acme.example:8443/ready?x=1", true),
            ("http://127.0.0.1:9/", true),
            ("http://[::1]:8080/", true),
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
            let parsed = ProbeUrl::parse(url);
            assert_eq!(parsed.is_ok(), *ok, "{url}: {parsed:?}");
        }
        let long = format!("http://acme.example/{}", "a".repeat(MAX_URL_BYTES));
        assert!(ProbeUrl::parse(&long).is_err());
    }

    #[test]
    fn kept_as_written_with_its_authority() {
        let url = ProbeUrl::parse("HTTPS://Acme.example:8443/a?b=1").unwrap();
        assert_eq!(url.as_str(), "HTTPS://Acme.example:8443/a?b=1");
        assert_eq!(url.authority(), "acme.example:8443");
        assert_eq!(url.url().scheme(), "https");
        assert_eq!(
            ProbeUrl::parse("http://[::1]/").unwrap().authority(),
            "[::1]"
        );
        let json = serde_json::to_string(&url).unwrap();
        assert_eq!(json, "\"HTTPS://Acme.example:8443/a?b=1\"");
        assert_eq!(serde_json::from_str::<ProbeUrl>(&json).unwrap(), url);
        assert!(serde_json::from_str::<ProbeUrl>("\"ftp://x/\"").is_err());
    }
}
