//! The command line outside Lambda: `invoke`, `points`, `restore`, `mark` and `help`.
//!
//! | file | job |
//! |---|---|
//! | `args.rs` | every flag, one shape: parsed with lexopt, typos answered with a suggestion |
//! | `help.rs` | what `--help` says, rendered from the flags |
//! | `exit.rs` | every exit code, in one table |
//! | `failure.rs` | a failed AWS call as one line: the call, the cause, the fix |
//! | `when.rs` | `--before` as people say it: `36h`, `yesterday`, `2026-12-05` |
//! | `mod.rs` | the commands, wired to the library |
//!
//! Every command follows the AWS CLI: `--profile` and `--region` (else `AWS_PROFILE`,
//! `AWS_REGION`), `--output json|table|text`, `AWS_ENDPOINT_URL` for the local emulator.

use std::ffi::OsString;
use std::io::Read;
use std::time::Duration;

use tokio::time::Instant;

use crate::handler::InvocationError;
use crate::settings::Settings;
use crate::wiring;

pub mod args;
pub mod exit;
pub mod failure;
pub mod help;
pub mod when;

use args::{Args, Cmd, Output, Parsed};

/// Write to stdout. When the reader has gone (`points | head`), stop quietly the way a Unix
/// tool stopped by SIGPIPE does (exit 141, what a shell reports for it), instead of the
/// panic `print!` gives; Rust ignores SIGPIPE, so the write fails with `BrokenPipe`.
pub fn print(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(exit::CLOSED_PIPE);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(exit::FAILED);
    }
}

/// [`print`] with a newline.
pub fn print_line(text: &str) {
    print(&format!("{text}\n"));
}

/// Run the command line; `None` means: serve Lambda (no arguments, under the Runtime API).
pub async fn run(argv: Vec<OsString>, in_lambda: bool) -> Option<i32> {
    let parsed = match args::parse(argv) {
        Ok(p) => p,
        Err(m) => {
            eprintln!("error: {}\n{}", m.problem, help::short(m.command));
            return Some(exit::BAD_INPUT);
        }
    };
    let (cmd, args) = match parsed {
        Parsed::Nothing if in_lambda => return None,
        Parsed::Nothing => {
            eprintln!(
                "error: not running under AWS Lambda (AWS_LAMBDA_RUNTIME_API is not set); give a \
                 command, such as `invoke` to run here\n{}",
                help::short(None)
            );
            return Some(exit::BAD_INPUT);
        }
        Parsed::Version => {
            print_line(&format!("ds-snapshot-keeper {}", env!("CARGO_PKG_VERSION")));
            return Some(exit::OK);
        }
        Parsed::Help(topic) => return Some(print_help(topic.as_deref())),
        Parsed::Run(cmd, args) => (cmd, *args),
    };
    if args.help {
        print(&help::command(cmd));
        return Some(exit::OK);
    }
    for warning in &args.deprecated {
        eprintln!("warning: {warning}");
    }
    crate::wiring::init_logging(
        crate::log::level::Audience::Terminal {
            verbosity: args.verbosity,
        },
        args.log_json,
    );
    Some(match cmd {
        Cmd::Invoke => invoke(&args).await,
        Cmd::Points => points(&args).await,
        Cmd::Restore => restore(&args).await,
        Cmd::Mark => mark(&args).await,
        Cmd::Audit => audit(&args).await,
    })
}

fn print_help(topic: Option<&str>) -> i32 {
    match topic {
        None => print(&help::overview()),
        Some("settings") => print(&help::settings()),
        Some("exit-codes") => print(&exit::help()),
        Some(name) => match Cmd::ALL.into_iter().find(|c| c.name() == name) {
            Some(cmd) => print(&help::command(cmd)),
            None => {
                let mut topics: Vec<&str> = Cmd::ALL.iter().map(|c| c.name()).collect();
                topics.extend(["settings", "exit-codes"]);
                eprintln!(
                    "error: no help on {}{}; topics: {}",
                    crate::naming::escape_for_log(name, 40),
                    args::did_you_mean(name, &topics),
                    topics.join(", ")
                );
                return exit::BAD_INPUT;
            }
        },
    }
    exit::OK
}

