//! The restore decisions on plain values: every refusal, the `--before` choice, and the
//! safety snapshot's make-room, exhaustively over random inventories.

use proptest::prelude::*;

use super::*;
use crate::model::SnapshotType;
use crate::policy::restore_mark::MarkState;

const DAY: i64 = 86_400;
const DIR: &str = "d-0123456789";

fn now() -> Timestamp {
    "2026-12-03T06:00:00Z".parse().unwrap()
}

fn at_age(days: f64) -> Timestamp {
    Timestamp::from_second(now().as_second() - (days * DAY as f64) as i64).unwrap()
}

fn snap(id: &str, kind: SnapshotType, status: SnapshotStatus, age: f64, owned: bool) -> Snapshot {
    let start = at_age(age);
    Snapshot {
        id: id.to_owned(),
        directory_id: DIR.to_owned(),
        name: Some(if owned {
            format!("keeper-{}", start.strftime("%Y%m%dT%H%M%SZ"))
        } else {
            "before-schema-change".to_owned()
        }),
        kind,
        status,
        start_time: start,
    }
}

fn directory(stage: &str) -> Directory {
    Directory {
        id: DIR.to_owned(),
        name: "corp.example.com".to_owned(),
        kind: DirectoryType::MicrosoftAd,
        stage: Stage::from_api(stage),
        primary_region: None,
        launch_time: None,
        stage_reason: None,
        stage_since: None,
    }
}

fn limits() -> SnapshotLimits {
    SnapshotLimits {
        manual_limit: 5,
        manual_count: 0,
    }
}

#[test]
fn only_active_or_restore_failed_directories_may_be_restored() {
    // AWS: "Do not restore a snapshot while a directory is in an Impaired state"; after
    // RestoreFailed, "retry the restore operation".
    assert_eq!(preflight(&directory("Active"), "eu-west-1"), Ok(()));
    assert_eq!(preflight(&directory("RestoreFailed"), "eu-west-1"), Ok(()));
    for stage in [
        "Impaired",
        "Restoring",
        "Updating",
        "Creating",
        "Inoperable",
        "Teleporting",
    ] {
        let mut d = directory(stage);
        d.stage_reason = Some("because".to_owned());
        let err = preflight(&d, "eu-west-1").unwrap_err();
        assert_eq!(err.code(), "stage", "{stage}");
        let text = err.to_string();
        assert!(text.contains(stage) && text.contains("(because)"), "{text}");
    }
    let impaired = preflight(&directory("Impaired"), "eu-west-1").unwrap_err();
    assert!(impaired
        .to_string()
        .contains("do not restore a snapshot while a directory is Impaired"));
    let unknown = preflight(&directory("Teleporting"), "eu-west-1").unwrap_err();
    assert!(unknown.to_string().contains("never treats it as Active"));
}

#[test]
fn connectors_shared_directories_and_replicas_are_refused() {
    let mut d = directory("Active");
    d.kind = DirectoryType::AdConnector;
    assert_eq!(
        preflight(&d, "eu-west-1").unwrap_err().code(),
        "no-snapshots"
    );
    d.kind = DirectoryType::SharedMicrosoftAd;
    assert_eq!(preflight(&d, "eu-west-1").unwrap_err().code(), "shared");
    let mut replica = directory("Active");
    replica.primary_region = Some("us-east-1".to_owned());
    let err = preflight(&replica, "eu-west-1").unwrap_err();
    assert_eq!(err.code(), "not-primary");
    assert!(err.to_string().contains("AWS_REGION=us-east-1"));
    assert_eq!(preflight(&replica, "us-east-1"), Ok(()));
}

