//! Slow snapshots, lost answers and the service's real shapes (issue 22): each case is a
//! defect found by running the keeper as an operator would, and each test failed before its
//! fix. The whole runner runs, over the in-memory Directory Service where days pass, and over
//! the emulator with the real SDK where the wire matters. The last test runs tiered retention
//! (issue 21) over the emulator, and a switch back to newest.

use crate::support;

use std::time::Duration;

use ds_snapshot_keeper::directory::memory::MemoryDirectoryService;
use ds_snapshot_keeper::directory::DirectoryService;
use ds_snapshot_keeper::model::{CreatedState, Snapshot, SnapshotStatus, SnapshotType};
use ds_snapshot_keeper::policy::{FlagLevel, Rule};
use ds_snapshot_keeper::report::RunReport;
use ds_snapshot_keeper::request::{Action, Request};
use ds_snapshot_keeper::simulate::Simulation;
use ds_snapshot_keeper::Settings;
use jiff::Timestamp;
use serde_json::json;
use support::harness::{scheduled, Harness};

const DIR: &str = ds_snapshot_keeper::simulate::DIRECTORY_ID;
const DAY: i64 = 86_400;
const START: i64 = 1_795_500_000; // 2026-11-24

/// The simulator's directory (`simulate::Simulation`: the real keeper over the memory
/// adapter), with a clock the test moves and a runtime whose time is paused.
struct Sim {
    sim: Simulation,
    keeper_now: i64,
    rt: tokio::runtime::Runtime,
}

impl Sim {
    fn new(settings: Settings) -> Sim {
        Sim {
            sim: Simulation::new(settings, Timestamp::from_second(START).unwrap()),
            keeper_now: START,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap(),
        }
    }

    fn keeper(&self) -> &ds_snapshot_keeper::Keeper<MemoryDirectoryService> {
        &self.sim.keeper
    }

    /// The next run happens at `secs` (seconds since the epoch).
    fn at(&mut self, secs: i64) {
        self.keeper_now = secs;
    }

    fn run(&mut self, request: Request) -> RunReport {
        self.rt
            .block_on(self.sim.run_at(self.keeper_now - START, &request, None))
    }

    fn manual_in_use(&self) -> usize {
        self.sim.samples.last().map_or(0, |s| s.manual_in_use)
    }

    /// A manual snapshot `age_days` before the clock, named as the keeper names its own.
    fn add(&self, id: &str, status: SnapshotStatus, age_days: f64) {
        let start =
            Timestamp::from_second(self.keeper_now - (age_days * DAY as f64) as i64).unwrap();
        self.keeper().ds.add_snapshot(Snapshot {
            id: id.to_owned(),
            directory_id: DIR.to_owned(),
            name: Some(format!("keeper-{}", start.strftime("%Y%m%dT%H%M%SZ"))),
            kind: SnapshotType::Manual,
            status,
            start_time: start,
        });
    }
}

#[test]
fn snapshots_slower_than_the_wait_budget_no_longer_fill_the_quota() {
    // Every run's own snapshot is still Creating when the run ends, and completes before the
    // next. Before the fix, pruning waited for it every day: free slots at the start of ten
    // daily runs were 5,4,3,2,1,0,0,0,0,0.
    let mut sim = Sim::new(Settings::default());
    let mut free_at_start = Vec::new();
    for day in 0..10 {
        sim.at(START + day * DAY);
        sim.keeper().ds.finish_creating(SnapshotStatus::Completed);
        free_at_start.push(5 - sim.manual_in_use());
        sim.keeper().ds.queue_outcome(DIR, SnapshotStatus::Creating);
        let report = sim.run(Request::manual(Action::Run));
        let d = &report.directories[0];
        assert_eq!(
            d.created.as_ref().unwrap().status,
            CreatedState::Creating,
            "day {day}"
        );
        assert_eq!(
            d.prune_blocked, None,
            "day {day}: settled snapshots are pruned"
        );
        // The settled snapshots pay for the headroom; nothing holds it back.
        assert_eq!(d.headroom_held, None, "day {day}");
        if day >= 4 {
            assert!(
                5 - sim.manual_in_use() >= 1,
                "day {day}: the reserved slot is free after the run"
            );
            assert!(d
                .deleted
                .iter()
                .all(|x| x.done && x.deletion.rule == Rule::BeyondRetain));
        }
    }
    assert_eq!(free_at_start, vec![5, 4, 3, 2, 1, 1, 1, 1, 1, 1]);
}

