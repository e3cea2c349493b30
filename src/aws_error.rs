//! How an AWS SDK error becomes an [`ApiError`]: the classification both AWS adapters
//! (`directory::aws`, `notify::sns`) share. The only place outside the adapters that knows
//! SDK error types.

use aws_sdk_directory::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::error::{ApiError, ErrorKind};
use crate::model::Operation;
use crate::naming::escape_for_log;

const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
];

/// Whether an AWS error is a throttle, by its code *or its message*.
///
/// botocore's Directory Service model (`ds/2015-04-16/service-2.json`) defines no throttling
/// error: its operations return `ClientException`, `ServiceException` and modeled errors only.
/// JSON services of its generation (ECS is one) send a throttle as `ClientException` with the
/// message "Rate exceeded", and the SDK's retry classifier matches codes only
/// (`aws_runtime::retries::classifiers::THROTTLING_ERRORS`), so such a throttle would never be
/// retried. The message is matched case-insensitively on "rate exceeded" and "throttl".
pub fn is_throttling(code: &str, message: &str) -> bool {
    if THROTTLING_CODES.contains(&code) {
        return true;
    }
    let message = message.to_ascii_lowercase();
    message.contains("rate exceeded") || message.contains("throttl")
}

/// Classify an AWS error code, message and HTTP status into the keeper's error kinds.
pub fn classify(code: &str, message: &str, status: Option<u16>) -> ErrorKind {
    match code {
        "EntityDoesNotExistException" | "NotFound" | "NotFoundException" => ErrorKind::NotFound,
        "SnapshotLimitExceededException" => ErrorKind::LimitExceeded,
        c if is_throttling(c, message) => ErrorKind::Throttled,
        "ServiceException" | "InternalError" | "InternalFailure" | "ServiceUnavailable" => {
            ErrorKind::Service
        }
        _ if status.is_some_and(|s| s >= 500) => ErrorKind::Service,
        _ => ErrorKind::Client,
    }
}

/// The first error of type `T` in `err`'s chain of sources.
fn find_in_chain<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// Every message in the chain, outermost first, each once: what a person reads (never the
/// `Debug` form).
fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    escape_for_log(&parts.join(": "), 400)
        .trim_matches('"')
        .to_owned()
}

/// An error before any answer: no credentials, no route to the service, or no answer.
fn not_answered(
    operation: Operation,
    err: &(dyn std::error::Error + 'static),
    timeout: bool,
) -> ApiError {
    use aws_credential_types::provider::error::CredentialsError;
    let text = chain_text(err);
    if let Some(c) = find_in_chain::<CredentialsError>(err) {
        let code = match c {
            CredentialsError::CredentialsNotLoaded(_) => "NoCredentials",
            CredentialsError::InvalidConfiguration(_) => "InvalidCredentialsConfiguration",
            CredentialsError::ProviderTimedOut(_) => "CredentialsTimedOut",
            _ => "CredentialsProviderError",
        };
        return ApiError::new(operation, ErrorKind::Credentials, code, text);
    }
    let lower = text.to_ascii_lowercase();
    if let Some(io) = find_in_chain::<std::io::Error>(err) {
        if io.kind() == std::io::ErrorKind::ConnectionRefused {
            return ApiError::new(operation, ErrorKind::Unreachable, "ConnectionRefused", text);
        }
    }
    if lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
        || lower.contains("no such host")
        || lower.contains("nodename nor servname")
    {
        return ApiError::new(operation, ErrorKind::Unreachable, "UnknownHost", text);
    }
    if lower.contains("connection refused") {
        return ApiError::new(operation, ErrorKind::Unreachable, "ConnectionRefused", text);
    }
    ApiError::new(
        operation,
        ErrorKind::Transport,
        if timeout {
            "Timeout"
        } else {
            "ConnectionError"
        },
        text,
    )
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
                classify(&code, &message, status),
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
        SdkError::DispatchFailure(d) => not_answered(operation, &err, d.is_timeout()),
        SdkError::ResponseError(_) => ApiError::new(
            operation,
            ErrorKind::Unexpected,
            "UnparseableResponse",
            format!("answer with HTTP status {status:?} could not be read"),
        ),
        _ => {
            let mut e = not_answered(operation, &err, false);
            if e.kind == ErrorKind::Transport {
                // Not a lost answer: the request was never built or sent.
                e.kind = ErrorKind::Client;
                e.code = "RequestNotSent".to_owned();
            }
            e
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_services_throttle_shape_is_a_throttle() {
        // The shape Directory Service can send (its model has no throttling error).
        assert_eq!(
            classify("ClientException", "Rate exceeded", Some(400)),
            ErrorKind::Throttled
        );
        assert_eq!(
            classify("ClientException", "Request was THROTTLED", Some(400)),
            ErrorKind::Throttled
        );
        // The code-only shapes the SDK knows stay throttles.
        assert_eq!(
            classify("ThrottlingException", "", Some(400)),
            ErrorKind::Throttled
        );
        // Any other ClientException is a refusal, not a throttle.
        assert_eq!(
            classify("ClientException", "directory is not Active", Some(400)),
            ErrorKind::Client
        );
        assert_eq!(
            classify("ServiceException", "internal", Some(500)),
            ErrorKind::Service
        );
        assert_eq!(
            classify(
                "SnapshotLimitExceededException",
                "rate exceeded?",
                Some(400)
            ),
            ErrorKind::LimitExceeded,
            "the quota is not a throttle, whatever its message says"
        );
    }
}
