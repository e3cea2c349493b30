//! Restore reach over years (issue 21): the real keeper over the in-memory service, through the
//! simulator users run (`src/simulate`), with the targets asserted on the simulated outcome.
//!
//! Targets (two simulated years, daily runs, quota 5, `RESERVED_SLOTS=1`):
//! * `newest` is unchanged: its oldest restore point is about 3 days old;
//! * the recommended `tiered` (`TIERS=35`): after the first 60 days the oldest restorable point
//!   is never under 30 days old, the newest never over 1 day old after a run that succeeded,
//!   and no kept snapshot ever reaches `WARN_AGE_DAYS`;
//! * with 10% of runs failing: the same, but the newest point's age follows the failures; no
//!   run leaves more owned snapshots than the mode retains, and the reserved slot is free after
//!   every clean run.

use std::collections::HashMap;

use ds_snapshot_keeper::model::{CreatedState, SnapshotStatus};
use ds_snapshot_keeper::policy::{self, Policy, Rule};
use ds_snapshot_keeper::request::{Action, Request};
use ds_snapshot_keeper::settings::Settings;
use ds_snapshot_keeper::simulate::{simulate, Failure, Schedule, Simulation, XorShift};
use jiff::Timestamp;

const DAY: i64 = 86_400;
const WARM_UP: i64 = 60 * DAY;

fn start() -> Timestamp {
    "2027-01-01T05:00:00Z".parse().unwrap()
}

fn settings(pairs: &[(&str, &str)]) -> Settings {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|k| map.get(k).cloned()).expect("valid settings")
}

