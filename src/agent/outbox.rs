//! The agent's results on their way to the server: pushed in batches every second, kept
//! while the server cannot be reached, up to a bound past which the oldest results that
//! changed nothing at this location are thinned first (as the server's recorder thins its
//! backlog), so the runs that confirm a change arrive whole.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::AgentConfig;
use crate::domain::wire::{MAX_RESULTS_PER_PUSH, Push, Pushed, Taken};
use crate::domain::{CheckId, Outcome};

/// Results kept while the server is away: 100,000 probes, some 20 MB at most (a thousand
/// checks every 60 s fill it in 100 minutes).
pub const OUTBOX_BOUND: usize = 100_000;
/// How often results are pushed.
const PUSH_EVERY: Duration = Duration::from_secs(1);
/// With nothing to push, an empty push this often tells the server the agent is alive.
const ALIVE_EVERY: Duration = Duration::from_secs(5);
/// Longest wait between pushes while they fail.
const LONGEST_RETRY: Duration = Duration::from_secs(10);
/// How long one push may take.
const PUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// A result waiting to be pushed.
#[derive(Debug, Clone)]
pub struct Queued {
    pub check: CheckId,
    pub outcome: Outcome,
    /// It changed this location's verdict (a run began, grew or confirmed): kept before
    /// results that changed nothing when the outbox must thin.
    pub changes: bool,
}

/// The results waiting, and how pushing goes.
pub struct Outbox {
    client: reqwest::Client,
    config: AgentConfig,
    waiting: VecDeque<Queued>,
    thinned: u64,
    failing_since: Option<Instant>,
    last_push: Instant,
    retry: Duration,
}

/// What became of one push.
enum Sent {
    Taken,
    /// The server refused the batch itself (not the connection): it is dropped.
    Refused(String),
    /// Not reached, or not now: the batch is kept.
    Failed(String),
}

impl Outbox {
    pub fn new(client: reqwest::Client, config: AgentConfig) -> Self {
        Self {
            client,
            config,
            waiting: VecDeque::new(),
            thinned: 0,
            failing_since: None,
            last_push: Instant::now(),
            retry: PUSH_EVERY,
        }
    }

    /// Adds a result, thinning the oldest that changed nothing when past the bound.
    pub fn push(&mut self, queued: Queued) {
        self.waiting.push_back(queued);
        if self.waiting.len() > OUTBOX_BOUND {
            let oldest_plain = self.waiting.iter().position(|q| !q.changes).unwrap_or(0);
            self.waiting.remove(oldest_plain);
            self.thinned += 1;
            if self.thinned.is_power_of_two() {
                tracing::warn!(
                    thinned = self.thinned,
                    waiting = self.waiting.len(),
                    "the outbox passed its bound: oldest results that changed nothing are thinned"
                );
            }
        }
    }

    /// Runs until cancelled, then tries one last push of what is left.
    pub async fn run(mut self, mut results: mpsc::Receiver<Queued>, cancel: CancellationToken) {
        let mut open = true;
        loop {
            let wait = if self.failing_since.is_some() {
                self.retry
            } else if self.waiting.is_empty() {
                ALIVE_EVERY
            } else {
                PUSH_EVERY
            };
            let at = self.last_push + wait;
            tokio::select! {
                () = cancel.cancelled() => break,
                queued = results.recv(), if open => match queued {
                    Some(queued) => self.push(queued),
                    None => open = false,
                },
                () = tokio::time::sleep_until(at) => self.push_once().await,
            }
        }
        while let Ok(queued) = results.try_recv() {
            self.push(queued);
        }
        if !self.waiting.is_empty() {
            self.push_once().await;
        }
    }

    /// Pushes the oldest batch (or an empty one, to say the agent is alive).
    async fn push_once(&mut self) {
        self.last_push = Instant::now();
        let n = self.waiting.len().min(MAX_RESULTS_PER_PUSH);
        let batch = Push {
            results: self
                .waiting
                .iter()
                .take(n)
                .map(|q| Pushed {
                    check: q.check.0,
                    outcome: q.outcome.clone(),
                })
                .collect(),
        };
        match self.send(&batch).await {
            Sent::Taken => {
                self.waiting.drain(..n);
                if let Some(since) = self.failing_since.take() {
                    tracing::info!(
                        failed_for_s = since.elapsed().as_secs(),
                        waiting = self.waiting.len(),
                        thinned = self.thinned,
                        "the server takes results again"
                    );
                }
                self.retry = PUSH_EVERY;
            }
            Sent::Refused(why) => {
                tracing::error!(
                    results = n,
                    why,
                    "the server refused a batch of results; it is dropped"
                );
                self.waiting.drain(..n);
            }
            Sent::Failed(why) => {
                if self.failing_since.is_none() {
                    tracing::warn!(
                        why,
                        waiting = self.waiting.len(),
                        "results cannot be pushed; they are kept and pushed again"
                    );
                    self.failing_since = Some(Instant::now());
                }
                self.retry = (self.retry * 2).min(LONGEST_RETRY);
            }
        }
    }

    async fn send(&self, batch: &Push) -> Sent {
        let url = match self.config.server.join("api/v1/agent/results") {
            Ok(url) => url,
            Err(e) => return Sent::Failed(e.to_string()),
        };
        let body = match serde_json::to_vec(batch) {
            Ok(body) => body,
            Err(e) => return Sent::Refused(e.to_string()),
        };
        let sent = self
            .client
            .post(url)
            .bearer_auth(self.config.token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .timeout(PUSH_TIMEOUT)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return Sent::Failed(e.without_url().to_string()),
        };
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            if let Ok(taken) = serde_json::from_str::<Taken>(&text)
                && taken.dropped > 0
            {
                tracing::info!(
                    dropped = taken.dropped,
                    "results of checks this location no longer probes were dropped"
                );
            }
            Sent::Taken
        } else if status == reqwest::StatusCode::UNPROCESSABLE_ENTITY {
            Sent::Refused(format!("{status}: {}", crate::domain::bound_text(&text)))
        } else {
            Sent::Failed(format!("the server answered {status}"))
        }
    }
}
