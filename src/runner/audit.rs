//! `ds-snapshot-keeper audit` and the function's `audit` action: the controls of
//! [`crate::policy::audit`] for every directory in scope, read-only. Directories that have no
//! snapshots of their own here (AD Connector, shared, a replica) are not audited.

use jiff::Timestamp;
use serde::Serialize;

use crate::directory::DirectoryService;
use crate::error::ApiError;
use crate::model::DirectoryType;
use crate::policy::audit::{self, AuditParams, Finding, Status};
use crate::policy::Policy;
use crate::settings::Settings;

/// The audit of one or more Regions: every finding, with what it was measured against.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub generated_at: Timestamp,
    pub params: AuditParams,
    pub findings: Vec<Finding>,
}

impl AuditReport {
    /// Whether every control of every directory is compliant (and there was one to check).
    pub fn all_compliant(&self) -> bool {
        !self.findings.is_empty() && self.findings.iter().all(|f| f.status == Status::Compliant)
    }

    pub fn count(&self, status: Status) -> usize {
        self.findings.iter().filter(|f| f.status == status).count()
    }
}

/// The findings for the directories in scope in `region`.
pub async fn audit_region<D: DirectoryService>(
    ds: &D,
    region: &str,
    settings: &Settings,
    directory_ids: &[String],
    params: AuditParams,
    now: Timestamp,
) -> Result<Vec<Finding>, ApiError> {
    let policy = Policy::from(settings);
    let mut out = Vec::new();
    for d in super::scope::in_scope(ds, settings, directory_ids).await? {
        let own = matches!(d.kind, DirectoryType::MicrosoftAd | DirectoryType::SimpleAd)
            && d.primary_region.as_deref().map_or(true, |p| p == region);
        if !own {
            continue;
        }
        let read = async {
            let all = crate::policy::distinct(ds.describe_snapshots(&d.id).await?);
            let limits = ds.snapshot_limits(&d.id).await?;
            Ok::<_, ApiError>((all, limits))
        };
        match read.await {
            Ok((all, limits)) => out.extend(audit::evaluate(
                region, &d.id, &all, limits, &policy, params, now,
            )),
            Err(e) => out.extend(audit::unknown(
                region,
                &d.id,
                &format!("{} {}: {}", e.operation, e.code, e.message),
            )),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use crate::directory::memory::MemoryDirectoryService;
    use crate::model::{Snapshot, SnapshotStatus, SnapshotType};
    use crate::notify::{Notification, Notifier};
    use crate::Keeper;

    /// A topic that keeps what it was sent.
    #[derive(Default)]
    struct Topic(Mutex<Vec<Notification>>);

    impl Notifier for Topic {
        async fn publish(&self, n: &Notification) -> Result<(), crate::error::ApiError> {
            self.0.lock().unwrap().push(n.clone());
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_audit_action_publishes_the_tally_and_the_csv() {
        let ds = MemoryDirectoryService::with_directory("d-0123456789");
        let now: jiff::Timestamp = "2026-12-06T06:00:00Z".parse().unwrap();
        ds.add_snapshot(Snapshot {
            id: "s-0000000001".into(),
            directory_id: "d-0123456789".into(),
            name: Some("keeper-20261206T040000Z".into()),
            kind: SnapshotType::Manual,
            status: SnapshotStatus::Completed,
            start_time: "2026-12-06T04:00:00Z".parse().unwrap(),
        });
        let keeper = Keeper::new(ds, crate::Settings::default(), "eu-west-1")
            .with_clock(std::sync::Arc::new(move || now));
        let topic = Topic::default();
        let lines = Mutex::new(Vec::<String>::new());
        let sink = |l: &str| lines.lock().unwrap().push(l.to_owned());
        let answer = crate::handler::handle_any(
            &keeper,
            Some(&topic),
            &json!({"action": "audit", "min_reach_days": 7}),
            "weekly-audit",
            None,
            &sink,
        )
        .await
        .unwrap();
        let crate::handler::Answer::Audit(report) = answer else {
            panic!("not an audit")
        };
        // Two hours old, but only two hours of reach: DSK-REACH is not met.
        assert!(!report.all_compliant());
        let sent = topic.0.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0]
                .subject
                .starts_with("[WARNING] DS audit in eu-west-1: 3 of 4 controls compliant"),
            "{}",
            sent[0].subject
        );
        assert!(sent[0]
            .body
            .contains("DSK-REACH,eu-west-1,d-0123456789,non-compliant,"));
        assert!(lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("\"message\":\"audit report\"")));
        // A bad field is refused with what is accepted.
        let err = crate::handler::handle_any(
            &keeper,
            Some(&topic),
            &json!({"action": "audit", "min_reach_days": 400}),
            "bad",
            None,
            &sink,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("min_reach_days"), "{err}");
    }
}
