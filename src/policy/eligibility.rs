//! Which directories the keeper acts on: the kinds it can snapshot here, and the scope a
//! request may ask for (a request may narrow the configured scope, never widen it).

use serde::Serialize;

use crate::model::{Directory, DirectoryType};

/// The directory stage in which snapshots can be taken.
pub const STAGE_SNAPSHOTTABLE: &str = "Active";

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
}

/// A directory left alone in this run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    pub reason: SkipReason,
    pub message: String,
    /// Whether the skip deserves attention (a directory not Active, an unknown type) rather
    /// than being the expected state of things (an AD Connector, a shared directory, a replica).
    pub warns: bool,
}

fn skip_with(reason: SkipReason, message: String) -> Option<Skip> {
    let warns = matches!(reason, SkipReason::UnknownType | SkipReason::NotActive);
    Some(Skip {
        reason,
        message,
        warns,
    })
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
    if d.stage != STAGE_SNAPSHOTTABLE {
        return skip_with(
            SkipReason::NotActive,
            format!(
                "directory is in stage {}; snapshots need stage {STAGE_SNAPSHOTTABLE}",
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

/// The directories a request names that the configured `DIRECTORY_IDS` do not include.
/// With an empty configuration (discovery) every id is in scope here; the discovery tag is
/// checked on the directories themselves (see [`opted_in`]).
pub fn outside_configured<'a>(requested: &'a [String], configured: &[String]) -> Vec<&'a str> {
    if configured.is_empty() {
        return Vec::new();
    }
    requested
        .iter()
        .filter(|id| !configured.contains(id))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_may_narrow_the_configured_scope_but_not_widen_it() {
        let configured = vec!["d-0000000001".to_owned(), "d-0000000002".to_owned()];
        assert!(outside_configured(&configured[..1], &configured).is_empty());
        let wider = vec!["d-0000000002".to_owned(), "d-0000000003".to_owned()];
        assert_eq!(
            outside_configured(&wider, &configured),
            vec!["d-0000000003"]
        );
        assert!(
            outside_configured(&wider, &[]).is_empty(),
            "discovery: checked by tag"
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
