//! The Directory Service port's contract, run against both adapters: the in-memory one the
//! simulations and property tests use, and the AWS one over the emulator (whose behaviour is
//! checked against botocore's model in `tests/emulator/test_conformance.py`).
//!
//! Every case is written once, over [`Backend`], and runs against both. When the memory
//! adapter drifts from the emulator, a case fails on one side only, and the simulations'
//! verdicts ("nothing is lost over three years") stop resting on a service that does not
//! exist.

use crate::support;

use std::future::Future;

use ds_snapshot_keeper::directory::aws::AwsDirectoryService;
use ds_snapshot_keeper::directory::memory::MemoryDirectoryService;
use ds_snapshot_keeper::directory::{DeleteOutcome, DirectoryService};
use ds_snapshot_keeper::error::ErrorKind;
use ds_snapshot_keeper::model::{Directory, DirectoryType, Snapshot, SnapshotStatus, SnapshotType};
use serde_json::json;
use support::Emulator;

const UNKNOWN_DIRECTORY: &str = "d-0000000000";
const UNKNOWN_SNAPSHOT: &str = "s-0000000000";

/// A snapshot to plant, already settled: name, type, status and age in days.
struct Seed {
    name: &'static str,
    kind: SnapshotType,
    status: SnapshotStatus,
    age_days: f64,
}

fn completed(name: &'static str, kind: SnapshotType, age_days: f64) -> Seed {
    Seed {
        name,
        kind,
        status: SnapshotStatus::Completed,
        age_days,
    }
}

/// What a case needs from a backend besides the port: making directories and snapshots, and
/// arming the faults both backends implement.
trait Backend {
    type Ds: DirectoryService;
    fn ds(&self) -> &Self::Ds;
    /// A new Active Managed Microsoft AD directory.
    fn directory(&self) -> impl Future<Output = String>;
    fn tag(&self, directory_id: &str, key: &str, value: &str) -> impl Future<Output = ()>;
    /// A snapshot `age_days` old, already in `status`.
    fn seed(&self, directory_id: &str, seed: Seed) -> String;
    /// How the directory's next new snapshot ends at its first describe (`Creating`: never).
    fn queue(&self, directory_id: &str, status: SnapshotStatus);
    /// The next CreateSnapshot is carried out, but its answer is lost.
    fn lose_next_create_answer(&self);
    /// The next DeleteSnapshot is carried out, but its (first) answer is lost.
    fn lose_next_delete_answer(&self);
    fn set_stage(&self, directory_id: &str, stage: &str);
}

struct Memory {
    ds: MemoryDirectoryService,
    next: std::cell::Cell<u32>,
}

impl Backend for Memory {
    type Ds = MemoryDirectoryService;
    fn ds(&self) -> &MemoryDirectoryService {
        &self.ds
    }
    async fn directory(&self) -> String {
        self.next.set(self.next.get() + 1);
        let id = format!("d-{:010x}", 0x9000 + self.next.get());
        self.ds.add_directory(Directory {
            id: id.clone(),
            name: "corp.example.com".to_owned(),
            kind: DirectoryType::MicrosoftAd,
            stage: ds_snapshot_keeper::model::Stage::Active,
            primary_region: None,
            launch_time: None,
            stage_reason: None,
            stage_since: None,
        });
        id
    }
    async fn tag(&self, directory_id: &str, key: &str, value: &str) {
        self.ds.tag_directory(directory_id, key, value);
    }
    fn seed(&self, directory_id: &str, seed: Seed) -> String {
        self.next.set(self.next.get() + 1);
        let id = format!("s-{:010x}", 0x5000 + self.next.get());
        let age = jiff::SignedDuration::from_secs_f64(seed.age_days * 86_400.0);
        self.ds.add_snapshot(Snapshot {
            id: id.clone(),
            directory_id: directory_id.to_owned(),
            name: Some(seed.name.to_owned()),
            kind: seed.kind,
            status: seed.status,
            start_time: jiff::Timestamp::now() - age,
        });
        id
    }
    fn queue(&self, directory_id: &str, status: SnapshotStatus) {
        self.ds.queue_outcome(directory_id, status);
    }
    fn lose_next_create_answer(&self) {
        self.ds.lose_next_create_answer();
    }
    fn lose_next_delete_answer(&self) {
        self.ds.lose_next_delete_answer();
    }
    fn set_stage(&self, directory_id: &str, stage: &str) {
        self.ds.set_stage(directory_id, stage);
    }
}

