//! `stackwatch routes explain CHECK EVENT`: which of the configuration's `[[routes]]` an
//! alert of a check would take, and to which contacts, the check read from a running
//! stackwatch's API and the routes from this configuration.

use anyhow::Context;

use crate::domain::{AlertKind, ContactName, Escalation, Routed, Routing, Subject, Tag, Timestamp};
use crate::settings::Settings;

/// The explanation, a line per fact.
pub async fn explain(
    settings: &Settings,
    base_url: &str,
    token: &str,
    check: &str,
    event: &str,
) -> anyhow::Result<String> {
    let kind = AlertKind::parse(event)
        .filter(|k| !matches!(k, AlertKind::Test | AlertKind::Digest | AlertKind::Group))
        .with_context(|| format!("{event:?} is not an event of a check (down, recovered, reminder, cert_expiring, flapping, settled, acknowledged, escalated)"))?;
    let routing = settings
        .routing()
        .map_err(|problems| anyhow::anyhow!("invalid configuration:\n{}", problems.join("\n")))?;
    let url = format!("{}/api/v1/checks/{check}", base_url.trim_end_matches('/'));
    let answer = reqwest::Client::new()
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach {base_url}"))?;
    let status = answer.status();
    let body = answer
        .bytes()
        .await
        .with_context(|| format!("{base_url} did not answer"))?;
    let view: serde_json::Value =
        serde_json::from_slice(&body).with_context(|| format!("{base_url} did not answer JSON"))?;
    if !status.is_success() {
        anyhow::bail!(
            "{base_url} answered {status}: {}",
            view["detail"].as_str().unwrap_or_default()
        );
    }
    let strings = |key: &str| -> Vec<String> {
        view[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let tags: Vec<Tag> = strings("tags")
        .iter()
        .filter_map(|t| t.parse().ok())
        .collect();
    let own: Option<Vec<ContactName>> = view["contacts"].is_array().then(|| {
        strings("contacts")
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect()
    });
    let subject = Subject {
        stack: view["stack"].as_str(),
        tags: &tags,
        kind: view["kind"].as_str().unwrap_or("http"),
        contacts: own.as_deref(),
    };
    if kind == AlertKind::Escalated {
        return Ok(explain_escalation(&routing, subject, &view, check));
    }
    let routed = routing.route(subject, kind, Timestamp::now());
    let mut lines = vec![format!("{check}, event {}:", kind.as_str())];
    match &routed {
        Routed::Own(contacts) => lines.push(format!(
            "the check names its own contacts, which override every route: {}",
            names(contacts)
        )),
        Routed::Routes(matched, contacts) => {
            for i in matched {
                let carry = routing.routes.get(*i).is_some_and(|r| r.carry_on);
                lines.push(format!(
                    "routes[{i}] matches{}",
                    if carry { " and continues" } else { "" }
                ));
            }
            lines.push(format!("contacts: {}", names(contacts)));
        }
        Routed::Default(contacts) => lines.push(format!(
            "no route matches: alerting.default_contacts: {}",
            names(contacts)
        )),
    }
    Ok(lines.join("\n"))
}

/// "a, b", or "nobody".
fn names(contacts: &[ContactName]) -> String {
    match contacts {
        [] => "nobody".to_owned(),
        all => all
            .iter()
            .map(ContactName::as_str)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Who an outage of the check nobody acknowledged reaches, and when: its own
/// `escalate_after` and `escalate_to` (as the API shows them), else an escalation route.
fn explain_escalation(
    routing: &Routing,
    subject: Subject<'_>,
    view: &serde_json::Value,
    check: &str,
) -> String {
    let mut lines = vec![format!("{check}, event escalated:")];
    let own_minutes = view["escalate_after"].as_u64();
    let own_to: Vec<ContactName> = view["escalate_to"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str()?.parse().ok())
        .collect();
    match (
        own_minutes,
        routing.escalation_route(subject, Timestamp::now()),
    ) {
        (Some(minutes), _) => lines.push(format!(
            "the check names its own escalation, which overrides every route: after {minutes} \
             min to {}",
            names(&own_to)
        )),
        (None, Some(Escalation::Route(i, minutes, contacts))) => {
            lines.push(format!("routes[{i}] escalates after {minutes} min"));
            lines.push(format!("contacts: {}", names(&contacts)));
        }
        (None, _) => {
            lines.push("no escalation: neither the check nor a route escalates".to_owned())
        }
    }
    lines.join("\n")
}
