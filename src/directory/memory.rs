//! An in-memory Directory Service: the adapter simulations and property tests run against.
//!
//! It keeps the same rules as the real service where they matter to the keeper: the manual
//! quota, `SnapshotLimitExceededException`, unknown ids, and asynchronous completion (a new
//! snapshot settles at the first describe, as the emulator's default, into the status the
//! simulation queued).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use jiff::Timestamp;

use super::{DeleteOutcome, DirectoryService};
use crate::error::{ApiError, ErrorKind};
use crate::model::{Directory, Operation, Snapshot, SnapshotLimits, SnapshotStatus, SnapshotType};

#[derive(Default)]
struct State {
    directories: Vec<Directory>,
    snapshots: Vec<Snapshot>,
    /// Final status of the next creates, per directory (default Completed).
    outcomes: HashMap<String, VecDeque<SnapshotStatus>>,
    /// Snapshots created but not yet described, with their final status.
    settling: HashMap<String, SnapshotStatus>,
    /// Fail the next N creates with this code.
    create_failures: VecDeque<String>,
    next_id: u64,
    now: Option<Timestamp>,
    /// New snapshots settle no earlier than this long after creation (tokio time).
    completion_delay: Option<std::time::Duration>,
    created_at: HashMap<String, tokio::time::Instant>,
    calls: Vec<&'static str>,
    tags: HashMap<String, Vec<(String, String)>>,
    /// Carry out the next N creates, then answer as if the connection dropped.
    lost_answers: u32,
    /// Carry out the next N deletes, with their first answer lost (the AWS adapter's retry
    /// then finds the snapshot gone).
    lost_delete_answers: u32,
    /// Snapshot ids every listing shows twice (pages that shifted while they were read).
    listed_twice: Vec<String>,
    /// Added to the manual count GetSnapshotLimits reports (a count that disagrees).
    count_skew: i64,
    /// Changes someone else makes while the keeper waits: carried out at the first describe
    /// after a create (the wait's poll), before it is answered.
    during_wait: Vec<Meanwhile>,
    /// A create happened since `during_wait` was filled: the keeper is waiting now.
    created_since_meanwhile: bool,
    /// Restores under way: directory id -> (describes left before it ends, final stage).
    restoring: HashMap<String, (u32, String)>,
    /// How the next restore ends: after this many describes, in this stage (default: the
    /// second describe, Active).
    restore_outcome: Option<(u32, String)>,
    /// How the next RestoreFromSnapshot fails: carried out with its answer lost
    /// (`Transport`), or refused with a code (`Client`).
    restore_fault: Option<RestoreFault>,
    /// Fail the next N DescribeDirectories with a throttling error.
    throttled_describes: u32,
    /// Run this when the named call is made, before it is carried out (a Ctrl-C, another
    /// process acting while the call is in flight).
    on_call: Vec<(&'static str, Hook)>,
}

/// A test's hook on a call.
type Hook = Box<dyn FnMut() + Send>;

/// How the next `RestoreFromSnapshot` goes wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreFault {
    /// AWS starts the restore, and the answer is lost on the way (a dropped connection).
    AnswerLost,
    /// AWS refuses it with this code (HTTP 400), and nothing starts.
    Refused(String),
    /// Another operator's restore starts first: the directory turns Restoring, and this
    /// one is refused (`ClientException`).
    AnotherRestoreStarts,
    /// AWS starts the restore, the answer is lost, and the next `throttled` reads of the
    /// directory are throttled.
    AnswerLostThenThrottled { throttled: u32 },
}

/// A stage's new `StageLastUpdatedDateTime`: AWS's clock only moves forward.
fn stage_changed_at(previous: Option<Timestamp>, now: Option<Timestamp>) -> Option<Timestamp> {
    match (previous, now) {
        (Some(p), Some(n)) => Some(n.max(Timestamp::from_second(p.as_second() + 1).unwrap_or(p))),
        (p, n) => n.or(p),
    }
}

