//! StatusCake's uptime fields and stackwatch's checks, each way: a form as StatusCake takes
//! it becomes a native check body (then read and checked by the domain like any other), and a
//! stored check becomes the object StatusCake answers with. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::domain::{Check, Target};
use crate::store::StatusCakeFields;

/// A form's fields: `contact_groups[]` and `contact_groups` are one field; every value kept.
pub type FormFields = BTreeMap<String, Vec<String>>;

/// Problems by StatusCake field name, as StatusCake answers them.
pub type FieldProblems = BTreeMap<String, Vec<String>>;

/// The status codes a StatusCake check can list.
const STATUS_CODES: std::ops::RangeInclusive<u16> = 100..=599;
/// The test types stackwatch has a kind for.
pub const TEST_TYPES: [&str; 7] = ["HTTP", "HEAD", "TCP", "PING", "DNS", "SMTP", "SSH"];
/// The days before expiry a certificate warning is sent when `enable_ssl_alert` is set.
const SSL_ALERT_DAYS: u32 = 14;

/// Parses an `application/x-www-form-urlencoded` body.
pub fn parse_form(body: &[u8]) -> FormFields {
    let mut fields = FormFields::new();
    for (key, value) in url::form_urlencoded::parse(body) {
        let key = key.strip_suffix("[]").unwrap_or(&key).to_owned();
        fields.entry(key).or_default().push(value.into_owned());
    }
    fields
}

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
/// over them) into a native body. `contacts` are the configured contact names.
pub fn translate(
    form: &FormFields,
    contacts: &BTreeSet<String>,
) -> Result<Translated, FieldProblems> {
    let mut t = Reader {
        form,
        problems: FieldProblems::new(),
    };
    let mut body = Map::new();
    let name = t.text("name");
    match name.as_deref().map(str::trim) {
        None | Some("") => t.problem("name", "is required"),
        Some(name) => {
            body.insert("display_name".into(), json!(name));
        }
    }
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
            http_fields(&mut t, &mut body, test_type.as_deref() == Some("HEAD"));
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
    if let Some(confirmation) = t.int("confirmation") {
        body.insert(
            "failures_to_confirm".into(),
            json!(confirmation.saturating_add(1)),
        );
    }
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
    if let Some(tags) = form.get("tags") {
        body.insert(
            "tags".into(),
            json!(tags.iter().filter(|t| !t.is_empty()).collect::<Vec<_>>()),
        );
    } else if let Some(csv) = t.text("tags_csv") {
        let tags: Vec<&str> = csv
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        body.insert("tags".into(), json!(tags));
    }
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

fn http_fields(t: &mut Reader<'_>, body: &mut Map<String, Value>, head: bool) {
    let mut headers = Map::new();
    if let Some(text) = t.text("custom_header").filter(|h| !h.trim().is_empty()) {
        match serde_json::from_str::<Map<String, Value>>(&text) {
            Ok(object) => {
                for (name, value) in object {
                    match value {
                        Value::String(v) => {
                            headers.insert(name, json!(v));
                        }
                        other => {
                            headers.insert(name, json!(other.to_string()));
                        }
                    }
                }
            }
            Err(_) => t.problem(
                "custom_header",
                "must be a JSON object of header names and values",
            ),
        }
    }
    if let Some(agent) = t.text("user_agent").filter(|a| !a.is_empty()) {
        headers.insert("User-Agent".into(), json!(agent));
    }
    let post_body = t.text("post_body").filter(|b| !b.is_empty());
    let post_raw = t.text("post_raw").filter(|b| !b.is_empty());
    if let Some(json_body) = &post_body {
        if serde_json::from_str::<Value>(json_body).is_err() {
            t.problem("post_body", "must be JSON (use post_raw for other bodies)");
        }
        if !headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
        {
            headers.insert("Content-Type".into(), json!("application/json"));
        }
    }
    let sent = post_body.or(post_raw);
    let method = if head {
        "HEAD"
    } else if sent.is_some() {
        "POST"
    } else {
        "GET"
    };
    body.insert("method".into(), json!(method));
    if let Some(sent) = sent {
        body.insert("body".into(), json!(sent));
    }
    if !headers.is_empty() {
        body.insert("headers".into(), Value::Object(headers));
    }
    let username = t.text("basic_username").filter(|u| !u.is_empty());
    let password = t.text("basic_password").unwrap_or_default();
    if let Some(username) = username {
        body.insert(
            "basic_auth".into(),
            json!({"username": username, "password": password}),
        );
    }
    if let Some(find) = t.text("find_string").filter(|f| !f.is_empty()) {
        let field = if t.flag("do_not_find").unwrap_or(false) {
            "body_not_contains"
        } else {
            "body_contains"
        };
        body.insert(field.into(), json!(find));
    }
    if let Some(follow) = t.flag("follow_redirects") {
        body.insert("follow_redirects".into(), json!(follow));
    }
    if let Some(ssl) = t.flag("enable_ssl_alert") {
        body.insert(
            "cert_expiry_days".into(),
            json!(if ssl { SSL_ALERT_DAYS } else { 0 }),
        );
    }
    let codes = match t.form.get("status_codes") {
        Some(codes) => Some(codes.join(",")),
        None => t.text("status_codes_csv"),
    };
    if let Some(codes) = codes.filter(|c| !c.trim().is_empty()) {
        match alerting_codes(&codes) {
            Ok(alerting) => {
                body.insert("expected_status".into(), json!(passing_ranges(&alerting)));
            }
            Err(reason) => t.problem("status_codes_csv", &reason),
        }
    }
}

/// The codes of a `status_codes_csv`, each 100-599.
fn alerting_codes(csv: &str) -> Result<BTreeSet<u16>, String> {
    let mut codes = BTreeSet::new();
    for part in csv.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<u16>() {
            Ok(code) if STATUS_CODES.contains(&code) => {
                codes.insert(code);
            }
            _ => return Err(format!("{part:?} is not a status code 100-599")),
        }
    }
    if codes.len() == STATUS_CODES.len() {
        return Err("lists every status code, so no answer could be up".into());
    }
    Ok(codes)
}

