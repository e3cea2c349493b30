//! The fault matrix: each scenario asserts what was created and deleted (down to the
//! snapshot), what the report says, and what reached SNS (read back through SQS).
//! docs/reliability.md maps every scenario to its test.

use crate::support;
use support::sorted;

use ds_snapshot_keeper::model::CreatedState;
use std::time::Duration;

use ds_snapshot_keeper::directory::aws::AwsDirectoryService;
use ds_snapshot_keeper::handler::{handle, InvocationError};
use ds_snapshot_keeper::notify::sns::SnsNotifier;
use ds_snapshot_keeper::policy::Rule;
use ds_snapshot_keeper::report::{RunReport, Severity};
use ds_snapshot_keeper::Keeper;
use serde_json::{json, Value};
use support::harness::{assert_pending_and_nothing_pruned, scheduled, Harness};

const DS_OPERATIONS: [&str; 5] = [
    "DescribeDirectories",
    "DescribeSnapshots",
    "GetSnapshotLimits",
    "CreateSnapshot",
    "DeleteSnapshot",
];

/// A directory whose run must delete one snapshot (make room) and create one: every
/// Directory Service operation the keeper uses is exercised. Four owned snapshots and one
/// someone else took fill the quota, so the create needs one slot.
/// Returns (dir, oldest, others, theirs).
async fn four_owned(h: &Harness) -> (String, String, Vec<String>, String) {
    let dir = h.dir().await;
    let theirs = h
        .emu
        .seed(&dir, Some("ops-manual"), "Manual", "Completed", 0.5);
    let oldest = h
        .emu
        .seed(&dir, Some(&support::kname(1)), "Manual", "Completed", 4.0);
    let others = [3.0, 2.0, 1.0]
        .iter()
        .map(|age| {
            h.emu
                .seed_manual(&dir, &support::kname((*age * 10.0) as u32), *age)
        })
        .collect();
    (dir, oldest, others, theirs)
}

/// The shapes a transient fault takes. Directory Service's model (botocore,
/// `ds/2015-04-16/service-2.json`) has no throttling error, so its throttle is
/// `ClientException` "Rate exceeded" (the emulator's default), which the SDK's code-based
/// classifier (`aws_runtime::retries::classifiers::THROTTLING_ERRORS`) does not know: the
/// keeper's `RateExceededClassifier` retries it. `ThrottlingException` is the shape the SDK
/// knows. A `ServiceException` (HTTP 500) is retried by the SDK's status classifier
/// (500, 502, 503, 504), except for CreateSnapshot, which is never retried blindly.
const TRANSIENT: [(&str, &str); 3] = [
    ("throttle", "ClientException"),
    ("throttle", "ThrottlingException"),
    ("service", "ServiceException"),
];

#[tokio::test]
async fn transient_faults_on_each_operation_are_absorbed_by_retries() {
    for (kind, shape) in TRANSIENT {
        for op in DS_OPERATIONS {
            if (kind, op) == ("service", "CreateSnapshot") {
                continue; // never retried: see the next test
            }
            let h = Harness::new(&[]).await;
            let (dir, oldest, others, theirs) = four_owned(&h).await;
            let mut fault = json!({"operation": op, "kind": kind, "count": 1});
            if kind == "throttle" {
                fault["shape"] = shape.into();
            }
            h.emu.fault(fault);
            let report = h
                .invoke(scheduled())
                .await
                .unwrap_or_else(|e| panic!("{shape}/{op}: {e}"));
            let d = &report.directories[0];
            assert!(d.errors.is_empty(), "{shape}/{op}: {:?}", d.errors);
            // Make room (the oldest), create, then prune beyond retain=3 (the next oldest).
            let deleted = support::harness::deletions(d);
            assert_eq!(
                deleted,
                vec![
                    (oldest.as_str(), Rule::MakeRoomOldest),
                    (others[0].as_str(), Rule::BeyondRetain)
                ],
                "{shape}/{op}"
            );
            assert_eq!(
                d.created.as_ref().unwrap().status,
                CreatedState::Completed,
                "{shape}/{op}"
            );
            let mut expected = others[1..].to_vec();
            expected.push(d.created.as_ref().unwrap().snapshot_id.clone().unwrap());
            expected.push(theirs.clone());
            assert_eq!(h.ids(&dir).await, sorted(expected), "{shape}/{op}");
            let calls = h.emu.calls();
            let faulted = calls
                .iter()
                .filter(|c| c["operation"] == op && c["fault"] == kind)
                .count();
            assert_eq!(
                faulted, 1,
                "{shape}/{op}: the fault fired once and the call was retried: {calls:?}"
            );
            assert!(
                h.messages().await.is_empty(),
                "{shape}/{op}: a clean run publishes nothing at warnings level"
            );
        }
    }
}

