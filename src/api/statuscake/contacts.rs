//! `/v1/contact-groups`: the configured contacts, each with a stable id.

use std::collections::HashMap;

use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::V1Error;
use super::translate::contact_group_id;
use crate::api::ApiState;
use crate::api::auth::CanRead;

fn contact_group(name: &str) -> Value {
    json!({
        "id": contact_group_id(name),
        "name": name,
        "email_addresses": [],
        "integrations": [],
        "mobile_numbers": [],
    })
}

pub(super) async fn list(State(state): State<ApiState>, _: CanRead) -> axum::Json<Value> {
    let data: Vec<Value> = state.contacts.iter().map(|c| contact_group(c)).collect();
    let total = data.len();
    axum::Json(json!({
        "data": data,
        "metadata": super::pagination(1, u32::try_from(total.max(1)).unwrap_or(u32::MAX), total as u64),
    }))
}

pub(super) async fn get_one(
    State(state): State<ApiState>,
    _: CanRead,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, V1Error> {
    let by_id: HashMap<String, &String> = state
        .contacts
        .iter()
        .map(|c| (contact_group_id(c), c))
        .collect();
    let name = by_id.get(&id).ok_or(V1Error::NotFound)?;
    Ok(axum::Json(json!({"data": contact_group(name)})))
}
