//! StatusCake's API objects (as its API answers them) as the forms its API takes, so the
//! importer can write them into stackwatch's `/v1`. Pure: no I/O.

use std::collections::HashMap;

use serde_json::Value;

/// A form: field names (with `[]` for lists) and values, in order.
pub type Form = Vec<(String, String)>;

/// Scalar uptime fields copied as they are (booleans as `true`/`false`).
const UPTIME_SCALARS: [&str; 22] = [
    "name",
    "test_type",
    "website_url",
    "check_rate",
    "confirmation",
    "timeout",
    "trigger_rate",
    "paused",
    "follow_redirects",
    "redirect_credentials",
    "do_not_find",
    "enable_ssl_alert",
    "include_header",
    "use_jar",
    "find_string",
    "custom_header",
    "user_agent",
    "post_body",
    "post_raw",
    "dns_server",
    "port",
    "basic_username",
];

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(scalar).collect())
        .unwrap_or_default()
}

/// The form that recreates a StatusCake uptime check, and notes on what could not come
/// across. `groups` maps the account's contact-group ids to stackwatch's.
pub fn uptime_form(check: &Value, groups: &HashMap<String, String>) -> (Form, Vec<String>) {
    let mut form = Form::new();
    let mut notes = Vec::new();
    for field in UPTIME_SCALARS {
        if let Some(value) = check.get(field).and_then(scalar) {
            form.push((field.to_owned(), value));
        }
    }
    let codes = strings(&check["status_codes"]);
    if !codes.is_empty() {
        form.push(("status_codes_csv".into(), codes.join(",")));
    }
    for (field, list) in [
        ("tags", "tags[]"),
        ("dns_ips", "dns_ips[]"),
        ("regions", "regions[]"),
    ] {
        for value in strings(&check[field]) {
            form.push((list.to_owned(), value));
        }
    }
    contact_groups(&check["contact_groups"], groups, &mut form, &mut notes);
    if check.get("basic_username").and_then(scalar).is_some() {
        notes.push(
            "StatusCake does not export basic_password: set it again on the check".to_owned(),
        );
    }
    (form, notes)
}

/// The form that recreates a StatusCake heartbeat check.
pub fn heartbeat_form(check: &Value, groups: &HashMap<String, String>) -> (Form, Vec<String>) {
    let mut form = Form::new();
    let mut notes = Vec::new();
    for field in ["name", "period", "paused"] {
        if let Some(value) = check.get(field).and_then(scalar) {
            form.push((field.to_owned(), value));
        }
    }
    for tag in strings(&check["tags"]) {
        form.push(("tags[]".into(), tag));
    }
    contact_groups(&check["contact_groups"], groups, &mut form, &mut notes);
    (form, notes)
}

/// The form that recreates a StatusCake SSL test.
pub fn ssl_form(test: &Value, groups: &HashMap<String, String>) -> (Form, Vec<String>) {
    let mut form = Form::new();
    let mut notes = Vec::new();
    let fields = [
        "website_url",
        "check_rate",
        "alert_broken",
        "alert_expiry",
        "alert_mixed",
        "alert_reminder",
        "follow_redirects",
        "hostname",
        "paused",
        "user_agent",
    ];
    for field in fields {
        if let Some(value) = test.get(field).and_then(scalar) {
            form.push((field.to_owned(), value));
        }
    }
    let days = strings(&test["alert_at"]);
    if !days.is_empty() {
        form.push(("alert_at".into(), days.join(",")));
    }
    contact_groups(&test["contact_groups"], groups, &mut form, &mut notes);
    (form, notes)
}

/// Contact groups mapped to stackwatch's; none at all is sent as an empty list (alert
/// nobody, as StatusCake did); groups with no counterpart are noted and left out.
fn contact_groups(
    value: &Value,
    groups: &HashMap<String, String>,
    form: &mut Form,
    notes: &mut Vec<String>,
) {
    let ids = strings(value);
    let mapped: Vec<&String> = ids.iter().filter_map(|id| groups.get(id)).collect();
    for id in ids.iter().filter(|id| !groups.contains_key(*id)) {
        notes.push(format!(
            "contact group {id} has no stackwatch contact yet (see the suggested notifiers)"
        ));
    }
    if mapped.is_empty() {
        if ids.is_empty() {
            form.push(("contact_groups[]".into(), String::new()));
        }
        // Groups given but none configured here: the default contacts are alerted.
        return;
    }
    for id in mapped {
        form.push(("contact_groups[]".into(), id.clone()));
    }
}

/// The form that recreates a StatusCake maintenance window; `checks` maps the account's
/// check ids to stackwatch's. `None` with a reason when none of its checks came across
/// and it names no tag.
pub fn window_form(window: &Value, checks: &HashMap<String, String>) -> Result<Form, String> {
    let mut form = Form::new();
    for field in ["name", "start_at", "end_at", "timezone", "repeat_interval"] {
        if let Some(value) = window.get(field).and_then(scalar) {
            form.push((field.to_owned(), value));
        }
    }
    let tests = strings(&window["tests"]);
    let mapped: Vec<&String> = tests.iter().filter_map(|id| checks.get(id)).collect();
    let tags = strings(&window["tags"]);
    if mapped.is_empty() && tags.is_empty() {
        return Err("none of its checks came across and it names no tag".to_owned());
    }
    for id in mapped {
        form.push(("tests[]".into(), id.clone()));
    }
    for tag in tags {
        form.push(("tags[]".into(), tag));
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_uptime_object_becomes_the_form_that_recreates_it() {
        let check = json!({
            "id": "111", "name": "Acme :: web", "test_type": "HTTP",
            "website_url": "https://acme.example/", "check_rate": 300, "paused": false,
            "status_codes": ["500", "503"], "tags": ["prod"], "contact_groups": ["7", "8"],
            "basic_username": "u", "servers": [{"region": "London"}], "uptime": 99.9,
        });
        let groups = HashMap::from([("7".to_owned(), "4242".to_owned())]);
        let (form, notes) = uptime_form(&check, &groups);
        let has = |k: &str, v: &str| form.iter().any(|(fk, fv)| fk == k && fv == v);
        assert!(has("name", "Acme :: web") && has("check_rate", "300") && has("paused", "false"));
        assert!(has("status_codes_csv", "500,503") && has("tags[]", "prod"));
        assert!(has("contact_groups[]", "4242"));
        assert!(
            !form
                .iter()
                .any(|(k, _)| k == "uptime" || k == "id" || k == "servers")
        );
        assert_eq!(notes.len(), 2, "{notes:?}: group 8 and the password");
    }

    #[test]
    fn no_contact_groups_means_nobody_as_in_statuscake() {
        let (form, _) = heartbeat_form(
            &json!({"name": "b", "period": 60, "contact_groups": []}),
            &HashMap::new(),
        );
        assert!(form.contains(&("contact_groups[]".to_owned(), String::new())));
    }

    #[test]
    fn a_window_needs_a_check_that_came_across_or_a_tag() {
        let window =
            json!({"name": "w", "start_at": "2026-01-01T00:00:00Z", "tests": ["1"], "tags": []});
        assert!(window_form(&window, &HashMap::new()).is_err());
        let form = window_form(&window, &HashMap::from([("1".into(), "9".into())])).unwrap();
        assert!(form.contains(&("tests[]".to_owned(), "9".to_owned())));
    }
}
