//! The restore attacked: other people and the scheduled keeper acting around it, answers lost
//! and refused, Ctrl-C mid-call, retries. Each test names the guarantee it proves; the
//! in-memory service runs on Tokio's paused clock, so an hour-long safety wait is instant.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use tokio::time::Instant;

use super::*;
use crate::directory::memory::{MemoryDirectoryService, RestoreFault};
use crate::model::{Action, DirectoryType, SnapshotType};
use crate::notify::NoNotifier;
use crate::policy::restore_mark::MARK_KEY;
use crate::policy::safety;
use crate::request::Request;
use crate::settings::Settings;
use crate::Keeper;

const DIR: &str = "d-0123456789";
const DAY: i64 = 86_400;

fn base() -> Timestamp {
    "2026-12-03T06:00:00Z".parse().unwrap()
}

/// Now, moving with Tokio's clock (paused in these tests: it moves only while everything
/// sleeps), from `base()`.
fn clock() -> Clock {
    clock_from(base())
}

fn clock_from(start: Timestamp) -> Clock {
    let t0 = Instant::now();
    Arc::new(move || {
        Timestamp::from_second(start.as_second() + t0.elapsed().as_secs() as i64).unwrap()
    })
}

fn ago(secs: i64) -> Timestamp {
    Timestamp::from_second(base().as_second() - secs).unwrap()
}

fn keepers(id: &str, age_secs: i64) -> Snapshot {
    let start = ago(age_secs);
    Snapshot {
        id: id.to_owned(),
        directory_id: DIR.to_owned(),
        name: Some(crate::policy::ownership::snapshot_name(
            &Settings::default().prefix,
            start,
            "0000abcd",
        )),
        kind: SnapshotType::Manual,
        status: SnapshotStatus::Completed,
        start_time: start,
    }
}

fn theirs(id: &str, age_secs: i64) -> Snapshot {
    Snapshot {
        name: Some("before-schema-change".to_owned()),
        ..keepers(id, age_secs)
    }
}

fn service(stage: &str, snapshots: &[Snapshot]) -> Arc<MemoryDirectoryService> {
    let ds = MemoryDirectoryService::new();
    ds.add_directory(Directory {
        id: DIR.to_owned(),
        name: "corp.example.com".to_owned(),
        kind: DirectoryType::MicrosoftAd,
        stage: Stage::from_api(stage),
        primary_region: None,
        launch_time: None,
        stage_reason: None,
        stage_since: Some(ago(30 * DAY)),
    });
    ds.set_now(base());
    for s in snapshots {
        ds.add_snapshot(s.clone());
    }
    Arc::new(ds)
}

fn opts(target: &str) -> RestoreOptions {
    RestoreOptions {
        directory_id: DIR.to_owned(),
        target: Target::Snapshot(target.to_owned()),
        dry_run: false,
        no_safety_snapshot: false,
        no_wait: false,
        timeout: Duration::from_secs(4 * 3600),
        safety_timeout: Duration::from_secs(3600),
        poll_initial: Duration::from_secs(5),
        poll_max: Duration::from_secs(60),
        by: "cli alice@bastion".to_owned(),
    }
}

/// What the scripted operator saw and was asked.
#[derive(Default)]
struct Seen {
    confirmed: Vec<RestorePlan>,
    reconfirm_asked: Vec<String>,
    progress: Vec<String>,
}

/// An operator that confirms, answers a second confirmation with `reconfirm`, and runs
/// `at_prompt` while "the prompt waits" (what others do between the plan and the answer).
struct Scripted {
    seen: Arc<Mutex<Seen>>,
    reconfirm: bool,
    at_prompt: Option<Box<dyn FnMut() + Send>>,
}

impl Scripted {
    fn yes() -> (Self, Arc<Mutex<Seen>>) {
        let seen = Arc::new(Mutex::new(Seen::default()));
        (
            Self {
                seen: seen.clone(),
                reconfirm: false,
                at_prompt: None,
            },
            seen,
        )
    }
}

impl Operator for Scripted {
    fn confirm(&mut self, plan: &RestorePlan) -> bool {
        self.seen.lock().unwrap().confirmed.push(plan.clone());
        if let Some(f) = self.at_prompt.as_mut() {
            f();
        }
        true
    }

