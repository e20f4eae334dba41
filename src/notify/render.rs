//! The words of every alert, shared by every medium: its title and its body, one fact a
//! line, and the helpers that fit them to a medium's limits. Each kind of notifier shapes
//! them for its medium in its own file. Pure: `now` is a parameter, so relative times are
//! testable.

use super::AlertMessage;
use crate::domain::{AlertKind, Health, Timestamp, ago, duration_text};

/// The mark left where text was cut to fit a medium.
const CUT_MARK: &str = "… [cut]";

/// Short title: `[DOWN] acme-readiness`, at most `max` characters: a title that would be
/// longer loses its trailing words, never the event or the check's name (names are at most
/// 128 characters, so the shortest form always fits 150).
pub fn title_within(message: &AlertMessage, max: usize) -> String {
    let full = title(message);
    if full.chars().count() <= max {
        return full;
    }
    match message.kind {
        AlertKind::Reminder => format!("[REMINDER] {}", message.check),
        _ => cut_to(&full, max),
    }
}

/// `text` cut to at most `max` characters, ending with the cut mark when cut; never inside
/// an HTML entity (`&amp;`) that escaping made.
pub(super) fn cut_to(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let keep = max.saturating_sub(CUT_MARK.chars().count());
    let mut end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
    if let Some(amp) = text[..end].rfind('&')
        && !text[amp..end].contains(';')
    {
        end = amp;
    }
    format!("{}{CUT_MARK}", &text[..end])
}

/// Lines joined, cut to `max` characters by cutting the longest line (a URL, a target's
/// text) at its end, so each line keeps its beginning: the first says the check and the
/// event before any outside text.
pub(super) fn fit_lines(lines: &[String], max: usize) -> String {
    let mut lines: Vec<String> = lines.to_vec();
    let total = |lines: &[String]| {
        lines.iter().map(|l| l.chars().count()).sum::<usize>() + lines.len().saturating_sub(1)
    };
    while total(&lines) > max {
        let over = total(&lines) - max;
        let Some(longest) = (0..lines.len()).max_by_key(|i| lines[*i].chars().count()) else {
            break;
        };
        let length = lines[longest].chars().count();
        let target = length.saturating_sub(over);
        if target <= CUT_MARK.chars().count() {
            break;
        }
        lines[longest] = cut_to(&lines[longest], target);
    }
    cut_to(&lines.join("\n"), max)
}

/// Short title: `[DOWN] acme-readiness`.
pub fn title(message: &AlertMessage) -> String {
    let check = &message.check;
    match message.kind {
        AlertKind::Down => format!("[DOWN] {check}{}", with_impacted(message)),
        AlertKind::Recovered => format!("[RECOVERED] {check}{}", with_impacted(message)),
        AlertKind::Degraded => format!("[DEGRADED] {check}"),
        AlertKind::Reminder => format!("[REMINDER] {check} is still down"),
        AlertKind::CertExpiring => format!("[CERT EXPIRING] {check}"),
        AlertKind::DomainExpiring => format!("[DOMAIN EXPIRING] {check}"),
        AlertKind::Test => "[TEST] stackwatch".to_owned(),
        AlertKind::Offline => match &message.facts.location {
            Some(location) => format!("[OFFLINE] location {location}: its agent is silent"),
            None => "[OFFLINE] stackwatch cannot reach the network".to_owned(),
        },
        AlertKind::Online => match &message.facts.location {
            Some(location) => format!("[ONLINE] location {location} reports again"),
            None => "[ONLINE] stackwatch reaches the network again".to_owned(),
        },
        AlertKind::Flapping => format!("[FLAPPING] {check}"),
        AlertKind::Settled => match message.facts.health {
            Some(Health::Down) => format!("[SETTLED] {check} is DOWN"),
            _ => format!("[SETTLED] {check} is UP"),
        },
        AlertKind::Acknowledged => format!("[ACKNOWLEDGED] {check}"),
        AlertKind::Escalated => format!("[ESCALATED] {check} is still DOWN"),
        AlertKind::Group => {
            let event = group_event(message);
            let group = group_of(message);
            match message.held.len() {
                1 => format!("[{event}] {group}: 1 check"),
                n => format!("[{event}] {group}: {n} checks"),
            }
        }
        AlertKind::Digest => match message.held.len() {
            1 => "[DIGEST] 1 alert held back".to_owned(),
            n => format!("[DIGEST] {n} alerts held back"),
        },
    }
}

