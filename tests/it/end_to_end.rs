//! The real handler, with the real SDK clients, against the local emulator: what was created
//! and deleted (down to the snapshot), what the report says, and what reached SNS.

use crate::support;
use support::deleted_ids;

use ds_snapshot_keeper::model::CreatedState;
use std::collections::HashMap;

use aws_sdk_directory::types::{SnapshotStatus, SnapshotType};
use ds_snapshot_keeper::handler::InvocationError;
use ds_snapshot_keeper::policy::{PruneBlock, Rule};
use ds_snapshot_keeper::report::Severity;
use serde_json::{json, Value};
use support::harness::{assert_pending_and_nothing_pruned, scheduled, Harness};
use support::Emulator;

#[tokio::test]
async fn first_run_takes_one_snapshot_and_waits_for_it() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let report = h.invoke(scheduled()).await.expect("clean run");
    let d = &report.directories[0];
    assert_eq!(d.directory_id, dir);
    let created = d.created.as_ref().expect("created");
    assert_eq!(created.status, CreatedState::Completed);
    assert!(created.name.starts_with("keeper-"));
    assert!(d.deleted.is_empty() && d.errors.is_empty());
    assert_eq!(report.severity, Severity::Ok);
    let snaps = h.snapshots(&dir).await;
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].snapshot_id(), created.snapshot_id.as_deref());
    assert_eq!(d.newest_completed_age_days, Some(0.0));
    // warnings level, clean run: no message
    assert!(h.messages().await.is_empty());
    // the report was logged as one JSON line, and EMF metrics for the directory
    let lines = h.lines.lock().unwrap().clone();
    let log: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(log["message"], "run report");
    assert_eq!(
        log["report"]["directories"][0]["created"]["status"],
        "Completed"
    );
    assert!(lines.iter().any(|l| l.contains("\"CloudWatchMetrics\"")
        && l.contains(&dir)
        && l.contains("NewestCompletedSnapshotAgeDays")));
}

#[tokio::test]
async fn steady_state_over_simulated_days_keeps_retain_and_headroom() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let mut all_deleted = Vec::new();
    for day in 1..=7 {
        let report = h
            .invoke(scheduled())
            .await
            .unwrap_or_else(|e| panic!("day {day}: {e}"));
        let d = &report.directories[0];
        assert_eq!(
            d.created.as_ref().unwrap().status,
            CreatedState::Completed,
            "day {day}"
        );
        for x in &d.deleted {
            assert_eq!(x.deletion.rule, Rule::BeyondRetain, "day {day}: {x:?}");
            all_deleted.push(x.deletion.snapshot_id.clone());
        }
        let snaps = h.snapshots(&dir).await;
        assert_eq!(snaps.len(), day.min(3), "day {day}: retain=3");
        assert!(snaps.len() <= 4, "limit 5 - reserved 1");
        h.emu.age(1.0);
    }
    assert_eq!(all_deleted.len(), 4, "days 4..=7 each pruned the oldest");
    // the survivors are the three newest
    let ages: Vec<i64> = h
        .snapshots(&dir)
        .await
        .iter()
        .map(|s| s.start_time().unwrap().secs())
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(ages.iter().all(|t| now - t < 3 * 86_400 + 600), "{ages:?}");
}

#[tokio::test]
async fn quota_full_of_unowned_snapshots_is_a_failure_and_nothing_is_deleted() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    for age in 1..=5 {
        h.emu
            .seed_manual(&dir, &format!("ops-manual-{age}"), age as f64);
    }
    let before = h.ids(&dir).await;
    let report = h.run(scheduled()).await;
    assert!(report.has_failures());
    let d = &report.directories[0];
    assert_eq!(d.errors[0].code, "QuotaFull");
    assert!(d.created.is_none());
    assert!(d.deleted.is_empty());
    assert_eq!(h.ids(&dir).await, before, "nothing deleted");
    assert_eq!(h.emu.count_calls("CreateSnapshot"), 0);
    assert_eq!(h.emu.count_calls("DeleteSnapshot"), 0);
    let msgs = h.messages().await;
    assert_eq!(msgs.len(), 1);
    assert!(
        msgs[0].subject.starts_with("[FAILURE]")
            && msgs[0].subject.contains(&dir)
            && msgs[0].subject.contains("us-east-1"),
        "{}",
        msgs[0].subject
    );
    assert!(msgs[0].message.contains("QuotaFull"));
    assert_eq!(
        msgs[0].attributes["severity"],
        ("String".to_owned(), "failure".to_owned())
    );
}

#[tokio::test]
async fn auto_snapshots_are_never_touched_nor_counted() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let autos: Vec<String> = (0..3)
        .map(|i| {
            h.emu
                .seed(&dir, None, "Auto", "Completed", 200.0 + i as f64)
        })
        .collect();
    for day in 0..6 {
        h.invoke(scheduled())
            .await
            .unwrap_or_else(|e| panic!("day {day}: {e}"));
        h.emu.age(1.0);
    }
    let snaps = h.snapshots(&dir).await;
    for a in &autos {
        assert!(
            snaps.iter().any(|s| s.snapshot_id() == Some(a.as_str())),
            "Auto {a} kept"
        );
    }
    assert_eq!(
        snaps
            .iter()
            .filter(|s| s.r#type() == Some(&SnapshotType::Manual))
            .count(),
        3
    );
}

#[tokio::test]
async fn aged_snapshots_are_flagged_and_unrestorable_ones_pruned_first() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let s200 = h
        .emu
        .seed(&dir, Some(&support::kname(6)), "Manual", "Completed", 200.0);
    let s170 = h
        .emu
        .seed(&dir, Some(&support::kname(7)), "Manual", "Completed", 170.0);
    let _s100 = h
        .emu
        .seed(&dir, Some(&support::kname(8)), "Manual", "Completed", 100.0);
    let _s10 = h
        .emu
        .seed(&dir, Some(&support::kname(9)), "Manual", "Completed", 10.0);
    let report = h
        .invoke(json!({"action": "snapshot"}))
        .await
        .expect("clean");
    let d = &report.directories[0];
    assert_eq!(d.deleted.len(), 1, "{:?}", d.deleted);
    // 4 + 1 new fits the quota: nothing is deleted before the create. The unrestorable one
    // restores nothing: it goes by its own rule, which also frees the reserved slot.
    assert_eq!(d.deleted[0].deletion.snapshot_id, s200);
    assert_eq!(d.deleted[0].deletion.rule, Rule::Unrestorable);
    let expiring: Vec<_> = d.flagged.iter().filter(|f| f.code == "expiring").collect();
    assert_eq!(expiring.len(), 1);
    assert_eq!(expiring[0].snapshot_id.as_deref(), Some(s170.as_str()));
    assert_eq!(expiring[0].days_left, Some(10));
    assert_eq!(report.severity, Severity::Warning);
    let msgs = h.messages().await;
    assert_eq!(msgs.len(), 1, "warnings are published at the default level");
    assert!(msgs[0].subject.starts_with("[WARNING]"));
    assert!(msgs[0].message.contains("10 days left"));
}

