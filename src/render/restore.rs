//! A restore's record for people: the plan in words before anything changes, the outcome in
//! words, and the SNS message of each step (`started`, then `completed`, `failed` or
//! `still-restoring`), rendered from the [`RestoreReport`] like the run report's outputs.

use crate::notify::Notification;
use crate::policy::restore::RestorePlan;
use crate::restore::{Outcome, RestoreReport};

/// The restore report as one JSON log line (`"message": "restore report"`), `ERROR` when the
/// restore did not complete, in the log schema every line follows.
pub fn log_line(report: &RestoreReport) -> String {
    let mut fields = serde_json::Map::new();
    fields.insert(
        "restore".to_owned(),
        serde_json::to_value(report).unwrap_or_default(),
    );
    let level = if report.outcome.exit_code() == 0 {
        crate::log::Level::Info
    } else {
        crate::log::Level::Error
    };
    crate::log::now(level, "restore report", fields)
}

/// The SNS message for a step of the restore, with the attributes the run reports carry, so
/// the same subscription filters apply (`severity`: `ok` once started or restored, `warning`
/// while still restoring, `failure` otherwise).
pub fn notification(report: &RestoreReport, event: &str) -> Notification {
    let severity = match (event, &report.outcome) {
        ("started", _) | (_, Outcome::Restored) => "ok",
        (_, Outcome::TimedOut { .. } | Outcome::Interrupted { .. }) if report.restore_sent => {
            "warning"
        }
        _ => "failure",
    };
    let mut subject = format!(
        "[{}] DS restore {event}: {} in {}",
        severity.to_ascii_uppercase(),
        report.directory_id,
        report.region
    );
    subject.truncate(super::MAX_SUBJECT_LEN);
    let body = if event == "started" {
        format!(
            "{}The restore has started; the directory is offline until it ends.\n",
            report.plan.as_ref().map(plan_text).unwrap_or_default()
        )
    } else {
        report.text()
    };
    Notification {
        subject,
        body,
        attributes: super::sns::attributes(
            severity,
            &report.region,
            vec![serde_json::Value::String(report.directory_id.clone())],
        ),
        deduplication_id: format!(
            "restore-{}-{}-{event}",
            report.directory_id,
            report.started_at.as_second()
        ),
    }
}

impl RestoreReport {
    /// The restore in words, for a person.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(p) = &self.plan {
            out.push_str(&plan_text(p));
        }
        for d in &self.deleted {
            out.push_str(&format!(
                "Deleted {} [{}] to make room for the safety snapshot.\n",
                d.snapshot_id,
                serde_json::to_value(d.rule)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ));
        }
        if let Some(id) = &self.safety_snapshot_id {
            out.push_str(&format!(
                "Safety snapshot {id} is Completed. To undo the restore, restore it:\n  \
                 ds-snapshot-keeper restore --directory {} --snapshot {id}\n\
                 The keeper never deletes it (it is not named as the keeper's own): delete it by \
                 hand once you no longer need it.\n",
                self.directory_id
            ));
        }
        out.push_str(&match &self.outcome {
            Outcome::Planned => "Dry run: nothing was changed.\n".to_owned(),
            Outcome::Refused { refusal } => format!("Refused: {refusal}. Nothing was changed.\n"),
            Outcome::NotConfirmed => "Not confirmed: nothing was changed.\n".to_owned(),
            Outcome::SafetyFailed { code, message } => format!(
                "The safety snapshot failed ({code}: {message}); the directory was NOT restored. \
                 Retry, or pass --no-safety-snapshot.\n"
            ),
            Outcome::NotStarted { code, message } => {
                format!("RestoreFromSnapshot failed ({code}: {message}); the directory was not restored.\n")
            }
            Outcome::Started => format!(
                "The restore has started. Follow it with:\n  ds-snapshot-keeper points --directory {}\n",
                self.directory_id
            ),
            Outcome::Restored => format!(
                "Restored: directory {} is Active again ({} s).\n",
                self.directory_id, self.elapsed_secs
            ),
            Outcome::RestoreFailed { reason } => format!(
                "The restore FAILED{}. AWS's advice: retry the restore operation; if this \
                 continues, try a different snapshot, or contact AWS Support.\n",
                reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            Outcome::Interrupted { stage } if self.restore_sent => format!(
                "Stopped waiting (interrupted) with the directory {stage}. The restore goes on \
                 in AWS: it cannot be stopped. Follow it with:\n  ds-snapshot-keeper points \
                 --directory {}\n",
                self.directory_id
            ),
            Outcome::Interrupted { .. } => {
                "Interrupted before the restore was sent: the directory was NOT restored.\n"
                    .to_owned()
            }
            Outcome::TimedOut { stage } => format!(
                "Stopped waiting after {} s with the directory still {stage}; the restore goes \
                 on in AWS. Check it later with:\n  ds-snapshot-keeper points --directory {}\n",
                self.elapsed_secs, self.directory_id
            ),
        });
        out
    }
}

/// The plan in words, before anything changes.
pub fn plan_text(p: &RestorePlan) -> String {
    let t = &p.target;
    let mut out = format!(
        "Restore directory {} ({}) from snapshot {} ({:?}, {}, taken {}).\n\
         Everything changed since {} is lost: {:.1} days of changes, schema included.\n\
         During the restore {}.\n",
        p.directory_id,
        p.directory_name,
        t.id,
        t.kind,
        t.name.as_deref().unwrap_or("no name"),
        t.start_time.strftime("%Y-%m-%d %H:%M UTC"),
        t.start_time.strftime("%Y-%m-%d %H:%M UTC"),
        p.lost_days,
        p.outage,
    );
    match &p.safety {
        Some(s) => {
            out.push_str(&format!(
                "First a safety snapshot of the present is taken ({}), and the restore waits for \
                 it to complete.\n",
                s.name
            ));
            for d in &s.make_room {
                out.push_str(&format!(
                    "To make room for it, {} is deleted: {}.\n",
                    d.snapshot_id, d.reason
                ));
            }
        }
        None => out.push_str(
            "No safety snapshot is taken (--no-safety-snapshot): the present state cannot be \
             brought back.\n",
        ),
    }
    out
}
