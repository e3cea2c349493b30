//! Which directories a run covers: the configured ones, the discovered ones (opted in by tag
//! when `DISCOVERY_TAG` is set), or those a manual request names -- which must lie inside the
//! configured scope (see `policy::eligibility`).

use futures::stream::{self, StreamExt};

use super::{Keeper, RunCtx, Work};
use crate::model::{Directory, Operation};
use crate::policy::{self, eligibility};
use crate::ports::{ApiError, DirectoryService, ErrorKind};
use crate::report::{DirectoryReport, ErrorEntry};
use crate::request::Request;

/// Directories to act on, and reports of those the run leaves alone (skipped or missing).
pub(super) type Resolved = (Vec<(Directory, Work)>, Vec<Work>);

impl<D: DirectoryService> Keeper<D> {
    /// Resolve the run's directories. An `Err` is a run-level error: nothing is touched.
    pub(super) async fn resolve(
        &self,
        request: &Request,
        ctx: &RunCtx,
    ) -> Result<Resolved, ErrorEntry> {
        let configured = &self.settings.directory_ids;
        let (directories, missing) = match (&request.directory_ids, configured.is_empty()) {
            (Some(requested), _) => {
                let outside = eligibility::outside_configured(requested, configured);
                if !outside.is_empty() {
                    return Err(out_of_scope(&outside, "DIRECTORY_IDS"));
                }
                let (found, missing) = self
                    .describe_named(requested, ctx)
                    .await
                    .map_err(|e| ErrorEntry::from_api(&e, None))?;
                if configured.is_empty() {
                    if let Some(tag) = &self.settings.discovery_tag {
                        let opted = self.opted_in(found.clone(), tag, ctx).await?;
                        let outside: Vec<&str> = found
                            .iter()
                            .filter(|d| !opted.iter().any(|o| o.id == d.id))
                            .map(|d| d.id.as_str())
                            .collect();
                        if !outside.is_empty() {
                            return Err(out_of_scope(
                                &outside,
                                &format!("directories tagged {}={}", tag.0, tag.1),
                            ));
                        }
                    }
                }
                (found, missing)
            }
            (None, false) => self
                .describe_named(configured, ctx)
                .await
                .map_err(|e| ErrorEntry::from_api(&e, None))?,
            (None, true) => {
                let all = ctx
                    .bounded(
                        Operation::DescribeDirectories,
                        self.ds.describe_directories(None),
                    )
                    .await
                    .map_err(|e| ErrorEntry::from_api(&e, None))?;
                let all = match &self.settings.discovery_tag {
                    Some(tag) => self.opted_in(all, tag, ctx).await?,
                    None => all,
                };
                (all, Vec::new())
            }
        };

        let mut todo = Vec::new();
        let mut left_alone = missing;
        for d in directories {
            let mut report = DirectoryReport::new(&d.id);
            report.directory_name = Some(d.name.clone());
            report.directory_type = Some(d.kind.as_api().to_owned());
            match policy::skip(&d, &self.region) {
                Some(skip) => {
                    tracing::info!(directory_id = %d.id, reason = %skip.message, "skipping directory");
                    report.skipped = Some(skip);
                    left_alone.push(Work::new(report));
                }
                None => todo.push((d, Work::new(report))),
            }
        }
        Ok((todo, left_alone))
    }

    /// Describe the named directories in one batch. Named directories that do not exist
    /// become directory reports with an error; the others carry on.
    async fn describe_named(
        &self,
        ids: &[String],
        ctx: &RunCtx,
    ) -> Result<(Vec<Directory>, Vec<Work>), ApiError> {
        let describe = |ids: &[String]| {
            let ids = ids.to_vec();
            async move {
                ctx.bounded(
                    Operation::DescribeDirectories,
                    self.ds.describe_directories(Some(&ids)),
                )
                .await
            }
        };
        match describe(ids).await {
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
                    match describe(std::slice::from_ref(id)).await {
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

    /// Keep only the directories that carry the discovery tag. A tag lookup that fails fails
    /// the run: guessing could act on a directory not opted in.
    async fn opted_in(
        &self,
        all: Vec<Directory>,
        tag: &(String, String),
        ctx: &RunCtx,
    ) -> Result<Vec<Directory>, ErrorEntry> {
        let tagged: Vec<Result<Option<Directory>, ApiError>> = stream::iter(all)
            .map(|d| async move {
                let tags = ctx
                    .bounded(
                        Operation::ListTagsForResource,
                        self.ds.directory_tags(&d.id),
                    )
                    .await?;
                Ok(eligibility::opted_in(&tags, tag).then_some(d))
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let mut out = Vec::new();
        for t in tagged {
            if let Some(d) = t.map_err(|e| ErrorEntry::from_api(&e, None))? {
                out.push(d);
            }
        }
        Ok(out)
    }
}

fn out_of_scope(outside: &[&str], scope: &str) -> ErrorEntry {
    ErrorEntry {
        operation: Operation::Scope,
        code: "OutOfScope".to_owned(),
        message: eligibility::out_of_scope_message(outside, scope),
        snapshot_id: None,
    }
}

fn missing_work(id: &str, err: Option<&ApiError>) -> Work {
    let mut report = DirectoryReport::new(id);
    report.errors.push(match err {
        Some(e) => ErrorEntry::from_api(e, None),
        None => ErrorEntry {
            operation: Operation::DescribeDirectories,
            code: "EntityDoesNotExistException".to_owned(),
            message: format!("directory {id} does not exist in this account and region"),
            snapshot_id: None,
        },
    });
    Work::new(report)
}