#[tokio::test]
async fn a_failed_create_is_reported_with_its_code_and_published() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let old = h
        .emu
        .seed(&dir, Some(&support::kname(10)), "Manual", "Completed", 3.0);
    h.emu
        .fault(json!({"operation": "CreateSnapshot", "kind": "service"}));
    let err = h
        .invoke(scheduled())
        .await
        .expect_err("failure ends the invocation in error");
    let InvocationError::RunFailed(report) = err else {
        panic!("{err}")
    };
    let d = &report.directories[0];
    assert_eq!(d.errors[0].operation, "CreateSnapshot");
    assert_eq!(d.errors[0].code, "ServiceException");
    assert_eq!(h.ids(&dir).await, vec![old]);
    let msgs = h.messages().await;
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert!(m.subject.starts_with("[FAILURE]") && m.subject.len() < 100 && m.subject.is_ascii());
    assert!(m.message.contains("ServiceException"));
    assert_eq!(
        m.attributes["directory_ids"],
        ("String.Array".to_owned(), format!("[\"{dir}\"]"))
    );
}

#[tokio::test]
async fn a_snapshot_that_ends_failed_is_a_failure_and_blocks_pruning() {
    let h = Harness::new(&[("RETAIN_COUNT", "1")]).await;
    let dir = h.dir().await;
    let a = h
        .emu
        .seed(&dir, Some(&support::kname(2)), "Manual", "Completed", 3.0);
    let b = h
        .emu
        .seed(&dir, Some(&support::kname(11)), "Manual", "Completed", 2.0);
    h.emu
        .outcomes(&dir, json!([{"status": "Failed", "after_describes": 1}]));
    let report = h.run(scheduled()).await;
    let d = &report.directories[0];
    assert_eq!(d.created.as_ref().unwrap().status, CreatedState::Failed);
    assert!(d.errors.iter().any(|e| e.code == "SnapshotFailed"));
    let new_id = d.created.as_ref().unwrap().snapshot_id.clone().unwrap();
    let msgs = h.messages().await;
    assert!(msgs[0]
        .message
        .contains(&format!("new snapshot {new_id} ended Failed")));
    // retain=1 would prune, but the new snapshot failed: only the failed snapshot itself is
    // deleted, so it does not hold the slot a schema extension needs.
    let deleted: Vec<(&str, Rule, bool)> = d
        .deleted
        .iter()
        .map(|x| (x.deletion.snapshot_id.as_str(), x.deletion.rule, x.done))
        .collect();
    assert_eq!(deleted, vec![(new_id.as_str(), Rule::NewFailed, true)]);
    assert_eq!(d.prune_blocked, Some(PruneBlock::ApiFailure));
    let ids = h.ids(&dir).await;
    assert!(ids.contains(&a) && ids.contains(&b));
    assert!(!ids.contains(&new_id));
    // the next run takes a new snapshot and, once it completes, prunes beyond retain=1
    h.emu.age(1.0);
    let next = h.invoke(scheduled()).await;
    let next = match next {
        Ok(r) => r,
        Err(InvocationError::RunFailed(r)) => *r,
        Err(e) => panic!("{e}"),
    };
    let nd = &next.directories[0];
    assert_eq!(nd.created.as_ref().unwrap().status, CreatedState::Completed);
    assert!(nd
        .deleted
        .iter()
        .all(|x| x.deletion.rule == Rule::BeyondRetain));
    assert_eq!(nd.deleted.len(), 2, "{:?}", nd.deleted);
}

#[tokio::test]
async fn duplicate_delivery_takes_one_snapshot() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let first = h.invoke(scheduled()).await.unwrap();
    let second = h.invoke(scheduled()).await.unwrap();
    assert!(first.directories[0].created.is_some());
    assert!(second.directories[0].created.is_none());
    assert!(second.directories[0]
        .create_skipped
        .as_deref()
        .unwrap()
        .contains("minimum interval"));
    assert_eq!(h.emu.count_calls("CreateSnapshot"), 1);
    assert_eq!(h.snapshots(&dir).await.len(), 1);
}

#[tokio::test]
async fn one_failing_directory_does_not_stop_the_others() {
    let h = Harness::new(&[]).await;
    let good1 = h.dir().await;
    let bad = h.dir().await;
    let good2 = h.emu.simple_ad(&h.config, "simple.example.com").await;
    h.emu
        .fault(json!({"operation": "DescribeSnapshots", "kind": "service", "directory_id": bad}));
    let report = h.run(scheduled()).await;
    let by_id: HashMap<&str, &ds_snapshot_keeper::report::DirectoryReport> = report
        .directories
        .iter()
        .map(|d| (d.directory_id.as_str(), d))
        .collect();
    assert_eq!(
        by_id[good1.as_str()].created.as_ref().unwrap().status,
        CreatedState::Completed
    );
    assert_eq!(
        by_id[good2.as_str()].created.as_ref().unwrap().status,
        CreatedState::Completed
    );
    assert_eq!(by_id[bad.as_str()].errors[0].code, "ServiceException");
    assert!(by_id[bad.as_str()].created.is_none());
    assert_eq!(report.severity, Severity::Failure);
    let msgs = h.messages().await;
    assert!(msgs[0].subject.contains(&bad), "{}", msgs[0].subject);
}

#[tokio::test]
async fn skipped_directories_say_why() {
    let h = Harness::new(&[]).await;
    let connector = h.emu.ad_connector(&h.config, "onprem.example.com").await;
    let impaired = h.dir().await;
    let replica = h.dir().await;
    h.emu.set_directory(&impaired, json!({"stage": "Impaired"}));
    h.emu.set_directory(
        &replica,
        json!({"regions_info": {"PrimaryRegion": "eu-west-1", "AdditionalRegions": ["us-east-1"]}}),
    );
    let report = h.invoke(scheduled()).await.expect("skips are not failures");
    let reason = |id: &str| {
        report
            .directories
            .iter()
            .find(|d| d.directory_id == id)
            .unwrap()
            .skipped
            .clone()
            .unwrap()
    };
    assert!(reason(&connector).message.contains("AD Connector"));
    assert!(reason(&impaired).message.contains("Impaired"));
    assert!(reason(&replica)
        .message
        .contains("primary Region is eu-west-1"));
    assert_eq!(h.emu.count_calls("CreateSnapshot"), 0);
    assert_eq!(h.emu.count_calls("DescribeSnapshots"), 0);
}

