//! A restore's record for people: the plan in words before anything changes, the outcome in
//! words, and the SNS message of each step (`started`, then `completed`, `failed` or
//! `still-restoring`), rendered from the [`RestoreReport`] like the run report's outputs.

use crate::model::SnapshotStatus;
use crate::notify::Notification;
use crate::policy::restore::{RestorePlan, SafetyPlan};
use crate::runner::restore::{MarkLeft, Outcome, RestoreEvent, RestoreReport};

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
/// while still restoring or unconfirmed, `failure` otherwise).
pub fn notification(report: &RestoreReport, event: RestoreEvent) -> Notification {
    let severity = match (event, &report.outcome) {
        (RestoreEvent::Started, _) | (_, Outcome::Restored) => "ok",
        (RestoreEvent::StillRestoring | RestoreEvent::Unconfirmed, _) => "warning",
        _ => "failure",
    };
    let mut subject = format!(
        "[{}] DS restore {}: {} in {}",
        severity.to_ascii_uppercase(),
        event.as_str(),
        report.directory_id,
        report.region
    );
    subject.truncate(super::MAX_SUBJECT_LEN);
    let body = if event == RestoreEvent::Started {
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
            "restore-{}-{}-{}",
            report.directory_id,
            report.started_at.as_second(),
            event.as_str()
        ),
    }
}

fn rule_name(rule: crate::policy::Rule) -> String {
    serde_json::to_value(rule)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl RestoreReport {
    /// The restore in words, for a person: the plan, then exactly what was changed or sent,
    /// each status the one last read.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(p) = &self.plan {
            out.push_str(&plan_text(p));
        }
        for d in &self.deleted {
            out.push_str(&format!(
                "Deleted {} [{}] to make room for the safety snapshot.\n",
                d.snapshot_id,
                rule_name(d.rule)
            ));
        }
        if let Some(s) = &self.safety {
            let how = if s.reused {
                "taken by an earlier run of this restore, reused"
            } else {
                "taken by this restore"
            };
            match s.status {
                SnapshotStatus::Completed => out.push_str(&format!(
                    "Safety snapshot {id} ({how}) is Completed. To undo the restore, restore \
                     it:\n  ds-snapshot-keeper restore --directory {dir} --snapshot {id}\n\
                     The keeper never deletes it: delete it by hand once the restore is known \
                     good (the keeper flags it after {days} days).\n",
                    id = s.snapshot_id,
                    dir = self.directory_id,
                    days = crate::policy::safety::SAFETY_HOLD_DAYS
                )),
                status => out.push_str(&format!(
                    "Safety snapshot {} ({how}) was {status:?} when last read.\n",
                    s.snapshot_id
                )),
            }
        }
        let sent = if self.restore_sent {
            "RestoreFromSnapshot was sent (once)."
        } else {
            "RestoreFromSnapshot was not sent."
        };
        let rerun = format!(
            "ds-snapshot-keeper restore --directory {} --snapshot {}",
            self.directory_id,
            self.plan.as_ref().map_or("s-...", |p| p.target.id.as_str())
        );
        out.push_str(&match &self.outcome {
            Outcome::Planned => "Dry run: nothing was changed.\n".to_owned(),
            Outcome::Refused { refusal } if self.changed_nothing() => {
                format!("Refused: {refusal}. Nothing was changed.\n")
            }
            Outcome::Refused { refusal } => {
                format!("Refused: {refusal}. {sent} The directory was NOT restored.\n")
            }
            Outcome::NotConfirmed => "Not confirmed: nothing was changed.\n".to_owned(),
            Outcome::ReadFailed { error } if self.changed_nothing() => format!(
                "{} failed ({}: {}); nothing was changed.\n",
                error.operation, error.code, error.message
            ),
            Outcome::ReadFailed { error } => format!(
                "{} failed ({}: {}), even after retries; {sent} The directory was NOT restored \
                 (what was changed before is above). Run the same command again once AWS \
                 answers: it reuses the safety snapshot.\n",
                error.operation, error.code, error.message
            ),
            Outcome::MarkFailed { error } => format!(
                "Marking the directory as under restore failed ({} {}: {}); nothing was \
                 changed. The operator needs ds:AddTagsToResource for the tag key {}.\n",
                error.operation,
                error.code,
                error.message,
                crate::policy::restore_mark::MARK_KEY
            ),
            Outcome::SafetyFailed { error } => format!(
                "The safety snapshot could not be kept ({} {}: {}); the directory was NOT \
                 restored. Retry with:\n  {rerun}\nor pass --no-safety-snapshot.\n",
                error.operation, error.code, error.message
            ),
            Outcome::SafetyNotReady { snapshot_id } => format!(
                "The safety snapshot {snapshot_id} was still Creating when the wait ended; the \
                 directory was NOT restored. Run the same command again: it reuses \
                 {snapshot_id} and deletes nothing more:\n  {rerun}\n"
            ),
            Outcome::NotStarted { error }
                if matches!(
                    error.kind,
                    crate::error::ErrorKind::Transport
                        | crate::error::ErrorKind::Service
                        | crate::error::ErrorKind::Unexpected
                ) =>
            {
                format!(
                    "RestoreFromSnapshot's answer was lost ({}: {}); the directory was not \
                     restored.\n",
                    error.code, error.message
                )
            }
            Outcome::NotStarted { error } => format!(
                "RestoreFromSnapshot was refused ({}: {}); the directory was not restored.\n",
                error.code, error.message
            ),
            Outcome::Unconfirmed { error, why } => format!(
                "RestoreFromSnapshot's answer was lost ({}: {}), and {why}. The restore MAY \
                 HAVE STARTED: it was not sent again. Check with:\n  ds-snapshot-keeper points \
                 --directory {}\n",
                error.code, error.message, self.directory_id
            ),
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
                    .map(|r| format!(": {}", crate::naming::one_line(r)))
                    .unwrap_or_default()
            ),
            Outcome::Interrupted if self.restore_sent => format!(
                "Interrupted: {sent} The restore goes on in AWS: it cannot be stopped. The \
                 directory's stage: {}. Follow it with:\n  ds-snapshot-keeper points \
                 --directory {}\n",
                self.final_stage
                    .as_ref()
                    .map_or("not read since the send".to_owned(), |s| format!("{s} when last read")),
                self.directory_id
            ),
            Outcome::Interrupted => format!(
                "Interrupted: {sent} The directory was NOT restored.{}\n",
                match (&self.safety, self.deleted.is_empty()) {
                    (Some(s), _) if !s.reused => format!(
                        " Running the same command again reuses safety snapshot {}.",
                        s.snapshot_id
                    ),
                    (None, true) => " Nothing was changed.".to_owned(),
                    _ => String::new(),
                }
            ),
            Outcome::TimedOut { stage } => format!(
                "Stopped waiting after {} s with the directory {}; the restore goes on in AWS. \
                 Check it later with:\n  ds-snapshot-keeper points --directory {}\n",
                self.elapsed_secs,
                stage.as_ref().map_or("not read since the send".to_owned(), |s| format!(
                    "{s} when last read"
                )),
                self.directory_id
            ),
        });
        out.push_str(&match self.mark {
            MarkLeft::NotSet => String::new(),
            MarkLeft::Cleared => "The restore mark was removed.\n".to_owned(),
            MarkLeft::Held => format!(
                "The restore mark stays on the directory (runs leave it alone) until it \
                 expires, at most {} hours after its last renewal; see it with \
                 `ds-snapshot-keeper mark --directory {}`.\n",
                crate::policy::restore_mark::MARK_TTL_SECS / 3600,
                self.directory_id
            ),
        });
        out
    }
}