fn tiered() -> Settings {
    settings(&[("RETENTION", "tiered")])
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

fn two_years(settings: Settings, fail_percent: u32, seed: u64) -> Simulation {
    let schedule = Schedule {
        days: 730,
        every_hours: 24,
        fail_percent,
        seed,
    };
    runtime().block_on(simulate(settings, start(), &schedule))
}

#[test]
fn newest_is_the_baseline_it_always_was() {
    let sim = two_years(Settings::default(), 0, 1);
    let reach = sim.reach(WARM_UP);
    let oldest = reach.oldest.unwrap();
    assert!(
        (2.0..=3.0).contains(&oldest.min) && oldest.max <= 3.0 + 1e-9,
        "{oldest:?}"
    );
    assert!(reach.newest.unwrap().max <= 1.0);
    assert_eq!(reach.unrestorable_samples, 0);
}

#[test]
fn recommended_tiers_keep_a_point_at_least_30_days_old_and_never_warn() {
    let sim = two_years(tiered(), 0, 1);
    let reach = sim.reach(WARM_UP);
    let oldest = reach.oldest.unwrap();
    assert!(oldest.min >= 30.0, "oldest restorable point: {oldest:?}");
    assert!(oldest.max <= 70.0 + 1e-9, "{oldest:?}");
    for s in sim.samples.iter().filter(|s| s.after_run) {
        assert!(
            s.newest_days.unwrap() <= 1.0,
            "day {}: newest {:?}",
            s.at / DAY,
            s.newest_days
        );
    }
    for s in &sim.samples {
        assert!(
            s.oldest_owned_days.unwrap_or(0.0) < 150.0,
            "day {}: a kept snapshot reached WARN_AGE_DAYS",
            s.at / DAY
        );
        assert!(s.newest_days.unwrap_or(2.0) <= 1.0 || !s.after_run);
    }
    // The reach is real: it is not the newest mode's.
    assert!(oldest.median > 10.0 * 3.0);
}

#[test]
fn with_ten_percent_of_runs_failing_the_targets_hold() {
    for seed in [1u64, 2, 3, 7, 42] {
        for (mode, s) in [("newest", Settings::default()), ("tiered", tiered())] {
            let retain = s.retain as usize;
            let sim = two_years(s, 10, seed);
            if mode == "tiered" {
                let oldest = sim.reach(WARM_UP).oldest.unwrap();
                assert!(oldest.min >= 30.0, "seed {seed}: {oldest:?}");
            }
            let mut last_success: Option<i64> = None;
            for s in &sim.samples {
                assert!(s.manual_in_use as u32 <= s.manual_limit);
                assert!(
                    s.oldest_owned_days.unwrap_or(0.0) < 150.0,
                    "{mode} seed {seed}"
                );
                if s.after_run {
                    assert!(
                        s.owned <= retain,
                        "{mode} seed {seed} day {}: {} owned, retain {retain}",
                        s.at / DAY,
                        s.owned
                    );
                }
                if s.after_clean_run {
                    last_success = Some(s.at);
                    assert!(
                        s.manual_limit as usize - s.manual_in_use >= 1,
                        "{mode} seed {seed} day {}: the reserved slot is taken",
                        s.at / DAY
                    );
                    assert!(s.newest_days.unwrap() <= 1.0);
                }
                // The newest point's age follows the failures: never older than the last
                // clean run.
                if let (Some(t), Some(newest)) = (last_success, s.newest_days) {
                    assert!(newest <= (s.at - t) as f64 / DAY as f64 + 1.0 + 1e-9);
                }
            }
        }
    }
}

/// The owned snapshots the run's deletions came from, and which rules chose them.
fn deleted(report: &ds_snapshot_keeper::RunReport) -> Vec<(String, Rule)> {
    report
        .directories
        .iter()
        .flat_map(|d| d.deleted.iter().filter(|x| x.done))
        .map(|x| (x.deletion.snapshot_id.clone(), x.deletion.rule))
        .collect()
}

/// The snapshots `settings` would keep of the inventory, if the run's new snapshot (now)
/// completed: its `RETAIN_COUNT` most worth.
fn would_keep(sim: &Simulation, settings: &Settings, now: Timestamp) -> Vec<String> {
    let mut all = sim.keeper.ds.snapshots();
    all.push(ds_snapshot_keeper::model::Snapshot {
        id: "(new)".to_owned(),
        directory_id: ds_snapshot_keeper::simulate::DIRECTORY_ID.to_owned(),
        name: Some(format!("keeper-{}", now.strftime("%Y%m%dT%H%M%SZ"))),
        kind: ds_snapshot_keeper::model::SnapshotType::Manual,
        status: SnapshotStatus::Completed,
        start_time: now,
    });
    let policy = Policy::from(settings);
    policy::by_worth(&all, &policy, now)
        .into_iter()
        .take(settings.retain as usize)
        .map(|(s, _)| s.id.clone())
        .collect()
}

#[test]
fn real_life_outages_bursts_manual_snapshots_schedule_and_mode_changes() {
    let rt = runtime();
    let mut sim = Simulation::new(Settings::default(), start());
    let mut rng = XorShift::new(9);
    let run = Request::manual(Action::Run);
    let mut last_created: Option<i64> = None;
    let mut check = |sim: &Simulation, t: i64, report: &ds_snapshot_keeper::RunReport| {
        let all = sim.keeper.ds.snapshots();
        let manual = all
            .iter()
            .filter(|s| s.kind == ds_snapshot_keeper::model::SnapshotType::Manual)
            .count();
        assert!(manual <= 5, "day {}: quota exceeded", t / DAY);
        // Someone else's snapshot is never deleted.
        assert!(
            deleted(report)
                .iter()
                .all(|(id, _)| !id.starts_with("s-00e")),
            "day {}",
            t / DAY
        );
        if let Some(c) = &report.directories[0].created {
            if c.status == CreatedState::Completed {
                last_created = Some(t);
            }
        }
        // A restore point at least as fresh as the last snapshot the keeper completed.
        let newest = sim.samples.last().unwrap().newest_days.unwrap();
        assert!(newest <= (t - last_created.unwrap()) as f64 / DAY as f64 + 1e-9);
        assert!(sim.samples.last().unwrap().oldest_owned_days.unwrap() < 150.0);
    };
    let mut t = 0;
    // Days 0-99: newest, daily, 10% failing.
    while t < 100 * DAY {
        let failure = rng.chance(10).then_some(Failure::CreateRefused);
        let r = rt.block_on(sim.run_at(t, &run, failure));
        check(&sim, t, &r);
        t += DAY;
    }
    // Day 100: switch to tiered. The switch deletes nothing tiered would keep, and no more
    // than newest would have deleted on the same inventory.
    let tiered_settings = tiered();
    let keep = would_keep(&sim, &tiered_settings, sim.time(t));
    let newest_would = {
        let mut shadow = Simulation::new(Settings::default(), start());
        for s in sim.keeper.ds.snapshots() {
            shadow.keeper.ds.add_snapshot(s);
        }
        let r = rt.block_on(shadow.run_at(t, &run, None));
        deleted(&r).len()
    };
    sim.reconfigure(|s| *s = tiered_settings.clone());
    let r = rt.block_on(sim.run_at(t, &run, None));
    check(&sim, t, &r);
    let gone = deleted(&r);
    assert!(
        gone.iter().all(|(id, _)| !keep.contains(id)),
        "{gone:?} {keep:?}"
    );
    assert!(gone.len() <= newest_would + 1, "{gone:?} vs {newest_would}");
    t += DAY;
    // Days 101-199: tiered, daily, with a week's outage, bursts, a manual snapshot, dry runs
    // and someone else's manual snapshot.
    while t < 200 * DAY {
        let day = t / DAY;
        if (150..157).contains(&day) {
            sim.observe(t);
            t += DAY;
            continue;
        }
        if day == 180 {
            sim.add_unowned(t - 3600, "before-upgrade");
        }
        if day == 170 {
            // Before a schema extension: a forced `snapshot` in the afternoon.
            let manual = Request {
                force: true,
                ..Request::manual(Action::Snapshot)
            };
            let r = rt.block_on(sim.run_at(t + 8 * 3600, &manual, None));
            check(&sim, t + 8 * 3600, &r);
            assert!(deleted(&r)
                .iter()
                .all(|(_, rule)| matches!(rule, Rule::Failed | Rule::Headroom)));
        }
        let dry = (175..178).contains(&day);
        if dry {
            sim.reconfigure(|s| s.dry_run = true);
        }
        let before = sim.keeper.ds.snapshots();
        // Several runs a day for a while (every 6 hours).
        let runs = if (160..166).contains(&day) { 4 } else { 1 };
        for i in 0..runs {
            let at = t + i * 6 * 3600;
            let failure = rng.chance(10).then_some(Failure::SnapshotFailed);
            let r = rt.block_on(sim.run_at(at, &run, failure));
            check(&sim, at, &r);
        }
        if dry {
            assert_eq!(
                sim.keeper.ds.snapshots(),
                before,
                "day {day}: a dry run changed something"
            );
            sim.reconfigure(|s| s.dry_run = false);
        }
        t += DAY;
    }
    // The tiered reach held through it all once built (35 days after the switch plus the
    // outage): a point at least 28 days old (the outage and bursts shift the firsts by days).
    let reach = sim.reach(170 * DAY);
    assert!(reach.oldest.unwrap().min >= 28.0, "{:?}", reach.oldest);
    // Days 200-339: weekly.
    sim.reconfigure(|s| s.min_interval = std::time::Duration::from_secs(3600));
    while t < 340 * DAY {
        let r = rt.block_on(sim.run_at(t, &run, None));
        check(&sim, t, &r);
        sim.observe(t + 7 * DAY - 1);
        t += 7 * DAY;
    }
    let weekly = sim.reach(250 * DAY);
    assert!(weekly.oldest.unwrap().min >= 28.0, "{:?}", weekly.oldest);
    assert!(weekly.newest.unwrap().max <= 7.0 + 1e-9);
    // Day 340: back to newest, daily. Nothing the newest mode keeps is deleted, and the
    // deletions are those of newest: the owned snapshots beyond RETAIN_COUNT.
    let newest = Settings::default();
    let keep = would_keep(&sim, &newest, sim.time(t));
    sim.reconfigure(|s| *s = newest.clone());
    let r = rt.block_on(sim.run_at(t, &run, None));
    check(&sim, t, &r);
    assert!(deleted(&r).iter().all(|(id, _)| !keep.contains(id)));
    t += DAY;
    while t < 400 * DAY {
        let r = rt.block_on(sim.run_at(t, &run, None));
        check(&sim, t, &r);
        t += DAY;
    }
    let back = sim.reach(350 * DAY);
    assert!(back.oldest.unwrap().max <= 180.0);
    assert_eq!(back.unrestorable_samples, 0);
}

/// Two years of daily tiered runs (`TIERS=35`) beside `theirs` manual snapshots someone else
/// took before the first run. Returns the oldest owned restore point's age over the samples
/// after the warm-up (after each run and just before the next), and every run's
/// `tiers-short-of-room` flag messages.
fn tiered_beside(
    theirs: usize,
) -> (
    policy::Policy,
    ds_snapshot_keeper::simulate::Spread,
    Vec<String>,
) {
    let rt = runtime();
    let settings = tiered();
    let mut sim = Simulation::new(settings.clone(), start());
    for i in 0..theirs {
        sim.add_unowned(-(i as i64 + 1) * DAY, &format!("ops-{i}"));
    }
    let request = Request::manual(Action::Run);
    let mut messages = Vec::new();
    for day in 0..730 {
        let report = rt.block_on(sim.run_at(day * DAY, &request, None));
        assert_eq!(report.summary.failures, 0, "day {day}");
        messages.extend(
            report.directories[0]
                .flagged
                .iter()
                .filter(|f| f.code == "tiers-short-of-room")
                .map(|f| f.message.clone()),
        );
        sim.observe(day * DAY + DAY - 1);
    }
    let oldest = ds_snapshot_keeper::simulate::Spread::of(
        sim.samples
            .iter()
            .filter(|s| s.at >= WARM_UP)
            .filter_map(|s| s.oldest_owned_days),
    )
    .unwrap();
    (Policy::from(&settings), oldest, messages)
}

#[test]
fn tiered_reach_beside_others_snapshots_is_what_the_keeper_states() {
    // The quota is 5 and RESERVED_SLOTS=1: the tier needs 3 restore points (the newest and the
    // firsts of this and the previous 35-day period). 0 or 1 snapshots of someone else's leave
    // that room; 2 leave room for two, 3 for one. The keeper states the reach it gets
    // (Retention::reach_with_room, in the flag) and the simulation holds it to it.
    for theirs in 0..=3usize {
        let (policy, oldest, messages) = tiered_beside(theirs);
        let room = (5 - 1 - theirs as u32).min(policy.retain);
        let (min, max) = policy.retention.reach_with_room(room).unwrap();
        println!("{theirs} unowned: stated {min}..{max}, simulated {oldest:?}");
        assert!(
            oldest.min >= f64::from(min) - 1e-9 && oldest.max <= f64::from(max) + 1.0 + 1e-9,
            "{theirs} unowned: stated {min}..{max}, simulated {oldest:?}"
        );
        // The statement is tight, not just safe: the simulated extremes are within a day.
        assert!(
            oldest.min <= f64::from(min) + 1.0 && oldest.max >= f64::from(max) - 1.0,
            "{theirs} unowned: stated {min}..{max}, simulated {oldest:?}"
        );
        if theirs <= 1 {
            assert!(messages.is_empty(), "{theirs} unowned: {messages:?}");
            assert_eq!((min, max), (35, 70));
        } else {
            assert_eq!(messages.len(), 730, "every run says it");
            assert!(
                messages[0].contains(&format!("{min} to {max} days old instead of 35 to 70")),
                "{}",
                messages[0]
            );
        }
    }
}

/// Two years of daily tiered runs where runs fail in streaks: a streak starts on a clean day
/// with `start_percent` chance and goes on with two chances in three (mean length 3); at
/// `outage`, if set, no run happens at all for that many days. Returns the oldest owned
/// restore point's spread after the warm-up and the longest stretch without a clean run, in
/// days.
fn tiered_with_streaks(seed: u64, start_percent: u32, outage: Option<(i64, i64)>) -> (f64, f64) {
    let rt = runtime();
    let mut sim = Simulation::new(tiered(), start());
    let mut rng = XorShift::new(seed);
    let request = Request::manual(Action::Run);
    let mut in_streak = false;
    let mut last_clean = 0i64;
    let mut longest_gap = 0i64;
    for day in 0..730i64 {
        in_streak = if in_streak {
            rng.chance(67)
        } else {
            rng.chance(start_percent)
        };
        let out = outage.is_some_and(|(from, days)| day >= from && day < from + days);
        if !out {
            let failure = in_streak.then(|| {
                if rng.chance(50) {
                    Failure::CreateRefused
                } else {
                    Failure::SnapshotFailed
                }
            });
            let report = rt.block_on(sim.run_at(day * DAY, &request, failure));
            if report.summary.failures == 0 {
                longest_gap = longest_gap.max(day - last_clean);
                last_clean = day;
            }
            // No kept snapshot ever warns: nothing the keeper chose to keep is flagged.
            let d = &report.directories[0];
            assert!(
                !d.flagged.iter().any(|f| f.code == "expiring"),
                "seed {seed} day {day}: {:?}",
                d.flagged
            );
        }
        sim.observe(day * DAY + DAY - 1);
    }
    let oldest = sim
        .samples
        .iter()
        .filter(|s| s.at >= WARM_UP)
        .filter_map(|s| s.oldest_owned_days)
        .reduce(f64::min)
        .unwrap();
    (oldest, longest_gap as f64)
}

#[test]
fn failure_streaks_and_an_outage_cost_the_reach_at_most_the_days_missed() {
    // 10% of runs failing, in streaks of mean length 3 (a streak starts on 4% of clean
    // days, about 11% of runs), five seeds; then a two-week outage just after a period boundary (day 71 is the
    // second day of a 35-day period counted from 1970). The tier's promise, "35 days back, less
    // the days missed", holds with the days missed counted as the longest stretch without a
    // clean run.
    let mut rows = Vec::new();
    for seed in [1u64, 2, 3, 7, 42] {
        let (oldest, gap) = tiered_with_streaks(seed, 4, None);
        rows.push((seed, oldest, gap));
        assert!(
            oldest >= 35.0 - gap - 1.0,
            "seed {seed}: oldest {oldest:.1} days with {gap} days missed"
        );
    }
    let boundary = {
        // The first day of a 35-day period after the warm-up, in simulated days.
        let period = 35 * DAY;
        let t0 = start().as_second();
        ((t0 / period + 3) * period - t0) / DAY
    };
    let (oldest, gap) = tiered_with_streaks(5, 0, Some((boundary + 1, 14)));
    println!("streaks (seed, oldest kept min, longest days without a clean run): {rows:?}");
    println!("two-week outage after a boundary: oldest kept min {oldest:.1}, gap {gap}");
    assert!(gap >= 14.0);
    assert!(oldest >= 35.0 - gap - 1.0, "{oldest} with {gap} missed");
}

/// Daily tiered runs with `pairs` as settings for `days` days: runs on `failing` days fail
/// (the snapshot ends Failed), and no run happens on `outage` days. Returns every `expiring`
/// flag a run raised, with its day.
fn expiring_flags(
    pairs: &[(&str, &str)],
    days: i64,
    failing: &[i64],
    outage: std::ops::Range<i64>,
) -> Vec<(i64, String)> {
    let rt = runtime();
    let mut sim = Simulation::new(settings(pairs), start());
    let request = Request::manual(Action::Run);
    let mut out = Vec::new();
    for day in 0..days {
        if outage.contains(&day) {
            continue;
        }
        let failure = failing.contains(&day).then_some(Failure::SnapshotFailed);
        let report = rt.block_on(sim.run_at(day * DAY, &request, failure));
        for f in &report.directories[0].flagged {
            if f.code == "expiring" {
                out.push((day, f.message.clone()));
            }
        }
    }
    out
}

/// The first day (since the start) of a `period`-day period, at or after `after` days.
fn first_day_of_a_period(period: i64, after: i64) -> i64 {
    let p = period * DAY;
    let t0 = start().as_second();
    let first = ((t0 + after * DAY) / p + 1) * p;
    (first - t0) / DAY
}

#[test]
fn no_kept_snapshot_warns_at_the_edges_the_start_check_accepts() {
    // Issue 25's cases, each of which flagged a kept snapshot before holders past
    // WARN_AGE_DAYS held no tier.
    // TIERS=35, WARN_AGE_DAYS=71, two failed runs at a period boundary.
    let b = first_day_of_a_period(35, 100);
    let flags = expiring_flags(
        &[
            ("RETENTION", "tiered"),
            ("TIERS", "35"),
            ("WARN_AGE_DAYS", "71"),
        ],
        b + 120,
        &[b, b + 1],
        0..0,
    );
    assert!(flags.is_empty(), "{flags:?}");
    // TIERS=74 with the default 150: three failed runs at a rollover.
    let b = first_day_of_a_period(74, 160);
    let flags = expiring_flags(
        &[("RETENTION", "tiered"), ("TIERS", "74")],
        b + 200,
        &[b, b + 1, b + 2],
        0..0,
    );
    assert!(flags.is_empty(), "{flags:?}");
    // A 120-day outage, then clean runs.
    let flags = expiring_flags(&[("RETENTION", "tiered")], 260, &[], 100..220);
    assert!(flags.is_empty(), "{flags:?}");
}
