//! The run report as the SNS notification: subject, e-mail body and message attributes.

use std::fmt::Write as _;

use serde_json::Value;

use super::{kept_line, severity_word, wire_name};
use crate::notify::{Attribute, Notification};
use crate::policy::FlagLevel;
use crate::report::{DirectoryReport, RunReport, Severity};
use crate::settings::NotifyLevel;

/// SNS subjects must be ASCII, one line, under 100 characters.
pub const MAX_SUBJECT_LEN: usize = 99;
/// Stop listing directories in the SNS body past this size (SNS allows 256 KB in all).
pub const MAX_BODY_BYTES: usize = 200 * 1024;

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
        "{}, {} created, {} deleted, {}, {}, {} skipped, {} pending.",
        super::count(s.directories, "directory"),
        super::count(s.created, "snapshot"),
        s.deleted,
        super::count(s.failures, "failure"),
        super::count(s.warnings, "warning"),
        s.skipped,
        s.pending
    );
    let _ = writeln!(
        out,
        "Request {} started {} finished {}.",
        report.request_id,
        super::human_time(report.started_at),
        super::human_time(report.finished_at)
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
        attributes: attributes(
            &severity_word(report.severity).to_ascii_lowercase(),
            &report.region,
            ids,
        ),
    })
}

/// The message attributes subscription filter policies select on, the same for every message
/// the keeper publishes: `severity` (`ok|warning|critical|failure`), `region` and
/// `directory_ids` (`String.Array`).
pub fn attributes(severity: &str, region: &str, directory_ids: Vec<Value>) -> Vec<Attribute> {
    vec![
        Attribute {
            name: "severity".to_owned(),
            data_type: "String".to_owned(),
            value: severity.to_owned(),
        },
        Attribute {
            name: "region".to_owned(),
            data_type: "String".to_owned(),
            value: region.to_owned(),
        },
        Attribute {
            name: "directory_ids".to_owned(),
            data_type: "String.Array".to_owned(),
            value: Value::Array(directory_ids).to_string(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CreatedState;
    use crate::policy::{Deletion, Flag, Rule};
    use crate::render::fixtures::{dir, failing, report};
    use crate::report::{Created, Deleted, DirectoryReport, Severity};
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
}
