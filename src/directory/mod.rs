//! The Directory Service port, with its two adapters beside it.
//!
//! The run logic is generic over [`DirectoryService`]. Production uses [`aws`]
//! (`aws-sdk-directory`); [`memory`] keeps the same rules in a mutex, so simulations run
//! years of daily schedules in milliseconds. `tests/contract.rs` runs the same cases against
//! both (the memory adapter and the AWS adapter over the emulator), so the two cannot drift.
//! The trait exposes no SDK type.

pub mod aws;
pub mod memory;

use std::future::Future;

use crate::error::ApiError;
use crate::model::{Directory, Snapshot, SnapshotLimits};

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

    /// Set one tag on a directory (`AddTagsToResource`; an existing key takes the new value).
    fn set_tag(
        &self,
        directory_id: &str,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Remove one tag from a directory (`RemoveTagsFromResource`; a key it does not carry is
    /// no error).
    fn remove_tag(
        &self,
        directory_id: &str,
        key: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

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

    /// Delete a snapshot. An answer lost on the way and a retry that found the snapshot gone
    /// is a deletion too ([`DeleteOutcome::GoneAfterLostAnswer`]); a snapshot already gone at
    /// the first attempt is `NotFound`.
    fn delete_snapshot(
        &self,
        snapshot_id: &str,
    ) -> impl Future<Output = Result<DeleteOutcome, ApiError>> + Send;

    /// Start restoring the snapshot's directory from it (`RestoreFromSnapshot`). Sent once,
    /// never retried: it answers as soon as the restore has started, and a lost answer is
    /// resolved by reading the directory's stage, not by sending it again.
    fn restore_from_snapshot(
        &self,
        snapshot_id: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// How a `DeleteSnapshot` that did not fail ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// AWS answered that it deleted the snapshot.
    Deleted,
    /// An earlier attempt's answer was lost (this error code) and a retry found the snapshot
    /// gone: the earlier attempt deleted it.
    GoneAfterLostAnswer { code: String },
}

/// A shared service is the service: the restore and a scheduled run can act on one
/// directory at once in the in-memory tests, as the terminal and the function do in AWS.
impl<T: DirectoryService> DirectoryService for std::sync::Arc<T> {
    fn describe_directories(
        &self,
        ids: Option<&[String]>,
    ) -> impl Future<Output = Result<Vec<Directory>, ApiError>> + Send {
        (**self).describe_directories(ids)
    }

    fn describe_snapshots(
        &self,
        directory_id: &str,
    ) -> impl Future<Output = Result<Vec<Snapshot>, ApiError>> + Send {
        (**self).describe_snapshots(directory_id)
    }

    fn snapshots_by_id(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Snapshot>, ApiError>> + Send {
        (**self).snapshots_by_id(ids)
    }

    fn directory_tags(
        &self,
        directory_id: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, ApiError>> + Send {
        (**self).directory_tags(directory_id)
    }

    fn set_tag(
        &self,
        directory_id: &str,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        (**self).set_tag(directory_id, key, value)
    }

    fn remove_tag(
        &self,
        directory_id: &str,
        key: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        (**self).remove_tag(directory_id, key)
    }

    fn snapshot_limits(
        &self,
        directory_id: &str,
    ) -> impl Future<Output = Result<SnapshotLimits, ApiError>> + Send {
        (**self).snapshot_limits(directory_id)
    }

    fn create_snapshot(
        &self,
        directory_id: &str,
        name: &str,
    ) -> impl Future<Output = Result<String, ApiError>> + Send {
        (**self).create_snapshot(directory_id, name)
    }

    fn delete_snapshot(
        &self,
        snapshot_id: &str,
    ) -> impl Future<Output = Result<DeleteOutcome, ApiError>> + Send {
        (**self).delete_snapshot(snapshot_id)
    }

    fn restore_from_snapshot(
        &self,
        snapshot_id: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        (**self).restore_from_snapshot(snapshot_id)
    }
}
