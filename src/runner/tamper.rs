//! The tamper alert's judgement: a Directory Service call someone other than the keeper made
//! (DeleteSnapshot, RestoreFromSnapshot, DeleteDirectory), with what can be known about it now
//! and the restore reach each managed directory has left. A restore whose snapshot the
//! directory's restore mark names was started by `ds-snapshot-keeper restore`: it is reported
//! as that, not as tampering.

use jiff::Timestamp;
use serde::Serialize;

use crate::directory::DirectoryService;
use crate::policy::restore_mark;
use crate::request::TamperEvent;
use crate::settings::Settings;

/// What the call was, as the keeper judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Someone else deleted a snapshot, restored or deleted a directory.
    Tampering,
    /// AWS refused it (the lock held): an attempt.
    RefusedAttempt,
    /// A restore `ds-snapshot-keeper restore` started (the directory's mark names it).
    PlannedRestore,
}

/// One managed directory's restore reach now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reach {
    pub directory_id: String,
    pub restorable: usize,
    /// The oldest restorable point's age in days, when there is one.
    pub oldest_days: Option<i64>,
}

/// The tamper report: rendered as the alert.
#[derive(Debug, Clone, Serialize)]
pub struct TamperReport {
    pub event: TamperEvent,
    pub verdict: Verdict,
    /// The directory the call was about, when it can be known.
    pub directory_id: Option<String>,
    /// Whose the snapshot was, when it can be known (a deleted snapshot's name is gone).
    pub snapshot_holder: Option<String>,
    /// Who started the restore, from its mark (a planned restore).
    pub restore_by: Option<String>,
    pub reach: Vec<Reach>,
    /// A read that failed while judging (the alert goes out all the same).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Judge `event` with what AWS shows now.
pub async fn examine<D: DirectoryService>(
    ds: &D,
    settings: &Settings,
    event: TamperEvent,
    now: Timestamp,
) -> TamperReport {
    let policy = crate::policy::Policy::from(settings);
    let mut report = TamperReport {
        verdict: if event.error_code.is_some() {
            Verdict::RefusedAttempt
        } else {
            Verdict::Tampering
        },
        directory_id: event.directory_id.clone(),
        snapshot_holder: None,
        restore_by: None,
        reach: Vec::new(),
        problems: Vec::new(),
        event,
    };
    // The snapshot, while it still exists (a restore's, a refused deletion's).
    if let Some(id) = report.event.snapshot_id.clone() {
        match ds.snapshots_by_id(std::slice::from_ref(&id)).await {
            Ok(found) => {
                if let Some(s) = found.first() {
                    report.directory_id = Some(s.directory_id.clone());
                    report.snapshot_holder = Some(if s.kind == crate::model::SnapshotType::Auto {
                        "AWS (Auto)".to_owned()
                    } else if crate::policy::safety::is_safety(s) {
                        crate::policy::safety::describe(s)
                    } else if crate::policy::is_owned(s, &policy) {
                        "the keeper".to_owned()
                    } else {
                        "someone else".to_owned()
                    });
                }
            }
            Err(e) if e.kind == crate::error::ErrorKind::NotFound => {}
            Err(e) => report
                .problems
                .push(format!("{} {}: {}", e.operation, e.code, e.message)),
        }
    }
    if report.event.call == "RestoreFromSnapshot" && report.event.error_code.is_none() {
        if let (Some(dir), Some(target)) = (
            report.directory_id.clone(),
            report.event.snapshot_id.clone(),
        ) {
            match ds.directory_tags(&dir).await {
                Ok(tags) => {
                    if let Some(mark) = restore_mark::read(&tags, now).holding() {
                        if mark.target == target {
                            report.verdict = Verdict::PlannedRestore;
                            report.restore_by = Some(mark.by.clone());
                        }
                    }
                }
                Err(e) => report
                    .problems
                    .push(format!("{} {}: {}", e.operation, e.code, e.message)),
            }
        }
    }
    // What restore reach is left, for every managed directory (a deleted snapshot's directory
    // cannot be told from the event).
    match super::scope::in_scope(ds, settings, &[]).await {
        Ok(directories) => {
            for d in directories {
                match ds.describe_snapshots(&d.id).await {
                    Ok(all) => {
                        let restorable: Vec<_> =
                            all.iter().filter(|s| s.is_restorable(now)).collect();
                        report.reach.push(Reach {
                            directory_id: d.id.clone(),
                            restorable: restorable.len(),
                            oldest_days: restorable.iter().map(|s| s.age_days(now)).max(),
                        });
                    }
                    Err(e) => report
                        .problems
                        .push(format!("{} {}: {}", e.operation, e.code, e.message)),
                }
            }
        }
        Err(e) => report
            .problems
            .push(format!("{} {}: {}", e.operation, e.code, e.message)),
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::memory::MemoryDirectoryService;
    use crate::model::{Snapshot, SnapshotStatus, SnapshotType};
    use crate::policy::restore_mark::{Mark, MARK_KEY};

    fn event(file: &str) -> TamperEvent {
        let text = std::fs::read_to_string(format!("{}/events/{file}", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
        crate::request::parse_tamper(&serde_json::from_str(&text).unwrap())
            .unwrap()
            .unwrap()
    }

    fn now() -> Timestamp {
        "2026-12-06T16:10:00Z".parse().unwrap()
    }

    #[tokio::test]
    async fn a_deletion_by_someone_else_is_tampering_with_the_reach_left() {
        let ds = MemoryDirectoryService::with_directory("d-0123456789");
        ds.add_snapshot(Snapshot {
            id: "s-0000000001".into(),
            directory_id: "d-0123456789".into(),
            name: Some("keeper-20261201T000000Z".into()),
            kind: SnapshotType::Manual,
            status: SnapshotStatus::Completed,
            start_time: "2026-12-01T00:00:00Z".parse().unwrap(),
        });
        let e = event("tamper-other-deletes-snapshot.json");
        assert_eq!(e.principal, "arn:aws:iam::123456789012:user/ci-deployer");
        let r = examine(&ds, &Settings::default(), e, now()).await;
        assert_eq!(r.verdict, Verdict::Tampering);
        assert_eq!(
            r.reach,
            vec![Reach {
                directory_id: "d-0123456789".into(),
                restorable: 1,
                oldest_days: Some(5)
            }]
        );
        let n = crate::render::tamper::notification(&r, "eu-west-1");
        assert!(
            n.subject
                .starts_with("[FAILURE] DS tamper: DeleteSnapshot s-7f8e9d0c1b"),
            "{}",
            n.subject
        );
        assert!(
            n.body.contains("203.0.113.45") && n.body.contains("ci-deployer"),
            "{}",
            n.body
        );
        assert!(
            n.body
                .contains("d-0123456789: 1 restorable point, the oldest 5 days old"),
            "{}",
            n.body
        );
    }

    #[tokio::test]
    async fn a_restore_the_cli_marked_is_planned_and_a_console_restore_is_not() {
        let ds = MemoryDirectoryService::with_directory("d-0123456789");
        for id in ["s-0123456789", "s-5e6f7a8b9c"] {
            ds.add_snapshot(Snapshot {
                id: id.into(),
                directory_id: "d-0123456789".into(),
                name: Some("keeper-20261201T000000Z".into()),
                kind: SnapshotType::Manual,
                status: SnapshotStatus::Completed,
                start_time: "2026-12-01T00:00:00Z".parse().unwrap(),
            });
        }
        let mark = Mark::new(
            "s-0123456789",
            "cli jane@laptop",
            "2026-12-06T16:00:00Z".parse().unwrap(),
        );
        ds.tag_directory("d-0123456789", MARK_KEY, &mark.to_tag_value());
        let planned = examine(
            &ds,
            &Settings::default(),
            event("tamper-cli-restore.json"),
            now(),
        )
        .await;
        assert_eq!(planned.verdict, Verdict::PlannedRestore);
        assert_eq!(planned.restore_by.as_deref(), Some("cli jane@laptop"));
        let n = crate::render::tamper::notification(&planned, "eu-west-1");
        assert!(n.subject.starts_with("[OK]"), "{}", n.subject);
        let console = examine(
            &ds,
            &Settings::default(),
            event("tamper-console-restore.json"),
            now(),
        )
        .await;
        assert_eq!(console.verdict, Verdict::Tampering);
        assert_eq!(console.directory_id.as_deref(), Some("d-0123456789"));
        let refused = examine(
            &ds,
            &Settings::default(),
            event("tamper-delete-refused-by-lock.json"),
            now(),
        )
        .await;
        assert_eq!(refused.verdict, Verdict::RefusedAttempt);
    }
}
