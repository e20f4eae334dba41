//! The watch over agents: a location whose agent stays silent longer than its bound is
//! `offline` (one alert to the default contacts, its votes stop counting), and `online`
//! again (one alert) once it is heard from. The flag changes by compare-and-set in the
//! store, so on a shared database one instance alone files each alert.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::MonitorHandle;
use crate::domain::{AlertEvent, AlertFacts, AlertKind, ContactName, LocationName, Timestamp};
use crate::store::{LocationRow, NewAlert, Store};

/// How often silences are looked at.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// What the watch needs.
pub struct AgentWatch {
    pub store: Store,
    pub monitor: MonitorHandle,
    /// Woken when an alert was filed, so it goes out at once.
    pub alerts_written: Arc<Notify>,
    pub default_contacts: Vec<ContactName>,
    /// The locations agents are configured for.
    pub locations: Vec<LocationName>,
    /// How long an agent never heard of may stay silent from the start.
    pub first_silence: Duration,
}

impl AgentWatch {
    /// Runs until cancelled. A failing store is logged and retried at the next round.
    pub async fn run(self, cancel: CancellationToken) {
        let mut told: Option<HashSet<LocationName>> = None;
        let mut failing = false;
        let mut expected = false;
        loop {
            if !expected {
                let all: Vec<&LocationName> = self.locations.iter().collect();
                let first = i64::try_from(self.first_silence.as_millis()).unwrap_or(i64::MAX);
                expected = self
                    .store
                    .expect_agents(&all, Timestamp::now(), first)
                    .await
                    .is_ok();
            }
            match self.round().await {
                Ok(silent) => {
                    failing = false;
                    if told.as_ref() != Some(&silent) {
                        self.monitor.silent_locations(silent.clone());
                        told = Some(silent);
                    }
                }
                Err(e) if !failing => {
                    failing = true;
                    tracing::error!(error = %e, "agents' silences cannot be read; retrying");
                }
                Err(_) => {}
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(WATCH_EVERY) => {}
            }
        }
    }

    /// Declares each silent location offline and each heard-from one online again, once;
    /// returns the silent ones.
    async fn round(&self) -> Result<HashSet<LocationName>, crate::store::StoreError> {
        let now = Timestamp::now();
        let mut silent = HashSet::new();
        for row in self.store.agent_locations().await? {
            let Some(location) = self.locations.iter().find(|l| l.as_str() == row.name) else {
                continue;
            };
            let quiet = now.0 - row.last_seen > row.silent_ms;
            if quiet {
                silent.insert(location.clone());
            }
            if quiet != row.offline {
                let alert = self.alert(&row, quiet, now);
                if self
                    .store
                    .set_location_offline(&row.name, quiet, &alert, now)
                    .await?
                {
                    self.alerts_written.notify_one();
                    if quiet {
                        tracing::warn!(location = %row.name, silent_s = (now.0 - row.last_seen) / 1_000, "an agent is silent: its location is offline and its votes do not count");
                    } else {
                        tracing::info!(location = %row.name, "an agent reports again: its location is online");
                    }
                }
            }
        }
        Ok(silent)
    }

    fn alert(&self, row: &LocationRow, offline: bool, now: Timestamp) -> NewAlert {
        let last_seen = Timestamp(row.last_seen);
        let facts = if offline {
            AlertFacts {
                cause: Some(format!(
                    "no pull or push for {} s, more than its bound of {} s",
                    (now.0 - row.last_seen) / 1_000,
                    row.silent_ms / 1_000
                )),
                down_since: Some(last_seen),
                location: Some(row.name.clone()),
                ..AlertFacts::default()
            }
        } else {
            AlertFacts {
                location: Some(row.name.clone()),
                ..AlertFacts::default()
            }
        };
        NewAlert {
            event: AlertEvent {
                kind: if offline {
                    AlertKind::Offline
                } else {
                    AlertKind::Online
                },
                facts,
            },
            contacts: self.default_contacts.clone(),
        }
    }
}
