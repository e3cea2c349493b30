//! What is deleted, and by which rule: making room before a create, and pruning after it.
//!
//! Before a create the keeper frees only the slot the create itself needs. The reserved
//! headroom is restored *after* the new snapshot is known to be good, so a create that fails
//! never costs a restore point it did not have to. A new snapshot that ends `Failed` is
//! deleted in the same run, so it does not hold the slot a schema extension needs.

use jiff::Timestamp;

use super::guard::{deletable, manual_in_use, may_touch};
use super::{Deletion, Policy, PruneBlock, Rule};
use crate::model::{
    Action, CreatedState, Snapshot, SnapshotStatus, SnapshotType, RESTORE_LIMIT_DAYS,
};

/// The id the dry-run simulation gives the snapshot it would take.
pub const PLANNED_ID: &str = "(planned)";

fn deletion(s: &Snapshot, rule: Rule, reason: String) -> Deletion {
    Deletion {
        snapshot_id: s.id.clone(),
        name: s.name.clone(),
        rule,
        reason,
    }
}

/// Snapshots that may be deleted to make room, in the order the rules take them: Failed,
/// then unrestorable (180 days or older), then the oldest Completed.
pub fn make_room_candidates<'a>(
    all: &'a [Snapshot],
    policy: &Policy,
    now: Timestamp,
) -> Vec<(&'a Snapshot, Rule)> {
    let mut out: Vec<(&Snapshot, Rule)> = all
        .iter()
        .filter(|s| deletable(s, all, policy).is_ok())
        .map(|s| {
            let rule = if s.status == SnapshotStatus::Failed {
                Rule::MakeRoomFailed
            } else if s.age_days(now) >= RESTORE_LIMIT_DAYS {
                Rule::MakeRoomUnrestorable
            } else {
                Rule::MakeRoomOldest
            };
            (s, rule)
        })
        .collect();
    out.sort_by(|(a, ra), (b, rb)| (*ra, a.start_time, &a.id).cmp(&(*rb, b.start_time, &b.id)));
    out
}

/// The first `count` make-room candidates, each with its rule and the numbers behind it.
pub fn make_room(
    candidates: Vec<(&Snapshot, Rule)>,
    count: usize,
    in_use: u32,
    limit: u32,
) -> Vec<Deletion> {
    candidates
        .into_iter()
        .take(count)
        .map(|(s, rule)| {
            let why = match rule {
                Rule::MakeRoomFailed => "owned Failed snapshot",
                Rule::MakeRoomUnrestorable => "owned snapshot past the 180-day restore limit",
                _ => "oldest owned Completed snapshot",
            };
            deletion(
                s,
                rule,
                format!(
                    "make room: {in_use} of {limit} manual snapshots in use and the new snapshot \
                     needs one; deleted the {why}"
                ),
            )
        })
        .collect()
}

/// The dry-run simulation: the picture as it would be once the planned snapshot completed.
pub fn assume_completed(
    all: &[Snapshot],
    name: &str,
    directory_id: &str,
    now: Timestamp,
) -> Vec<Snapshot> {
    let mut picture = all.to_vec();
    picture.push(Snapshot {
        id: PLANNED_ID.to_owned(),
        directory_id: directory_id.to_owned(),
        name: Some(name.to_owned()),
        kind: SnapshotType::Manual,
        status: SnapshotStatus::Completed,
        start_time: now,
    });
    picture
}

