//! Which directories the keeper acts on: the kinds it can snapshot here, and the scope a
//! request may ask for (a request may narrow the configured scope, never widen it).

use jiff::Timestamp;
use serde::Serialize;

use crate::model::{Directory, DirectoryType, Stage};

/// Why a directory is not snapshotted in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// AD Connector proxies an on-premises directory: there is nothing to snapshot.
    AdConnector,
    /// A directory shared with this account: its owner takes the snapshots.
    Shared,
    /// A directory type the keeper does not know.
    UnknownType,
    /// Not Active (Creating, Impaired, Inoperable...): no snapshot can be taken now.
    NotActive,
    /// A multi-Region replica: snapshots run only in the primary Region.
    Replica,
    /// Being restored from a snapshot: nothing is touched until it is Active again.
    Restoring,
    /// Its last restore failed: a critical finding, with what to do.
    RestoreFailed,
    /// A restore is under way (its mark holds, see `policy::restore_mark`): nothing is
    /// touched, so the restore's target and safety snapshot keep their slots.
    RestoreUnderWay,
}

/// A directory left alone in this run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    pub reason: SkipReason,
    pub message: String,
    /// Whether the skip deserves attention (a directory not Active, an unknown type) rather
    /// than being the expected state of things (an AD Connector, a shared directory, a replica,
    /// a restore under way).
    pub warns: bool,
    /// Whether the skip is critical: a directory whose restore failed, offline or rolled back
    /// to an unknown state until someone acts.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub critical: bool,
}

fn skip_with(reason: SkipReason, message: String) -> Option<Skip> {
    let warns = matches!(
        reason,
        SkipReason::UnknownType | SkipReason::NotActive | SkipReason::RestoreFailed
    );
    Some(Skip {
        reason,
        message,
        warns,
        critical: reason == SkipReason::RestoreFailed,
    })
}

/// ` (since 2026-12-03T06:00:00Z)`, when the stage's last change is known.
fn since(d: &Directory) -> String {
    d.stage_since
        .map(|t| format!(" (since {})", t.strftime("%Y-%m-%dT%H:%M:%SZ")))
        .unwrap_or_default()
}

/// Why the keeper must leave `d` alone in `region`, or `None` when it may snapshot it here.
pub fn skip(d: &Directory, region: &str) -> Option<Skip> {
    match &d.kind {
        DirectoryType::AdConnector => {
            return skip_with(
                SkipReason::AdConnector,
                "AD Connector directories cannot be snapshotted".to_owned(),
            )
        }
        DirectoryType::SharedMicrosoftAd => {
            return skip_with(
                SkipReason::Shared,
                "shared directory: snapshots are taken in the owner account".to_owned(),
            )
        }
        DirectoryType::Other(kind) => {
            return skip_with(
                SkipReason::UnknownType,
                format!("directory type {kind} is not one the keeper knows how to snapshot"),
            )
        }
        DirectoryType::MicrosoftAd | DirectoryType::SimpleAd => {}
    }
    match &d.stage {
        Stage::Restoring => {
            return skip_with(
                SkipReason::Restoring,
                format!(
                    "directory is being restored from a snapshot{}; nothing is touched until it \
                     is Active again (follow it with `ds-snapshot-keeper points --directory {}`)",
                    since(d),
                    d.id
                ),
            )
        }
        Stage::RestoreFailed => {
            return skip_with(
                SkipReason::RestoreFailed,
                format!(
                    "the directory's restore from a snapshot FAILED{}{}. AWS's advice: retry the \
                     restore operation; if this continues, try a different snapshot, or contact \
                     AWS Support (`ds-snapshot-keeper restore --directory {} --snapshot s-...` \
                     retries it). The keeper takes no snapshot until it is Active",
                    since(d),
                    d.stage_reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default(),
                    d.id
                ),
            )
        }
        _ => {}
    }
    if d.stage != Stage::Active {
        return skip_with(
            SkipReason::NotActive,
            format!(
                "directory is in stage {}; snapshots need stage Active",
                d.stage
            ),
        );
    }
    if let Some(primary) = d.primary_region.as_deref().filter(|p| *p != region) {
        return skip_with(
            SkipReason::Replica,
            format!(
                "multi-Region directory replicated here; its primary Region is {primary}, \
                 where snapshots must be taken (deploy the keeper there)"
            ),
        );
    }
    None
}

/// Whether a directory's tags opt it in to discovery with `tag` (key, value).
pub fn opted_in(tags: &[(String, String)], tag: &(String, String)) -> bool {
    tags.iter().any(|(k, v)| k == &tag.0 && v == &tag.1)
}

