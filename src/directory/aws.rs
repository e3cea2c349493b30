//! The Directory Service port over `aws-sdk-directory`.

use aws_sdk_directory::types as t;
use aws_sdk_directory::Client;
use jiff::Timestamp;

use super::{DeleteOutcome, DirectoryService};
use crate::aws_error::{api_error, is_throttling};
use crate::error::{unexpected, ApiError, ErrorKind};
use crate::model::{
    Directory, DirectoryType, Operation, Snapshot, SnapshotLimits, SnapshotStatus, SnapshotType,
};

/// DescribeSnapshots page size.
pub const PAGE_SIZE: i32 = 50;
/// Snapshot ids asked for in one DescribeSnapshots call when polling new snapshots.
pub const IDS_PER_CALL: usize = 50;
/// Attempts of the calls the keeper retries itself (CreateSnapshot, DeleteSnapshot): as many as
/// the SDK's own retries make for the other calls.
pub const OWN_RETRY_ATTEMPTS: u32 = 12;
/// The backoff of those retries: exponential from the first to the longest wait, with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: std::time::Duration,
    pub max: std::time::Duration,
}

impl Default for Backoff {
    /// As the SDK's standard retries back off (`wiring::lambda_config`).
    fn default() -> Self {
        Self {
            initial: std::time::Duration::from_millis(500),
            max: std::time::Duration::from_secs(20),
        }
    }
}

/// Exponential backoff with "full jitter" (a random wait up to the exponential bound), as the
/// SDK's standard retry does: retries of many directories spread out instead of colliding.
fn jittered(bound: std::time::Duration) -> std::time::Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    // A cheap spread in [0.5, 1.0) of the bound; cryptographic quality is not needed.
    bound.mul_f64(0.5 + f64::from(nanos % 1000) / 2000.0)
}

/// Config for one call whose retries the keeper makes itself: the SDK's are off.
fn no_sdk_retries() -> aws_sdk_directory::config::Builder {
    aws_sdk_directory::config::Builder::default()
        .retry_config(aws_config::retry::RetryConfig::disabled())
}

/// Directory Service's throttle shape for the SDK's retries: a `ClientException` (or any
/// error) whose message says "Rate exceeded" or "throttl" is a throttling error, retried with
/// the standard backoff like the codes the SDK knows (see [`crate::aws_error::is_throttling`]).
/// Only the operations the keeper calls are read; other errors are left to the SDK's own
/// classifiers.
#[derive(Debug, Default)]
pub struct RateExceededClassifier;

impl RateExceededClassifier {
    fn code_and_message(
        err: &aws_smithy_runtime_api::client::interceptors::context::Error,
    ) -> Option<(Option<&str>, Option<&str>)> {
        use aws_sdk_directory::error::ProvideErrorMetadata;
        use aws_sdk_directory::operation as op;
        macro_rules! first_of {
            ($($t:ty),*) => {
                $(if let Some(e) = err.downcast_ref::<$t>() {
                    return Some((e.code(), e.message()));
                })*
            };
        }
        first_of!(
            op::describe_directories::DescribeDirectoriesError,
            op::describe_snapshots::DescribeSnapshotsError,
            op::get_snapshot_limits::GetSnapshotLimitsError,
            op::list_tags_for_resource::ListTagsForResourceError,
            op::create_snapshot::CreateSnapshotError,
            op::delete_snapshot::DeleteSnapshotError
        );
        None
    }
}

