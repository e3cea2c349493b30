//! The retention policy: every decision the keeper makes, and nothing else.
//!
//! Everything here is a pure function of (inventory, quota, policy, intent, now): no I/O and
//! no clock, so it is tested exhaustively and gives the same plan for the same input. It
//! depends only on [`crate::model`]. Every deletion carries the [`Rule`] that chose it, and
//! every deletion passes [`deletable`] -- the one predicate that encodes what the keeper must
//! never delete:
//!
//! * an `Auto` snapshot;
//! * a snapshot it does not own (unless `PRUNE_UNOWNED` opts in, and never an Auto one);
//! * a restore's safety snapshot, whatever `PRUNE_UNOWNED` says;
//! * a snapshot that is still `Creating`;
//! * the newest `Completed` snapshot of the directory;
//! * the keeper's own newest `Completed` snapshot, until a newer one of its own completes.
//!
//! | file | decides |
//! |---|---|
//! | `ownership.rs` | which names the keeper wrote (every released format) |
//! | `guard.rs` | what may never be deleted |
//! | `eligibility.rs` | which directories are acted on, and a request's scope |
//! | `mod.rs` ([`plan`]) | whether to create, and what to delete first to make room |
//! | `gate.rs` | whether pruning may run after the create, and whether the headroom may be restored |
//! | `worth.rs` | what a restore point is worth under the retention mode: the order every deleting rule follows |
//! | `rules.rs` | what make-room, pruning and headroom delete, by which rule (the README's Rules table) |
//! | `restore.rs` | whether a directory may be restored from a snapshot, and what a restore may delete |
//! | `restore_mark.rs` | the mark of a restore under way, and what a run does while it holds |
//! | `safety.rs` | the safety snapshot: its name, and that nothing of the keeper's deletes it |
//! | `flags.rs` | what an operator is told about the restore window |
//! | `audit.rs` | the audit controls, compliant or not, with their evidence |
//! | `quota.rs` | the quota and restore reach a run leaves (the dashboard's figures) |

pub mod audit;
pub mod eligibility;
pub mod flags;
pub mod gate;
pub mod guard;
pub mod ownership;
pub mod quota;
pub mod restore;
pub mod restore_mark;
pub mod rules;
pub mod safety;
pub mod worth;

use jiff::Timestamp;
use serde::Serialize;

pub use eligibility::{skip, Skip, SkipReason};
pub use flags::{flags, newest_completed_age_days, Flag, FlagCode, FlagLevel};
pub use gate::{headroom_gate, prune_blocked, prune_gate, PruneBlock};
pub use guard::{
    deletable, distinct, is_owned, manual_in_use, may_touch, newest_completed,
    newest_owned_completed, Protection,
};
pub use quota::{quota_after, Quota};
pub use rules::{after_run, assume_completed, AfterRun};
pub use worth::{by_worth, worthless, Retention, Worth, Worthless};

use crate::model::{Action, KeeperCode, Snapshot, SnapshotLimits, SnapshotStatus};
use flags::age_secs;

/// Snapshots dated this far in the future still count as "just taken" (clock skew).
pub const CLOCK_SKEW_TOLERANCE_SECS: i64 = 300;

/// The most `MIN_INTERVAL_MINUTES` gives way to a schedule's jitter: a snapshot is "recent" only
/// when it is younger than the interval less a tenth of it, and never less than this much. A
/// schedule whose period equals the interval (hourly and 60 minutes) is then never skipped
/// because AWS dated the last snapshot a few seconds after the keeper's clock, or because
/// EventBridge fired a few seconds early.
pub const MIN_INTERVAL_MAX_SLACK_SECS: i64 = 300;

/// The settings the policy needs (built from `Settings` by the caller).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub retain: u32,
    pub reserved_slots: u32,
    pub warn_age_days: i64,
    pub prefix: String,
    pub min_interval_secs: i64,
    pub creating_timeout_secs: i64,
    pub prune_unowned: bool,
    pub retention: Retention,
}