#[test]
fn an_hourly_schedule_with_the_default_interval_snapshots_every_hour() {
    // MIN_INTERVAL_MINUTES=60 on an hourly schedule: AWS dates each snapshot a second or two
    // after the keeper's clock. Before the fix this took one snapshot every two hours.
    let mut sim = Sim::new(Settings::default());
    sim.sim.aws_lag_secs = 2;
    let mut created = 0;
    for hour in 0..12 {
        // EventBridge fires within a few seconds of the hour, and AWS stamps 2 s later.
        let jitter = [0, 3, -2, 1][hour % 4];
        sim.at(START + hour as i64 * 3600 + jitter);
        let report = sim.run(Request::manual(Action::Run));
        if report.directories[0].created.is_some() {
            created += 1;
        }
    }
    assert_eq!(created, 12, "one snapshot every hour");
}

#[test]
fn a_dry_run_reports_flags_and_quota_as_the_run_would_leave_them() {
    // Only an unrestorable snapshot: the real run would take a snapshot, so a dry run must
    // not publish a CRITICAL no-restorable-snapshot.
    let mut sim = Sim::new(Settings {
        dry_run: true,
        ..Settings::default()
    });
    sim.add("s-old", SnapshotStatus::Completed, 200.0);
    let report = sim.run(Request::manual(Action::Run));
    let d = &report.directories[0];
    assert_eq!(d.created.as_ref().unwrap().status, CreatedState::Planned);
    assert!(
        !d.flagged.iter().any(|f| f.code == "no-restorable-snapshot"),
        "{:?}",
        d.flagged
    );
    assert!(!d.flagged.iter().any(|f| f.level == FlagLevel::Critical));
    // The old one restores nothing: it would go by its own rule, and the planned one stays.
    let gone: Vec<(&str, Rule, bool)> = d
        .deleted
        .iter()
        .map(|x| (x.deletion.snapshot_id.as_str(), x.deletion.rule, x.done))
        .collect();
    assert_eq!(gone, vec![("s-old", Rule::Unrestorable, false)]);
    let quota = d.quota.unwrap();
    assert_eq!(quota.manual_in_use, 1, "the planned one");
    assert_eq!(quota.oldest_restorable_age_days, Some(0.0));
    assert!(sim
        .keeper()
        .ds
        .calls()
        .iter()
        .all(|c| *c != "CreateSnapshot"));
}

#[test]
fn a_delete_whose_answer_was_lost_is_counted_as_deleted() {
    // Five owned: one must make room. Its DeleteSnapshot is carried out, the answer lost, and
    // the retry finds it gone. Before the fix: "already gone: deleted by someone else", and
    // summary.deleted under-counted.
    let mut sim = Sim::new(Settings::default());
    for (i, age) in [5.0, 4.0, 3.0, 2.0, 1.0].iter().enumerate() {
        sim.add(&format!("s-{i}"), SnapshotStatus::Completed, *age);
    }
    sim.keeper().ds.lose_next_delete_answer();
    let report = sim.run(Request::manual(Action::Run));
    let d = &report.directories[0];
    let first = &d.deleted[0];
    assert_eq!(first.deletion.snapshot_id, "s-0");
    assert!(first.done, "{first:?}");
    assert!(
        first.deletion.reason.contains("answer was lost"),
        "{}",
        first.deletion.reason
    );
    assert!(!first.deletion.reason.contains("someone else"));
    assert_eq!(report.summary.deleted, d.deleted.len());
    assert_eq!(
        report.summary.deleted, 3,
        "make room, then two beyond retain"
    );
}

