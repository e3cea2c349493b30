//! Waiting for the run's new snapshots: polled together, in batches, with backoff, until they
//! settle or time runs out. Snapshots still Creating at the end are reported pending; the
//! next run checks them (and takes no new snapshot while they are Creating).

use tokio::time::Instant;

use super::{Keeper, RunCtx, Work};
use crate::directory::DirectoryService;
use crate::error::ErrorKind;
use crate::model::{CreatedState, Operation, Snapshot, SnapshotStatus};
use crate::report::ErrorEntry;

impl<D: DirectoryService> Keeper<D> {
    /// Poll the run's new snapshots together until they settle or `until` comes.
    pub(super) async fn wait_for_new(&self, works: &mut [Work], until: Instant, ctx: &RunCtx) {
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
                code: "SnapshotFailed".to_owned(),
                message: format!("new snapshot {id} ended Failed; the keeper deletes it so it does not hold a slot"),
                snapshot_id: Some(id.clone()),
            });
        }
    }
}
