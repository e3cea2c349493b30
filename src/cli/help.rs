//! What `--help` says: the commands, the events, the settings, the logs and the exit codes.
//! Each text is laid out as printed (raw strings keep their indents); the settings come from
//! [`crate::settings::SETTINGS`] and the events files are checked against `events/` by a test.

use super::args::{Cmd, FLAGS};
use crate::settings::SETTINGS;

/// The `events/` files, each with what it asks for. `tests/it/command_line.rs` holds this
/// list to the directory.
pub const EVENTS: &[(&str, &str)] = &[
    (
        "eventbridge-rule-schedule.json",
        "what an EventBridge schedule rule sends: a run",
    ),
    (
        "scheduler-default.json",
        "what EventBridge Scheduler sends by default: a run",
    ),
    (
        "scheduler-custom-input.json",
        "a Scheduler target with custom input: a run",
    ),
    (
        "manual-run-dry-run.json",
        "a run that changes nothing and says what it would do",
    ),
    (
        "manual-snapshot-before-schema-extension.json",
        "a snapshot now, before a risky change",
    ),
    ("manual-prune.json", "only the deletions the rules choose"),
    (
        "manual-report.json",
        "change nothing; the restore reach and quota",
    ),
    (
        "manual-restore-drill.json",
        "the restore drill: checks and plan, no restore",
    ),
];