#[tokio::test]
async fn every_events_file_runs() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let mut files: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 8);
    for file in files {
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("d-0123456789", &dir);
        let payload: Value = serde_json::from_str(&text).unwrap();
        let before = h.ids(&dir).await;
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("tamper-") {
            // CloudTrail records the tamper rule hands the function (docs/tamper-alert.md):
            // judged and published, read-only, with the reach the managed directory has left.
            let answer = h
                .invoke_any(payload.clone())
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let ds_snapshot_keeper::handler::Answer::Tamper(report) = answer else {
                panic!("{name}: not judged as a tamper event")
            };
            assert_eq!(report.event.call, payload["detail"]["eventName"], "{name}");
            assert!(
                report.reach.iter().any(|r| r.directory_id == dir),
                "{name}: {:?}",
                report.reach
            );
            assert_eq!(h.ids(&dir).await, before, "{name} changes nothing");
            continue;
        }
        if name.contains("restore") {
            // The restore action is off unless the stack opts in: refused, naming the opt-in.
            let err = h.invoke_any(payload).await.unwrap_err();
            assert!(
                err.to_string().contains("AllowRestore=enabled"),
                "{name}: {err}"
            );
            assert_eq!(h.ids(&dir).await, before, "{name} changes nothing");
            continue;
        }
        let report = h
            .invoke(payload)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(report.directories.len(), 1, "{}", file.display());
        if name.contains("report") || name.contains("dry-run") {
            assert!(report.dry_run);
            assert_eq!(h.ids(&dir).await, before, "{name} changes nothing");
        }
        h.emu.age(1.0);
    }
}

#[tokio::test]
async fn malformed_events_touch_nothing() {
    let h = Harness::new(&[("RETAIN_COUNT", "1")]).await;
    let dir = h.dir().await;
    for age in [1.0, 2.0, 3.0] {
        h.emu
            .seed(&dir, Some(&support::kname(5)), "Manual", "Completed", age);
    }
    let calls_before = h.emu.calls().len();
    for payload in [
        json!(null),
        json!([]),
        json!({"action": "nuke"}),
        json!({"dryrun": true}),
        json!({"directory_ids": ["D-1"]}),
        json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}),
    ] {
        let err = h
            .invoke(payload.clone())
            .await
            .expect_err(&payload.to_string());
        assert!(
            matches!(err, InvocationError::BadEvent(_)),
            "{payload}: {err}"
        );
        assert!(err
            .to_string()
            .contains("Expected an EventBridge scheduled event"));
    }
    assert_eq!(h.emu.calls().len(), calls_before, "no AWS call at all");
    assert_eq!(h.snapshots(&dir).await.len(), 3);
}

#[tokio::test]
async fn settings_that_do_not_fit_a_quota_aws_reports_smaller_fail_that_directory_only() {
    // The settings fit the documented quota of 5 (refused at start otherwise), but this
    // directory's GetSnapshotLimits answers 4: the plan checks the real quota too.
    let h = Harness::new(&[("RETAIN_COUNT", "3"), ("RESERVED_SLOTS", "1")]).await;
    let dir = h.dir().await;
    h.emu.control(
        "POST",
        "limits",
        serde_json::json!({"directory_id": dir, "limit": 4}),
    );
    h.emu
        .seed(&dir, Some(&support::kname(5)), "Manual", "Completed", 1.0);
    let report = h.run(scheduled()).await;
    assert_eq!(report.directories[0].errors[0].code, "SettingsExceedQuota");
    assert!(report.directories[0].errors[0]
        .message
        .contains("RETAIN_COUNT=3 + 1 new + RESERVED_SLOTS=1 does not fit a quota of 4"));
    assert_eq!(
        h.emu.count_calls("CreateSnapshot") + h.emu.count_calls("DeleteSnapshot"),
        0
    );
}

#[tokio::test]
async fn dry_run_reports_the_plan_and_changes_nothing() {
    let h = Harness::new(&[("RETAIN_COUNT", "1")]).await;
    let dir = h.dir().await;
    for age in [5.0, 4.0, 3.0] {
        h.emu
            .seed(&dir, Some(&support::kname(5)), "Manual", "Completed", age);
    }
    let before = h.ids(&dir).await;
    let report = h
        .invoke(json!({"action": "run", "dry_run": true}))
        .await
        .unwrap();
    let d = &report.directories[0];
    assert_eq!(d.created.as_ref().unwrap().status, CreatedState::Planned);
    assert_eq!(
        d.deleted.len(),
        3,
        "the three old ones would go once the new one completes: {:?}",
        d.deleted
    );
    assert!(d.deleted.iter().all(|x| !x.done));
    assert_eq!(h.ids(&dir).await, before);
    assert_eq!(
        h.emu.count_calls("CreateSnapshot") + h.emu.count_calls("DeleteSnapshot"),
        0
    );
    assert_eq!(deleted_ids(&report), Vec::<String>::new());
}

#[tokio::test]
async fn pending_snapshot_is_reported_and_checked_next_run() {
    let mut h = Harness::new(&[("RETAIN_COUNT", "1")]).await;
    h.settings.wait_budget = std::time::Duration::from_millis(300);
    let (dir, old) = h.dir_whose_next_snapshot_hangs().await;
    let report = h
        .invoke(scheduled())
        .await
        .expect("pending is not a failure");
    assert_pending_and_nothing_pruned(&h, &report, &dir, &old).await;
    let d = &report.directories[0];
    assert!(
        d.flagged.iter().all(|f| f.code != "no-restorable-snapshot"),
        "the old one is still restorable"
    );
    // Seven hours later it is still Creating: the next run reports it stuck.
    h.emu.age(7.0 / 24.0);
    let next = h.run(scheduled()).await;
    assert!(
        next.directories[0]
            .errors
            .iter()
            .any(|e| e.code == "SnapshotStuckCreating"),
        "{:?}",
        next.directories[0].errors
    );
    assert_eq!(
        h.snapshots(&dir)
            .await
            .iter()
            .filter(|s| s.status() == Some(&SnapshotStatus::Creating))
            .count(),
        1
    );
}

/// An `env` value that removes the variable instead.
const UNSET: &str = "\u{0}unset";