#[test]
fn a_snapshot_listed_twice_costs_no_restore_point() {
    // Four owned, one of them listed twice (pages that shifted): 4 in use, not 5.
    let mut sim = Sim::new(Settings::default());
    for (i, age) in [4.0, 3.0, 2.0, 1.0].iter().enumerate() {
        sim.add(&format!("s-{i}"), SnapshotStatus::Completed, *age);
    }
    sim.keeper().ds.list_twice("s-2");
    let report = sim.run(Request::manual(Action::Run));
    let d = &report.directories[0];
    assert!(
        !d.deleted
            .iter()
            .any(|x| matches!(x.deletion.rule, Rule::MakeRoomOldest)),
        "{:?}",
        d.deleted
    );
    assert_eq!(d.snapshots_seen.len(), 4);
    // After the create completes: 5 Completed, beyond retain=3 takes two, the oldest first.
    let gone: Vec<&str> = d
        .deleted
        .iter()
        .map(|x| x.deletion.snapshot_id.as_str())
        .collect();
    assert_eq!(gone, vec!["s-0", "s-1"]);
}

#[test]
fn a_directory_listed_twice_is_acted_on_once() {
    let mut sim = Sim::new(Settings::default());
    let twin = sim
        .rt
        .block_on(sim.keeper().ds.describe_directories(None))
        .unwrap();
    sim.keeper().ds.add_directory(twin[0].clone());
    let report = sim.run(Request::manual(Action::Run));
    assert_eq!(report.directories.len(), 1, "{:?}", report.directories);
    let creates = sim
        .keeper()
        .ds
        .calls()
        .iter()
        .filter(|c| **c == "CreateSnapshot")
        .count();
    assert_eq!(creates, 1);
    assert_eq!(sim.manual_in_use(), 1);
}

#[test]
fn the_snapshot_action_keeps_restore_points_when_a_failed_one_holds_a_slot() {
    let mut sim = Sim::new(Settings::default());
    for (i, age) in [3.0, 2.0, 1.0].iter().enumerate() {
        sim.add(&format!("s-{i}"), SnapshotStatus::Completed, *age);
    }
    sim.add("s-failed", SnapshotStatus::Failed, 1.5);
    let report = sim.run(Request {
        force: true,
        ..Request::manual(Action::Snapshot)
    });
    let d = &report.directories[0];
    assert_eq!(d.created.as_ref().unwrap().status, CreatedState::Completed);
    let gone: Vec<(&str, Rule)> = d
        .deleted
        .iter()
        .map(|x| (x.deletion.snapshot_id.as_str(), x.deletion.rule))
        .collect();
    assert_eq!(gone, vec![("s-failed", Rule::Failed)]);
    assert_eq!(
        sim.manual_in_use(),
        4,
        "three restore points and the new one"
    );
}

// ---- over the emulator ----

#[tokio::test]
async fn one_directory_whose_tags_cannot_be_read_is_reported_and_the_others_carry_on() {
    let h = Harness::new(&[("DISCOVERY_TAG", "ds-snapshot-keeper=enabled")]).await;
    let ok = h.dir().await;
    let unreadable = h.dir().await;
    h.tag(&ok, "ds-snapshot-keeper", "enabled").await;
    h.tag(&unreadable, "ds-snapshot-keeper", "enabled").await;
    h.emu.fault(json!({
        "operation": "ListTagsForResource", "kind": "error", "error_code": "AccessDeniedException",
        "http_status": 400, "directory_id": unreadable,
    }));
    let report = h.run(scheduled()).await;
    let by_id = |id: &str| {
        report
            .directories
            .iter()
            .find(|d| d.directory_id == id)
            .unwrap_or_else(|| panic!("{id} is in the report: {report:?}"))
    };
    assert_eq!(
        by_id(&ok).created.as_ref().unwrap().status,
        CreatedState::Completed
    );
    let bad = by_id(&unreadable);
    assert!(bad.created.is_none());
    assert_eq!(
        bad.errors
            .iter()
            .map(|e| (e.operation.as_str(), e.code.as_str()))
            .collect::<Vec<_>>(),
        vec![("ListTagsForResource", "AccessDeniedException")]
    );
    assert!(h.snapshots(&unreadable).await.is_empty(), "left alone");
    assert_eq!(h.snapshots(&ok).await.len(), 1);
    // It is a failure, so it reaches SNS.
    let msgs = h.messages().await;
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].message.contains("AccessDeniedException"));
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_on_the_wire_is_counted_as_deleted() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let ids = h.emu.seed_owned(&dir, &[5.0, 4.0, 3.0, 2.0, 1.0]);
    h.emu
        .fault(json!({"operation": "DeleteSnapshot", "kind": "lost_answer", "count": 1}));
    let report = h.run(scheduled()).await;
    let d = &report.directories[0];
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.deleted[0].deletion.snapshot_id, ids[0]);
    assert!(d.deleted[0].done);
    assert!(
        d.deleted[0].deletion.reason.contains("answer was lost"),
        "{}",
        d.deleted[0].deletion.reason
    );
    assert_eq!(
        report.summary.deleted, 3,
        "make room, then two beyond retain"
    );
    assert_eq!(h.run_metrics()["RunSnapshotsDeleted"], 3);
    let deletes: Vec<_> = h
        .emu
        .calls()
        .into_iter()
        .filter(|c| c["operation"] == "DeleteSnapshot")
        .map(|c| c["status"].as_i64().unwrap())
        .collect();
    assert_eq!(
        deletes,
        vec![0, 400, 200, 200],
        "lost, retried (gone), then the two pruned"
    );
}

