//! The restore mark, and what a run does while a restore is under way.
//!
//! A restore's safety snapshot can take an hour to complete, and the restore itself two to
//! three more. The operator's terminal and the scheduled function share nothing but AWS, so
//! the restore says it is under way where both look: one tag on the directory,
//! [`MARK_KEY`], written with `AddTagsToResource` right after the operator confirms and
//! removed when the restore has ended. It needs no new service and only the tag permissions,
//! scoped to this one key.
//!
//! While a mark holds, a run leaves the directory alone ([`run_skip`]): no snapshot, no
//! deletion, for scheduled runs and the `snapshot` and `prune` actions alike, so the restore's
//! target and its safety snapshot keep their slots and the quota stays as the restore planned
//! it. A second restore of another target is refused; the same restore re-run reuses the
//! safety snapshot the mark names.
//!
//! A mark outlives the process that set it (a closed laptop, a killed shell) but not for
//! long: it holds for [`MARK_TTL_SECS`] after it was last renewed, the restore renews it while
//! it waits, and every reader applies that cap itself, so neither a stale mark nor a forged
//! one (a renewal time in the future is not believed) stops the keeper for more than that.

use jiff::Timestamp;
use serde::Serialize;

use super::eligibility::{Skip, SkipReason};
use crate::model::{Directory, Stage};

/// The tag key of the mark.
pub const MARK_KEY: &str = "ds-snapshot-keeper:restore";

/// How long a mark holds after its last renewal (readers cap it at this, whatever it says).
pub const MARK_TTL_SECS: i64 = 2 * 3600;

/// A restore renews its mark this often while it waits, so that a mark renewed recently says
/// its run is alive.
pub const MARK_RENEW_EVERY_SECS: i64 = 600;

/// A mark renewed more recently than this, and not released, belongs to a run that is alive:
/// another run of the same restore does not take it over.
pub const MARK_LIVE_SECS: i64 = 900;

/// The `run` of a mark its run released on leaving (a safety snapshot still Creating, Ctrl-C
/// before the send): the next run of the same restore takes it over at once.
pub const RELEASED: &str = "0";

/// A renewal dated further ahead of the reader's clock than this is not believed.
const CLOCK_SKEW_SECS: i64 = 300;

/// The most a tag value holds (botocore's `ds` model: TagValue, 0 to 256 characters).
const TAG_VALUE_MAX: usize = 256;

/// A restore under way, as its tag records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mark {
    /// The snapshot being restored.
    pub target: String,
    /// The safety snapshot this restore took, once it has one.
    pub safety: Option<String>,
    /// When the operator confirmed the restore.
    pub since: Timestamp,
    /// When the mark was last written.
    pub renewed: Timestamp,
    /// When `RestoreFromSnapshot` was sent, once it was: a directory whose stage changed
    /// after that, and is no longer `Restoring`, has ended this restore.
    pub sent: Option<Timestamp>,
    /// Who is restoring: `cli user@host` or `function name request-id`.
    pub by: String,
    /// The process that wrote it (eight hex digits, new for every run of a command): two runs
    /// of the same restore, or two operators, never take one mark for their own.
    pub run: String,
}

/// A directory's mark, as a reader finds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum MarkState {
    /// No mark: no restore is under way.
    Absent,
    /// A restore is under way; the mark holds until `expires`.
    Holds { mark: Mark, expires: Timestamp },
    /// A mark that has run out (its restore ended without removing it, or died).
    Expired { mark: Mark, expired: Timestamp },
    /// A value the keeper cannot read, or does not believe: ignored, and reported.
    Unreadable { value: String, why: String },
}

fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Characters a Directory Service tag value accepts (`[\p{L}\p{Z}\p{N}_.:/=+\-@]`): anything
/// else in `by` (a comma in a session name) becomes `_`.
fn tag_safe(c: char) -> char {
    if c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c) {
        c
    } else {
        '_'
    }
}

