//! Folding a contact's alerts by stack or by a tag (`alerting.group_by`): a group's first
//! DOWN goes out at once; its further DOWNs within `group_interval` of the last message of
//! that group and event wait until the interval is over and go out as one message;
//! RECOVERED likewise. Deliveries due together of one group and event are one message at
//! once.

use std::collections::HashMap;
use std::time::Duration;

use crate::domain::{AlertKind, Timestamp};
use crate::settings::GroupBy;
use crate::store::{DueDelivery, Store, StoreError};

/// What a round sends a contact: one delivery alone, or a group's together.
pub struct Unit {
    pub deliveries: Vec<DueDelivery>,
    /// The group and event (`stack:acme:down`, `tag:team=web:down`), noted with the
    /// message.
    pub grouping: Option<String>,
}

/// The grouping of a delivery's alert, if it is one that folds.
fn grouping(group_by: &GroupBy, due: &DueDelivery) -> Option<String> {
    let event = match due.alert.kind {
        AlertKind::Down => "down",
        AlertKind::Recovered => "recovered",
        _ => return None,
    };
    match group_by {
        GroupBy::None => None,
        GroupBy::Tag(_) => group_by
            .tag_of(&due.alert.facts.tags)
            .map(|tag| format!("tag:{tag}:{event}")),
        GroupBy::Stack => due
            .alert
            .facts
            .stack
            .as_ref()
            .map(|stack| format!("stack:{stack}:{event}")),
    }
}

/// Cuts one contact's due deliveries into what is sent now, in order, and holds those
/// whose stack and event had a message within `interval` until it is over.
pub async fn units(
    store: &Store,
    group_by: &GroupBy,
    interval: Duration,
    deliveries: Vec<DueDelivery>,
    now: Timestamp,
) -> Result<Vec<Unit>, StoreError> {
    /// What this round does with a grouping.
    enum Decided {
        /// Send now, as the unit at this index.
        Send(usize),
        /// Hold until then.
        Hold(Timestamp),
    }
    let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
    let mut units: Vec<Unit> = Vec::new();
    let mut decided: HashMap<String, Decided> = HashMap::new();
    for due in deliveries {
        let Some(key) = grouping(group_by, &due).filter(|_| interval_ms > 0) else {
            units.push(Unit {
                deliveries: vec![due],
                grouping: None,
            });
            continue;
        };
        if !decided.contains_key(&key) {
            let since = Timestamp(now.0 - interval_ms);
            let decision = match store.last_grouped(&due.contact, &key, since).await? {
                // The stack's last message of this event is recent: wait for the rest.
                Some(last) => Decided::Hold(Timestamp(last.0 + interval_ms)),
                None => {
                    units.push(Unit {
                        deliveries: Vec::new(),
                        grouping: Some(key.clone()),
                    });
                    Decided::Send(units.len() - 1)
                }
            };
            decided.insert(key.clone(), decision);
        }
        match decided.get(&key) {
            Some(Decided::Send(i)) => {
                if let Some(unit) = units.get_mut(*i) {
                    unit.deliveries.push(due);
                }
            }
            Some(Decided::Hold(until)) => {
                store
                    .hold_delivery(due.alert.id, &due.contact, *until)
                    .await?;
            }
            None => {}
        }
    }
    Ok(units)
}
