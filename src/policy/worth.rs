//! What a restore point is worth: the one ordering every deleting rule follows.
//!
//! Make-room, beyond-retain and headroom all give up the snapshot worth least, so the
//! retention mode is decided here and nowhere else.
//!
//! * `newest`: a snapshot is worth more the newer it is. The keeper keeps the newest
//!   `RETAIN_COUNT`.
//! * `tiered`: each tier is a period of `days` days, counted from 1970-01-01 UTC. A tier holds
//!   two snapshots: the first `Completed` one of the current period, and the first of the
//!   previous period that has one. With daily runs the previous one is between `days` and
//!   `2 × days` old, so the directory keeps a restore point that far back. The newest is worth
//!   most, then the previous-period holders (the reach), then the current-period holders
//!   (their successors), then the rest by recency, which fill what `RETAIN_COUNT` leaves.
//!
//! A tier's holder is always `Completed` (a `Creating` or `Failed` snapshot holds nothing), so
//! a holder is only ever replaced once its successor has completed; and always restorable (a
//! snapshot 180 days old or more holds nothing either).

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;

use super::guard::may_touch;
use super::Policy;
use crate::model::{Snapshot, SnapshotStatus};

const DAY_SECS: i64 = 86_400;

/// The retention mode: which restore points the keeper keeps inside the quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "mode")]
pub enum Retention {
    /// Keep the newest `RETAIN_COUNT` snapshots.
    Newest,
    /// Keep the newest, and for each tier the first snapshot of the current and of the
    /// previous period of that many days (increasing).
    Tiered { days: Vec<u32> },
}

impl Retention {
    pub fn as_str(&self) -> &'static str {
        match self {
            Retention::Newest => "newest",
            Retention::Tiered { .. } => "tiered",
        }
    }

    /// The tiers as `TIERS` writes them (`7,35`); empty in `newest` mode.
    pub fn tiers_setting(&self) -> String {
        match self {
            Retention::Newest => String::new(),
            Retention::Tiered { days } => days
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// The snapshots a mode must keep to hold all its roles: the newest, and two per tier.
    pub fn slots_needed(&self) -> u32 {
        match self {
            Retention::Newest => 1,
            Retention::Tiered { days } => 1 + 2 * days.len() as u32,
        }
    }

    /// The reach (the age of the oldest restore point, in days, from least to most over a
    /// period) that daily runs give a directory with room for `room` restore points at rest,
    /// `None` in `newest` mode. Others' manual snapshots take the room the tiers need:
    ///
    /// * room for the newest and both holders of the longest tier: `days` to `2 × days`;
    /// * room for two: the newest and one holder, which must give way to the newest at each
    ///   boundary: 1 day to `days + 1`;
    /// * room for one: the newest only, 0 to 1 day.
    ///
    /// No ordering does better with two: the one holder can only be replaced by the newest.
    pub fn reach_with_room(&self, room: u32) -> Option<(u32, u32)> {
        let Retention::Tiered { days } = self else {
            return None;
        };
        let longest = days.iter().copied().max().unwrap_or(0);
        Some(match room {
            0 | 1 => (0, 1),
            2 => (1, longest + 1),
            _ => (longest, 2 * longest),
        })
    }

    /// The oldest a tier's holder gets with daily runs: twice the longest tier (0 in `newest`).
    pub fn longest_hold_days(&self) -> u32 {
        match self {
            Retention::Newest => 0,
            Retention::Tiered { days } => 2 * days.iter().copied().max().unwrap_or(0),
        }
    }
}

/// Why a kept snapshot is worth keeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Worth {
    /// The n-th newest owned `Completed` snapshot (1 is the newest).
    Recent { rank: u32 },
    /// The first `Completed` snapshot of the current period of a `days`-day tier, or (when
    /// `previous`) of the latest earlier period that has one.
    Tier { days: u32, previous: bool },
}