/// "`which` expires in 5 days (…)." or "… expired 2 days ago (…).": a certificate's or a
/// registration's date.
fn expiry_line(which: &str, at: Option<Timestamp>, now: Timestamp) -> String {
    match at {
        Some(t) if t.0 <= now.0 => {
            format!("{which} expired {} ({}).", ago(now.0 - t.0), t.to_rfc3339())
        }
        Some(t) => format!(
            "{which} expires in {} days ({}).",
            (t.0 - now.0) / 86_400_000,
            t.to_rfc3339()
        ),
        None => format!("{which} expires soon."),
    }
}

/// " and 7 checks that rely on it" after a root cause's name; nothing for another check.
fn with_impacted(message: &AlertMessage) -> String {
    match message.facts.impacted.len() {
        0 => String::new(),
        1 => " and 1 check that relies on it".to_owned(),
        n => format!(" and {n} checks that rely on it"),
    }
}

/// The most impacted checks an alert names one by one; the rest are counted.
const IMPACTED_NAMED: usize = 20;

/// "a, b, c" for the impacted checks, the first [`IMPACTED_NAMED`] named.
fn impacted_list(impacted: &[String]) -> String {
    let mut list = impacted
        .iter()
        .take(IMPACTED_NAMED)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if impacted.len() > IMPACTED_NAMED {
        list.push_str(&format!(" and {} more", impacted.len() - IMPACTED_NAMED));
    }
    list
}

