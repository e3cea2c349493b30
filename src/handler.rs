//! The invocation: parse the event, run the keeper, log, emit metrics, notify, answer.
//!
//! The same function serves Lambda (`main.rs` wires it to the runtime) and the local
//! `invoke` command. A run with failures ends in error *after* its report is logged and its
//! notification published, so Lambda's Errors metric and on-failure destination see it.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::time::Instant;

use crate::directory::DirectoryService;
use crate::error::{ApiError, ErrorKind};
use crate::log;
use crate::model::Operation;
use crate::notify::Notifier;
use crate::render;
use crate::report::{Notified, RunReport, Severity};
use crate::request::{self, EventError};
use crate::runner::Keeper;

/// Why an invocation ended in error. Its `Debug` is its one-line `Display`: the runtime logs
/// errors with `{:?}`, and a derived `Debug` would dump the whole run report (hundreds of KB
/// for a large estate, past CloudWatch Logs' event limit) a second time.
#[derive(thiserror::Error)]
pub enum InvocationError {
    #[error("{0}")]
    BadEvent(#[from] EventError),
    #[error("run {} ended with {} in {}; see the run report in the logs", .0.request_id, crate::render::count(.0.summary.failures, "failure"), .0.region)]
    RunFailed(Box<RunReport>),
    #[error("the run report could not be published to SNS: {0}")]
    NotifyFailed(ApiError),
    #[error("the audit could not list the directories: {0}")]
    AuditFailed(ApiError),
    #[error("restore of {} did not complete: {}; see the restore report in the logs", .0.directory_id, .0.outcome.name())]
    RestoreFailed(Box<crate::runner::restore::RestoreReport>),
}

impl std::fmt::Debug for InvocationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {self}", self.kind())
    }
}

/// Whether the process has handled an invocation yet (the next one is then warm).
static WARM: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl InvocationError {
    /// A short machine-readable name, used as the Lambda error type.
    pub fn kind(&self) -> &'static str {
        match self {
            InvocationError::BadEvent(_) => "BadEvent",
            InvocationError::RunFailed(_) => "RunFailed",
            InvocationError::NotifyFailed(_) => "NotifyFailed",
            InvocationError::RestoreFailed(_) => "RestoreFailed",
            InvocationError::AuditFailed(_) => "AuditFailed",
        }
    }
}

/// The longest an SNS publish may take before the run reports it failed.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(20);

/// Where log and metric lines go: stdout under Lambda, stderr for the local command.
pub type Sink<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// The deadline of a Lambda invocation as a tokio instant (`None` when the context has none).
pub fn deadline_from_epoch_millis(deadline_ms: u64) -> Option<Instant> {
    if deadline_ms == 0 {
        return None;
    }
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Some(Instant::now() + left)
}

/// The log line of a refused event: what was wrong and what is accepted.
pub fn refusal_line(e: &EventError) -> String {
    let mut fields = serde_json::Map::new();
    fields.insert("error".into(), e.to_string().into());
    log::now(
        log::Level::Error,
        "event refused; nothing was changed",
        fields,
    )
}

/// Start an invocation: the log context every line carries. Returns whether it is the
/// process's first (a cold start).
fn begin(function_name: &str, request_id: &str) -> bool {
    let cold_start = !WARM.swap(true, std::sync::atomic::Ordering::SeqCst);
    log::set_context(log::Context {
        function_name: function_name.to_owned(),
        // serde_json escapes whatever the id holds; only its length is capped.
        request_id: Some(request_id.chars().take(80).collect()),
        cold_start,
    });
    cold_start
}

/// The deadline to work to. One already past when the event arrives is not a real deadline
/// (cargo lambda watch sends a duration where Lambda sends an epoch time): warn, and let the
/// settings' budgets bound the work instead of stopping before the first call.
fn usable(deadline: Option<Instant>) -> Option<Instant> {
    match deadline {
        Some(d) if d <= Instant::now() => {
            tracing::warn!(
                "the invocation deadline is already past on arrival; ignoring it and bounding \
                 the run by WAIT_BUDGET_SECONDS"
            );
            None
        }
        other => other,
    }
}

