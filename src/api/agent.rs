//! The agents' side of the API. An agent pulls the checks its location probes (a long
//! poll on a version of the check list) and pushes their results in batches. Its token is
//! bound to one location and reaches nothing else; it does see the secrets of its
//! location's checks, which it needs to probe them. Not in the OpenAPI document: the only
//! client is `stackwatch agent` of the same release.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::time::Instant;

use super::ApiState;
use super::auth::client_of;
use super::problem::ApiError;
use crate::domain::wire::{AgentCheck, AgentChecks, MAX_RESULTS_PER_PUSH, Push, Taken};
use crate::domain::{CheckId, FieldError, LocationName, Timestamp};
use crate::settings::Refusal;

/// A location is offline once silent for this many rates of the fastest check it probes,
/// and never sooner than [`MIN_SILENCE`].
pub const SILENT_RATES: u64 = 3;
pub const MIN_SILENCE: Duration = Duration::from_secs(30);
/// How far back a pushed result may have started: what an agent kept while the server was
/// away for up to a day.
const OLDEST_RESULT_MS: i64 = 86_400_000;
/// How far ahead of this server's clock a result may claim to have started.
const CLOCK_SLACK_MS: i64 = 60_000;
/// How often an agent's contact is written down at most (it pushes every second).
const SEEN_EVERY: Duration = Duration::from_secs(2);

/// The agents' routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/agent/checks", get(pull))
        .route("/api/v1/agent/results", post(push))
}

/// What the server remembers of each agent between requests.
#[derive(Debug, Default, Clone)]
pub struct AgentContacts(Arc<Mutex<HashMap<LocationName, Contact>>>);

#[derive(Debug, Clone, Copy)]
struct Contact {
    silent_ms: i64,
    written: Option<Instant>,
}

impl AgentContacts {
    /// Notes a request of `location`'s agent; writes it down unless that was done a moment
    /// ago. `silent_ms`: a new bound on its silence, from a pull.
    async fn seen(
        &self,
        state: &ApiState,
        location: &LocationName,
        silent_ms: Option<i64>,
    ) -> Result<(), ApiError> {
        let write = {
            let Ok(mut contacts) = self.0.lock() else {
                return Ok(());
            };
            let contact = contacts.entry(location.clone()).or_insert(Contact {
                silent_ms: MIN_SILENCE.as_millis() as i64,
                written: None,
            });
            let changed = silent_ms.is_some_and(|s| s != contact.silent_ms);
            contact.silent_ms = silent_ms.unwrap_or(contact.silent_ms);
            let due = changed || contact.written.is_none_or(|at| at.elapsed() >= SEEN_EVERY);
            if due {
                contact.written = Some(Instant::now());
            }
            due.then_some(contact.silent_ms)
        };
        if let Some(silent_ms) = write {
            state
                .store
                .agent_seen(location, Timestamp::now(), silent_ms)
                .await?;
        }
        Ok(())
    }
}

/// Extractor: the request carries an agent token; holds its location.
pub struct AgentOf(pub LocationName);

impl FromRequestParts<ApiState> for AgentOf {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or(ApiError::Unauthorized)?;
        match state
            .tokens
            .verify_agent(client_of(&parts.extensions), token)
        {
            Ok(Some(location)) => Ok(Self(location)),
            Ok(None) => Err(ApiError::Forbidden),
            Err(Refusal::Unknown) => Err(ApiError::Unauthorized),
            Err(Refusal::Wait { retry_after_s }) => {
                Err(ApiError::TooManyRequests { retry_after_s })
            }
        }
    }
}

/// `GET /api/v1/agent/checks?version=V`: answers at once when the check list is no longer
/// at version `V` (or no version is given), else when it changes or the wait is up.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    version: Option<String>,
}

