//! The deletion guard: the one predicate every deletion passes, in the plan and again right
//! before the API call. It encodes what the keeper must never delete: an Auto snapshot, a
//! restore's safety snapshot, a snapshot it does not own (unless `PRUNE_UNOWNED`), one still
//! Creating, the directory's newest Completed snapshot, and the keeper's own newest Completed
//! one.

use serde::Serialize;

use super::ownership;
use super::Policy;
use crate::model::{Snapshot, SnapshotStatus, SnapshotType};

/// Why a snapshot must not be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protection {
    Auto,
    /// A restore's safety snapshot: the operator's undo, whatever `PRUNE_UNOWNED` says.
    SafetySnapshot,
    NotOwned,
    Creating,
    NewestCompleted,
    /// The keeper's own newest `Completed` snapshot: it goes only once a newer one of the
    /// keeper's has completed, so a successor still `Creating` (that may yet fail) never
    /// costs the keeper its last restore point.
    NewestOwnedCompleted,
}

impl std::fmt::Display for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protection::Auto => "it is an Auto snapshot",
            Protection::SafetySnapshot => {
                "it is a restore's safety snapshot (the operator's undo; deleted only by hand)"
            }
            Protection::NotOwned => "the keeper does not own it",
            Protection::Creating => "it is still Creating",
            Protection::NewestCompleted => "it is the newest Completed snapshot",
            Protection::NewestOwnedCompleted => {
                "it is the keeper's newest Completed snapshot, and no newer one of the keeper's \
                 has completed"
            }
        })
    }
}

/// A snapshot is the keeper's when it is Manual and its name is exactly one the keeper writes
/// (see [`ownership`]): a prefix alone is not enough.
pub fn is_owned(snapshot: &Snapshot, policy: &Policy) -> bool {
    snapshot.kind == SnapshotType::Manual
        && snapshot
            .name
            .as_deref()
            .is_some_and(|n| ownership::is_keeper_name(&policy.prefix, n))
}

/// Whether the keeper may delete this snapshot at all: its own, or any Manual one when
/// `PRUNE_UNOWNED` opts in; never a restore's safety snapshot.
pub fn may_touch(snapshot: &Snapshot, policy: &Policy) -> bool {
    snapshot.kind == SnapshotType::Manual
        && !super::safety::is_safety(snapshot)
        && (policy.prune_unowned || is_owned(snapshot, policy))
}

/// The keeper's own newest Completed snapshot; ties broken by id.
pub fn newest_owned_completed<'a>(
    snapshots: &'a [Snapshot],
    policy: &Policy,
) -> Option<&'a Snapshot> {
    snapshots
        .iter()
        .filter(|s| s.status == SnapshotStatus::Completed && is_owned(s, policy))
        .max_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)))
}

/// The newest Completed snapshot of any type; ties broken by id so the answer is stable.
pub fn newest_completed(snapshots: &[Snapshot]) -> Option<&Snapshot> {
    snapshots
        .iter()
        .filter(|s| s.status == SnapshotStatus::Completed)
        .max_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)))
}

/// Manual snapshots in the listing: the count the keeper plans from. `GetSnapshotLimits`
/// reports a count too, but a deletion must never rest on a count the listing does not show.
/// A snapshot listed twice counts once.
pub fn manual_in_use(snapshots: &[Snapshot]) -> u32 {
    let mut ids: Vec<&str> = snapshots
        .iter()
        .filter(|s| s.kind == SnapshotType::Manual)
        .map(|s| s.id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len() as u32
}

/// The listing with each snapshot once. A listing whose pages shift while it is read (a
/// snapshot created or deleted meanwhile) can show one snapshot twice; counted twice, it
/// would make room that is not needed and cost a restore point. When the copies disagree, the
/// settled status wins: a snapshot never goes back from `Completed` or `Failed` to `Creating`.
pub fn distinct(snapshots: Vec<Snapshot>) -> Vec<Snapshot> {
    let settledness = |s: SnapshotStatus| match s {
        SnapshotStatus::Creating => 0,
        SnapshotStatus::Failed => 1,
        SnapshotStatus::Completed => 2,
    };
    let mut out: Vec<Snapshot> = Vec::with_capacity(snapshots.len());
    for s in snapshots {
        match out.iter_mut().find(|seen| seen.id == s.id) {
            Some(seen) if settledness(s.status) > settledness(seen.status) => *seen = s,
            Some(_) => {}
            None => out.push(s),
        }
    }
    out
}

/// The guard itself.
pub fn deletable(snapshot: &Snapshot, all: &[Snapshot], policy: &Policy) -> Result<(), Protection> {
    if snapshot.kind == SnapshotType::Auto {
        return Err(Protection::Auto);
    }
    if super::safety::is_safety(snapshot) {
        return Err(Protection::SafetySnapshot);
    }
    if !may_touch(snapshot, policy) {
        return Err(Protection::NotOwned);
    }
    if snapshot.status == SnapshotStatus::Creating {
        return Err(Protection::Creating);
    }
    if newest_completed(all).is_some_and(|n| n.id == snapshot.id) {
        return Err(Protection::NewestCompleted);
    }
    // The keeper's own newest Completed point, unless another of its own completed at the
    // same second or later (then that one stands in for it).
    let completed_owned =
        |s: &Snapshot| s.status == SnapshotStatus::Completed && is_owned(s, policy);
    if completed_owned(snapshot)
        && !all.iter().any(|o| {
            o.id != snapshot.id && completed_owned(o) && o.start_time >= snapshot.start_time
        })
    {
        return Err(Protection::NewestOwnedCompleted);
    }
    Ok(())
}
