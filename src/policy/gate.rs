//! When pruning may run: only after a clean run. The runner reports what happened (the run
//! state); this decides, so every reason pruning is held back lives here, named. Whether the
//! reserved headroom may be restored as well is [`super::retention::headroom_gate`]: that
//! waits for the run's own new snapshot to complete; pruning of settled snapshots does not.

use serde::Serialize;

use super::Plan;

/// Why pruning (or the headroom alone) did not run for a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PruneBlock {
    /// An owned snapshot is still Creating and the run took none: the headroom waits.
    SnapshotCreating,
    /// The plan found a quota or settings problem; nothing beyond it is changed.
    PlanProblem,
    /// An API call for this directory failed (or was cut short by the deadline).
    ApiFailure,
    /// The run's new snapshot did not complete (still Creating, or Failed): the headroom waits.
    NewSnapshotNotCompleted,
    /// The run took no snapshot (held back, or a `prune`): the headroom waits for one that
    /// completes.
    NoNewSnapshot,
}

/// What the runner observed while acting on one directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunState {
    /// Any API call for this directory failed, or was not started for lack of time.
    pub api_failed: bool,
}

/// Whether pruning may run at all: not after a plan problem, not after a failed call.
pub fn prune_gate(plan: &Plan, state: RunState) -> Result<(), PruneBlock> {
    if plan.problems.iter().any(|p| p.code.blocks_pruning()) {
        return Err(PruneBlock::PlanProblem);
    }
    if state.api_failed {
        return Err(PruneBlock::ApiFailure);
    }
    Ok(())
}
