//! The audit: controls an auditor can check for every directory, modelled on AWS Backup Audit
//! Manager's (a stable control id, a parameter, compliant / non-compliant / unknown, and the
//! evidence behind each answer). Pure, like the rest of the policy: the inventory, the quota
//! and now in, the findings out.

use jiff::Timestamp;
use serde::Serialize;

use super::{manual_in_use, safety, Policy};
use crate::model::{Snapshot, SnapshotLimits, SnapshotStatus, RESTORE_LIMIT_DAYS};

/// The audit's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AuditParams {
    /// `DSK-RECENT`: the newest Completed snapshot is younger than this.
    pub max_newest_age_hours: i64,
    /// `DSK-REACH`: a restorable point at least this many days old exists.
    pub min_reach_days: i64,
}

impl Default for AuditParams {
    /// A daily schedule with a few hours of slack; a week of reach.
    fn default() -> Self {
        Self {
            max_newest_age_hours: 26,
            min_reach_days: 7,
        }
    }
}

/// A control's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Compliant,
    NonCompliant,
    /// The evidence could not be read.
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Compliant => "compliant",
            Status::NonCompliant => "non-compliant",
            Status::Unknown => "unknown",
        }
    }
}

/// The controls, by their stable ids.
pub const CONTROLS: &[(&str, &str)] = &[
    (
        "DSK-RECENT",
        "the newest Completed snapshot is younger than the maximum age",
    ),
    (
        "DSK-REACH",
        "a restorable snapshot (Completed, under 180 days) reaches back at least the minimum days",
    ),
    (
        "DSK-HEADROOM",
        "at least RESERVED_SLOTS manual snapshot slots are free",
    ),
    (
        "DSK-SAFETY-HELD",
        "no restore's safety snapshot has held a slot past its stated time",
    ),
];

/// One control's finding for one directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub control: &'static str,
    pub region: String,
    pub directory_id: String,
    pub status: Status,
    /// The rule with its parameter, in words.
    pub requirement: String,
    /// What was found: ids, ages, counts.
    pub evidence: String,
}

fn hours(s: &Snapshot, now: Timestamp) -> i64 {
    (now.as_second() - s.start_time.as_second()) / 3600
}

/// Every control for one directory, from its listing and quota read at `now`.
pub fn evaluate(
    region: &str,
    directory_id: &str,
    all: &[Snapshot],
    limits: SnapshotLimits,
    policy: &Policy,
    params: AuditParams,
    now: Timestamp,
) -> Vec<Finding> {
    let finding = |control, status, requirement: String, evidence: String| Finding {
        control,
        region: region.to_owned(),
        directory_id: directory_id.to_owned(),
        status,
        requirement,
        evidence,
    };
    let mut out = Vec::new();
    let newest = super::newest_completed(all);
    out.push(finding(
        "DSK-RECENT",
        match newest {
            Some(n) if hours(n, now) < params.max_newest_age_hours => Status::Compliant,
            _ => Status::NonCompliant,
        },
        format!(
            "newest Completed snapshot younger than {} hours",
            params.max_newest_age_hours
        ),
        match newest {
            Some(n) => format!(
                "newest Completed {} started {} ({} hours ago)",
                n.id,
                n.start_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                hours(n, now)
            ),
            None => "no Completed snapshot".to_owned(),
        },
    ));
    let oldest = all
        .iter()
        .filter(|s| s.is_restorable(now))
        .min_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)));
    let restorable = all.iter().filter(|s| s.is_restorable(now)).count();
    out.push(finding(
        "DSK-REACH",
        match oldest {
            Some(o) if o.age_days(now) >= params.min_reach_days => Status::Compliant,
            _ => Status::NonCompliant,
        },
        format!(
            "a restorable snapshot at least {} days old (and under {RESTORE_LIMIT_DAYS})",
            params.min_reach_days
        ),
        match oldest {
            Some(o) => format!(
                "{restorable} restorable snapshots; the oldest, {}, is {} days old",
                o.id,
                o.age_days(now)
            ),
            None => "no restorable snapshot".to_owned(),
        },
    ));
    let in_use = manual_in_use(all);
    let free = limits.manual_limit.saturating_sub(in_use);
    out.push(finding(
        "DSK-HEADROOM",
        if free >= policy.reserved_slots {
            Status::Compliant
        } else {
            Status::NonCompliant
        },
        format!(
            "at least RESERVED_SLOTS={} free manual slots",
            policy.reserved_slots
        ),
        format!(
            "{in_use} of {} manual slots in use, {free} free",
            limits.manual_limit
        ),
    ));
    let held: Vec<&Snapshot> = all
        .iter()
        .filter(|s| safety::is_safety(s) && s.status != SnapshotStatus::Failed)
        .filter(|s| now > safety::held_until(s))
        .collect();
    let safeties = all.iter().filter(|s| safety::is_safety(s)).count();
    out.push(finding(
        "DSK-SAFETY-HELD",
        if held.is_empty() {
            Status::Compliant
        } else {
            Status::NonCompliant
        },
        format!(
            "no safety snapshot held more than {} days",
            safety::SAFETY_HOLD_DAYS
        ),
        if held.is_empty() {
            format!("{safeties} safety snapshots, none held past their time")
        } else {
            held.iter()
                .map(|s| format!("{}: {}", s.id, safety::describe(s)))
                .collect::<Vec<_>>()
                .join("; ")
        },
    ));
    out
}