impl Mark {
    /// The mark of a restore confirmed now.
    pub fn new(target: &str, by: &str, now: Timestamp) -> Self {
        // Whole seconds, as the tag keeps them.
        let now = Timestamp::from_second(now.as_second()).unwrap_or(now);
        Self {
            target: target.to_owned(),
            safety: None,
            since: now,
            renewed: now,
            sent: None,
            by: by.chars().map(tag_safe).take(80).collect(),
            run: run_id(now),
        }
    }

    /// The mark as the run `run` writes it.
    pub fn with_run(mut self, run: &str) -> Self {
        run.clone_into(&mut self.run);
        self
    }

    /// Whether `other` is this same run's mark (whatever it was renewed to since). The tag
    /// keeps whole seconds.
    pub fn same_run(&self, other: &Mark) -> bool {
        self.run == other.run
            && self.target == other.target
            && self.since.as_second() == other.since.as_second()
    }

    /// When it stops holding.
    pub fn expires(&self) -> Timestamp {
        Timestamp::from_second(self.renewed.as_second() + MARK_TTL_SECS).unwrap_or(self.renewed)
    }

    /// Whether the restore should write it again now, to keep it holding while it waits.
    pub fn due_for_renewal(&self, now: Timestamp) -> bool {
        now.as_second() - self.renewed.as_second() >= MARK_RENEW_EVERY_SECS
    }

    /// Whether the run that wrote it may still be acting: renewed lately and not released.
    pub fn live(&self, now: Timestamp) -> bool {
        self.run != RELEASED && now.as_second() - self.renewed.as_second() < MARK_LIVE_SECS
    }

    /// The tag value: `target=s-… safety=s-…|- since=… renewed=… [sent=…] run=… by=…`.
    pub fn to_tag_value(&self) -> String {
        let out = format!(
            "target={} safety={} since={} renewed={}{} run={} by={}",
            self.target,
            self.safety.as_deref().unwrap_or("-"),
            rfc3339(self.since),
            rfc3339(self.renewed),
            self.sent
                .map(|t| format!(" sent={}", rfc3339(t)))
                .unwrap_or_default(),
            self.run,
            self.by
        );
        // A tag value holds 256 characters (not bytes): `by` may carry any letter.
        out.chars().take(TAG_VALUE_MAX).collect()
    }

    /// Read a tag value written by [`Mark::to_tag_value`].
    pub fn parse(value: &str) -> Result<Mark, String> {
        let (fields, by) = value.split_once(" by=").ok_or("no by= field".to_owned())?;
        let mut target = None;
        let mut safety = None;
        let mut since = None;
        let mut renewed = None;
        let mut sent = None;
        let mut run = None;
        for field in fields.split(' ') {
            let (key, v) = field
                .split_once('=')
                .ok_or_else(|| format!("field {field:?} is not key=value"))?;
            let time = || {
                v.parse::<Timestamp>()
                    .map_err(|_| format!("{key}={v:?} is not a time"))
            };
            match key {
                "target" if crate::naming::is_snapshot_id(v) => target = Some(v.to_owned()),
                "safety" if v == "-" => {}
                "safety" if crate::naming::is_snapshot_id(v) => safety = Some(v.to_owned()),
                "since" => since = Some(time()?),
                "renewed" => renewed = Some(time()?),
                "sent" => sent = Some(time()?),
                "run"
                    if !v.is_empty()
                        && v.len() <= 16
                        && v.chars().all(|c| c.is_ascii_hexdigit()) =>
                {
                    run = Some(v.to_owned())
                }
                _ => return Err(format!("unexpected field {field:?}")),
            }
        }
        Ok(Mark {
            target: target.ok_or("no target= snapshot id")?,
            safety,
            since: since.ok_or("no since= time")?,
            renewed: renewed.ok_or("no renewed= time")?,
            sent,
            by: by.to_owned(),
            run: run.ok_or("no run= id")?,
        })
    }
}

/// A new run's id: eight hex digits of this process and instant (FNV-1a, as the request tags).
pub fn run_id(now: Timestamp) -> String {
    let seed = format!(
        "{}-{}-{:?}",
        std::process::id(),
        now.as_nanosecond(),
        std::time::SystemTime::now()
    );
    super::ownership::request_tag(&seed)
}

