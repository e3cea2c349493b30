//! `ds-snapshot-keeper audit` with the real binary over two Regions of the emulator: each
//! control compliant for one directory and non-compliant for another, in JSON and CSV, and
//! an exit code that says whether every control passed.

use serde_json::Value;

use crate::support::{kname, Emulator};

fn audit(emu: &Emulator, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ds-snapshot-keeper"))
        .arg("audit")
        .args(args)
        .env_remove("AWS_PROFILE")
        .env_remove("DIRECTORY_IDS")
        .env_remove("DISCOVERY_TAG")
        .env("AWS_ENDPOINT_URL", &emu.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn status<'a>(report: &'a Value, directory: &str, control: &str) -> &'a str {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["directory_id"] == directory && f["control"] == control)
        .unwrap_or_else(|| panic!("{directory} {control}: {report}"))["status"]
        .as_str()
        .unwrap()
}

#[tokio::test]
async fn every_control_is_met_in_one_directory_and_missed_in_another_over_two_regions() {
    let emu = Emulator::start();
    let east = emu.sdk_config().await;
    let west = east
        .to_builder()
        .region(aws_config::Region::new("eu-west-1"))
        .build();
    // us-east-1: kept well. A point 2 hours old, one 10 days old, slots free.
    let good = emu.managed_ad(&east, "corp.example.com").await;
    emu.seed_owned(&good, &[10.0, 2.0 / 24.0]);
    // eu-west-1: the newest 30 hours old, the quota full, a safety snapshot held 9 days.
    let full = emu.managed_ad(&west, "eu.example.com").await;
    emu.seed_owned(&full, &[9.0, 1.25]);
    emu.seed_manual(&full, "before-schema", 2.0);
    emu.seed_manual(&full, "before-update", 3.0);
    let held = emu.seed_manual(&full, "pre-restore-20261127T060000Z-s-0123456789", 9.0);
    // eu-west-1: recent, but reaching back only a day.
    let short = emu.managed_ad(&west, "branch.example.com").await;
    emu.seed_manual(&short, &kname(0), 1.0);
    emu.seed_manual(&short, &kname(1), 0.1);

    let (code, stdout, stderr) = audit(
        &emu,
        &[
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
            "--output",
            "json",
        ],
    );
    assert_eq!(code, 3, "a control is not met: {stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    for control in ["DSK-RECENT", "DSK-REACH", "DSK-HEADROOM", "DSK-SAFETY-HELD"] {
        assert_eq!(status(&report, &good, control), "compliant", "{control}");
    }
    assert_eq!(status(&report, &full, "DSK-RECENT"), "non-compliant");
    assert_eq!(status(&report, &full, "DSK-HEADROOM"), "non-compliant");
    assert_eq!(status(&report, &full, "DSK-SAFETY-HELD"), "non-compliant");
    assert_eq!(status(&report, &short, "DSK-REACH"), "non-compliant");
    assert_eq!(status(&report, &short, "DSK-RECENT"), "compliant");
    // The evidence names what an auditor checks.
    let evidence = |d: &str, c: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["directory_id"] == d && f["control"] == c)
            .unwrap()["evidence"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(evidence(&full, "DSK-SAFETY-HELD").contains(&held));
    assert!(evidence(&full, "DSK-HEADROOM").contains("5 of 5 manual slots in use, 0 free"));
    assert!(
        evidence(&full, "DSK-RECENT").contains("30 hours ago"),
        "{}",
        evidence(&full, "DSK-RECENT")
    );

    // CSV, for a spreadsheet: a header and a row per control and directory.
    let (code, csv, _) = audit(
        &emu,
        &[
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
            "--output",
            "csv",
        ],
    );
    assert_eq!(code, 3);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "control,region,directory_id,status,requirement,evidence"
    );
    assert_eq!(rows.len(), 1 + 3 * 4, "{csv}");
    assert!(rows
        .iter()
        .any(|r| r.starts_with(&format!("DSK-REACH,eu-west-1,{short},non-compliant,"))));

    // The compliant directory alone: exit 0.
    let (code, _, stderr) = audit(&emu, &["--directory", &good, "--region", "us-east-1"]);
    assert_eq!(code, 0, "{stderr}");
}
