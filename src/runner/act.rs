//! Acting on one directory: observe it, ask the policy for a plan, make room, create.
//!
//! A create whose answer is lost (a dropped connection, a 5xx, a call cut short) may still
//! have been carried out by AWS. Before reporting it failed, the keeper looks for the
//! snapshot by its name -- unique to this request -- and adopts it if it is there, so it is
//! tracked, waited for and counted like any other.

use super::{record_not_done, Keeper, RunCtx, Work};
use crate::directory::{DeleteOutcome, DirectoryService};
use crate::error::{ApiError, ErrorKind};
use crate::model::{CreatedState, Directory, Operation, Snapshot, SnapshotStatus, SnapshotType};
use crate::policy::restore_mark::{self, MarkState};
use crate::policy::{self, Deletion};
use crate::report::{Created, Deleted, ErrorEntry};

/// Whether a failed call may still have been carried out by AWS.
fn ambiguous(err: &ApiError) -> bool {
    matches!(
        err.kind,
        ErrorKind::Transport | ErrorKind::Service | ErrorKind::Unexpected
    )
}

impl<D: DirectoryService> Keeper<D> {
    pub(super) async fn observe_plan_act(&self, d: Directory, mut w: Work, ctx: &RunCtx) -> Work {
        w.directory = Some(d.clone());
        // A restore under way: the directory is left alone (policy::restore_mark).
        match self.restore_mark(&d.id, ctx).await {
            Ok(state) => {
                if let Some(skip) = restore_mark::run_skip(&state, &d) {
                    tracing::info!(directory_id = %d.id, reason = %skip.message, "skipping directory");
                    w.report.skipped = Some(skip);
                    return w;
                }
                if !matches!(state, MarkState::Absent) {
                    tracing::warn!(directory_id = %d.id, mark = %state.describe(&d.id), "restore mark ignored");
                }
            }
            Err(e) => {
                w.error(&e, None);
                return w;
            }
        }
        // Observe. Any failure here means nothing is planned, so nothing is deleted.
        let observed = async {
            let snapshots = ctx
                .bounded(
                    Operation::DescribeSnapshots,
                    self.ds.describe_snapshots(&d.id),
                )
                .await?;
            let limits = ctx
                .bounded(Operation::GetSnapshotLimits, self.ds.snapshot_limits(&d.id))
                .await?;
            Ok::<_, ApiError>((snapshots, limits))
        };
        let (snapshots, limits) = match observed.await {
            Ok(o) => o,
            Err(e) => {
                w.error(&e, None);
                return w;
            }
        };
        let snapshots = policy::distinct(snapshots);
        w.report.snapshots_seen = snapshots.clone();
        w.listed_at_start = Some(policy::manual_in_use(&snapshots));
        w.picture = snapshots;
        w.report.limits = Some(limits);
        w.limits = Some(limits);

        // Plan.
        w.plan = policy::plan(&w.picture, limits, &ctx.policy, &ctx.intent);
        for p in &w.plan.problems {
            w.report.errors.push(ErrorEntry::from_problem(p));
        }
        w.report.create_skipped = w.plan.create_skipped.clone();

        // Act: make room first, then create.
        let deletions = w.plan.deletions.clone();
        let all_done = self.delete_all(&mut w, deletions, ctx).await;
        let Some(name) = w.plan.create.clone() else {
            return w;
        };
        if ctx.dry_run {
            w.report.created = Some(Created {
                snapshot_id: None,
                name,
                status: CreatedState::Planned,
                recovered_from: None,
            });
            return w;
        }
        if !all_done {
            w.report.create_skipped =
                Some("not created: making room in the quota failed".to_owned());
            return w;
        }
        // A restore confirmed since the run looked would need the free slot for its safety
        // snapshot: read the mark again right before the create.
        match self.restore_mark(&d.id, ctx).await {
            Ok(state) => {
                if let Some(skip) = restore_mark::run_skip(&state, &d) {
                    w.report.create_skipped = Some(format!("not created: {}", skip.message));
                    return w;
                }
            }
            Err(e) => {
                w.error(&e, None);
                return w;
            }
        }
        let (id, recovered_from) = match ctx
            .bounded(
                Operation::CreateSnapshot,
                self.ds.create_snapshot(&d.id, &name),
            )
            .await
        {
            Ok(id) => (id, None),
            Err(e) if ambiguous(&e) => match self.find_by_name(&d.id, &name, ctx).await {
                Some(found) => {
                    tracing::warn!(directory_id = %d.id, snapshot_id = %found.id, code = %e.code, "CreateSnapshot answer lost, but the snapshot exists: adopted");
                    (found.id, Some(e.code))
                }
                None => {
                    w.error(&e, None);
                    return w;
                }
            },
            Err(e) => {
                w.error(&e, None);
                return w;
            }
        };
        tracing::info!(directory_id = %d.id, snapshot_id = %id, name = %name, "snapshot started");
        w.picture.retain(|s| s.id != id);
        w.picture.push(Snapshot {
            id: id.clone(),
            directory_id: d.id.clone(),
            name: Some(name.clone()),
            kind: SnapshotType::Manual,
            status: SnapshotStatus::Creating,
            start_time: ctx.intent.now,
        });
        w.report.created = Some(Created {
            snapshot_id: Some(id.clone()),
            name,
            status: CreatedState::Creating,
            recovered_from,
        });
        w.new_id = Some(id);
        w
    }

