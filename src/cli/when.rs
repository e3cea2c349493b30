//! `--before WHEN` the way people say it on a bad day: a duration ago (`36h`, `2d`, `90m`,
//! `1w`), `today` or `yesterday` (that day's start), a calendar date (`2026-12-05`: its
//! start), a civil time (`2026-12-05T01:00:00`), all in `--tz` (default: `TZ`, else UTC), or
//! an RFC 3339 instant. The resolved UTC instant is always printed back.

use jiff::tz::TimeZone;
use jiff::{civil, Span, Timestamp, ToSpan, ZonedDateTime};

/// The time zone `--tz` names, else `TZ`, else UTC.
pub fn zone(tz: Option<&str>) -> Result<TimeZone, String> {
    let name = match tz {
        Some(t) => Some(t.to_owned()),
        None => std::env::var("TZ").ok().filter(|t| !t.is_empty()),
    };
    let Some(name) = name else {
        return Ok(TimeZone::UTC);
    };
    let name = name.trim_start_matches(':');
    if name.eq_ignore_ascii_case("utc") || name == "Z" {
        return Ok(TimeZone::UTC);
    }
    TimeZone::get(name).map_err(|_| {
        format!(
            "time zone {}: not a name of the time zone database (Europe/Paris, America/New_York, \
             UTC) on this machine",
            crate::naming::escape_for_log(name, 40)
        )
    })
}

/// The instant `when` names, seen from `now` in `tz`.
pub fn resolve(when: &str, now: Timestamp, tz: &TimeZone) -> Result<Timestamp, String> {
    let here = now.to_zoned_datetime(tz.clone());
    let trimmed = when.trim();
    let start_of = |date: civil::Date| -> Result<Timestamp, String> {
        date.to_zoned_datetime(tz.clone())
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string())
    };
    match trimmed.to_ascii_lowercase().as_str() {
        "now" => return Ok(now),
        "today" => return start_of(here.date()),
        "yesterday" => {
            return start_of(here.date().yesterday().map_err(|e| e.to_string())?);
        }
        _ => {}
    }
    if let Ok(t) = trimmed.parse::<Timestamp>() {
        return Ok(t);
    }
    if let Some(ago) = duration_ago(trimmed) {
        return here
            .checked_sub(ago)
            .map(|z: ZonedDateTime| z.timestamp())
            .map_err(|e| e.to_string());
    }
    if let Ok(dt) = trimmed.parse::<civil::DateTime>() {
        if trimmed.contains('T') || trimmed.contains(' ') {
            return dt
                .to_zoned_datetime(tz.clone())
                .map(|z| z.timestamp())
                .map_err(|e| e.to_string());
        }
    }
    if let Ok(date) = trimmed.parse::<civil::Date>() {
        return start_of(date);
    }
    Err(format!(
        "{}: not a time; accepted: a duration ago (36h, 2d, 90m, 1w), today, yesterday, a date \
         (2026-12-05, its start), a civil time (2026-12-05T01:00:00), both in --tz (default TZ, \
         else UTC), or RFC 3339 (2026-12-05T01:00:00Z)",
        crate::naming::escape_for_log(when, 40)
    ))
}

/// `36h`, `2d`, `90m`, `1w`, `45s`: a whole number and one unit.
fn duration_ago(s: &str) -> Option<Span> {
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    if !(0..=100_000).contains(&n) {
        return None;
    }
    Some(match unit {
        's' => n.seconds(),
        'm' => n.minutes(),
        'h' => n.hours(),
        'd' => n.days(),
        'w' => n.weeks(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-12-06T03:30:00Z".parse().unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_ways_people_say_when() {
        let utc = TimeZone::UTC;
        assert_eq!(
            resolve("36h", now(), &utc).unwrap(),
            at("2026-12-04T15:30:00Z")
        );
        assert_eq!(
            resolve("1d", now(), &utc).unwrap(),
            at("2026-12-05T03:30:00Z")
        );
        assert_eq!(
            resolve("90m", now(), &utc).unwrap(),
            at("2026-12-06T02:00:00Z")
        );
        assert_eq!(
            resolve("yesterday", now(), &utc).unwrap(),
            at("2026-12-05T00:00:00Z")
        );
        assert_eq!(
            resolve("today", now(), &utc).unwrap(),
            at("2026-12-06T00:00:00Z")
        );
        assert_eq!(
            resolve("2026-12-05", now(), &utc).unwrap(),
            at("2026-12-05T00:00:00Z")
        );
        assert_eq!(
            resolve("2026-12-05T01:00:00", now(), &utc).unwrap(),
            at("2026-12-05T01:00:00Z")
        );
        assert_eq!(
            resolve("2026-12-05T01:00:00+02:00", now(), &utc).unwrap(),
            at("2026-12-04T23:00:00Z")
        );
        let e = resolve("last tuesday", now(), &utc).unwrap_err();
        assert!(e.contains("accepted: a duration ago"), "{e}");
    }

    #[test]
    fn a_date_is_read_in_the_zone_given() {
        let tokyo = TimeZone::fixed(jiff::tz::offset(9));
        // Midnight in UTC+9 is 15:00 the day before in UTC.
        assert_eq!(
            resolve("2026-12-05", now(), &tokyo).unwrap(),
            at("2026-12-04T15:00:00Z")
        );
        assert!(zone(Some("UTC")).is_ok());
        let e = zone(Some("Mars/Olympus")).unwrap_err();
        assert!(e.contains("time zone \"Mars/Olympus\""), "{e}");
    }
}
