//! The retention policy: which snapshot to create, which to delete and which to flag.
//!
//! Everything here is a pure function of (inventory, quota, policy, action, now): no I/O and no
//! clock, so it is tested exhaustively and gives the same plan for the same input. Every
//! deletion carries the [`Rule`] that chose it, and every deletion passes [`deletable`] -- the
//! one predicate that encodes what the keeper must never delete:
//!
//! * an `Auto` snapshot;
//! * a snapshot it does not own (unless `PRUNE_UNOWNED` opts in, and never an Auto one);
//! * a snapshot that is still `Creating`;
//! * the newest `Completed` snapshot of the directory.

use jiff::Timestamp;
use serde::Serialize;

use crate::model::{Snapshot, SnapshotLimits, SnapshotStatus, SnapshotType, RESTORE_LIMIT_DAYS};
use crate::naming;
use crate::request::Action;
use crate::settings::Settings;

/// Snapshots dated this far in the future still count as "just taken" (clock skew).
pub const CLOCK_SKEW_TOLERANCE_SECS: i64 = 300;

/// The parts of the settings the policy needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub retain: u32,
    pub reserved_slots: u32,
    pub warn_age_days: i64,
    pub prefix: String,
    pub min_interval_secs: i64,
    pub creating_timeout_secs: i64,
    pub prune_unowned: bool,
}

impl From<&Settings> for Policy {
    fn from(s: &Settings) -> Self {
        Self {
            retain: s.retain,
            reserved_slots: s.reserved_slots,
            warn_age_days: s.warn_age_days,
            prefix: s.prefix.clone(),
            min_interval_secs: s.min_interval.as_secs() as i64,
            creating_timeout_secs: s.creating_timeout.as_secs() as i64,
            prune_unowned: s.prune_unowned,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from(&Settings::default())
    }
}

/// Why a snapshot was chosen for deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Before a create, the quota needed a slot: an owned Failed snapshot went first.
    MakeRoomFailed,
    /// Before a create, the quota needed a slot: an owned snapshot past 180 days went next.
    MakeRoomUnrestorable,
    /// Before a create, the quota needed a slot: the oldest owned Completed snapshot went.
    MakeRoomOldest,
    /// An owned snapshot that Failed restores nothing.
    Failed,
    /// Owned Completed snapshots beyond the retain count.
    BeyondRetain,
    /// Keeping RESERVED_SLOTS free after the run.
    Headroom,
}

/// One planned deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deletion {
    pub snapshot_id: String,
    pub name: Option<String>,
    pub rule: Rule,
    /// The rule in words, with the numbers that made it fire.
    pub reason: String,
}

/// Something the plan found wrong: reported as a failure of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
    pub snapshot_id: Option<String>,
}

/// What the keeper will do to one directory before it waits for anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Plan {
    /// The name of the snapshot to create, if one is to be created.
    pub create: Option<String>,
    /// Why no snapshot is created, when the action would create one.
    pub create_skipped: Option<String>,
    /// Deletions to do now (before the create).
    pub deletions: Vec<Deletion>,
    /// Whether pruning beyond retention runs once the new snapshot (if any) is Completed.
    pub prune_after: bool,
    pub problems: Vec<Problem>,
}

/// Why a snapshot must not be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protection {
    Auto,
    NotOwned,
    Creating,
    NewestCompleted,
}

impl std::fmt::Display for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protection::Auto => "it is an Auto snapshot",
            Protection::NotOwned => "the keeper does not own it",
            Protection::Creating => "it is still Creating",
            Protection::NewestCompleted => "it is the newest Completed snapshot",
        })
    }
}

/// A snapshot is the keeper's when it is Manual and carries the keeper's prefix.
pub fn is_owned(snapshot: &Snapshot, policy: &Policy) -> bool {
    snapshot.kind == SnapshotType::Manual
        && snapshot
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with(policy.prefix.as_str()))
}

fn may_touch(snapshot: &Snapshot, policy: &Policy) -> bool {
    snapshot.kind == SnapshotType::Manual && (policy.prune_unowned || is_owned(snapshot, policy))
}

/// The newest Completed snapshot of any type; ties broken by id so the answer is stable.
pub fn newest_completed(snapshots: &[Snapshot]) -> Option<&Snapshot> {
    snapshots
        .iter()
        .filter(|s| s.status == SnapshotStatus::Completed)
        .max_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)))
}

/// The single guard every deletion passes, in the plan and again right before the API call.
pub fn deletable(snapshot: &Snapshot, all: &[Snapshot], policy: &Policy) -> Result<(), Protection> {
    if snapshot.kind == SnapshotType::Auto {
        return Err(Protection::Auto);
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
    Ok(())
}

fn age_secs(s: &Snapshot, now: Timestamp) -> i64 {
    now.as_second() - s.start_time.as_second()
}

/// Owned snapshots that may be deleted to make room, in the order the rules take them:
/// Failed, then unrestorable (180 days or older), then the oldest Completed.
fn make_room_candidates<'a>(
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
    let rank = |r: Rule| match r {
        Rule::MakeRoomFailed => 0,
        Rule::MakeRoomUnrestorable => 1,
        _ => 2,
    };
    out.sort_by(|(a, ra), (b, rb)| {
        (rank(*ra), a.start_time, &a.id).cmp(&(rank(*rb), b.start_time, &b.id))
    });
    out
}

