//! Every way the keeper can be triggered, parsed into one [`Request`].
//!
//! Accepted payloads:
//! * an EventBridge rule's scheduled event (`source: aws.events`, `detail-type: Scheduled Event`);
//! * EventBridge Scheduler's default payload (`source: aws.scheduler`, `detail` the string `"{}"`);
//! * a manual request, also what a Scheduler target's custom `Input` should be:
//!   `{"action": "run"|"snapshot"|"prune"|"report", "directory_ids": [...], "dry_run": bool,
//!   "force": bool}`.
//!
//! Anything else is refused with an error that says what was expected. Parsing is strict on
//! purpose: a typo such as `"dryrun": true` must not silently become a real run.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::naming::escape_for_log;
use crate::settings::parse_directory_ids;

/// The fields of an EventBridge event (rule or Scheduler); any other is refused, so that a
/// manual field slipped into a scheduled payload (`"dry_run": true`) cannot become a real run.
/// An EventBridge event's envelope, as AWS documents it ("Amazon EventBridge events": version,
/// id, detail-type, source, account, time, region, resources, detail). Written here rather
/// than taken from `aws_lambda_events`, which brought chrono and serde_with into the zip for
/// these nine fields (docs/benchmarks.md).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
struct EventBridgeEvent {
    detail_type: String,
    #[serde(default)]
    time: Option<jiff::Timestamp>,
    #[serde(default)]
    resources: Option<Vec<String>>,
    #[serde(default)]
    detail: Value,
}

const EVENTBRIDGE_FIELDS: &[&str] = &[
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
    "replay-name",
];

/// Largest payload accepted; real triggers are a few hundred bytes.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Most directory ids one manual request may name.
pub const MAX_REQUEST_DIRECTORIES: usize = 500;

pub use crate::model::Action;

/// Where the request came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    EventbridgeRule {
        rule: Option<String>,
        time: Option<String>,
    },
    Scheduler {
        schedule: Option<String>,
        time: Option<String>,
    },
    Manual,
}

/// One run's instructions, whatever the trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    pub action: Action,
    /// Directories named by the request; `None` means the configured ones (or discovery).
    pub directory_ids: Option<Vec<String>>,
    pub dry_run: bool,
    /// Take a snapshot even if one was taken within the minimum interval.
    pub force: bool,
    pub trigger: Trigger,
}

/// A payload the keeper will not act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unrecognised event: {problem}. Expected an EventBridge scheduled event (source aws.events or aws.scheduler, detail-type \"Scheduled Event\") or a manual request {{\"action\": \"run\"|\"snapshot\"|\"prune\"|\"report\", \"directory_ids\": [\"d-0123456789\"], \"dry_run\": true, \"force\": false}}")]
pub struct EventError {
    pub problem: String,
}

