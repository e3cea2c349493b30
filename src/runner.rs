//! One run over every directory: observe, plan, act, wait, prune, flag.
//!
//! Directories are observed, planned and acted on concurrently under a bound, and one
//! directory's failure never stops the others. New snapshots are then polled together, in
//! batches, with backoff, until they settle or the wait budget (bounded by the Lambda deadline
//! minus a margin) runs out. The retention decisions themselves live in `policy.rs`; this file
//! only carries them out and records everything in the [`RunReport`].

use std::sync::Arc;

use futures::stream::{self, StreamExt};
use jiff::Timestamp;
use tokio::time::Instant;

use crate::model::{
    Directory, DirectoryType, Snapshot, SnapshotLimits, SnapshotStatus, SnapshotType,
};
use crate::policy::{self, Deletion, Plan, Policy};
use crate::ports::{ApiError, DirectoryService, ErrorKind};
use crate::report::{Created, Deleted, DirectoryReport, ErrorEntry, RunReport, Severity, Summary};
use crate::request::Request;
use crate::settings::Settings;

/// Where "now" comes from; tests and simulations pin it.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The keeper: settings plus the Directory Service port.
pub struct Keeper<D> {
    pub ds: D,
    pub settings: Settings,
    pub region: String,
    pub clock: Clock,
}

/// Per-directory working state during a run.
struct Work {
    report: DirectoryReport,
    /// The directory's snapshots as the run believes them to be now.
    picture: Vec<Snapshot>,
    limits: Option<SnapshotLimits>,
    plan: Plan,
    /// The snapshot this run created, while it matters.
    new_id: Option<String>,
    dry_run: bool,
    /// No new API write starts after this instant (the deadline minus the margin), so the
    /// function is never cut off in the middle of its work.
    stop_at: Option<Instant>,
}

impl Work {
    /// Whether the run is out of time; records why, once.
    fn out_of_time(&mut self, what: &str) -> bool {
        if self.stop_at.is_some_and(|t| Instant::now() >= t) {
            self.report.errors.push(ErrorEntry {
                operation: what.to_owned(),
                code: "DeadlineReached".to_owned(),
                message: format!(
                    "stopped before {what}: the invocation deadline (minus the margin) was reached; \
                     the next run carries on"
                ),
                snapshot_id: None,
            });
            return true;
        }
        false
    }
}

const STAGE_SNAPSHOTTABLE: &str = "Active";

/// Why a directory is skipped (and whether that deserves a warning), or `None` when the
/// keeper may snapshot it here.
pub fn skip_reason(d: &Directory, region: &str) -> Option<(String, bool)> {
    match &d.kind {
        DirectoryType::AdConnector => {
            return Some((
                "AD Connector directories cannot be snapshotted".to_owned(),
                false,
            ))
        }
        DirectoryType::SharedMicrosoftAd => {
            return Some((
                "shared directory: snapshots are taken in the owner account".to_owned(),
                false,
            ))
        }
        DirectoryType::Other(kind) => {
            return Some((
                format!("directory type {kind} is not one the keeper knows how to snapshot"),
                true,
            ))
        }
        DirectoryType::MicrosoftAd | DirectoryType::SimpleAd => {}
    }
    if d.stage != STAGE_SNAPSHOTTABLE {
        return Some((
            format!(
                "directory is in stage {}; snapshots need stage {STAGE_SNAPSHOTTABLE}",
                d.stage
            ),
            true,
        ));
    }
    if let Some(primary) = &d.primary_region {
        if primary != region {
            return Some((
                format!(
                    "multi-Region directory replicated here; its primary Region is {primary}, \
                     where snapshots must be taken (deploy the keeper there)"
                ),
                false,
            ));
        }
    }
    None
}

fn error(report: &mut DirectoryReport, err: &ApiError, snapshot_id: Option<&str>) {
    tracing::warn!(directory_id = %report.directory_id, operation = err.operation, code = %err.code, "API call failed");
    report.errors.push(ErrorEntry::from_api(err, snapshot_id));
}