impl aws_smithy_runtime_api::client::retries::classifiers::ClassifyRetry
    for RateExceededClassifier
{
    fn classify_retry(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::InterceptorContext,
    ) -> aws_smithy_runtime_api::client::retries::classifiers::RetryAction {
        use aws_smithy_runtime_api::client::retries::classifiers::RetryAction;
        let Some(Err(err)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let Some((code, message)) = err.as_operation_error().and_then(Self::code_and_message)
        else {
            return RetryAction::NoActionIndicated;
        };
        if is_throttling(code.unwrap_or(""), message.unwrap_or("")) {
            RetryAction::throttling_error()
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "Directory Service rate exceeded"
    }
}

/// Guard against an API that never stops returning NextToken.
const MAX_PAGES: usize = 1_000;

pub struct AwsDirectoryService {
    client: Client,
    page_size: i32,
    backoff: Backoff,
}

impl AwsDirectoryService {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            page_size: PAGE_SIZE,
            backoff: Backoff::default(),
        }
    }

    /// Back off the keeper's own retries (CreateSnapshot, DeleteSnapshot) this way; tests use
    /// a short one so persistent throttling costs seconds, not minutes.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Send a call the keeper retries itself, up to [`OWN_RETRY_ATTEMPTS`] times while
    /// `retry` says so of its error. Returns the answer and the errors of earlier attempts.
    async fn with_own_retries<T, F, Fut>(
        &self,
        mut send: F,
        retry: impl Fn(&ApiError) -> bool,
    ) -> (Result<T, ApiError>, Vec<ApiError>)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let mut bound = self.backoff.initial;
        let mut earlier = Vec::new();
        for attempt in 1.. {
            match send().await {
                Err(e) if retry(&e) && attempt < OWN_RETRY_ATTEMPTS => {
                    tokio::time::sleep(jittered(bound)).await;
                    bound = (bound * 2).min(self.backoff.max);
                    earlier.push(e);
                }
                answer => return (answer, earlier),
            }
        }
        unreachable!("the loop returns by its last attempt")
    }

    /// Use smaller pages (tests prove pagination with one item per page).
    pub fn with_page_size(mut self, page_size: i32) -> Self {
        self.page_size = page_size.max(1);
        self
    }
}

/// Follow NextToken to the end: `page(token)` fetches one page and returns its items and
/// the next token. One loop, with one guard against an API that never stops paging.
async fn paginate<T, F, Fut>(operation: Operation, mut page: F) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), ApiError>>,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (items, next) = page(token.take()).await?;
        out.extend(items);
        match next {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(out),
        }
    }
    Err(unexpected(operation, "NextToken never ended"))
}

fn to_timestamp(
    op: Operation,
    dt: Option<&aws_smithy_types::DateTime>,
) -> Result<Timestamp, ApiError> {
    let dt = dt.ok_or_else(|| unexpected(op, "snapshot without StartTime"))?;
    Timestamp::new(dt.secs(), dt.subsec_nanos() as i32)
        .map_err(|e| unexpected(op, format!("StartTime out of range: {e}")))
}

fn to_snapshot(op: Operation, s: &t::Snapshot) -> Result<Snapshot, ApiError> {
    let id = s
        .snapshot_id()
        .ok_or_else(|| unexpected(op, "snapshot without SnapshotId"))?;
    let kind = match s.r#type() {
        Some(t::SnapshotType::Auto) => SnapshotType::Auto,
        Some(t::SnapshotType::Manual) => SnapshotType::Manual,
        other => return Err(unexpected(op, format!("snapshot {id} has type {other:?}"))),
    };
    let status = match s.status() {
        Some(t::SnapshotStatus::Creating) => SnapshotStatus::Creating,
        Some(t::SnapshotStatus::Completed) => SnapshotStatus::Completed,
        Some(t::SnapshotStatus::Failed) => SnapshotStatus::Failed,
        other => {
            return Err(unexpected(
                op,
                format!("snapshot {id} has status {other:?}"),
            ))
        }
    };
    Ok(Snapshot {
        id: id.to_owned(),
        directory_id: s
            .directory_id()
            .ok_or_else(|| unexpected(op, format!("snapshot {id} without DirectoryId")))?
            .to_owned(),
        name: s.name().map(str::to_owned),
        kind,
        status,
        start_time: to_timestamp(op, s.start_time())?,
    })
}

