//! The command line as an operator meets it: usage, help and wrong arguments, never a panic.
//! (The binary in Lambda mode is tested against a local Runtime API in
//! `tests/local/test_runtime_api.py`, the harness `make bench` measures with.)

#[test]
fn the_command_line_explains_itself_and_never_panics() {
    let run = |args: &[&str], lambda: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ds-snapshot-keeper"));
        cmd.args(args).env_remove("AWS_LAMBDA_RUNTIME_API");
        if lambda {
            cmd.env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9");
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for help in [&["--help"][..], &["-h"], &["help"], &["invoke", "--help"]] {
        let (code, stdout, _) = run(help, false);
        assert_eq!(code, 0, "{help:?}");
        assert!(
            stdout.contains("usage: ds-snapshot-keeper"),
            "{help:?}: {stdout}"
        );
    }
    // `help` names the commands, the actions, the events files, the settings and the exit
    // codes; `help settings` lists every setting (src/cli/help.rs holds both to their sources).
    let (_, stdout, _) = run(&["help"], false);
    for word in [
        "invoke",
        "points",
        "restore",
        "\"action\": \"prune\"",
        "events/manual-report.json",
        "help settings",
        "Exit codes",
        "-v",
    ] {
        assert!(stdout.contains(word), "help lacks {word}: {stdout}");
    }
    let (code, stdout, _) = run(&["help", "settings"], false);
    assert_eq!(code, 0);
    assert!(stdout.contains("  RETAIN_COUNT  (default 3)"), "{stdout}");
    for help in [&["restore", "--help"][..], &["points", "--help"]] {
        let (code, stdout, _) = run(help, false);
        assert_eq!(code, 0, "{help:?}");
        assert!(stdout.contains("Exit codes:"), "{help:?}: {stdout}");
    }
    let (code, _, stderr) = run(&[], false);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("not running under AWS Lambda") && stderr.contains("usage:"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["snapshot"], false);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown command \"snapshot\""), "{stderr}");
    let (code, _, stderr) = run(&["invoke", "--bogus"], false);
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("panicked"));
}

/// An example's binary: `cargo test` builds the examples beside the test binaries' directory.
fn example(name: &str) -> std::path::PathBuf {
    let path = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} missing: cargo test builds the examples",
        path.display()
    );
    path
}

