//! The keeper's settings, read once from the environment at cold start.
//!
//! Every variable has a safe default, and every bad value is refused with an error that names
//! the variable, the value it got, and what it accepts -- a misconfigured keeper must stop
//! before it touches anything, not guess.

use std::time::Duration;

use serde::Serialize;

use crate::model::MANUAL_SNAPSHOT_LIMIT;
use crate::naming;
use crate::policy::{Policy, Retention};

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
    /// Whether the Lambda's `restore` action may run (`ALLOW_RESTORE`; the stack's opt-in
    /// also grants `ds:RestoreFromSnapshot`).
    pub allow_restore: bool,
    /// With discovery, manage only directories carrying this tag (key, value).
    pub discovery_tag: Option<(String, String)>,
    /// Directories deliberately left unmanaged: not snapshotted, not counted as unprotected.
    pub excluded_directory_ids: Vec<String>,
    /// Which restore points the keeper keeps (`RETENTION`, with the days of `TIERS`).
    pub retention: Retention,
    /// The periods `TIERS` gives, parsed (and so checked) under either mode. Each row applies
    /// alone; [`Settings::from_lookup`] puts them into `retention` once every row has applied,
    /// so no row depends on another's order.
    #[serde(skip)]
    pub tier_days: Vec<u32>,
}

impl Default for Settings {
    /// Every row's default, read through the row's own parser: the table is the one place a
    /// default is written.
    fn default() -> Self {
        Self::from_lookup(|_| None).expect("every default in SETTINGS parses")
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

/// What a variable accepts. The parser checks exactly this, and the documentation says it.
pub enum Accepts {
    Integer {
        min: i64,
        max: i64,
    },
    Number {
        min: f64,
        max: f64,
    },
    Boolean,
    /// One of these words; `what` names them in the error ("unknown level").
    OneOf {
        values: &'static [&'static str],
        what: &'static str,
    },
    /// Free text, checked by the row's own `apply`; the words say what it must be.
    Text(&'static str),
}

/// A parsed value, handed to the row that applies it.
enum Value<'a> {
    Integer(i64),
    Number(f64),
    Boolean(bool),
    Text(&'a str),
}

/// One variable: its name, default, what it accepts, what it means, and how it is applied.
pub struct Setting {
    pub variable: &'static str,
    /// The value used when the variable is unset, as an operator would write it.
    pub default: Option<&'static str>,
    /// What an unset variable means, when it has no default value.
    pub unset: &'static str,
    pub accepts: Accepts,
    /// What the value does, after the accepted values in the documentation.
    pub meaning: &'static str,
    apply: fn(&mut Settings, Value) -> Result<(), String>,
}

impl Setting {
    /// What the variable accepts, as the error message and the README say it.
    pub fn accepted(&self) -> String {
        match &self.accepts {
            Accepts::Integer { min, max } => format!("integer {min}..={max}"),
            Accepts::Number { min, max } => format!("number {min}..={max}"),
            Accepts::Boolean => "`true` or `false` (also `1`/`0`, `yes`/`no`)".to_owned(),
            Accepts::OneOf { values, .. } => values
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", "),
            Accepts::Text(words) => (*words).to_owned(),
        }
    }

    fn parse<'a>(&self, raw: &'a str) -> Result<Value<'a>, String> {
        let trimmed = raw.trim();
        match &self.accepts {
            Accepts::Integer { min, max } => {
                let v: i64 = trimmed.parse().map_err(|_| "not an integer".to_owned())?;
                if v < *min || v > *max {
                    return Err(format!("out of range {min}..={max}"));
                }
                Ok(Value::Integer(v))
            }
            Accepts::Number { min, max } => {
                let v: f64 = trimmed.parse().map_err(|_| "not a number".to_owned())?;
                if !v.is_finite() || v < *min || v > *max {
                    return Err(format!("out of range {min}..={max}"));
                }
                Ok(Value::Number(v))
            }
            Accepts::Boolean => match trimmed.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(Value::Boolean(true)),
                "false" | "0" | "no" => Ok(Value::Boolean(false)),
                _ => Err("not a boolean".to_owned()),
            },
            Accepts::OneOf { values, what } => {
                let lower = trimmed.to_ascii_lowercase();
                values
                    .iter()
                    .find(|v| **v == lower)
                    .map(|v| Value::Text(v))
                    .ok_or_else(|| format!("unknown {what}"))
            }
            Accepts::Text(_) => Ok(Value::Text(raw)),
        }
    }

    /// The README's row for this variable.
    pub fn readme_row(&self) -> String {
        let default = match self.default {
            Some(d) => format!("`{d}`"),
            None => self.unset.to_owned(),
        };
        let accepted = match self.meaning {
            "" => self.accepted(),
            meaning => format!("{}: {meaning}", self.accepted()),
        };
        format!("| `{}` | {default} | {accepted} |", self.variable)
    }
}

