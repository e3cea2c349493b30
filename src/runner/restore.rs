//! Carrying out a restore, beside the run: observe the directory, ask
//! [`crate::policy::restore`] for the plan, confirm, mark the directory, decide again from
//! what is there now, keep a safety snapshot of the present, send `RestoreFromSnapshot` once,
//! and follow the directory's stage to the end. It makes no decision of its own.
//!
//! What it guarantees, each step attacked by a test (`runner/restore/tests.rs`, and the
//! emulator suites with the real binary):
//!
//! * **Decided from now.** After the confirmation the directory is marked
//!   ([`crate::policy::restore_mark`]) and read again; every deletion and the send are decided
//!   from a listing taken right before them, with the guard checked again. A plan that now
//!   costs more goes back to the operator ([`Operator::reconfirm`]: a terminal asks again;
//!   `--yes` and the Lambda action refuse), one that costs less goes ahead with less.
//! * **Nothing paid for a snapshot that cannot be taken**: a directory that is not Active gets
//!   no safety snapshot and loses nothing for one; a re-run reuses the safety snapshot it took.
//! * **Only the truth.** `RestoreFromSnapshot` is sent at most once, without SDK retries. An
//!   answer (even a refusal) is never second-guessed by reading the stage; only a lost answer
//!   is, and a `Restoring` stage is claimed as this restore only when it began after the read
//!   taken right before the send. Reads that fail are retried before anything is concluded.
//! * **Ctrl-C** is heard from the start: a call in flight is let finish (its answer is what
//!   the report tells), no further change is made, and the report says what was changed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::backoff::Backoff;
use super::Clock;
use crate::directory::DirectoryService;
use crate::error::{ApiError, ErrorKind};
use crate::model::{Directory, Operation, Snapshot, SnapshotLimits, SnapshotStatus, Stage};
use crate::notify::Notifier;
use crate::policy::restore::{
    self as decide, Ask, Change, Refusal, RestorePlan, SafetyPlan, Target,
};
use crate::policy::restore_mark::{self, Mark, MarkState, MARK_KEY};
use crate::policy::{Deletion, Policy};

/// What the operator asked for.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    pub directory_id: String,
    pub target: Target,
    /// Stop after the plan: the restore drill, safe on production.
    pub dry_run: bool,
    /// Restore without keeping a snapshot of the present first.
    pub no_safety_snapshot: bool,
    /// Return once the restore has started.
    pub no_wait: bool,
    /// How long to follow the restore (default 4 hours).
    pub timeout: Duration,
    /// How long to wait for the safety snapshot to complete.
    pub safety_timeout: Duration,
    pub poll_initial: Duration,
    pub poll_max: Duration,
    /// Who is restoring, for the mark: `cli user@host`, `function name request-id`.
    pub by: String,
}

/// The person (or the invocation) the restore answers to.
pub trait Operator {
    /// Show the plan and ask whether to go on.
    fn confirm(&mut self, plan: &RestorePlan) -> bool;
    /// The plan, made again from what is there now, costs more (`what`): ask again. A caller
    /// that cannot ask (`--yes`, the Lambda action) answers `false`.
    fn reconfirm(&mut self, plan: &RestorePlan, what: &str) -> bool;
    /// A line of progress.
    fn progress(&mut self, line: &str);
}

/// An operator who confirmed in advance (`--yes`, the Lambda action's `confirm`): a plan that
/// costs more than what was confirmed is refused, since nobody can be asked again; progress
/// goes to the log.
#[derive(Debug, Clone)]
pub struct Unattended {
    pub directory_id: String,
}

impl Operator for Unattended {
    fn confirm(&mut self, _plan: &RestorePlan) -> bool {
        true
    }

    fn reconfirm(&mut self, _plan: &RestorePlan, what: &str) -> bool {
        tracing::warn!(directory_id = %self.directory_id, "the restore now costs more than confirmed ({what}): refused");
        false
    }

    fn progress(&mut self, line: &str) {
        tracing::info!(directory_id = %self.directory_id, "{line}");
    }
}

/// Ctrl-C, as the restore hears it: set once, heard between steps and during waits.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    set: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl Interrupt {
    pub fn trigger(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Resolves once triggered.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// The SNS messages of a restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestoreEvent {
    Started,
    Completed,
    Failed,
    StillRestoring,
    /// The outcome could not be confirmed: the restore may have started.
    Unconfirmed,
}

impl RestoreEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            RestoreEvent::Started => "started",
            RestoreEvent::Completed => "completed",
            RestoreEvent::Failed => "failed",
            RestoreEvent::StillRestoring => "still-restoring",
            RestoreEvent::Unconfirmed => "unconfirmed",
        }
    }
}

