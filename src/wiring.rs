//! What both entry points share: logging, the AWS clients and the keeper built on them.
//!
//! `main.rs` (the Lambda runtime) and `cli.rs` (the local `invoke` command) wire the same
//! keeper the same way, through these functions, so a local run behaves as the deployed one.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::directory::aws::{AwsDirectoryService, RateExceededClassifier};
use crate::notify::sns::SnsNotifier;
use crate::runner::Keeper;
use crate::settings::Settings;

/// How the keeper logs: for Lambda, the schema's JSON lines (`log/mod.rs`) on stdout; for a
/// person at a terminal, readable lines (`log/human.rs`) on stderr, or the JSON lines there
/// with `json`. The level follows `log::level::choose` (the precedence table there and in the
/// README); settings it had to ignore are logged as warnings once logging is up.
pub fn init_logging(audience: crate::log::level::Audience, json: bool) {
    use crate::log::level::Audience;
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;

    let choice = crate::log::level::choose(audience, |name| std::env::var(name).ok());
    // `Targets` reads `level` and `target=level` lists without a regex engine (EnvFilter's
    // costs 200 KiB of binary and part of the cold start: docs/benchmarks.md).
    let targets = choice.targets.clone();
    let writer = match audience {
        Audience::Lambda => BoxMakeWriter::new(std::io::stdout),
        Audience::Terminal { .. } => {
            crate::log::keep_handler_lines(json, targets.clone());
            BoxMakeWriter::new(std::io::stderr)
        }
    };
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    let _ = if audience == Audience::Lambda || json {
        tracing_subscriber::registry()
            .with(
                layer
                    .event_format(crate::log::SchemaFormat)
                    .with_filter(targets),
            )
            .try_init()
    } else {
        tracing_subscriber::registry()
            .with(
                layer
                    .event_format(crate::log::human::HumanFormat)
                    .with_filter(targets),
            )
            .try_init()
    };
    for warning in &choice.warnings {
        tracing::warn!("{warning}");
    }
    tracing::debug!(
        source = choice.source,
        directives = %choice.directives,
        "log level"
    );
}

/// The keeper handles one invocation at a time, by design: two runs over one directory at
/// once would both count its free slots. `AWS_LAMBDA_MAX_CONCURRENCY` (set by `cargo lambda
/// watch`, and by Lambda for functions on managed instances) asks the runtime for
/// concurrent invocations, which it declines with a warning that the `concurrency-tokio`
/// feature is off: misleading, since nothing is missing. The keeper takes the variable out of
/// its environment before the runtime starts and says why in one INFO line. Call before any
/// thread exists (`main` runs on the current-thread runtime).
pub fn one_invocation_at_a_time() {
    if let Some(raw) = std::env::var_os("AWS_LAMBDA_MAX_CONCURRENCY") {
        std::env::remove_var("AWS_LAMBDA_MAX_CONCURRENCY");
        tracing::info!(
            max_concurrency = %raw.to_string_lossy(),
            "AWS_LAMBDA_MAX_CONCURRENCY is set; the keeper handles one invocation at a time \
             (two runs over one directory would both count its free slots)"
        );
    }
}

/// The retries of the function's calls: standard (exponential backoff with jitter, up to 12
/// attempts), not adaptive. Adaptive retry turns one throttled call into a client-side rate
/// limit on every later call of the process, so two throttled calls cost a one-directory run
/// about 28 s instead of about 2 s (docs/benchmarks.md), time a daily job with a deadline does
/// not have. Every call is bounded by the deadline anyway, and AWS's throttling codes are
/// retried all the same.
fn function_retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(12)
        .with_max_backoff(Duration::from_secs(20))
}

/// The AWS configuration through aws-config's loader, with rustls (ring) for HTTPS, the
/// platform's trust store and the function's retries: what `make bench`'s floor and the
/// opt-in real-AWS checks use (the function itself uses [`lambda_config`], the command line
/// [`load_cli_config`]). No network call happens here: region and credentials are resolved
/// from the environment, and credentials lazily on first use. Credentials in the environment
/// are read directly instead of building the default provider chain (profiles, SSO, web
/// identity, ECS, IMDS and the STS client they need), which cost 12 of the 15 ms the first
/// event spent before its first call (docs/benchmarks.md).
pub async fn load_aws_config() -> SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(function_retries());
    let from_env = std::env::var_os("AWS_ACCESS_KEY_ID").is_some()
        && std::env::var_os("AWS_SECRET_ACCESS_KEY").is_some();
    let loader = if from_env {
        loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
    } else {
        loader
    };
    loader.load().await
}

