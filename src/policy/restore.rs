//! Restoring a directory: which snapshot, whether it may be restored now, and what a restore
//! may delete. Pure decisions, like the rest of the policy; the executor
//! (`runner::restore`) only carries them out, and asks again from a fresh listing right
//! before it acts ([`compare`]).
//!
//! What a restore may delete: to make room for its safety snapshot, only the keeper's own
//! snapshots, least worth first, whatever `PRUNE_UNOWNED` says (that setting is for scheduled
//! pruning, not for paying for a restore); never the target, a safety snapshot, one still
//! Creating, the newest Completed snapshot or the keeper's own newest Completed one (the
//! guard). Nothing at all when no safety snapshot can be taken (a directory that is not
//! Active), or when the restore reuses the safety snapshot it already took.
//!
//! A restore overwrites the whole directory and cannot be undone, so every check here is a
//! refusal that changes nothing. AWS's rules, from the Directory Service admin guide ("Snapshot
//! or restore your directory") and botocore's `ds` model:
//!
//! * a snapshot restores only to the directory it was taken from, and only while it is under
//!   180 days old;
//! * "Do not restore a snapshot while a directory is in an Impaired state"; a directory in
//!   `RestoreFailed` may be restored again ("retry the restore operation");
//! * for a Multi-Region directory, only in its primary Region;
//! * AD Connector has no snapshots, and a shared directory is restored by its owner.

use jiff::Timestamp;
use serde::Serialize;

use super::restore_mark::{self, Mark, MarkState};
use super::rules::{cheapest_first, make_room};
use super::safety;
use super::{Deletion, Policy, Worth};
use crate::model::{
    Directory, DirectoryType, Snapshot, SnapshotLimits, SnapshotStatus, Stage, RESTORE_LIMIT_DAYS,
};

/// How long a restore takes, as the admin guide puts it.
pub const MANAGED_AD_OUTAGE: &str =
    "every domain controller and DNS server is offline for about 2 to 3 hours";
pub const SIMPLE_AD_OUTAGE: &str = "the directory is offline for a few minutes";

pub use super::safety::SAFETY_PREFIX;

/// Which snapshot the operator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// This snapshot id.
    Snapshot(String),
    /// The newest restorable snapshot taken before this instant, never a safety snapshot
    /// (after a restore, the state just rolled back from is not what "before" means).
    Before(Timestamp),
    /// The same, safety snapshots included (`--before … --include-safety`).
    BeforeAny(Timestamp),
}