impl Worth {
    /// Whether the snapshot holds a tier.
    pub fn is_tier(self) -> bool {
        matches!(self, Worth::Tier { .. })
    }
}

impl fmt::Display for Worth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Worth::Recent { rank: 1 } => f.write_str("the newest"),
            Worth::Recent { rank } => write!(f, "newest #{rank}"),
            Worth::Tier {
                days,
                previous: false,
            } => write!(f, "first of this {days}-day period"),
            Worth::Tier {
                days,
                previous: true,
            } => write!(f, "first of the previous {days}-day period"),
        }
    }
}

/// The period of a `days`-day tier that `t` falls in, counted from 1970-01-01 UTC.
fn period(t: Timestamp, days: u32) -> i64 {
    t.as_second().div_euclid(DAY_SECS * i64::from(days.max(1)))
}

/// Why a snapshot the keeper may delete restores nothing it promises to keep: such a snapshot
/// holds no role, counts towards neither `RETAIN_COUNT` nor `kept`, and is given up before any
/// restore point. The order is the order they are given up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Worthless {
    /// It ended `Failed`.
    Failed,
    /// It is 180 days old or more: AWS no longer restores it.
    Unrestorable,
    /// `tiered` only: it is `WARN_AGE_DAYS` old or more. Every tier's holder is younger than
    /// that when runs succeed; one this old was kept through missed runs or an outage, and
    /// keeping it would only raise an `expiring` warning about a snapshot the keeper chose.
    PastWarnAge,
}

/// Whether `s` is worthless under `policy` at `now` (see [`Worthless`]); `None` for a
/// `Creating` snapshot and for a restore point.
pub fn worthless(s: &Snapshot, policy: &Policy, now: Timestamp) -> Option<Worthless> {
    match s.status {
        SnapshotStatus::Creating => None,
        SnapshotStatus::Failed => Some(Worthless::Failed),
        SnapshotStatus::Completed if !s.is_restorable(now) => Some(Worthless::Unrestorable),
        SnapshotStatus::Completed
            if matches!(policy.retention, Retention::Tiered { .. })
                && s.age_days(now) >= policy.warn_age_days =>
        {
            Some(Worthless::PastWarnAge)
        }
        SnapshotStatus::Completed => None,
    }
}

