//! One run over every directory: observe, ask the policy, act, wait, prune, flag.
//!
//! This is the thin loop around [`crate::policy`]: it makes no decision of its own. Directories
//! are observed, planned and acted on concurrently under a bound, and one directory's failure
//! never stops the others. New snapshots are then polled together, in batches, with backoff,
//! until they settle or the wait budget (bounded by the Lambda deadline minus a margin) runs
//! out. Every API call is bounded by that same instant, so a slow answer cannot carry the
//! function past its deadline.
//!
//! | file | job |
//! |---|---|
//! | `discovery.rs` | which directories this run covers (configured, discovered, requested) |
//! | `act.rs` | observe one directory, plan it, make room, create (and reconcile) |
//! | `wait.rs` | poll the new snapshots until they settle |
//! | `backoff.rs` | the one polling backoff every wait uses |
//! | `restore.rs` | a restore, carried out step by step (`ds-snapshot-keeper restore`) |
//! | `audit.rs` | the audit controls of every directory in scope (`ds-snapshot-keeper audit`) |
//! | `tamper.rs` | the tamper alert's judgement of a call someone else made |
//! | `scope.rs` | which directories a command or an action is about, decided once |
//! | `points.rs` | the restore points of the directories in scope (`ds-snapshot-keeper points`) |
//! | `mod.rs` | the run: the steps in order, the after-create deletions, flags |

mod act;
pub mod audit;
mod backoff;
mod discovery;
pub mod points;
pub mod restore;
pub mod scope;
pub mod tamper;
mod wait;

use std::future::Future;
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use jiff::Timestamp;
use tokio::time::Instant;

use crate::directory::DirectoryService;
use crate::error::{ApiError, ErrorKind};
use crate::model::{CreatedState, Operation, Snapshot, SnapshotLimits};
use crate::policy::{self, Intent, Plan, Policy};
use crate::report::{
    Deleted, DirectoryReport, ErrorEntry, Kept, Notified, RunReport, Severity, Summary,
};
use crate::request::Request;
use crate::settings::Settings;

/// Where "now" comes from; tests and simulations pin it.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The keeper: settings plus the Directory Service port.
pub struct Keeper<D> {
    pub ds: D,
    pub settings: Settings,
    pub region: String,
    pub clock: Clock,
    /// The function's name, the metrics' dimension (see `RunReport::function_name`).
    pub function_name: String,
}

pub use crate::log::LOCAL_FUNCTION_NAME;

/// What one run shares across its directories.
struct RunCtx {
    policy: Policy,
    intent: Intent,
    dry_run: bool,
    /// No API call starts after this instant (the deadline minus the margin), and none runs
    /// past it, so the function is never cut off in the middle of its work.
    stop_at: Option<Instant>,
}

impl RunCtx {
    /// Run one API call within the time left. A call that cannot start, or has not answered
    /// when time runs out, ends as a `DeadlineReached` error like any other failed call.
    async fn bounded<T>(
        &self,
        op: Operation,
        call: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let Some(stop_at) = self.stop_at else {
            return call.await;
        };
        if Instant::now() >= stop_at {
            return Err(deadline_error(
                op,
                ErrorKind::NotStarted,
                format!(
                    "stopped before {op}: the invocation deadline (minus the margin) was reached; \
                     the next run carries on"
                ),
            ));
        }
        match tokio::time::timeout_at(stop_at, call).await {
            Ok(answer) => answer,
            Err(_) => Err(deadline_error(
                op,
                ErrorKind::Transport,
                format!(
                    "{op} had not answered when the invocation deadline (minus the margin) came, \
                     and was cut short; the next run carries on"
                ),
            )),
        }
    }
}

fn deadline_error(op: Operation, kind: ErrorKind, message: String) -> ApiError {
    ApiError::new(
        op,
        kind,
        crate::model::KeeperCode::DeadlineReached.as_str(),
        message,
    )
}

