//! Canary rounds: every configured canary URL probed at once, to tell the monitoring box's
//! own network outage from its targets'. The decisions live in `offline`.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::domain::{CheckSpec, ProbeUrl, Timestamp};
use crate::probe::Prober;

/// A canary's whole probe may take this long.
const CANARY_TIMEOUT_S: u32 = 5;

/// What one round found.
#[derive(Debug)]
pub struct RoundDone {
    pub started: Timestamp,
    /// `Some(first cause)` when every canary failed at the connection level.
    pub all_failed: Option<String>,
}

/// The canaries and how to probe them.
pub struct Canaries {
    specs: Vec<Arc<CheckSpec>>,
}

impl Canaries {
    /// Canaries for these URLs (validated by settings); `None` when there are none.
    pub fn new(urls: &[String]) -> Option<Self> {
        if urls.is_empty() {
            return None;
        }
        let specs = urls
            .iter()
            .filter_map(|url| match ProbeUrl::parse(url) {
                Ok(url) => Some(url),
                Err(reason) => {
                    // Settings refuse such a URL at start; kept from crashing all the same.
                    tracing::error!(reason, "a canary URL cannot be probed; left out");
                    None
                }
            })
            .map(|url| Arc::new(CheckSpec::with_defaults(url).with_timeout(CANARY_TIMEOUT_S)))
            .collect();
        Some(Self { specs })
    }

    /// Probes every canary concurrently, then sends what the round found.
    pub fn spawn_round(
        &self,
        prober: Arc<Prober>,
        started: Timestamp,
        done: mpsc::UnboundedSender<RoundDone>,
    ) {
        let specs = self.specs.clone();
        tokio::spawn(async move {
            let mut probes = tokio::task::JoinSet::new();
            for spec in specs {
                let prober = prober.clone();
                probes.spawn(async move { prober.probe(&spec).await });
            }
            let mut first_cause = None;
            let mut answered = false;
            while let Some(joined) = probes.join_next().await {
                match joined.map(|outcome| outcome.failure) {
                    Ok(Some(f)) if f.is_connection_level() => {
                        first_cause.get_or_insert_with(|| f.to_string());
                    }
                    // Any answer, even a 500, shows the network works.
                    Ok(_) => answered = true,
                    Err(e) => {
                        first_cause.get_or_insert_with(|| format!("the canary probe failed: {e}"));
                    }
                }
            }
            let all_failed = if answered {
                None
            } else {
                Some(first_cause.unwrap_or_else(|| "no canary answered".to_owned()))
            };
            let _ = done.send(RoundDone {
                started,
                all_failed,
            });
        });
    }
}
