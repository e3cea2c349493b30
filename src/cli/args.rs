//! The command line's flags, one shape for all of them (after ripgrep's `flags/defs.rs`): each
//! flag is a row of [`FLAGS`] naming the commands that take it, its value, its help line and
//! how it is applied. The parser (lexopt) accepts `--flag value` and `--flag=value`, repeated
//! short flags (`-vvv`), and suggests the closest flag or command for a typo. The AWS CLI's
//! habits hold: `--profile` and `--region` on every command, `--output json|table|text` on
//! every command that prints; `--format` stays as a deprecated alias.

use std::ffi::OsString;

/// The commands outside Lambda.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    Invoke,
    Points,
    Restore,
    Mark,
    Audit,
}

impl Cmd {
    pub const ALL: [Cmd; 5] = [
        Cmd::Invoke,
        Cmd::Points,
        Cmd::Restore,
        Cmd::Mark,
        Cmd::Audit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cmd::Invoke => "invoke",
            Cmd::Points => "points",
            Cmd::Restore => "restore",
            Cmd::Mark => "mark",
            Cmd::Audit => "audit",
        }
    }

    fn from_name(name: &str) -> Option<Cmd> {
        Cmd::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    Table,
    Text,
    /// `audit` only: what an auditor opens in a spreadsheet.
    Csv,
}

/// Everything the command line can say, parsed and checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    pub profile: Option<String>,
    pub regions: Vec<String>,
    /// `None`: the command's default for a terminal, JSON otherwise.
    pub output: Option<Output>,
    pub verbosity: u8,
    pub log_json: bool,
    pub help: bool,
    pub event: Option<String>,
    pub timeout_secs: Option<u64>,
    pub directories: Vec<String>,
    pub snapshot: Option<String>,
    pub before: Option<String>,
    pub tz: Option<String>,
    pub include_safety: bool,
    pub dry_run: bool,
    pub yes: bool,
    pub no_safety_snapshot: bool,
    pub no_wait: bool,
    pub timeout_hours: Option<f64>,
    pub clear: bool,
    pub max_age_hours: Option<i64>,
    pub min_reach_days: Option<i64>,
    /// Deprecated spellings used, to warn about once.
    pub deprecated: Vec<String>,
}

type Apply = fn(&mut Args, String) -> Result<(), String>;

/// One flag.
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    /// The value's name in help (`FILE`), `None` for a switch.
    pub value: Option<&'static str>,
    pub commands: &'static [Cmd],
    pub help: &'static str,
    /// The flag this one is a deprecated spelling of.
    pub alias_of: Option<&'static str>,
    apply: Apply,
}

const ALL: &[Cmd] = &Cmd::ALL;
const PRINTING: &[Cmd] = &[
    Cmd::Invoke,
    Cmd::Points,
    Cmd::Restore,
    Cmd::Mark,
    Cmd::Audit,
];

fn directory_id(v: &str) -> Result<String, String> {
    if crate::naming::is_directory_id(v) {
        Ok(v.to_owned())
    } else {
        Err(format!(
            "{}: not a directory id (d- and 10 hexadecimal digits, as `aws ds describe-directories` shows them)",
            crate::naming::escape_for_log(v, 40)
        ))
    }
}

fn output(v: &str) -> Result<Output, String> {
    match v {
        "json" => Ok(Output::Json),
        "table" => Ok(Output::Table),
        "text" => Ok(Output::Text),
        "csv" => Ok(Output::Csv),
        other => Err(format!(
            "{}: expected json, table or text (csv for audit)",
            crate::naming::escape_for_log(other, 20)
        )),
    }
}

