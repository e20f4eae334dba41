//! Deciding what to tell people: from a check's confirmed health and what people were last
//! told, the alerts a probe causes. Pure. Alerts follow the difference between the health
//! and the health last alerted, so an outage is announced exactly once, a recovery only
//! after an announced outage, and a maintenance window only postpones both.

use serde::{Deserialize, Serialize};

use super::{
    CheckName, CheckSpec, CheckState, Failure, FlapStep, Flaps, Health, Outcome, Target, Timestamp,
};

/// A day, the least time between two certificate warnings of one check.
const CERT_WARNING_EVERY_MS: i64 = 86_400_000;

/// The kinds of alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    Down,
    Recovered,
    /// Slow answers confirmed: the check is DEGRADED (its `recovered` follows when fast).
    Degraded,
    Reminder,
    CertExpiring,
    /// A domain check's registration expires within its `domain_expiry_days`.
    DomainExpiring,
    /// A test message sent by `stackwatch notify-test`.
    Test,
    /// Every canary failed: the monitoring box itself lost its network (not about a check).
    Offline,
    /// A canary answers again after `Offline`.
    Online,
    /// The check changes between UP and DOWN too often: its changes are not announced
    /// one by one until it is stable.
    Flapping,
    /// A flapping check went a whole window without a change: its health now.
    Settled,
    /// Someone acknowledged the check's outage: its reminders stop.
    Acknowledged,
    /// Nobody acknowledged the outage within `escalate_after`: `escalate_to` is told.
    Escalated,
    /// Alerts a contact's `max_per_minute` held back, in one message (never stored).
    Digest,
    /// A stack's DOWNs (or RECOVEREDs) folded into one message (never stored).
    Group,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Down => "down",
            Self::Recovered => "recovered",
            Self::Degraded => "degraded",
            Self::Reminder => "reminder",
            Self::CertExpiring => "cert_expiring",
            Self::DomainExpiring => "domain_expiring",
            Self::Test => "test",
            Self::Offline => "offline",
            Self::Online => "online",
            Self::Flapping => "flapping",
            Self::Settled => "settled",
            Self::Acknowledged => "acknowledged",
            Self::Escalated => "escalated",
            Self::Digest => "digest",
            Self::Group => "group",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Down,
            Self::Recovered,
            Self::Degraded,
            Self::Reminder,
            Self::CertExpiring,
            Self::DomainExpiring,
            Self::Test,
            Self::Offline,
            Self::Online,
            Self::Flapping,
            Self::Settled,
            Self::Acknowledged,
            Self::Escalated,
            Self::Digest,
            Self::Group,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// What an alert with no contact says wherever it is shown or logged: nobody heard of it.
pub const NOBODY_TOLD: &str = "no contact configured: nobody was told";

/// What an alert says, beyond its kind and check.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AlertFacts {
    /// The stack of the check.
    pub stack: Option<String>,
    /// The URL probed.
    pub url: String,
    /// Why the check is down, in plain words.
    pub cause: Option<String>,
    /// When the outage began (its first failure).
    pub down_since: Option<Timestamp>,
    /// How long the outage lasted (RECOVERED); after DEGRADED, how long it was slow.
    pub downtime_s: Option<u64>,
    /// DEGRADED, and the RECOVERED that ends it: when the check was confirmed slow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded_since: Option<Timestamp>,
    /// DEGRADED: the slow answer's time and the check's bound, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded_after_ms: Option<u32>,
    /// When the certificate expires (CERT EXPIRING).
    pub cert_not_after: Option<Timestamp>,
    /// When the domain's registration expires (DOMAIN EXPIRING).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_expires_at: Option<Timestamp>,
    /// Which certificate of the chain expires then, when not the server's own
    /// (`intermediate "R3"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_of: Option<String>,
    /// Each location's verdict, for a check probed from several: "down from fra and nyc
    /// (connection refused), up from local".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locations: Option<String>,
    /// The location an `offline` or `online` alert is about (an agent's); `None`: the
    /// server's own network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// FLAPPING: the changes between UP and DOWN within the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<u32>,
    /// FLAPPING: the window, in seconds; SETTLED: how long it flapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<u64>,
    /// SETTLED: the health it settled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// ACKNOWLEDGED: who acknowledged the outage, and their note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// DOWN and RECOVERED of a root cause: the checks that rely on it and failed with it,
    /// whose own DOWN and RECOVERED this one stands for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub impacted: Vec<String>,
    /// The check's tags (for `alerting.group_by = "tag:KEY"`); a group's, the tag it
    /// folds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl AlertFacts {
    /// The facts every alert of a check carries: its stack and what it probes.
    pub fn of(spec: &CheckSpec) -> Self {
        Self {
            stack: spec.stack.as_ref().map(ToString::to_string),
            url: spec.target.address(),
            tags: spec.tags.iter().map(ToString::to_string).collect(),
            ..Self::default()
        }
    }
}

