//! The command line outside Lambda: `invoke`, `points`, `restore` and `help` (`help.rs`).
//!
//! `ds-snapshot-keeper invoke [--event FILE|-] [--timeout SECONDS]` runs exactly one
//! invocation outside Lambda, with the same handler and wiring, and prints the run report on
//! stdout. It honours `AWS_ENDPOINT_URL`, so it works against the local emulator or a real
//! account. Exit codes: 0 clean run, 1 run with failures, 2 bad event, settings or arguments.

use std::io::Read;
use std::time::Duration;

use tokio::time::Instant;

use crate::handler::InvocationError;
use crate::settings::Settings;
use crate::wiring;

pub mod help;

/// Write to stdout. When the reader has gone (`points | head`), stop quietly the way a Unix
/// tool stopped by SIGPIPE does (exit 141, what a shell reports for it), instead of the
/// panic `print!` gives; Rust ignores SIGPIPE, so the write fails with `BrokenPipe`.
pub fn print(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(1);
    }
}

/// [`print`] with a newline.
pub fn print_line(text: &str) {
    print(&format!("{text}\n"));
}

/// `-v`/`--verbose` (repeatable) and `--log-format text|json`: every command's logging.
/// Outside Lambda, logs are for a person: readable lines on stderr, warnings and errors
/// only; `-v` adds INFO, `-vv` DEBUG, `-vvv` TRACE; `--log-format json` writes the Lambda
/// schema's JSON lines (the run report and metric lines among them) instead.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct LogArgs {
    verbosity: u8,
    json: bool,
}

impl LogArgs {
    /// The last arm of every command's parser: `arg` (with its value from `rest`) is a
    /// logging flag, or it is refused as unknown.
    fn take<'a>(
        &mut self,
        arg: &str,
        rest: &mut impl Iterator<Item = &'a String>,
    ) -> Result<(), String> {
        match arg {
            "-v" | "--verbose" => self.verbosity = self.verbosity.saturating_add(1),
            "-vv" => self.verbosity = self.verbosity.saturating_add(2),
            "-vvv" => self.verbosity = self.verbosity.saturating_add(3),
            "--log-format" => match rest.next().map(String::as_str) {
                Some("text") => self.json = false,
                Some("json") => self.json = true,
                Some(other) => {
                    return Err(format!(
                        "--log-format {}: expected text or json",
                        crate::naming::escape_for_log(other, 20)
                    ))
                }
                None => return Err("--log-format needs text or json".to_owned()),
            },
            other => {
                return Err(format!(
                    "unknown argument {}",
                    crate::naming::escape_for_log(other, 40)
                ))
            }
        }
        Ok(())
    }

    fn init(self) {
        wiring::init_logging(
            crate::log::level::Audience::Terminal {
                verbosity: self.verbosity,
            },
            self.json,
        );
    }
}

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
    log: LogArgs,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut out = Args {
        event: None,
        timeout: 900,
        format: None,
        log: LogArgs::default(),
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
                    Some(other) => {
                        return Err(format!(
                            "--format {}: expected auto, json, table or text",
                            crate::naming::escape_for_log(other, 20)
                        ))
                    }
                    None => return Err("--format needs auto, json, table or text".to_owned()),
                }
            }
            "-h" | "--help" => return Err(String::new()),
            other => out.log.take(other, &mut it)?,
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
    /// Restore a directory from a snapshot (see [`restore`]).
    Restore(Vec<String>),
    /// List restore points (see [`points`]).
    Points(Vec<String>),
    /// Show or clear a directory's restore mark (see [`mark`]).
    Mark(Vec<String>),
    /// Print the usage and exit with this code (0 when asked for, 2 on a mistake).
    Usage { code: i32, problem: Option<String> },
    /// Print every setting (`help settings`).
    HelpSettings,
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
        Some("restore") => Command::Restore(args[1..].to_vec()),
        Some("points") => Command::Points(args[1..].to_vec()),
        Some("mark") => Command::Mark(args[1..].to_vec()),
        Some("help") if args.get(1).map(String::as_str) == Some("settings") => {
            Command::HelpSettings
        }
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
        Format::Table => print(&crate::render::table(report)),
        Format::Text => print(&crate::render::text(report)),
        Format::Json => print_line(&serde_json::to_string_pretty(report).unwrap_or_default()),
    }
}

