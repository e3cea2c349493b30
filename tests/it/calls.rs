//! Regression checks that cannot flake: API-call counts against the algorithm's minimum, the
//! cost of waiting for a slow snapshot, and the size-tuned release profile. No timings.

use crate::support;
use support::count;

use std::sync::Arc;
use std::time::Duration;

use ds_snapshot_keeper::directory::memory::MemoryDirectoryService;
use ds_snapshot_keeper::request::{Action, Request};
use ds_snapshot_keeper::{Keeper, Settings};
use support::harness::{scheduled, Harness};

#[tokio::test]
async fn one_directory_costs_exactly_the_minimum_calls() {
    let h = Harness::new(&[]).await;
    h.dir().await;
    let before = h.emu.calls().len();
    h.invoke(scheduled()).await.unwrap();
    let calls: Vec<_> = h.emu.calls().split_off(before);
    // discover, observe (snapshots + quota), create, one poll that sees it Completed
    assert_eq!(count(&calls, "DescribeDirectories"), 1);
    assert_eq!(count(&calls, "DescribeSnapshots"), 2);
    assert_eq!(count(&calls, "GetSnapshotLimits"), 1);
    assert_eq!(count(&calls, "CreateSnapshot"), 1);
    assert_eq!(count(&calls, "DeleteSnapshot"), 0);
    assert_eq!(
        calls.iter().filter(|c| c["service"] == "ds").count(),
        5,
        "{calls:?}"
    );
}

#[tokio::test]
async fn ten_directories_share_one_describe_directories_and_one_poll() {
    let h = Harness::new(&[]).await;
    for _ in 0..10 {
        h.emu.simple_ad(&h.config, "simple.example.com").await;
    }
    let before = h.emu.calls().len();
    let report = h.invoke(scheduled()).await.unwrap();
    assert_eq!(report.summary.created, 10);
    let calls: Vec<_> = h.emu.calls().split_off(before);
    assert_eq!(
        count(&calls, "DescribeDirectories"),
        1,
        "one batch, not one per directory"
    );
    assert_eq!(count(&calls, "GetSnapshotLimits"), 10);
    assert_eq!(count(&calls, "CreateSnapshot"), 10);
    // 10 observes + 1 batched poll for all ten new snapshots + 10 listings after the wait, so
    // that what follows is decided from what is there now (a run over one directory lists it
    // in the wait's last poll instead, and costs nothing more).
    assert_eq!(count(&calls, "DescribeSnapshots"), 21);
}

#[tokio::test]
async fn named_directories_are_described_in_one_batch() {
    let mut h = Harness::new(&[]).await;
    let a = h.dir().await;
    let b = h.dir().await;
    h.settings.directory_ids = vec![a, b];
    let before = h.emu.calls().len();
    h.invoke(serde_json::json!({"action": "report"}))
        .await
        .unwrap();
    let calls: Vec<_> = h.emu.calls().split_off(before);
    // One page of the Region's directories (one page per 100 directories) serves both the
    // named directories and the coverage report.
    assert_eq!(count(&calls, "DescribeDirectories"), 1);
    assert_eq!(
        count(&calls, "DescribeSnapshots"),
        2,
        "a report needs no poll"
    );
    assert_eq!(
        count(&calls, "CreateSnapshot") + count(&calls, "DeleteSnapshot"),
        0
    );
}

#[tokio::test(start_paused = true)]
async fn a_ten_minute_snapshot_costs_a_handful_of_describes() {
    let ds = MemoryDirectoryService::with_directory("d-0123456789");
    ds.set_completion_delay(Duration::from_secs(600));
    let keeper = Keeper::new(
        ds,
        Settings {
            wait_budget: Duration::from_secs(900),
            ..Settings::default()
        },
        "us-east-1",
    )
    .with_clock(Arc::new(jiff::Timestamp::now));
    let request = Request::manual(Action::Run);
    let report = keeper.run(&request, "poll", None).await;
    assert_eq!(
        report.directories[0].created.as_ref().unwrap().status,
        ds_snapshot_keeper::model::CreatedState::Completed
    );
    let describes = keeper
        .ds
        .calls()
        .iter()
        .filter(|c| **c == "DescribeSnapshots")
        .count();
    // 1 observe + polls at 15, 45, 105, 225, 345, 465, 585, 705 s (15 s doubling to 120 s)
    assert_eq!(describes, 1 + 8, "{:?}", keeper.ds.calls());
}

#[test]
fn the_release_profile_is_size_tuned() {
    let manifest = include_str!("../../Cargo.toml");
    let release = manifest
        .split("[profile.release]")
        .nth(1)
        .expect("a [profile.release] section");
    let release = release.split("\n[").next().unwrap();
    for setting in [
        "opt-level = \"z\"",
        "lto = true",
        "codegen-units = 1",
        "panic = \"abort\"",
        "strip = true",
    ] {
        assert!(
            release.contains(setting),
            "[profile.release] lacks {setting}"
        );
    }
    // Minimal features: no default features for the AWS SDK crates (no legacy TLS stack).
    for krate in [
        "aws-config",
        "aws-sdk-directory",
        "aws-sdk-sns",
        "lambda_runtime",
        "aws_lambda_events",
    ] {
        let line = manifest
            .lines()
            .find(|l| l.starts_with(&format!("{krate} =")))
            .unwrap();
        assert!(line.contains("default-features = false"), "{krate}: {line}");
    }
}

/// What the shipped binary links, from cargo's own resolution of the dependency graph (not
/// our reading of Cargo.toml): no aws-lc (rustls runs on ring, 0.3 MB less in the zip) and no
/// regex engine (logging filters with `Targets`, 0.2 MB less). A dev-dependency or a new
/// default feature that pulls either back in fails here.
#[test]
fn the_binary_links_neither_aws_lc_nor_a_regex_engine() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "--locked",
            "--offline",
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--package",
            "ds-snapshot-keeper",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("ring v"), "rustls on ring: {tree}");
    for unwanted in ["aws-lc-rs", "aws-lc-sys", "regex-automata", "regex v"] {
        assert!(
            !tree.lines().any(|l| l.starts_with(unwanted)),
            "{unwanted} is linked again"
        );
    }
}