/// Why a restore is refused. Each refusal changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "kebab-case")]
pub enum Refusal {
    #[error("directory {directory_id} is an {kind} directory, which has no snapshots to restore")]
    NoSnapshots { directory_id: String, kind: String },
    #[error(
        "directory {directory_id} is shared with this account: only its owner account can restore it"
    )]
    Shared { directory_id: String },
    #[error(
        "directory {directory_id} is in stage {stage}{}: a restore needs stage Active (or \
         RestoreFailed, to retry one). {}",
        reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
        stage_advice(stage)
    )]
    Stage {
        directory_id: String,
        stage: String,
        reason: Option<String>,
    },
    #[error(
        "directory {directory_id} is replicated here; its primary Region is {primary}, the only \
         Region where it can be restored: run the command with AWS_REGION={primary}"
    )]
    NotPrimary {
        directory_id: String,
        primary: String,
    },
    #[error("snapshot {snapshot_id} is not one of directory {directory_id}'s snapshots (see `ds-snapshot-keeper points --directory {directory_id}`)")]
    NoSuchSnapshot {
        snapshot_id: String,
        directory_id: String,
    },
    #[error("snapshot {snapshot_id} is {status}: only a Completed snapshot can be restored")]
    NotCompleted { snapshot_id: String, status: String },
    #[error(
        "snapshot {snapshot_id} is {age_days} days old: AWS restores a snapshot only while it is \
         under {RESTORE_LIMIT_DAYS} days old"
    )]
    TooOld { snapshot_id: String, age_days: i64 },
    #[error(
        "directory {directory_id} has no restorable snapshot (Completed, under \
         {RESTORE_LIMIT_DAYS} days old) taken before {before}"
    )]
    NothingBefore {
        directory_id: String,
        before: Timestamp,
    },
    #[error(
        "there is no free manual snapshot slot for the safety snapshot ({in_use} of {limit} in \
         use) and the keeper may delete none of them (the rest are Auto, not owned, Creating, \
         the newest Completed or the restore target). Delete a manual snapshot by hand, or pass \
         --no-safety-snapshot to restore without keeping the present state"
    )]
    NoRoomForSafety { in_use: u32, limit: u32 },
    #[error(
        "the restore mark of directory {directory_id} was removed or has expired while this \
         restore waited (someone ran `ds-snapshot-keeper mark --clear`, or its renewals \
         failed): RestoreFromSnapshot was not sent. Run the command again"
    )]
    MarkGone { directory_id: String },
    #[error("directory {directory_id} does not exist in this Region (check the id, --region and the account)")]
    NoSuchDirectory { directory_id: String },
    #[error(
        "another restore of directory {directory_id} is under way: to {target} since {since}, by {by}; its mark holds until {expires}. Wait for it to end (`ds-snapshot-keeper points --directory {directory_id}`); if it is dead, clear its mark with `ds-snapshot-keeper mark --directory {directory_id} --clear`"
    )]
    RestoreUnderWay {
        directory_id: String,
        target: String,
        since: Timestamp,
        by: String,
        expires: Timestamp,
    },
    #[error(
        "the restore changed since it was confirmed and now costs more: {what}. It was not \
         confirmed for that. Run the command again to see the new plan"
    )]
    CostsMore { what: String },
    #[error(
        "this restore of directory {directory_id} to {target} is already {}, by {by}. Follow it with `ds-snapshot-keeper points --directory \
         {directory_id}`; if that run is dead and nothing is restoring, clear its mark with \
         `ds-snapshot-keeper mark --directory {directory_id} --clear` (it expires by itself at \
         {expires})",
        sent_or_active(sent)
    )]
    SameRestoreActive {
        directory_id: String,
        target: String,
        by: String,
        sent: Option<Timestamp>,
        expires: Timestamp,
    },
}

fn sent_or_active(sent: &Option<Timestamp>) -> String {
    match sent {
        Some(t) => format!(
            "sent (RestoreFromSnapshot at {t}, and the directory's stage has not changed since)"
        ),
        None => "under way in another run".to_owned(),
    }
}

fn stage_advice(stage: &str) -> &'static str {
    match Stage::from_api(stage) {
        Stage::Impaired => {
            "AWS: do not restore a snapshot while a directory is Impaired; wait until it is \
             Active again, or contact AWS Support"
        }
        Stage::Restoring => {
            "A restore is already under way: follow it with `ds-snapshot-keeper points`"
        }
        Stage::Unknown(_) => "The keeper does not know this stage, and never treats it as Active",
        _ => "Wait until the directory is Active",
    }
}

impl Refusal {
    /// The code the report carries, as the serialised `code`.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NoSnapshots { .. } => "no-snapshots",
            Refusal::Shared { .. } => "shared",
            Refusal::Stage { .. } => "stage",
            Refusal::NotPrimary { .. } => "not-primary",
            Refusal::NoSuchSnapshot { .. } => "no-such-snapshot",
            Refusal::NotCompleted { .. } => "not-completed",
            Refusal::TooOld { .. } => "too-old",
            Refusal::NothingBefore { .. } => "nothing-before",
            Refusal::NoRoomForSafety { .. } => "no-room-for-safety",
            Refusal::NoSuchDirectory { .. } => "no-such-directory",
            Refusal::RestoreUnderWay { .. } => "restore-under-way",
            Refusal::CostsMore { .. } => "costs-more",
            Refusal::SameRestoreActive { .. } => "same-restore-active",
            Refusal::MarkGone { .. } => "mark-gone",
        }
    }
}

