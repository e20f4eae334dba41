//! The dispatcher: drains the alert outbox through the notifiers, contacts concurrently.
//! Transient failures are retried with exponential backoff and jitter (or after a 429's
//! `Retry-After`) until they succeed or grow older than the give-up age; permanent ones
//! (a 4xx, an SMTP 5xx, an unknown contact) are marked failed at once. Nothing is lost
//! across a restart, since the outbox is the database. No contact gets more than
//! `max_per_minute` messages a minute: past it, alerts are held and sent in one digest a
//! minute.

use std::time::{Duration, Instant};

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use std::collections::BTreeMap;

use futures_util::future::join_all;

use crate::domain::{AckKey, AlertKind, Timestamp};
use crate::notify::{AlertMessage, GroupOf, Notifiers, NotifyError, Retry};
use crate::settings::GroupBy;

mod group;
pub mod mailer;
mod retry;
use crate::store::{AttemptResult, DueDelivery, Store, StoreError};
pub use retry::RetryPolicy;
use retry::seed;

/// Deliveries handled per round.
const BATCH: u32 = 100;
/// How long a claimed delivery stays this instance's, per place in its contact's queue:
/// longer than one attempt can take (the notifiers give up after 15 s over HTTP and 20 s
/// over SMTP), so a delivery is sent by one instance while it lives, and taken over by
/// another this long after one dies mid-send.
pub const CLAIM_PER_DELIVERY: Duration = Duration::from_secs(30);
/// The longest the dispatcher sleeps with nothing due: new alerts wake it at once and it
/// wakes for the next retry when it falls due, so this only bounds the cost of a wake-up
/// missed. An idle dispatcher no longer reads the outbox twice a second.
const IDLE_RECHECK: Duration = Duration::from_secs(60);
/// The shortest sleep between rounds.
const MIN_WAIT: Duration = Duration::from_millis(50);
/// The wait after the outbox could not be read.
const ERROR_WAIT: Duration = Duration::from_millis(500);
/// The span `max_per_minute` counts over, and between two digests of one contact.
const MINUTE_MS: i64 = 60_000;
/// A delivery to a contact no notifier has.
fn unknown_contact(contact: &str) -> NotifyError {
    NotifyError::Config(format!("no notifier named {contact} is configured"))
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub retrying: usize,
    pub given_up: usize,
}

impl DeliveryReport {
    fn count(&mut self, settled: &AttemptResult) {
        match settled {
            AttemptResult::Delivered => self.delivered += 1,
            AttemptResult::RetryAt { .. } => self.retrying += 1,
            AttemptResult::GiveUp { .. } => self.given_up += 1,
        }
    }

    pub fn handled(&self) -> usize {
        self.delivered + self.retrying + self.given_up
    }
}

/// Delivers the outbox.
#[derive(Clone)]
pub struct Dispatcher {
    pub store: Store,
    pub notifiers: Notifiers,
    pub policy: RetryPolicy,
    /// Base URL for links in messages.
    pub public_url: Option<String>,
    /// Notified when new alerts are in the outbox.
    pub wake: Arc<Notify>,
    /// Messages one contact receives in a minute at most (`alerting.max_per_minute`).
    pub max_per_minute: u32,
    /// How a contact's alerts are folded, and for how long (`alerting.group_*`).
    pub group_by: GroupBy,
    pub group_interval: Duration,
    /// Signs the one-click acknowledgement links (with `public_url`).
    pub ack_key: Option<AckKey>,
}

impl Dispatcher {
    /// Attempts every delivery due at `now` once: contacts concurrently, so a slow contact
    /// holds back only its own deliveries; each contact's in alert order.
    pub async fn deliver_pending_once(&self, now: Timestamp) -> Result<DeliveryReport, StoreError> {
        let round = Instant::now();
        let mut by_contact: BTreeMap<String, Vec<DueDelivery>> = BTreeMap::new();
        for due in self
            .store
            .claim_due_deliveries(now, BATCH, CLAIM_PER_DELIVERY)
            .await?
        {
            by_contact.entry(due.contact.clone()).or_default().push(due);
        }
        let rounds = by_contact
            .into_values()
            .map(|deliveries| self.deliver_in_order(deliveries, now, round));
        let mut report = DeliveryReport::default();
        for result in join_all(rounds).await {
            let one = result?;
            report.delivered += one.delivered;
            report.retrying += one.retrying;
            report.given_up += one.given_up;
        }
        Ok(report)
    }

