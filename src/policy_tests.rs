//! Unit tests of the retention policy, one rule at a time, on plain values.

use super::*;
use crate::model::{SnapshotStatus::*, SnapshotType::*};

const DAY: i64 = 86_400;

fn now() -> Timestamp {
    "2026-11-24T06:00:00Z".parse().unwrap()
}

fn snap(
    id: &str,
    name: Option<&str>,
    kind: SnapshotType,
    status: SnapshotStatus,
    age_days: f64,
) -> Snapshot {
    Snapshot {
        id: id.to_owned(),
        directory_id: "d-0123456789".to_owned(),
        name: name.map(str::to_owned),
        kind,
        status,
        start_time: Timestamp::from_second(now().as_second() - (age_days * DAY as f64) as i64)
            .unwrap(),
    }
}

fn owned(id: &str, status: SnapshotStatus, age_days: f64) -> Snapshot {
    snap(id, Some(&format!("keeper-{id}")), Manual, status, age_days)
}

fn limits_of(all: &[Snapshot]) -> SnapshotLimits {
    SnapshotLimits {
        manual_limit: 5,
        manual_count: all.iter().filter(|s| s.kind == Manual).count() as u32,
    }
}

/// `count` manual snapshots someone else took, 1, 2, ... days old.
fn theirs(count: usize) -> Vec<Snapshot> {
    (0..count)
        .map(|i| {
            snap(
                &format!("u{i}"),
                Some("ops"),
                Manual,
                Completed,
                1.0 + i as f64,
            )
        })
        .collect()
}

fn run_plan(all: &[Snapshot]) -> Plan {
    plan(
        all,
        limits_of(all),
        &Policy::default(),
        Action::Run,
        false,
        now(),
    )
}

fn ids(d: &[Deletion]) -> Vec<&str> {
    d.iter().map(|x| x.snapshot_id.as_str()).collect()
}

#[test]
fn empty_directory_gets_a_snapshot_named_with_the_utc_time() {
    let p = run_plan(&[]);
    assert_eq!(p.create.as_deref(), Some("keeper-20261124T060000Z"));
    assert!(p.deletions.is_empty() && p.problems.is_empty());
    assert!(p.prune_after);
}

#[test]
fn make_room_only_when_the_quota_needs_it() {
    // 3 owned: 3 + 1 new + 1 reserved = 5 fits, nothing deleted before the create.
    let three = vec![
        owned("a", Completed, 3.0),
        owned("b", Completed, 2.0),
        owned("c", Completed, 1.5),
    ];
    assert!(run_plan(&three).deletions.is_empty());
    // 4 owned: one must go first, the oldest Completed.
    let mut four = three.clone();
    four.push(owned("d", Completed, 1.1));
    let p = run_plan(&four);
    assert_eq!(ids(&p.deletions), vec!["a"]);
    assert_eq!(p.deletions[0].rule, Rule::MakeRoomOldest);
    assert!(
        p.deletions[0].reason.contains("4 of 5"),
        "{}",
        p.deletions[0].reason
    );
    assert!(p.create.is_some());
}

#[test]
fn make_room_order_is_failed_then_unrestorable_then_oldest() {
    let all = vec![
        owned("old", Completed, 30.0),
        owned("dead", Completed, 200.0),
        owned("fail", Failed, 2.0),
        owned("new", Completed, 1.2),
        owned("mid", Completed, 10.0),
    ];
    // 5 manual: 5 + 1 + 1 - 5 = 2 to delete
    let p = run_plan(&all);
    assert_eq!(ids(&p.deletions), vec!["fail", "dead"]);
    assert_eq!(p.deletions[0].rule, Rule::MakeRoomFailed);
    assert_eq!(p.deletions[1].rule, Rule::MakeRoomUnrestorable);
}

#[test]
fn never_deletes_auto_unowned_creating_or_the_newest_completed() {
    let all = vec![
        snap("auto", None, Auto, Completed, 300.0),
        snap("theirs", Some("before-upgrade"), Manual, Completed, 250.0),
        owned("creating", Creating, 0.5),
        owned("newest", Completed, 1.1),
        snap("unnamed", None, Manual, Completed, 220.0),
        owned("old", Completed, 100.0),
    ];
    let limits = SnapshotLimits {
        manual_limit: 5,
        manual_count: 5,
    };
    let p = plan(
        &all,
        limits,
        &Policy {
            min_interval_secs: 0,
            ..Policy::default()
        },
        Action::Run,
        false,
        now(),
    );
    for d in &p.deletions {
        assert_eq!(d.snapshot_id, "old", "only 'old' may go: {d:?}");
    }
    let expected = [
        Err(Protection::Auto),
        Err(Protection::NotOwned),
        Err(Protection::Creating),
        Err(Protection::NewestCompleted),
        Err(Protection::NotOwned),
        Ok(()),
    ];
    for (s, want) in all.iter().zip(expected) {
        assert_eq!(deletable(s, &all, &Policy::default()), want, "{}", s.id);
    }
}