#[test]
fn a_target_must_be_this_directorys_completed_snapshot_under_180_days() {
    let mut other = snap(
        "s-other",
        SnapshotType::Manual,
        SnapshotStatus::Completed,
        1.0,
        true,
    );
    other.directory_id = "d-9999999999".to_owned();
    let all = vec![
        snap(
            "s-ok",
            SnapshotType::Auto,
            SnapshotStatus::Completed,
            3.0,
            false,
        ),
        snap(
            "s-old",
            SnapshotType::Manual,
            SnapshotStatus::Completed,
            180.0,
            true,
        ),
        snap(
            "s-creating",
            SnapshotType::Manual,
            SnapshotStatus::Creating,
            0.1,
            true,
        ),
        snap(
            "s-failed",
            SnapshotType::Manual,
            SnapshotStatus::Failed,
            2.0,
            true,
        ),
        other,
    ];
    let pick = |id: &str| choose(&all, DIR, &Target::Snapshot(id.to_owned()), now());
    assert_eq!(pick("s-ok").unwrap().id, "s-ok");
    assert_eq!(pick("s-old").unwrap_err().code(), "too-old");
    assert_eq!(pick("s-creating").unwrap_err().code(), "not-completed");
    assert_eq!(pick("s-failed").unwrap_err().code(), "not-completed");
    assert_eq!(pick("s-other").unwrap_err().code(), "no-such-snapshot");
    assert_eq!(pick("s-missing").unwrap_err().code(), "no-such-snapshot");
    // 179.9 days is still restorable.
    let edge = vec![snap(
        "s-edge",
        SnapshotType::Manual,
        SnapshotStatus::Completed,
        179.9,
        true,
    )];
    assert!(choose(&edge, DIR, &Target::Snapshot("s-edge".to_owned()), now()).is_ok());
}

#[test]
fn before_picks_the_newest_restorable_point_taken_before_the_change() {
    let all = vec![
        snap(
            "s-5",
            SnapshotType::Manual,
            SnapshotStatus::Completed,
            5.0,
            true,
        ),
        snap(
            "s-2",
            SnapshotType::Auto,
            SnapshotStatus::Completed,
            2.0,
            false,
        ),
        snap(
            "s-1f",
            SnapshotType::Manual,
            SnapshotStatus::Failed,
            1.5,
            true,
        ),
        snap(
            "s-0",
            SnapshotType::Manual,
            SnapshotStatus::Completed,
            0.5,
            true,
        ),
    ];
    // "The state before yesterday's bad change": the change was 1 day ago.
    let before = Target::Before(at_age(1.0));
    assert_eq!(choose(&all, DIR, &before, now()).unwrap().id, "s-2");
    let err = choose(&all, DIR, &Target::Before(at_age(10.0)), now()).unwrap_err();
    assert_eq!(err.code(), "nothing-before");
}

#[test]
fn the_safety_snapshot_makes_room_from_the_keepers_own_and_never_the_target() {
    // 5 of 5: the target is the oldest owned one, the worth order would give it up first.
    let all = vec![
        snap(
            "s-target",
            SnapshotType::Manual,
            SnapshotStatus::Completed,
            4.0,
            true,
        ),
        snap(
            "s-3",
            SnapshotType::Manual,
            SnapshotStatus::Completed,
            3.0,
            true,
        ),
        snap(
            "s-2",
            SnapshotType::Manual,
            SnapshotStatus::Completed,
            2.0,
            true,
        ),
        snap(
            "s-theirs",
            SnapshotType::Manual,
            SnapshotStatus::Completed,
            1.5,
            false,
        ),
        snap(
            "s-1",
            SnapshotType::Manual,
            SnapshotStatus::Completed,
            1.0,
            true,
        ),
        snap(
            "s-auto",
            SnapshotType::Auto,
            SnapshotStatus::Completed,
            0.5,
            false,
        ),
    ];
    let p = plan(
        &directory("Active"),
        "eu-west-1",
        &all,
        limits(),
        &Policy::default(),
        &MarkState::Absent,
        Ask {
            target: &Target::Snapshot("s-target".to_owned()),
            safety: true,
            run: "0000abcd",
        },
        now(),
    )
    .unwrap();
    let SafetyPlan::Take { name, make_room } = &p.safety else {
        panic!("{:?}", p.safety)
    };
    let gone: Vec<&str> = make_room.iter().map(|d| d.snapshot_id.as_str()).collect();
    assert_eq!(gone, vec!["s-3"]);
    assert!(name.starts_with(SAFETY_PREFIX));
    assert!(name.ends_with("-s-target") || name.contains("s-target"));
    assert_eq!(p.lost_days, 4.0);
    assert_eq!(p.outage, MANAGED_AD_OUTAGE);
}