struct Emulated {
    emu: Emulator,
    config: aws_config::SdkConfig,
    ds: AwsDirectoryService,
}

fn wire(status: SnapshotStatus) -> &'static str {
    match status {
        SnapshotStatus::Creating => "Creating",
        SnapshotStatus::Completed => "Completed",
        SnapshotStatus::Failed => "Failed",
    }
}

impl Backend for Emulated {
    type Ds = AwsDirectoryService;
    fn ds(&self) -> &AwsDirectoryService {
        &self.ds
    }
    async fn directory(&self) -> String {
        self.emu.managed_ad(&self.config, "corp.example.com").await
    }
    async fn tag(&self, directory_id: &str, key: &str, value: &str) {
        let tag = aws_sdk_directory::types::Tag::builder()
            .key(key)
            .value(value)
            .build()
            .unwrap();
        self.emu
            .ds(&self.config)
            .add_tags_to_resource()
            .resource_id(directory_id)
            .tags(tag)
            .send()
            .await
            .unwrap();
    }
    fn seed(&self, directory_id: &str, seed: Seed) -> String {
        let kind = match seed.kind {
            SnapshotType::Auto => "Auto",
            SnapshotType::Manual => "Manual",
        };
        self.emu.seed(
            directory_id,
            Some(seed.name),
            kind,
            wire(seed.status),
            seed.age_days,
        )
    }
    fn queue(&self, directory_id: &str, status: SnapshotStatus) {
        self.emu
            .outcomes(directory_id, json!([{ "status": wire(status) }]));
    }
    fn lose_next_create_answer(&self) {
        self.emu
            .fault(json!({"operation": "CreateSnapshot", "kind": "lost_answer", "count": 1}));
    }
    fn lose_next_delete_answer(&self) {
        self.emu
            .fault(json!({"operation": "DeleteSnapshot", "kind": "lost_answer", "count": 1}));
    }
    fn set_stage(&self, directory_id: &str, stage: &str) {
        self.emu
            .set_directory(directory_id, json!({ "stage": stage }));
    }
}

fn kind_of<T: std::fmt::Debug>(
    r: Result<T, ds_snapshot_keeper::error::ApiError>,
) -> (ErrorKind, String) {
    let e = r.expect_err("the call must fail");
    (e.kind, e.code)
}

/// Five manual snapshots fill the quota; the sixth is refused with the quota's code; Auto
/// snapshots do not count; the limits agree with the listing.
async fn quota<B: Backend>(b: &B) {
    let dir = b.directory().await;
    b.seed(&dir, completed("auto", SnapshotType::Auto, 3.0));
    for i in 0..5 {
        b.ds()
            .create_snapshot(&dir, &format!("k{i}"))
            .await
            .unwrap();
    }
    let limits = b.ds().snapshot_limits(&dir).await.unwrap();
    assert_eq!((limits.manual_count, limits.manual_limit), (5, 5));
    assert_eq!(
        kind_of(b.ds().create_snapshot(&dir, "k5").await),
        (
            ErrorKind::LimitExceeded,
            "SnapshotLimitExceededException".into()
        )
    );
    let listed = b.ds().describe_snapshots(&dir).await.unwrap();
    assert_eq!(listed.len(), 6, "five manual and one auto: {listed:?}");
    assert_eq!(
        listed
            .iter()
            .filter(|s| s.kind == SnapshotType::Manual)
            .count(),
        5
    );
}

/// A new snapshot is Manual, named as asked, stamped now, Creating until its first describe,
/// which settles it into its outcome (Completed by default, Failed when queued).
async fn new_snapshots_settle_at_the_first_describe<B: Backend>(b: &B) {
    let dir = b.directory().await;
    b.queue(&dir, SnapshotStatus::Completed);
    let ok = b.ds().create_snapshot(&dir, "keeper-ok").await.unwrap();
    let listed = b
        .ds()
        .snapshots_by_id(std::slice::from_ref(&ok))
        .await
        .unwrap();
    let s = &listed[0];
    assert_eq!(
        (s.kind, s.status),
        (SnapshotType::Manual, SnapshotStatus::Completed)
    );
    assert_eq!(s.name.as_deref(), Some("keeper-ok"));
    assert_eq!(s.directory_id, dir);
    let age = jiff::Timestamp::now().duration_since(s.start_time);
    assert!(age.as_secs().abs() < 60, "stamped now: {age:?}");

    b.queue(&dir, SnapshotStatus::Failed);
    let failed = b.ds().create_snapshot(&dir, "keeper-bad").await.unwrap();
    let listed = b.ds().describe_snapshots(&dir).await.unwrap();
    let s = listed.iter().find(|s| s.id == failed).unwrap();
    assert_eq!(s.status, SnapshotStatus::Failed);
}

