//! StatusCake's uptime fields and stackwatch's checks, each way: a form as StatusCake takes
//! it becomes a native check body (then read and checked by the domain like any other), and a
//! stored check becomes the object StatusCake answers with. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::form_reader::{FieldProblems, FormFields, Reader};
use crate::domain::Registry;
use crate::store::StatusCakeFields;

/// The test types stackwatch has a kind for.
pub const TEST_TYPES: [&str; 7] = ["HTTP", "HEAD", "TCP", "PING", "DNS", "SMTP", "SSH"];

/// The stable id `/v1` gives the contact named `name` (FNV-1a, 32 bits, in decimal): the
/// same for the same name whatever else is configured.
pub fn contact_group_id(name: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash.to_string()
}

/// What a form asks for, in stackwatch's terms.
#[derive(Debug, Default)]
pub struct Translated {
    /// The check's body for the native reader (`kind`, `url`, …, `display_name`).
    pub body: Map<String, Value>,
    pub paused: Option<bool>,
    /// The fields kept beside the check.
    pub kept: StatusCakeFields,
}

/// Translates a whole form (for an update: the check's current fields with the form's laid
/// over them) into a native body. `known` names the configured contacts and locations.
pub fn translate(form: &FormFields, known: Registry<'_>) -> Result<Translated, FieldProblems> {
    let contacts = known.contacts;
    let (mut t, mut body) = Reader::start(form);
    let test_type = t.text("test_type").map(|s| s.to_ascii_uppercase());
    let url = t.text("website_url").filter(|u| !u.trim().is_empty());
    if url.is_none() {
        t.problem("website_url", "is required");
    }
    let url = url.unwrap_or_default();
    match test_type.as_deref() {
        None => t.problem("test_type", "is required"),
        Some("HTTP") | Some("HEAD") => {
            body.insert("kind".into(), json!("http"));
            body.insert("url".into(), json!(url));
            super::translate_http::http_fields(
                &mut t,
                &mut body,
                test_type.as_deref() == Some("HEAD"),
            );
        }
        Some("TCP") => {
            body.insert("kind".into(), json!("tcp"));
            body.insert("host".into(), json!(host_of(&url)));
            match t.int("port") {
                Some(port) => {
                    body.insert("port".into(), json!(port));
                }
                None => t.problem("port", "is required for TCP checks"),
            }
        }
        Some(kind @ ("SMTP" | "SSH")) => {
            body.insert("kind".into(), json!(kind.to_ascii_lowercase()));
            body.insert("host".into(), json!(host_of(&url)));
            if let Some(port) = t.int("port") {
                body.insert("port".into(), json!(port));
            }
        }
        Some("PING") => {
            body.insert("kind".into(), json!("icmp"));
            body.insert("host".into(), json!(host_of(&url)));
        }
        Some("DNS") => {
            body.insert("kind".into(), json!("dns"));
            body.insert("host".into(), json!(host_of(&url)));
            if let Some(ips) = t.form.get("dns_ips").filter(|v| !v.is_empty()) {
                body.insert("expect".into(), json!(ips));
            }
            if let Some(server) = t.text("dns_server").filter(|s| !s.is_empty()) {
                body.insert("nameserver".into(), json!(server));
            }
        }
        Some(other) => t.problem(
            "test_type",
            &format!(
                "{other} checks are not available in stackwatch (available: {})",
                TEST_TYPES.join(", ")
            ),
        ),
    }
    if let Some(rate) = t.int("check_rate") {
        // 0 is StatusCake's "constant"; stackwatch's shortest rate is 10 s.
        body.insert("check_rate".into(), json!(rate.max(10)));
    }
    if let Some(timeout) = t.int("timeout") {
        body.insert("timeout".into(), json!(timeout));
    }
    // Regions that name known locations probe from there; a failure is then confirmed by
    // `confirmation` more of them (the quorum), as StatusCake's servers confirm each
    // other's. From one location, confirmations are repeated probes.
    let locations = regions_as_locations(form, known.locations);
    let confirmation = t.int("confirmation");
    if locations.len() > 1 {
        if let Some(confirmation) = confirmation {
            let n = u32::try_from(locations.len()).unwrap_or(u32::MAX);
            body.insert(
                "quorum".into(),
                json!(confirmation.saturating_add(1).clamp(1, n)),
            );
        }
    } else if let Some(confirmation) = confirmation {
        body.insert(
            "failures_to_confirm".into(),
            json!(confirmation.saturating_add(1)),
        );
    }
    if !locations.is_empty() {
        body.insert("locations".into(), json!(locations));
    }
    common_fields(&mut t, &mut body, contacts);
    let paused = t.flag("paused");
    let mut kept = StatusCakeFields::new();
    if let Some(regions) = form.get("regions") {
        kept.insert("regions".into(), json!(regions));
    }
    if let Some(minutes) = t.int("trigger_rate") {
        kept.insert("trigger_rate".into(), json!(minutes));
    }
    for flag in ["include_header", "use_jar"] {
        if let Some(value) = t.flag(flag) {
            kept.insert(flag.into(), json!(value));
        }
    }
    if t.problems.is_empty() {
        Ok(Translated { body, paused, kept })
    } else {
        Err(t.problems)
    }
}

