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
    // discover, the restore mark, observe (snapshots + quota), the mark again, create, one
    // poll that sees it Completed
    assert_eq!(count(&calls, "DescribeDirectories"), 1);
    assert_eq!(count(&calls, "ListTagsForResource"), 2);
    assert_eq!(count(&calls, "DescribeSnapshots"), 2);
    assert_eq!(count(&calls, "GetSnapshotLimits"), 1);
    assert_eq!(count(&calls, "CreateSnapshot"), 1);
    assert_eq!(count(&calls, "DeleteSnapshot"), 0);
    assert_eq!(
        calls.iter().filter(|c| c["service"] == "ds").count(),
        7,
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
    // Nor chrono and serde_with, which came only with aws_lambda_events' EventBridgeEvent.
    for unwanted in [
        "aws-lc-rs",
        "aws-lc-sys",
        "regex-automata",
        "regex v",
        "chrono v",
        "serde_with v",
    ] {
        assert!(
            !tree.lines().any(|l| l.starts_with(unwanted)),
            "{unwanted} is linked again"
        );
    }
}

#[test]
fn following_a_three_hour_restore_costs_under_two_hundred_describes() {
    // The restore's follow loop polls DescribeDirectories with the keeper's backoff
    // (POLL_INITIAL_SECONDS doubling up to POLL_MAX_SECONDS, the defaults here). Over the
    // in-memory service with Tokio's clock paused, a restore that is still Restoring after
    // three hours shows exactly how many calls that costs: a count, not a timing.
    use ds_snapshot_keeper::directory::memory::MemoryDirectoryService;
    use ds_snapshot_keeper::model::{Snapshot, SnapshotStatus, SnapshotType};
    use ds_snapshot_keeper::notify::NoNotifier;
    use ds_snapshot_keeper::policy::restore::Target;
    use ds_snapshot_keeper::runner::restore::{
        Interrupt, Outcome, Restore, RestoreOptions, Unattended,
    };
    let settings = Settings::default();
    let now: jiff::Timestamp = "2026-12-03T06:00:00Z".parse().unwrap();
    let ds = MemoryDirectoryService::with_directory("d-0123456789");
    ds.set_now(now);
    ds.add_snapshot(Snapshot {
        id: "s-0123456789".to_owned(),
        directory_id: "d-0123456789".to_owned(),
        name: Some("keeper-20261202T060000Z".to_owned()),
        kind: SnapshotType::Manual,
        status: SnapshotStatus::Completed,
        start_time: "2026-12-02T06:00:00Z".parse().unwrap(),
    });
    ds.restore_ends(u32::MAX, "Active");
    let opts = RestoreOptions {
        directory_id: "d-0123456789".to_owned(),
        target: Target::Snapshot("s-0123456789".to_owned()),
        dry_run: false,
        no_safety_snapshot: true,
        no_wait: false,
        timeout: Duration::from_secs(3 * 3600),
        safety_timeout: Duration::from_secs(3600),
        poll_initial: settings.poll_initial,
        poll_max: settings.poll_max,
        by: "cli test@host".to_owned(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let policy = ds_snapshot_keeper::policy::Policy::from(&settings);
    let report = rt.block_on(
        Restore {
            ds: &ds,
            notifier: None::<&NoNotifier>,
            region: "eu-west-1",
            policy: &policy,
            opts: &opts,
            clock: std::sync::Arc::new(move || now),
            operator: Unattended {
                directory_id: "d-0123456789".to_owned(),
            },
            interrupt: Interrupt::default(),
        }
        .run(),
    );
    assert!(
        matches!(report.outcome, Outcome::TimedOut { .. }),
        "{:?}",
        report.outcome
    );
    let describes = ds
        .calls()
        .iter()
        .filter(|c| **c == "DescribeDirectories")
        .count();
    println!(
        "a three-hour restore followed with POLL_INITIAL_SECONDS={} and POLL_MAX_SECONDS={}: {} \
         DescribeDirectories polls ({} calls in all)",
        settings.poll_initial.as_secs_f64(),
        settings.poll_max.as_secs_f64(),
        report.polls,
        describes
    );
    assert!(report.polls < 200, "{}", report.polls);
    // 15 + 30 + 60 s, then one every 120 s: about 3 h / 2 min, and it does keep looking.
    assert!(report.polls > 85, "{}", report.polls);
}
