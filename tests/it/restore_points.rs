//! The corner cases that used to cost a restore point (issue 10), each against the emulator
//! with the real SDK and the real handler. Every test here failed on version 0.1.

use crate::support;

use std::time::Duration;

use ds_snapshot_keeper::handler::InvocationError;
use ds_snapshot_keeper::model::CreatedState;
use ds_snapshot_keeper::policy::{PruneBlock, Rule};
use serde_json::json;
use support::harness::{scheduled, Harness};
use support::kname;
use tokio::time::Instant;

#[tokio::test]
async fn ownership_is_the_exact_name_a_person_or_another_deployment_keeps_theirs() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let human = h
        .emu
        .seed_manual(&dir, "keeper-before-schema-ext-DO-NOT-DELETE", 90.0);
    let prod = h
        .emu
        .seed_manual(&dir, "keeper-prod-20260101T060000Z", 80.0);
    let mine = h.emu.seed_owned(&dir, &[3.0, 2.0, 1.5]);
    let report = h.run(scheduled()).await;
    let d = &report.directories[0];
    let ids = h.ids(&dir).await;
    assert!(ids.contains(&human) && ids.contains(&prod), "{ids:?}");
    assert!(d
        .deleted
        .iter()
        .all(|x| x.deletion.snapshot_id != human && x.deletion.snapshot_id != prod));
    assert_eq!(
        d.deleted[0].deletion.snapshot_id, mine[0],
        "the keeper's own oldest made room"
    );
    assert_eq!(d.created.as_ref().unwrap().status, CreatedState::Completed);
}

#[tokio::test]
async fn an_owned_snapshot_still_creating_holds_the_create_and_make_room() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let seeded = h.emu.seed_owned(&dir, &[4.0, 3.0, 2.0, 1.5]);
    let before_oldest = seeded[0].clone();
    // Older than MIN_INTERVAL_MINUTES (60) and younger than CREATING_TIMEOUT_HOURS (6).
    let creating = h
        .emu
        .seed(&dir, Some(&kname(9)), "Manual", "Creating", 2.0 / 24.0);
    let before = h.ids(&dir).await;
    let report = h
        .invoke(scheduled())
        .await
        .expect("waiting on a snapshot is not a failure");
    let d = &report.directories[0];
    assert!(
        d.create_skipped
            .as_deref()
            .unwrap()
            .contains(&format!("{creating} is still Creating")),
        "{d:?}"
    );
    // Settled snapshots are still pruned (beyond retain=3, the oldest Completed): a snapshot
    // slower than the wait budget must not hold the quota full. The headroom waits.
    assert_eq!(d.prune_blocked, None);
    assert_eq!(d.headroom_held, Some(PruneBlock::SnapshotCreating));
    assert_eq!(h.emu.count_calls("CreateSnapshot"), 0);
    assert_eq!(
        support::harness::deletions(d),
        vec![(before_oldest.as_str(), Rule::BeyondRetain)]
    );
    let mut expected = before.clone();
    expected.retain(|id| id != &before_oldest);
    assert_eq!(h.ids(&dir).await, expected);
    // Past CREATING_TIMEOUT_HOURS it is reported as stuck, and still nothing is touched.
    h.emu.age(0.5);
    let err = h.invoke(scheduled()).await.expect_err("stuck is a failure");
    let InvocationError::RunFailed(report) = err else {
        panic!("{err}")
    };
    assert!(report.directories[0]
        .errors
        .iter()
        .any(|e| e.code == "SnapshotStuckCreating"));
    assert_eq!(
        h.emu.count_calls("DeleteSnapshot") + h.emu.count_calls("CreateSnapshot"),
        1,
        "only the first run's prune: three restore points are left"
    );
}