fn int(v: Value) -> i64 {
    match v {
        Value::Integer(i) => i,
        _ => unreachable!("an Integer row parses to an integer"),
    }
}

fn secs(v: Value) -> Duration {
    match v {
        Value::Number(n) => Duration::from_secs_f64(n),
        Value::Integer(i) => Duration::from_secs(i as u64),
        _ => unreachable!("a Number row parses to a number"),
    }
}

fn flag(v: Value) -> bool {
    match v {
        Value::Boolean(b) => b,
        _ => unreachable!("a Boolean row parses to a boolean"),
    }
}

fn text<'a>(v: Value<'a>) -> &'a str {
    match v {
        Value::Text(t) => t,
        _ => unreachable!("a Text or OneOf row parses to text"),
    }
}

/// "1 tier needs", "2 tiers need".
fn tiers_need(n: usize) -> String {
    if n == 1 {
        "1 tier needs".to_owned()
    } else {
        format!("{n} tiers need")
    }
}

fn id_list(raw: &str) -> Result<Vec<String>, String> {
    parse_directory_ids(
        raw.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty()),
    )
}

/// Every variable the keeper reads, in the order the README lists them. The README table is
/// checked against [`readme_table`], and the template tests against this list, so a setting
/// cannot be forgotten in either.
pub const SETTINGS: &[Setting] = &[
    Setting {
        variable: "DIRECTORY_IDS",
        default: None,
        unset: "empty: discover every directory in the Region",
        accepts: Accepts::Text("comma- or space-separated ids, `^d-[0-9a-f]{10}$`"),
        meaning: "",
        apply: |s, v| {
            s.directory_ids = id_list(text(v))?;
            Ok(())
        },
    },
    Setting {
        variable: "RETAIN_COUNT",
        default: Some("3"),
        unset: "",
        accepts: Accepts::Integer { min: 1, max: 50 },
        meaning: "",
        apply: |s, v| {
            s.retain = int(v) as u32;
            Ok(())
        },
    },
    Setting {
        variable: "RESERVED_SLOTS",
        default: Some("1"),
        unset: "",
        accepts: Accepts::Integer { min: 0, max: 10 },
        meaning: "free slots left for the snapshot AWS takes before a schema extension or update",
        apply: |s, v| {
            s.reserved_slots = int(v) as u32;
            Ok(())
        },
    },
    Setting {
        variable: "WARN_AGE_DAYS",
        default: Some("150"),
        unset: "",
        accepts: Accepts::Integer { min: 1, max: 179 },
        meaning: "",
        apply: |s, v| {
            s.warn_age_days = int(v);
            Ok(())
        },
    },
    Setting {
        variable: "SNAPSHOT_PREFIX",
        default: Some("keeper-"),
        unset: "",
        accepts: Accepts::Text(
            "1-64 characters: a letter, digit or `_`, then letters, digits or `_-.:@#%+=`; not \
             beginning with `pre-restore-` (the safety snapshots' names)",
        ),
        meaning: "",
        apply: |s, v| {
            let raw = text(v);
            naming::validate_prefix(raw)?;
            if let Some(why) = crate::policy::safety::prefix_conflict(raw) {
                return Err(why);
            }
            s.prefix = raw.to_owned();
            Ok(())
        },
    },
    Setting {
        variable: "MIN_INTERVAL_MINUTES",
        default: Some("60"),
        unset: "",
        accepts: Accepts::Integer { min: 0, max: 43_200 },
        meaning: "",
        apply: |s, v| {
            s.min_interval = Duration::from_secs(60 * int(v) as u64);
            Ok(())
        },
    },
    Setting {
        variable: "SNS_TOPIC_ARN",
        default: None,
        unset: "none",
        accepts: Accepts::Text("an SNS topic ARN, `arn:<partition>:sns:<region>:<account>:<name>`"),
        meaning: "",
        apply: |s, v| {
            let arn = text(v).trim();
            if !naming::is_topic_arn(arn) {
                return Err("not an SNS topic ARN".to_owned());
            }
            s.topic_arn = Some(arn.to_owned());
            Ok(())
        },
    },
    Setting {
        variable: "NOTIFY_LEVEL",
        default: Some("warnings"),
        unset: "",
        accepts: Accepts::OneOf {
            values: &["failures", "warnings", "all"],
            what: "level",
        },
        meaning: "publish failures (and critical flags) only, warnings too, or every run",
        apply: |s, v| {
            s.notify_level = match text(v) {
                "failures" => NotifyLevel::Failures,
                "warnings" => NotifyLevel::Warnings,
                _ => NotifyLevel::All,
            };
            Ok(())
        },
    },
    Setting {
        variable: "DRY_RUN",
        default: Some("false"),
        unset: "",
        accepts: Accepts::Boolean,
        meaning: "plan and report, change nothing",
        apply: |s, v| {
            s.dry_run = flag(v);
            Ok(())
        },
    },
    Setting {
        variable: "CONCURRENCY",
        default: Some("4"),
        unset: "",
        accepts: Accepts::Integer { min: 1, max: 32 },
        meaning: "directories at a time",
        apply: |s, v| {
            s.concurrency = int(v) as usize;
            Ok(())
        },
    },
    Setting {
        variable: "WAIT_BUDGET_SECONDS",
        default: Some("600"),
        unset: "",
        accepts: Accepts::Integer { min: 0, max: 900 },
        meaning: "how long to wait for new snapshots",
        apply: |s, v| {
            s.wait_budget = secs(v);
            Ok(())
        },
    },
    Setting {
        variable: "DEADLINE_MARGIN_SECONDS",
        default: Some("30"),
        unset: "",
        accepts: Accepts::Integer { min: 1, max: 300 },
        meaning: "stop waiting this long before the Lambda deadline",
        apply: |s, v| {
            s.deadline_margin = secs(v);
            Ok(())
        },
    },
    Setting {
        variable: "POLL_INITIAL_SECONDS",
        default: Some("15"),
        unset: "",
        accepts: Accepts::Number {
            min: 0.01,
            max: 300.0,
        },
        meaning: "first poll delay, doubling each time",
        apply: |s, v| {
            s.poll_initial = secs(v);
            Ok(())
        },
    },
    Setting {
        variable: "POLL_MAX_SECONDS",
        default: Some("120"),
        unset: "",
        accepts: Accepts::Number {
            min: 0.01,
            max: 900.0,
        },
        meaning: "the longest poll delay, at least `POLL_INITIAL_SECONDS`",
        apply: |s, v| {
            s.poll_max = secs(v);
            Ok(())
        },
    },
    Setting {
        variable: "CREATING_TIMEOUT_HOURS",
        default: Some("6"),
        unset: "",
        accepts: Accepts::Integer { min: 1, max: 168 },
        meaning: "an owned snapshot `Creating` longer than this is a failure",
        apply: |s, v| {
            s.creating_timeout = Duration::from_secs(3600 * int(v) as u64);
            Ok(())
        },
    },
    Setting {
        variable: "DISCOVERY_TAG",
        default: None,
        unset: "none: every directory",
        accepts: Accepts::Text("`key=value` (key 1-128, value 0-256 characters, not `excluded`)"),
        meaning: "with discovery (no `DIRECTORY_IDS`), manage only directories carrying this tag",
        apply: |s, v| {
            let raw = text(v);
            let (key, value) = raw
                .split_once('=')
                .filter(|(k, v)| {
                    !k.trim().is_empty()
                        && k.len() <= 128
                        && v.len() <= 256
                        && !k.chars().chain(v.chars()).any(char::is_control)
                })
                .ok_or("not key=value")?;
            if value.trim() == crate::policy::eligibility::EXCLUDED_TAG_VALUE {
                return Err(format!(
                    "the value `{0}` is the one that opts a directory out (`{1}={0}`), so this \
                     tag would manage nothing; choose another value, such as `{1}=managed`",
                    crate::policy::eligibility::EXCLUDED_TAG_VALUE,
                    key.trim()
                ));
            }
            s.discovery_tag = Some((key.trim().to_owned(), value.trim().to_owned()));
            Ok(())
        },
    },
    Setting {
        variable: "EXCLUDED_DIRECTORY_IDS",
        default: None,
        unset: "none",
        accepts: Accepts::Text("comma- or space-separated directory ids, none in `DIRECTORY_IDS`"),
        meaning: "never managed, on purpose; reported as `excluded` in the coverage, not counted \
                  in `UnmanagedDirectories` (with discovery, the tag `<key>=excluded` does the same)",
        apply: |s, v| {
            s.excluded_directory_ids = id_list(text(v))?;
            match s
                .excluded_directory_ids
                .iter()
                .find(|id| s.directory_ids.contains(id))
            {
                Some(both) => Err(format!("{both} is also in DIRECTORY_IDS")),
                None => Ok(()),
            }
        },
    },
    Setting {
        variable: "PRUNE_UNOWNED",
        default: Some("false"),
        unset: "",
        accepts: Accepts::Boolean,
        meaning: "`true` lets the keeper prune manual snapshots it did not take",
        apply: |s, v| {
            s.prune_unowned = flag(v);
            Ok(())
        },
    },
    Setting {
        variable: "ALLOW_RESTORE",
        default: Some("false"),
        unset: "",
        accepts: Accepts::Boolean,
        meaning: "`true` lets an invocation `{\"action\": \"restore\", ...}` restore a managed \
                  directory (the SAM parameter `AllowRestore=enabled` or the construct prop \
                  `allowRestore` sets it and grants `ds:RestoreFromSnapshot`)",
        apply: |s, v| {
            s.allow_restore = flag(v);
            Ok(())
        },
    },
    Setting {
        variable: "RETENTION",
        default: Some("newest"),
        unset: "",
        accepts: Accepts::OneOf {
            values: &["newest", "tiered"],
            what: "retention mode",
        },
        meaning: "`newest` keeps the newest `RETAIN_COUNT` snapshots; `tiered` keeps the newest \
                  and, per tier of `TIERS`, the first snapshot of this period and of the previous \
                  one, then the newest others up to `RETAIN_COUNT` (see Retention modes)",
        apply: |s, v| {
            s.retention = match text(v) {
                "tiered" => Retention::Tiered { days: Vec::new() },
                _ => Retention::Newest,
            };
            Ok(())
        },
    },
    Setting {
        variable: "TIERS",
        default: Some("35"),
        unset: "",
        accepts: Accepts::Text("comma-separated periods in days, increasing, each 1..=89"),
        meaning: "with `RETENTION=tiered`: each tier keeps a restore point between its period and \
                  twice it old; `RETAIN_COUNT` must be at least 1 + 2 per tier, and twice the \
                  longest period under `WARN_AGE_DAYS`",
        apply: |s, v| {
            let mut days: Vec<u32> = Vec::new();
            for part in text(v).split(',').map(str::trim) {
                let d: u32 = part
                    .parse()
                    .ok()
                    .filter(|d| (1..=89).contains(d))
                    .ok_or_else(|| {
                        format!("{} is not a period of 1..=89 days", naming::escape_for_log(part, 20))
                    })?;
                if days.last().is_some_and(|last| *last >= d) {
                    return Err("periods must increase".to_owned());
                }
                days.push(d);
            }
            // Under `newest` they are only checked, so a typo is refused before anyone
            // switches mode.
            s.tier_days = days;
            Ok(())
        },
    },
];