#[tokio::test]
async fn a_tiered_run_keeps_the_firsts_of_this_and_the_previous_period_and_says_so() {
    let h = Harness::new(&[("RETENTION", "tiered"), ("TIERS", "35")]).await;
    let dir = h.dir().await;
    let ages = [65.0, 45.0, 30.0, 12.0, 1.0];
    let seeded = h.emu.seed_owned(&dir, &ages);
    // Which seeded snapshots hold the 35-day tier, worked out here from the periods (counted
    // from 1970-01-01 UTC) and not by the keeper's code: the first of the current period and
    // the first of the latest earlier one that has a snapshot.
    let now = Timestamp::now().as_second();
    let period = |age: f64| (now - (age * DAY as f64) as i64).div_euclid(35 * DAY);
    let current = period(0.0);
    let first_in = |p: i64| {
        ages.iter()
            .position(|a| period(*a) == p)
            .map(|i| seeded[i].clone())
    };
    let previous = ages
        .iter()
        .map(|a| period(*a))
        .filter(|p| *p < current)
        .max();
    let prev_holder = previous.and_then(first_in).unwrap();
    let cur_holder = first_in(current);
    // A dry run first: it says what it would keep, the planned snapshot and the tiers, and
    // changes nothing.
    let before = h.ids(&dir).await;
    let dry = h.run(json!({"action": "run", "dry_run": true})).await;
    let planned = &dry.directories[0];
    assert_eq!(planned.kept.len(), 3, "{:?}", planned.kept);
    assert_eq!(planned.kept[0].snapshot_id, "(planned)");
    assert!(planned.kept.iter().any(|k| k.snapshot_id == prev_holder
        && k.worth
            == ds_snapshot_keeper::policy::Worth::Tier {
                days: 35,
                previous: true
            }));
    assert_eq!(h.ids(&dir).await, before);
    let report = h.run(scheduled()).await;
    let d = &report.directories[0];
    let new_id = d.created.as_ref().unwrap().snapshot_id.clone().unwrap();
    assert_eq!(d.created.as_ref().unwrap().status, CreatedState::Completed);
    // Kept: the new snapshot (the newest), both tier holders, and (when the current period had
    // no snapshot before, so the new one is its first) the next newest, the 1-day-old one.
    let mut expected_kept = vec![new_id.clone(), prev_holder.clone()];
    expected_kept.push(cur_holder.clone().unwrap_or_else(|| seeded[4].clone()));
    let mut left = h.ids(&dir).await;
    left.sort();
    expected_kept.sort();
    assert_eq!(left, expected_kept, "{:?}", d.deleted);
    for x in &d.deleted {
        assert!(
            matches!(x.deletion.rule, Rule::MakeRoomOldest | Rule::BeyondRetain),
            "{x:?}"
        );
        assert_ne!(x.deletion.snapshot_id, prev_holder);
        if x.deletion.rule == Rule::BeyondRetain {
            assert!(
                x.deletion.reason.contains("under RETENTION=tiered"),
                "{}",
                x.deletion.reason
            );
        }
    }
    // The report names the tier each kept snapshot holds.
    let worth_of = |id: &str| d.kept.iter().find(|k| k.snapshot_id == id).map(|k| k.worth);
    assert_eq!(
        worth_of(&prev_holder),
        Some(ds_snapshot_keeper::policy::Worth::Tier {
            days: 35,
            previous: true
        })
    );
    assert_eq!(
        worth_of(&new_id),
        Some(ds_snapshot_keeper::policy::Worth::Recent { rank: 1 })
    );
    let text = ds_snapshot_keeper::render::text(&report);
    assert!(
        text.contains("first of the previous 35-day period"),
        "{text}"
    );
    // Switch to newest: the next run deletes nothing the newest mode keeps (its three newest).
    let mut h = h;
    h.settings.retention = ds_snapshot_keeper::policy::Retention::Newest;
    h.settings.min_interval = Duration::ZERO;
    let before: Vec<(String, i64)> = h
        .snapshots(&dir)
        .await
        .iter()
        .map(|s| {
            (
                s.snapshot_id().unwrap().to_owned(),
                s.start_time().unwrap().secs(),
            )
        })
        .collect();
    let report = h.run(scheduled()).await;
    let d = &report.directories[0];
    let new_id = d.created.as_ref().unwrap().snapshot_id.clone().unwrap();
    let mut newest_first = before.clone();
    newest_first.sort_by_key(|(_, t)| std::cmp::Reverse(*t));
    let newest_keeps: Vec<&str> = std::iter::once(new_id.as_str())
        .chain(newest_first.iter().map(|(id, _)| id.as_str()))
        .take(3)
        .collect();
    for x in d.deleted.iter().filter(|x| x.done) {
        assert!(
            !newest_keeps.contains(&x.deletion.snapshot_id.as_str()),
            "{x:?}"
        );
    }
    assert_eq!(d.deleted.len(), 1, "one beyond retain=3, as newest deletes");
    assert!(d.kept.iter().all(|k| !k.worth.is_tier()));
}