/// The shipped binary with `args` (its subcommand first) against `emu`, with `env` added
/// (or removed, with [`UNSET`]) and `stdin` written to it (none: no terminal either):
/// (exit code, stdout, stderr).
fn binary(
    emu: &Emulator,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: Option<&str>,
) -> (i32, String, String) {
    use std::io::Write;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ds-snapshot-keeper"));
    cmd.args(args)
        .env("AWS_ENDPOINT_URL", &emu.endpoint)
        .env("AWS_REGION", support::REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("POLL_INITIAL_SECONDS", "0.05")
        .env("POLL_MAX_SECONDS", "0.2")
        .envs(env.iter().copied().filter(|(_, v)| *v != UNSET))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, _) in env.iter().filter(|(_, v)| *v == UNSET) {
        cmd.env_remove(k);
    }
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The shipped binary's `invoke` command: same handler, report on stdout, exit codes.
fn invoke_binary(
    emu: &Emulator,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: Option<&str>,
) -> (i32, String, String) {
    let args: Vec<&str> = std::iter::once("invoke")
        .chain(args.iter().copied())
        .collect();
    binary(emu, env, &args, stdin)
}

/// `binary`, with its stdout read as JSON (`null` when it is not).
fn binary_json(emu: &Emulator, env: &[(&str, &str)], args: &[&str]) -> (i32, Value, String) {
    let (code, stdout, stderr) = binary(emu, env, args, None);
    (
        code,
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr,
    )
}

/// Outside Lambda, logs are for a person: nothing but warnings and errors by default, in
/// readable lines; `-v` adds the INFO lines; `--log-format json` gives the Lambda schema's
/// lines (the run report and the metrics among them) for a script, with
/// `POWERTOOLS_SERVICE_NAME` and `POWERTOOLS_LOG_LEVEL` honoured as in Powertools.
#[tokio::test]
async fn a_terminal_gets_readable_logs_and_json_only_when_asked() {
    let emu = Emulator::start();
    let config = emu.sdk_config().await;
    let dir = emu.managed_ad(&config, "corp.example.com").await;
    let event = concat!(env!("CARGO_MANIFEST_DIR"), "/events/manual-report.json");
    let env = [("DIRECTORY_IDS", dir.as_str())];

    let (code, _, stderr) = invoke_binary(&emu, &env, &["--event", event, "-v"], None);
    // A new directory has no restorable snapshot: the report is critical, and says so in
    // its exit code (3) for a monitoring script.
    assert_eq!(code, 3, "{stderr}");
    assert!(
        !stderr.contains('{'),
        "no JSON without --log-format json: {stderr}"
    );
    let report_line = stderr
        .lines()
        .find(|l| l.ends_with(" run report"))
        .unwrap_or_else(|| panic!("-v shows the INFO lines: {stderr}"));
    // `HH:MM:SS` first: to the second, not the nanosecond.
    assert!(report_line.as_bytes()[2] == b':' && report_line.as_bytes()[8] == b' ');

    let (code, _, stderr) = invoke_binary(
        &emu,
        &env,
        &["--event", event, "--log-format", "json", "-v"],
        None,
    );
    assert_eq!(code, 3, "critical, as above: {stderr}");
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["message"] == "run report"),
        "{stderr}"
    );
    assert!(
        lines.iter().any(|l| l.get("_aws").is_some()),
        "the metric lines too"
    );

    // POWERTOOLS_LOG_LEVEL=WARNING (Python's name) drops the INFO lines; the service name
    // is the one Powertools users set.
    let (code, _, stderr) = invoke_binary(
        &emu,
        &[
            ("DIRECTORY_IDS", dir.as_str()),
            ("POWERTOOLS_LOG_LEVEL", "WARNING"),
            ("POWERTOOLS_SERVICE_NAME", "identity-backups"),
        ],
        &["--event", event, "--log-format", "json"],
        None,
    );
    let lines: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        !lines.iter().any(|l| l["level"] == "INFO"),
        "{code}: {stderr}"
    );
    assert!(
        lines.iter().all(|l| l["service"] == "identity-backups"),
        "{stderr}"
    );

    // A level that is not one is named, with what is accepted, and the run goes on.
    let (code, _, stderr) = invoke_binary(
        &emu,
        &[
            ("DIRECTORY_IDS", dir.as_str()),
            ("POWERTOOLS_LOG_LEVEL", "chatty"),
        ],
        &["--event", event],
        None,
    );
    assert_eq!(code, 3, "the run goes on (critical, as above): {stderr}");
    assert!(
        stderr.contains("WARN  POWERTOOLS_LOG_LEVEL=\"chatty\" is not a level")
            && stderr.contains("CRITICAL"),
        "{stderr}"
    );

    // With no Region, one line: the keeper's error, no SDK `Debug` dump before it.
    let (code, _, stderr) = invoke_binary(
        &emu,
        &[
            ("DIRECTORY_IDS", dir.as_str()),
            ("AWS_REGION", UNSET),
            ("AWS_DEFAULT_REGION", UNSET),
        ],
        &["--event", event],
        None,
    );
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: no AWS Region: pass --region"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_binary_invokes_locally_against_aws_endpoint_url() {
    let emu = Emulator::start();
    let config = emu.sdk_config().await;
    let dir = emu.managed_ad(&config, "corp.example.com").await;
    let event = concat!(env!("CARGO_MANIFEST_DIR"), "/events/manual-report.json");

    let (code, stdout, stderr) =
        invoke_binary(&emu, &[("DIRECTORY_IDS", &dir)], &["--event", event], None);
    // Critical (a new directory, nothing restorable): exit 3, the report on stdout.
    assert_eq!(code, 3, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["action"], "report");
    assert_eq!(report["directories"][0]["directory_id"], dir.as_str());
    assert_eq!(
        stderr, "",
        "a clean run says nothing on stderr: the report is on stdout"
    );

    // the event on stdin
    let (code, stdout, _) = invoke_binary(
        &emu,
        &[("DIRECTORY_IDS", &dir)],
        &[],
        Some(r#"{"action":"snapshot"}"#),
    );
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["directories"][0]["created"]["status"], "Completed");

    // bad event, bad settings, bad arguments: exit 2 with the reason, nothing touched
    let (code, _, stderr) = invoke_binary(&emu, &[], &[], Some(r#"{"action":"explode"}"#));
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown action"), "{stderr}");
    assert_eq!(
        stderr.matches("unknown action").count(),
        1,
        "the refusal is said once: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let (code, _, stderr) = invoke_binary(&emu, &[("RETAIN_COUNT", "zero")], &[], Some("{}"));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("RETAIN_COUNT") && stderr.contains("accepted: integer 1..=50"),
        "{stderr}"
    );
    let (code, _, stderr) = invoke_binary(&emu, &[], &["--frobnicate"], None);
    assert_eq!(code, 2);
    assert!(stderr.contains("usage:"));
    assert_eq!(emu.snapshots(&config, &dir).await.len(), 1);
}

#[tokio::test]
async fn discovery_with_an_opt_in_tag_manages_only_tagged_directories() {
    let h = Harness::new(&[("DISCOVERY_TAG", "ds-snapshot-keeper=enabled")]).await;
    let tagged = h.dir().await;
    let untagged = h.dir().await;
    h.tag(&tagged, "ds-snapshot-keeper", "enabled").await;
    let report = h.invoke(scheduled()).await.unwrap();
    let ids: Vec<&str> = report
        .directories
        .iter()
        .map(|d| d.directory_id.as_str())
        .collect();
    assert_eq!(ids, vec![tagged.as_str()]);
    assert_eq!(h.snapshots(&tagged).await.len(), 1);
    assert!(h.snapshots(&untagged).await.is_empty());
    assert_eq!(
        h.emu.count_calls("DescribeDirectories"),
        1,
        "one DescribeDirectories for the whole batch"
    );
}

/// The subscription attributes the README gives for "failures only" (docs/...json).
const FAILURES_AND_ALARMS: &str = include_str!("../../docs/sns-filter-failures-and-alarms.json");

/// A CloudWatch alarm notification as CloudWatch publishes it to SNS: a JSON body and no
/// message attributes (AWS's "Amazon SNS message format" for alarm state changes).
fn cloudwatch_alarm_body() -> String {
    json!({
        "AlarmName": "ds-snapshot-keeper-UnreportedFailureAlarm",
        "AlarmDescription": "The keeper failed without publishing",
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 1 datapoint [1.0] was greater than the threshold (0.0).",
        "StateChangeTime": "2026-12-03T06:00:00.000+0000",
        "Region": "US East (N. Virginia)",
        "OldStateValue": "OK",
        "Trigger": {"MetricName": "Errors", "Namespace": "AWS/Lambda", "Threshold": 0.0}
    })
    .to_string()
}

#[tokio::test]
async fn the_readmes_failures_only_subscription_hears_failures_and_every_alarm() {
    // Before: the README's filter matched `severity` only, and CloudWatch alarm notifications
    // carry no message attributes, so the subscriber never heard UnreportedFailureAlarm,
    // FreshnessAlarm or DeadLetterAlarm. moto's SNS validates and applies the filter policy
    // (it reads an array's matchers in order and gives up at the first value matcher on a
    // missing attribute, so `exists: false` comes first; SNS ORs them in any order).
    let h = Harness::new(&[("NOTIFY_LEVEL", "all")]).await;
    let sns = aws_sdk_sns::Client::new(&h.config);
    let sqs = aws_sdk_sqs::Client::new(&h.config);
    let queue_url = sqs
        .create_queue()
        .queue_name("oncall")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let attributes: HashMap<String, String> = serde_json::from_str(FAILURES_AND_ALARMS).unwrap();
    let mut subscribe = sns
        .subscribe()
        .topic_arn(&h.topic)
        .protocol("sqs")
        .endpoint(queue_arn);
    for (k, v) in &attributes {
        subscribe = subscribe.attributes(k, v);
    }
    subscribe.send().await.unwrap();

    let dir = h.dir().await;
    let ok = h.run(scheduled()).await;
    assert_eq!(ok.severity, Severity::Ok);
    let failed = h
        .run(json!({"action": "snapshot", "directory_ids": ["d-9999999999"]}))
        .await;
    assert_eq!(failed.severity, Severity::Failure);
    sns.publish()
        .topic_arn(&h.topic)
        .subject("ALARM: \"ds-snapshot-keeper-UnreportedFailureAlarm\" in US East (N. Virginia)")
        .message(cloudwatch_alarm_body())
        .send()
        .await
        .unwrap();

    let everything = h.emu.received(&h.config, &h.queue).await;
    assert_eq!(
        everything.len(),
        3,
        "the unfiltered subscriber hears all three"
    );
    let heard = h.emu.received(&h.config, &queue_url).await;
    let subjects: Vec<&str> = heard.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(heard.len(), 2, "{subjects:?}");
    assert!(
        heard
            .iter()
            .any(|m| m.attributes.get("severity").map(|(_, v)| v.as_str()) == Some("failure")),
        "{subjects:?}"
    );
    assert!(
        heard
            .iter()
            .any(|m| m.message.contains("UnreportedFailureAlarm")),
        "{subjects:?}"
    );
    assert!(
        !heard
            .iter()
            .any(|m| m.attributes.get("severity").map(|(_, v)| v.as_str()) == Some("ok")),
        "{subjects:?}"
    );
    let _ = dir;
}

/// A log event's fields as CloudWatch Logs Insights discovers them in a JSON event:
/// "CloudWatch Logs Insights automatically discovers fields in logs [in JSON format] ...
/// nested JSON fields are flattened using the dot notation ... arrays are flattened into a
/// list of field names and values" with the index as the name (`a.0.b`), and "a maximum of
/// 200 fields" per event (Logs Insights: "Supported logs and discovered fields").
fn logs_insights_fields(line: &str) -> HashMap<String, Value> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
        let name = |k: &str| {
            if prefix.is_empty() {
                k.to_owned()
            } else {
                format!("{prefix}.{k}")
            }
        };
        match v {
            Value::Object(map) => map.iter().for_each(|(k, v)| walk(&name(k), v, out)),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, v)| walk(&name(&i.to_string()), v, out)),
            scalar => out.push((prefix.to_owned(), scalar.clone())),
        }
    }
    let mut out = Vec::new();
    walk("", &serde_json::from_str(line).unwrap(), &mut out);
    out.into_iter().take(200).collect()
}