/// The AWS configuration inside Lambda, built from what Lambda sets and nothing else: the
/// Region (`AWS_REGION`), the role's credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), and `AWS_ENDPOINT_URL` when a test points the function at the local
/// emulator; the function's retries ([`function_retries`]). aws-config's loader would link the whole
/// default credential chain (profiles, SSO, STS, IMDS, ECS, and the URL parsing they need)
/// into a function that always finds its credentials in the environment: that chain was 0.15 MB
/// of the arm64 zip (docs/benchmarks.md).
pub fn lambda_config() -> SdkConfig {
    use aws_credential_types::provider::SharedCredentialsProvider;
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .ok()
        .filter(|r| !r.is_empty())
        .map(aws_config::Region::new);
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(function_retries())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(3100))
                .build(),
        )
        .credentials_provider(SharedCredentialsProvider::new(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        ));
    builder.set_region(region);
    builder.set_sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep());
    if let Some(url) = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        builder.set_endpoint_url(Some(url));
    }
    builder.build()
}

/// The AWS configuration of a command run by a person: the profile and Region they named
/// (else the environment's), and failures that come back in seconds, not minutes: three
/// attempts, a 3-second connect timeout, no retry waits longer than 2 seconds. An explicit
/// profile wins over credentials in the environment, as in the AWS CLI.
pub async fn load_cli_config(profile: Option<&str>, region: Option<&str>) -> SdkConfig {
    use aws_config::timeout::TimeoutConfig;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_max_backoff(Duration::from_secs(2)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    } else if std::env::var_os("AWS_ACCESS_KEY_ID").is_some()
        && std::env::var_os("AWS_SECRET_ACCESS_KEY").is_some()
    {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_owned()));
    }
    loader.load().await
}

/// Why the named profile cannot be used, before any call: it is in neither the config nor the
/// credentials file (the AWS CLI's "The config profile (prod) could not be found").
pub async fn missing_profile(profile: &str) -> Option<String> {
    let set = aws_config::profile::load(
        &aws_types::os_shim_internal::Fs::real(),
        &aws_types::os_shim_internal::Env::real(),
        &aws_runtime::env_config::file::EnvConfigFiles::default(),
        None,
    )
    .await;
    let known: Vec<String> = match &set {
        Ok(set) => set.profiles().map(str::to_owned).collect(),
        Err(_) => Vec::new(),
    };
    if known.iter().any(|p| p == profile) {
        return None;
    }
    let listed = if known.is_empty() {
        "no profile is configured (`aws configure` or `aws configure sso` sets one up)".to_owned()
    } else {
        format!("the profiles are: {}", known.join(", "))
    };
    Some(format!(
        "the config profile ({profile}) could not be found in ~/.aws/config or ~/.aws/credentials (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE); {listed}"
    ))
}

/// The HTTPS client every AWS client uses: rustls on ring, with the platform's trust store
/// (loaded when the first client is built). The tests use it too, so they exercise the
/// client the function ships with.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// In Lambda, have the trust store read the platform's one CA bundle and not, as well, every
/// file of every certificate directory. Returns the bundle pinned, if any.
///
/// `rustls-native-certs` reads the bundle `openssl-probe` finds and then each file of each
/// certificate directory it finds. On Lambda's images those directories hold the same
/// certificates again (Amazon Linux: `ca-bundle.crt` and `ca-bundle.trust.crt`, whose
/// `TRUSTED CERTIFICATE` blocks rustls skips), so they add time to the first event and nothing
/// to the trust. Setting `SSL_CERT_FILE` to the bundle makes `rustls-native-certs` read that one
/// file (docs/benchmarks.md measures both). A `SSL_CERT_FILE` or `SSL_CERT_DIR` of the user's
/// own is left as it is, and with no bundle found nothing changes.
///
/// Call it before any thread is spawned: it sets an environment variable.
pub fn pin_ca_bundle() -> Option<std::path::PathBuf> {
    let bundle = ca_bundle_to_pin(
        std::env::var_os("SSL_CERT_FILE").is_some(),
        std::env::var_os("SSL_CERT_DIR").is_some(),
        openssl_probe::probe().cert_file,
    )?;
    std::env::set_var("SSL_CERT_FILE", &bundle);
    Some(bundle)
}