/// The codes StatusCake does not alert on, as stackwatch's `expected_status` items.
fn passing_ranges(alerting: &BTreeSet<u16>) -> Vec<Value> {
    let mut ranges = Vec::new();
    let mut start: Option<u16> = None;
    for code in STATUS_CODES.chain(std::iter::once(600)) {
        let passes = code <= 599 && !alerting.contains(&code);
        match (passes, start) {
            (true, None) => start = Some(code),
            (false, Some(first)) => {
                let last = code - 1;
                ranges.push(if first == last {
                    json!(first)
                } else {
                    json!(format!("{first}-{last}"))
                });
                start = None;
            }
            _ => {}
        }
    }
    ranges
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

/// The native keys each StatusCake field sets (the target's keys come with `test_type` and
/// `website_url`, which may change the kind).
fn native_keys(field: &str) -> &'static [&'static str] {
    match field {
        "name" => &["display_name"],
        "check_rate" => &["check_rate"],
        "timeout" => &["timeout"],
        "confirmation" => &["failures_to_confirm"],
        "contact_groups" => &["contacts"],
        "tags" | "tags_csv" => &["tags"],
        "custom_header" | "user_agent" => &["headers"],
        "post_body" | "post_raw" => &["method", "body", "headers"],
        "basic_username" | "basic_password" => &["basic_auth"],
        "find_string" | "do_not_find" => &["body_contains", "body_not_contains"],
        "follow_redirects" => &["follow_redirects"],
        "enable_ssl_alert" => &["cert_expiry_days"],
        "status_codes" | "status_codes_csv" => &["expected_status"],
        "port" => &["port"],
        "dns_ips" => &["expect"],
        "dns_server" => &["nameserver"],
        _ => &[],
    }
}

/// An update's native body: the stored check's own (so fields StatusCake has no word for —
/// stack, retry_interval, verify_tls… — stay as they are), with what the request's fields
/// map to taken from `translated` (the whole form read with the request laid over it).
pub fn updated_body(
    mut stored: Map<String, Value>,
    translated: &Map<String, Value>,
    request: &FormFields,
) -> Map<String, Value> {
    let take = |key: &str, stored: &mut Map<String, Value>| match translated.get(key) {
        Some(value) => {
            stored.insert(key.to_owned(), value.clone());
        }
        None => {
            stored.remove(key);
        }
    };
    let retargeted = request.contains_key("test_type") || request.contains_key("website_url");
    if retargeted && stored.get("kind") != translated.get("kind") {
        // Another kind: only the common fields carry over.
        let common = [
            "check_rate",
            "timeout",
            "failures_to_confirm",
            "successes_to_recover",
            "retry_interval",
            "contacts",
            "reminder_every",
            "stack",
            "tags",
            "display_name",
        ];
        stored.retain(|k, _| common.contains(&k.as_str()));
        for (key, value) in translated {
            if !common.contains(&key.as_str()) {
                stored.insert(key.clone(), value.clone());
            }
        }
    } else if retargeted {
        for key in ["kind", "url", "host", "method"] {
            take(key, &mut stored);
        }
    }
    for field in request.keys() {
        for key in native_keys(field) {
            take(key, &mut stored);
        }
    }
    stored
}

