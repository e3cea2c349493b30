//! `make demo`: the keeper against the local AWS emulator over several simulated days.
//!
//! It starts the emulator, creates a Managed Microsoft AD directory holding snapshots of mixed
//! ages (an Auto one, someone else's manual one, and old keeper snapshots, one past 180 days),
//! then runs the real binary (`ds-snapshot-keeper invoke`, pointed at the emulator with
//! AWS_ENDPOINT_URL) once per simulated day, in discovery mode: the directory carries the
//! opt-in tag, and a second directory nobody tagged is reported as unprotected. On day 3 the
//! new snapshot fails. After each run it prints the run report as `render::text` writes it
//! (`invoke --format text`) and every SNS message that reached the subscribed SQS queue, then
//! a report by hand as the table a terminal shows (`invoke --format table`).

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::process::Command;

use serde_json::json;
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
    println!("   quota 5 manual, RETAIN_COUNT=3, RESERVED_SLOTS=1, WARN_AGE_DAYS=150\n");

    let event = concat!(env!("CARGO_MANIFEST_DIR"), "/events/scheduler-default.json");
    // The deployed function's settings, as the template sets them for discovery.
    let keeper = |event: &str, format: &str| {
        Command::new(&keeper_bin)
            .args(["invoke", "--event", event, "--format", format])
            .env("AWS_ENDPOINT_URL", &emu.endpoint)
            .env("AWS_REGION", support::REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .env("DISCOVERY_TAG", "ds-snapshot-keeper=enabled")
            .env("SNS_TOPIC_ARN", &topic)
            .env("POLL_INITIAL_SECONDS", "0.2")
            .env("RUST_LOG", "warn")
            .output()
            .expect("run ds-snapshot-keeper invoke")
    };
    for day in 1..=DAYS {
        if day == 3 {
            emu.outcomes(&dir, json!([{"status": "Failed", "after_describes": 1}]));
        }
        println!(
            "== day {day}: EventBridge Scheduler fires{}",
            if day == 3 {
                " (this day's snapshot will fail)"
            } else {
                ""
            }
        );
        let out = keeper(event, "text");
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            !report.is_empty(),
            "no report; stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!(
            "  exit code {} (1 = the run had failures, after logging and notifying)",
            out.status.code().unwrap_or(-1)
        );
        // The report as `render::text` writes it: the same words as the e-mail, plus coverage.
        for line in report.lines() {
            println!("  > {line}");
        }
        let messages = emu.received(&config, &queue).await;
        if messages.is_empty() {
            println!("  SNS: nothing published (clean run at NOTIFY_LEVEL=warnings)");
        }
        for m in messages {
            println!("  SNS subject: {}", m.subject);
            let mut attrs: Vec<String> = m
                .attributes
                .iter()
                .map(|(k, (_, v))| format!("{k}={v}"))
                .collect();
            attrs.sort();
            println!("  SNS attributes: {}", attrs.join(" "));
            for line in m.message.lines() {
                println!("  | {line}");
            }
        }
        println!();
        emu.age(1.0);
    }
    // What an operator sees invoking a report by hand on a terminal: one row per directory,
    // with its restore reach and quota (the dashboard's figures).
    println!("== a report by hand (`invoke --format table`, the default on a terminal)");
    let report = keeper(
        concat!(env!("CARGO_MANIFEST_DIR"), "/events/manual-report.json"),
        "table",
    );
    for line in String::from_utf8_lossy(&report.stdout).lines() {
        println!("  {line}");
    }
    println!();
    println!("== final inventory of {dir}");
    let mut snaps = emu.snapshots(&config, &dir).await;
    snaps.sort_by_key(|s| s.start_time().map(|t| t.secs()));
    for s in snaps {
        println!(
            "   {} {:<7} {:<10} {}",
            s.snapshot_id().unwrap_or(""),
            s.r#type().map(|t| t.as_str()).unwrap_or(""),
            s.status().map(|t| t.as_str()).unwrap_or(""),
            s.name().unwrap_or("")
        );
    }
}