/// The README's settings table, rendered from [`SETTINGS`].
pub fn readme_table() -> String {
    let mut out = String::from("| variable | default | accepted |\n|---|---|---|\n");
    for s in SETTINGS {
        out.push_str(&s.readme_row());
        out.push('\n');
    }
    out
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

    /// Read settings through `lookup`, so tests need not touch the process environment. Each
    /// row of [`SETTINGS`] applies its value, or its default when the variable is unset or
    /// blank, in the table's order.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut s = Settings {
            directory_ids: Vec::new(),
            retain: 0,
            reserved_slots: 0,
            warn_age_days: 0,
            prefix: String::new(),
            min_interval: Duration::ZERO,
            topic_arn: None,
            notify_level: NotifyLevel::Warnings,
            dry_run: false,
            concurrency: 0,
            wait_budget: Duration::ZERO,
            deadline_margin: Duration::ZERO,
            poll_initial: Duration::ZERO,
            poll_max: Duration::ZERO,
            creating_timeout: Duration::ZERO,
            prune_unowned: false,
            allow_restore: false,
            discovery_tag: None,
            excluded_directory_ids: Vec::new(),
            retention: Retention::Newest,
            tier_days: Vec::new(),
        };
        for row in SETTINGS {
            let given = lookup(row.variable).filter(|v| !v.trim().is_empty());
            let Some(raw) = given.as_deref().or(row.default) else {
                continue;
            };
            let invalid = |problem: String| SettingsError {
                variable: row.variable,
                value: raw.to_owned(),
                problem,
                accepted: row.accepted(),
            };
            let value = row.parse(raw).map_err(invalid)?;
            (row.apply)(&mut s, value).map_err(invalid)?;
        }
        if let Retention::Tiered { days } = &mut s.retention {
            *days = s.tier_days.clone();
        }
        if let Some(why) = Policy::from(&s).misfit(MANUAL_SNAPSHOT_LIMIT) {
            // Name the variable the operator set: RESERVED_SLOTS when only it was given.
            let given = |v: &str| lookup(v).is_some_and(|x| !x.trim().is_empty());
            let (variable, value) = if !given("RETAIN_COUNT") && given("RESERVED_SLOTS") {
                ("RESERVED_SLOTS", s.reserved_slots.to_string())
            } else {
                ("RETAIN_COUNT", s.retain.to_string())
            };
            return Err(SettingsError::of(
                variable,
                value,
                format!(
                    "{why} (every directory type that has snapshots has a quota of \
                     {MANUAL_SNAPSHOT_LIMIT}, so every run would fail)"
                ),
            ));
        }
        s.check_retention()?;
        if s.poll_max < s.poll_initial {
            return Err(SettingsError::of(
                "POLL_MAX_SECONDS",
                format!("{}", s.poll_max.as_secs_f64()),
                "smaller than POLL_INITIAL_SECONDS".to_owned(),
            ));
        }
        Ok(s)
    }
}

