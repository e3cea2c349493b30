//! Waiting for the run's new snapshots: polled together, in batches, with backoff, until they
//! settle or time runs out. Snapshots still Creating at the end are reported pending; the
//! next run checks them (and takes no new snapshot while they are Creating). After a wait,
//! every directory is listed again, so that what follows is decided from what is there now.

use futures::stream::{self, StreamExt};
use tokio::time::Instant;

use super::{Keeper, RunCtx, Work};
use crate::directory::DirectoryService;
use crate::error::ErrorKind;
use crate::model::{CreatedState, Operation, Snapshot, SnapshotStatus};
use crate::policy;
use crate::report::ErrorEntry;

impl<D: DirectoryService> Keeper<D> {
    /// Poll the run's new snapshots together until they settle or `until` comes. Returns
    /// whether it waited at all (then the directories are listed again: see [`Self::relist`]).
    pub(super) async fn wait_for_new(
        &self,
        works: &mut [Work],
        until: Instant,
        ctx: &RunCtx,
    ) -> bool {
        let mut backoff =
            super::backoff::Backoff::new(self.settings.poll_initial, self.settings.poll_max);
        let mut waited = false;
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
                return waited;
            }
            let Some(sleep) = backoff.next_before(until) else {
                return waited;
            };
            waited = true;
            tokio::time::sleep(sleep).await;
            if let [only] = pending.as_slice() {
                // One snapshot left: list its directory instead, which costs the same call and
                // leaves a fresh listing, so that directory needs no listing after the wait.
                let Some(w) = works.iter_mut().find(|w| w.new_id.as_ref() == Some(only)) else {
                    return waited;
                };
                let dir = w.report.directory_id.clone();
                match ctx
                    .bounded(
                        Operation::DescribeSnapshots,
                        self.ds.describe_snapshots(&dir),
                    )
                    .await
                {
                    Ok(listed) => {
                        apply_statuses(std::slice::from_mut(w), &listed, &pending);
                        refresh(w, listed);
                        w.listed_fresh = true;
                    }
                    Err(e) => {
                        tracing::warn!(code = %e.code, "polling new snapshots failed; will retry");
                    }
                }
                continue;
            }
            match ctx
                .bounded(
                    Operation::DescribeSnapshots,
                    self.ds.snapshots_by_id(&pending),
                )
                .await
            {
                Ok(seen) => apply_statuses(works, &seen, &pending),
                Err(e) if e.kind == ErrorKind::NotFound => {
                    // One vanished snapshot fails the batch; look at each to find it.
                    for id in &pending {
                        let one = std::slice::from_ref(id);
                        match ctx
                            .bounded(Operation::DescribeSnapshots, self.ds.snapshots_by_id(one))
                            .await
                        {
                            Ok(seen) => apply_statuses(works, &seen, one),
                            Err(e) => {
                                for w in works.iter_mut().filter(|w| w.new_id.as_ref() == Some(id))
                                {
                                    w.error(&e, Some(id));
                                    w.picture.retain(|s| &s.id != id);
                                    w.new_id = None;
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
}

impl<D: DirectoryService> Keeper<D> {
    /// After a wait, list each observed directory again, so that the deletions after the
    /// create and the quota reported are decided from what is there now, not from a listing
    /// up to `WAIT_BUDGET_SECONDS` old: someone may have taken or deleted a snapshot meanwhile.
    /// One `DescribeSnapshots` per directory, less the one whose own snapshot the wait's last
    /// poll listed with its directory (a run over one directory costs nothing more). A directory whose listing fails keeps its old
    /// picture and reports the error, which holds its pruning back (`api-failure`).
    pub(super) async fn relist(&self, works: Vec<Work>, ctx: &RunCtx) -> Vec<Work> {
        stream::iter(works)
            .map(|mut w| async move {
                if w.limits.is_none() || w.listed_fresh {
                    return w;
                }
                let id = w.report.directory_id.clone();
                match ctx
                    .bounded(
                        Operation::DescribeSnapshots,
                        self.ds.describe_snapshots(&id),
                    )
                    .await
                {
                    Ok(listed) => refresh(&mut w, listed),
                    Err(e) => w.error(&e, None),
                }
                w
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await
    }
}

/// Take a fresh listing as the directory's picture. Snapshots this run deleted stay gone (a
/// listing may lag a deletion), and the run's own new snapshot stays known even if the listing
/// does not show it yet; its status is the listing's when that is newer.
fn refresh(w: &mut Work, listed: Vec<Snapshot>) {
    let gone: Vec<&str> = w
        .report
        .deleted
        .iter()
        .map(|d| d.deletion.snapshot_id.as_str())
        .collect();
    let mut fresh: Vec<Snapshot> = policy::distinct(listed)
        .into_iter()
        .filter(|s| !gone.contains(&s.id.as_str()))
        .collect();
    if let Some(new_id) = w.new_id.clone() {
        let known = w.picture.iter().find(|s| s.id == new_id).cloned();
        let listed = fresh.iter().find(|s| s.id == new_id).cloned();
        match (known, listed) {
            (Some(known), None) => fresh.push(known),
            (Some(known), Some(listed))
                if known.status == SnapshotStatus::Creating
                    && listed.status != SnapshotStatus::Creating =>
            {
                fresh.retain(|s| s.id != new_id);
                fresh.push(known);
                w.picture = fresh;
                apply_statuses(std::slice::from_mut(w), &[listed], &[new_id]);
                return;
            }
            (Some(known), Some(_)) => {
                // The wait's answer is as new as the listing's; keep one copy.
                fresh.retain(|s| s.id != new_id);
                fresh.push(known);
            }
            (None, _) => {}
        }
    }
    w.picture = fresh;
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
            c.status = CreatedState::from(found.status);
        }
        if found.status == SnapshotStatus::Failed {
            w.report.errors.push(ErrorEntry {
                operation: Operation::CreateSnapshot,
                code: crate::model::KeeperCode::SnapshotFailed.as_str().to_owned(),
                message: format!("new snapshot {id} ended Failed; the keeper deletes it so it does not hold a slot"),
                snapshot_id: Some(id.clone()),
            });
        }
    }
}
