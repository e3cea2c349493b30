//! The safety snapshot: the snapshot of the present a restore takes first, so that the
//! restore itself can be undone. It is the operator's, never the keeper's: no run, action or
//! make-room deletes it, whatever `PRUNE_UNOWNED` says ([`super::guard`] checks
//! [`is_safety`] before ownership), and a `SNAPSHOT_PREFIX` that would own its names is
//! refused at start ([`prefix_conflict`]).
//!
//! Its name records what it belongs to: `pre-restore-<UTC time>-<target snapshot id>`, so
//! `points` and the run report can say "safety snapshot before the restore of s-… at …"
//! without any state outside AWS. Names written before the target was recorded
//! (`pre-restore-<UTC time>`) are still read.

use jiff::Timestamp;

use crate::model::{Snapshot, SnapshotType};

/// The prefix of every safety snapshot's name.
pub const SAFETY_PREFIX: &str = "pre-restore-";

/// How long a safety snapshot may hold a manual slot before the keeper flags it, so the
/// operator deletes it once the restore is known good (a slot held for good is a slot a
/// schema extension or the keeper's next restore point cannot use).
pub const SAFETY_HOLD_DAYS: i64 = 7;

/// What a safety snapshot's name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetyName {
    /// When the restore took it (UTC, whole seconds).
    pub taken_at: Timestamp,
    /// The snapshot the restore was to restore; `None` in names that did not record it.
    pub target: Option<String>,
}

/// The safety snapshot's name for a restore to `target_id` decided at `now`.
pub fn safety_name(now: Timestamp, target_id: &str) -> String {
    format!(
        "{SAFETY_PREFIX}{}-{target_id}",
        now.strftime("%Y%m%dT%H%M%SZ")
    )
}

/// What a safety snapshot's name records, or `None` when `name` is not one.
pub fn parse_safety_name(name: &str) -> Option<SafetyName> {
    let rest = name.strip_prefix(SAFETY_PREFIX)?;
    let (stamp, target) = match rest.split_once('-') {
        Some((stamp, target)) if crate::naming::is_snapshot_id(target) => {
            (stamp, Some(target.to_owned()))
        }
        Some(_) => return None,
        None => (rest, None),
    };
    let taken_at = super::ownership::parse_stamp(stamp)?;
    Some(SafetyName { taken_at, target })
}

/// Whether `s` is a safety snapshot, and so never the keeper's to delete. Any manual snapshot
/// whose name starts with the prefix counts, even one whose name does not parse: protecting a
/// look-alike costs a slot, deleting an undo costs the operator's way back.
pub fn is_safety(s: &Snapshot) -> bool {
    s.kind == SnapshotType::Manual
        && s.name
            .as_deref()
            .is_some_and(|n| n.starts_with(SAFETY_PREFIX))
}

/// Why `SNAPSHOT_PREFIX` would let the keeper own safety snapshots' names, or `None`.
pub fn prefix_conflict(prefix: &str) -> Option<String> {
    prefix.starts_with(SAFETY_PREFIX).then(|| {
        format!(
            "SNAPSHOT_PREFIX={prefix} begins with {SAFETY_PREFIX}, the prefix of the safety \
             snapshots a restore takes: the keeper would own (and could delete) the operator's \
             undo. Choose a prefix that does not begin with {SAFETY_PREFIX} (the default is \
             ds-keeper-)"
        )
    })
}

/// The last instant a safety snapshot holds a slot before it is flagged.
pub fn held_until(s: &Snapshot) -> Timestamp {
    Timestamp::from_second(s.start_time.as_second() + SAFETY_HOLD_DAYS * 86_400)
        .unwrap_or(s.start_time)
}

/// The safety snapshot in words: "safety snapshot before the restore of s-… at …, held until
/// …" (the report's and `points`' label).
pub fn describe(s: &Snapshot) -> String {
    let parsed = s.name.as_deref().and_then(parse_safety_name);
    let of = parsed
        .as_ref()
        .and_then(|p| p.target.as_deref())
        .map(|t| format!(" of {t}"))
        .unwrap_or_default();
    let at = parsed.map_or(s.start_time, |p| p.taken_at);
    format!(
        "safety snapshot before the restore{of} at {}, held until {}",
        at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        held_until(s).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SnapshotStatus;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn manual(name: &str) -> Snapshot {
        Snapshot {
            id: "s-0000000001".into(),
            directory_id: "d-0000000001".into(),
            name: Some(name.into()),
            kind: SnapshotType::Manual,
            status: SnapshotStatus::Completed,
            start_time: t("2026-12-01T00:00:00Z"),
        }
    }

    #[test]
    fn the_name_records_the_target_and_reads_back() {
        let name = safety_name(t("2026-12-06T03:04:05Z"), "s-0123456789");
        assert_eq!(name, "pre-restore-20261206T030405Z-s-0123456789");
        assert!(crate::naming::is_valid_snapshot_name(&name));
        let parsed = parse_safety_name(&name).unwrap();
        assert_eq!(parsed.taken_at, t("2026-12-06T03:04:05Z"));
        assert_eq!(parsed.target.as_deref(), Some("s-0123456789"));
    }

    #[test]
    fn names_without_a_target_still_read() {
        let parsed = parse_safety_name("pre-restore-20261206T030405Z").unwrap();
        assert_eq!(parsed.target, None);
        assert_eq!(parse_safety_name("pre-restore-20261206T030405Z-x"), None);
        assert_eq!(parse_safety_name("pre-restore-yesterday"), None);
    }

    #[test]
    fn every_manual_pre_restore_name_is_protected() {
        assert!(is_safety(&manual("pre-restore-20261206T030405Z")));
        assert!(is_safety(&manual("pre-restore-by-hand")));
        assert!(!is_safety(&manual("ds-keeper-20261206T030405Z-r0000abcd")));
        let mut auto = manual("pre-restore-20261206T030405Z");
        auto.kind = SnapshotType::Auto;
        assert!(!is_safety(&auto));
    }

    #[test]
    fn a_prefix_that_would_own_safety_names_is_refused() {
        assert!(prefix_conflict("pre-restore-").is_some());
        assert!(prefix_conflict("pre-restore-keeper-").is_some());
        assert!(prefix_conflict("pre-").is_none());
        assert!(prefix_conflict("ds-keeper-").is_none());
    }

    #[test]
    fn described_with_its_restore_and_hold() {
        let s = manual("pre-restore-20261201T000000Z-s-0123456789");
        assert_eq!(
            describe(&s),
            "safety snapshot before the restore of s-0123456789 at 2026-12-01T00:00:00Z, held \
             until 2026-12-08T00:00:00Z"
        );
    }
}