#[tokio::test]
async fn a_service_exception_on_create_is_not_retried_blindly() {
    // CreateSnapshot is not idempotent: after a 500 the keeper looks the snapshot up by name
    // (the emulator's fault answers before moto, so nothing was taken) instead of retrying.
    let h = Harness::new(&[]).await;
    let (dir, oldest, others, theirs) = four_owned(&h).await;
    h.emu
        .fault(json!({"operation": "CreateSnapshot", "kind": "service", "count": 1}));
    let report = h.run(scheduled()).await;
    let d = &report.directories[0];
    assert_eq!(h.emu.count_calls("CreateSnapshot"), 1, "one attempt only");
    assert!(d.created.is_none());
    assert!(
        d.errors
            .iter()
            .any(|e| e.operation == "CreateSnapshot" && e.code == "ServiceException"),
        "{:?}",
        d.errors
    );
    assert_eq!(
        support::harness::deletions(d),
        vec![(oldest.as_str(), Rule::MakeRoomOldest)]
    );
    let mut expected = others.clone();
    expected.push(theirs);
    assert_eq!(h.ids(&dir).await, sorted(expected));
}

/// Persistent faults: throttling beyond the SDK's retries, and HTTP 500 ServiceException.
#[tokio::test]
async fn persistent_faults_are_reported_with_their_code_and_nothing_is_deleted_after_a_failed_observe(
) {
    for (kind, code) in [
        ("throttle", "ClientException"),
        ("service", "ServiceException"),
    ] {
        for op in DS_OPERATIONS {
            let h = Harness::new(&[]).await;
            let (dir, oldest, others, theirs) = four_owned(&h).await;
            let before = h.ids(&dir).await;
            h.emu.fault(json!({"operation": op, "kind": kind}));
            let err = h.invoke(scheduled()).await.expect_err(op);
            h.emu.clear_faults();
            let InvocationError::RunFailed(report) = err else {
                panic!("{op}: {err}")
            };
            assert_eq!(report.severity, Severity::Failure);
            let all_errors: Vec<(&str, &str)> = report
                .errors
                .iter()
                .chain(report.directories.iter().flat_map(|d| d.errors.iter()))
                .map(|e| (e.operation.as_str(), e.code.as_str()))
                .collect();
            assert!(
                all_errors.contains(&(op, code)),
                "{kind}/{op}: {all_errors:?}"
            );
            let after = h.ids(&dir).await;
            match op {
                // Observe failed: nothing planned, nothing deleted, nothing created.
                "DescribeDirectories" | "DescribeSnapshots" | "GetSnapshotLimits" => {
                    assert_eq!(after, before, "{kind}/{op}");
                    assert_eq!(
                        h.emu.count_calls("DeleteSnapshot") + h.emu.count_calls("CreateSnapshot"),
                        0
                    );
                }
                // Making room worked, the create failed: one deletion, by its rule, no snapshot.
                "CreateSnapshot" => {
                    let d = &report.directories[0];
                    assert_eq!(d.deleted.len(), 1);
                    assert_eq!(
                        (
                            d.deleted[0].deletion.snapshot_id.as_str(),
                            d.deleted[0].deletion.rule
                        ),
                        (oldest.as_str(), Rule::MakeRoomOldest)
                    );
                    let mut expected = others.clone();
                    expected.push(theirs.clone());
                    assert_eq!(after, sorted(expected));
                    assert!(d.created.is_none());
                    // A throttle is retried by the keeper itself (AWS did not take it); a 500
                    // is never retried blindly.
                    let attempts = if kind == "throttle" {
                        ds_snapshot_keeper::directory::aws::OWN_RETRY_ATTEMPTS as usize
                    } else {
                        1
                    };
                    assert_eq!(h.emu.count_calls("CreateSnapshot"), attempts, "{kind}");
                }
                // Making room failed: no create, nothing gone.
                "DeleteSnapshot" => {
                    assert_eq!(after, before);
                    assert_eq!(h.emu.count_calls("CreateSnapshot"), 0);
                    assert!(report.directories[0]
                        .create_skipped
                        .as_deref()
                        .unwrap()
                        .contains("making room"));
                }
                _ => unreachable!(),
            }
            let msgs = h.messages().await;
            assert_eq!(msgs.len(), 1, "{kind}/{op}");
            assert!(
                msgs[0].subject.starts_with("[FAILURE]"),
                "{}",
                msgs[0].subject
            );
            assert!(
                msgs[0].message.contains(code),
                "{kind}/{op}: {}",
                msgs[0].message
            );
        }
    }
}

