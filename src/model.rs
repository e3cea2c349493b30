//! The keeper's own picture of Directory Service: directories, snapshots and quotas.
//!
//! These are plain values with no SDK types in them, so the retention policy and its tests
//! never depend on the AWS SDK. The adapters in `aws/` translate to and from the wire.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The documented restore window: a snapshot can be restored only while it is under 180 days old.
pub const RESTORE_LIMIT_DAYS: i64 = 180;

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
    pub stage: String,
    /// The primary Region of a multi-Region directory; `None` for single-Region directories.
    pub primary_region: Option<String>,
}

/// The manual snapshot quota of one directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotLimits {
    pub manual_limit: u32,
    pub manual_count: u32,
}