/// Whether the directory may be restored in `region` now: its type, its stage, its Region.
pub fn preflight(d: &Directory, region: &str) -> Result<(), Refusal> {
    match &d.kind {
        DirectoryType::MicrosoftAd | DirectoryType::SimpleAd => {}
        DirectoryType::SharedMicrosoftAd => {
            return Err(Refusal::Shared {
                directory_id: d.id.clone(),
            })
        }
        other => {
            return Err(Refusal::NoSnapshots {
                directory_id: d.id.clone(),
                kind: other.as_api().to_owned(),
            })
        }
    }
    if !matches!(d.stage, Stage::Active | Stage::RestoreFailed) {
        return Err(Refusal::Stage {
            directory_id: d.id.clone(),
            stage: d.stage.to_string(),
            reason: d.stage_reason.clone(),
        });
    }
    if let Some(primary) = d.primary_region.as_deref().filter(|p| *p != region) {
        return Err(Refusal::NotPrimary {
            directory_id: d.id.clone(),
            primary: primary.to_owned(),
        });
    }
    Ok(())
}

/// Why `s` cannot be restored to directory `directory_id` now, or `None` when it can.
pub fn unrestorable_because(s: &Snapshot, directory_id: &str, now: Timestamp) -> Option<Refusal> {
    if s.directory_id != directory_id {
        return Some(Refusal::NoSuchSnapshot {
            snapshot_id: s.id.clone(),
            directory_id: directory_id.to_owned(),
        });
    }
    if s.status != SnapshotStatus::Completed {
        return Some(Refusal::NotCompleted {
            snapshot_id: s.id.clone(),
            status: format!("{:?}", s.status),
        });
    }
    if s.age_days(now) >= RESTORE_LIMIT_DAYS {
        return Some(Refusal::TooOld {
            snapshot_id: s.id.clone(),
            age_days: s.age_days(now),
        });
    }
    None
}

/// The snapshot the operator asked for, checked: one of the directory's own, `Completed` and
/// under 180 days old. `Before(t)` takes the newest such snapshot started before `t`.
pub fn choose<'a>(
    all: &'a [Snapshot],
    directory_id: &str,
    target: &Target,
    now: Timestamp,
) -> Result<&'a Snapshot, Refusal> {
    match target {
        Target::Snapshot(id) => {
            let s = all
                .iter()
                .find(|s| &s.id == id)
                .ok_or(Refusal::NoSuchSnapshot {
                    snapshot_id: id.clone(),
                    directory_id: directory_id.to_owned(),
                })?;
            match unrestorable_because(s, directory_id, now) {
                Some(why) => Err(why),
                None => Ok(s),
            }
        }
        Target::Before(before) | Target::BeforeAny(before) => {
            let with_safety = matches!(target, Target::BeforeAny(_));
            all.iter()
                .filter(|s| s.start_time < *before)
                .filter(|s| with_safety || !safety::is_safety(s))
                .filter(|s| unrestorable_because(s, directory_id, now).is_none())
                .max_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)))
                .ok_or(Refusal::NothingBefore {
                    directory_id: directory_id.to_owned(),
                    before: *before,
                })
        }
    }
}

/// The safety snapshot of the present: what the restore does about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SafetyPlan {
    /// Take a new one, named `name`, after the deletions in `make_room` (the keeper's own
    /// least-worth snapshots; never the target).
    Take {
        name: String,
        make_room: Vec<Deletion>,
    },
    /// Reuse the one this restore (same directory, same target) already took: nothing is
    /// deleted and no slot more is used.
    Reuse {
        snapshot_id: String,
        status: SnapshotStatus,
    },
    /// AWS takes no snapshot of a directory that is not Active: none is taken, and nothing is
    /// deleted for one.
    Impossible { stage: String },
    /// `--no-safety-snapshot`.
    Declined,
}

