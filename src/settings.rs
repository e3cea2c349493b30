//! The keeper's settings, read once from the environment at cold start.
//!
//! Every variable has a safe default, and every bad value is refused with an error that names
//! the variable, the value it got, and what it accepts -- a misconfigured keeper must stop
//! before it touches anything, not guess.

use std::time::Duration;

use serde::Serialize;

use crate::naming;
use crate::policy::Policy;

/// What a run publishes to SNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyLevel {
    /// Only runs with failures.
    Failures,
    /// Failures and warnings (snapshots near the 180-day limit, skipped directories...).
    Warnings,
    /// Every run.
    All,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// Directories to manage; empty means discover every snapshot-capable one in the region.
    pub directory_ids: Vec<String>,
    pub retain: u32,
    pub reserved_slots: u32,
    pub warn_age_days: i64,
    pub prefix: String,
    pub min_interval: Duration,
    pub topic_arn: Option<String>,
    pub notify_level: NotifyLevel,
    pub dry_run: bool,
    pub concurrency: usize,
    pub wait_budget: Duration,
    pub deadline_margin: Duration,
    pub poll_initial: Duration,
    pub poll_max: Duration,
    pub creating_timeout: Duration,
    pub prune_unowned: bool,
    /// With discovery, manage only directories carrying this tag (key, value).
    pub discovery_tag: Option<(String, String)>,
    /// Directories deliberately left unmanaged: not snapshotted, not counted as unprotected.
    pub excluded_directory_ids: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            directory_ids: Vec::new(),
            retain: 3,
            reserved_slots: 1,
            warn_age_days: 150,
            prefix: "keeper-".to_owned(),
            min_interval: Duration::from_secs(60 * 60),
            topic_arn: None,
            notify_level: NotifyLevel::Warnings,
            dry_run: false,
            concurrency: 4,
            wait_budget: Duration::from_secs(600),
            deadline_margin: Duration::from_secs(30),
            poll_initial: Duration::from_secs(15),
            poll_max: Duration::from_secs(120),
            creating_timeout: Duration::from_secs(6 * 3600),
            prune_unowned: false,
            discovery_tag: None,
            excluded_directory_ids: Vec::new(),
        }
    }
}

/// A setting that cannot be used, with everything an operator needs to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting {variable}={value:?}: {problem}; accepted: {accepted}")]
pub struct SettingsError {
    pub variable: &'static str,
    pub value: String,
    pub problem: String,
    pub accepted: String,
}

/// One row of the settings table: the variable, its default and what it accepts.
pub struct SettingDoc {
    pub variable: &'static str,
    pub default: &'static str,
    pub accepted: &'static str,
}

