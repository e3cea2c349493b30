//! The one log schema: every line the function writes goes through [`line`].
//!
//! Lambda's advanced logging controls read JSON lines: a line's top-level `level` decides
//! whether `LogLevel` filtering keeps it (a line without one counts as INFO), and its
//! `timestamp` must be RFC 3339. Every line therefore carries, at the top level:
//!
//! | field | meaning |
//! |---|---|
//! | `timestamp` | RFC 3339, UTC |
//! | `level` | `TRACE`, `DEBUG`, `INFO`, `WARN` or `ERROR` |
//! | `message` | what happened |
//! | `service` | `ds-snapshot-keeper` |
//! | `function_name` | `AWS_LAMBDA_FUNCTION_NAME` |
//! | `requestId` | the invocation's request id (absent outside an invocation) |
//! | `cold_start` | whether this invocation started the process |
//!
//! with the structured fields beside them (the names Powertools for AWS Lambda uses, so
//! existing Logs Insights queries work). The run report, the metric (EMF) lines, the event
//! refusal, the notification failure and every `tracing` event (the keeper's, the runtime's
//! and the SDK's) are rendered here. EMF lines are `INFO`: the templates offer no `LogLevel`
//! above `INFO`, since that would drop the metrics (and the freshness alarm, which treats
//! missing data as breaching, would fire forever).

pub mod human;
pub mod level;

use std::fmt;
use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The `service` of every line, unless `POWERTOOLS_SERVICE_NAME` names another.
pub const SERVICE: &str = "ds-snapshot-keeper";

/// The `service` of every line: `POWERTOOLS_SERVICE_NAME` (the Powertools habit, read once),
/// else [`SERVICE`]. The metrics keep their namespace and dimensions either way: the
/// templates' alarms and dashboard are written against them.
pub fn service() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| service_from(std::env::var("POWERTOOLS_SERVICE_NAME").ok()))
}

fn service_from(raw: Option<String>) -> String {
    raw.map(|s| {
        s.trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect::<String>()
    })
    .filter(|s| !s.is_empty())
    .unwrap_or_else(|| SERVICE.to_owned())
}

/// How a terminal gets the lines the handler writes for CloudWatch (the run report, the
/// metric lines, the refusal), at or above the chosen level: whole, with `--log-format json`;
/// with readable logs, only from `-v` on (by default what they say is in the report on
/// stdout, or in the command's one `error:` line), as their level and message, metric lines
/// left out. Not set: none (Lambda's runtime prints them).
static TERMINAL: OnceLock<(bool, tracing_subscriber::filter::Targets)> = OnceLock::new();

/// Show the handler's lines on a terminal: `json` whole, else as level and message.
pub fn keep_handler_lines(json: bool, targets: tracing_subscriber::filter::Targets) {
    let _ = TERMINAL.set((json, targets));
}

/// The handler's line, on stderr as the terminal asked (see [`keep_handler_lines`]).
pub fn terminal_sink(line: &str) {
    let Some((json, targets)) = TERMINAL.get() else {
        return;
    };
    let parsed = serde_json::from_str::<Value>(line).unwrap_or_default();
    let level = match parsed["level"].as_str() {
        Some("ERROR" | "FATAL") => Level::Error,
        Some("WARN") => Level::Warn,
        Some("DEBUG") => Level::Debug,
        Some("TRACE") => Level::Trace,
        _ => Level::Info,
    };
    if !targets.would_enable("ds_snapshot_keeper::handler", &level.to_tracing()) {
        return;
    }
    if *json {
        eprintln!("{line}");
    } else if parsed.get("_aws").is_none()
        && targets.would_enable("ds_snapshot_keeper::handler", &tracing::Level::INFO)
    {
        let message = parsed["message"].as_str().unwrap_or_default();
        eprintln!(
            "{}",
            human::line(
                jiff::Timestamp::now(),
                level,
                "ds_snapshot_keeper",
                message,
                &[]
            )
        );
    }
}

/// The levels Lambda's log filtering recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }

    fn to_tracing(self) -> tracing::Level {
        match self {
            Level::Trace => tracing::Level::TRACE,
            Level::Debug => tracing::Level::DEBUG,
            Level::Info => tracing::Level::INFO,
            Level::Warn => tracing::Level::WARN,
            Level::Error => tracing::Level::ERROR,
        }
    }

    fn from_tracing(level: &tracing::Level) -> Self {
        match *level {
            tracing::Level::TRACE => Level::Trace,
            tracing::Level::DEBUG => Level::Debug,
            tracing::Level::INFO => Level::Info,
            tracing::Level::WARN => Level::Warn,
            tracing::Level::ERROR => Level::Error,
        }
    }
}

/// Who is writing: the function, and the invocation under way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub function_name: String,
    pub request_id: Option<String>,
    pub cold_start: bool,
}

static CURRENT: Mutex<Option<Context>> = Mutex::new(None);

/// Set the context of the lines that follow (at each invocation's start; the runtime runs
/// one invocation at a time).
pub fn set_context(context: Context) {
    *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = Some(context);
}