/// An alert decided for one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertEvent {
    pub kind: AlertKind,
    pub facts: AlertFacts,
}

/// What people were last told about a check; persisted with its state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertMemory {
    /// The health of the last DOWN or RECOVERED alert (`Unknown` before the first).
    pub alerted: Option<Health>,
    /// When the outage being reported began.
    pub down_since: Option<Timestamp>,
    /// When the last DOWN or REMINDER went out.
    pub last_down_alert_at: Option<Timestamp>,
    /// When the last certificate warning went out.
    pub cert_warned_at: Option<Timestamp>,
    /// When the DEGRADED people were told of began (until its RECOVERED).
    pub degraded_since: Option<Timestamp>,
    /// The cause of the last failure, in plain words.
    pub last_cause: Option<String>,
    /// Recent changes of health, and whether the check is flapping.
    pub flaps: Flaps,
    /// The root cause this check's outage is held for: a check it relies on that was DOWN
    /// or being confirmed when this one was confirmed DOWN. Its DOWN tells of this one.
    pub impacted_by: Option<CheckName>,
}

/// The circumstances of one decision.
#[derive(Debug, Clone, Copy)]
pub struct AlertContext<'a> {
    pub spec: &'a CheckSpec,
    /// The state after this probe.
    pub state: &'a CheckState,
    pub outcome: &'a Outcome,
    /// A maintenance window covers the check now: alerts wait.
    pub in_maintenance: bool,
    /// After a failure: the root cause upstream, a check this one relies on that is DOWN
    /// or being confirmed (see `domain::cause`); `None` when nothing upstream fails.
    pub upstream: Option<&'a CheckName>,
    pub now: Timestamp,
}

/// The alerts this probe causes, and the memory after them.
pub fn decide(memory: &AlertMemory, cx: AlertContext<'_>) -> (AlertMemory, Vec<AlertEvent>) {
    let mut next = memory.clone();
    if let Some(failure) = &cx.outcome.failure {
        next.last_cause = Some(describe_cause(failure, &cx.spec.target, cx.now));
    }
    let mut events = Vec::new();
    if cx.in_maintenance {
        return (next, events);
    }
    let facts = || AlertFacts::of(cx.spec);
    let rule = cx.spec.flap_rule();
    // Flapping is between UP and DOWN: slow or not, a check that answers is up.
    let answers = match cx.state.health {
        Health::Degraded => Health::Up,
        health => health,
    };
    match next.flaps.observe(answers, rule, cx.now) {
        FlapStep::Steady => health_alerts(&mut next, cx, facts(), &mut events),
        FlapStep::Started { changes } => events.push(AlertEvent {
            kind: AlertKind::Flapping,
            facts: AlertFacts {
                cause: next.last_cause.clone(),
                changes: Some(changes),
                window_s: Some(u64::try_from(rule.window_ms / 1_000).unwrap_or(0)),
                ..facts()
            },
        }),
        FlapStep::Flapping => {}
        FlapStep::Settled { since } => {
            // Its health now is what people were last told: no DOWN or RECOVERED follows
            // (a DEGRADED one is told of after, as for a check that was UP).
            let health = answers;
            let down = health == Health::Down;
            next.alerted = Some(health);
            next.down_since = down.then(|| cx.state.failing_since.unwrap_or(cx.state.since));
            if down {
                next.last_down_alert_at = Some(cx.now);
            }
            events.push(AlertEvent {
                kind: AlertKind::Settled,
                facts: AlertFacts {
                    cause: if down { next.last_cause.clone() } else { None },
                    down_since: next.down_since,
                    window_s: Some(u64::try_from((cx.now.0 - since.0) / 1_000).unwrap_or(0)),
                    health: Some(health),
                    ..facts()
                },
            });
        }
    }
    cert_warning(&mut next, cx, facts(), &mut events);
    (next, events)
}