/// Run `program` with its stdout on a socket whose reader is already gone, as `| head`
/// leaves it once it has read enough: (exit code, stderr).
fn with_reader_gone(program: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    drop(ours);
    let out = std::process::Command::new(program)
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdout(std::process::Stdio::from(std::os::fd::OwnedFd::from(
            theirs,
        )))
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `ds-snapshot-keeper help | head` and `simulate | head` stop quietly, with the status a
/// shell gives a tool SIGPIPE stops (141), never a panic.
#[test]
fn a_closed_pipe_stops_the_output_quietly() {
    let keeper = std::path::Path::new(env!("CARGO_BIN_EXE_ds-snapshot-keeper"));
    for args in [&["help"][..], &["help", "settings"], &["invoke", "--help"]] {
        let (code, stderr) = with_reader_gone(keeper, args);
        assert_eq!(code, Some(141), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
    let simulate = example("simulate");
    let (code, stderr) = with_reader_gone(&simulate, &["--years", "1"]);
    assert_eq!(code, Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Values the simulator cannot honour are refused, not bent.
    for (args, says) in [
        (&["--years", "0"][..], "--years 0: expected at least 1"),
        (
            &["--every-hours", "0"],
            "--every-hours 0: expected at least 1",
        ),
        (&["--years", "21"], "expected a whole number up to 20"),
        (&["--retain", "9"], "does not fit a quota of 5"),
    ] {
        let out = std::process::Command::new(&simulate)
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// `make demo` (the README's first command) reads as five days: each day once, the e-mail's
/// body once, every deletion with its rule, the 185-day snapshot gone on day 1 as worthless,
/// the failed snapshot of day 3 reported and removed, and directories with their real age.
/// Then the operator's side: `points` lists every snapshot the directory holds, the drill
/// changes nothing, and the restore ends with the directory Active and a safety snapshot kept.
#[test]
fn the_demo_tells_five_days_then_points_drill_and_restore() {
    let out = std::process::Command::new(example("demo"))
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for day in 1..=5 {
        assert_eq!(
            text.matches(&format!("== day {day}: ")).count(),
            1,
            "day {day}: {text}"
        );
    }
    assert_eq!(
        text.matches("| ds-snapshot-keeper, action run").count(),
        1,
        "the e-mail body is shown once: {text}"
    );
    let day = |n: u32| {
        let from = text.find(&format!("== day {n}: ")).unwrap();
        let to = text[from + 1..]
            .find("== day ")
            .map_or(text.len(), |i| from + 1 + i);
        &text[from..to]
    };
    assert!(
        day(1).contains("by rule unrestorable: owned snapshot is 185 days old"),
        "{}",
        day(1)
    );
    assert!(
        day(3).contains("failed    CreateSnapshot SnapshotFailed"),
        "{}",
        day(3)
    );
    assert!(day(3).contains("by rule new-failed"), "{}", day(3));
    for line in text
        .lines()
        .filter(|l| l.trim_start().starts_with("deleted "))
    {
        assert!(line.contains(" by rule "), "{line}");
    }
    assert!(!text.contains("created 0 days ago"), "{text}");
    assert!(text.contains("created 200 days ago"), "{text}");
    // Someone else's snapshot and AWS's are there at the end.
    let end = &text[text.find("== what ").unwrap()..];
    assert!(
        end.contains("someone else's: before-schema-extension"),
        "{end}"
    );
    assert!(end.contains("AWS's own (Auto)"), "{end}");

    // The operator's side, in order, each command exiting 0. What the emulator holds at the end
    // (read by the demo with the SDK, not by the keeper) is the reference.
    let section = |header: &str| {
        let from = text
            .find(header)
            .unwrap_or_else(|| panic!("no {header:?}: {text}"));
        let to = text[from + 1..]
            .find("\n== ")
            .map_or(text.len(), |i| from + 1 + i);
        &text[from..to]
    };
    let points = section("== the operator lists the restore points");
    let drill = section("== the drill: ");
    let restore = section("== the restore: ");
    let order = [points, drill, restore, end].map(|s| s.as_ptr() as usize);
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    for part in [points, drill, restore] {
        assert!(part.contains("exit code 0\n"), "{part}");
        assert!(part.contains("The operator learns "), "{part}");
    }
    let safety: Vec<&str> = end
        .lines()
        .filter(|l| l.contains("the restore's safety snapshot: pre-restore-"))
        .collect();
    let [safety] = safety[..] else {
        panic!("one safety snapshot at the end: {end}")
    };
    let safety_id = safety.split_whitespace().next().unwrap();
    assert!(safety.contains(" Completed "), "{safety}");
    // Its name ends with the id of the snapshot restored.
    let name = safety
        .split_whitespace()
        .find(|w| w.starts_with("pre-restore-"))
        .unwrap()
        .trim_end_matches(',');
    let target = &name[name.len().saturating_sub(12)..];
    assert_eq!(snapshot_ids(target).len(), 1, "{name}");
    let held: std::collections::BTreeSet<&str> = end
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .filter(|id| *id != safety_id && snapshot_ids(id).len() == 1)
        .collect();
    assert!(held.contains(target), "{target} not held: {end}");
    assert_eq!(snapshot_ids(points), held, "the points table: {points}");
    // The drill named the snapshot the restore took, said nothing changed, and the emulator's
    // call log agrees: only reads.
    assert!(drill.contains(target), "{drill}");
    assert!(drill.contains("nothing was changed"), "{drill}");
    let log = drill
        .lines()
        .find(|l| l.contains("the emulator's call log for the drill: "))
        .unwrap_or_else(|| panic!("no call log: {drill}"));
    assert!(
        log.contains("DescribeSnapshots") && log.ends_with("(no write)"),
        "{log}"
    );
    for write in [
        "Create",
        "Delete",
        "RestoreFromSnapshot",
        "AddTags",
        "RemoveTags",
    ] {
        assert!(!log.contains(write), "{log}");
    }
    // The restore ended restored: the directory Active again, the safety snapshot kept and
    // named to the operator.
    assert!(
        end.lines().next().unwrap().contains("(stage Active"),
        "{end}"
    );
    assert!(restore.contains(safety_id), "{restore}");
    assert!(restore.contains(target), "{restore}");
}

/// The snapshot ids (`s-` and ten hex digits) a text names, as words of their own.
fn snapshot_ids(text: &str) -> std::collections::BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| {
            w.len() == 12 && w.starts_with("s-") && w[2..].bytes().all(|b| b.is_ascii_hexdigit())
        })
        .collect()
}
