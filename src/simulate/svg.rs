//! The restore points of a simulation as a picture: one lane per mode, time across, age up.
//!
//! Each restore point is a line that starts at age 0 when the snapshot is taken and climbs one
//! day per day until it is deleted; the shaded area under them is the restore reach, how far
//! back the directory could be restored on each day. The age axis always runs to the 180-day
//! restore limit, the line that gives the picture its meaning, on a square-root scale so that
//! a reach of 3 days is as legible as one of 70. Plain SVG, drawn here: no network, no
//! plotting library.

use std::fmt::Write as _;

use std::collections::BTreeMap;

use super::Life;

const WIDTH: f64 = 960.0;
const LANE: f64 = 190.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 52.0;
const DAY: f64 = 86_400.0;

/// One lane: its title and the restore points of its simulation (`Simulation::lives`).
pub struct Lane<'a> {
    pub title: String,
    pub lives: &'a BTreeMap<String, Life>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The age scale: days to a fraction of the lane's height (square root, 0 to 180 days).
fn scale(age_days: f64) -> f64 {
    (age_days.clamp(0.0, LIMIT_DAYS) / LIMIT_DAYS).sqrt()
}

/// The age gridlines, labelled.
const TICKS: [f64; 9] = [1.0, 7.0, 14.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0];

/// The restore limit, where the age axis ends.
const LIMIT_DAYS: f64 = 180.0;

/// How far back a lane could restore at `t`: the oldest restore point alive then and under
/// the limit, in days (0 when there is none).
fn reach_at(lives: &BTreeMap<String, Life>, t: i64) -> f64 {
    lives
        .values()
        .filter(|l| l.start <= t && t <= l.last_seen)
        .map(|l| (t - l.start) as f64 / DAY)
        .filter(|age| *age < LIMIT_DAYS)
        .fold(0.0, f64::max)
}

