//! Unit tests of the retention policy, one rule at a time, on plain values.

use super::*;
use crate::model::{CreatedState, SnapshotStatus::*, SnapshotType, SnapshotType::*};

const DAY: i64 = 86_400;
const REQUEST: &str = "req-1";

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

/// A snapshot the keeper took: named exactly as version 0.1 named them, from its start time.
fn owned(id: &str, status: SnapshotStatus, age_days: f64) -> Snapshot {
    let mut s = snap(id, None, Manual, status, age_days);
    s.name = Some(format!(
        "keeper-{}",
        s.start_time.strftime("%Y%m%dT%H%M%SZ")
    ));
    s
}

/// Owned Completed snapshots named a, b, c... with these ages in days.
fn owned_completed(ages: &[f64]) -> Vec<Snapshot> {
    ages.iter()
        .zip(["a", "b", "c", "d", "e", "f"])
        .map(|(age, id)| owned(id, Completed, *age))
        .collect()
}

fn limits_of(all: &[Snapshot]) -> SnapshotLimits {
    SnapshotLimits {
        manual_limit: 5,
        manual_count: all.iter().filter(|s| s.kind == Manual).count() as u32,
    }
}

/// `count` manual snapshots someone else took, 1, 2, ... days old.
fn theirs(count: usize) -> Vec<Snapshot> {
    theirs_aged(count, 1.0)
}

/// `count` manual snapshots someone else took, `first`, `first + 1`, ... days old.
fn theirs_aged(count: usize, first: f64) -> Vec<Snapshot> {
    (0..count)
        .map(|i| {
            snap(
                &format!("u{i}"),
                Some("ops"),
                Manual,
                Completed,
                first + i as f64,
            )
        })
        .collect()
}

/// A forced `snapshot` request (the schema-extension case), request `req-1`.
fn forced_snapshot(all: &[Snapshot], limits: SnapshotLimits, policy: &Policy) -> Plan {
    plan(
        all,
        limits,
        policy,
        &Intent {
            force: true,
            ..intent(Action::Snapshot)
        },
    )
}

fn intent(action: Action) -> Intent {
    Intent::new(action, REQUEST, now())
}

fn plan_for(all: &[Snapshot], policy: &Policy, action: Action) -> Plan {
    plan(all, limits_of(all), policy, &intent(action))
}

fn run_plan(all: &[Snapshot]) -> Plan {
    plan_for(all, &Policy::default(), Action::Run)
}

/// The prune gate for a clean run that took no snapshot.
fn clean_gate(p: &Plan) -> Result<(), PruneBlock> {
    prune_gate(p, false)
}

/// What `run` deletes after a clean run whose new snapshot completed (`just_created`, when the
/// inventory holds it).
fn prune(
    all: &[Snapshot],
    manual_limit: u32,
    policy: &Policy,
    just_created: Option<&str>,
    now: Timestamp,
) -> Vec<Deletion> {
    // An id no snapshot has stands for a new snapshot outside the inventory.
    let new = just_created.unwrap_or("(not in the inventory)");
    after_run(
        all,
        manual_limit,
        policy,
        Action::Run,
        Some((new, CreatedState::Completed)),
        Ok(()),
        now,
    )
    .deletions
}

/// `after_run` for a clean run of `action` whose new snapshot `new` ended `state`.
fn settle(all: &[Snapshot], action: Action, new: Option<(&str, CreatedState)>) -> AfterRun {
    after_run(all, 5, &Policy::default(), action, new, Ok(()), now())
}

fn ids(d: &[Deletion]) -> Vec<&str> {
    d.iter().map(|x| x.snapshot_id.as_str()).collect()
}

#[test]
fn empty_directory_gets_a_snapshot_named_with_the_utc_time() {
    let p = run_plan(&[]);
    let tag = ownership::request_tag(REQUEST);
    assert_eq!(
        p.create.as_deref(),
        Some(format!("keeper-20261124T060000Z-r{tag}").as_str())
    );
    assert!(p.deletions.is_empty() && p.problems.is_empty());
    assert_eq!(clean_gate(&p), Ok(()));
}

