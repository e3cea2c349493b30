//! Renderings of the [`RunReport`], one file per output, each a pure function of the report:
//!
//! | file | output |
//! |---|---|
//! | `log.rs` | the JSON log lines (`run report`), and the `SNS publish failed` line |
//! | `emf.rs` | the CloudWatch Embedded Metric Format lines |
//! | `sns.rs` | the SNS notification: subject, e-mail body, attributes |
//! | `points.rs` | the restore points table (`ds-snapshot-keeper points`) |
//! | `restore.rs` | a restore's plan and outcome in words, and its SNS messages |
//! | `table.rs` | the terminal table |
//! | `text.rs` | the terminal text |

pub mod audit;
pub mod emf;
pub mod log;
pub mod points;
pub mod restore;
pub mod sns;
pub mod table;
pub mod tamper;
pub mod text;

use serde_json::Value;

use crate::report::{DirectoryReport, Severity};

pub use emf::{metric_lines, METRIC_NAMESPACE};
pub use log::{failing, log_lines, MAX_LOG_LINE_BYTES};
pub use points::points_table;
pub use sns::{body, notification, should_notify, subject, MAX_BODY_BYTES, MAX_SUBJECT_LEN};
pub use table::table;
pub use text::text;

/// A count with its noun, singular or plural: "1 directory", "2 directories", "0 failures".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        return format!("1 {noun}");
    }
    match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

/// A time for a person: UTC, to the second ("2026-12-03 11:21:15 UTC"); the JSON keeps
/// the full precision.
pub fn human_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The name a unit enum has in the report (`run`, `beyond-retain`...), so the e-mail uses
/// the same words as the JSON.
pub(crate) fn wire_name(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => name,
        _ => String::new(),
    }
}

pub(crate) fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "OK",
        Severity::Warning => "WARNING",
        Severity::Critical => "CRITICAL",
        Severity::Failure => "FAILURE",
    }
}

/// The restore points a directory keeps, with the tier each holds: "keeps s-1 (the newest,
/// 0.0 d), s-2 (first of the previous 35-day period, 41.0 d)".
pub(crate) fn kept_line(d: &DirectoryReport, now: jiff::Timestamp) -> String {
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

/// Rows laid out in columns for a terminal: each column as wide as its widest cell, two spaces
/// between, the last column unpadded, every line prefixed with `indent`.
pub(crate) fn columns<const N: usize>(rows: &[[String; N]], indent: &str) -> String {
    use std::fmt::Write as _;
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::from(indent);
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Report fixtures the renderings' tests share.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::model::{Action, Operation};
    use crate::report::{DirectoryReport, ErrorEntry, Notified, RunReport, Severity, Summary};
    use crate::request::Trigger;

    pub fn report(directories: Vec<DirectoryReport>) -> RunReport {
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

    pub fn dir(id: &str) -> DirectoryReport {
        let mut d = DirectoryReport::new(id);
        d.directory_name = Some("corp.example.com".to_owned());
        d.directory_type = Some("MicrosoftAD".to_owned());
        d.limits = Some(crate::model::SnapshotLimits {
            manual_limit: 5,
            manual_count: 1,
        });
        d
    }

    #[test]
    fn counts_agree_with_their_noun_and_times_stop_at_the_second() {
        assert_eq!(super::count(1, "directory"), "1 directory");
        assert_eq!(super::count(2, "directory"), "2 directories");
        assert_eq!(super::count(0, "failure"), "0 failures");
        assert_eq!(super::count(1, "day"), "1 day");
        assert_eq!(super::count(3, "day"), "3 days");
        let t: jiff::Timestamp = "2026-12-03T11:21:15.123456789Z".parse().unwrap();
        assert_eq!(super::human_time(t), "2026-12-03 11:21:15 UTC");
    }

    pub fn failing(id: &str) -> DirectoryReport {
        let mut d = dir(id);
        d.errors.push(ErrorEntry {
            operation: Operation::CreateSnapshot,
            code: "ServiceException".to_owned(),
            message: "boom".to_owned(),
            snapshot_id: None,
        });
        d
    }
}
