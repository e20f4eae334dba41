//! What an agent and its server exchange over `/api/v1/agent/…` (see `api::agent` and the
//! `agent` module): the checks a location probes and the results it pushes.

use serde::{Deserialize, Serialize};

use super::{LocationName, Outcome};

/// Most results in one push.
pub const MAX_RESULTS_PER_PUSH: usize = 5_000;
/// Most bytes of one push's body, well below the API's 1 MiB limit on a request body (a
/// result is some 200 bytes, a few kilobytes at most with a long cause).
pub const MAX_PUSH_BYTES: usize = 512 * 1024;

/// The checks one location probes.
#[derive(Debug, Serialize, Deserialize)]
pub struct AgentChecks {
    /// The check list's version: sent back on the next pull.
    pub version: String,
    pub location: LocationName,
    /// Seconds this location may stay silent before it is offline.
    pub silent_after_s: u64,
    pub checks: Vec<AgentCheck>,
}

/// One check to probe: its id (results name it) and its spec in the stored form.
#[derive(Debug, Serialize, Deserialize)]
pub struct AgentCheck {
    pub id: i64,
    pub name: String,
    pub spec: String,
}

/// A batch of results.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Push {
    pub results: Vec<Pushed>,
}

/// One result: the check's id and what the probe found.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pushed {
    pub check: i64,
    pub outcome: Outcome,
}

/// How many results were taken, and how many were of checks this location no longer
/// probes (deleted, paused or moved meanwhile) and so were dropped.
#[derive(Debug, Serialize, Deserialize)]
pub struct Taken {
    pub accepted: usize,
    pub dropped: usize,
}
