//! What is deleted, and by which rule: making room before a create, and pruning after it.
//!
//! Every rule that deletes a restore point asks the same question -- which owned snapshot is
//! worth least ([`worth`](super::worth)) -- so make-room, beyond-retain and headroom never
//! disagree about what to give up first.
//!
//! Before a create the keeper frees only the slot the create itself needs. The reserved
//! headroom is restored *after* the run's new snapshot is known to be good, so a create that
//! fails never costs a restore point it did not have to. A new snapshot that ends `Failed` is
//! deleted in the same run, so it does not hold the slot a schema extension needs. Pruning of
//! settled snapshots (owned `Failed` ones, and `Completed` ones beyond the retain count) does not
//! wait for the run's own snapshot: it counts only `Completed` snapshots, so it never gives up a
//! restore point for one that may still fail, and a snapshot slower than the wait budget no
//! longer holds the quota full for good.

use jiff::Timestamp;

use super::gate::headroom_gate;
use super::guard::{deletable, manual_in_use};
use super::worth::{by_worth, worthless, Worth, Worthless};
use super::{Deletion, Policy, Problem, PruneBlock, Rule};
use crate::model::{Action, CreatedState, Snapshot, SnapshotStatus, SnapshotType};

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

/// Why a deletable snapshot is worth little, in the order every quota rule gives them up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cheapness {
    /// It restores nothing the keeper promises to keep ([`Worthless`]).
    Worthless(Worthless),
    /// A restore point; the `usize` is its place in the worth order, least worth first.
    RestorePoint(usize),
}

/// Snapshots the guard lets the keeper delete, least worth first: the worthless ones (owned
/// `Failed`, past the 180-day restore limit, and under `tiered` past `WARN_AGE_DAYS`), then
/// restore points from least to most worth under the retention mode. `keep` (the run's own
/// new snapshot) is left out.
pub fn cheapest_first<'a>(
    all: &'a [Snapshot],
    policy: &Policy,
    now: Timestamp,
    keep: Option<&str>,
) -> Vec<(&'a Snapshot, Cheapness, Option<Worth>)> {
    let ranked = by_worth(all, policy, now);
    let mut out: Vec<(&Snapshot, Cheapness, Option<Worth>)> = all
        .iter()
        .filter(|s| deletable(s, all, policy).is_ok() && keep != Some(s.id.as_str()))
        .map(|s| {
            let place = ranked.iter().position(|(r, _)| r.id == s.id);
            let worth = place.map(|i| ranked[i].1);
            let cheap = match (worthless(s, policy, now), place) {
                (Some(why), _) => Cheapness::Worthless(why),
                // Most worth is place 0, so least worth first is the highest place first.
                (None, Some(i)) => Cheapness::RestorePoint(ranked.len() - i),
                (None, None) => Cheapness::RestorePoint(ranked.len() + 1),
            };
            (s, cheap, worth)
        })
        .collect();
    out.sort_by(|(a, ca, _), (b, cb, _)| {
        (*ca, a.start_time, &a.id).cmp(&(*cb, b.start_time, &b.id))
    });
    out
}

/// The words a reason uses for what a snapshot was.
fn what(cheap: Cheapness, worth: Option<Worth>, policy: &Policy) -> String {
    match (cheap, worth) {
        (Cheapness::Worthless(Worthless::Failed), _) => "owned Failed snapshot".to_owned(),
        (Cheapness::Worthless(Worthless::Unrestorable), _) => {
            "owned snapshot past the 180-day restore limit".to_owned()
        }
        (Cheapness::Worthless(Worthless::PastWarnAge), _) => format!(
            "owned snapshot past WARN_AGE_DAYS={} (it holds no tier)",
            policy.warn_age_days
        ),
        (_, Some(w)) => format!("owned Completed snapshot worth least ({w})"),
        (_, None) => "owned Completed snapshot worth least".to_owned(),
    }
}

