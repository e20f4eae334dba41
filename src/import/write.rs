//! Writing one imported object through stackwatch's `/v1`: created, or updated in place
//! when one of the same name exists, and reported either way.

use std::collections::HashMap;

use anyhow::bail;
use reqwest::Method;
use serde_json::Value;

use super::Report;
use super::client::ApiClient;
use super::forms::Form;

/// stackwatch's `/v1` objects by name (the first of a name).
pub(super) fn by_name(items: &[Value]) -> HashMap<String, Value> {
    let mut found = HashMap::new();
    for item in items {
        if let Some(name) = item["name"].as_str() {
            found.entry(name.to_owned()).or_insert_with(|| item.clone());
        }
    }
    found
}

/// The reasons in a StatusCake-shaped refusal, one line.
pub(super) fn refusal(body: &Value) -> String {
    match body["errors"].as_object() {
        Some(errors) if !errors.is_empty() => errors
            .iter()
            .map(|(field, reasons)| {
                let reasons: Vec<&str> = reasons
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                format!("{field} {}", reasons.join("; "))
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => body["message"].as_str().unwrap_or("refused").to_owned(),
    }
}

/// The figures that describe a check, without the live ones.
fn settled(view: &Value) -> Value {
    let mut view = view.clone();
    if let Some(object) = view.as_object_mut() {
        for live in ["status", "uptime", "last_tested_at"] {
            object.remove(live);
        }
    }
    view
}

/// Creates the check or updates the one of the same name; returns its stackwatch id.
pub(super) async fn write(
    dest: &ApiClient,
    resource: &str,
    check: &Value,
    form: Form,
    existing: &HashMap<String, Value>,
    dry_run: bool,
    report: &mut Report,
) -> anyhow::Result<Option<String>> {
    let kind = resource;
    let name = check["name"].as_str().unwrap_or("").to_owned();
    if let Some(found) = existing.get(&name) {
        let id = found["id"].as_str().unwrap_or("").to_owned();
        if dry_run {
            report.unchanged += 1;
            report.line(kind, "exists", &name, "would be updated in place");
            return Ok(Some(id));
        }
        let before = dest.get(&format!("/v1/{resource}/{id}")).await?;
        let answer = dest
            .send_form(Method::PUT, &format!("/v1/{resource}/{id}"), &form)
            .await?;
        if answer.status != 204 {
            report.skipped += 1;
            report.line(kind, "skipped", &name, &refusal(&answer.body));
            return Ok(Some(id));
        }
        let after = dest.get(&format!("/v1/{resource}/{id}")).await?;
        if settled(&before.body["data"]) == settled(&after.body["data"]) {
            report.unchanged += 1;
            report.line(kind, "unchanged", &name, "");
        } else {
            report.updated += 1;
            report.line(kind, "updated", &name, "");
        }
        return Ok(Some(id));
    }
    if dry_run {
        report.created += 1;
        report.line(kind, "would add", &name, "");
        // A stand-in id, so windows over it count as carried over too.
        return Ok(Some(format!("new:{}", check["id"].as_str().unwrap_or(""))));
    }
    let answer = dest
        .send_form(Method::POST, &format!("/v1/{resource}"), &form)
        .await?;
    if answer.status == 201 {
        let id = answer.body["data"]["new_id"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        report.created += 1;
        report.line(kind, "created", &name, &format!("id {id}"));
        Ok(Some(id))
    } else if answer.status == 400 {
        report.skipped += 1;
        report.line(kind, "skipped", &name, &refusal(&answer.body));
        Ok(None)
    } else {
        bail!(
            "POST /v1/{resource} answered {}: {}",
            answer.status,
            answer.body
        )
    }
}