/// The body in plain text, one fact a line.
pub fn text(message: &AlertMessage, now: Timestamp) -> String {
    let f = &message.facts;
    let who = match &f.stack {
        Some(stack) => format!("{} (stack {stack})", message.check),
        None => message.check.clone(),
    };
    let cause = f
        .cause
        .as_deref()
        .unwrap_or("it does not answer as expected");
    let since = |t: Timestamp| format!("{} ({})", t.to_rfc3339(), ago(now.0 - t.0));
    let mut lines = match message.kind {
        AlertKind::Down => {
            let mut lines = vec![format!("{who} is DOWN: {cause}.")];
            lines.extend(f.down_since.map(|t| format!("Down since {}.", since(t))));
            lines
        }
        AlertKind::Recovered if f.degraded_since.is_some() => vec![match f.downtime_s {
            Some(s) => format!(
                "{who} answers in time again after {} slow.",
                duration_text(s)
            ),
            None => format!("{who} answers in time again."),
        }],
        AlertKind::Recovered => vec![match f.downtime_s {
            Some(s) => format!("{who} is UP again after {} down.", duration_text(s)),
            None => format!("{who} is UP again."),
        }],
        AlertKind::Degraded => {
            let mut lines = vec![match (f.response_ms, f.degraded_after_ms) {
                (Some(took), Some(bound)) => format!(
                    "{who} is DEGRADED: it answers, but slowly ({took} ms, more than {bound} ms)."
                ),
                _ => format!("{who} is DEGRADED: it answers, but slowly."),
            }];
            lines.extend(
                f.degraded_since
                    .map(|t| format!("Slow since {}.", since(t))),
            );
            lines
        }
        AlertKind::Reminder => {
            let mut lines = vec![format!("{who} is still DOWN: {cause}.")];
            lines.extend(f.down_since.map(|t| format!("Down since {}.", since(t))));
            lines
        }
        AlertKind::CertExpiring => {
            let which = match &f.cert_of {
                Some(cert) => format!("The {cert} certificate in the TLS chain of {who}"),
                None => format!("The TLS certificate of {who}"),
            };
            vec![expiry_line(&which, f.cert_not_after, now)]
        }
        AlertKind::DomainExpiring => {
            let which = format!(
                "The registration of the domain {} ({who})",
                f.url.trim_start_matches("domain:")
            );
            vec![expiry_line(&which, f.domain_expires_at, now)]
        }
        AlertKind::Test => vec![
            "This is a test message from stackwatch: alerts sent to this contact arrive."
                .to_owned(),
        ],
        AlertKind::Offline if f.location.is_some() => {
            let location = f.location.as_deref().unwrap_or_default();
            let mut lines = vec![format!(
                "The agent at location {location} is silent ({cause}). Its votes do not count \
                 until it reports again: no check is DOWN for this alone."
            )];
            lines.extend(
                f.down_since
                    .map(|t| format!("Last heard from {}.", since(t))),
            );
            lines
        }
        AlertKind::Online if f.location.is_some() => {
            let location = f.location.as_deref().unwrap_or_default();
            vec![match f.downtime_s {
                Some(s) => format!(
                    "The agent at location {location} reports again after {} of silence.",
                    duration_text(s)
                ),
                None => format!("The agent at location {location} reports again."),
            }]
        }
        AlertKind::Offline => {
            let mut lines = vec![format!(
                "Every canary failed ({cause}): the monitoring box seems offline. Failures seen \
                 meanwhile do not count towards confirming checks DOWN."
            )];
            lines.extend(f.down_since.map(|t| format!("Offline since {}.", since(t))));
            lines
        }
        AlertKind::Online => vec![match f.downtime_s {
            Some(s) => format!(
                "A canary answers again: stackwatch was offline for {}.",
                duration_text(s)
            ),
            None => "A canary answers again: stackwatch is online.".to_owned(),
        }],
        AlertKind::Flapping => {
            let changes = f.changes.unwrap_or_default();
            let window = duration_text(f.window_s.unwrap_or_default());
            vec![
                format!(
                    "{who} is flapping: it changed between UP and DOWN {changes} times within \
                     {window}."
                ),
                format!(
                    "Its changes are not announced one by one until it goes {window} without \
                     one; then one message says how it settled."
                ),
            ]
        }
        AlertKind::Settled => {
            let flapped = duration_text(f.window_s.unwrap_or_default());
            let mut lines = vec![match f.health {
                Some(Health::Down) => {
                    format!("{who} stopped flapping after {flapped} and is DOWN: {cause}.")
                }
                _ => format!("{who} stopped flapping after {flapped} and is UP."),
            }];
            lines.extend(f.down_since.map(|t| format!("Down since {}.", since(t))));
            lines
        }
        AlertKind::Group => {
            let event = group_event(message);
            let group = group_of(message);
            let mut lines = vec![format!(
                "{} {event} in {group} (alerting.group_by), oldest first:",
                match message.held.len() {
                    1 => "1 check".to_owned(),
                    n => format!("{n} checks"),
                }
            )];
            lines.extend(message.held.iter().map(|held| digest_line(held, now)));
            lines
        }
        AlertKind::Digest => {
            let mut lines = vec![format!(
                "More alerts than this contact takes in a minute (alerting.max_per_minute) \
                 came: {} held back, oldest first.",
                message.held.len()
            )];
            lines.extend(message.held.iter().map(|held| digest_line(held, now)));
            lines
        }
        AlertKind::Escalated => {
            let mut lines = vec![match f.downtime_s {
                Some(s) => format!(
                    "{who} has been DOWN for {} and nobody acknowledged it: {cause}.",
                    duration_text(s)
                ),
                None => format!("{who} is DOWN and nobody acknowledged it: {cause}."),
            }];
            lines.extend(f.down_since.map(|t| format!("Down since {}.", since(t))));
            lines
        }
        AlertKind::Acknowledged => {
            let by = f.acked_by.as_deref().unwrap_or("someone");
            let mut lines = vec![format!(
                "{by} acknowledged the outage of {who} ({cause}): no more reminders for it."
            )];
            lines.extend(f.note.as_ref().map(|note| format!("Note: {note}")));
            lines.extend(f.down_since.map(|t| format!("Down since {}.", since(t))));
            lines
        }
    };
    if let Some(locations) = &f.locations {
        lines.push(format!("Locations: {locations}."));
    }
    if !f.impacted.is_empty() {
        let list = impacted_list(&f.impacted);
        lines.push(match message.kind {
            AlertKind::Recovered => format!("Recovered with it (it was their root cause): {list}."),
            _ => format!(
                "Root cause: these checks rely on it and fail with it; they are not alerted \
                 on their own: {list}."
            ),
        });
    }
    // The URL once: a cause such as "HTTP 500 from URL" already names it.
    let cause_names_url = f.cause.as_deref().is_some_and(|c| c.contains(&f.url))
        && matches!(message.kind, AlertKind::Down | AlertKind::Reminder);
    if !f.url.is_empty() && !cause_names_url {
        lines.push(format!("URL: {}", f.url));
    }
    if let Some(link) = &message.link {
        lines.push(format!("Details: {link}"));
    }
    if let Some(ack) = &message.ack_link {
        lines.push(format!("Acknowledge (stops the reminders): {ack}"));
    }
    lines.join("\n")
}

