//! The one rule for a check's secrets: which header and query parameter values are secret,
//! what a viewer sees of them, and which credentials a redirect may carry. Every answer,
//! page, metric, log line and alert shows a check through [`Check::shown_to`] or
//! [`CheckSpec::redacted`]; nothing else decides it.

use std::borrow::Cow;

use super::{Check, CheckSpec, HttpTarget};

/// The placeholder shown instead of a secret value.
pub const REDACTED: &str = "<redacted>";

/// Who is looking at a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// An admin token: may read a heartbeat's ping key, to hand it to the job.
    Admin,
    /// A read token, a signed-in viewer, a public page, a metric, a log line or an alert.
    Other,
}

/// Names that are secret in full, beside those holding one of [`SECRET_PARTS`].
const SECRET_NAMES: &[&str] = &["sig", "pw", "pwd", "jwt", "sas"];

/// A header or parameter whose name holds one of these (in any case) carries a secret:
/// `Authorization`, `X-Api-Key`, `Cookie`, `access_token`, `apikey`, `client_secret`, …
const SECRET_PARTS: &[&str] = &[
    "auth",
    "cookie",
    "key",
    "token",
    "secret",
    "pass",
    "signature",
    "session",
    "credential",
];

/// Whether the value of a header or query parameter called `name` is secret: by its name,
/// or because the check marks it secret (`secret_names`).
pub fn is_secret_name(name: &str, marked: &[String]) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_NAMES.contains(&lower.as_str())
        || SECRET_PARTS.iter().any(|part| lower.contains(part))
        || marked.iter().any(|m| m.eq_ignore_ascii_case(name))
}

/// Headers that carry credentials to a host whatever their name; never sent to another
/// origin unless the check allows it.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

/// Whether a header goes only to the origin the check names (curl's and browsers' rule).
pub fn stays_with_origin(name: &str, marked: &[String]) -> bool {
    CREDENTIAL_HEADERS.contains(&name.to_ascii_lowercase().as_str()) || is_secret_name(name, marked)
}

/// `url` with the value of every secret query parameter replaced by [`REDACTED`]; the
/// rest as written.
pub fn redact_url<'a>(url: &'a str, marked: &[String]) -> Cow<'a, str> {
    let Some(start) = url.find('?') else {
        return Cow::Borrowed(url);
    };
    let end = url[start..].find('#').map_or(url.len(), |i| start + i);
    let query = &url[start + 1..end];
    let mut changed = false;
    let pairs: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() && is_secret_name(&decoded(name), marked) => {
                changed = true;
                Cow::Owned(format!("{name}={REDACTED}"))
            }
            _ => Cow::Borrowed(pair),
        })
        .collect();
    if !changed {
        return Cow::Borrowed(url);
    }
    Cow::Owned(format!(
        "{}?{}{}",
        &url[..start],
        pairs.join("&"),
        &url[end..]
    ))
}

/// A query parameter's name as a form decodes it (`%5F` is `_`, `+` a space).
fn decoded(name: &str) -> String {
    url::form_urlencoded::parse(name.as_bytes())
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default()
}

impl HttpTarget {
    /// The URL as it may be shown: secret query values redacted.
    pub fn shown_url(&self) -> Cow<'_, str> {
        redact_url(self.url.as_str(), self.secret_names())
    }

    fn redact(&mut self) {
        if let Cow::Owned(shown) = redact_url(self.url.as_str(), self.secret_names()) {
            self.url = self.url.shown_as(&shown);
        }
        let Some(more) = self.more_given() else {
            return;
        };
        for (name, value) in &mut more.headers {
            if stays_with_origin(name, &more.secret_names) {
                REDACTED.clone_into(value);
            }
        }
        if let Some(auth) = &mut more.basic_auth {
            REDACTED.clone_into(&mut auth.password);
        }
    }

    /// Takes back the stored secrets a client sent as [`REDACTED`] (it re-sent what it
    /// read), so reading a check and writing it back changes nothing.
    fn keep_secrets_of(&mut self, stored: &HttpTarget) {
        if self.url != stored.url && self.url.as_str() == stored.shown_url() {
            self.url.clone_from(&stored.url);
        }
        let (Some(more), kept) = (self.more_given(), stored.more()) else {
            return;
        };
        for (name, value) in &mut more.headers {
            if value == REDACTED
                && let Some(kept) = kept.headers.get(name)
            {
                value.clone_from(kept);
            }
        }
        if let (Some(auth), Some(kept)) = (&mut more.basic_auth, &kept.basic_auth)
            && auth.password == REDACTED
            && auth.username == kept.username
        {
            auth.password.clone_from(&kept.password);
        }
    }
}

