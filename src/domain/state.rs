//! The per-check state machine: `failures_to_confirm` failures in a row make a check DOWN,
//! `successes_to_recover` successes in a row make it UP again; for a check with
//! `degraded_after_ms`, as many slow answers in a row make an UP check DEGRADED and as many
//! fast ones make it UP again. Pure: the caller passes the probe's verdict and the time.

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
    /// Up, but answering slower than the check's `degraded_after_ms`, confirmed.
    Degraded,
}

impl Health {
    /// Compact number for storage.
    pub fn code(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::Up => 1,
            Self::Down => 2,
            Self::Degraded => 3,
        }
    }

    pub fn from_code(code: u8) -> Self {
        match code {
            1 => Self::Up,
            2 => Self::Down,
            3 => Self::Degraded,
            _ => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Up => "up",
            Self::Down => "down",
            Self::Degraded => "degraded",
        }
    }

    /// Whether the target answers as expected, slowly or not: DEGRADED counts as up for
    /// uptime, flapping and outages.
    pub fn answers(self) -> bool {
        matches!(self, Self::Up | Self::Degraded)
    }
}

/// How one probe's answer compares with the check's `degraded_after_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speed {
    /// Up within the bound (or the check has none).
    Fast,
    /// Up, slower than the bound.
    Slow,
    /// Not up at all.
    Failed,
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
    /// Confirmed slow while up: opens no incident, alerts `degraded`.
    Degraded,
    /// Confirmed fast again after being degraded: alerts `recovered`.
    Restored,
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
    /// Slow answers in a row, counted up to `failures_to_confirm` (see [`Speed`]).
    #[serde(default)]
    pub slow: u32,
    /// Fast answers in a row, counted up to `successes_to_recover`.
    #[serde(default)]
    pub fast: u32,
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
            slow: 0,
            fast: 0,
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
            Health::Unknown | Health::Up | Health::Degraded
                if !up && next.failures >= t.failures_to_confirm =>
            {
                Some(Transition::WentDown {
                    since: next.failing_since.unwrap_or(now),
                })
            }
            _ => None,
        };
        if let Some(t) = transition {
            next.health = t.health();
            next.since = now;
        }
        (next, transition)
    }

    /// The state after one more answer's speed, given the transition the same verdict
    /// caused (see [`Self::observe`]): slow answers confirm DEGRADED as failures confirm
    /// DOWN, fast ones restore UP as successes recover. Only an UP or DEGRADED check that
    /// did not just change otherwise changes here.
    pub fn observe_speed(
        self,
        speed: Speed,
        t: Thresholds,
        now: Timestamp,
        transition: Option<Transition>,
    ) -> (Self, Option<Transition>) {
        let mut next = self;
        let (slow, fast) = match speed {
            Speed::Slow => (self.slow.saturating_add(1), 0),
            Speed::Fast => (0, self.fast.saturating_add(1)),
            Speed::Failed => (0, 0),
        };
        next.slow = slow.min(t.failures_to_confirm.max(1));
        next.fast = fast.min(t.successes_to_recover.max(1));
        if !matches!(transition, None | Some(Transition::FirstUp)) {
            return (next, transition);
        }
        let changed = match next.health {
            Health::Up if next.slow >= t.failures_to_confirm => Some(Transition::Degraded),
            Health::Degraded if next.fast >= t.successes_to_recover => Some(Transition::Restored),
            _ => None,
        };
        match changed {
            Some(change) => {
                next.health = change.health();
                next.since = now;
                (next, Some(change))
            }
            None => (next, transition),
        }
    }

    /// Whether a change is pending confirmation, so the next probe should come after the
    /// retry interval rather than a whole check rate.
    pub fn confirming(&self) -> bool {
        match self.health {
            Health::Down => self.successes > 0,
            Health::Up => self.failures > 0 || self.slow > 0,
            Health::Degraded => self.failures > 0 || self.fast > 0,
            Health::Unknown => self.failures > 0,
        }
    }
}