fn deletion(s: &Snapshot, rule: Rule, reason: String) -> Deletion {
    Deletion {
        snapshot_id: s.id.clone(),
        name: s.name.clone(),
        rule,
        reason,
    }
}

/// Failures left behind by earlier runs: owned snapshots that Failed, or are stuck Creating.
pub fn leftover_problems(all: &[Snapshot], policy: &Policy, now: Timestamp) -> Vec<Problem> {
    let mut problems = Vec::new();
    for s in all.iter().filter(|s| is_owned(s, policy)) {
        match s.status {
            SnapshotStatus::Failed => problems.push(Problem {
                code: "SnapshotFailed",
                message: format!("snapshot {} ended Failed", s.id),
                snapshot_id: Some(s.id.clone()),
            }),
            SnapshotStatus::Creating if age_secs(s, now) > policy.creating_timeout_secs => problems
                .push(Problem {
                    code: "SnapshotStuckCreating",
                    message: format!(
                        "snapshot {} has been Creating for {} minutes (limit {} minutes)",
                        s.id,
                        age_secs(s, now) / 60,
                        policy.creating_timeout_secs / 60
                    ),
                    snapshot_id: Some(s.id.clone()),
                }),
            _ => {}
        }
    }
    problems
}

/// Plan one directory's run: make room if the quota needs it, create, and whether to prune.
pub fn plan(
    all: &[Snapshot],
    limits: SnapshotLimits,
    policy: &Policy,
    action: Action,
    force: bool,
    now: Timestamp,
) -> Plan {
    let mut plan = Plan {
        problems: leftover_problems(all, policy, now),
        ..Plan::default()
    };
    let fits = policy.retain + 1 + policy.reserved_slots <= limits.manual_limit;
    if !fits && action.changes_anything() {
        plan.problems.push(Problem {
            code: "SettingsExceedQuota",
            message: format!(
                "RETAIN_COUNT={} + 1 new + RESERVED_SLOTS={} does not fit this directory's \
                 quota of {} manual snapshots; nothing was changed",
                policy.retain, policy.reserved_slots, limits.manual_limit
            ),
            snapshot_id: None,
        });
        return plan;
    }
    let owned_creating = all
        .iter()
        .any(|s| may_touch(s, policy) && s.status == SnapshotStatus::Creating);
    plan.prune_after = action.prunes() && !owned_creating;
    if !action.creates() {
        return plan;
    }

    if !force {
        let recent = all
            .iter()
            .filter(|s| may_touch(s, policy) && s.status != SnapshotStatus::Failed)
            .filter(|s| {
                let age = age_secs(s, now);
                age >= -CLOCK_SKEW_TOLERANCE_SECS && age < policy.min_interval_secs
            })
            .max_by_key(|s| s.start_time);
        if let Some(s) = recent {
            plan.create_skipped = Some(format!(
                "owned snapshot {} started {} minutes ago, within the minimum interval of {} minutes",
                s.id,
                age_secs(s, now).max(0) / 60,
                policy.min_interval_secs / 60
            ));
            return plan;
        }
    }

    let manual = limits.manual_count;
    let limit = limits.manual_limit;
    let need_hard = (manual + 1).saturating_sub(limit) as usize;
    let need_soft = (manual + 1 + policy.reserved_slots).saturating_sub(limit) as usize;
    let candidates = make_room_candidates(all, policy, now);
    // Once the new snapshot completes, the current newest Completed loses its protection.
    let freed_later = newest_completed(all).is_some_and(|n| may_touch(n, policy)) as usize;

    if need_hard > candidates.len() {
        plan.problems.push(Problem {
            code: "QuotaFull",
            message: format!(
                "{manual} of {limit} manual snapshots are in use and only {} may be deleted by \
                 the keeper (the rest are Auto, not owned, Creating or the newest Completed); \
                 no snapshot was taken. Delete manual snapshots by hand or set PRUNE_UNOWNED=true",
                candidates.len()
            ),
            snapshot_id: None,
        });
        plan.prune_after = false;
        return plan;
    }
    if need_soft > candidates.len() + freed_later {
        plan.problems.push(Problem {
            code: "QuotaReservedSlotsBlocked",
            message: format!(
                "taking a snapshot would leave fewer than RESERVED_SLOTS={} free slots ({manual} \
                 of {limit} in use, {} deletable by the keeper); no snapshot was taken so that \
                 schema extensions and updates keep their slot. Delete manual snapshots by hand, \
                 lower RESERVED_SLOTS, or set PRUNE_UNOWNED=true",
                policy.reserved_slots,
                candidates.len()
            ),
            snapshot_id: None,
        });
        plan.prune_after = false;
        return plan;
    }
    let take = need_soft.min(candidates.len());
    for (s, rule) in candidates.into_iter().take(take) {
        let why = match rule {
            Rule::MakeRoomFailed => "owned Failed snapshot",
            Rule::MakeRoomUnrestorable => "owned snapshot past the 180-day restore limit",
            _ => "oldest owned Completed snapshot",
        };
        plan.deletions.push(deletion(
            s,
            rule,
            format!(
                "make room: {manual} of {limit} manual snapshots in use, 1 new + {} reserved \
                 needed; deleted the {why}",
                policy.reserved_slots
            ),
        ));
    }
    plan.create = Some(naming::snapshot_name(&policy.prefix, now));
    plan
}