impl CheckSpec {
    /// The spec with every secret value replaced by [`REDACTED`]: what anyone is shown.
    pub fn redacted(&self) -> CheckSpec {
        let mut spec = self.clone();
        if let Some(http) = spec.http_mut() {
            http.redact();
        }
        spec
    }

    /// Takes back from `stored` every secret this spec holds as [`REDACTED`].
    pub fn keep_secrets_of(&mut self, stored: &CheckSpec) {
        if let (Some(http), Some(kept)) = (self.http_mut(), stored.http()) {
            http.keep_secrets_of(kept);
        }
    }
}

impl Check {
    /// The check as `viewer` may see it: secrets redacted; the ping key only for admins.
    pub fn shown_to(&self, viewer: Viewer) -> Check {
        let mut check = self.clone();
        check.spec = self.spec.redacted();
        if viewer != Viewer::Admin && check.ping_key.is_some() {
            check.ping_key = Some(REDACTED.into());
        }
        check
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_found_by_their_parts_in_any_case() {
        for name in [
            "Authorization",
            "X-Api-Key",
            "apikey",
            "access_token",
            "Client_Secret",
            "password",
            "sig",
            "X-Signature",
            "Cookie",
            "sessionid",
        ] {
            assert!(is_secret_name(name, &[]), "{name}");
        }
        for name in ["x-trace", "accept", "page", "q", "content-type"] {
            assert!(!is_secret_name(name, &[]), "{name}");
        }
        assert!(is_secret_name("X-Tenant", &["x-tenant".to_owned()]));
    }

    #[test]
    fn urls_lose_only_their_secret_values() {
        let cases = [
            ("https://a.example/x", "https://a.example/x"),
            (
                "https://a.example/x?apikey=s3&page=2",
                "https://a.example/x?apikey=<redacted>&page=2",
            ),
            (
                "https://a.example/?page=2&Access%5FToken=t#frag?token=x",
                "https://a.example/?page=2&Access%5FToken=<redacted>#frag?token=x",
            ),
            ("https://a.example/?token=", "https://a.example/?token="),
            ("https://a.example/?token", "https://a.example/?token"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url, &[]), shown);
        }
        assert_eq!(
            redact_url("https://a.example/?tenant=acme", &["TENANT".to_owned()]),
            "https://a.example/?tenant=<redacted>"
        );
    }

    #[test]
    fn a_redacted_spec_written_back_keeps_the_stored_secrets() {
        let mut stored =
            CheckSpec::with_defaults("https://a.example/?key=s3cret&x=1".parse().unwrap());
        let http = stored.http_mut().unwrap();
        let more = http.more_mut();
        more.headers.insert("x-api-key".into(), "k-123".into());
        more.headers.insert("x-trace".into(), "visible".into());
        more.basic_auth = Some(crate::domain::BasicAuth {
            username: "probe".into(),
            password: "hunter2".into(),
        });
        let shown = stored.redacted();
        let text = serde_json::to_string(&shown).unwrap();
        for secret in ["s3cret", "k-123", "hunter2"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("visible"));
        let mut back = shown.clone();
        back.keep_secrets_of(&stored);
        assert_eq!(back, stored);
    }

    #[test]
    fn only_admins_see_a_ping_key() {
        let check = Check {
            id: crate::domain::CheckId(1),
            name: crate::domain::CheckName::try_from("hb".to_owned()).unwrap(),
            spec: CheckSpec::with_defaults("http://a.example/".parse().unwrap()),
            ping_key: Some("0123abcd".into()),
            paused: false,
            created_at: crate::domain::Timestamp(0),
            updated_at: crate::domain::Timestamp(0),
        };
        assert_eq!(
            check.shown_to(Viewer::Admin).ping_key.as_deref(),
            Some("0123abcd")
        );
        assert_eq!(
            check.shown_to(Viewer::Other).ping_key.as_deref(),
            Some(REDACTED)
        );
    }
}