    fn reconfirm(&mut self, _plan: &RestorePlan, what: &str) -> bool {
        self.seen
            .lock()
            .unwrap()
            .reconfirm_asked
            .push(what.to_owned());
        self.reconfirm
    }

    fn progress(&mut self, line: &str) {
        self.seen.lock().unwrap().progress.push(line.to_owned());
    }
}

async fn restore_with(
    ds: &Arc<MemoryDirectoryService>,
    opts: &RestoreOptions,
    operator: Scripted,
    interrupt: Interrupt,
) -> RestoreReport {
    let policy = Policy::from(&Settings::default());
    restore_with_policy(ds, opts, operator, interrupt, &policy).await
}

async fn restore_with_policy(
    ds: &Arc<MemoryDirectoryService>,
    opts: &RestoreOptions,
    operator: Scripted,
    interrupt: Interrupt,
    policy: &Policy,
) -> RestoreReport {
    restore_at(ds, opts, operator, interrupt, policy, clock()).await
}

/// The restore, with the operator's clock given.
async fn restore_at(
    ds: &Arc<MemoryDirectoryService>,
    opts: &RestoreOptions,
    operator: Scripted,
    interrupt: Interrupt,
    policy: &Policy,
    clock: Clock,
) -> RestoreReport {
    Restore {
        ds,
        notifier: None::<&NoNotifier>,
        region: "eu-west-1",
        policy,
        opts,
        clock,
        operator,
        interrupt,
    }
    .run()
    .await
}

/// The refusal a restore ended with, if it was refused.
fn refusal(r: &RestoreReport) -> Option<&Refusal> {
    match &r.outcome {
        Outcome::Refused { refusal } => Some(refusal),
        _ => None,
    }
}

fn ids(ds: &MemoryDirectoryService) -> Vec<String> {
    let mut out: Vec<String> = ds.snapshots().into_iter().map(|s| s.id).collect();
    out.sort();
    out
}

fn count(ds: &MemoryDirectoryService, call: &str) -> usize {
    ds.calls().iter().filter(|c| **c == call).count()
}

fn safety_snapshots(ds: &MemoryDirectoryService) -> Vec<Snapshot> {
    ds.snapshots()
        .into_iter()
        .filter(safety::is_safety)
        .collect()
}

