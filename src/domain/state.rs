//! The per-check state machine: `failures_to_confirm` failures in a row make a check DOWN,
//! `successes_to_recover` successes in a row make it UP again. Pure: the caller passes the
//! probe's verdict and the time.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// What is known of a check's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Not confirmed either way yet (new check, or not probed since).
    Unknown,
    Up,
    Down,
}

impl Health {
    /// Compact number for storage.
    pub fn code(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::Up => 1,
            Self::Down => 2,
        }
    }

    pub fn from_code(code: u8) -> Self {
        match code {
            1 => Self::Up,
            2 => Self::Down,
            _ => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

/// How many verdicts in a row change a check's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub failures_to_confirm: u32,
    pub successes_to_recover: u32,
}

/// A confirmed change of health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Confirmed down: opens an incident. `since` is the first failure of the run.
    WentDown { since: Timestamp },
    /// Confirmed up after being down: closes the incident.
    Recovered,
    /// The first confirmed verdict of a new check is up: nothing to tell anyone.
    FirstUp,
}

/// A check's health and the runs of verdicts that lead to the next change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckState {
    pub health: Health,
    /// When `health` last changed.
    pub since: Timestamp,
    /// Failures in a row, up to now, counted up to `failures_to_confirm`: beyond it the
    /// count changes no decision, so a check that stays down keeps the same state from
    /// probe to probe and its stored state need not be written again.
    pub failures: u32,
    /// Successes in a row, up to now, counted up to `successes_to_recover` (as above).
    pub successes: u32,
    /// When the current run of failures started.
    pub failing_since: Option<Timestamp>,
}

impl CheckState {
    /// The state of a check never probed.
    pub fn new(now: Timestamp) -> Self {
        Self {
            health: Health::Unknown,
            since: now,
            failures: 0,
            successes: 0,
            failing_since: None,
        }
    }

    /// The state after one more verdict, and the transition it confirms, if any.
    pub fn observe(self, up: bool, t: Thresholds, now: Timestamp) -> (Self, Option<Transition>) {
        let mut next = self;
        if up {
            next.successes = self
                .successes
                .saturating_add(1)
                .min(t.successes_to_recover.max(1));
            next.failures = 0;
            next.failing_since = None;
        } else {
            next.failures = self
                .failures
                .saturating_add(1)
                .min(t.failures_to_confirm.max(1));
            next.successes = 0;
            next.failing_since = self.failing_since.or(Some(now));
        }
        let transition = match self.health {
            Health::Down if up && next.successes >= t.successes_to_recover => {
                Some(Transition::Recovered)
            }
            Health::Unknown if up => Some(Transition::FirstUp),
            Health::Unknown | Health::Up if !up && next.failures >= t.failures_to_confirm => {
                Some(Transition::WentDown {
                    since: next.failing_since.unwrap_or(now),
                })
            }
            _ => None,
        };
        if let Some(t) = transition {
            next.health = match t {
                Transition::WentDown { .. } => Health::Down,
                Transition::Recovered | Transition::FirstUp => Health::Up,
            };
            next.since = now;
        }
        (next, transition)
    }

