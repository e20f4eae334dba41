//! The open-file limit: raised to its hard ceiling at start (as Go's runtime and nginx do),
//! and probes in flight kept below what is left of it once the database, the API's
//! connections and the notifiers have theirs. Every probe holds a socket; past the limit,
//! SQLite could not open its files and the API could not accept, so results would be lost
//! to a monitor that cannot see, rather than probes merely waiting for a slot.

/// Descriptors kept for everything but probes besides the API's connections: the database
/// (each connection holds the file, its WAL and shared memory), the listener, the
/// notifiers' and canaries' connections, the runtime's own.
pub const RESERVED_FILES: u64 = 256;

/// The open-file limit as it is after `raise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimit {
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft limit on open files to the hard one; answers the limit that holds.
/// `None` when the limit cannot be read (then nothing is capped).
pub fn raise() -> Option<FileLimit> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let (soft, hard) = (limit.current?, limit.maximum);
    let Some(hard) = hard else {
        // No ceiling: leave the soft limit as it is.
        return Some(FileLimit { soft, hard: soft });
    };
    if soft < hard {
        let raised = rustix::process::Rlimit {
            current: Some(hard),
            maximum: Some(hard),
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return Some(FileLimit { soft: hard, hard });
        }
    }
    Some(FileLimit { soft, hard })
}

/// The probes that may be in flight at once: the configured number, or fewer when the
/// open-file limit, less the API's connections and `RESERVED_FILES`, leaves less room.
pub fn probe_budget(configured: usize, soft_limit: u64, api_connections: u64) -> usize {
    let room = soft_limit.saturating_sub(api_connections + RESERVED_FILES);
    let room = usize::try_from(room).unwrap_or(usize::MAX).max(1);
    configured.min(room)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_leave_room_for_the_database_and_the_api() {
        assert_eq!(probe_budget(4_096, 1_048_576, 1_024), 4_096);
        assert_eq!(probe_budget(4_096, 1_024, 512), 256);
        assert_eq!(probe_budget(32_768, 20_000, 1_024), 18_720);
        // A limit too small for the reserve still lets one probe run.
        assert_eq!(probe_budget(4_096, 100, 1_024), 1);
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let limit = raise().unwrap();
        assert_eq!(limit.soft, limit.hard);
    }
}
