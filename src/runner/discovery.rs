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
                let mut outside = eligibility::outside_configured(requested, configured);
                outside.extend(
                    requested
                        .iter()
                        .filter(|id| excluded.contains(id))
                        .map(String::as_str),
                );
                if !outside.is_empty() {
                    return Err(out_of_scope(
                        &outside,
                        "DIRECTORY_IDS, less EXCLUDED_DIRECTORY_IDS",
                    ));
                }
                let (found, missing) = self
                    .describe_named(requested, ctx)
                    .await
                    .map_err(|e| ErrorEntry::from_api(&e, None))?;
                if let Scope::Discovery(Some(tag)) = scope {
                    let tags = self.tags_of(&found, ctx).await?;
                    let outside: Vec<&str> = found
                        .iter()
                        .filter(|d| {
                            eligibility::scope_of(
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
                        eligibility::scope_of(d, scope, None, excluded, &self.region)
                            .map(|reason| eligibility::unmanaged(d, reason, now))
                    })
                    .collect();
                (found, missing, Some(Coverage::new(unmanaged)))
            }
            (None, Scope::Discovery(tag)) => {
                let all = self.describe_all(ctx).await?;
                let tags = match tag {
                    Some(_) => self.tags_of(&all, ctx).await?,
                    None => HashMap::new(),
                };
                let mut managed = Vec::new();
                let mut unmanaged = Vec::new();
                for d in all {
                    match eligibility::scope_of(
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
                (managed, Vec::new(), Some(Coverage::new(unmanaged)))
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
    async fn describe_all(&self, ctx: &RunCtx) -> Result<Vec<Directory>, ErrorEntry> {
        ctx.bounded(
            Operation::DescribeDirectories,
            self.ds.describe_directories(None),
        )
        .await
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

    /// The tags of each directory. A lookup that fails fails the run: guessing could act on a
    /// directory not opted in.
    async fn tags_of(
        &self,
        all: &[Directory],
        ctx: &RunCtx,
    ) -> Result<HashMap<String, Tags>, ErrorEntry> {
        let tagged: Vec<Result<(String, Tags), ApiError>> = stream::iter(all)
            .map(|d| async move {
                let tags = ctx
                    .bounded(
                        Operation::ListTagsForResource,
                        self.ds.directory_tags(&d.id),
                    )
                    .await?;
                Ok((d.id.clone(), tags))
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        tagged
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| ErrorEntry::from_api(&e, None))
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