/// The known locations a form's `regions` name (lowercased, other characters as `-`:
/// `Frankfurt` names `frankfurt`); regions that name none are only kept.
fn regions_as_locations(form: &FormFields, known: &BTreeSet<String>) -> Vec<String> {
    let mut found: Vec<String> = form
        .get("regions")
        .into_iter()
        .flatten()
        .map(|region| {
            region
                .trim()
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect::<String>()
        })
        .filter(|region| known.contains(region))
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The fields uptime and heartbeat checks share: contact groups and tags.
pub(super) fn common_fields(
    t: &mut Reader<'_>,
    body: &mut Map<String, Value>,
    contacts: &BTreeSet<String>,
) {
    let form = t.form;
    if let Some(groups) = form.get("contact_groups") {
        let by_id: BTreeMap<String, &String> =
            contacts.iter().map(|c| (contact_group_id(c), c)).collect();
        let mut names = Vec::new();
        for id in groups.iter().filter(|g| !g.is_empty()) {
            match by_id.get(id) {
                Some(name) => names.push(json!(name)),
                None => t.problem("contact_groups", &format!("no contact group has id {id}")),
            }
        }
        body.insert("contacts".into(), Value::Array(names));
    }
    let tags: Option<Vec<String>> = match (form.get("tags"), t.text("tags_csv")) {
        (Some(tags), _) => Some(tags.clone()),
        (None, Some(csv)) => Some(csv.split(',').map(str::to_owned).collect()),
        (None, None) => None,
    };
    if let Some(tags) = tags {
        let tags: Vec<String> = tags.iter().filter_map(|t| tag_of(t)).collect();
        body.insert("tags".into(), json!(tags));
    }
}

/// Translates a heartbeat form (`name`, `period`, `contact_groups[]`, `tags[]`, `paused`).
pub fn translate_heartbeat(
    form: &FormFields,
    contacts: &BTreeSet<String>,
) -> Result<Translated, FieldProblems> {
    let (mut t, mut body) = Reader::start(form);
    body.insert("kind".into(), json!("heartbeat"));
    match t.int("period") {
        Some(period) => {
            body.insert("period".into(), json!(period));
        }
        None if !t.problems.contains_key("period") => t.problem("period", "is required"),
        None => {}
    }
    common_fields(&mut t, &mut body, contacts);
    let paused = t.flag("paused");
    if t.problems.is_empty() {
        Ok(Translated {
            body,
            paused,
            kept: StatusCakeFields::new(),
        })
    } else {
        Err(t.problems)
    }
}

/// A StatusCake tag (free text) as a stackwatch tag: lowercased, each character outside
/// `[a-z0-9._:=-]` a `-`, at most 64 characters (`Production EU` → `production-eu`).
pub fn tag_of(text: &str) -> Option<String> {
    let mut tag = String::new();
    for c in text.trim().chars().flat_map(char::to_lowercase) {
        let keep = c.is_ascii_alphanumeric() || "._:=-".contains(c);
        tag.push(if keep { c } else { '-' });
    }
    let tag: String = tag
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .take(64)
        .collect();
    (!tag.is_empty()).then_some(tag)
}

/// A host from a `website_url` that may be a URL (`tcp://h:1`, `https://h/…`) or a host.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if let Some(inner) = host.strip_prefix('[') {
        return inner.split(']').next().unwrap_or(inner).to_owned();
    }
    match host.split_once(':') {
        Some((h, port)) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => {
            h.to_owned()
        }
        _ => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> FormFields {
        let mut form = FormFields::new();
        for (k, v) in pairs {
            form.entry((*k).to_owned())
                .or_default()
                .push((*v).to_owned());
        }
        form
    }

    #[test]
    fn hosts_come_out_of_urls_and_addresses() {
        assert_eq!(host_of("db.example.com"), "db.example.com");
        assert_eq!(host_of("tcp://10.0.0.1:5432"), "10.0.0.1");
        assert_eq!(host_of("https://example.com:8443/x"), "example.com");
        assert_eq!(host_of("[::1]:22"), "::1");
        assert_eq!(host_of("::1"), "::1");
    }

    #[test]
    fn free_text_tags_become_stackwatch_tags() {
        assert_eq!(tag_of("Production EU").as_deref(), Some("production-eu"));
        assert_eq!(tag_of("env:prod").as_deref(), Some("env:prod"));
        assert_eq!(tag_of(" #web").as_deref(), Some("web"));
        assert_eq!(tag_of("  "), None);
    }

    #[test]
    fn contact_group_ids_depend_only_on_the_name() {
        assert_eq!(contact_group_id("ops-slack"), contact_group_id("ops-slack"));
        assert_ne!(contact_group_id("ops-slack"), contact_group_id("ops-email"));
        assert!(contact_group_id("x").chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn a_form_translates_to_a_native_body() {
        let contacts = BTreeSet::from(["ops".to_owned()]);
        let locations = BTreeSet::from(["local".to_owned()]);
        let rdap = crate::domain::RdapDirectory::shipped();
        let known = Registry {
            contacts: &contacts,
            locations: &locations,
            rdap: &rdap,
        };
        let t = translate(
            &fields(&[
                ("name", "Shop"),
                ("test_type", "http"),
                ("website_url", "https://shop.example/health"),
                ("check_rate", "0"),
                ("confirmation", "0"),
                ("post_body", r#"{"a": 1}"#),
                ("find_string", "down"),
                ("do_not_find", "1"),
                ("contact_groups", &contact_group_id("ops")),
                ("trigger_rate", "10"),
            ]),
            known,
        )
        .unwrap();
        let b = &t.body;
        assert_eq!(b["kind"], "http");
        assert_eq!(b["display_name"], "Shop");
        assert_eq!(
            b["check_rate"], 10,
            "StatusCake's 0 (constant) is the shortest rate"
        );
        assert_eq!(b["failures_to_confirm"], 1);
        assert_eq!(
            (&b["method"], &b["body"]),
            (&json!("POST"), &json!(r#"{"a": 1}"#))
        );
        assert_eq!(b["headers"]["Content-Type"], "application/json");
        assert_eq!(b["body_not_contains"], "down");
        assert_eq!(b["contacts"], json!(["ops"]));
        assert_eq!(t.kept["trigger_rate"], 10);
    }

    #[test]
    fn regions_naming_locations_probe_from_there_and_confirmation_is_their_quorum() {
        let contacts = BTreeSet::new();
        let locations = BTreeSet::from(["local".to_owned(), "fra".to_owned(), "nyc".to_owned()]);
        let rdap = crate::domain::RdapDirectory::shipped();
        let known = Registry {
            contacts: &contacts,
            locations: &locations,
            rdap: &rdap,
        };
        let form = |regions: &[&str], confirmation: &str| {
            let mut f = fields(&[
                ("name", "Shop"),
                ("test_type", "HTTP"),
                ("website_url", "https://shop.example/health"),
                ("confirmation", confirmation),
            ]);
            f.insert(
                "regions".into(),
                regions.iter().map(|r| (*r).to_owned()).collect(),
            );
            translate(&f, known).unwrap()
        };
        let t = form(&["FRA", "nyc", "london"], "1");
        assert_eq!(t.body["locations"], json!(["fra", "nyc"]));
        assert_eq!(t.body["quorum"], 2);
        assert!(t.body.get("failures_to_confirm").is_none());
        assert_eq!(t.kept["regions"], json!(["FRA", "nyc", "london"]));
        assert_eq!(
            form(&["fra", "nyc"], "3").body["quorum"],
            2,
            "at most every location"
        );
        // One location (or none known): confirmations are repeated probes, as before.
        let one = form(&["london"], "2");
        assert!(one.body.get("locations").is_none());
        assert_eq!(one.body["failures_to_confirm"], 3);
    }
}
