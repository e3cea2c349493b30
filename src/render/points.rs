//! The restore points as a table for a terminal (`ds-snapshot-keeper points`): one block per
//! directory, newest point first.

use std::fmt::Write as _;

use crate::naming::one_line;
use crate::policy::restore::Holder;
use crate::runner::points::DirectoryPoints;

/// The table, with a mark (`<-`) on the point `--before` picks.
pub fn points_table(directories: &[DirectoryPoints]) -> String {
    let mut out = String::new();
    if directories.is_empty() {
        out.push_str("No directory in scope.\n");
    }
    for d in directories {
        let _ = writeln!(
            out,
            "{} {} ({}) in {}: {}",
            d.directory_id,
            d.directory_name.as_deref().map_or("?".to_owned(), one_line),
            d.stage.as_deref().unwrap_or("?"),
            d.region,
            super::count(
                d.points.iter().filter(|p| p.restorable).count(),
                "restorable point"
            ),
        );
        if let Some(reason) = &d.stage_reason {
            let _ = writeln!(out, "  stage reason: {}", one_line(reason));
        }
        if let Some(mark) = &d.restore_mark {
            let _ = writeln!(out, "  restore mark: {}", mark.describe(&d.directory_id));
        }
        if let Some(problem) = &d.problem {
            let _ = writeln!(out, "  {problem}\n");
            continue;
        }
        let head = [
            "SNAPSHOT",
            "TYPE",
            "STATUS",
            "STARTED",
            "AGE (d)",
            "RESTORABLE UNTIL",
            "LEFT (d)",
            "HELD BY",
            "NAME",
            "",
        ];
        let mut rows: Vec<[String; 10]> = vec![head.map(str::to_owned)];
        for p in &d.points {
            let held = match &p.holder {
                Holder::Aws => "AWS (Auto)".to_owned(),
                Holder::SomeoneElse => "someone else".to_owned(),
                Holder::SafetySnapshot { .. } => "safety snapshot (operator)".to_owned(),
                Holder::Keeper { worth: Some(w) } => format!("keeper: {w}"),
                Holder::Keeper { worth: None } => "keeper".to_owned(),
            };
            let mut note = String::new();
            if p.chosen_before {
                note.push_str("<- --before picks this");
            }
            if let Holder::SafetySnapshot { label } = &p.holder {
                note.push_str(label);
            }
            if let Some(why) = &p.not_restorable_because {
                note.push_str(&format!("not restorable: {why}"));
            }
            rows.push([
                p.snapshot_id.clone(),
                format!("{:?}", p.kind),
                format!("{:?}", p.status),
                p.start_time.clone(),
                format!("{:.1}", p.age_days),
                p.restorable_until.clone(),
                p.days_left.to_string(),
                held,
                p.name.as_deref().map(one_line).unwrap_or_default(),
                note,
            ]);
        }
        out.push_str(&super::columns(&rows, "  "));
        out.push('\n');
    }
    out
}