#[tokio::test]
async fn latency_near_the_deadline_stops_waiting_in_time_and_reports_pending() {
    let mut h = Harness::new(&[
        ("RETAIN_COUNT", "1"),
        ("DEADLINE_MARGIN_SECONDS", "3"),
        ("WAIT_BUDGET_SECONDS", "600"),
    ])
    .await;
    let (dir, old) = h.dir_whose_next_snapshot_hangs().await;
    h.emu
        .fault(json!({"operation": "DescribeSnapshots", "kind": "latency", "latency_ms": 400}));
    let started = tokio::time::Instant::now();
    h.deadline = Some(started + Duration::from_secs(8));
    let report = h
        .invoke(scheduled())
        .await
        .expect("pending is not a failure");
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(8),
        "returned after the deadline: {elapsed:?}"
    );
    assert_pending_and_nothing_pruned(&h, &report, &dir, &old).await;
    assert!(h.emu.count_calls("DescribeSnapshots") >= 2, "it did poll");
}

#[tokio::test]
async fn connection_refused_is_reported_as_unreachable_and_reaches_sns() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    // A port nothing listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = aws_sdk_directory::config::Builder::from(&h.config)
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .build();
    let keeper = Keeper::new(
        AwsDirectoryService::new(aws_sdk_directory::Client::from_conf(dead)),
        h.settings.clone(),
        support::REGION,
    );
    let notifier = SnsNotifier::new(aws_sdk_sns::Client::new(&h.config), &h.topic);
    let sink = |_: &str| {};
    let err = handle(
        &keeper,
        Some(&notifier),
        &scheduled(),
        "refused",
        None,
        &sink,
    )
    .await
    .unwrap_err();
    let InvocationError::RunFailed(report) = err else {
        panic!("{err}")
    };
    // Refused before any answer: nothing was carried out, and the code says which way.
    assert_eq!(report.errors[0].code, "ConnectionRefused");
    assert_eq!(report.errors[0].operation, "DescribeDirectories");
    assert!(h.snapshots(&dir).await.is_empty());
    let msgs = h.messages().await;
    assert!(msgs[0].message.contains("ConnectionRefused"));
}

#[tokio::test]
async fn connection_reset_mid_run_fails_that_directory_only() {
    let h = Harness::new(&[]).await;
    let (dir, _, _, _) = four_owned(&h).await;
    let before = h.ids(&dir).await;
    h.emu
        .fault(json!({"operation": "GetSnapshotLimits", "kind": "disconnect"}));
    let report = h.run(scheduled()).await;
    let d = &report.directories[0];
    assert_eq!(d.errors[0].operation, "GetSnapshotLimits");
    assert!(
        ["ConnectionError", "UnparseableResponse", "Timeout"].contains(&d.errors[0].code.as_str()),
        "{:?}",
        d.errors
    );
    assert_eq!(h.ids(&dir).await, before);
    assert_eq!(h.messages().await.len(), 1);
}

#[tokio::test]
async fn sns_publish_failing_errors_the_invocation_and_the_report_is_still_logged() {
    let h = Harness::new(&[("NOTIFY_LEVEL", "all")]).await;
    let dir = h.dir().await;
    h.emu
        .fault(json!({"operation": "Publish", "kind": "service"}));
    let err = h.invoke(scheduled()).await.unwrap_err();
    assert!(matches!(err, InvocationError::NotifyFailed(_)), "{err}");
    assert!(
        err.to_string().contains("ServiceException") || err.to_string().contains("InternalError"),
        "{err}"
    );
    // The snapshot was taken and the report logged before the publish failed.
    assert_eq!(h.snapshots(&dir).await.len(), 1);
    let lines = h.lines.lock().unwrap().clone();
    assert!(lines.iter().any(|l| l.contains("\"run report\"")));
    assert!(lines.iter().any(|l| l.contains("SNS publish failed")));
    assert!(h.messages().await.is_empty());
}

#[tokio::test]
async fn another_actor_filling_the_last_slot_between_observe_and_create() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let mine = h
        .emu
        .seed(&dir, Some(&support::kname(2)), "Manual", "Completed", 2.0);
    // The quota answer says there is room; by the time we create, there is not.
    h.emu.fault(json!({"operation": "CreateSnapshot", "kind": "error", "error_code": "SnapshotLimitExceededException", "message": "Manual snapshot limit reached", "count": 1}));
    let report = h.run(scheduled()).await;
    let d = &report.directories[0];
    assert_eq!(d.errors[0].code, "SnapshotLimitExceededException");
    assert!(d.deleted.is_empty() && d.created.is_none());
    assert_eq!(h.ids(&dir).await, vec![mine]);
    assert!(h.messages().await[0]
        .message
        .contains("SnapshotLimitExceededException"));
}

