//! StatusCake's contact groups as stackwatch contacts: their names, and suggested
//! `[notifiers.…]` blocks for the configuration. Pure: no I/O.

use serde_json::Value;

use super::forms::strings;

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
    use serde_json::json;

    use super::*;

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
