//! The run report: the one record of what a run saw, did and found.
//!
//! Logs, the Lambda response, the EMF metrics and the SNS message are all rendered from this
//! value (see `render.rs`), never assembled separately, so they cannot disagree.

use jiff::Timestamp;
use serde::Serialize;

use crate::error::ApiError;
use crate::model::{Action, CreatedState, Operation, Snapshot, SnapshotLimits};
use crate::policy::eligibility::Coverage;
use crate::policy::{Deletion, Flag, FlagLevel, PruneBlock, Quota, Skip, Worth};
use crate::request::Trigger;

/// How bad a run (or one directory of it) went. Ordered: the worst wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Critical,
    Failure,
}

/// The snapshot the run created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Created {
    pub snapshot_id: Option<String>,
    pub name: String,
    /// Completed, Failed, Creating (pending at the end of the wait), or planned on a dry run.
    pub status: CreatedState,
    /// When CreateSnapshot's answer was lost (this error code) but the snapshot was found by
    /// its name afterwards and adopted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered_from: Option<String>,
}

/// A deletion the run did (or, on a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deleted {
    #[serde(flatten)]
    pub deletion: Deletion,
    /// False on a dry run or when the delete call failed.
    pub done: bool,
}

/// A restore point the keeper keeps after the run, and why: the tier it holds, or how recent
/// it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kept {
    pub snapshot_id: String,
    pub name: Option<String>,
    pub start_time: Timestamp,
    pub worth: Worth,
}

/// An error in one step, with the AWS error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorEntry {
    pub operation: Operation,
    pub code: String,
    pub message: String,
    pub snapshot_id: Option<String>,
}

impl ErrorEntry {
    /// A problem the policy found, reported as a failure of the plan.
    pub fn from_problem(p: &crate::policy::Problem) -> Self {
        Self {
            operation: Operation::Plan,
            code: p.code.as_str().to_owned(),
            message: p.message.clone(),
            snapshot_id: p.snapshot_id.clone(),
        }
    }

    pub fn from_api(err: &ApiError, snapshot_id: Option<&str>) -> Self {
        Self {
            operation: err.operation,
            code: err.code.clone(),
            message: err.message.clone(),
            snapshot_id: snapshot_id.map(str::to_owned),
        }
    }
}

/// Everything about one directory in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DirectoryReport {
    pub directory_id: String,
    pub directory_name: Option<String>,
    pub directory_type: Option<String>,
    pub severity: Severity,
    /// Why the directory was skipped; a skipped directory is otherwise untouched.
    pub skipped: Option<Skip>,
    pub snapshots_seen: Vec<Snapshot>,
    /// The restores' safety snapshots the directory holds, each as what it is: "s-…: safety
    /// snapshot before the restore of s-… at …, held until …". The keeper never deletes them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub safety_snapshots: Vec<String>,
    pub limits: Option<SnapshotLimits>,
    pub created: Option<Created>,
    /// Why no snapshot was taken although the action takes one.
    pub create_skipped: Option<String>,
    pub deleted: Vec<Deleted>,
    /// Why pruning did not run, when the action prunes (or restores headroom).
    pub prune_blocked: Option<PruneBlock>,
    /// Why the reserved headroom was not restored, when the action would restore it (the
    /// run's new snapshot had not completed, or the run took none).
    pub headroom_held: Option<PruneBlock>,
    pub flagged: Vec<Flag>,
    pub errors: Vec<ErrorEntry>,
    /// Age in days of the newest Completed snapshot after the run; drives the freshness alarm.
    pub newest_completed_age_days: Option<f64>,
    /// The quota as the run leaves it (absent when the directory was not observed).
    pub quota: Option<Quota>,
    /// The restore points the keeper keeps after the run (its own `Completed` snapshots),
    /// most worth first, each with the tier it holds; on a dry run, those it would keep.
    pub kept: Vec<Kept>,
}