impl Transition {
    /// The health a check has after this change.
    pub fn health(self) -> Health {
        match self {
            Self::WentDown { .. } => Health::Down,
            Self::Recovered | Self::FirstUp | Self::Restored => Health::Up,
            Self::Degraded => Health::Degraded,
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
                    other => format!("{}:{other:?}", i + 1),
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

    /// Runs answers ('+' fast, 's' slow, '-' failed) through both steps, as the judge
    /// does, and returns the transitions and the health after each.
    fn run_speed(sequence: &str, t: Thresholds) -> (Vec<String>, String) {
        let mut state = CheckState::new(Timestamp(0));
        let (mut seen, mut healths) = (Vec::new(), String::new());
        for (i, c) in sequence.chars().enumerate() {
            let now = Timestamp(i as i64 + 1);
            let speed = match c {
                '+' => Speed::Fast,
                's' => Speed::Slow,
                _ => Speed::Failed,
            };
            let (next, transition) = state.observe(speed != Speed::Failed, t, now);
            let (next, transition) = next.observe_speed(speed, t, now, transition);
            if let Some(tr) = transition {
                seen.push(format!("{}:{tr:?}", i + 1));
            }
            healths.push(match next.health {
                Health::Unknown => '?',
                Health::Up => 'U',
                Health::Down => 'D',
                Health::Degraded => 'S',
            });
            state = next;
        }
        (seen, healths)
    }

    #[test]
    fn slow_answers_confirm_degraded_as_failures_confirm_down() {
        let (seen, healths) = run_speed("+ss+sss++", T22);
        assert_eq!(seen, ["1:FirstUp", "3:Degraded", "9:Restored"]);
        assert_eq!(
            healths, "UUSSSSSSU",
            "one fast answer is not enough to restore"
        );
        // A first answer that is slow, with one slow answer to confirm: degraded at once.
        assert_eq!(run_speed("s", T11).0, ["1:Degraded"]);
        // Slow and fast alternating never confirms either way.
        assert_eq!(run_speed("+s+s+s+s", T22).0, ["1:FirstUp"]);
        // Failures while degraded make it DOWN; its recovery is to UP, and slow answers
        // from then on confirm DEGRADED again.
        let (seen, healths) = run_speed("+ss--ss", T21);
        assert_eq!(
            seen,
            [
                "1:FirstUp",
                "3:Degraded",
                "5:WentDown { since: Timestamp(4) }",
                "6:Recovered",
                "7:Degraded"
            ]
        );
        assert_eq!(healths, "UUSSDUS");
    }

    #[test]
    fn slow_answers_are_retried_like_failures_and_settle() {
        let step = |state: CheckState, speed: Speed, at: i64| {
            let now = Timestamp(at);
            let (next, transition) = state.observe(speed != Speed::Failed, T22, now);
            next.observe_speed(speed, T22, now, transition)
        };
        let (up, _) = step(CheckState::new(Timestamp(0)), Speed::Fast, 1);
        let (up_slow, _) = step(up, Speed::Slow, 2);
        assert!(
            up_slow.confirming(),
            "a slow answer is confirmed at the retry interval"
        );
        let (degraded, _) = step(up_slow, Speed::Slow, 3);
        assert_eq!(degraded.health, Health::Degraded);
        assert!(!degraded.confirming());
        assert_eq!(
            step(degraded, Speed::Slow, 4),
            (degraded, None),
            "a steady slow check stops changing"
        );
        let (degraded_fast, _) = step(degraded, Speed::Fast, 5);
        assert!(degraded_fast.confirming());
    }

    #[test]
    fn health_codes_round_trip() {
        for h in [Health::Unknown, Health::Up, Health::Down, Health::Degraded] {
            assert_eq!(Health::from_code(h.code()), h);
        }
    }
}