/// Every flag of every command.
pub const FLAGS: &[Flag] = &[
    Flag {
        long: "profile",
        short: None,
        value: Some("NAME"),
        commands: ALL,
        help: "use this profile of your AWS config and credentials files (as AWS_PROFILE)",
        alias_of: None,
        apply: |a, v| {
            a.profile = Some(v);
            Ok(())
        },
    },
    Flag {
        long: "region",
        short: None,
        value: Some("REGION"),
        commands: ALL,
        help: "the AWS Region (as AWS_REGION); points and audit take it more than once",
        alias_of: None,
        apply: |a, v| {
            a.regions.push(v);
            Ok(())
        },
    },
    Flag {
        long: "output",
        short: Some('o'),
        value: Some("FORMAT"),
        commands: PRINTING,
        help: "json, table or text (default: table or text on a terminal, json otherwise)",
        alias_of: None,
        apply: |a, v| {
            a.output = Some(output(&v)?);
            Ok(())
        },
    },
    Flag {
        long: "format",
        short: None,
        value: Some("FORMAT"),
        commands: PRINTING,
        help: "deprecated: --output",
        alias_of: Some("output"),
        apply: |a, v| {
            a.output = match v.as_str() {
                "auto" => None,
                other => Some(output(other)?),
            };
            Ok(())
        },
    },
    Flag {
        long: "event",
        short: Some('e'),
        value: Some("FILE"),
        commands: &[Cmd::Invoke],
        help: "the event (default: stdin; - also means stdin); see `help` for the actions",
        alias_of: None,
        apply: |a, v| {
            a.event = Some(v);
            Ok(())
        },
    },
    Flag {
        long: "timeout",
        short: None,
        value: Some("SECONDS"),
        commands: &[Cmd::Invoke],
        help: "give the invocation this long, as a Lambda timeout does (1..=900, default 900)",
        alias_of: None,
        apply: |a, v| {
            a.timeout_secs = Some(
                v.parse()
                    .ok()
                    .filter(|t| (1..=900).contains(t))
                    .ok_or_else(|| format!("{v:?}: expected 1..=900 seconds"))?,
            );
            Ok(())
        },
    },
    Flag {
        long: "directory",
        short: Some('d'),
        value: Some("ID"),
        commands: &[Cmd::Points, Cmd::Restore, Cmd::Mark, Cmd::Audit],
        help: "the directory (d-...); points and audit take it more than once",
        alias_of: None,
        apply: |a, v| {
            a.directories.push(directory_id(&v)?);
            Ok(())
        },
    },
    Flag {
        long: "snapshot",
        short: None,
        value: Some("ID"),
        commands: &[Cmd::Restore],
        help: "restore this snapshot (s-...)",
        alias_of: None,
        apply: |a, v| {
            if !crate::naming::is_snapshot_id(&v) {
                return Err(format!(
                    "{}: not a snapshot id (s- and 10 hexadecimal digits)",
                    crate::naming::escape_for_log(&v, 40)
                ));
            }
            a.snapshot = Some(v);
            Ok(())
        },
    },
    Flag {
        long: "before",
        short: None,
        value: Some("WHEN"),
        commands: &[Cmd::Points, Cmd::Restore],
        help: "the newest restorable point before WHEN: 36h, 2d (ago), yesterday, 2026-12-05, \
               2026-12-05T01:00:00 (in --tz) or RFC 3339",
        alias_of: None,
        apply: |a, v| {
            a.before = Some(v);
            Ok(())
        },
    },
    Flag {
        long: "tz",
        short: None,
        value: Some("ZONE"),
        commands: &[Cmd::Points, Cmd::Restore],
        help: "the time zone of a --before date without an offset (default: TZ, else UTC)",
        alias_of: None,
        apply: |a, v| {
            a.tz = Some(v);
            Ok(())
        },
    },
    Flag {
        long: "include-safety",
        short: None,
        value: None,
        commands: &[Cmd::Restore],
        help: "let --before pick a safety snapshot too",
        alias_of: None,
        apply: |a, _| {
            a.include_safety = true;
            Ok(())
        },
    },
    Flag {
        long: "dry-run",
        short: None,
        value: None,
        commands: &[Cmd::Restore],
        help: "the checks and the plan only: the restore drill, safe on production",
        alias_of: None,
        apply: |a, _| {
            a.dry_run = true;
            Ok(())
        },
    },
    Flag {
        long: "yes",
        short: Some('y'),
        value: None,
        commands: &[Cmd::Restore],
        help: "confirm without a terminal (on a terminal, type the directory id)",
        alias_of: None,
        apply: |a, _| {
            a.yes = true;
            Ok(())
        },
    },
    Flag {
        long: "no-safety-snapshot",
        short: None,
        value: None,
        commands: &[Cmd::Restore],
        help: "restore without keeping the present state",
        alias_of: None,
        apply: |a, _| {
            a.no_safety_snapshot = true;
            Ok(())
        },
    },
    Flag {
        long: "no-wait",
        short: None,
        value: None,
        commands: &[Cmd::Restore],
        help: "return once the restore has started",
        alias_of: None,
        apply: |a, _| {
            a.no_wait = true;
            Ok(())
        },
    },
    Flag {
        long: "timeout-hours",
        short: None,
        value: Some("H"),
        commands: &[Cmd::Restore],
        help: "follow the restore this long (more than 0, at most 48; default 4)",
        alias_of: None,
        apply: |a, v| {
            a.timeout_hours = Some(
                v.parse()
                    .ok()
                    .filter(|h: &f64| h.is_finite() && *h > 0.0 && *h <= 48.0)
                    .ok_or_else(|| {
                        format!("{v:?}: expected a number of hours, more than 0 and at most 48")
                    })?,
            );
            Ok(())
        },
    },
    Flag {
        long: "clear",
        short: None,
        value: None,
        commands: &[Cmd::Mark],
        help: "remove the mark: only when the restore it names is known to be dead",
        alias_of: None,
        apply: |a, _| {
            a.clear = true;
            Ok(())
        },
    },
    Flag {
        long: "max-age-hours",
        short: None,
        value: Some("H"),
        commands: &[Cmd::Audit],
        help: "DSK-RECENT: the newest Completed snapshot is younger than H hours (default 26)",
        alias_of: None,
        apply: |a, v| {
            a.max_age_hours = Some(
                v.parse()
                    .ok()
                    .filter(|h| (1..=8760).contains(h))
                    .ok_or_else(|| format!("{v:?}: expected whole hours, 1..=8760"))?,
            );
            Ok(())
        },
    },
    Flag {
        long: "min-reach-days",
        short: None,
        value: Some("D"),
        commands: &[Cmd::Audit],
        help: "DSK-REACH: a restorable snapshot reaches back at least D days (default 7)",
        alias_of: None,
        apply: |a, v| {
            a.min_reach_days = Some(
                v.parse()
                    .ok()
                    .filter(|d| (0..180).contains(d))
                    .ok_or_else(|| format!("{v:?}: expected whole days, 0..=179"))?,
            );
            Ok(())
        },
    },
    Flag {
        long: "verbose",
        short: Some('v'),
        value: None,
        commands: ALL,
        help: "more log lines on stderr, repeatable: -v INFO, -vv DEBUG, -vvv TRACE",
        alias_of: None,
        apply: |a, _| {
            a.verbosity = a.verbosity.saturating_add(1);
            Ok(())
        },
    },
    Flag {
        long: "log-format",
        short: None,
        value: Some("FORMAT"),
        commands: ALL,
        help: "text (default: readable lines) or json (the Lambda schema's lines)",
        alias_of: None,
        apply: |a, v| {
            a.log_json = match v.as_str() {
                "text" => false,
                "json" => true,
                other => {
                    return Err(format!(
                        "{}: expected text or json",
                        crate::naming::escape_for_log(other, 20)
                    ))
                }
            };
            Ok(())
        },
    },
    Flag {
        long: "help",
        short: Some('h'),
        value: None,
        commands: ALL,
        help: "this help",
        alias_of: None,
        apply: |a, _| {
            a.help = true;
            Ok(())
        },
    },
];

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// No arguments: serve Lambda (or explain, outside it).
    Nothing,
    Version,
    /// `help`, `help COMMAND`, `help settings`, `help exit-codes`.
    Help(Option<String>),
    Run(Cmd, Box<Args>),
}