/// Lines packed into at most `most` texts of at most `max` characters each, in order (a
/// line longer than `max` is cut); what would not fit is said in the last.
pub(super) fn pack_lines(lines: &[String], max: usize, most: usize) -> Vec<String> {
    let mut packed: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let line = cut_to(line, max);
        let full = packed.len() == most;
        match packed.last_mut() {
            Some(last) if last.chars().count() + 1 + line.chars().count() <= max => {
                last.push('\n');
                last.push_str(&line);
            }
            Some(last) if full => {
                let more = format!("… and {} more lines", lines.len() - i);
                *last = cut_to(last, max.saturating_sub(more.chars().count() + 1));
                last.push('\n');
                last.push_str(&more);
                break;
            }
            _ => packed.push(line),
        }
    }
    packed
}

/// One held alert in a digest: when, its title, its first line.
fn digest_line(held: &AlertMessage, now: Timestamp) -> String {
    let first = text(held, now)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    format!("{} {}: {first}", held.created_at.to_rfc3339(), title(held))
}

/// The event a group's message is about: `DOWN` or `RECOVERED`.
/// What a group's alerts share: "stack acme", "tag team:web".
fn group_of(message: &AlertMessage) -> String {
    match (&message.facts.stack, message.facts.tags.first()) {
        (Some(stack), _) => format!("stack {stack}"),
        (None, Some(tag)) => format!("tag {tag}"),
        (None, None) => "one group".to_owned(),
    }
}

fn group_event(message: &AlertMessage) -> &'static str {
    match message.facts.health {
        Some(Health::Up) => "RECOVERED",
        _ => "DOWN",
    }
}

/// `text` inert in HTML (Telegram's, Matrix's): `<`, `>`, `&`, and `"` for attributes.
pub(super) fn html_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The colour of a message in Slack: its kind's, a group's event's.
pub(super) fn message_colour(message: &AlertMessage) -> &'static str {
    match (message.kind, message.facts.health) {
        (AlertKind::Group, Some(Health::Up)) => colour(AlertKind::Recovered),
        (kind, _) => colour(kind),
    }
}