/// Build a refusal. The problem text may quote the payload (serde's messages can): control
/// characters are escaped so that nothing a caller sends can forge log lines.
fn refuse(problem: impl Into<String>) -> EventError {
    let problem: String = problem.into();
    let problem = problem
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    EventError { problem }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManualRequest {
    action: Option<Value>,
    directory_ids: Option<Value>,
    dry_run: Option<Value>,
    force: Option<Value>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A field given as `null` is refused, not read as absent: `"dry_run": null` must not become
/// a real run.
fn not_null(field: &str, value: Option<Value>) -> Result<Option<Value>, EventError> {
    match value {
        Some(Value::Null) => Err(refuse(format!(
            "field \"{field}\" is null; omit it or give a value"
        ))),
        other => Ok(other),
    }
}

fn flag(field: &str, value: Option<Value>) -> Result<bool, EventError> {
    match not_null(field, value)? {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(other) => Err(refuse(format!(
            "field \"{field}\" must be true or false, got {}",
            type_name(&other)
        ))),
    }
}

fn parse_manual(object: &serde_json::Map<String, Value>) -> Result<Request, EventError> {
    // serde reads `null` as an absent Option: look at the raw object first.
    for (field, value) in object {
        not_null(field, Some(value.clone()))?;
    }
    let manual: ManualRequest =
        serde_json::from_value(Value::Object(object.clone())).map_err(|e| {
            let known = "action, directory_ids, dry_run, force";
            let unknown: Vec<String> = object
                .keys()
                .filter(|k| !known.split(", ").any(|f| f == k.as_str()))
                .map(|k| escape_for_log(k, 40))
                .collect();
            if unknown.is_empty() {
                refuse(format!("manual request is malformed ({e})"))
            } else {
                refuse(format!(
                    "unknown field {} (accepted fields: {known})",
                    unknown.join(", ")
                ))
            }
        })?;
    let action = match not_null("action", manual.action)? {
        None => Action::Run,
        Some(Value::String(s)) => match s.as_str() {
            "run" => Action::Run,
            "snapshot" => Action::Snapshot,
            "prune" => Action::Prune,
            "report" => Action::Report,
            _ => {
                return Err(refuse(format!(
                    "unknown action {} (accepted: run, snapshot, prune, report)",
                    escape_for_log(&s, 40)
                )))
            }
        },
        Some(other) => {
            return Err(refuse(format!(
                "field \"action\" must be a string, got {}",
                type_name(&other)
            )))
        }
    };
    let directory_ids = match not_null("directory_ids", manual.directory_ids)? {
        None => None,
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err(refuse(
                    "field \"directory_ids\" is empty; omit it to use the configured directories",
                ));
            }
            if items.len() > MAX_REQUEST_DIRECTORIES {
                return Err(refuse(format!(
                    "field \"directory_ids\" names {} directories; at most {MAX_REQUEST_DIRECTORIES} are accepted",
                    items.len()
                )));
            }
            let mut strings = Vec::with_capacity(items.len());
            for item in &items {
                match item {
                    Value::String(s) => strings.push(s.as_str()),
                    other => {
                        return Err(refuse(format!(
                            "field \"directory_ids\" must hold strings, got {}",
                            type_name(other)
                        )))
                    }
                }
            }
            Some(parse_directory_ids(strings).map_err(|p| {
                refuse(format!(
                    "field \"directory_ids\": {p} (expected ^d-[0-9a-f]{{10}}$)"
                ))
            })?)
        }
        Some(other) => {
            return Err(refuse(format!(
                "field \"directory_ids\" must be an array of directory ids, got {}",
                type_name(&other)
            )))
        }
    };
    Ok(Request {
        action,
        directory_ids,
        dry_run: flag("dry_run", manual.dry_run)?,
        force: flag("force", manual.force)?,
        trigger: Trigger::Manual,
    })
}

impl Request {
    /// A manual request for `action` over the configured directories.
    pub fn manual(action: Action) -> Self {
        Request {
            action,
            directory_ids: None,
            dry_run: false,
            force: false,
            trigger: Trigger::Manual,
        }
    }
}

fn scheduled(trigger: Trigger) -> Request {
    Request {
        action: Action::Run,
        directory_ids: None,
        dry_run: false,
        force: false,
        trigger,
    }
}

fn check_size(bytes: usize) -> Result<(), EventError> {
    if bytes > MAX_EVENT_BYTES {
        return Err(refuse(format!(
            "payload is {bytes} bytes; at most {MAX_EVENT_BYTES} are accepted"
        )));
    }
    Ok(())
}

/// Parse raw invocation bytes (as the Lambda runtime or `invoke` receives them).
pub fn parse_bytes(raw: &[u8]) -> Result<Request, EventError> {
    parse(&decode(raw)?)
}

/// Raw invocation bytes as JSON, refused (with the expected shapes) when too large or not JSON.
pub fn decode(raw: &[u8]) -> Result<Value, EventError> {
    check_size(raw.len())?;
    serde_json::from_slice(raw).map_err(|e| refuse(format!("payload is not JSON ({e})")))
}

/// Parse a payload the runtime has already decoded, refusing it when it is too large.
pub fn parse_event(value: &Value) -> Result<Request, EventError> {
    check_size(serde_json::to_vec(value).map_or(usize::MAX, |v| v.len()))?;
    parse(value)
}

