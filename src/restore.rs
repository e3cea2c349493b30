//! Carrying out a restore: observe the directory, ask [`crate::policy::restore`] for the plan,
//! confirm, keep a safety snapshot of the present, send `RestoreFromSnapshot` once, and follow
//! the directory's stage to the end. It makes no decision of its own; the command line
//! (`ds-snapshot-keeper restore`) wires it to a terminal, and tests drive it over the emulator
//! and the in-memory service.
//!
//! `RestoreFromSnapshot` is never retried: it answers once the restore has started, and an
//! answer lost on the way is resolved by reading the stage (a directory in `Restoring` has
//! started), not by sending it again.

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use tokio::time::Instant;

use crate::directory::DirectoryService;
use crate::error::{ApiError, ErrorKind};
use crate::model::{Snapshot, SnapshotStatus, Stage};
use crate::notify::Notifier;
use crate::policy::restore::{self as decide, Refusal, RestorePlan, Target};
use crate::policy::{Deletion, Policy};

/// What the operator asked for.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    pub directory_id: String,
    pub target: Target,
    /// Stop after the plan: the restore drill, safe on production.
    pub dry_run: bool,
    /// Restore without keeping a snapshot of the present first.
    pub no_safety_snapshot: bool,
    /// Return once the restore has started.
    pub no_wait: bool,
    /// How long to follow the restore (default 4 hours).
    pub timeout: Duration,
    /// How long to wait for the safety snapshot to complete.
    pub safety_timeout: Duration,
    pub poll_initial: Duration,
    pub poll_max: Duration,
}

/// How a restore ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Outcome {
    /// `--dry-run`: the plan, and nothing changed.
    Planned,
    /// A check failed; nothing changed.
    Refused { refusal: Refusal },
    /// The operator did not confirm; nothing changed.
    NotConfirmed,
    /// The safety snapshot could not be taken or did not complete: not restored.
    SafetyFailed { code: String, message: String },
    /// `RestoreFromSnapshot` failed (and the directory is not restoring): not restored.
    NotStarted { code: String, message: String },
    /// `--no-wait`: the restore started; the keeper's runs and `points` follow it.
    Started,
    /// The directory is `Active` again, restored.
    Restored,
    /// The directory ended `RestoreFailed`.
    RestoreFailed { reason: Option<String> },
    /// Still restoring when the time ran out.
    TimedOut { stage: String },
    /// The operator stopped the waiting (Ctrl-C). After `RestoreFromSnapshot` was sent the
    /// restore goes on in AWS; before, nothing was restored.
    Interrupted { stage: String },
}

/// The outcome's wire name (`restored`, `refused`...).
pub fn outcome_name(outcome: &Outcome) -> String {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v["kind"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Outcome {
    /// The process exit code: 0 restored (or planned, or started), 1 failed, 2 refused or not
    /// confirmed (nothing changed), 4 timed out (the restore goes on).
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Planned | Outcome::Started | Outcome::Restored => 0,
            Outcome::Refused { .. } | Outcome::NotConfirmed => 2,
            Outcome::SafetyFailed { .. }
            | Outcome::NotStarted { .. }
            | Outcome::RestoreFailed { .. } => 1,
            Outcome::TimedOut { .. } => 4,
            Outcome::Interrupted { .. } => 130,
        }
    }
}

/// The record of one restore, rendered as JSON or words.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub directory_id: String,
    pub region: String,
    pub started_at: Timestamp,
    pub plan: Option<RestorePlan>,
    /// Deletions made to free a slot for the safety snapshot, each with its rule.
    pub deleted: Vec<Deletion>,
    pub safety_snapshot_id: Option<String>,
    /// Whether `RestoreFromSnapshot` was sent (it is sent at most once).
    pub restore_sent: bool,
    pub outcome: Outcome,
    /// The directory's stage when the command ended.
    pub final_stage: Option<String>,
    /// `DescribeDirectories` calls made while following the restore.
    pub polls: u32,
    pub elapsed_secs: u64,
    /// The SNS messages sent about it (`started`, then how it ended), when a topic is set.
    pub notified: Vec<String>,
    /// A message that could not be published: `code: message`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notify_errors: Vec<String>,
}

