//! What `--help` says: the commands, the events, the settings, the logs and the exit codes.
//! Each text is laid out as printed (raw strings keep their indents); the settings come from
//! [`crate::settings::SETTINGS`] and the events files are checked against `events/` by a test.

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
  help [settings]      this text, or every setting with its default and accepted values
Each command takes --help.

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

Exit codes (invoke): 0 clean run, 1 run with failures, 2 bad event, settings or
  arguments (nothing changed). `restore --help` and `points --help` give theirs.
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

/// `ds-snapshot-keeper invoke --help`.
pub const INVOKE: &str = r#"usage: ds-snapshot-keeper invoke [--event FILE|-] [--timeout SECONDS] [--format F] [-v] [--log-format F]
Runs one invocation here with the same handler and wiring as the Lambda, against the AWS
account of your credentials (AWS_PROFILE, AWS_REGION), or the local emulator with
AWS_ENDPOINT_URL, and prints the run report on stdout.
  --event FILE        the event (default: stdin; '-' also means stdin); see `help` for the
                      actions and the events/ files
  --timeout S         give the invocation S seconds, as a Lambda timeout does (1..=900,
                      default 900)
  --format F          auto (default: table on a terminal, json otherwise), json, table (one
                      row per directory: restore reach, quota, actions) or text (the e-mail)
  -v, -vv, -vvv       more log lines on stderr: INFO, DEBUG, TRACE
  --log-format F      text (default: readable lines) or json (the Lambda schema's lines)
Exit codes: 0 clean run, 1 run with failures, 2 bad event, settings or arguments
(nothing changed)."#;

/// `ds-snapshot-keeper restore --help`.
pub const RESTORE: &str = r#"usage: ds-snapshot-keeper restore --directory d-... (--snapshot s-... | --before TIME) [OPTIONS]
Restores the directory from the snapshot, with your own AWS credentials (AWS_PROFILE;
AWS_REGION: the directory's primary Region). It checks the snapshot, says what is lost,
asks you to confirm, takes a safety snapshot of the present, restores, and follows the
restore (about 2 to 3 hours) until it ends. Run `points` first to choose.
  --snapshot s-...        restore this snapshot
  --before TIME           the newest restorable snapshot taken before TIME (RFC 3339,
                          e.g. 2026-11-20T05:00:00Z); never a safety snapshot unless
  --include-safety        is given too
  --dry-run               the checks and the plan only: the restore drill, safe to run on
                          production
  --yes                   confirm without a terminal (on a terminal, type the directory id)
  --no-safety-snapshot    restore without keeping the present state
  --no-wait               return once the restore has started
  --timeout-hours H       follow the restore this long (more than 0, at most 48; default 4)
  --format F              auto (default: text on a terminal, json otherwise), json or text
  -v, -vv, -vvv           more log lines on stderr: INFO, DEBUG, TRACE
  --log-format F          text (default) or json
Exit codes: 0 restored (or planned, or started), 1 failed, 2 refused or not confirmed,
4 still restoring (or the safety snapshot still Creating) when the wait ended, 5 the
restore's answer was lost and it may have started, 130 interrupted (the report says what
was changed). While it runs the directory carries a restore mark: see `mark --help`."#;

/// `ds-snapshot-keeper mark --help`.
pub const MARK: &str = r#"usage: ds-snapshot-keeper mark --directory d-... [--clear]
Shows the directory's restore mark: the tag (ds-snapshot-keeper:restore) a restore puts on
the directory from its confirmation until it ends, so that scheduled runs and other
restores leave the directory, the target and the safety snapshot alone. A mark expires on
its own 2 hours after its last renewal (a running restore renews it).
  --directory D       the directory (required)
  --clear             remove the mark: only when the restore it names is known to be dead
  -v, -vv, -vvv       more log lines on stderr: INFO, DEBUG, TRACE
  --log-format F      text (default) or json
Exit codes: 0 shown (or removed), 1 an AWS call failed, 2 bad arguments."#;

/// `ds-snapshot-keeper points --help`.
pub const POINTS: &str = r#"usage: ds-snapshot-keeper points [--directory d-...]... [--region R]... [--before TIME] [OPTIONS]
Lists every snapshot of each directory, newest first: type, status, start, age, restorable
until (start + 180 days) and days left, who holds it (the keeper and the role it gives it,
someone else, AWS), and whether it can be restored now. Read-only.
  --directory D       this directory (repeatable); default: every directory the configured
                      scope manages (DIRECTORY_IDS, or discovery with DISCOVERY_TAG)
  --region R          this Region (repeatable: the primary Regions of a fleet); default
                      AWS_REGION
  --before TIME       mark the newest restorable point taken before TIME (RFC 3339)
  --format F          auto (default: table on a terminal, json otherwise), json or table
  -v, -vv, -vvv       more log lines on stderr: INFO, DEBUG, TRACE
  --log-format F      text (default) or json
Exit codes: 0 listed, 1 an AWS call failed or a directory was not found, 2 bad arguments
or settings."#;

/// The first line of a usage text, and where the rest is: what a mistake gets. The command
/// is the usage line's words before its first option (`ds-snapshot-keeper invoke`).
pub fn short(usage: &str) -> String {
    let first = usage.lines().next().unwrap_or_default();
    let command: Vec<&str> = first
        .trim_start_matches("usage:")
        .split_whitespace()
        .take_while(|w| !w.starts_with(['[', '-', '(']))
        .collect();
    format!("{first}\nRun `{} --help` for more.", command.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_help_line_is_wider_than_a_terminal_or_loses_its_indent() {
        for (name, text) in [
            ("overview", overview()),
            ("settings", settings()),
            ("invoke", INVOKE.to_owned()),
            ("restore", RESTORE.to_owned()),
            ("points", POINTS.to_owned()),
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
    fn a_mistake_names_the_command_whose_help_to_read() {
        assert!(short(INVOKE).ends_with("Run `ds-snapshot-keeper invoke --help` for more."));
        assert!(short(POINTS).ends_with("Run `ds-snapshot-keeper points --help` for more."));
        assert!(short(&overview()).ends_with("Run `ds-snapshot-keeper --help` for more."));
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