#[test]
fn make_room_only_when_the_quota_needs_it() {
    // 4 owned: 4 + 1 new = 5 fits the quota; the reserved slot is restored only after the
    // new snapshot completes, so nothing is deleted before the create.
    let four = owned_completed(&[3.0, 2.0, 1.5, 1.1]);
    assert!(run_plan(&four).deletions.is_empty());
    assert!(run_plan(&four).create.is_some());
    // 5 owned: exactly one must go first, the oldest Completed.
    let mut five = four.clone();
    five.push(owned("e", Completed, 1.05));
    let p = run_plan(&five);
    assert_eq!(ids(&p.deletions), vec!["a"]);
    assert_eq!(p.deletions[0].rule, Rule::MakeRoomOldest);
    assert!(
        p.deletions[0].reason.contains("5 of 5"),
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
    // 5 manual: 5 + 1 - 5 = 1 to delete now; the headroom comes back after the create.
    let p = run_plan(&all);
    assert_eq!(ids(&p.deletions), vec!["fail"]);
    assert_eq!(p.deletions[0].rule, Rule::MakeRoomFailed);
    let without_failed: Vec<Snapshot> = all.iter().filter(|s| s.id != "fail").cloned().collect();
    let mut with_dead = without_failed.clone();
    with_dead.push(owned("old2", Completed, 40.0));
    let p = run_plan(&with_dead);
    assert_eq!(ids(&p.deletions), vec!["dead"]);
    assert_eq!(p.deletions[0].rule, Rule::MakeRoomUnrestorable);
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
    let p = plan_for(
        &all,
        &Policy {
            min_interval_secs: 0,
            ..Policy::default()
        },
        Action::Run,
    );
    assert!(p.create.is_none(), "an owned snapshot is Creating: {p:?}");
    assert!(
        p.deletions.is_empty(),
        "nothing is deleted to make room: {p:?}"
    );
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
    assert!(p.create.is_none() && p.deletions.is_empty());
    assert_eq!(clean_gate(&p), Err(PruneBlock::PlanProblem));
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
    let mut all: Vec<Snapshot> = theirs_aged(3, 5.0);
    all.push(owned("mine", Completed, 2.0));
    let p = run_plan(&all);
    assert!(p.create.is_some(), "{p:?}");
    assert!(p.deletions.is_empty());
    // after the create completes:
    let mut after = all.clone();
    after.push(owned("new", Completed, 0.0));
    let pruned = prune(&after, 5, &Policy::default(), None, now());
    assert_eq!(ids(&pruned), vec!["mine"]);
    assert_eq!(pruned[0].rule, Rule::Headroom);
}

#[test]
fn prune_keeps_retain_and_names_the_rule() {
    let all: Vec<Snapshot> = (0..5)
        .map(|i| owned(&format!("s{i}"), Completed, i as f64))
        .collect();
    let pruned = prune(&all, 5, &Policy::default(), None, now());
    assert_eq!(ids(&pruned), vec!["s4", "s3"]);
    let reasons: Vec<&str> = pruned.iter().map(|d| d.reason.as_str()).collect();
    assert_eq!(
        reasons,
        vec![
            "owned Completed beyond retain=3: newest #5 under RETENTION=newest",
            "owned Completed beyond retain=3: newest #4 under RETENTION=newest"
        ]
    );
    assert!(pruned.iter().all(|d| d.rule == Rule::BeyondRetain));
}

#[test]
fn prune_removes_owned_failures_but_leaves_creating_alone() {
    let all = vec![
        owned("f", Failed, 1.0),
        owned("c", Creating, 0.1),
        owned("ok", Completed, 2.0),
    ];
    let pruned = prune(&all, 5, &Policy::default(), None, now());
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
    assert_eq!(
        clean_gate(&p),
        Ok(()),
        "pruning still happens on a skipped create"
    );
    let forced = forced_snapshot(&all, limits_of(&all), &Policy::default());
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
    let f = flags(&future, None, None, &Policy::default(), now());
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
    let report = plan_for(&all, &Policy::default(), Action::Report);
    assert!(report.create.is_none() && report.deletions.is_empty());
    let none = settle(&all, Action::Report, None).deletions;
    assert!(none.is_empty(), "report deletes nothing");
    let prune_only = plan_for(&all, &Policy::default(), Action::Prune);
    assert!(prune_only.create.is_none() && prune_only.deletions.is_empty());
    let pruned = settle(&all, Action::Prune, None).deletions;
    assert_eq!(ids(&pruned), vec!["s4", "s3"]);
    let snapshot = plan_for(&all, &Policy::default(), Action::Snapshot);
    assert!(snapshot.create.is_some());
    assert_eq!(
        snapshot.deletions.len(),
        1,
        "only the slot the create needs"
    );
    // After a completed create, `snapshot` restores the headroom and prunes nothing else.
    let mut after: Vec<Snapshot> = all.iter().filter(|s| s.id != "s4").cloned().collect();
    after.push(owned("new", Completed, 0.0));
    let settled = settle(
        &after,
        Action::Snapshot,
        Some(("new", CreatedState::Completed)),
    )
    .deletions;
    assert_eq!(ids(&settled), vec!["s3"]);
    assert!(settled.iter().all(|d| d.rule == Rule::Headroom));
}

#[test]
fn settings_that_exceed_the_quota_change_nothing() {
    let policy = Policy {
        retain: 4,
        ..Policy::default()
    };
    let all = vec![owned("a", Completed, 1.0)];
    let p = plan_for(&all, &policy, Action::Run);
    assert_eq!(p.problems[0].code, "SettingsExceedQuota");
    assert!(
        p.problems[0].message.contains(
            "set RETAIN_COUNT to 3 or less (keeping RESERVED_SLOTS=1), or set RESERVED_SLOTS=0 \
             (keeping RETAIN_COUNT=4)"
        ),
        "{}",
        p.problems[0].message
    );
    assert!(p.create.is_none() && p.deletions.is_empty());
    assert_eq!(clean_gate(&p), Err(PruneBlock::PlanProblem));
    // a report is still allowed
    assert!(plan_for(&all, &policy, Action::Report).problems.is_empty());
}

#[test]
fn leftovers_of_earlier_runs_are_problems() {
    let all = vec![
        owned("f", Failed, 1.0),
        owned("stuck", Creating, 0.5),
        owned("young", Creating, 0.01),
    ];
    let p = run_plan(&all);
    let codes: Vec<&str> = p.problems.iter().map(|x| x.code.as_str()).collect();
    assert_eq!(codes, vec!["SnapshotFailed", "SnapshotStuckCreating"]);
    assert_eq!(
        clean_gate(&p),
        Ok(()),
        "settled snapshots may be pruned beside a Creating one"
    );
    assert_eq!(
        headroom_gate(&all, &Policy::default(), Action::Run, None),
        Err(PruneBlock::SnapshotCreating),
        "the headroom waits while an owned snapshot is Creating"
    );
}

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
    assert!(flags(&all, Some(ok), Some(4), &Policy::default(), now()).is_empty());
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
    assert!(prune(&all, 5, &Policy::default(), None, now()).is_empty());
    let opt_in = Policy {
        prune_unowned: true,
        ..Policy::default()
    };
    let pruned = prune(&all, 5, &opt_in, None, now());
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
    assert_eq!(ids(&prune(&all, 5, &policy, None, now())), vec!["fresh"]);
    assert!(prune(&all, 5, &policy, Some("fresh"), now()).is_empty());
}