/// Publish what the report says now (`event`: `started`, or how it ended).
async fn tell<N: Notifier>(notifier: Option<&N>, report: &mut RestoreReport, event: &str) {
    let Some(n) = notifier else { return };
    let message = crate::render::restore::notification(report, event);
    match n.publish(&message).await {
        Ok(()) => report.notified.push(event.to_owned()),
        Err(e) => report
            .notify_errors
            .push(format!("{}: {}", e.code, e.message)),
    }
}

fn api_outcome(e: &ApiError) -> (String, String) {
    (e.code.clone(), e.message.clone())
}

/// Run one restore over `ds` in `region`. `confirm` sees the plan and answers whether to go
/// on; `progress` hears a line at each poll (the stage and the time elapsed); `interrupt`
/// (Ctrl-C on a terminal) stops the waiting, never the restore.
#[allow(clippy::too_many_arguments)]
pub async fn restore<D: DirectoryService, N: Notifier>(
    ds: &D,
    notifier: Option<&N>,
    region: &str,
    policy: &Policy,
    opts: &RestoreOptions,
    now: Timestamp,
    confirm: impl FnOnce(&RestorePlan) -> bool,
    mut progress: impl FnMut(&str),
    interrupt: impl std::future::Future<Output = ()>,
) -> RestoreReport {
    let mut interrupt = std::pin::pin!(interrupt);
    let started = Instant::now();
    let mut report = RestoreReport {
        directory_id: opts.directory_id.clone(),
        region: region.to_owned(),
        started_at: now,
        plan: None,
        deleted: Vec::new(),
        safety_snapshot_id: None,
        restore_sent: false,
        outcome: Outcome::Planned,
        final_stage: None,
        polls: 0,
        elapsed_secs: 0,
        notified: Vec::new(),
        notify_errors: Vec::new(),
    };
    // How the restore ended; published when it had begun to change something (a safety
    // snapshot, or the restore itself).
    let finish = |mut r: RestoreReport, outcome: Outcome| async move {
        r.outcome = outcome;
        r.elapsed_secs = started.elapsed().as_secs();
        if r.restore_sent
            || !r.deleted.is_empty()
            || r.safety_snapshot_id.is_some()
            || matches!(r.outcome, Outcome::SafetyFailed { .. })
        {
            let event = match &r.outcome {
                Outcome::Restored => "completed",
                Outcome::Started => "",
                Outcome::TimedOut { .. } => "still-restoring",
                Outcome::Interrupted { .. } if r.restore_sent => "still-restoring",
                _ => "failed",
            };
            if !event.is_empty() {
                tell(notifier, &mut r, event).await;
            }
        }
        r
    };
    // Observe.
    let ids = [opts.directory_id.clone()];
    let observed = async {
        let d = ds
            .describe_directories(Some(&ids))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                ApiError::new(
                    crate::model::Operation::DescribeDirectories,
                    ErrorKind::NotFound,
                    "EntityDoesNotExistException",
                    format!("directory {} does not exist", opts.directory_id),
                )
            })?;
        if decide::preflight(&d, region).is_err() {
            return Ok((d, Vec::new(), None));
        }
        let snapshots = ds.describe_snapshots(&d.id).await?;
        let limits = ds.snapshot_limits(&d.id).await?;
        Ok::<_, ApiError>((d, snapshots, Some(limits)))
    };
    let (directory, snapshots, limits) = match observed.await {
        Ok(o) => o,
        Err(e) => {
            let (code, message) = api_outcome(&e);
            return finish(report, Outcome::NotStarted { code, message }).await;
        }
    };
    report.final_stage = Some(directory.stage.to_string());
    let limits = limits.unwrap_or(crate::model::SnapshotLimits {
        manual_limit: crate::model::MANUAL_SNAPSHOT_LIMIT,
        manual_count: 0,
    });
    let snapshots = crate::policy::distinct(snapshots);
    // Decide.
    let plan = match decide::plan(
        &directory,
        region,
        &snapshots,
        limits,
        policy,
        &opts.target,
        !opts.no_safety_snapshot,
        now,
    ) {
        Ok(p) => p,
        Err(refusal) => return finish(report, Outcome::Refused { refusal }).await,
    };
    report.plan = Some(plan.clone());
    if opts.dry_run {
        return finish(report, Outcome::Planned).await;
    }
    if !confirm(&plan) {
        return finish(report, Outcome::NotConfirmed).await;
    }
    // Keep the present.
    if let Some(safety) = &plan.safety {
        for d in &safety.make_room {
            match ds.delete_snapshot(&d.snapshot_id).await {
                Ok(_) => report.deleted.push(d.clone()),
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => {
                    let (code, message) = api_outcome(&e);
                    return finish(report, Outcome::SafetyFailed { code, message }).await;
                }
            }
        }
        let id = match ds.create_snapshot(&directory.id, &safety.name).await {
            Ok(id) => id,
            Err(e) => {
                let (code, message) = api_outcome(&e);
                return finish(report, Outcome::SafetyFailed { code, message }).await;
            }
        };
        progress(&format!(
            "safety snapshot {id} started; waiting for it to complete"
        ));
        let waited = tokio::select! {
            waited = wait_for_snapshot(ds, &id, opts, &mut progress) => waited,
            () = &mut interrupt => {
                report.safety_snapshot_id = Some(id);
                let stage = report.final_stage.clone().unwrap_or_default();
                return finish(report, Outcome::Interrupted { stage }).await;
            }
        };
        match waited {
            Ok(()) => report.safety_snapshot_id = Some(id),
            Err((code, message)) => {
                return finish(report, Outcome::SafetyFailed { code, message }).await
            }
        }
    }
    // Restore: sent once.
    report.restore_sent = true;
    if let Err(e) = ds.restore_from_snapshot(&plan.target.id).await {
        // A lost answer may have started it: read the stage rather than send it again.
        let restoring = match ds.describe_directories(Some(&ids)).await {
            Ok(d) => d.first().map(|d| &d.stage) == Some(&Stage::Restoring),
            Err(_) => false,
        };
        if !restoring {
            let (code, message) = api_outcome(&e);
            return finish(report, Outcome::NotStarted { code, message }).await;
        }
        progress(&format!(
            "RestoreFromSnapshot's answer was lost ({}), but the directory is Restoring: not resent",
            e.code
        ));
    }
    report.final_stage = Some("Restoring".to_owned());
    tell(notifier, &mut report, "started").await;
    if opts.no_wait {
        return finish(report, Outcome::Started).await;
    }
    // Follow it to the end.
    let deadline = started + opts.timeout;
    let mut interval = opts.poll_initial;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let stage = report.final_stage.clone().unwrap_or_default();
            return finish(report, Outcome::TimedOut { stage }).await;
        }
        tokio::select! {
            () = tokio::time::sleep(interval.min(left)) => {}
            () = &mut interrupt => {
                let stage = report.final_stage.clone().unwrap_or_default();
                return finish(report, Outcome::Interrupted { stage }).await;
            }
        }
        interval = (interval * 2).min(opts.poll_max);
        report.polls += 1;
        let Ok(found) = ds.describe_directories(Some(&ids)).await else {
            progress("DescribeDirectories failed; will retry");
            continue;
        };
        let Some(d) = found.into_iter().next() else {
            continue;
        };
        report.final_stage = Some(d.stage.to_string());
        progress(&format!(
            "stage {} after {} s",
            d.stage,
            started.elapsed().as_secs()
        ));
        match d.stage {
            Stage::Active => return finish(report, Outcome::Restored).await,
            Stage::RestoreFailed => {
                let reason = d.stage_reason.clone();
                return finish(report, Outcome::RestoreFailed { reason }).await;
            }
            _ => {}
        }
    }
}