impl SafetyPlan {
    /// The deletions it costs.
    pub fn make_room(&self) -> &[Deletion] {
        match self {
            SafetyPlan::Take { make_room, .. } => make_room,
            _ => &[],
        }
    }

    /// Whether the present state can be brought back after the restore.
    pub fn keeps_the_present(&self) -> bool {
        matches!(self, SafetyPlan::Take { .. } | SafetyPlan::Reuse { .. })
    }
}

/// What a restore will do, decided before anything changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestorePlan {
    pub directory_id: String,
    pub directory_name: String,
    /// The directory's stage as read for this plan.
    pub stage: String,
    pub target: Snapshot,
    /// Every change since the target's start is lost: this many days of them.
    pub lost_days: f64,
    pub outage: &'static str,
    pub safety: SafetyPlan,
}

/// What the operator asked of the safety snapshot, and who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask<'a> {
    pub target: &'a Target,
    /// `false` with `--no-safety-snapshot`.
    pub safety: bool,
    /// The id of the run asking ([`restore_mark::run_id`]): its own mark is its own.
    pub run: &'a str,
}

/// Plan a restore of `d` to the target: pre-flight, the target, another restore's mark, and
/// the safety snapshot. Refuses, changing nothing, when any check fails.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    d: &Directory,
    region: &str,
    all: &[Snapshot],
    limits: SnapshotLimits,
    policy: &Policy,
    mark: &MarkState,
    ask: Ask<'_>,
    now: Timestamp,
) -> Result<RestorePlan, Refusal> {
    preflight(d, region)?;
    let chosen = choose(all, &d.id, ask.target, now)?.clone();
    let ours = match mark {
        MarkState::Holds { mark, expires } if mark.target != chosen.id => {
            return Err(Refusal::RestoreUnderWay {
                directory_id: d.id.clone(),
                target: mark.target.clone(),
                since: mark.since,
                by: mark.by.clone(),
                expires: *expires,
            })
        }
        MarkState::Holds { mark, .. } if mark.run == ask.run => Some(mark),
        // This restore's mark, left by a run that is gone: adopted, with its safety snapshot.
        // One that was sent and whose restore has ended is spent: a new restore keeps a new
        // safety snapshot of the present (the old one is the state before the first restore).
        MarkState::Holds { mark, .. } if mark.sent.is_some() && restore_mark::ended(mark, d) => {
            None
        }
        MarkState::Holds { mark, expires } if mark.sent.is_some() || mark.live(now) => {
            return Err(Refusal::SameRestoreActive {
                directory_id: d.id.clone(),
                target: mark.target.clone(),
                by: mark.by.clone(),
                sent: mark.sent,
                expires: *expires,
            })
        }
        MarkState::Holds { mark, .. } => Some(mark),
        _ => None,
    };
    let safety = if !ask.safety {
        SafetyPlan::Declined
    } else if let Some(reuse) = reusable_safety(all, &chosen.id, ours) {
        SafetyPlan::Reuse {
            snapshot_id: reuse.id.clone(),
            status: reuse.status,
        }
    } else if d.stage != Stage::Active {
        SafetyPlan::Impossible {
            stage: d.stage.to_string(),
        }
    } else {
        safety_plan(all, limits, policy, &chosen.id, now)?
    };
    let lost_secs = (now.as_second() - chosen.start_time.as_second()).max(0);
    Ok(RestorePlan {
        directory_id: d.id.clone(),
        directory_name: d.name.clone(),
        stage: d.stage.to_string(),
        lost_days: (lost_secs as f64 / 86_400.0 * 10.0).round() / 10.0,
        outage: if d.kind == DirectoryType::SimpleAd {
            SIMPLE_AD_OUTAGE
        } else {
            MANAGED_AD_OUTAGE
        },
        target: chosen,
        safety,
    })
}