#[tokio::test]
async fn a_directory_deleted_mid_run() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    h.emu
        .fault(json!({"operation": "CreateSnapshot", "kind": "latency", "latency_ms": 1500}));
    let ds = h.emu.ds(&h.config);
    let delete = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        ds.delete_directory()
            .directory_id(&dir)
            .send()
            .await
            .unwrap();
    };
    let (result, ()) = tokio::join!(h.invoke(scheduled()), delete);
    let InvocationError::RunFailed(report) = result.unwrap_err() else {
        panic!()
    };
    let d = &report.directories[0];
    assert_eq!(
        (d.errors[0].operation.as_str(), d.errors[0].code.as_str()),
        ("CreateSnapshot", "EntityDoesNotExistException")
    );
    assert!(d.deleted.is_empty() && d.created.is_none());
    assert_eq!(h.messages().await.len(), 1);
}

#[tokio::test]
async fn pagination_with_one_item_per_page_sees_everything() {
    let mut h = Harness::new(&[]).await;
    h.page_size = Some(1);
    let (dir, oldest, _, _) = four_owned(&h).await;
    h.emu.seed(&dir, None, "Auto", "Completed", 5.0);
    let report = h.invoke(scheduled()).await.unwrap();
    let d = &report.directories[0];
    assert_eq!(d.snapshots_seen.len(), 6);
    assert_eq!(d.deleted[0].deletion.snapshot_id, oldest);
    // 6 pages to observe, then polling the new snapshot.
    let describes: Vec<Value> = h
        .emu
        .calls()
        .into_iter()
        .filter(|c| c["operation"] == "DescribeSnapshots")
        .collect();
    assert!(describes.len() >= 7, "{}", describes.len());
}

#[tokio::test]
async fn delete_answering_not_found_because_someone_else_deleted_it_first() {
    let h = Harness::new(&[]).await;
    let (dir, oldest, others, theirs) = four_owned(&h).await;
    h.emu.fault(
        json!({"operation": "DeleteSnapshot", "kind": "latency", "latency_ms": 800, "count": 1}),
    );
    let ds = h.emu.ds(&h.config);
    let race = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        ds.delete_snapshot()
            .snapshot_id(&oldest)
            .send()
            .await
            .unwrap();
    };
    let (result, ()) = tokio::join!(h.invoke(scheduled()), race);
    let report = result.expect("someone else's delete is not a failure");
    let d = &report.directories[0];
    assert_eq!(
        d.deleted.len(),
        2,
        "make room (already gone), then prune beyond retain"
    );
    assert_eq!(d.deleted[0].deletion.snapshot_id, oldest);
    assert!(!d.deleted[0].done && d.deleted[0].deletion.reason.contains("already gone"));
    assert_eq!(
        (
            d.deleted[1].deletion.snapshot_id.as_str(),
            d.deleted[1].done
        ),
        (others[0].as_str(), true)
    );
    assert!(d.errors.is_empty());
    let new_id = d.created.as_ref().unwrap().snapshot_id.clone().unwrap();
    let mut expected = others[1..].to_vec();
    expected.push(new_id);
    expected.push(theirs);
    assert_eq!(h.ids(&dir).await, sorted(expected));
}

#[tokio::test]
async fn concurrent_deliveries_never_break_the_quota_or_delete_what_they_must_not() {
    // Production serialises runs (ReservedConcurrentExecutions: 1); even unserialised, two
    // runs at once lose nothing.
    let h = Harness::new(&[]).await;
    let (dir, _, _, theirs) = four_owned(&h).await;
    let (a, b) = tokio::join!(h.run(scheduled()), h.run(scheduled()));
    let snaps = h.snapshots(&dir).await;
    assert!(snaps.len() <= 5, "quota never exceeded");
    assert!(
        snaps
            .iter()
            .any(|s| s.snapshot_id() == Some(theirs.as_str())),
        "unowned kept"
    );
    let completed_new = [&a, &b]
        .iter()
        .filter(|r| {
            r.directories[0]
                .created
                .as_ref()
                .is_some_and(|c| c.status == CreatedState::Completed)
        })
        .count();
    assert!(completed_new >= 1 || [&a, &b].iter().any(|r| r.has_failures()));
    let newest = snaps
        .iter()
        .max_by_key(|s| s.start_time().unwrap().secs())
        .unwrap();
    assert!(
        newest.name().unwrap().starts_with("keeper-2"),
        "the newest is a fresh keeper snapshot"
    );
}