#[test]
fn a_quota_full_of_snapshots_the_keeper_may_not_delete_leaves_no_room_for_safety() {
    let mut all: Vec<Snapshot> = (0..4)
        .map(|i| {
            snap(
                &format!("s-u{i}"),
                SnapshotType::Manual,
                SnapshotStatus::Completed,
                1.0 + i as f64,
                false,
            )
        })
        .collect();
    all.push(snap(
        "s-target",
        SnapshotType::Manual,
        SnapshotStatus::Completed,
        9.0,
        true,
    ));
    let go = |safety: bool| {
        plan(
            &directory("Active"),
            "eu-west-1",
            &all,
            limits(),
            &Policy::default(),
            &MarkState::Absent,
            Ask {
                target: &Target::Snapshot("s-target".to_owned()),
                safety,
                run: "0000abcd",
            },
            now(),
        )
    };
    let err = go(true).unwrap_err();
    assert_eq!(err.code(), "no-room-for-safety");
    assert!(err.to_string().contains("--no-safety-snapshot"));
    assert_eq!(go(false).unwrap().safety, SafetyPlan::Declined);
}

#[test]
fn restore_points_list_every_snapshot_newest_first_with_who_holds_it_and_until_when() {
    let mut other = snap(
        "s-other",
        SnapshotType::Manual,
        SnapshotStatus::Completed,
        0.2,
        true,
    );
    other.directory_id = "d-9999999999".to_owned();
    let all = vec![
        snap(
            "s-old",
            SnapshotType::Manual,
            SnapshotStatus::Completed,
            181.0,
            true,
        ),
        snap(
            "s-auto",
            SnapshotType::Auto,
            SnapshotStatus::Completed,
            4.0,
            false,
        ),
        snap(
            "s-theirs",
            SnapshotType::Manual,
            SnapshotStatus::Completed,
            2.0,
            false,
        ),
        snap(
            "s-mine",
            SnapshotType::Manual,
            SnapshotStatus::Completed,
            1.0,
            true,
        ),
        snap(
            "s-failed",
            SnapshotType::Manual,
            SnapshotStatus::Failed,
            0.5,
            true,
        ),
        other,
    ];
    let points = restore_points(&all, DIR, &Policy::default(), now(), Some(at_age(1.5)));
    let ids: Vec<&str> = points.iter().map(|p| p.snapshot_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["s-failed", "s-mine", "s-theirs", "s-auto", "s-old"]
    );
    let by = |id: &str| points.iter().find(|p| p.snapshot_id == id).unwrap();
    assert_eq!(by("s-auto").holder, Holder::Aws);
    assert_eq!(by("s-theirs").holder, Holder::SomeoneElse);
    assert_eq!(
        by("s-mine").holder,
        Holder::Keeper {
            worth: Some(Worth::Recent { rank: 1 })
        }
    );
    assert_eq!(by("s-old").holder, Holder::Keeper { worth: None });
    assert!(!by("s-old").restorable && by("s-old").days_left == 0);
    assert!(by("s-old")
        .not_restorable_because
        .as_deref()
        .unwrap()
        .contains("under 180 days"));
    assert!(!by("s-failed").restorable);
    // Start + 180 days, whole seconds, and the days left.
    let mine = by("s-mine");
    assert_eq!(mine.days_left, 179);
    assert!(!mine.start_time.contains('.') && mine.start_time.ends_with('Z'));
    assert_eq!(
        mine.restorable_until,
        Timestamp::from_second(at_age(1.0).as_second() + 180 * DAY)
            .unwrap()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    );
    // --before 1.5 days ago marks the newest restorable point before it: someone else's.
    let chosen: Vec<&str> = points
        .iter()
        .filter(|p| p.chosen_before)
        .map(|p| p.snapshot_id.as_str())
        .collect();
    assert_eq!(chosen, vec!["s-theirs"]);
}