/// The dashboard's "Latest failed runs" query, from the SAM template: its filter and fields.
fn latest_failed_runs_query() -> String {
    let template = include_str!("../../template.yaml");
    let start = template.find("\"title\": \"Latest failed runs\"").unwrap();
    let query = &template[start..];
    let q = query.find("\"query\": \"").unwrap() + "\"query\": \"".len();
    let end = query[q..].find("\"}").unwrap();
    query[q..q + end].replace("\\\"", "\"")
}

#[tokio::test]
async fn the_dashboards_latest_failed_runs_names_every_failing_directory_at_any_position() {
    // Before: the query read report.directories.0 only, so a run whose *second* directory
    // failed showed the first one's id and no code.
    let h = Harness::new(&[]).await;
    let healthy = h.dir().await;
    let mut ids = vec![healthy.clone(), "d-ffffffffff".to_owned()];
    ids.sort();
    let report = h
        .run(json!({"action": "snapshot", "directory_ids": ids}))
        .await;
    assert_eq!(report.severity, Severity::Failure);
    let position = report
        .directories
        .iter()
        .position(|d| d.directory_id == "d-ffffffffff")
        .unwrap();
    // The report lists directories by id: d-ffffffffff sorts after any other, so the failing
    // one is never at position 0.
    assert_eq!(position, report.directories.len() - 1);
    assert!(position > 0, "{:?}", report.directories);
    let query = latest_failed_runs_query();
    assert!(
        query.contains("filter message = \"run report\" and report.severity = \"failure\""),
        "{query}"
    );
    let fields = query
        .split("| fields ")
        .nth(1)
        .unwrap()
        .split(" |")
        .next()
        .unwrap()
        .to_owned();
    let lines = h.lines.lock().unwrap().clone();
    let run_line = lines
        .iter()
        .find(|l| l.contains("\"message\":\"run report\""))
        .expect("a run report line");
    let flat = logs_insights_fields(run_line);
    assert_eq!(flat["message"], "run report");
    assert_eq!(flat["report.severity"], "failure");
    // Every field the query names exists in the event, and the one that names the failure
    // says which directory and why.
    let mut shown = Vec::new();
    for f in fields.split(',').map(str::trim) {
        let name = f.split(" as ").next().unwrap();
        if name.starts_with('@') || name == "requestId" {
            continue;
        }
        shown.push(
            flat.get(name)
                .cloned()
                .unwrap_or_else(|| panic!("no field {name}: {flat:?}")),
        );
    }
    let text = serde_json::to_string(&shown).unwrap();
    assert!(
        text.contains("d-ffffffffff (EntityDoesNotExistException)"),
        "{text}"
    );
    assert!(
        !text.contains(&format!("{healthy} (")),
        "the healthy one is not named: {text}"
    );
}

// --- restore: the real binary against the emulator ------------------------------------------