/// Draw the restore points of each lane between `from` and `to` (seconds after the start),
/// with `WARN_AGE_DAYS` and the 180-day limit as dashed lines.
pub fn svg(title: &str, lanes: &[Lane], from: i64, to: i64, warn_age_days: i64) -> String {
    let span = (to - from).max(1) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let height = TOP + LANE * lanes.len() as f64 + 44.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    out.push_str(r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    // The title's first line in bold, a second one (the schedule) beneath it.
    for (i, line) in title.lines().take(2).enumerate() {
        let _ = writeln!(
            out,
            r##"<text x="{LEFT}" y="{}" font-size="{}"{}>{}</text>"##,
            20 + 18 * i,
            if i == 0 { 15 } else { 13 },
            if i == 0 { r#" font-weight="bold""# } else { "" },
            escape(line)
        );
    }
    for (i, lane) in lanes.iter().enumerate() {
        let top = TOP + LANE * i as f64 + 22.0;
        let bottom = TOP + LANE * (i + 1) as f64 - 12.0;
        let h = bottom - top;
        let x = |secs: i64| LEFT + ((secs - from) as f64 / span).clamp(0.0, 1.0) * plot_w;
        let y = |age_days: f64| bottom - scale(age_days) * h;
        let _ = writeln!(
            out,
            r##"<text x="{LEFT}" y="{}" font-weight="bold">{}</text>"##,
            top - 6.0,
            escape(&lane.title)
        );
        let _ = writeln!(
            out,
            r##"<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{h}" fill="#f6f8fa" stroke="#d0d7de"/>"##
        );
        for age in TICKS {
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#e1e4e8"/><text x="{}" y="{:.1}" text-anchor="end" fill="#57606a">{age:.0} d</text>"##,
                LEFT + plot_w,
                LEFT - 6.0,
                y(age) + 4.0,
                yy = y(age)
            );
        }
        // The reach: the area under the oldest restorable point, sampled every 6 hours.
        let mut points = vec![format!("{:.1},{:.1}", x(from), y(0.0))];
        let mut t = from;
        while t <= to {
            points.push(format!("{:.1},{:.1}", x(t), y(reach_at(lane.lives, t))));
            t += 6 * 3600;
        }
        points.push(format!("{:.1},{:.1}", x(to), y(0.0)));
        let _ = writeln!(
            out,
            r##"<polygon class="reach" points="{}" fill="#ddf4ff" stroke="#54aeff" stroke-width="1"/>"##,
            points.join(" ")
        );
        // The limit's label above its line, WARN_AGE_DAYS's below its own: they are close.
        for (limit, colour, label, dy) in [
            (warn_age_days as f64, "#bf8700", "WARN_AGE_DAYS", 12.0),
            (LIMIT_DAYS, "#cf222e", "180-day restore limit", -4.0),
        ] {
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="{colour}" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" text-anchor="end" fill="{colour}">{label}</text>"##,
                LEFT + plot_w,
                LEFT + plot_w - 4.0,
                y(limit) + dy,
                yy = y(limit)
            );
        }
        // Each restore point: from its start (age 0) to the last time it was seen, a curve
        // on the square-root scale (eight segments).
        for life in lane.lives.values() {
            if life.last_seen < from || life.start > to {
                continue;
            }
            let a = life.start.max(from);
            let b = life.last_seen.min(to);
            let age = |t: i64| (t - life.start) as f64 / DAY;
            let colour = if life.owned { "#0969da" } else { "#8c959f" };
            let curve: Vec<String> = (0..=8)
                .map(|k| a + (b - a) * k / 8)
                .map(|t| format!("{:.1},{:.1}", x(t), y(age(t))))
                .collect();
            let _ = writeln!(
                out,
                r##"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.2"/>"##,
                curve.join(" ")
            );
        }
    }
    // Time axis: a tick every 30 days.
    let axis = TOP + LANE * lanes.len() as f64;
    let mut day = 0;
    while f64::from(day) * DAY <= span {
        let xx = LEFT + f64::from(day) * DAY / span * plot_w;
        let _ = writeln!(
            out,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{}" y2="{}" stroke="#57606a"/><text x="{xx:.1}" y="{}" text-anchor="middle" fill="#57606a">day {}</text>"##,
            axis - 12.0,
            axis - 6.0,
            axis + 8.0,
            (from as f64 / DAY) as i64 + i64::from(day)
        );
        day += 30;
    }
    let _ = writeln!(
        out,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="#57606a">days since the first run</text>"##,
        LEFT + plot_w / 2.0,
        axis + 22.0
    );
    let _ = writeln!(
        out,
        r##"<text x="{}" y="{}" text-anchor="end" fill="#57606a">each line is one restore point, its height its age (square-root scale); blue: the keeper's, grey: others'; shaded: how far back a restore could go</text>"##,
        LEFT + plot_w,
        axis + 38.0
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    fn sim(lives: &[(i64, i64)]) -> BTreeMap<String, Life> {
        let mut s = BTreeMap::new();
        for (i, (start, last_seen)) in lives.iter().enumerate() {
            s.insert(
                format!("s-{i}"),
                Life {
                    start: start * 86_400,
                    last_seen: last_seen * 86_400,
                    owned: true,
                },
            );
        }
        s
    }

    #[test]
    fn the_age_axis_runs_to_the_limit_even_for_a_lane_of_young_points() {
        let young = sim(&[(0, 3), (1, 4), (2, 5)]);
        let picture = svg(
            "t",
            &[Lane {
                title: "newest".into(),
                lives: &young,
            }],
            0,
            5 * 86_400,
            150,
        );
        assert!(
            picture.contains(">180 d</text>"),
            "the y axis reaches 180 days"
        );
        assert!(picture.contains("180-day restore limit"));
        assert!(picture.contains("WARN_AGE_DAYS"));
        assert!(picture.contains("days since the first run"));
        // A 3-day reach is a visible fraction of the lane: sqrt(3/180) is 13 %.
        assert!(scale(3.0) > 0.12 && scale(3.0) < 0.14);
        assert_eq!(scale(180.0), 1.0);
        assert_eq!(picture.matches("class=\"reach\"").count(), 1);
    }

    #[test]
    fn the_reach_is_the_oldest_point_alive_and_under_the_limit() {
        let s = sim(&[(0, 200), (10, 20), (100, 300)]);
        let day = |d: i64| d * 86_400;
        assert_eq!(reach_at(&s, day(15)), 15.0);
        assert_eq!(reach_at(&s, day(150)), 150.0);
        // Day 190: s-0 is past 180 and restores nothing; s-2 is 90 days old.
        assert_eq!(reach_at(&s, day(190)), 90.0);
        assert_eq!(reach_at(&sim(&[]), day(1)), 0.0);
    }
}
