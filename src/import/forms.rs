//! StatusCake's API objects (as its API answers them) as the forms its API takes, so the
//! importer can write them into stackwatch's `/v1`; and contact groups as suggested
//! `[notifiers.…]` blocks. Pure: no I/O.

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

fn strings(value: &Value) -> Vec<String> {
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

/// A contact name from a group's name: `Ops Team` → `ops-team`.
pub fn contact_name(group: &str) -> String {
    let mut name = String::new();
    for c in group.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name: String = name.trim_end_matches('-').chars().take(64).collect();
    if name.is_empty() {
        "contact".into()
    } else {
        name
    }
}

/// Suggested `[notifiers.…]` blocks for a contact group: an email notifier for its
/// addresses; for its ping URL, the notifier of the service it points at (Slack, Discord,
/// Teams, ntfy, PagerDuty, Telegram, Pushover, Opsgenie) or else a webhook; for its
/// integrations, which StatusCake's API names only by id, each kind commented out for the
/// reader to keep the right one. Secrets are left as `${VAR}`.
pub fn notifier_blocks(group: &Value) -> String {
    let name = contact_name(group["name"].as_str().unwrap_or("contact"));
    let var = name.to_uppercase().replace(['-', '.'], "_");
    let mut out = String::new();
    let emails = strings(&group["email_addresses"]);
    if !emails.is_empty() {
        let to: Vec<String> = emails.iter().map(|e| format!("{e:?}")).collect();
        out.push_str(&format!(
            "[notifiers.{name}]\nkind = \"email\"\nsmtp_url = \"${{SMTP_URL}}\"\n\
             password = \"${{SMTP_PASSWORD}}\"\nfrom = \"stackwatch@example.com\"\n\
             to = [{}]\n\n",
            to.join(", ")
        ));
    }
    if let Some(url) = group["ping_url"].as_str().filter(|u| !u.is_empty()) {
        let suffix = if emails.is_empty() { "" } else { "-hook" };
        let block = match service_of(url) {
            Some(kind) => format!(
                "# the group's ping URL is {}'s: its secret goes in the variable\n{}",
                kind.label,
                (kind.block)(&var)
            ),
            None => format!("kind = \"webhook\"\nurl = {url:?}\n"),
        };
        out.push_str(&format!("[notifiers.{name}{suffix}]\n{block}\n"));
    }
    let integrations = strings(&group["integrations"]);
    if !integrations.is_empty() {
        out.push_str(&format!(
            "# {name}: StatusCake's API names its integrations only by id ({}); keep the\n\
             # block of the kind each one is and remove the others:\n",
            integrations.join(", ")
        ));
        for kind in SERVICES {
            out.push_str(&format!("# [notifiers.{name}-{}]\n", kind.suffix));
            for line in (kind.block)(&var).lines() {
                out.push_str(&format!("# {line}\n"));
            }
        }
        out.push('\n');
    }
    if out.is_empty() {
        out = format!("# {name}: no addresses, ping URL or integrations to carry over\n\n");
    }
    out
}

/// A service a contact group may page through, as stackwatch configures it.
struct Service {
    label: &'static str,
    suffix: &'static str,
    /// Hosts of its URLs: exact, or `.suffix` for any host under it.
    hosts: &'static [&'static str],
    /// Its block's lines after the name, with `VAR` the group's variable stem.
    block: fn(&str) -> String,
}