impl Policy {
    /// Whether retain + the new snapshot + the reserved slots fit a quota of `manual_limit`:
    /// the one fit rule, checked at start against [`crate::model::MANUAL_SNAPSHOT_LIMIT`] (settings) and by
    /// every plan against the directory's real quota.
    pub fn fits(&self, manual_limit: u32) -> bool {
        self.retain + 1 + self.reserved_slots <= manual_limit
    }

    /// Why the settings do not fit a quota of `manual_limit`, with what to change; `None`
    /// when they fit.
    pub fn misfit(&self, manual_limit: u32) -> Option<String> {
        (!self.fits(manual_limit)).then(|| {
            format!(
                "RETAIN_COUNT={} + 1 new + RESERVED_SLOTS={} does not fit a quota of \
                 {manual_limit} manual snapshots. To fix it, {}",
                self.retain,
                self.reserved_slots,
                self.fit_advice(manual_limit)
            )
        })
    }

    /// Under `tiered`: the restore reach the settings promise, and what it becomes when others'
    /// manual snapshots take the tiers' room, in words (logged at start). `None` in `newest`.
    pub fn reach_statement(&self, manual_limit: u32) -> Option<String> {
        let needed = self.retention.slots_needed();
        let room = |theirs: u32| {
            manual_limit
                .saturating_sub(self.reserved_slots)
                .saturating_sub(theirs)
                .min(self.retain)
        };
        let (min, max) = self.retention.reach_with_room(room(0))?;
        let mut out = format!(
            "RETENTION=tiered TIERS={} keeps a restore point {min} to {max} days back with daily \
             runs (the newest and two per tier: {needed} of a directory's {manual_limit} manual \
             slots, beside the new snapshot and RESERVED_SLOTS={})",
            self.retention.tiers_setting(),
            self.reserved_slots
        );
        let mut shorter = Vec::new();
        for theirs in 1..=manual_limit {
            if room(theirs) >= needed {
                continue;
            }
            if let Some((lo, hi)) = self.retention.reach_with_room(room(theirs)) {
                shorter.push(format!("{theirs}: {lo} to {hi} days"));
            }
            if room(theirs) <= 1 {
                break;
            }
        }
        if !shorter.is_empty() {
            out.push_str(&format!(
                "; a directory where others' manual snapshots take slots gets less (manual \
                 snapshots of someone else's: reach) {}, flagged tiers-short-of-room",
                shorter.join(", ")
            ));
        }
        Some(out)
    }

    /// Below this age a snapshot holds the create back (see [`MIN_INTERVAL_MAX_SLACK_SECS`]).
    pub fn recent_below_secs(&self) -> i64 {
        self.min_interval_secs - (self.min_interval_secs / 10).min(MIN_INTERVAL_MAX_SLACK_SECS)
    }

    /// What an operator can change so that the settings fit a quota of `limit`, in words.
    /// The keeper needs room for one restore point and the new snapshot at the very least.
    fn fit_advice(&self, limit: u32) -> String {
        if limit < 2 {
            return format!(
                "a quota of {limit} has no room for one restore point and a new snapshot beside \
                 it, so the keeper cannot manage this directory: leave it out \
                 (EXCLUDED_DIRECTORY_IDS, or the discovery tag value `excluded`)"
            );
        }
        let room = limit - 1;
        let mut ways = Vec::new();
        if room > self.reserved_slots {
            ways.push(format!(
                "set RETAIN_COUNT to {} or less (keeping RESERVED_SLOTS={})",
                room - self.reserved_slots,
                self.reserved_slots
            ));
        }
        if room >= self.retain {
            let most = room - self.retain;
            ways.push(format!(
                "set RESERVED_SLOTS{} (keeping RETAIN_COUNT={})",
                if most == 0 {
                    "=0".to_owned()
                } else {
                    format!(" to {most} or less")
                },
                self.retain
            ));
        }
        if ways.is_empty() {
            ways.push(format!(
                "set RETAIN_COUNT=1 and RESERVED_SLOTS={}",
                room - 1
            ));
        }
        ways.join(", or ")
    }
}

/// Whether a run changes nothing: asked for by the request (`dry_run`) or the settings
/// (`DRY_RUN`), or a `report`, which never changes anything.
pub fn dry_run(action: Action, requested: bool, configured: bool) -> bool {
    requested || configured || !action.changes_anything()
}

