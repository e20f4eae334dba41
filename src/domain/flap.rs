//! Flapping: a check whose confirmed health changes between UP and DOWN more than its
//! `flap_threshold` times within its `flap_window` is flapping. Its changes stop being
//! announced one by one: one `flapping` alert when it starts, one `settled` alert with
//! its health once a whole window passed without a change. Pure.

use serde::{Deserialize, Serialize};

use super::{FlapRule, Health, Timestamp};

/// What is remembered of a check's recent changes; persisted with its alert memory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Flaps {
    /// The confirmed health last seen (UP or DOWN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<Health>,
    /// When the health changed, within the window, newest last; at most threshold + 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Timestamp>,
    /// When the check started flapping, while it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
}

/// What flapping makes of one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlapStep {
    /// Not flapping: alerts go as usual.
    Steady,
    /// It starts flapping now: one `flapping` alert, with this many changes in the window.
    Started { changes: u32 },
    /// Still flapping: no DOWN, RECOVERED or reminder.
    Flapping,
    /// A whole window without a change: one `settled` alert with the health now.
    Settled { since: Timestamp },
}

impl Flaps {
    /// Takes the confirmed `health` at `now` under `rule`: what this decision is.
    pub fn observe(&mut self, health: Health, rule: FlapRule, now: Timestamp) -> FlapStep {
        if health == Health::Unknown {
            return if self.since.is_some() {
                FlapStep::Flapping
            } else {
                FlapStep::Steady
            };
        }
        if self.seen.is_some_and(|seen| seen != health) {
            self.changes.push(now);
        }
        self.seen = Some(health);
        self.changes.retain(|at| now.0 - at.0 < rule.window_ms);
        let keep = usize::try_from(rule.threshold)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        if self.changes.len() > keep {
            self.changes.drain(..self.changes.len() - keep);
        }
        let changes = u32::try_from(self.changes.len()).unwrap_or(u32::MAX);
        match self.since {
            Some(since) if self.changes.is_empty() => {
                self.since = None;
                FlapStep::Settled { since }
            }
            Some(_) => FlapStep::Flapping,
            None if changes > rule.threshold => {
                self.since = Some(now);
                FlapStep::Started { changes }
            }
            None => FlapStep::Steady,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: FlapRule = FlapRule {
        threshold: 4,
        window_ms: 60_000,
    };

    /// Runs confirmed healths ('+' up, '-' down, '?' unknown), one a second, and returns
    /// each step that is not `Steady`, as "second:step".
    fn run(sequence: &str) -> Vec<String> {
        let mut flaps = Flaps::default();
        let mut steps = Vec::new();
        for (i, c) in sequence.chars().enumerate() {
            let health = match c {
                '+' => Health::Up,
                '-' => Health::Down,
                _ => Health::Unknown,
            };
            let now = Timestamp((i as i64 + 1) * 1_000);
            match flaps.observe(health, RULE, now) {
                FlapStep::Steady => {}
                FlapStep::Started { changes } => steps.push(format!("{}:started {changes}", i + 1)),
                FlapStep::Flapping => steps.push(format!("{}:flapping", i + 1)),
                FlapStep::Settled { since } => {
                    steps.push(format!("{}:settled since {}", i + 1, since.0 / 1_000));
                }
            }
        }
        steps
    }

    #[test]
    fn four_changes_are_steady_the_fifth_starts_flapping() {
        assert!(run("?+-+-+").is_empty());
        assert_eq!(run("+-+-+-+"), ["6:started 5", "7:flapping"]);
    }

    #[test]
    fn a_whole_window_without_a_change_settles_it_once() {
        let sequence = format!("+-+-+-{}", "-".repeat(62));
        let steps = run(&sequence);
        assert_eq!(steps.first().map(String::as_str), Some("6:started 5"));
        // The last change was at 6 s: at 66 s the window holds none.
        assert_eq!(steps.last().map(String::as_str), Some("66:settled since 6"));
        assert_eq!(steps.len(), 61, "{steps:?}");
    }

    #[test]
    fn changes_older_than_the_window_do_not_count() {
        // Five changes, but never more than four within a minute of each other.
        let sequence = format!("+-+{}-+-", "+".repeat(60));
        assert!(run(&sequence).is_empty(), "{:?}", run(&sequence));
    }
}
