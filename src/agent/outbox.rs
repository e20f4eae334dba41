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
use crate::domain::wire::{MAX_PUSH_BYTES, MAX_RESULTS_PER_PUSH, Pushed, Taken};
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
    /// The server refused the batch itself (400, 413, 422: not the connection, the token
    /// or its load): it is dropped.
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

    /// The body of a push of the oldest results: as many as fit in [`MAX_PUSH_BYTES`]
    /// and [`MAX_RESULTS_PER_PUSH`] (at least one), and how many that is.
    fn batch(&self) -> (String, usize) {
        let mut items: Vec<String> = Vec::new();
        let mut bytes = 0;
        for queued in self.waiting.iter().take(MAX_RESULTS_PER_PUSH) {
            let item = serde_json::to_string(&Pushed {
                check: queued.check.0,
                outcome: queued.outcome.clone(),
            })
            .unwrap_or_default();
            if !items.is_empty() && bytes + item.len() + 1 > MAX_PUSH_BYTES - 16 {
                break;
            }
            bytes += item.len() + 1;
            items.push(item);
        }
        let n = items.len();
        (format!("{{\"results\":[{}]}}", items.join(",")), n)
    }

    /// Pushes the oldest batch (or an empty one, to say the agent is alive).
    async fn push_once(&mut self) {
        self.last_push = Instant::now();
        let (body, n) = self.batch();
        match self.send(body).await {
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

    async fn send(&self, body: String) -> Sent {
        let url = match self.config.server.join("api/v1/agent/results") {
            Ok(url) => url,
            Err(e) => return Sent::Failed(e.to_string()),
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
        } else if [400, 413, 422].contains(&status.as_u16()) {
            // The batch itself is refused: sending it again would be refused again.
            Sent::Refused(format!("{status}: {}", crate::domain::bound_text(&text)))
        } else {
            Sent::Failed(format!("the server answered {status}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Failure, Timestamp, Timings};

    fn outbox() -> Outbox {
        let config = AgentConfig {
            server: "http://127.0.0.1:9/".parse().unwrap(),
            token: crate::settings::Secret::new("agent-token-0123456789"),
            location: "fra".parse().unwrap(),
            max_concurrent_probes: 1,
            canaries: Vec::new(),
        };
        Outbox::new(reqwest::Client::new(), config)
    }

    fn queued(at: i64, changes: bool, cause: &str) -> Queued {
        Queued {
            check: CheckId(1),
            outcome: Outcome {
                started_at: Timestamp(at),
                status: None,
                timings: Timings::default(),
                cert_not_after: None,
                cert_of: None,
                failure: Some(Failure::Connect {
                    detail: cause.to_owned(),
                }),
            },
            changes,
        }
    }

    #[test]
    fn past_its_bound_the_outbox_thins_the_oldest_results_that_changed_nothing() {
        let mut outbox = outbox();
        outbox.push(queued(0, true, "x"));
        for at in 1..=OUTBOX_BOUND as i64 {
            outbox.push(queued(at, false, "x"));
        }
        assert_eq!(outbox.waiting.len(), OUTBOX_BOUND);
        assert_eq!(outbox.thinned, 1);
        let oldest: Vec<(i64, bool)> = outbox
            .waiting
            .iter()
            .take(2)
            .map(|q| (q.outcome.started_at.0, q.changes))
            .collect();
        assert_eq!(
            oldest,
            vec![(0, true), (2, false)],
            "the change stays, the oldest plain goes"
        );
    }

    #[test]
    fn a_push_stays_within_the_body_limit_and_sends_the_oldest_first() {
        let mut outbox = outbox();
        let long = "c".repeat(500);
        for at in 0..MAX_RESULTS_PER_PUSH as i64 {
            outbox.push(queued(at, false, &long));
        }
        let (body, n) = outbox.batch();
        assert!(body.len() <= MAX_PUSH_BYTES, "{}", body.len());
        assert!(n > 100 && n < MAX_RESULTS_PER_PUSH, "{n}");
        let parsed: crate::domain::wire::Push = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed.results.len(), n);
        assert_eq!(parsed.results[0].outcome.started_at, Timestamp(0));
        assert_eq!(outbox.batch().1, n, "taking a batch removes nothing");
    }
}
