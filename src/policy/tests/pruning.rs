//! Pruning after the create: beyond-retain, and the snapshots worth nothing (failed, unrestorable, past WARN_AGE_DAYS under tiered).

use super::*;

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