/// Every variable the keeper reads. The README table and the template test are checked
/// against this list, so a new setting cannot be forgotten in either.
pub const SETTINGS: &[SettingDoc] = &[
    SettingDoc {
        variable: "DIRECTORY_IDS",
        default: "(empty: discover)",
        accepted: "comma- or space-separated ids matching ^d-[0-9a-f]{10}$",
    },
    SettingDoc {
        variable: "RETAIN_COUNT",
        default: "3",
        accepted: "integer 1..=50",
    },
    SettingDoc {
        variable: "RESERVED_SLOTS",
        default: "1",
        accepted: "integer 0..=10",
    },
    SettingDoc {
        variable: "WARN_AGE_DAYS",
        default: "150",
        accepted: "integer 1..=179",
    },
    SettingDoc {
        variable: "SNAPSHOT_PREFIX",
        default: "keeper-",
        accepted:
            "1-64 characters, starting with a letter, digit or _, then letters, digits or _-.:@#%+=",
    },
    SettingDoc {
        variable: "MIN_INTERVAL_MINUTES",
        default: "60",
        accepted: "integer 0..=43200",
    },
    SettingDoc {
        variable: "SNS_TOPIC_ARN",
        default: "(none)",
        accepted: "an SNS topic ARN, arn:<partition>:sns:<region>:<account>:<name>",
    },
    SettingDoc {
        variable: "NOTIFY_LEVEL",
        default: "warnings",
        accepted: "failures | warnings | all",
    },
    SettingDoc {
        variable: "DRY_RUN",
        default: "false",
        accepted: "true | false",
    },
    SettingDoc {
        variable: "CONCURRENCY",
        default: "4",
        accepted: "integer 1..=32",
    },
    SettingDoc {
        variable: "WAIT_BUDGET_SECONDS",
        default: "600",
        accepted: "integer 0..=900",
    },
    SettingDoc {
        variable: "DEADLINE_MARGIN_SECONDS",
        default: "30",
        accepted: "integer 1..=300",
    },
    SettingDoc {
        variable: "POLL_INITIAL_SECONDS",
        default: "15",
        accepted: "number 0.01..=300",
    },
    SettingDoc {
        variable: "POLL_MAX_SECONDS",
        default: "120",
        accepted: "number 0.01..=900, at least POLL_INITIAL_SECONDS",
    },
    SettingDoc {
        variable: "CREATING_TIMEOUT_HOURS",
        default: "6",
        accepted: "integer 1..=168",
    },
    SettingDoc {
        variable: "DISCOVERY_TAG",
        default: "(none: every directory)",
        accepted: "key=value; with discovery, only directories carrying this tag are managed",
    },
    SettingDoc {
        variable: "EXCLUDED_DIRECTORY_IDS",
        default: "(none)",
        accepted: "comma- or space-separated directory ids, none of them in DIRECTORY_IDS; never managed, reported as excluded, not counted as unprotected",
    },
    SettingDoc {
        variable: "PRUNE_UNOWNED",
        default: "false",
        accepted: "true | false (true lets the keeper prune manual snapshots it did not take)",
    },
];

fn doc(variable: &str) -> &'static SettingDoc {
    SETTINGS
        .iter()
        .find(|d| d.variable == variable)
        .expect("every parsed variable is documented in SETTINGS")
}

fn invalid(variable: &'static str, value: &str, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        variable,
        value: value.to_owned(),
        problem: problem.into(),
        accepted: doc(variable).accepted.to_owned(),
    }
}

fn integer(variable: &'static str, raw: &str, min: i64, max: i64) -> Result<i64, SettingsError> {
    let value: i64 = raw
        .trim()
        .parse()
        .map_err(|_| invalid(variable, raw, "not an integer"))?;
    if value < min || value > max {
        return Err(invalid(
            variable,
            raw,
            format!("out of range {min}..={max}"),
        ));
    }
    Ok(value)
}

