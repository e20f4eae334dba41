//! Public status pages at `/status/{stack}`: the stack's overall state, the public
//! maintenance windows ahead and open, the team's updates newest first, each check's 90-day
//! uptime bar, current and recent incidents. No token needed, so nothing internal is shown:
//! no URL, no cause, no error text. A stack that is not published is a 404, decided before
//! its checks are read; incidents are the stack's checks' own, by id (a re-created name
//! starts clean).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::charts::uptime_bar;
use super::check_page::incident_table;
use super::layout::{Shown, ShownMarks, html_response_with, percent, public_page, time_tag};
use super::markdown;
use super::{PageError, WebState, incident_days};
use crate::domain::{Check, CheckId, MaintenanceWindow, StackName, Timestamp};
use crate::settings::StatusPagesEnabled;
use crate::store::{CheckFilter, Day, IncidentRow, PageStart, StatusUpdate, StoredState, Tally};

const DAY_MS: i64 = 86_400_000;
/// How far ahead a public window is announced.
const ANNOUNCED_AHEAD_MS: i64 = 14 * DAY_MS;
/// Most updates a page shows, of the last 30 days.
const SHOWN_UPDATES: u32 = 20;

/// A public window as a page announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    /// Open now (else ahead).
    pub active: bool,
    /// "Sunday 6 Dec 02:00–03:00 CET", in the window's own time zone (UTC for one-off).
    pub when: String,
    pub reason: Option<String>,
    pub starts_at: Timestamp,
    pub window_id: i64,
    /// When the window was made (what a feed says it was published).
    pub created_at: Timestamp,
}

/// The public windows that cover one of `checks` and are open now or open within
/// [`ANNOUNCED_AHEAD_MS`], soonest first.
pub fn announced(
    windows: &[MaintenanceWindow],
    checks: &[Check],
    now: Timestamp,
) -> Vec<Announced> {
    let mut out: Vec<Announced> = windows
        .iter()
        .filter(|w| w.announced_for(checks))
        .filter_map(|w| {
            let (start, end) = w.occurrence_at_or_after(now)?;
            (start.0 - now.0 <= ANNOUNCED_AHEAD_MS).then(|| Announced {
                active: start <= now,
                when: w.occurrence_text(start, end),
                reason: w.reason.clone(),
                starts_at: start,
                window_id: w.id,
                created_at: w.created_at,
            })
        })
        .collect();
    out.sort_by_key(|a| a.starts_at);
    out
}

/// The updates a page shows: those of the last 30 days.
fn shown_updates(updates: Vec<StatusUpdate>, now: Timestamp) -> Vec<StatusUpdate> {
    updates
        .into_iter()
        .filter(|u| now.0 - u.created_at.0 < 30 * DAY_MS)
        .collect()
}