/// Five of the keeper's snapshots: the quota is full of restore points.
fn full_of_keepers() -> Vec<Snapshot> {
    (1..=5)
        .map(|i| keepers(&format!("s-00000000a{i}"), (6 - i) * DAY))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn retrying_a_failed_restore_deletes_nothing_for_a_snapshot_aws_cannot_take() {
    let ds = service("RestoreFailed", &full_of_keepers());
    let (op, seen) = Scripted::yes();
    let report = restore_with(&ds, &opts("s-00000000a3"), op, Interrupt::default()).await;
    // The plan said so before the confirmation.
    let plan = &seen.lock().unwrap().confirmed[0];
    assert!(
        matches!(&plan.safety, SafetyPlan::Impossible { stage } if stage == "RestoreFailed"),
        "{:?}",
        plan.safety
    );
    let words = crate::render::restore::plan_text(plan);
    assert!(words.contains("No safety snapshot can be taken"), "{words}");
    assert!(words.contains("Nothing is deleted"), "{words}");
    assert_eq!(report.outcome, Outcome::Restored, "{}", report.text());
    assert!(report.deleted.is_empty());
    assert_eq!(ids(&ds).len(), 5, "every restore point is still there");
    assert_eq!(count(&ds, "CreateSnapshot"), 0);
    assert_eq!(count(&ds, "DeleteSnapshot"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_scheduled_run_during_the_safety_wait_leaves_the_directory_alone() {
    // The keeper holds points 3, 2 and 1 days old; the operator picks the oldest. The daily
    // run fires while the safety snapshot is still Creating: before the mark, it took its
    // snapshot and pruned the target as beyond-retain.
    let ds = service(
        "Active",
        &[
            keepers("s-00000000a3", 3 * DAY),
            keepers("s-00000000a2", 2 * DAY),
            keepers("s-00000000a1", DAY),
        ],
    );
    ds.set_completion_delay(Duration::from_secs(1800));
    let (op, _) = Scripted::yes();
    let o = opts("s-00000000a3");
    let restoring = restore_with(&ds, &o, op, Interrupt::default());
    let scheduled = async {
        tokio::time::sleep(Duration::from_secs(300)).await;
        let keeper = Keeper::new(ds.clone(), Settings::default(), "eu-west-1").with_clock(clock());
        keeper
            .run(&Request::manual(Action::Run), "daily-run", None)
            .await
    };
    let (report, run) = tokio::join!(restoring, scheduled);
    let d = &run.directories[0];
    assert_eq!(
        d.skipped.as_ref().map(|s| s.reason),
        Some(crate::policy::SkipReason::RestoreUnderWay),
        "{d:?}"
    );
    assert!(d.deleted.is_empty() && d.created.is_none());
    assert_eq!(report.outcome, Outcome::Restored, "{}", report.text());
    assert!(
        ids(&ds).contains(&"s-00000000a3".to_owned()),
        "the target is kept"
    );
    assert_eq!(report.mark, MarkLeft::Cleared);
    assert!(
        ds.tags(DIR).is_empty(),
        "the mark is gone once the restore ended"
    );
}

#[tokio::test(start_paused = true)]
async fn make_room_is_decided_again_after_the_prompt_and_costs_less_when_a_slot_was_freed() {
    let mut snaps: Vec<Snapshot> = (1..=4)
        .map(|i| keepers(&format!("s-00000000a{i}"), (5 - i) * DAY))
        .collect();
    snaps.push(theirs("s-00000000b1", 10 * DAY));
    let ds = service("Active", &snaps);
    let (mut op, seen) = Scripted::yes();
    let freer = ds.clone();
    op.at_prompt = Some(Box::new(move || freer.remove_snapshot("s-00000000b1")));
    let report = restore_with(&ds, &opts("s-00000000a4"), op, Interrupt::default()).await;
    let planned = seen.lock().unwrap().confirmed[0]
        .safety
        .make_room()
        .to_vec();
    assert_eq!(planned.len(), 1, "the shown plan deleted one to make room");
    assert!(report.deleted.is_empty(), "{:?}", report.deleted);
    assert!(ids(&ds).contains(&planned[0].snapshot_id));
    assert_eq!(report.outcome, Outcome::Restored, "{}", report.text());
}

#[tokio::test(start_paused = true)]
async fn a_plan_that_costs_more_after_the_prompt_is_refused_without_a_new_confirmation() {
    let snaps: Vec<Snapshot> = (1..=4)
        .map(|i| keepers(&format!("s-00000000a{i}"), (5 - i) * DAY))
        .collect();
    let ds = service("Active", &snaps);
    let (mut op, seen) = Scripted::yes();
    let taker = ds.clone();
    // Someone takes the last free slot while the prompt waits.
    op.at_prompt = Some(Box::new(move || {
        taker.add_snapshot(theirs("s-00000000b1", 0))
    }));
    let report = restore_with(&ds, &opts("s-00000000a4"), op, Interrupt::default()).await;
    assert!(
        matches!(refusal(&report), Some(Refusal::CostsMore { .. })),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.outcome.exit_code(), exit::REFUSED);
    assert_eq!(seen.lock().unwrap().reconfirm_asked.len(), 1);
    assert_eq!(ids(&ds).len(), 5, "nothing deleted");
    assert_eq!(
        count(&ds, "CreateSnapshot") + count(&ds, "RestoreFromSnapshot"),
        0
    );
    assert!(ds.tags(DIR).is_empty(), "the mark is removed");

    // Confirmed again at a terminal, it goes ahead and pays what it showed.
    let ds = service("Active", &snaps);
    let (mut op, _) = Scripted::yes();
    op.reconfirm = true;
    let taker = ds.clone();
    op.at_prompt = Some(Box::new(move || {
        taker.add_snapshot(theirs("s-00000000b1", 0))
    }));
    let report = restore_with(&ds, &opts("s-00000000a4"), op, Interrupt::default()).await;
    assert_eq!(report.outcome, Outcome::Restored, "{}", report.text());
    assert_eq!(report.deleted.len(), 1);
    assert!(
        ids(&ds).contains(&"s-00000000b1".to_owned()),
        "never someone else's"
    );
}

#[tokio::test(start_paused = true)]
async fn retries_after_the_safety_wait_ran_out_reuse_its_snapshot_and_free_nothing_more() {
    let ds = service("Active", &full_of_keepers());
    ds.set_completion_delay(Duration::from_secs(3 * 3600));
    let mut o = opts("s-00000000a5");
    o.safety_timeout = Duration::from_secs(600);
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let (op, _) = Scripted::yes();
        let report = restore_with(&ds, &o, op, Interrupt::default()).await;
        outcomes.push(report.outcome.clone());
        if let Some(s) = &report.safety {
            assert_eq!(s.status, SnapshotStatus::Creating);
        }
    }
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Outcome::SafetyNotReady { .. }),
            "{outcome:?}"
        );
        assert_eq!(outcome.exit_code(), exit::TIMED_OUT);
    }
    assert_eq!(count(&ds, "DeleteSnapshot"), 1, "one restore point, once");
    assert_eq!(count(&ds, "CreateSnapshot"), 1);
    assert_eq!(safety_snapshots(&ds).len(), 1);
    assert_eq!(ids(&ds).len(), 5);
    // The mark stays while the safety snapshot is Creating, naming it, released by the run
    // that left, so the next run takes it over at once.
    let later = Timestamp::from_second(base().as_second() + 3600).unwrap();
    let state = crate::policy::restore_mark::read(&ds.tags(DIR), later);
    let held = state.holding().expect("mark held");
    assert_eq!(
        held.safety.as_deref(),
        Some(safety_snapshots(&ds)[0].id.as_str())
    );
    assert_eq!(held.run, crate::policy::restore_mark::RELEASED);
}