    /// Whether a change is pending confirmation, so the next probe should come after the
    /// retry interval rather than a whole check rate.
    pub fn confirming(&self) -> bool {
        match self.health {
            Health::Down => self.successes > 0,
            Health::Up | Health::Unknown => self.failures > 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T22: Thresholds = Thresholds {
        failures_to_confirm: 2,
        successes_to_recover: 2,
    };
    const T21: Thresholds = Thresholds {
        failures_to_confirm: 2,
        successes_to_recover: 1,
    };
    const T11: Thresholds = Thresholds {
        failures_to_confirm: 1,
        successes_to_recover: 1,
    };

    /// Runs a sequence of verdicts ('+' up, '-' down) and returns the transitions as text.
    fn run(sequence: &str, t: Thresholds) -> (Vec<String>, CheckState) {
        let mut state = CheckState::new(Timestamp(0));
        let mut seen = Vec::new();
        for (i, c) in sequence.chars().enumerate() {
            let (next, transition) = state.observe(c == '+', t, Timestamp(i as i64 + 1));
            if let Some(tr) = transition {
                seen.push(match tr {
                    Transition::WentDown { since } => format!("{}:down(since {})", i + 1, since.0),
                    Transition::Recovered => format!("{}:recovered", i + 1),
                    Transition::FirstUp => format!("{}:first-up", i + 1),
                });
            }
            state = next;
        }
        (seen, state)
    }

    #[test]
    fn transitions_follow_the_thresholds() {
        let cases: &[(&str, Thresholds, &[&str], Health)] = &[
            ("", T21, &[], Health::Unknown),
            ("+", T21, &["1:first-up"], Health::Up),
            ("-", T21, &[], Health::Unknown),
            ("--", T21, &["2:down(since 1)"], Health::Down),
            ("+-+-+-+", T21, &["1:first-up"], Health::Up),
            ("+--", T21, &["1:first-up", "3:down(since 2)"], Health::Down),
            (
                "+---+",
                T21,
                &["1:first-up", "3:down(since 2)", "5:recovered"],
                Health::Up,
            ),
            (
                "+--+-+",
                T22,
                &["1:first-up", "3:down(since 2)"],
                Health::Down,
            ),
            (
                "+--++",
                T22,
                &["1:first-up", "3:down(since 2)", "5:recovered"],
                Health::Up,
            ),
            ("+-", T11, &["1:first-up", "2:down(since 2)"], Health::Down),
            (
                "+-----",
                T21,
                &["1:first-up", "3:down(since 2)"],
                Health::Down,
            ),
        ];
        for (sequence, t, want, health) in cases {
            let (seen, state) = run(sequence, *t);
            assert_eq!(&seen, want, "sequence {sequence:?}");
            assert_eq!(state.health, *health, "sequence {sequence:?}");
        }
    }

    #[test]
    fn flapping_below_confirmation_never_alerts() {
        let (seen, state) = run("+-+-+-+-+-+-+-+-+-+-", T21);
        assert_eq!(seen, vec!["1:first-up"]);
        assert_eq!(state.health, Health::Up);
    }

    #[test]
    fn confirming_is_true_while_a_change_is_pending() {
        assert!(!run("+", T21).1.confirming());
        assert!(run("+-", T21).1.confirming());
        assert!(
            !run("+--", T21).1.confirming(),
            "confirmed down: back to the check rate"
        );
        assert!(run("+--+", T22).1.confirming());
        assert!(!run("+--++", T22).1.confirming());
    }

    /// A check that stays up, or stays down, reaches a state that no further verdict of the
    /// same kind changes, so its stored state is not rewritten on every probe; the runs
    /// still reach every threshold, and a threshold changed midway decides as uncapped.
    #[test]
    fn a_steady_check_settles_into_a_state_that_stops_changing() {
        let t35 = Thresholds {
            failures_to_confirm: 3,
            successes_to_recover: 5,
        };
        let (_, settled) = run("++++", t35);
        assert_eq!((settled.health, settled.successes), (Health::Up, 4));
        let (more, _) = run("++++++++", t35);
        assert_eq!(more, run("+++++", t35).0);
        assert_eq!(run("++++++++", t35).1, run("+++++", t35).1);
        let (again, transition) = run("+++++", t35).1.observe(true, t35, Timestamp(99));
        assert_eq!((again, transition), (run("+++++", t35).1, None));

        let (seen, down) = run("+------", t35);
        assert_eq!(seen, vec!["1:first-up", "4:down(since 2)"]);
        assert_eq!(down.failures, 3);
        let (again, transition) = down.observe(false, t35, Timestamp(99));
        assert_eq!((again, transition), (down, None));
        let (seen, _) = run("+------+++++", t35);
        assert_eq!(seen.last().map(String::as_str), Some("12:recovered"));

        // Lowered while failures run: the run, counted up to the old threshold, confirms.
        let (_, up_failing) = run("+--", t35);
        let (_, transition) = up_failing.observe(false, T22, Timestamp(99));
        assert!(matches!(transition, Some(Transition::WentDown { .. })));
    }
}
