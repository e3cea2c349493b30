//! Whether to create: one snapshot per request, none while an owned one is Creating, the minimum interval, actions, leftovers of earlier runs.

use super::*;

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
fn same_input_same_plan() {
    let all = vec![
        owned("a", Completed, 3.0),
        owned("b", Failed, 2.0),
        snap("x", Some("ops"), Manual, Completed, 1.0),
    ];
    assert_eq!(run_plan(&all), run_plan(&all));
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
