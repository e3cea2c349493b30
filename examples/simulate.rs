//! `cargo run --example simulate -- [options]` (or `make simulate`): the restore reach of each
//! retention mode over years of a schedule, with the real keeper over the in-memory service.
//!
//! It prints, per mode, the minimum, median and maximum age of the newest and of the oldest
//! restorable point (after the warm-up), the largest gap between two restore points, and how
//! long the simulation took; with `--svg FILE` it draws the restore points of the last simulated year, one
//! lane per mode. Settings are read as the keeper reads them (`RETAIN_COUNT`, `TIERS`, ...
//! from the options), so a setting the keeper would refuse is refused here with the same words.

use std::collections::HashMap;
use std::time::Instant;

use ds_snapshot_keeper::cli::print_line;
use ds_snapshot_keeper::settings::Settings;
use ds_snapshot_keeper::simulate::{self, svg, Reach, Schedule, Simulation};

const USAGE: &str = "usage: cargo run --example simulate -- [--years N] [--every-hours H] \
[--fail-percent P] [--seed S] [--tiers D[,D...]] [--retain N] [--reserved N] \
[--warn-age-days N] [--warm-up-days N] [--svg FILE]
  --years N          simulated years (default 2)
  --every-hours H    hours between scheduled runs (default 24: daily; 168: weekly)
  --fail-percent P   percent of runs that fail at random (default 0)
  --seed S           the random failures' seed (default 1)
  --tiers D,...      TIERS of the tiered lane (default 35)
  --retain N         RETAIN_COUNT (default 3)
  --reserved N       RESERVED_SLOTS (default 1)
  --warn-age-days N  WARN_AGE_DAYS (default 150)
  --warm-up-days N   days left out of the figures (default 60)
  --svg FILE         draw the restore points of one year (the last simulated one)";

struct Options {
    years: u32,
    every_hours: u32,
    fail_percent: u32,
    seed: u64,
    warm_up_days: u32,
    svg: Option<String>,
    env: HashMap<String, String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        years: 2,
        every_hours: 24,
        fail_percent: 0,
        seed: 1,
        warm_up_days: 60,
        svg: None,
        env: HashMap::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        let at_least_one = |n: u64| {
            if n == 0 {
                Err(format!("{arg} 0: expected at least 1"))
            } else {
                Ok(n)
            }
        };
        let number = |v: String, max: u64| {
            v.parse::<u64>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or(format!("{arg} {v:?}: expected a whole number up to {max}"))
        };
        match arg.as_str() {
            "--years" => o.years = at_least_one(number(value()?, 20)?)? as u32,
            "--every-hours" => o.every_hours = at_least_one(number(value()?, 24 * 31)?)? as u32,
            "--fail-percent" => o.fail_percent = number(value()?, 100)? as u32,
            "--seed" => o.seed = number(value()?, u64::MAX)?,
            "--warm-up-days" => o.warm_up_days = number(value()?, 3650)? as u32,
            "--svg" => o.svg = Some(value()?),
            "--tiers" => {
                o.env.insert("TIERS".into(), value()?);
            }
            "--retain" => {
                o.env.insert("RETAIN_COUNT".into(), value()?);
            }
            "--reserved" => {
                o.env.insert("RESERVED_SLOTS".into(), value()?);
            }
            "--warn-age-days" => {
                o.env.insert("WARN_AGE_DAYS".into(), value()?);
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

fn settings(env: &HashMap<String, String>, retention: &str) -> Result<Settings, String> {
    let mut env = env.clone();
    env.insert("RETENTION".into(), retention.into());
    Settings::from_lookup(|k| env.get(k).cloned()).map_err(|e| e.to_string())
}

fn count(n: u32, noun: &str) -> String {
    ds_snapshot_keeper::render::count(n as usize, noun)
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("-".to_owned(), |v| format!("{v:.1}"))
}

fn row(name: &str, reach: &Reach, secs: f64) -> String {
    let spread = |s: Option<simulate::Spread>| {
        s.map_or("-".to_owned(), |s| {
            format!("{:.1} / {:.1} / {:.1}", s.min, s.median, s.max)
        })
    };
    format!(
        "| {name} | {} | {} | {} | {} | {} | {:.3} s |",
        spread(reach.newest),
        spread(reach.oldest),
        fmt(reach.largest_gap_days),
        fmt(reach.oldest_owned_days),
        reach.unrestorable_samples,
        secs
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match parse(&args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print_line(USAGE);
            return;
        }
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let lanes = match (settings(&o.env, "newest"), settings(&o.env, "tiered")) {
        (Ok(n), Ok(t)) => vec![("newest", n), ("tiered", t)],
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let schedule = Schedule {
        days: o.years * 365,
        every_hours: o.every_hours,
        fail_percent: o.fail_percent,
        seed: o.seed,
    };
    let start: jiff::Timestamp = "2027-01-01T05:00:00Z".parse().expect("a valid start");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let warm_up = i64::from(o.warm_up_days) * 86_400;
    print_line(&format!(
        "{}, a run every {}, {}% of runs failing (seed {}), quota 5, from day {}:\n",
        count(o.years, "year"),
        count(o.every_hours, "hour"),
        o.fail_percent,
        o.seed,
        o.warm_up_days
    ));
    print_line("| mode | newest point, days (min / median / max) | oldest restorable point, days (min / median / max) | largest gap, days | oldest kept, days | unrestorable instants | simulated in |");
    print_line("|---|---|---|---|---|---|---|");
    let mut sims: Vec<(String, Simulation)> = Vec::new();
    for (mode, s) in lanes {
        let label = match mode {
            "tiered" => format!("tiered, TIERS={}", s.retention.tiers_setting()),
            _ => format!("newest, RETAIN_COUNT={}", s.retain),
        };
        let began = Instant::now();
        let sim = rt.block_on(simulate::simulate(s, start, &schedule));
        let secs = began.elapsed().as_secs_f64();
        print_line(&row(&label, &sim.reach(warm_up), secs));
        sims.push((label, sim));
    }
    if let Some(path) = o.svg {
        let end = i64::from(schedule.days) * 86_400;
        let from = (end - 365 * 86_400).max(0);
        let warn = sims[0].1.keeper.settings.warn_age_days;
        let lanes: Vec<svg::Lane> = sims
            .iter()
            .map(|(label, sim)| {
                let r = sim.reach(warm_up);
                svg::Lane {
                    title: format!(
                        "{label}: oldest restorable point {} to {} days old",
                        fmt(r.oldest.map(|s| s.min)),
                        fmt(r.oldest.map(|s| s.max))
                    ),
                    lives: &sim.lives,
                }
            })
            .collect();
        let title = format!(
            "Restore points in the last simulated year, days {} to {}\nA run every {}, quota 5, RESERVED_SLOTS={}, {}% of runs failing; the age axis ends at the 180-day restore limit",
            from / 86_400,
            end / 86_400,
            count(o.every_hours, "hour"),
            sims[0].1.keeper.settings.reserved_slots,
            o.fail_percent
        );
        let picture = svg::svg(&title, &lanes, from, end, warn);
        if let Err(e) = std::fs::write(&path, picture) {
            eprintln!("error: {path}: {e}");
            std::process::exit(1);
        }
        print_line(&format!("\nwrote {path}"));
    }
}
