//! `stackwatch agent`: probes one location's checks for a server elsewhere. It pulls the
//! checks (a long poll on the list's version), probes them with the server's prober and
//! plan, and pushes the results in batches (see `outbox`). It needs no database and no
//! inbound port; while the server is away it keeps probing and keeps the results.

mod offline;
mod outbox;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::domain::wire::{AgentCheck, AgentChecks};
use crate::domain::{CheckId, CheckSpec, CheckState, LocationName, Outcome, Timestamp, Transition};
use crate::monitor::{Plan, WAKE_TICK_MS, recv_opt, sleep_until_opt};
use crate::probe::Prober;
use crate::settings::{Secret, Settings};

pub use outbox::{OUTBOX_BOUND, Outbox, Queued};

/// How long a pull may take: the server's long poll and some slack.
const PULL_TIMEOUT: Duration = Duration::from_secs(60);
/// Waits between failed pulls: from the first to the longest.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(10);

/// Where and as whom an agent works.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The server's base URL, e.g. `https://stackwatch.example`.
    pub server: reqwest::Url,
    pub token: Secret,
    pub location: LocationName,
    pub max_concurrent_probes: usize,
    /// `monitor.canaries`: with any, the agent's own offline rule applies.
    pub canaries: Vec<String>,
}

/// The agent's configuration: `[agent]` with the flags laid over it, and
/// `monitor.max_concurrent_probes`. `Err` lists every problem, each naming its key.
pub fn config(
    settings: &Settings,
    server: Option<String>,
    token: Option<String>,
    location: Option<String>,
) -> Result<AgentConfig, String> {
    let mut problems = Vec::new();
    let server = server.unwrap_or_else(|| settings.agent.server.clone());
    let server = match reqwest::Url::parse(&server) {
        // Credentials in the URL would be logged and sent along; the token is the only one.
        Ok(url) if !url.username().is_empty() || url.password().is_some() => {
            problems.push(
                "agent.server: must not carry a user name or password (the agent authenticates with agent.token)"
                    .to_owned(),
            );
            None
        }
        Ok(url) if url.query().is_some() || url.fragment().is_some() => {
            problems
                .push("agent.server: must be a base URL, without a query or fragment".to_owned());
            None
        }
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            // A base URL ends with a slash, so paths join beneath it.
            let mut url = url;
            if !url.path().ends_with('/') {
                let path = format!("{}/", url.path());
                url.set_path(&path);
            }
            Some(url)
        }
        _ if server.is_empty() => {
            problems.push("agent.server: is required (or --server)".to_owned());
            None
        }
        _ => {
            problems.push("agent.server: must be an http or https URL".to_owned());
            None
        }
    };
    let token = token.map_or_else(|| settings.agent.token.clone(), Secret::new);
    if token.expose().is_empty() {
        problems
            .push("agent.token: is required (or --token, or STACKWATCH_AGENT_TOKEN)".to_owned());
    }
    let location = location.unwrap_or_else(|| settings.agent.location.clone());
    let location = match LocationName::try_from(location) {
        Ok(location) => Some(location),
        Err(e) => {
            problems.push(format!("agent.location: {e}"));
            None
        }
    };
    match (server, location) {
        (Some(server), Some(location)) if problems.is_empty() => Ok(AgentConfig {
            server,
            token,
            location,
            max_concurrent_probes: settings.monitor.max_concurrent_probes as usize,
            canaries: settings.monitor.canaries.clone(),
        }),
        _ => Err(problems.join("\n")),
    }
}

/// Runs the agent until `shutdown` completes.
pub async fn run_until_stopped(
    config: AgentConfig,
    settings: &Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let prober = Prober::configured(&settings.probe).context("cannot set up TLS for probes")?;
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        shutdown.await;
        stop.cancel();
    });
    run(config, prober, cancel).await
}

/// The client an agent talks to its server with: no redirect is followed (the token goes
/// to the server named, nowhere else).
pub fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("stackwatch-agent/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot set up the agent's HTTP client")
}

/// Runs until `cancel`: pulls, probes, pushes.
pub async fn run(
    config: AgentConfig,
    prober: Prober,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let client = client()?;
    let (checks_tx, checks_rx) = watch::channel(Vec::new());
    let (results_tx, results_rx) = mpsc::channel(4_096);
    tracing::info!(server = %config.server, location = %config.location, "agent started");
    let puller = tokio::spawn(pull_forever(
        client.clone(),
        config.clone(),
        checks_tx,
        cancel.clone(),
    ));
    let pusher = tokio::spawn(Outbox::new(client, config.clone()).run(results_rx, cancel.clone()));
    probe_forever(config, Arc::new(prober), checks_rx, results_tx, cancel).await;
    let _ = puller.await;
    let _ = pusher.await;
    Ok(())
}

/// Pulls the location's checks whenever they change, retrying with backoff while the
/// server cannot be reached (the checks known so far are probed meanwhile).
async fn pull_forever(
    client: reqwest::Client,
    config: AgentConfig,
    checks: watch::Sender<Vec<AgentCheck>>,
    cancel: CancellationToken,
) {
    let mut version: Option<String> = None;
    let mut wait = FIRST_RETRY;
    let mut failing = false;
    loop {
        let pulled = tokio::select! {
            () = cancel.cancelled() => return,
            pulled = pull(&client, &config, version.as_deref()) => pulled,
        };
        match pulled {
            Ok(list) => {
                if failing {
                    tracing::info!("the server answers again");
                    failing = false;
                }
                wait = FIRST_RETRY;
                if version.as_deref() != Some(list.version.as_str()) {
                    tracing::info!(checks = list.checks.len(), "checks pulled");
                    version = Some(list.version);
                    checks.send_replace(list.checks);
                }
                continue;
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "the server cannot be reached; probing goes on with the checks known");
                    failing = true;
                }
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(LONGEST_RETRY);
    }
}

