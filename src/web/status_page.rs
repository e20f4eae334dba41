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

use super::announce::announced;
use super::charts::uptime_bar;
use super::check_page::incident_table;
use super::layout::{Shown, ShownMarks, html_response_with, percent, public_page, time_tag};
use super::markdown;
use super::{PageError, WebState, incident_days};
use crate::domain::{Check, CheckId, StackName, Timestamp};
use crate::settings::StatusPagesEnabled;
use crate::store::{CheckFilter, Day, IncidentRow, PageStart, StatusUpdate, StoredState, Tally};

const DAY_MS: i64 = 86_400_000;
/// Most updates a page shows, of the last 30 days.
const SHOWN_UPDATES: u32 = 20;

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