// ---- Rules added in 0.2 (each failed on 0.1's policy) ----

#[test]
fn ownership_means_the_exact_name_not_the_prefix() {
    // A person's snapshot and another deployment's (prefix keeper-prod-) are not the keeper's,
    // however old they are and however full the quota is.
    let mut all = vec![
        snap(
            "human",
            Some("keeper-before-schema-ext-DO-NOT-DELETE"),
            Manual,
            Completed,
            90.0,
        ),
        snap(
            "prod",
            Some("keeper-prod-20260101T060000Z"),
            Manual,
            Completed,
            80.0,
        ),
    ];
    all.push(owned("a", Completed, 3.0));
    all.push(owned("b", Completed, 2.0));
    all.push(owned("c", Completed, 1.5));
    let p = run_plan(&all);
    assert_eq!(ids(&p.deletions), vec!["a"], "{p:?}");
    for s in &all[..2] {
        assert_eq!(
            deletable(s, &all, &Policy::default()),
            Err(Protection::NotOwned)
        );
    }
    let pruned = prune(&all, 5, &Policy::default(), None, now());
    assert!(!ids(&pruned).contains(&"human") && !ids(&pruned).contains(&"prod"));
}

#[test]
fn an_owned_snapshot_still_creating_holds_both_the_create_and_make_room() {
    // Past MIN_INTERVAL_MINUTES, with a full quota: 0.1 deleted a Completed snapshot and
    // created again, so stuck snapshots ate the restorable ones one day at a time.
    let all = vec![
        owned("a", Completed, 3.0),
        owned("b", Completed, 2.0),
        owned("c", Completed, 1.5),
        owned("d", Completed, 1.2),
        owned("stuck", Creating, 1.0),
    ];
    let p = run_plan(&all);
    assert!(p.create.is_none() && p.deletions.is_empty(), "{p:?}");
    assert!(p
        .create_skipped
        .as_deref()
        .unwrap()
        .contains("still Creating"));
    // Forced too.
    let forced = forced_snapshot(&all, limits_of(&all), &Policy::default());
    assert!(forced.create.is_none() && forced.deletions.is_empty());
    // CREATING_TIMEOUT_HOURS keeps its meaning: past it, the stuck snapshot is a problem.
    assert!(p.problems.iter().any(|x| x.code == "SnapshotStuckCreating"));
}

