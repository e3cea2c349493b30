//! What an operator is told: flags and the stated reach.

use super::*;

#[test]
fn flags_warn_near_180_days_and_go_critical_when_the_window_closes() {
    let all = vec![
        owned("a", Completed, 175.0),
        owned("b", Completed, 160.0),
        snap("auto", None, Auto, Completed, 181.0),
    ];
    let f = flags(&all, None, None, &Policy::default(), now());
    let expiring: Vec<(&str, Option<i64>)> = f
        .iter()
        .filter(|f| f.code == "expiring")
        .map(|f| (f.snapshot_id.as_deref().unwrap(), f.days_left))
        .collect();
    assert_eq!(expiring, vec![("a", Some(5)), ("b", Some(20))]);
    assert!(f
        .iter()
        .any(|f| f.code == "unrestorable" && f.snapshot_id.as_deref() == Some("auto")));
    let critical: Vec<&str> = f
        .iter()
        .filter(|f| f.level == FlagLevel::Critical)
        .map(|f| f.code.as_str())
        .collect();
    assert_eq!(critical, vec!["newest-completed-aging"]);

    let gone = vec![owned("a", Completed, 181.0), owned("c", Creating, 0.0)];
    let f = flags(&gone, None, None, &Policy::default(), now());
    assert!(f
        .iter()
        .any(|f| f.code == "no-restorable-snapshot" && f.level == FlagLevel::Critical));

    let fresh = vec![owned("a", Completed, 1.0)];
    assert!(flags(&fresh, None, None, &Policy::default(), now()).is_empty());
}

#[test]
fn reserved_slots_in_use_is_flagged() {
    let l = SnapshotLimits {
        manual_limit: 5,
        manual_count: 5,
    };
    let mut all = theirs(4);
    all.push(owned("a", Completed, 0.5));
    assert!(flags(&all, Some(l), Some(5), &Policy::default(), now())
        .iter()
        .any(|f| f.code == "reserved-slots-in-use"));
    all.pop();
    let ok = SnapshotLimits {
        manual_limit: 5,
        manual_count: 4,
    };
    let f = flags(&all, Some(ok), Some(4), &Policy::default(), now());
    assert!(f.iter().all(|f| f.code != "reserved-slots-in-use"), "{f:?}");
    // Four of someone else's leave the keeper no room at all: that is said too.
    assert!(f.iter().any(|f| f.code == "retain-short-of-room"), "{f:?}");
}

#[test]
fn the_tiered_reach_is_stated_with_what_others_snapshots_cost_it() {
    let policy = tiered_policy(&[35], 150);
    let said = policy.reach_statement(5).unwrap();
    assert!(said.contains("35 to 70 days back"), "{said}");
    assert!(said.contains("2: 1 to 36 days, 3: 0 to 1 days"), "{said}");
    assert!(
        !said.contains("1: "),
        "one of someone else's still fits: {said}"
    );
    assert_eq!(Policy::default().reach_statement(5), None);
}

#[test]
fn a_safety_snapshot_is_flagged_once_it_has_held_a_slot_past_its_time() {
    let mut safety = owned("s-safe", Completed, 8.0);
    safety.name = Some(crate::policy::safety::safety_name(
        safety.start_time,
        "s-0123456789",
    ));
    let mut all = vec![owned("k1", Completed, 1.0), safety.clone()];
    let f = flags(&all, None, None, &Policy::default(), now());
    let held: Vec<_> = f
        .iter()
        .filter(|f| f.code == FlagCode::SafetySnapshotHeld)
        .collect();
    assert_eq!(held.len(), 1, "{f:?}");
    assert!(
        held[0].message.contains("restore of s-0123456789"),
        "{}",
        held[0].message
    );
    all[1].start_time = owned("x", Completed, 6.0).start_time;
    let f = flags(&all, None, None, &Policy::default(), now());
    assert!(
        f.iter().all(|f| f.code != FlagCode::SafetySnapshotHeld),
        "{f:?}"
    );
}

#[test]
fn under_newest_others_snapshots_that_leave_fewer_points_than_retain_are_flagged() {
    let limits = Some(crate::model::SnapshotLimits {
        manual_limit: 5,
        manual_count: 4,
    });
    // Two of someone else's: 5 - RESERVED_SLOTS=1 - 2 = room for 2 < RETAIN_COUNT=3.
    let mut all = theirs(2);
    all.push(owned("k1", Completed, 1.0));
    all.push(owned("k2", Completed, 0.5));
    let f = flags(&all, limits, Some(4), &Policy::default(), now());
    let short: Vec<_> = f
        .iter()
        .filter(|f| f.code == "retain-short-of-room")
        .collect();
    assert_eq!(short.len(), 1, "{f:?}");
    assert!(
        short[0]
            .message
            .contains("room for 2 restore points, fewer than RETAIN_COUNT=3"),
        "{}",
        short[0].message
    );
    // One of theirs leaves room for 3: no flag.
    let mut all = theirs(1);
    all.push(owned("k1", Completed, 1.0));
    let f = flags(&all, limits, Some(2), &Policy::default(), now());
    assert!(f.iter().all(|f| f.code != "retain-short-of-room"), "{f:?}");
}