fn seconds(
    variable: &'static str,
    raw: &str,
    min: f64,
    max: f64,
) -> Result<Duration, SettingsError> {
    let value: f64 = raw
        .trim()
        .parse()
        .map_err(|_| invalid(variable, raw, "not a number"))?;
    if !value.is_finite() || value < min || value > max {
        return Err(invalid(
            variable,
            raw,
            format!("out of range {min}..={max}"),
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

fn boolean(variable: &'static str, raw: &str) -> Result<bool, SettingsError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        _ => Err(invalid(variable, raw, "not a boolean")),
    }
}

/// Parse and validate a list of directory ids (shared by settings and manual requests).
pub fn parse_directory_ids<'a>(
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !naming::is_directory_id(id) {
            return Err(format!(
                "{} is not a directory id",
                naming::escape_for_log(id, 40)
            ));
        }
        if !out.iter().any(|seen| seen == id) {
            out.push(id.to_owned());
        }
    }
    Ok(out)
}

impl Settings {
    /// Read settings from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Read settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut s = Settings::default();
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        if let Some(raw) = get("DIRECTORY_IDS") {
            s.directory_ids = parse_directory_ids(
                raw.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|p| !p.is_empty()),
            )
            .map_err(|problem| invalid("DIRECTORY_IDS", &raw, problem))?;
        }
        if let Some(raw) = get("RETAIN_COUNT") {
            s.retain = integer("RETAIN_COUNT", &raw, 1, 50)? as u32;
        }
        if let Some(raw) = get("RESERVED_SLOTS") {
            s.reserved_slots = integer("RESERVED_SLOTS", &raw, 0, 10)? as u32;
        }
        if let Some(raw) = get("WARN_AGE_DAYS") {
            s.warn_age_days = integer("WARN_AGE_DAYS", &raw, 1, 179)?;
        }
        if let Some(raw) = get("SNAPSHOT_PREFIX") {
            naming::validate_prefix(&raw).map_err(|p| invalid("SNAPSHOT_PREFIX", &raw, p))?;
            s.prefix = raw;
        }
        if let Some(raw) = get("MIN_INTERVAL_MINUTES") {
            s.min_interval =
                Duration::from_secs(60 * integer("MIN_INTERVAL_MINUTES", &raw, 0, 43_200)? as u64);
        }
        if let Some(raw) = get("SNS_TOPIC_ARN") {
            if !naming::is_topic_arn(raw.trim()) {
                return Err(invalid("SNS_TOPIC_ARN", &raw, "not an SNS topic ARN"));
            }
            s.topic_arn = Some(raw.trim().to_owned());
        }
        if let Some(raw) = get("NOTIFY_LEVEL") {
            s.notify_level = match raw.trim().to_ascii_lowercase().as_str() {
                "failures" => NotifyLevel::Failures,
                "warnings" => NotifyLevel::Warnings,
                "all" => NotifyLevel::All,
                _ => return Err(invalid("NOTIFY_LEVEL", &raw, "unknown level")),
            };
        }
        if let Some(raw) = get("DRY_RUN") {
            s.dry_run = boolean("DRY_RUN", &raw)?;
        }
        if let Some(raw) = get("CONCURRENCY") {
            s.concurrency = integer("CONCURRENCY", &raw, 1, 32)? as usize;
        }
        if let Some(raw) = get("WAIT_BUDGET_SECONDS") {
            s.wait_budget =
                Duration::from_secs(integer("WAIT_BUDGET_SECONDS", &raw, 0, 900)? as u64);
        }
        if let Some(raw) = get("DEADLINE_MARGIN_SECONDS") {
            s.deadline_margin =
                Duration::from_secs(integer("DEADLINE_MARGIN_SECONDS", &raw, 1, 300)? as u64);
        }
        if let Some(raw) = get("POLL_INITIAL_SECONDS") {
            s.poll_initial = seconds("POLL_INITIAL_SECONDS", &raw, 0.01, 300.0)?;
        }
        if let Some(raw) = get("POLL_MAX_SECONDS") {
            s.poll_max = seconds("POLL_MAX_SECONDS", &raw, 0.01, 900.0)?;
        }
        if s.poll_max < s.poll_initial {
            let raw = get("POLL_MAX_SECONDS").unwrap_or_else(|| "120".to_owned());
            return Err(invalid(
                "POLL_MAX_SECONDS",
                &raw,
                "smaller than POLL_INITIAL_SECONDS",
            ));
        }
        if let Some(raw) = get("CREATING_TIMEOUT_HOURS") {
            s.creating_timeout =
                Duration::from_secs(3600 * integer("CREATING_TIMEOUT_HOURS", &raw, 1, 168)? as u64);
        }
        if let Some(raw) = get("DISCOVERY_TAG") {
            let (key, value) = raw
                .split_once('=')
                .filter(|(k, v)| {
                    !k.trim().is_empty()
                        && k.len() <= 128
                        && v.len() <= 256
                        && !k.chars().chain(v.chars()).any(char::is_control)
                })
                .ok_or_else(|| invalid("DISCOVERY_TAG", &raw, "not key=value"))?;
            s.discovery_tag = Some((key.trim().to_owned(), value.trim().to_owned()));
        }
        if let Some(raw) = get("EXCLUDED_DIRECTORY_IDS") {
            s.excluded_directory_ids = parse_directory_ids(
                raw.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|p| !p.is_empty()),
            )
            .map_err(|problem| invalid("EXCLUDED_DIRECTORY_IDS", &raw, problem))?;
            if let Some(both) = s
                .excluded_directory_ids
                .iter()
                .find(|id| s.directory_ids.contains(id))
            {
                return Err(invalid(
                    "EXCLUDED_DIRECTORY_IDS",
                    &raw,
                    format!("{both} is also in DIRECTORY_IDS"),
                ));
            }
        }
        if let Some(raw) = get("PRUNE_UNOWNED") {
            s.prune_unowned = boolean("PRUNE_UNOWNED", &raw)?;
        }
        Ok(s)
    }
}