/// What someone else does to a directory while the keeper waits for its new snapshot.
#[derive(Debug, Clone)]
pub enum Meanwhile {
    /// They take a manual snapshot.
    Take(Snapshot),
    /// They delete a snapshot.
    Delete(String),
}

/// A Directory Service in a mutex. Quota is 5 manual snapshots, as in AWS.
pub struct MemoryDirectoryService {
    state: Mutex<State>,
    pub manual_limit: u32,
}

fn not_found(op: Operation, what: &str) -> ApiError {
    ApiError::new(
        op,
        ErrorKind::NotFound,
        "EntityDoesNotExistException",
        format!("{what} does not exist"),
    )
}

impl Default for MemoryDirectoryService {
    /// Same as `new()`: the derived default would have had a quota of 0.
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryDirectoryService {
    pub fn new() -> Self {
        Self {
            state: Mutex::default(),
            manual_limit: crate::model::MANUAL_SNAPSHOT_LIMIT,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A service holding one Active Managed Microsoft AD directory with this id.
    pub fn with_directory(id: &str) -> Self {
        let ds = Self::new();
        ds.add_directory(Directory {
            id: id.to_owned(),
            name: "corp.example.com".to_owned(),
            kind: crate::model::DirectoryType::MicrosoftAd,
            stage: crate::model::Stage::Active,
            primary_region: None,
            launch_time: None,
            stage_reason: None,
            stage_since: None,
        });
        ds
    }

    pub fn add_directory(&self, d: Directory) {
        self.lock().directories.push(d);
    }

    /// Move a directory to another stage (`Impaired`, `Deleting`...): only an `Active` one
    /// takes a snapshot.
    pub fn set_stage(&self, directory_id: &str, stage: &str) {
        if let Some(d) = self
            .lock()
            .directories
            .iter_mut()
            .find(|d| d.id == directory_id)
        {
            d.stage = crate::model::Stage::from_api(stage);
        }
    }

    pub fn tag_directory(&self, directory_id: &str, key: &str, value: &str) {
        self.lock()
            .tags
            .entry(directory_id.to_owned())
            .or_default()
            .push((key.to_owned(), value.to_owned()));
    }

    pub fn add_snapshot(&self, s: Snapshot) {
        self.lock().snapshots.push(s);
    }

    /// The clock stamped on new snapshots.
    pub fn set_now(&self, now: Timestamp) {
        self.lock().now = Some(now);
    }

    pub fn queue_outcome(&self, directory_id: &str, status: SnapshotStatus) {
        self.lock()
            .outcomes
            .entry(directory_id.to_owned())
            .or_default()
            .push_back(status);
    }

    /// New snapshots take this long (in tokio time) to settle, like a real snapshot.
    pub fn set_completion_delay(&self, delay: std::time::Duration) {
        self.lock().completion_delay = Some(delay);
    }

    /// The next create is carried out, but its answer is lost (a transport error).
    pub fn lose_next_create_answer(&self) {
        self.lock().lost_answers += 1;
    }

    /// The next delete is carried out, but its first answer is lost: the call ends as the AWS
    /// adapter ends it after its retry found the snapshot gone.
    pub fn lose_next_delete_answer(&self) {
        self.lock().lost_delete_answers += 1;
    }

    /// Every listing of the directory shows this snapshot twice, as a listing whose pages
    /// shifted while they were read can.
    pub fn list_twice(&self, snapshot_id: &str) {
        self.lock().listed_twice.push(snapshot_id.to_owned());
    }

    /// GetSnapshotLimits reports the manual count plus `skew` (never below zero).
    pub fn set_count_skew(&self, skew: i64) {
        self.lock().count_skew = skew;
    }

    /// Settle every snapshot still Creating (one queued to stay `Creating`) into `status`.
    pub fn finish_creating(&self, status: SnapshotStatus) {
        let mut st = self.lock();
        st.settling.clear();
        for s in st
            .snapshots
            .iter_mut()
            .filter(|s| s.status == SnapshotStatus::Creating)
        {
            s.status = status;
        }
    }

    /// Forget failures queued for creates that did not happen (a simulation queues one per run,
    /// and a run that took no snapshot must not pass it on to the next).
    pub fn clear_injected(&self) {
        let mut st = self.lock();
        st.create_failures.clear();
        st.outcomes.clear();
    }

    pub fn fail_next_create(&self, code: &str) {
        self.lock().create_failures.push_back(code.to_owned());
    }

    pub fn snapshots(&self) -> Vec<Snapshot> {
        self.lock().snapshots.clone()
    }

    /// The next restore ends after `describes` DescribeDirectories answers, in `stage`
    /// (`Active`, or `RestoreFailed`).
    /// Run `hook` whenever `call` (`"RestoreFromSnapshot"`...) is made, before it is carried
    /// out.
    pub fn on_call(&self, call: &'static str, hook: impl FnMut() + Send + 'static) {
        self.lock().on_call.push((call, Box::new(hook)));
    }

    /// The hooks run outside the lock, so a hook may act on the service itself.
    fn hooks(&self, call: &'static str) {
        let mut hooks = std::mem::take(&mut self.lock().on_call);
        for (name, hook) in hooks.iter_mut() {
            if *name == call {
                hook();
            }
        }
        let mut st = self.lock();
        hooks.append(&mut st.on_call);
        st.on_call = hooks;
    }

    /// How the next `RestoreFromSnapshot` goes wrong.
    pub fn restore_fault(&self, fault: RestoreFault) {
        self.lock().restore_fault = Some(fault);
    }

    /// The next `count` `DescribeDirectories` are throttled.
    pub fn throttle_describes(&self, count: u32) {
        self.lock().throttled_describes = count;
    }

    /// Remove a tag at once (what someone else's `RemoveTagsFromResource` does).
    pub fn remove_tag_now(&self, directory_id: &str, key: &str) {
        if let Some(tags) = self.lock().tags.get_mut(directory_id) {
            tags.retain(|(k, _)| k != key);
        }
    }

    /// A directory's tags now.
    pub fn tags(&self, directory_id: &str) -> Vec<(String, String)> {
        self.lock()
            .tags
            .get(directory_id)
            .cloned()
            .unwrap_or_default()
    }

    pub fn restore_ends(&self, describes: u32, stage: &str) {
        self.lock().restore_outcome = Some((describes, stage.to_owned()));
    }

    /// Someone else changes the directory while the keeper waits (at its first poll).
    pub fn meanwhile(&self, change: Meanwhile) {
        let mut st = self.lock();
        st.during_wait.push(change);
        st.created_since_meanwhile = false;
    }

    pub fn remove_snapshot(&self, id: &str) {
        self.lock().snapshots.retain(|s| s.id != id);
    }

    pub fn calls(&self) -> Vec<&'static str> {
        self.lock().calls.clone()
    }

    /// After a create, the next describe first carries out what others do meanwhile.
    fn meanwhile_now(st: &mut State) {
        if !st.created_since_meanwhile {
            return;
        }
        for change in std::mem::take(&mut st.during_wait) {
            match change {
                Meanwhile::Take(s) => st.snapshots.push(s),
                Meanwhile::Delete(id) => st.snapshots.retain(|s| s.id != id),
            }
        }
    }

    fn settle(state: &mut State, ids: &[String]) {
        for id in ids {
            if let (Some(delay), Some(at)) = (state.completion_delay, state.created_at.get(id)) {
                if at.elapsed() < delay {
                    continue;
                }
            }
            if let Some(status) = state.settling.remove(id) {
                if let Some(s) = state.snapshots.iter_mut().find(|s| &s.id == id) {
                    s.status = status;
                }
            }
        }
    }
}

impl DirectoryService for MemoryDirectoryService {
    async fn describe_directories(
        &self,
        ids: Option<&[String]>,
    ) -> Result<Vec<Directory>, ApiError> {
        let mut st = self.lock();
        st.calls.push("DescribeDirectories");
        if st.throttled_describes > 0 {
            st.throttled_describes -= 1;
            return Err(ApiError::new(
                Operation::DescribeDirectories,
                ErrorKind::Throttled,
                "ThrottlingException",
                "Rate exceeded",
            ));
        }
        let st = &mut *st;
        for (id, (left, stage)) in st.restoring.iter_mut() {
            *left = left.saturating_sub(1);
            if *left == 0 {
                if let Some(d) = st.directories.iter_mut().find(|d| &d.id == id) {
                    d.stage = crate::model::Stage::from_api(stage);
                    d.stage_reason = (stage == "RestoreFailed")
                        .then(|| "The restore from snapshot failed".to_owned());
                    d.stage_since = stage_changed_at(d.stage_since, st.now);
                }
            }
        }
        st.restoring.retain(|_, (left, _)| *left > 0);
        match ids {
            None => Ok(st.directories.clone()),
            Some(ids) => {
                let mut out = Vec::new();
                for id in ids {
                    let d = st
                        .directories
                        .iter()
                        .find(|d| &d.id == id)
                        .ok_or_else(|| not_found(Operation::DescribeDirectories, id))?;
                    out.push(d.clone());
                }
                Ok(out)
            }
        }
    }

    async fn describe_snapshots(&self, directory_id: &str) -> Result<Vec<Snapshot>, ApiError> {
        let mut st = self.lock();
        st.calls.push("DescribeSnapshots");
        Self::meanwhile_now(&mut st);
        if !st.directories.iter().any(|d| d.id == directory_id) {
            return Err(not_found(Operation::DescribeSnapshots, directory_id));
        }
        let ids: Vec<String> = st
            .snapshots
            .iter()
            .filter(|s| s.directory_id == directory_id)
            .map(|s| s.id.clone())
            .collect();
        Self::settle(&mut st, &ids);
        let mut listed: Vec<Snapshot> = st
            .snapshots
            .iter()
            .filter(|s| s.directory_id == directory_id)
            .cloned()
            .collect();
        let twice: Vec<Snapshot> = listed
            .iter()
            .filter(|s| st.listed_twice.contains(&s.id))
            .cloned()
            .collect();
        listed.extend(twice);
        Ok(listed)
    }

    async fn snapshots_by_id(&self, ids: &[String]) -> Result<Vec<Snapshot>, ApiError> {
        self.hooks("DescribeSnapshots");
        let mut st = self.lock();
        st.calls.push("DescribeSnapshots");
        Self::meanwhile_now(&mut st);
        for id in ids {
            if !st.snapshots.iter().any(|s| &s.id == id) {
                return Err(not_found(Operation::DescribeSnapshots, id));
            }
        }
        Self::settle(&mut st, ids);
        Ok(st
            .snapshots
            .iter()
            .filter(|s| ids.contains(&s.id))
            .cloned()
            .collect())
    }

    async fn directory_tags(&self, directory_id: &str) -> Result<Vec<(String, String)>, ApiError> {
        let mut st = self.lock();
        st.calls.push("ListTagsForResource");
        Ok(st.tags.get(directory_id).cloned().unwrap_or_default())
    }

    async fn set_tag(&self, directory_id: &str, key: &str, value: &str) -> Result<(), ApiError> {
        self.hooks("AddTagsToResource");
        let mut st = self.lock();
        st.calls.push("AddTagsToResource");
        if !st.directories.iter().any(|d| d.id == directory_id) {
            return Err(not_found(Operation::AddTagsToResource, directory_id));
        }
        let tags = st.tags.entry(directory_id.to_owned()).or_default();
        tags.retain(|(k, _)| k != key);
        tags.push((key.to_owned(), value.to_owned()));
        Ok(())
    }

    async fn remove_tag(&self, directory_id: &str, key: &str) -> Result<(), ApiError> {
        let mut st = self.lock();
        st.calls.push("RemoveTagsFromResource");
        if !st.directories.iter().any(|d| d.id == directory_id) {
            return Err(not_found(Operation::RemoveTagsFromResource, directory_id));
        }
        if let Some(tags) = st.tags.get_mut(directory_id) {
            tags.retain(|(k, _)| k != key);
        }
        Ok(())
    }

    async fn snapshot_limits(&self, directory_id: &str) -> Result<SnapshotLimits, ApiError> {
        let mut st = self.lock();
        st.calls.push("GetSnapshotLimits");
        if !st.directories.iter().any(|d| d.id == directory_id) {
            return Err(not_found(Operation::GetSnapshotLimits, directory_id));
        }
        let count = st
            .snapshots
            .iter()
            .filter(|s| s.directory_id == directory_id && s.kind == SnapshotType::Manual)
            .count();
        Ok(SnapshotLimits {
            manual_limit: self.manual_limit,
            manual_count: (count as i64 + st.count_skew).max(0) as u32,
        })
    }

    async fn create_snapshot(&self, directory_id: &str, name: &str) -> Result<String, ApiError> {
        self.hooks("CreateSnapshot");
        let mut st = self.lock();
        st.calls.push("CreateSnapshot");
        st.created_since_meanwhile = true;
        if !crate::naming::is_valid_snapshot_name(name) {
            return Err(ApiError::new(
                Operation::CreateSnapshot,
                ErrorKind::Client,
                "InvalidParameterException",
                format!("invalid snapshot name {name:?}"),
            ));
        }
        let Some(directory) = st.directories.iter().find(|d| d.id == directory_id) else {
            return Err(not_found(Operation::CreateSnapshot, directory_id));
        };
        if directory.stage != crate::model::Stage::Active {
            return Err(ApiError::new(
                Operation::CreateSnapshot,
                ErrorKind::Client,
                "ClientException",
                format!(
                    "directory {directory_id} is {}, not Active",
                    directory.stage
                ),
            ));
        }
        if let Some(code) = st.create_failures.pop_front() {
            return Err(ApiError::new(
                Operation::CreateSnapshot,
                ErrorKind::Service,
                code,
                "injected",
            ));
        }
        let count = st
            .snapshots
            .iter()
            .filter(|s| s.directory_id == directory_id && s.kind == SnapshotType::Manual)
            .count();
        if count as u32 >= self.manual_limit {
            return Err(ApiError::new(
                Operation::CreateSnapshot,
                ErrorKind::LimitExceeded,
                "SnapshotLimitExceededException",
                "quota full",
            ));
        }
        st.next_id += 1;
        let id = format!("s-{:010x}", st.next_id);
        let final_status = st
            .outcomes
            .get_mut(directory_id)
            .and_then(VecDeque::pop_front)
            .unwrap_or(SnapshotStatus::Completed);
        let start_time = st.now.unwrap_or_else(Timestamp::now);
        st.snapshots.push(Snapshot {
            id: id.clone(),
            directory_id: directory_id.to_owned(),
            name: Some(name.to_owned()),
            kind: SnapshotType::Manual,
            status: SnapshotStatus::Creating,
            start_time,
        });
        st.settling.insert(id.clone(), final_status);
        st.created_at
            .insert(id.clone(), tokio::time::Instant::now());
        if st.lost_answers > 0 {
            st.lost_answers -= 1;
            return Err(ApiError::new(
                Operation::CreateSnapshot,
                ErrorKind::Transport,
                "ConnectionError",
                "the connection dropped before the answer (the snapshot was taken)",
            ));
        }
        Ok(id)
    }

    async fn delete_snapshot(&self, snapshot_id: &str) -> Result<DeleteOutcome, ApiError> {
        self.hooks("DeleteSnapshot");
        let mut st = self.lock();
        st.calls.push("DeleteSnapshot");
        // A snapshot due to settle does so first, as the emulator settles it on delete.
        Self::settle(&mut st, &[snapshot_id.to_owned()]);
        match st.snapshots.iter().position(|s| s.id == snapshot_id) {
            None => Err(not_found(Operation::DeleteSnapshot, snapshot_id)),
            Some(i) if st.snapshots[i].status == SnapshotStatus::Creating => Err(ApiError::new(
                Operation::DeleteSnapshot,
                ErrorKind::Client,
                "ClientException",
                format!("snapshot {snapshot_id} is still being created"),
            )),
            Some(i) => {
                st.snapshots.remove(i);
                if st.lost_delete_answers > 0 {
                    st.lost_delete_answers -= 1;
                    return Ok(DeleteOutcome::GoneAfterLostAnswer {
                        code: "ConnectionError".to_owned(),
                    });
                }
                Ok(DeleteOutcome::Deleted)
            }
        }
    }

    async fn restore_from_snapshot(&self, snapshot_id: &str) -> Result<(), ApiError> {
        self.hooks("RestoreFromSnapshot");
        const OP: Operation = Operation::RestoreFromSnapshot;
        let mut st = self.lock();
        st.calls.push("RestoreFromSnapshot");
        let s = st
            .snapshots
            .iter()
            .find(|s| s.id == snapshot_id)
            .cloned()
            .ok_or_else(|| not_found(OP, snapshot_id))?;
        let refuse = |message: String| {
            Err(ApiError::new(
                OP,
                ErrorKind::Client,
                "ClientException",
                message,
            ))
        };
        if let Some(RestoreFault::Refused(code)) = &st.restore_fault {
            let code = code.clone();
            st.restore_fault = None;
            return Err(ApiError::new(OP, ErrorKind::Client, code, "refused"));
        }
        if st.restore_fault == Some(RestoreFault::AnotherRestoreStarts) {
            st.restore_fault = None;
            let now = st.now;
            if let Some(d) = st.directories.iter_mut().find(|d| d.id == s.directory_id) {
                d.stage = crate::model::Stage::Restoring;
                d.stage_since = stage_changed_at(d.stage_since, now);
            }
            return refuse(format!(
                "directory {} is in stage Restoring and cannot be restored",
                s.directory_id
            ));
        }
        let stage_now = st
            .directories
            .iter()
            .find(|d| d.id == s.directory_id)
            .map(|d| d.stage.clone())
            .ok_or_else(|| not_found(OP, &s.directory_id))?;
        if !matches!(
            stage_now,
            crate::model::Stage::Active | crate::model::Stage::RestoreFailed
        ) {
            return refuse(format!(
                "directory {} is in stage {stage_now} and cannot be restored",
                s.directory_id
            ));
        }
        if s.status != SnapshotStatus::Completed {
            return refuse(format!("snapshot {snapshot_id} is not Completed"));
        }
        if let Some(now) = st.now {
            if s.age_days(now) >= crate::model::RESTORE_LIMIT_DAYS {
                return refuse(format!("snapshot {snapshot_id} is past 180 days"));
            }
        }
        let (describes, stage) = st
            .restore_outcome
            .take()
            .unwrap_or((2, "Active".to_owned()));
        let lost = match st.restore_fault.take() {
            Some(RestoreFault::AnswerLost) => true,
            Some(RestoreFault::AnswerLostThenThrottled { throttled }) => {
                st.throttled_describes = throttled;
                true
            }
            _ => false,
        };
        let now = st.now;
        let d = st
            .directories
            .iter_mut()
            .find(|d| d.id == s.directory_id)
            .ok_or_else(|| not_found(OP, &s.directory_id))?;
        d.stage = crate::model::Stage::Restoring;
        d.stage_reason = None;
        d.stage_since = stage_changed_at(d.stage_since, now);
        st.restoring
            .insert(s.directory_id.clone(), (describes.max(1), stage));
        if lost {
            return Err(ApiError::new(
                OP,
                ErrorKind::Transport,
                "ConnectionError",
                "connection reset before the answer",
            ));
        }
        Ok(())
    }
}