/// Parse an already-decoded payload.
pub fn parse(value: &Value) -> Result<Request, EventError> {
    let object = match value {
        Value::Object(o) => o,
        other => {
            return Err(refuse(format!(
                "payload is {}, not an object",
                type_name(other)
            )))
        }
    };
    match object.get("source") {
        None => parse_manual(object),
        Some(Value::String(source)) => {
            if let Some(extra) = object
                .keys()
                .find(|k| !EVENTBRIDGE_FIELDS.contains(&k.as_str()))
            {
                return Err(refuse(format!(
                    "EventBridge event carries field {}, which a scheduled event never has \
                     (accepted: {}); a manual request has no \"source\" field",
                    escape_for_log(extra, 40),
                    EVENTBRIDGE_FIELDS.join(", ")
                )));
            }
            let event: EventBridgeEvent = serde_json::from_value(value.clone())
                .map_err(|e| refuse(format!("EventBridge event is malformed ({e})")))?;
            if event.detail_type != "Scheduled Event" {
                return Err(refuse(format!(
                    "detail-type {} is not \"Scheduled Event\"",
                    escape_for_log(&event.detail_type, 60)
                )));
            }
            let time = event.time.map(|t| t.to_string());
            let first_resource = event.resources.as_ref().and_then(|r| r.first().cloned());
            match source.as_str() {
                "aws.events" => {
                    let Value::Object(detail) = &event.detail else {
                        return Err(refuse("aws.events scheduled event has a non-object detail"));
                    };
                    if !detail.is_empty() {
                        return Err(refuse("aws.events scheduled event carries a detail; put a manual request in the target's Input instead"));
                    }
                    Ok(scheduled(Trigger::EventbridgeRule {
                        rule: first_resource,
                        time,
                    }))
                }
                "aws.scheduler" => {
                    // Scheduler's default payload carries the *string* "{}" as detail.
                    let empty = match &event.detail {
                        Value::String(s) => s.trim() == "{}" || s.trim().is_empty(),
                        Value::Object(o) => o.is_empty(),
                        Value::Null => true,
                        _ => false,
                    };
                    if !empty {
                        return Err(refuse("aws.scheduler event carries a detail; use a manual request as the schedule's Input instead"));
                    }
                    Ok(scheduled(Trigger::Scheduler {
                        schedule: first_resource,
                        time,
                    }))
                }
                other => Err(refuse(format!(
                    "source {} is neither aws.events nor aws.scheduler",
                    escape_for_log(other, 60)
                ))),
            }
        }
        Some(other) => Err(refuse(format!(
            "field \"source\" is {}, not a string",
            type_name(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn eventbridge_rule_schedule() {
        let r = parse(&json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-24T06:00:00Z", "region": "eu-west-1",
            "resources": ["arn:aws:events:eu-west-1:123456789012:rule/ds-keeper"], "detail": {}
        }))
        .unwrap();
        assert_eq!(r.action, Action::Run);
        assert!(!r.dry_run && r.directory_ids.is_none());
        assert!(
            matches!(r.trigger, Trigger::EventbridgeRule { rule: Some(ref a), .. } if a.ends_with("rule/ds-keeper"))
        );
    }

    #[test]
    fn scheduler_default_payload_has_string_detail() {
        let r = parse(&json!({
            "version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.scheduler",
            "account": "123456789012", "time": "2026-11-24T06:00:00Z", "region": "eu-west-1",
            "resources": ["arn:aws:scheduler:eu-west-1:123456789012:schedule/default/k"], "detail": "{}"
        }))
        .unwrap();
        assert_eq!(r.action, Action::Run);
        assert!(matches!(r.trigger, Trigger::Scheduler { .. }));
    }

    #[test]
    fn manual_requests() {
        let r =
            parse(&json!({"action": "report", "directory_ids": ["d-0123456789"], "dry_run": true}))
                .unwrap();
        assert_eq!(r.action, Action::Report);
        assert_eq!(r.directory_ids, Some(vec!["d-0123456789".to_owned()]));
        assert!(r.dry_run);
        assert_eq!(parse(&json!({})).unwrap().action, Action::Run);
        assert!(
            parse(&json!({"action": "snapshot", "force": true}))
                .unwrap()
                .force
        );
    }

    #[test]
    fn refusals_name_the_problem_and_the_expected_shapes() {
        let cases = [
            (json!(null), "null"),
            (json!([1, 2]), "an array"),
            (json!("run"), "a string"),
            (json!({"action": "destroy"}), "unknown action"),
            (json!({"action": 3}), "must be a string"),
            (json!({"dryrun": true}), "unknown field \"dryrun\""),
            (json!({"dry_run": "yes"}), "must be true or false"),
            (json!({"dry_run": null}), "\"dry_run\" is null"),
            (json!({"action": null}), "\"action\" is null"),
            (json!({"force": null}), "\"force\" is null"),
            (json!({"directory_ids": null}), "\"directory_ids\" is null"),
            (
                json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}, "dry_run": true}),
                "carries field \"dry_run\"",
            ),
            (
                json!({"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": "{}", "action": "report"}),
                "carries field \"action\"",
            ),
            (json!({"directory_ids": "d-0123456789"}), "must be an array"),
            (json!({"directory_ids": []}), "is empty"),
            (json!({"directory_ids": ["d-XYZ"]}), "is not a directory id"),
            (json!({"directory_ids": [7]}), "must hold strings"),
            (
                json!({"source": "aws.ec2", "detail-type": "Scheduled Event", "detail": {}}),
                "neither aws.events",
            ),
            (
                json!({"source": "aws.events", "detail-type": "EC2 Instance State-change Notification", "detail": {}}),
                "is not \"Scheduled Event\"",
            ),
            (json!({"source": 5}), "not a string"),
            (
                json!({"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": "{\"a\":1}"}),
                "carries a detail",
            ),
        ];
        for (payload, needle) in cases {
            let err = parse(&payload).expect_err(&payload.to_string());
            let text = err.to_string();
            assert!(text.contains(needle), "{payload}: {text}");
            assert!(
                text.contains("Expected an EventBridge scheduled event"),
                "{text}"
            );
        }
    }

    #[test]
    fn huge_and_non_json_payloads_are_refused() {
        let huge = vec![b' '; MAX_EVENT_BYTES + 1];
        assert!(parse_bytes(&huge).unwrap_err().problem.contains("bytes"));
        assert!(parse_bytes(b"{not json")
            .unwrap_err()
            .problem
            .contains("not JSON"));
        assert!(parse_bytes(b"").is_err());
    }
}