#[test]
fn make_room_frees_only_what_the_create_needs_and_a_failed_new_snapshot_is_deleted() {
    // 3 unowned manual, 2 keeper snapshots, a newer Auto: 0.1 deleted both keeper snapshots
    // before a create that then Failed.
    let mut all = theirs(3);
    all.push(owned("k1", Completed, 10.0));
    all.push(owned("k2", Completed, 5.0));
    all.push(snap("auto", None, Auto, Completed, 0.5));
    let p = run_plan(&all);
    assert_eq!(
        ids(&p.deletions),
        vec!["k1"],
        "only the one slot the create needs"
    );
    let name = p.create.clone().unwrap();
    // The create ends Failed: the run deletes the failed snapshot, and nothing else.
    let mut after: Vec<Snapshot> = all.iter().filter(|s| s.id != "k1").cloned().collect();
    let mut failed = owned("new", Failed, 0.0);
    failed.name = Some(name);
    after.push(failed);
    let gate = prune_gate(&p, true);
    assert_eq!(gate, Err(PruneBlock::ApiFailure));
    let settled = after_run(
        &after,
        5,
        &Policy::default(),
        Action::Run,
        Some(("new", CreatedState::Failed)),
        gate,
        now(),
    )
    .deletions;
    assert_eq!(ids(&settled), vec!["new"]);
    assert_eq!(settled[0].rule, Rule::NewFailed);
    assert!(
        after.iter().any(|s| s.id == "k2"),
        "a restore point is kept"
    );
}

#[test]
fn one_request_takes_at_most_one_snapshot_whatever_the_interval_and_force() {
    let policy = Policy {
        min_interval_secs: 0,
        ..Policy::default()
    };
    let first = plan_for(&[], &policy, Action::Snapshot);
    let name = first.create.clone().unwrap();
    // The retried invocation (same request id) sees the snapshot the first attempt took.
    for status in [Creating, Completed] {
        let mut taken = owned("s1", status, 0.0);
        taken.name = Some(name.clone());
        let one = limits_of(std::slice::from_ref(&taken));
        let retry = forced_snapshot(&[taken], one, &policy);
        assert!(retry.create.is_none(), "{status:?}: {retry:?}");
        assert!(
            retry
                .create_skipped
                .as_deref()
                .unwrap()
                .contains("already took"),
            "{retry:?}"
        );
    }
    // Another request may take its own.
    let mut taken = owned("s1", Completed, 0.0);
    taken.name = Some(name);
    let one = limits_of(std::slice::from_ref(&taken));
    let other = plan(
        &[taken],
        one,
        &policy,
        &Intent {
            force: true,
            ..Intent::new(Action::Snapshot, "req-2", now())
        },
    );
    assert!(other.create.is_some());
}

#[test]
fn a_quota_count_the_listing_does_not_support_deletes_nothing_and_is_reported() {
    // GetSnapshotLimits says 5, the listing shows 3: 0.1 deleted two restore points for nothing.
    let all = owned_completed(&[3.0, 2.0, 1.0]);
    let claimed = SnapshotLimits {
        manual_limit: 5,
        manual_count: 5,
    };
    let p = plan(&all, claimed, &Policy::default(), &intent(Action::Run));
    assert!(p.deletions.is_empty(), "{p:?}");
    assert!(p.create.is_some());
    let f = flags(&all, Some(claimed), Some(3), &Policy::default(), now());
    assert!(f
        .iter()
        .any(|f| f.code == "quota-count-disagrees" && f.message.contains("counted 5")));
    // And the reverse: the listing shows more than the count; the listing is what is planned.
    let mut five = all.clone();
    five.push(owned("d", Completed, 1.2));
    five.push(owned("e", Completed, 1.1));
    let low = SnapshotLimits {
        manual_limit: 5,
        manual_count: 3,
    };
    assert_eq!(
        plan(&five, low, &Policy::default(), &intent(Action::Run))
            .deletions
            .len(),
        1
    );
}

