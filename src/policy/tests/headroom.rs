//! The reserved headroom: when it may be restored, from what, and when it cannot.

use super::*;

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
fn the_keepers_last_restore_point_waits_for_its_successor_to_complete() {
    // Three manual snapshots of someone else's and an Auto one beside the keeper's one
    // Completed point; the run's own snapshot is still Creating. The Auto snapshot is the
    // directory's newest Completed, so the directory-wide guard alone would let the headroom
    // delete the keeper's only point, and a new snapshot that then fails would leave the
    // keeper with nothing.
    let mut all = theirs_aged(3, 5.0);
    all.push(owned("mine", Completed, 1.0));
    let mut aws = owned("aws-daily", Completed, 0.5);
    aws.kind = crate::model::SnapshotType::Auto;
    aws.name = None;
    all.push(aws);
    all.push(owned("new", Creating, 0.0));
    let waiting = settle(
        &all,
        Action::Snapshot,
        Some(("new", CreatedState::Creating)),
    );
    assert!(waiting.deletions.is_empty(), "{:?}", waiting.deletions);
    assert_eq!(
        waiting.headroom_held,
        Some(PruneBlock::NewSnapshotNotCompleted)
    );
    // Once the new one has completed, the old one pays for the headroom.
    let mut done = all.clone();
    done.last_mut().unwrap().status = Completed;
    let freed = settle(
        &done,
        Action::Snapshot,
        Some(("new", CreatedState::Completed)),
    );
    assert_eq!(ids(&freed.deletions), vec!["mine"]);
    assert_eq!(freed.deletions[0].rule, Rule::Headroom);
}