/// The bundle to pin: none when the user set either variable, else the one found.
fn ca_bundle_to_pin(
    user_file: bool,
    user_dir: bool,
    found: Option<std::path::PathBuf>,
) -> Option<std::path::PathBuf> {
    if user_file || user_dir {
        None
    } else {
        found
    }
}

/// The keeper and notifier over real AWS clients.
pub fn aws_keeper(
    config: &SdkConfig,
    settings: Settings,
) -> Result<(Keeper<AwsDirectoryService>, Option<SnsNotifier>), String> {
    let region = config
        .region()
        .map(|r| r.to_string())
        .ok_or("no AWS region: set AWS_REGION (Lambda sets it for you)")?;
    let notifier = settings
        .topic_arn
        .as_deref()
        .map(|arn| sns_notifier(config, arn));
    let ds = AwsDirectoryService::new(directory_client(config));
    Ok((
        Keeper::new(ds, settings, region).with_function_name(crate::log::function_name()),
        notifier,
    ))
}

/// The Directory Service client. Its retries draw on no retry quota: the standard mode's
/// token bucket (a few hundred tokens, five per throttled retry) empties under sustained
/// throttling and then fails calls outright, which cost 9 of 100 directories their snapshot
/// at 5 calls/s (docs/benchmarks.md). Attempts and backoff stay bounded per call, and every
/// call is bounded by the deadline.
///
/// It also retries Directory Service's own throttle shape, a `ClientException` whose message
/// says "Rate exceeded" ([`RateExceededClassifier`]): the SDK's classifiers match error codes
/// only, and the service's model has no throttling code.
pub fn directory_client(config: &SdkConfig) -> aws_sdk_directory::Client {
    use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
    let conf = aws_sdk_directory::config::Builder::from(config)
        .retry_partition(
            RetryPartition::custom("ds-snapshot-keeper")
                .token_bucket(TokenBucket::unlimited())
                .build(),
        )
        .retry_classifier(RateExceededClassifier)
        .build();
    aws_sdk_directory::Client::from_conf(conf)
}

/// The notifier for `topic_arn`, with its client in the topic's own Region: SNS accepts a
/// Publish only there (elsewhere it answers `InvalidParameter: Invalid parameter: TopicArn`),
/// and a team's alert topic often lives in one central Region.
pub fn sns_notifier(config: &SdkConfig, topic_arn: &str) -> SnsNotifier {
    let mut sns = aws_sdk_sns::config::Builder::from(config);
    if let Some(region) = crate::notify::sns::topic_region(topic_arn) {
        sns = sns.region(aws_config::Region::new(region.to_owned()));
    }
    SnsNotifier::new(aws_sdk_sns::Client::from_conf(sns.build()), topic_arn)
}

/// Tell the Lambda Runtime API why initialisation failed, so the invocation's error says
/// which setting is wrong instead of a bare "Runtime exited". Best effort: the error is also
/// logged, and the process exits non-zero either way.
pub async fn report_init_error(error_type: &str, message: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let body = serde_json::json!({ "errorType": error_type, "errorMessage": message }).to_string();
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Lambda-Runtime-Function-Error-Type: {error_type}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(&api).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), attempt).await;
}

#[cfg(test)]
mod tests {
    use super::ca_bundle_to_pin;
    use std::path::PathBuf;

    #[test]
    fn a_found_bundle_is_pinned_only_when_the_user_set_neither_variable() {
        let found = || Some(PathBuf::from("/etc/pki/tls/certs/ca-bundle.crt"));
        assert_eq!(ca_bundle_to_pin(false, false, found()), found());
        assert_eq!(
            ca_bundle_to_pin(true, false, found()),
            None,
            "SSL_CERT_FILE is the user's"
        );
        assert_eq!(
            ca_bundle_to_pin(false, true, found()),
            None,
            "SSL_CERT_DIR is the user's"
        );
        assert_eq!(
            ca_bundle_to_pin(false, false, None),
            None,
            "no bundle: platform default"
        );
    }
}