/// Prune after a successful run: owned Failed snapshots, owned Completed beyond the retain
/// count, and then as many more of the oldest owned Completed as keep RESERVED_SLOTS free.
/// `just_created` (the run's own new snapshot) is always kept: deleting the snapshot a run
/// just took, because clock skew dates another one later, would only churn the quota.
pub fn prune(
    all: &[Snapshot],
    limits: SnapshotLimits,
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
    let target = limits.manual_limit.saturating_sub(policy.reserved_slots) as usize;
    let mut remaining = (limits.manual_count as usize).saturating_sub(out.len());
    for s in touchable
        .iter()
        .filter(|s| s.status == SnapshotStatus::Completed)
    {
        if remaining <= target {
            break;
        }
        if out.iter().any(|d| d.snapshot_id == s.id) {
            continue;
        }
        out.push(deletion(
            s,
            Rule::Headroom,
            format!(
                "{remaining} of {} manual snapshots in use; keeping RESERVED_SLOTS={} free",
                limits.manual_limit, policy.reserved_slots
            ),
        ));
        remaining -= 1;
    }
    out
}

/// How serious a flag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagLevel {
    Warning,
    Critical,
}

/// Something an operator should know about a directory's restore window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    pub level: FlagLevel,
    pub code: &'static str,
    pub snapshot_id: Option<String>,
    /// Days left before the snapshot passes the 180-day restore limit (0 when past it).
    pub days_left: Option<i64>,
    pub message: String,
}

/// Flags on the inventory (and quota) as they stand after the run.
pub fn flags(
    all: &[Snapshot],
    limits: Option<SnapshotLimits>,
    policy: &Policy,
    now: Timestamp,
) -> Vec<Flag> {
    let mut out = Vec::new();
    if let Some(l) = limits {
        let free = l.manual_limit.saturating_sub(l.manual_count);
        if free < policy.reserved_slots {
            out.push(Flag {
                level: FlagLevel::Warning,
                code: "reserved-slots-in-use",
                snapshot_id: None,
                days_left: None,
                message: format!(
                    "only {free} of RESERVED_SLOTS={} manual snapshot slots are free ({} of {} \
                     in use): a schema extension or directory update may fail",
                    policy.reserved_slots, l.manual_count, l.manual_limit
                ),
            });
        }
    }
    let mut sorted: Vec<&Snapshot> = all.iter().collect();
    sorted.sort_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)));
    for s in &sorted {
        if age_secs(s, now) < -CLOCK_SKEW_TOLERANCE_SECS {
            out.push(Flag {
                level: FlagLevel::Warning,
                code: "future-dated",
                snapshot_id: Some(s.id.clone()),
                days_left: None,
                message: format!(
                    "snapshot {} is dated {} in the future; check the clocks",
                    s.id, s.start_time
                ),
            });
        }
        if s.status != SnapshotStatus::Completed {
            continue;
        }
        let age = s.age_days(now);
        if age >= RESTORE_LIMIT_DAYS {
            out.push(Flag {
                level: FlagLevel::Warning,
                code: "unrestorable",
                snapshot_id: Some(s.id.clone()),
                days_left: Some(0),
                message: format!(
                    "snapshot {} is {age} days old and can no longer be restored",
                    s.id
                ),
            });
        } else if age >= policy.warn_age_days {
            out.push(Flag {
                level: FlagLevel::Warning,
                code: "expiring",
                snapshot_id: Some(s.id.clone()),
                days_left: Some(RESTORE_LIMIT_DAYS - age),
                message: format!(
                    "snapshot {} is {age} days old: {} days left before the 180-day restore limit",
                    s.id,
                    RESTORE_LIMIT_DAYS - age
                ),
            });
        }
    }
    match newest_completed(all) {
        Some(n) if n.is_restorable(now) && n.age_days(now) >= policy.warn_age_days => {
            out.push(Flag {
                level: FlagLevel::Critical,
                code: "newest-completed-aging",
                snapshot_id: Some(n.id.clone()),
                days_left: Some(RESTORE_LIMIT_DAYS - n.age_days(now)),
                message: format!(
                "the newest Completed snapshot {} is {} days old; the directory's restore window \
                 closes in {} days",
                n.id,
                n.age_days(now),
                RESTORE_LIMIT_DAYS - n.age_days(now)
            ),
            })
        }
        _ => {}
    }
    if !all.iter().any(|s| s.is_restorable(now)) {
        out.push(Flag {
            level: FlagLevel::Critical,
            code: "no-restorable-snapshot",
            snapshot_id: None,
            days_left: None,
            message: "no Completed snapshot under 180 days old: this directory cannot be restored"
                .to_owned(),
        });
    }
    out
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
