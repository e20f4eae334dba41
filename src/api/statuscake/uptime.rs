//! `/v1/uptime`: StatusCake's uptime checks, their history, periods and alerts.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::form_reader::{FormFields, parse_form};
use super::translate::translate;
use super::view::{form_of, view_of};
use super::{V1Error, bounded, check_of, create_from, delete_from, update_from};
use crate::api::ApiState;
use crate::api::auth::{CanRead, CanWrite};
use crate::domain::{AlertKind, Check, CheckId, Health, Timestamp, Viewer};
use crate::store::{AlertFilter, CheckFilter, IncidentFilter, LiveCheck, is_ssl_test};

pub(super) async fn create(
    State(state): State<ApiState>,
    _: CanWrite,
    body: Bytes,
) -> Result<Response, V1Error> {
    let form = parse_form(&body);
    let rdap = state.rdap.directory();
    let translated = translate(&form, state.registry(&rdap)).map_err(V1Error::Invalid)?;
    create_from(&state, translated).await
}

pub(super) async fn update(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, V1Error> {
    let check = uptime_of(&state, &id).await?;
    let kept = state.store.statuscake_fields(&[check.id]).await?;
    let kept = kept.get(&check.id).cloned().unwrap_or_default();
    let request = parse_form(&body);
    let mut whole: FormFields = form_of(&check, Some(&kept));
    for (key, values) in &request {
        whole.insert(key.clone(), values.clone());
    }
    let rdap = state.rdap.directory();
    let translated = translate(&whole, state.registry(&rdap)).map_err(V1Error::Invalid)?;
    update_from(&state, &check, translated, &request, kept).await
}

pub(super) async fn delete(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(id): Path<String>,
) -> Result<StatusCode, V1Error> {
    delete_from(&state, uptime_of(&state, &id).await?).await
}

/// The live figures StatusCake shows with each check of a page: `status`, `uptime` (last
/// 24 hours, in percent) and `last_tested_at`, in one tally query for the page.
pub(super) async fn live_figures(
    state: &ApiState,
    page: &[LiveCheck],
) -> Result<Vec<Map<String, Value>>, V1Error> {
    let ids: Vec<CheckId> = page.iter().map(|l| l.check.id).collect();
    let days = state.store.day_tallies(&ids, Timestamp::now()).await?;
    Ok(page
        .iter()
        .map(|live| {
            let day = days
                .get(&live.check.id)
                .and_then(|t| t.percent())
                .unwrap_or(100.0);
            let down = matches!(
                live.state.as_ref().map(|s| s.state.health),
                Some(Health::Down)
            );
            let mut figures = Map::new();
            figures.insert("status".into(), json!(if down { "down" } else { "up" }));
            figures.insert("uptime".into(), json!((day * 100.0).round() / 100.0));
            if let Some(last) = &live.last {
                figures.insert(
                    "last_tested_at".into(),
                    json!(Timestamp(last.at).to_rfc3339()),
                );
            }
            figures
        })
        .collect())
}

/// A page of uptime checks as StatusCake shows them to `viewer`.
async fn uptime_views(
    state: &ApiState,
    page: Vec<LiveCheck>,
    viewer: Viewer,
) -> Result<Vec<Value>, V1Error> {
    let ids: Vec<CheckId> = page.iter().map(|l| l.check.id).collect();
    let kept = state.store.statuscake_fields(&ids).await?;
    let figures = live_figures(state, &page).await?;
    Ok(page
        .iter()
        .zip(figures)
        .map(|(live, figures)| {
            let check = &live.check;
            let mut view = view_of(
                &check.shown_to(viewer),
                kept.get(&check.id),
                &state.default_contacts,
            );
            if let Value::Object(view) = &mut view {
                view.extend(figures);
            }
            view
        })
        .collect())
}

/// An uptime check by id: heartbeats and SSL tests have their own routes, and StatusCake
/// has no domain checks.
async fn uptime_of(state: &ApiState, id: &str) -> Result<Check, V1Error> {
    let check = check_of(state, id).await?;
    if check.spec.is_heartbeat() || check.spec.is_domain() {
        return Err(V1Error::NotFound);
    }
    let kept = state.store.statuscake_fields(&[check.id]).await?;
    let ssl = kept.get(&check.id).is_some_and(is_ssl_test);
    if ssl {
        Err(V1Error::NotFound)
    } else {
        Ok(check)
    }
}

pub(super) async fn get_one(
    State(state): State<ApiState>,
    reader: CanRead,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, V1Error> {
    let check = uptime_of(&state, &id).await?;
    let live = vec![state.store.live_check(check).await?];
    let view = uptime_views(&state, live, reader.viewer()).await?.pop();
    Ok(axum::Json(json!({"data": view})))
}

pub(super) async fn list(
    State(state): State<ApiState>,
    reader: CanRead,
    Query(query): Query<super::ListQuery>,
) -> Result<axum::Json<Value>, V1Error> {
    let base = CheckFilter {
        heartbeat: Some(false),
        domain: Some(false),
        ssl_test: Some(false),
        ..CheckFilter::default()
    };
    let (filter, page, limit) = query.read(base)?;
    let (live, metadata) = super::numbered_page(&state, &filter, page, limit).await?;
    let data = uptime_views(&state, live, reader.viewer()).await?;
    Ok(axum::Json(json!({"data": data, "metadata": metadata})))
}

/// Query of the history, periods and alerts lists.
#[derive(Debug, Deserialize)]
pub(super) struct HistoryQuery {
    limit: Option<String>,
    before: Option<String>,
    after: Option<String>,
}

impl HistoryQuery {
    /// `limit`, and the `since <= at < until` bounds of `after` and `before`.
    fn read(&self) -> Result<(u32, Timestamp, Timestamp), V1Error> {
        let limit = bounded("limit", self.limit.as_deref(), 25, 100)?;
        let (since, until) = super::time_bounds(self.before.as_deref(), self.after.as_deref())?;
        Ok((limit, since, until))
    }
}

pub(super) async fn history(
    State(state): State<ApiState>,
    _: CanRead,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<axum::Json<Value>, V1Error> {
    let check = uptime_of(&state, &id).await?;
    let (limit, since, until) = query.read()?;
    let rows = state
        .store
        .results(check.id, since, until, limit + 1)
        .await?;
    let (rows, next) = super::time_page(rows, limit, |r| r.at);
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut result = json!({
                "created_at": Timestamp(r.at).to_rfc3339(),
                "status_code": r.status.unwrap_or(0),
                "location": r.location,
                "performance": r.total_ms.max(0),
                "up": r.up(),
            });
            if let Some(error) = &r.error {
                result["error"] = json!(error);
            }
            result
        })
        .collect();
    let links = super::links(&headers, &uri, next);
    Ok(axum::Json(json!({"data": data, "links": links})))
}

pub(super) async fn periods(
    State(state): State<ApiState>,
    _: CanRead,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<axum::Json<Value>, V1Error> {
    let check = uptime_of(&state, &id).await?;
    let (limit, since, until) = query.read()?;
    let mut incidents = state
        .store
        .incidents(&IncidentFilter {
            check_id: Some(check.id),
            limit: 1000,
            ..IncidentFilter::default()
        })
        .await?;
    incidents.sort_by_key(|i| i.opened_at);
    // Up from the check's creation to its first outage, between outages, and after the last.
    let now = Timestamp::now().0;
    let mut periods = Vec::new();
    let mut up_from = Some(check.created_at.0);
    for incident in &incidents {
        if let Some(from) = up_from.filter(|f| *f < incident.opened_at) {
            periods.push(("up", from, Some(incident.opened_at)));
        }
        periods.push(("down", incident.opened_at, incident.resolved_at));
        up_from = incident.resolved_at;
    }
    if let Some(from) = up_from {
        periods.push(("up", from, None));
    }
    periods.reverse();
    periods.retain(|(_, from, _)| since.0 <= *from && *from < until.0);
    periods.truncate(limit as usize + 1);
    let (periods, next) = super::time_page(periods, limit, |(_, from, _)| *from);
    let data: Vec<Value> = periods
        .iter()
        .map(|(status, from, to)| {
            // StatusCake's models count a period's duration in milliseconds.
            let mut period = json!({
                "status": status,
                "created_at": Timestamp(*from).to_rfc3339(),
                "duration": (to.unwrap_or(now) - from).max(0),
            });
            if let Some(to) = to {
                period["ended_at"] = json!(Timestamp(*to).to_rfc3339());
            }
            period
        })
        .collect();
    let links = super::links(&headers, &uri, next);
    Ok(axum::Json(json!({"data": data, "links": links})))
}

pub(super) async fn alerts(
    State(state): State<ApiState>,
    _: CanRead,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<axum::Json<Value>, V1Error> {
    let check = uptime_of(&state, &id).await?;
    let (limit, since, until) = query.read()?;
    let alerts = state
        .store
        .alerts(&AlertFilter {
            check: Some(check.name.clone()),
            status: None,
            since: Some(since),
            until: Some(until),
            // StatusCake's alerts are a test going down and coming back up.
            kinds: vec![AlertKind::Down, AlertKind::Reminder, AlertKind::Recovered],
            limit: limit + 1,
        })
        .await?;
    let (alerts, next) = super::time_page(alerts, limit, |(alert, _)| alert.created_at.0);
    let data: Vec<Value> = alerts
        .iter()
        .filter_map(|(alert, _)| {
            let status = match alert.kind {
                AlertKind::Down | AlertKind::Reminder => "down",
                AlertKind::Recovered => "up",
                _ => return None,
            };
            let mut view = json!({
                "id": alert.id.to_string(),
                "status": status,
                "status_code": 0,
                "triggered_at": alert.created_at.to_rfc3339(),
            });
            if let Some(cause) = &alert.facts.cause {
                view["cause"] = json!(cause);
            }
            Some(view)
        })
        .collect();
    let links = super::links(&headers, &uri, next);
    Ok(axum::Json(json!({"data": data, "links": links})))
}