/// The directories a request names outside the configured scope: not in `DIRECTORY_IDS`
/// (when it lists any), or in `EXCLUDED_DIRECTORY_IDS`. With an empty `DIRECTORY_IDS`
/// (discovery) every other id is in scope here; the discovery tag is checked on the
/// directories themselves (see [`opted_in`] and [`unmanaged_because`]).
pub fn outside_configured<'a>(
    requested: &'a [String],
    configured: &[String],
    excluded: &[String],
) -> Vec<&'a str> {
    requested
        .iter()
        .filter(|id| (!configured.is_empty() && !configured.contains(id)) || excluded.contains(id))
        .map(String::as_str)
        .collect()
}

/// The refusal for a request that reaches outside the scope; nothing is touched.
pub fn out_of_scope_message(outside: &[&str], scope: &str) -> String {
    format!(
        "directory_ids names {} outside this keeper's scope ({scope}); a request may narrow \
         the scope, never widen it. Nothing was changed. Add the directory to DIRECTORY_IDS \
         (or tag it for discovery) to manage it",
        outside.join(", ")
    )
}

/// The tag value that marks a directory as deliberately unmanaged, on the discovery tag's key
/// (`ds-snapshot-keeper=excluded` with the default key).
pub const EXCLUDED_TAG_VALUE: &str = "excluded";

/// Why a directory in the Region is not managed by this keeper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnmanagedReason {
    /// Discovery: the directory does not carry the opt-in tag.
    NotTagged,
    /// `DIRECTORY_IDS` does not list it.
    NotListed,
    /// Deliberately unmanaged: in `EXCLUDED_DIRECTORY_IDS`, or tagged `<key>=excluded`.
    Excluded,
    /// AD Connector: there is nothing to snapshot.
    AdConnector,
    /// Shared with this account: its owner takes the snapshots.
    Shared,
    /// A replica of a directory whose primary Region is another one.
    Replica,
}

impl UnmanagedReason {
    /// Whether the directory is one someone should protect: counted in
    /// `UnmanagedDirectories` and its alarm. Kinds that cannot be snapshotted here, and
    /// deliberate exclusions, stay in the report but are not counted.
    pub fn counts(self) -> bool {
        matches!(
            self,
            UnmanagedReason::NotTagged | UnmanagedReason::NotListed
        )
    }
}

/// A directory of the Region the keeper does not manage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unmanaged {
    pub directory_id: String,
    pub directory_name: String,
    pub directory_type: String,
    pub reason: UnmanagedReason,
    /// Counted in `UnmanagedDirectories` (see [`UnmanagedReason::counts`]).
    pub counted: bool,
    pub launch_time: Option<Timestamp>,
    /// Whole days since `launch_time`.
    pub age_days: Option<i64>,
}

/// Which directories of the Region a run covers, and which it leaves unprotected.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Coverage {
    /// Directories in the Region that the keeper does not manage, with why.
    pub unmanaged: Vec<Unmanaged>,
    /// Of those, the ones someone should protect (the `UnmanagedDirectories` metric).
    pub unmanaged_count: usize,
}

