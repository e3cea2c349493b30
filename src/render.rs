//! Renderings of the [`RunReport`]: the structured log line, CloudWatch Embedded Metric Format
//! lines and the SNS notification. Each is a pure function of the report.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::log;
use crate::model::CreatedState;
use crate::notify::{Attribute, Notification};
use crate::policy::{FlagLevel, Worth};
use crate::report::{DirectoryReport, Notified, RunReport, Severity};
use crate::settings::NotifyLevel;

/// CloudWatch namespace of the keeper's metrics.
pub const METRIC_NAMESPACE: &str = "DsSnapshotKeeper";
/// SNS subjects must be ASCII, one line, under 100 characters.
pub const MAX_SUBJECT_LEN: usize = 99;
/// Stop listing directories in the SNS body past this size (SNS allows 256 KB in all).
pub const MAX_BODY_BYTES: usize = 200 * 1024;

/// The name a unit enum has in the report (`run`, `beyond-retain`...), so the e-mail uses
/// the same words as the JSON.
fn wire_name(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => name,
        _ => String::new(),
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "OK",
        Severity::Warning => "WARNING",
        Severity::Critical => "CRITICAL",
        Severity::Failure => "FAILURE",
    }
}

/// SNS FIFO deduplication ids are 1-128 printable ASCII characters: the request id, cleaned.
fn deduplication_id(request_id: &str) -> String {
    let id: String = request_id
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(128)
        .collect();
    if id.is_empty() {
        "run".to_owned()
    } else {
        id
    }
}

/// CloudWatch Logs cuts events at 256 KB; a report larger than this is logged in parts.
pub const MAX_LOG_LINE_BYTES: usize = 200 * 1024;

fn level(severity: Severity) -> log::Level {
    match severity {
        Severity::Failure | Severity::Critical => log::Level::Error,
        Severity::Warning => log::Level::Warn,
        Severity::Ok => log::Level::Info,
    }
}

/// The report as JSON log lines, in the shape of Lambda's JSON log format: one line
/// (`"message": "run report"`) in all but huge runs. When that line would exceed what
/// CloudWatch Logs keeps whole, the run is logged as one `run report` line without the
/// directories plus one `run report: directory` line per directory, all with the request id.
///
/// A run with failures also carries `failing` on its `run report` line: every failing
/// directory (and the run itself, for run-level errors) with its error codes, in one string.
/// Logs Insights flattens arrays by position (`report.directories.1.errors.0.code`), so a query
/// can only name fixed positions; one top-level string names them all, whatever the position
/// and whether or not the report is logged in parts (the dashboard's "Latest failed runs").
pub fn log_lines(report: &RunReport) -> Vec<String> {
    let context = log_context(report);
    let failing = failing(report);
    let line = |level: log::Level, message: &str, key: &str, value: Value| {
        let mut fields = serde_json::Map::new();
        fields.insert(key.to_owned(), value);
        if message == "run report" {
            if let Some(f) = &failing {
                fields.insert("failing".to_owned(), json!(f));
            }
        }
        log::line(&context, level, message, fields, report.finished_at)
    };
    let whole = line(
        level(report.severity),
        "run report",
        "report",
        serde_json::to_value(report).unwrap_or_default(),
    );
    if whole.len() <= MAX_LOG_LINE_BYTES {
        return vec![whole];
    }
    let mut head = serde_json::to_value(report).unwrap_or_default();
    head["directories"] = json!(format!(
        "{} directories, one line each below",
        report.directories.len()
    ));
    let mut lines = vec![line(level(report.severity), "run report", "report", head)];
    for d in &report.directories {
        lines.push(line(
            level(d.severity),
            "run report: directory",
            "directory",
            serde_json::to_value(d).unwrap_or_default(),
        ));
    }
    lines
}

