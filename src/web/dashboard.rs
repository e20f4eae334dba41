//! The dashboard at `/`: every check grouped by stack, worst first, with its state, uptime
//! over 24 h and 30 d, last response time and since when; filters by stack, tag and state,
//! and a search by name; above them, what `/readyz` would name as wrong with monitoring.
//! Built from current state and rollups, never from raw history.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Shown, ShownMarks, html_response, page, percent, since};
use super::session::{sign_in_first, viewer};
use super::{PageError, WebState};
use crate::domain::Timestamp;
use crate::store::{DashboardPage, DashboardQuery, OverviewRow};

/// Checks on one page of the dashboard: every check of a team of a few hundred stacks, and
/// a page that renders at once when there are a million.
const PAGE_SIZE: u32 = 1000;

/// The dashboard's filters and page, all optional.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    stack: Option<String>,
    tag: Option<String>,
    state: Option<String>,
    /// Part of a check's name.
    q: Option<String>,
    /// From 1.
    page: Option<String>,
}

impl Filters {
    /// A filter given a value.
    fn given(value: &Option<String>) -> Option<&str> {
        value.as_deref().filter(|s| !s.is_empty())
    }

    /// The checks asked for, or `None` when a value names nothing there can be (a stack,
    /// tag or state that is not one).
    fn query(&self) -> Option<DashboardQuery> {
        let mut query = DashboardQuery::default();
        if let Some(stack) = Self::given(&self.stack) {
            query.filter.stack = Some(stack.parse().ok()?);
        }
        if let Some(tag) = Self::given(&self.tag) {
            query.filter.tag = Some(tag.parse().ok()?);
        }
        if let Some(state) = Self::given(&self.state) {
            query.shown = Some(Shown::parse(state)?);
        }
        query.filter.name_contains = Self::given(&self.q).map(str::to_ascii_lowercase);
        Some(query)
    }

    /// The page asked for; anything but a number from 1 is the first.
    fn page(&self) -> u32 {
        self.page
            .as_deref()
            .and_then(|p| p.parse().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1)
    }

    /// The address of page `page` with these filters.
    fn link(&self, page: u32) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("q", &self.q),
            ("stack", &self.stack),
            ("tag", &self.tag),
            ("state", &self.state),
        ] {
            if let Some(value) = Self::given(value) {
                query.append_pair(key, value);
            }
        }
        query.append_pair("page", &page.to_string());
        format!("/?{}", query.finish())
    }
}

/// A row as shown.
struct Line {
    row: OverviewRow,
    shown: Shown,
}

pub async fn dashboard(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    Query(filters): Query<Filters>,
) -> Result<Response, PageError> {
    // A status page's own host name serves that page at `/`, to anyone.
    if let Some(stack) = super::status_page::stack_of_host(&state, &headers) {
        return super::status_page::render(&state, stack, true).await;
    }
    let Some(who) = viewer(&state, &headers, peer.ip()) else {
        return Ok(sign_in_first(&uri.to_string()));
    };
    let now = Timestamp::now();
    let windows = state.store.maintenance_windows().await?;
    let open: Vec<_> = windows
        .iter()
        .filter(|w| w.open_at(now))
        .map(|w| &w.scope)
        .collect();
    let mut counts: BTreeMap<Shown, u64> = BTreeMap::new();
    let mut stacks: Vec<String> = Vec::new();
    let groups = state.store.state_groups(&open).await?;
    for group in &groups {
        *counts.entry(group.shown()).or_default() += group.checks;
        stacks.extend(group.stack.clone());
    }
    stacks.sort();
    stacks.dedup();
    let tags = state.store.tag_names().await?;
    let total: u64 = counts.values().sum();
    let page_number = filters.page();
    let found = match filters.query() {
        Some(query) => {
            let skip = u64::from(page_number - 1) * u64::from(PAGE_SIZE);
            state
                .store
                .dashboard_page(&query, &open, &groups, skip, PAGE_SIZE, now)
                .await?
        }
        None => DashboardPage {
            rows: Vec::new(),
            matching: 0,
        },
    };
    let pages = found.matching.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let lines: Vec<Line> = found
        .rows
        .into_iter()
        .map(|row| Line {
            shown: row.live.shown(&windows, now),
            row,
        })
        .collect();
    let problems = state.vitals.problems();
    let agents = state.store.agent_locations().await?;
    let acked = state.store.open_acknowledgements().await?;
    let body = html! {
        h1 { "Checks" }
        @if !problems.is_empty() {
            div.problems role="alert" {
                strong { "Monitoring is impaired" }
                ul { @for problem in &problems { li { (problem) } } }
            }
        }
        @for agent in agents.iter().filter(|a| a.offline) {
            div.problems role="alert" {
                strong { "Location " (agent.name) " is offline" }
                " — its agent was last heard from " (since(Some(Timestamp(agent.last_seen)), now))
                "; its votes do not count until it reports again."
            }
        }
        @if !agents.is_empty() {
            p.muted {
                "Agents: "
                @for (i, agent) in agents.iter().enumerate() {
                    @if i > 0 { ", " }
                    (agent.name) " " @if agent.offline { strong { "offline" } } @else { "reporting" }
                }
            }
        }
        div.counts {
            span.count { strong { (total) } " checks" }
            @for (shown, n) in &counts { span.count { (shown.badge()) " " (n) } }
        }
        (filter_form(&filters, &stacks, &tags))
        @if lines.is_empty() {
            p.muted { @if total == 0 { "No check yet: register one with PUT /api/v1/checks/{name}." } @else { "No check matches." } }
        }
        @for (stack, group) in grouped(lines) {
            (stack_section(&stack, &group, &acked, now))
        }
        @if pages > 1 || page_number > 1 {
            nav.pages aria-label="Pages" {
                @if page_number > 1 { a rel="prev" href=(filters.link(page_number - 1)) { "← Previous" } " " }
                "Page " (page_number) " of " (pages) " (" (found.matching) " checks match)"
                @if u64::from(page_number) < pages { " " a rel="next" href=(filters.link(page_number + 1)) { "Next →" } }
            }
        }
    };
    Ok(html_response(
        page("Checks", who.signed_in(), true, body),
        "'none'",
    ))
}

