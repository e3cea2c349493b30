//! Identifiers and names: what the Directory Service API accepts, and what the keeper writes.
//!
//! The snapshot name pattern is botocore's `SnapshotName` shape
//! (`^([a-zA-Z0-9_])[\\a-zA-Z0-9_@#%*+=:?./!\s-]*$`, at most 128 characters). The keeper's
//! names are its prefix plus the UTC start time, so they sort by time and say when they were
//! taken even in the console.

use jiff::Timestamp;

/// Longest prefix accepted; leaves room for the 16-character timestamp under the 128 limit.
pub const MAX_PREFIX_LEN: usize = 64;

fn is_hex_id(value: &str, head: &str) -> bool {
    value.len() == head.len() + 10
        && value.starts_with(head)
        && value[head.len()..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `^d-[0-9a-f]{10}$`
pub fn is_directory_id(value: &str) -> bool {
    is_hex_id(value, "d-")
}

/// `^s-[0-9a-f]{10}$`
pub fn is_snapshot_id(value: &str) -> bool {
    is_hex_id(value, "s-")
}

fn is_name_tail_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_\\@#%*+=:?./!-".contains(c) || c == ' '
}

/// Whether the API accepts `name` as a snapshot name.
pub fn is_valid_snapshot_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        None => true,
        Some(first) => {
            name.len() <= 128
                && (first.is_ascii_alphanumeric() || first == '_')
                && chars.all(is_name_tail_char)
        }
    }
}

/// A prefix is valid when every name built from it is: it must start the name legally and use
/// only characters we are happy to see in logs (no backslashes or spaces).
pub fn validate_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() || prefix.len() > MAX_PREFIX_LEN {
        return Err(format!(
            "length {} is not 1..={MAX_PREFIX_LEN}",
            prefix.len()
        ));
    }
    let first = prefix.chars().next().unwrap_or(' ');
    if !(first.is_ascii_alphanumeric() || first == '_') {
        return Err("must start with a letter, digit or underscore".to_owned());
    }
    if let Some(bad) = prefix
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_-.:@#%+=".contains(*c)))
    {
        return Err(format!("contains {}", escape_for_log(&bad.to_string(), 8)));
    }
    Ok(())
}

/// The name of a snapshot the keeper takes at `now`: `<prefix>YYYYMMDDTHHMMSSZ`.
pub fn snapshot_name(prefix: &str, now: Timestamp) -> String {
    format!("{prefix}{}", now.strftime("%Y%m%dT%H%M%SZ"))
}

/// `arn:<partition>:sns:<region>:<12-digit account>:<topic>`
pub fn is_topic_arn(value: &str) -> bool {
    let parts: Vec<&str> = value.split(':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "sns"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && !parts[5].is_empty()
        && parts[5].len() <= 256
        && parts[5]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// Text that came from outside (a snapshot's name: Directory Service's pattern allows `\s`,
/// so CR and LF) on one line for a person: every control character escaped (`\n`, `\r`,
/// `\u{1b}`), the rest as it is. Human renderings use it; JSON keeps the value as it is.
pub fn one_line(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Quote text that came from outside (events, names, API messages) for logs and errors:
/// control characters and quotes are escaped and long values are cut, so nothing a caller
/// sends can forge log lines or flood them.
pub fn escape_for_log(value: &str, max_chars: usize) -> String {
    let mut out = String::from("\"");
    for (i, c) in value.chars().enumerate() {
        if i == max_chars {
            out.push_str("...");
            break;
        }
        out.extend(c.escape_debug());
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_stays_on_one_line_for_a_person() {
        assert_eq!(one_line("nightly"), "nightly");
        assert_eq!(one_line("a\nforged row"), "a\\nforged row");
        assert_eq!(one_line("x\rrewritten"), "x\\rrewritten");
        assert_eq!(one_line("bell\u{7}\u{1b}[2J"), "bell\\u{7}\\u{1b}[2J");
        assert!(!one_line("a\u{2028}b").contains('\u{2028}'));
    }

    #[test]
    fn ids_follow_the_api_patterns() {
        assert!(is_directory_id("d-0123456789"));
        assert!(is_directory_id("d-abcdef0123"));
        for bad in [
            "d-012345678",
            "d-01234567890",
            "d-ABCDEF0123",
            "s-0123456789",
            "",
            "d-012345678g",
        ] {
            assert!(!is_directory_id(bad), "{bad}");
        }
        assert!(is_snapshot_id("s-0123456789"));
        assert!(!is_snapshot_id("d-0123456789"));
    }

    #[test]
    fn generated_names_are_valid_sortable_and_carry_utc_time() {
        let t: Timestamp = "2026-11-24T06:00:05Z".parse().unwrap();
        let name = snapshot_name("keeper-", t);
        assert_eq!(name, "keeper-20261124T060005Z");
        assert!(is_valid_snapshot_name(&name));
        let later = snapshot_name("keeper-", "2026-12-01T00:00:00Z".parse().unwrap());
        assert!(later > name);
        let longest = snapshot_name(&"a".repeat(MAX_PREFIX_LEN), t);
        assert!(is_valid_snapshot_name(&longest));
    }

    #[test]
    fn name_pattern_matches_the_model() {
        assert!(is_valid_snapshot_name("Before schema ext: v2.1/final!"));
        assert!(!is_valid_snapshot_name("-leading"));
        assert!(!is_valid_snapshot_name("tab\there"));
        assert!(!is_valid_snapshot_name(&"x".repeat(129)));
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(validate_prefix("keeper-").is_ok());
        assert!(validate_prefix("").is_err());
        assert!(validate_prefix("-x").is_err());
        assert!(validate_prefix("a b").is_err());
        assert!(validate_prefix(&"a".repeat(65)).is_err());
    }

    #[test]
    fn topic_arns() {
        assert!(is_topic_arn("arn:aws:sns:eu-west-1:123456789012:ds-keeper"));
        assert!(is_topic_arn(
            "arn:aws-us-gov:sns:us-gov-west-1:123456789012:t.fifo"
        ));
        assert!(!is_topic_arn("arn:aws:sqs:eu-west-1:123456789012:q"));
        assert!(!is_topic_arn("arn:aws:sns:eu-west-1:1234:t"));
    }

    #[test]
    fn escaping_neutralises_control_characters_and_length() {
        assert_eq!(escape_for_log("a\nb\"c", 10), "\"a\\nb\\\"c\"");
        assert_eq!(escape_for_log("abcdef", 3), "\"abc...\"");
        assert!(!escape_for_log("\u{1b}[31m", 10).contains('\u{1b}'));
    }
}
