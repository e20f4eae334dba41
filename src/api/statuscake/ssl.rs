//! `/v1/ssl`: StatusCake's SSL tests as stackwatch HTTPS checks. An SSL test is an HTTPS
//! check that accepts any status code (only a connection or certificate failure is DOWN)
//! and warns `max(alert_at)` days before its certificate expires; StatusCake's other SSL
//! fields are kept beside it. SSL tests are listed here and not among uptime tests.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::form_reader::{FieldProblems, FormFields, Reader, parse_form};
use super::translate::{Translated, common_fields, contact_group_id};
use super::view::nearest_rate;
use super::{V1Error, bounded, check_of, create_from, delete_from, update_from};
use crate::api::ApiState;
use crate::api::auth::{CanRead, CanWrite};
use crate::domain::{Check, Viewer};
use crate::store::{CheckFilter, LiveCheck, StatusCakeFields, is_ssl_test, mark_ssl_test};

/// The rates StatusCake's models allow for an SSL test, in seconds.
const SSL_RATES: [u32; 6] = [300, 600, 1800, 3600, 86400, 2_073_600];

/// The kept flags of an SSL test that stackwatch has no field for, and their defaults.
const KEPT_FLAGS: [(&str, bool); 3] = [
    ("alert_expiry", true),
    ("alert_mixed", false),
    ("alert_reminder", false),
];

/// Translates a whole SSL test form into a native body.
fn translate_ssl(
    form: &FormFields,
    contacts: &BTreeSet<String>,
) -> Result<Translated, FieldProblems> {
    let mut t = Reader {
        form,
        problems: FieldProblems::new(),
    };
    let mut body = Map::new();
    let mut kept = StatusCakeFields::new();
    mark_ssl_test(&mut kept);
    let url = t.text("website_url").unwrap_or_default();
    match url.trim() {
        "" => t.problem("website_url", "is required"),
        url if !url.to_ascii_lowercase().starts_with("https://") => {
            t.problem("website_url", "must be an https:// URL");
        }
        url => {
            let host = url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| url.to_owned());
            body.insert("display_name".into(), json!(format!("SSL {host}")));
            body.insert("url".into(), json!(url));
        }
    }
    body.insert("kind".into(), json!("http"));
    // Any answer is a working server: only the connection and the certificate count.
    body.insert("expected_status".into(), json!(["100-599"]));
    match t.int("check_rate") {
        Some(rate) if SSL_RATES.contains(&rate) => {
            body.insert("check_rate".into(), json!(rate));
        }
        Some(_) => t.problem(
            "check_rate",
            "must be 300, 600, 1800, 3600, 86400 or 2073600",
        ),
        None if !t.problems.contains_key("check_rate") => t.problem("check_rate", "is required"),
        None => {}
    }
    let alert_at = alert_days(&mut t);
    let mut flags = Map::new();
    for (field, default) in KEPT_FLAGS {
        flags.insert(field.into(), json!(t.flag(field).unwrap_or(default)));
    }
    let expiry = flags["alert_expiry"] == true;
    let days = alert_at
        .iter()
        .copied()
        .max()
        .filter(|_| expiry)
        .unwrap_or(0);
    body.insert("cert_expiry_days".into(), json!(days));
    kept.insert("alert_at".into(), json!(alert_at));
    kept.extend(flags);
    if let Some(broken) = t.flag("alert_broken") {
        body.insert("verify_tls".into(), json!(broken));
    }
    if let Some(follow) = t.flag("follow_redirects") {
        body.insert("follow_redirects".into(), json!(follow));
    }
    if let Some(agent) = t.text("user_agent").filter(|a| !a.is_empty()) {
        body.insert("headers".into(), json!({"User-Agent": agent}));
    }
    if let Some(hostname) = t.text("hostname").filter(|h| !h.is_empty()) {
        kept.insert("hostname".into(), json!(hostname));
    }
    common_fields(&mut t, &mut body, contacts);
    let paused = t.flag("paused");
    if t.problems.is_empty() {
        Ok(Translated { body, paused, kept })
    } else {
        Err(t.problems)
    }
}

