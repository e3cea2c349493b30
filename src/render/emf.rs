//! The run report as CloudWatch Embedded Metric Format lines: one per directory (dimension
//! `DirectoryId`) and one for the whole run (dimension `FunctionName`).
//!
//! Each line is a typed value: the metric values as struct fields (absent when there is no
//! value, so an alarm treats the absence as it is told to), and the EMF directive listing
//! exactly the metrics the line carries, with their units, from one table.

use serde::Serialize;
use serde_json::{Map, Value};

use super::log::log_context;
use crate::log;
use crate::model::CreatedState;
use crate::report::{Notified, RunReport};

/// CloudWatch namespace of the keeper's metrics.
pub const METRIC_NAMESPACE: &str = "DsSnapshotKeeper";

/// Every metric the keeper emits, with its CloudWatch unit, in the order the directives list
/// them.
const UNITS: &[(&str, &str)] = &[
    ("SnapshotsCreated", "Count"),
    ("SnapshotsCompleted", "Count"),
    ("SnapshotsDeleted", "Count"),
    ("Failures", "Count"),
    ("NewestCompletedSnapshotAgeDays", "None"),
    ("ManualSnapshotsInUse", "Count"),
    ("ManualSnapshotsLimit", "Count"),
    ("FreeManualSnapshotSlots", "Count"),
    ("OldestRestorableSnapshotAgeDays", "None"),
    ("RunFailures", "Count"),
    ("FailedRunsReported", "Count"),
    ("RunSnapshotsCreated", "Count"),
    ("RunSnapshotsCompleted", "Count"),
    ("RunSnapshotsDeleted", "Count"),
    ("RunDirectories", "Count"),
    ("MaxNewestCompletedSnapshotAgeDays", "None"),
    ("MinFreeManualSnapshotSlots", "Count"),
    ("UnmanagedDirectories", "Count"),
];

/// One directory's metrics (dimension `DirectoryId`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DirectoryMetrics<'a> {
    directory_id: &'a str,
    snapshots_created: u32,
    snapshots_completed: u32,
    snapshots_deleted: usize,
    failures: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    newest_completed_snapshot_age_days: Option<f64>,
    /// The quota the run leaves: what a schema extension or an OS update will find.
    #[serde(skip_serializing_if = "Option::is_none")]
    manual_snapshots_in_use: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manual_snapshots_limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    free_manual_snapshot_slots: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oldest_restorable_snapshot_age_days: Option<f64>,
}

/// The run's metrics (dimension `FunctionName`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RunMetrics<'a> {
    function_name: &'a str,
    run_failures: usize,
    /// A failed run whose own SNS message went out: the alarm on Lambda's Errors subtracts
    /// these, so one bad day raises one alert (the keeper's, with the details).
    failed_runs_reported: u32,
    run_snapshots_created: usize,
    run_snapshots_completed: usize,
    run_snapshots_deleted: usize,
    run_directories: usize,
    /// The stalest directory's newest Completed snapshot age; absent when a managed directory
    /// has none at all, so that it never looks fresh.
    #[serde(skip_serializing_if = "Option::is_none")]
    max_newest_completed_snapshot_age_days: Option<f64>,
    /// The fewest free manual slots any managed directory is left with: the free-slots alarm
    /// fires when it stays below RESERVED_SLOTS, before a schema extension finds no slot.
    #[serde(skip_serializing_if = "Option::is_none")]
    min_free_manual_snapshot_slots: Option<u32>,
    /// Directories of the Region nobody protects (scheduled runs, which look at the Region).
    #[serde(skip_serializing_if = "Option::is_none")]
    unmanaged_directories: Option<usize>,
}

#[derive(Serialize)]
struct Metric {
    #[serde(rename = "Name")]
    name: &'static str,
    #[serde(rename = "Unit")]
    unit: &'static str,
}