#[tokio::test]
async fn clock_skew_and_future_dated_snapshots() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    // Three minutes ahead (a skewed clock): counts as just taken, so no duplicate snapshot.
    let skewed = h.emu.seed_manual(&dir, &support::kname(3), -3.0 / 1440.0);
    let r1 = h.invoke(scheduled()).await.unwrap();
    assert!(r1.directories[0].created.is_none());
    assert!(r1.directories[0]
        .create_skipped
        .as_deref()
        .unwrap()
        .contains("minimum interval"));
    // Thirty days ahead: flagged, ignored for the interval, and never deleted.
    let future = h
        .emu
        .seed(&dir, Some(&support::kname(4)), "Manual", "Completed", -30.0);
    h.emu.age(1.0);
    let r2 = h.invoke(scheduled()).await.unwrap();
    let d = &r2.directories[0];
    assert!(d
        .flagged
        .iter()
        .any(|f| f.code == "future-dated" && f.snapshot_id.as_deref() == Some(future.as_str())));
    assert_eq!(d.created.as_ref().unwrap().status, CreatedState::Completed);
    let ids = h.ids(&dir).await;
    assert!(ids.contains(&future) && ids.contains(&skewed));
}

#[tokio::test]
async fn non_active_and_replica_directories_are_skipped_untouched() {
    let h = Harness::new(&[]).await;
    let impaired = h.dir().await;
    let replica = h.dir().await;
    let mine = h.emu.seed_manual(&impaired, &support::kname(5), 300.0);
    h.emu
        .set_directory(&impaired, json!({"stage": "Inoperable"}));
    h.emu.set_directory(&replica, json!({"regions_info": {"PrimaryRegion": "eu-central-1", "AdditionalRegions": ["us-east-1"]}}));
    let report: RunReport = h.invoke(scheduled()).await.unwrap();
    assert_eq!(
        report.severity,
        Severity::Warning,
        "a directory not Active deserves a warning"
    );
    assert_eq!(h.ids(&impaired).await, vec![mine]);
    assert!(h.snapshots(&replica).await.is_empty());
    let msgs = h.messages().await;
    assert!(msgs[0].message.contains("Inoperable"));
}

#[tokio::test]
async fn auto_snapshots_and_a_quota_full_of_unowned_ones() {
    let h = Harness::new(&[("RETAIN_COUNT", "1")]).await;
    let dir = h.dir().await;
    let autos: Vec<String> = (0..3)
        .map(|i| {
            h.emu
                .seed(&dir, None, "Auto", "Completed", 190.0 + i as f64)
        })
        .collect();
    let theirs: Vec<String> = (0..4)
        .map(|i| {
            h.emu
                .seed_manual(&dir, &format!("ops-{i}"), 200.0 + i as f64)
        })
        .collect();
    let report = h.run(scheduled()).await;
    let d = &report.directories[0];
    assert_eq!(d.errors[0].code, "QuotaReservedSlotsBlocked");
    assert!(d.flagged.iter().any(|f| f.code == "no-restorable-snapshot"));
    let mut expected = autos;
    expected.extend(theirs);
    assert_eq!(h.ids(&dir).await, sorted(expected));
    assert!(h.messages().await[0].subject.starts_with("[FAILURE]"));
}

#[tokio::test]
async fn no_write_starts_after_the_deadline_margin_and_the_rest_is_reported() {
    let mut h = Harness::new(&[("CONCURRENCY", "1"), ("DEADLINE_MARGIN_SECONDS", "3")]).await;
    for _ in 0..6 {
        h.dir().await;
    }
    h.emu
        .fault(json!({"operation": "GetSnapshotLimits", "kind": "latency", "latency_ms": 800}));
    let started = tokio::time::Instant::now();
    h.deadline = Some(started + Duration::from_secs(6));
    let report = h.run(scheduled()).await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "returned after the deadline"
    );
    let late: Vec<&str> = report
        .directories
        .iter()
        .filter(|d| d.errors.iter().any(|e| e.code == "DeadlineReached"))
        .map(|d| d.directory_id.as_str())
        .collect();
    assert!(
        !late.is_empty(),
        "some directories were out of time: {:?}",
        report.directories
    );
    let created = h.emu.count_calls("CreateSnapshot");
    assert_eq!(created, report.summary.created);
    assert!(created < 6, "not every directory was snapshotted");
    assert!(h.messages().await[0].message.contains("DeadlineReached"));
}