/// Handle one invocation payload end to end.
pub async fn handle<D: DirectoryService, N: Notifier>(
    keeper: &Keeper<D>,
    notifier: Option<&N>,
    payload: &Value,
    request_id: &str,
    deadline: Option<Instant>,
    sink: Sink<'_>,
) -> Result<RunReport, InvocationError> {
    let cold_start = begin(&keeper.function_name, request_id);
    let parsed = request::parse_event(payload);
    let request = match parsed {
        Ok(r) => r,
        Err(e) => {
            sink(&refusal_line(&e));
            return Err(e.into());
        }
    };

    let deadline = usable(deadline);
    let mut report = keeper.run(&request, request_id, deadline).await;
    report.cold_start = cold_start;

    // Publish first, so the metrics can say whether a failed run's own alert went out (the
    // alarm on Lambda's Errors counts only failures nobody was told about). The publish is
    // bounded, so the report is always logged before the invocation's deadline.
    let mut publish_error = None;
    report.notification = match (
        notifier,
        render::notification(&report, keeper.settings.notify_level),
    ) {
        (None, _) => Notified::NoTopic,
        (Some(_), None) => Notified::NotNeeded,
        (Some(n), Some(message)) => {
            let limit = deadline
                .map(|d| d.saturating_duration_since(Instant::now()) / 2)
                .unwrap_or(PUBLISH_TIMEOUT)
                .min(PUBLISH_TIMEOUT);
            let published = tokio::time::timeout(limit, n.publish(&message))
                .await
                .unwrap_or_else(|_| {
                    Err(ApiError::new(
                        Operation::Publish,
                        ErrorKind::Transport,
                        "Timeout",
                        format!("no answer from SNS within {} s", limit.as_secs()),
                    ))
                });
            match published {
                Ok(()) => Notified::Published,
                Err(e) => {
                    let failed = Notified::Failed {
                        code: e.code.clone(),
                        message: e.to_string(),
                    };
                    publish_error = Some(e);
                    failed
                }
            }
        }
    };
    for line in render::log_lines(&report) {
        sink(&line);
    }
    for line in render::metric_lines(&report) {
        sink(&line);
    }
    if let Some(line) = render::log::publish_failed_line(&report) {
        sink(&line);
    }
    if report.has_failures() {
        return Err(InvocationError::RunFailed(Box::new(report)));
    }
    if let Some(e) = publish_error {
        return Err(InvocationError::NotifyFailed(e));
    }
    debug_assert!(report.severity != Severity::Failure);
    Ok(report)
}

/// What an invocation answers: a run's report, or a restore's.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Answer {
    Run(Box<RunReport>),
    Restore(Box<crate::runner::restore::RestoreReport>),
    Audit(Box<crate::runner::audit::AuditReport>),
    Tamper(Box<crate::runner::tamper::TamperReport>),
}

/// Handle any payload: a `restore` request ([`handle_restore`]) or a run ([`handle`]).
pub async fn handle_any<D: DirectoryService, N: Notifier>(
    keeper: &Keeper<D>,
    notifier: Option<&N>,
    payload: &Value,
    request_id: &str,
    deadline: Option<Instant>,
    sink: Sink<'_>,
) -> Result<Answer, InvocationError> {
    if let Some(parsed) = request::parse_restore(payload) {
        return handle_restore(keeper, notifier, parsed, request_id, deadline, sink)
            .await
            .map(|r| Answer::Restore(Box::new(r)));
    }
    if let Some(parsed) = request::parse_tamper(payload) {
        begin(&keeper.function_name, request_id);
        let event = parsed.map_err(|e| {
            sink(&refusal_line(&e));
            InvocationError::BadEvent(e)
        })?;
        let report =
            crate::runner::tamper::examine(&keeper.ds, &keeper.settings, event, (keeper.clock)())
                .await;
        let mut fields = serde_json::Map::new();
        fields.insert(
            "tamper".to_owned(),
            serde_json::to_value(&report).unwrap_or_default(),
        );
        let level = match report.verdict {
            crate::runner::tamper::Verdict::PlannedRestore => crate::log::Level::Info,
            _ => crate::log::Level::Error,
        };
        sink(&crate::log::now(level, "tamper report", fields));
        if let Some(n) = notifier {
            n.publish(&render::tamper::notification(&report, &keeper.region))
                .await
                .map_err(InvocationError::NotifyFailed)?;
        }
        return Ok(Answer::Tamper(Box::new(report)));
    }
    if let Some(parsed) = request::parse_audit(payload) {
        return handle_audit(keeper, notifier, parsed, request_id, sink)
            .await
            .map(|r| Answer::Audit(Box::new(r)));
    }
    handle(keeper, notifier, payload, request_id, deadline, sink)
        .await
        .map(|r| Answer::Run(Box::new(r)))
}