/// `ds-snapshot-keeper restore ARGS` with no terminal, against `emu`.
fn restore_binary(emu: &Emulator, args: &[&str]) -> (i32, Value, String) {
    restore_binary_with(emu, &[], args)
}

/// The same, with more environment (`SNS_TOPIC_ARN`...).
fn restore_binary_with(
    emu: &Emulator,
    env: &[(&str, &str)],
    args: &[&str],
) -> (i32, Value, String) {
    let args: Vec<&str> = std::iter::once("restore")
        .chain(args.iter().copied())
        .collect();
    binary_json(emu, env, &args)
}

/// Writes the emulator logged, by operation name.
fn writes(emu: &Emulator) -> Vec<String> {
    emu.calls()
        .iter()
        .filter_map(|c| c["operation"].as_str().map(str::to_owned))
        .filter(|op| {
            ["CreateSnapshot", "DeleteSnapshot", "RestoreFromSnapshot"].contains(&op.as_str())
        })
        .collect()
}

#[tokio::test]
async fn a_restore_keeps_the_present_restores_and_follows_it_to_active() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let target = h
        .emu
        .seed(&dir, Some(&support::kname(1)), "Manual", "Completed", 3.0);
    h.emu
        .seed(&dir, Some(&support::kname(2)), "Manual", "Completed", 1.0);
    h.emu.control(
        "POST",
        "restore-outcome",
        json!({"directory_id": dir, "stage": "Active", "after_describes": 3}),
    );
    // The drill first: the plan, exit 0, no write call at all.
    let (code, report, stderr) = restore_binary(
        &h.emu,
        &["--directory", &dir, "--snapshot", &target, "--dry-run"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["outcome"]["kind"], "planned");
    assert!(stderr.contains("Everything changed since"), "{stderr}");
    assert!(stderr.contains("about 2 to 3 hours"), "{stderr}");
    assert!(writes(&h.emu).is_empty(), "{:?}", writes(&h.emu));
    // Without a terminal and without --yes: refused, nothing written.
    let (code, _, stderr) = restore_binary(&h.emu, &["--directory", &dir, "--snapshot", &target]);
    assert_eq!(code, 2);
    assert!(stderr.contains("pass --yes"), "{stderr}");
    assert!(writes(&h.emu).is_empty());
    // The restore, published to the topic as it goes.
    let (code, report, stderr) = restore_binary_with(
        &h.emu,
        &[("SNS_TOPIC_ARN", &h.topic)],
        &["--directory", &dir, "--snapshot", &target, "--yes"],
    );
    assert_eq!(code, 0, "{stderr}\n{report}");
    assert_eq!(report["outcome"]["kind"], "restored");
    assert_eq!(report["final_stage"], "Active");
    assert_eq!(
        writes(&h.emu),
        vec!["CreateSnapshot", "RestoreFromSnapshot"],
        "a safety snapshot, then one restore"
    );
    let safety = report["safety"]["snapshot_id"].as_str().unwrap().to_owned();
    let after = h.snapshots(&dir).await;
    let status = |id: &str| {
        after
            .iter()
            .find(|s| s.snapshot_id() == Some(id))
            .and_then(|s| s.status().map(|x| x.as_str().to_owned()))
    };
    assert_eq!(status(&safety).as_deref(), Some("Completed"));
    assert_eq!(
        status(&target).as_deref(),
        Some("Completed"),
        "target untouched"
    );
    assert!(
        stderr.contains(&format!("--snapshot {safety}")),
        "how to undo: {stderr}"
    );
    // SNS heard it start and complete, with the attributes subscriptions filter on.
    assert_eq!(report["notified"], json!(["started", "completed"]));
    let heard = h.messages().await;
    let subjects: Vec<&str> = heard.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(heard.len(), 2, "{subjects:?}");
    assert!(
        subjects[0].starts_with("[OK] DS restore started"),
        "{subjects:?}"
    );
    assert!(
        subjects[1].starts_with("[OK] DS restore completed"),
        "{subjects:?}"
    );
    assert!(heard[1].message.contains(&format!("--snapshot {safety}")));
    assert_eq!(
        heard[0].attributes.get("severity").map(|(_, v)| v.as_str()),
        Some("ok")
    );
    // The keeper's next scheduled run never deletes the safety snapshot.
    h.emu.age(1.0);
    for _ in 0..4 {
        h.emu.age(1.0);
        h.run(scheduled()).await;
    }
    assert!(
        h.snapshots(&dir)
            .await
            .iter()
            .any(|s| s.snapshot_id() == Some(safety.as_str())),
        "the safety snapshot is held until the operator deletes it"
    );
}

#[tokio::test]
async fn a_failed_restore_exits_1_with_the_reason_and_awss_advice() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let target = h
        .emu
        .seed(&dir, Some(&support::kname(1)), "Manual", "Completed", 3.0);
    h.emu.control(
        "POST",
        "restore-outcome",
        json!({"directory_id": dir, "stage": "RestoreFailed", "reason": "Snapshot restore failed", "after_describes": 2}),
    );
    let (code, report, stderr) = restore_binary_with(
        &h.emu,
        &[("SNS_TOPIC_ARN", &h.topic)],
        &[
            "--directory",
            &dir,
            "--snapshot",
            &target,
            "--yes",
            "--no-safety-snapshot",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let heard = h.messages().await;
    let failed = heard.last().unwrap();
    assert!(
        failed.subject.starts_with("[FAILURE] DS restore failed"),
        "{}",
        failed.subject
    );
    assert!(failed.message.contains("retry the restore operation"));
    assert_eq!(
        failed.attributes.get("severity").map(|(_, v)| v.as_str()),
        Some("failure")
    );
    assert_eq!(report["outcome"]["kind"], "restore-failed");
    assert_eq!(report["outcome"]["reason"], "Snapshot restore failed");
    assert!(stderr.contains("retry the restore operation"), "{stderr}");
    assert_eq!(writes(&h.emu), vec!["RestoreFromSnapshot"]);
}

#[tokio::test]
async fn every_refusal_changes_nothing() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let other = h.dir().await;
    let old = h
        .emu
        .seed(&dir, Some(&support::kname(1)), "Manual", "Completed", 181.0);
    let failed = h
        .emu
        .seed(&dir, Some(&support::kname(2)), "Manual", "Failed", 2.0);
    let creating = h
        .emu
        .seed(&dir, Some(&support::kname(3)), "Manual", "Creating", 0.0);
    let theirs = h
        .emu
        .seed(&other, Some(&support::kname(4)), "Manual", "Completed", 1.0);
    let ok = h
        .emu
        .seed(&dir, Some(&support::kname(5)), "Manual", "Completed", 1.0);
    for (snapshot, code) in [
        (old.as_str(), "too-old"),
        (failed.as_str(), "not-completed"),
        (creating.as_str(), "not-completed"),
        (theirs.as_str(), "no-such-snapshot"),
    ] {
        let (exit, report, stderr) = restore_binary(
            &h.emu,
            &["--directory", &dir, "--snapshot", snapshot, "--yes"],
        );
        assert_eq!(exit, 2, "{snapshot}: {stderr}");
        assert_eq!(report["outcome"]["refusal"]["code"], code, "{report}");
    }
    // A full quota of snapshots the keeper may not delete: no room for the safety snapshot.
    for i in 0..3 {
        h.emu.seed_manual(&dir, &format!("ops-{i}"), 5.0 + i as f64);
    }
    let (exit, report, _) =
        restore_binary(&h.emu, &["--directory", &dir, "--snapshot", &ok, "--yes"]);
    assert_eq!(exit, 2);
    assert_eq!(report["outcome"]["refusal"]["code"], "no-room-for-safety");
    // An AD Connector has no snapshots to restore.
    let connector = h.emu.ad_connector(&h.config, "connector.example.com").await;
    let (exit, report, _) = restore_binary(
        &h.emu,
        &["--directory", &connector, "--snapshot", &ok, "--yes"],
    );
    assert_eq!(exit, 2);
    assert_eq!(report["outcome"]["refusal"]["code"], "no-snapshots");
    // Impaired, and a replica of a directory whose primary Region is elsewhere.
    h.emu.set_directory(&dir, json!({"stage": "Impaired"}));
    let (exit, report, _) = restore_binary(
        &h.emu,
        &[
            "--directory",
            &dir,
            "--snapshot",
            &ok,
            "--yes",
            "--no-safety-snapshot",
        ],
    );
    assert_eq!(exit, 2);
    assert_eq!(report["outcome"]["refusal"]["code"], "stage");
    h.emu.set_directory(&dir, json!({"stage": "Active", "regions_info": {"PrimaryRegion": "eu-central-1", "AdditionalRegions": [support::REGION]}}));
    let (exit, report, _) = restore_binary(
        &h.emu,
        &[
            "--directory",
            &dir,
            "--snapshot",
            &ok,
            "--yes",
            "--no-safety-snapshot",
        ],
    );
    assert_eq!(exit, 2);
    assert_eq!(report["outcome"]["refusal"]["code"], "not-primary");
    assert!(writes(&h.emu).is_empty(), "{:?}", writes(&h.emu));
}