#[test]
fn names_written_by_version_0_1_are_pruned_retained_and_flagged_like_new_ones() {
    // An inventory exactly as 0.1 left it: five snapshots named keeper-YYYYMMDDTHHMMSSZ.
    let old: Vec<Snapshot> = [
        ("s-0000000001", "keeper-20260520T060000Z", 188.0),
        ("s-0000000002", "keeper-20260801T060000Z", 115.0),
        ("s-0000000003", "keeper-20261001T060000Z", 54.0),
        ("s-0000000004", "keeper-20261110T060000Z", 14.0),
        ("s-0000000005", "keeper-20261123T060000Z", 1.0),
    ]
    .iter()
    .map(|(id, name, age)| snap(id, Some(name), Manual, Completed, *age))
    .collect();
    for s in &old {
        assert!(
            is_owned(s, &Policy::default()),
            "{:?} must stay owned",
            s.name
        );
    }
    let p = run_plan(&old);
    assert_eq!(ids(&p.deletions), vec!["s-0000000001"]);
    assert_eq!(p.deletions[0].rule, Rule::MakeRoomUnrestorable);
    let pruned = prune(&old, 5, &Policy::default(), None, now());
    assert_eq!(ids(&pruned), vec!["s-0000000001", "s-0000000002"]);
    let f = flags(&old, None, None, &Policy::default(), now());
    assert!(f
        .iter()
        .any(|f| f.code == "unrestorable" && f.snapshot_id.as_deref() == Some("s-0000000001")));
}

#[test]
fn an_inventory_named_by_0_1_is_treated_exactly_as_the_same_inventory_named_by_0_2() {
    // The same snapshots (ids, times, statuses), once with 0.1's names and once with the
    // names this version writes: every decision must be the same.
    let shape = [
        ("s-01", Completed, 200.0),
        ("s-02", Failed, 30.0),
        ("s-03", Completed, 155.0),
        ("s-04", Completed, 20.0),
        ("s-05", Completed, 2.0),
    ];
    let named = |tagged: bool| -> Vec<Snapshot> {
        shape
            .iter()
            .map(|(id, status, age)| {
                let mut s = owned(id, *status, *age);
                if tagged {
                    s.name = Some(ownership::snapshot_name(
                        "keeper-",
                        s.start_time,
                        "0a1b2c3d",
                    ));
                }
                s
            })
            .collect()
    };
    let (old, new) = (named(false), named(true));
    for s in old.iter().chain(&new) {
        assert!(is_owned(s, &Policy::default()), "{:?}", s.name);
    }
    let ids_rules = |d: &[Deletion]| -> Vec<(String, Rule)> {
        d.iter().map(|x| (x.snapshot_id.clone(), x.rule)).collect()
    };
    for action in [Action::Run, Action::Snapshot, Action::Prune] {
        let (a, b) = (
            plan_for(&old, &Policy::default(), action),
            plan_for(&new, &Policy::default(), action),
        );
        assert_eq!(
            ids_rules(&a.deletions),
            ids_rules(&b.deletions),
            "{action:?}"
        );
        assert_eq!(a.create.is_some(), b.create.is_some(), "{action:?}");
        assert_eq!(
            a.problems.iter().map(|p| p.code).collect::<Vec<_>>(),
            b.problems.iter().map(|p| p.code).collect::<Vec<_>>()
        );
    }
    assert_eq!(
        ids_rules(&prune(&old, 5, &Policy::default(), None, now())),
        ids_rules(&prune(&new, 5, &Policy::default(), None, now()))
    );
    let flags_of = |all: &[Snapshot]| -> Vec<(&'static str, Option<String>)> {
        flags(
            all,
            Some(limits_of(all)),
            Some(5),
            &Policy::default(),
            now(),
        )
        .into_iter()
        .map(|f| (f.code.as_str(), f.snapshot_id))
        .collect()
    };
    assert_eq!(flags_of(&old), flags_of(&new));
    assert!(
        !prune(&old, 5, &Policy::default(), None, now()).is_empty(),
        "the old snapshots are pruned, not frozen"
    );
}

#[test]
fn the_quota_after_a_run_counts_every_manual_slot_and_the_restore_reach() {
    let all = vec![
        owned("s1", Completed, 200.0), // past the restore limit: not restorable
        owned("s2", Completed, 179.5), // the oldest still restorable
        owned("s3", Failed, 3.0),      // holds a slot, restores nothing
        snap("a1", None, Auto, Completed, 1.0),
        owned("s4", Creating, 0.1),
    ];
    let q = quota_after(&all, limits_of(&all), now());
    assert_eq!((q.manual_in_use, q.manual_limit, q.free_slots), (4, 5, 1));
    assert_eq!(q.oldest_restorable_age_days, Some(179.5));

    let full: Vec<Snapshot> = theirs(6);
    let q = quota_after(&full, limits_of(&full), now());
    assert_eq!(
        q.free_slots, 0,
        "never below zero when the listing exceeds the limit"
    );

    let none = vec![owned("s1", Completed, 181.0), owned("s2", Failed, 1.0)];
    let q = quota_after(&none, limits_of(&none), now());
    assert_eq!(q.oldest_restorable_age_days, None, "nothing restorable");
}

// ---- Issue 22: each failed on the policy before it (written first, then fixed) ----

