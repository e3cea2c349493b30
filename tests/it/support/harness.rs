//! A keeper wired to a private emulator: real handler, real SDK clients, SNS read back via SQS.

use ds_snapshot_keeper::model::CreatedState;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use ds_snapshot_keeper::directory::aws::AwsDirectoryService;
use ds_snapshot_keeper::handler::{handle, InvocationError};
use ds_snapshot_keeper::notify::sns::SnsNotifier;
use ds_snapshot_keeper::report::RunReport;
use ds_snapshot_keeper::{Keeper, Settings};
use serde_json::Value;
use tokio::time::Instant;

use super::{Emulator, Received};

/// The EventBridge Scheduler default payload from `events/`.
pub fn scheduled() -> Value {
    serde_json::from_str(include_str!("../../../events/scheduler-default.json")).unwrap()
}

pub struct Harness {
    pub emu: Emulator,
    pub config: SdkConfig,
    pub settings: Settings,
    pub topic: String,
    pub queue: String,
    pub lines: Arc<Mutex<Vec<String>>>,
    /// Page size of the Directory Service adapter (None: its default).
    pub page_size: Option<i32>,
    /// The invocation deadline handed to the handler.
    pub deadline: Option<Instant>,
}

/// Settings for tests: fast polling, the rest as given (defaults otherwise).
pub fn settings(pairs: &[(&str, &str)]) -> Settings {
    let mut map: HashMap<String, String> = [
        ("POLL_INITIAL_SECONDS", "0.05"),
        ("POLL_MAX_SECONDS", "0.2"),
        ("WAIT_BUDGET_SECONDS", "20"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in pairs {
        map.insert(k.to_string(), v.to_string());
    }
    Settings::from_lookup(|k| map.get(k).cloned()).expect("test settings are valid")
}

impl Harness {
    pub async fn new(pairs: &[(&str, &str)]) -> Harness {
        let emu = Emulator::start();
        let config = emu.sdk_config().await;
        let (topic, queue) = emu.topic_with_queue(&config).await;
        let mut s = settings(pairs);
        s.topic_arn = Some(topic.clone());
        Harness {
            emu,
            config,
            settings: s,
            topic,
            queue,
            lines: Arc::default(),
            page_size: None,
            deadline: None,
        }
    }

    /// One invocation with a request id of its own, as Lambda gives every new invocation.
    pub async fn invoke(&self, payload: Value) -> Result<RunReport, InvocationError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = format!(
            "test-request-{}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        self.invoke_as(payload, &id).await
    }

    /// One invocation with the given request id (Lambda retries an invocation with its id).
    pub async fn invoke_as(
        &self,
        payload: Value,
        request_id: &str,
    ) -> Result<RunReport, InvocationError> {
        let mut ds =
            AwsDirectoryService::new(self.emu.ds(&self.config)).with_backoff(super::TEST_BACKOFF);
        if let Some(size) = self.page_size {
            ds = ds.with_page_size(size);
        }
        let keeper = Keeper::new(ds, self.settings.clone(), super::REGION);
        let notifier = SnsNotifier::new(aws_sdk_sns::Client::new(&self.config), &self.topic);
        let lines = self.lines.clone();
        let sink = move |l: &str| lines.lock().unwrap().push(l.to_owned());
        handle(
            &keeper,
            Some(&notifier),
            &payload,
            request_id,
            self.deadline,
            &sink,
        )
        .await
    }

    /// One invocation of any payload (a run or a `restore` request), as Lambda makes it.
    pub async fn invoke_any(
        &self,
        payload: Value,
    ) -> Result<ds_snapshot_keeper::handler::Answer, InvocationError> {
        let ds =
            AwsDirectoryService::new(self.emu.ds(&self.config)).with_backoff(super::TEST_BACKOFF);
        let keeper = Keeper::new(ds, self.settings.clone(), super::REGION);
        let notifier = SnsNotifier::new(aws_sdk_sns::Client::new(&self.config), &self.topic);
        let lines = self.lines.clone();
        let sink = move |l: &str| lines.lock().unwrap().push(l.to_owned());
        ds_snapshot_keeper::handler::handle_any(
            &keeper,
            Some(&notifier),
            &payload,
            "test-restore",
            self.deadline,
            &sink,
        )
        .await
    }

    /// The report whether the run succeeded or failed.
    pub async fn run(&self, payload: Value) -> RunReport {
        match self.invoke(payload).await {
            Ok(r) => r,
            Err(InvocationError::RunFailed(r)) => *r,
            Err(e) => panic!("unexpected invocation error: {e}"),
        }
    }

    /// A directory with one owned snapshot 2 days old, whose next snapshot stays Creating.
    /// Returns (directory id, old snapshot id).
    pub async fn dir_whose_next_snapshot_hangs(&self) -> (String, String) {
        let dir = self.dir().await;
        let old = self
            .emu
            .seed(&dir, Some(&super::kname(10)), "Manual", "Completed", 2.0);
        self.emu.outcomes(
            &dir,
            serde_json::json!([{"status": "Completed", "after_describes": 1000}]),
        );
        (dir, old)
    }

    /// The run-level metric (EMF) line the last invocation wrote.
    pub fn run_metrics(&self) -> Value {
        let lines = self.lines.lock().unwrap();
        let line = lines
            .iter()
            .rev()
            .find(|l| l.contains("\"RunFailures\""))
            .expect("a run metric line");
        serde_json::from_str(line).unwrap()
    }

    /// Tag a directory (the discovery tag, or `excluded`).
    pub async fn tag(&self, dir: &str, key: &str, value: &str) {
        self.emu
            .ds(&self.config)
            .add_tags_to_resource()
            .resource_id(dir)
            .tags(
                aws_sdk_directory::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }

    pub async fn dir(&self) -> String {
        self.emu.managed_ad(&self.config, "corp.example.com").await
    }

    pub async fn snapshots(&self, dir: &str) -> Vec<aws_sdk_directory::types::Snapshot> {
        self.emu.snapshots(&self.config, dir).await
    }

    pub async fn ids(&self, dir: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .snapshots(dir)
            .await
            .iter()
            .map(|s| s.snapshot_id().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    }

    pub async fn messages(&self) -> Vec<Received> {
        self.emu.received(&self.config, &self.queue).await
    }
}

/// A run whose new snapshot is still Creating: reported pending, nothing pruned, and the
/// older snapshot `kept` still there.
/// A directory report's deletions as (snapshot id, rule), in the order they were made.
pub fn deletions(
    d: &ds_snapshot_keeper::report::DirectoryReport,
) -> Vec<(&str, ds_snapshot_keeper::policy::Rule)> {
    d.deleted
        .iter()
        .map(|x| (x.deletion.snapshot_id.as_str(), x.deletion.rule))
        .collect()
}

pub async fn assert_pending_and_nothing_pruned(
    h: &Harness,
    report: &RunReport,
    dir: &str,
    kept: &str,
) {
    let d = &report.directories[0];
    assert_eq!(d.created.as_ref().unwrap().status, CreatedState::Creating);
    assert_eq!(report.summary.pending, 1);
    assert!(
        d.deleted.is_empty(),
        "nothing pruned while the new snapshot is pending"
    );
    assert!(h.ids(dir).await.iter().any(|id| id == kept));
}
