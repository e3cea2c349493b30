//! The fit rule, its advice, and the quota a run leaves.

use super::*;

#[test]
fn settings_that_exceed_the_quota_change_nothing() {
    let policy = Policy {
        retain: 4,
        ..Policy::default()
    };
    let all = vec![owned("a", Completed, 1.0)];
    let p = plan_for(&all, &policy, Action::Run);
    assert_eq!(p.problems[0].code, "SettingsExceedQuota");
    assert!(
        p.problems[0].message.contains(
            "set RETAIN_COUNT to 3 or less (keeping RESERVED_SLOTS=1), or set RESERVED_SLOTS=0 \
             (keeping RETAIN_COUNT=4)"
        ),
        "{}",
        p.problems[0].message
    );
    assert!(p.create.is_none() && p.deletions.is_empty());
    assert_eq!(clean_gate(&p), Err(PruneBlock::PlanProblem));
    // a report is still allowed
    assert!(plan_for(&all, &policy, Action::Report).problems.is_empty());
}

#[test]
fn a_quota_count_the_listing_does_not_support_deletes_nothing_and_is_reported() {
    // GetSnapshotLimits says 5, the listing shows 3: 0.1 deleted two restore points for nothing.
    let all = owned_completed(&[3.0, 2.0, 1.0]);
    let claimed = SnapshotLimits {
        manual_limit: 5,
        manual_count: 5,
    };
    let p = plan(&all, claimed, &Policy::default(), &intent(Action::Run));
    assert!(p.deletions.is_empty(), "{p:?}");
    assert!(p.create.is_some());
    let f = flags(&all, Some(claimed), Some(3), &Policy::default(), now());
    assert!(f
        .iter()
        .any(|f| f.code == "quota-count-disagrees" && f.message.contains("counted 5")));
    // And the reverse: the listing shows more than the count; the listing is what is planned.
    let mut five = all.clone();
    five.push(owned("d", Completed, 1.2));
    five.push(owned("e", Completed, 1.1));
    let low = SnapshotLimits {
        manual_limit: 5,
        manual_count: 3,
    };
    assert_eq!(
        plan(&five, low, &Policy::default(), &intent(Action::Run))
            .deletions
            .len(),
        1
    );
}

#[test]
fn the_quota_after_a_run_counts_every_manual_slot_and_the_restore_reach() {
    let all = vec![
        owned("s1", Completed, 200.0), // past the restore limit: not restorable
        owned("s2", Completed, 179.5), // the oldest still restorable
        owned("s3", Failed, 3.0),      // holds a slot, restores nothing
        snap("a1", None, Auto, Completed, 1.0),
        owned("s4", Creating, 0.1),
    ];
    let q = quota_after(&all, limits_of(&all), now());
    assert_eq!((q.manual_in_use, q.manual_limit, q.free_slots), (4, 5, 1));
    assert_eq!(q.oldest_restorable_age_days, Some(179.5));

    let full: Vec<Snapshot> = theirs(6);
    let q = quota_after(&full, limits_of(&full), now());
    assert_eq!(
        q.free_slots, 0,
        "never below zero when the listing exceeds the limit"
    );

    let none = vec![owned("s1", Completed, 181.0), owned("s2", Failed, 1.0)];
    let q = quota_after(&none, limits_of(&none), now());
    assert_eq!(q.oldest_restorable_age_days, None, "nothing restorable");
}

#[test]
fn settings_advice_for_tiny_quotas_can_be_followed() {
    for (limit, expected) in [
        (0, "leave it out"),
        (1, "leave it out"),
        (2, "set RETAIN_COUNT=1 and RESERVED_SLOTS=0"),
        (
            3,
            "set RETAIN_COUNT to 1 or less (keeping RESERVED_SLOTS=1)",
        ),
    ] {
        let all = vec![owned("a", Completed, 1.0)];
        let limits = SnapshotLimits {
            manual_limit: limit,
            manual_count: 1,
        };
        let p = plan(&all, limits, &Policy::default(), &intent(Action::Run));
        assert_eq!(p.problems[0].code, "SettingsExceedQuota", "{limit}");
        assert!(
            p.problems[0].message.contains(expected),
            "quota {limit}: {}",
            p.problems[0].message
        );
        // Whatever it advises is accepted by the settings (RETAIN_COUNT >= 1).
        assert!(!p.problems[0].message.contains("RETAIN_COUNT to 0"));
    }
}