#[test]
fn the_snapshot_action_gives_up_a_failed_snapshot_before_a_restore_point() {
    // 3 owned Completed, an owned Failed and the new one: 5 of 5. Restoring the headroom must
    // take the Failed snapshot (it restores nothing), not the oldest restore point.
    let mut all = owned_completed(&[3.0, 2.0, 1.0]);
    all.push(owned("failed", Failed, 1.5));
    all.push(owned("new", Completed, 0.0));
    let after = settle(
        &all,
        Action::Snapshot,
        Some(("new", CreatedState::Completed)),
    );
    assert_eq!(ids(&after.deletions), vec!["failed"]);
    assert_eq!(after.deletions[0].rule, Rule::Failed);
    assert!(after.problems.is_empty());
}

#[test]
fn prune_never_restores_the_headroom() {
    // 3 unowned + 2 owned Completed: 5 of 5, the reserved slot taken.
    let mut all = theirs_aged(3, 5.0);
    all.extend(owned_completed(&[2.0, 1.0]));
    let pruned = settle(&all, Action::Prune, None);
    assert!(pruned.deletions.is_empty(), "{:?}", pruned.deletions);
    assert_eq!(pruned.headroom_held, None, "prune never restores headroom");
}

#[test]
fn the_headroom_is_paid_by_a_newer_completed_restore_point_whichever_run_took_it() {
    // 3 unowned + 2 owned Completed: 5 of 5. A run whose create was held (the newest is
    // recent) gives up the older one: the newer one is Completed and stays.
    let mut all = theirs_aged(3, 5.0);
    all.extend(owned_completed(&[2.0, 1.0]));
    let held = settle(&all, Action::Run, None);
    assert_eq!(ids(&held.deletions), vec!["a"]);
    assert_eq!(held.deletions[0].rule, Rule::Headroom);
    assert_eq!(held.headroom_held, None);
    assert!(held.problems.is_empty(), "{:?}", held.problems);
    // The run's own snapshot still Creating: the settled ones pay all the same, but never the
    // newest Completed; with only that one left in the way, the headroom waits for the new one.
    let mut pending = all.clone();
    pending.push(owned("new", Creating, 0.0));
    let waiting = settle(&pending, Action::Run, Some(("new", CreatedState::Creating)));
    assert_eq!(ids(&waiting.deletions), vec!["a"]);
    assert_eq!(
        waiting.headroom_held,
        Some(PruneBlock::NewSnapshotNotCompleted)
    );
    assert!(waiting.problems.is_empty(), "{:?}", waiting.problems);
}

#[test]
fn an_earlier_runs_snapshot_still_creating_holds_the_headroom() {
    // The snapshot that borrowed the slot has not completed: nothing newer pays for it.
    let mut all = theirs_aged(2, 5.0);
    all.extend(owned_completed(&[2.0, 1.0]));
    all.push(owned("earlier", Creating, 0.1));
    let held = settle(&all, Action::Run, None);
    assert!(held.deletions.is_empty(), "{:?}", held.deletions);
    assert_eq!(held.headroom_held, Some(PruneBlock::SnapshotCreating));
}

#[test]
fn a_slow_snapshot_beside_someone_elses_leaves_the_reserved_slot_free() {
    // One unowned snapshot, three owned Completed (the last one taken by the previous run, slower
    // than its wait), and this run's own still Creating: 5 of 5. The previous run's snapshot
    // pays for the slot: the least worth goes, the newest Completed and the new one stay.
    let mut all = theirs_aged(1, 9.0);
    all.extend(owned_completed(&[3.0, 2.0, 1.0]));
    all.push(owned("new", Creating, 0.0));
    let after = settle(&all, Action::Run, Some(("new", CreatedState::Creating)));
    assert_eq!(ids(&after.deletions), vec!["a"]);
    assert_eq!(after.deletions[0].rule, Rule::Headroom);
    assert_eq!(after.headroom_held, None);
    let left = manual_in_use(&all) as usize - after.deletions.len();
    assert_eq!(left, 4, "one slot free for a schema extension");
}

#[test]
fn settled_snapshots_are_pruned_while_the_new_one_is_still_creating() {
    // Snapshots slower than the wait budget: every run's own snapshot is still Creating. The
    // Completed snapshots of earlier runs beyond RETAIN_COUNT are pruned all the same.
    let mut all = owned_completed(&[4.0, 3.0, 2.0, 1.0]);
    all.push(owned("new", Creating, 0.0));
    let after = settle(&all, Action::Run, Some(("new", CreatedState::Creating)));
    assert_eq!(ids(&after.deletions), vec!["a"]);
    assert_eq!(after.deletions[0].rule, Rule::BeyondRetain);
    // Three Completed restore points are kept: the Creating one does not count.
    let completed_left = all
        .iter()
        .filter(|s| s.status == Completed && !ids(&after.deletions).contains(&s.id.as_str()))
        .count();
    assert_eq!(completed_left, 3);
}

