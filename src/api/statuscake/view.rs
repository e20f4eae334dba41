//! Stored checks in StatusCake's shapes: the object `/v1` answers for an uptime or a
//! heartbeat check, and the form an update lays its fields over. Pure: no I/O.

use serde_json::{Map, Value, json};

use super::form_reader::{FormFields, STATUS_CODES};
use super::translate::contact_group_id;
use crate::domain::{Check, Target};
use crate::store::StatusCakeFields;

/// The StatusCake fields of a stored check, as a form that [`translate`] reads back into
/// the same check: the base an update lays its fields over.
pub fn form_of(check: &Check, kept: Option<&StatusCakeFields>) -> FormFields {
    let mut form = FormFields::new();
    let view = view_of(check, kept, &[]);
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
            ("contact_groups", Value::Array(_)) if check.spec.contacts().is_none() => {}
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
    if let Some(auth) = check.spec.http().and_then(|h| h.basic_auth()) {
        form.insert("basic_password".into(), vec![auth.password.clone()]);
    }
    // The check's own figures, not the view's nearest StatusCake values: an update that
    // does not name them leaves them as they are.
    let spec = &check.spec;
    let own = [
        ("check_rate", spec.check_rate()),
        ("timeout", spec.timeout()),
        ("confirmation", confirmation(check)),
    ];
    for (field, value) in own {
        form.insert(field.into(), vec![value.to_string()]);
    }
    form
}

/// The rates StatusCake's models allow for an uptime check, in seconds (0: constant).
const UPTIME_RATES: [u32; 8] = [0, 30, 60, 300, 900, 1800, 3600, 86400];

/// A check rate as the nearest rate StatusCake's models allow that probes at least as
/// often: 10-29 s is "constant" (0), 120 s shows as 60.
pub(super) fn nearest_rate(rate: u32, rates: &[u32]) -> u32 {
    rates
        .iter()
        .copied()
        .filter(|r| *r <= rate)
        .max()
        .or_else(|| rates.first().copied())
        .unwrap_or(rate)
}

/// StatusCake's `confirmation`: the further probes (or, from several locations, the
/// further locations) that confirm a failure.
fn confirmation(check: &Check) -> u32 {
    let spec = &check.spec;
    match (spec.locations(), spec.quorum()) {
        (Some(list), quorum) if list.len() > 1 => quorum
            .unwrap_or_else(|| crate::domain::majority(list.len()))
            .saturating_sub(1),
        _ => spec.failures_to_confirm().saturating_sub(1),
    }
}

/// The ids of the contact groups a check alerts: its own contacts, or else the defaults
/// (StatusCake has no "default": a check alerts exactly the groups it lists).
fn contact_groups(check: &Check, defaults: &[String]) -> Vec<String> {
    match &check.spec.contacts() {
        Some(own) => own.iter().map(|c| contact_group_id(c.as_str())).collect(),
        None => defaults.iter().map(|c| contact_group_id(c)).collect(),
    }
}