impl SettingsError {
    /// A value of `variable` that the checks across rows refuse, with what its row accepts.
    fn of(variable: &'static str, value: String, problem: String) -> Self {
        let row = SETTINGS
            .iter()
            .find(|r| r.variable == variable)
            .expect("every variable checked is a row");
        SettingsError {
            variable: row.variable,
            value,
            problem,
            accepted: row.accepted(),
        }
    }
}

impl Settings {
    /// A tiered mode that cannot keep its promise is refused at start: its roles must fit
    /// `RETAIN_COUNT`, which with the new snapshot and `RESERVED_SLOTS` must fit a directory's
    /// quota, and no holder may age into `WARN_AGE_DAYS`.
    fn check_retention(&self) -> Result<(), SettingsError> {
        let retention = &self.retention;
        let Retention::Tiered { days } = retention else {
            return Ok(());
        };
        let refuse = |problem: String| {
            Err(SettingsError::of(
                "TIERS",
                retention.tiers_setting(),
                problem,
            ))
        };
        let needed = retention.slots_needed();
        if needed + 1 + self.reserved_slots > MANUAL_SNAPSHOT_LIMIT {
            return refuse(format!(
                "{} {needed} kept snapshots (the newest and two per tier); with the \
                 new snapshot and RESERVED_SLOTS={} that is {} of a directory's \
                 {MANUAL_SNAPSHOT_LIMIT} manual slots: use fewer tiers (one fits) or fewer \
                 reserved slots",
                tiers_need(days.len()),
                self.reserved_slots,
                needed + 1 + self.reserved_slots
            ));
        }
        if self.retain < needed {
            return refuse(format!(
                "{} RETAIN_COUNT of at least {needed} (the newest and two per \
                 tier), and RETAIN_COUNT={}",
                tiers_need(days.len()),
                self.retain
            ));
        }
        let oldest = retention.longest_hold_days();
        if i64::from(oldest) >= self.warn_age_days {
            return refuse(format!(
                "a tier of {} days keeps snapshots up to {oldest} days old, at or past \
                 WARN_AGE_DAYS={}: every tier would warn before it rolls over; use periods under \
                 {}",
                oldest / 2,
                self.warn_age_days,
                (self.warn_age_days + 1) / 2
            ));
        }
        Ok(())
    }
}

