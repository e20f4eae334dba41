//! Public status pages at `/status/{stack}`: the stack's overall state, each check's 90-day
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
use super::layout::{Shown, ShownMarks, html_response, page, percent};
use super::{PageError, WebState, incident_days};
use crate::domain::{Check, CheckId, StackName, Timestamp};
use crate::settings::StatusPagesEnabled;
use crate::store::{CheckFilter, Day, IncidentRow, PageStart, StoredState, Tally};

const DAY_MS: i64 = 86_400_000;

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

pub async fn status_page(
    State(state): State<WebState>,
    Path(stack): Path<String>,
) -> Result<Response, PageError> {
    let not_found = || (StatusCode::NOT_FOUND, "no status page here").into_response();
    let Ok(stack) = stack.parse::<StackName>() else {
        return Ok(not_found());
    };
    // Decided before anything of the stack is read: an unpublished stack answers as fast
    // as a missing one, and costs an anonymous visitor's request no more.
    if !published(&state, &stack).await? {
        return Ok(not_found());
    }
    let now = Timestamp::now();
    let rows = shown_checks(&state, &stack, now).await?;
    if rows.is_empty() {
        return Ok(not_found());
    }
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
    let mut incidents: Vec<IncidentRow> = recent
        .into_iter()
        .filter(|i| now.0 - i.opened_at < 30 * DAY_MS)
        .collect();
    incidents.sort_by_key(|i| std::cmp::Reverse(i.opened_at));
    let (words, worst) = overall(&checks.iter().map(|c| c.1).collect::<Vec<_>>());
    let body = html! {
        h1 { (stack) " status" }
        div.overall { span class={ "state state-" (worst.word()) } { (worst.symbol()) " " (words) } }
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
    };
    Ok(html_response(
        page(&format!("{stack} status"), false, true, body),
        &state.frame_ancestors,
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