/// Every control as unknown for a directory whose evidence could not be read.
pub fn unknown(region: &str, directory_id: &str, why: &str) -> Vec<Finding> {
    CONTROLS
        .iter()
        .map(|(control, requirement)| Finding {
            control,
            region: region.to_owned(),
            directory_id: directory_id.to_owned(),
            status: Status::Unknown,
            requirement: (*requirement).to_owned(),
            evidence: format!("could not be read: {why}"),
        })
        .collect()
}

/// The findings as CSV (RFC 4180): what an auditor opens in a spreadsheet.
pub fn csv(findings: &[Finding]) -> String {
    fn field(v: &str) -> String {
        if v.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.to_owned()
        }
    }
    let mut out = String::from("control,region,directory_id,status,requirement,evidence\r\n");
    for f in findings {
        out.push_str(
            &[
                f.control,
                &f.region,
                &f.directory_id,
                f.status.as_str(),
                &f.requirement,
                &f.evidence,
            ]
            .map(field)
            .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SnapshotType;

    fn now() -> Timestamp {
        "2026-12-06T06:00:00Z".parse().unwrap()
    }

    fn snap(id: &str, name: &str, hours_ago: i64) -> Snapshot {
        Snapshot {
            id: id.into(),
            directory_id: "d-0123456789".into(),
            name: Some(name.into()),
            kind: SnapshotType::Manual,
            status: SnapshotStatus::Completed,
            start_time: Timestamp::from_second(now().as_second() - hours_ago * 3600).unwrap(),
        }
    }

    fn limits() -> SnapshotLimits {
        SnapshotLimits {
            manual_limit: 5,
            manual_count: 0,
        }
    }

    fn status(f: &[Finding], control: &str) -> Status {
        f.iter().find(|f| f.control == control).unwrap().status
    }

    #[test]
    fn a_well_kept_directory_passes_every_control() {
        let all = vec![
            snap("s-0000000001", "keeper-a", 2),
            snap("s-0000000002", "keeper-b", 10 * 24),
        ];
        let f = evaluate(
            "eu-west-1",
            "d-0123456789",
            &all,
            limits(),
            &Policy::default(),
            AuditParams::default(),
            now(),
        );
        assert_eq!(f.len(), CONTROLS.len());
        assert!(f.iter().all(|f| f.status == Status::Compliant), "{f:?}");
        assert!(f[0].evidence.contains("s-0000000001") && f[0].evidence.contains("2 hours ago"));
    }

    #[test]
    fn each_control_fails_on_its_own_evidence() {
        let safety_name = safety::safety_name(
            Timestamp::from_second(now().as_second() - 9 * 86_400).unwrap(),
            "s-0000000009",
        );
        let all = vec![
            snap("s-0000000001", "keeper-a", 30),
            snap("s-0000000002", "keeper-b", 40),
            snap("s-0000000003", "theirs", 50),
            snap("s-0000000004", "theirs-2", 60),
            snap("s-0000000005", &safety_name, 9 * 24),
        ];
        let f = evaluate(
            "eu-west-1",
            "d-0123456789",
            &all,
            limits(),
            &Policy::default(),
            AuditParams::default(),
            now(),
        );
        assert_eq!(status(&f, "DSK-RECENT"), Status::NonCompliant);
        assert_eq!(
            status(&f, "DSK-REACH"),
            Status::Compliant,
            "the safety snapshot is 9 days old"
        );
        assert_eq!(status(&f, "DSK-HEADROOM"), Status::NonCompliant);
        assert_eq!(status(&f, "DSK-SAFETY-HELD"), Status::NonCompliant);
        let f = evaluate(
            "eu-west-1",
            "d-0123456789",
            &all[..2],
            limits(),
            &Policy::default(),
            AuditParams::default(),
            now(),
        );
        assert_eq!(status(&f, "DSK-REACH"), Status::NonCompliant);
        assert!(
            f[1].evidence
                .contains("the oldest, s-0000000002, is 1 days old"),
            "{}",
            f[1].evidence
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let f = unknown("eu-west-1", "d-0123456789", "AccessDenied, \"no\"");
        let text = csv(&f);
        assert!(text.starts_with("control,region,directory_id,status,requirement,evidence\r\n"));
        assert!(
            text.contains("\"could not be read: AccessDenied, \"\"no\"\"\""),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1 + CONTROLS.len());
    }
}