/// The object StatusCake answers for an uptime check (without the live figures, which the
/// caller adds: `status`, `uptime`, `last_tested_at`).
pub fn view_of(check: &Check, kept: Option<&StatusCakeFields>, defaults: &[String]) -> Value {
    let spec = &check.spec;
    let mut view = json!({
        "id": check.id.0.to_string(),
        "name": spec.display_name().map_or_else(|| check.name.to_string(), str::to_owned),
        // StatusCake's models bound these; the check's own figures may lie outside.
        "check_rate": nearest_rate(spec.check_rate(), &UPTIME_RATES),
        "confirmation": confirmation(check).min(3),
        "contact_groups": contact_groups(check, defaults),
        "paused": check.paused,
        "tags": spec.tags().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "timeout": spec.timeout().clamp(5, 75),
        "trigger_rate": 0,
        "include_header": false,
        "use_jar": false,
        "processing": false,
        "servers": match spec.locations() {
            Some(list) => list
                .iter()
                .map(|l| json!({"description": l.as_str(), "region": l.as_str(), "region_code": l.as_str(), "status": "up"}))
                .collect::<Vec<_>>(),
            None => vec![json!({"description": "stackwatch", "region": "stackwatch", "region_code": "stackwatch", "status": "up"})],
        },
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
    match &spec.target() {
        Target::Http(http) => {
            let head = http.method().as_str() == "HEAD";
            object.insert(
                "test_type".into(),
                json!(if head { "HEAD" } else { "HTTP" }),
            );
            object.insert("website_url".into(), json!(http.url()));
            let mut headers = Map::new();
            for (name, value) in http.headers() {
                if name.eq_ignore_ascii_case("user-agent") {
                    object.insert("user_agent".into(), json!(value));
                } else {
                    headers.insert(name.clone(), json!(value));
                }
            }
            if let Some(sent) = &http.body() {
                let is_json = http.headers().iter().any(|(k, v)| {
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
            if let Some(auth) = &http.basic_auth() {
                object.insert("basic_username".into(), json!(auth.username));
            }
            if let Some(find) = &http.body_not_contains() {
                object.insert("find_string".into(), json!(find));
                object.insert("do_not_find".into(), json!(true));
            } else if let Some(find) = &http.body_contains() {
                object.insert("find_string".into(), json!(find));
            }
            object.insert("follow_redirects".into(), json!(http.follow_redirects()));
            object.insert(
                "redirect_credentials".into(),
                json!(http.redirect_credentials()),
            );
            object.insert(
                "enable_ssl_alert".into(),
                json!(http.cert_expiry_days() > 0),
            );
            let alerting: Vec<String> = STATUS_CODES
                .filter(|c| !http.expected_status().contains(*c))
                .map(|c| c.to_string())
                .collect();
            object.insert("status_codes".into(), json!(alerting));
        }
        Target::Tcp(tcp) => {
            object.insert("test_type".into(), json!("TCP"));
            object.insert("website_url".into(), json!(tcp.host()));
            object.insert("port".into(), json!(tcp.port()));
        }
        Target::Icmp(icmp) => {
            object.insert("test_type".into(), json!("PING"));
            object.insert("website_url".into(), json!(icmp.host()));
        }
        Target::Dns(dns) => {
            object.insert("test_type".into(), json!("DNS"));
            object.insert("website_url".into(), json!(dns.host()));
            object.insert("dns_ips".into(), json!(dns.expect()));
            if let Some(server) = dns.nameserver() {
                object.insert("dns_server".into(), json!(server.to_string()));
            }
        }
        Target::Smtp(server) | Target::Ssh(server) => {
            let smtp = matches!(spec.target(), Target::Smtp(_));
            object.insert("test_type".into(), json!(if smtp { "SMTP" } else { "SSH" }));
            object.insert("website_url".into(), json!(server.host()));
            object.insert("port".into(), json!(server.port()));
        }
        // Neither is listed among uptime checks (see `uptime_of`).
        Target::Heartbeat(_) | Target::Domain(_) => {
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

/// A heartbeat's period in seconds.
pub(super) fn period_of(check: &Check) -> u32 {
    match &check.spec.target() {
        Target::Heartbeat(h) => h.period(),
        _ => 0,
    }
}

/// The object StatusCake answers for a heartbeat check (without the live figures).
/// `ping_url` is the URL its job calls (with the key hidden from a read token).
pub fn heartbeat_view_of(check: &Check, ping_url: String, defaults: &[String]) -> Value {
    let spec = &check.spec;
    json!({
        "id": check.id.0.to_string(),
        "name": spec.display_name().map_or_else(|| check.name.to_string(), str::to_owned),
        "url": ping_url,
        // StatusCake's models bound a period to 30 s - 2 days; the check's own may be longer.
        "period": period_of(check).clamp(30, 172_800),
        "contact_groups": contact_groups(check, defaults),
        "paused": check.paused,
        "tags": spec.tags().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_show_as_the_nearest_statuscake_rate_that_probes_as_often() {
        let shown = |rate| nearest_rate(rate, &UPTIME_RATES);
        assert_eq!(
            [shown(10), shown(29), shown(30), shown(120)],
            [0, 0, 30, 60]
        );
        assert_eq!([shown(300), shown(7200), shown(90000)], [300, 3600, 86400]);
        assert_eq!(nearest_rate(60, &[300, 600]), 300);
    }
}
