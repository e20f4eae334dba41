//! What other locations tell the scheduler: agents' results, judged as its own probes are
//! (by the check's votes) but never planned here, and which agents went silent.

use std::collections::HashSet;
use std::sync::Arc;

use super::Scheduler;
use crate::domain::{CheckId, LocationName, Outcome};

impl Scheduler {
    /// Judges an agent's results of the checks this instance holds (on a shared database
    /// every instance is handed every result; the holder records it); a check deleted
    /// meanwhile is skipped.
    pub(super) async fn remote(
        &mut self,
        location: &Arc<LocationName>,
        outcomes: Vec<(CheckId, Outcome)>,
    ) {
        for (id, outcome) in outcomes {
            if self.plan.checks().contains_key(&id) && self.holds(id) {
                self.judge_and_record(id, outcome, false, location).await;
            }
        }
    }

    /// Takes the silent locations. Their votes count again, or stop counting, from each
    /// check's next result on.
    pub(super) async fn silent_changed(&mut self, silent: HashSet<LocationName>) {
        self.silent = silent;
    }
}