/// Deletions once the run's create (if any) has settled.
///
/// * The run's own new snapshot, when it ended `Failed`: always (rule `new-failed`).
/// * When `gate` allows pruning: for `run` and `prune`, everything [`prune`] selects; for
///   `snapshot`, only the headroom the make-room step left used.
pub fn after_run(
    all: &[Snapshot],
    manual_limit: u32,
    policy: &Policy,
    action: Action,
    new: Option<(&str, CreatedState)>,
    gate: Result<(), PruneBlock>,
) -> Vec<Deletion> {
    let mut out = Vec::new();
    if let Some((id, CreatedState::Failed)) = new {
        if let Some(s) = all.iter().find(|s| s.id == id) {
            if deletable(s, all, policy).is_ok() {
                out.push(deletion(
                    s,
                    Rule::NewFailed,
                    "the snapshot this run took ended Failed: it restores nothing and would \
                     hold a slot a schema extension or update needs"
                        .to_owned(),
                ));
            }
        }
    }
    if gate.is_err() {
        return out;
    }
    let fresh = new.map(|(id, _)| id);
    let more = match action {
        Action::Run | Action::Prune => prune(all, manual_limit, policy, fresh),
        Action::Snapshot => headroom(all, manual_limit, policy, fresh, &[]),
        Action::Report => Vec::new(),
    };
    out.extend(more);
    out
}

/// Prune: owned Failed snapshots, owned Completed beyond the retain count, and then as many
/// more of the oldest owned Completed as keep `RESERVED_SLOTS` free. `just_created` (the
/// run's own new snapshot) is always kept: deleting the snapshot a run just took, because
/// clock skew dates another one later, would only churn the quota.
pub fn prune(
    all: &[Snapshot],
    manual_limit: u32,
    policy: &Policy,
    just_created: Option<&str>,
) -> Vec<Deletion> {
    let mut out: Vec<Deletion> = Vec::new();
    let fresh = |s: &Snapshot| just_created == Some(s.id.as_str());
    let mut touchable: Vec<&Snapshot> = all
        .iter()
        .filter(|s| deletable(s, all, policy).is_ok() && !fresh(s))
        .collect();
    touchable.sort_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)));

    for s in touchable
        .iter()
        .filter(|s| s.status == SnapshotStatus::Failed)
    {
        out.push(deletion(
            s,
            Rule::Failed,
            "owned snapshot ended Failed and restores nothing".to_owned(),
        ));
    }
    // Newest first, counting every owned Completed snapshot (protected ones included).
    let mut completed: Vec<&Snapshot> = all
        .iter()
        .filter(|s| may_touch(s, policy) && s.status == SnapshotStatus::Completed)
        .collect();
    completed.sort_by(|a, b| (b.start_time, &b.id).cmp(&(a.start_time, &a.id)));
    // Oldest first, so an interrupted run has removed the least valuable ones.
    for s in completed.iter().skip(policy.retain as usize).rev() {
        if deletable(s, all, policy).is_ok() && !fresh(s) {
            out.push(deletion(
                s,
                Rule::BeyondRetain,
                format!("oldest owned Completed beyond retain={}", policy.retain),
            ));
        }
    }
    let chosen = out.clone();
    out.extend(headroom(all, manual_limit, policy, just_created, &chosen));
    out
}

/// As many of the oldest deletable Completed snapshots as keep `RESERVED_SLOTS` free,
/// counting `already` (deletions chosen by other rules) as gone.
pub fn headroom(
    all: &[Snapshot],
    manual_limit: u32,
    policy: &Policy,
    just_created: Option<&str>,
    already: &[Deletion],
) -> Vec<Deletion> {
    let mut touchable: Vec<&Snapshot> = all
        .iter()
        .filter(|s| s.status == SnapshotStatus::Completed)
        .filter(|s| deletable(s, all, policy).is_ok() && just_created != Some(s.id.as_str()))
        .filter(|s| !already.iter().any(|d| d.snapshot_id == s.id))
        .collect();
    touchable.sort_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)));
    let target = manual_limit.saturating_sub(policy.reserved_slots) as usize;
    let mut remaining = (manual_in_use(all) as usize).saturating_sub(already.len());
    let mut out = Vec::new();
    for s in touchable {
        if remaining <= target {
            break;
        }
        out.push(deletion(
            s,
            Rule::Headroom,
            format!(
                "{remaining} of {manual_limit} manual snapshots in use; keeping \
                 RESERVED_SLOTS={} free",
                policy.reserved_slots
            ),
        ));
        remaining -= 1;
    }
    out
}
