//! Which directories a run covers: the configured ones, the discovered ones (opted in by tag
//! when `DISCOVERY_TAG` is set), or those a manual request names -- which must lie inside the
//! configured scope (see `policy::eligibility`).

use std::collections::HashMap;

use futures::stream::{self, StreamExt};

use super::{Keeper, RunCtx, Work};
use crate::directory::DirectoryService;
use crate::error::{ApiError, ErrorKind};
use crate::model::{Directory, Operation};
use crate::policy;
use crate::policy::eligibility::{self, Coverage, Scope};
use crate::report::{DirectoryReport, ErrorEntry};
use crate::request::Request;

/// A directory's tags, (key, value).
type Tags = Vec<(String, String)>;

/// Directories to act on, reports of those the run leaves alone (skipped or missing), and the
/// coverage of the Region (scheduled runs only).
pub(super) type Resolved = (Vec<(Directory, Work)>, Vec<Work>, Option<Coverage>);

impl<D: DirectoryService> Keeper<D> {
    /// Resolve the run's directories. An `Err` is a run-level error: nothing is touched.
    /// A scheduled run (no `directory_ids` in the request) also reports the coverage: every
    /// directory of the Region it does not manage, and why.
    pub(super) async fn resolve(
        &self,
        request: &Request,
        ctx: &RunCtx,
    ) -> Result<Resolved, ErrorEntry> {
        let configured = &self.settings.directory_ids;
        let excluded = &self.settings.excluded_directory_ids;
        let discovery_tag = self.settings.discovery_tag.as_ref();
        let now = ctx.intent.now;
        let scope = if configured.is_empty() {
            Scope::Discovery(discovery_tag)
        } else {
            Scope::Listed(configured)
        };
        let (directories, missing, coverage) = match (&request.directory_ids, scope) {
            (Some(requested), _) => {
                let outside = eligibility::outside_configured(requested, configured, excluded);
                if !outside.is_empty() {
                    return Err(out_of_scope(
                        &outside,
                        "DIRECTORY_IDS, less EXCLUDED_DIRECTORY_IDS",
                    ));
                }
                let (mut found, mut missing) = self
                    .describe_named(requested, ctx)
                    .await
                    .map_err(|e| ErrorEntry::from_api(&e, None))?;
                if let Scope::Discovery(Some(tag)) = scope {
                    let (read, tags, unread) = self.tags_of(found, ctx).await;
                    missing.extend(unread);
                    found = read;
                    let outside: Vec<&str> = found
                        .iter()
                        .filter(|d| {
                            eligibility::unmanaged_because(
                                d,
                                scope,
                                tags.get(&d.id).map(Vec::as_slice),
                                excluded,
                                &self.region,
                            )
                            .is_some()
                        })
                        .map(|d| d.id.as_str())
                        .collect();
                    if !outside.is_empty() {
                        return Err(out_of_scope(
                            &outside,
                            &format!("directories tagged {}={}", tag.0, tag.1),
                        ));
                    }
                }
                (found, missing, None)
            }
            (None, Scope::Listed(ids)) => {
                // One listing of the Region serves both: the configured directories, and the
                // coverage (every directory it does not manage).
                let all = self.describe_all(ctx).await?;
                let (found, unmanaged): (Vec<Directory>, Vec<Directory>) =
                    all.into_iter().partition(|d| ids.contains(&d.id));
                let missing = ids
                    .iter()
                    .filter(|id| !found.iter().any(|d| &d.id == *id))
                    .map(|id| missing_work(id, None))
                    .collect();
                let unmanaged = unmanaged
                    .iter()
                    .filter_map(|d| {
                        eligibility::unmanaged_because(d, scope, None, excluded, &self.region)
                            .map(|reason| eligibility::unmanaged(d, reason, now))
                    })
                    .collect();
                (found, missing, Some(Coverage::new(unmanaged)))
            }
            (None, Scope::Discovery(tag)) => {
                let all = self.describe_all(ctx).await?;
                let (all, tags, unread) = match tag {
                    Some(_) => self.tags_of(all, ctx).await,
                    None => (all, HashMap::new(), Vec::new()),
                };
                let mut managed = Vec::new();
                let mut unmanaged = Vec::new();
                for d in all {
                    match eligibility::unmanaged_because(
                        &d,
                        scope,
                        tags.get(&d.id).map(Vec::as_slice),
                        excluded,
                        &self.region,
                    ) {
                        None => managed.push(d),
                        Some(reason) => unmanaged.push(eligibility::unmanaged(&d, reason, now)),
                    }
                }
                (managed, unread, Some(Coverage::new(unmanaged)))
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
        Ok((todo, left_alone, coverage))
    }

    /// Every directory of the Region (DescribeDirectories, paged).
    /// A directory listed twice (pages that shifted while they were read) is acted on once.
    async fn describe_all(&self, ctx: &RunCtx) -> Result<Vec<Directory>, ErrorEntry> {
        ctx.bounded(
            Operation::DescribeDirectories,
            self.ds.describe_directories(None),
        )
        .await
        .map(distinct_directories)
        .map_err(|e| ErrorEntry::from_api(&e, None))
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
        match describe(ids).await.map(distinct_directories) {
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

    /// The tags of each directory. A directory whose tags cannot be read is not acted on
    /// (guessing could act on a directory not opted in): it comes back as a report with the
    /// error, so it is seen and alerted on, and the other directories carry on.
    async fn tags_of(
        &self,
        all: Vec<Directory>,
        ctx: &RunCtx,
    ) -> (Vec<Directory>, HashMap<String, Tags>, Vec<Work>) {
        let tagged: Vec<(Directory, Result<Tags, ApiError>)> = stream::iter(all)
            .map(|d| async move {
                let tags = ctx
                    .bounded(
                        Operation::ListTagsForResource,
                        self.ds.directory_tags(&d.id),
                    )
                    .await;
                (d, tags)
            })
            .buffered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let mut read = Vec::new();
        let mut tags = HashMap::new();
        let mut unread = Vec::new();
        for (d, answer) in tagged {
            match answer {
                Ok(t) => {
                    tags.insert(d.id.clone(), t);
                    read.push(d);
                }
                Err(e) => {
                    tracing::warn!(directory_id = %d.id, code = %e.code, "tags unreadable: directory left alone this run");
                    let mut work = missing_work(&d.id, Some(&e));
                    work.report.directory_name = Some(d.name.clone());
                    work.report.directory_type = Some(d.kind.as_api().to_owned());
                    unread.push(work);
                }
            }
        }
        (read, tags, unread)
    }
}

/// The listing with each directory once, in the order first seen.
fn distinct_directories(all: Vec<Directory>) -> Vec<Directory> {
    let mut out: Vec<Directory> = Vec::with_capacity(all.len());
    for d in all {
        if !out.iter().any(|seen| seen.id == d.id) {
            out.push(d);
        }
    }
    out
}

fn out_of_scope(outside: &[&str], scope: &str) -> ErrorEntry {
    ErrorEntry {
        operation: Operation::Scope,
        code: crate::model::KeeperCode::OutOfScope.as_str().to_owned(),
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