// Decide from what is there now: slow snapshots beside someone else's, and a directory that
// changes while the keeper waits.

/// Nine daily runs whose own snapshots outlast the wait (each completes before the next run),
/// beside one manual snapshot the keeper does not own. Returns the manual snapshots in use
/// after each run.
fn slow_runs_beside_one_unowned(settings: Settings) -> Vec<usize> {
    let mut sim = Sim::new(settings);
    sim.sim.add_unowned(-30 * DAY, "before-schema-change");
    let mut in_use = Vec::new();
    for day in 0..9 {
        sim.at(START + day * DAY);
        sim.keeper().ds.finish_creating(SnapshotStatus::Completed);
        sim.keeper().ds.queue_outcome(DIR, SnapshotStatus::Creating);
        let report = sim.run(Request::manual(Action::Run));
        let d = &report.directories[0];
        assert_eq!(report.summary.failures, 0, "day {day}: {:?}", d.errors);
        let newest_completed = sim
            .keeper()
            .ds
            .snapshots()
            .into_iter()
            .filter(|s| s.status == SnapshotStatus::Completed)
            .max_by_key(|s| s.start_time);
        assert!(
            newest_completed.is_some(),
            "day {day}: a restore point stays"
        );
        in_use.push(sim.manual_in_use());
        if day >= 3 {
            assert!(
                !d.flagged.iter().any(|f| f.code == "reserved-slots-in-use"),
                "day {day}: {:?}",
                d.flagged
            );
        }
    }
    in_use
}

#[test]
fn slow_snapshots_beside_someone_elses_leave_the_reserved_slot_free_in_newest_mode() {
    // Before the fix: 2,3,4,5,5,5,5,5,5 (the headroom waited for each run's own snapshot, and
    // the previous run's, Completed by then, never paid for it).
    assert_eq!(
        slow_runs_beside_one_unowned(Settings::default()),
        vec![2, 3, 4, 4, 4, 4, 4, 4, 4]
    );
}

