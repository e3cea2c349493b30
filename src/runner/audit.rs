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
    for d in super::points::in_scope(ds, settings, directory_ids).await? {
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