#[derive(Serialize)]
struct Directive {
    #[serde(rename = "Namespace")]
    namespace: &'static str,
    #[serde(rename = "Dimensions")]
    dimensions: [[&'static str; 1]; 1],
    #[serde(rename = "Metrics")]
    metrics: Vec<Metric>,
}

#[derive(Serialize)]
struct Aws {
    #[serde(rename = "Timestamp")]
    timestamp: i64,
    #[serde(rename = "CloudWatchMetrics")]
    cloud_watch_metrics: [Directive; 1],
}

/// An EMF line in the log schema: `INFO`, so that no `LogLevel` the templates offer drops it.
/// The directive lists the metrics `values` carries, with the units of [`UNITS`].
fn emf_line(report: &RunReport, dimension: &'static str, values: impl Serialize) -> String {
    let mut fields = match serde_json::to_value(values) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    let metrics = UNITS
        .iter()
        .filter(|(name, _)| fields.contains_key(*name))
        .map(|&(name, unit)| Metric { name, unit })
        .collect();
    let aws = Aws {
        timestamp: report.finished_at.as_millisecond(),
        cloud_watch_metrics: [Directive {
            namespace: METRIC_NAMESPACE,
            dimensions: [[dimension]],
            metrics,
        }],
    };
    fields.insert(
        "_aws".to_owned(),
        serde_json::to_value(aws).unwrap_or_default(),
    );
    log::line(
        &log_context(report),
        log::Level::Info,
        "metrics",
        fields,
        report.finished_at,
    )
}

fn completed(d: &crate::report::DirectoryReport) -> bool {
    d.created
        .as_ref()
        .is_some_and(|c| c.status == CreatedState::Completed)
}

/// EMF lines: one per directory (dimension DirectoryId) and one for the whole run.
pub fn metric_lines(report: &RunReport) -> Vec<String> {
    let managed = || report.directories.iter().filter(|d| d.skipped.is_none());
    let mut lines: Vec<String> = managed()
        .map(|d| {
            let q = d.quota;
            emf_line(
                report,
                "DirectoryId",
                DirectoryMetrics {
                    directory_id: &d.directory_id,
                    snapshots_created: d.created.as_ref().is_some_and(|c| c.snapshot_id.is_some())
                        as u32,
                    snapshots_completed: completed(d) as u32,
                    snapshots_deleted: d.deleted.iter().filter(|x| x.done).count(),
                    failures: d.errors.len(),
                    newest_completed_snapshot_age_days: d.newest_completed_age_days,
                    manual_snapshots_in_use: q.map(|q| q.manual_in_use),
                    manual_snapshots_limit: q.map(|q| q.manual_limit),
                    free_manual_snapshot_slots: q.map(|q| q.free_slots),
                    oldest_restorable_snapshot_age_days: q
                        .and_then(|q| q.oldest_restorable_age_days),
                },
            )
        })
        .collect();
    let s = &report.summary;
    let stalest = managed()
        .filter_map(|d| d.newest_completed_age_days)
        .reduce(f64::max);
    let managed_without_snapshot =
        managed().any(|d| d.limits.is_some() && d.newest_completed_age_days.is_none());
    lines.push(emf_line(
        report,
        "FunctionName",
        RunMetrics {
            function_name: &report.function_name,
            run_failures: s.failures,
            failed_runs_reported: (report.has_failures()
                && report.notification == Notified::Published)
                as u32,
            run_snapshots_created: s.created,
            run_snapshots_completed: report.directories.iter().filter(|d| completed(d)).count(),
            run_snapshots_deleted: s.deleted,
            run_directories: s.directories,
            max_newest_completed_snapshot_age_days: stalest.filter(|_| !managed_without_snapshot),
            min_free_manual_snapshot_slots: managed()
                .filter_map(|d| d.quota.map(|q| q.free_slots))
                .min(),
            unmanaged_directories: report.coverage.as_ref().map(|c| c.unmanaged_count),
        },
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures::{dir, report};
    use serde_json::json;
    #[test]
    fn metrics_are_valid_emf_and_absence_of_any_snapshot_is_not_fresh() {
        let mut fresh = dir("d-0123456789");
        fresh.newest_completed_age_days = Some(1.5);
        let mut stale = dir("d-abcdefabcd");
        stale.newest_completed_age_days = Some(3.25);
        let lines = metric_lines(&report(vec![fresh.clone(), stale]));
        assert_eq!(lines.len(), 3);
        for l in &lines {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let m = &v["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(m["Namespace"], METRIC_NAMESPACE);
            for metric in m["Metrics"].as_array().unwrap() {
                let name = metric["Name"].as_str().unwrap();
                assert!(v.get(name).is_some(), "{name} declared but missing in {l}");
            }
        }
        let run: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
        assert_eq!(run["MaxNewestCompletedSnapshotAgeDays"], 3.25);
        // A managed directory with no Completed snapshot: the freshness metric is withheld,
        // so the alarm (missing data breaches) fires.
        let lines = metric_lines(&report(vec![fresh, dir("d-1111111111")]));
        let run: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
        assert!(run.get("MaxNewestCompletedSnapshotAgeDays").is_none());
    }

    #[test]
    fn quota_metrics_per_directory_and_the_fewest_free_slots_per_run() {
        let quota = |in_use, oldest| crate::policy::Quota {
            manual_in_use: in_use,
            manual_limit: 5,
            free_slots: 5 - in_use,
            oldest_restorable_age_days: oldest,
        };
        let mut roomy = dir("d-0123456789");
        roomy.quota = Some(quota(2, Some(40.0)));
        let mut tight = dir("d-abcdefabcd");
        tight.quota = Some(quota(5, None));
        let lines = metric_lines(&report(vec![roomy, tight, dir("d-1111111111")]));
        let v: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            (
                &v[0]["ManualSnapshotsInUse"],
                &v[0]["ManualSnapshotsLimit"],
                &v[0]["FreeManualSnapshotSlots"],
                &v[0]["OldestRestorableSnapshotAgeDays"]
            ),
            (&json!(2), &json!(5), &json!(3), &json!(40.0))
        );
        assert_eq!(v[1]["FreeManualSnapshotSlots"], 0);
        assert!(
            v[1].get("OldestRestorableSnapshotAgeDays").is_none(),
            "nothing restorable: no figure rather than a misleading one"
        );
        assert!(
            v[2].get("FreeManualSnapshotSlots").is_none(),
            "not observed"
        );
        let declared = |line: &serde_json::Value| -> Vec<String> {
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["Name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert!(declared(&v[0]).contains(&"OldestRestorableSnapshotAgeDays".to_owned()));
        assert!(!declared(&v[1]).contains(&"OldestRestorableSnapshotAgeDays".to_owned()));
        let run = v.last().unwrap();
        assert_eq!(
            run["MinFreeManualSnapshotSlots"], 0,
            "the tightest directory"
        );
        assert!(declared(run).contains(&"MinFreeManualSnapshotSlots".to_owned()));
    }
}
