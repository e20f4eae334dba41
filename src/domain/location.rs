//! Probing from several locations: each location's own verdict on a check (the state
//! machine run on that location's probes alone, with the check's thresholds), and the
//! quorum that makes the check's health of them. Pure: the judge keeps the votes beside the
//! check's state and asks here what they add up to.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CheckState, Health, LocationName, Thresholds, Timestamp, Transition};

/// One location's verdict on a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub state: CheckState,
    /// Why its last probe failed, in plain words (`None` after a success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// Every location's vote on one check.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Votes(BTreeMap<LocationName, Vote>);

impl Votes {
    pub fn get(&self, location: &LocationName) -> Option<&Vote> {
        self.0.get(location)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&LocationName, &Vote)> {
        self.0.iter()
    }

    /// The votes after one more probe from `location` (`cause`: why it failed), and the
    /// transition it confirms at that location.
    pub fn observe(
        &self,
        location: &LocationName,
        cause: Option<String>,
        t: Thresholds,
        now: Timestamp,
    ) -> (Self, Option<Transition>) {
        let before = self
            .0
            .get(location)
            .map_or_else(|| CheckState::new(now), |v| v.state);
        let (state, transition) = before.observe(cause.is_none(), t, now);
        let mut next = self.clone();
        next.0.insert(location.clone(), Vote { state, cause });
        (next, transition)
    }

    /// These votes without those of locations the check no longer has.
    pub fn only(mut self, locations: &[LocationName]) -> Self {
        self.0.retain(|l, _| locations.contains(l));
        self
    }
}

/// A check's locations and how many of them must confirm DOWN.
#[derive(Debug, Clone, Copy)]
pub struct Quorum<'a> {
    pub locations: &'a [LocationName],
    pub needed: u32,
}

/// The default quorum of `n` locations: a majority.
pub fn majority(n: usize) -> u32 {
    u32::try_from(n / 2 + 1).unwrap_or(u32::MAX)
}

/// What the votes of a check's locations add up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally<'a> {
    /// Reporting locations confirmed DOWN, with their causes.
    pub down: Vec<(&'a LocationName, Option<&'a str>)>,
    /// Reporting locations confirmed UP.
    pub up: Vec<&'a LocationName>,
    /// Reporting locations with no confirmed verdict yet.
    pub unknown: Vec<&'a LocationName>,
    /// Locations that stopped reporting (offline agents): their votes do not count.
    pub silent: Vec<&'a LocationName>,
    /// The quorum over the locations still reporting: the configured one, but never more
    /// than they are and never fewer than one.
    pub needed: usize,
    /// When the earliest failure run of the locations confirmed DOWN began.
    pub failing_since: Option<Timestamp>,
}

/// Counts the votes of `quorum`'s locations, leaving out those `silent` says are offline.
pub fn tally<'a>(
    quorum: Quorum<'a>,
    votes: &'a Votes,
    silent: &dyn Fn(&LocationName) -> bool,
) -> Tally<'a> {
    let mut t = Tally {
        down: Vec::new(),
        up: Vec::new(),
        unknown: Vec::new(),
        silent: Vec::new(),
        needed: 0,
        failing_since: None,
    };
    for location in quorum.locations {
        let vote = votes.get(location);
        if silent(location) {
            t.silent.push(location);
            continue;
        }
        match vote {
            Some(vote) if vote.state.health == Health::Down => {
                t.down.push((location, vote.cause.as_deref()));
                let since = vote.state.failing_since.unwrap_or(vote.state.since);
                t.failing_since = Some(t.failing_since.map_or(since, |s| s.min(since)));
            }
            Some(vote) if vote.state.health == Health::Up => t.up.push(location),
            _ => t.unknown.push(location),
        }
    }
    let reporting = quorum.locations.len() - t.silent.len();
    t.needed = usize::try_from(quorum.needed)
        .unwrap_or(usize::MAX)
        .min(reporting)
        .max(1);
    t
}

impl Tally<'_> {
    /// Whether enough locations confirm DOWN.
    pub fn is_down(&self) -> bool {
        self.down.len() >= self.needed
    }

    /// "down from fra and nyc (connection refused), up from local": every location's
    /// verdict, locations that share a cause named together.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if !self.down.is_empty() {
            let mut groups: Vec<(Option<&str>, Vec<&str>)> = Vec::new();
            for (location, cause) in &self.down {
                match groups.iter_mut().find(|(c, _)| c == cause) {
                    Some((_, names)) => names.push(location.as_str()),
                    None => groups.push((*cause, vec![location.as_str()])),
                }
            }
            let groups: Vec<String> = groups
                .into_iter()
                .map(|(cause, names)| match cause {
                    Some(cause) => format!("{} ({cause})", and_list(&names)),
                    None => and_list(&names),
                })
                .collect();
            parts.push(format!("down from {}", groups.join(", ")));
        }
        for (names, words) in [
            (&self.up, "up from"),
            (&self.unknown, "no verdict yet from"),
            (&self.silent, "offline:"),
        ] {
            if !names.is_empty() {
                let names: Vec<&str> = names.iter().map(|l| l.as_str()).collect();
                parts.push(format!("{words} {}", and_list(&names)));
            }
        }
        parts.join(", ")
    }
}

