//! A check's page at `/checks/{name}`: state and facts, the 90-day uptime bar, the
//! response-time chart over 24 h, 7 d or 30 d, incidents with durations, causes and
//! acknowledgements (and, for an admin, the button that acknowledges the open one), and
//! the alerts with their deliveries.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::charts::{Span, latency_chart, uptime_bar};
use super::layout::{ShownMarks, date_text, html_response, page, percent, since, time_tag};
use super::session::{Viewer, sign_in_first, viewer};
use super::updates::update_form;
use super::{PageError, WebState, incident_days};
use crate::domain::{CheckName, Target, Timestamp, duration_text};
use crate::settings::Role;
use crate::store::{AlertFilter, IncidentFilter, IncidentRow};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    range: Option<String>,
}

/// The chart's time ranges: label, span, buckets; 30 d comes from hourly rollups.
const RANGES: [(&str, i64, i64); 3] = [
    ("24h", DAY_MS, 96),
    ("7d", 7 * DAY_MS, 168),
    ("30d", 30 * DAY_MS, 0),
];

/// Recent results shown per location.
const RECENT_PER_LOCATION: u32 = 12;

pub async fn check_page(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    Path(name): Path<String>,
    Query(query): Query<RangeQuery>,
) -> Result<Response, PageError> {
    let Some(who) = viewer(&state, &headers, peer.ip()) else {
        return Ok(sign_in_first(&uri.to_string()));
    };
    let not_found = || (StatusCode::NOT_FOUND, "no such check").into_response();
    let Ok(name) = name.parse::<CheckName>() else {
        return Ok(not_found());
    };
    let now = Timestamp::now();
    let Some(check) = state.store.get_check(&name).await? else {
        return Ok(not_found());
    };
    let row = state.store.live_check(check).await?;
    let windows = state.store.maintenance_windows().await?;
    let shown = row.shown(&windows, now);
    let (label, span, buckets) = RANGES
        .into_iter()
        .find(|(l, ..)| Some(*l) == query.range.as_deref())
        .unwrap_or(RANGES[0]);
    let since_at = Timestamp(now.0 - span);
    let (points, phases) = if buckets > 0 {
        let points = state
            .store
            .latency_series(row.check.id, since_at, now, buckets)
            .await?;
        (points, true)
    } else {
        (
            state.store.hourly_latency(row.check.id, since_at).await?,
            false,
        )
    };
    let days = state.store.daily_uptime(row.check.id, 90, now).await?;
    let incidents = state
        .store
        .incidents(&IncidentFilter {
            check_id: Some(row.check.id),
            limit: 50,
            ..IncidentFilter::default()
        })
        .await?;
    let alerts = state
        .store
        .alerts(&AlertFilter {
            check: Some(name.clone()),
            status: None,
            since: None,
            until: None,
            kinds: Vec::new(),
            limit: 20,
        })
        .await?;
    let uptime = state
        .store
        .uptime(row.check.id, now, row.check.spec.degraded_after_ms())
        .await?;
    let stored = row.state.as_ref();
    let mut locations = Vec::new();
    for (location, vote) in stored.iter().flat_map(|s| s.votes.iter()) {
        let recent = state
            .store
            .results_from(
                row.check.id,
                Some(location.as_str()),
                Timestamp(now.0 - HOUR_MS),
                now,
                RECENT_PER_LOCATION,
            )
            .await?;
        locations.push((location, vote, recent));
    }
    let spec = &row.check.spec.redacted();
    let body = html! {
        h1 { (row.check.name) " " (shown.badge()) }
        div.card {
            dl.facts {
                @match &spec.target() {
                    Target::Http(http) => {
                        dt { "URL" } dd { (http.method().as_str()) " " (http.url()) }
                        @let asserts = http.assertions_text();
                        @if !asserts.is_empty() {
                            dt { "Asserts" } dd { @for (i, line) in asserts.iter().enumerate() { @if i > 0 { br; } (line) } }
                        }
                    }
                    other => { dt { "Target" } dd { (other.address()) } }
                }
                @if let Some(stack) = &spec.stack() {
                    dt { "Stack" } dd { a href={ "/stacks/" (stack) } { (stack) } " · " a href={ "/status/" (stack) } { "status page" } }
                }
                dt { "State since" } dd { (since(stored.map(|s| s.state.since), now)) }
                dt { "Last probe" } dd { (since(row.last.as_ref().map(|r| Timestamp(r.at)), now)) @if let Some(last) = row.last.as_ref().filter(|r| r.up()) { ", " (last.total_ms) " ms" } }
                @if let Some(cause) = stored.and_then(|s| s.memory.last_cause.as_ref()).filter(|_| shown == super::layout::Shown::Down) {
                    dt { "Cause" } dd { (cause) }
                }
                dt { "Every" } dd { (spec.check_rate()) " s, confirmed after " (spec.failures_to_confirm()) " failures" }
                @if let Some(ms) = spec.degraded_after_ms() {
                    dt { "Degraded" } dd { "after " (spec.failures_to_confirm()) " answers slower than " (ms) " ms" }
                }
                dt { @if spec.is_domain() { "Registration" } @else { "Certificate" } } dd { (certificate(stored.and_then(|s| s.cert_not_after), now)) }
                @for w in &uptime {
                    dt { "Uptime " (w.window) } dd { (percent(w.uptime_percent)) " of " (w.probes) " probes"
                        @if w.within_slo_percent.is_some() { ", " (percent(w.within_slo_percent)) " within SLO" }
                        @if let Some(p95) = w.p95_ms { ", p95 " (p95) " ms" } }
                }
            }
        }
        @if !locations.is_empty() {
            h2 { "Locations" }
            div.card {
                table {
                    thead { tr { th { "Location" } th { "State" } th { "Since" } th { "Recent probes, newest first (ms)" } th { "Cause" } } }
                    tbody {
                        @for (location, vote, recent) in &locations {
                            tr {
                                td { (location) }
                                td { (vote.state.health.as_str()) }
                                td { (since(Some(vote.state.since), now)) }
                                td {
                                    @for (i, r) in recent.iter().enumerate() {
                                        @if i > 0 { " · " }
                                        @if r.up() { (r.total_ms) } @else { "down" }
                                    }
                                }
                                td { (vote.cause.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "90 days" }
        div.card { (uptime_bar(&days, incident_days(&incidents))) }
        h2 { "Response time" }
        div.card {
            p.ranges {
                @for (l, ..) in RANGES {
                    a class=[(l == label).then_some("on")] href={ "?range=" (l) } { (l) }
                }
            }
            (latency_chart(&points, phases, Span { since: since_at, span_ms: span, slots: if buckets > 0 { buckets } else { span / HOUR_MS } }))
            p.legend.muted {
                @if phases {
                    span { i.dns {} "DNS" } span { i.connect {} "connect" } span { i.tls {} "TLS" } span { i.ttfb {} "first byte" }
                } @else {
                    "Hourly average of the probes that were up (phases are not kept past raw retention)."
                }
            }
        }
        h2 { "Incidents" }
        @if let Some(open) = incidents.iter().find(|i| i.resolved_at.is_none() && i.acked_at.is_none()) {
            @if matches!(who, Viewer::Known { role: Role::Admin, .. }) {
                (ack_form(&row.check.name, open.id))
            }
        }
        (incident_table(&incidents, now, true))
        @if let (Some(stack), Viewer::Known { role: Role::Admin, .. }) = (spec.stack(), who) {
            details.card {
                summary { "Post an update on the status page of " (stack) }
                (update_form(
                    &format!("/stacks/{stack}/updates"),
                    row.check.name.as_str(),
                    incidents.iter().find(|i| i.resolved_at.is_none()).map(|i| i.id),
                    Some(row.check.name.as_str()),
                ))
            }
        }
        h2 { "Alerts" }
        div.card {
            @if alerts.is_empty() { p.muted { "No alert yet." } }
            @else {
                table {
                    thead { tr { th { "When" } th { "Kind" } th { "Deliveries" } } }
                    tbody {
                        @for (alert, deliveries) in &alerts {
                            tr {
                                td { (time_tag(alert.created_at)) span.muted { " (" (since(Some(alert.created_at), now)) ")" } }
                                td { (alert.kind.as_str()) }
                                td {
                                    @if deliveries.is_empty() { span.muted { (crate::domain::NOBODY_TOLD) } }
                                    @for d in deliveries {
                                        (d.contact) ": " (d.status.as_str())
                                        @if d.attempts > 1 { " after " (d.attempts) " attempts" }
                                        @if let Some(e) = &d.last_error { " (" (e) ")" }
                                        br;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let title = row.check.name.to_string();
    Ok(html_response(
        page(&title, who.signed_in(), true, body),
        "'none'",
    ))
}

/// The button that acknowledges the open incident: its reminders stop, its contacts are
/// told once who took it.
fn ack_form(check: &CheckName, incident: i64) -> Markup {
    html! {
        div.card {
            form method="post" action={ "/checks/" (check) "/incidents/" (incident) "/ack" } {
                label { "Who " input type="text" name="by" required maxlength="100"; }
                " "
                label { "Note " input type="text" name="note" maxlength="1000"; }
                " "
                button type="submit" { "Acknowledge" }
            }
        }
    }
}

fn certificate(not_after: Option<Timestamp>, now: Timestamp) -> String {
    match not_after {
        None => "none seen".to_owned(),
        Some(t) if t.0 <= now.0 => format!("expired {}", date_text(t)),
        Some(t) => format!(
            "expires {} (in {} days)",
            date_text(t),
            (t.0 - now.0) / DAY_MS
        ),
    }
}

/// Incidents, newest first, with durations; causes only where `with_causes`.
pub fn incident_table(incidents: &[IncidentRow], now: Timestamp, with_causes: bool) -> Markup {
    html! {
        div.card {
            @if incidents.is_empty() { p.muted { "No incident." } }
            @else {
                table {
                    thead { tr { th { "Check" } th { "Began" } th { "Lasted" } @if with_causes { th { "Cause" } th { "Acknowledged" } } } }
                    tbody {
                        @for i in incidents {
                            @let end = i.resolved_at.unwrap_or(now.0);
                            tr {
                                td { (i.check_name) }
                                td { (time_tag(Timestamp(i.opened_at))) }
                                td {
                                    (duration_text(u64::try_from((end - i.opened_at) / 1_000).unwrap_or(0)))
                                    @if i.resolved_at.is_none() { " (ongoing)" }
                                }
                                @if with_causes {
                                    td { (i.cause) }
                                    td {
                                        @if let (Some(at), Some(by)) = (i.acked_at, &i.acked_by) {
                                            (by) " at " (time_tag(Timestamp(at)))
                                            @if let Some(note) = &i.ack_note { ": " (note) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