/// `d-1 (SnapshotFailed), d-2 (EntityDoesNotExistException, RefusedByGuard), run (Code)`:
/// each failing directory once, with its distinct codes in the order they happened; `None`
/// when nothing failed.
pub fn failing(report: &RunReport) -> Option<String> {
    fn codes(errors: &[crate::report::ErrorEntry]) -> String {
        let mut seen: Vec<&str> = Vec::new();
        for e in errors {
            if !seen.contains(&e.code.as_str()) {
                seen.push(&e.code);
            }
        }
        seen.join(", ")
    }
    let mut parts: Vec<String> = report
        .directories
        .iter()
        .filter(|d| !d.errors.is_empty())
        .map(|d| format!("{} ({})", d.directory_id, codes(&d.errors)))
        .collect();
    if !report.errors.is_empty() {
        parts.push(format!("run ({})", codes(&report.errors)));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Who wrote the report's lines: its function and invocation.
fn log_context(report: &RunReport) -> log::Context {
    log::Context {
        function_name: report.function_name.clone(),
        request_id: Some(report.request_id.clone()),
        cold_start: report.cold_start,
    }
}

/// An EMF line in the log schema: `INFO`, so that no `LogLevel` the templates offer drops it.
fn emf_line(report: &RunReport, line: Value) -> String {
    let Value::Object(fields) = line else {
        return line.to_string();
    };
    log::line(
        &log_context(report),
        log::Level::Info,
        "metrics",
        fields,
        report.finished_at,
    )
}

/// EMF lines: one per directory (dimension DirectoryId) and one for the whole run.
pub fn metric_lines(report: &RunReport) -> Vec<String> {
    let millis = report.finished_at.as_millisecond();
    let mut lines = Vec::with_capacity(report.directories.len() + 1);
    for d in report.directories.iter().filter(|d| d.skipped.is_none()) {
        let created_completed =
            d.created
                .as_ref()
                .is_some_and(|c| c.status == CreatedState::Completed) as u32;
        let mut metrics = vec![
            json!({"Name": "SnapshotsCreated", "Unit": "Count"}),
            json!({"Name": "SnapshotsCompleted", "Unit": "Count"}),
            json!({"Name": "SnapshotsDeleted", "Unit": "Count"}),
            json!({"Name": "Failures", "Unit": "Count"}),
        ];
        let mut line = json!({
            "_aws": {
                "Timestamp": millis,
                "CloudWatchMetrics": [],
            },
            "DirectoryId": d.directory_id,
            "SnapshotsCreated": d.created.as_ref().is_some_and(|c| c.snapshot_id.is_some()) as u32,
            "SnapshotsCompleted": created_completed,
            "SnapshotsDeleted": d.deleted.iter().filter(|x| x.done).count(),
            "Failures": d.errors.len(),
        });
        if let Some(age) = d.newest_completed_age_days {
            metrics.push(json!({"Name": "NewestCompletedSnapshotAgeDays", "Unit": "None"}));
            line["NewestCompletedSnapshotAgeDays"] = json!(age);
        }
        // The quota the run leaves: what a schema extension or an OS update will find.
        if let Some(q) = &d.quota {
            for (name, value) in [
                ("ManualSnapshotsInUse", q.manual_in_use),
                ("ManualSnapshotsLimit", q.manual_limit),
                ("FreeManualSnapshotSlots", q.free_slots),
            ] {
                metrics.push(json!({"Name": name, "Unit": "Count"}));
                line[name] = json!(value);
            }
            if let Some(age) = q.oldest_restorable_age_days {
                metrics.push(json!({"Name": "OldestRestorableSnapshotAgeDays", "Unit": "None"}));
                line["OldestRestorableSnapshotAgeDays"] = json!(age);
            }
        }
        line["_aws"]["CloudWatchMetrics"] = json!([{
            "Namespace": METRIC_NAMESPACE,
            "Dimensions": [["DirectoryId"]],
            "Metrics": metrics,
        }]);
        lines.push(emf_line(report, line));
    }
    let s = &report.summary;
    // The stalest directory: its newest Completed snapshot's age. The freshness alarm watches
    // this one number, and treats its absence (no run, or no snapshot at all) as breaching.
    let stalest = report
        .directories
        .iter()
        .filter(|d| d.skipped.is_none())
        .filter_map(|d| d.newest_completed_age_days)
        .fold(None, |acc: Option<f64>, age| {
            Some(acc.map_or(age, |a| a.max(age)))
        });
    let managed_without_snapshot = report.directories.iter().any(|d| {
        d.skipped.is_none() && d.limits.is_some() && d.newest_completed_age_days.is_none()
    });
    let mut run = json!({
        "_aws": {
            "Timestamp": millis,
            "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE,
                "Dimensions": [["FunctionName"]],
                "Metrics": [
                    {"Name": "RunFailures", "Unit": "Count"},
                    {"Name": "FailedRunsReported", "Unit": "Count"},
                    {"Name": "RunSnapshotsCreated", "Unit": "Count"},
                    {"Name": "RunSnapshotsCompleted", "Unit": "Count"},
                    {"Name": "RunSnapshotsDeleted", "Unit": "Count"},
                    {"Name": "RunDirectories", "Unit": "Count"},
                ],
            }],
        },
        "FunctionName": report.function_name,
        "RunFailures": s.failures,
        // A failed run whose own SNS message went out: the alarm on Lambda's Errors subtracts
        // these, so one bad day raises one alert (the keeper's, with the details).
        "FailedRunsReported": (report.has_failures() && report.notification == Notified::Published) as u32,
        "RunSnapshotsCreated": s.created,
        "RunSnapshotsCompleted": report.directories.iter().filter(|d| d.created.as_ref().is_some_and(|c| c.status == CreatedState::Completed)).count(),
        "RunSnapshotsDeleted": s.deleted,
        "RunDirectories": s.directories,
    });
    // A managed directory with no Completed snapshot at all must not look fresh.
    if let (Some(age), false) = (stalest, managed_without_snapshot) {
        run["MaxNewestCompletedSnapshotAgeDays"] = json!(age);
        run["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array_mut()
            .expect("metrics list")
            .push(json!({"Name": "MaxNewestCompletedSnapshotAgeDays", "Unit": "None"}));
    }
    // The fewest free manual slots any managed directory is left with: the free-slots alarm
    // fires when it stays below RESERVED_SLOTS, before a schema extension finds no slot.
    let min_free = report
        .directories
        .iter()
        .filter(|d| d.skipped.is_none())
        .filter_map(|d| d.quota.map(|q| q.free_slots))
        .min();
    if let Some(free) = min_free {
        run["MinFreeManualSnapshotSlots"] = json!(free);
        run["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array_mut()
            .expect("metrics list")
            .push(json!({"Name": "MinFreeManualSnapshotSlots", "Unit": "Count"}));
    }
    // Directories of the Region nobody protects (scheduled runs, which look at the Region).
    if let Some(c) = &report.coverage {
        run["UnmanagedDirectories"] = json!(c.unmanaged_count);
        run["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array_mut()
            .expect("metrics list")
            .push(json!({"Name": "UnmanagedDirectories", "Unit": "Count"}));
    }
    lines.push(emf_line(report, run));
    lines
}

/// Whether a run of this severity is published at this notify level.
pub fn should_notify(severity: Severity, level: NotifyLevel) -> bool {
    match level {
        NotifyLevel::All => true,
        NotifyLevel::Warnings => severity >= Severity::Warning,
        NotifyLevel::Failures => severity >= Severity::Critical,
    }
}

fn ascii_one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The subject: severity, directory (or how many) and region, ASCII, under 100 characters.
pub fn subject(report: &RunReport) -> String {
    let notable: Vec<&DirectoryReport> = report
        .directories
        .iter()
        .filter(|d| d.severity == report.severity)
        .collect();
    let scope = match notable.as_slice() {
        [one] => one.directory_id.clone(),
        [] => format!("{} directories", report.directories.len()),
        many => format!("{} directories", many.len()),
    };
    let mut subject = ascii_one_line(&format!(
        "[{}] DS snapshot keeper: {scope} in {}",
        severity_word(report.severity),
        report.region
    ));
    subject.truncate(MAX_SUBJECT_LEN);
    subject
}

/// The report for a person at a terminal (`invoke --format text`, the demo): the subject, the
/// e-mail body, and the coverage of the Region, which the e-mail leaves to its alarm.
pub fn text(report: &RunReport) -> String {
    let mut out = format!("{}\n\n{}", subject(report), body(report));
    if let Some(c) = &report.coverage {
        let _ = writeln!(
            out,
            "\nCoverage: {} directories of the Region not managed, {} of them unprotected.",
            c.unmanaged.len(),
            c.unmanaged_count
        );
        for u in &c.unmanaged {
            let _ = writeln!(
                out,
                "  {} ({}, {}): {}{}{}",
                u.directory_id,
                u.directory_name,
                u.directory_type,
                wire_name(u.reason),
                if u.counted { ", UNPROTECTED" } else { "" },
                u.age_days
                    .map(|d| format!(", created {d} days ago"))
                    .unwrap_or_default()
            );
        }
    }
    out
}

/// The report as a table for a terminal: one row per directory with what the dashboard
/// shows (restore reach, quota) and what the run did, then the summary line.
pub fn table(report: &RunReport) -> String {
    const HEAD: [&str; 9] = [
        "DIRECTORY",
        "STATE",
        "NEWEST (d)",
        "OLDEST RESTORABLE (d)",
        "MANUAL",
        "FREE",
        "CREATED",
        "DELETED",
        "NOTES",
    ];
    let days = |d: Option<f64>| d.map_or("-".to_owned(), |d| format!("{d:.1}"));
    let mut rows: Vec<[String; 9]> = Vec::new();
    for d in &report.directories {
        let quota = d.quota.as_ref();
        let created = match &d.created {
            Some(c) => format!(
                "{} {}",
                c.snapshot_id.as_deref().unwrap_or("-"),
                wire_name(c.status)
            ),
            None => "-".to_owned(),
        };
        let mut notes: Vec<String> = Vec::new();
        if let Some(skip) = &d.skipped {
            notes.push(format!("skipped: {}", wire_name(skip.reason)));
        }
        notes.extend(d.errors.iter().map(|e| e.code.clone()));
        notes.extend(d.flagged.iter().map(|f| f.code.to_string()));
        if let Some(why) = &d.create_skipped {
            notes.push(format!("no create: {why}"));
        }
        let tiers: Vec<String> = d
            .kept
            .iter()
            .filter_map(|k| match k.worth {
                Worth::Tier { days, previous } => Some(format!(
                    "{}{days}d {}",
                    if previous { "prev " } else { "this " },
                    k.snapshot_id
                )),
                Worth::Recent { .. } => None,
            })
            .collect();
        if !tiers.is_empty() {
            notes.push(format!("tiers: {}", tiers.join(" | ")));
        }
        rows.push([
            d.directory_id.clone(),
            severity_word(d.severity).to_owned(),
            days(d.newest_completed_age_days),
            days(quota.and_then(|q| q.oldest_restorable_age_days)),
            quota.map_or("-".to_owned(), |q| {
                format!("{}/{}", q.manual_in_use, q.manual_limit)
            }),
            quota.map_or("-".to_owned(), |q| q.free_slots.to_string()),
            created,
            d.deleted.iter().filter(|x| x.done).count().to_string(),
            notes.join(", "),
        ]);
    }
    let mut widths = HEAD.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<w$}  ");
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(&HEAD.map(str::to_owned));
    for row in &rows {
        out.push_str(&line(row));
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "\n{} {} in {}: {} directories, {} created, {} deleted, {} failures{}.",
        severity_word(report.severity),
        wire_name(report.action),
        report.region,
        s.directories,
        s.created,
        s.deleted,
        s.failures,
        if report.dry_run { " (dry run)" } else { "" }
    );
    if let Some(c) = &report.coverage {
        let _ = writeln!(
            out,
            "{} directories of the Region not managed, {} of them unprotected.",
            c.unmanaged.len(),
            c.unmanaged_count
        );
    }
    out
}

/// The restore points a directory keeps, with the tier each holds: "keeps s-1 (the newest,
/// 0.0 d), s-2 (first of the previous 35-day period, 41.0 d)".
fn kept_line(d: &DirectoryReport, now: jiff::Timestamp) -> String {
    let points: Vec<String> = d
        .kept
        .iter()
        .map(|k| {
            let age = (now.as_second() - k.start_time.as_second()).max(0) as f64 / 86_400.0;
            format!("{} ({}, {age:.1} d)", k.snapshot_id, k.worth)
        })
        .collect();
    format!("Keeps {}.", points.join(", "))
}

/// A plain-text body that reads well in an e-mail.
pub fn body(report: &RunReport) -> String {
    let mut out = String::new();
    let s = &report.summary;
    let _ = writeln!(
        out,
        "ds-snapshot-keeper, action {} in {}: {}{}",
        wire_name(report.action),
        report.region,
        severity_word(report.severity),
        if report.dry_run {
            " (dry run: nothing was changed)"
        } else {
            ""
        },
    );
    let _ = writeln!(
        out,
        "{} directories, {} snapshots created, {} deleted, {} failures, {} warnings, {} skipped, {} pending.",
        s.directories, s.created, s.deleted, s.failures, s.warnings, s.skipped, s.pending
    );
    let _ = writeln!(
        out,
        "Request {} started {} finished {}.",
        report.request_id, report.started_at, report.finished_at
    );
    for e in &report.errors {
        let _ = writeln!(
            out,
            "\nRun error: {} {}: {}",
            e.operation, e.code, e.message
        );
    }
    let mut directories: Vec<&DirectoryReport> = report.directories.iter().collect();
    directories.sort_by_key(|d| std::cmp::Reverse(d.severity));
    let total = directories.len();
    for (shown, d) in directories.into_iter().enumerate() {
        // SNS takes at most 256 KB; the worst directories come first, the rest is in the log.
        if out.len() > MAX_BODY_BYTES {
            let _ = writeln!(
                out,
                "\n... and {} more directories: the full run report is in the function's log \
                 (message \"run report\", request {}).",
                total - shown,
                report.request_id
            );
            break;
        }
        let _ = writeln!(
            out,
            "\n{} ({}, {}): {}",
            d.directory_id,
            d.directory_name.as_deref().unwrap_or("?"),
            d.directory_type.as_deref().unwrap_or("?"),
            severity_word(d.severity)
        );
        if let Some(skip) = &d.skipped {
            let _ = writeln!(out, "  Skipped: {}", skip.message);
        }
        for e in &d.errors {
            let _ = writeln!(out, "  ERROR {} {}: {}", e.operation, e.code, e.message);
        }
        if let Some(c) = &d.created {
            let _ = writeln!(
                out,
                "  Created: {} {} ({})",
                c.snapshot_id.as_deref().unwrap_or("-"),
                c.name,
                wire_name(c.status)
            );
        }
        if let Some(why) = &d.create_skipped {
            let _ = writeln!(out, "  No snapshot taken: {why}");
        }
        for x in &d.deleted {
            let _ = writeln!(
                out,
                "  {} {} {} [{}]: {}",
                if x.done { "Deleted" } else { "Would delete" },
                x.deletion.snapshot_id,
                x.deletion.name.as_deref().unwrap_or(""),
                wire_name(x.deletion.rule),
                x.deletion.reason
            );
        }
        for f in &d.flagged {
            let level = match f.level {
                FlagLevel::Warning => "WARNING",
                FlagLevel::Critical => "CRITICAL",
            };
            let _ = writeln!(out, "  {level} {}: {}", f.code, f.message);
        }
        if let Some(age) = d.newest_completed_age_days {
            let _ = writeln!(out, "  Newest Completed snapshot: {age:.1} days old.");
        }
        if d.kept.iter().any(|k| k.worth.is_tier()) {
            let _ = writeln!(out, "  {}", kept_line(d, report.finished_at));
        }
    }
    out
}

/// The SNS message for this run, or `None` when the notify level does not call for one.
pub fn notification(report: &RunReport, level: NotifyLevel) -> Option<Notification> {
    if !should_notify(report.severity, level) {
        return None;
    }
    let ids: Vec<Value> = report
        .directories
        .iter()
        .filter(|d| d.severity > Severity::Ok)
        .map(|d| Value::String(d.directory_id.clone()))
        .collect();
    let ids = if ids.is_empty() {
        report
            .directories
            .iter()
            .map(|d| Value::String(d.directory_id.clone()))
            .collect()
    } else {
        ids
    };
    Some(Notification {
        subject: subject(report),
        body: body(report),
        deduplication_id: deduplication_id(&report.request_id),
        attributes: vec![
            Attribute {
                name: "severity".to_owned(),
                data_type: "String".to_owned(),
                value: severity_word(report.severity).to_ascii_lowercase(),
            },
            Attribute {
                name: "region".to_owned(),
                data_type: "String".to_owned(),
                value: report.region.clone(),
            },
            Attribute {
                name: "directory_ids".to_owned(),
                data_type: "String.Array".to_owned(),
                value: Value::Array(ids).to_string(),
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Operation};
    use crate::policy::{Deletion, Flag, Rule};
    use crate::report::{Created, Deleted, ErrorEntry, Summary};
    use crate::request::Trigger;

    fn report(directories: Vec<DirectoryReport>) -> RunReport {
        let t: jiff::Timestamp = "2026-11-24T06:00:00Z".parse().unwrap();
        let mut r = RunReport {
            keeper_version: "test",
            function_name: "keeper-fn".to_owned(),
            cold_start: false,
            request_id: "req-1".to_owned(),
            region: "eu-west-1".to_owned(),
            action: Action::Run,
            dry_run: false,
            trigger: Trigger::Manual,
            started_at: t,
            finished_at: t,
            severity: Severity::Ok,
            summary: Summary::default(),
            directories,
            errors: Vec::new(),
            notification: Notified::NoTopic,
            coverage: None,
        };
        r.settle();
        r
    }

    fn dir(id: &str) -> DirectoryReport {
        let mut d = DirectoryReport::new(id);
        d.directory_name = Some("corp.example.com".to_owned());
        d.directory_type = Some("MicrosoftAD".to_owned());
        d.limits = Some(crate::model::SnapshotLimits {
            manual_limit: 5,
            manual_count: 1,
        });
        d
    }

    fn failing(id: &str) -> DirectoryReport {
        let mut d = dir(id);
        d.errors.push(ErrorEntry {
            operation: Operation::CreateSnapshot,
            code: "ServiceException".to_owned(),
            message: "boom".to_owned(),
            snapshot_id: None,
        });
        d
    }

    #[test]
    fn subject_names_severity_directory_and_region_in_under_100_ascii_chars() {
        let r = report(vec![failing("d-0123456789"), dir("d-abcdefabcd")]);
        let s = subject(&r);
        assert_eq!(s, "[FAILURE] DS snapshot keeper: d-0123456789 in eu-west-1");
        let many: Vec<DirectoryReport> =
            (0..300).map(|i| failing(&format!("d-{i:010x}"))).collect();
        let s = subject(&report(many));
        assert!(s.len() < 100 && s.is_ascii() && !s.contains('\n'), "{s}");
        assert!(s.contains("300 directories"));
    }

    #[test]
    fn the_body_of_a_huge_run_stays_within_what_sns_accepts() {
        let dirs: Vec<DirectoryReport> = (0..5000)
            .map(|i| {
                let mut d = failing(&format!("d-{i:010x}"));
                d.errors[0].message = "x".repeat(200);
                d
            })
            .collect();
        let b = body(&report(dirs));
        assert!(b.len() < 256 * 1024, "{}", b.len());
        assert!(b.contains("more directories: the full run report is in the function's log"));
    }

    #[test]
    fn notify_levels() {
        use NotifyLevel::*;
        assert!(!should_notify(Severity::Ok, Warnings) && should_notify(Severity::Ok, All));
        assert!(
            should_notify(Severity::Warning, Warnings)
                && !should_notify(Severity::Warning, Failures)
        );
        assert!(
            should_notify(Severity::Critical, Failures)
                && should_notify(Severity::Failure, Failures)
        );
    }

    #[test]
    fn the_terminal_text_adds_the_coverage_the_email_leaves_out() {
        use crate::policy::eligibility::{Coverage, Unmanaged, UnmanagedReason};
        let mut r = report(vec![dir("d-0123456789")]);
        r.coverage = Some(Coverage::new(vec![Unmanaged {
            directory_id: "d-00000000ff".to_owned(),
            directory_name: "forgotten.example.com".to_owned(),
            directory_type: "MicrosoftAD".to_owned(),
            reason: UnmanagedReason::NotTagged,
            counted: true,
            launch_time: None,
            age_days: Some(12),
        }]));
        let text = text(&r);
        assert!(text.starts_with(&subject(&r)));
        assert!(text.contains("d-00000000ff (forgotten.example.com, MicrosoftAD): not-tagged, UNPROTECTED, created 12 days ago"), "{text}");
        assert!(
            !body(&r).contains("d-00000000ff"),
            "the e-mail leaves coverage to the alarm"
        );
    }

    #[test]
    fn body_reads_as_an_email_with_every_action_and_its_rule() {
        let mut d = dir("d-0123456789");
        d.created = Some(Created {
            snapshot_id: Some("s-0000000001".to_owned()),
            name: "keeper-x".to_owned(),
            status: CreatedState::Completed,
            recovered_from: None,
        });
        d.deleted.push(Deleted {
            deletion: Deletion {
                snapshot_id: "s-0000000002".to_owned(),
                name: Some("keeper-old".to_owned()),
                rule: Rule::BeyondRetain,
                reason: "oldest owned Completed beyond retain=3".to_owned(),
            },
            done: true,
        });
        d.flagged.push(Flag {
            level: crate::policy::FlagLevel::Warning,
            code: crate::policy::FlagCode::Expiring,
            snapshot_id: Some("s-3".to_owned()),
            days_left: Some(9),
            message: "9 days left".to_owned(),
        });
        let r = report(vec![d]);
        let b = body(&r);
        assert!(
            b.contains("Created: s-0000000001 keeper-x (Completed)"),
            "{b}"
        );
        assert!(b.contains("Deleted s-0000000002 keeper-old [beyond-retain]: oldest owned Completed beyond retain=3"), "{b}");
        assert!(b.contains("WARNING expiring: 9 days left"), "{b}");
        let n = notification(&r, NotifyLevel::Warnings).unwrap();
        let attrs: Vec<(&str, &str, &str)> = n
            .attributes
            .iter()
            .map(|a| (a.name.as_str(), a.data_type.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(
            attrs,
            vec![
                ("severity", "String", "warning"),
                ("region", "String", "eu-west-1"),
                ("directory_ids", "String.Array", "[\"d-0123456789\"]")
            ]
        );
    }

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
    fn the_table_has_a_row_per_directory_with_its_restore_reach_and_quota() {
        let mut d = dir("d-0123456789");
        d.newest_completed_age_days = Some(1.25);
        d.quota = Some(crate::policy::Quota {
            manual_in_use: 4,
            manual_limit: 5,
            free_slots: 1,
            oldest_restorable_age_days: Some(120.0),
        });
        let t = table(&report(vec![d, failing("d-abcdefabcd")]));
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("DIRECTORY"), "{t}");
        let row: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            row[..6],
            ["d-0123456789", "OK", "1.2", "120.0", "4/5", "1"],
            "{t}"
        );
        assert!(lines[2].starts_with("d-abcdefabcd") && lines[2].contains("ServiceException"));
        assert!(
            lines[2].contains(" -  "),
            "no quota observed: a dash, not a zero: {t}"
        );
        // Columns line up: every row's second column starts where the header's does.
        let col = lines[0].find("STATE").unwrap();
        assert_eq!(&lines[1][col..col + 2], "OK");
        assert!(t.contains("directories, 0 created"), "{t}");
    }

    #[test]
    fn the_tiers_a_directory_keeps_are_named_in_the_table_and_the_email() {
        let mut d = dir("d-0123456789");
        let kept = |id: &str, days_ago: i64, worth: Worth| crate::report::Kept {
            snapshot_id: id.to_owned(),
            name: None,
            start_time: jiff::Timestamp::from_second(1_795_500_000 - days_ago * 86_400).unwrap(),
            worth,
        };
        d.kept = vec![
            kept("s-1", 0, Worth::Recent { rank: 1 }),
            kept(
                "s-2",
                40,
                Worth::Tier {
                    days: 35,
                    previous: true,
                },
            ),
            kept(
                "s-3",
                5,
                Worth::Tier {
                    days: 35,
                    previous: false,
                },
            ),
        ];
        let mut r = report(vec![d]);
        r.finished_at = jiff::Timestamp::from_second(1_795_500_000).unwrap();
        let t = table(&r);
        assert!(t.contains("tiers: prev 35d s-2 | this 35d s-3"), "{t}");
        let b = body(&r);
        assert!(
            b.contains("Keeps s-1 (the newest, 0.0 d), s-2 (first of the previous 35-day period, 40.0 d), s-3 (first of this 35-day period, 5.0 d)."),
            "{b}"
        );
        // In newest mode nothing holds a tier, and the e-mail stays as it was.
        let mut plain = dir("d-0123456789");
        plain.kept = vec![kept("s-1", 0, Worth::Recent { rank: 1 })];
        let r = report(vec![plain]);
        assert!(!body(&r).contains("Keeps"));
        assert!(!table(&r).contains("tiers:"));
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

    #[test]
    fn a_huge_report_is_logged_in_parts_that_cloudwatch_keeps_whole() {
        let dirs: Vec<DirectoryReport> =
            (0..3000).map(|i| failing(&format!("d-{i:010x}"))).collect();
        let r = report(dirs);
        let lines = log_lines(&r);
        assert_eq!(lines.len(), 3001);
        for l in lines.iter().chain(&metric_lines(&r)) {
            assert!(l.len() < MAX_LOG_LINE_BYTES);
            log::check(l).unwrap();
        }
        let head: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(head["report"]["summary"]["directories"], 3000);
        // The run line still names every failing directory, the last one too (the dashboard's
        // "Latest failed runs" reads it).
        let named = head["failing"].as_str().unwrap();
        assert!(
            named.contains("d-0000000bb7 (ServiceException)"),
            "{named:.200}"
        );
        assert_eq!(named.matches(" (ServiceException)").count(), 3000);
        let one: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(one["message"], "run report: directory");
        assert_eq!(one["requestId"], "req-1");
    }

    #[test]
    fn the_log_line_is_one_json_object_with_the_report() {
        let r = report(vec![failing("d-0123456789")]);
        let lines = log_lines(&r);
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["level"], "ERROR");
        assert_eq!(
            v["report"]["directories"][0]["errors"][0]["code"],
            "ServiceException"
        );
    }
}
