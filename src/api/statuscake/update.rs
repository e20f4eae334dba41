//! An update through `/v1`: which native fields each StatusCake field sets, and the native
//! body an update writes — the check's own, with only what the request names replaced.

use serde_json::{Map, Value};

use super::form_reader::FormFields;

/// The native keys each StatusCake field sets (the target's keys come with `test_type` and
/// `website_url`, which may change the kind).
fn native_keys(field: &str) -> &'static [&'static str] {
    match field {
        "name" => &["display_name"],
        "check_rate" => &["check_rate"],
        "timeout" => &["timeout"],
        "confirmation" => &["failures_to_confirm", "quorum"],
        "regions" => &["locations", "quorum", "failures_to_confirm"],
        "contact_groups" => &["contacts"],
        "tags" | "tags_csv" => &["tags"],
        "custom_header" | "user_agent" => &["headers"],
        "post_body" | "post_raw" => &["method", "body", "headers"],
        "basic_username" | "basic_password" => &["basic_auth"],
        "find_string" | "do_not_find" => &["body_contains", "body_not_contains"],
        "follow_redirects" => &["follow_redirects"],
        "redirect_credentials" => &["redirect_credentials"],
        "enable_ssl_alert" | "alert_at" | "alert_expiry" => &["cert_expiry_days"],
        "alert_broken" => &["verify_tls"],
        "status_codes" | "status_codes_csv" => &["expected_status"],
        "port" => &["port"],
        "dns_ips" => &["expect"],
        "dns_server" => &["nameserver"],
        "period" => &["period"],
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
            "flap_threshold",
            "flap_window",
            "escalate_after",
            "escalate_to",
            "depends_on",
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

#[cfg(test)]
mod tests {
    use super::super::form_reader::parse_form;
    use super::*;
    use serde_json::json;

    #[test]
    fn an_update_keeps_what_the_request_does_not_name() {
        let stored = json!({"kind": "http", "url": "http://a/", "method": "GET",
            "retry_interval": 5, "check_rate": 60, "stack": "acme", "cert_expiry_days": 30});
        let translated = json!({"kind": "http", "url": "http://a/", "method": "GET",
            "check_rate": 300, "cert_expiry_days": 14});
        let request = parse_form(b"check_rate=300");
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
