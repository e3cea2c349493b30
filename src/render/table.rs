//! The run report as a table for a terminal (`invoke --output table`, the default there).

use std::fmt::Write as _;

use super::{severity_word, wire_name};
use crate::policy::Worth;
use crate::report::{Notified, RunReport};

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
        // Every failure with its message: the table is the default view on a terminal.
        notes.extend(
            d.errors
                .iter()
                .map(|e| format!("{} {}: {}", e.operation, e.code, e.message)),
        );
        if let Some(skip) = d.skipped.as_ref().filter(|s| s.warns) {
            notes.push(skip.message.clone());
        }
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
            {
                let done = d.deleted.iter().filter(|x| x.done).count();
                let would = d.deleted.len() - done;
                if report.dry_run && would > 0 {
                    format!("{done} (would {would})")
                } else {
                    done.to_string()
                }
            },
            notes.join(", "),
        ]);
    }
    rows.insert(0, HEAD.map(str::to_owned));
    let mut out = super::columns(&rows, "");
    for e in &report.errors {
        let _ = writeln!(
            out,
            "\nRun error: {} {}: {}",
            e.operation, e.code, e.message
        );
    }
    // Every deletion under the table, with its rule: a restore point given up is never only
    // a count.
    for d in &report.directories {
        for x in &d.deleted {
            let verb = match (x.done, report.dry_run) {
                (true, _) => "deleted",
                (false, true) => "would delete",
                (false, false) => "found already gone",
            };
            let _ = writeln!(
                out,
                "{}: {verb} {} [{}]: {}",
                d.directory_id,
                x.deletion.snapshot_id,
                wire_name(x.deletion.rule),
                x.deletion.reason
            );
        }
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "\n{} {} in {}: {}, {} created, {} deleted, {}{}.",
        severity_word(report.severity),
        wire_name(report.action),
        report.region,
        super::count(s.directories, "directory"),
        s.created,
        s.deleted,
        super::count(s.failures, "failure"),
        if report.dry_run { " (dry run)" } else { "" }
    );
    if let Some(c) = &report.coverage {
        if c.unmanaged.is_empty() {
            out.push_str("Every directory of the Region is managed.\n");
        } else {
            let _ = writeln!(
                out,
                "{} of the Region not managed, {} of them unprotected.",
                super::count(c.unmanaged.len(), "directory"),
                c.unmanaged_count
            );
        }
    }
    match &report.notification {
        Notified::Published => out.push_str("Notification: published to SNS.\n"),
        Notified::Failed { message, .. } => {
            let _ = writeln!(out, "Notification: NOT published to SNS: {message}");
        }
        Notified::NoTopic | Notified::NotNeeded => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_every_failure_with_its_message_and_what_a_dry_run_would_delete() {
        use crate::policy::{Deletion, Rule};
        use crate::report::{Deleted, ErrorEntry};
        let mut d = failing("d-0123456789");
        d.deleted.push(Deleted {
            deletion: Deletion {
                snapshot_id: "s-0000000001".to_owned(),
                name: None,
                rule: Rule::BeyondRetain,
                reason: "owned Completed beyond retain=3".to_owned(),
            },
            done: false,
        });
        let mut r = report(vec![d]);
        r.dry_run = true;
        r.errors.push(ErrorEntry {
            operation: crate::model::Operation::Scope,
            code: "OutOfScope".to_owned(),
            message: "directory_ids names d-9999999999 outside this keeper's scope".to_owned(),
            snapshot_id: None,
        });
        let t = table(&r);
        assert!(t.contains("CreateSnapshot ServiceException: boom"), "{t}");
        assert!(
            t.contains("Run error: Scope OutOfScope: directory_ids names d-9999999999"),
            "{t}"
        );
        assert!(t.contains("0 (would 1)"), "{t}");
        assert!(
            t.contains("would delete s-0000000001 [beyond-retain]"),
            "{t}"
        );
    }
    use crate::render::fixtures::{dir, failing, report};
    use crate::render::sns::body;
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
        assert!(
            t.contains("directory, 0 created") || t.contains("directories, 0 created"),
            "{t}"
        );
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
}