/// How a restore ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Outcome {
    /// `--dry-run`: the plan, and nothing changed.
    Planned,
    /// A check failed; nothing was restored (what was changed before it is in the report).
    Refused { refusal: Refusal },
    /// The operator did not confirm; nothing changed.
    NotConfirmed,
    /// A read the plan needs failed (after retries); nothing changed.
    ReadFailed { error: ApiError },
    /// The restore mark could not be set; nothing changed.
    MarkFailed { error: ApiError },
    /// Making room, or the safety snapshot, failed: not restored.
    SafetyFailed { error: ApiError },
    /// The wait for the safety snapshot ended while it was still Creating: not restored. The
    /// same command, run again, reuses it.
    SafetyNotReady { snapshot_id: String },
    /// `RestoreFromSnapshot` was answered with a refusal: not restored.
    NotStarted { error: ApiError },
    /// `RestoreFromSnapshot`'s answer was lost and the stage read after it could not show
    /// whether this restore started: it may have.
    Unconfirmed { error: ApiError, why: String },
    /// `--no-wait`: the restore started; the keeper's runs and `points` follow it.
    Started,
    /// The directory is `Active` again, restored.
    Restored,
    /// The directory ended `RestoreFailed`.
    RestoreFailed { reason: Option<String> },
    /// Still restoring when the time ran out; the stage last read since the send, if any.
    TimedOut { stage: Option<Stage> },
    /// The operator pressed Ctrl-C. After `RestoreFromSnapshot` was sent the restore goes on
    /// in AWS; before, nothing was restored.
    Interrupted,
}

/// A restore's exit codes (the command line's table names them all).
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const REFUSED: i32 = 2;
    pub const TIMED_OUT: i32 = 4;
    pub const UNCONFIRMED: i32 = 5;
    pub const INTERRUPTED: i32 = 130;
}

impl Outcome {
    /// The wire name (`restored`, `refused`...).
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v["kind"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The process exit code: 0 restored (or planned, or started), 1 failed, 2 refused or not
    /// confirmed, 4 timed out (the restore, or the safety snapshot, goes on), 5 unconfirmed
    /// (the restore may have started), 130 interrupted.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Planned | Outcome::Started | Outcome::Restored => exit::OK,
            Outcome::Refused { .. } | Outcome::NotConfirmed => exit::REFUSED,
            Outcome::ReadFailed { .. }
            | Outcome::MarkFailed { .. }
            | Outcome::SafetyFailed { .. }
            | Outcome::NotStarted { .. }
            | Outcome::RestoreFailed { .. } => exit::FAILED,
            Outcome::TimedOut { .. } | Outcome::SafetyNotReady { .. } => exit::TIMED_OUT,
            Outcome::Unconfirmed { .. } => exit::UNCONFIRMED,
            Outcome::Interrupted => exit::INTERRUPTED,
        }
    }
}

/// The safety snapshot as the restore last saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SafetySeen {
    pub snapshot_id: String,
    /// Its status when last read.
    pub status: SnapshotStatus,
    /// Taken by an earlier run of this restore, and reused.
    pub reused: bool,
}

/// What became of the restore mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MarkLeft {
    /// Never set (a dry run, a refusal before the confirmation).
    #[default]
    NotSet,
    /// Set, and removed when the restore ended.
    Cleared,
    /// Still on the directory: it holds until it expires, so that runs leave the directory
    /// alone while the restore (or its safety snapshot) goes on.
    Held,
}

/// The record of one restore, rendered as JSON or words.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub directory_id: String,
    pub region: String,
    pub started_at: Timestamp,
    pub plan: Option<RestorePlan>,
    /// Deletions made to free a slot for the safety snapshot, each with its rule.
    pub deleted: Vec<Deletion>,
    pub safety: Option<SafetySeen>,
    /// Whether `RestoreFromSnapshot` was sent (it is sent at most once).
    pub restore_sent: bool,
    pub mark: MarkLeft,
    /// The mark as this restore last wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_mark: Option<Mark>,
    pub outcome: Outcome,
    /// The directory's stage when last read.
    pub final_stage: Option<Stage>,
    /// `DescribeDirectories` calls made while following the restore.
    pub polls: u32,
    pub elapsed_secs: u64,
    /// The SNS messages sent about it, when a topic is set.
    pub notified: Vec<RestoreEvent>,
    /// Messages that could not be published.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notify_errors: Vec<ApiError>,
}

impl RestoreReport {
    /// Whether nothing at all was changed in AWS: no deletion, no safety snapshot taken, no
    /// send (the mark aside: it changes no restore point).
    pub fn changed_nothing(&self) -> bool {
        self.deleted.is_empty()
            && self.safety.as_ref().map_or(true, |s| s.reused)
            && !self.restore_sent
    }

    /// Whether the topic hears of it: a change, or a safety snapshot that could not be taken.
    fn worth_telling(&self) -> bool {
        !self.changed_nothing() || matches!(self.outcome, Outcome::SafetyFailed { .. })
    }
}