    /// The directory's restore mark, read now.
    async fn restore_mark(&self, directory_id: &str, ctx: &RunCtx) -> Result<MarkState, ApiError> {
        let tags = ctx
            .bounded(
                Operation::ListTagsForResource,
                self.ds.directory_tags(directory_id),
            )
            .await?;
        Ok(restore_mark::read(&tags, (self.clock)()))
    }

    /// After an ambiguous CreateSnapshot failure: the snapshot with this run's name, if AWS
    /// took it after all. A lookup that fails counts as "not found" (the error already
    /// reported says the create failed; the next run adopts the snapshot by its name).
    async fn find_by_name(&self, directory_id: &str, name: &str, ctx: &RunCtx) -> Option<Snapshot> {
        let listed = ctx
            .bounded(
                Operation::DescribeSnapshots,
                self.ds.describe_snapshots(directory_id),
            )
            .await
            .ok()?;
        listed
            .into_iter()
            .find(|s| s.name.as_deref() == Some(name) && s.kind == SnapshotType::Manual)
    }

    /// Carry out deletions, re-checking each against the guard first. Returns whether every
    /// deletion took effect (or, on a dry run, would have been attempted).
    pub(super) async fn delete_all(
        &self,
        w: &mut Work,
        deletions: Vec<Deletion>,
        ctx: &RunCtx,
    ) -> bool {
        let mut ok = true;
        for deletion in deletions {
            let Some(target) = w.picture.iter().find(|s| s.id == deletion.snapshot_id) else {
                continue;
            };
            if let Err(protection) = policy::deletable(target, &w.picture, &ctx.policy) {
                // The plan and the guard disagree: refuse, loudly.
                w.report.errors.push(ErrorEntry {
                    operation: Operation::DeleteSnapshot,
                    code: crate::model::KeeperCode::RefusedByGuard.as_str().to_owned(),
                    message: format!("refused to delete {}: {protection}", deletion.snapshot_id),
                    snapshot_id: Some(deletion.snapshot_id.clone()),
                });
                ok = false;
                continue;
            }
            if ctx.dry_run {
                // Simulate it, so that later steps and flags show the state the run would leave.
                forget(w, &deletion.snapshot_id);
                record_not_done(w, deletion);
                continue;
            }
            // A restore may have begun since the run looked: read its mark right before each
            // deletion, and delete nothing once one holds.
            match self.restore_mark(&w.report.directory_id, ctx).await {
                // The same judgement as the run's start: a mark that holds, unless its restore
                // was sent and has ended.
                Ok(state)
                    if w.directory.as_ref().map_or(state.holding().is_some(), |d| {
                        restore_mark::run_skip(&state, d).is_some()
                    }) =>
                {
                    w.report.errors.push(ErrorEntry {
                        operation: Operation::DeleteSnapshot,
                        code: crate::model::KeeperCode::RestoreUnderWay
                            .as_str()
                            .to_owned(),
                        message: format!("not deleted: {}", state.describe(&w.report.directory_id)),
                        snapshot_id: Some(deletion.snapshot_id.clone()),
                    });
                    return false;
                }
                Ok(_) => {}
                Err(e) => {
                    w.error(&e, Some(&deletion.snapshot_id));
                    return false;
                }
            }
            match ctx
                .bounded(
                    Operation::DeleteSnapshot,
                    self.ds.delete_snapshot(&deletion.snapshot_id),
                )
                .await
            {
                Ok(outcome) => {
                    let mut deletion = deletion;
                    if let DeleteOutcome::GoneAfterLostAnswer { code } = outcome {
                        deletion.reason.push_str(&format!(
                            " (DeleteSnapshot's answer was lost ({code}) and the retry found it \
                             gone: deleted by this run)"
                        ));
                    }
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
                    record_not_done(w, deletion);
                }
                Err(e) => {
                    let deadline = e.code == crate::model::KeeperCode::DeadlineReached;
                    w.error(&e, Some(&deletion.snapshot_id));
                    ok = false;
                    if deadline {
                        break;
                    }
                }
            }
        }
        ok
    }
}

/// Drop a deleted snapshot from the run's picture of the directory.
fn forget(w: &mut Work, snapshot_id: &str) {
    w.picture.retain(|s| s.id != snapshot_id);
}
