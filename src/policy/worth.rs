//! What a restore point is worth: the one ordering every deleting rule follows.
//!
//! Make-room, beyond-retain and headroom all give up the snapshot worth least, so the
//! retention mode is decided here and nowhere else. In `newest` mode a snapshot is worth more
//! the newer it is.

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;

use super::guard::may_touch;
use super::Policy;
use crate::model::{Snapshot, SnapshotStatus};

/// The retention mode: which restore points the keeper keeps inside the quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Retention {
    /// Keep the newest `RETAIN_COUNT` snapshots.
    Newest,
}

impl Retention {
    pub fn as_str(self) -> &'static str {
        match self {
            Retention::Newest => "newest",
        }
    }
}

/// Why a kept snapshot is worth keeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Worth {
    /// The n-th newest owned `Completed` snapshot (1 is the newest).
    Recent { rank: u32 },
}

impl fmt::Display for Worth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Worth::Recent { rank: 1 } => f.write_str("the newest"),
            Worth::Recent { rank } => write!(f, "newest #{rank}"),
        }
    }
}

/// The owned (or, with `PRUNE_UNOWNED`, manual) `Completed` snapshots, most worth first, each
/// with why it is worth what it is. Protected snapshots are ranked too: they count towards the
/// retain count although no rule may delete them.
pub fn by_worth<'a>(
    all: &'a [Snapshot],
    policy: &Policy,
    _now: Timestamp,
) -> Vec<(&'a Snapshot, Worth)> {
    let mut completed: Vec<&Snapshot> = all
        .iter()
        .filter(|s| may_touch(s, policy) && s.status == SnapshotStatus::Completed)
        .collect();
    completed.sort_by(|a, b| (b.start_time, &b.id).cmp(&(a.start_time, &a.id)));
    match policy.retention {
        Retention::Newest => completed
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s, Worth::Recent { rank: i as u32 + 1 }))
            .collect(),
    }
}