impl From<&Settings> for Policy {
    fn from(s: &Settings) -> Self {
        Self {
            retain: s.retain,
            reserved_slots: s.reserved_slots,
            warn_age_days: s.warn_age_days,
            prefix: s.prefix.clone(),
            min_interval_secs: s.min_interval.as_secs() as i64,
            creating_timeout_secs: s.creating_timeout.as_secs() as i64,
            prune_unowned: s.prune_unowned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_documented_safe_ones() {
        let s = parse(&[]).unwrap();
        assert_eq!((s.retain, s.reserved_slots, s.warn_age_days), (3, 1, 150));
        assert!(!s.dry_run && !s.prune_unowned);
        assert!(s.directory_ids.is_empty());
        assert_eq!(s.notify_level, NotifyLevel::Warnings);
        assert!(Policy::from(&s).fits(5));
        assert_eq!(Policy::from(&s), Policy::default(), "one set of defaults");
    }

    #[test]
    fn every_error_names_the_variable_and_what_is_accepted() {
        let cases = [
            ("RETAIN_COUNT", "0"),
            ("RETAIN_COUNT", "three"),
            ("RETAIN_COUNT", "-1"),
            ("RESERVED_SLOTS", "11"),
            ("WARN_AGE_DAYS", "180"),
            ("WARN_AGE_DAYS", "-5"),
            ("DIRECTORY_IDS", "d-123,not-an-id"),
            ("SNAPSHOT_PREFIX", "-bad"),
            ("SNAPSHOT_PREFIX", "bad\u{7}bell"),
            ("NOTIFY_LEVEL", "loud"),
            ("DRY_RUN", "maybe"),
            ("CONCURRENCY", "0"),
            ("WAIT_BUDGET_SECONDS", "99999"),
            ("SNS_TOPIC_ARN", "topic"),
            ("POLL_INITIAL_SECONDS", "NaN"),
            ("CREATING_TIMEOUT_HOURS", "0"),
        ];
        for (variable, value) in cases {
            let err = parse(&[(variable, value)]).expect_err(variable);
            assert_eq!(err.variable, variable);
            let text = err.to_string();
            assert!(text.contains(variable), "{text}");
            assert!(text.contains("accepted: "), "{text}");
            assert!(
                !text.contains('\u{7}'),
                "control characters are escaped: {text}"
            );
        }
    }

    #[test]
    fn directory_ids_accept_commas_and_spaces_and_drop_duplicates() {
        let s = parse(&[("DIRECTORY_IDS", "d-0123456789, d-abcdefabcd d-0123456789")]).unwrap();
        assert_eq!(s.directory_ids, vec!["d-0123456789", "d-abcdefabcd"]);
    }

    #[test]
    fn settings_that_cannot_fit_the_quota_do_not_fit() {
        let s = parse(&[("RETAIN_COUNT", "4"), ("RESERVED_SLOTS", "1")]).unwrap();
        assert!(!Policy::from(&s).fits(5));
        let s = parse(&[("RETAIN_COUNT", "4"), ("RESERVED_SLOTS", "0")]).unwrap();
        assert!(Policy::from(&s).fits(5));
    }

    #[test]
    fn a_directory_both_listed_and_excluded_is_refused() {
        let err = parse(&[
            ("DIRECTORY_IDS", "d-0123456789"),
            ("EXCLUDED_DIRECTORY_IDS", "d-0123456789"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "EXCLUDED_DIRECTORY_IDS");
        assert!(err.to_string().contains("also in DIRECTORY_IDS"));
    }

    #[test]
    fn poll_max_below_initial_is_refused() {
        let err = parse(&[("POLL_INITIAL_SECONDS", "10"), ("POLL_MAX_SECONDS", "5")]).unwrap_err();
        assert_eq!(err.variable, "POLL_MAX_SECONDS");
    }
}

#[cfg(test)]
mod readme_tests {
    use super::SETTINGS;

    #[test]
    fn the_readme_documents_every_setting() {
        let readme = include_str!("../README.md");
        for s in SETTINGS {
            assert!(
                readme.contains(&format!("| `{}` |", s.variable)),
                "README lacks {}",
                s.variable
            );
        }
    }
}
