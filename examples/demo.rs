//! `make demo`: five days of the keeper against the local AWS emulator, told as a story.
//!
//! It starts the emulator and creates a Managed Microsoft AD directory that already holds
//! snapshots: AWS's own (Auto), someone else's manual one, and two the keeper took long ago,
//! one of them past the 180-day restore limit. A second directory nobody tagged stands beside
//! it. Then it runs the real binary (`ds-snapshot-keeper invoke`, pointed at the emulator with
//! AWS_ENDPOINT_URL) once per simulated day, in discovery mode, and tells each day from the
//! run report (`--output json`): what was there, what the keeper did and why, what reached
//! SNS (through the subscribed SQS queue). On day 3 the new snapshot fails. Between days the
//! emulator moves every snapshot and directory one day into the past.
//!
//! Then the operator's side, with the same binary: `points` (the restore points, as the table a
//! terminal shows), the restore drill (`restore --before ... --dry-run`, with the emulator's
//! call log showing that nothing was written) and the restore itself (`--yes`; the emulator
//! ends it `Active` at once), which keeps a safety snapshot of the present.

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{json, Value};
use support::Emulator;

const DAYS: u32 = 5;

#[tokio::main]
async fn main() {
    let keeper_bin = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("ds-snapshot-keeper");
    assert!(
        keeper_bin.exists(),
        "build the binary first: cargo build (make demo does)"
    );

    println!("== starting the local AWS emulator (moto server + Directory Service snapshots)");
    let emu = Emulator::start();
    println!("   {}", emu.endpoint);
    let config = emu.sdk_config().await;
    let dir = emu.managed_ad(&config, "corp.example.com").await;
    emu.ds(&config)
        .add_tags_to_resource()
        .resource_id(&dir)
        .tags(
            aws_sdk_directory::types::Tag::builder()
                .key("ds-snapshot-keeper")
                .value("enabled")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("tag the directory");
    let forgotten = emu.managed_ad(&config, "forgotten.example.com").await;
    let (topic, queue) = emu.topic_with_queue(&config).await;
    println!("== Managed Microsoft AD {dir}, tagged ds-snapshot-keeper=enabled; SNS topic {topic} -> SQS queue");
    println!("== Managed Microsoft AD {forgotten}: nobody tagged it");

    // The directories were created long before their snapshots (`age` moves directories too).
    emu.age(200.0);
    emu.seed(&dir, None, "Auto", "Completed", 12.0);
    emu.seed(
        &dir,
        Some("before-schema-extension"),
        "Manual",
        "Completed",
        40.0,
    );
    emu.seed(
        &dir,
        Some("keeper-20260521T060000Z"),
        "Manual",
        "Completed",
        185.0,
    );
    emu.seed(
        &dir,
        Some("keeper-20260607T060000Z"),
        "Manual",
        "Completed",
        170.0,
    );
    println!("== seeded: 1 Auto (12 days), 1 manual not ours (40 days), keeper snapshots of 185 and 170 days");
    println!("   settings: quota 5 manual, RETAIN_COUNT=3, RESERVED_SLOTS=1, WARN_AGE_DAYS=150, NOTIFY_LEVEL=warnings");
    println!(
        "   (both directories were created 200 days ago; between runs the emulator moves every"
    );
    println!("   snapshot and directory a day into the past, while the names the keeper gives its");
    println!("   snapshots carry the real clock)\n");

    let event = concat!(env!("CARGO_MANIFEST_DIR"), "/events/scheduler-default.json");
    let keeper = Keeper {
        bin: keeper_bin,
        endpoint: emu.endpoint.clone(),
        topic: topic.clone(),
    };
    let mut body_shown = false;
    for day in 1..=DAYS {
        if day == 3 {
            emu.outcomes(&dir, json!([{"status": "Failed", "after_describes": 1}]));
        }
        println!(
            "== day {day}: EventBridge Scheduler fires the daily run{}",
            if day == 3 {
                " (the emulator will fail this day's snapshot)"
            } else {
                ""
            }
        );
        let out = keeper.run(&["invoke", "--event", event], "json");
        let report: Value = serde_json::from_str(&String::from_utf8_lossy(&out.stdout))
            .unwrap_or_else(|e| {
                panic!(
                    "no report ({e}); stderr:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        let d = &report["directories"][0];
        let now: jiff::Timestamp = report["started_at"].as_str().unwrap().parse().unwrap();
        println!("   what was there:");
        let mut seen: Vec<&Value> = d["snapshots_seen"].as_array().unwrap().iter().collect();
        seen.sort_by_key(|s| std::cmp::Reverse(s["start_time"].as_str().unwrap_or("").to_owned()));
        for s in seen {
            println!("     {}", inventory_line(s, now));
        }
        println!("   what the keeper did, and why:");
        if let Some(c) = d["created"].as_object() {
            println!(
                "     took      {} {} ({})",
                c["snapshot_id"].as_str().unwrap_or("-"),
                c["name"].as_str().unwrap_or(""),
                c["status"].as_str().unwrap_or("")
            );
        } else if let Some(why) = d["create_skipped"].as_str() {
            println!("     took      nothing: {why}");
        }
        for x in d["deleted"].as_array().unwrap() {
            println!(
                "     deleted   {} by rule {}: {}",
                x["snapshot_id"].as_str().unwrap_or(""),
                x["rule"].as_str().unwrap_or(""),
                x["reason"].as_str().unwrap_or("")
            );
        }
        for e in d["errors"].as_array().unwrap() {
            println!(
                "     failed    {} {}: {}",
                e["operation"].as_str().unwrap_or(""),
                e["code"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            );
        }
        for f in d["flagged"].as_array().unwrap() {
            println!(
                "     flagged   {} {}: {}",
                f["level"].as_str().unwrap_or("").to_uppercase(),
                f["code"].as_str().unwrap_or(""),
                f["message"].as_str().unwrap_or("")
            );
        }
        let kept: Vec<String> = d["kept"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["snapshot_id"].as_str().unwrap_or("").to_owned())
            .collect();
        println!(
            "     keeps     {} as restore points; {} of {} manual slots in use, {} free",
            kept.join(", "),
            d["quota"]["manual_in_use"],
            d["quota"]["manual_limit"],
            d["quota"]["free_slots"]
        );
        if let Some(c) = report["coverage"]["unmanaged"].as_array() {
            for u in c {
                println!(
                    "     reported  {} ({}) is not managed ({}), created {} days ago: it has no keeper",
                    u["directory_id"].as_str().unwrap_or(""),
                    u["directory_name"].as_str().unwrap_or(""),
                    u["reason"].as_str().unwrap_or(""),
                    u["age_days"]
                );
            }
        }
        println!(
            "   the run: {}, exit code {}{}",
            report["severity"].as_str().unwrap_or("").to_uppercase(),
            out.status.code().unwrap_or(-1),
            if out.status.code() == Some(1) {
                " (a failure: Lambda would count an error, after the notification went out)"
            } else {
                ""
            }
        );
        let messages = emu.received(&config, &queue).await;
        if messages.is_empty() {
            println!("   SNS: nothing published (a clean run, below NOTIFY_LEVEL=warnings)");
        }
        for m in messages {
            let mut attrs: Vec<String> = m
                .attributes
                .iter()
                .map(|(k, (_, v))| format!("{k}={v}"))
                .collect();
            attrs.sort();
            println!("   SNS: \"{}\" ({})", m.subject, attrs.join(", "));
            if !body_shown {
                println!("   the e-mail, in full this once (later days: its subject only):");
                for line in m.message.lines() {
                    println!("     | {line}");
                }
                body_shown = true;
            }
        }
        println!();
        emu.age(1.0);
    }
    // What an operator sees invoking a report by hand on a terminal: one row per directory,
    // with its restore reach and quota (the dashboard's figures).
    println!("== day 6: a report by hand (`invoke --output table`, the default on a terminal)");
    let report = keeper.run(
        &[
            "invoke",
            "--event",
            concat!(env!("CARGO_MANIFEST_DIR"), "/events/manual-report.json"),
        ],
        "table",
    );
    show(&report.stdout);
    println!();
    operator_restores(&keeper, &emu, &config, &dir, &queue).await;
    let [stage] = emu
        .ds(&config)
        .describe_directories()
        .directory_ids(&dir)
        .send()
        .await
        .expect("describe the directory")
        .directory_descriptions()
        .iter()
        .map(|d| d.stage().map_or("", |s| s.as_str()).to_owned())
        .collect::<Vec<_>>()
        .try_into()
        .expect("one directory");
    println!("== what {dir} holds at the end (stage {stage}, as the emulator says)");
    let now = jiff::Timestamp::now();
    let mut snaps = emu.snapshots(&config, &dir).await;
    snaps.sort_by_key(|s| std::cmp::Reverse(s.start_time().map(|t| t.secs())));
    for s in snaps {
        let v = json!({
            "id": s.snapshot_id(),
            "name": s.name(),
            "type": s.r#type().map(|t| t.as_str()),
            "status": s.status().map(|t| t.as_str()),
            "start_time": s.start_time().map(|t| jiff::Timestamp::from_second(t.secs()).unwrap().to_string()),
        });
        println!("   {}", inventory_line(&v, now));
    }
    println!("\nThe story ends here; the same runs against real AWS differ only in the endpoint.");
}

/// One snapshot of the inventory: id, type, status, age, and whose it is.
fn inventory_line(s: &Value, now: jiff::Timestamp) -> String {
    let start: jiff::Timestamp = s["start_time"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap();
    let age = (now.as_second() - start.as_second()) as f64 / 86_400.0;
    let name = s["name"].as_str().unwrap_or("");
    let whose = match (s["type"].as_str(), name) {
        (Some("Auto"), _) => "AWS's own (Auto): never the keeper's to delete".to_owned(),
        (_, n) if n.starts_with("pre-restore-") => {
            format!("the restore's safety snapshot: {n}, never deleted by the keeper")
        }
        (_, n) if n.starts_with("keeper-") => format!("the keeper's: {n}"),
        (_, n) => format!("someone else's: {n}, never deleted"),
    };
    format!(
        "{} {:<6} {:<9} {:>5.1} days old  {whose}",
        s["id"].as_str().unwrap_or(""),
        s["type"].as_str().unwrap_or(""),
        s["status"].as_str().unwrap_or(""),
        age
    )
}

/// The real binary, pointed at the emulator with dummy credentials and the deployed function's
/// settings for discovery (as the template sets them). Every run of the demo goes through
/// `run`, so a change to the command line is made here once.
struct Keeper {
    bin: PathBuf,
    endpoint: String,
    topic: String,
}

impl Keeper {
    /// `ds-snapshot-keeper ARGS`, its output asked for as `format` (the output is not a
    /// terminal, so the demo names the rendering an operator's terminal would get).
    fn run(&self, args: &[&str], format: &str) -> Output {
        Command::new(&self.bin)
            .args(args)
            .args(["--output", format])
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", support::REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .env("DISCOVERY_TAG", "ds-snapshot-keeper=enabled")
            .env("SNS_TOPIC_ARN", &self.topic)
            .env("POLL_INITIAL_SECONDS", "0.2")
            .env("POLL_MAX_SECONDS", "1")
            .output()
            .unwrap_or_else(|e| panic!("run ds-snapshot-keeper {args:?}: {e}"))
    }
}

/// A command's output, indented into the story.
fn show(stdout: &[u8]) {
    for line in String::from_utf8_lossy(stdout).lines() {
        println!("   {line}");
    }
}

/// The calls that change something in Directory Service: the drill must make none.
const WRITES: [&str; 5] = [
    "CreateSnapshot",
    "DeleteSnapshot",
    "RestoreFromSnapshot",
    "AddTagsToResource",
    "RemoveTagsFromResource",
];

/// The operator's side after the five days: the restore points, the drill, the restore.
async fn operator_restores(
    keeper: &Keeper,
    emu: &support::Emulator,
    config: &aws_config::SdkConfig,
    dir: &str,
    queue: &str,
) {
    println!(
        "== the operator lists the restore points: ds-snapshot-keeper points --directory {dir}"
    );
    let points = keeper.run(&["points", "--directory", dir], "table");
    show(&points.stdout);
    println!("   exit code {}", points.status.code().unwrap_or(-1));
    println!(
        "   The operator learns which points exist, newest first, until when each can be restored"
    );
    println!(
        "   (180 days from its start) and who holds it: the keeper (and the role it gives each),"
    );
    println!("   someone else, or AWS.\n");

    // The runbook's drill: a time three days ago picks the newest restorable point before it.
    let before = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() - 3 * 86_400)
        .unwrap()
        .to_string();
    let restore = ["restore", "--directory", dir, "--before", &before];
    println!(
        "== the drill: ds-snapshot-keeper {} --dry-run",
        restore.join(" ")
    );
    let calls_before = emu.calls().len();
    let drill = keeper.run(&[&restore[..], &["--dry-run"]].concat(), "text");
    show(&drill.stdout);
    println!("   exit code {}", drill.status.code().unwrap_or(-1));
    let mut operations: Vec<String> = emu.calls()[calls_before..]
        .iter()
        .map(|c| c["operation"].as_str().unwrap_or("").to_owned())
        .collect();
    operations.sort();
    operations.dedup();
    let writes = operations
        .iter()
        .filter(|o| WRITES.contains(&o.as_str()))
        .count();
    println!(
        "   the emulator's call log for the drill: {} ({})",
        operations.join(", "),
        if writes == 0 {
            "no write".to_owned()
        } else {
            format!("{writes} writes")
        }
    );
    println!("   The operator learns which snapshot --before picks, how many days of changes the");
    println!("   restore loses, how long the directory is offline and which safety snapshot comes");
    println!("   first, with nothing changed: the drill is safe on production.\n");

    // The emulator ends the restore at its first DescribeDirectories (AWS: 2 to 3 hours).
    emu.control(
        "POST",
        "restore-outcome",
        json!({"directory_id": dir, "stage": "Active", "after_describes": 1}),
    );
    println!("== the restore: the drill's command with --yes in place of --dry-run");
    println!("   ds-snapshot-keeper {} --yes", restore.join(" "));
    println!(
        "   (on a terminal the operator types the directory id instead of --yes; the emulator ends"
    );
    println!("   the restore Active at once, where AWS takes 2 to 3 hours)");
    let restored = keeper.run(&[&restore[..], &["--yes"]].concat(), "text");
    show(&restored.stdout);
    println!("   exit code {}", restored.status.code().unwrap_or(-1));
    for m in emu.received(config, queue).await {
        println!("   SNS: \"{}\"", m.subject);
    }
    println!(
        "   The operator learns that the directory is Active again, and which safety snapshot"
    );
    println!("   holds the state just rolled back from, with the command that would restore it.\n");
}