/// A snapshot that is still Creating cannot be deleted: the service refuses, and it stays.
async fn a_creating_snapshot_cannot_be_deleted<B: Backend>(b: &B) {
    let dir = b.directory().await;
    b.queue(&dir, SnapshotStatus::Creating);
    let stuck = b.ds().create_snapshot(&dir, "stuck").await.unwrap();
    let listed = b.ds().describe_snapshots(&dir).await.unwrap();
    assert_eq!(listed[0].status, SnapshotStatus::Creating);
    assert_eq!(
        kind_of(b.ds().delete_snapshot(&stuck).await).0,
        ErrorKind::Client
    );
    assert_eq!(b.ds().describe_snapshots(&dir).await.unwrap().len(), 1);
}

/// Deleting frees the slot: the listing and the count drop by one.
async fn delete_frees_a_slot<B: Backend>(b: &B) {
    let dir = b.directory().await;
    let old = b.seed(&dir, completed("old", SnapshotType::Manual, 9.0));
    let young = b.seed(&dir, completed("young", SnapshotType::Manual, 1.0));
    b.ds().delete_snapshot(&old).await.unwrap();
    let ids: Vec<String> = b
        .ds()
        .describe_snapshots(&dir)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![young]);
    assert_eq!(b.ds().snapshot_limits(&dir).await.unwrap().manual_count, 1);
    assert_eq!(
        kind_of(b.ds().delete_snapshot(&old).await),
        (ErrorKind::NotFound, "EntityDoesNotExistException".into())
    );
}

/// Unknown ids are `EntityDoesNotExistException` on every operation that takes one.
async fn unknown_ids_are_not_found<B: Backend>(b: &B) {
    let nf = (
        ErrorKind::NotFound,
        "EntityDoesNotExistException".to_owned(),
    );
    let ds = b.ds();
    assert_eq!(kind_of(ds.describe_snapshots(UNKNOWN_DIRECTORY).await), nf);
    assert_eq!(kind_of(ds.snapshot_limits(UNKNOWN_DIRECTORY).await), nf);
    assert_eq!(
        kind_of(ds.create_snapshot(UNKNOWN_DIRECTORY, "x").await),
        nf
    );
    assert_eq!(kind_of(ds.delete_snapshot(UNKNOWN_SNAPSHOT).await), nf);
    assert_eq!(
        kind_of(ds.snapshots_by_id(&[UNKNOWN_SNAPSHOT.to_owned()]).await),
        nf
    );
    assert_eq!(
        kind_of(
            ds.describe_directories(Some(&[UNKNOWN_DIRECTORY.to_owned()]))
                .await
        ),
        nf
    );
}

/// Snapshots are found by id across directories in one call; directories by id or all.
async fn lookups_across_directories<B: Backend>(b: &B) {
    let one = b.directory().await;
    let two = b.directory().await;
    let a = b.ds().create_snapshot(&one, "a").await.unwrap();
    let c = b.ds().create_snapshot(&two, "c").await.unwrap();
    let mut found: Vec<(String, String)> = b
        .ds()
        .snapshots_by_id(&[a.clone(), c.clone()])
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.directory_id))
        .collect();
    found.sort();
    let mut want = vec![(a, one.clone()), (c, two.clone())];
    want.sort();
    assert_eq!(found, want);

    let named = b
        .ds()
        .describe_directories(Some(std::slice::from_ref(&two)))
        .await
        .unwrap();
    assert_eq!(named.len(), 1);
    assert_eq!(
        (
            named[0].id.as_str(),
            named[0].stage.as_api(),
            named[0].kind.clone()
        ),
        (two.as_str(), "Active", DirectoryType::MicrosoftAd)
    );
    let all: Vec<String> = b
        .ds()
        .describe_directories(None)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert!(all.contains(&one) && all.contains(&two), "{all:?}");
}