#[test]
fn an_interval_equal_to_the_schedule_period_skips_no_run() {
    // Hourly schedule, MIN_INTERVAL_MINUTES=60: AWS dated the last snapshot a few seconds
    // after the keeper's clock, and EventBridge may fire a few seconds early.
    let last = vec![owned("last", Completed, (3600.0 - 7.0) / DAY as f64)];
    let p = run_plan(&last);
    assert!(p.create.is_some(), "{p:?}");
    // Well inside the interval it still holds.
    let recent = vec![owned("recent", Completed, 40.0 / (24.0 * 60.0))];
    assert!(run_plan(&recent).create.is_none());
    // The slack is a tenth of the interval, at most five minutes.
    let policy = Policy {
        min_interval_secs: 10 * 60,
        ..Policy::default()
    };
    assert_eq!(policy.recent_below_secs(), 9 * 60);
    assert_eq!(Policy::default().recent_below_secs(), 55 * 60);
}

#[test]
fn a_future_dated_newest_does_not_let_the_reserved_slot_be_borrowed() {
    // 3 unowned + the keeper's newest Completed, dated a day in the future (clock skew). It
    // stays the newest after the create, so the slot borrowed for the new snapshot would
    // never come back: the plan refuses, as it does when nothing could be freed.
    let mut all = theirs_aged(3, 5.0);
    all.push(owned("future", Completed, -1.0));
    let p = run_plan(&all);
    assert!(p.create.is_none(), "{p:?}");
    assert_eq!(p.problems[0].code, "QuotaReservedSlotsBlocked");
}

#[test]
fn headroom_that_cannot_be_restored_after_the_create_is_a_problem() {
    // The new snapshot completed, but another owned snapshot dated later protects itself as
    // the newest: 5 of 5 and nothing more the keeper may delete.
    let mut all = theirs_aged(3, 5.0);
    all.push(owned("future", Completed, -1.0));
    all.push(owned("new", Completed, 0.0));
    let after = settle(&all, Action::Run, Some(("new", CreatedState::Completed)));
    assert!(after.deletions.is_empty(), "{:?}", after.deletions);
    let codes: Vec<&str> = after.problems.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes, vec!["QuotaReservedSlotsBlocked"]);
    assert!(after.problems[0].message.contains("clock skew"));
}

#[test]
fn settings_advice_for_tiny_quotas_can_be_followed() {
    for (limit, expected) in [
        (0, "leave it out"),
        (1, "leave it out"),
        (2, "set RETAIN_COUNT=1 and RESERVED_SLOTS=0"),
        (
            3,
            "set RETAIN_COUNT to 1 or less (keeping RESERVED_SLOTS=1)",
        ),
    ] {
        let all = vec![owned("a", Completed, 1.0)];
        let limits = SnapshotLimits {
            manual_limit: limit,
            manual_count: 1,
        };
        let p = plan(&all, limits, &Policy::default(), &intent(Action::Run));
        assert_eq!(p.problems[0].code, "SettingsExceedQuota", "{limit}");
        assert!(
            p.problems[0].message.contains(expected),
            "quota {limit}: {}",
            p.problems[0].message
        );
        // Whatever it advises is accepted by the settings (RETAIN_COUNT >= 1).
        assert!(!p.problems[0].message.contains("RETAIN_COUNT to 0"));
    }
}

#[test]
fn a_snapshot_listed_twice_counts_once() {
    // 4 owned, one of them listed twice: 4 in use, not 5, so nothing makes room.
    let mut all = owned_completed(&[4.0, 3.0, 2.0, 1.5]);
    all.push(all[0].clone());
    assert_eq!(manual_in_use(&all), 4);
    let p = run_plan(&all);
    assert!(p.deletions.is_empty(), "{:?}", p.deletions);
    // distinct() keeps one copy, and the settled status when the copies disagree.
    let mut creating = all[1].clone();
    creating.status = Creating;
    let listed = vec![creating, all[1].clone(), all[0].clone(), all[0].clone()];
    let once = distinct(listed);
    assert_eq!(once.len(), 2);
    assert_eq!(once[0].status, Completed);
}