#[test]
fn slow_snapshots_beside_someone_elses_leave_the_reserved_slot_free_in_tiered_mode() {
    let tiered = support::harness::settings(&[("RETENTION", "tiered")]);
    assert_eq!(
        slow_runs_beside_one_unowned(tiered),
        vec![2, 3, 4, 4, 4, 4, 4, 4, 4]
    );
}

/// Three owned restore points, `extra_unowned` manual snapshots of someone else's, and a
/// `snapshot` request (the schema-extension case: headroom, no beyond-retain).
fn three_owned(extra_unowned: usize) -> Sim {
    let mut sim = Sim::new(Settings::default());
    sim.at(START);
    for (i, age) in [3.0, 2.0, 1.0].iter().enumerate() {
        sim.add(&format!("s-own{i}"), SnapshotStatus::Completed, *age);
    }
    for i in 0..extra_unowned {
        sim.sim
            .add_unowned(-(10 + i as i64) * DAY, &format!("ops-{i}"));
    }
    sim
}

/// A manual snapshot someone else takes at the run's time.
fn theirs_taken_now(name: &str) -> Snapshot {
    Snapshot {
        id: "s-theirs".to_owned(),
        directory_id: DIR.to_owned(),
        name: Some(name.to_owned()),
        kind: SnapshotType::Manual,
        status: SnapshotStatus::Completed,
        start_time: Timestamp::from_second(START).unwrap(),
    }
}

#[test]
fn a_snapshot_deleted_by_someone_else_during_the_wait_costs_no_restore_point() {
    // 3 owned + 1 unowned; the new snapshot makes 5 of 5. While the keeper waits, the owner of
    // the unowned one deletes it: 4 of 5, the reserved slot is free without the headroom rule.
    // Before the fix the keeper deleted one of its restore points anyway (decided from the
    // listing taken before the wait), left 3 in use, and reported 1 free.
    let mut sim = three_owned(1);
    let theirs = sim
        .keeper()
        .ds
        .snapshots()
        .into_iter()
        .find(|s| s.name.as_deref() == Some("ops-0"))
        .unwrap()
        .id;
    sim.keeper()
        .ds
        .meanwhile(ds_snapshot_keeper::directory::memory::Meanwhile::Delete(
            theirs,
        ));
    let report = sim.run(Request::manual(Action::Snapshot));
    let d = &report.directories[0];
    assert_eq!(d.created.as_ref().unwrap().status, CreatedState::Completed);
    assert!(d.deleted.is_empty(), "{:?}", d.deleted);
    let quota = d.quota.unwrap();
    assert_eq!((quota.manual_in_use, quota.free_slots), (4, 1));
    assert_eq!(sim.keeper().ds.snapshots().len(), 4);
}

#[test]
fn a_snapshot_taken_by_someone_else_during_the_wait_is_seen_and_the_headroom_kept() {
    // 3 owned; the new snapshot makes 4 of 5. While the keeper waits, someone takes one: 5 of
    // 5. Before the fix the report said 1 free while 0 were, and raised no warning; now the
    // listing after the wait shows it, and the headroom rule frees the slot.
    let mut sim = three_owned(0);
    sim.keeper()
        .ds
        .meanwhile(ds_snapshot_keeper::directory::memory::Meanwhile::Take(
            theirs_taken_now("before-os-update"),
        ));
    let report = sim.run(Request::manual(Action::Snapshot));
    let d = &report.directories[0];
    let gone: Vec<(&str, Rule)> = d
        .deleted
        .iter()
        .map(|x| (x.deletion.snapshot_id.as_str(), x.deletion.rule))
        .collect();
    assert_eq!(gone, vec![("s-own0", Rule::Headroom)]);
    let quota = d.quota.unwrap();
    assert_eq!((quota.manual_in_use, quota.free_slots), (4, 1));
    assert!(sim
        .keeper()
        .ds
        .snapshots()
        .iter()
        .any(|s| s.id == "s-theirs"));
}