/// The safety snapshot a re-run of the same restore reuses: the one its mark names, while it
/// is Creating or Completed; without a mark, one named for this target that is still
/// Creating (a retry after the wait for it ran out).
fn reusable_safety<'a>(
    all: &'a [Snapshot],
    target_id: &str,
    mark: Option<&Mark>,
) -> Option<&'a Snapshot> {
    let usable = |s: &&Snapshot| s.status != SnapshotStatus::Failed && safety::is_safety(s);
    if let Some(id) = mark.and_then(|m| m.safety.as_deref()) {
        if let Some(s) = all.iter().filter(usable).find(|s| s.id == id) {
            return Some(s);
        }
    }
    // Named for this target: one still Creating, or, under this restore's mark (a run that
    // could not record it in the mark), one its name says was taken since the restore was
    // confirmed (both times are the restoring machine's clock).
    let since = mark.map(|m| m.since);
    let taken_at = |s: &Snapshot| {
        s.name
            .as_deref()
            .and_then(safety::parse_safety_name)
            .map(|n| n.taken_at)
    };
    all.iter()
        .filter(usable)
        .filter(|s| {
            s.status == SnapshotStatus::Creating
                || since.is_some_and(|t| taken_at(s).is_some_and(|at| at >= t))
        })
        .filter(|s| {
            s.name
                .as_deref()
                .and_then(safety::parse_safety_name)
                .and_then(|n| n.target)
                .is_some_and(|t| t == target_id)
        })
        .max_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)))
}

/// The safety snapshot's name and make-room: only the keeper's own snapshots, worth least
/// first (the guard and worth order every rule follows), never the target, whatever
/// `PRUNE_UNOWNED` says.
pub fn safety_plan(
    all: &[Snapshot],
    limits: SnapshotLimits,
    policy: &Policy,
    target_id: &str,
    now: Timestamp,
) -> Result<SafetyPlan, Refusal> {
    let own_only = Policy {
        prune_unowned: false,
        ..policy.clone()
    };
    let in_use = super::manual_in_use(all);
    let limit = limits.manual_limit;
    let need = (in_use + 1).saturating_sub(limit) as usize;
    let candidates = cheapest_first(all, &own_only, now, Some(target_id));
    if need > candidates.len() {
        return Err(Refusal::NoRoomForSafety { in_use, limit });
    }
    Ok(SafetyPlan::Take {
        name: safety::safety_name(now, target_id),
        make_room: make_room(&candidates, need, in_use, limit, &own_only),
    })
}

/// How a plan made again right before acting differs from the one the operator confirmed.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The same changes.
    Same,
    /// Fewer: go ahead with the new plan.
    CostsLess,
    /// More, or other: it needs a new confirmation (refused where none can be asked).
    CostsMore { what: String },
}

/// Compare the plan made from a fresh listing with the confirmed one.
pub fn compare(confirmed: &RestorePlan, fresh: &RestorePlan) -> Change {
    if fresh.target.id != confirmed.target.id {
        return Change::CostsMore {
            what: format!(
                "the target is now {} instead of {}",
                fresh.target.id, confirmed.target.id
            ),
        };
    }
    let was: Vec<&str> = confirmed
        .safety
        .make_room()
        .iter()
        .map(|d| d.snapshot_id.as_str())
        .collect();
    let extra: Vec<&str> = fresh
        .safety
        .make_room()
        .iter()
        .map(|d| d.snapshot_id.as_str())
        .filter(|id| !was.contains(id))
        .collect();
    if !extra.is_empty() {
        return Change::CostsMore {
            what: format!(
                "making room for the safety snapshot now deletes {}",
                extra.join(", ")
            ),
        };
    }
    if confirmed.safety.keeps_the_present() && !fresh.safety.keeps_the_present() {
        return Change::CostsMore {
            what: format!(
                "no safety snapshot can be taken any more (the directory is {})",
                fresh.stage
            ),
        };
    }
    if fresh.safety.make_room().len() < was.len()
        || (matches!(confirmed.safety, SafetyPlan::Take { .. })
            && matches!(fresh.safety, SafetyPlan::Reuse { .. }))
    {
        return Change::CostsLess;
    }
    Change::Same
}