/// The plan in words, before anything changes. Names are shown on one line.
pub fn plan_text(p: &RestorePlan) -> String {
    use crate::naming::one_line;
    let t = &p.target;
    let mut out = format!(
        "Restore directory {} ({}) from snapshot {} ({:?}, {}, taken {}).\n\
         Everything changed since {} is lost: {:.1} days of changes, schema included.\n\
         During the restore {}.\n",
        p.directory_id,
        one_line(&p.directory_name),
        t.id,
        t.kind,
        t.name.as_deref().map_or("no name".to_owned(), one_line),
        t.start_time.strftime("%Y-%m-%d %H:%M UTC"),
        t.start_time.strftime("%Y-%m-%d %H:%M UTC"),
        p.lost_days,
        p.outage,
    );
    match &p.safety {
        SafetyPlan::Take { name, make_room } => {
            out.push_str(&format!(
                "First a safety snapshot of the present is taken ({name}), and the restore \
                 waits for it to complete.\n"
            ));
            for d in make_room {
                out.push_str(&format!(
                    "To make room for it, {} ({}) is deleted: {}.\n",
                    d.snapshot_id,
                    d.name.as_deref().map_or("no name".to_owned(), one_line),
                    d.reason
                ));
            }
        }
        SafetyPlan::Reuse {
            snapshot_id,
            status,
        } => out.push_str(&format!(
            "The safety snapshot an earlier run of this restore took, {snapshot_id} \
             ({status:?}), is reused: nothing is deleted and no slot more is used.\n"
        )),
        SafetyPlan::Impossible { stage } => out.push_str(&format!(
            "No safety snapshot can be taken: the directory is {stage}, and AWS snapshots only \
             an Active directory. Nothing is deleted for one, and the present state (a failed \
             restore) cannot be brought back.\n"
        )),
        SafetyPlan::Declined => out.push_str(
            "No safety snapshot is taken (--no-safety-snapshot): the present state cannot be \
             brought back.\n",
        ),
    }
    out
}
