//! The run report as JSON log lines, in the shape of Lambda's JSON log format.

use serde_json::{json, Value};

use crate::log;
use crate::report::{RunReport, Severity};

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
        "{}, one line each below",
        super::count(report.directories.len(), "directory")
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

/// The `SNS publish failed` line (`ERROR`, with the AWS code and the error), when the run's
/// message could not be published; rendered from the report like every other output.
pub fn publish_failed_line(report: &RunReport) -> Option<String> {
    let crate::report::Notified::Failed { code, message } = &report.notification else {
        return None;
    };
    let mut fields = serde_json::Map::new();
    fields.insert("code".into(), json!(code));
    fields.insert("error".into(), json!(message));
    Some(log::line(
        &log_context(report),
        log::Level::Error,
        "SNS publish failed",
        fields,
        report.finished_at,
    ))
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
pub(super) fn log_context(report: &RunReport) -> log::Context {
    log::Context {
        function_name: report.function_name.clone(),
        request_id: Some(report.request_id.clone()),
        cold_start: report.cold_start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::emf::metric_lines;
    use crate::render::fixtures::{dir, failing, report};
    use crate::report::DirectoryReport;
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
    fn a_failed_publish_has_its_own_error_line_and_the_report_says_failed() {
        let mut r = report(vec![dir("d-0123456789")]);
        assert_eq!(publish_failed_line(&r), None);
        r.notification = crate::report::Notified::Failed {
            code: "AuthorizationError".to_owned(),
            message: "Publish failed: AuthorizationError: not allowed".to_owned(),
        };
        let line = publish_failed_line(&r).unwrap();
        log::check(&line).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "ERROR");
        assert_eq!(v["message"], "SNS publish failed");
        assert_eq!(v["code"], "AuthorizationError");
        assert_eq!(v["requestId"], "req-1");
        let whole: serde_json::Value = serde_json::from_str(&log_lines(&r)[0]).unwrap();
        assert_eq!(whole["report"]["notification"], "failed");
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