/// The updates, newest first, each with its stage, time, checks and message.
pub fn update_list(updates: &[StatusUpdate]) -> maud::Markup {
    html! {
        @for u in updates {
            article.card.update {
                p {
                    strong { (u.text.stage.title()) } " · " (time_tag(u.created_at))
                    @if u.edited_at.is_some() { span.muted { " · edited" } }
                    @if !u.text.checks.is_empty() {
                        span.muted { " · " (u.text.checks.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
                    }
                }
                div.message { (markdown::render(u.text.message.as_str())) }
            }
        }
    }
}

/// What an uptime figure over `days` (oldest first) covers: "over 90 days" once the
/// oldest has probes, else "since" the first day that has.
fn uptime_span(days: &[Day]) -> String {
    match days.iter().position(|d| d.tally.probes > 0) {
        Some(0) => format!("over {} days", days.len()),
        Some(first) => format!("since {}", day_text(days[first].day)),
        None => "no probe yet".to_owned(),
    }
}

/// A day since the Unix epoch as "4 Dec 2026" (UTC).
fn day_text(day: i64) -> String {
    chrono::DateTime::from_timestamp(day * 86_400, 0)
        .map_or_else(String::new, |t| t.format("%-d %b %Y").to_string())
}

/// Whether `stack` has a public status page (and so public badges).
pub async fn published(state: &WebState, stack: &StackName) -> Result<bool, PageError> {
    Ok(match state.status_pages {
        StatusPagesEnabled::All => true,
        StatusPagesEnabled::Chosen => state.store.status_page_published(stack).await?,
        StatusPagesEnabled::None => false,
    })
}

/// The stack's checks in name order, each with its stored state and how it is shown now.
pub async fn shown_checks(
    state: &WebState,
    stack: &StackName,
    now: Timestamp,
) -> Result<Vec<(Check, Option<StoredState>, Shown)>, PageError> {
    let filter = CheckFilter {
        stack: Some(stack.clone()),
        ..CheckFilter::default()
    };
    let rows = state
        .store
        .checks_with_state_page(&filter, PageStart::After(None), u32::MAX)
        .await?;
    let windows = state.store.maintenance_windows().await?;
    Ok(rows
        .into_iter()
        .map(|(check, stored)| {
            let health = stored.as_ref().map(|s| s.state.health);
            let shown = Shown::of(&check, health, &windows, now);
            (check, stored, shown)
        })
        .collect())
}

/// The stack's checks as [`shown_checks`] gives them, if its page is public and it has
/// any. Publication is decided before anything of the stack is read: an unpublished stack
/// answers as fast as a missing one, and costs an anonymous visitor's request no more.
pub async fn public_checks(
    state: &WebState,
    stack: &StackName,
    now: Timestamp,
) -> Result<Option<Vec<(Check, Option<StoredState>, Shown)>>, PageError> {
    if !published(state, stack).await? {
        return Ok(None);
    }
    let rows = shown_checks(state, stack, now).await?;
    Ok((!rows.is_empty()).then_some(rows))
}

/// The stack's overall state in words, worst first.
pub fn overall(states: &[Shown]) -> (&'static str, Shown) {
    let live: Vec<Shown> = states
        .iter()
        .copied()
        .filter(|s| *s != Shown::Paused)
        .collect();
    let down = live.iter().filter(|s| **s == Shown::Down).count();
    if down > 0 && down == live.len() {
        ("Major outage", Shown::Down)
    } else if down > 0 {
        ("Partial outage", Shown::Down)
    } else if live.contains(&Shown::Degraded) {
        ("Degraded performance", Shown::Degraded)
    } else if live.contains(&Shown::Maintenance) {
        ("Under maintenance", Shown::Maintenance)
    } else {
        ("All systems operational", Shown::Up)
    }
}

/// The stack whose page a request's `Host` names (`[status_pages.pages.STACK] hosts`).
pub fn stack_of_host(state: &WebState, headers: &axum::http::HeaderMap) -> Option<StackName> {
    let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_end_matches('.');
    state
        .looks
        .iter()
        .find(|(_, look)| {
            look.hosts
                .iter()
                .any(|h| h.trim_end_matches('.').eq_ignore_ascii_case(name))
        })
        .and_then(|(stack, _)| stack.parse().ok())
}

pub async fn status_page(
    State(state): State<WebState>,
    Path(stack): Path<String>,
) -> Result<Response, PageError> {
    let Ok(stack) = stack.parse::<StackName>() else {
        return Ok((StatusCode::NOT_FOUND, "no status page here").into_response());
    };
    render(&state, stack, false).await
}

/// A stack's page; `own_host`: served at `/` of one of its own host names.
pub async fn render(
    state: &WebState,
    stack: StackName,
    own_host: bool,
) -> Result<Response, PageError> {
    let state = state.clone();
    let not_found = || (StatusCode::NOT_FOUND, "no status page here").into_response();
    let now = Timestamp::now();
    let Some(rows) = public_checks(&state, &stack, now).await? else {
        return Ok(not_found());
    };
    let ids: Vec<CheckId> = rows.iter().map(|(c, ..)| c.id).collect();
    let mut days = state.store.daily_uptimes(&ids, 90, now).await?;
    let recent = state.store.recent_incidents(&ids, 20).await?;
    let mut checks = Vec::with_capacity(rows.len());
    for (check, stored, shown) in &rows {
        let shown = *shown;
        let days = days.remove(&check.id).unwrap_or_default();
        let mine: Vec<IncidentRow> = recent
            .iter()
            .filter(|i| i.check_name == check.name.as_str())
            .cloned()
            .collect();
        let bar = uptime_bar(&days, incident_days(&mine));
        let mut total = Tally::default();
        for day in &days {
            total.probes += day.tally.probes;
            total.up += day.tally.up;
        }
        let span = uptime_span(&days);
        // The root cause is named on the dashboard only: it may be another stack's check.
        let impacted = shown == Shown::Down
            && stored
                .as_ref()
                .is_some_and(|s| s.memory.impacted_by.is_some());
        checks.push((check.name.to_string(), shown, bar, total, impacted, span));
    }
    let stack_checks: Vec<Check> = rows.iter().map(|(c, ..)| c.clone()).collect();
    let windows = state.store.maintenance_windows().await?;
    let ahead = announced(&windows, &stack_checks, now);
    let updates = shown_updates(
        state.store.status_updates(&stack, SHOWN_UPDATES).await?,
        now,
    );
    let mut incidents: Vec<IncidentRow> = recent
        .into_iter()
        .filter(|i| now.0 - i.opened_at < 30 * DAY_MS)
        .collect();
    incidents.sort_by_key(|i| std::cmp::Reverse(i.opened_at));
    let (words, worst) = overall(&checks.iter().map(|c| c.1).collect::<Vec<_>>());
    let body = html! {
        h1 { (state.looks.get(stack.as_str()).and_then(|l| l.title.clone()).unwrap_or_else(|| format!("{stack} status"))) }
        div.overall { span class={ "state state-" (worst.word()) } { (worst.symbol()) " " (words) } }
        @if !ahead.is_empty() {
            h2 { "Maintenance" }
            @for a in &ahead {
                div.card.maintenance {
                    p {
                        strong { @if a.active { "In progress: " } @else { "Scheduled: " } }
                        (a.when)
                        @if let Some(reason) = &a.reason { span.muted { " · " (reason) } }
                    }
                }
            }
        }
        @if !updates.is_empty() {
            h2 { "Updates" }
            (update_list(&updates))
        }
        @for (name, shown, bar, total, impacted, span) in &checks {
            div.card {
                p {
                    strong { (name) } " " (shown.badge())
                    @if *impacted { span.muted { " · impacted: something it relies on is down" } }
                    span.muted { " · " (percent(total.percent())) " " (span) }
                }
                (bar)
            }
        }
        h2 { "Incidents in the last 30 days" }
        (incident_table(&incidents, now, false))
        @if state.subscriptions {
            form.subscribe method="post" action={ "/status/" (stack) "/subscribe" } {
                label { "Get updates and planned maintenance by email "
                    input type="email" name="email" required maxlength="254" autocomplete="email"; }
                " " button type="submit" { "Subscribe" }
            }
        }
        p.muted {
            "Follow the updates: "
            a href={ "/status/" (stack) "/feed.atom" } { "Atom feed" } " · "
            a href={ "/status/" (stack) "/feed.json" } { "JSON feed" }
        }
    };
    let look = state.looks.get(stack.as_str()).cloned().unwrap_or_default();
    let title = look
        .title
        .clone()
        .unwrap_or_else(|| format!("{stack} status"));
    let home = look.link.clone().unwrap_or_else(|| {
        if own_host {
            "/".to_owned()
        } else {
            format!("/status/{stack}")
        }
    });
    let logo_origin = look
        .logo_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization());
    Ok(html_response_with(
        public_page(&title, (&home, &title), look.logo_url.as_deref(), body),
        &state.frame_ancestors,
        logo_origin.as_deref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_says_what_it_covers() {
        let day = |day, probes| Day {
            day,
            tally: Tally { probes, up: probes },
        };
        assert_eq!(
            uptime_span(&[day(20_000, 5), day(20_001, 5)]),
            "over 2 days"
        );
        assert_eq!(
            uptime_span(&[day(20_000, 0), day(20_001, 0), day(20_425, 3)]),
            "since 3 Dec 2025"
        );
        assert_eq!(uptime_span(&[day(20_000, 0)]), "no probe yet");
    }

    #[test]
    fn public_windows_are_announced_ahead_in_their_zone() {
        use crate::domain::schedule::parse_cron;
        use crate::domain::{CheckSpec, MaintenanceScope, WindowTiming, parse_timezone};
        let check = Check {
            id: CheckId(1),
            name: "acme-web".parse().unwrap(),
            spec: CheckSpec::with_defaults("http://127.0.0.1/".parse().unwrap()),
            ping_key: None,
            paused: false,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        };
        let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
        let window = |id, scope, timing, public| MaintenanceWindow {
            id,
            scope,
            timing,
            reason: Some("database upgrade".into()),
            public,
            created_at: Timestamp(0),
        };
        let sundays = || WindowTiming::Recurring {
            expression: "0 2 * * Sun".into(),
            schedule: Box::new(parse_cron("0 2 * * Sun").unwrap()),
            duration_s: 3_600,
            timezone: parse_timezone("Europe/Paris").unwrap(),
        };
        let once = |from: &str, to: &str| WindowTiming::Once {
            starts_at: at(from),
            ends_at: at(to),
        };
        let acme = || MaintenanceScope::Check("acme-web".parse().unwrap());
        let windows = [
            window(1, acme(), sundays(), true),
            window(2, acme(), sundays(), false),
            window(
                3,
                MaintenanceScope::Check("other-web".parse().unwrap()),
                sundays(),
                true,
            ),
            window(
                4,
                MaintenanceScope::All,
                once("2026-12-04T11:00:00Z", "2026-12-05T13:00:00Z"),
                true,
            ),
            window(
                5,
                acme(),
                once("2026-12-30T10:00:00Z", "2026-12-30T11:00:00Z"),
                true,
            ),
        ];
        // Friday 4 December 2026, noon UTC.
        let shown = announced(&windows, &[check], at("2026-12-04T12:00:00Z"));
        let texts: Vec<(bool, &str)> = shown.iter().map(|a| (a.active, a.when.as_str())).collect();
        assert_eq!(
            texts,
            [
                (true, "Friday 4 Dec 11:00 UTC – Saturday 5 Dec 13:00 UTC"),
                (false, "Sunday 6 Dec 02:00–03:00 CET"),
            ]
        );
        assert_eq!(shown[1].reason.as_deref(), Some("database upgrade"));
    }

    #[test]
    fn overall_state_names_the_worst() {
        use Shown::*;
        assert_eq!(overall(&[Up, Up]).0, "All systems operational");
        assert_eq!(overall(&[Up, Down]).0, "Partial outage");
        assert_eq!(overall(&[Down, Down, Paused]).0, "Major outage");
        assert_eq!(overall(&[Up, Maintenance]).0, "Under maintenance");
        assert_eq!(
            overall(&[Up, Degraded, Maintenance]).0,
            "Degraded performance"
        );
        assert_eq!(overall(&[Paused]).0, "All systems operational");
    }
}