const SERVICES: [Service; 8] = [
    Service {
        label: "Slack",
        suffix: "slack",
        hosts: &["hooks.slack.com"],
        block: |v| format!("kind = \"slack\"\nwebhook_url = \"${{SLACK_WEBHOOK_URL_{v}}}\"\n"),
    },
    Service {
        label: "PagerDuty",
        suffix: "pagerduty",
        hosts: &["events.pagerduty.com", ".pagerduty.com"],
        block: |v| {
            format!("kind = \"pagerduty\"\nrouting_key = \"${{PAGERDUTY_ROUTING_KEY_{v}}}\"\n")
        },
    },
    Service {
        label: "Opsgenie",
        suffix: "opsgenie",
        hosts: &["api.opsgenie.com", "api.eu.opsgenie.com"],
        block: |v| format!("kind = \"opsgenie\"\napi_key = \"${{OPSGENIE_API_KEY_{v}}}\"\n"),
    },
    Service {
        label: "Microsoft Teams",
        suffix: "teams",
        hosts: &[
            ".webhook.office.com",
            ".logic.azure.com",
            ".powerplatform.com",
        ],
        block: |v| format!("kind = \"teams\"\nwebhook_url = \"${{TEAMS_WEBHOOK_URL_{v}}}\"\n"),
    },
    Service {
        label: "Discord",
        suffix: "discord",
        hosts: &["discord.com", "discordapp.com"],
        block: |v| format!("kind = \"discord\"\nwebhook_url = \"${{DISCORD_WEBHOOK_URL_{v}}}\"\n"),
    },
    Service {
        label: "Telegram",
        suffix: "telegram",
        hosts: &["api.telegram.org"],
        block: |v| {
            format!(
                "kind = \"telegram\"\nbot_token = \"${{TELEGRAM_BOT_TOKEN_{v}}}\"\n\
                 chat_id = \"${{TELEGRAM_CHAT_ID_{v}}}\"\n"
            )
        },
    },
    Service {
        label: "Pushover",
        suffix: "pushover",
        hosts: &["api.pushover.net"],
        block: |v| {
            format!(
                "kind = \"pushover\"\ntoken = \"${{PUSHOVER_TOKEN_{v}}}\"\n\
                 user = \"${{PUSHOVER_USER_{v}}}\"\n"
            )
        },
    },
    Service {
        label: "ntfy",
        suffix: "ntfy",
        hosts: &["ntfy.sh"],
        block: |v| format!("kind = \"ntfy\"\ntopic = \"${{NTFY_TOPIC_{v}}}\"\n"),
    },
];

/// The service `url` points at, by its host.
fn service_of(url: &str) -> Option<&'static Service> {
    let host = url::Url::parse(url).ok()?.host_str()?.to_ascii_lowercase();
    SERVICES.iter().find(|s| {
        s.hosts.iter().any(|h| match h.strip_prefix('.') {
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => host == *h,
        })
    })
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

    #[test]
    fn contact_groups_suggest_notifiers_with_secrets_left_as_variables() {
        let blocks = notifier_blocks(&json!({
            "name": "Ops Team", "email_addresses": ["ops@example.com"],
            "ping_url": "https://hooks.example/x", "integrations": ["55"],
        }));
        assert!(blocks.contains("[notifiers.ops-team]\nkind = \"email\""));
        assert!(blocks.contains("to = [\"ops@example.com\"]"));
        assert!(blocks.contains(
            "[notifiers.ops-team-hook]\nkind = \"webhook\"\nurl = \"https://hooks.example/x\""
        ));
        assert!(blocks.contains(
            "# kind = \"pagerduty\"\n# routing_key = \"${PAGERDUTY_ROUTING_KEY_OPS_TEAM}\""
        ));
        assert!(blocks.contains("# [notifiers.ops-team-slack]\n# kind = \"slack\""));
    }

    #[test]
    fn a_ping_url_of_a_known_service_suggests_its_kind_without_its_secret() {
        let blocks = notifier_blocks(&json!({
            "name": "Night", "ping_url": "https://hooks.slack.com/services/T0/B0/s3cr3t",
        }));
        assert!(
            blocks.contains("[notifiers.night]\n# the group's ping URL is Slack's"),
            "{blocks}"
        );
        assert!(blocks.contains("webhook_url = \"${SLACK_WEBHOOK_URL_NIGHT}\""));
        assert!(!blocks.contains("s3cr3t"));
        let teams = notifier_blocks(&json!({
            "name": "Day", "ping_url": "https://prod-01.westeurope.logic.azure.com/workflows/x",
        }));
        assert!(teams.contains("kind = \"teams\""), "{teams}");
    }
}
