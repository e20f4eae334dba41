//! StatusCake's HTTP fields (headers, POST bodies, basic auth, find_string, status codes)
//! as stackwatch's HTTP check fields. Pure: no I/O.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::form_reader::{Reader, STATUS_CODES};

/// The days before expiry a certificate warning is sent when `enable_ssl_alert` is set.
const SSL_ALERT_DAYS: u32 = 14;

pub(super) fn http_fields(t: &mut Reader<'_>, body: &mut Map<String, Value>, head: bool) {
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
    // stackwatch's own: StatusCake has no word for credentials on a redirect.
    if let Some(trusted) = t.flag("redirect_credentials") {
        body.insert("redirect_credentials".into(), json!(trusted));
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
