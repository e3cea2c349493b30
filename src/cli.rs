//! Process wiring: logging, the AWS clients, and the local `invoke` command.
//!
//! `ds-snapshot-keeper invoke [--event FILE|-] [--timeout SECONDS]` runs exactly one
//! invocation outside Lambda, with the same handler, and prints the run report on stdout.
//! It honours `AWS_ENDPOINT_URL`, so it works against the local emulator or a real account.
//! Exit codes: 0 clean run, 1 run with failures, 2 bad event, settings or arguments.

use std::io::Read;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use tokio::time::Instant;

use crate::aws::directory::AwsDirectoryService;
use crate::aws::sns::SnsNotifier;
use crate::handler::{handle, InvocationError};
use crate::runner::Keeper;
use crate::settings::Settings;

/// Start JSON logging in the one schema (`log.rs`) to stdout or stderr.
pub fn init_logging(to_stderr: bool) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| {
            std::env::var("AWS_LAMBDA_LOG_LEVEL")
                .ok()
                .map(|l| l.to_ascii_lowercase())
        })
        .unwrap_or_else(|| "info".to_owned());
    let filter = tracing_subscriber::EnvFilter::try_new(format!(
        "{filter},aws_smithy_runtime=warn,aws_config=warn,hyper=warn,hyper_util=warn"
    ))
    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .event_format(crate::log::SchemaFormat);
    let _ = if to_stderr {
        builder.with_writer(std::io::stderr).try_init()
    } else {
        builder.with_writer(std::io::stdout).try_init()
    };
}

/// Load the AWS configuration from the environment. No network call happens here: region
/// and credentials are resolved from the environment, and credentials lazily on first use.
///
/// Standard retries (exponential backoff with jitter, up to 12 attempts), not adaptive ones:
/// adaptive retry turns one throttled call into a client-side rate limit on every later call
/// of the process, so two throttled calls cost a one-directory run about 28 s instead of about
/// 2 s (docs/benchmarks.md), time a daily job with a deadline does not have. Every call is
/// bounded by the deadline anyway, and AWS's throttling codes are retried all the same.
pub async fn load_aws_config() -> SdkConfig {
    const MAX_ATTEMPTS: u32 = 12;
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_max_backoff(Duration::from_secs(20)),
        )
        .load()
        .await
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
pub fn directory_client(config: &SdkConfig) -> aws_sdk_directory::Client {
    use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
    let conf = aws_sdk_directory::config::Builder::from(config)
        .retry_partition(
            RetryPartition::custom("ds-snapshot-keeper")
                .token_bucket(TokenBucket::unlimited())
                .build(),
        )
        .build();
    aws_sdk_directory::Client::from_conf(conf)
}

