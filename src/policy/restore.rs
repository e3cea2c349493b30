//! Restoring a directory: which snapshot, whether it may be restored now, and what the safety
//! snapshot of the present costs. Pure decisions, like the rest of the policy; the command
//! line (`cli::restore`) only carries them out.
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

use super::rules::{cheapest_first, make_room};
use super::{Deletion, Policy, Worth};
use crate::model::{
    Directory, DirectoryType, Snapshot, SnapshotLimits, SnapshotStatus, Stage, RESTORE_LIMIT_DAYS,
};

/// How long a restore takes, as the admin guide puts it.
pub const MANAGED_AD_OUTAGE: &str =
    "every domain controller and DNS server is offline for about 2 to 3 hours";
pub const SIMPLE_AD_OUTAGE: &str = "the directory is offline for a few minutes";

/// The prefix of the safety snapshot's name. It is not a name the keeper owns, on purpose:
/// no later run ever deletes it, so the operator has all the time they need to decide whether
/// the restore was the mistake. They delete it by hand once it is no longer needed.
pub const SAFETY_PREFIX: &str = "pre-restore-";

/// Which snapshot the operator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// This snapshot id.
    Snapshot(String),
    /// The newest restorable snapshot taken before this instant.
    Before(Timestamp),
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
        Target::Before(before) => all
            .iter()
            .filter(|s| s.start_time < *before)
            .filter(|s| unrestorable_because(s, directory_id, now).is_none())
            .max_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)))
            .ok_or(Refusal::NothingBefore {
                directory_id: directory_id.to_owned(),
                before: *before,
            }),
    }
}

/// The safety snapshot of the present, and what must go to make room for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Safety {
    pub name: String,
    /// Deletions before it (the keeper's own least-worth snapshots; never the target).
    pub make_room: Vec<Deletion>,
}

/// What a restore will do, decided before anything changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestorePlan {
    pub directory_id: String,
    pub directory_name: String,
    pub target: Snapshot,
    /// Every change since the target's start is lost: this many days of them.
    pub lost_days: f64,
    pub outage: &'static str,
    /// `None` with `--no-safety-snapshot`.
    pub safety: Option<Safety>,
}

/// Plan a restore of `d` to `target`: pre-flight, the target, and the safety snapshot (with
/// `safety`). Refuses, changing nothing, when any check fails.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    d: &Directory,
    region: &str,
    all: &[Snapshot],
    limits: SnapshotLimits,
    policy: &Policy,
    target: &Target,
    safety: bool,
    now: Timestamp,
) -> Result<RestorePlan, Refusal> {
    preflight(d, region)?;
    let chosen = choose(all, &d.id, target, now)?.clone();
    let safety = if safety {
        Some(safety_plan(all, limits, policy, &chosen.id, now)?)
    } else {
        None
    };
    let lost_secs = (now.as_second() - chosen.start_time.as_second()).max(0);
    Ok(RestorePlan {
        directory_id: d.id.clone(),
        directory_name: d.name.clone(),
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

/// The safety snapshot's name and make-room: the keeper's own snapshots worth least go first
/// (the guard and worth order every rule follows), and the target is never one of them.
pub fn safety_plan(
    all: &[Snapshot],
    limits: SnapshotLimits,
    policy: &Policy,
    target_id: &str,
    now: Timestamp,
) -> Result<Safety, Refusal> {
    let in_use = super::manual_in_use(all);
    let limit = limits.manual_limit;
    let need = (in_use + 1).saturating_sub(limit) as usize;
    let candidates = cheapest_first(all, policy, now, Some(target_id));
    if need > candidates.len() {
        return Err(Refusal::NoRoomForSafety { in_use, limit });
    }
    Ok(Safety {
        name: format!("{SAFETY_PREFIX}{}", now.strftime("%Y%m%dT%H%M%SZ")),
        make_room: make_room(&candidates, need, in_use, limit, policy),
    })
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
