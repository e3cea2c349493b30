//! The run report in words for a person at a terminal (`invoke --output text`, the demo).

use std::fmt::Write as _;

use super::sns::{body, subject};
use super::wire_name;
use crate::report::RunReport;

/// The report for a person at a terminal (`invoke --output text`, the demo): the subject, the
/// e-mail body, and the coverage of the Region, which the e-mail leaves to its alarm.
pub fn text(report: &RunReport) -> String {
    let mut out = format!("{}\n\n{}", subject(report), body(report));
    if let Some(c) = &report.coverage {
        let _ = writeln!(
            out,
            "\nCoverage: {} of the Region not managed, {} of them unprotected.",
            super::count(c.unmanaged.len(), "directory"),
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
                    .map(|d| format!(", created {} ago", super::count(d as usize, "day")))
                    .unwrap_or_default()
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures::{dir, report};
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
}
