//! What the guard never lets go (Auto, unowned, Creating, the newest Completed, the run's own)
//! and ownership: the exact names the keeper wrote, in every released format.

use super::*;

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
fn the_newest_completed_is_kept_however_old_it_is() {
    // Only snapshots past 180 days: the newest of them is still never deleted.
    let all = owned_completed(&[200.0, 190.0]);
    let after = settle(&all, Action::Prune, None);
    assert_eq!(ids(&after.deletions), vec!["a"]);
    assert!(by_worth(&all, &Policy::default(), now()).is_empty());
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
