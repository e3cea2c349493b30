//! What an operator should hear about a directory after a run: snapshots nearing or past the
//! 180-day restore limit, a directory with no restorable snapshot, headroom in use, clocks
//! that disagree, and a quota count that the listing does not support.

use jiff::Timestamp;
use serde::Serialize;

use super::guard::{manual_in_use, may_touch, newest_completed};
use super::{Policy, CLOCK_SKEW_TOLERANCE_SECS};
use crate::model::{Snapshot, SnapshotLimits, SnapshotStatus, SnapshotType, RESTORE_LIMIT_DAYS};

/// How serious a flag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagLevel {
    Warning,
    Critical,
}

/// What a flag is about. Each code knows its level, and serialises to the name the report,
/// the e-mail and the README use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlagCode {
    /// GetSnapshotLimits' count and the listing disagree.
    QuotaCountDisagrees,
    /// Fewer than RESERVED_SLOTS slots are free.
    ReservedSlotsInUse,
    /// Under `tiered`, others' snapshots leave too little room for the tiers.
    TiersShortOfRoom,
    /// Under `newest`, others' snapshots leave room for fewer than `RETAIN_COUNT` points.
    RetainShortOfRoom,
    /// A snapshot dated in the future (clock skew).
    FutureDated,
    /// A Completed snapshot past the 180-day restore limit.
    Unrestorable,
    /// A Completed snapshot at or past WARN_AGE_DAYS.
    Expiring,
    /// The newest Completed snapshot is at or past WARN_AGE_DAYS.
    NewestCompletedAging,
    /// Nothing restorable.
    NoRestorableSnapshot,
    /// A restore's safety snapshot has held a manual slot past `SAFETY_HOLD_DAYS`.
    SafetySnapshotHeld,
}

impl FlagCode {
    pub fn level(self) -> FlagLevel {
        match self {
            FlagCode::NewestCompletedAging | FlagCode::NoRestorableSnapshot => FlagLevel::Critical,
            _ => FlagLevel::Warning,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FlagCode::QuotaCountDisagrees => "quota-count-disagrees",
            FlagCode::ReservedSlotsInUse => "reserved-slots-in-use",
            FlagCode::TiersShortOfRoom => "tiers-short-of-room",
            FlagCode::RetainShortOfRoom => "retain-short-of-room",
            FlagCode::FutureDated => "future-dated",
            FlagCode::Unrestorable => "unrestorable",
            FlagCode::Expiring => "expiring",
            FlagCode::NewestCompletedAging => "newest-completed-aging",
            FlagCode::NoRestorableSnapshot => "no-restorable-snapshot",
            FlagCode::SafetySnapshotHeld => "safety-snapshot-held",
        }
    }
}

impl std::fmt::Display for FlagCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests compare with the wire name.
impl PartialEq<&str> for FlagCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Something an operator should know about a directory's restore window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    /// The code's level ([`FlagCode::level`]), serialised beside it for readers of the report.
    pub level: FlagLevel,
    pub code: FlagCode,
    pub snapshot_id: Option<String>,
    /// Days left before the snapshot passes the 180-day restore limit (0 when past it).
    pub days_left: Option<i64>,
    pub message: String,
}

/// Seconds since the snapshot started (negative when dated in the future).
pub fn age_secs(s: &Snapshot, now: Timestamp) -> i64 {
    now.as_second() - s.start_time.as_second()
}

/// Age in days (two decimals) of the newest Completed snapshot: the freshness metric.
pub fn newest_completed_age_days(all: &[Snapshot], now: Timestamp) -> Option<f64> {
    newest_completed(all).map(|s| {
        let secs = age_secs(s, now).max(0) as f64;
        (secs / 86_400.0 * 100.0).round() / 100.0
    })
}

fn flag(
    code: FlagCode,
    snapshot: Option<&Snapshot>,
    days_left: Option<i64>,
    message: String,
) -> Flag {
    Flag {
        level: code.level(),
        code,
        snapshot_id: snapshot.map(|s| s.id.clone()),
        days_left,
        message,
    }
}

