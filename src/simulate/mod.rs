//! The restore-reach simulator: the real keeper, over the in-memory Directory Service, for
//! years of a schedule in milliseconds.
//!
//! It answers the question an operator asks before choosing a retention mode: "how far back can
//! I restore, at worst, on any day?". Each run is a full [`Keeper::run`] (plan, create, wait,
//! prune, flag) at a simulated time; failures are injected at random (a refused create, or a
//! snapshot that ends `Failed`). After each run, and again just before the next, the simulator
//! records the restore reach: the newest and the oldest restorable point, the largest gap
//! between two consecutive points, and the quota. [`svg`] draws the restore points over time,
//! one lane per mode. `examples/simulate.rs` is the command; the tests assert on the same
//! records.
//!
//! The runs sleep while they poll, so drive the simulator on a Tokio runtime with paused time
//! (`start_paused`): the sleeps then cost nothing.

pub mod svg;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::directory::memory::MemoryDirectoryService;
use crate::model::{Snapshot, SnapshotStatus, SnapshotType};
use crate::policy::{self, Policy};
use crate::report::RunReport;
use crate::request::{Action, Request};
use crate::runner::Keeper;
use crate::settings::Settings;

/// The directory every simulation manages.
pub const DIRECTORY_ID: &str = "d-5151515151";
const DAY: i64 = 86_400;

/// What can go wrong in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// `CreateSnapshot` is refused (a `ServiceException`).
    CreateRefused,
    /// The new snapshot ends `Failed`.
    SnapshotFailed,
}

/// The restore reach at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Seconds since the simulation started.
    pub at: i64,
    /// Age in days of the newest restorable point (`None`: nothing restorable).
    pub newest_days: Option<f64>,
    /// Age in days of the oldest restorable point.
    pub oldest_days: Option<f64>,
    /// The largest gap in days between two consecutive restore points.
    pub largest_gap_days: Option<f64>,
    /// The oldest owned `Completed` snapshot, in days (the one closest to `WARN_AGE_DAYS`).
    pub oldest_owned_days: Option<f64>,
    /// Owned snapshots of any status.
    pub owned: usize,
    pub manual_in_use: usize,
    pub manual_limit: u32,
    /// Right after a run that had no failure (and was not a dry run or a report).
    pub after_clean_run: bool,
    /// Right after a run (`false`: just before the next one).
    pub after_run: bool,
}

/// One snapshot's life, for the picture: from its start to the last time it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Life {
    pub start: i64,
    pub last_seen: i64,
    pub owned: bool,
}

/// Minimum, median and maximum of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(Spread {
            min: v[0],
            median: v[v.len() / 2],
            max: v[v.len() - 1],
        })
    }
}

/// The restore reach over a stretch of samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Reach {
    pub newest: Option<Spread>,
    pub oldest: Option<Spread>,
    pub largest_gap_days: Option<f64>,
    /// The oldest any owned `Completed` snapshot got.
    pub oldest_owned_days: Option<f64>,
    /// Instants with nothing restorable.
    pub unrestorable_samples: usize,
    pub samples: usize,
}

/// A small deterministic generator: the same seed gives the same failures.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.next_u64() % 100 < u64::from(percent)
    }
}

/// One simulated directory and its keeper.
pub struct Simulation {
    pub keeper: Keeper<MemoryDirectoryService>,
    clock: Arc<AtomicI64>,
    start: i64,
    pub samples: Vec<Sample>,
    pub lives: BTreeMap<String, Life>,
    /// How much later than the keeper's clock AWS dates a new snapshot (a second or two in
    /// real life; 0 by default).
    pub aws_lag_secs: i64,
    runs: u64,
}

impl Simulation {
    /// A directory with no snapshot, managed with `settings` from `start` on. Polling is set
    /// to the shortest delays (the simulated snapshots complete at the first look).
    pub fn new(settings: Settings, start: Timestamp) -> Self {
        let clock = Arc::new(AtomicI64::new(start.as_second()));
        let c = clock.clone();
        let settings = Settings {
            poll_initial: Duration::from_millis(10),
            poll_max: Duration::from_millis(10),
            wait_budget: Duration::from_secs(60),
            ..settings
        };
        let keeper = Keeper::new(
            MemoryDirectoryService::with_directory(DIRECTORY_ID),
            settings,
            "sim-1",
        )
        .with_clock(Arc::new(move || {
            Timestamp::from_second(c.load(Ordering::SeqCst)).expect("simulated time in range")
        }));
        Self {
            keeper,
            clock,
            start: start.as_second(),
            samples: Vec::new(),
            lives: BTreeMap::new(),
            aws_lag_secs: 0,
            runs: 0,
        }
    }

    /// The simulated time, `secs` after the start.
    pub fn time(&self, secs: i64) -> Timestamp {
        Timestamp::from_second(self.start + secs).expect("simulated time in range")
    }

    fn set_clock(&self, secs: i64) {
        self.clock.store(self.start + secs, Ordering::SeqCst);
        self.keeper.ds.set_now(self.time(secs + self.aws_lag_secs));
    }

    /// Change settings from the next run on (a mode switch, a new schedule's interval...).
    pub fn reconfigure(&mut self, change: impl FnOnce(&mut Settings)) {
        change(&mut self.keeper.settings);
    }