/// The notifier for `topic_arn`, with its client in the topic's own Region: SNS accepts a
/// Publish only there (elsewhere it answers `InvalidParameter: Invalid parameter: TopicArn`),
/// and a team's alert topic often lives in one central Region.
pub fn sns_notifier(config: &SdkConfig, topic_arn: &str) -> SnsNotifier {
    let mut sns = aws_sdk_sns::config::Builder::from(config);
    if let Some(region) = crate::aws::sns::topic_region(topic_arn) {
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

/// The usage of the whole command.
pub const USAGE: &str =
    "usage: ds-snapshot-keeper [invoke [--event FILE|-] [--timeout SECONDS] [--format json|text] | help]\n\
  Under AWS Lambda (AWS_LAMBDA_RUNTIME_API set) it serves invocations; outside, `invoke`\n\
  runs one invocation and prints the run report.\n\
  --event FILE   the event to handle (default: read it from stdin; '-' also means stdin)\n\
  --timeout S    pretend the invocation has S seconds, like a Lambda timeout (default 900)\n\
  --format F     json (default) or text: the report as a person reads it";

struct Args {
    event: Option<String>,
    timeout: u64,
    /// The report as text for a person (`render::text`) instead of JSON.
    text: bool,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut out = Args {
        event: None,
        timeout: 900,
        text: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--event" | "-e" => {
                out.event = Some(it.next().ok_or("--event needs a file name")?.clone())
            }
            "--timeout" => {
                let raw = it.next().ok_or("--timeout needs a number of seconds")?;
                out.timeout = raw
                    .parse()
                    .ok()
                    .filter(|t| (1..=900).contains(t))
                    .ok_or_else(|| format!("--timeout {raw:?}: expected 1..=900 seconds"))?;
            }
            "--format" => match it.next().map(String::as_str) {
                Some("json") => out.text = false,
                Some("text") => out.text = true,
                other => return Err(format!("--format {other:?}: expected json or text")),
            },
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(out)
}

/// What the command line asks for, before anything else runs.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Serve invocations from the Lambda Runtime API.
    Lambda,
    /// Run one invocation locally, with these arguments.
    Invoke(Vec<String>),
    /// Print the usage and exit with this code (0 when asked for, 2 on a mistake).
    Usage { code: i32, problem: Option<String> },
}

/// Read the command line. Without arguments the binary serves Lambda, which it can only do
/// under the Lambda Runtime API (`in_lambda`); elsewhere it explains itself.
pub fn command(args: &[String], in_lambda: bool) -> Command {
    match args.first().map(String::as_str) {
        None if in_lambda => Command::Lambda,
        None => Command::Usage {
            code: 2,
            problem: Some(
                "not running under AWS Lambda (AWS_LAMBDA_RUNTIME_API is not set); use `invoke` to run locally"
                    .to_owned(),
            ),
        },
        Some("invoke") => Command::Invoke(args[1..].to_vec()),
        Some("help" | "-h" | "--help") => Command::Usage {
            code: 0,
            problem: None,
        },
        Some(other) => Command::Usage {
            code: 2,
            problem: Some(format!(
                "unknown command {}",
                crate::naming::escape_for_log(other, 40)
            )),
        },
    }
}

fn print_report(report: &crate::report::RunReport, text: bool) {
    if text {
        print!("{}", crate::render::text(report));
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        );
    }
}

/// The `invoke` subcommand; returns the process exit code.
pub async fn invoke(args: &[String]) -> i32 {
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(problem) if problem.is_empty() => {
            println!("{USAGE}");
            return 0;
        }
        Err(problem) => {
            eprintln!("error: {problem}");
            eprintln!("{USAGE}");
            return 2;
        }
    };
    init_logging(true);
    let raw = match args.event.as_deref() {
        None | Some("-") => {
            use std::io::IsTerminal;
            if std::io::stdin().is_terminal() {
                eprintln!("reading the event from stdin (end with Ctrl-D), or pass --event FILE");
            }
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map(|_| buf)
                .map_err(|e| format!("stdin: {e}"))
        }
        Some(path) => std::fs::read(path).map_err(|e| format!("{path}: {e}")),
    };
    let raw = match raw {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let request_id = format!("local-{}", jiff::Timestamp::now().as_millisecond());
    // Bytes that are not JSON get the same refusal as any bad event: what was wrong, the
    // accepted shapes, and the refusal log line.
    let payload = match crate::request::decode(&raw) {
        Ok(p) => p,
        Err(e) => {
            crate::log::set_context(crate::log::Context {
                function_name: crate::log::function_name(),
                request_id: Some(request_id),
                cold_start: true,
            });
            eprintln!("{}", crate::handler::refusal_line(&e));
            eprintln!("error: {e}");
            return 2;
        }
    };
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let config = load_aws_config().await;
    let (keeper, notifier) = match aws_keeper(&config, settings) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let sink = |line: &str| eprintln!("{line}");
    match handle(
        &keeper,
        notifier.as_ref(),
        &payload,
        &request_id,
        Some(deadline),
        &sink,
    )
    .await
    {
        Ok(report) => {
            print_report(&report, args.text);
            0
        }
        Err(InvocationError::RunFailed(report)) => {
            print_report(&report, args.text);
            eprintln!(
                "error: run ended with {} failure(s)",
                report.summary.failures
            );
            1
        }
        Err(e) => {
            eprintln!("error: {e}");
            if matches!(e, InvocationError::BadEvent(_)) {
                2
            } else {
                1
            }
        }
    }
}