/// The fields of a manual `restore` request (the Lambda's restore action).
const RESTORE_FIELDS: &[&str] = &[
    "action",
    "directory_id",
    "snapshot_id",
    "before",
    "confirm",
    "dry_run",
    "no_safety_snapshot",
];

/// A `restore` request: `{"action": "restore", "directory_id": "d-...", "snapshot_id":
/// "s-..." | "before": "RFC 3339", "confirm": "d-...", "dry_run": bool,
/// "no_safety_snapshot": bool}`. `confirm` must repeat the directory id: a restore overwrites
/// the whole directory and cannot be undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreRequest {
    pub directory_id: String,
    pub target: crate::policy::restore::Target,
    pub dry_run: bool,
    pub no_safety_snapshot: bool,
}

/// `Some` when the payload asks for a restore (`"action": "restore"`), parsed strictly;
/// `None` for every other payload, which [`parse_event`] reads.
pub fn parse_restore(value: &Value) -> Option<Result<RestoreRequest, EventError>> {
    let object = value.as_object()?;
    if object.get("action").and_then(Value::as_str) != Some("restore") {
        return None;
    }
    Some(restore_request(object))
}

fn restore_request(object: &serde_json::Map<String, Value>) -> Result<RestoreRequest, EventError> {
    use crate::policy::restore::Target;
    let accepted =
        "{\"action\": \"restore\", \"directory_id\": \"d-0123456789\", \"snapshot_id\": \
                    \"s-0123456789\" (or \"before\": \"2026-12-01T05:00:00Z\"), \"confirm\": \
                    \"d-0123456789\", \"dry_run\": false, \"no_safety_snapshot\": false}";
    if let Some(extra) = object
        .keys()
        .find(|k| !RESTORE_FIELDS.contains(&k.as_str()))
    {
        return Err(refuse(format!(
            "restore request carries field {}; accepted: {accepted}",
            escape_for_log(extra, 40)
        )));
    }
    let text = |field: &str| -> Result<Option<String>, EventError> {
        match object.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(refuse(format!(
                "restore request's {field} is {}, not a string; accepted: {accepted}",
                type_name(other)
            ))),
        }
    };
    let flag = |field: &str| -> Result<bool, EventError> {
        match object.get(field) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(refuse(format!(
                "restore request's {field} is {}, not true or false",
                type_name(other)
            ))),
        }
    };
    let directory_id = text("directory_id")?.ok_or_else(|| {
        refuse(format!(
            "restore request names no directory_id; accepted: {accepted}"
        ))
    })?;
    if !crate::naming::is_directory_id(&directory_id) {
        return Err(refuse(format!(
            "restore request's directory_id {} is not a directory id (d- and 10 hexadecimal digits)",
            escape_for_log(&directory_id, 40)
        )));
    }
    let target = match (text("snapshot_id")?, text("before")?) {
        (Some(id), None) if crate::naming::is_snapshot_id(&id) => Target::Snapshot(id),
        (Some(id), None) => {
            return Err(refuse(format!(
            "restore request's snapshot_id {} is not a snapshot id (s- and 10 hexadecimal digits)",
            escape_for_log(&id, 40)
        )))
        }
        (None, Some(t)) => Target::Before(t.parse().map_err(|e| {
            refuse(format!(
                "restore request's before {} is not an RFC 3339 time such as \
                 2026-12-01T05:00:00Z ({e})",
                escape_for_log(&t, 40)
            ))
        })?),
        _ => {
            return Err(refuse(format!(
                "restore request needs exactly one of snapshot_id and before; accepted: {accepted}"
            )))
        }
    };
    let confirm = text("confirm")?;
    let dry_run = flag("dry_run")?;
    if !dry_run && confirm.as_deref() != Some(directory_id.as_str()) {
        return Err(refuse(format!(
            "a restore overwrites directory {directory_id} and cannot be undone: confirm must \
             repeat its id (\"confirm\": \"{directory_id}\"), or set \"dry_run\": true to see the \
             plan; nothing was changed"
        )));
    }
    Ok(RestoreRequest {
        directory_id,
        target,
        dry_run,
        no_safety_snapshot: flag("no_safety_snapshot")?,
    })
}