/// The settings from the environment, or `None` after saying what was wrong with them.
fn settings_from_env() -> Option<Settings> {
    Settings::from_env()
        .map_err(|e| eprintln!("error: {e}"))
        .ok()
}

/// What a command needs of AWS: the configuration for the profile and Region asked for, and
/// where it points (for the words of a failure).
struct Aws {
    config: aws_config::SdkConfig,
    aim: failure::Aim,
}

impl Aws {
    /// Load it, or say why not (a profile that does not exist, no Region) with the exit code.
    async fn load(args: &Args, region_required: bool) -> Result<Aws, i32> {
        let profile = args
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
        if let Some(p) = &profile {
            if let Some(why) = wiring::missing_profile(p).await {
                eprintln!("error: {why}");
                return Err(exit::CREDENTIALS);
            }
        }
        let config = wiring::load_cli_config(
            args.profile.as_deref(),
            args.regions.first().map(String::as_str),
        )
        .await;
        let region = config.region().map(|r| r.to_string());
        if region.is_none() && region_required {
            eprintln!(
                "error: no AWS Region: pass --region, set AWS_REGION, or set region in the \
                 profile (the directory's primary Region)"
            );
            return Err(exit::BAD_INPUT);
        }
        Ok(Aws {
            aim: failure::Aim {
                profile,
                region,
                endpoint: std::env::var("AWS_ENDPOINT_URL").ok(),
            },
            config,
        })
    }

    /// The Regions asked for (`--region`, more than once), else the configuration's.
    fn regions(&self, args: &Args) -> Vec<String> {
        if args.regions.is_empty() {
            self.aim.region.iter().cloned().collect()
        } else {
            args.regions.clone()
        }
    }

    /// Directory Service in `region`, with this configuration's credentials.
    fn directory_service(&self, region: &str) -> crate::directory::aws::AwsDirectoryService {
        let regional = self
            .config
            .to_builder()
            .region(aws_config::Region::new(region.to_owned()))
            .build();
        crate::directory::aws::AwsDirectoryService::new(wiring::directory_client(&regional))
    }

    /// [`Aws::fail`] for a call made in `region` (a command over several Regions).
    fn fail_in(&self, region: &str, e: &crate::error::ApiError) -> i32 {
        let aim = failure::Aim {
            region: Some(region.to_owned()),
            ..self.aim.clone()
        };
        eprintln!("error: {region}: {}", failure::explain(e, &aim));
        failure::exit_code(e)
    }

    /// Say a failed call's cause and fix; its exit code.
    fn fail(&self, e: &crate::error::ApiError) -> i32 {
        eprintln!("error: {}", failure::explain(e, &self.aim));
        failure::exit_code(e)
    }
}

/// The output asked for, else a terminal's (`tty`) or JSON.
fn output_or(args: &Args, tty: Output) -> Output {
    use std::io::IsTerminal;
    args.output.unwrap_or(if std::io::stdout().is_terminal() {
        tty
    } else {
        Output::Json
    })
}