#[tokio::test]
async fn make_room_frees_one_slot_and_a_failed_new_snapshot_is_deleted_in_the_same_run() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let theirs: Vec<String> = (0..3)
        .map(|i| {
            h.emu
                .seed_manual(&dir, &format!("ops-{i}"), 20.0 + i as f64)
        })
        .collect();
    let k1 = h
        .emu
        .seed(&dir, Some(&kname(1)), "Manual", "Completed", 10.0);
    let k2 = h
        .emu
        .seed(&dir, Some(&kname(2)), "Manual", "Completed", 5.0);
    let auto = h.emu.seed(&dir, None, "Auto", "Completed", 0.5);
    h.emu
        .outcomes(&dir, json!([{"status": "Failed", "after_describes": 1}]));
    let report = h.run(scheduled()).await;
    let d = &report.directories[0];
    let new_id = d.created.as_ref().unwrap().snapshot_id.clone().unwrap();
    let deleted = support::harness::deletions(d);
    assert_eq!(
        deleted,
        vec![
            (k1.as_str(), Rule::MakeRoomOldest),
            (new_id.as_str(), Rule::NewFailed)
        ]
    );
    let mut expected = theirs.clone();
    expected.extend([k2.clone(), auto.clone()]);
    expected.sort();
    assert_eq!(
        h.ids(&dir).await,
        expected,
        "k2 is still a restore point; the failed snapshot holds no slot"
    );
    assert_eq!(h.emu.count_calls("DeleteSnapshot"), 2);
}

#[tokio::test]
async fn a_lost_create_answer_is_reconciled_by_name_and_never_retried() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    h.emu
        .fault(json!({"operation": "CreateSnapshot", "kind": "lost_answer", "count": 1}));
    let report = h
        .invoke(scheduled())
        .await
        .expect("the snapshot was taken after all");
    let d = &report.directories[0];
    let created = d.created.as_ref().unwrap();
    assert_eq!(created.status, CreatedState::Completed);
    assert!(created.recovered_from.is_some(), "{created:?}");
    assert_eq!(
        h.emu.count_calls("CreateSnapshot"),
        1,
        "CreateSnapshot is never retried blindly"
    );
    let snaps = h.snapshots(&dir).await;
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].snapshot_id(), created.snapshot_id.as_deref());
}

#[tokio::test]
async fn a_throttled_create_is_tried_again_since_aws_did_not_take_it() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    h.emu
        .fault(json!({"operation": "CreateSnapshot", "kind": "throttle", "count": 2}));
    let report = h.invoke(scheduled()).await.expect("throttling is absorbed");
    assert_eq!(
        report.directories[0].created.as_ref().unwrap().status,
        CreatedState::Completed
    );
    assert_eq!(h.emu.count_calls("CreateSnapshot"), 3);
    assert_eq!(h.snapshots(&dir).await.len(), 1);
}

#[tokio::test]
async fn a_retried_invocation_takes_no_second_snapshot_even_forced_with_no_interval() {
    let h = Harness::new(&[("MIN_INTERVAL_MINUTES", "0"), ("NOTIFY_LEVEL", "all")]).await;
    let dir = h.dir().await;
    // The first attempt takes the snapshot, then fails (its report cannot be published), so
    // Lambda retries it with the same request id.
    h.emu
        .fault(json!({"operation": "Publish", "kind": "service", "count": 3}));
    let request = json!({"action": "snapshot", "force": true});
    let first = h.invoke_as(request.clone(), "5f0e4c1a-retried").await;
    assert!(
        matches!(first, Err(InvocationError::NotifyFailed(_))),
        "{first:?}"
    );
    let second = h
        .invoke_as(request.clone(), "5f0e4c1a-retried")
        .await
        .expect("the retry is clean");
    let d = &second.directories[0];
    assert!(
        d.create_skipped
            .as_deref()
            .unwrap()
            .contains("already took"),
        "{d:?}"
    );
    assert_eq!(h.emu.count_calls("CreateSnapshot"), 1);
    assert_eq!(h.snapshots(&dir).await.len(), 1);
    // A new request is a new request.
    h.invoke_as(request, "another-request").await.unwrap();
    assert_eq!(h.snapshots(&dir).await.len(), 2);
}

