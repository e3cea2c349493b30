//! The restore points of a simulation as a picture: one lane per mode, time across, age up.
//!
//! Each restore point is a line that starts at age 0 when the snapshot is taken and climbs one
//! day per day until it is deleted, so a lane shows at a glance how far back the directory could
//! be restored on any day. Plain SVG, drawn here: no network, no plotting library.

use std::fmt::Write as _;

use super::Simulation;

const WIDTH: f64 = 960.0;
const LANE: f64 = 190.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 34.0;
const DAY: f64 = 86_400.0;

/// One lane: its title and its simulation.
pub struct Lane<'a> {
    pub title: String,
    pub sim: &'a Simulation,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Draw the restore points of each lane between `from` and `to` (seconds after the start),
/// with `WARN_AGE_DAYS` and the 180-day limit as dashed lines when they fit the scale.
pub fn svg(title: &str, lanes: &[Lane], from: i64, to: i64, warn_age_days: i64) -> String {
    let span = (to - from).max(1) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    // One age scale for every lane, so they compare: the oldest point seen, rounded up to 30.
    let oldest = lanes
        .iter()
        .flat_map(|l| l.sim.lives.values())
        .filter(|life| life.last_seen >= from && life.start <= to)
        .map(|life| (life.last_seen - life.start) as f64 / DAY)
        .fold(30.0_f64, f64::max);
    let y_max = ((oldest / 30.0).ceil() * 30.0).min(180.0);
    let height = TOP + LANE * lanes.len() as f64 + 30.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/><text x="{LEFT}" y="20" font-size="15" font-weight="bold">{}</text>"##,
        escape(title)
    );
    for (i, lane) in lanes.iter().enumerate() {
        let top = TOP + LANE * i as f64 + 22.0;
        let bottom = TOP + LANE * (i + 1) as f64 - 12.0;
        let h = bottom - top;
        let x = |secs: i64| LEFT + ((secs - from) as f64 / span).clamp(0.0, 1.0) * plot_w;
        let y = |age_days: f64| bottom - (age_days / y_max).clamp(0.0, 1.0) * h;
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
        // Age grid every 30 days, labelled.
        let mut age = 0.0;
        while age <= y_max {
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT}" x2="{}" y1="{yy}" y2="{yy}" stroke="#e1e4e8"/><text x="{}" y="{}" text-anchor="end" fill="#57606a">{age:.0} d</text>"##,
                LEFT + plot_w,
                LEFT - 6.0,
                y(age) + 4.0,
                yy = y(age)
            );
            age += 30.0;
        }
        for (limit, colour, label) in [
            (warn_age_days as f64, "#bf8700", "WARN_AGE_DAYS"),
            (180.0, "#cf222e", "180-day limit"),
        ] {
            if limit <= y_max {
                let _ = writeln!(
                    out,
                    r##"<line x1="{LEFT}" x2="{}" y1="{yy}" y2="{yy}" stroke="{colour}" stroke-dasharray="6 4"/><text x="{}" y="{}" text-anchor="end" fill="{colour}">{label}</text>"##,
                    LEFT + plot_w,
                    LEFT + plot_w - 4.0,
                    y(limit) - 4.0,
                    yy = y(limit)
                );
            }
        }
        // Each restore point: from its start (age 0) to the last time it was seen.
        for life in lane.sim.lives.values() {
            if life.last_seen < from || life.start > to {
                continue;
            }
            let a = life.start.max(from);
            let b = life.last_seen.min(to);
            let age = |t: i64| (t - life.start) as f64 / DAY;
            let colour = if life.owned { "#0969da" } else { "#8c959f" };
            let _ = writeln!(
                out,
                r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="1.6"/>"##,
                x(a),
                y(age(a)),
                x(b),
                y(age(b))
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
        r##"<text x="{}" y="{}" text-anchor="end" fill="#57606a">blue: the keeper's snapshots; each line is one restore point, its height its age</text>"##,
        LEFT + plot_w,
        axis + 24.0
    );
    out.push_str("</svg>\n");
    out
}