fn any_snapshot(i: usize) -> impl Strategy<Value = Snapshot> {
    (
        prop_oneof![Just(SnapshotType::Auto), Just(SnapshotType::Manual)],
        prop_oneof![
            Just(SnapshotStatus::Creating),
            Just(SnapshotStatus::Completed),
            Just(SnapshotStatus::Failed)
        ],
        0u32..400,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(kind, status, half_days, owned, other_dir)| {
            let mut s = snap(
                &format!("s-{i:02}"),
                kind,
                status,
                f64::from(half_days) / 2.0,
                owned,
            );
            if other_dir {
                s.directory_id = "d-9999999999".to_owned();
            }
            s
        })
}

fn inventory() -> impl Strategy<Value = Vec<Snapshot>> {
    (0usize..9).prop_flat_map(|n| (0..n).map(any_snapshot).collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn restore_decisions_lose_nothing(all in inventory(), pick in 0usize..10, before_age in 0u32..400, stage in 0usize..5) {
        let stages = ["Active", "RestoreFailed", "Impaired", "Restoring", "Updating"];
        let d = directory(stages[stage]);
        let target = if pick < all.len() {
            Target::Snapshot(all[pick].id.clone())
        } else {
            Target::Before(at_age(f64::from(before_age) / 2.0))
        };
        let ask = Ask { target: &target, safety: true, run: "0000abcd" };
        match plan(&d, "eu-west-1", &all, limits(), &Policy::default(), &MarkState::Absent, ask, now()) {
            Ok(p) => {
                // Only a restorable target of this directory, in a stage that allows it.
                prop_assert!(matches!(d.stage, Stage::Active | Stage::RestoreFailed));
                prop_assert_eq!(&p.target.directory_id, DIR);
                prop_assert!(p.target.is_restorable(now()));
                let make_room = p.safety.make_room();
                if d.stage != Stage::Active {
                    prop_assert!(make_room.is_empty(), "nothing is deleted for a snapshot AWS cannot take");
                    let impossible = matches!(p.safety, SafetyPlan::Impossible { .. });
                    prop_assert!(impossible);
                }
                let newest = super::super::newest_completed(&all).map(|s| s.id.clone());
                for x in make_room {
                    let s = all.iter().find(|s| s.id == x.snapshot_id).unwrap();
                    prop_assert_ne!(&s.id, &p.target.id, "the target is never deleted");
                    prop_assert_eq!(s.kind, SnapshotType::Manual, "never an Auto");
                    prop_assert!(super::super::is_owned(s, &Policy::default()), "never unowned");
                    prop_assert_ne!(s.status, SnapshotStatus::Creating);
                    prop_assert_ne!(Some(&s.id), newest.as_ref(), "never the newest Completed");
                }
                // The make-room frees exactly what the safety snapshot needs.
                let in_use = super::super::manual_in_use(&all) as usize;
                if d.stage == Stage::Active {
                    prop_assert_eq!(make_room.len(), (in_use + 1).saturating_sub(5));
                }
            }
            Err(Refusal::Stage { .. }) => prop_assert!(!matches!(d.stage, Stage::Active | Stage::RestoreFailed)),
            Err(_) => {
                if let Target::Snapshot(id) = &target {
                    let s = all.iter().find(|s| &s.id == id).unwrap();
                    // A restorable target is refused only for want of room for the safety snapshot.
                    if s.is_restorable(now()) && s.directory_id == DIR {
                        prop_assert!(super::super::manual_in_use(&all) >= 5);
                    }
                }
            }
        }
    }
}