#[cfg(test)]
mod tests;

/// Who holds a restore point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Holder {
    /// The keeper took it; `worth` is the role it holds (none when it holds none: Failed,
    /// Creating, past 180 days...).
    Keeper { worth: Option<Worth> },
    /// A restore's safety snapshot: the operator's undo, never the keeper's to delete.
    SafetySnapshot {
        /// "safety snapshot before the restore of s-… at …, held until …".
        label: String,
    },
    /// A manual snapshot someone else took.
    SomeoneElse,
    /// An `Auto` snapshot AWS took.
    Aws,
}

/// One of a directory's snapshots as a restore point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestorePoint {
    pub snapshot_id: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: crate::model::SnapshotType,
    pub status: SnapshotStatus,
    /// RFC 3339, whole seconds.
    pub start_time: String,
    /// Days since it started, one decimal.
    pub age_days: f64,
    /// The last instant AWS restores it: start + 180 days.
    pub restorable_until: String,
    /// Whole days left before then (0 when past).
    pub days_left: i64,
    pub holder: Holder,
    /// Whether it can be restored now; when not, why.
    pub restorable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_restorable_because: Option<String>,
    /// The newest restorable point taken before `--before`: the one `restore --before` picks.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub chosen_before: bool,
}

fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Every snapshot of the directory, Auto and Manual, whoever took it, newest first, as restore
/// points: when each stops being restorable, who holds it (with the role the keeper gives
/// it), whether it can be restored now and, with `before`, which one `restore --before` picks.
pub fn restore_points(
    all: &[Snapshot],
    directory_id: &str,
    policy: &Policy,
    now: Timestamp,
    before: Option<Timestamp>,
) -> Vec<RestorePoint> {
    let theirs: Vec<Snapshot> = all
        .iter()
        .filter(|s| s.directory_id == directory_id)
        .cloned()
        .collect();
    let ranked = super::by_worth(&theirs, policy, now);
    let chosen = before
        .and_then(|t| choose(&theirs, directory_id, &Target::Before(t), now).ok())
        .map(|s| s.id.clone());
    let mut mine: Vec<&Snapshot> = theirs.iter().collect();
    mine.sort_by(|a, b| (b.start_time, &b.id).cmp(&(a.start_time, &a.id)));
    mine.into_iter()
        .map(|s| {
            let until =
                Timestamp::from_second(s.start_time.as_second() + RESTORE_LIMIT_DAYS * 86_400)
                    .unwrap_or(s.start_time);
            let age_secs = (now.as_second() - s.start_time.as_second()).max(0);
            let why = unrestorable_because(s, directory_id, now).map(|r| r.to_string());
            let holder = if s.kind == crate::model::SnapshotType::Auto {
                Holder::Aws
            } else if safety::is_safety(s) {
                Holder::SafetySnapshot {
                    label: safety::describe(s),
                }
            } else if super::is_owned(s, policy) {
                Holder::Keeper {
                    worth: ranked.iter().find(|(r, _)| r.id == s.id).map(|(_, w)| *w),
                }
            } else {
                Holder::SomeoneElse
            };
            RestorePoint {
                snapshot_id: s.id.clone(),
                name: s.name.clone(),
                kind: s.kind,
                status: s.status,
                start_time: rfc3339(s.start_time),
                age_days: (age_secs as f64 / 86_400.0 * 10.0).round() / 10.0,
                restorable_until: rfc3339(until),
                days_left: ((until.as_second() - now.as_second()).max(0)) / 86_400,
                holder,
                restorable: why.is_none(),
                not_restorable_because: why,
                chosen_before: chosen.as_deref() == Some(s.id.as_str()),
            }
        })
        .collect()
}
