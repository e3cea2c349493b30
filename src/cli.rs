//! The command line: `ds-snapshot-keeper invoke` and its usage.
//!
//! `ds-snapshot-keeper invoke [--event FILE|-] [--timeout SECONDS]` runs exactly one
//! invocation outside Lambda, with the same handler and wiring, and prints the run report on
//! stdout. It honours `AWS_ENDPOINT_URL`, so it works against the local emulator or a real
//! account. Exit codes: 0 clean run, 1 run with failures, 2 bad event, settings or arguments.

use std::io::Read;
use std::time::Duration;

use tokio::time::Instant;

use crate::handler::{handle, InvocationError};
use crate::settings::Settings;
use crate::wiring;

/// The usage of the whole command.
pub const USAGE: &str =
    "usage: ds-snapshot-keeper [invoke [--event FILE|-] [--timeout SECONDS] [--format auto|json|table|text] | help]\n\
  Under AWS Lambda (AWS_LAMBDA_RUNTIME_API set) it serves invocations; outside, `invoke`\n\
  runs one invocation and prints the run report.\n\
  --event FILE   the event to handle (default: read it from stdin; '-' also means stdin)\n\
  --timeout S    pretend the invocation has S seconds, like a Lambda timeout (default 900)\n\
  --format F     auto (default: table on a terminal, json otherwise), json, table (one row\n\
                 per directory: restore reach, quota, actions) or text (the e-mail's words)";

/// How `invoke` prints the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Table,
    Text,
}

struct Args {
    event: Option<String>,
    timeout: u64,
    /// `None`: a table on a terminal, JSON otherwise (a pipe, a file, a script).
    format: Option<Format>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut out = Args {
        event: None,
        timeout: 900,
        format: None,
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
            "--format" => {
                out.format = match it.next().map(String::as_str) {
                    Some("auto") => None,
                    Some("json") => Some(Format::Json),
                    Some("table") => Some(Format::Table),
                    Some("text") => Some(Format::Text),
                    other => {
                        return Err(format!(
                            "--format {other:?}: expected auto, json, table or text"
                        ))
                    }
                }
            }
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

fn print_report(report: &crate::report::RunReport, format: Option<Format>) {
    use std::io::IsTerminal;
    let format = format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    });
    match format {
        Format::Table => print!("{}", crate::render::table(report)),
        Format::Text => print!("{}", crate::render::text(report)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        ),
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
    wiring::init_logging(true);
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
    let config = wiring::load_aws_config().await;
    let (keeper, notifier) = match wiring::aws_keeper(&config, settings) {
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
            print_report(&report, args.format);
            0
        }
        Err(InvocationError::RunFailed(report)) => {
            print_report(&report, args.format);
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
