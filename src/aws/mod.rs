//! The AWS adapters of the ports: `aws-sdk-directory` and `aws-sdk-sns`.
//!
//! They translate SDK types to the keeper's model and SDK errors to [`ApiError`], keeping the
//! AWS error code. An answer missing a field the keeper relies on is an `Unexpected` error,
//! never a default value: the keeper must not plan deletions on a guess.

pub mod directory;
pub mod sns;

use aws_sdk_directory::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::model::Operation;
use crate::naming::escape_for_log;
use crate::ports::{ApiError, ErrorKind};

const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
];

/// Classify an AWS error code (and HTTP status) into the keeper's error kinds.
pub fn classify(code: &str, status: Option<u16>) -> ErrorKind {
    match code {
        "EntityDoesNotExistException" | "NotFound" | "NotFoundException" => ErrorKind::NotFound,
        "SnapshotLimitExceededException" => ErrorKind::LimitExceeded,
        c if THROTTLING_CODES.contains(&c) => ErrorKind::Throttled,
        "ServiceException" | "InternalError" | "InternalFailure" | "ServiceUnavailable" => {
            ErrorKind::Service
        }
        _ if status.is_some_and(|s| s >= 500) => ErrorKind::Service,
        _ => ErrorKind::Client,
    }
}

/// Turn any SDK error into an [`ApiError`] that keeps the AWS error code.
pub fn api_error<E>(operation: Operation, err: SdkError<E, HttpResponse>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    match &err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            let code = inner.code().unwrap_or("UnknownError").to_owned();
            let message = inner.message().unwrap_or("").to_owned();
            ApiError::new(
                operation,
                classify(&code, status),
                code,
                escape_for_log(&message, 300),
            )
        }
        SdkError::TimeoutError(_) => ApiError::new(
            operation,
            ErrorKind::Transport,
            "Timeout",
            "no answer before the timeout",
        ),
        SdkError::DispatchFailure(d) => ApiError::new(
            operation,
            ErrorKind::Transport,
            if d.is_timeout() {
                "Timeout"
            } else {
                "ConnectionError"
            },
            format!("{:?}", d.as_connector_error().map(|c| c.to_string())),
        ),
        SdkError::ResponseError(_) => ApiError::new(
            operation,
            ErrorKind::Unexpected,
            "UnparseableResponse",
            format!("answer with HTTP status {status:?} could not be read"),
        ),
        _ => ApiError::new(
            operation,
            ErrorKind::Client,
            "RequestNotSent",
            format!("{err}"),
        ),
    }
}

/// An answer that lacks what the keeper needs.
pub fn unexpected(operation: Operation, what: impl Into<String>) -> ApiError {
    ApiError::new(operation, ErrorKind::Unexpected, "UnexpectedResponse", what)
}