/// The directory's mark among its tags, as it stands at `now`.
pub fn read(tags: &[(String, String)], now: Timestamp) -> MarkState {
    let Some((_, value)) = tags.iter().find(|(k, _)| k == MARK_KEY) else {
        return MarkState::Absent;
    };
    let mark = match Mark::parse(value) {
        Ok(m) => m,
        Err(why) => {
            return MarkState::Unreadable {
                value: value.clone(),
                why,
            }
        }
    };
    if mark.renewed.as_second() > now.as_second() + CLOCK_SKEW_SECS {
        return MarkState::Unreadable {
            value: value.clone(),
            why: format!(
                "renewed {} is in the future; a mark can hold for at most {} hours after it is \
                 written",
                rfc3339(mark.renewed),
                MARK_TTL_SECS / 3600
            ),
        };
    }
    let expires = mark.expires();
    if now < expires {
        MarkState::Holds { mark, expires }
    } else {
        MarkState::Expired {
            mark,
            expired: expires,
        }
    }
}

impl MarkState {
    /// The mark while it holds.
    pub fn holding(&self) -> Option<&Mark> {
        match self {
            MarkState::Holds { mark, .. } => Some(mark),
            _ => None,
        }
    }

    /// The mark in words, for `points`, `mark` and the run report.
    pub fn describe(&self, directory_id: &str) -> String {
        match self {
            MarkState::Absent => "no restore under way (no restore mark)".to_owned(),
            MarkState::Holds { mark, expires } => format!(
                "a restore to {} is under way since {} ({}){}; its mark holds until {} unless \
                 renewed. Clear it only if that restore is dead: `ds-snapshot-keeper mark \
                 --directory {directory_id} --clear`",
                mark.target,
                rfc3339(mark.since),
                crate::naming::escape_for_log(&mark.by, 80),
                mark.safety
                    .as_deref()
                    .map(|s| format!(", safety snapshot {s}"))
                    .unwrap_or_default(),
                rfc3339(*expires)
            ),
            MarkState::Expired { mark, expired } => format!(
                "an expired restore mark (restore to {} since {}, expired {}): ignored",
                mark.target,
                rfc3339(mark.since),
                rfc3339(*expired)
            ),
            MarkState::Unreadable { value, why } => format!(
                "an unreadable restore mark {} ({why}): ignored",
                crate::naming::escape_for_log(value, 120)
            ),
        }
    }
}

/// Whether the restore a mark names has ended: it was sent, and the directory's stage has
/// changed since and is no longer `Restoring` (a `--no-wait` restore, or one whose command
/// died while following it).
pub fn ended(mark: &Mark, d: &Directory) -> bool {
    match (mark.sent, d.stage_since) {
        // Whole seconds: the mark keeps whole seconds, AWS's stage time fractions of one, so
        // a stage change in the same second as the send is not taken for the restore's end.
        (Some(sent), Some(since)) => {
            since.as_second() > sent.as_second() && d.stage != Stage::Restoring
        }
        _ => false,
    }
}