/// DOWN once per outage, reminders while it lasts, RECOVERED after an announced one.
fn health_alerts(
    next: &mut AlertMemory,
    cx: AlertContext<'_>,
    facts: AlertFacts,
    events: &mut Vec<AlertEvent>,
) {
    let facts = || facts.clone();
    match (cx.state.health, next.alerted) {
        (Health::Down, alerted) if alerted != Some(Health::Down) => {
            if let Some(root) = cx.upstream {
                // Impacted: the root's alert tells of it.
                next.impacted_by = Some(root.clone());
                return;
            }
            if next.impacted_by.is_some() && cx.outcome.is_up() {
                // Its root recovered and so, it seems, does this check: its own verdict
                // is awaited rather than a DOWN sent for an outage that is ending.
                return;
            }
            next.impacted_by = None;
            let since = cx.state.failing_since.unwrap_or(cx.state.since);
            events.push(AlertEvent {
                kind: AlertKind::Down,
                facts: AlertFacts {
                    cause: next.last_cause.clone(),
                    down_since: Some(since),
                    ..facts()
                },
            });
            next.alerted = Some(Health::Down);
            next.down_since = Some(since);
            next.last_down_alert_at = Some(cx.now);
        }
        (Health::Down, _) => {
            let due = cx.spec.reminder_every().is_some_and(|every| {
                next.last_down_alert_at
                    .is_none_or(|last| cx.now.0 - last.0 >= i64::from(every) * 1_000)
            });
            if due {
                events.push(AlertEvent {
                    kind: AlertKind::Reminder,
                    facts: AlertFacts {
                        cause: next.last_cause.clone(),
                        down_since: next.down_since,
                        ..facts()
                    },
                });
                next.last_down_alert_at = Some(cx.now);
            }
        }
        (Health::Up, Some(Health::Down)) => {
            recovered(next, cx.now, facts(), events);
        }
        (Health::Up, Some(Health::Degraded)) => {
            let since = next.degraded_since.unwrap_or(cx.state.since);
            events.push(AlertEvent {
                kind: AlertKind::Recovered,
                facts: AlertFacts {
                    degraded_since: Some(since),
                    downtime_s: Some(seconds_between(since, cx.now)),
                    ..facts()
                },
            });
            next.alerted = Some(Health::Up);
            next.degraded_since = None;
        }
        (Health::Up, _) => {
            next.alerted = Some(Health::Up);
            next.impacted_by = None;
        }
        (Health::Degraded, alerted) if alerted != Some(Health::Degraded) => {
            if alerted == Some(Health::Down) {
                // Recovered while alerts waited (a maintenance window): told first.
                recovered(next, cx.now, facts(), events);
            }
            events.push(AlertEvent {
                kind: AlertKind::Degraded,
                facts: AlertFacts {
                    degraded_since: Some(cx.state.since),
                    response_ms: Some(cx.outcome.timings.total_ms),
                    degraded_after_ms: cx.spec.degraded_after_ms(),
                    ..facts()
                },
            });
            next.alerted = Some(Health::Degraded);
            next.degraded_since = Some(cx.state.since);
            next.impacted_by = None;
        }
        (Health::Degraded, _) | (Health::Unknown, _) => {}
    }
}

/// RECOVERED after an announced outage.
fn recovered(
    next: &mut AlertMemory,
    now: Timestamp,
    facts: AlertFacts,
    events: &mut Vec<AlertEvent>,
) {
    events.push(AlertEvent {
        kind: AlertKind::Recovered,
        facts: AlertFacts {
            down_since: next.down_since,
            downtime_s: next.down_since.map(|since| seconds_between(since, now)),
            ..facts
        },
    });
    next.alerted = Some(Health::Up);
    next.down_since = None;
}

/// Whole seconds from `since` to `now` (none when `now` is earlier).
fn seconds_between(since: Timestamp, now: Timestamp) -> u64 {
    u64::try_from((now.0 - since.0) / 1_000).unwrap_or(0)
}