    /// One contact's due deliveries, in order: folded by stack (see `group`), each
    /// message sent while the contact's minute has room, the rest in one digest if none
    /// went out in the last minute, else held for the next.
    async fn deliver_in_order(
        &self,
        deliveries: Vec<DueDelivery>,
        now: Timestamp,
        round: Instant,
    ) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        let Some(contact) = deliveries.first().map(|d| d.contact.clone()) else {
            return Ok(report);
        };
        let (sent, last_digest) = self
            .store
            .contact_messages_since(&contact, Timestamp(now.0 - MINUTE_MS))
            .await?;
        let mut room = self.max_per_minute.saturating_sub(sent);
        let units = group::units(
            &self.store,
            &self.group_by,
            self.group_interval,
            deliveries,
            now,
        )
        .await?;
        let mut held = Vec::new();
        for unit in units {
            if room == 0 {
                held.extend(unit.deliveries);
                continue;
            }
            let Some(first) = unit.deliveries.first() else {
                continue;
            };
            let message = match unit.deliveries.as_slice() {
                [one] => self.message(one, now).await?,
                all => AlertMessage::group(
                    match self.group_by.tag_of(&first.alert.facts.tags) {
                        Some(tag) => GroupOf::Tag(tag),
                        None => {
                            GroupOf::Stack(first.alert.facts.stack.as_deref().unwrap_or_default())
                        }
                    },
                    first.alert.kind == AlertKind::Down,
                    self.messages(all, now).await?,
                    now,
                ),
            };
            let settled = self.send(&contact, first, &message, now, round).await;
            if settled == AttemptResult::Delivered {
                room -= 1;
                self.store
                    .note_contact_message(&contact, now, false, unit.grouping.as_deref())
                    .await?;
            }
            self.done(&unit.deliveries, &settled, now, &mut report)
                .await?;
        }
        if held.is_empty() {
            return Ok(report);
        }
        if let Some(last) = last_digest {
            // This minute's digest went out: the held ones wait for the next.
            let next = Timestamp(last.0 + MINUTE_MS);
            for due in &held {
                self.store
                    .hold_delivery(due.alert.id, &due.contact, next)
                    .await?;
            }
            return Ok(report);
        }
        let digest = AlertMessage::digest(self.messages(&held, now).await?, now);
        let settled = self.send(&contact, &held[0], &digest, now, round).await;
        if settled == AttemptResult::Delivered {
            self.store
                .note_contact_message(&contact, now, true, None)
                .await?;
        }
        self.done(&held, &settled, now, &mut report).await?;
        Ok(report)
    }

    /// Sends `message` for `due` (and whatever it carries) and says how it ended; `now`
    /// is when the `round` began.
    async fn send(
        &self,
        contact: &str,
        due: &DueDelivery,
        message: &AlertMessage,
        now: Timestamp,
        round: Instant,
    ) -> AttemptResult {
        let result = match self.notifiers.get(contact) {
            Some(notifier) => notifier.send(message, now).await,
            None => Err(unknown_contact(contact)),
        };
        // A retry is counted from the answer: a service's "retry after 2 s" means after
        // it answered, not after the round began. Times are whole milliseconds: `now` was
        // rounded down, so one more, and the time since rounded up.
        let since = round.elapsed().as_micros().div_ceil(1_000);
        let answered = i64::try_from(since).unwrap_or(i64::MAX - 1) + 1;
        self.settle(due, result, Timestamp(now.0.saturating_add(answered)))
    }

    /// Records how the deliveries one message carried ended.
    async fn done(
        &self,
        deliveries: &[DueDelivery],
        settled: &AttemptResult,
        now: Timestamp,
        report: &mut DeliveryReport,
    ) -> Result<(), StoreError> {
        for due in deliveries {
            report.count(settled);
            self.store
                .delivery_done(due.alert.id, &due.contact, settled, now)
                .await?;
        }
        Ok(())
    }

    /// What to do after an attempt: done, retry (after the backoff, or a 429's
    /// `Retry-After`), or give up (a permanent failure, or past the give-up age).
    fn settle(
        &self,
        due: &DueDelivery,
        result: Result<(), NotifyError>,
        now: Timestamp,
    ) -> AttemptResult {
        let error = match result {
            Ok(()) => {
                tracing::info!(contact = %due.contact, alert = due.alert.id, check = %due.alert.check_name, kind = due.alert.kind.as_str(), "alert delivered");
                return AttemptResult::Delivered;
            }
            Err(error) => error,
        };
        let attempt = u32::try_from(due.attempts + 1).unwrap_or(u32::MAX);
        let delay = self.policy.delay(
            error.retry(),
            attempt,
            seed(due.alert.id, &due.contact, attempt),
            now.0 - due.alert.created_at.0,
        );
        tracing::warn!(
            contact = %due.contact,
            alert = due.alert.id,
            check = %due.alert.check_name,
            attempt,
            error = %error,
            permanent = error.retry() == Retry::Never,
            given_up = delay.is_none(),
            "alert delivery failed"
        );
        let error = error.to_string();
        match delay {
            Some(delay) => AttemptResult::RetryAt {
                error,
                at: Timestamp(now.0 + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)),
            },
            None => AttemptResult::GiveUp { error },
        }
    }

    /// The message of a delivery's alert: with the signed link that acknowledges its
    /// outage when it announces one that is still open and links are made.
    async fn message(&self, due: &DueDelivery, now: Timestamp) -> Result<AlertMessage, StoreError> {
        let ack_link = match (&self.public_url, &self.ack_key, due.alert.kind) {
            (
                Some(base),
                Some(key),
                AlertKind::Down | AlertKind::Reminder | AlertKind::Escalated,
            ) => self
                .store
                .open_incident_of(&due.alert.check_name)
                .await?
                .map(|id| format!("{}{}", base.trim_end_matches('/'), key.path(id, now))),
            _ => None,
        };
        Ok(AlertMessage {
            alert_id: due.alert.id,
            check: due.alert.check_name.clone(),
            kind: due.alert.kind,
            facts: due.alert.facts.clone(),
            created_at: due.alert.created_at,
            link: self.link(&due.alert.check_name),
            held: Vec::new(),
            ack_link,
        })
    }

    /// The messages of deliveries' alerts.
    async fn messages(
        &self,
        deliveries: &[DueDelivery],
        now: Timestamp,
    ) -> Result<Vec<AlertMessage>, StoreError> {
        let mut messages = Vec::with_capacity(deliveries.len());
        for due in deliveries {
            messages.push(self.message(due, now).await?);
        }
        Ok(messages)
    }

    /// The link to a check's page in messages, when a public URL is configured.
    pub fn link(&self, check: &str) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|base| format!("{}/checks/{check}", base.trim_end_matches('/')))
    }

    /// Delivers until cancelled; a delivery in flight finishes first.
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            let wait = match self.deliver_pending_once(Timestamp::now()).await {
                Ok(report) if report.handled() > 0 => continue,
                Ok(_) => self.until_next_due().await,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the alert outbox");
                    ERROR_WAIT
                }
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
                () = self.wake.notified() => {}
            }
        }
    }

    /// How long to sleep until the next pending delivery falls due.
    async fn until_next_due(&self) -> Duration {
        match self.store.next_delivery_at().await {
            Ok(Some(at)) => {
                let ms = u64::try_from(at.0 - Timestamp::now().0).unwrap_or(0);
                Duration::from_millis(ms).clamp(MIN_WAIT, IDLE_RECHECK)
            }
            Ok(None) => IDLE_RECHECK,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the alert outbox");
                ERROR_WAIT
            }
        }
    }
}