/// Poll one snapshot until it is `Completed`; a `Failed` one, or one still `Creating` when
/// `safety_timeout` runs out, is an error.
async fn wait_for_snapshot<D: DirectoryService>(
    ds: &D,
    id: &str,
    opts: &RestoreOptions,
    progress: &mut impl FnMut(&str),
) -> Result<(), (String, String)> {
    let until = Instant::now() + opts.safety_timeout;
    let mut interval = opts.poll_initial;
    let ids = [id.to_owned()];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err((
                "SafetySnapshotTimedOut".to_owned(),
                format!("snapshot {id} was still Creating when the wait ended"),
            ));
        }
        tokio::time::sleep(interval.min(left)).await;
        interval = (interval * 2).min(opts.poll_max);
        let seen: Vec<Snapshot> = match ds.snapshots_by_id(&ids).await {
            Ok(s) => s,
            Err(e) => {
                progress(&format!(
                    "polling the safety snapshot failed ({}); will retry",
                    e.code
                ));
                continue;
            }
        };
        match seen.first().map(|s| s.status) {
            Some(SnapshotStatus::Completed) => return Ok(()),
            Some(SnapshotStatus::Failed) => {
                return Err((
                    crate::model::KeeperCode::SnapshotFailed.as_str().to_owned(),
                    format!("safety snapshot {id} ended Failed"),
                ))
            }
            _ => {}
        }
    }
}

