//! Make-room: what is freed before a create, in what order, and when the quota leaves no room.

use super::*;

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
fn a_quota_full_of_snapshots_the_keeper_may_not_delete_is_a_failure_not_a_deletion() {
    let all = theirs(5);
    let p = run_plan(&all);
    assert!(p.create.is_none() && p.deletions.is_empty());
    assert_eq!(clean_gate(&p), Err(PruneBlock::PlanProblem));
    assert_eq!(p.problems[0].code, "QuotaFull");
    assert!(p.problems[0].message.contains("PRUNE_UNOWNED"));
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