async fn pull(
    client: &reqwest::Client,
    config: &AgentConfig,
    version: Option<&str>,
) -> anyhow::Result<AgentChecks> {
    let mut url = config.server.join("api/v1/agent/checks")?;
    if let Some(version) = version {
        url.query_pairs_mut().append_pair("version", version);
    }
    let response = client
        .get(url)
        .bearer_auth(config.token.expose())
        .timeout(PULL_TIMEOUT)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.without_url()))?;
    let status = response.status();
    if !status.is_success() {
        anyhow::bail!("the server answered {status}");
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.without_url()))?;
    Ok(serde_json::from_slice(&body)?)
}

/// A check the agent probes and its own verdict so far (for the retry interval only: the
/// server judges).
struct Probed {
    spec: Arc<CheckSpec>,
    state: CheckState,
}

/// Probes the pulled checks on the server's plan until `cancel`.
async fn probe_forever(
    config: AgentConfig,
    prober: Arc<Prober>,
    mut checks: watch::Receiver<Vec<AgentCheck>>,
    results: mpsc::Sender<Queued>,
    cancel: CancellationToken,
) {
    let epoch = Instant::now();
    let now_ms = || u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
    let permits = Arc::new(Semaphore::new(config.max_concurrent_probes.max(1)));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(CheckId, Outcome)>();
    let mut plan = Plan::default();
    let mut probed: HashMap<CheckId, Probed> = HashMap::new();
    let mut offline = offline::OfflineRule::new(&config.canaries);
    loop {
        let next_round = offline.as_ref().and_then(offline::OfflineRule::next_round);
        let rounds = offline.as_mut().map(|rule| &mut rule.rounds_rx);
        // On the server's ticks, as its scheduler wakes (see `monitor::plan`).
        let next = plan
            .next_due()
            .map(|due| epoch + Duration::from_millis(due.div_ceil(WAKE_TICK_MS) * WAKE_TICK_MS));
        tokio::select! {
            () = cancel.cancelled() => return,
            Ok(()) = checks.changed() => {
                let list = checks.borrow_and_update();
                replace_checks(&mut plan, &mut probed, &list, now_ms());
            }
            Some((id, outcome)) = done_rx.recv() => {
                let Some(entry) = probed.get_mut(&id) else { continue };
                let before = entry.state;
                let (state, transition) = before.observe(outcome.is_up(), entry.spec.thresholds(), outcome.started_at);
                entry.state = state;
                plan.finished(id, state.confirming(), now_ms());
                let queued = Queued { check: id, outcome, changes: state != before };
                let confirms_down = matches!(transition, Some(Transition::WentDown { .. }));
                let ready = match &mut offline {
                    Some(rule) => rule.take(queued, !before.confirming(), confirms_down),
                    None => Some(queued),
                };
                if let Some(queued) = ready
                    && results.send(queued).await.is_err()
                {
                    return;
                }
            }
            Some(round) = recv_opt(rounds) => {
                let ready = offline.as_mut().map(|rule| rule.round_done(round)).unwrap_or_default();
                for queued in ready {
                    if results.send(queued).await.is_err() {
                        return;
                    }
                }
            }
            () = sleep_until_opt(next_round) => {
                if let Some(rule) = &mut offline {
                    rule.start_round(&prober);
                }
            }
            () = sleep_until_opt(next) => {
                for (id, _) in plan.take_due(now_ms() / WAKE_TICK_MS * WAKE_TICK_MS) {
                    let Some(entry) = probed.get(&id) else { continue };
                    let spec = entry.spec.clone();
                    let (prober, permits, done) = (prober.clone(), permits.clone(), done_tx.clone());
                    tokio::spawn(async move {
                        let Ok(_permit) = permits.acquire_owned().await else { return };
                        let outcome = prober.probe(&spec).await;
                        let _ = done.send((id, outcome));
                    });
                }
            }
        }
    }
}

/// Plans the pulled list: new checks are added, changed ones re-planned, gone ones removed.
fn replace_checks(
    plan: &mut Plan,
    probed: &mut HashMap<CheckId, Probed>,
    list: &[AgentCheck],
    now_ms: u64,
) {
    let mut seen = HashMap::with_capacity(list.len());
    for pulled in list {
        let id = CheckId(pulled.id);
        let spec = match crate::store::decode_spec(&pulled.spec) {
            Ok(spec) => spec,
            Err(reason) => {
                tracing::error!(check = %pulled.name, reason, "a pulled check cannot be read; it is not probed (is this agent older than the server?)");
                continue;
            }
        };
        seen.insert(id, ());
        match probed.get_mut(&id) {
            Some(entry) if *entry.spec == spec => {}
            Some(entry) => {
                plan.update(id, spec.cadence(), now_ms);
                entry.spec = Arc::new(spec);
            }
            None => {
                plan.add_new(id, spec.cadence(), now_ms);
                probed.insert(
                    id,
                    Probed {
                        spec: Arc::new(spec),
                        state: CheckState::new(Timestamp::now()),
                    },
                );
            }
        }
    }
    probed.retain(|id, _| {
        let keep = seen.contains_key(id);
        if !keep {
            plan.remove(*id);
        }
        keep
    });
}
