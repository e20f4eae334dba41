//! A heartbeat ping as `/ping/{key}` received it, and its kind's code in the store.

use super::{CheckId, Timestamp};

/// A heartbeat ping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    pub check: CheckId,
    pub kind: PingKind,
    /// What the job posted (bounded), kept with a failure.
    pub message: Option<String>,
    pub at: Timestamp,
}

/// What a ping says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingKind {
    /// The job ran and succeeded.
    Success,
    /// The job failed.
    Fail,
    /// The job starts: the next success records the run's duration.
    Start,
}

impl PingKind {
    /// The kind's code in the store.
    pub fn code(self) -> i64 {
        match self {
            Self::Success => 0,
            Self::Fail => 1,
            Self::Start => 2,
        }
    }

    /// The kind a code stands for; `None` for a code no version writes.
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(Self::Success),
            1 => Some(Self::Fail),
            2 => Some(Self::Start),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_code() {
        for kind in [PingKind::Success, PingKind::Fail, PingKind::Start] {
            assert_eq!(PingKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(PingKind::from_code(3), None);
    }
}