fn print_restore(report: &crate::runner::restore::RestoreReport, format: Option<Format>) {
    use std::io::IsTerminal;
    match format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Text
    } else {
        Format::Json
    }) {
        Format::Json => print_line(&serde_json::to_string_pretty(report).unwrap_or_default()),
        Format::Table | Format::Text => print(&report.text()),
    }
}

/// The settings from the environment, or `None` after saying what was wrong with them.
fn settings_from_env() -> Option<Settings> {
    Settings::from_env()
        .map_err(|e| eprintln!("error: {e}"))
        .ok()
}

/// The `invoke` subcommand; returns the process exit code.
pub async fn invoke(args: &[String]) -> i32 {
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(problem) if problem.is_empty() => {
            print_line(help::INVOKE);
            return 0;
        }
        Err(problem) => {
            eprintln!("error: {problem}\n{}", help::short(help::INVOKE));
            return 2;
        }
    };
    args.log.init();
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
            crate::log::terminal_sink(&crate::handler::refusal_line(&e));
            eprintln!("error: {e}");
            return 2;
        }
    };
    let Some(settings) = settings_from_env() else {
        return 2;
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
    let sink = crate::log::terminal_sink;
    match crate::handler::handle_any(
        &keeper,
        notifier.as_ref(),
        &payload,
        &request_id,
        Some(deadline),
        &sink,
    )
    .await
    {
        Ok(crate::handler::Answer::Run(report)) => {
            print_report(&report, args.format);
            0
        }
        Ok(crate::handler::Answer::Restore(report)) => {
            print_restore(&report, args.format);
            0
        }
        Err(InvocationError::RestoreFailed(report)) => {
            print_restore(&report, args.format);
            eprintln!("error: {}", InvocationError::RestoreFailed(report.clone()));
            report.outcome.exit_code()
        }
        Err(InvocationError::RunFailed(report)) => {
            print_report(&report, args.format);
            eprintln!(
                "error: run ended with {}",
                crate::render::count(report.summary.failures, "failure")
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

struct RestoreArgs {
    options: crate::runner::restore::RestoreOptions,
    yes: bool,
    json: Option<bool>,
    log: LogArgs,
}

fn parse_restore_args(args: &[String], settings: &Settings) -> Result<RestoreArgs, String> {
    use crate::policy::restore::Target;
    let mut directory = None;
    let mut target = None;
    let mut include_safety = false;
    let mut out = RestoreArgs {
        options: crate::runner::restore::RestoreOptions {
            directory_id: String::new(),
            target: Target::Snapshot(String::new()),
            dry_run: false,
            no_safety_snapshot: false,
            no_wait: false,
            timeout: Duration::from_secs(4 * 3600),
            safety_timeout: Duration::from_secs(3600),
            poll_initial: settings.poll_initial,
            poll_max: settings.poll_max,
            by: String::new(),
        },
        yes: false,
        json: None,
        log: LogArgs::default(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs {what}"))
        };
        match arg.as_str() {
            "--directory" => directory = Some(value("a directory id (d-...)")?),
            "--snapshot" => {
                if target.is_some() {
                    return Err("give one of --snapshot and --before".to_owned());
                }
                target = Some(Target::Snapshot(value("a snapshot id (s-...)")?))
            }
            "--before" => {
                if target.is_some() {
                    return Err("give one of --snapshot and --before".to_owned());
                }
                let raw = value("a time (RFC 3339, e.g. 2026-11-20T05:00:00Z)")?;
                let t = raw.parse::<jiff::Timestamp>().map_err(|e| {
                    format!(
                        "--before {raw:?}: not an RFC 3339 time such as 2026-11-20T05:00:00Z ({e})"
                    )
                })?;
                target = Some(Target::Before(t))
            }
            "--include-safety" => include_safety = true,
            "--dry-run" => out.options.dry_run = true,
            "--yes" => out.yes = true,
            "--no-safety-snapshot" => out.options.no_safety_snapshot = true,
            "--no-wait" => out.options.no_wait = true,
            "--timeout-hours" => {
                let raw = value("a number of hours")?;
                let hours: f64 = raw
                    .parse()
                    .ok()
                    .filter(|h: &f64| h.is_finite() && *h > 0.0 && *h <= 48.0)
                    .ok_or_else(|| format!("--timeout-hours {raw:?}: expected a number of hours, more than 0 and at most 48"))?;
                out.options.timeout = Duration::from_secs_f64(hours * 3600.0);
            }
            "--format" => {
                out.json = match value("auto, json or text")?.as_str() {
                    "auto" => None,
                    "json" => Some(true),
                    "text" => Some(false),
                    other => {
                        return Err(format!(
                            "--format {}: expected auto, json or text",
                            crate::naming::escape_for_log(other, 20)
                        ))
                    }
                }
            }
            "-h" | "--help" => return Err(String::new()),
            other => out.log.take(other, &mut it)?,
        }
    }
    out.options.directory_id = directory.ok_or("--directory d-... is required")?;
    if !crate::naming::is_directory_id(&out.options.directory_id) {
        return Err(format!(
            "--directory {}: not a directory id (d- and 10 hexadecimal digits)",
            crate::naming::escape_for_log(&out.options.directory_id, 40)
        ));
    }
    out.options.target =
        match target.ok_or("give the snapshot to restore: --snapshot s-... or --before TIME")? {
            Target::Before(t) if include_safety => Target::BeforeAny(t),
            Target::Snapshot(_) if include_safety => {
                return Err("--include-safety goes with --before".to_owned())
            }
            other => other,
        };
    Ok(out)
}

/// The operator at a terminal: the plan on stderr, the directory id typed to confirm (or
/// `--yes`), progress on one rewritten line. Ctrl-C is heard from the confirmation on: before
/// it nothing has changed, and the default (the process ends) is right.
struct Terminal {
    yes: bool,
    interactive: bool,
    interrupt: crate::runner::restore::Interrupt,
}

impl Terminal {
    fn ask(&self, directory_id: &str) -> bool {
        use std::io::{BufRead, Write};
        eprint!("Type the directory id ({directory_id}) to restore it: ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        line.trim() == directory_id
    }

    /// Hear Ctrl-C from now on, instead of being killed by it: the signal is registered before
    /// this returns, so the first change is already covered.
    fn listen_for_ctrl_c(&self) {
        let interrupt = self.interrupt.clone();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            if let Ok(mut sigint) = signal(SignalKind::interrupt()) {
                tokio::spawn(async move {
                    if sigint.recv().await.is_some() {
                        eprintln!(
                            "\nCtrl-C: no further change is made; finishing the call in flight"
                        );
                        interrupt.trigger();
                    }
                });
            }
        }
        #[cfg(windows)]
        {
            if let Ok(mut ctrl_c) = tokio::signal::windows::ctrl_c() {
                tokio::spawn(async move {
                    if ctrl_c.recv().await.is_some() {
                        interrupt.trigger();
                    }
                });
            }
        }
    }
}

impl crate::runner::restore::Operator for Terminal {
    fn confirm(&mut self, plan: &crate::policy::restore::RestorePlan) -> bool {
        eprint!("{}", crate::render::restore::plan_text(plan));
        let yes = self.yes || self.ask(&plan.directory_id);
        if yes {
            self.listen_for_ctrl_c();
        }
        yes
    }

    fn reconfirm(&mut self, plan: &crate::policy::restore::RestorePlan, what: &str) -> bool {
        eprintln!("\nThe restore changed since it was confirmed: {what}. The plan now:");
        eprint!("{}", crate::render::restore::plan_text(plan));
        if self.yes || !self.interactive {
            eprintln!("--yes confirmed the earlier plan, not this one: refused");
            return false;
        }
        self.ask(&plan.directory_id)
    }

    fn progress(&mut self, line: &str) {
        if self.interactive {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
    }
}

/// Who is restoring, for the mark: `cli user@host`.
fn restorer() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!("cli {user}@{host}")
}

/// The `restore` subcommand; returns the process exit code.
pub async fn restore(args: &[String]) -> i32 {
    use std::io::IsTerminal;
    let Some(settings) = settings_from_env() else {
        return 2;
    };
    let args = match parse_restore_args(args, &settings) {
        Ok(a) => a,
        Err(problem) if problem.is_empty() => {
            print_line(help::RESTORE);
            return 0;
        }
        Err(problem) => {
            eprintln!("error: {problem}\n{}", help::short(help::RESTORE));
            return 2;
        }
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.options.dry_run && !args.yes && !interactive {
        eprintln!(
            "error: a restore overwrites the whole directory and cannot be undone; without a \
             terminal to confirm on, pass --yes (or --dry-run to see the plan)"
        );
        return 2;
    }
    args.log.init();
    let config = wiring::load_aws_config().await;
    let Some(region) = config.region().map(|r| r.to_string()) else {
        eprintln!("error: no AWS region: set AWS_REGION to the directory's primary Region");
        return 2;
    };
    let ds = crate::directory::aws::AwsDirectoryService::new(wiring::directory_client(&config));
    let policy = crate::policy::Policy::from(&settings);
    let notifier = settings
        .topic_arn
        .as_deref()
        .map(|arn| wiring::sns_notifier(&config, arn));
    let interrupt = crate::runner::restore::Interrupt::default();
    let mut options = args.options.clone();
    options.by = restorer();
    let report = crate::runner::restore::Restore {
        ds: &ds,
        notifier: notifier.as_ref(),
        region: &region,
        policy: &policy,
        opts: &options,
        clock: std::sync::Arc::new(jiff::Timestamp::now),
        operator: Terminal {
            yes: args.yes,
            interactive,
            interrupt: interrupt.clone(),
        },
        interrupt,
    }
    .run()
    .await;
    if interactive {
        eprintln!();
    }
    let json = args.json.unwrap_or(!std::io::stdout().is_terminal());
    if json {
        // The words go to stderr, for the person watching; the record to stdout.
        eprint!("{}", report.text());
        print_line(&serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print(&report.text());
    }
    report.outcome.exit_code()
}

/// `ds-snapshot-keeper mark --directory d-… [--clear]`: show a directory's restore mark, or
/// remove it (only when the restore it names is known to be dead).
pub async fn mark(args: &[String]) -> i32 {
    let mut directory = None;
    let mut clear = false;
    let mut log = LogArgs::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print_line(help::MARK);
                return 0;
            }
            "--directory" => match it.next() {
                Some(v) if crate::naming::is_directory_id(v) => directory = Some(v.clone()),
                Some(v) => {
                    eprintln!(
                        "error: --directory {}: not a directory id (d- and 10 hexadecimal digits)",
                        crate::naming::escape_for_log(v, 40)
                    );
                    return 2;
                }
                None => {
                    eprintln!("error: --directory needs a directory id (d-...)");
                    return 2;
                }
            },
            "--clear" => clear = true,
            other => {
                if let Err(problem) = log.take(other, &mut it) {
                    eprintln!("error: {problem}\n{}", help::short(help::MARK));
                    return 2;
                }
            }
        }
    }
    let Some(directory) = directory else {
        eprintln!(
            "error: --directory d-... is required\n{}",
            help::short(help::MARK)
        );
        return 2;
    };
    log.init();
    let config = wiring::load_aws_config().await;
    let ds = crate::directory::aws::AwsDirectoryService::new(wiring::directory_client(&config));
    use crate::directory::DirectoryService;
    use crate::policy::restore_mark::{self, MARK_KEY};
    let tags = match ds.directory_tags(&directory).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {} failed ({}): {}", e.operation, e.code, e.message);
            return 1;
        }
    };
    let state = restore_mark::read(&tags, jiff::Timestamp::now());
    print_line(&format!("{directory}: {}", state.describe(&directory)));
    if clear && state != restore_mark::MarkState::Absent {
        if let Err(e) = ds.remove_tag(&directory, MARK_KEY).await {
            eprintln!("error: {} failed ({}): {}", e.operation, e.code, e.message);
            return 1;
        }
        print_line(&format!("{directory}: restore mark removed"));
    }
    0
}

/// The `points` subcommand; returns the process exit code.
pub async fn points(args: &[String]) -> i32 {
    use std::io::IsTerminal;
    let mut directories = Vec::new();
    let mut regions = Vec::new();
    let mut before = None;
    let mut json = None;
    let mut log = LogArgs::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let Some(value) = (match arg.as_str() {
            "-h" | "--help" => {
                print_line(help::POINTS);
                return 0;
            }
            "--directory" | "--region" | "--before" | "--format" => it.next(),
            other => match log.take(other, &mut it) {
                Ok(()) => continue,
                Err(problem) => {
                    eprintln!("error: {problem}\n{}", help::short(help::POINTS));
                    return 2;
                }
            },
        }) else {
            eprintln!("error: {arg} needs a value\n{}", help::short(help::POINTS));
            return 2;
        };
        match arg.as_str() {
            "--directory" if crate::naming::is_directory_id(value) => {
                directories.push(value.clone())
            }
            "--directory" => {
                eprintln!(
                    "error: --directory {}: not a directory id (d- and 10 hexadecimal digits)",
                    crate::naming::escape_for_log(value, 40)
                );
                return 2;
            }
            "--region" => regions.push(value.clone()),
            "--before" => match value.parse::<jiff::Timestamp>() {
                Ok(t) => before = Some(t),
                Err(e) => {
                    eprintln!(
                        "error: --before {value:?}: not an RFC 3339 time such as 2026-11-20T05:00:00Z ({e})"
                    );
                    return 2;
                }
            },
            _ => match value.as_str() {
                "auto" => json = None,
                "json" => json = Some(true),
                "table" => json = Some(false),
                other => {
                    eprintln!(
                        "error: --format {}: expected auto, json or table",
                        crate::naming::escape_for_log(other, 20)
                    );
                    return 2;
                }
            },
        }
    }
    let Some(settings) = settings_from_env() else {
        return 2;
    };
    log.init();
    let config = wiring::load_aws_config().await;
    if regions.is_empty() {
        match config.region() {
            Some(r) => regions.push(r.to_string()),
            None => {
                eprintln!("error: no AWS region: set AWS_REGION or pass --region");
                return 2;
            }
        }
    }
    let now = jiff::Timestamp::now();
    let mut all = Vec::new();
    let mut code = 0;
    for region in &regions {
        let regional = config
            .to_builder()
            .region(aws_config::Region::new(region.clone()))
            .build();
        let ds =
            crate::directory::aws::AwsDirectoryService::new(wiring::directory_client(&regional));
        match crate::runner::points::points(&ds, region, &settings, &directories, before, now).await
        {
            Ok(found) => all.extend(found),
            Err(e) => {
                eprintln!("error: {region}: {} {}: {}", e.operation, e.code, e.message);
                code = 1;
            }
        }
    }
    for id in &directories {
        if !all.iter().any(|d| &d.directory_id == id) {
            eprintln!(
                "error: directory {id} was not found in {} (snapshots live in a directory's \
                 primary Region)",
                regions.join(", ")
            );
            code = 1;
        }
    }
    if json.unwrap_or(!std::io::stdout().is_terminal()) {
        print_line(&serde_json::to_string_pretty(&all).unwrap_or_default());
    } else {
        print(&crate::render::points_table(&all));
    }
    code
}
