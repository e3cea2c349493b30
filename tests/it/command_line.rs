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