/// What one run asks of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub action: Action,
    /// Take a snapshot even if one was taken within the minimum interval.
    pub force: bool,
    /// The request's tag ([`ownership::request_tag`]): one request takes at most one snapshot.
    pub request_tag: String,
    pub now: Timestamp,
}

impl Intent {
    pub fn new(action: Action, request_id: &str, now: Timestamp) -> Self {
        Self {
            action,
            force: false,
            request_tag: ownership::request_tag(request_id),
            now,
        }
    }
}

/// Why a snapshot was chosen for deletion. Ordered as make-room takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Before a create, the quota needed a slot: an owned Failed snapshot went first.
    MakeRoomFailed,
    /// Before a create, the quota needed a slot: an owned snapshot past 180 days went next.
    MakeRoomUnrestorable,
    /// Before a create, the quota needed a slot: under `tiered`, an owned snapshot past
    /// `WARN_AGE_DAYS` (it holds no tier) went next.
    MakeRoomPastWarnAge,
    /// Before a create, the quota needed a slot: the owned Completed snapshot worth least went
    /// (the oldest in `newest` mode; under `tiered`, the one holding the least valuable role).
    /// The wire name is kept from the releases where it was always the oldest.
    MakeRoomOldest,
    /// An owned snapshot that Failed restores nothing.
    Failed,
    /// An owned snapshot past the 180-day restore limit restores nothing.
    Unrestorable,
    /// Under `tiered`, an owned snapshot past `WARN_AGE_DAYS` holds no tier.
    PastWarnAge,
    /// The snapshot this run took ended Failed.
    NewFailed,
    /// Owned Completed snapshots beyond the retain count, least worth first.
    BeyondRetain,
    /// Keeping RESERVED_SLOTS free, paid for by a newer Completed restore point.
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
    pub code: KeeperCode,
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
    /// Deletions to do now, before the create: only what the create itself needs.
    pub deletions: Vec<Deletion>,
    pub problems: Vec<Problem>,
}

