//! What the quota looks like after a run: slots in use, slots free, and how far back the
//! directory can still be restored. The dashboard and the free-slots alarm read these; a
//! schema extension or an OS update needs a free manual slot, so operators must see one
//! coming before AWS refuses it.

use jiff::Timestamp;
use serde::Serialize;

use super::flags::age_secs;
use crate::model::{Snapshot, SnapshotLimits, SnapshotStatus, RESTORE_LIMIT_DAYS};
use crate::policy::guard::manual_in_use;

/// The quota of one directory as the run leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quota {
    /// Manual snapshots in the final listing (Creating and Failed ones hold a slot too).
    pub manual_in_use: u32,
    pub manual_limit: u32,
    /// `manual_limit - manual_in_use`, never below zero.
    pub free_slots: u32,
    /// Age in days (two decimals) of the oldest Completed snapshot still under the 180-day
    /// restore limit: how far back a restore can reach. `None` when nothing is restorable.
    pub oldest_restorable_age_days: Option<f64>,
}

fn days(secs: i64) -> f64 {
    (secs.max(0) as f64 / 86_400.0 * 100.0).round() / 100.0
}

/// The quota after the run, from the final listing and the service's limit.
pub fn quota_after(all: &[Snapshot], limits: SnapshotLimits, now: Timestamp) -> Quota {
    let in_use = manual_in_use(all);
    let oldest = all
        .iter()
        .filter(|s| s.status == SnapshotStatus::Completed)
        .map(|s| age_secs(s, now))
        .filter(|age| *age < RESTORE_LIMIT_DAYS * 86_400)
        .max();
    Quota {
        manual_in_use: in_use,
        manual_limit: limits.manual_limit,
        free_slots: limits.manual_limit.saturating_sub(in_use),
        oldest_restorable_age_days: oldest.map(days),
    }
}
