//! Test support: a private local AWS (moto server + our snapshot extension) per test.
//!
//! `Emulator::start()` hands a test an emulator of its own: one from a small pool, reset to
//! nothing (`POST /_emulator/reset`: moto's backends, the snapshot store, faults and the call
//! log), or a new one on a free loopback port when every pooled one is in use. Dropped, it
//! goes back to the pool; the servers exit by themselves when the test process ends
//! (`--watch-parent`), so nothing is left behind. A server starts in 2-3 s of CPU (moto's
//! import), a reset takes milliseconds. Helpers create directories through moto's normal
//! APIs, seed and age snapshots, arm faults, and read SNS messages back through SQS.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_directory::config::Credentials;
use serde_json::{json, Value};

pub mod harness;

pub const REGION: &str = "us-east-1";

/// The keeper's own retries (CreateSnapshot, DeleteSnapshot) back off this way in tests, as the
/// SDK's retries do with `sdk_config`: the same attempts and assertions, in milliseconds.
pub const TEST_BACKOFF: ds_snapshot_keeper::directory::aws::Backoff =
    ds_snapshot_keeper::directory::aws::Backoff {
        initial: Duration::from_millis(5),
        max: Duration::from_millis(40),
    };

/// One emulator process.
struct Server {
    child: Child,
    endpoint: String,
    log_path: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log_path);
    }
}

/// Idle servers, reset before they are handed out again.
static POOL: std::sync::Mutex<Vec<Server>> = std::sync::Mutex::new(Vec::new());

/// An emulator a test holds alone until it drops it.
pub struct Emulator {
    server: Option<Server>,
    pub endpoint: String,
}

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("DS_EMULATOR_PYTHON") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/emulator/.venv/bin/python")
}

impl Emulator {
    /// An emulator with nothing in it: a pooled one, reset, or a new one.
    pub fn start() -> Emulator {
        loop {
            let pooled = POOL.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some(server) = pooled else { break };
            let emu = Emulator {
                endpoint: server.endpoint.clone(),
                server: Some(server),
            };
            // A server that does not answer its reset is dropped (killed), not reused.
            if emu.try_control("POST", "reset", json!({})).is_ok() {
                return emu;
            }
            let mut emu = emu;
            emu.server.take();
        }
        let server = Self::spawn();
        Emulator {
            endpoint: server.endpoint.clone(),
            server: Some(server),
        }
    }

    /// Start a new emulator process. Panics with instructions when the venv is missing.
    fn spawn() -> Server {
        let python = python();
        assert!(
            python.exists(),
            "emulator interpreter {} not found: run `make emulator-venv` (or set DS_EMULATOR_PYTHON)",
            python.display()
        );
        let log_path = std::env::temp_dir().join(format!(
            "ds-emulator-{}-{}.log",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let log = std::fs::File::create(&log_path).expect("emulator log file");
        let mut child = Command::new(&python)
            .args([
                "-m",
                "ds_emulator",
                "--port",
                "0",
                "--watch-parent",
                "--quiet",
            ])
            .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/emulator"))
            .env_remove("AWS_ENDPOINT_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start the emulator");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) if l.starts_with("READY ") => l,
            other => {
                let _ = child.kill();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("emulator did not start ({other:?}); its log:\n{log}");
            }
        };
        let endpoint = line.trim_start_matches("READY ").trim().to_owned();
        Server {
            child,
            endpoint,
            log_path,
        }
    }