/// The owned (or, with `PRUNE_UNOWNED`, manual) restore points, most worth first, each with
/// why it is worth what it is. Protected snapshots are ranked too: they count towards the
/// retain count although no rule may delete them. A [`worthless`] snapshot is not a restore
/// point and is not ranked, in any mode (the guard still keeps the newest `Completed` one,
/// whatever its age; every snapshot older than it is worthless too).
pub fn by_worth<'a>(
    all: &'a [Snapshot],
    policy: &Policy,
    now: Timestamp,
) -> Vec<(&'a Snapshot, Worth)> {
    let mut newest_first: Vec<&Snapshot> = all
        .iter()
        .filter(|s| may_touch(s, policy) && s.status == SnapshotStatus::Completed)
        .filter(|s| worthless(s, policy, now).is_none())
        .collect();
    newest_first.sort_by(|a, b| (b.start_time, &b.id).cmp(&(a.start_time, &a.id)));
    newest_first.dedup_by(|a, b| a.id == b.id);
    let recent = |i: usize| Worth::Recent { rank: i as u32 + 1 };
    let Retention::Tiered { days } = &policy.retention else {
        return newest_first
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s, recent(i)))
            .collect();
    };
    // Roles in the order of their worth: the newest, the previous periods' firsts (longest
    // tier first), the current periods' firsts, then the rest by recency.
    let mut roles: Vec<(&Snapshot, Worth)> = Vec::new();
    if let Some(newest) = newest_first.first() {
        roles.push((newest, recent(0)));
    }
    let oldest_first: Vec<&Snapshot> = newest_first.iter().rev().copied().collect();
    for previous in [true, false] {
        for &d in days.iter().rev() {
            let current = period(now, d);
            let holder = if previous {
                // The latest earlier period that has a snapshot, and its first one.
                oldest_first
                    .iter()
                    .filter(|s| period(s.start_time, d) < current)
                    .map(|s| period(s.start_time, d))
                    .max()
                    .and_then(|p| oldest_first.iter().find(|s| period(s.start_time, d) == p))
            } else {
                oldest_first
                    .iter()
                    .find(|s| period(s.start_time, d) == current)
            };
            if let Some(s) = holder {
                roles.push((s, Worth::Tier { days: d, previous }));
            }
        }
    }
    for (i, s) in newest_first.iter().enumerate() {
        roles.push((s, recent(i)));
    }
    // Each snapshot once, at its most valuable role.
    let mut out: Vec<(&Snapshot, Worth)> = Vec::with_capacity(newest_first.len());
    for (s, w) in roles {
        if !out.iter().any(|(seen, _)| seen.id == s.id) {
            out.push((s, w));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    // The policy tests' fixtures: snapshots placed on absolute days, where periods begin.
    use crate::policy::tests::{at_day as at, owned_on_day as owned, tiered_policy};

    fn tiered(days: &[u32]) -> Policy {
        tiered_policy(days, Policy::default().warn_age_days)
    }

    #[test]
    fn a_tier_holds_the_first_of_this_and_of_the_previous_period() {
        // Day 70 falls in the 35-day period [70, 105); the previous one is [35, 70).
        let all: Vec<Snapshot> = (30..=71).map(|d| owned(&format!("d{d}"), d)).collect();
        let ranked = by_worth(&all, &tiered(&[35]), at(71));
        let top: Vec<(&str, String)> = ranked[..4]
            .iter()
            .map(|(s, w)| (s.id.as_str(), w.to_string()))
            .collect();
        assert_eq!(
            top,
            vec![
                ("d71", "the newest".to_owned()),
                ("d35", "first of the previous 35-day period".to_owned()),
                ("d70", "first of this 35-day period".to_owned()),
                ("d69", "newest #3".to_owned()),
            ]
        );
        assert_eq!(ranked.len(), all.len(), "every snapshot ranked once");
    }

    #[test]
    fn a_period_with_no_snapshot_hands_the_role_to_the_latest_earlier_one() {
        // Nothing in [35, 70) (an outage): the previous holder is the first of [0, 35).
        let all = vec![owned("d3", 3), owned("d10", 10), owned("d72", 72)];
        let ranked = by_worth(&all, &tiered(&[35]), at(72));
        assert_eq!(ranked[1].0.id, "d3");
        assert_eq!(
            ranked[1].1,
            Worth::Tier {
                days: 35,
                previous: true
            }
        );
    }

    #[test]
    fn a_snapshot_past_the_restore_limit_holds_no_tier() {
        // The only snapshot of an earlier period is 200 days old: it restores nothing, so the
        // previous role stays empty rather than keep it.
        let all = vec![owned("old", 0), owned("d199", 199), owned("d200", 200)];
        let ranked = by_worth(&all, &tiered(&[35]), at(200));
        assert!(
            ranked.iter().all(|(s, w)| !(s.id == "old" && w.is_tier())),
            "{ranked:?}"
        );
    }

    #[test]
    fn newest_mode_ranks_by_recency_only() {
        let all = vec![owned("a", 1), owned("b", 50), owned("c", 30)];
        let ranked = by_worth(&all, &Policy::default(), at(51));
        let ids: Vec<&str> = ranked.iter().map(|(s, _)| s.id.as_str()).collect();
        assert_eq!(ids, vec!["b", "c", "a"]);
    }

    #[test]
    fn slots_and_reach_of_a_mode() {
        let r = Retention::Tiered { days: vec![7, 35] };
        assert_eq!(r.slots_needed(), 5);
        assert_eq!(r.longest_hold_days(), 70);
        assert_eq!(Retention::Newest.slots_needed(), 1);
    }
}