fn filter_form(filters: &Filters, stacks: &[String], tags: &[String]) -> Markup {
    let selected = |current: &Option<String>, value: &str| current.as_deref() == Some(value);
    html! {
        form.filters method="get" action="/" {
            input type="search" name="q" placeholder="Search by name" value=[filters.q.as_deref()];
            select name="stack" aria-label="Stack" {
                option value="" { "All stacks" }
                @for s in stacks { option value=(s) selected[selected(&filters.stack, s)] { (s) } }
            }
            select name="tag" aria-label="Tag" {
                option value="" { "All tags" }
                @for t in tags { option value=(t) selected[selected(&filters.tag, t)] { (t) } }
            }
            select name="state" aria-label="State" {
                option value="" { "All states" }
                @for s in Shown::ALL { option value=(s.word()) selected[selected(&filters.state, s.word())] { (s.word()) } }
            }
            button type="submit" { "Filter" }
        }
    }
}

/// Lines grouped by stack: groups with the worst check first, checks worst first.
fn grouped(lines: Vec<Line>) -> Vec<(String, Vec<Line>)> {
    let mut groups: BTreeMap<String, Vec<Line>> = BTreeMap::new();
    for line in lines {
        let stack = line
            .row
            .live
            .check
            .spec
            .stack()
            .map_or_else(|| "(no stack)".to_owned(), ToString::to_string);
        groups.entry(stack).or_default().push(line);
    }
    let mut groups: Vec<(String, Vec<Line>)> = groups.into_iter().collect();
    for (_, group) in &mut groups {
        group.sort_by(|a, b| {
            (a.shown, a.row.live.check.name.as_str())
                .cmp(&(b.shown, b.row.live.check.name.as_str()))
        });
    }
    groups.sort_by(|(a_name, a), (b_name, b)| {
        let worst = |g: &[Line]| g.first().map_or(Shown::Up, |l| l.shown);
        (worst(a), a_name).cmp(&(worst(b), b_name))
    });
    groups
}

/// A stack's checks; `acked`: who acknowledged each open outage, by check id.
fn stack_section(
    stack: &str,
    lines: &[Line],
    acked: &HashMap<i64, String>,
    now: Timestamp,
) -> Markup {
    html! {
        section.stack {
            @if stack.parse::<crate::domain::StackName>().is_ok() {
                h2 { a href={ "/stacks/" (stack) } { (stack) } }
            } @else {
                h2 { (stack) }
            }
            table {
                thead { tr {
                    th.w-state { "State" } th { "Check" }
                    th.num.w-num { "24 h" } th.num.wide.w-num { "30 d" }
                    th.num.wide.w-resp { "Response" } th.wide.w-since { "Since" } th.wide.w-cause { "Cause" }
                } }
                tbody {
                    @for line in lines {
                        @let row = &line.row;
                        @let state_since = row.live.state.as_ref().map(|s| s.state.since);
                        tr {
                            td { (line.shown.badge()) }
                            td { a href={ "/checks/" (row.live.check.name) } { (row.live.check.name) } }
                            td.num { (percent(row.uptime_24h.percent())) }
                            td.num.wide { (percent(row.uptime_30d.percent())) }
                            td.num.wide { @match row.live.last.as_ref().filter(|l| l.up()) { Some(last) => { (last.total_ms) " ms" } None => { "–" } } }
                            td.wide { (since(state_since, now)) }
                            td.wide.cause {
                                @if line.shown == Shown::Down {
                                    (row.live.state.as_ref().and_then(|s| s.memory.last_cause.as_deref()).unwrap_or(""))
                                    @if let Some(root) = row.live.state.as_ref().and_then(|s| s.memory.impacted_by.as_ref()) {
                                        " " span.impacted { "(impacted by " a href={ "/checks/" (root) } { (root) } ")" }
                                    }
                                    @if let Some(by) = acked.get(&row.live.check.id.0) {
                                        " " span.acked { "(acknowledged by " (by) ")" }
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