/// The colour of a kind in Slack.
pub(super) fn colour(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Down => "#d92b2b",
        AlertKind::Recovered => "#2eb67d",
        AlertKind::Degraded => "#ecb22e",
        AlertKind::Reminder => "#e8912d",
        AlertKind::CertExpiring | AlertKind::DomainExpiring => "#ecb22e",
        AlertKind::Test => "#4a90d9",
        AlertKind::Offline => "#7d3c98",
        AlertKind::Online => "#2eb67d",
        AlertKind::Flapping => "#e8912d",
        AlertKind::Settled => "#4a90d9",
        AlertKind::Acknowledged => "#4a90d9",
        AlertKind::Escalated => "#d92b2b",
        AlertKind::Digest => "#e8912d",
        AlertKind::Group => "#d92b2b",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AlertFacts;
    use crate::notify::email::{EMAIL_SUBJECT_MAX, render as email};
    use crate::notify::slack::{
        SLACK_BLOCKS_MAX, SLACK_SECTION_MAX, minimal as slack_minimal, payload as slack,
    };
    use crate::notify::webhook::document as webhook;

    const MINUTE: i64 = 60_000;

    fn message(kind: AlertKind, facts: AlertFacts) -> AlertMessage {
        AlertMessage {
            alert_id: 7,
            check: "acme-readiness".to_owned(),
            kind,
            facts,
            created_at: Timestamp(0),
            link: None,
            held: Vec::new(),
            ack_link: None,
        }
    }

    fn facts() -> AlertFacts {
        AlertFacts {
            stack: Some("acme".to_owned()),
            url: "https://acme.example/readiness".to_owned(),
            ..AlertFacts::default()
        }
    }

    #[test]
    fn a_root_cause_names_what_fails_with_it() {
        let now = Timestamp(1_000 * MINUTE);
        let impacted: Vec<String> = (1..=23).map(|i| format!("web-{i:02}")).collect();
        let down = message(
            AlertKind::Down,
            AlertFacts {
                cause: Some("timed out after 2 s".into()),
                impacted: impacted[..2].to_vec(),
                ..facts()
            },
        );
        assert_eq!(
            title(&down),
            "[DOWN] acme-readiness and 2 checks that rely on it"
        );
        assert!(text(&down, now).contains(
            "Root cause: these checks rely on it and fail with it; they are not alerted on \
             their own: web-01, web-02."
        ));
        let recovered = message(
            AlertKind::Recovered,
            AlertFacts {
                impacted: impacted.clone(),
                ..facts()
            },
        );
        assert_eq!(
            title(&recovered),
            "[RECOVERED] acme-readiness and 23 checks that rely on it"
        );
        let text = text(&recovered, now);
        assert!(text.contains("Recovered with it (it was their root cause): web-01, "));
        assert!(text.contains("web-20 and 3 more."), "{text}");
        assert!(!text.contains("web-21"), "{text}");
    }

    #[test]
    fn every_kind_reads_plainly() {
        let now = Timestamp(1_000 * MINUTE);
        let down = message(
            AlertKind::Down,
            AlertFacts {
                cause: Some("HTTP 500 from https://acme.example/readiness".into()),
                down_since: Some(Timestamp(990 * MINUTE)),
                ..facts()
            },
        );
        assert_eq!(title(&down), "[DOWN] acme-readiness");
        assert_eq!(
            text(&down, now),
            "acme-readiness (stack acme) is DOWN: HTTP 500 from https://acme.example/readiness.\n\
             Down since 1970-01-01T16:30:00Z (10 minutes ago).",
            "the cause names the URL, so no URL line repeats it"
        );
        let recovered = message(
            AlertKind::Recovered,
            AlertFacts {
                downtime_s: Some(754),
                ..facts()
            },
        );
        assert_eq!(title(&recovered), "[RECOVERED] acme-readiness");
        assert!(
            text(&recovered, now)
                .starts_with("acme-readiness (stack acme) is UP again after 12 min 34 s down.")
        );
        let cert = message(
            AlertKind::CertExpiring,
            AlertFacts {
                cert_not_after: Some(Timestamp(now.0 + 5 * 1_440 * MINUTE)),
                ..facts()
            },
        );
        assert!(
            text(&cert, now).contains("expires in 5 days"),
            "{}",
            text(&cert, now)
        );
        let intermediate = message(
            AlertKind::CertExpiring,
            AlertFacts {
                cert_not_after: Some(Timestamp(now.0 + 5 * 1_440 * MINUTE)),
                cert_of: Some("intermediate \"R3\"".to_owned()),
                ..facts()
            },
        );
        assert!(
            text(&intermediate, now).starts_with(
                "The intermediate \"R3\" certificate in the TLS chain of acme-readiness (stack \
                 acme) expires in 5 days"
            ),
            "{}",
            text(&intermediate, now)
        );
    }

    #[test]
    fn slack_has_colour_blocks_and_an_optional_link() {
        let mut down = message(AlertKind::Down, facts());
        let plain = slack(&down, Timestamp(0));
        assert_eq!(plain["attachments"][0]["color"], "#d92b2b");
        assert_eq!(
            plain["attachments"][0]["blocks"].as_array().unwrap().len(),
            2
        );
        assert!(
            plain["text"]
                .as_str()
                .unwrap()
                .starts_with("[DOWN] acme-readiness: ")
        );
        down.link = Some("https://sw.example/api/v1/checks/acme-readiness".into());
        let linked = slack(&down, Timestamp(0));
        assert_eq!(
            linked["attachments"][0]["blocks"][2]["elements"][0]["url"],
            "https://sw.example/api/v1/checks/acme-readiness"
        );
    }

    #[test]
    fn slack_fits_its_limits_and_keeps_the_name_and_the_event() {
        let name = format!("a{}", "b".repeat(127));
        let mut reminder = message(
            AlertKind::Reminder,
            AlertFacts {
                cause: Some(format!("bad redirect: {}", "<&>".repeat(600))),
                url: format!("https://a.example/?{}", "x=1&".repeat(500)),
                ..facts()
            },
        );
        reminder.check = name.clone();
        let payload = slack(&reminder, Timestamp(0));
        let blocks = payload["attachments"][0]["blocks"].as_array().unwrap();
        assert_eq!(
            blocks[0]["text"]["text"],
            format!("[REMINDER] {name}"),
            "153 characters would be refused: the trailing words go"
        );
        let section = blocks[1]["text"]["text"].as_str().unwrap();
        assert!(section.chars().count() <= SLACK_SECTION_MAX);
        assert!(section.starts_with(&format!(
            "{name} (stack acme) is still DOWN: bad redirect: &lt;&amp;&gt;"
        )));
        assert!(section.contains("… [cut]"));
        for piece in section.split("… [cut]") {
            if let Some(amp) = piece.rfind('&') {
                assert!(piece[amp..].contains(';'), "a half entity: {piece:?}");
            }
        }
        let minimal = slack_minimal(&reminder, Timestamp(0));
        assert!(minimal.get("attachments").is_none());
        assert!(minimal["text"].as_str().unwrap().starts_with(&format!(
            "[REMINDER] {name}: {name} (stack acme) is still DOWN"
        )));
        let (subject, _) = email(&reminder, Timestamp(0));
        assert!(subject.chars().count() <= EMAIL_SUBJECT_MAX);
    }

    #[test]
    fn text_from_a_target_is_inert_in_slack() {
        let hostile = "<!channel> <http://evil.example|Session expired, sign in again> & co";
        let down = message(
            AlertKind::Down,
            AlertFacts {
                cause: Some(format!("the job reported a failure: {hostile}")),
                url: "http://a.example/<!here>".into(),
                ..facts()
            },
        );
        let payload = slack(&down, Timestamp(0));
        let section = payload["attachments"][0]["blocks"][1]["text"]["text"]
            .as_str()
            .unwrap();
        let fallback = payload["text"].as_str().unwrap();
        for text in [section, fallback] {
            assert!(!text.contains('<') && !text.contains('>'), "{text}");
        }
        assert!(section.contains(
            "&lt;!channel&gt; &lt;http://evil.example|Session expired, sign in again&gt; &amp; co"
        ));
        assert!(section.contains("URL: http://a.example/&lt;!here&gt;"));
    }

    #[test]
    fn email_and_webhook_carry_the_same_facts() {
        let down = message(
            AlertKind::Down,
            AlertFacts {
                cause: Some("timed out after 10 s".into()),
                ..facts()
            },
        );
        let (subject, body) = email(&down, Timestamp(0));
        assert_eq!(subject, "[DOWN] acme-readiness");
        assert!(body.contains("timed out after 10 s") && body.contains("alert 7"));
        let document = webhook(&down, Timestamp(0));
        assert_eq!(document["event"], "down");
        assert_eq!(document["check"], "acme-readiness");
        assert_eq!(document["stack"], "acme");
        assert_eq!(document["cause"], "timed out after 10 s");
    }

    #[test]
    fn a_digest_lists_every_held_alert_within_slack_s_limits() {
        let now = Timestamp(1_000 * MINUTE);
        let held: Vec<AlertMessage> = (0..100)
            .map(|n| AlertMessage {
                check: format!("check-{n:03}"),
                ..message(
                    AlertKind::Down,
                    AlertFacts {
                        cause: Some(format!("HTTP 500 from {}", "x".repeat(300))),
                        ..facts()
                    },
                )
            })
            .collect();
        let digest = AlertMessage::digest(held, now);
        assert_eq!(title(&digest), "[DIGEST] 100 alerts held back");
        let payload = slack(&digest, now);
        let blocks = payload["attachments"][0]["blocks"].as_array().unwrap();
        assert!(
            blocks.len() > 2 && blocks.len() <= SLACK_BLOCKS_MAX,
            "{}",
            blocks.len()
        );
        let mut listed = String::new();
        for block in &blocks[1..] {
            let text = block["text"]["text"].as_str().unwrap();
            assert!(text.chars().count() <= SLACK_SECTION_MAX);
            listed.push_str(text);
        }
        for n in 0..100 {
            assert!(
                listed.contains(&format!("[DOWN] check-{n:03}")),
                "check-{n:03}"
            );
        }
        let document = webhook(&digest, now);
        assert_eq!(document["event"], "digest");
        assert_eq!(document["held"].as_array().map(Vec::len), Some(100));
        assert_eq!(document["held"][7]["check"], "check-007");
        assert!(webhook(&digest.held[0], now).get("held").is_none());
    }

    #[test]
    fn packed_lines_say_what_did_not_fit() {
        let lines: Vec<String> = (0..10)
            .map(|n| format!("line {n} {}", "y".repeat(40)))
            .collect();
        let packed = pack_lines(&lines, 100, 2);
        assert_eq!(packed.len(), 2);
        assert!(
            packed.iter().all(|p| p.chars().count() <= 100),
            "{packed:?}"
        );
        assert!(packed[1].ends_with("… and 6 more lines"), "{packed:?}");
    }
}