/// A warning when the certificate (or a domain check's registration) expires within the
/// check's days, at most daily.
fn cert_warning(
    next: &mut AlertMemory,
    cx: AlertContext<'_>,
    facts: AlertFacts,
    events: &mut Vec<AlertEvent>,
) {
    if let Some(not_after) = cx.outcome.cert_not_after
        && let Some((days, kind)) = cx.spec.expiry_warning()
        && not_after.0 - cx.now.0 < i64::from(days) * 86_400_000
        && next
            .cert_warned_at
            .is_none_or(|at| cx.now.0 - at.0 >= CERT_WARNING_EVERY_MS)
    {
        let facts = match kind {
            AlertKind::DomainExpiring => AlertFacts {
                domain_expires_at: Some(not_after),
                ..facts
            },
            _ => AlertFacts {
                cert_not_after: Some(not_after),
                cert_of: cx.outcome.cert_of.as_deref().map(str::to_owned),
                ..facts
            },
        };
        events.push(AlertEvent { kind, facts });
        next.cert_warned_at = Some(cx.now);
    }
}

/// A failure in the words an alert uses: "HTTP 500 from https://…", "TLS certificate
/// expired 2 days ago", "timed out after 10 s".
pub fn describe_cause(failure: &Failure, target: &Target, now: Timestamp) -> String {
    match failure {
        Failure::BadStatus { status } => format!("HTTP {status} from {}", target.address()),
        Failure::TlsExpired {
            not_after: Some(not_after),
        } => format!("TLS certificate expired {}", ago(now.0 - not_after.0)),
        Failure::ConnectionRefused => format!("connection refused by {}", target.authority()),
        other => other.to_string(),
    }
}

/// "2 days ago", "5 hours ago", "just now".
pub fn ago(ms: i64) -> String {
    let minutes = ms / 60_000;
    let (n, unit) = if minutes >= 2 * 24 * 60 {
        (minutes / (24 * 60), "days")
    } else if minutes >= 120 {
        (minutes / 60, "hours")
    } else if minutes >= 2 {
        (minutes, "minutes")
    } else {
        return "just now".to_owned();
    };
    format!("{n} {unit} ago")
}

