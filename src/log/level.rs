//! Which lines are written: the log level, from the command line and the environment.
//!
//! | precedence | where it comes from | accepted |
//! |---|---|---|
//! | 1 | `-v` / `-vv` / `-vvv` on the command line (outside Lambda only) | INFO, DEBUG, TRACE |
//! | 2 | `RUST_LOG` | `level` or `target=level`, comma-separated |
//! | 3 | `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls: the templates' `LogLevel`) | TRACE, DEBUG, INFO, WARN, ERROR, FATAL |
//! | 4 | `POWERTOOLS_LOG_LEVEL` (the Powertools for AWS Lambda habit) | DEBUG, INFO, WARN(ING), ERROR, CRITICAL, TRACE, SILENT |
//! | 5 | the default | INFO in Lambda, WARN on a terminal |
//!
//! As in Powertools, `POWERTOOLS_LOG_LEVEL` gives way to Lambda's own level when both are set
//! (Lambda drops lines below its level whatever the function writes), and the keeper says so
//! once when they differ. A value that is not a level is named in a warning, with what is
//! accepted, and the next source applies: a typo in a log setting never stops the keeper.
//!
//! The SDK's and the HTTP stack's own lines are quieter unless `RUST_LOG` names them: WARN in
//! Lambda, ERROR on a terminal, where the person reading wants the keeper's one clear error
//! (`no AWS region ...`), not the credential chain's retries written out as Rust `Debug`.

use tracing_subscriber::filter::Targets;

/// Where the keeper is writing its logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// CloudWatch Logs, through the Lambda runtime.
    Lambda,
    /// A person at a terminal (`invoke`, `restore`, `points`), with `-v` given this many times.
    Terminal { verbosity: u8 },
}

/// The filter chosen, where it came from, and what was wrong with the settings on the way.
#[derive(Debug, Clone)]
pub struct Choice {
    pub targets: Targets,
    /// The directives, as text (`warn,aws_config=error`).
    pub directives: String,
    /// What set the level: `-v`, `RUST_LOG`, `AWS_LAMBDA_LOG_LEVEL`, `POWERTOOLS_LOG_LEVEL` or
    /// `default`.
    pub source: &'static str,
    /// Settings that were ignored, and why (logged once logging is up).
    pub warnings: Vec<String>,
}

/// The crates whose lines are quieter than the keeper's unless `RUST_LOG` names them.
const QUIETER: [&str; 4] = ["aws_smithy_runtime", "aws_config", "hyper", "hyper_util"];

/// A Lambda (ALC) level: `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`, `FATAL`.
fn lambda_level(raw: &str) -> Option<&'static str> {
    Some(match raw.trim().to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        _ => return None,
    })
}

/// A Powertools level: Python's names (`WARNING`, `CRITICAL`) and TypeScript's (`SILENT`) too.
fn powertools_level(raw: &str) -> Option<&'static str> {
    Some(match raw.trim().to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" | "WARNING" => "warn",
        "ERROR" | "CRITICAL" | "FATAL" => "error",
        "SILENT" | "OFF" => "off",
        _ => return None,
    })
}

