//! A failed AWS call as an operator reads it: one line that names the call, the cause and
//! the fix, and the exit code of its class ([`super::exit`]). The `Debug` form of an SDK
//! error is never shown.

use super::exit;
use crate::error::{ApiError, ErrorKind};

/// Where the command was pointed: what a fix refers to.
#[derive(Debug, Clone, Default)]
pub struct Aim {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint: Option<String>,
}

/// Whether AWS refused the caller's permissions.
pub fn is_not_allowed(e: &ApiError) -> bool {
    e.code.contains("AccessDenied")
        || e.code == "UnauthorizedOperation"
        || e.code == "AuthorizationError"
        || e.code == "UnrecognizedClientException"
        || e.code == "InvalidClientTokenId"
        || e.code == "ExpiredTokenException"
        || e.code == "ExpiredToken"
}

/// A failure a run reported, as the call it was: its kind is read back from its code (the
/// run report keeps codes, which operators search for, not kinds).
pub fn from_entry(e: &crate::report::ErrorEntry) -> ApiError {
    let kind = match e.code.as_str() {
        "NoCredentials"
        | "InvalidCredentialsConfiguration"
        | "CredentialsTimedOut"
        | "CredentialsProviderError" => ErrorKind::Credentials,
        "UnknownHost" | "ConnectionRefused" => ErrorKind::Unreachable,
        _ => ErrorKind::Client,
    };
    ApiError::new(e.operation, kind, e.code.clone(), e.message.clone())
}

/// The exit code of a failed call.
pub fn exit_code(e: &ApiError) -> i32 {
    match e.kind {
        ErrorKind::Credentials => exit::CREDENTIALS,
        ErrorKind::Unreachable => exit::UNREACHABLE,
        _ if e.code.starts_with("Expired") => exit::CREDENTIALS,
        _ if is_not_allowed(e) => exit::NOT_ALLOWED,
        _ => exit::FAILED,
    }
}

/// The part of an error chain a person needs: without the SDK's wrapping words, one line,
/// at most 300 characters.
fn cause(message: &str) -> String {
    let mut text = message.trim_matches('"');
    for noise in ["dispatch failure: ", "other: "] {
        text = text.trim_start_matches(noise);
    }
    let one: String = text
        .split("\\n")
        .next()
        .unwrap_or(text)
        .chars()
        .take(300)
        .collect();
    one.trim().trim_end_matches(':').to_owned()
}

/// The line to print, without `error: `.
pub fn explain(e: &ApiError, aim: &Aim) -> String {
    let op = e.operation;
    let profile = aim
        .profile
        .as_deref()
        .map(|p| format!(" --profile {p}"))
        .unwrap_or_default();
    let region = aim.region.as_deref().unwrap_or("(no Region)");
    let lower = e.message.to_ascii_lowercase();
    let cause = cause(&e.message);
    match e.kind {
        ErrorKind::Credentials if e.code == "NoCredentials" => format!(
            "{op} was not sent: no AWS credentials were found (environment, profile files, SSO, \
             container, instance). Set a profile with credentials (--profile or AWS_PROFILE; \
             `aws configure list` shows what the AWS CLI finds), or AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY"
        ),
        ErrorKind::Credentials if lower.contains("sso") => format!(
            "{op} was not sent: the SSO session has expired or was never started ({cause}). Run \
             `aws sso login{profile}` and try again"
        ),
        ErrorKind::Credentials if lower.contains("assumerole") || lower.contains("assume role") => {
            format!(
                "{op} was not sent: the profile's role could not be assumed ({cause}). Check the \
                 profile's role_arn and source_profile, and that the source may assume it"
            )
        }
        ErrorKind::Credentials => format!(
            "{op} was not sent: the AWS credentials could not be loaded ({cause}). Check the \
             profile (--profile or AWS_PROFILE; `aws configure list`)"
        ),
        ErrorKind::Unreachable if e.code == "ConnectionRefused" => format!(
            "{op} could not reach {}: the connection was refused. {}",
            aim.endpoint.as_deref().unwrap_or("the service"),
            if aim.endpoint.is_some() {
                "AWS_ENDPOINT_URL is set: is the endpoint (the local emulator?) running?"
            } else {
                "Check the network and any proxy (HTTPS_PROXY)"
            }
        ),
        ErrorKind::Unreachable => format!(
            "{op} could not reach Directory Service in {region}: its endpoint's host name does \
             not resolve. Check the Region (--region or AWS_REGION; `aws ec2 describe-regions` \
             lists them) and the network"
        ),
        _ if e.code.starts_with("Expired") => format!(
            "{op} was refused: the credentials have expired ({}). Refresh them (`aws sso \
             login{profile}`, or new keys) and try again",
            e.code
        ),
        _ if is_not_allowed(e) => format!(
            "{op} was refused: not allowed ({}: {}). The caller needs ds:{op} on the directory \
             (docs/operator-restore-policy.json is the least privilege for points and restore)",
            e.code,
            e.message.trim_matches('"')
        ),
        _ => format!("{op} failed ({}): {}", e.code, e.message.trim_matches('"')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Operation;

    fn err(kind: ErrorKind, code: &str, message: &str) -> ApiError {
        ApiError::new(Operation::DescribeDirectories, kind, code, message)
    }

    #[test]
    fn each_class_has_its_code_and_its_fix() {
        let aim = Aim {
            profile: Some("prod".into()),
            region: Some("eu-west-9".into()),
            endpoint: None,
        };
        let sso = err(
            ErrorKind::Credentials,
            "CredentialsProviderError",
            "dispatch failure: other: the SSO token for profile prod has expired",
        );
        assert!(explain(&sso, &aim).contains("(the SSO token for profile prod has expired)"));
        let none = err(
            ErrorKind::Credentials,
            "NoCredentials",
            "no credentials found in chain. Attempted:\\n  WebIdentityToken: not enabled",
        );
        assert!(explain(&none, &aim).contains("no AWS credentials were found"));
        assert!(!explain(&none, &aim).contains("sso login"));
        assert_eq!(exit_code(&sso), exit::CREDENTIALS);
        assert!(explain(&sso, &aim).contains("aws sso login --profile prod"));
        let dns = err(ErrorKind::Unreachable, "UnknownHost", "dns error");
        assert_eq!(exit_code(&dns), exit::UNREACHABLE);
        assert!(explain(&dns, &aim).contains("in eu-west-9"));
        let denied = err(
            ErrorKind::Client,
            "AccessDeniedException",
            "User: x is not authorized",
        );
        assert_eq!(exit_code(&denied), exit::NOT_ALLOWED);
        assert!(explain(&denied, &aim).contains("ds:DescribeDirectories"));
        let other = err(ErrorKind::Service, "ServiceException", "boom");
        assert_eq!(exit_code(&other), exit::FAILED);
        for e in [&sso, &dns, &denied, &other] {
            let line = explain(e, &aim);
            assert!(!line.contains("Some(") && !line.contains('\n'), "{line}");
            assert!(line.starts_with("DescribeDirectories"), "{line}");
        }
    }
}
