//! The tamper alert as an SNS message: what was done, by whom, from where, whose it was, and
//! the restore reach left.

use crate::notify::Notification;
use crate::runner::tamper::{TamperReport, Verdict};

/// The alert (`severity`: `failure` for tampering, `warning` for a refused attempt, `ok` for a
/// restore `ds-snapshot-keeper restore` started).
pub fn notification(r: &TamperReport, region: &str) -> Notification {
    let e = &r.event;
    let severity = match r.verdict {
        Verdict::Tampering => "failure",
        Verdict::RefusedAttempt => "warning",
        Verdict::PlannedRestore => "ok",
    };
    let what = e
        .snapshot_id
        .as_deref()
        .or(e.directory_id.as_deref())
        .unwrap_or("?");
    let mut subject = format!(
        "[{}] DS tamper: {} {what} by {} in {region}",
        severity.to_ascii_uppercase(),
        e.call,
        e.principal.rsplit('/').next().unwrap_or(&e.principal)
    );
    subject.truncate(super::MAX_SUBJECT_LEN);
    let mut body = match r.verdict {
        Verdict::Tampering => format!(
            "{} {what} was called by someone other than the keeper, and AWS carried it out.\n",
            e.call
        ),
        Verdict::RefusedAttempt => format!(
            "{} {what} was attempted by someone other than the keeper, and AWS refused it ({}).\n",
            e.call,
            e.error_code.as_deref().unwrap_or("?")
        ),
        Verdict::PlannedRestore => format!(
            "RestoreFromSnapshot {what} was started by ds-snapshot-keeper restore ({}): the \
             directory's restore mark names it.\n",
            r.restore_by.as_deref().unwrap_or("?")
        ),
    };
    body.push_str(&format!("Who: {}\n", e.principal));
    body.push_str(&format!(
        "From: {} ({})\n",
        e.source_ip.as_deref().unwrap_or("?"),
        e.user_agent.as_deref().unwrap_or("?")
    ));
    body.push_str(&format!("When: {}\n", e.time.as_deref().unwrap_or("?")));
    if let Some(d) = &r.directory_id {
        body.push_str(&format!("Directory: {d}\n"));
    }
    body.push_str(&format!(
        "Whose: {}\n",
        r.snapshot_holder
            .as_deref()
            .unwrap_or("not known (the snapshot's name is gone with it)")
    ));
    body.push_str("Restore reach left:\n");
    for reach in &r.reach {
        body.push_str(&format!(
            "  {}: {}{}\n",
            reach.directory_id,
            super::count(reach.restorable, "restorable point"),
            reach
                .oldest_days
                .map(|d| format!(", the oldest {d} days old"))
                .unwrap_or_default()
        ));
    }
    for p in &r.problems {
        body.push_str(&format!("Could not read: {p}\n"));
    }
    let ids: Vec<serde_json::Value> = r
        .directory_id
        .iter()
        .map(|d| serde_json::Value::String(d.clone()))
        .collect();
    Notification {
        subject,
        body,
        attributes: super::sns::attributes(severity, region, ids),
        deduplication_id: format!("tamper-{}-{what}", e.call),
    }
}