impl<D: DirectoryService> Keeper<D> {
    pub fn new(ds: D, settings: Settings, region: impl Into<String>) -> Self {
        Self {
            ds,
            settings,
            region: region.into(),
            clock: Arc::new(Timestamp::now),
        }
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Run one request. `deadline` is when the invocation must have returned (if any).
    pub async fn run(
        &self,
        request: &Request,
        request_id: &str,
        deadline: Option<Instant>,
    ) -> RunReport {
        let started = Instant::now();
        let now = (self.clock)();
        let dry_run =
            request.dry_run || self.settings.dry_run || !request.action.changes_anything();
        let mut run = RunReport {
            keeper_version: env!("CARGO_PKG_VERSION"),
            request_id: request_id.to_owned(),
            region: self.region.clone(),
            action: request.action,
            dry_run,
            trigger: request.trigger.clone(),
            started_at: now,
            finished_at: now,
            severity: Severity::Ok,
            summary: Summary::default(),
            directories: Vec::new(),
            errors: Vec::new(),
        };

        let wanted: Option<Vec<String>> = request.directory_ids.clone().or_else(|| {
            (!self.settings.directory_ids.is_empty()).then(|| self.settings.directory_ids.clone())
        });
        let (directories, mut missing) = match self.resolve(wanted.as_deref()).await {
            Ok(found) => found,
            Err(err) => {
                run.errors.push(ErrorEntry::from_api(&err, None));
                run.finished_at = (self.clock)();
                run.settle();
                return run;
            }
        };
        let policy = Policy::from(&self.settings);
        let stop_at = deadline.map(|d| {
            d.checked_sub(self.settings.deadline_margin)
                .unwrap_or(started)
        });

        let mut works: Vec<Work> = Vec::new();
        let mut todo: Vec<(Directory, Work)> = Vec::new();
        for d in directories {
            let mut report = DirectoryReport::new(&d.id);
            report.directory_name = Some(d.name.clone());
            report.directory_type = Some(d.kind.as_api().to_owned());
            let work = Work {
                report,
                picture: Vec::new(),
                limits: None,
                plan: Plan::default(),
                new_id: None,
                dry_run,
                stop_at,
            };
            match skip_reason(&d, &self.region) {
                Some((reason, warns)) => {
                    let mut work = work;
                    tracing::info!(directory_id = %d.id, reason = %reason, "skipping directory");
                    work.report.skipped = Some(reason);
                    work.report.skip_warns = warns;
                    works.push(work);
                }
                None => todo.push((d, work)),
            }
        }
        works.append(&mut missing);

        // Observe, plan and act, a bounded number of directories at a time.
        let acted: Vec<Work> = stream::iter(todo)
            .map(|(d, work)| self.observe_plan_act(d, work, &policy, request, now))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let mut acted = acted;

        // Wait for the new snapshots, all together, within the budget and the stop instant.
        let budget = started + self.settings.wait_budget;
        let wait_until = stop_at.map_or(budget, |stop| budget.min(stop));
        self.wait_for_new(&mut acted, wait_until).await;

        // Prune where the run allows it, then flag what is left.
        let pruned: Vec<Work> = stream::iter(acted)
            .map(|work| self.prune(work, &policy))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        works.extend(pruned);

        let end = (self.clock)();
        for w in &mut works {
            finish(w, &policy, end);
        }
        works.sort_by(|a, b| a.report.directory_id.cmp(&b.report.directory_id));
        run.directories = works.into_iter().map(|w| w.report).collect();
        run.finished_at = end;
        run.settle();
        run
    }

    /// Describe the wanted directories in one batch (or all of them). Named directories that
    /// do not exist become directory reports with an error; the others carry on.
    async fn resolve(
        &self,
        wanted: Option<&[String]>,
    ) -> Result<(Vec<Directory>, Vec<Work>), ApiError> {
        let Some(ids) = wanted else {
            let all = self.ds.describe_directories(None).await?;
            return Ok((self.opted_in(all).await?, Vec::new()));
        };
        match self.ds.describe_directories(Some(ids)).await {
            Ok(found) => {
                let missing = ids
                    .iter()
                    .filter(|id| !found.iter().any(|d| &d.id == *id))
                    .map(|id| missing_work(id, None))
                    .collect();
                Ok((found, missing))
            }
            // One unknown id fails the whole batch: find out which, one by one.
            Err(err) if err.kind == ErrorKind::NotFound => {
                let mut found = Vec::new();
                let mut missing = Vec::new();
                for id in ids {
                    match self
                        .ds
                        .describe_directories(Some(std::slice::from_ref(id)))
                        .await
                    {
                        Ok(mut one) if !one.is_empty() => found.append(&mut one),
                        Ok(_) => missing.push(missing_work(id, None)),
                        Err(e) => missing.push(missing_work(id, Some(&e))),
                    }
                }
                Ok((found, missing))
            }
            Err(err) => Err(err),
        }
    }

    /// With DISCOVERY_TAG, keep only the discovered directories that carry the tag. A tag
    /// lookup that fails fails the run: guessing could act on a directory not opted in.
    async fn opted_in(&self, all: Vec<Directory>) -> Result<Vec<Directory>, ApiError> {
        let Some((key, value)) = &self.settings.discovery_tag else {
            return Ok(all);
        };
        let tagged: Vec<Result<Option<Directory>, ApiError>> = stream::iter(all)
            .map(|d| async move {
                let tags = self.ds.directory_tags(&d.id).await?;
                Ok(tags
                    .iter()
                    .any(|(k, v)| k == key && v == value)
                    .then_some(d))
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let mut out = Vec::new();
        for t in tagged {
            if let Some(d) = t? {
                out.push(d);
            }
        }
        Ok(out)
    }

    async fn observe_plan_act(
        &self,
        d: Directory,
        mut w: Work,
        policy: &Policy,
        request: &Request,
        now: Timestamp,
    ) -> Work {
        if w.out_of_time("DescribeSnapshots") {
            return w;
        }
        // Observe. Any failure here means nothing is planned, so nothing is deleted.
        let snapshots = match self.ds.describe_snapshots(&d.id).await {
            Ok(s) => s,
            Err(e) => {
                error(&mut w.report, &e, None);
                return w;
            }
        };
        w.report.snapshots_seen = snapshots.clone();
        w.picture = snapshots;
        let limits = match self.ds.snapshot_limits(&d.id).await {
            Ok(l) => l,
            Err(e) => {
                error(&mut w.report, &e, None);
                return w;
            }
        };
        w.report.limits = Some(limits);
        w.limits = Some(limits);

        // Plan.
        w.plan = policy::plan(
            &w.picture,
            limits,
            policy,
            request.action,
            request.force,
            now,
        );
        for p in &w.plan.problems {
            w.report.errors.push(ErrorEntry {
                operation: "Plan".to_owned(),
                code: p.code.to_owned(),
                message: p.message.clone(),
                snapshot_id: p.snapshot_id.clone(),
            });
        }
        w.report.create_skipped = w.plan.create_skipped.clone();

        // Act: make room first, then create.
        let deletions = w.plan.deletions.clone();
        let all_done = self.delete_all(&mut w, deletions, policy).await;
        let Some(name) = w.plan.create.clone() else {
            return w;
        };
        if w.dry_run {
            w.report.created = Some(Created {
                snapshot_id: None,
                name,
                status: "planned".to_owned(),
            });
            return w;
        }
        if w.out_of_time("CreateSnapshot") {
            w.plan.prune_after = false;
            return w;
        }
        if !all_done {
            w.report.create_skipped =
                Some("not created: making room in the quota failed".to_owned());
            w.plan.prune_after = false;
            return w;
        }
        match self.ds.create_snapshot(&d.id, &name).await {
            Ok(id) => {
                tracing::info!(directory_id = %d.id, snapshot_id = %id, name = %name, "snapshot started");
                w.picture.push(Snapshot {
                    id: id.clone(),
                    directory_id: d.id.clone(),
                    name: Some(name.clone()),
                    kind: SnapshotType::Manual,
                    status: SnapshotStatus::Creating,
                    start_time: now,
                });
                if let Some(l) = &mut w.limits {
                    l.manual_count += 1;
                }
                w.report.created = Some(Created {
                    snapshot_id: Some(id.clone()),
                    name,
                    status: "Creating".to_owned(),
                });
                w.new_id = Some(id);
            }
            Err(e) => {
                error(&mut w.report, &e, None);
                w.plan.prune_after = false;
            }
        }
        w
    }

    /// Carry out deletions, re-checking each against the guard first. Returns whether every
    /// deletion took effect (or, on a dry run, would have been attempted).
    async fn delete_all(&self, w: &mut Work, deletions: Vec<Deletion>, policy: &Policy) -> bool {
        let mut ok = true;
        for deletion in deletions {
            let Some(target) = w.picture.iter().find(|s| s.id == deletion.snapshot_id) else {
                continue;
            };
            if let Err(protection) = policy::deletable(target, &w.picture, policy) {
                // The plan and the guard disagree: refuse, loudly.
                w.report.errors.push(ErrorEntry {
                    operation: "DeleteSnapshot".to_owned(),
                    code: "RefusedByGuard".to_owned(),
                    message: format!("refused to delete {}: {protection}", deletion.snapshot_id),
                    snapshot_id: Some(deletion.snapshot_id.clone()),
                });
                ok = false;
                continue;
            }
            if !w.dry_run && w.out_of_time("DeleteSnapshot") {
                ok = false;
                break;
            }
            if w.dry_run {
                // Simulate it, so that later steps and flags show the state the run would leave.
                forget(w, &deletion.snapshot_id);
                w.report.deleted.push(Deleted {
                    deletion,
                    done: false,
                });
                continue;
            }
            match self.ds.delete_snapshot(&deletion.snapshot_id).await {
                Ok(()) => {
                    tracing::info!(directory_id = %w.report.directory_id, snapshot_id = %deletion.snapshot_id, rule = ?deletion.rule, "snapshot deleted");
                    forget(w, &deletion.snapshot_id);
                    w.report.deleted.push(Deleted {
                        deletion,
                        done: true,
                    });
                }
                Err(e) if e.kind == ErrorKind::NotFound => {
                    // Someone else deleted it first: the slot is free all the same.
                    forget(w, &deletion.snapshot_id);
                    let mut deletion = deletion;
                    deletion
                        .reason
                        .push_str(" (already gone: deleted by someone else)");
                    w.report.deleted.push(Deleted {
                        deletion,
                        done: false,
                    });
                }
                Err(e) => {
                    error(&mut w.report, &e, Some(&deletion.snapshot_id));
                    ok = false;
                }
            }
        }
        ok
    }

    /// Poll the run's new snapshots together until they settle or time runs out.
    async fn wait_for_new(&self, works: &mut [Work], until: Instant) {
        let mut interval = self.settings.poll_initial;
        loop {
            // Each directory's own new snapshot, while its picture still says Creating.
            let pending: Vec<String> = works
                .iter()
                .filter_map(|w| {
                    let id = w.new_id.as_ref()?;
                    w.picture
                        .iter()
                        .any(|s| &s.id == id && s.status == SnapshotStatus::Creating)
                        .then(|| id.clone())
                })
                .collect();
            if pending.is_empty() {
                return;
            }
            let now = Instant::now();
            if now >= until {
                return;
            }
            tokio::time::sleep(interval.min(until - now)).await;
            interval = (interval * 2).min(self.settings.poll_max);
            match self.ds.snapshots_by_id(&pending).await {
                Ok(seen) => apply_statuses(works, &seen, &pending),
                Err(e) if e.kind == ErrorKind::NotFound => {
                    // One vanished snapshot fails the batch; look at each to find it.
                    for id in &pending {
                        match self.ds.snapshots_by_id(std::slice::from_ref(id)).await {
                            Ok(seen) => apply_statuses(works, &seen, std::slice::from_ref(id)),
                            Err(e) => {
                                for w in works.iter_mut().filter(|w| w.new_id.as_ref() == Some(id))
                                {
                                    error(&mut w.report, &e, Some(id));
                                    w.picture.retain(|s| &s.id != id);
                                    w.new_id = None;
                                    w.plan.prune_after = false;
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    // Transient trouble while waiting: keep waiting; if it lasts, the
                    // snapshots are reported pending and the next run checks them.
                    tracing::warn!(code = %e.code, "polling new snapshots failed; will retry");
                }
            }
        }
    }

    async fn prune(&self, mut w: Work, policy: &Policy) -> Work {
        let Some(limits) = w.limits else { return w };
        // Prune only after a clean run: no API error for this directory so far.
        if !w.plan.prune_after || w.report.errors.iter().any(|e| e.operation != "Plan") {
            return w;
        }
        if let Some(c) = &w.report.created {
            if c.status != "Completed" && c.status != "planned" {
                return w;
            }
        }
        let mut picture = w.picture.clone();
        let mut limits = limits;
        if let Some(c) = w.report.created.as_ref().filter(|c| c.status == "planned") {
            // Dry run: assume the planned snapshot completes, to show what would be pruned.
            picture.push(Snapshot {
                id: "(planned)".to_owned(),
                directory_id: w.report.directory_id.clone(),
                name: Some(c.name.clone()),
                kind: SnapshotType::Manual,
                status: SnapshotStatus::Completed,
                start_time: (self.clock)(),
            });
            limits.manual_count += 1;
        }
        let fresh = w
            .new_id
            .clone()
            .or_else(|| w.report.created.as_ref().map(|_| "(planned)".to_owned()));
        let deletions = policy::prune(&picture, limits, policy, fresh.as_deref());
        if w.dry_run {
            for deletion in deletions {
                w.report.deleted.push(Deleted {
                    deletion,
                    done: false,
                });
            }
            return w;
        }
        self.delete_all(&mut w, deletions, policy).await;
        w
    }
}

/// Drop a deleted snapshot from the run's picture of the directory.
fn forget(w: &mut Work, snapshot_id: &str) {
    let before = w.picture.len();
    w.picture.retain(|s| s.id != snapshot_id);
    if w.picture.len() < before {
        if let Some(l) = &mut w.limits {
            l.manual_count = l.manual_count.saturating_sub(1);
        }
    }
}

fn missing_work(id: &str, err: Option<&ApiError>) -> Work {
    let mut report = DirectoryReport::new(id);
    report.errors.push(match err {
        Some(e) => ErrorEntry::from_api(e, None),
        None => ErrorEntry {
            operation: "DescribeDirectories".to_owned(),
            code: "EntityDoesNotExistException".to_owned(),
            message: format!("directory {id} does not exist in this account and region"),
            snapshot_id: None,
        },
    });
    Work {
        report,
        picture: Vec::new(),
        limits: None,
        plan: Plan::default(),
        new_id: None,
        dry_run: true,
        stop_at: None,
    }
}

fn apply_statuses(works: &mut [Work], seen: &[Snapshot], asked: &[String]) {
    for w in works.iter_mut() {
        let Some(id) = w.new_id.clone() else { continue };
        if !asked.contains(&id) {
            continue;
        }
        let Some(found) = seen.iter().find(|s| s.id == id) else {
            continue;
        };
        if let Some(mine) = w.picture.iter_mut().find(|s| s.id == id) {
            mine.status = found.status;
        }
        if let Some(c) = &mut w.report.created {
            c.status = format!("{:?}", found.status);
        }
        if found.status == SnapshotStatus::Failed {
            w.report.errors.push(ErrorEntry {
                operation: "CreateSnapshot".to_owned(),
                code: "SnapshotFailed".to_owned(),
                message: format!("new snapshot {id} ended Failed"),
                snapshot_id: Some(id.clone()),
            });
            w.plan.prune_after = false;
        }
    }
}

/// Flags and freshness on the final picture.
fn finish(w: &mut Work, policy: &Policy, now: Timestamp) {
    if w.report.skipped.is_some() || w.limits.is_none() {
        w.report.settle_severity();
        return;
    }
    w.report.flagged = policy::flags(&w.picture, w.limits, policy, now);
    w.report.newest_completed_age_days = policy::newest_completed(&w.picture).map(|s| {
        let secs = (now.as_second() - s.start_time.as_second()).max(0) as f64;
        (secs / 86_400.0 * 100.0).round() / 100.0
    });
    w.report.settle_severity();
}