/// The context of the invocation under way, if any.
pub fn context() -> Option<Context> {
    CURRENT.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// One log line in the schema. `fields` stand beside the schema's own; they cannot replace
/// them.
pub fn line(
    context: &Context,
    level: Level,
    message: &str,
    fields: Map<String, Value>,
    timestamp: jiff::Timestamp,
) -> String {
    let mut out = Map::new();
    out.insert("timestamp".into(), Value::String(timestamp.to_string()));
    out.insert("level".into(), Value::String(level.as_str().into()));
    out.insert("message".into(), Value::String(message.into()));
    out.insert("service".into(), Value::String(service().into()));
    out.insert(
        "function_name".into(),
        Value::String(context.function_name.clone()),
    );
    if let Some(id) = &context.request_id {
        out.insert("requestId".into(), Value::String(id.clone()));
    }
    out.insert("cold_start".into(), Value::Bool(context.cold_start));
    for (k, v) in fields {
        out.entry(k).or_insert(v);
    }
    Value::Object(out).to_string()
}

/// A line written now, in the current context (or the function's, between invocations).
pub fn now(level: Level, message: &str, fields: Map<String, Value>) -> String {
    let context = context().unwrap_or_else(|| Context {
        function_name: function_name(),
        ..Context::default()
    });
    line(&context, level, message, fields, jiff::Timestamp::now())
}

/// The function name the keeper reports when it runs outside Lambda.
pub const LOCAL_FUNCTION_NAME: &str = "ds-snapshot-keeper-local";

/// The function's name: `AWS_LAMBDA_FUNCTION_NAME`, or the local name outside Lambda.
pub fn function_name() -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| LOCAL_FUNCTION_NAME.to_owned())
}

/// Renders `tracing` events (the keeper's, the runtime's, the SDK's) in the schema.
pub struct SchemaFormat;

#[derive(Default)]
struct Fields {
    message: Option<String>,
    fields: Map<String, Value>,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.fields.insert(field.name().into(), Value::String(text));
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.fields
                .insert(field.name().into(), Value::String(value.to_owned()));
        }
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.fields.insert(field.name().into(), Value::from(value));
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.fields.insert(field.name().into(), Value::from(value));
    }

    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.fields.insert(field.name().into(), Value::from(value));
    }
}

impl<S, N> FormatEvent<S, N> for SchemaFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        fields.fields.insert(
            "target".into(),
            Value::String(event.metadata().target().to_owned()),
        );
        let level = Level::from_tracing(event.metadata().level());
        let message = fields.message.unwrap_or_default();
        writeln!(writer, "{}", now(level, &message, fields.fields))
    }
}

/// Check one line against the schema: valid JSON, the schema's fields, an RFC 3339
/// timestamp, a level Lambda recognises, and valid EMF where it carries metrics. Tests use it
/// on every line the function writes.
pub fn check(line: &str) -> Result<(), String> {
    let v: Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON ({e}): {line:.200}"))?;
    let field = |name: &str| v.get(name).ok_or_else(|| format!("no {name}: {line:.200}"));
    let timestamp = field("timestamp")?.as_str().unwrap_or_default();
    timestamp
        .parse::<jiff::Timestamp>()
        .map_err(|e| format!("timestamp {timestamp:?} is not RFC 3339 ({e})"))?;
    let level = field("level")?.as_str().unwrap_or_default();
    if !["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"].contains(&level) {
        return Err(format!("level {level:?} is not one Lambda recognises"));
    }
    field("message")?;
    if field("service")? != service() {
        return Err(format!("service is not {}", service()));
    }
    field("function_name")?;
    if !field("cold_start")?.is_boolean() {
        return Err("cold_start is not a boolean".to_owned());
    }
    if let Some(aws) = v.get("_aws") {
        if !aws["Timestamp"].is_i64() {
            return Err("EMF _aws.Timestamp is not epoch milliseconds".to_owned());
        }
        for directive in aws["CloudWatchMetrics"]
            .as_array()
            .ok_or("EMF without CloudWatchMetrics")?
        {
            for dimensions in directive["Dimensions"]
                .as_array()
                .ok_or("EMF without Dimensions")?
            {
                for d in dimensions
                    .as_array()
                    .ok_or("EMF dimension set is not a list")?
                {
                    let name = d.as_str().ok_or("EMF dimension is not a name")?;
                    if !v[name].is_string() {
                        return Err(format!("EMF dimension {name} has no string value"));
                    }
                }
            }
            for m in directive["Metrics"]
                .as_array()
                .ok_or("EMF without Metrics")?
            {
                let name = m["Name"].as_str().ok_or("EMF metric without Name")?;
                if !v[name].is_number() {
                    return Err(format!("EMF metric {name} has no numeric value"));
                }
            }
        }
        if level != "INFO" {
            return Err("EMF lines are INFO, so LogLevel filtering keeps them".to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_has_the_schema_fields_and_fields_cannot_replace_them() {
        let context = Context {
            function_name: "keeper".into(),
            request_id: Some("req-1".into()),
            cold_start: true,
        };
        let mut fields = Map::new();
        fields.insert("level".into(), Value::String("INFO".into()));
        fields.insert("code".into(), Value::String("Throttling".into()));
        let t: jiff::Timestamp = "2026-11-25T06:00:00.123Z".parse().unwrap();
        let v: Value =
            serde_json::from_str(&line(&context, Level::Error, "boom", fields, t)).unwrap();
        assert_eq!(v["level"], "ERROR", "a field cannot lower the level");
        assert_eq!(v["timestamp"], "2026-11-25T06:00:00.123Z");
        assert_eq!(v["requestId"], "req-1");
        assert_eq!(v["cold_start"], true);
        assert_eq!(v["service"], service());
        assert_eq!(v["function_name"], "keeper");
        assert_eq!(v["code"], "Throttling");
    }

    #[test]
    fn powertools_service_name_names_the_service_and_nothing_else_changes_it() {
        assert_eq!(service_from(None), SERVICE);
        assert_eq!(service_from(Some("  ".into())), SERVICE);
        assert_eq!(
            service_from(Some("identity-backups".into())),
            "identity-backups"
        );
        // A control character cannot break the JSON line or a Logs Insights query.
        assert!(!service_from(Some("a\nb".into())).contains('\n'));
    }
}