/// A command-line mistake: what was wrong, and the command it was for.
#[derive(Debug, Clone, PartialEq)]
pub struct Mistake {
    pub problem: String,
    pub command: Option<Cmd>,
}

fn mistake(command: Option<Cmd>, problem: String) -> Mistake {
    Mistake { problem, command }
}

/// Parse the arguments after the program's name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, Mistake> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let first = match parser.next().map_err(|e| mistake(None, e.to_string()))? {
        None => return Ok(Parsed::Nothing),
        Some(Long("version") | Short('V')) => return Ok(Parsed::Version),
        Some(Long("help") | Short('h')) => return Ok(Parsed::Help(None)),
        Some(Value(v)) => v
            .string()
            .map_err(|_| mistake(None, "a command must be text".into()))?,
        Some(other) => {
            return Err(mistake(
                None,
                format!(
                    "{} before a command; give the command first",
                    describe(&other)
                ),
            ))
        }
    };
    if first == "help" {
        let topic = match parser.next().map_err(|e| mistake(None, e.to_string()))? {
            Some(Value(v)) => Some(v.string().unwrap_or_default()),
            _ => None,
        };
        return Ok(Parsed::Help(topic));
    }
    let Some(cmd) = Cmd::from_name(&first) else {
        let names: Vec<&str> = Cmd::ALL.iter().map(|c| c.name()).chain(["help"]).collect();
        return Err(mistake(
            None,
            format!(
                "unknown command {}{}",
                crate::naming::escape_for_log(&first, 40),
                did_you_mean(&first, &names)
            ),
        ));
    };
    let mut args = Args::default();
    while let Some(arg) = parser
        .next()
        .map_err(|e| mistake(Some(cmd), e.to_string()))?
    {
        let flag = match &arg {
            Long(name) => FLAGS
                .iter()
                .find(|f| f.long == *name && f.commands.contains(&cmd)),
            Short(c) => FLAGS
                .iter()
                .find(|f| f.short == Some(*c) && f.commands.contains(&cmd)),
            Value(v) => {
                return Err(mistake(
                    Some(cmd),
                    format!(
                        "unexpected argument {}",
                        crate::naming::escape_for_log(&v.to_string_lossy(), 40)
                    ),
                ))
            }
        };
        let Some(flag) = flag else {
            return Err(mistake(Some(cmd), unknown_flag(&arg, cmd)));
        };
        let value = match flag.value {
            Some(what) => parser
                .value()
                .map_err(|_| mistake(Some(cmd), format!("--{} needs {what}", flag.long)))?
                .string()
                .map_err(|_| {
                    mistake(
                        Some(cmd),
                        format!("--{}: the value must be text", flag.long),
                    )
                })?,
            None => String::new(),
        };
        if let Some(new) = flag.alias_of {
            args.deprecated
                .push(format!("--{} is deprecated: use --{new}", flag.long));
        }
        (flag.apply)(&mut args, value)
            .map_err(|problem| mistake(Some(cmd), format!("--{} {problem}", flag.long)))?;
    }
    if !args.help {
        check(cmd, &args).map_err(|p| mistake(Some(cmd), p))?;
    }
    Ok(Parsed::Run(cmd, Box::new(args)))
}

