//! The audit for people: a table on a terminal, and the SNS message of the `audit` action.
//! JSON and CSV come from the report and `policy::audit::csv`.

use crate::notify::Notification;
use crate::policy::audit::Status;
use crate::runner::audit::AuditReport;

/// One row per control and directory, then the tally.
pub fn table(report: &AuditReport) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "CONTROL".into(),
        "REGION".into(),
        "DIRECTORY".into(),
        "STATUS".into(),
        "EVIDENCE".into(),
    ]];
    for f in &report.findings {
        rows.push([
            f.control.to_owned(),
            f.region.clone(),
            f.directory_id.clone(),
            f.status.as_str().to_owned(),
            crate::naming::one_line(&f.evidence),
        ]);
    }
    let mut out = super::columns(&rows, "");
    out.push_str(&summary(report));
    out.push('\n');
    out
}

/// "12 compliant, 1 non-compliant, 0 unknown over 3 directories".
pub fn summary(report: &AuditReport) -> String {
    let mut directories: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.region.as_str(), f.directory_id.as_str()))
        .collect();
    directories.sort_unstable();
    directories.dedup();
    format!(
        "\n{} compliant, {} non-compliant, {} unknown, over {}",
        report.count(Status::Compliant),
        report.count(Status::NonCompliant),
        report.count(Status::Unknown),
        super::count(directories.len(), "directory")
    )
}

/// The `audit` action's message: the tally as the subject, the CSV as the body.
pub fn notification(report: &AuditReport, region: &str) -> Notification {
    let severity = if report.all_compliant() {
        "ok"
    } else {
        "warning"
    };
    let mut subject = format!(
        "[{}] DS audit in {region}: {} of {} controls compliant",
        severity.to_ascii_uppercase(),
        report.count(Status::Compliant),
        report.findings.len()
    );
    subject.truncate(super::MAX_SUBJECT_LEN);
    Notification {
        subject,
        body: format!(
            "{}\n\n{}",
            summary(report).trim(),
            crate::policy::audit::csv(&report.findings)
        ),
        attributes: super::sns::attributes(severity, region, Vec::new()),
        deduplication_id: format!("audit-{}", report.generated_at.as_second()),
    }
}