/// The Lambda's `audit` action: the audit controls of the managed directories in this Region,
/// logged and published to the topic (a schedule can send it weekly for the auditors).
async fn handle_audit<D: DirectoryService, N: Notifier>(
    keeper: &Keeper<D>,
    notifier: Option<&N>,
    parsed: Result<request::AuditRequest, EventError>,
    request_id: &str,
    sink: Sink<'_>,
) -> Result<crate::runner::audit::AuditReport, InvocationError> {
    begin(&keeper.function_name, request_id);
    let parsed = parsed.map_err(|e| {
        sink(&refusal_line(&e));
        InvocationError::BadEvent(e)
    })?;
    let now = (keeper.clock)();
    let findings = crate::runner::audit::audit_region(
        &keeper.ds,
        &keeper.region,
        &keeper.settings,
        &parsed.directory_ids,
        parsed.params,
        now,
    )
    .await;
    let report = crate::runner::audit::AuditReport {
        generated_at: now,
        params: parsed.params,
        findings: findings.map_err(InvocationError::AuditFailed)?,
    };
    let mut fields = serde_json::Map::new();
    fields.insert(
        "audit".to_owned(),
        serde_json::to_value(&report).unwrap_or_default(),
    );
    sink(&crate::log::now(
        crate::log::Level::Info,
        "audit report",
        fields,
    ));
    if let Some(n) = notifier {
        n.publish(&render::audit::notification(&report, &keeper.region))
            .await
            .map_err(InvocationError::NotifyFailed)?;
    }
    Ok(report)
}

/// The Lambda's `restore` action: off unless the stack opts in (`ALLOW_RESTORE`, set with
/// `ds:RestoreFromSnapshot` by `AllowRestore=enabled` or `allowRestore`). It runs the same
/// pre-flight, plan and safety snapshot as `ds-snapshot-keeper restore` (the safety snapshot
/// inside the invocation's deadline), starts the restore and returns; the scheduled runs then
/// follow it. Only a directory the keeper manages may be restored.
async fn handle_restore<D: DirectoryService, N: Notifier>(
    keeper: &Keeper<D>,
    notifier: Option<&N>,
    parsed: Result<request::RestoreRequest, EventError>,
    request_id: &str,
    deadline: Option<Instant>,
    sink: Sink<'_>,
) -> Result<crate::runner::restore::RestoreReport, InvocationError> {
    begin(&keeper.function_name, request_id);
    let refused = |e: EventError| {
        sink(&refusal_line(&e));
        InvocationError::BadEvent(e)
    };
    let parsed = parsed.map_err(refused)?;
    let deadline = usable(deadline);
    let settings = &keeper.settings;
    if !settings.allow_restore {
        return Err(refused(EventError {
            problem: "the restore action is off for this deployment: deploy it with the SAM \
                      parameter AllowRestore=enabled (or the construct prop allowRestore: true), \
                      which sets ALLOW_RESTORE=true and grants ds:RestoreFromSnapshot on the \
                      managed directories; or restore with `ds-snapshot-keeper restore` and your \
                      own credentials. Nothing was changed"
                .to_owned(),
        }));
    }
    let outside = crate::runner::scope::outside_scope(
        &keeper.ds,
        settings,
        std::slice::from_ref(&parsed.directory_id),
    )
    .await;
    if !outside.is_empty() {
        return Err(refused(EventError {
            problem: crate::policy::eligibility::out_of_scope_message(
                &[parsed.directory_id.as_str()],
                "the directories this keeper manages",
            ),
        }));
    }
    // The safety snapshot must complete inside the invocation, with the margin to answer.
    let left = deadline
        .map(|d| d.saturating_duration_since(Instant::now()))
        .unwrap_or(Duration::from_secs(900))
        .saturating_sub(settings.deadline_margin);
    let opts = crate::runner::restore::RestoreOptions {
        directory_id: parsed.directory_id.clone(),
        target: parsed.target.clone(),
        dry_run: parsed.dry_run,
        no_safety_snapshot: parsed.no_safety_snapshot,
        no_wait: true,
        timeout: left,
        safety_timeout: left,
        poll_initial: settings.poll_initial,
        poll_max: settings.poll_max,
        by: format!("function {} {request_id}", keeper.function_name),
    };
    let policy = crate::policy::Policy::from(settings);
    // The request's `confirm` was the confirmation: a plan that costs more by the time it is
    // carried out is refused, since nobody can be asked again.
    let report = crate::runner::restore::Restore {
        ds: &keeper.ds,
        notifier,
        region: &keeper.region,
        policy: &policy,
        opts: &opts,
        clock: keeper.clock.clone(),
        operator: crate::runner::restore::Unattended {
            directory_id: parsed.directory_id.clone(),
        },
        interrupt: crate::runner::restore::Interrupt::default(),
    }
    .run()
    .await;
    sink(&render::restore::log_line(&report));
    if report.outcome.exit_code() == 0 {
        Ok(report)
    } else {
        Err(InvocationError::RestoreFailed(Box::new(report)))
    }
}