fn to_directory(d: &t::DirectoryDescription) -> Result<Directory, ApiError> {
    const OP: Operation = Operation::DescribeDirectories;
    let id = d
        .directory_id()
        .ok_or_else(|| unexpected(OP, "directory without DirectoryId"))?;
    Ok(Directory {
        id: id.to_owned(),
        name: d.name().unwrap_or_default().to_owned(),
        kind: DirectoryType::from_api(
            d.r#type()
                .ok_or_else(|| unexpected(OP, format!("directory {id} without Type")))?
                .as_str(),
        ),
        stage: crate::model::Stage::from_api(
            d.stage()
                .ok_or_else(|| unexpected(OP, format!("directory {id} without Stage")))?
                .as_str(),
        ),
        primary_region: d
            .regions_info()
            .and_then(|r| r.primary_region())
            .map(str::to_owned),
        launch_time: d
            .launch_time()
            .and_then(|t| Timestamp::new(t.secs(), t.subsec_nanos() as i32).ok()),
        stage_reason: d.stage_reason().map(str::to_owned),
        stage_since: d
            .stage_last_updated_date_time()
            .and_then(|t| Timestamp::new(t.secs(), t.subsec_nanos() as i32).ok()),
    })
}

impl AwsDirectoryService {
    /// DescribeSnapshots, following NextToken to the end.
    async fn describe_pages(
        &self,
        directory_id: Option<&str>,
        ids: Option<Vec<String>>,
    ) -> Result<Vec<Snapshot>, ApiError> {
        const OP: Operation = Operation::DescribeSnapshots;
        paginate(OP, |token| {
            let request = self
                .client
                .describe_snapshots()
                .set_directory_id(directory_id.map(str::to_owned))
                .set_snapshot_ids(ids.clone())
                .limit(self.page_size)
                .set_next_token(token);
            async move {
                let page = request.send().await.map_err(|e| api_error(OP, e))?;
                let items = page
                    .snapshots()
                    .iter()
                    .map(|s| to_snapshot(OP, s))
                    .collect::<Result<_, _>>()?;
                Ok((items, page.next_token().map(str::to_owned)))
            }
        })
        .await
    }
}

impl DirectoryService for AwsDirectoryService {
    async fn describe_directories(
        &self,
        ids: Option<&[String]>,
    ) -> Result<Vec<Directory>, ApiError> {
        const OP: Operation = Operation::DescribeDirectories;
        paginate(OP, |token| {
            let request = self
                .client
                .describe_directories()
                .set_directory_ids(ids.map(<[String]>::to_vec))
                .set_next_token(token);
            async move {
                let page = request.send().await.map_err(|e| api_error(OP, e))?;
                let items = page
                    .directory_descriptions()
                    .iter()
                    .map(to_directory)
                    .collect::<Result<_, _>>()?;
                Ok((items, page.next_token().map(str::to_owned)))
            }
        })
        .await
    }

    async fn describe_snapshots(&self, directory_id: &str) -> Result<Vec<Snapshot>, ApiError> {
        let out = self.describe_pages(Some(directory_id), None).await?;
        if let Some(stray) = out.iter().find(|s| s.directory_id != directory_id) {
            return Err(unexpected(
                Operation::DescribeSnapshots,
                format!(
                    "asked for {directory_id}, got a snapshot of {}",
                    stray.directory_id
                ),
            ));
        }
        Ok(out)
    }