/// Flags on the inventory (and quota) as they stand after the run. `limits` is what
/// `GetSnapshotLimits` said when the run began, `listed_at_start` the Manual snapshots the
/// listing showed then.
pub fn flags(
    all: &[Snapshot],
    limits: Option<SnapshotLimits>,
    listed_at_start: Option<u32>,
    policy: &Policy,
    now: Timestamp,
) -> Vec<Flag> {
    let mut out = Vec::new();
    for s in all.iter().filter(|s| super::safety::is_safety(s)) {
        if now > super::safety::held_until(s) {
            out.push(flag(
                FlagCode::SafetySnapshotHeld,
                Some(s),
                None,
                format!(
                    "{} ({}) has held a manual slot for more than {} days; the keeper never \
                     deletes it: delete it by hand once the restore is known good",
                    s.id,
                    super::safety::describe(s),
                    super::safety::SAFETY_HOLD_DAYS
                ),
            ));
        }
    }
    if let (Some(l), Some(listed)) = (limits, listed_at_start) {
        if l.manual_count != listed {
            out.push(flag(
                FlagCode::QuotaCountDisagrees,
                None,
                None,
                format!(
                    "GetSnapshotLimits counted {} manual snapshots but DescribeSnapshots listed \
                     {listed}; the keeper planned from the listing and deleted nothing on the \
                     strength of the count",
                    l.manual_count
                ),
            ));
        }
    }
    if let Some(l) = limits {
        let in_use = manual_in_use(all);
        let free = l.manual_limit.saturating_sub(in_use);
        if free < policy.reserved_slots {
            out.push(flag(
                FlagCode::ReservedSlotsInUse,
                None,
                None,
                format!(
                    "only {free} of RESERVED_SLOTS={} manual snapshot slots are free ({in_use} of \
                     {} in use): a schema extension or directory update may fail",
                    policy.reserved_slots, l.manual_limit
                ),
            ));
        }
    }
    if let Some(flag) = limits.and_then(|l| tiers_short_of_room(all, l, policy)) {
        out.push(flag);
    }
    if let Some(flag) = limits.and_then(|l| retain_short_of_room(all, l, policy)) {
        out.push(flag);
    }
    let mut sorted: Vec<&Snapshot> = all.iter().collect();
    sorted.sort_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)));
    for s in sorted {
        if age_secs(s, now) < -CLOCK_SKEW_TOLERANCE_SECS {
            out.push(flag(
                FlagCode::FutureDated,
                Some(s),
                None,
                format!(
                    "snapshot {} is dated {} in the future; check the clocks",
                    s.id, s.start_time
                ),
            ));
        }
        if s.status != SnapshotStatus::Completed {
            continue;
        }
        let age = s.age_days(now);
        if age >= RESTORE_LIMIT_DAYS {
            out.push(flag(
                FlagCode::Unrestorable,
                Some(s),
                Some(0),
                format!(
                    "snapshot {} is {age} days old and can no longer be restored",
                    s.id
                ),
            ));
        } else if age >= policy.warn_age_days {
            out.push(flag(
                FlagCode::Expiring,
                Some(s),
                Some(RESTORE_LIMIT_DAYS - age),
                format!(
                    "snapshot {} is {age} days old: {} days left before the 180-day restore limit",
                    s.id,
                    RESTORE_LIMIT_DAYS - age
                ),
            ));
        }
    }
    if let Some(n) = newest_completed(all)
        .filter(|n| n.is_restorable(now) && n.age_days(now) >= policy.warn_age_days)
    {
        let left = RESTORE_LIMIT_DAYS - n.age_days(now);
        out.push(flag(
            FlagCode::NewestCompletedAging,
            Some(n),
            Some(left),
            format!(
                "the newest Completed snapshot {} is {} days old; the directory's restore window \
                 closes in {left} days",
                n.id,
                n.age_days(now)
            ),
        ));
    }
    if !all.iter().any(|s| s.is_restorable(now)) {
        out.push(flag(
            FlagCode::NoRestorableSnapshot,
            None,
            None,
            "no Completed snapshot under 180 days old: this directory cannot be restored"
                .to_owned(),
        ));
    }
    out
}

/// Manual snapshots the keeper may not delete: someone else's, and restores' safety snapshots.
fn manual_not_mine(all: &[Snapshot], policy: &Policy) -> u32 {
    all.iter()
        .filter(|s| s.kind == SnapshotType::Manual && !may_touch(s, policy))
        .count() as u32
}

/// Under `newest`: others' manual snapshots (and AWS's reserved headroom) leave room for fewer
/// of the keeper's restore points than `RETAIN_COUNT`, so each new snapshot costs the oldest
/// point sooner than the setting says.
fn retain_short_of_room(all: &[Snapshot], limits: SnapshotLimits, policy: &Policy) -> Option<Flag> {
    if !matches!(policy.retention, super::Retention::Newest) {
        return None;
    }
    let theirs = manual_not_mine(all, policy);
    let room = limits
        .manual_limit
        .saturating_sub(policy.reserved_slots)
        .saturating_sub(theirs);
    if theirs == 0 || room >= policy.retain {
        return None;
    }
    Some(flag(
        FlagCode::RetainShortOfRoom,
        None,
        None,
        format!(
            "{theirs} manual snapshot{} the keeper may not delete (someone else's, or a restore's \
             safety snapshot) take{} slots: with RESERVED_SLOTS={} the keeper has room for {room} \
             restore point{}, fewer than RETAIN_COUNT={}, so each snapshot it takes gives up its \
             oldest point sooner. Delete manual snapshots that are no longer needed, or let the \
             keeper own them (PRUNE_UNOWNED=true)",
            if theirs == 1 { "" } else { "s" },
            if theirs == 1 { "s" } else { "" },
            policy.reserved_slots,
            if room == 1 { "" } else { "s" },
            policy.retain
        ),
    ))
}

/// Under `tiered`: others' manual snapshots leave too little room for the tiers' promise.
/// Says what reach the directory gets instead ([`super::Retention::reach_with_room`]).
fn tiers_short_of_room(all: &[Snapshot], limits: SnapshotLimits, policy: &Policy) -> Option<Flag> {
    let needed = policy.retention.slots_needed();
    let theirs = manual_not_mine(all, policy);
    let room = limits
        .manual_limit
        .saturating_sub(policy.reserved_slots)
        .saturating_sub(theirs)
        .min(policy.retain);
    let (min, max) = policy.retention.reach_with_room(room)?;
    let (promised_min, promised_max) = policy.retention.reach_with_room(needed)?;
    if room >= needed || (min, max) == (promised_min, promised_max) {
        return None;
    }
    Some(flag(
        FlagCode::TiersShortOfRoom,
        None,
        None,
        format!(
            "{} the keeper does not own {} this directory's slots: \
             with RESERVED_SLOTS={} there is room for {room} of the keeper's restore points, and \
             TIERS={} needs {needed}. With daily runs the oldest restore point is {min} to {max} \
             days old instead of {promised_min} to {promised_max}. Delete manual snapshots that \
             are no longer needed, or let the keeper own them (PRUNE_UNOWNED=true)",
            if theirs == 1 {
                "1 manual snapshot".to_owned()
            } else {
                format!("{theirs} manual snapshots")
            },
            if theirs == 1 { "takes" } else { "take" },
            policy.reserved_slots,
            policy.retention.tiers_setting(),
        ),
    ))
}