/// One directory's restore points, for `ds-snapshot-keeper points`.
#[derive(Debug, Clone, Serialize)]
pub struct DirectoryPoints {
    pub region: String,
    pub directory_id: String,
    pub directory_name: Option<String>,
    pub stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_reason: Option<String>,
    pub points: Vec<decide::RestorePoint>,
    /// Why the points could not be listed (an AWS error, a replica, an AD Connector...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The restore points of `directory_ids`, or of every directory the configured scope manages
/// in `region` (`DIRECTORY_IDS`, or discovery with `DISCOVERY_TAG`, less
/// `EXCLUDED_DIRECTORY_IDS`). Read-only: `DescribeDirectories`, `ListTagsForResource` (only
/// for discovery by tag) and one `DescribeSnapshots` per directory.
pub async fn points<D: DirectoryService>(
    ds: &D,
    region: &str,
    settings: &crate::settings::Settings,
    directory_ids: &[String],
    before: Option<Timestamp>,
    now: Timestamp,
) -> Result<Vec<DirectoryPoints>, ApiError> {
    use crate::policy::eligibility;
    let policy = Policy::from(settings);
    let named: Vec<String> = if directory_ids.is_empty() {
        settings.directory_ids.clone()
    } else {
        directory_ids.to_vec()
    };
    // The Region's directories, then the ones asked for: a fleet's directory is in one of the
    // Regions given, and is not an error in the others.
    let mut directories = ds.describe_directories(None).await?;
    if !named.is_empty() {
        directories.retain(|d| named.contains(&d.id));
    } else {
        directories.retain(|d| !settings.excluded_directory_ids.contains(&d.id));
        if let Some(tag) = &settings.discovery_tag {
            let mut kept = Vec::new();
            for d in directories {
                if eligibility::opted_in(&ds.directory_tags(&d.id).await?, tag) {
                    kept.push(d);
                }
            }
            directories = kept;
        }
    }
    directories.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = Vec::with_capacity(directories.len());
    for d in directories {
        let mut entry = DirectoryPoints {
            region: region.to_owned(),
            directory_id: d.id.clone(),
            directory_name: Some(d.name.clone()),
            stage: Some(d.stage.to_string()),
            stage_reason: d.stage_reason.clone(),
            points: Vec::new(),
            problem: None,
        };
        let kind_problem = match &d.kind {
            crate::model::DirectoryType::MicrosoftAd | crate::model::DirectoryType::SimpleAd => {
                None
            }
            other => Some(format!("a {} directory has no snapshots", other.as_api())),
        };
        let replica = d
            .primary_region
            .as_deref()
            .filter(|p| *p != region)
            .map(|p| format!("replicated here: its snapshots are in its primary Region {p}"));
        if let Some(problem) = kind_problem.or(replica) {
            entry.problem = Some(problem);
            out.push(entry);
            continue;
        }
        match ds.describe_snapshots(&d.id).await {
            Ok(all) => {
                let all = crate::policy::distinct(all);
                entry.points = decide::restore_points(&all, &d.id, &policy, now, before);
            }
            Err(e) => entry.problem = Some(format!("{}: {}", e.code, e.message)),
        }
        out.push(entry);
    }
    Ok(out)
}