/// "3 h 12 min", "45 s": a duration for people.
pub fn duration_text(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3_600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{HttpTarget, Thresholds, Timings};

    fn outcome(at: i64, failure: Option<Failure>) -> Outcome {
        Outcome {
            started_at: Timestamp(at),
            status: None,
            timings: Timings::default(),
            cert_not_after: None,
            cert_of: None,
            failure,
        }
    }

    /// Runs verdicts ('+' up, '-' down, 'm' down in maintenance, 'M' up in maintenance,
    /// 'i' down while a check it relies on fails, 's' up in 900 ms, 'S' the same in
    /// maintenance; others answer in 100 ms), one per second, and returns the alerts as
    /// "second:kind".
    fn run(spec: &CheckSpec, sequence: &str) -> Vec<String> {
        let t = Thresholds {
            failures_to_confirm: spec.failures_to_confirm,
            successes_to_recover: spec.successes_to_recover,
        };
        let mut state = CheckState::new(Timestamp(0));
        let mut memory = AlertMemory::default();
        let mut seen = Vec::new();
        let root: CheckName = "dns-of-the-host".parse().unwrap();
        for (i, c) in sequence.chars().enumerate() {
            let now = Timestamp((i as i64 + 1) * 1_000);
            let up = matches!(c, '+' | 'M' | 's' | 'S');
            let failure = (!up).then_some(Failure::BadStatus { status: 500 });
            let mut o = outcome(now.0, failure);
            o.timings.total_ms = if matches!(c, 's' | 'S') { 900 } else { 100 };
            let (next, transition) = state.observe(up, t, now);
            (state, _) = next.observe_speed(spec.speed_of(&o), t, now, transition);
            let cx = AlertContext {
                spec,
                state: &state,
                outcome: &o,
                in_maintenance: matches!(c, 'm' | 'M' | 'S'),
                upstream: (c == 'i').then_some(&root),
                now,
            };
            let (m, events) = decide(&memory, cx);
            memory = m;
            seen.extend(
                events
                    .iter()
                    .map(|e| format!("{}:{}", i + 1, e.kind.as_str())),
            );
        }
        seen
    }

    fn spec() -> CheckSpec {
        CheckSpec::with_defaults("http://127.0.0.1:9/ready".parse().unwrap())
    }

    #[test]
    fn slow_answers_alert_degraded_once_and_recovered_once() {
        let mut slow = spec();
        slow.more_mut().degraded_after_ms = Some(500);
        let cases: &[(&str, &[&str])] = &[
            ("+s+s+s", &[]),
            ("+ss", &["3:degraded"]),
            ("+ssss+", &["3:degraded", "6:recovered"]),
            // Down while degraded, up again: the outage's alerts, then DEGRADED anew.
            (
                "+ss--ss",
                &["3:degraded", "5:down", "6:recovered", "7:degraded"],
            ),
            // Degraded in a window: told after it, once.
            ("+SSs+", &["4:degraded", "5:recovered"]),
            ("+SS+", &[]),
            // Changes between UP and DEGRADED are not flapping.
            (
                "+ss+ss+ss+ss+ss+ss",
                &[
                    "3:degraded",
                    "4:recovered",
                    "6:degraded",
                    "7:recovered",
                    "9:degraded",
                    "10:recovered",
                    "12:degraded",
                    "13:recovered",
                    "15:degraded",
                    "16:recovered",
                    "18:degraded",
                ],
            ),
        ];
        for (sequence, want) in cases {
            assert_eq!(&run(&slow, sequence), want, "{sequence}");
        }
        // Without `degraded_after_ms`, slow is up.
        assert_eq!(run(&spec(), "+ssss"), Vec::<String>::new());
    }

    #[test]
    fn degraded_alerts_say_how_slow_and_since_when() {
        let mut slow = spec();
        slow.more_mut().degraded_after_ms = Some(500);
        let t = slow.thresholds();
        let mut state = CheckState::new(Timestamp(0));
        let mut memory = AlertMemory::default();
        let mut said = Vec::new();
        for (at, ms) in [(1_000, 100), (2_000, 900), (3_000, 950), (63_000, 100)] {
            let mut o = outcome(at, None);
            o.timings.total_ms = ms;
            let (next, tr) = state.observe(true, t, Timestamp(at));
            (state, _) = next.observe_speed(slow.speed_of(&o), t, Timestamp(at), tr);
            let cx = AlertContext {
                spec: &slow,
                state: &state,
                outcome: &o,
                in_maintenance: false,
                upstream: None,
                now: Timestamp(at),
            };
            let (m, events) = decide(&memory, cx);
            memory = m;
            said.extend(events);
        }
        let [degraded, recovered] = &said[..] else {
            panic!("{said:?}");
        };
        assert_eq!(degraded.kind, AlertKind::Degraded);
        assert_eq!(
            (
                degraded.facts.response_ms,
                degraded.facts.degraded_after_ms,
                degraded.facts.degraded_since
            ),
            (Some(950), Some(500), Some(Timestamp(3_000)))
        );
        assert_eq!(recovered.kind, AlertKind::Recovered);
        assert_eq!(
            (
                recovered.facts.degraded_since,
                recovered.facts.downtime_s,
                recovered.facts.down_since
            ),
            (Some(Timestamp(3_000)), Some(60), None)
        );
    }

    #[test]
    fn one_alert_per_outage_and_one_per_recovery() {
        let cases: &[(&str, &[&str])] = &[
            ("++++", &[]),
            ("+-+-+-+-", &[]),
            ("+--", &["3:down"]),
            ("+-----", &["3:down"]),
            ("+---+", &["3:down", "5:recovered"]),
            (
                "+---+--+",
                &["3:down", "5:recovered", "7:down", "8:recovered"],
            ),
            ("--+", &["2:down", "3:recovered"]),
        ];
        for (sequence, want) in cases {
            assert_eq!(&run(&spec(), sequence), want, "{sequence}");
        }
    }

    #[test]
    fn an_outage_explained_upstream_is_held_and_alerts_at_once_when_the_root_is_not_down() {
        let once = spec();
        let twice = {
            let mut s = spec();
            s.successes_to_recover = 2;
            s
        };
        let cases: &[(&CheckSpec, &str, &[&str])] = &[
            // Confirmed while its root fails: no DOWN, and so no RECOVERED.
            (&once, "+-ii", &[]),
            (&once, "+-ii+", &[]),
            (&once, "+-iiii+-+", &[]),
            // Still failing once the root no longer is: its own DOWN at once.
            (&once, "+-ii-", &["5:down"]),
            (&once, "+-ii-+", &["5:down", "6:recovered"]),
            // Already announced before its root failed: it stays announced.
            (&once, "+--i+", &["3:down", "5:recovered"]),
            // Recovering after its root did: no DOWN for an outage that is ending.
            (&twice, "+-ii++", &[]),
            (&twice, "+-ii+-", &["6:down"]),
        ];
        for (spec, sequence, want) in cases {
            assert_eq!(&run(spec, sequence), want, "{sequence}");
        }
    }

    #[test]
    fn maintenance_postpones_and_never_duplicates() {
        let cases: &[(&str, &[&str])] = &[
            // Down inside the window, still down after it: DOWN when it closes.
            ("+mmm-", &["5:down"]),
            // Down and back inside the window: nothing at all.
            ("+mmMM+", &[]),
            // Announced before the window, recovered inside it: RECOVERED when it closes.
            ("+--MM+", &["3:down", "6:recovered"]),
            // Announced before, still down after: no second DOWN.
            ("+--mm-", &["3:down"]),
        ];
        for (sequence, want) in cases {
            assert_eq!(&run(&spec(), sequence), want, "{sequence}");
        }
    }

    #[test]
    fn reminders_repeat_while_down() {
        let mut s = spec();
        s.more_mut().reminder_every = Some(60);
        // Down confirmed at 3 s; 60 s later a reminder, then every 60 s.
        let sequence = format!("+-{}", "-".repeat(130));
        assert_eq!(
            run(&s, &sequence),
            vec!["3:down", "63:reminder", "123:reminder"]
        );
    }

    #[test]
    fn a_flapping_check_alerts_once_then_once_when_settled() {
        let mut s = spec();
        s.failures_to_confirm = 1;
        s.more_mut().reminder_every = Some(60);
        s.more_mut().flap_window = Some(60);
        // Down and up each second, five changes, then down for good: no reminder while
        // it flaps, one SETTLED a window after the last change, reminders after that.
        let sequence = format!("+-+-+-{}", "-".repeat(130));
        assert_eq!(
            run(&s, &sequence),
            [
                "2:down",
                "3:recovered",
                "4:down",
                "5:recovered",
                "6:flapping",
                "66:settled",
                "126:reminder"
            ]
        );
        // Settled UP: nothing follows while it stays up.
        let sequence = format!("+-+-+-+{}", "+".repeat(70));
        assert_eq!(
            run(&s, &sequence),
            [
                "2:down",
                "3:recovered",
                "4:down",
                "5:recovered",
                "6:flapping",
                "67:settled"
            ]
        );
    }

    #[test]
    fn certificate_warnings_come_at_most_daily() {
        let s = spec();
        let state = CheckState::new(Timestamp(0));
        let day = 86_400_000;
        let mut o = outcome(0, None);
        o.cert_not_after = Some(Timestamp(10 * day));
        let mut memory = AlertMemory::default();
        let mut kinds = Vec::new();
        for hour in 0..50 {
            let cx = AlertContext {
                spec: &s,
                state: &state,
                outcome: &o,
                in_maintenance: false,
                upstream: None,
                now: Timestamp(hour * 3_600_000),
            };
            let (m, events) = decide(&memory, cx);
            memory = m;
            kinds.extend(events.iter().map(|e| (hour, e.kind)));
        }
        assert_eq!(
            kinds,
            vec![
                (0, AlertKind::CertExpiring),
                (24, AlertKind::CertExpiring),
                (48, AlertKind::CertExpiring)
            ]
        );
        o.cert_not_after = Some(Timestamp(30 * day));
        let cx = AlertContext {
            spec: &s,
            state: &state,
            outcome: &o,
            in_maintenance: false,
            upstream: None,
            now: Timestamp(0),
        };
        assert!(
            decide(&AlertMemory::default(), cx).1.is_empty(),
            "30 days left: no warning at 14"
        );
    }

    #[test]
    fn causes_read_as_plain_words() {
        let now = Timestamp(10 * 86_400_000);
        let url = "https://acme.example/readiness".parse().unwrap();
        let target = Target::Http(Box::new(HttpTarget::get(url)));
        let cases = [
            (
                Failure::BadStatus { status: 500 },
                "HTTP 500 from https://acme.example/readiness",
            ),
            (
                Failure::TlsExpired {
                    not_after: Some(Timestamp(8 * 86_400_000)),
                },
                "TLS certificate expired 2 days ago",
            ),
            (Failure::Timeout { after_s: 10 }, "timed out after 10 s"),
            (
                Failure::ConnectionRefused,
                "connection refused by acme.example",
            ),
        ];
        for (failure, want) in cases {
            assert_eq!(describe_cause(&failure, &target, now), want);
        }
        assert_eq!(duration_text(45), "45 s");
        assert_eq!(duration_text(3 * 3_600 + 12 * 60 + 5), "3 h 12 min");
    }
}
