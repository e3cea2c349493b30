//! The errors an operator meets first, through the real binary with the credential chain as a
//! user has it (a HOME of their own, no inherited AWS variables): a missing profile, an
//! expired SSO cache, no credentials, an unknown Region, an endpoint that refuses, and an
//! AccessDenied from the emulator. Each is one plain line naming the call, the cause and the
//! fix, in seconds, with the exit code of its class (`ds-snapshot-keeper help exit-codes`).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::Emulator;

struct Ran {
    code: i32,
    stderr: String,
    took: Duration,
}

/// The binary, with nothing of this machine's AWS setup: only `home` and `env`.
fn keeper(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Ran {
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ds-snapshot-keeper"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        // No instance metadata service here: without this the chain would wait for one.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}

/// A HOME whose ~/.aws holds `config` (and an SSO cache entry, when given).
fn home(name: &str, config: &str, sso_cache: Option<(&str, &str)>) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dsk-home-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join(".aws/sso/cache")).unwrap();
    std::fs::write(dir.join(".aws/config"), config).unwrap();
    if let Some((file, body)) = sso_cache {
        std::fs::write(dir.join(".aws/sso/cache").join(file), body).unwrap();
    }
    dir
}

fn one_plain_line(r: &Ran, class: i32, says: &[&str]) {
    assert_eq!(r.code, class, "{}", r.stderr);
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    for s in says {
        assert!(errors[0].contains(s), "lacks {s:?}: {}", errors[0]);
    }
    for debug in ["Some(", "DispatchFailure", "ConnectorError", "{ kind"] {
        assert!(!r.stderr.contains(debug), "a Debug form: {}", r.stderr);
    }
    assert!(
        r.took < Duration::from_secs(10),
        "{:?}: {}",
        r.took,
        r.stderr
    );
}

#[test]
fn a_missing_profile_is_named_before_any_call() {
    let h = home("missing", "[profile dev]\nregion = eu-west-1\n", None);
    let r = keeper(
        &h,
        &[],
        &["points", "--profile", "prod", "--region", "eu-west-1"],
    );
    one_plain_line(
        &r,
        6,
        &["the config profile (prod) could not be found", "dev"],
    );
    // The environment's spelling too.
    let r = keeper(
        &h,
        &[("AWS_PROFILE", "prod")],
        &["points", "--region", "eu-west-1"],
    );
    one_plain_line(&r, 6, &["(prod) could not be found"]);
}

#[test]
fn an_expired_sso_session_says_to_log_in_again() {
    // An SSO profile as `aws configure sso` writes it, and a cached token past its expiry
    // (the cache file is named by the SHA-1 of the session name, as the AWS CLI names it).
    let config = "[profile admin]\nsso_session = corp\nsso_account_id = 123456789012\n\
                  sso_role_name = Admin\nregion = eu-west-1\n\n[sso-session corp]\n\
                  sso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n";
    let cache = r#"{"accessToken": "old", "expiresAt": "2026-01-01T00:00:00Z", "region": "eu-west-1", "startUrl": "https://corp.awsapps.com/start"}"#;
    let h = home(
        "sso",
        config,
        Some(("ee0bfd2552fbd840c02cc48b6e823320543c450f.json", cache)),
    );
    let r = keeper(&h, &[], &["points", "--profile", "admin"]);
    one_plain_line(
        &r,
        6,
        &[
            "DescribeDirectories was not sent",
            "aws sso login --profile admin",
        ],
    );
}

#[test]
fn no_credentials_on_a_dry_run_names_the_call_that_was_made() {
    let h = home("nocreds", "", None);
    let r = keeper(
        &h,
        &[("AWS_REGION", "eu-west-1")],
        &[
            "restore",
            "--directory",
            "d-0123456789",
            "--snapshot",
            "s-0123456789",
            "--dry-run",
        ],
    );
    one_plain_line(
        &r,
        6,
        &["DescribeDirectories was not sent", "no AWS credentials"],
    );
    assert!(!r.stderr.contains("RestoreFromSnapshot"), "{}", r.stderr);
}

#[test]
fn an_unknown_region_and_a_refusing_endpoint_are_unreachable_in_seconds() {
    let h = home("reach", "", None);
    let creds = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ];
    let mut env = creds.to_vec();
    env.push(("AWS_REGION", "eu-west-9"));
    let r = keeper(&h, &env, &["points"]);
    one_plain_line(
        &r,
        8,
        &["could not reach Directory Service in eu-west-9", "--region"],
    );
    let mut env = creds.to_vec();
    env.extend([
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ]);
    let r = keeper(&h, &env, &["points"]);
    one_plain_line(
        &r,
        8,
        &["connection was refused", "AWS_ENDPOINT_URL is set"],
    );
}

#[test]
fn access_denied_names_the_action_and_a_missing_directory_is_a_refusal() {
    let emu = Emulator::start();
    let h = home("denied", "", None);
    let env = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", emu.endpoint.as_str()),
    ];
    // No such directory: the dry run is refused (exit 2), and only DescribeDirectories ran.
    let r = keeper(
        &h,
        &env,
        &[
            "restore",
            "--directory",
            "d-0000000000",
            "--snapshot",
            "s-0123456789",
            "--dry-run",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.is_empty() || !r.stderr.contains("RestoreFromSnapshot"),
        "{}",
        r.stderr
    );
    emu.fault(json!({"operation": "DescribeDirectories", "kind": "access_denied"}));
    let r = keeper(&h, &env, &["points"]);
    one_plain_line(
        &r,
        7,
        &[
            "DescribeDirectories was refused: not allowed",
            "ds:DescribeDirectories",
        ],
    );
    emu.clear_faults();
}

#[test]
fn help_and_version_work_whatever_the_environment_holds() {
    let h = home("help", "", None);
    // A bad setting in the environment does not stop --help, help COMMAND or --version.
    let bad = [("RETAIN_COUNT", "zero"), ("AWS_PROFILE", "nowhere")];
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ds-snapshot-keeper"))
            .env_clear()
            .env("HOME", &h)
            .envs(bad)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    for (args, says) in [
        (
            &["restore", "--help"][..],
            "usage: ds-snapshot-keeper restore",
        ),
        (&["help", "invoke"], "usage: ds-snapshot-keeper invoke"),
        (&["help", "exit-codes"], "  6  no AWS credentials"),
        (
            &["--version"],
            concat!("ds-snapshot-keeper ", env!("CARGO_PKG_VERSION")),
        ),
        (
            &["-V"],
            concat!("ds-snapshot-keeper ", env!("CARGO_PKG_VERSION")),
        ),
    ] {
        let (code, stdout) = run(args);
        assert_eq!(code, 0, "{args:?}");
        assert!(stdout.contains(says), "{args:?}: {stdout}");
    }
    // The AWS CLI's spellings: --output=json, -vvvv; the old --format warns but works.
    let (code, _) = run(&["points", "--output=json", "-vvvv", "--help"]);
    assert_eq!(code, 0);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ds-snapshot-keeper"))
        .env_clear()
        .env("HOME", &h)
        .args(["invoke", "--format", "json", "--event", "/nonexistent"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: --format is deprecated: use --output"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
}