#[tokio::test(start_paused = true)]
async fn a_refusal_is_reported_as_a_refusal_even_when_another_restore_is_under_way() {
    let ds = service("Active", &[keepers("s-00000000a1", DAY)]);
    ds.restore_fault(RestoreFault::AnotherRestoreStarts);
    let mut o = opts("s-00000000a1");
    o.no_safety_snapshot = true;
    let (op, _) = Scripted::yes();
    let report = restore_with(&ds, &o, op, Interrupt::default()).await;
    assert!(
        matches!(&report.outcome, Outcome::NotStarted { error } if error.code == "ClientException"),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.outcome.exit_code(), exit::FAILED);
    assert!(report.text().contains("was refused"), "{}", report.text());
    assert!(!report.text().contains("Restored"), "{}", report.text());
    assert!(report.notified.is_empty() || !report.notified.contains(&RestoreEvent::Started));
}

#[tokio::test(start_paused = true)]
async fn a_lost_answer_is_settled_by_reading_the_stage_again_until_a_read_succeeds() {
    let ds = service("Active", &[keepers("s-00000000a1", DAY)]);
    ds.restore_fault(RestoreFault::AnswerLostThenThrottled { throttled: 2 });
    let mut o = opts("s-00000000a1");
    o.no_safety_snapshot = true;
    let (op, _) = Scripted::yes();
    let report = restore_with(&ds, &o, op, Interrupt::default()).await;
    assert_eq!(report.outcome, Outcome::Restored, "{}", report.text());
    assert_eq!(count(&ds, "RestoreFromSnapshot"), 1, "never sent twice");

    // Every read fails: unconfirmed, with its own exit code; never "not restored".
    let ds = service("Active", &[keepers("s-00000000a1", DAY)]);
    ds.restore_fault(RestoreFault::AnswerLostThenThrottled { throttled: 100 });
    let (op, _) = Scripted::yes();
    let report = restore_with(&ds, &o, op, Interrupt::default()).await;
    assert!(
        matches!(report.outcome, Outcome::Unconfirmed { .. }),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.outcome.exit_code(), exit::UNCONFIRMED);
    assert!(
        report.text().contains("MAY HAVE STARTED"),
        "{}",
        report.text()
    );
    assert!(!report.text().contains("not restored"), "{}", report.text());
    assert_eq!(count(&ds, "RestoreFromSnapshot"), 1);
}