    async fn snapshots_by_id(&self, ids: &[String]) -> Result<Vec<Snapshot>, ApiError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_CALL) {
            out.extend(self.describe_pages(None, Some(chunk.to_vec())).await?);
        }
        Ok(out)
    }

    async fn directory_tags(&self, directory_id: &str) -> Result<Vec<(String, String)>, ApiError> {
        const OP: Operation = Operation::ListTagsForResource;
        paginate(OP, |token| {
            let request = self
                .client
                .list_tags_for_resource()
                .resource_id(directory_id)
                .set_next_token(token);
            async move {
                let page = request.send().await.map_err(|e| api_error(OP, e))?;
                let items = page
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect();
                Ok((items, page.next_token().map(str::to_owned)))
            }
        })
        .await
    }

    async fn set_tag(&self, directory_id: &str, key: &str, value: &str) -> Result<(), ApiError> {
        const OP: Operation = Operation::AddTagsToResource;
        let tag = aws_sdk_directory::types::Tag::builder()
            .key(key)
            .value(value)
            .build()
            .map_err(|e| ApiError::new(OP, ErrorKind::Unexpected, "InvalidTag", e.to_string()))?;
        self.client
            .add_tags_to_resource()
            .resource_id(directory_id)
            .tags(tag)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| api_error(OP, e))
    }

    async fn remove_tag(&self, directory_id: &str, key: &str) -> Result<(), ApiError> {
        const OP: Operation = Operation::RemoveTagsFromResource;
        self.client
            .remove_tags_from_resource()
            .resource_id(directory_id)
            .tag_keys(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| api_error(OP, e))
    }

    async fn snapshot_limits(&self, directory_id: &str) -> Result<SnapshotLimits, ApiError> {
        const OP: Operation = Operation::GetSnapshotLimits;
        let answer = self
            .client
            .get_snapshot_limits()
            .directory_id(directory_id)
            .send()
            .await
            .map_err(|e| api_error(OP, e))?;
        let limits = answer
            .snapshot_limits()
            .ok_or_else(|| unexpected(OP, "answer without SnapshotLimits"))?;
        let limit = limits
            .manual_snapshots_limit()
            .ok_or_else(|| unexpected(OP, "answer without ManualSnapshotsLimit"))?;
        let count = limits
            .manual_snapshots_current_count()
            .ok_or_else(|| unexpected(OP, "answer without ManualSnapshotsCurrentCount"))?;
        if limit < 0 || count < 0 {
            return Err(unexpected(
                OP,
                format!("negative limit {limit} or count {count}"),
            ));
        }
        Ok(SnapshotLimits {
            manual_limit: limit as u32,
            manual_count: count as u32,
        })
    }

    /// CreateSnapshot is not idempotent: a retry after an answer that was lost (AWS took the
    /// snapshot, the reply never arrived) takes a second snapshot that nothing tracks. So the
    /// SDK's automatic retries are off for this one call, and only an explicit throttling
    /// refusal (AWS says it did not process the call) is tried again. Any other failure goes
    /// back to the runner, which reconciles by name before it believes nothing was taken.
    async fn create_snapshot(&self, directory_id: &str, name: &str) -> Result<String, ApiError> {
        const OP: Operation = Operation::CreateSnapshot;
        let send = || async {
            self.client
                .create_snapshot()
                .directory_id(directory_id)
                .name(name)
                .customize()
                .config_override(no_sdk_retries())
                .send()
                .await
                .map_err(|e| api_error(OP, e))
        };
        let (answer, _) = self
            .with_own_retries(send, |e| e.kind == ErrorKind::Throttled)
            .await;
        answer?
            .snapshot_id()
            .map(str::to_owned)
            .ok_or_else(|| unexpected(OP, "answer without SnapshotId"))
    }

    /// DeleteSnapshot is retried by the keeper, not the SDK, so that it knows when an earlier
    /// attempt may have been carried out: a retry that finds the snapshot gone after a lost
    /// answer (connection dropped or timed out, 5xx) deleted it, and is reported so, not as
    /// "deleted by someone else". Throttles are retried too; any other error is not.
    async fn delete_snapshot(&self, snapshot_id: &str) -> Result<DeleteOutcome, ApiError> {
        const OP: Operation = Operation::DeleteSnapshot;
        let send = || async {
            self.client
                .delete_snapshot()
                .snapshot_id(snapshot_id)
                .customize()
                .config_override(no_sdk_retries())
                .send()
                .await
                .map_err(|e| api_error(OP, e))
        };
        let retried = |e: &ApiError| {
            matches!(
                e.kind,
                ErrorKind::Throttled | ErrorKind::Transport | ErrorKind::Service
            )
        };
        let (answer, earlier) = self.with_own_retries(send, retried).await;
        let lost = earlier
            .iter()
            .rev()
            .find(|e| e.kind != ErrorKind::Throttled);
        match (answer, lost) {
            (Ok(_), _) => Ok(DeleteOutcome::Deleted),
            (Err(e), Some(lost)) if e.kind == ErrorKind::NotFound => {
                Ok(DeleteOutcome::GoneAfterLostAnswer {
                    code: lost.code.clone(),
                })
            }
            (Err(e), _) => Err(e),
        }
    }

    async fn restore_from_snapshot(&self, snapshot_id: &str) -> Result<(), ApiError> {
        const OP: Operation = Operation::RestoreFromSnapshot;
        self.client
            .restore_from_snapshot()
            .snapshot_id(snapshot_id)
            .customize()
            .config_override(no_sdk_retries())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| api_error(OP, e))
    }
}