#[test]
fn newest_completed_is_protected_even_when_it_is_not_restorable() {
    let all = vec![owned("a", Completed, 400.0), owned("b", Completed, 300.0)];
    assert_eq!(
        deletable(&all[1], &all, &Policy::default()),
        Err(Protection::NewestCompleted)
    );
    assert_eq!(deletable(&all[0], &all, &Policy::default()), Ok(()));
}

#[test]
fn a_quota_full_of_snapshots_the_keeper_may_not_delete_is_a_failure_not_a_deletion() {
    let all = theirs(5);
    let p = run_plan(&all);
    assert!(p.create.is_none() && p.deletions.is_empty() && !p.prune_after);
    assert_eq!(p.problems[0].code, "QuotaFull");
    assert!(p.problems[0].message.contains("PRUNE_UNOWNED"));
}

#[test]
fn reserved_slots_are_not_consumed_for_good() {
    // 4 unowned manual: a create fits the hard quota but would leave no reserved slot, and
    // nothing the keeper owns could free one later.
    let all = theirs(4);
    let p = run_plan(&all);
    assert!(p.create.is_none());
    assert_eq!(p.problems[0].code, "QuotaReservedSlotsBlocked");
}

#[test]
fn the_reserved_slot_may_be_borrowed_when_the_prune_will_give_it_back() {
    // 3 unowned + 1 owned (the newest Completed, protected now). After the new snapshot
    // completes, the owned one loses its protection and the headroom rule frees the slot.
    let mut all: Vec<Snapshot> = (0..3)
        .map(|i| {
            snap(
                &format!("u{i}"),
                Some("ops"),
                Manual,
                Completed,
                5.0 + i as f64,
            )
        })
        .collect();
    all.push(owned("mine", Completed, 2.0));
    let p = run_plan(&all);
    assert!(p.create.is_some(), "{p:?}");
    assert!(p.deletions.is_empty());
    // after the create completes:
    let mut after = all.clone();
    after.push(owned("new", Completed, 0.0));
    let pruned = prune(&after, limits_of(&after), &Policy::default(), None);
    assert_eq!(ids(&pruned), vec!["mine"]);
    assert_eq!(pruned[0].rule, Rule::Headroom);
}

#[test]
fn prune_keeps_retain_and_names_the_rule() {
    let all: Vec<Snapshot> = (0..5)
        .map(|i| owned(&format!("s{i}"), Completed, i as f64))
        .collect();
    let pruned = prune(&all, limits_of(&all), &Policy::default(), None);
    assert_eq!(ids(&pruned), vec!["s4", "s3"]);
    assert!(pruned
        .iter()
        .all(|d| d.rule == Rule::BeyondRetain
            && d.reason == "oldest owned Completed beyond retain=3"));
}

#[test]
fn prune_removes_owned_failures_but_leaves_creating_alone() {
    let all = vec![
        owned("f", Failed, 1.0),
        owned("c", Creating, 0.1),
        owned("ok", Completed, 2.0),
    ];
    let pruned = prune(&all, limits_of(&all), &Policy::default(), None);
    assert_eq!(ids(&pruned), vec!["f"]);
    assert_eq!(pruned[0].rule, Rule::Failed);
}

#[test]
fn a_recent_owned_snapshot_skips_the_create_unless_forced() {
    let all = vec![owned("recent", Completed, 10.0 / (24.0 * 60.0))];
    let p = run_plan(&all);
    assert!(p.create.is_none());
    assert!(p
        .create_skipped
        .as_deref()
        .unwrap()
        .contains("within the minimum interval of 60 minutes"));
    assert!(p.prune_after, "pruning still happens on a skipped create");
    let forced = plan(
        &all,
        limits_of(&all),
        &Policy::default(),
        Action::Snapshot,
        true,
        now(),
    );
    assert!(forced.create.is_some());
    // someone else's recent snapshot does not count
    let theirs = vec![snap("t", Some("ops"), Manual, Completed, 0.001)];
    assert!(run_plan(&theirs).create.is_some());
}

#[test]
fn failed_recent_snapshots_do_not_suppress_the_create() {
    let all = vec![owned("f", Failed, 0.001)];
    assert!(run_plan(&all).create.is_some());
}

#[test]
fn clock_skew_and_future_dates() {
    // A few minutes in the future: still "just taken".
    let skewed = vec![owned("skew", Completed, -2.0 / (24.0 * 60.0))];
    assert!(run_plan(&skewed).create.is_none());
    // Far in the future: ignored for the interval, and flagged.
    let future = vec![owned("future", Completed, -30.0)];
    assert!(run_plan(&future).create.is_some());
    let f = flags(&future, None, &Policy::default(), now());
    assert!(f.iter().any(|f| f.code == "future-dated"));
    // ... and still protected as the newest Completed.
    assert_eq!(
        deletable(&future[0], &future, &Policy::default()),
        Err(Protection::NewestCompleted)
    );
}