/// How the keeper's scope is configured.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// `DIRECTORY_IDS`.
    Listed(&'a [String]),
    /// Discovery, opted in by this tag (key, value), or every directory without one.
    Discovery(Option<&'a (String, String)>),
}

/// Why a directory of the Region is not managed; `None` when it is. `tags` are the
/// directory's tags where the run read them (discovery with a tag), `excluded` is
/// `EXCLUDED_DIRECTORY_IDS`.
pub fn unmanaged_because(
    d: &Directory,
    scope: Scope<'_>,
    tags: Option<&[(String, String)]>,
    excluded: &[String],
    region: &str,
) -> Option<UnmanagedReason> {
    let in_scope = match scope {
        Scope::Listed(ids) => ids.contains(&d.id),
        Scope::Discovery(Some(tag)) => tags.is_some_and(|t| opted_in(t, tag)),
        Scope::Discovery(None) => true,
    };
    let tagged_excluded = match scope {
        Scope::Discovery(Some(tag)) => tags.is_some_and(|t| {
            t.iter()
                .any(|(k, v)| k == &tag.0 && v == EXCLUDED_TAG_VALUE)
        }),
        _ => false,
    };
    if excluded.contains(&d.id) || tagged_excluded {
        return Some(UnmanagedReason::Excluded);
    }
    if in_scope {
        return None;
    }
    Some(match skip(d, region).map(|s| s.reason) {
        Some(SkipReason::AdConnector) => UnmanagedReason::AdConnector,
        Some(SkipReason::Shared) => UnmanagedReason::Shared,
        Some(SkipReason::Replica) => UnmanagedReason::Replica,
        _ => match scope {
            Scope::Listed(_) => UnmanagedReason::NotListed,
            Scope::Discovery(_) => UnmanagedReason::NotTagged,
        },
    })
}

/// The coverage entry of a directory left unmanaged.
pub fn unmanaged(d: &Directory, reason: UnmanagedReason, now: Timestamp) -> Unmanaged {
    Unmanaged {
        directory_id: d.id.clone(),
        directory_name: d.name.clone(),
        directory_type: d.kind.as_api().to_owned(),
        reason,
        counted: reason.counts(),
        launch_time: d.launch_time,
        age_days: d
            .launch_time
            .map(|t| (now.as_second() - t.as_second()).div_euclid(86_400)),
    }
}

impl Coverage {
    pub fn new(mut unmanaged: Vec<Unmanaged>) -> Self {
        unmanaged.sort_by(|a, b| a.directory_id.cmp(&b.directory_id));
        let unmanaged_count = unmanaged.iter().filter(|u| u.counted).count();
        Self {
            unmanaged,
            unmanaged_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(id: &str, kind: DirectoryType) -> Directory {
        Directory {
            id: id.to_owned(),
            name: "corp.example.com".to_owned(),
            kind,
            stage: Stage::Active,
            primary_region: None,
            launch_time: None,
            stage_reason: None,
            stage_since: None,
        }
    }

    #[test]
    fn coverage_says_why_and_counts_only_what_someone_should_protect() {
        let listed = vec!["d-0000000001".to_owned()];
        let ad = dir("d-0000000002", DirectoryType::MicrosoftAd);
        let connector = dir("d-0000000003", DirectoryType::AdConnector);
        let scope = Scope::Listed(&listed);
        assert_eq!(
            unmanaged_because(
                &dir("d-0000000001", DirectoryType::SimpleAd),
                scope,
                None,
                &[],
                "r"
            ),
            None
        );
        assert_eq!(
            unmanaged_because(&ad, scope, None, &[], "r"),
            Some(UnmanagedReason::NotListed)
        );
        assert_eq!(
            unmanaged_because(&connector, scope, None, &[], "r"),
            Some(UnmanagedReason::AdConnector)
        );
        let excluded = vec![ad.id.clone()];
        assert_eq!(
            unmanaged_because(&ad, scope, None, &excluded, "r"),
            Some(UnmanagedReason::Excluded)
        );
        let tag = ("ds-snapshot-keeper".to_owned(), "enabled".to_owned());
        let discovery = Scope::Discovery(Some(&tag));
        let tagged = [(tag.0.clone(), tag.1.clone())];
        let opted_out = [(tag.0.clone(), EXCLUDED_TAG_VALUE.to_owned())];
        assert_eq!(
            unmanaged_because(&ad, discovery, Some(&tagged), &[], "r"),
            None
        );
        assert_eq!(
            unmanaged_because(&ad, discovery, Some(&[]), &[], "r"),
            Some(UnmanagedReason::NotTagged)
        );
        assert_eq!(
            unmanaged_because(&ad, discovery, Some(&opted_out), &[], "r"),
            Some(UnmanagedReason::Excluded)
        );
        assert!(UnmanagedReason::NotTagged.counts() && UnmanagedReason::NotListed.counts());
        assert!(!UnmanagedReason::Excluded.counts() && !UnmanagedReason::AdConnector.counts());
    }

    #[test]
    fn a_request_may_narrow_the_configured_scope_but_not_widen_it() {
        let configured = vec!["d-0000000001".to_owned(), "d-0000000002".to_owned()];
        assert!(outside_configured(&configured[..1], &configured, &[]).is_empty());
        let wider = vec!["d-0000000002".to_owned(), "d-0000000003".to_owned()];
        assert_eq!(
            outside_configured(&wider, &configured, &[]),
            vec!["d-0000000003"]
        );
        assert!(
            outside_configured(&wider, &[], &[]).is_empty(),
            "discovery: checked by tag"
        );
        // An excluded directory is outside the scope, listed or discovered.
        let excluded = vec!["d-0000000002".to_owned()];
        assert_eq!(
            outside_configured(&wider, &configured, &excluded),
            vec!["d-0000000002", "d-0000000003"]
        );
        assert_eq!(
            outside_configured(&wider, &[], &excluded),
            vec!["d-0000000002"]
        );
    }

    #[test]
    fn the_discovery_tag_must_match_key_and_value() {
        let tag = ("ds-snapshot-keeper".to_owned(), "enabled".to_owned());
        assert!(opted_in(&[(tag.0.clone(), tag.1.clone())], &tag));
        assert!(!opted_in(&[(tag.0.clone(), "excluded".to_owned())], &tag));
        assert!(!opted_in(&[], &tag));
    }
}
