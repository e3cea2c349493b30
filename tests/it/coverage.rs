//! Coverage: every directory of the Region the keeper does not manage is reported, with why
//! and since when, and counted in `UnmanagedDirectories` when someone should protect it.
//! Each test asserts the report, the metric line and the exact API calls.

use crate::support;
use support::count;

use ds_snapshot_keeper::policy::eligibility::UnmanagedReason;
use ds_snapshot_keeper::report::RunReport;
use serde_json::Value;
use support::harness::{scheduled, Harness};

const TAG: (&str, &str) = ("ds-snapshot-keeper", "enabled");

/// Run once; return the report, the run-level metric line and the DS calls of the run.
async fn run(h: &Harness) -> (RunReport, Value, Vec<Value>) {
    let before = h.emu.calls().len();
    h.lines.lock().unwrap().clear();
    let report = h.run(scheduled()).await;
    let calls = h.emu.calls().split_off(before);
    (report, h.run_metrics(), calls)
}

fn reasons(report: &RunReport) -> Vec<(String, UnmanagedReason, bool)> {
    report
        .coverage
        .as_ref()
        .expect("a scheduled run reports coverage")
        .unmanaged
        .iter()
        .map(|u| (u.directory_id.clone(), u.reason, u.counted))
        .collect()
}