#[test]
fn the_quota_reported_after_a_wait_is_the_listings_even_when_nothing_can_be_deleted() {
    // 4 unowned + nothing owned: the keeper's snapshot makes 5 of 5. During the wait nothing
    // changes; the report must say 0 free and warn.
    let mut sim = Sim::new(Settings::default());
    sim.at(START);
    for i in 0..3 {
        sim.sim.add_unowned(-(10 + i) * DAY, &format!("ops-{i}"));
    }
    sim.keeper()
        .ds
        .meanwhile(ds_snapshot_keeper::directory::memory::Meanwhile::Take(
            theirs_taken_now("during-the-wait"),
        ));
    let report = sim.run(Request::manual(Action::Snapshot));
    let d = &report.directories[0];
    let quota = d.quota.unwrap();
    assert_eq!((quota.manual_in_use, quota.free_slots), (5, 0));
    assert!(d.flagged.iter().any(|f| f.code == "reserved-slots-in-use"));
    assert!(
        d.deleted.is_empty(),
        "the only owned one is the newest Completed"
    );
}

#[test]
fn a_run_that_crosses_a_period_boundary_reports_kept_by_the_roles_it_chose_by() {
    // TIERS=35. The run starts an hour before a period boundary and ends an hour after it.
    // Before the fix, `kept` was ranked again at the end: the run deleted X as "newest #2"
    // and then labelled P, which it had kept as the previous period's first, "newest #3".
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    let period = 35 * DAY;
    let boundary = (START / period + 2) * period;
    let t0 = boundary - 3600;
    let ds = MemoryDirectoryService::with_directory(DIR);
    ds.set_now(Timestamp::from_second(t0).unwrap());
    let owned = |id: &str, at: i64| {
        let start = Timestamp::from_second(at).unwrap();
        Snapshot {
            id: id.to_owned(),
            directory_id: DIR.to_owned(),
            name: Some(format!("keeper-{}", start.strftime("%Y%m%dT%H%M%SZ"))),
            kind: SnapshotType::Manual,
            status: SnapshotStatus::Completed,
            start_time: start,
        }
    };
    ds.add_snapshot(owned("s-p", boundary - 69 * DAY));
    ds.add_snapshot(owned("s-c", boundary - 35 * DAY + 3600));
    ds.add_snapshot(owned("s-x", boundary - DAY));
    let calls = Arc::new(AtomicU32::new(0));
    let clock = {
        let calls = calls.clone();
        Arc::new(move || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Timestamp::from_second(if n == 0 { t0 } else { t0 + 7200 }).unwrap()
        })
    };
    let mut settings = support::harness::settings(&[("RETENTION", "tiered")]);
    settings.poll_initial = Duration::from_millis(1);
    let keeper = ds_snapshot_keeper::Keeper::new(ds, settings, "sim-1").with_clock(clock);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let report = rt.block_on(keeper.run(&Request::manual(Action::Run), "cross", None));
    let d = &report.directories[0];
    assert!(
        calls.load(Ordering::SeqCst) >= 2,
        "the run read the clock at its end too"
    );
    let rank = |label: &str| -> Option<u32> {
        label
            .split("newest #")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|r| r.parse().ok())
    };
    let deleted: Vec<(&str, Option<u32>)> = d
        .deleted
        .iter()
        .map(|x| (x.deletion.snapshot_id.as_str(), rank(&x.deletion.reason)))
        .collect();
    assert_eq!(deleted, vec![("s-x", Some(2))], "{:?}", d.deleted);
    let kept: Vec<(String, String)> = d
        .kept
        .iter()
        .map(|k| (k.snapshot_id.clone(), k.worth.to_string()))
        .collect();
    let new_id = d.created.as_ref().unwrap().snapshot_id.clone().unwrap();
    assert_eq!(
        kept,
        vec![
            (new_id, "the newest".to_owned()),
            (
                "s-p".to_owned(),
                "first of the previous 35-day period".to_owned()
            ),
            ("s-c".to_owned(), "first of this 35-day period".to_owned()),
        ]
    );
}
