//! The real `aws-sdk-directory` client against the emulator: every answer deserialises, and
//! the snapshot operations behave as the API documents.

use crate::support;

use aws_sdk_directory::error::ProvideErrorMetadata;
use aws_sdk_directory::types::{SnapshotStatus, SnapshotType};
use ds_snapshot_keeper::directory::aws::AwsDirectoryService;
use ds_snapshot_keeper::directory::DirectoryService;
use ds_snapshot_keeper::error::ErrorKind;
use support::Emulator;

#[tokio::test]
async fn sdk_round_trip_create_describe_paginate_limits_quota_delete() {
    let emu = Emulator::start();
    let config = emu.sdk_config().await;
    let ds = emu.ds(&config);
    let dir = emu.managed_ad(&config, "corp.example.com").await;

    // create
    let mut ids = Vec::new();
    for i in 0..5 {
        let out = ds
            .create_snapshot()
            .directory_id(&dir)
            .name(format!("sdk-{i}"))
            .send()
            .await
            .unwrap();
        let id = out.snapshot_id().unwrap().to_owned();
        assert!(ds_snapshot_keeper::naming::is_snapshot_id(&id), "{id}");
        ids.push(id);
    }

    // describe, one per page
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = ds
            .describe_snapshots()
            .directory_id(&dir)
            .limit(1)
            .set_next_token(token.take())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.snapshots().len() <= 1);
        for s in page.snapshots() {
            assert_eq!(s.directory_id(), Some(dir.as_str()));
            assert_eq!(s.r#type(), Some(&SnapshotType::Manual));
            assert!(matches!(
                s.status(),
                Some(SnapshotStatus::Completed | SnapshotStatus::Creating)
            ));
            let start = s.start_time().expect("StartTime deserialises");
            let age = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64
                - start.secs();
            assert!(
                (0..120).contains(&age),
                "StartTime is a real timestamp, {age}s ago"
            );
            seen.push(s.snapshot_id().unwrap().to_owned());
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    let mut sorted = seen.clone();
    sorted.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(sorted, expected);

    // limits
    let limits = ds
        .get_snapshot_limits()
        .directory_id(&dir)
        .send()
        .await
        .unwrap();
    let l = limits.snapshot_limits().unwrap();
    assert_eq!(
        (
            l.manual_snapshots_limit(),
            l.manual_snapshots_current_count(),
            l.manual_snapshots_limit_reached()
        ),
        (Some(5), Some(5), true)
    );

    // quota exceeded
    let err = ds
        .create_snapshot()
        .directory_id(&dir)
        .name("sixth")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("SnapshotLimitExceededException"));
    assert!(err
        .into_service_error()
        .is_snapshot_limit_exceeded_exception());

    // delete
    let deleted = ds
        .delete_snapshot()
        .snapshot_id(&ids[0])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.snapshot_id(), Some(ids[0].as_str()));
    let err = ds
        .delete_snapshot()
        .snapshot_id(&ids[0])
        .send()
        .await
        .unwrap_err();
    assert!(err
        .into_service_error()
        .is_entity_does_not_exist_exception());
}