/// The `invoke` command: one invocation here, as Lambda would run it.
async fn invoke(args: &Args) -> i32 {
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
        Some(path) => std::fs::read(path).map_err(|e| format!("--event {path}: {e}")),
    };
    let raw = match raw {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
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
            return exit::BAD_INPUT;
        }
    };
    let Some(settings) = settings_from_env() else {
        return exit::BAD_INPUT;
    };
    let aws = match Aws::load(args, true).await {
        Ok(a) => a,
        Err(code) => return code,
    };
    let (keeper, notifier) = match wiring::aws_keeper(&aws.config, settings) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs.unwrap_or(900));
    let sink = crate::log::terminal_sink;
    let answer = crate::handler::handle_any(
        &keeper,
        notifier.as_ref(),
        &payload,
        &request_id,
        Some(deadline),
        &sink,
    )
    .await;
    match answer {
        Ok(crate::handler::Answer::Run(report)) => {
            print_report(&report, output_or(args, Output::Table));
            match report.severity {
                crate::report::Severity::Critical => exit::CRITICAL,
                _ => exit::OK,
            }
        }
        Ok(crate::handler::Answer::Restore(report)) => {
            print_restore(&report, output_or(args, Output::Text));
            exit::OK
        }
        Ok(crate::handler::Answer::Tamper(report)) => {
            print_line(&serde_json::to_string_pretty(&report).unwrap_or_default());
            exit::OK
        }
        Ok(crate::handler::Answer::Audit(report)) => {
            match output_or(args, Output::Table) {
                Output::Csv => print(&crate::policy::audit::csv(&report.findings)),
                Output::Json => {
                    print_line(&serde_json::to_string_pretty(&report).unwrap_or_default())
                }
                Output::Table | Output::Text => print(&crate::render::audit::table(&report)),
            }
            if report.all_compliant() {
                exit::OK
            } else {
                exit::CRITICAL
            }
        }
        Err(InvocationError::RestoreFailed(report)) => {
            print_restore(&report, output_or(args, Output::Text));
            eprintln!("error: {}", InvocationError::RestoreFailed(report.clone()));
            report.outcome.exit_code()
        }
        Err(InvocationError::RunFailed(report)) => {
            print_report(&report, output_or(args, Output::Table));
            // A run that failed only because AWS could not be asked says so, with its class.
            let api: Vec<&crate::report::ErrorEntry> = report
                .errors
                .iter()
                .chain(report.directories.iter().flat_map(|d| d.errors.iter()))
                .collect();
            let classed = api.iter().find_map(|e| {
                let code = failure::exit_code(&failure::from_entry(e));
                (code != exit::FAILED).then(|| (code, failure::from_entry(e)))
            });
            match classed {
                Some((code, e)) => {
                    eprintln!("error: {}", failure::explain(&e, &aws.aim));
                    code
                }
                None => {
                    eprintln!(
                        "error: run ended with {}",
                        crate::render::count(report.summary.failures, "failure")
                    );
                    exit::FAILED
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            if matches!(e, InvocationError::BadEvent(_)) {
                exit::BAD_INPUT
            } else {
                exit::FAILED
            }
        }
    }
}

fn print_report(report: &crate::report::RunReport, output: Output) {
    match output {
        Output::Table => print(&crate::render::table(report)),
        Output::Text => print(&crate::render::text(report)),
        Output::Json | Output::Csv => {
            print_line(&serde_json::to_string_pretty(report).unwrap_or_default())
        }
    }
}

fn print_restore(report: &crate::runner::restore::RestoreReport, output: Output) {
    match output {
        Output::Json | Output::Csv => {
            print_line(&serde_json::to_string_pretty(report).unwrap_or_default())
        }
        Output::Table | Output::Text => print(&report.text()),
    }
}

/// `--before WHEN`, resolved, and said back as the UTC instant it means.
fn before(args: &Args) -> Result<Option<jiff::Timestamp>, String> {
    let Some(raw) = args.before.as_deref() else {
        return Ok(None);
    };
    let tz = when::zone(args.tz.as_deref()).map_err(|e| format!("--tz {e}"))?;
    let t = when::resolve(raw, jiff::Timestamp::now(), &tz).map_err(|e| format!("--before {e}"))?;
    eprintln!("--before {raw}: {} UTC", t.strftime("%Y-%m-%dT%H:%M:%SZ"));
    Ok(Some(t))
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
            // Ctrl-C, and the terminal closing (SIGHUP) or a job being cancelled (SIGTERM):
            // each stops the restore the same way, with its report.
            use tokio::signal::unix::{signal, SignalKind};
            for kind in [
                SignalKind::interrupt(),
                SignalKind::terminate(),
                SignalKind::hangup(),
            ] {
                if let Ok(mut heard) = signal(kind) {
                    let interrupt = interrupt.clone();
                    tokio::spawn(async move {
                        if heard.recv().await.is_some() {
                            eprintln!(
                                "\nInterrupted: no further change is made; finishing the call in \
                                 flight (again to stop at once)"
                            );
                            interrupt.trigger();
                        }
                        // A second one: the call in flight is not waited for.
                        if heard.recv().await.is_some() {
                            eprintln!(
                                "\nStopped at once: the call in flight may or may not have been \
                                 carried out; `ds-snapshot-keeper points` and `mark` show the \
                                 directory as it is"
                            );
                            std::process::exit(exit::INTERRUPTED);
                        }
                    });
                }
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

/// The `restore` command.
async fn restore(args: &Args) -> i32 {
    use crate::policy::restore::Target;
    use std::io::IsTerminal;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.dry_run && !args.yes && !interactive {
        eprintln!(
            "error: a restore overwrites the whole directory and cannot be undone; without a \
             terminal to confirm on, pass --yes (or --dry-run to see the plan)"
        );
        return exit::BAD_INPUT;
    }
    let target = match (&args.snapshot, before(args)) {
        (_, Err(e)) => {
            eprintln!("error: {e}\n{}", help::short(Some(Cmd::Restore)));
            return exit::BAD_INPUT;
        }
        (Some(id), Ok(_)) => Target::Snapshot(id.clone()),
        (None, Ok(Some(t))) if args.include_safety => Target::BeforeAny(t),
        (None, Ok(Some(t))) => Target::Before(t),
        (None, Ok(None)) => unreachable!("args::check requires --snapshot or --before"),
    };
    let Some(settings) = settings_from_env() else {
        return exit::BAD_INPUT;
    };
    let aws = match Aws::load(args, true).await {
        Ok(a) => a,
        Err(code) => return code,
    };
    let region = aws.aim.region.clone().unwrap_or_default();
    let ds = crate::directory::aws::AwsDirectoryService::new(wiring::directory_client(&aws.config));
    let policy = crate::policy::Policy::from(&settings);
    let notifier = settings
        .topic_arn
        .as_deref()
        .map(|arn| wiring::sns_notifier(&aws.config, arn));
    let options = crate::runner::restore::RestoreOptions {
        directory_id: args.directories[0].clone(),
        target,
        dry_run: args.dry_run,
        no_safety_snapshot: args.no_safety_snapshot,
        no_wait: args.no_wait,
        timeout: Duration::from_secs_f64(args.timeout_hours.unwrap_or(4.0) * 3600.0),
        safety_timeout: Duration::from_secs(3600),
        poll_initial: settings.poll_initial,
        poll_max: settings.poll_max,
        by: restorer(),
    };
    let interrupt = crate::runner::restore::Interrupt::default();
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
    use crate::runner::restore::Outcome;
    // A read that failed before anything changed is a failure of its class (credentials, not
    // allowed, unreachable), said in one line.
    if let Outcome::ReadFailed { error } | Outcome::MarkFailed { error } = &report.outcome {
        if report.changed_nothing() {
            return aws.fail(error);
        }
    }
    match output_or(args, Output::Text) {
        Output::Json | Output::Csv => {
            // The words go to stderr, for the person watching; the record to stdout.
            eprint!("{}", report.text());
            print_line(&serde_json::to_string_pretty(&report).unwrap_or_default());
        }
        Output::Table | Output::Text => print(&report.text()),
    }
    match &report.outcome {
        Outcome::SafetyFailed { error } | Outcome::NotStarted { error }
            if failure::exit_code(error) != exit::FAILED =>
        {
            aws.fail(error)
        }
        outcome => outcome.exit_code(),
    }
}

/// The `mark` command: show a directory's restore mark, or remove it.
async fn mark(args: &Args) -> i32 {
    use crate::directory::DirectoryService;
    use crate::policy::restore_mark::{self, MarkState, MARK_KEY};
    let aws = match Aws::load(args, true).await {
        Ok(a) => a,
        Err(code) => return code,
    };
    let directory = &args.directories[0];
    let ds = crate::directory::aws::AwsDirectoryService::new(wiring::directory_client(&aws.config));
    let tags = match ds.directory_tags(directory).await {
        Ok(t) => t,
        Err(e) => return aws.fail(&e),
    };
    let state = restore_mark::read(&tags, jiff::Timestamp::now());
    match output_or(args, Output::Text) {
        Output::Json => print_line(
            &serde_json::to_string_pretty(&serde_json::json!({
                "directory_id": directory, "restore_mark": state,
            }))
            .unwrap_or_default(),
        ),
        _ => print_line(&format!("{directory}: {}", state.describe(directory))),
    }
    if args.clear && state != MarkState::Absent {
        if let Err(e) = ds.remove_tag(directory, MARK_KEY).await {
            return aws.fail(&e);
        }
        eprintln!("{directory}: restore mark removed");
    }
    exit::OK
}

/// The `points` command: every restore point of the directories asked for, in each Region.
async fn points(args: &Args) -> i32 {
    let before = match before(args) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}\n{}", help::short(Some(Cmd::Points)));
            return exit::BAD_INPUT;
        }
    };
    let Some(settings) = settings_from_env() else {
        return exit::BAD_INPUT;
    };
    let aws = match Aws::load(args, args.regions.is_empty()).await {
        Ok(a) => a,
        Err(code) => return code,
    };
    let regions = aws.regions(args);
    let now = jiff::Timestamp::now();
    let mut all = Vec::new();
    let mut code = exit::OK;
    for region in &regions {
        let ds = aws.directory_service(region);
        match crate::runner::points::points(&ds, region, &settings, &args.directories, before, now)
            .await
        {
            Ok(found) => all.extend(found),
            Err(e) => code = code.max(aws.fail_in(region, &e)),
        }
    }
    for id in &args.directories {
        if code == exit::OK && !all.iter().any(|d| &d.directory_id == id) {
            eprintln!(
                "error: directory {id} was not found in {} (snapshots live in a directory's \
                 primary Region: --region)",
                regions.join(", ")
            );
            code = exit::FAILED;
        }
    }
    match output_or(args, Output::Table) {
        Output::Json | Output::Csv => {
            print_line(&serde_json::to_string_pretty(&all).unwrap_or_default())
        }
        Output::Table | Output::Text => {
            if !(all.is_empty() && code != exit::OK) {
                print(&crate::render::points_table(&all));
            }
        }
    }
    code
}