async fn pull(
    State(state): State<ApiState>,
    AgentOf(location): AgentOf,
    Query(query): Query<PullQuery>,
) -> Result<Json<AgentChecks>, ApiError> {
    state.agents.seen(&state, &location, None).await?;
    let deadline = Instant::now() + state.poll_wait;
    let mut version = state.store.checks_version().await?;
    while query.version.as_deref() == Some(version.as_str()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        version = state.store.checks_version().await?;
    }
    let mut checks = Vec::new();
    let mut fastest_s: Option<u32> = None;
    for check in state
        .store
        .checks_probed_from(&location, &state.location)
        .await?
    {
        let spec = crate::store::encode_spec(&check.spec).map_err(|reason| {
            ApiError::Store(crate::store::StoreError::Corrupt {
                name: check.name.to_string(),
                reason,
            })
        })?;
        fastest_s =
            Some(fastest_s.map_or(check.spec.check_rate(), |f| f.min(check.spec.check_rate())));
        checks.push(AgentCheck {
            id: check.id.0,
            name: check.name.to_string(),
            spec,
        });
    }
    let silent_after_s = silence_bound(fastest_s).as_secs();
    state
        .agents
        .seen(
            &state,
            &location,
            Some(i64::try_from(silent_after_s * 1_000).unwrap_or(i64::MAX)),
        )
        .await?;
    Ok(Json(AgentChecks {
        version,
        location,
        silent_after_s,
        checks,
    }))
}

/// How long a location whose fastest check is probed every `fastest_s` may stay silent.
pub fn silence_bound(fastest_s: Option<u32>) -> Duration {
    let rates = Duration::from_secs(u64::from(fastest_s.unwrap_or(0)) * SILENT_RATES);
    rates.max(MIN_SILENCE)
}

/// `POST /api/v1/agent/results`: every result must look like a probe's, else the batch is
/// refused whole (422 naming the field). Results of checks this location does not probe
/// (any more) are dropped and counted.
async fn push(
    State(state): State<ApiState>,
    AgentOf(location): AgentOf,
    body: Result<Json<Push>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Taken>), ApiError> {
    let Json(push) = body.map_err(|e| ApiError::invalid("results", e.body_text()))?;
    if push.results.len() > MAX_RESULTS_PER_PUSH {
        return Err(ApiError::invalid(
            "results",
            format!("at most {MAX_RESULTS_PER_PUSH} results in one push"),
        ));
    }
    state.agents.seen(&state, &location, None).await?;
    let now = Timestamp::now().0;
    let mut errors = Vec::new();
    let mut outcomes = Vec::with_capacity(push.results.len());
    let ids: Vec<CheckId> = push.results.iter().map(|r| CheckId(r.check)).collect();
    let probed = state
        .store
        .check_ids_probed_from(&ids, &location, &state.location)
        .await?;
    let mut dropped = 0;
    for (i, pushed) in push.results.into_iter().enumerate() {
        let at = pushed.outcome.started_at.0;
        if !probed.contains(&CheckId(pushed.check)) {
            dropped += 1;
        } else if !(now - OLDEST_RESULT_MS..=now + CLOCK_SLACK_MS).contains(&at) {
            errors.push(FieldError::new(
                format!("results[{i}].outcome.started_at"),
                "must lie within the last day (is the agent's clock right?)",
            ));
        } else {
            match pushed.outcome.checked() {
                Ok(outcome) => outcomes.push((CheckId(pushed.check), outcome)),
                Err((field, reason)) => errors.push(FieldError::new(
                    format!("results[{i}].outcome.{field}"),
                    reason,
                )),
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let accepted = outcomes.len();
    if state.store.is_shared() {
        // Judged by whichever instance holds each check, which reads the log every second.
        state.store.log_agent_results(&location, &outcomes).await?;
    } else if accepted > 0 {
        state.monitor.remote_results(Arc::new(location), outcomes);
    }
    Ok((StatusCode::ACCEPTED, Json(Taken { accepted, dropped })))
}