#[tokio::test]
async fn adapter_pages_one_at_a_time_and_maps_errors_with_their_codes() {
    let emu = Emulator::start();
    let config = emu.sdk_config().await;
    let dir = emu.managed_ad(&config, "corp.example.com").await;
    let simple = emu.simple_ad(&config, "simple.example.com").await;
    let connector = emu.ad_connector(&config, "onprem.example.com").await;
    for age in [1.0, 2.0, 3.0] {
        emu.seed(&dir, Some(&support::kname(5)), "Manual", "Completed", age);
    }
    emu.seed(&dir, None, "Auto", "Completed", 0.5);

    let adapter = AwsDirectoryService::new(emu.ds(&config))
        .with_backoff(support::TEST_BACKOFF)
        .with_page_size(1);
    let snaps = adapter.describe_snapshots(&dir).await.unwrap();
    assert_eq!(snaps.len(), 4);
    assert_eq!(
        emu.count_calls("DescribeSnapshots"),
        4,
        "one call per page of 1"
    );
    assert_eq!(
        snaps
            .iter()
            .filter(|s| s.kind == ds_snapshot_keeper::model::SnapshotType::Auto)
            .count(),
        1
    );

    let dirs = adapter.describe_directories(None).await.unwrap();
    let kinds: Vec<&str> = dirs.iter().map(|d| d.kind.as_api()).collect();
    assert!(
        kinds.contains(&"MicrosoftAD")
            && kinds.contains(&"SimpleAD")
            && kinds.contains(&"ADConnector"),
        "{kinds:?}"
    );
    assert!(dirs.iter().any(|d| d.id == simple));

    let limits = adapter.snapshot_limits(&dir).await.unwrap();
    assert_eq!((limits.manual_limit, limits.manual_count), (5, 3));

    let err = adapter
        .create_snapshot(&connector, "keeper-x")
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Client, "ClientException")
    );
    let err = adapter.snapshot_limits("d-0000000000").await.unwrap_err();
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::NotFound, "EntityDoesNotExistException")
    );
    let err = adapter.delete_snapshot("s-0000000000").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);

    // A batch describe by ids spans directories in one call.
    let new_id = adapter.create_snapshot(&simple, "keeper-y").await.unwrap();
    let before = emu.count_calls("DescribeSnapshots");
    let batch: Vec<String> = vec![snaps[0].id.clone(), new_id.clone()];
    let found = adapter.snapshots_by_id(&batch).await.unwrap();
    assert_eq!(found.len(), 2);
    // Two ids with one item per page: two pages, followed through NextToken.
    assert_eq!(emu.count_calls("DescribeSnapshots"), before + 2);
    let wide = AwsDirectoryService::new(emu.ds(&config)).with_backoff(support::TEST_BACKOFF);
    let before = emu.count_calls("DescribeSnapshots");
    assert_eq!(wide.snapshots_by_id(&batch).await.unwrap().len(), 2);
    assert_eq!(
        emu.count_calls("DescribeSnapshots"),
        before + 1,
        "one call for a batch spanning directories"
    );
}

#[tokio::test]
async fn injected_faults_reach_the_sdk_as_aws_errors() {
    let emu = Emulator::start();
    let config = emu
        .sdk_config_with(aws_config::retry::RetryConfig::disabled())
        .await;
    let dir = emu.managed_ad(&config, "corp.example.com").await;
    let adapter = AwsDirectoryService::new(emu.ds(&config)).with_backoff(support::TEST_BACKOFF);

    // Directory Service's throttle shape (its model has no throttling error) and the one the
    // SDK knows: both are throttles, whatever the code.
    for shape in ["ClientException", "ThrottlingException"] {
        emu.fault(serde_json::json!(
            {"operation": "GetSnapshotLimits", "kind": "throttle", "shape": shape, "count": 1}
        ));
        let err = adapter.snapshot_limits(&dir).await.unwrap_err();
        assert_eq!((err.kind, err.code.as_str()), (ErrorKind::Throttled, shape));
    }

    emu.fault(serde_json::json!({"operation": "CreateSnapshot", "kind": "service", "count": 1}));
    let err = adapter.create_snapshot(&dir, "keeper-x").await.unwrap_err();
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Service, "ServiceException")
    );

    emu.fault(
        serde_json::json!({"operation": "DescribeSnapshots", "kind": "disconnect", "count": 1}),
    );
    let err = adapter.describe_snapshots(&dir).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transport, "{err:?}");

    // Faults were one-shot: everything works again.
    assert!(adapter.snapshot_limits(&dir).await.is_ok());
    assert!(adapter.describe_snapshots(&dir).await.is_ok());
}