#[tokio::test]
async fn scheduled_runs_follow_a_restore_and_raise_a_failed_one() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let target = h
        .emu
        .seed(&dir, Some(&support::kname(1)), "Manual", "Completed", 2.0);
    let ds = h.emu.ds(&h.config);
    // A restore under way (it stays Restoring for the next 100 describes).
    h.emu.control(
        "POST",
        "restore-outcome",
        json!({"directory_id": dir, "stage": "RestoreFailed", "reason": "Snapshot restore failed", "after_describes": 100}),
    );
    ds.restore_from_snapshot()
        .snapshot_id(&target)
        .send()
        .await
        .unwrap();
    let before = h.emu.calls().len();
    let report = h.run(scheduled()).await;
    let d = &report.directories[0];
    let skip = d.skipped.as_ref().expect("skipped while restoring");
    assert_eq!(
        serde_json::to_value(skip.reason).unwrap(),
        json!("restoring")
    );
    assert!(skip.message.contains("(since 20"), "{}", skip.message);
    assert!(!skip.warns && !skip.critical);
    assert_eq!(report.severity, Severity::Ok);
    assert_eq!(
        report.coverage.as_ref().unwrap().unmanaged_count,
        0,
        "a directory being restored is not unmanaged"
    );
    let writes: Vec<Value> = h.emu.calls()[before..]
        .iter()
        .filter(|c| {
            ["CreateSnapshot", "DeleteSnapshot"].contains(&c["operation"].as_str().unwrap_or(""))
        })
        .cloned()
        .collect();
    assert!(writes.is_empty(), "nothing touched: {writes:?}");
    // The restore fails: the next run is a critical finding, published, with what to do.
    h.emu.control(
        "POST",
        "directory",
        json!({"directory_id": dir, "stage": "RestoreFailed"}),
    );
    let report = h.run(scheduled()).await;
    let d = &report.directories[0];
    let skip = d.skipped.as_ref().unwrap();
    assert!(skip.critical, "{skip:?}");
    assert_eq!(report.severity, Severity::Critical);
    let msgs = h.messages().await;
    let last = msgs.last().expect("published");
    assert!(last.subject.starts_with("[CRITICAL]"), "{}", last.subject);
    assert!(
        last.message.contains("retry the restore operation"),
        "{}",
        last.message
    );
    assert_eq!(
        last.attributes.get("severity").map(|(_, v)| v.as_str()),
        Some("critical")
    );
}

/// `ds-snapshot-keeper points ARGS` against `emu` (no terminal: JSON).
fn points_binary(emu: &Emulator, args: &[&str]) -> (i32, Value, String) {
    let args: Vec<&str> = std::iter::once("points")
        .chain(args.iter().copied())
        .collect();
    binary_json(emu, &[], &args)
}