#[tokio::test]
async fn a_slow_call_is_cut_at_the_deadline_and_reported() {
    let mut h = Harness::new(&[("DEADLINE_MARGIN_SECONDS", "1")]).await;
    let dir = h.dir().await;
    h.emu
        .seed(&dir, Some(&kname(1)), "Manual", "Completed", 3.0);
    // 6 s left, 1 s margin: every call must end within 5 s; this one takes 30.
    h.emu.fault(json!({"operation": "DescribeSnapshots", "kind": "latency", "latency_ms": 30_000, "count": 1}));
    let started = Instant::now();
    h.deadline = Some(started + Duration::from_secs(6));
    let err = h
        .invoke(scheduled())
        .await
        .expect_err("a cut call is a failure");
    let elapsed = started.elapsed();
    let InvocationError::RunFailed(report) = err else {
        panic!("{err}")
    };
    let e = &report.directories[0].errors[0];
    assert_eq!(
        (e.operation.as_str(), e.code.as_str()),
        ("DescribeSnapshots", "DeadlineReached")
    );
    assert!(
        elapsed < Duration::from_secs(20),
        "returned after {elapsed:?}, not after the 30 s call"
    );
    assert_eq!(
        h.emu.count_calls("DeleteSnapshot") + h.emu.count_calls("CreateSnapshot"),
        0
    );
    assert_eq!(
        h.messages().await.len(),
        1,
        "reported like any other failure"
    );
}

#[tokio::test]
async fn a_deadline_already_past_on_arrival_falls_back_to_the_wait_budget() {
    // cargo lambda watch sends a deadline that is not a future epoch time.
    let mut h = Harness::new(&[]).await;
    let dir = h.dir().await;
    h.deadline = Instant::now().checked_sub(Duration::from_secs(1));
    let report = h.invoke(scheduled()).await.expect("a normal run");
    assert_eq!(
        report.directories[0].created.as_ref().unwrap().status,
        CreatedState::Completed
    );
    assert_eq!(h.snapshots(&dir).await.len(), 1);
}

#[tokio::test]
async fn a_request_may_narrow_the_configured_scope_but_never_widen_it() {
    let mut h = Harness::new(&[]).await;
    let managed = h.dir().await;
    let other = h.dir().await;
    h.settings.directory_ids = vec![managed.clone()];
    let err = h
        .invoke(json!({"action": "snapshot", "directory_ids": [other.clone()]}))
        .await
        .expect_err("outside the scope");
    let InvocationError::RunFailed(report) = err else {
        panic!("{err}")
    };
    assert_eq!(report.errors[0].code, "OutOfScope");
    assert!(
        report.errors[0].message.contains(&other)
            && report.errors[0].message.contains("DIRECTORY_IDS")
    );
    assert!(report.directories.is_empty());
    assert_eq!(
        h.emu.count_calls("DescribeSnapshots") + h.emu.count_calls("CreateSnapshot"),
        0
    );
    // Narrowing works.
    let ok = h
        .invoke(json!({"action": "snapshot", "directory_ids": [managed.clone()]}))
        .await
        .unwrap();
    assert_eq!(ok.directories.len(), 1);
    assert!(h.snapshots(&other).await.is_empty());
}