    /// SDK configuration pointed at this emulator, with dummy credentials and fast retries.
    pub async fn sdk_config(&self) -> SdkConfig {
        self.sdk_config_with(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .await
    }

    pub async fn sdk_config_with(&self, retry: RetryConfig) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .http_client(ds_snapshot_keeper::wiring::https_client())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(
                "testing", "testing", None, None, "emulator",
            ))
            .retry_config(retry)
            .load()
            .await
    }

    /// The Directory Service client as the keeper builds it (`wiring::directory_client`: its
    /// retry partition and its "Rate exceeded" classifier).
    pub fn ds(&self, config: &SdkConfig) -> aws_sdk_directory::Client {
        ds_snapshot_keeper::wiring::directory_client(config)
    }

    // --- control plane -------------------------------------------------------------------

    pub fn control(&self, method: &str, route: &str, body: Value) -> Value {
        self.try_control(method, route, body.clone())
            .unwrap_or_else(|e| panic!("control {method} {route} {body}: {e}"))
    }

    fn try_control(&self, method: &str, route: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}/_emulator/{route}", self.endpoint);
        let result = match method {
            "GET" => ureq::get(&url).call(),
            "DELETE" => ureq::delete(&url).call(),
            _ => ureq::post(&url).send_json(&body),
        };
        match result {
            Ok(mut r) => r
                .body_mut()
                .read_json::<Value>()
                .map_err(|e| format!("control answer is not JSON: {e}")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Seed a snapshot `age_days` old; returns its id.
    pub fn seed(
        &self,
        directory_id: &str,
        name: Option<&str>,
        kind: &str,
        status: &str,
        age_days: f64,
    ) -> String {
        let mut body = json!({"directory_id": directory_id, "type": kind, "status": status, "age_days": age_days});
        if let Some(n) = name {
            body["name"] = json!(n);
        }
        self.control("POST", "snapshots", body)["snapshot_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Seed a Completed manual snapshot named `name`, `age_days` old; returns its id.
    /// Completed snapshots the keeper owns, named `kname(0)`, `kname(1)`..., with these ages.
    pub fn seed_owned(&self, directory_id: &str, ages: &[f64]) -> Vec<String> {
        ages.iter()
            .enumerate()
            .map(|(i, age)| {
                self.seed(
                    directory_id,
                    Some(&kname(i as u32)),
                    "Manual",
                    "Completed",
                    *age,
                )
            })
            .collect()
    }

    pub fn seed_manual(&self, directory_id: &str, name: &str, age_days: f64) -> String {
        self.seed(directory_id, Some(name), "Manual", "Completed", age_days)
    }

    /// Move every snapshot `days` into the past (days pass between scheduled runs).
    pub fn age(&self, days: f64) {
        self.control("POST", "age", json!({"days": days}));
    }

    /// How the next creates of a directory finish.
    pub fn outcomes(&self, directory_id: &str, outcomes: Value) {
        self.control(
            "POST",
            "outcomes",
            json!({"directory_id": directory_id, "outcomes": outcomes}),
        );
    }

    pub fn fault(&self, fault: Value) {
        self.control("POST", "faults", fault);
    }

    pub fn clear_faults(&self) {
        self.control("DELETE", "faults", Value::Null);
    }

    pub fn set_directory(&self, directory_id: &str, changes: Value) {
        let mut body = changes;
        body["directory_id"] = json!(directory_id);
        self.control("POST", "directory", body);
    }

    /// The AWS calls received so far, oldest first.
    pub fn calls(&self) -> Vec<Value> {
        self.control("GET", "calls", Value::Null)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Count of calls to `operation` (optionally only those that got `status`).
    pub fn count_calls(&self, operation: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c["operation"] == operation)
            .count()
    }

    /// Every snapshot of a directory, straight from the emulator.
    pub async fn snapshots(
        &self,
        config: &SdkConfig,
        directory_id: &str,
    ) -> Vec<aws_sdk_directory::types::Snapshot> {
        let out = self
            .ds(config)
            .describe_snapshots()
            .directory_id(directory_id)
            .send()
            .await
            .expect("describe");
        out.snapshots().to_vec()
    }

    // --- directories through moto's normal APIs ----------------------------------------------

    fn subnets(&self, region: &str) -> (String, Vec<String>) {
        let s = self.control(
            "GET",
            &format!("default-subnets?region={region}"),
            Value::Null,
        );
        let ids = s["subnet_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        (s["vpc_id"].as_str().unwrap().to_owned(), ids)
    }

    /// The default VPC's subnets in the config's Region (the emulator's is `REGION`).
    fn vpc_of(&self, config: &SdkConfig) -> aws_sdk_directory::types::DirectoryVpcSettings {
        let region = config.region().map_or(REGION.to_owned(), |r| r.to_string());
        let (vpc, subnets) = self.subnets(&region);
        aws_sdk_directory::types::DirectoryVpcSettings::builder()
            .vpc_id(vpc)
            .set_subnet_ids(Some(subnets))
            .build()
            .unwrap()
    }

    pub async fn managed_ad(&self, config: &SdkConfig, name: &str) -> String {
        self.ds(config)
            .create_microsoft_ad()
            .name(name)
            .password("Sup3r-Secret!")
            .vpc_settings(self.vpc_of(config))
            .send()
            .await
            .expect("create Managed Microsoft AD")
            .directory_id()
            .unwrap()
            .to_owned()
    }

    pub async fn simple_ad(&self, config: &SdkConfig, name: &str) -> String {
        self.ds(config)
            .create_directory()
            .name(name)
            .password("Sup3r-Secret!")
            .size(aws_sdk_directory::types::DirectorySize::Small)
            .vpc_settings(self.vpc_of(config))
            .send()
            .await
            .expect("create Simple AD")
            .directory_id()
            .unwrap()
            .to_owned()
    }

    pub async fn ad_connector(&self, config: &SdkConfig, name: &str) -> String {
        let (vpc, subnets) = self.subnets(REGION);
        let settings = aws_sdk_directory::types::DirectoryConnectSettings::builder()
            .vpc_id(vpc)
            .set_subnet_ids(Some(subnets))
            .customer_dns_ips("10.0.0.10")
            .customer_user_name("admin")
            .build()
            .unwrap();
        self.ds(config)
            .connect_directory()
            .name(name)
            .password("Sup3r-Secret!")
            .size(aws_sdk_directory::types::DirectorySize::Small)
            .connect_settings(settings)
            .send()
            .await
            .expect("create AD Connector")
            .directory_id()
            .unwrap()
            .to_owned()
    }

    // --- SNS read back through SQS -------------------------------------------------------------

    /// A topic with an SQS queue subscribed to it: (topic ARN, queue URL).
    pub async fn topic_with_queue(&self, config: &SdkConfig) -> (String, String) {
        self.topic_with_queue_named(config, "keeper-alerts", false)
            .await
    }

    /// A topic (FIFO when `fifo`, with a FIFO queue) in `config`'s Region, with a queue
    /// subscribed to it: (topic ARN, queue URL).
    pub async fn topic_with_queue_named(
        &self,
        config: &SdkConfig,
        name: &str,
        fifo: bool,
    ) -> (String, String) {
        let sns = aws_sdk_sns::Client::new(config);
        let sqs = aws_sdk_sqs::Client::new(config);
        let suffix = if fifo { ".fifo" } else { "" };
        let mut create = sns.create_topic().name(format!("{name}{suffix}"));
        if fifo {
            create = create.attributes("FifoTopic", "true");
        }
        let topic = create.send().await.unwrap().topic_arn().unwrap().to_owned();
        let mut queue = sqs
            .create_queue()
            .queue_name(format!("{name}-inbox{suffix}"));
        if fifo {
            queue = queue.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
        }
        let queue_url = queue.send().await.unwrap().queue_url().unwrap().to_owned();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let queue_arn = attrs
            .attributes()
            .unwrap()
            .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .unwrap()
            .clone();
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .unwrap();
        (topic, queue_url)
    }

    /// Every message that reached the queue so far.
    pub async fn received(&self, config: &SdkConfig, queue_url: &str) -> Vec<Received> {
        let sqs = aws_sdk_sqs::Client::new(config);
        let mut out = Vec::new();
        loop {
            let batch = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = batch.messages();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                let envelope: Value = serde_json::from_str(m.body().unwrap()).unwrap();
                let attributes = envelope["MessageAttributes"]
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    (
                                        v["Type"].as_str().unwrap_or("").to_owned(),
                                        v["Value"].as_str().unwrap_or("").to_owned(),
                                    ),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Received {
                    subject: envelope["Subject"].as_str().unwrap_or("").to_owned(),
                    message: envelope["Message"].as_str().unwrap_or("").to_owned(),
                    attributes,
                });
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

/// One SNS notification as an SQS subscriber sees it.
#[derive(Debug, Clone)]
pub struct Received {
    pub subject: String,
    pub message: String,
    /// name -> (type, value)
    pub attributes: HashMap<String, (String, String)>,
}

impl Drop for Emulator {
    /// Back to the pool, unless the test panicked (its server may be mid-call: not reused).
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            if !std::thread::panicking() {
                POOL.lock().unwrap_or_else(|p| p.into_inner()).push(server);
            }
        }
    }
}

/// Directory Service calls of `operation` in an emulator call log.
pub fn count(calls: &[Value], operation: &str) -> usize {
    calls
        .iter()
        .filter(|c| c["service"] == "ds" && c["operation"] == operation)
        .count()
}

/// The ids of the snapshots a run deleted, sorted.
pub fn deleted_ids(r: &ds_snapshot_keeper::RunReport) -> Vec<String> {
    let mut v: Vec<String> = r
        .directories
        .iter()
        .flat_map(|d| {
            d.deleted
                .iter()
                .filter(|x| x.done)
                .map(|x| x.deletion.snapshot_id.clone())
        })
        .collect();
    v.sort();
    v
}

/// `v`, sorted.
pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// A name the keeper (prefix `keeper-`) wrote: version 0.1's format, with a time made from
/// `n`. Fixtures that need snapshots the keeper owns use it; a prefix alone is not ownership.
pub fn kname(n: u32) -> String {
    format!(
        "keeper-2025{:02}{:02}T060000Z",
        1 + (n / 28) % 12,
        1 + n % 28
    )
}