/// Before a create: the first `count` candidates, each with its rule and the numbers behind it.
pub fn make_room(
    candidates: &[(&Snapshot, Cheapness, Option<Worth>)],
    count: usize,
    in_use: u32,
    limit: u32,
    policy: &Policy,
) -> Vec<Deletion> {
    candidates
        .iter()
        .take(count)
        .map(|(s, cheap, worth)| {
            let rule = match cheap {
                Cheapness::Worthless(Worthless::Failed) => Rule::MakeRoomFailed,
                Cheapness::Worthless(Worthless::Unrestorable) => Rule::MakeRoomUnrestorable,
                Cheapness::Worthless(Worthless::PastWarnAge) => Rule::MakeRoomPastWarnAge,
                Cheapness::RestorePoint(_) => Rule::MakeRoomOldest,
            };
            deletion(
                s,
                rule,
                format!(
                    "make room: {in_use} of {limit} manual snapshots in use and the new snapshot \
                     needs one; deleted the {}",
                    what(*cheap, *worth, policy)
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

/// What the run deletes once its create (if any) has settled, and what it found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AfterRun {
    pub deletions: Vec<Deletion>,
    pub problems: Vec<Problem>,
    /// Why the reserved headroom was not restored, when the action would restore it.
    pub headroom_held: Option<PruneBlock>,
}

/// Deletions once the run's create (if any) has settled.
///
/// * The run's own new snapshot, when it ended `Failed`: always (rule `new-failed`).
/// * When `gate` allows it (no plan problem, no failed call), for `run`, `prune` and
///   `snapshot`: owned snapshots that restore nothing the keeper promises ([`Worthless`]:
///   rules `failed`, `unrestorable`, `past-warn-age`); for `run` and `prune`, owned `Completed`
///   snapshots beyond the retain count (rule `beyond-retain`).
/// * For `run` and `snapshot`, when [`headroom_gate`] allows it: as many more as keep
///   `RESERVED_SLOTS` free (rule `headroom`). When the run's own snapshot completed and even
///   that cannot free them, the problem `QuotaReservedSlotsBlocked`; when it is still
///   `Creating` and only the newest `Completed` snapshot stands in the way, the headroom waits
///   for it (`headroom_held`).
pub fn after_run(
    all: &[Snapshot],
    manual_limit: u32,
    policy: &Policy,
    action: Action,
    new: Option<(&str, CreatedState)>,
    gate: Result<(), PruneBlock>,
    now: Timestamp,
) -> AfterRun {
    let mut out = AfterRun::default();
    if let Some((id, CreatedState::Failed)) = new {
        if let Some(s) = all.iter().find(|s| s.id == id) {
            if deletable(s, all, policy).is_ok() {
                out.deletions.push(deletion(
                    s,
                    Rule::NewFailed,
                    "the snapshot this run took ended Failed: it restores nothing and would \
                     hold a slot a schema extension or update needs"
                        .to_owned(),
                ));
            }
        }
    }
    if gate.is_err() || action == Action::Report {
        return out;
    }
    let fresh = new.map(|(id, _)| id);
    let worthless = worthless_ones(all, policy, now, fresh);
    out.deletions.extend(worthless);
    if action.prunes() {
        let beyond = beyond_retain(all, policy, now, fresh, &out.deletions);
        out.deletions.extend(beyond);
    }
    let state = new.map(|(_, state)| state);
    match headroom_gate(all, policy, action, state) {
        Ok(()) => {
            let more = headroom(all, manual_limit, policy, now, fresh, &out.deletions);
            out.deletions.extend(more);
            let left = (manual_in_use(all) as usize).saturating_sub(out.deletions.len());
            let target = manual_limit.saturating_sub(policy.reserved_slots) as usize;
            let short = left > target;
            match state {
                Some(CreatedState::Completed | CreatedState::Planned) if short => {
                    out.problems.push(Problem {
                        code: crate::model::KeeperCode::QuotaReservedSlotsBlocked,
                        message: format!(
                            "after the new snapshot completed, {left} of {manual_limit} manual \
                             snapshots are still in use and none more may be deleted by the \
                             keeper (the rest are Auto, not owned, Creating, the newest \
                             Completed or this run's own): fewer than RESERVED_SLOTS={} are \
                             free, so a schema extension or update may fail. Delete manual \
                             snapshots by hand, check for snapshots dated in the future (clock \
                             skew), or lower RESERVED_SLOTS",
                            policy.reserved_slots
                        ),
                        snapshot_id: None,
                    });
                }
                Some(CreatedState::Creating) if short => {
                    out.headroom_held = Some(PruneBlock::NewSnapshotNotCompleted);
                }
                _ => {}
            }
        }
        Err(why) if action.creates() => out.headroom_held = Some(why),
        Err(_) => {}
    }
    out
}

/// Owned snapshots that restore nothing the keeper promises to keep, in the order they are
/// given up (`Failed`, then past 180 days, then past `WARN_AGE_DAYS` under `tiered`), oldest
/// first within each.
fn worthless_ones(
    all: &[Snapshot],
    policy: &Policy,
    now: Timestamp,
    fresh: Option<&str>,
) -> Vec<Deletion> {
    let mut found: Vec<(Worthless, &Snapshot)> = all
        .iter()
        .filter(|s| fresh != Some(s.id.as_str()) && deletable(s, all, policy).is_ok())
        .filter_map(|s| worthless(s, policy, now).map(|why| (why, s)))
        .collect();
    found.sort_by(|(wa, a), (wb, b)| (wa, a.start_time, &a.id).cmp(&(wb, b.start_time, &b.id)));
    found
        .into_iter()
        .map(|(why, s)| match why {
            Worthless::Failed => deletion(
                s,
                Rule::Failed,
                "owned snapshot ended Failed and restores nothing".to_owned(),
            ),
            Worthless::Unrestorable => deletion(
                s,
                Rule::Unrestorable,
                format!(
                    "owned snapshot is {} days old, past the 180-day restore limit: it restores \
                     nothing",
                    s.age_days(now)
                ),
            ),
            Worthless::PastWarnAge => deletion(
                s,
                Rule::PastWarnAge,
                format!(
                    "owned snapshot is {} days old, past WARN_AGE_DAYS={}: under \
                     RETENTION=tiered it holds no tier (kept through missed runs), and a newer \
                     Completed snapshot stays",
                    s.age_days(now),
                    policy.warn_age_days
                ),
            ),
        })
        .collect()
}

/// Owned `Completed` snapshots beyond the retain count, by worth (the run's own new snapshot
/// counts, and is never deleted). Least worth first, so an interrupted run has removed the
/// least valuable ones. `Creating` snapshots do not count: they may still fail.
fn beyond_retain(
    all: &[Snapshot],
    policy: &Policy,
    now: Timestamp,
    fresh: Option<&str>,
    already: &[Deletion],
) -> Vec<Deletion> {
    let ranked = by_worth(all, policy, now);
    ranked
        .iter()
        .skip(policy.retain as usize)
        .rev()
        .filter(|(s, _)| deletable(s, all, policy).is_ok() && fresh != Some(s.id.as_str()))
        .filter(|(s, _)| !already.iter().any(|d| d.snapshot_id == s.id))
        .map(|(s, worth)| {
            deletion(
                s,
                Rule::BeyondRetain,
                format!(
                    "owned Completed beyond retain={}: {worth} under RETENTION={}",
                    policy.retain,
                    policy.retention.as_str()
                ),
            )
        })
        .collect()
}

/// As many of the least-worth deletable snapshots as keep `RESERVED_SLOTS` free, counting
/// `already` (deletions chosen by other rules) as gone.
pub fn headroom(
    all: &[Snapshot],
    manual_limit: u32,
    policy: &Policy,
    now: Timestamp,
    fresh: Option<&str>,
    already: &[Deletion],
) -> Vec<Deletion> {
    let target = manual_limit.saturating_sub(policy.reserved_slots) as usize;
    let mut remaining = (manual_in_use(all) as usize).saturating_sub(already.len());
    let mut out = Vec::new();
    for (s, cheap, worth) in cheapest_first(all, policy, now, fresh) {
        if remaining <= target {
            break;
        }
        if already.iter().any(|d| d.snapshot_id == s.id) {
            continue;
        }
        out.push(deletion(
            s,
            Rule::Headroom,
            format!(
                "{remaining} of {manual_limit} manual snapshots in use; keeping \
                 RESERVED_SLOTS={} free: deleted the {}",
                policy.reserved_slots,
                what(cheap, worth, policy)
            ),
        ));
        remaining -= 1;
    }
    out
}
