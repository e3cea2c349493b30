//! Unit tests of the policy, on plain values: the fixtures here, one file per rule or decision.
//! (`worth.rs` and `restore.rs` keep their tests beside them.)

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

mod create;
mod docs;
mod flags;
mod guard;
mod headroom;
mod make_room;
mod pruning;
mod quota;

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

pub(super) fn tiered_policy(days: &[u32], warn: i64) -> Policy {
    Policy {
        retention: Retention::Tiered {
            days: days.to_vec(),
        },
        warn_age_days: warn,
        ..Policy::default()
    }
}

/// Day `day` since 1970-01-01 at 06:00 UTC: tier periods are counted from that day.
pub(super) fn at_day(day: i64) -> Timestamp {
    Timestamp::from_second(day * DAY + 6 * 3600).unwrap()
}

/// An owned Completed snapshot taken on day `day` (see [`at_day`]).
pub(super) fn owned_on_day(id: &str, day: i64) -> Snapshot {
    Snapshot {
        id: id.to_owned(),
        directory_id: "d-0123456789".to_owned(),
        name: Some(format!("keeper-{}", at_day(day).strftime("%Y%m%dT%H%M%SZ"))),
        kind: Manual,
        status: Completed,
        start_time: at_day(day),
    }
}
