//! The two ports the keeper talks through: Directory Service and notifications.
//!
//! The run logic is generic over these traits. Production uses the AWS adapters in `aws/`;
//! the in-memory adapter in `memory.rs` lets simulations run years of daily schedules in
//! milliseconds. Neither trait exposes an SDK type.

use std::future::Future;

use serde::Serialize;

use crate::model::{Directory, Operation, Snapshot, SnapshotLimits};

/// What kind of failure an API call had; callers branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The directory or snapshot does not exist (`EntityDoesNotExistException`).
    NotFound,
    /// The manual snapshot quota is full (`SnapshotLimitExceededException`).
    LimitExceeded,
    /// Throttled, and the SDK's retries did not get through.
    Throttled,
    /// The request was refused (`ClientException`, `InvalidParameterException`, access denied...).
    Client,
    /// AWS failed (`ServiceException`, HTTP 5xx).
    Service,
    /// No answer: connection refused or reset, timeout.
    Transport,
    /// An answer the keeper cannot use (missing fields, unknown enum values...).
    Unexpected,
    /// Not sent: the invocation's deadline (minus the margin) had come.
    NotStarted,
}

/// A failed API call, with the AWS error code operators search for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{operation} failed with {code}: {message}")]
pub struct ApiError {
    pub operation: Operation,
    pub kind: ErrorKind,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(
        operation: Operation,
        kind: ErrorKind,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            operation,
            kind,
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Directory Service, as the keeper uses it. Implementations page through results themselves.
pub trait DirectoryService: Send + Sync {
    /// Describe the named directories in one batch, or every directory when `ids` is `None`.
    fn describe_directories(
        &self,
        ids: Option<&[String]>,
    ) -> impl Future<Output = Result<Vec<Directory>, ApiError>> + Send;

    /// Every snapshot of one directory.
    fn describe_snapshots(
        &self,
        directory_id: &str,
    ) -> impl Future<Output = Result<Vec<Snapshot>, ApiError>> + Send;

    /// The named snapshots, across directories, in as few calls as possible.
    fn snapshots_by_id(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Snapshot>, ApiError>> + Send;

    /// The tags of one directory.
    fn directory_tags(
        &self,
        directory_id: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, ApiError>> + Send;

    fn snapshot_limits(
        &self,
        directory_id: &str,
    ) -> impl Future<Output = Result<SnapshotLimits, ApiError>> + Send;

    /// Start a manual snapshot; returns its id.
    fn create_snapshot(
        &self,
        directory_id: &str,
        name: &str,
    ) -> impl Future<Output = Result<String, ApiError>> + Send;

    fn delete_snapshot(
        &self,
        snapshot_id: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// One message for operators, rendered from the run report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub subject: String,
    pub body: String,
    /// Message attributes, for SNS subscription filter policies.
    pub attributes: Vec<Attribute>,
    /// Identifies the run (its request id), so a FIFO topic drops a retried run's duplicate.
    pub deduplication_id: String,
}

/// One SNS message attribute: `data_type` is `String` or `String.Array` (a JSON array).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribute {
    pub name: String,
    pub data_type: String,
    pub value: String,
}

/// Where notifications go.
pub trait Notifier: Send + Sync {
    fn publish(
        &self,
        notification: &Notification,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// A notifier for deployments without a topic: publishing does nothing.
pub struct NoNotifier;

impl Notifier for NoNotifier {
    async fn publish(&self, _: &Notification) -> Result<(), ApiError> {
        Ok(())
    }
}