/// The documented defaults: the settings table's, read through its own parsers (the table is
/// the one place a default is written).
impl Default for Policy {
    fn default() -> Self {
        Policy::from(&Settings::default())
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
            retention: s.retention.clone(),
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
            ("SNAPSHOT_PREFIX", "pre-restore-"),
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
    fn settings_that_cannot_fit_the_quota_are_refused_at_start() {
        // Before, these started and every run then failed with SettingsExceedQuota.
        for pairs in [
            &[("RETAIN_COUNT", "4"), ("RESERVED_SLOTS", "1")][..],
            &[("RETAIN_COUNT", "9")][..],
            &[
                ("RETENTION", "tiered"),
                ("RETAIN_COUNT", "4"),
                ("RESERVED_SLOTS", "1"),
            ][..],
        ] {
            let err = parse(pairs).unwrap_err();
            assert_eq!(err.variable, "RETAIN_COUNT", "{pairs:?}");
            assert!(err.problem.contains("does not fit a quota of 5"), "{err}");
            assert!(
                err.problem.contains("To fix it, set RETAIN_COUNT to"),
                "{err}"
            );
        }
        let s = parse(&[("RETAIN_COUNT", "4"), ("RESERVED_SLOTS", "0")]).unwrap();
        assert!(Policy::from(&s).fits(5));
        // The plan still checks each directory's own quota, should AWS report another.
        assert!(Policy::from(&s).misfit(4).is_some());
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
    fn a_discovery_tag_whose_value_opts_out_is_refused_at_start() {
        // `<key>=excluded` marks a directory never to manage; as the opt-in tag it would
        // silently manage nothing, with UnmanagedDirectories 0 (excluded is not counted).
        for raw in ["ds-snapshot-keeper=excluded", "backup= excluded "] {
            let err = parse(&[("DISCOVERY_TAG", raw)]).unwrap_err();
            assert_eq!(err.variable, "DISCOVERY_TAG");
            let text = err.to_string();
            assert!(text.contains("would manage nothing"), "{text}");
            assert!(text.contains("not `excluded`"), "accepted says so: {text}");
        }
        assert!(parse(&[("DISCOVERY_TAG", "ds-snapshot-keeper=excluded-not")]).is_ok());
    }

    #[test]
    fn tiered_retention_reads_its_tiers_and_refuses_what_cannot_keep_its_promise() {
        let s = parse(&[("RETENTION", "tiered")]).unwrap();
        assert_eq!(s.retention, Retention::Tiered { days: vec![35] });
        assert_eq!(
            Policy::from(&s).retention,
            Retention::Tiered { days: vec![35] }
        );
        // The default stays `newest`, whatever TIERS says.
        let s = parse(&[("TIERS", "7,30")]).unwrap();
        assert_eq!(s.retention, Retention::Newest);
        for (pairs, says) in [
            (
                vec![("RETENTION", "tiered"), ("TIERS", "7,35")],
                "of a directory's 5 manual slots",
            ),
            (
                vec![("RETENTION", "tiered"), ("RETAIN_COUNT", "2")],
                "RETAIN_COUNT of at least 3",
            ),
            (
                vec![("RETENTION", "tiered"), ("TIERS", "80")],
                "at or past WARN_AGE_DAYS=150",
            ),
            (
                vec![("RETENTION", "tiered"), ("WARN_AGE_DAYS", "60")],
                "use periods under 30",
            ),
            (vec![("TIERS", "35,7")], "periods must increase"),
            (vec![("TIERS", "0")], "not a period of 1..=89 days"),
            (vec![("TIERS", "monthly")], "not a period"),
        ] {
            let err = parse(&pairs).unwrap_err();
            assert_eq!(err.variable, "TIERS", "{pairs:?}");
            let text = err.to_string();
            assert!(text.contains(says), "{pairs:?}: {text}");
            assert!(text.contains("accepted: "), "{text}");
        }
        // Two tiers fit when nothing is reserved and RETAIN_COUNT holds them... 1 + 4 + 1 > 5:
        // they never fit a quota of 5, which is why the refusal names the quota.
        assert!(parse(&[
            ("RETENTION", "tiered"),
            ("TIERS", "7,35"),
            ("RESERVED_SLOTS", "0"),
            ("RETAIN_COUNT", "4")
        ])
        .is_err());
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

    /// The reference's table (docs/reference.md) is the one [`super::readme_table`] renders
    /// from the table the parser reads: a changed default or range cannot leave the
    /// documentation behind.
    #[test]
    fn the_docs_settings_table_is_rendered_from_the_settings_table() {
        let doc = include_str!("../docs/reference.md");
        let table = super::readme_table();
        assert!(
            doc.contains(&table),
            "docs/reference.md's settings table differs from src/settings.rs; replace it \
             with:\n{table}"
        );
        assert_eq!(SETTINGS.len(), 21, "every variable has a row");
    }
}