/// Choose the filter. `env` reads one environment variable (the process's, or a test's map).
pub fn choose(audience: Audience, env: impl Fn(&str) -> Option<String>) -> Choice {
    let mut warnings = Vec::new();
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let quieter = match audience {
        Audience::Lambda => "warn",
        Audience::Terminal { .. } => "error",
    };
    // The quieter crates first: a directive RUST_LOG gives for one of them comes later and wins.
    let with_quieter = |directives: &str| {
        let mut out: Vec<String> = QUIETER.iter().map(|t| format!("{t}={quieter}")).collect();
        out.push(directives.to_owned());
        out.join(",")
    };
    let alc = set("AWS_LAMBDA_LOG_LEVEL");
    let powertools = set("POWERTOOLS_LOG_LEVEL");
    if let (Some(alc), Some(pt)) = (&alc, &powertools) {
        if lambda_level(alc).is_some() && lambda_level(alc) != powertools_level(pt) {
            warnings.push(format!(
                "POWERTOOLS_LOG_LEVEL={pt} is ignored: Lambda's log level \
                 (AWS_LAMBDA_LOG_LEVEL={alc}) comes first, as in Powertools; set the \
                 function's LogLevel instead"
            ));
        }
    }
    let flag = match audience {
        Audience::Terminal { verbosity: 1 } => Some("info"),
        Audience::Terminal { verbosity: 2 } => Some("debug"),
        Audience::Terminal { verbosity: 3.. } => Some("trace"),
        _ => None,
    };
    let rust_log = set("RUST_LOG").and_then(|raw| match raw.trim().parse::<Targets>() {
        Ok(_) => Some(raw.trim().to_owned()),
        Err(_) => {
            warnings.push(format!(
                "RUST_LOG={raw:?} is not a filter (accepted: a level such as `debug`, or \
                 `target=level` pairs, comma-separated); ignoring it"
            ));
            None
        }
    });
    let alc = alc.and_then(|raw| {
        lambda_level(&raw).or_else(|| {
            warnings.push(format!(
                "AWS_LAMBDA_LOG_LEVEL={raw:?} is not a level (accepted: TRACE, DEBUG, INFO, \
                 WARN, ERROR, FATAL); ignoring it"
            ));
            None
        })
    });
    let powertools = powertools.and_then(|raw| {
        powertools_level(&raw).or_else(|| {
            warnings.push(format!(
                "POWERTOOLS_LOG_LEVEL={raw:?} is not a level (accepted: DEBUG, INFO, WARN, \
                 WARNING, ERROR, CRITICAL, TRACE, SILENT); ignoring it"
            ));
            None
        })
    });
    let default = match audience {
        Audience::Lambda => "info",
        Audience::Terminal { .. } => "warn",
    };
    let (source, level) = if let Some(level) = flag {
        ("-v", level.to_owned())
    } else if let Some(directives) = rust_log {
        ("RUST_LOG", directives)
    } else if let Some(level) = alc {
        ("AWS_LAMBDA_LOG_LEVEL", level.to_owned())
    } else if let Some(level) = powertools {
        ("POWERTOOLS_LOG_LEVEL", level.to_owned())
    } else {
        ("default", default.to_owned())
    };
    let directives = with_quieter(&level);
    let targets = directives
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(tracing::Level::INFO));
    Choice {
        targets,
        directives,
        source,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn choose_with(audience: Audience, vars: &[(&str, &str)]) -> Choice {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        choose(audience, move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn keeper(c: &Choice, level: Level) -> bool {
        c.targets.would_enable("ds_snapshot_keeper::runner", &level)
    }

    #[test]
    fn lambda_logs_info_and_a_terminal_warnings_by_default() {
        let lambda = choose_with(Audience::Lambda, &[]);
        assert!(keeper(&lambda, Level::INFO) && !keeper(&lambda, Level::DEBUG));
        assert_eq!(lambda.source, "default");
        let terminal = choose_with(Audience::Terminal { verbosity: 0 }, &[]);
        assert!(keeper(&terminal, Level::WARN) && !keeper(&terminal, Level::INFO));
        // The SDK's own warnings (the IMDS region probe's Debug dump) stay off a terminal.
        assert!(!terminal
            .targets
            .would_enable("aws_config::imds", &Level::WARN));
        assert!(terminal
            .targets
            .would_enable("aws_config::imds", &Level::ERROR));
        assert!(lambda
            .targets
            .would_enable("aws_config::imds", &Level::WARN));
    }

    #[test]
    fn the_precedence_is_flag_rust_log_lambda_powertools_default() {
        let all = [
            ("RUST_LOG", "error"),
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
            ("POWERTOOLS_LOG_LEVEL", "DEBUG"),
        ];
        let c = choose_with(Audience::Terminal { verbosity: 2 }, &all);
        assert_eq!(c.source, "-v");
        assert!(keeper(&c, Level::DEBUG));
        let c = choose_with(Audience::Lambda, &all);
        assert_eq!(c.source, "RUST_LOG");
        assert!(keeper(&c, Level::ERROR) && !keeper(&c, Level::WARN));
        let c = choose_with(Audience::Lambda, &all[1..]);
        assert_eq!(c.source, "AWS_LAMBDA_LOG_LEVEL");
        assert!(keeper(&c, Level::WARN) && !keeper(&c, Level::INFO));
        let c = choose_with(Audience::Lambda, &all[2..]);
        assert_eq!(c.source, "POWERTOOLS_LOG_LEVEL");
        assert!(keeper(&c, Level::DEBUG) && !keeper(&c, Level::TRACE));
    }

    #[test]
    fn powertools_names_mean_what_they_mean_in_powertools() {
        for (raw, on, off) in [
            ("WARNING", Level::WARN, Some(Level::INFO)),
            ("critical", Level::ERROR, Some(Level::WARN)),
            ("Info", Level::INFO, Some(Level::DEBUG)),
            ("TRACE", Level::TRACE, None),
        ] {
            let c = choose_with(Audience::Lambda, &[("POWERTOOLS_LOG_LEVEL", raw)]);
            assert!(keeper(&c, on), "{raw}");
            if let Some(off) = off {
                assert!(!keeper(&c, off), "{raw}");
            }
            assert!(c.warnings.is_empty(), "{raw}: {:?}", c.warnings);
        }
        let silent = choose_with(Audience::Lambda, &[("POWERTOOLS_LOG_LEVEL", "SILENT")]);
        assert!(!keeper(&silent, Level::ERROR));
    }

    #[test]
    fn lambda_s_level_beats_powertools_and_a_difference_is_said_once() {
        let c = choose_with(
            Audience::Lambda,
            &[
                ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
                ("POWERTOOLS_LOG_LEVEL", "DEBUG"),
            ],
        );
        assert_eq!(c.source, "AWS_LAMBDA_LOG_LEVEL");
        assert!(!keeper(&c, Level::DEBUG));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("POWERTOOLS_LOG_LEVEL=DEBUG is ignored"));
        // The same level twice is no conflict, whatever the spelling.
        let c = choose_with(
            Audience::Lambda,
            &[
                ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
                ("POWERTOOLS_LOG_LEVEL", "warning"),
            ],
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn a_value_that_is_not_a_level_is_named_and_the_next_source_applies() {
        let c = choose_with(
            Audience::Lambda,
            &[("RUST_LOG", "loud=="), ("POWERTOOLS_LOG_LEVEL", "chatty")],
        );
        assert_eq!(c.source, "default");
        assert!(keeper(&c, Level::INFO));
        let text = c.warnings.join("\n");
        assert!(
            text.contains("RUST_LOG=\"loud==\"") && text.contains("accepted"),
            "{text}"
        );
        assert!(
            text.contains("POWERTOOLS_LOG_LEVEL=\"chatty\"") && text.contains("CRITICAL"),
            "{text}"
        );
        let c = choose_with(Audience::Lambda, &[("AWS_LAMBDA_LOG_LEVEL", "VERBOSE")]);
        assert_eq!(c.source, "default");
        assert!(c.warnings[0].contains("FATAL"), "{:?}", c.warnings);
    }

    #[test]
    fn rust_log_can_turn_the_sdk_back_up() {
        let c = choose_with(
            Audience::Terminal { verbosity: 0 },
            &[("RUST_LOG", "info,aws_smithy_runtime=debug")],
        );
        assert!(c
            .targets
            .would_enable("aws_smithy_runtime::client", &Level::DEBUG));
        assert!(!c.targets.would_enable("aws_config::imds", &Level::WARN));
        assert!(keeper(&c, Level::INFO));
    }
}