#[test]
fn actions_do_what_they_say() {
    let all: Vec<Snapshot> = (0..5)
        .map(|i| owned(&format!("s{i}"), Completed, 1.0 + i as f64))
        .collect();
    let report = plan(
        &all,
        limits_of(&all),
        &Policy::default(),
        Action::Report,
        false,
        now(),
    );
    assert!(report.create.is_none() && report.deletions.is_empty() && !report.prune_after);
    let prune_only = plan(
        &all,
        limits_of(&all),
        &Policy::default(),
        Action::Prune,
        false,
        now(),
    );
    assert!(
        prune_only.create.is_none() && prune_only.deletions.is_empty() && prune_only.prune_after
    );
    let snapshot = plan(
        &all,
        limits_of(&all),
        &Policy::default(),
        Action::Snapshot,
        false,
        now(),
    );
    assert!(snapshot.create.is_some() && !snapshot.prune_after);
    assert_eq!(snapshot.deletions.len(), 2, "making room is still allowed");
}

#[test]
fn settings_that_exceed_the_quota_change_nothing() {
    let policy = Policy {
        retain: 4,
        ..Policy::default()
    };
    let all = vec![owned("a", Completed, 1.0)];
    let p = plan(&all, limits_of(&all), &policy, Action::Run, false, now());
    assert_eq!(p.problems[0].code, "SettingsExceedQuota");
    assert!(p.create.is_none() && p.deletions.is_empty() && !p.prune_after);
    // a report is still allowed
    assert!(
        plan(&all, limits_of(&all), &policy, Action::Report, false, now())
            .problems
            .is_empty()
    );
}

#[test]
fn leftovers_of_earlier_runs_are_problems() {
    let all = vec![
        owned("f", Failed, 1.0),
        owned("stuck", Creating, 0.5),
        owned("young", Creating, 0.01),
    ];
    let p = run_plan(&all);
    let codes: Vec<&str> = p.problems.iter().map(|x| x.code).collect();
    assert_eq!(codes, vec!["SnapshotFailed", "SnapshotStuckCreating"]);
    assert!(!p.prune_after, "an owned snapshot is still Creating");
}

#[test]
fn flags_warn_near_180_days_and_go_critical_when_the_window_closes() {
    let all = vec![
        owned("a", Completed, 175.0),
        owned("b", Completed, 160.0),
        snap("auto", None, Auto, Completed, 181.0),
    ];
    let f = flags(&all, None, &Policy::default(), now());
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
        .map(|f| f.code)
        .collect();
    assert_eq!(critical, vec!["newest-completed-aging"]);

    let gone = vec![owned("a", Completed, 181.0), owned("c", Creating, 0.0)];
    let f = flags(&gone, None, &Policy::default(), now());
    assert!(f
        .iter()
        .any(|f| f.code == "no-restorable-snapshot" && f.level == FlagLevel::Critical));

    let fresh = vec![owned("a", Completed, 1.0)];
    assert!(flags(&fresh, None, &Policy::default(), now()).is_empty());
}

#[test]
fn reserved_slots_in_use_is_flagged() {
    let l = SnapshotLimits {
        manual_limit: 5,
        manual_count: 5,
    };
    let all = vec![owned("a", Completed, 1.0)];
    assert!(flags(&all, Some(l), &Policy::default(), now())
        .iter()
        .any(|f| f.code == "reserved-slots-in-use"));
    let ok = SnapshotLimits {
        manual_limit: 5,
        manual_count: 4,
    };
    assert!(flags(&all, Some(ok), &Policy::default(), now()).is_empty());
}

#[test]
fn prune_unowned_is_an_explicit_opt_in_and_never_reaches_auto() {
    let all = vec![
        snap("theirs-old", Some("ops"), Manual, Completed, 9.0),
        snap("auto-old", None, Auto, Completed, 10.0),
        owned("a", Completed, 3.0),
        owned("b", Completed, 2.0),
        owned("c", Completed, 1.0),
    ];
    assert!(prune(&all, limits_of(&all), &Policy::default(), None).is_empty());
    let opt_in = Policy {
        prune_unowned: true,
        ..Policy::default()
    };
    let pruned = prune(&all, limits_of(&all), &opt_in, None);
    assert_eq!(ids(&pruned), vec!["theirs-old"]);
}

#[test]
fn same_input_same_plan() {
    let all = vec![
        owned("a", Completed, 3.0),
        owned("b", Failed, 2.0),
        snap("x", Some("ops"), Manual, Completed, 1.0),
    ];
    assert_eq!(run_plan(&all), run_plan(&all));
}

#[test]
fn the_snapshot_a_run_just_took_is_never_pruned() {
    // Another owned snapshot is dated an hour in the future (clock skew): it sorts newest.
    let all = vec![
        owned("skewed", Completed, -1.0 / 24.0),
        owned("fresh", Completed, 0.0),
    ];
    let policy = Policy {
        retain: 1,
        ..Policy::default()
    };
    assert_eq!(
        ids(&prune(&all, limits_of(&all), &policy, None)),
        vec!["fresh"]
    );
    assert!(prune(&all, limits_of(&all), &policy, Some("fresh")).is_empty());
}