#[tokio::test]
async fn points_lists_every_restore_point_with_who_holds_it_and_marks_before() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let other = h.dir().await;
    let mine = h
        .emu
        .seed(&dir, Some(&support::kname(1)), "Manual", "Completed", 1.0);
    let auto = h.emu.seed(&dir, None, "Auto", "Completed", 3.0);
    let theirs = h.emu.seed_manual(&dir, "before-schema-change", 5.0);
    let old = h
        .emu
        .seed(&dir, Some(&support::kname(2)), "Manual", "Completed", 200.0);
    h.emu
        .seed(&other, Some(&support::kname(3)), "Manual", "Completed", 1.0);
    let before = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48)).to_string();
    let (code, listed, stderr) = points_binary(
        &h.emu,
        &[
            "--directory",
            &dir,
            "--before",
            &before,
            "--region",
            support::REGION,
            "--region",
            "eu-west-1",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let entries = listed.as_array().unwrap();
    assert_eq!(entries.len(), 1, "the one directory asked for: {listed}");
    let points = entries[0]["points"].as_array().unwrap();
    let ids: Vec<&str> = points
        .iter()
        .map(|p| p["snapshot_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![mine.as_str(), auto.as_str(), theirs.as_str(), old.as_str()]
    );
    let by = |id: &str| points.iter().find(|p| p["snapshot_id"] == id).unwrap();
    assert_eq!(by(&auto)["holder"]["kind"], "aws");
    assert_eq!(by(&theirs)["holder"]["kind"], "someone-else");
    assert_eq!(by(&mine)["holder"]["kind"], "keeper");
    assert_eq!(by(&mine)["holder"]["worth"]["kind"], "recent");
    assert_eq!(by(&old)["restorable"], false);
    assert!(by(&old)["not_restorable_because"]
        .as_str()
        .unwrap()
        .contains("180 days"));
    assert_eq!(
        by(&auto)["chosen_before"],
        true,
        "the newest restorable before 48 h ago"
    );
    assert!(by(&mine)["start_time"].as_str().unwrap().ends_with('Z'));
    assert!(!by(&mine)["start_time"].as_str().unwrap().contains('.'));
    // 179 days after start less the second or so since it was seeded.
    assert!((178..=179).contains(&by(&mine)["days_left"].as_i64().unwrap()));
    // Without --directory: every directory the configured scope manages (discovery here).
    let (code, listed, _) = points_binary(&h.emu, &[]);
    assert_eq!(code, 0);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    // Read-only.
    assert!(writes(&h.emu).is_empty());
    // The table for a terminal names the holders and the mark.
    let (_, table, _) = binary(
        &h.emu,
        &[],
        &[
            "points",
            "--directory",
            &dir,
            "--before",
            &before,
            "--output",
            "table",
        ],
        None,
    );
    assert!(table.contains("RESTORABLE UNTIL"), "{table}");
    assert!(
        table.contains("AWS (Auto)") && table.contains("someone else"),
        "{table}"
    );
    assert!(table.contains("<- --before picks this"), "{table}");
}

#[tokio::test]
async fn points_names_a_directory_found_in_no_region_given() {
    let h = Harness::new(&[]).await;
    h.dir().await;
    let (code, listed, stderr) = points_binary(&h.emu, &["--directory", "d-ffffffffff"]);
    assert_eq!(code, 1);
    assert_eq!(listed, json!([]));
    assert!(
        stderr.contains("directory d-ffffffffff was not found in us-east-1"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_lost_restore_answer_is_resolved_by_the_stage_and_never_resent() {
    // The emulator carries RestoreFromSnapshot out and drops the reply (a connection lost on
    // the way back). The keeper does not send it again: it reads the stage, sees Restoring,
    // and follows the restore.
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let target = h
        .emu
        .seed(&dir, Some(&support::kname(1)), "Manual", "Completed", 3.0);
    h.emu
        .fault(json!({"operation": "RestoreFromSnapshot", "kind": "lost_answer", "count": 1}));
    let (code, report, stderr) = restore_binary(
        &h.emu,
        &[
            "--directory",
            &dir,
            "--snapshot",
            &target,
            "--yes",
            "--no-safety-snapshot",
        ],
    );
    assert_eq!(code, 0, "{stderr}\n{report}");
    assert_eq!(report["outcome"]["kind"], "restored");
    assert_eq!(h.emu.count_calls("RestoreFromSnapshot"), 1, "sent once");
    assert!(stderr.contains("answer was lost"), "{stderr}");
}

// --- the Lambda's restore action ---------------------------------------------------------------

#[tokio::test]
async fn the_restore_action_is_refused_unless_the_stack_opts_in() {
    let h = Harness::new(&[]).await;
    let dir = h.dir().await;
    let target = h
        .emu
        .seed(&dir, Some(&support::kname(1)), "Manual", "Completed", 2.0);
    let before = h.emu.calls().len();
    let err = h
        .invoke_any(json!({"action": "restore", "directory_id": dir, "snapshot_id": target, "confirm": dir}))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, InvocationError::BadEvent(_)), "{text}");
    assert!(
        text.contains("AllowRestore=enabled") && text.contains("allowRestore"),
        "{text}"
    );
    assert_eq!(h.emu.calls().len(), before, "no AWS call at all");
}

#[tokio::test]
async fn the_restore_action_checks_plans_keeps_the_present_starts_and_the_runs_follow_it() {
    let h = Harness::new(&[("ALLOW_RESTORE", "true")]).await;
    let dir = h.dir().await;
    let target = h
        .emu
        .seed(&dir, Some(&support::kname(1)), "Manual", "Completed", 2.0);
    h.emu.control(
        "POST",
        "restore-outcome",
        json!({"directory_id": dir, "stage": "Active", "after_describes": 3}),
    );
    // Without confirm: refused, nothing changed.
    let err = h
        .invoke_any(json!({"action": "restore", "directory_id": dir, "snapshot_id": target}))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("confirm must repeat its id"),
        "{err}"
    );
    // The drill.
    let planned = h
        .invoke_any(json!({"action": "restore", "directory_id": dir, "snapshot_id": target, "dry_run": true}))
        .await
        .unwrap();
    let planned = serde_json::to_value(&planned).unwrap();
    assert_eq!(planned["outcome"]["kind"], "planned");
    assert!(writes(&h.emu).is_empty());
    // Outside the scope: refused.
    let err = h
        .invoke_any(json!({"action": "restore", "directory_id": "d-ffffffffff", "snapshot_id": target, "confirm": "d-ffffffffff"}))
        .await;
    assert!(err.is_err());
    // The restore: safety snapshot, one RestoreFromSnapshot, and the invocation returns.
    let started = h
        .invoke_any(json!({"action": "restore", "directory_id": dir, "snapshot_id": target, "confirm": dir}))
        .await
        .unwrap();
    let started = serde_json::to_value(&started).unwrap();
    assert_eq!(started["outcome"]["kind"], "started", "{started}");
    assert_eq!(
        writes(&h.emu),
        vec!["CreateSnapshot", "RestoreFromSnapshot"]
    );
    let lines = h.lines.lock().unwrap().clone();
    assert!(lines
        .iter()
        .any(|l| l.contains("\"message\":\"restore report\"")));
    // The scheduled run follows it: skipped while Restoring, then back to work once Active.
    let report = h.run(scheduled()).await;
    assert_eq!(
        serde_json::to_value(report.directories[0].skipped.as_ref().unwrap().reason).unwrap(),
        json!("restoring")
    );
    h.emu.age(1.0);
    // The restore's mark records its send in whole seconds; a restore takes minutes in AWS,
    // but the emulator's can end in the same second: let one pass, so its end is after it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut resumed = false;
    for _ in 0..4 {
        let report = h.run(scheduled()).await;
        if report.directories[0].created.is_some() {
            resumed = true;
            break;
        }
    }
    assert!(
        resumed,
        "the keeper snapshots again once the directory is Active"
    );
    // The safety snapshot is still there.
    let safety = started["safety"]["snapshot_id"].as_str().unwrap();
    assert!(h
        .snapshots(&dir)
        .await
        .iter()
        .any(|s| s.snapshot_id() == Some(safety)));
}

#[tokio::test]
async fn the_restore_action_ignores_a_deadline_already_past_on_arrival() {
    // cargo lambda watch sends a duration where Lambda sends an epoch time: like a run, the
    // restore action then works to its own budgets instead of failing its safety snapshot.
    let mut h = Harness::new(&[("ALLOW_RESTORE", "true")]).await;
    h.deadline = Some(tokio::time::Instant::now());
    let dir = h.dir().await;
    let target = h
        .emu
        .seed(&dir, Some(&support::kname(1)), "Manual", "Completed", 2.0);
    let started = h
        .invoke_any(json!({"action": "restore", "directory_id": dir, "snapshot_id": target, "confirm": dir}))
        .await
        .unwrap();
    let started = serde_json::to_value(&started).unwrap();
    assert_eq!(started["outcome"]["kind"], "started", "{started}");
}
