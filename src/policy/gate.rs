//! When pruning may run: only after a clean run. The runner reports what happened (the run
//! state); this decides, so every reason pruning is held back lives here, named. Whether the
//! reserved headroom may be restored as well is [`headroom_gate`]: it is paid for by a newer
//! `Completed` restore point, and waits only for an earlier run's snapshot still `Creating`.

use serde::Serialize;

use super::{Plan, Policy};
use crate::model::{Action, CreatedState, Snapshot, SnapshotStatus};

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

/// Whether pruning may run at all: not after a plan problem, not after a failed call
/// (`api_failed`: any API call for this directory failed, or was not started for lack of time).
pub fn prune_gate(plan: &Plan, api_failed: bool) -> Result<(), PruneBlock> {
    if plan.problems.iter().any(|p| p.code.blocks_pruning()) {
        return Err(PruneBlock::PlanProblem);
    }
    if api_failed {
        return Err(PruneBlock::ApiFailure);
    }
    Ok(())
}

/// What the report says held pruning back: nothing for a `report`, which prunes nothing by
/// definition; otherwise the gate's reason.
pub fn prune_blocked(action: Action, gate: Result<(), PruneBlock>) -> Option<PruneBlock> {
    if action == Action::Report {
        return None;
    }
    gate.err()
}

/// Whether this run may restore the reserved headroom, and from what.
///
/// Only an action that creates restores it (`prune` and `report` never do). It is paid for by
/// a newer restore point that is `Completed`, whichever run took it: the guard keeps the newest
/// `Completed` snapshot, so what the headroom gives up is always older than a restore point
/// that stays.
///
/// * The run's own snapshot `Completed` (or, on a dry run, planned): restore it in full.
/// * The run's own snapshot still `Creating` (slower than the wait): restore it from the
///   settled snapshots. The previous run's snapshot, `Completed` by now, pays for the slot
///   that run borrowed; were the headroom to wait for this run's own, a directory whose
///   snapshots outlast the wait would hold the reserved slot for good.
/// * No new snapshot (the create was held by the interval or by this request's own earlier
///   snapshot): restore it too, since the snapshot that held the create is settled. But while
///   an owned snapshot is still `Creating` (an earlier run's), wait for it: it has not paid
///   for the slot it borrowed, and may still fail.
/// * The run's own snapshot `Failed`: wait (its slot is freed by rule `new-failed`).
pub fn headroom_gate(
    all: &[Snapshot],
    policy: &Policy,
    action: Action,
    new: Option<CreatedState>,
) -> Result<(), PruneBlock> {
    if !action.creates() {
        return Err(PruneBlock::NoNewSnapshot);
    }
    match new {
        Some(CreatedState::Completed | CreatedState::Planned | CreatedState::Creating) => Ok(()),
        Some(CreatedState::Failed) => Err(PruneBlock::NewSnapshotNotCompleted),
        None if all
            .iter()
            .any(|s| super::guard::is_owned(s, policy) && s.status == SnapshotStatus::Creating) =>
        {
            Err(PruneBlock::SnapshotCreating)
        }
        None => Ok(()),
    }
}