/// Per-directory working state during a run.
struct Work {
    report: DirectoryReport,
    /// The directory's snapshots as the run believes them to be now.
    picture: Vec<Snapshot>,
    limits: Option<SnapshotLimits>,
    /// Manual snapshots the listing showed when the run began.
    listed_at_start: Option<u32>,
    plan: Plan,
    /// The snapshot this run created, while it matters.
    new_id: Option<String>,
    /// The worth order the after-create deletions were chosen from (see [`finish`]).
    ranking: Option<Vec<Kept>>,
    /// The picture is a listing the wait's last poll took: no listing after the wait.
    listed_fresh: bool,
    /// The directory as the run found it (what a restore mark's end is judged against).
    directory: Option<crate::model::Directory>,
}

impl Work {
    fn new(report: DirectoryReport) -> Self {
        Self {
            report,
            picture: Vec::new(),
            limits: None,
            listed_at_start: None,
            plan: Plan::default(),
            new_id: None,
            ranking: None,
            listed_fresh: false,
            directory: None,
        }
    }

    fn error(&mut self, err: &ApiError, snapshot_id: Option<&str>) {
        tracing::warn!(directory_id = %self.report.directory_id, operation = %err.operation, code = %err.code, "API call failed");
        self.report
            .errors
            .push(ErrorEntry::from_api(err, snapshot_id));
    }

    fn api_failed(&self) -> bool {
        self.report.errors.iter().any(|e| e.operation.is_api_call())
    }

    fn created_state(&self) -> Option<CreatedState> {
        self.report.created.as_ref().map(|c| c.status)
    }
}

impl<D: DirectoryService> Keeper<D> {
    pub fn new(ds: D, settings: Settings, region: impl Into<String>) -> Self {
        Self {
            ds,
            settings,
            region: region.into(),
            clock: Arc::new(Timestamp::now),
            function_name: LOCAL_FUNCTION_NAME.to_owned(),
        }
    }

