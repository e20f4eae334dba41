//! `/v1/uptime-locations` and `/v1/pagespeed-locations`: the locations stackwatch probes
//! from, which a test's `regions` may name; and StatusCake's features stackwatch does not
//! have, answered as StatusCake answers a feature an account lacks.

use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::V1Error;
use crate::api::ApiState;
use crate::api::auth::CanRead;

/// Query of the location lists.
#[derive(Debug, Deserialize)]
pub(super) struct LocationQuery {
    region_code: Option<String>,
}

/// Every location a check may name: this server's, the cluster's and each agent's;
/// an agent's is `down` while it is offline.
pub(super) async fn list(
    State(state): State<ApiState>,
    _: CanRead,
    Query(query): Query<LocationQuery>,
) -> Result<axum::Json<Value>, V1Error> {
    let offline: Vec<String> = state
        .store
        .agent_locations()
        .await?
        .into_iter()
        .filter(|row| row.offline)
        .map(|row| row.name)
        .collect();
    let data: Vec<Value> = state
        .locations
        .iter()
        .filter(|name| {
            query
                .region_code
                .as_deref()
                .is_none_or(|code| code.eq_ignore_ascii_case(name))
        })
        .map(|name| {
            let status = if offline.contains(name) { "down" } else { "up" };
            json!({
                "description": name,
                "region": name,
                "region_code": name,
                "status": status,
            })
        })
        .collect();
    Ok(axum::Json(json!({ "data": data })))
}

/// A StatusCake feature stackwatch has no equivalent of: refused as StatusCake refuses a
/// feature the account's plan lacks.
pub(super) async fn unavailable(_: CanRead) -> V1Error {
    V1Error::Forbidden("PageSpeed tests are not available in stackwatch")
}

/// Contact groups are stackwatch's configured contacts: the API lists them and cannot
/// change them.
pub(super) async fn contacts_read_only(_: CanRead) -> V1Error {
    V1Error::Forbidden(
        "Contact groups are stackwatch's contacts, set in its configuration file; the API \
         cannot change them",
    )
}