/// What a command needs beyond single flags.
fn check(cmd: Cmd, a: &Args) -> Result<(), String> {
    if a.output == Some(Output::Csv) && cmd != Cmd::Audit {
        return Err(format!(
            "--output csv goes with audit; {} takes json, table or text",
            cmd.name()
        ));
    }
    if !matches!(cmd, Cmd::Points | Cmd::Audit) && a.regions.len() > 1 {
        return Err(format!("{} takes one --region", cmd.name()));
    }
    match cmd {
        Cmd::Restore => {
            if a.directories.len() != 1 {
                return Err("give one --directory d-...".to_owned());
            }
            match (&a.snapshot, &a.before) {
                (Some(_), Some(_)) => return Err("give one of --snapshot and --before".to_owned()),
                (None, None) => {
                    return Err(
                        "give the snapshot to restore: --snapshot s-... or --before WHEN"
                            .to_owned(),
                    )
                }
                (Some(_), None) if a.include_safety => {
                    return Err("--include-safety goes with --before".to_owned())
                }
                _ => {}
            }
        }
        Cmd::Mark if a.directories.len() != 1 => {
            return Err("give one --directory d-...".to_owned())
        }
        _ => {}
    }
    Ok(())
}

fn describe(arg: &lexopt::Arg<'_>) -> String {
    match arg {
        lexopt::Arg::Long(n) => format!("--{n}"),
        lexopt::Arg::Short(c) => format!("-{c}"),
        lexopt::Arg::Value(v) => crate::naming::escape_for_log(&v.to_string_lossy(), 40),
    }
}