struct Reader<'a> {
    form: &'a FormFields,
    problems: FieldProblems,
}

impl Reader<'_> {
    fn problem(&mut self, field: &str, reason: &str) {
        self.problems
            .entry(field.to_owned())
            .or_default()
            .push(reason.to_owned());
    }

    /// The field's last value.
    fn text(&self, field: &str) -> Option<String> {
        self.form.get(field).and_then(|v| v.last()).cloned()
    }

    fn int(&mut self, field: &str) -> Option<u32> {
        let text = self.text(field)?;
        match text.trim().parse::<u32>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem(field, &format!("must be a whole number (got {text:?})"));
                None
            }
        }
    }

    fn flag(&mut self, field: &str) -> Option<bool> {
        let text = self.text(field)?;
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" | "" => Some(false),
            _ => {
                self.problem(field, &format!("must be true or false (got {text:?})"));
                None
            }
        }
    }
}

/// The StatusCake fields of a stored check, as a form that [`translate`] reads back into
/// the same check: the base an update lays its fields over.
pub fn form_of(check: &Check, kept: Option<&StatusCakeFields>) -> FormFields {
    let mut form = FormFields::new();
    let view = view_of(check, kept);
    let Value::Object(view) = view else {
        return form;
    };
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    for (key, value) in &view {
        match (key.as_str(), value) {
            (
                "id" | "status" | "uptime" | "servers" | "processing" | "last_tested_at" | "method",
                _,
            ) => {}
            ("status_codes", Value::Array(codes)) => {
                let csv: Vec<String> = codes.iter().filter_map(scalar).collect();
                form.insert("status_codes_csv".into(), vec![csv.join(",")]);
            }
            ("contact_groups", Value::Array(_)) if check.spec.contacts.is_none() => {}
            (_, Value::Array(items)) => {
                form.insert(key.clone(), items.iter().filter_map(scalar).collect());
            }
            (_, Value::Null) => {}
            (_, other) => {
                if let Some(text) = scalar(other) {
                    form.insert(key.clone(), vec![text]);
                }
            }
        }
    }
    if let Some(auth) = check.spec.http().and_then(|h| h.basic_auth.as_ref()) {
        form.insert("basic_password".into(), vec![auth.password.clone()]);
    }
    form
}