    /// A manual snapshot someone else takes at `secs`.
    pub fn add_unowned(&mut self, secs: i64, name: &str) {
        self.runs += 1;
        self.keeper.ds.add_snapshot(Snapshot {
            id: format!("s-{:010x}", 0xe000_0000u64 + self.runs),
            directory_id: DIRECTORY_ID.to_owned(),
            name: Some(name.to_owned()),
            kind: SnapshotType::Manual,
            status: SnapshotStatus::Completed,
            start_time: self.time(secs),
        });
    }

    /// Run `request` at `secs` after the start, with `failure` injected, and sample the reach.
    pub async fn run_at(
        &mut self,
        secs: i64,
        request: &Request,
        failure: Option<Failure>,
    ) -> RunReport {
        self.set_clock(secs);
        match failure {
            Some(Failure::CreateRefused) => self.keeper.ds.fail_next_create("ServiceException"),
            Some(Failure::SnapshotFailed) => self
                .keeper
                .ds
                .queue_outcome(DIRECTORY_ID, SnapshotStatus::Failed),
            None => {}
        }
        self.runs += 1;
        let request_id = format!("sim-run-{}", self.runs);
        let report = self.keeper.run(request, &request_id, None).await;
        // A refusal queued for a run that took no snapshot must not hit a later one.
        self.keeper.ds.clear_injected();
        let changed = request.action.changes_anything() && !report.dry_run;
        let clean = changed && report.summary.failures == 0;
        self.sample(secs, true, clean);
        report
    }

    /// Sample the reach at `secs` without running (just before the next run).
    pub fn observe(&mut self, secs: i64) {
        self.sample(secs, false, false);
    }

    fn sample(&mut self, secs: i64, after_run: bool, after_clean_run: bool) {
        let now = self.time(secs);
        let all = self.keeper.ds.snapshots();
        let policy = Policy::from(&self.keeper.settings);
        let days = |s: &Snapshot| (now.as_second() - s.start_time.as_second()) as f64 / DAY as f64;
        let mut points: Vec<&Snapshot> = all.iter().filter(|s| s.is_restorable(now)).collect();
        points.sort_by_key(|s| s.start_time);
        let gap = points
            .windows(2)
            .map(|w| {
                (w[1].start_time.as_second() - w[0].start_time.as_second()) as f64 / DAY as f64
            })
            .reduce(f64::max);
        let owned: Vec<&Snapshot> = all
            .iter()
            .filter(|s| policy::is_owned(s, &policy))
            .collect();
        self.samples.push(Sample {
            at: secs,
            newest_days: points.last().map(|s| days(s)),
            oldest_days: points.first().map(|s| days(s)),
            largest_gap_days: gap,
            oldest_owned_days: owned
                .iter()
                .filter(|s| s.status == SnapshotStatus::Completed)
                .map(|s| days(s))
                .reduce(f64::max),
            owned: owned.len(),
            manual_in_use: policy::manual_in_use(&all) as usize,
            manual_limit: self.keeper.ds.manual_limit,
            after_clean_run,
            after_run,
        });
        for s in all.iter().filter(|s| s.status == SnapshotStatus::Completed) {
            let life = self.lives.entry(s.id.clone()).or_insert(Life {
                start: s.start_time.as_second() - self.start,
                last_seen: secs,
                owned: policy::is_owned(s, &policy),
            });
            life.last_seen = secs;
        }
    }

    /// The reach over the samples taken from `from` seconds on.
    pub fn reach(&self, from: i64) -> Reach {
        let s: Vec<&Sample> = self.samples.iter().filter(|s| s.at >= from).collect();
        Reach {
            newest: Spread::of(s.iter().filter_map(|x| x.newest_days)),
            oldest: Spread::of(s.iter().filter_map(|x| x.oldest_days)),
            largest_gap_days: s.iter().filter_map(|x| x.largest_gap_days).reduce(f64::max),
            oldest_owned_days: s
                .iter()
                .filter_map(|x| x.oldest_owned_days)
                .reduce(f64::max),
            unrestorable_samples: s.iter().filter(|x| x.newest_days.is_none()).count(),
            samples: s.len(),
        }
    }
}

/// What [`simulate`] runs.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub days: u32,
    /// Hours between runs (24: daily, 168: weekly).
    pub every_hours: u32,
    /// Percent of runs that fail (half refused creates, half snapshots that end `Failed`).
    pub fail_percent: u32,
    pub seed: u64,
}

/// Run a schedule from `start`: a run every `every_hours`, each sampled after it and just
/// before the next. Returns the simulation for its samples and lives.
pub async fn simulate(settings: Settings, start: Timestamp, schedule: &Schedule) -> Simulation {
    let mut sim = Simulation::new(settings, start);
    let mut rng = XorShift::new(schedule.seed);
    let step = i64::from(schedule.every_hours.max(1)) * 3600;
    let end = i64::from(schedule.days) * DAY;
    let request = Request::manual(Action::Run);
    let mut t = 0;
    while t < end {
        let failure = rng.chance(schedule.fail_percent).then(|| {
            if rng.chance(50) {
                Failure::CreateRefused
            } else {
                Failure::SnapshotFailed
            }
        });
        sim.run_at(t, &request, failure).await;
        sim.observe(t + step - 1);
        t += step;
    }
    sim
}
