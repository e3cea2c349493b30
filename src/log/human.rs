//! Log lines for a person at a terminal (`invoke`, `restore`, `points` outside Lambda):
//!
//! ```text
//! 11:21:15 WARN  the invocation deadline is already past on arrival; ...
//! 11:21:16 ERROR SNS publish failed  code=AuthorizationError
//! ```
//!
//! The time in UTC to the second, the level, the message and the event's fields as
//! `key=value`; another crate's line names that crate. `--log-format json` gives the Lambda
//! schema's JSON lines instead (`log::line`), for a script or `jq`.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Renders `tracing` events as one readable line each.
pub struct HumanFormat;

#[derive(Default)]
struct Fields {
    message: String,
    rest: Vec<(String, String)>,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"))
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.rest.push((field.name().to_owned(), value.to_owned()));
        }
    }
}

/// One line: `HH:MM:SS LEVEL message  key=value ...`; values with spaces are quoted.
pub fn line(
    time: jiff::Timestamp,
    level: super::Level,
    target: &str,
    message: &str,
    fields: &[(String, String)],
) -> String {
    let time = time.strftime("%H:%M:%S");
    let mut out = format!("{time} {:<5} {}", level.as_str(), message.trim_end());
    if !target.starts_with("ds_snapshot_keeper") {
        out.push_str(&format!("  [{target}]"));
    }
    for (i, (k, v)) in fields.iter().enumerate() {
        out.push_str(if i == 0 { "  " } else { " " });
        if v.is_empty() || v.contains(char::is_whitespace) || v.contains('"') {
            out.push_str(&format!("{k}={v:?}"));
        } else {
            out.push_str(&format!("{k}={v}"));
        }
    }
    out
}

impl<S, N> FormatEvent<S, N> for HumanFormat
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
        let level = super::Level::from_tracing(event.metadata().level());
        writeln!(
            writer,
            "{}",
            line(
                jiff::Timestamp::now(),
                level,
                event.metadata().target(),
                &fields.message,
                &fields.rest
            )
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::Level;

    #[test]
    fn a_line_is_time_level_message_and_fields_with_spaces_quoted() {
        let t: jiff::Timestamp = "2026-12-03T11:21:15.123456789Z".parse().unwrap();
        let fields = vec![
            ("code".to_owned(), "Throttling".to_owned()),
            ("error".to_owned(), "rate exceeded".to_owned()),
        ];
        assert_eq!(
            line(
                t,
                Level::Warn,
                "ds_snapshot_keeper::runner",
                "retrying",
                &fields
            ),
            "11:21:15 WARN  retrying  code=Throttling error=\"rate exceeded\""
        );
        assert_eq!(
            line(t, Level::Error, "aws_config::imds", "no region", &[]),
            "11:21:15 ERROR no region  [aws_config::imds]"
        );
    }
}
