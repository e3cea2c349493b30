//! The keeper's own picture of Directory Service: directories, snapshots and quotas.
//!
//! These are plain values with no SDK types in them, so the retention policy and its tests
//! never depend on the AWS SDK. The adapters (`directory/aws.rs`, `notify/sns.rs`) translate to and from the wire.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The documented restore window: a snapshot can be restored only while it is under 180 days old.
pub const RESTORE_LIMIT_DAYS: i64 = 180;

/// A directory's manual snapshot quota, as AWS documents it (it cannot be raised). The plan
/// reads each directory's real quota (`GetSnapshotLimits`); settings are checked against this
/// one at start, and the in-memory service enforces it.
pub const MANUAL_SNAPSHOT_LIMIT: u32 = 5;

/// Who took a snapshot: AWS on its own schedule, or someone (maybe us) by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SnapshotType {
    Auto,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SnapshotStatus {
    Creating,
    Completed,
    Failed,
}

/// One snapshot as Directory Service describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: String,
    pub directory_id: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: SnapshotType,
    pub status: SnapshotStatus,
    pub start_time: Timestamp,
}

impl Snapshot {
    /// Whole days since the snapshot started; negative when it is dated in the future.
    pub fn age_days(&self, now: Timestamp) -> i64 {
        (now.as_second() - self.start_time.as_second()).div_euclid(86_400)
    }

    /// Restorable: Completed and under 180 days old.
    pub fn is_restorable(&self, now: Timestamp) -> bool {
        self.status == SnapshotStatus::Completed && self.age_days(now) < RESTORE_LIMIT_DAYS
    }
}

/// The kinds of directory Directory Service reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DirectoryType {
    MicrosoftAd,
    SimpleAd,
    AdConnector,
    SharedMicrosoftAd,
    Other(String),
}

impl DirectoryType {
    pub fn from_api(raw: &str) -> Self {
        match raw {
            "MicrosoftAD" => Self::MicrosoftAd,
            "SimpleAD" => Self::SimpleAd,
            "ADConnector" => Self::AdConnector,
            "SharedMicrosoftAD" => Self::SharedMicrosoftAd,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_api(&self) -> &str {
        match self {
            Self::MicrosoftAd => "MicrosoftAD",
            Self::SimpleAd => "SimpleAD",
            Self::AdConnector => "ADConnector",
            Self::SharedMicrosoftAd => "SharedMicrosoftAD",
            Self::Other(raw) => raw,
        }
    }
}

/// One directory as Directory Service describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: DirectoryType,
    pub stage: Stage,
    /// The primary Region of a multi-Region directory; `None` for single-Region directories.
    pub primary_region: Option<String>,
    /// When the directory was created (`LaunchTime`), if the API said.
    pub launch_time: Option<Timestamp>,
    /// Why the directory is in its stage (`StageReason`), if the API said.
    #[serde(default)]
    pub stage_reason: Option<String>,
    /// When the stage last changed (`StageLastUpdatedDateTime`), if the API said.
    #[serde(default)]
    pub stage_since: Option<Timestamp>,
}

/// A directory's stage, as `DescribeDirectories` names it. Stages are an open set (`Updating`
/// arrived in 2024): one the keeper does not know is `Unknown` with its name, and is never
/// treated as `Active`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    Requested,
    Creating,
    Created,
    Active,
    Inoperable,
    Impaired,
    Restoring,
    RestoreFailed,
    Deleting,
    Deleted,
    Failed,
    Updating,
    Unknown(String),
}

impl Stage {
    pub fn from_api(raw: &str) -> Self {
        match raw {
            "Requested" => Self::Requested,
            "Creating" => Self::Creating,
            "Created" => Self::Created,
            "Active" => Self::Active,
            "Inoperable" => Self::Inoperable,
            "Impaired" => Self::Impaired,
            "Restoring" => Self::Restoring,
            "RestoreFailed" => Self::RestoreFailed,
            "Deleting" => Self::Deleting,
            "Deleted" => Self::Deleted,
            "Failed" => Self::Failed,
            "Updating" => Self::Updating,
            other => Self::Unknown(other.to_owned()),
        }
    }

    pub fn as_api(&self) -> &str {
        match self {
            Self::Requested => "Requested",
            Self::Creating => "Creating",
            Self::Created => "Created",
            Self::Active => "Active",
            Self::Inoperable => "Inoperable",
            Self::Impaired => "Impaired",
            Self::Restoring => "Restoring",
            Self::RestoreFailed => "RestoreFailed",
            Self::Deleting => "Deleting",
            Self::Deleted => "Deleted",
            Self::Failed => "Failed",
            Self::Updating => "Updating",
            Self::Unknown(raw) => raw,
        }
    }
}

impl Serialize for Stage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_api())
    }
}

impl<'de> Deserialize<'de> for Stage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Stage::from_api(&String::deserialize(d)?))
    }
}

/// Lets tests compare with the name AWS uses.
impl PartialEq<&str> for Stage {
    fn eq(&self, other: &&str) -> bool {
        self.as_api() == *other
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_api())
    }
}

