//! Which directories a command or an action is about, decided once for `points`, `audit`,
//! the tamper alert and the function's restore action. The rules themselves are
//! `policy::eligibility`'s (a request may narrow the configured scope, never widen it); this
//! module only reads what they need (the Region's directories, their tags).

use crate::directory::DirectoryService;
use crate::error::ApiError;
use crate::policy::eligibility;
use crate::settings::Settings;

/// The directories of this Region a command is about: the ones named (`--directory`, else
/// `DIRECTORY_IDS`), or every one the configured scope manages (discovery with
/// `DISCOVERY_TAG`, less `EXCLUDED_DIRECTORY_IDS`), sorted by id. A named directory that is
/// not in this Region is not an error here: a fleet's directory is in one of the Regions given.
/// `points` and `audit` share it.
pub async fn in_scope<D: DirectoryService>(
    ds: &D,
    settings: &crate::settings::Settings,
    directory_ids: &[String],
) -> Result<Vec<crate::model::Directory>, ApiError> {
    let named: Vec<String> = if directory_ids.is_empty() {
        settings.directory_ids.clone()
    } else {
        directory_ids.to_vec()
    };
    let mut directories = ds.describe_directories(None).await?;
    if !named.is_empty() {
        directories.retain(|d| named.contains(&d.id));
    } else {
        directories.retain(|d| !settings.excluded_directory_ids.contains(&d.id));
        if let Some(tag) = &settings.discovery_tag {
            let mut kept = Vec::new();
            for d in directories {
                if eligibility::opted_in(&ds.directory_tags(&d.id).await?, tag) {
                    kept.push(d);
                }
            }
            directories = kept;
        }
    }
    directories.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(directories)
}

/// Of `requested`, the directories outside what this keeper manages: not in `DIRECTORY_IDS`
/// (or in `EXCLUDED_DIRECTORY_IDS`), or, with discovery by tag, not tagged. A tag that cannot
/// be read counts as outside: nothing is done to a directory the keeper cannot show it manages.
pub async fn outside_scope<D: DirectoryService>(
    ds: &D,
    settings: &Settings,
    requested: &[String],
) -> Vec<String> {
    let mut outside: Vec<String> = eligibility::outside_configured(
        requested,
        &settings.directory_ids,
        &settings.excluded_directory_ids,
    )
    .into_iter()
    .map(str::to_owned)
    .collect();
    if let (Some(tag), true) = (&settings.discovery_tag, settings.directory_ids.is_empty()) {
        let listed = outside.clone();
        for id in requested.iter().filter(|id| !listed.contains(id)) {
            let tagged = match ds.directory_tags(id).await {
                Ok(tags) => eligibility::opted_in(&tags, tag),
                Err(_) => false,
            };
            if !tagged {
                outside.push(id.clone());
            }
        }
    }
    outside
}