/// `alert_at`: the days before expiry to warn at, 1-365 each, at least one.
fn alert_days(t: &mut Reader<'_>) -> Vec<u32> {
    let Some(texts) = t.form.get("alert_at").filter(|v| !v.is_empty()) else {
        t.problem(
            "alert_at",
            "is required: the days before expiry to warn at, as 1,7,30",
        );
        return Vec::new();
    };
    let mut days = Vec::new();
    for text in texts.clone() {
        match text.trim().parse::<u32>() {
            Ok(d) if (1..=365).contains(&d) => days.push(d),
            _ => t.problem(
                "alert_at",
                &format!("each must be a whole number 1-365 (got {text:?})"),
            ),
        }
    }
    days.sort_unstable();
    days.dedup();
    days
}

/// The object StatusCake answers for an SSL test.
fn view_of(check: &Check, kept: Option<&StatusCakeFields>, defaults: &[String]) -> Value {
    let spec = &check.spec;
    let http = spec.http();
    let flag = |field: &str, default: bool| {
        kept.and_then(|k| k.get(field))
            .and_then(Value::as_bool)
            .unwrap_or(default)
    };
    let days = http.map_or(0, |h| h.cert_expiry_days());
    let alert_at = kept
        .and_then(|k| k.get("alert_at"))
        .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        .cloned()
        .unwrap_or_else(|| json!([days.max(1)]));
    let contacts: Vec<String> = match spec.contacts() {
        Some(own) => own.iter().map(|c| contact_group_id(c.as_str())).collect(),
        None => defaults.iter().map(|c| contact_group_id(c)).collect(),
    };
    let mut view = json!({
        "id": check.id.0.to_string(),
        "website_url": http.map(|h| h.url().to_string()).unwrap_or_default(),
        "check_rate": nearest_rate(spec.check_rate(), &SSL_RATES),
        "alert_at": alert_at,
        "alert_broken": http.is_none_or(|h| h.verify_tls()),
        "alert_expiry": days > 0,
        "alert_mixed": flag("alert_mixed", false),
        "alert_reminder": flag("alert_reminder", false),
        "contact_groups": contacts,
        "follow_redirects": http.is_some_and(|h| h.follow_redirects()),
        "mixed_content": [],
        "paused": check.paused,
    });
    if let Some(hostname) = kept.and_then(|k| k.get("hostname")) {
        view["hostname"] = hostname.clone();
    }
    let agent = http.and_then(|h| {
        h.headers()
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("user-agent"))
            .map(|(_, value)| value.clone())
    });
    if let Some(agent) = agent {
        view["user_agent"] = json!(agent);
    }
    view
}

/// The form of a stored SSL test, which an update lays its fields over.
fn form_of(check: &Check, kept: Option<&StatusCakeFields>) -> FormFields {
    let view = view_of(check, kept, &[]);
    let mut form = FormFields::new();
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (key, value) in view.as_object().into_iter().flatten() {
        match (key.as_str(), value) {
            ("id" | "mixed_content" | "paused" | "check_rate", _) => {}
            ("contact_groups", _) if check.spec.contacts().is_none() => {}
            (_, Value::Array(items)) => {
                form.insert(key.clone(), items.iter().map(text).collect());
            }
            (_, value) => {
                form.insert(key.clone(), vec![text(value)]);
            }
        }
    }
    form.insert(
        "check_rate".into(),
        vec![check.spec.check_rate().to_string()],
    );
    form
}

/// An SSL test by id.
async fn ssl_of(state: &ApiState, id: &str) -> Result<(Check, StatusCakeFields), V1Error> {
    let check = check_of(state, id).await?;
    let mut kept = state.store.statuscake_fields(&[check.id]).await?;
    match kept.remove(&check.id) {
        Some(fields) if is_ssl_test(&fields) => Ok((check, fields)),
        _ => Err(V1Error::NotFound),
    }
}

pub(super) async fn create(
    State(state): State<ApiState>,
    _: CanWrite,
    body: Bytes,
) -> Result<Response, V1Error> {
    let form = parse_form(&body);
    let translated = translate_ssl(&form, &state.contacts).map_err(V1Error::Invalid)?;
    create_from(&state, translated).await
}

