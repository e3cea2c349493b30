//! The error both ports return.
//!
//! An [`ApiError`] keeps the AWS error code, because operators search for it, and a
//! [`ErrorKind`] the runner branches on. The port side knows no SDK type: the AWS adapters
//! translate SDK errors in [`crate::aws_error`]. An answer missing a field the keeper relies
//! on is an `Unexpected` error, never a default value: the keeper must not plan deletions on a
//! guess.

use serde::Serialize;

use crate::model::Operation;

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
    /// No answer: the connection reset, or a timeout. The call may have been carried out.
    Transport,
    /// No AWS credentials could be had (none found, a profile missing, an SSO token expired,
    /// an assume-role refused): the call was never sent.
    Credentials,
    /// The service could not be reached (its host name did not resolve, the connection was
    /// refused): the call was never carried out.
    Unreachable,
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

/// An answer that lacks what the keeper needs.
pub fn unexpected(operation: Operation, what: impl Into<String>) -> ApiError {
    ApiError::new(operation, ErrorKind::Unexpected, "UnexpectedResponse", what)
}