#[tokio::test]
async fn with_discovery_a_request_may_name_only_opted_in_directories() {
    let h = Harness::new(&[("DISCOVERY_TAG", "ds-snapshot-keeper=enabled")]).await;
    let tagged = h.dir().await;
    let untagged = h.dir().await;
    h.tag(&tagged, "ds-snapshot-keeper", "enabled").await;
    let err = h
        .invoke(json!({"action": "snapshot", "directory_ids": [tagged.clone(), untagged.clone()]}))
        .await
        .expect_err("untagged is outside the scope");
    let InvocationError::RunFailed(report) = err else {
        panic!("{err}")
    };
    assert_eq!(report.errors[0].code, "OutOfScope");
    assert!(
        report.errors[0].message.contains(&untagged) && !report.errors[0].message.contains(&tagged)
    );
    assert_eq!(
        h.emu.count_calls("CreateSnapshot"),
        0,
        "nothing is touched, not even the tagged one"
    );
    h.invoke(json!({"action": "snapshot", "directory_ids": [tagged.clone()]}))
        .await
        .unwrap();
    assert_eq!(h.snapshots(&tagged).await.len(), 1);
}

#[tokio::test]
async fn a_fifo_topic_receives_the_report() {
    let mut h = Harness::new(&[("NOTIFY_LEVEL", "all")]).await;
    let (topic, queue) = h
        .emu
        .topic_with_queue_named(&h.config, "keeper-fifo", true)
        .await;
    h.settings.topic_arn = Some(topic.clone());
    h.topic = topic.clone();
    h.queue = queue;
    h.dir().await;
    h.invoke(scheduled())
        .await
        .expect("published with a message group");
    let msgs = h.messages().await;
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(msgs[0].subject.starts_with("[OK]"));
}

#[tokio::test]
async fn a_topic_in_another_region_is_published_to_in_its_own_region() {
    let h = Harness::new(&[]).await;
    let central = h
        .config
        .to_builder()
        .region(aws_config::Region::new("eu-central-1"))
        .build();
    let (topic, queue) = h
        .emu
        .topic_with_queue_named(&central, "central-alerts", false)
        .await;
    let message = ds_snapshot_keeper::notify::Notification {
        subject: "[OK] test".to_owned(),
        body: "body".to_owned(),
        attributes: Vec::new(),
        deduplication_id: "r".to_owned(),
    };
    use ds_snapshot_keeper::notify::Notifier;
    // A client for the function's Region is refused, as SNS refuses it.
    let naive = ds_snapshot_keeper::notify::sns::SnsNotifier::new(
        aws_sdk_sns::Client::new(&h.config),
        &topic,
    );
    let err = naive
        .publish(&message)
        .await
        .expect_err("SNS refuses another Region's topic");
    assert_eq!(err.code, "InvalidParameter");
    // The keeper's wiring builds the client for the topic's Region.
    let wired = ds_snapshot_keeper::wiring::sns_notifier(&h.config, &topic);
    wired
        .publish(&message)
        .await
        .expect("published in eu-central-1");
    let received = h.emu.received(&central, &queue).await;
    assert_eq!(received.len(), 1);
}

#[tokio::test]
async fn a_failed_run_whose_alert_went_out_is_counted_so_the_errors_alarm_stays_quiet() {
    let h = Harness::new(&[]).await;
    h.dir().await;
    h.emu.fault(json!({"operation": "CreateSnapshot", "kind": "error", "error_code": "ClientException", "count": 1}));
    h.invoke(scheduled()).await.expect_err("a failed run");
    let m = h.run_metrics();
    assert_eq!(m["FailedRunsReported"], 1, "{m}");
    assert_eq!(m["FunctionName"], "ds-snapshot-keeper-local");
    assert_eq!(
        m["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["FunctionName"]])
    );
    assert_eq!(h.messages().await.len(), 1, "the one alert of the day");
    // When the alert cannot go out, the failure is not counted as reported: the alarm fires.
    h.lines.lock().unwrap().clear();
    h.emu.fault(json!({"operation": "CreateSnapshot", "kind": "error", "error_code": "ClientException", "count": 1}));
    h.emu
        .fault(json!({"operation": "Publish", "kind": "service", "count": 3}));
    h.emu.age(1.0);
    h.invoke(scheduled()).await.expect_err("a failed run");
    assert_eq!(h.run_metrics()["FailedRunsReported"], 0);
}
