//! When pruning may run: only after a clean run. The runner reports what happened (the run
//! state); this decides, so every reason pruning is held back lives here, named.

use serde::Serialize;

use super::guard::is_owned;
use super::{Plan, Policy};
use crate::model::{CreatedState, Snapshot, SnapshotStatus};

/// Why pruning did not run for a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PruneBlock {
    /// An owned snapshot is still Creating: the keeper waits until it settles.
    SnapshotCreating,
    /// The plan found a quota or settings problem; nothing beyond it is changed.
    PlanProblem,
    /// An API call for this directory failed (or was cut short by the deadline).
    ApiFailure,
    /// The run's new snapshot did not complete (still Creating, or Failed).
    NewSnapshotNotCompleted,
}

/// What the runner observed while acting on one directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunState {
    /// Any API call for this directory failed, or was not started for lack of time.
    pub api_failed: bool,
    /// Where the run's own snapshot stands, if it took (or planned) one.
    pub created: Option<CreatedState>,
}

/// Plan problems that stop pruning too (leftovers of earlier runs do not).
const BLOCKING_PROBLEMS: &[&str] = &[
    "SettingsExceedQuota",
    "QuotaFull",
    "QuotaReservedSlotsBlocked",
];

/// Whether pruning may run on `all` (the picture at the end of the run).
pub fn prune_gate(
    all: &[Snapshot],
    policy: &Policy,
    plan: &Plan,
    state: RunState,
) -> Result<(), PruneBlock> {
    if plan
        .problems
        .iter()
        .any(|p| BLOCKING_PROBLEMS.contains(&p.code))
    {
        return Err(PruneBlock::PlanProblem);
    }
    if state.api_failed {
        return Err(PruneBlock::ApiFailure);
    }
    match state.created {
        None | Some(CreatedState::Completed) | Some(CreatedState::Planned) => {}
        Some(CreatedState::Creating) | Some(CreatedState::Failed) => {
            return Err(PruneBlock::NewSnapshotNotCompleted)
        }
    }
    if all
        .iter()
        .any(|s| is_owned(s, policy) && s.status == SnapshotStatus::Creating)
    {
        return Err(PruneBlock::SnapshotCreating);
    }
    Ok(())
}