#[tokio::test(start_paused = true)]
async fn no_setting_lets_the_keeper_delete_a_safety_snapshot() {
    // A safety snapshot of an earlier restore, and someone else's snapshot, with
    // PRUNE_UNOWNED=true: five daily runs keep the safety snapshot, and the restore's own
    // make-room takes the keeper's snapshot, not the undo nor someone else's.
    let old_safety = Snapshot {
        name: Some(safety::safety_name(ago(3 * DAY), "s-00000000c1")),
        ..theirs("s-00000000f1", 3 * DAY)
    };
    let settings = Settings {
        prune_unowned: true,
        ..Settings::default()
    };
    let ds = service(
        "Active",
        &[old_safety.clone(), theirs("s-00000000b1", 9 * DAY)],
    );
    for day in 0..5 {
        let keeper = Keeper::new(ds.clone(), settings.clone(), "eu-west-1").with_clock(Arc::new(
            move || Timestamp::from_second(base().as_second() + day * DAY).unwrap(),
        ));
        let run = keeper
            .run(&Request::manual(Action::Run), &format!("day-{day}"), None)
            .await;
        for d in &run.directories[0].deleted {
            assert_ne!(d.deletion.snapshot_id, old_safety.id, "day {day}: {d:?}");
        }
    }
    assert!(ids(&ds).contains(&old_safety.id));
    let mut snaps = vec![old_safety.clone(), theirs("s-00000000b1", 9 * DAY)];
    snaps.extend((1..=3).map(|i| keepers(&format!("s-00000000a{i}"), (4 - i) * DAY)));
    let ds = service("Active", &snaps);
    let (op, _) = Scripted::yes();
    let policy = Policy::from(&settings);
    let report = restore_with_policy(
        &ds,
        &opts("s-00000000a3"),
        op,
        Interrupt::default(),
        &policy,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Restored, "{}", report.text());
    assert_eq!(report.deleted.len(), 1);
    assert_eq!(report.deleted[0].snapshot_id, "s-00000000a1");
    assert!(ids(&ds).contains(&old_safety.id) && ids(&ds).contains(&"s-00000000b1".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_during_restore_from_snapshot_lets_the_call_finish_and_says_it_was_sent() {
    let ds = service("Active", &[keepers("s-00000000a1", DAY)]);
    let interrupt = Interrupt::default();
    let pressed = interrupt.clone();
    ds.on_call("RestoreFromSnapshot", move || pressed.trigger());
    let mut o = opts("s-00000000a1");
    o.no_safety_snapshot = true;
    let (op, _) = Scripted::yes();
    let report = restore_with(&ds, &o, op, interrupt).await;
    assert_eq!(report.outcome, Outcome::Interrupted);
    assert_eq!(report.outcome.exit_code(), exit::INTERRUPTED);
    assert!(report.restore_sent);
    let text = report.text();
    assert!(text.contains("RestoreFromSnapshot was sent"), "{text}");
    assert!(text.contains("goes on in AWS"), "{text}");
    assert_eq!(
        report.mark,
        MarkLeft::Held,
        "runs keep away while it restores"
    );
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_during_make_room_stops_before_the_safety_snapshot() {
    let ds = service("Active", &full_of_keepers());
    let interrupt = Interrupt::default();
    let pressed = interrupt.clone();
    ds.on_call("DeleteSnapshot", move || pressed.trigger());
    let (op, _) = Scripted::yes();
    let report = restore_with(&ds, &opts("s-00000000a5"), op, interrupt).await;
    assert_eq!(report.outcome, Outcome::Interrupted);
    assert_eq!(
        report.deleted.len(),
        1,
        "the deletion in flight finished and is reported"
    );
    assert_eq!(
        count(&ds, "CreateSnapshot") + count(&ds, "RestoreFromSnapshot"),
        0
    );
    let text = report.text();
    assert!(
        text.contains(&format!("Deleted {}", report.deleted[0].snapshot_id)),
        "{text}"
    );
    assert!(text.contains("NOT restored"), "{text}");
    assert_eq!(report.mark, MarkLeft::Cleared);
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_during_the_safety_wait_reports_the_safety_snapshot_as_last_read() {
    let ds = service("Active", &[keepers("s-00000000a1", DAY)]);
    ds.set_completion_delay(Duration::from_secs(3600));
    let interrupt = Interrupt::default();
    let pressed = interrupt.clone();
    let (op, _) = Scripted::yes();
    let o = opts("s-00000000a1");
    let (report, ()) = tokio::join!(restore_with(&ds, &o, op, interrupt), async move {
        tokio::time::sleep(Duration::from_secs(120)).await;
        pressed.trigger();
    });
    assert_eq!(report.outcome, Outcome::Interrupted);
    assert!(!report.restore_sent);
    let text = report.text();
    assert!(text.contains("was Creating when last read"), "{text}");
    assert!(!text.contains("is Completed"), "{text}");
    assert!(text.contains("NOT restored"), "{text}");
    assert_eq!(count(&ds, "RestoreFromSnapshot"), 0);
}

#[tokio::test(start_paused = true)]
async fn the_180_day_limit_is_checked_again_right_before_the_send() {
    // 180 days less 3 s at the plan; the safety snapshot takes a minute.
    let ds = service("Active", &[keepers("s-00000000a1", 180 * DAY - 3)]);
    ds.set_completion_delay(Duration::from_secs(60));
    let (op, _) = Scripted::yes();
    let report = restore_with(&ds, &opts("s-00000000a1"), op, Interrupt::default()).await;
    assert!(
        matches!(refusal(&report), Some(Refusal::TooOld { .. })),
        "{:?}",
        report.outcome
    );
    assert!(!report.restore_sent);
    assert_eq!(count(&ds, "RestoreFromSnapshot"), 0);
    assert_eq!(
        report.safety.as_ref().map(|s| s.status),
        Some(SnapshotStatus::Completed)
    );
    assert!(report.text().contains("NOT restored"), "{}", report.text());
}

#[tokio::test(start_paused = true)]
async fn another_restores_mark_refuses_a_second_restore_and_a_dead_one_expires() {
    let ds = service(
        "Active",
        &[
            keepers("s-00000000a1", DAY),
            keepers("s-00000000a2", 2 * DAY),
        ],
    );
    let theirs_mark = Mark::new("s-00000000a2", "cli bob@laptop", ago(600));
    ds.tag_directory(DIR, MARK_KEY, &theirs_mark.to_tag_value());
    let (op, _) = Scripted::yes();
    let report = restore_with(&ds, &opts("s-00000000a1"), op, Interrupt::default()).await;
    assert!(
        matches!(refusal(&report), Some(Refusal::RestoreUnderWay { .. })),
        "{:?}",
        report.outcome
    );
    assert_eq!(ds.tags(DIR).len(), 1, "their mark is left alone");
    assert_eq!(count(&ds, "CreateSnapshot"), 0);

    // Three hours later their mark has expired (nobody renewed it): the restore goes ahead.
    let ds = service(
        "Active",
        &[
            keepers("s-00000000a1", DAY),
            keepers("s-00000000a2", 2 * DAY),
        ],
    );
    let dead = Mark::new("s-00000000a2", "cli bob@laptop", ago(3 * 3600));
    ds.tag_directory(DIR, MARK_KEY, &dead.to_tag_value());
    let (op, _) = Scripted::yes();
    let report = restore_with(&ds, &opts("s-00000000a1"), op, Interrupt::default()).await;
    assert_eq!(report.outcome, Outcome::Restored, "{}", report.text());
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_changes_nothing_not_even_the_mark() {
    let ds = service("Active", &full_of_keepers());
    let mut o = opts("s-00000000a5");
    o.dry_run = true;
    let (op, _) = Scripted::yes();
    let report = restore_with(&ds, &o, op, Interrupt::default()).await;
    assert_eq!(report.outcome, Outcome::Planned);
    assert!(ds.tags(DIR).is_empty());
    let writes = [
        "AddTagsToResource",
        "DeleteSnapshot",
        "CreateSnapshot",
        "RestoreFromSnapshot",
    ];
    assert!(
        ds.calls().iter().all(|c| !writes.contains(c)),
        "{:?}",
        ds.calls()
    );
}

#[tokio::test(start_paused = true)]
async fn names_stay_on_one_line_in_the_plan_the_points_table_and_the_sns_message() {
    // Directory Service's name pattern allows \s: a name can carry LF (a forged row) and CR
    // (a terminal rewrites the line).
    let mut target = keepers("s-00000000a1", DAY);
    target.name = Some("nightly\ns-9999999999  FORGED\rOK".to_owned());
    let ds = service("Active", &[target]);
    let mut o = opts("s-00000000a1");
    o.dry_run = true;
    let (op, _) = Scripted::yes();
    let report = restore_with(&ds, &o, op, Interrupt::default()).await;
    let plan = crate::render::restore::plan_text(report.plan.as_ref().unwrap());
    let started = crate::render::restore::notification(&report, RestoreEvent::Started).body;
    let points = crate::runner::points::points(
        &*ds,
        "eu-west-1",
        &Settings::default(),
        &[DIR.to_owned()],
        None,
        base(),
    )
    .await
    .unwrap();
    let table = crate::render::points::points_table(&points);
    for (what, text) in [("plan", &plan), ("sns", &started), ("points", &table)] {
        assert!(!text.contains('\r'), "{what}: {text:?}");
        assert!(
            text.lines()
                .all(|l| !l.trim_start().starts_with("s-9999999999")),
            "{what} has a forged row: {text}"
        );
        assert!(text.contains("nightly\\ns-9999999999"), "{what}: {text}");
    }
    // JSON keeps the name as it is.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["plan"]["target"]["name"],
        "nightly\ns-9999999999  FORGED\rOK"
    );
}

#[tokio::test(start_paused = true)]
async fn points_label_the_safety_snapshot_and_show_the_mark() {
    let safety_snap = Snapshot {
        name: Some(safety::safety_name(ago(3600), "s-00000000a1")),
        ..theirs("s-00000000f1", 3600)
    };
    let ds = service("Active", &[keepers("s-00000000a1", DAY), safety_snap]);
    let mark = Mark::new("s-00000000a1", "cli alice@bastion", ago(60));
    ds.tag_directory(DIR, MARK_KEY, &mark.to_tag_value());
    let points = crate::runner::points::points(
        &*ds,
        "eu-west-1",
        &Settings::default(),
        &[DIR.to_owned()],
        None,
        base(),
    )
    .await
    .unwrap();
    let table = crate::render::points::points_table(&points);
    assert!(
        table.contains("safety snapshot before the restore of s-00000000a1 at 2026-12-03T05:00:00Z, held until 2026-12-10T05:00:00Z"),
        "{table}"
    );
    assert!(!table.contains("someone else"), "{table}");
    assert!(
        table.contains("restore mark: a restore to s-00000000a1 is under way"),
        "{table}"
    );
    // `--before` never picks the safety snapshot, though it is the newest point before now.
    let all = ds.snapshots();
    let chosen =
        crate::policy::restore::choose(&all, DIR, &Target::Before(base()), base()).unwrap();
    assert_eq!(chosen.id, "s-00000000a1");
    let any =
        crate::policy::restore::choose(&all, DIR, &Target::BeforeAny(base()), base()).unwrap();
    assert_eq!(any.id, "s-00000000f1");
}

#[tokio::test(start_paused = true)]
async fn running_the_same_restore_again_after_it_ended_keeps_a_new_safety_snapshot() {
    // A --no-wait restore that has ended (Simple AD: minutes) leaves its mark, sent. The same
    // command run again must not reuse the first safety snapshot (the state before the first
    // restore) for a second restore: it keeps a new one of the present.
    let ds = service("Active", &[keepers("s-00000000a1", DAY)]);
    ds.restore_ends(1, "Active");
    let mut o = opts("s-00000000a1");
    o.no_wait = true;
    let (op, _) = Scripted::yes();
    let first = restore_with(&ds, &o, op, Interrupt::default()).await;
    assert_eq!(first.outcome, Outcome::Started, "{}", first.text());
    let first_safety = first.safety.clone().unwrap().snapshot_id;
    // The restore ends an hour later (the next describe turns it Active).
    ds.set_now(Timestamp::from_second(base().as_second() + 3600).unwrap());
    ds.describe_directories(None).await.unwrap();
    let (op, seen) = Scripted::yes();
    let policy = Policy::from(&Settings::default());
    let later = Timestamp::from_second(base().as_second() + 7200).unwrap();
    let again = restore_at(
        &ds,
        &o,
        op,
        Interrupt::default(),
        &policy,
        clock_from(later),
    )
    .await;
    let plan = seen.lock().unwrap().confirmed[0].clone();
    assert!(
        matches!(&plan.safety, SafetyPlan::Take { .. }),
        "a new safety snapshot of the present: {:?}",
        plan.safety
    );
    assert!(
        !again.safety.unwrap().reused,
        "{first_safety} is not reused"
    );
    assert_eq!(count(&ds, "CreateSnapshot"), 2);

    // Sent, and the directory unchanged since (it may be starting): refused, nothing sent.
    let ds = service("Active", &[keepers("s-00000000a1", DAY)]);
    let mut sent = Mark::new("s-00000000a1", "cli bob@laptop", ago(60));
    sent.sent = Some(ago(30));
    ds.tag_directory(DIR, MARK_KEY, &sent.to_tag_value());
    let (op, _) = Scripted::yes();
    let refused = restore_with(&ds, &o, op, Interrupt::default()).await;
    assert!(
        matches!(refusal(&refused), Some(Refusal::SameRestoreActive { .. })),
        "{:?}",
        refused.outcome
    );
    assert_eq!(count(&ds, "RestoreFromSnapshot"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_live_run_of_the_same_restore_is_not_taken_over_and_a_cleared_mark_stops_the_send() {
    let ds = service("Active", &[keepers("s-00000000a1", DAY)]);
    // Another run of this very restore renewed its mark a minute ago.
    let live = Mark::new("s-00000000a1", "function keeper req-1", ago(60));
    ds.tag_directory(DIR, MARK_KEY, &live.to_tag_value());
    let (op, _) = Scripted::yes();
    let r = restore_with(&ds, &opts("s-00000000a1"), op, Interrupt::default()).await;
    assert!(
        matches!(refusal(&r), Some(Refusal::SameRestoreActive { .. })),
        "{:?}",
        r.outcome
    );
    assert_eq!(count(&ds, "CreateSnapshot"), 0);

    // Someone clears the mark while the safety snapshot is awaited: nothing is sent, and the
    // restore does not write the mark back.
    let ds = service("Active", &[keepers("s-00000000a1", DAY)]);
    ds.set_completion_delay(Duration::from_secs(1800));
    let clearer = ds.clone();
    ds.on_call("DescribeSnapshots", move || {
        clearer.remove_tag_now(DIR, MARK_KEY);
    });
    let (op, _) = Scripted::yes();
    let r = restore_with(&ds, &opts("s-00000000a1"), op, Interrupt::default()).await;
    assert!(
        matches!(refusal(&r), Some(Refusal::MarkGone { .. })),
        "{:?}",
        r.outcome
    );
    assert_eq!(count(&ds, "RestoreFromSnapshot"), 0);
    assert!(r.text().contains("NOT restored"), "{}", r.text());
    assert!(ds.tags(DIR).is_empty(), "the cleared mark stays cleared");
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_while_the_send_is_recorded_sends_nothing() {
    let ds = service("Active", &[keepers("s-00000000a1", DAY)]);
    let interrupt = Interrupt::default();
    let pressed = interrupt.clone();
    // The third mark write is the send's record (after the first write and the safety
    // snapshot's): Ctrl-C arrives while it is in flight.
    let writes = std::sync::atomic::AtomicU32::new(0);
    ds.on_call("AddTagsToResource", move || {
        if writes.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 2 {
            pressed.trigger();
        }
    });
    let (op, _) = Scripted::yes();
    let r = restore_with(&ds, &opts("s-00000000a1"), op, interrupt).await;
    assert_eq!(r.outcome, Outcome::Interrupted, "{}", r.text());
    assert!(!r.restore_sent);
    assert_eq!(count(&ds, "RestoreFromSnapshot"), 0);
    let mark = crate::policy::restore_mark::read(&ds.tags(DIR), base());
    assert_eq!(
        mark.holding().and_then(|m| m.sent),
        None,
        "the mark does not claim a send"
    );
}

#[tokio::test(start_paused = true)]
async fn a_safety_snapshot_that_fails_stops_the_restore_and_says_so() {
    let ds = service("Active", &[keepers("s-00000000a1", DAY)]);
    ds.queue_outcome(DIR, SnapshotStatus::Failed);
    let (op, _) = Scripted::yes();
    let r = restore_with(&ds, &opts("s-00000000a1"), op, Interrupt::default()).await;
    assert!(
        matches!(&r.outcome, Outcome::SafetyFailed { error } if error.code == "SnapshotFailed"),
        "{:?}",
        r.outcome
    );
    assert_eq!(r.outcome.exit_code(), exit::FAILED);
    assert_eq!(count(&ds, "RestoreFromSnapshot"), 0);
    assert_eq!(
        r.safety.as_ref().map(|s| s.status),
        Some(SnapshotStatus::Failed)
    );
    let text = r.text();
    assert!(text.contains("was Failed when last read"), "{text}");
    assert!(text.contains("NOT restored"), "{text}");
    assert_eq!(r.mark, MarkLeft::Cleared, "nothing left to protect");
}