/// The `audit` command: the controls of every directory in scope, in each Region.
async fn audit(args: &Args) -> i32 {
    use crate::policy::audit::AuditParams;
    let Some(settings) = settings_from_env() else {
        return exit::BAD_INPUT;
    };
    let aws = match Aws::load(args, args.regions.is_empty()).await {
        Ok(a) => a,
        Err(code) => return code,
    };
    let regions = aws.regions(args);
    let defaults = AuditParams::default();
    let params = AuditParams {
        max_newest_age_hours: args.max_age_hours.unwrap_or(defaults.max_newest_age_hours),
        min_reach_days: args.min_reach_days.unwrap_or(defaults.min_reach_days),
    };
    let now = jiff::Timestamp::now();
    let mut report = crate::runner::audit::AuditReport {
        generated_at: now,
        params,
        findings: Vec::new(),
    };
    let mut code = exit::OK;
    for region in &regions {
        let ds = aws.directory_service(region);
        match crate::runner::audit::audit_region(
            &ds,
            region,
            &settings,
            &args.directories,
            params,
            now,
        )
        .await
        {
            Ok(found) => report.findings.extend(found),
            Err(e) => code = code.max(aws.fail_in(region, &e)),
        }
    }
    match output_or(args, Output::Table) {
        Output::Json => print_line(&serde_json::to_string_pretty(&report).unwrap_or_default()),
        Output::Csv => print(&crate::policy::audit::csv(&report.findings)),
        Output::Table | Output::Text => print(&crate::render::audit::table(&report)),
    }
    if code != exit::OK {
        return code;
    }
    if report.count(crate::policy::audit::Status::Unknown) > 0 {
        exit::FAILED
    } else if report.all_compliant() {
        exit::OK
    } else {
        exit::CRITICAL
    }
}