pub(super) async fn update(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, V1Error> {
    let (check, kept) = ssl_of(&state, &id).await?;
    let request = parse_form(&body);
    let mut whole = form_of(&check, Some(&kept));
    for (key, values) in &request {
        whole.insert(key.clone(), values.clone());
    }
    let translated = translate_ssl(&whole, &state.contacts).map_err(V1Error::Invalid)?;
    update_from(&state, &check, translated, &request, kept).await
}

pub(super) async fn delete(
    State(state): State<ApiState>,
    _: CanWrite,
    Path(id): Path<String>,
) -> Result<StatusCode, V1Error> {
    delete_from(&state, ssl_of(&state, &id).await?.0).await
}

/// A page of SSL tests as StatusCake shows them to `viewer`.
async fn views(
    state: &ApiState,
    page: Vec<LiveCheck>,
    viewer: Viewer,
) -> Result<Vec<Value>, V1Error> {
    let ids: Vec<_> = page.iter().map(|l| l.check.id).collect();
    let kept = state.store.statuscake_fields(&ids).await?;
    Ok(page
        .iter()
        .map(|live| {
            let check = live.check.shown_to(viewer);
            view_of(&check, kept.get(&check.id), &state.default_contacts)
        })
        .collect())
}

pub(super) async fn get_one(
    State(state): State<ApiState>,
    reader: CanRead,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, V1Error> {
    let (check, _) = ssl_of(&state, &id).await?;
    let live = vec![state.store.live_check(check).await?];
    let view = views(&state, live, reader.viewer()).await?.pop();
    Ok(axum::Json(json!({ "data": view })))
}

/// Query of `GET /v1/ssl`.
#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    page: Option<String>,
    limit: Option<String>,
}

pub(super) async fn list(
    State(state): State<ApiState>,
    reader: CanRead,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<Value>, V1Error> {
    let page = bounded("page", query.page.as_deref(), 1, u32::MAX)?;
    let limit = bounded("limit", query.limit.as_deref(), 25, 100)?;
    let filter = CheckFilter {
        ssl_test: Some(true),
        ..CheckFilter::default()
    };
    let (live, metadata) = super::numbered_page(&state, &filter, page, limit).await?;
    let data = views(&state, live, reader.viewer()).await?;
    Ok(axum::Json(json!({"data": data, "metadata": metadata})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormFields {
        let mut form = FormFields::new();
        for (k, v) in pairs {
            form.entry((*k).to_owned())
                .or_default()
                .push((*v).to_owned());
        }
        form
    }

    #[test]
    fn an_ssl_test_is_an_https_check_warning_at_its_earliest_alert_day() {
        let t = translate_ssl(
            &form(&[
                ("website_url", "https://shop.example/"),
                ("check_rate", "3600"),
                ("alert_at", "30"),
                ("alert_at", "7"),
                ("alert_at", "1"),
                ("alert_broken", "true"),
            ]),
            &BTreeSet::new(),
        )
        .unwrap();
        assert_eq!(t.body["cert_expiry_days"], 30);
        assert_eq!(t.body["display_name"], "SSL shop.example");
        assert_eq!(t.body["expected_status"], json!(["100-599"]));
        assert_eq!(t.kept["alert_at"], json!([1, 7, 30]));
        assert!(is_ssl_test(&t.kept));
        let off = translate_ssl(
            &form(&[
                ("website_url", "https://shop.example/"),
                ("check_rate", "300"),
                ("alert_at", "7"),
                ("alert_expiry", "false"),
            ]),
            &BTreeSet::new(),
        )
        .unwrap();
        assert_eq!(off.body["cert_expiry_days"], 0);
    }

    #[test]
    fn a_bad_ssl_form_names_each_field() {
        let problems = translate_ssl(
            &form(&[
                ("website_url", "http://shop.example/"),
                ("check_rate", "60"),
                ("alert_at", "0"),
            ]),
            &BTreeSet::new(),
        )
        .unwrap_err();
        let fields: Vec<&str> = problems.keys().map(String::as_str).collect();
        assert_eq!(fields, ["alert_at", "check_rate", "website_url"]);
    }
}