/// "a", "a and b", "a, b and c".
fn and_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The check's state once its locations' votes are counted: DOWN when the quorum confirms
/// it, UP again when fewer do (and at least one location is UP, or the check was DOWN). No
/// run of the check's own is counted: each location's runs are in its vote. A DEGRADED
/// check that is not DOWN stays DEGRADED (its answers' speed decides: see
/// [`CheckState::observe_speed`]).
pub fn combine(
    before: &CheckState,
    tally: &Tally,
    now: Timestamp,
) -> (CheckState, Option<Transition>) {
    let health = if tally.is_down() {
        Health::Down
    } else if before.health == Health::Degraded {
        Health::Degraded
    } else if !tally.up.is_empty() || before.health == Health::Down {
        Health::Up
    } else {
        before.health
    };
    let transition = match (before.health, health) {
        (Health::Up | Health::Unknown | Health::Degraded, Health::Down) => {
            Some(Transition::WentDown {
                since: tally.failing_since.unwrap_or(now),
            })
        }
        (Health::Down, Health::Up) => Some(Transition::Recovered),
        (Health::Unknown, Health::Up) => Some(Transition::FirstUp),
        _ => None,
    };
    let state = CheckState {
        health,
        since: if transition.is_some() {
            now
        } else {
            before.since
        },
        failures: 0,
        successes: 0,
        failing_since: if health == Health::Down {
            tally.failing_since
        } else {
            None
        },
        ..*before
    };
    (state, transition)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T21: Thresholds = Thresholds {
        failures_to_confirm: 2,
        successes_to_recover: 1,
    };

    fn names(list: &[&str]) -> Vec<LocationName> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    /// Feeds probes "location:+" or "location:-" in turn; returns the check's transitions
    /// as "probe#:down|recovered|first-up" and the last summary.
    fn run(
        locations: &[&str],
        needed: u32,
        offline: &[&str],
        probes: &[&str],
    ) -> (Vec<String>, String) {
        let locations = names(locations);
        let offline = names(offline);
        let silent = |l: &LocationName| offline.contains(l);
        let quorum = Quorum {
            locations: &locations,
            needed,
        };
        let mut votes = Votes::default();
        let mut state = CheckState::new(Timestamp(0));
        let mut seen = Vec::new();
        let mut summary = String::new();
        for (i, probe) in probes.iter().enumerate() {
            let (location, verdict) = probe.split_once(':').unwrap();
            let now = Timestamp(i as i64 + 1);
            let cause = (verdict == "-").then(|| "connection refused".to_owned());
            votes = votes.observe(&location.parse().unwrap(), cause, T21, now).0;
            let t = tally(quorum, &votes, &silent);
            let (next, transition) = combine(&state, &t, now);
            summary = t.summary();
            if let Some(tr) = transition {
                seen.push(match tr {
                    Transition::WentDown { since } => format!("{}:down(since {})", i + 1, since.0),
                    Transition::Recovered => format!("{}:recovered", i + 1),
                    Transition::FirstUp => format!("{}:first-up", i + 1),
                    other => format!("{}:{other:?}", i + 1),
                });
            }
            state = next;
        }
        (seen, summary)
    }

    #[test]
    fn one_location_down_is_not_an_outage_two_of_three_are() {
        let all = ["local", "fra", "nyc"];
        let (seen, summary) = run(&all, 2, &[], &["local:+", "fra:-", "fra:-", "nyc:+"]);
        assert_eq!(seen, vec!["1:first-up"]);
        assert_eq!(
            summary,
            "down from fra (connection refused), up from local and nyc"
        );
        let (seen, summary) = run(
            &all,
            2,
            &[],
            &["local:+", "fra:-", "fra:-", "nyc:-", "nyc:-", "fra:+"],
        );
        assert_eq!(seen, vec!["1:first-up", "5:down(since 2)", "6:recovered"]);
        assert_eq!(
            summary,
            "down from nyc (connection refused), up from local and fra"
        );
    }

    #[test]
    fn locations_that_share_a_cause_are_named_together() {
        let (seen, summary) = run(
            &["local", "fra", "nyc"],
            2,
            &[],
            &["local:+", "fra:-", "nyc:-", "fra:-", "nyc:-"],
        );
        assert_eq!(seen, vec!["1:first-up", "5:down(since 2)"]);
        assert_eq!(
            summary,
            "down from fra and nyc (connection refused), up from local"
        );
    }

    #[test]
    fn a_silent_location_drops_out_and_the_quorum_follows_the_rest() {
        // fra is offline: its DOWN is not counted; two reporting, quorum 2 needs both.
        let (seen, summary) = run(
            &["local", "fra", "nyc"],
            2,
            &["fra"],
            &["local:+", "fra:-", "fra:-", "nyc:-", "nyc:-"],
        );
        assert_eq!(seen, vec!["1:first-up"]);
        assert_eq!(
            summary,
            "down from nyc (connection refused), up from local, offline: fra"
        );
        // Two silent of three: the one left decides alone.
        let (seen, _) = run(
            &["local", "fra", "nyc"],
            2,
            &["fra", "nyc"],
            &["local:+", "local:-", "local:-"],
        );
        assert_eq!(seen, vec!["1:first-up", "3:down(since 2)"]);
    }

    #[test]
    fn the_default_quorum_is_a_majority() {
        assert_eq!(
            [1, 2, 3, 4, 5].map(majority),
            [1, 2, 2, 3, 3],
            "of 1 to 5 locations"
        );
    }

    #[test]
    fn votes_of_locations_the_check_left_are_dropped() {
        let (votes, _) = Votes::default().observe(&"fra".parse().unwrap(), None, T21, Timestamp(1));
        let votes = votes.only(&names(&["local"]));
        assert!(votes.is_empty());
    }
}
