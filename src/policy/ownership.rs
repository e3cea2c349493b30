//! What "a snapshot this keeper wrote" means: the one definition the deletion guard uses.
//!
//! Ownership is decided by the exact name, never by a prefix alone. A snapshot is the keeper's
//! when it is `Manual` and its name is the configured prefix followed by one of the formats a
//! released version has written, and nothing else:
//!
//! | version | name | example |
//! |---|---|---|
//! | 0.1 | `<prefix>YYYYMMDDTHHMMSSZ` | `keeper-20261124T060000Z` |
//! | 0.2 | `<prefix>YYYYMMDDTHHMMSSZ-r<8 hex>` | `keeper-20261124T060000Z-r3fa9c2d1` |
//!
//! The 0.2 suffix is the *request tag*: eight hex digits derived from the invocation's request
//! id, so a retried invocation (Lambda retries with the same id) finds the snapshot it already
//! took instead of taking another. So `keeper-before-schema-ext-DO-NOT-DELETE` (a person's
//! snapshot) and `keeper-prod-20261124T060000Z` (another deployment whose prefix is
//! `keeper-prod-`) are not owned by a keeper whose prefix is `keeper-`.
//!
//! A format may be added here; none may ever be removed, or an upgrade would disown the
//! snapshots earlier versions took, and they would fill the quota for good.

use jiff::Timestamp;

/// `YYYYMMDDTHHMMSSZ`: 16 characters.
const STAMP_LEN: usize = 16;
/// `-r` and eight lower-case hex digits.
const TAG_LEN: usize = 8;

/// The name formats released versions have written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameFormat {
    /// 0.1: `<prefix>YYYYMMDDTHHMMSSZ`.
    Stamp,
    /// 0.2 and later: `<prefix>YYYYMMDDTHHMMSSZ-r<tag>`.
    StampTag,
}

/// A name the keeper wrote, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeeperName {
    pub format: NameFormat,
    /// The time written into the name (UTC).
    pub stamped: Timestamp,
    /// The request tag, for names written since 0.2.
    pub tag: Option<String>,
}

/// The tag of a request id: eight hex digits of its FNV-1a hash. Stable across versions and
/// platforms (it is written into names), short enough to leave the name readable.
pub fn request_tag(request_id: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in request_id.as_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:08x}", (hash ^ (hash >> 32)) as u32)
}

/// The name of the snapshot the keeper takes at `now` for the request tagged `tag`.
pub fn snapshot_name(prefix: &str, now: Timestamp, tag: &str) -> String {
    format!("{prefix}{}-r{tag}", now.strftime("%Y%m%dT%H%M%SZ"))
}

pub(crate) fn parse_stamp(stamp: &str) -> Option<Timestamp> {
    if stamp.len() != STAMP_LEN || !stamp.is_ascii() {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| stamp[range].bytes().all(|b| b.is_ascii_digit());
    if !(digits(0..8) && &stamp[8..9] == "T" && digits(9..15) && &stamp[15..16] == "Z") {
        return None;
    }
    // RFC 3339 from the digits: jiff rejects impossible dates and times (month 13, hour 25).
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..15]
    )
    .parse()
    .ok()
}

/// `Some` when `name` is exactly a name this keeper (any released version) writes with
/// `prefix`; `None` for every other name.
pub fn parse_name(prefix: &str, name: &str) -> Option<KeeperName> {
    let rest = name.strip_prefix(prefix)?;
    let (stamp, tag) = match rest.len() {
        STAMP_LEN => (rest, None),
        n if n == STAMP_LEN + 2 + TAG_LEN && rest.is_ascii() => {
            let (stamp, suffix) = rest.split_at(STAMP_LEN);
            let tag = suffix.strip_prefix("-r")?;
            if !tag
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return None;
            }
            (stamp, Some(tag.to_owned()))
        }
        _ => return None,
    };
    Some(KeeperName {
        format: if tag.is_some() {
            NameFormat::StampTag
        } else {
            NameFormat::Stamp
        },
        stamped: parse_stamp(stamp)?,
        tag,
    })
}

/// Whether `name` is one this keeper wrote.
pub fn is_keeper_name(prefix: &str, name: &str) -> bool {
    parse_name(prefix, name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn names_written_by_version_0_1_stay_owned() {
        // The exact names 0.1 wrote (naming::snapshot_name: prefix + %Y%m%dT%H%M%SZ).
        let n = parse_name("keeper-", "keeper-20261124T060005Z").expect("0.1 name is owned");
        assert_eq!(n.format, NameFormat::Stamp);
        assert_eq!(n.stamped, t("2026-11-24T06:00:05Z"));
        assert_eq!(n.tag, None);
        assert!(is_keeper_name("ops.keeper:", "ops.keeper:20250101T000000Z"));
    }

    #[test]
    fn names_written_now_round_trip_with_their_tag() {
        let tag = request_tag("8f1e2d3c-0000-4b5a-9c8d-7e6f5a4b3c2d");
        let name = snapshot_name("keeper-", t("2026-11-24T06:00:05Z"), &tag);
        assert!(crate::naming::is_valid_snapshot_name(&name));
        let n = parse_name("keeper-", &name).unwrap();
        assert_eq!(n.format, NameFormat::StampTag);
        assert_eq!(n.tag.as_deref(), Some(tag.as_str()));
        assert_eq!(n.stamped, t("2026-11-24T06:00:05Z"));
    }

    #[test]
    fn a_prefix_alone_is_not_ownership() {
        for name in [
            "keeper-before-schema-ext-DO-NOT-DELETE",
            "keeper-prod-20261124T060000Z",
            "keeper-20261124T060000Z-DO-NOT-DELETE",
            "keeper-20261124T060000Z-rXYZ12345",
            "keeper-20261124T060000Z-r3fa9c2d",
            "keeper-20261124T060000",
            "keeper-2026112XT060000Z",
            "keeper-20261324T060000Z",
            "keeper-20261124T250000Z",
            "keeper-",
            "Keeper-20261124T060000Z",
            "xkeeper-20261124T060000Z",
        ] {
            assert!(!is_keeper_name("keeper-", name), "{name} must not be owned");
        }
    }

    #[test]
    fn a_longer_prefix_does_not_adopt_a_shorter_ones_names_nor_the_reverse() {
        assert!(!is_keeper_name("keeper-prod-", "keeper-20261124T060000Z"));
        assert!(!is_keeper_name("keeper-", "keeper-prod-20261124T060000Z"));
        assert!(!is_keeper_name("k", "k220261124T060000Z"));
    }

    #[test]
    fn request_tags_are_stable_and_differ_between_requests() {
        assert_eq!(request_tag("abc"), request_tag("abc"));
        assert_ne!(request_tag("abc"), request_tag("abd"));
        assert_eq!(request_tag("x").len(), 8);
        // Pinned (computed independently with FNV-1a 64 in Python): a retried request must
        // find the tag an earlier version wrote for the same id.
        assert_eq!(request_tag("req-1"), "4b15a663");
    }
}