/// A directory's tags read back as written; a directory without tags has none.
async fn tags_read_back<B: Backend>(b: &B) {
    let tagged = b.directory().await;
    let bare = b.directory().await;
    b.tag(&tagged, "ds-snapshot-keeper", "enabled").await;
    assert_eq!(
        b.ds().directory_tags(&tagged).await.unwrap(),
        vec![("ds-snapshot-keeper".to_owned(), "enabled".to_owned())]
    );
    assert_eq!(b.ds().directory_tags(&bare).await.unwrap(), vec![]);
}

/// A lost answer: the call fails as a transport error, yet the snapshot exists, by name.
async fn a_lost_answer_still_takes_the_snapshot<B: Backend>(b: &B) {
    let dir = b.directory().await;
    b.lose_next_create_answer();
    let (kind, _) = kind_of(b.ds().create_snapshot(&dir, "keeper-lost").await);
    assert_eq!(kind, ErrorKind::Transport);
    let listed = b.ds().describe_snapshots(&dir).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name.as_deref(), Some("keeper-lost"));
}

/// A delete whose answer was lost: the retry finds the snapshot gone, and the call says the
/// snapshot was deleted (after a lost answer), not that it was missing.
async fn a_lost_delete_answer_is_still_a_deletion<B: Backend>(b: &B) {
    let dir = b.directory().await;
    let old = b.seed(&dir, completed("old", SnapshotType::Manual, 9.0));
    b.lose_next_delete_answer();
    let outcome = b.ds().delete_snapshot(&old).await.unwrap();
    assert!(
        matches!(outcome, DeleteOutcome::GoneAfterLostAnswer { .. }),
        "{outcome:?}"
    );
    assert!(b.ds().describe_snapshots(&dir).await.unwrap().is_empty());
    // Gone before the first attempt: that is NotFound, someone else's deletion.
    assert_eq!(
        kind_of(b.ds().delete_snapshot(&old).await),
        (ErrorKind::NotFound, "EntityDoesNotExistException".into())
    );
}

/// Only an Active directory takes a snapshot; the service refuses the others.
async fn only_active_directories_take_snapshots<B: Backend>(b: &B) {
    let dir = b.directory().await;
    b.set_stage(&dir, "Impaired");
    assert_eq!(
        kind_of(b.ds().create_snapshot(&dir, "x").await),
        (ErrorKind::Client, "ClientException".into())
    );
    assert!(b.ds().describe_snapshots(&dir).await.unwrap().is_empty());
}

/// A name outside the model's pattern (`^([a-zA-Z0-9_])[\\a-zA-Z0-9_@#%*+=:?./!\s-]*$`, at
/// most 128 characters) is refused, and nothing is created.
async fn invalid_names_are_refused<B: Backend>(b: &B) {
    let dir = b.directory().await;
    for name in ["-leading-dash", "semi;colon", &"n".repeat(129)] {
        assert_eq!(
            kind_of(b.ds().create_snapshot(&dir, name).await),
            (ErrorKind::Client, "InvalidParameterException".into()),
            "{name:?}"
        );
    }
    assert!(b.ds().describe_snapshots(&dir).await.unwrap().is_empty());
}

/// Every case, in order, named when it fails.
async fn contract<B: Backend>(b: &B) {
    macro_rules! run {
        ($($case:ident),* $(,)?) => {$(
            eprintln!("contract case: {}", stringify!($case));
            $case(b).await;
        )*};
    }
    run!(
        quota,
        new_snapshots_settle_at_the_first_describe,
        a_creating_snapshot_cannot_be_deleted,
        delete_frees_a_slot,
        unknown_ids_are_not_found,
        lookups_across_directories,
        tags_read_back,
        a_lost_answer_still_takes_the_snapshot,
        a_lost_delete_answer_is_still_a_deletion,
        only_active_directories_take_snapshots,
        invalid_names_are_refused,
    );
}

#[tokio::test]
async fn the_memory_adapter_keeps_the_contract() {
    let memory = Memory {
        ds: MemoryDirectoryService::new(),
        next: Default::default(),
    };
    contract(&memory).await;
}

#[tokio::test]
async fn the_aws_adapter_over_the_emulator_keeps_the_contract() {
    let emu = Emulator::start();
    let config = emu.sdk_config().await;
    let ds = AwsDirectoryService::new(emu.ds(&config)).with_backoff(support::TEST_BACKOFF);
    contract(&Emulated { emu, config, ds }).await;
}