/// The object StatusCake answers for an uptime check (without the live figures, which the
/// caller adds: `status`, `uptime`, `last_tested_at`).
pub fn view_of(check: &Check, kept: Option<&StatusCakeFields>) -> Value {
    let spec = &check.spec;
    let mut view = json!({
        "id": check.id.0.to_string(),
        "name": spec.display_name.clone().unwrap_or_else(|| check.name.to_string()),
        "check_rate": spec.check_rate,
        "confirmation": spec.failures_to_confirm.saturating_sub(1),
        "contact_groups": spec.contacts.iter().flatten().map(|c| contact_group_id(c.as_str())).collect::<Vec<_>>(),
        "paused": check.paused,
        "tags": spec.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "timeout": spec.timeout,
        "trigger_rate": 0,
        "include_header": false,
        "use_jar": false,
        "processing": false,
        "servers": [{"description": "stackwatch", "region": "stackwatch", "region_code": "stackwatch", "status": "up"}],
        "regions": [],
        "dns_ips": [],
        "status_codes": [],
        "do_not_find": false,
        "enable_ssl_alert": false,
        "follow_redirects": false,
    });
    let Value::Object(object) = &mut view else {
        return view;
    };
    match &spec.target {
        Target::Http(http) => {
            let head = http.method.as_str() == "HEAD";
            object.insert(
                "test_type".into(),
                json!(if head { "HEAD" } else { "HTTP" }),
            );
            object.insert("website_url".into(), json!(http.url));
            let mut headers = Map::new();
            for (name, value) in &http.headers {
                if name.eq_ignore_ascii_case("user-agent") {
                    object.insert("user_agent".into(), json!(value));
                } else {
                    headers.insert(name.clone(), json!(value));
                }
            }
            if let Some(sent) = &http.body {
                let is_json = http.headers.iter().any(|(k, v)| {
                    k.eq_ignore_ascii_case("content-type") && v.starts_with("application/json")
                });
                if is_json {
                    headers.retain(|k, _| !k.eq_ignore_ascii_case("content-type"));
                    object.insert("post_body".into(), json!(sent));
                } else {
                    object.insert("post_raw".into(), json!(sent));
                }
            }
            if !headers.is_empty() {
                object.insert(
                    "custom_header".into(),
                    json!(Value::Object(headers).to_string()),
                );
            }
            if let Some(auth) = &http.basic_auth {
                object.insert("basic_username".into(), json!(auth.username));
            }
            if let Some(find) = &http.body_not_contains {
                object.insert("find_string".into(), json!(find));
                object.insert("do_not_find".into(), json!(true));
            } else if let Some(find) = &http.body_contains {
                object.insert("find_string".into(), json!(find));
            }
            object.insert("follow_redirects".into(), json!(http.follow_redirects));
            object.insert("enable_ssl_alert".into(), json!(http.cert_expiry_days > 0));
            let alerting: Vec<String> = STATUS_CODES
                .filter(|c| !http.expected_status.contains(*c))
                .map(|c| c.to_string())
                .collect();
            object.insert("status_codes".into(), json!(alerting));
        }
        Target::Tcp(tcp) => {
            object.insert("test_type".into(), json!("TCP"));
            object.insert("website_url".into(), json!(tcp.host));
            object.insert("port".into(), json!(tcp.port));
        }
        Target::Icmp(icmp) => {
            object.insert("test_type".into(), json!("PING"));
            object.insert("website_url".into(), json!(icmp.host));
        }
        Target::Dns(dns) => {
            object.insert("test_type".into(), json!("DNS"));
            object.insert("website_url".into(), json!(dns.host));
            object.insert("dns_ips".into(), json!(dns.expect));
            if let Some(server) = dns.nameserver {
                object.insert("dns_server".into(), json!(server.to_string()));
            }
        }
        Target::Smtp(server) | Target::Ssh(server) => {
            let smtp = matches!(spec.target, Target::Smtp(_));
            object.insert("test_type".into(), json!(if smtp { "SMTP" } else { "SSH" }));
            object.insert("website_url".into(), json!(server.host));
            object.insert("port".into(), json!(server.port));
        }
        Target::Heartbeat(_) => {
            object.insert("test_type".into(), json!("PUSH"));
            object.insert("website_url".into(), json!(""));
        }
    }
    if let Some(kept) = kept {
        for (key, value) in kept {
            object.insert(key.clone(), value.clone());
        }
    }
    view
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
    fn alerting_codes_become_the_passing_ranges_and_back() {
        let alerting = alerting_codes("404, 500,502,503").unwrap();
        assert_eq!(
            passing_ranges(&alerting),
            vec![
                json!("100-403"),
                json!("405-499"),
                json!(501),
                json!("504-599")
            ]
        );
        assert!(alerting_codes("200,abc").is_err());
        assert!(alerting_codes("99").is_err());
        let every: Vec<String> = STATUS_CODES.map(|c| c.to_string()).collect();
        assert!(alerting_codes(&every.join(",")).is_err());
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
    fn contact_group_ids_depend_only_on_the_name() {
        assert_eq!(contact_group_id("ops-slack"), contact_group_id("ops-slack"));
        assert_ne!(contact_group_id("ops-slack"), contact_group_id("ops-email"));
        assert!(contact_group_id("x").chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn a_form_translates_to_a_native_body() {
        let contacts = BTreeSet::from(["ops".to_owned()]);
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
            &contacts,
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
    fn an_update_keeps_what_the_request_does_not_name() {
        let stored = json!({"kind": "http", "url": "http://a/", "method": "GET",
            "retry_interval": 5, "check_rate": 60, "stack": "acme", "cert_expiry_days": 30});
        let translated = json!({"kind": "http", "url": "http://a/", "method": "GET",
            "check_rate": 300, "cert_expiry_days": 14});
        let request = fields(&[("check_rate", "300")]);
        let (Value::Object(stored), Value::Object(translated)) = (stored, translated) else {
            panic!("objects");
        };
        let body = updated_body(stored, &translated, &request);
        assert_eq!(body["check_rate"], 300);
        assert_eq!(body["retry_interval"], 5);
        assert_eq!(body["stack"], "acme");
        assert_eq!(
            body["cert_expiry_days"], 30,
            "not named, so not reset to 14"
        );
    }
}