fn metric_declared(metric: &Value, name: &str) -> bool {
    metric["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["Name"] == name)
}

#[tokio::test]
async fn an_untagged_directory_is_reported_with_its_age_and_counted() {
    let h = Harness::new(&[("DISCOVERY_TAG", "ds-snapshot-keeper=enabled")]).await;
    let managed = h.dir().await;
    let forgotten = h.dir().await;
    h.tag(&managed, TAG.0, TAG.1).await;
    let (report, metric, calls) = run(&h).await;
    assert_eq!(
        reasons(&report),
        vec![(forgotten.clone(), UnmanagedReason::NotTagged, true)]
    );
    let u = &report.coverage.as_ref().unwrap().unmanaged[0];
    assert!(
        u.launch_time.is_some(),
        "LaunchTime says how long it has existed"
    );
    assert_eq!(u.age_days, Some(0));
    assert_eq!(report.directories.len(), 1);
    assert_eq!(metric["UnmanagedDirectories"], 1);
    assert!(metric_declared(&metric, "UnmanagedDirectories"));
    // Discovery already reads every directory and its tags: coverage costs nothing more.
    assert_eq!(count(&calls, "DescribeDirectories"), 1);
    // Two for discovery, two for the managed directory's restore mark (read right before it
    // is acted on and right before its snapshot, so a restore confirmed meanwhile is seen).
    assert_eq!(count(&calls, "ListTagsForResource"), 4);
    assert_eq!(count(&calls, "DescribeSnapshots"), 2);
    assert_eq!(count(&calls, "GetSnapshotLimits"), 1);
    assert_eq!(count(&calls, "CreateSnapshot"), 1);
    assert!(h.snapshots(&forgotten).await.is_empty());
    assert_eq!(
        h.messages().await.len(),
        0,
        "the alarm tells, once; not every daily message"
    );
}

#[tokio::test]
async fn a_directory_missing_from_directory_ids_is_reported_from_the_same_listing() {
    let mut h = Harness::new(&[]).await;
    let listed = h.dir().await;
    let missing = h.dir().await;
    h.settings.directory_ids = vec![listed.clone()];
    let (report, metric, calls) = run(&h).await;
    assert_eq!(
        reasons(&report),
        vec![(missing.clone(), UnmanagedReason::NotListed, true)]
    );
    assert_eq!(metric["UnmanagedDirectories"], 1);
    // One page of the Region's directories serves both: the listed one and the coverage.
    assert_eq!(count(&calls, "DescribeDirectories"), 1);
    // The tag reads: the managed directory's restore mark, right before it is acted on and
    // again right before its snapshot is taken.
    assert_eq!(count(&calls, "ListTagsForResource"), 2);
    assert_eq!(count(&calls, "CreateSnapshot"), 1);
    assert!(h.snapshots(&missing).await.is_empty());
}

#[tokio::test]
async fn a_listed_directory_that_no_longer_exists_is_a_failure_not_a_silence() {
    let mut h = Harness::new(&[]).await;
    let listed = h.dir().await;
    h.settings.directory_ids = vec![listed.clone(), "d-0000000000".to_owned()];
    let (report, _, calls) = run(&h).await;
    let gone = report
        .directories
        .iter()
        .find(|d| d.directory_id == "d-0000000000")
        .expect("the missing directory has its own report");
    assert_eq!(gone.errors[0].code, "EntityDoesNotExistException");
    assert!(report.has_failures());
    assert_eq!(count(&calls, "DescribeDirectories"), 1);
    assert_eq!(
        count(&calls, "CreateSnapshot"),
        1,
        "the directory that exists is still protected"
    );
    assert_eq!(h.snapshots(&listed).await.len(), 1);
}

#[tokio::test]
async fn excluded_directories_are_reported_but_not_counted() {
    // By setting, with DIRECTORY_IDS ...
    let mut h = Harness::new(&[]).await;
    let listed = h.dir().await;
    let excluded = h.dir().await;
    h.settings.directory_ids = vec![listed.clone()];
    h.settings.excluded_directory_ids = vec![excluded.clone()];
    let (report, metric, calls) = run(&h).await;
    assert_eq!(
        reasons(&report),
        vec![(excluded.clone(), UnmanagedReason::Excluded, false)]
    );
    assert_eq!(
        metric["UnmanagedDirectories"], 0,
        "the count can reach zero honestly"
    );
    assert_eq!(count(&calls, "DescribeDirectories"), 1);
    assert!(h.snapshots(&excluded).await.is_empty());

    // ... and by tag, with discovery.
    let h = Harness::new(&[("DISCOVERY_TAG", "ds-snapshot-keeper=enabled")]).await;
    let managed = h.dir().await;
    let opted_out = h.dir().await;
    h.tag(&managed, TAG.0, TAG.1).await;
    h.tag(&opted_out, TAG.0, "excluded").await;
    let (report, metric, calls) = run(&h).await;
    assert_eq!(
        reasons(&report),
        vec![(opted_out.clone(), UnmanagedReason::Excluded, false)]
    );
    assert_eq!(metric["UnmanagedDirectories"], 0);
    assert_eq!(count(&calls, "DescribeDirectories"), 1);
    // Two for discovery, two for the managed directory's restore mark (read right before it
    // is acted on and right before its snapshot, so a restore confirmed meanwhile is seen).
    assert_eq!(count(&calls, "ListTagsForResource"), 4);
    assert!(h.snapshots(&opted_out).await.is_empty());
}

#[tokio::test]
async fn an_ad_connector_is_reported_as_not_snapshottable_and_not_counted() {
    let h = Harness::new(&[("DISCOVERY_TAG", "ds-snapshot-keeper=enabled")]).await;
    let managed = h.dir().await;
    h.tag(&managed, TAG.0, TAG.1).await;
    let connector = h.emu.ad_connector(&h.config, "onprem.example.com").await;
    let (report, metric, calls) = run(&h).await;
    assert_eq!(
        reasons(&report),
        vec![(connector.clone(), UnmanagedReason::AdConnector, false)]
    );
    assert_eq!(metric["UnmanagedDirectories"], 0);
    assert_eq!(count(&calls, "DescribeDirectories"), 1);
    // Two for discovery, two for the managed directory's restore mark (read right before it
    // is acted on and right before its snapshot, so a restore confirmed meanwhile is seen).
    assert_eq!(count(&calls, "ListTagsForResource"), 4);
    assert_eq!(
        count(&calls, "DescribeSnapshots"),
        2,
        "the connector is not observed"
    );
}