/// The manual snapshot quota of one directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotLimits {
    pub manual_limit: u32,
    pub manual_count: u32,
}

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Snapshot (unless one is recent), make room, prune beyond retention, flag.
    Run,
    /// Snapshot (making room if the quota needs it), remove owned Failed snapshots, restore the
    /// headroom once the snapshot completed, flag; prune nothing beyond retention.
    Snapshot,
    /// Remove owned Failed snapshots, prune beyond retention and flag; take no snapshot and
    /// restore no headroom.
    Prune,
    /// Observe and flag only; change nothing.
    Report,
}

impl Action {
    pub fn creates(self) -> bool {
        matches!(self, Action::Run | Action::Snapshot)
    }
    pub fn prunes(self) -> bool {
        matches!(self, Action::Run | Action::Prune)
    }
    pub fn changes_anything(self) -> bool {
        self != Action::Report
    }
}

/// Every step of a run that can fail, as the report and the logs name it. API operations keep
/// their AWS names, because operators search for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operation {
    DescribeDirectories,
    DescribeSnapshots,
    ListTagsForResource,
    AddTagsToResource,
    RemoveTagsFromResource,
    GetSnapshotLimits,
    CreateSnapshot,
    DeleteSnapshot,
    RestoreFromSnapshot,
    Publish,
    /// The policy found a problem before any API write (quota full, settings too large...).
    Plan,
    /// The request asked for something outside the keeper's configured scope.
    Scope,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::DescribeDirectories => "DescribeDirectories",
            Operation::DescribeSnapshots => "DescribeSnapshots",
            Operation::ListTagsForResource => "ListTagsForResource",
            Operation::AddTagsToResource => "AddTagsToResource",
            Operation::RemoveTagsFromResource => "RemoveTagsFromResource",
            Operation::GetSnapshotLimits => "GetSnapshotLimits",
            Operation::CreateSnapshot => "CreateSnapshot",
            Operation::DeleteSnapshot => "DeleteSnapshot",
            Operation::RestoreFromSnapshot => "RestoreFromSnapshot",
            Operation::Publish => "Publish",
            Operation::Plan => "Plan",
            Operation::Scope => "Scope",
        }
    }

    /// Whether a failure of this step is an API call that failed (as opposed to a decision).
    pub fn is_api_call(self) -> bool {
        !matches!(self, Operation::Plan | Operation::Scope)
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests and callers compare with the AWS operation name they search for.
impl PartialEq<&str> for Operation {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The codes the keeper raises itself, as the report, the metrics and the e-mail name them
/// (AWS's own error codes stay the strings AWS sends). One enum says each once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeeperCode {
    /// A snapshot the keeper took ended `Failed`.
    SnapshotFailed,
    /// An owned snapshot has been `Creating` past `CREATING_TIMEOUT_MINUTES`.
    SnapshotStuckCreating,
    /// The settings do not fit the directory's quota.
    SettingsExceedQuota,
    /// No slot for the new snapshot that the keeper may free.
    QuotaFull,
    /// The reserved slots cannot be kept free.
    QuotaReservedSlotsBlocked,
    /// A call was not started, or cut short, at the invocation deadline (minus the margin).
    DeadlineReached,
    /// A deletion the plan chose that the guard refused right before the call.
    RefusedByGuard,
    /// A request named a directory outside the configured scope.
    OutOfScope,
    /// A restore began while the run was under way: the run's deletions stopped.
    RestoreUnderWay,
}

impl KeeperCode {
    pub fn as_str(self) -> &'static str {
        match self {
            KeeperCode::SnapshotFailed => "SnapshotFailed",
            KeeperCode::SnapshotStuckCreating => "SnapshotStuckCreating",
            KeeperCode::SettingsExceedQuota => "SettingsExceedQuota",
            KeeperCode::QuotaFull => "QuotaFull",
            KeeperCode::QuotaReservedSlotsBlocked => "QuotaReservedSlotsBlocked",
            KeeperCode::DeadlineReached => "DeadlineReached",
            KeeperCode::RefusedByGuard => "RefusedByGuard",
            KeeperCode::OutOfScope => "OutOfScope",
            KeeperCode::RestoreUnderWay => "RestoreUnderWay",
        }
    }

    /// Whether a plan problem with this code stops pruning too (leftovers of earlier runs,
    /// a Failed or stuck snapshot, do not).
    pub fn blocks_pruning(self) -> bool {
        matches!(
            self,
            KeeperCode::SettingsExceedQuota
                | KeeperCode::QuotaFull
                | KeeperCode::QuotaReservedSlotsBlocked
        )
    }
}

impl std::fmt::Display for KeeperCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for KeeperCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Lets tests and callers compare with the name operators search for.
impl PartialEq<&str> for KeeperCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<KeeperCode> for String {
    fn eq(&self, other: &KeeperCode) -> bool {
        self == other.as_str()
    }
}

/// Where the snapshot a run took stands at the end of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreatedState {
    /// A dry run: the snapshot would be taken.
    #[serde(rename = "planned")]
    Planned,
    /// Still Creating when the wait ended; the next run checks it.
    Creating,
    Completed,
    Failed,
}

impl From<SnapshotStatus> for CreatedState {
    fn from(s: SnapshotStatus) -> Self {
        match s {
            SnapshotStatus::Creating => CreatedState::Creating,
            SnapshotStatus::Completed => CreatedState::Completed,
            SnapshotStatus::Failed => CreatedState::Failed,
        }
    }
}