/// How many times a read is tried before the restore concludes anything from its failure.
const READ_ATTEMPTS: u32 = 4;

/// Carries out one restore; see the module's comment.
pub struct Restore<'a, D, N, O> {
    pub ds: &'a D,
    pub notifier: Option<&'a N>,
    pub region: &'a str,
    pub policy: &'a Policy,
    pub opts: &'a RestoreOptions,
    pub clock: Clock,
    pub operator: O,
    pub interrupt: Interrupt,
}

/// A directory as read for a decision.
struct Observed {
    directory: Directory,
    snapshots: Vec<Snapshot>,
    limits: SnapshotLimits,
    mark: MarkState,
}

/// Why the restore stops early.
type Stop = Outcome;

impl<D: DirectoryService, N: Notifier, O: Operator> Restore<'_, D, N, O> {
    /// Run the restore to its end.
    pub async fn run(mut self) -> RestoreReport {
        let started = Instant::now();
        let mut report = RestoreReport {
            directory_id: self.opts.directory_id.clone(),
            region: self.region.to_owned(),
            started_at: (self.clock)(),
            plan: None,
            deleted: Vec::new(),
            safety: None,
            restore_sent: false,
            mark: MarkLeft::NotSet,
            restore_mark: None,
            outcome: Outcome::Planned,
            final_stage: None,
            polls: 0,
            elapsed_secs: 0,
            notified: Vec::new(),
            notify_errors: Vec::new(),
        };
        let outcome = match self.steps(&mut report, started).await {
            Ok(outcome) | Err(outcome) => outcome,
        };
        report.outcome = outcome;
        // The mark goes once nothing is left for it to protect: the restore ended, or it
        // never got as far as a safety snapshot or a send.
        let keep_mark = matches!(
            report.outcome,
            Outcome::SafetyNotReady { .. }
                | Outcome::Started
                | Outcome::TimedOut { .. }
                | Outcome::Unconfirmed { .. }
        ) || (matches!(
            report.outcome,
            Outcome::Interrupted | Outcome::ReadFailed { .. }
        ) && (report.restore_sent || report.safety.is_some()));
        // A mark kept for a safety snapshot but nothing sent is released: the next run of
        // the same restore takes it over (and reuses the snapshot) at once.
        if report.mark == MarkLeft::Held && keep_mark && !report.restore_sent {
            if let Some(mark) = report.restore_mark.clone() {
                let released = mark.clone().with_run(restore_mark::RELEASED);
                let mut current = mark;
                let _ = self.write_mark(&mut current, released, &mut report).await;
            }
        }
        if report.mark == MarkLeft::Held && !keep_mark {
            match self.ds.remove_tag(&self.opts.directory_id, MARK_KEY).await {
                Ok(()) => report.mark = MarkLeft::Cleared,
                Err(e) => self.operator.progress(&format!(
                    "could not remove the restore mark ({}); it expires on its own",
                    e.code
                )),
            }
        }
        report.elapsed_secs = started.elapsed().as_secs();
        if report.worth_telling() {
            let event = match &report.outcome {
                Outcome::Restored => Some(RestoreEvent::Completed),
                Outcome::Started => None,
                Outcome::Unconfirmed { .. } => Some(RestoreEvent::Unconfirmed),
                Outcome::TimedOut { .. } => Some(RestoreEvent::StillRestoring),
                Outcome::Interrupted if report.restore_sent => Some(RestoreEvent::StillRestoring),
                _ => Some(RestoreEvent::Failed),
            };
            if let Some(event) = event {
                tell(self.notifier, &mut report, event).await;
            }
        }
        report
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Every step, in order; `Err` ends the restore early with that outcome.
    async fn steps(
        &mut self,
        report: &mut RestoreReport,
        started: Instant,
    ) -> Result<Outcome, Stop> {
        let run = restore_mark::run_id(self.now());
        let ask = Ask {
            target: &self.opts.target,
            safety: !self.opts.no_safety_snapshot,
            run: &run,
        };
        // Observe and decide.
        let seen = self.observe(report).await?;
        let confirmed = self.decide(&seen, ask)?;
        report.plan = Some(confirmed.clone());
        if self.opts.dry_run {
            return Ok(Outcome::Planned);
        }
        if !self.operator.confirm(&confirmed) {
            return Err(Outcome::NotConfirmed);
        }
        self.stop_if_interrupted()?;

        // Mark the directory, then decide again from what is there now.
        let mut next = Mark::new(&confirmed.target.id, &self.opts.by, self.now()).with_run(&run);
        // A mark of this restore that the plan let this run adopt (its run is gone, nothing
        // was sent): the restore's start and safety snapshot carry over.
        if let Some(old) = seen
            .mark
            .holding()
            .filter(|m| m.target == confirmed.target.id && m.sent.is_none())
        {
            next.since = old.since;
            next.safety.clone_from(&old.safety);
        }
        if let SafetyPlan::Reuse { snapshot_id, .. } = &confirmed.safety {
            next.safety = Some(snapshot_id.clone());
        }
        let mut mark = next.clone();
        self.write_mark(&mut mark, next, report)
            .await
            .map_err(|error| Outcome::MarkFailed { error })?;
        let plan = self.replan(report, &confirmed, &mark, ask).await?;

        // Keep the present.
        let reused = match &plan.safety {
            SafetyPlan::Take { name, .. } => {
                self.make_room(report, &plan, &mark).await?;
                self.stop_if_interrupted()?;
                let id = self.take_safety(report, name).await?;
                let mut next = mark.clone();
                next.safety = Some(id);
                if !self.still_ours(&mark).await {
                    report.mark = MarkLeft::NotSet;
                    return Err(Outcome::Refused {
                        refusal: Refusal::MarkGone {
                            directory_id: self.opts.directory_id.clone(),
                        },
                    });
                }
                if let Err(e) = self.write_mark(&mut mark, next, report).await {
                    self.operator.progress(&format!(
                        "could not record the safety snapshot in the restore mark ({}); a \
                         re-run still finds it by its name and time",
                        e.code
                    ));
                }
                false
            }
            SafetyPlan::Reuse {
                snapshot_id,
                status,
            } => {
                report.safety = Some(SafetySeen {
                    snapshot_id: snapshot_id.clone(),
                    status: *status,
                    reused: true,
                });
                true
            }
            SafetyPlan::Impossible { .. } | SafetyPlan::Declined => false,
        };
        if report.safety.is_some() {
            self.wait_for_safety(report, &mut mark, reused).await?;
        }

        // Check once more, right before the send, then send once.
        self.stop_if_interrupted()?;
        let before_send = self.check_before_send(report, &plan, &mark).await?;
        let sent_after = before_send.stage_since;
        // The mark records the send, so that a run can tell when this restore has ended
        // (`restore_mark::ended`) even if nobody is left to remove the mark.
        self.stop_if_interrupted()?;
        let unsent = mark.clone();
        let mut next = mark.clone();
        next.sent = Some(self.now());
        if let Err(e) = self.write_mark(&mut mark, next, report).await {
            self.operator.progress(&format!(
                "could not record the send in the restore mark ({}); it expires on its own",
                e.code
            ));
        }
        // Ctrl-C during that write: nothing is sent, and the mark says so again.
        if self.interrupt.is_set() {
            let _ = self.write_mark(&mut mark, unsent, report).await;
            return Err(Outcome::Interrupted);
        }
        report.restore_sent = true;
        match self.ds.restore_from_snapshot(&plan.target.id).await {
            Ok(()) => {}
            Err(e) if answered(&e) => return Err(Outcome::NotStarted { error: e }),
            Err(e) => self.settle_lost_answer(report, e, sent_after).await?,
        }
        // What the stage is now is not known until it is read again.
        report.final_stage = None;
        tell(self.notifier, report, RestoreEvent::Started).await;
        if self.opts.no_wait {
            return Ok(Outcome::Started);
        }
        self.follow(report, &mut mark, started, sent_after).await
    }

    /// The plan for what `seen` shows now.
    fn decide(&self, seen: &Observed, ask: Ask<'_>) -> Result<RestorePlan, Stop> {
        decide::plan(
            &seen.directory,
            self.region,
            &seen.snapshots,
            seen.limits,
            self.policy,
            &seen.mark,
            ask,
            self.now(),
        )
        .map_err(|refusal| Outcome::Refused { refusal })
    }

    fn stop_if_interrupted(&self) -> Result<(), Stop> {
        if self.interrupt.is_set() {
            Err(Outcome::Interrupted)
        } else {
            Ok(())
        }
    }

    /// A read, tried up to [`READ_ATTEMPTS`] times with backoff when it fails on the way
    /// (throttled, no answer, a 5xx). A refusal or a missing entity is not retried.
    async fn read<T, F, Fut>(&mut self, what: F) -> Result<T, ApiError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let mut backoff = Backoff::new(
            self.opts.poll_initial.max(Duration::from_millis(200)),
            self.opts.poll_max,
        );
        let mut attempt = 1;
        loop {
            match what().await {
                Ok(v) => return Ok(v),
                Err(e) if attempt < READ_ATTEMPTS && transient(&e) => {
                    self.operator.progress(&format!(
                        "{} failed ({}); reading again",
                        e.operation, e.code
                    ));
                    attempt += 1;
                    let far = Instant::now() + Duration::from_secs(3600);
                    if let Some(sleep) = backoff.next_before(far) {
                        tokio::time::sleep(sleep).await;
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn directory(&mut self, report: &mut RestoreReport) -> Result<Directory, Stop> {
        let ids = [self.opts.directory_id.clone()];
        let ds = self.ds;
        let found = self
            .read(|| ds.describe_directories(Some(&ids)))
            .await
            .map_err(|e| match e.kind {
                ErrorKind::NotFound => no_such_directory(&ids[0]),
                _ => Outcome::ReadFailed { error: e },
            })?;
        let d = found
            .into_iter()
            .find(|d| d.id == ids[0])
            .ok_or_else(|| no_such_directory(&ids[0]))?;
        report.final_stage = Some(d.stage.clone());
        Ok(d)
    }

    async fn observe(&mut self, report: &mut RestoreReport) -> Result<Observed, Stop> {
        let directory = self.directory(report).await?;
        let id = directory.id.clone();
        if decide::preflight(&directory, self.region).is_err() {
            // The plan refuses it; nothing more to read.
            return Ok(Observed {
                directory,
                snapshots: Vec::new(),
                limits: SnapshotLimits {
                    manual_limit: crate::model::MANUAL_SNAPSHOT_LIMIT,
                    manual_count: 0,
                },
                mark: MarkState::Absent,
            });
        }
        let ds = self.ds;
        let read = |e| Outcome::ReadFailed { error: e };
        let snapshots = self
            .read(|| ds.describe_snapshots(&id))
            .await
            .map_err(read)?;
        let limits = self.read(|| ds.snapshot_limits(&id)).await.map_err(read)?;
        let tags = self.read(|| ds.directory_tags(&id)).await.map_err(read)?;
        Ok(Observed {
            directory,
            snapshots: crate::policy::distinct(snapshots),
            limits,
            mark: restore_mark::read(&tags, self.now()),
        })
    }

    /// Write `next` as the mark (renewed now); `mark` becomes it only once AWS has it, so a
    /// failed write leaves `mark` what the directory still carries. Whether another run's mark
    /// replaced it is checked when it matters: after the confirmation and right before the
    /// send.
    async fn write_mark(
        &mut self,
        mark: &mut Mark,
        mut next: Mark,
        report: &mut RestoreReport,
    ) -> Result<(), ApiError> {
        next.renewed = self.now();
        self.ds
            .set_tag(&self.opts.directory_id, MARK_KEY, &next.to_tag_value())
            .await?;
        report.restore_mark = Some(next.clone());
        *mark = next;
        report.mark = MarkLeft::Held;
        Ok(())
    }

    /// Renew the mark while waiting, so it keeps holding and says its run is alive.
    /// A renewal never brings back a mark someone removed (`mark --clear`): before the send
    /// that stops the restore (`MarkGone`); after it, the mark is simply not renewed.
    async fn renew(&mut self, mark: &mut Mark, report: &mut RestoreReport) -> Result<(), Stop> {
        if !mark.due_for_renewal(self.now()) {
            return Ok(());
        }
        if !self.still_ours(mark).await {
            report.mark = MarkLeft::NotSet;
            if report.restore_sent {
                return Ok(());
            }
            return Err(Outcome::Refused {
                refusal: Refusal::MarkGone {
                    directory_id: self.opts.directory_id.clone(),
                },
            });
        }
        let next = mark.clone();
        if let Err(e) = self.write_mark(mark, next, report).await {
            self.operator
                .progress(&format!("renewing the restore mark failed ({})", e.code));
        }
        Ok(())
    }

    /// Whether the directory still carries this run's mark (a failed read counts as yes: the
    /// check right before the send decides).
    async fn still_ours(&self, mark: &Mark) -> bool {
        match self.ds.directory_tags(&self.opts.directory_id).await {
            Ok(tags) => restore_mark::read(&tags, self.now())
                .holding()
                .is_some_and(|m| m.same_run(mark)),
            Err(_) => true,
        }
    }

    /// After the confirmation: read everything again, check the mark is this restore's, and
    /// make the plan again; a plan that costs more goes back to the operator.
    async fn replan(
        &mut self,
        report: &mut RestoreReport,
        confirmed: &RestorePlan,
        mark: &Mark,
        ask: Ask<'_>,
    ) -> Result<RestorePlan, Stop> {
        let seen = self.observe(report).await?;
        if let MarkState::Holds {
            mark: found,
            expires,
        } = &seen.mark
        {
            if !found.same_run(mark) {
                // Another restore's mark replaced this one's: it is theirs now.
                report.mark = MarkLeft::NotSet;
                return Err(Outcome::Refused {
                    refusal: Refusal::RestoreUnderWay {
                        directory_id: self.opts.directory_id.clone(),
                        target: found.target.clone(),
                        since: found.since,
                        by: found.by.clone(),
                        expires: *expires,
                    },
                });
            }
        }
        let mut fresh = self.decide(&seen, ask)?;
        // A Take keeps the confirmed name, so a retry finds the snapshot it announced.
        if let (SafetyPlan::Take { name, .. }, SafetyPlan::Take { name: was, .. }) =
            (&mut fresh.safety, &confirmed.safety)
        {
            name.clone_from(was);
        }
        match decide::compare(confirmed, &fresh) {
            Change::Same => {}
            Change::CostsLess => self
                .operator
                .progress("the restore now costs less than confirmed; going ahead with less"),
            Change::CostsMore { what } => {
                if !self.operator.reconfirm(&fresh, &what) {
                    return Err(Outcome::Refused {
                        refusal: Refusal::CostsMore { what },
                    });
                }
                self.stop_if_interrupted()?;
            }
        }
        report.plan = Some(fresh.clone());
        Ok(fresh)
    }

    /// Make room for the safety snapshot, deciding each deletion from a listing taken right
    /// before it: still there, still needed, and still allowed by the guard.
    async fn make_room(
        &mut self,
        report: &mut RestoreReport,
        plan: &RestorePlan,
        mark: &Mark,
    ) -> Result<(), Stop> {
        let id = self.opts.directory_id.clone();
        for planned in plan.safety.make_room() {
            self.stop_if_interrupted()?;
            let ds = self.ds;
            let listed = self
                .read(|| ds.describe_snapshots(&id))
                .await
                .map_err(|e| Outcome::SafetyFailed { error: e })?;
            let listed = crate::policy::distinct(listed);
            let limits = self
                .read(|| ds.snapshot_limits(&id))
                .await
                .map_err(|e| Outcome::SafetyFailed { error: e })?;
            let now_plan =
                decide::safety_plan(&listed, limits, self.policy, &mark.target, self.now());
            let still = match &now_plan {
                Ok(p) => p
                    .make_room()
                    .iter()
                    .any(|d| d.snapshot_id == planned.snapshot_id),
                Err(_) => false,
            };
            if !still {
                let needed = now_plan.as_ref().map(|p| !p.make_room().is_empty());
                if needed == Ok(false) {
                    self.operator.progress(&format!(
                        "{} need not be deleted any more: a slot is free",
                        planned.snapshot_id
                    ));
                    return Ok(());
                }
                // Something else would have to go now: that was not confirmed.
                return Err(Outcome::Refused {
                    refusal: Refusal::CostsMore {
                        what: format!(
                            "right before deleting {}, the listing no longer lets it go for the \
                             safety snapshot",
                            planned.snapshot_id
                        ),
                    },
                });
            }
            match self.ds.delete_snapshot(&planned.snapshot_id).await {
                Ok(_) => report.deleted.push(planned.clone()),
                Err(e) if e.kind == ErrorKind::NotFound => {
                    self.operator
                        .progress(&format!("{} was already gone", planned.snapshot_id));
                }
                Err(e) => return Err(Outcome::SafetyFailed { error: e }),
            }
        }
        Ok(())
    }

    /// Start the safety snapshot. A lost answer is settled by looking for it by its name.
    async fn take_safety(
        &mut self,
        report: &mut RestoreReport,
        name: &str,
    ) -> Result<String, Stop> {
        let id = self.opts.directory_id.clone();
        let created = match self.ds.create_snapshot(&id, name).await {
            Ok(sid) => sid,
            Err(e) if answered(&e) => return Err(Outcome::SafetyFailed { error: e }),
            Err(e) => {
                let ds = self.ds;
                let listed = self
                    .read(|| ds.describe_snapshots(&id))
                    .await
                    .unwrap_or_default();
                match listed.iter().find(|s| s.name.as_deref() == Some(name)) {
                    Some(s) => {
                        self.operator.progress(&format!(
                            "CreateSnapshot's answer was lost ({}), but {} exists: using it",
                            e.code, s.id
                        ));
                        s.id.clone()
                    }
                    None => return Err(Outcome::SafetyFailed { error: e }),
                }
            }
        };
        report.safety = Some(SafetySeen {
            snapshot_id: created.clone(),
            status: SnapshotStatus::Creating,
            reused: false,
        });
        self.operator.progress(&format!(
            "safety snapshot {created} started; waiting for it to complete"
        ));
        Ok(created)
    }

    /// Poll the safety snapshot until it is Completed. Ctrl-C stops the waiting.
    async fn wait_for_safety(
        &mut self,
        report: &mut RestoreReport,
        mark: &mut Mark,
        reused: bool,
    ) -> Result<(), Stop> {
        let Some(seen) = report.safety.clone() else {
            return Ok(());
        };
        let until = Instant::now() + self.opts.safety_timeout;
        let mut backoff = Backoff::new(self.opts.poll_initial, self.opts.poll_max);
        let mut status = seen.status;
        let ids = [seen.snapshot_id.clone()];
        loop {
            match status {
                SnapshotStatus::Completed => return Ok(()),
                SnapshotStatus::Failed => {
                    return Err(Outcome::SafetyFailed {
                        error: ApiError::new(
                            Operation::CreateSnapshot,
                            ErrorKind::Service,
                            crate::model::KeeperCode::SnapshotFailed.as_str(),
                            format!(
                                "safety snapshot {} ended Failed{}",
                                seen.snapshot_id,
                                if reused {
                                    " (it was reused from an earlier run)"
                                } else {
                                    ""
                                }
                            ),
                        ),
                    })
                }
                SnapshotStatus::Creating => {}
            }
            let Some(sleep) = backoff.next_before(until) else {
                return Err(Outcome::SafetyNotReady {
                    snapshot_id: seen.snapshot_id.clone(),
                });
            };
            let interrupt = self.interrupt.clone();
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = interrupt.wait() => return Err(Outcome::Interrupted),
            }
            self.renew(mark, report).await?;
            match self.ds.snapshots_by_id(&ids).await {
                Ok(found) => match found.first() {
                    Some(s) => status = s.status,
                    None => {
                        return Err(Outcome::SafetyFailed {
                            error: ApiError::new(
                                Operation::DescribeSnapshots,
                                ErrorKind::NotFound,
                                "EntityDoesNotExistException",
                                format!(
                                    "safety snapshot {} is gone: someone deleted it",
                                    seen.snapshot_id
                                ),
                            ),
                        })
                    }
                },
                Err(e) if e.kind == ErrorKind::NotFound => {
                    return Err(Outcome::SafetyFailed { error: e })
                }
                Err(e) => self.operator.progress(&format!(
                    "polling the safety snapshot failed ({}); will retry",
                    e.code
                )),
            }
            if let Some(s) = report.safety.as_mut() {
                s.status = status;
            }
        }
    }

    /// Right before the send: the directory may still be restored, the target is still there,
    /// Completed and under 180 days old now, and the mark is still this restore's.
    async fn check_before_send(
        &mut self,
        report: &mut RestoreReport,
        plan: &RestorePlan,
        mark: &Mark,
    ) -> Result<Directory, Stop> {
        let d = self.directory(report).await?;
        decide::preflight(&d, self.region).map_err(|refusal| Outcome::Refused { refusal })?;
        let ds = self.ds;
        let ids = [plan.target.id.clone()];
        let found = self
            .read(|| ds.snapshots_by_id(&ids))
            .await
            .map_err(|e| match e.kind {
                ErrorKind::NotFound => Outcome::Refused {
                    refusal: Refusal::NoSuchSnapshot {
                        snapshot_id: ids[0].clone(),
                        directory_id: d.id.clone(),
                    },
                },
                _ => Outcome::ReadFailed { error: e },
            })?;
        decide::choose(&found, &d.id, &Target::Snapshot(ids[0].clone()), self.now())
            .map_err(|refusal| Outcome::Refused { refusal })?;
        let id = d.id.clone();
        let tags = self
            .read(|| ds.directory_tags(&id))
            .await
            .map_err(|e| Outcome::ReadFailed { error: e })?;
        match restore_mark::read(&tags, self.now()) {
            MarkState::Holds { mark: found, .. } if found.same_run(mark) => Ok(d),
            MarkState::Holds {
                mark: found,
                expires,
            } => {
                report.mark = MarkLeft::NotSet;
                Err(Outcome::Refused {
                    refusal: Refusal::RestoreUnderWay {
                        directory_id: id,
                        target: found.target,
                        since: found.since,
                        by: found.by,
                        expires,
                    },
                })
            }
            _ => {
                report.mark = MarkLeft::NotSet;
                Err(Outcome::Refused {
                    refusal: Refusal::MarkGone { directory_id: id },
                })
            }
        }
    }

    /// `RestoreFromSnapshot` got no answer: read the stage (retrying failed reads) and claim a
    /// `Restoring` stage only when it began after the read taken right before the send.
    async fn settle_lost_answer(
        &mut self,
        report: &mut RestoreReport,
        error: ApiError,
        sent_after: Option<Timestamp>,
    ) -> Result<(), Stop> {
        let mut backoff = Backoff::new(
            self.opts.poll_initial.max(Duration::from_millis(200)),
            self.opts.poll_max,
        );
        let mut last = None;
        let mut unchanged = 0;
        for _ in 0..READ_ATTEMPTS {
            match self.directory(report).await {
                Ok(d) => {
                    let changed = match (d.stage_since, sent_after) {
                        (Some(now), Some(before)) => Some(now > before),
                        _ => None,
                    };
                    match (&d.stage, changed) {
                        (Stage::Restoring, Some(true)) => {
                            self.operator.progress(&format!(
                                "RestoreFromSnapshot's answer was lost ({}), but the directory \
                                 entered Restoring after the send: not resent",
                                error.code
                            ));
                            return Ok(());
                        }
                        (Stage::Restoring, _) => {
                            return Err(Outcome::Unconfirmed {
                                why: format!(
                                    "the directory is Restoring{}, and nothing shows that it \
                                     began after this command's send: it may be someone else's \
                                     restore",
                                    d.stage_since
                                        .map(|t| format!(
                                            " since {}",
                                            t.strftime("%Y-%m-%dT%H:%M:%SZ")
                                        ))
                                        .unwrap_or_default()
                                ),
                                error,
                            })
                        }
                        (_, Some(true)) => {
                            return Err(Outcome::Unconfirmed {
                                why: format!(
                                    "the directory's stage changed after the send and is now {}",
                                    d.stage
                                ),
                                error,
                            })
                        }
                        (_, Some(false)) => {
                            unchanged += 1;
                            last = Some(d.stage.clone());
                        }
                        _ => last = Some(d.stage.clone()),
                    }
                }
                Err(Outcome::ReadFailed { .. }) => {}
                Err(other) => return Err(other),
            }
            if let Some(sleep) = backoff.next_before(Instant::now() + Duration::from_secs(600)) {
                tokio::time::sleep(sleep).await;
            }
        }
        match last {
            // Read, and unchanged since before the send, every time: it did not start.
            // Every read succeeded, and each showed the stage unchanged since before the send.
            Some(stage) if unchanged == READ_ATTEMPTS => Err(Outcome::NotStarted {
                error: ApiError::new(
                    error.operation,
                    error.kind,
                    error.code,
                    format!(
                        "{} (the answer was lost; the stage, read {READ_ATTEMPTS} times since, \
                         stayed {stage}, unchanged since before the send)",
                        error.message
                    ),
                ),
            }),
            _ => Err(Outcome::Unconfirmed {
                why: "the directory's stage could not be read, or does not say when it last \
                      changed"
                    .to_owned(),
                error,
            }),
        }
    }

    /// Follow the restore to its end: `Active` (once the stage has moved on from the one read
    /// before the send) or `RestoreFailed`.
    async fn follow(
        &mut self,
        report: &mut RestoreReport,
        mark: &mut Mark,
        started: Instant,
        sent_after: Option<Timestamp>,
    ) -> Result<Outcome, Stop> {
        // The follow's time counts from the send, not from the prompt or the safety wait
        // (`started` only dates the progress lines).
        let deadline = Instant::now() + self.opts.timeout;
        let mut backoff = Backoff::new(self.opts.poll_initial, self.opts.poll_max);
        let ids = [self.opts.directory_id.clone()];
        let mut seen_restoring = false;
        loop {
            let Some(sleep) = backoff.next_before(deadline) else {
                let stage = report.final_stage.clone();
                return Err(Outcome::TimedOut { stage });
            };
            let interrupt = self.interrupt.clone();
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = interrupt.wait() => return Err(Outcome::Interrupted),
            }
            self.renew(mark, report).await?;
            report.polls += 1;
            let found = match self.ds.describe_directories(Some(&ids)).await {
                Ok(found) => found,
                Err(e) => {
                    self.operator.progress(&format!(
                        "DescribeDirectories failed ({}); will retry",
                        e.code
                    ));
                    continue;
                }
            };
            let Some(d) = found.into_iter().next() else {
                continue;
            };
            report.final_stage = Some(d.stage.clone());
            self.operator.progress(&format!(
                "stage {} after {} s",
                d.stage,
                started.elapsed().as_secs()
            ));
            let moved_on = seen_restoring
                || matches!((d.stage_since, sent_after), (Some(a), Some(b)) if a > b);
            match d.stage {
                Stage::Restoring => seen_restoring = true,
                Stage::Active if moved_on => return Ok(Outcome::Restored),
                Stage::RestoreFailed if moved_on => {
                    return Ok(Outcome::RestoreFailed {
                        reason: d.stage_reason.clone(),
                    })
                }
                _ => {}
            }
        }
    }
}

fn no_such_directory(id: &str) -> Outcome {
    Outcome::Refused {
        refusal: Refusal::NoSuchDirectory {
            directory_id: id.to_owned(),
        },
    }
}

/// Whether a failed call got a definite answer from AWS (a refusal: nothing was done), as
/// opposed to none (a dropped connection, a timeout, a 5xx: it may have been done).
fn answered(e: &ApiError) -> bool {
    !matches!(
        e.kind,
        ErrorKind::Transport | ErrorKind::Service | ErrorKind::Unexpected
    )
}

/// Whether a failed read is worth reading again.
fn transient(e: &ApiError) -> bool {
    matches!(
        e.kind,
        ErrorKind::Throttled | ErrorKind::Transport | ErrorKind::Service
    )
}

/// Publish what the report says now.
async fn tell<N: Notifier>(notifier: Option<&N>, report: &mut RestoreReport, event: RestoreEvent) {
    let Some(n) = notifier else { return };
    let message = crate::render::restore::notification(report, event);
    match n.publish(&message).await {
        Ok(()) => report.notified.push(event),
        Err(e) => report.notify_errors.push(e),
    }
}

#[cfg(test)]
mod tests;