/// An `audit` request: `{"action": "audit", "directory_ids": ["d-..."], "max_age_hours": 26,
/// "min_reach_days": 7}` (all but the action optional): the audit controls, published to the
/// topic. Read-only.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditRequest {
    pub directory_ids: Vec<String>,
    pub params: crate::policy::audit::AuditParams,
}

/// `Some` when the payload asks for an audit, parsed strictly; `None` otherwise.
pub fn parse_audit(value: &Value) -> Option<Result<AuditRequest, EventError>> {
    let object = value.as_object()?;
    if object.get("action").and_then(Value::as_str) != Some("audit") {
        return None;
    }
    let accepted = "{\"action\": \"audit\", \"directory_ids\": [\"d-0123456789\"], \
                    \"max_age_hours\": 26, \"min_reach_days\": 7}";
    let refuse = |problem: String| EventError {
        problem: format!("{problem}; accepted: {accepted}"),
    };
    let mut out = AuditRequest::default();
    for (key, v) in object {
        match key.as_str() {
            "action" => {}
            "directory_ids" => {
                let Some(ids) = v.as_array() else {
                    return Some(Err(refuse(
                        "audit request's directory_ids is not a list".into(),
                    )));
                };
                for id in ids {
                    match id.as_str() {
                        Some(id) if crate::naming::is_directory_id(id) => {
                            out.directory_ids.push(id.to_owned())
                        }
                        _ => {
                            return Some(Err(refuse(format!(
                                "audit request's directory id {} is not a directory id",
                                escape_for_log(&id.to_string(), 40)
                            ))))
                        }
                    }
                }
            }
            "max_age_hours" => match v.as_i64().filter(|h| (1..=8760).contains(h)) {
                Some(h) => out.params.max_newest_age_hours = h,
                None => {
                    return Some(Err(refuse(
                        "audit request's max_age_hours is not a whole number 1..=8760".into(),
                    )))
                }
            },
            "min_reach_days" => match v.as_i64().filter(|d| (0..180).contains(d)) {
                Some(d) => out.params.min_reach_days = d,
                None => {
                    return Some(Err(refuse(
                        "audit request's min_reach_days is not a whole number 0..=179".into(),
                    )))
                }
            },
            other => {
                return Some(Err(refuse(format!(
                    "audit request carries field {}",
                    escape_for_log(other, 40)
                ))))
            }
        }
    }
    Some(Ok(out))
}