/// `ds-snapshot-keeper help` (and `--help`, `-h`).
pub fn overview() -> String {
    let mut events = String::new();
    for (file, what) in EVENTS {
        events.push_str(&format!("    events/{file}\n        {what}\n"));
    }
    format!(
        r#"usage: ds-snapshot-keeper [COMMAND] [OPTIONS]
ds-snapshot-keeper {version}: scheduled, quota-safe snapshots for AWS Directory Service.

Under AWS Lambda (AWS_LAMBDA_RUNTIME_API set) it serves invocations. Outside Lambda:
  invoke [OPTIONS]     run one invocation here, as Lambda would, and print the run report
  points [OPTIONS]     list the restore points of each directory (read-only)
  restore [OPTIONS]    restore a directory from a snapshot, with confirmation
  mark [OPTIONS]       show (or clear) a directory's restore mark
  audit [OPTIONS]      the backup controls of every directory, with evidence (json, csv)
  help [TOPIC]         this text; `help COMMAND`, `help settings`, `help exit-codes`
Every command takes --help, --profile, --region and (when it prints) --output
json|table|text, as the AWS CLI does; --version prints the version.

Events (the Lambda's input, or `invoke --event FILE`):
  {{"action": "run"}}        snapshot when due, then prune: what a schedule sends
  {{"action": "snapshot"}}   take a snapshot now ("force": true even if one is recent)
  {{"action": "prune"}}      only the deletions the rules choose
  {{"action": "report"}}     change nothing; report restore reach, quota and flags
  The first four take "directory_ids": ["d-..."] (a subset) and "dry_run": true.
  {{"action": "restore", "directory_id": "d-...", "snapshot_id": "s-..." | "before": TIME,
   "confirm": "d-..."}}      restore (only with ALLOW_RESTORE=true; "confirm" repeats the
                           directory id; "dry_run": true drills it instead). Examples:
{events}
Settings: {count} environment variables, read at start, refused with a clear error
  if wrong (exit 2). `ds-snapshot-keeper help settings` lists them; the main ones are
  DIRECTORY_IDS or DISCOVERY_TAG (which directories), RETAIN_COUNT or RETENTION=tiered
  (how many to keep), SNS_TOPIC_ARN (where failures go) and DRY_RUN.

Logs: outside Lambda, readable lines on stderr, warnings and errors only; -v adds INFO,
  -vv DEBUG; --log-format json writes the Lambda schema's lines. RUST_LOG, then
  AWS_LAMBDA_LOG_LEVEL, then POWERTOOLS_LOG_LEVEL set the level when -v is not given.

Exit codes: 0 success, 1 failures, 2 bad input or refused, 3 critical finding, 4 timed
  out, 5 unconfirmed restore, 6 credentials, 7 not allowed, 8 unreachable, 130
  interrupted: `ds-snapshot-keeper help exit-codes`.
"#,
        version = env!("CARGO_PKG_VERSION"),
        count = SETTINGS.len(),
    )
}

/// `ds-snapshot-keeper help settings`: every variable, its default and what it accepts.
pub fn settings() -> String {
    let mut out =
        String::from("Settings (environment variables; the README's table says the same):\n\n");
    for s in SETTINGS {
        let default = match s.default {
            Some(d) => format!("default {d}"),
            None => s.unset.to_owned(),
        };
        out.push_str(&format!("  {}  ({})\n", s.variable, plain(&default)));
        let accepted = match s.meaning {
            "" => s.accepted(),
            meaning => format!("{}: {meaning}", s.accepted()),
        };
        for line in wrap(&plain(&accepted), 84) {
            out.push_str(&format!("      {line}\n"));
        }
    }
    out
}

/// The README's Markdown, for a terminal: no backticks.
fn plain(text: &str) -> String {
    text.replace('`', "")
}

/// Words wrapped at `width` columns.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("one line at least");
        if !last.is_empty() && last.len() + 1 + word.len() > width {
            lines.push(word.to_owned());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

/// What each command is for, above its flags.
fn about(cmd: Cmd) -> (&'static str, &'static str) {
    match cmd {
        Cmd::Invoke => (
            "[--event FILE] [OPTIONS]",
            "Runs one invocation here with the same handler as the Lambda, against the account\n\
             of your credentials (or the local emulator with AWS_ENDPOINT_URL), and prints the\n\
             run report. Exit 3 when the report is critical (no restorable snapshot left).",
        ),
        Cmd::Points => (
            "[--directory ID]... [--region REGION]... [OPTIONS]",
            "Lists every snapshot of each directory, newest first: restorable until when, who\n\
             holds it (the keeper and its role, someone else, AWS, a restore's safety snapshot),\n\
             and any restore under way. Default: every directory the settings manage. Read-only.",
        ),
        Cmd::Restore => (
            "--directory ID (--snapshot ID | --before WHEN) [OPTIONS]",
            "Restores the directory from the snapshot: checks it, says what is lost, asks you to\n\
             confirm, marks the directory, keeps a safety snapshot of the present, restores once\n\
             and follows it (2 to 3 hours) to the end. Run `points` and `--dry-run` first.",
        ),
        Cmd::Audit => (
            "[--region REGION]... [--directory ID]... [OPTIONS]",
            "Evaluates the controls for every directory in scope, in each Region, with the\n\
             evidence an auditor asks for: DSK-RECENT, DSK-REACH, DSK-HEADROOM, DSK-SAFETY-HELD,\n\
             each compliant, non-compliant or unknown. --output csv for a spreadsheet. Exit 0\n\
             when every control is compliant, 3 when one is not. Read-only.",
        ),
        Cmd::Mark => (
            "--directory ID [--clear]",
            "Shows the directory's restore mark (the tag ds-snapshot-keeper:restore a restore\n\
             carries from its confirmation to its end, which keeps runs away); --clear removes\n\
             it, only when the restore it names is dead. It expires 2 hours after its renewal.",
        ),
    }
}

/// `ds-snapshot-keeper COMMAND --help`, rendered from the flags table (at most 40 lines).
pub fn command(cmd: Cmd) -> String {
    let (usage, what) = about(cmd);
    let mut out = format!("usage: ds-snapshot-keeper {} {usage}\n{what}\n", cmd.name());
    for f in FLAGS
        .iter()
        .filter(|f| f.commands.contains(&cmd) && f.alias_of.is_none())
    {
        let short = f.short.map(|c| format!("-{c}, ")).unwrap_or_default();
        let left = match f.value {
            Some(v) => format!("{short}--{} {v}", f.long),
            None => format!("{short}--{}", f.long),
        };
        let mut lines = wrap(f.help, 58).into_iter();
        out.push_str(&format!(
            "  {left:<26}{}\n",
            lines.next().unwrap_or_default()
        ));
        for line in lines {
            out.push_str(&format!("  {:<26}{line}\n", ""));
        }
    }
    out.push_str("Exit codes: `ds-snapshot-keeper help exit-codes`.\n");
    out
}

/// The first line of a command's help, and where the rest is: what a mistake gets.
pub fn short(cmd: Option<Cmd>) -> String {
    match cmd {
        Some(c) => format!(
            "usage: ds-snapshot-keeper {} {}\n(`ds-snapshot-keeper {} --help` for more)",
            c.name(),
            about(c).0,
            c.name()
        ),
        None => "usage: ds-snapshot-keeper COMMAND [OPTIONS] (`ds-snapshot-keeper help` for more)"
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_help_line_is_wider_than_a_terminal_or_loses_its_indent() {
        for (name, text) in [
            ("overview", overview()),
            ("settings", settings()),
            ("invoke", command(Cmd::Invoke)),
            ("restore", command(Cmd::Restore)),
            ("points", command(Cmd::Points)),
            ("mark", command(Cmd::Mark)),
        ] {
            let lines: Vec<&str> = text.lines().collect();
            for pair in lines.windows(2).skip(1) {
                let (before, line) = (pair[0], pair[1]);
                assert!(line.chars().count() <= 92, "{name}: {line}");
                // An option's or an item's description goes on indented, never at column 0.
                if before.starts_with("  ") && line.starts_with(char::is_lowercase) {
                    panic!("{name}: a continuation line lost its indent: {line:?}");
                }
            }
        }
    }

    #[test]
    fn help_names_every_events_file_and_only_settings_that_exist() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/events");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            // The tamper-* files are CloudTrail records for the tamper rule's tests
            // (docs/tamper-alert.md), not requests a person sends.
            .filter(|f| !f.starts_with("tamper-"))
            .collect();
        files.sort();
        let mut named: Vec<String> = EVENTS.iter().map(|(f, _)| f.to_string()).collect();
        named.sort();
        assert_eq!(named, files, "help's EVENTS and events/ differ");
        let text = overview();
        for (file, _) in EVENTS {
            assert!(text.contains(&format!("events/{file}")), "{file}");
        }
        // Every SHOUTED_NAME in the help is a setting or a variable AWS, Rust or Powertools
        // defines.
        let words = text
            .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .filter(|w| w.len() > 4 && w.contains('_'));
        for word in words {
            let known = SETTINGS.iter().any(|s| s.variable == word)
                || ["AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"].contains(&word)
                || word.starts_with("POWERTOOLS_");
            assert!(known, "help names {word}, which nothing reads");
        }
    }

    #[test]
    fn every_commands_help_fits_a_screen_and_names_every_flag_it_takes() {
        for cmd in Cmd::ALL {
            let text = command(cmd);
            assert!(
                text.lines().count() <= 40,
                "{}: {} lines",
                cmd.name(),
                text.lines().count()
            );
            for f in FLAGS
                .iter()
                .filter(|f| f.commands.contains(&cmd) && f.alias_of.is_none())
            {
                assert!(
                    text.contains(&format!("--{}", f.long)),
                    "{}: --{}",
                    cmd.name(),
                    f.long
                );
            }
            assert!(short(Some(cmd)).contains(&format!("ds-snapshot-keeper {} --help", cmd.name())));
        }
    }

    #[test]
    fn help_settings_names_every_setting_with_its_default() {
        let text = settings();
        for s in SETTINGS {
            assert!(
                text.contains(&format!("  {}  (", s.variable)),
                "{}",
                s.variable
            );
            if let Some(d) = s.default {
                assert!(
                    text.contains(&format!("default {}", plain(d))),
                    "{}",
                    s.variable
                );
            }
        }
        assert!(!text.contains('`'));
    }
}
