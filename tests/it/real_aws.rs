//! Opt-in checks against a real AWS account, ignored by default. Run them with `--ignored`
//! and DS_KEEPER_REAL_AWS_DIRECTORY_ID naming a directory in the account and Region of the
//! default credential chain. They are
//! read-only (`report` and a `dry_run` run): they prove the real service's answers parse
//! and plan the same way the emulator's do, without changing anything.
//!
//!   DS_KEEPER_REAL_AWS_DIRECTORY_ID=d-0123456789 AWS_REGION=eu-west-1 \
//!     cargo test --test it real_aws -- --ignored --nocapture

use ds_snapshot_keeper::directory::aws::AwsDirectoryService;
use ds_snapshot_keeper::directory::DirectoryService;
use ds_snapshot_keeper::handler::{handle, InvocationError};
use ds_snapshot_keeper::notify::NoNotifier;
use ds_snapshot_keeper::{Keeper, Settings};
use serde_json::json;

fn directory() -> String {
    let id = std::env::var("DS_KEEPER_REAL_AWS_DIRECTORY_ID")
        .expect("set DS_KEEPER_REAL_AWS_DIRECTORY_ID to a directory id to run the real-AWS checks");
    assert!(
        ds_snapshot_keeper::naming::is_directory_id(&id),
        "DS_KEEPER_REAL_AWS_DIRECTORY_ID={id:?} is not a directory id"
    );
    id
}

#[tokio::test]
#[ignore = "real AWS: set DS_KEEPER_REAL_AWS_DIRECTORY_ID and run with --ignored"]
async fn real_aws_report_and_dry_run_change_nothing() {
    let id = directory();
    let config = ds_snapshot_keeper::wiring::load_aws_config().await;
    let ds = AwsDirectoryService::new(ds_snapshot_keeper::wiring::directory_client(&config));
    let before = ds
        .describe_snapshots(&id)
        .await
        .expect("DescribeSnapshots on the real service");
    let limits = ds
        .snapshot_limits(&id)
        .await
        .expect("GetSnapshotLimits on the real service");
    assert!(limits.manual_limit >= 1);

    let settings = Settings {
        directory_ids: vec![id.clone()],
        ..Settings::default()
    };
    let region = config.region().expect("AWS_REGION").to_string();
    let keeper = Keeper::new(
        AwsDirectoryService::new(ds_snapshot_keeper::wiring::directory_client(&config)),
        settings,
        region,
    );
    let sink = |line: &str| eprintln!("{line}");
    for event in [
        json!({"action": "report"}),
        json!({"action": "run", "dry_run": true}),
    ] {
        let report = match handle(
            &keeper,
            None::<&NoNotifier>,
            &event,
            "real-aws",
            None,
            &sink,
        )
        .await
        {
            Ok(r) => r,
            Err(InvocationError::RunFailed(r)) => *r,
            Err(e) => panic!("{e}"),
        };
        assert!(report.dry_run);
        assert_eq!(report.directories[0].directory_id, id);
        assert!(report.directories[0].deleted.iter().all(|d| !d.done));
    }
    let after = ds.describe_snapshots(&id).await.unwrap();
    assert_eq!(
        before.len(),
        after.len(),
        "read-only checks changed nothing"
    );
}