/// A Directory Service call as CloudTrail reported it through EventBridge (`source: aws.ds`,
/// `detail-type: AWS API Call via CloudTrail`): what the tamper rule hands the function
/// (docs/tamper-alert.md).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TamperEvent {
    /// `DeleteSnapshot`, `RestoreFromSnapshot` or `DeleteDirectory`.
    pub call: String,
    /// Who: the caller's ARN (`userIdentity.arn`), else its type.
    pub principal: String,
    /// From where: `sourceIPAddress` and `userAgent`.
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub time: Option<String>,
    pub region: Option<String>,
    pub snapshot_id: Option<String>,
    pub directory_id: Option<String>,
    /// Set when AWS refused the call (the lock's `AccessDenied`).
    pub error_code: Option<String>,
}

/// `Some` when the payload is a CloudTrail-reported Directory Service call; `None` otherwise.
pub fn parse_tamper(value: &Value) -> Option<Result<TamperEvent, EventError>> {
    let object = value.as_object()?;
    if object.get("source").and_then(Value::as_str) != Some("aws.ds")
        || object.get("detail-type").and_then(Value::as_str) != Some("AWS API Call via CloudTrail")
    {
        return None;
    }
    let detail = object.get("detail").and_then(Value::as_object);
    let Some(detail) = detail else {
        return Some(Err(EventError {
            problem: "CloudTrail event (source aws.ds) has no detail object".to_owned(),
        }));
    };
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(|s| escape_for_log(s, 200).trim_matches('"').to_owned())
    };
    let call = text(detail.get("eventName")).unwrap_or_default();
    if !["DeleteSnapshot", "RestoreFromSnapshot", "DeleteDirectory"].contains(&call.as_str()) {
        return Some(Err(EventError {
            problem: format!(
                "CloudTrail event for {}: the tamper rule sends DeleteSnapshot, \
                 RestoreFromSnapshot and DeleteDirectory only",
                escape_for_log(&call, 60)
            ),
        }));
    }
    let identity = detail.get("userIdentity");
    let params = detail.get("requestParameters");
    let id = |key: &str, valid: fn(&str) -> bool| {
        params
            .and_then(|p| p.get(key))
            .and_then(Value::as_str)
            .filter(|v| valid(v))
            .map(str::to_owned)
    };
    Some(Ok(TamperEvent {
        principal: text(identity.and_then(|i| i.get("arn")))
            .or_else(|| text(identity.and_then(|i| i.get("type"))))
            .unwrap_or_else(|| "unknown".to_owned()),
        source_ip: text(detail.get("sourceIPAddress")),
        user_agent: text(detail.get("userAgent")),
        time: text(detail.get("eventTime")),
        region: text(detail.get("awsRegion")),
        snapshot_id: id("snapshotId", crate::naming::is_snapshot_id),
        directory_id: id("directoryId", crate::naming::is_directory_id),
        error_code: text(detail.get("errorCode")),
        call,
    }))
}