/// What a run does while a restore is under way: it leaves the directory alone, whatever its
/// action and settings. `None` when no mark holds, or its restore has ended.
pub fn run_skip(state: &MarkState, d: &Directory) -> Option<Skip> {
    let directory_id = d.id.as_str();
    if ended(state.holding()?, d) {
        return None;
    }
    Some(Skip {
        reason: SkipReason::RestoreUnderWay,
        message: format!(
            "{}; the keeper takes no snapshot and deletes none until it ends",
            state.describe(directory_id)
        ),
        warns: false,
        critical: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn tags(value: &str) -> Vec<(String, String)> {
        vec![
            ("Team".to_owned(), "identity".to_owned()),
            (MARK_KEY.to_owned(), value.to_owned()),
        ]
    }

    #[test]
    fn a_mark_reads_back_as_written_and_fits_a_tag_value() {
        let mut m = Mark::new(
            "s-0123456789",
            "cli alice@bastion,01",
            t("2026-12-06T03:00:00Z"),
        );
        m.safety = Some("s-abcdef0123".to_owned());
        let value = m.to_tag_value();
        assert!(value.len() <= 256);
        assert!(
            value.chars().all(|c| tag_safe(c) == c),
            "{value} has a character a tag value refuses"
        );
        assert_eq!(
            Mark::parse(&value).unwrap(),
            Mark {
                by: "cli alice@bastion_01".into(),
                ..m
            }
        );
    }

    #[test]
    fn a_mark_holds_for_the_ttl_after_its_last_renewal() {
        let m = Mark::new("s-0123456789", "cli a@b", t("2026-12-06T03:00:00Z"));
        let v = m.to_tag_value();
        assert!(read(&tags(&v), t("2026-12-06T04:59:59Z"))
            .holding()
            .is_some());
        assert!(matches!(
            read(&tags(&v), t("2026-12-06T05:00:00Z")),
            MarkState::Expired { .. }
        ));
        assert!(!m.due_for_renewal(t("2026-12-06T03:09:59Z")));
        assert!(m.due_for_renewal(t("2026-12-06T03:10:00Z")));
        assert!(m.live(t("2026-12-06T03:14:59Z")));
        assert!(!m.live(t("2026-12-06T03:15:00Z")));
        let released = Mark {
            run: RELEASED.to_owned(),
            ..m.clone()
        };
        assert!(!released.live(t("2026-12-06T03:00:01Z")));
    }

    #[test]
    fn a_forged_or_broken_mark_does_not_hold() {
        let future = Mark::new("s-0123456789", "x", t("2027-06-01T00:00:00Z")).to_tag_value();
        assert!(matches!(
            read(&tags(&future), t("2026-12-06T03:00:00Z")),
            MarkState::Unreadable { .. }
        ));
        for bad in [
            "",
            "target=s-1 by=x",
            "hello",
            "target=s-0123456789 since=x renewed=y by=z",
        ] {
            assert!(
                matches!(
                    read(&tags(bad), t("2026-12-06T03:00:00Z")),
                    MarkState::Unreadable { .. }
                ),
                "{bad:?}"
            );
        }
        assert_eq!(read(&[], t("2026-12-06T03:00:00Z")), MarkState::Absent);
    }

    #[test]
    fn a_run_leaves_a_marked_directory_alone_only_while_the_mark_holds() {
        let v = Mark::new("s-0123456789", "cli a@b", t("2026-12-06T03:00:00Z")).to_tag_value();
        let mut d = Directory {
            id: "d-0123456789".into(),
            name: "corp.example.com".into(),
            kind: crate::model::DirectoryType::MicrosoftAd,
            stage: Stage::Active,
            primary_region: None,
            launch_time: None,
            stage_reason: None,
            stage_since: Some(t("2026-11-01T00:00:00Z")),
        };
        let skip = run_skip(&read(&tags(&v), t("2026-12-06T04:00:00Z")), &d).unwrap();
        assert_eq!(skip.reason, SkipReason::RestoreUnderWay);
        assert!(skip.message.contains("s-0123456789"), "{}", skip.message);
        assert!(run_skip(&read(&tags(&v), t("2026-12-06T06:00:00Z")), &d).is_none());
        // Sent, and the directory Active again since: the restore has ended.
        let mut m = Mark::parse(&v).unwrap();
        m.sent = Some(t("2026-12-06T03:10:00Z"));
        let sent = m.to_tag_value();
        let at = t("2026-12-06T04:00:00Z");
        assert!(
            run_skip(&read(&tags(&sent), at), &d).is_some(),
            "active since before the send"
        );
        d.stage = Stage::Restoring;
        d.stage_since = Some(t("2026-12-06T03:10:01Z"));
        assert!(
            run_skip(&read(&tags(&sent), at), &d).is_some(),
            "still restoring"
        );
        d.stage = Stage::Active;
        d.stage_since = Some(t("2026-12-06T03:40:00Z"));
        assert!(run_skip(&read(&tags(&sent), at), &d).is_none(), "ended");
    }
}