/// Failures left behind by earlier runs: owned snapshots that Failed, or are stuck Creating.
pub fn leftover_problems(all: &[Snapshot], policy: &Policy, now: Timestamp) -> Vec<Problem> {
    let mut problems = Vec::new();
    for s in all.iter().filter(|s| is_owned(s, policy)) {
        match s.status {
            SnapshotStatus::Failed => problems.push(Problem {
                code: KeeperCode::SnapshotFailed,
                message: format!("snapshot {} ended Failed", s.id),
                snapshot_id: Some(s.id.clone()),
            }),
            SnapshotStatus::Creating if age_secs(s, now) > policy.creating_timeout_secs => problems
                .push(Problem {
                    code: KeeperCode::SnapshotStuckCreating,
                    message: format!(
                        "snapshot {} has been Creating for {} minutes (limit {} minutes); the \
                         keeper takes no new snapshot and deletes nothing to make room until it \
                         settles. Open a case with AWS Support if it does not",
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

/// Why no snapshot is taken now, when the action would take one; `None` lets the create go on.
fn hold_create(all: &[Snapshot], policy: &Policy, intent: &Intent) -> Option<String> {
    let now = intent.now;
    let mine = all.iter().filter(|s| is_owned(s, policy));
    // One request takes at most one snapshot, whatever MIN_INTERVAL_MINUTES and force say.
    let tagged = mine.clone().find(|s| {
        s.status != SnapshotStatus::Failed
            && s.name
                .as_deref()
                .and_then(|n| ownership::parse_name(&policy.prefix, n))
                .and_then(|n| n.tag)
                .is_some_and(|t| t == intent.request_tag)
    });
    if let Some(s) = tagged {
        return Some(format!(
            "this request (tag r{}) already took snapshot {} ({:?}); a retried invocation takes \
             no second snapshot",
            intent.request_tag, s.id, s.status
        ));
    }
    // While an owned snapshot is Creating, neither make room nor create: otherwise stuck
    // snapshots fill the quota one Completed snapshot at a time.
    if let Some(s) = mine.clone().find(|s| s.status == SnapshotStatus::Creating) {
        return Some(format!(
            "owned snapshot {} is still Creating (started {} minutes ago); no snapshot is taken \
             and nothing is deleted to make room until it settles",
            s.id,
            age_secs(s, now).max(0) / 60
        ));
    }
    if intent.force {
        return None;
    }
    let recent = all
        .iter()
        .filter(|s| may_touch(s, policy) && s.status != SnapshotStatus::Failed)
        .filter(|s| {
            let age = age_secs(s, now);
            age >= -CLOCK_SKEW_TOLERANCE_SECS && age < policy.recent_below_secs()
        })
        .max_by_key(|s| s.start_time)?;
    Some(format!(
        "owned snapshot {} started {} minutes ago, within the minimum interval of {} minutes",
        recent.id,
        age_secs(recent, now).max(0) / 60,
        policy.min_interval_secs / 60
    ))
}

/// Plan one directory's run: whether to create, and what to delete first so that it fits.
///
/// Only `limits.manual_limit` is taken from `GetSnapshotLimits`; the number in use is the
/// listing's ([`manual_in_use`]), so no deletion rests on a count the listing does not show.
pub fn plan(all: &[Snapshot], limits: SnapshotLimits, policy: &Policy, intent: &Intent) -> Plan {
    let mut plan = Plan {
        problems: leftover_problems(all, policy, intent.now),
        ..Plan::default()
    };
    let limit = limits.manual_limit;
    if let Some(why) = policy
        .misfit(limit)
        .filter(|_| intent.action.changes_anything())
    {
        plan.problems.push(Problem {
            code: KeeperCode::SettingsExceedQuota,
            message: format!("{why}; nothing was changed in this directory"),
            snapshot_id: None,
        });
        return plan;
    }
    if !intent.action.creates() {
        return plan;
    }
    if let Some(why) = hold_create(all, policy, intent) {
        plan.create_skipped = Some(why);
        return plan;
    }

    let in_use = manual_in_use(all);
    let need_now = (in_use + 1).saturating_sub(limit) as usize;
    let need_with_headroom = (in_use + 1 + policy.reserved_slots).saturating_sub(limit) as usize;
    let candidates = rules::cheapest_first(all, policy, intent.now, None);
    // Once the new snapshot completes, the current newest Completed loses its protection --
    // unless it is dated at or after now (clock skew): then it stays the newest, and a slot
    // borrowed on the promise of deleting it would never come back.
    // The same holds for the keeper's own newest Completed snapshot.
    let newest = newest_completed(all).filter(|n| may_touch(n, policy));
    let newest_owned = newest_owned_completed(all, policy);
    let freed_later = [newest, newest_owned]
        .into_iter()
        .flatten()
        .filter(|n| n.start_time < intent.now)
        .map(|n| n.id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();

    if need_now > candidates.len() {
        plan.problems.push(Problem {
            code: KeeperCode::QuotaFull,
            message: format!(
                "{in_use} of {limit} manual snapshots are in use and only {} may be deleted by \
                 the keeper (the rest are Auto, not owned, Creating or the newest Completed); \
                 no snapshot was taken. Delete manual snapshots by hand or set PRUNE_UNOWNED=true",
                candidates.len()
            ),
            snapshot_id: None,
        });
        return plan;
    }
    if need_with_headroom > candidates.len() + freed_later {
        plan.problems.push(Problem {
            code: KeeperCode::QuotaReservedSlotsBlocked,
            message: format!(
                "taking a snapshot would leave fewer than RESERVED_SLOTS={} free slots ({in_use} \
                 of {limit} in use, {} deletable by the keeper); no snapshot was taken so that \
                 schema extensions and updates keep their slot. Delete manual snapshots by hand, \
                 lower RESERVED_SLOTS, or set PRUNE_UNOWNED=true",
                policy.reserved_slots,
                candidates.len()
            ),
            snapshot_id: None,
        });
        return plan;
    }
    plan.deletions = rules::make_room(&candidates, need_now, in_use, limit, policy);
    plan.create = Some(ownership::snapshot_name(
        &policy.prefix,
        intent.now,
        &intent.request_tag,
    ));
    plan
}

#[cfg(test)]
mod tests;
