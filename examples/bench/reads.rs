//! How long the read paths answer with this many checks, asked once the measured window is
//! over (so they cost the window nothing) while stackwatch keeps probing: the dashboard's
//! first and last page, `/metrics`, the summary, and the first and last page of the API's
//! and `/v1`'s check lists. Each is asked three times; the slowest whole answer counts.

use std::time::Instant;

use serde::Serialize;

/// One read path and its slowest answer.
#[derive(Debug, Serialize)]
pub struct Read {
    pub path: String,
    pub slowest_ms: f64,
    pub bytes: usize,
}

/// Times the read paths of the server at `base`, holding `checks` checks.
pub async fn measure(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    checks: u32,
) -> anyhow::Result<Vec<Read>> {
    // The dashboard shows 1,000 checks a page, the lists below 100.
    let last_dashboard = checks.div_ceil(1_000).max(1);
    let last_list = checks.div_ceil(100).max(1);
    let paths = [
        "/".to_owned(),
        format!("/?page={last_dashboard}"),
        "/metrics".to_owned(),
        "/api/v1/summary?by=stack".to_owned(),
        "/api/v1/checks?limit=100".to_owned(),
        "/v1/uptime?limit=100".to_owned(),
        format!("/v1/uptime?limit=100&page={last_list}"),
    ];
    let mut reads = Vec::new();
    for path in paths {
        let mut slowest = 0.0_f64;
        let mut bytes = 0;
        for _ in 0..3 {
            let started = Instant::now();
            let response = client
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await?
                .error_for_status()?;
            bytes = response.bytes().await?.len();
            slowest = slowest.max(started.elapsed().as_secs_f64() * 1_000.0);
        }
        reads.push(Read {
            path,
            slowest_ms: slowest,
            bytes,
        });
    }
    Ok(reads)
}