fn unknown_flag(arg: &lexopt::Arg<'_>, cmd: Cmd) -> String {
    let said = describe(arg);
    let elsewhere: Vec<&str> = match arg {
        lexopt::Arg::Long(n) => FLAGS
            .iter()
            .filter(|f| f.long == *n)
            .flat_map(|f| f.commands.iter().map(|c| c.name()))
            .collect(),
        _ => Vec::new(),
    };
    if !elsewhere.is_empty() {
        return format!(
            "{} does not take {said} (it goes with {})",
            cmd.name(),
            elsewhere.join(", ")
        );
    }
    let ours: Vec<String> = FLAGS
        .iter()
        .filter(|f| f.commands.contains(&cmd) && f.alias_of.is_none())
        .map(|f| format!("--{}", f.long))
        .collect();
    let ours: Vec<&str> = ours.iter().map(String::as_str).collect();
    format!(
        "unknown option {said} for {}{}",
        cmd.name(),
        did_you_mean(&said, &ours)
    )
}

/// "; did you mean --region?" when one candidate is close.
pub fn did_you_mean(said: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (distance(said, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| format!("; did you mean {c}?"))
        .unwrap_or_default()
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Parsed, Mistake> {
        parse(args.iter().map(OsString::from))
    }

    fn args(line: &[&str]) -> Args {
        match run(line).unwrap() {
            Parsed::Run(_, a) => *a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_flag_takes_the_aws_cli_spellings() {
        let a = args(&[
            "points",
            "--profile=prod",
            "--region",
            "eu-west-1",
            "--region=us-east-1",
            "--output=json",
            "-vvvv",
            "--directory",
            "d-0123456789",
        ]);
        assert_eq!(a.profile.as_deref(), Some("prod"));
        assert_eq!(a.regions, vec!["eu-west-1", "us-east-1"]);
        assert_eq!(a.output, Some(Output::Json));
        assert_eq!(a.verbosity, 4);
        let a = args(&["invoke", "--format", "table", "--region", "eu-west-1"]);
        assert_eq!(a.output, Some(Output::Table));
        assert_eq!(a.deprecated, vec!["--format is deprecated: use --output"]);
    }

    #[test]
    fn version_and_help_need_nothing_else() {
        assert_eq!(run(&["--version"]).unwrap(), Parsed::Version);
        assert_eq!(run(&["-V"]).unwrap(), Parsed::Version);
        assert_eq!(
            run(&["help", "invoke"]).unwrap(),
            Parsed::Help(Some("invoke".into()))
        );
        // --help wins over missing required flags.
        assert!(
            matches!(run(&["restore", "--help"]).unwrap(), Parsed::Run(Cmd::Restore, a) if a.help)
        );
    }

    #[test]
    fn typos_get_a_suggestion_and_misplaced_flags_say_where_they_go() {
        let e = run(&["pionts"]).unwrap_err();
        assert!(e.problem.contains("did you mean points?"), "{}", e.problem);
        let e = run(&["points", "--regoin", "x"]).unwrap_err();
        assert!(
            e.problem.contains("did you mean --region?"),
            "{}",
            e.problem
        );
        let e = run(&["invoke", "--snapshot", "s-0123456789"]).unwrap_err();
        assert!(e.problem.contains("it goes with restore"), "{}", e.problem);
        let e = run(&["restore", "--directory", "d-0123456789"]).unwrap_err();
        assert!(
            e.problem.contains("--snapshot s-... or --before"),
            "{}",
            e.problem
        );
        let e = run(&[
            "restore",
            "--directory",
            "nope",
            "--snapshot",
            "s-0123456789",
        ])
        .unwrap_err();
        assert!(
            e.problem
                .starts_with("--directory \"nope\": not a directory id"),
            "{}",
            e.problem
        );
        let e = run(&["invoke", "--region", "a", "--region", "b"]).unwrap_err();
        assert!(e.problem.contains("one --region"), "{}", e.problem);
    }
}