#[test]
fn an_unrestorable_snapshot_is_no_restore_point_in_newest_mode() {
    // The demo's day 1: an owned snapshot 185 days old beside three restorable ones. It counts
    // neither towards RETAIN_COUNT nor `kept`: it goes by its own rule, and the three stay.
    let all = owned_completed(&[185.0, 3.0, 2.0, 1.0]);
    let ranked = by_worth(&all, &Policy::default(), now());
    let kept: Vec<&str> = ranked.iter().map(|(s, _)| s.id.as_str()).collect();
    assert_eq!(kept, vec!["d", "c", "b"]);
    let after = settle(&all, Action::Prune, None);
    assert_eq!(ids(&after.deletions), vec!["a"]);
    assert_eq!(after.deletions[0].rule, Rule::Unrestorable);
    // Before a create it is the first to make room, by its own rule.
    let mut five = all.clone();
    five.push(owned("e", Completed, 0.5));
    let p = run_plan(&five);
    assert_eq!(ids(&p.deletions), vec!["a"]);
    assert_eq!(p.deletions[0].rule, Rule::MakeRoomUnrestorable);
}

#[test]
fn the_newest_completed_is_kept_however_old_it_is() {
    // Only snapshots past 180 days: the newest of them is still never deleted.
    let all = owned_completed(&[200.0, 190.0]);
    let after = settle(&all, Action::Prune, None);
    assert_eq!(ids(&after.deletions), vec!["a"]);
    assert!(by_worth(&all, &Policy::default(), now()).is_empty());
}

fn tiered_policy(days: &[u32], warn: i64) -> Policy {
    Policy {
        retention: Retention::Tiered {
            days: days.to_vec(),
        },
        warn_age_days: warn,
        ..Policy::default()
    }
}

#[test]
fn under_tiered_a_snapshot_at_warn_age_holds_no_tier_and_goes() {
    // TIERS=35, WARN_AGE_DAYS=71: two failed runs at a boundary left the previous holder 72
    // days old. It holds no tier, and goes before it can warn; the newer ones stay.
    let policy = tiered_policy(&[35], 71);
    let all = owned_completed(&[72.0, 30.0, 1.0]);
    let ranked = by_worth(&all, &policy, now());
    assert!(ranked.iter().all(|(s, _)| s.id != "a"), "{ranked:?}");
    let after = after_run(&all, 5, &policy, Action::Run, None, Ok(()), now());
    assert_eq!(ids(&after.deletions), vec!["a"]);
    assert_eq!(after.deletions[0].rule, Rule::PastWarnAge);
    // `newest` keeps warning about it instead: there the warning is the point.
    let newest = Policy {
        warn_age_days: 71,
        ..Policy::default()
    };
    let after = after_run(&all, 5, &newest, Action::Run, None, Ok(()), now());
    assert!(after.deletions.is_empty(), "{:?}", after.deletions);
}

#[test]
fn under_tiered_the_newest_completed_stays_even_past_warn_age() {
    // After an outage, the newest Completed is past WARN_AGE_DAYS: the guard keeps it, and
    // the flags say so (newest-completed-aging).
    let policy = tiered_policy(&[35], 150);
    let all = owned_completed(&[170.0, 160.0]);
    let after = after_run(&all, 5, &policy, Action::Prune, None, Ok(()), now());
    assert_eq!(ids(&after.deletions), vec!["a"]);
    let flagged = flags(&all[1..], None, None, &policy, now());
    assert!(flagged.iter().any(|f| f.code == "newest-completed-aging"));
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
fn every_function_the_readmes_rule_tables_name_exists() {
    // The README's two tables name a policy function for every rule and decision: a rename
    // that leaves a row pointing nowhere fails here.
    let readme = include_str!("../../README.md");
    let sources = [
        ("mod", include_str!("mod.rs")),
        ("rules", include_str!("rules.rs")),
        ("gate", include_str!("gate.rs")),
        ("worth", include_str!("worth.rs")),
        ("flags", include_str!("flags.rs")),
        ("quota", include_str!("quota.rs")),
        ("eligibility", include_str!("eligibility.rs")),
        ("restore", include_str!("restore.rs")),
        ("guard", include_str!("guard.rs")),
    ];
    let mut named = 0;
    for line in readme.lines().filter(|l| l.starts_with("| ")) {
        for path in line.split('`').filter(|p| p.starts_with("policy::")) {
            let parts: Vec<&str> = path.split("::").collect();
            let (file, function) = match parts.as_slice() {
                ["policy", f] => ("mod", *f),
                ["policy", m, f] => (*m, *f),
                _ => panic!("{path}"),
            };
            let source = sources
                .iter()
                .find(|(m, _)| *m == file)
                .unwrap_or_else(|| panic!("{path}: no policy file {file}"))
                .1;
            assert!(
                source.contains(&format!("fn {function}("))
                    || source.contains(&format!("fn {function}<")),
                "README names {path}, which does not exist"
            );
            named += 1;
        }
    }
    assert!(named >= 20, "{named}");
}