impl DirectoryReport {
    pub fn new(directory_id: impl Into<String>) -> Self {
        Self {
            directory_id: directory_id.into(),
            directory_name: None,
            directory_type: None,
            severity: Severity::Ok,
            skipped: None,
            safety_snapshots: Vec::new(),
            snapshots_seen: Vec::new(),
            limits: None,
            created: None,
            create_skipped: None,
            deleted: Vec::new(),
            prune_blocked: None,
            headroom_held: None,
            flagged: Vec::new(),
            errors: Vec::new(),
            newest_completed_age_days: None,
            quota: None,
            kept: Vec::new(),
        }
    }

    /// Recompute the severity from the contents.
    pub fn settle_severity(&mut self) {
        let flag = self.flagged.iter().map(|f| f.level).max().map(|l| match l {
            FlagLevel::Warning => Severity::Warning,
            FlagLevel::Critical => Severity::Critical,
        });
        let mut severity = flag.unwrap_or(Severity::Ok);
        if self.skipped.as_ref().is_some_and(|s| s.warns) {
            severity = severity.max(Severity::Warning);
        }
        if self.skipped.as_ref().is_some_and(|s| s.critical) {
            severity = severity.max(Severity::Critical);
        }
        if !self.errors.is_empty() {
            severity = Severity::Failure;
        }
        self.severity = severity;
    }
}

/// Totals over the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub directories: usize,
    pub created: usize,
    pub deleted: usize,
    pub failures: usize,
    pub warnings: usize,
    pub skipped: usize,
    pub pending: usize,
}

/// What became of the run's SNS message. Serialised as its name (`no-topic`, `not-needed`,
/// `published`, `failed`); a failed publish's code and message are logged on their own line
/// (`render::log::publish_failed_line`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notified {
    /// No topic is configured.
    NoTopic,
    /// The run's severity is below `NOTIFY_LEVEL`.
    NotNeeded,
    /// Published.
    Published,
    /// The publish failed (the error is logged, and the invocation fails).
    Failed { code: String, message: String },
}

impl Notified {
    pub fn as_str(&self) -> &'static str {
        match self {
            Notified::NoTopic => "no-topic",
            Notified::NotNeeded => "not-needed",
            Notified::Published => "published",
            Notified::Failed { .. } => "failed",
        }
    }
}

impl Serialize for Notified {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One run of the keeper.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    pub keeper_version: &'static str,
    /// The function (`AWS_LAMBDA_FUNCTION_NAME`): the metrics' dimension, so that two stacks
    /// in one account and Region keep apart.
    pub function_name: String,
    pub request_id: String,
    /// Whether this invocation started the process (set by the handler).
    pub cold_start: bool,
    pub region: String,
    pub action: Action,
    pub dry_run: bool,
    pub trigger: Trigger,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub severity: Severity,
    pub summary: Summary,
    pub directories: Vec<DirectoryReport>,
    /// Errors that concern the whole run (discovery failed, notification failed...).
    pub errors: Vec<ErrorEntry>,
    pub notification: Notified,
    /// The Region's directories this keeper does not manage, and why (scheduled runs only).
    pub coverage: Option<Coverage>,
}

impl RunReport {
    /// Totals and overall severity from the directory reports.
    pub fn settle(&mut self) {
        let mut summary = Summary {
            directories: self.directories.len(),
            ..Summary::default()
        };
        let mut severity = if self.errors.is_empty() {
            Severity::Ok
        } else {
            Severity::Failure
        };
        for d in &mut self.directories {
            d.settle_severity();
            severity = severity.max(d.severity);
            if let Some(c) = &d.created {
                if c.snapshot_id.is_some() {
                    summary.created += 1;
                }
                if c.status == CreatedState::Creating {
                    summary.pending += 1;
                }
            }
            summary.deleted += d.deleted.iter().filter(|x| x.done).count();
            summary.failures += d.errors.len();
            summary.warnings += d.flagged.len();
            summary.skipped += d.skipped.is_some() as usize;
        }
        summary.failures += self.errors.len();
        self.summary = summary;
        self.severity = severity;
    }

    pub fn has_failures(&self) -> bool {
        self.severity == Severity::Failure
    }
}