    pub fn with_function_name(mut self, name: impl Into<String>) -> Self {
        self.function_name = name.into();
        self
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Run one request. `deadline` is when the invocation must have returned (if any).
    pub async fn run(
        &self,
        request: &Request,
        request_id: &str,
        deadline: Option<Instant>,
    ) -> RunReport {
        let started = Instant::now();
        let now = (self.clock)();
        let dry_run = policy::dry_run(request.action, request.dry_run, self.settings.dry_run);
        let mut run = RunReport {
            keeper_version: env!("CARGO_PKG_VERSION"),
            function_name: self.function_name.clone(),
            cold_start: false,
            request_id: request_id.to_owned(),
            region: self.region.clone(),
            action: request.action,
            dry_run,
            trigger: request.trigger.clone(),
            started_at: now,
            finished_at: now,
            severity: Severity::Ok,
            summary: Summary::default(),
            directories: Vec::new(),
            errors: Vec::new(),
            notification: Notified::NoTopic,
            coverage: None,
        };
        let ctx = RunCtx {
            policy: Policy::from(&self.settings),
            intent: Intent {
                force: request.force,
                ..Intent::new(request.action, request_id, now)
            },
            dry_run,
            stop_at: deadline.map(|d| {
                d.checked_sub(self.settings.deadline_margin)
                    .unwrap_or(started)
            }),
        };

        let (todo, mut works) = match self.resolve(request, &ctx).await {
            Ok((todo, works, coverage)) => {
                run.coverage = coverage;
                (todo, works)
            }
            Err(entry) => {
                run.errors.push(entry);
                run.finished_at = (self.clock)();
                run.settle();
                return run;
            }
        };

        // Observe, plan and act, a bounded number of directories at a time.
        let mut acted: Vec<Work> = stream::iter(todo)
            .map(|(d, work)| self.observe_plan_act(d, work, &ctx))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;

        // Wait for the new snapshots, all together, within the budget and the stop instant.
        let budget = started + self.settings.wait_budget;
        let wait_until = ctx.stop_at.map_or(budget, |stop| budget.min(stop));
        let waited = self.wait_for_new(&mut acted, wait_until, &ctx).await;
        if waited {
            acted = self.relist(acted, &ctx).await;
        }

        // Delete what the policy selects once the create has settled, then flag what is left.
        let settled: Vec<Work> = stream::iter(acted)
            .map(|work| self.after_create(work, &ctx))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        works.extend(settled);

        let end = (self.clock)();
        for w in &mut works {
            finish(w, &ctx.policy, end, ctx.intent.now);
        }
        works.sort_by(|a, b| a.report.directory_id.cmp(&b.report.directory_id));
        run.directories = works.into_iter().map(|w| w.report).collect();
        run.finished_at = end;
        run.settle();
        run
    }

    /// The deletions the policy selects after the create: the run's own Failed snapshot
    /// always, and pruning (or, for `snapshot`, the headroom) when the gate allows it.
    async fn after_create(&self, mut w: Work, ctx: &RunCtx) -> Work {
        let Some(limits) = w.limits else { return w };
        let action = ctx.intent.action;
        let created = w.created_state();
        let gate = policy::prune_gate(&w.plan, w.api_failed());
        w.report.prune_blocked = policy::prune_blocked(action, gate);
        // A dry run goes on from the picture the run would leave: the planned snapshot as if
        // it had completed, so its flags and quota are those of the real run.
        let new = match (&w.report.created, &w.new_id) {
            (Some(c), _) if c.status == CreatedState::Planned => {
                w.picture = policy::assume_completed(
                    &w.picture,
                    &c.name,
                    &w.report.directory_id,
                    ctx.intent.now,
                );
                Some(policy::rules::PLANNED_ID.to_owned())
            }
            (_, id) => id.clone(),
        };
        w.ranking = Some(kept(&w.picture, &ctx.policy, ctx.intent.now));
        let after = policy::after_run(
            &w.picture,
            limits.manual_limit,
            &ctx.policy,
            action,
            new.as_deref().zip(created),
            gate,
            ctx.intent.now,
        );
        w.report.headroom_held = after.headroom_held;
        if ctx.dry_run {
            // Simulated on the dry-run picture: recorded, not re-checked against the real one.
            for deletion in after.deletions {
                w.picture.retain(|s| s.id != deletion.snapshot_id);
                record_not_done(&mut w, deletion);
            }
        } else {
            self.delete_all(&mut w, after.deletions, ctx).await;
        }
        for p in &after.problems {
            w.report.errors.push(ErrorEntry::from_problem(p));
        }
        w
    }
}

/// Flags and freshness on the final picture, at `now`. What is kept is the ranking the
/// deletions were chosen from (at the run's `decided_at`), less what was deleted: ranked once,
/// so a run that crosses a period boundary reports the roles it chose by.
fn finish(w: &mut Work, policy: &Policy, now: Timestamp, decided_at: Timestamp) {
    if w.report.skipped.is_some() || w.limits.is_none() {
        w.report.settle_severity();
        return;
    }
    w.report.flagged = policy::flags(&w.picture, w.limits, w.listed_at_start, policy, now);
    w.report.safety_snapshots = w
        .picture
        .iter()
        .filter(|s| policy::safety::is_safety(s))
        .map(|s| format!("{}: {}", s.id, policy::safety::describe(s)))
        .collect();
    w.report.newest_completed_age_days = policy::newest_completed_age_days(&w.picture, now);
    w.report.quota = w.limits.map(|l| policy::quota_after(&w.picture, l, now));
    let ranking = w
        .ranking
        .take()
        .unwrap_or_else(|| kept(&w.picture, policy, decided_at));
    w.report.kept = ranking
        .into_iter()
        .filter(|k| w.picture.iter().any(|s| s.id == k.snapshot_id))
        .collect();
    w.report.settle_severity();
}

/// The restore points of `picture`, most worth first, as the report lists them.
fn kept(picture: &[Snapshot], policy: &Policy, now: Timestamp) -> Vec<Kept> {
    policy::by_worth(picture, policy, now)
        .into_iter()
        .map(|(s, worth)| Kept {
            snapshot_id: s.id.clone(),
            name: s.name.clone(),
            start_time: s.start_time,
            worth,
        })
        .collect()
}

/// Record deletions that were only simulated (dry run) or are otherwise not done.
fn record_not_done(w: &mut Work, deletion: policy::Deletion) {
    w.report.deleted.push(Deleted {
        deletion,
        done: false,
    });
}
