//! `/v1/heartbeat`: StatusCake's heartbeat (push) checks, which are stackwatch's heartbeat
//! kind: a job calls the check's URL; no call within `period` seconds is DOWN.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::form_reader::{FormFields, parse_form};
use super::translate::{contact_group_id, translate_heartbeat};
use super::view::{heartbeat_view_of, period_of};
use super::{V1Error, check_of, create_from, delete_from, update_from};
use crate::api::ApiState;
use crate::api::auth::{CanRead, CanWrite};
use crate::domain::{Check, Viewer};
use crate::store::{CheckFilter, LiveCheck, StatusCakeFields};

async fn heartbeat_of(state: &ApiState, id: &str) -> Result<Check, V1Error> {
    let check = check_of(state, id).await?;
    if check.spec.is_heartbeat() {
        Ok(check)
    } else {
        Err(V1Error::NotFound)
    }
}

/// The ping URL on the address the client reached us by.
fn ping_url(headers: &HeaderMap, check: &Check) -> String {
    let key = check.ping_key.as_deref().unwrap_or_default();
    format!("{}/ping/{key}", super::base_of(headers))
}

pub(super) async fn create(
    State(state): State<ApiState>,
    _: CanWrite,
    body: Bytes,
) -> Result<Response, V1Error> {
    let form = parse_form(&body);
    let translated = translate_heartbeat(&form, &state.contacts).map_err(V1Error::Invalid)?;
    create_from(&state, translated).await
}

pub(super) async fn update(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, V1Error> {
    let check = heartbeat_of(&state, &id).await?;
    let request = parse_form(&body);
    let mut whole = FormFields::new();
    let view = heartbeat_view_of(&check, String::new(), &[]);
    let name = view["name"].as_str().unwrap_or("").to_owned();
    whole.insert("name".into(), vec![name]);
    whole.insert("period".into(), vec![period_of(&check).to_string()]);
    if let Some(contacts) = &check.spec.contacts() {
        let ids = contacts.iter().map(|c| contact_group_id(c.as_str()));
        whole.insert("contact_groups".into(), ids.collect());
    }
    let tags = check.spec.tags().iter().map(|t| t.as_str().to_owned());
    whole.insert("tags".into(), tags.collect());
    for (key, values) in &request {
        whole.insert(key.clone(), values.clone());
    }
    let translated = translate_heartbeat(&whole, &state.contacts).map_err(V1Error::Invalid)?;
    update_from(
        &state,
        &check,
        translated,
        &request,
        StatusCakeFields::new(),
    )
    .await
}

pub(super) async fn delete(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(id): Path<String>,
) -> Result<StatusCode, V1Error> {
    delete_from(&state, heartbeat_of(&state, &id).await?).await
}

/// A page of heartbeats as StatusCake shows them to `viewer`.
async fn views(
    state: &ApiState,
    headers: &HeaderMap,
    page: Vec<LiveCheck>,
    viewer: Viewer,
) -> Result<Vec<Value>, V1Error> {
    let figures = super::uptime::live_figures(state, &page).await?;
    Ok(page
        .iter()
        .zip(figures)
        .map(|(live, figures)| {
            let shown = live.check.shown_to(viewer);
            let mut view =
                heartbeat_view_of(&shown, ping_url(headers, &shown), &state.default_contacts);
            if let Value::Object(view) = &mut view {
                view.extend(figures);
            }
            view
        })
        .collect())
}

pub(super) async fn get_one(
    State(state): State<ApiState>,
    reader: CanRead,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, V1Error> {
    let check = heartbeat_of(&state, &id).await?;
    let live = vec![state.store.live_check(check).await?];
    let view = views(&state, &headers, live, reader.viewer()).await?.pop();
    Ok(axum::Json(json!({ "data": view })))
}

pub(super) async fn list(
    State(state): State<ApiState>,
    reader: CanRead,
    headers: HeaderMap,
    Query(query): Query<super::ListQuery>,
) -> Result<axum::Json<Value>, V1Error> {
    let base = CheckFilter {
        heartbeat: Some(true),
        ..CheckFilter::default()
    };
    let (filter, page, limit) = query.read(base)?;
    let (live, metadata) = super::numbered_page(&state, &filter, page, limit).await?;
    let data = views(&state, &headers, live, reader.viewer()).await?;
    Ok(axum::Json(json!({"data": data, "metadata": metadata})))
}
