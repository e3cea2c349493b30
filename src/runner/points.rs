//! `ds-snapshot-keeper points`: every restore point of the directories in scope, read-only.
//! Which directories are in scope is the run's decision (`policy::eligibility`); what each
//! snapshot is worth as a restore point is `policy::restore`'s.

use jiff::Timestamp;
use serde::Serialize;

use crate::directory::DirectoryService;
use crate::error::ApiError;
use crate::policy::restore as decide;
use crate::policy::restore_mark::{self, MarkState};
use crate::policy::Policy;

/// One directory's restore points, for `ds-snapshot-keeper points`.
#[derive(Debug, Clone, Serialize)]
pub struct DirectoryPoints {
    pub region: String,
    pub directory_id: String,
    pub directory_name: Option<String>,
    pub stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_reason: Option<String>,
    pub points: Vec<decide::RestorePoint>,
    /// A restore under way (or a mark left behind), when the directory carries one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_mark: Option<MarkState>,
    /// Why the points could not be listed (an AWS error, a replica, an AD Connector...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The restore points of `directory_ids`, or of every directory the configured scope manages
/// in `region` (`DIRECTORY_IDS`, or discovery with `DISCOVERY_TAG`, less
/// `EXCLUDED_DIRECTORY_IDS`). Read-only: `DescribeDirectories`, `ListTagsForResource` (only
/// for discovery by tag) and one `DescribeSnapshots` per directory.
pub async fn points<D: DirectoryService>(
    ds: &D,
    region: &str,
    settings: &crate::settings::Settings,
    directory_ids: &[String],
    before: Option<Timestamp>,
    now: Timestamp,
) -> Result<Vec<DirectoryPoints>, ApiError> {
    let policy = Policy::from(settings);
    let directories = super::scope::in_scope(ds, settings, directory_ids).await?;
    let mut out = Vec::with_capacity(directories.len());
    for d in directories {
        let mut entry = DirectoryPoints {
            region: region.to_owned(),
            directory_id: d.id.clone(),
            directory_name: Some(d.name.clone()),
            stage: Some(d.stage.to_string()),
            stage_reason: d.stage_reason.clone(),
            points: Vec::new(),
            restore_mark: None,
            problem: None,
        };
        let kind_problem = match &d.kind {
            crate::model::DirectoryType::MicrosoftAd | crate::model::DirectoryType::SimpleAd => {
                None
            }
            other => Some(format!("a {} directory has no snapshots", other.as_api())),
        };
        let replica = d
            .primary_region
            .as_deref()
            .filter(|p| *p != region)
            .map(|p| format!("replicated here: its snapshots are in its primary Region {p}"));
        if let Some(problem) = kind_problem.or(replica) {
            entry.problem = Some(problem);
            out.push(entry);
            continue;
        }
        match ds.describe_snapshots(&d.id).await {
            Ok(all) => {
                let all = crate::policy::distinct(all);
                entry.points = decide::restore_points(&all, &d.id, &policy, now, before);
            }
            Err(e) => entry.problem = Some(format!("{}: {}", e.code, e.message)),
        }
        match ds.directory_tags(&d.id).await {
            Ok(tags) => {
                let mark = restore_mark::read(&tags, now);
                entry.restore_mark = (mark != MarkState::Absent).then_some(mark);
            }
            Err(e) => {
                let problem = format!(
                    "the restore mark could not be read: {}: {}",
                    e.code, e.message
                );
                entry.problem = Some(match entry.problem.take() {
                    Some(p) => format!("{p}; {problem}"),
                    None => problem,
                });
            }
        }
        out.push(entry);
    }
    Ok(out)
}
