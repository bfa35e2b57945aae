//! Time: UTC timestamps as stored (RFC 3339, days-to-civil conversion,
//! Howard Hinnant's algorithm, no date crate needed), and the town's local
//! calendar (`jiff` with its bundled zone data) for what people see and
//! what resets daily: a French town's "today" starts at midnight in
//! Europe/Paris, summer and winter time alike, not at 01:00 or 02:00.

pub use jiff::tz::TimeZone;

/// The time zone of a town in metropolitan France.
pub const DEFAULT_ZONE: &str = "Europe/Paris";

/// The time zone named `name` (IANA, e.g. `Europe/Paris`,
/// `Indian/Reunion`), from the bundled database.
pub fn zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|e| format!("unknown time zone {name}: {e}"))
}

fn zoned(tz: &TimeZone, secs: u64) -> Option<jiff::Zoned> {
    let t = jiff::Timestamp::from_second(i64::try_from(secs).ok()?).ok()?;
    Some(t.to_zoned(tz.clone()))
}

/// The local date (`YYYY-MM-DD`) in `tz` of a Unix timestamp.
pub fn local_date(tz: &TimeZone, secs: u64) -> String {
    zoned(tz, secs).map_or_else(|| utc(secs)[..10].to_string(), |z| z.date().to_string())
}

/// Today's date in `tz`.
pub fn local_today(tz: &TimeZone) -> String {
    local_date(tz, now_secs())
}

/// The local day holding `secs` in `tz`, as Unix timestamps of its first
/// second and of the next day's (23 or 25 hours apart on the days clocks
/// change).
pub fn local_day_bounds(tz: &TimeZone, secs: u64) -> (u64, u64) {
    let bounds = zoned(tz, secs).and_then(|z| {
        let start = z.start_of_day().ok()?;
        let next = z.date().tomorrow().ok()?.to_zoned(tz.clone()).ok()?;
        Some((
            start.timestamp().as_second().max(0) as u64,
            next.timestamp().as_second().max(0) as u64,
        ))
    });
    bounds.unwrap_or((secs - secs % 86_400, secs - secs % 86_400 + 86_400))
}

/// The local date in `tz` of a stored UTC time (`2026-03-28T23:30:00Z`,
/// fractions allowed); `None` when it is not one.
pub fn local_date_of(tz: &TimeZone, stored: &str) -> Option<String> {
    let t: jiff::Timestamp = stored.parse().ok()?;
    Some(t.to_zoned(tz.clone()).date().to_string())
}

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// RFC 3339 UTC date and time of a Unix timestamp.
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Now as a file-name stamp (`2026-12-03T064418Z`: RFC 3339 without the
/// colons some file systems refuse), for backups and migration copies.
pub fn file_stamp() -> String {
    utc(now_secs()).replace(':', "")
}

/// The days since 1970-01-01 of a `YYYY-MM-DD` date; `None` unless it is
/// a day of the calendar (« 2026-02-30 » and « 2026-2-3 » are not).
pub fn days_since_epoch(date: &str) -> Option<i64> {
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = date.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    let y1 = if m <= 2 { y - 1 } else { y };
    let era = y1.div_euclid(400);
    let yoe = y1 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let n = era * 146_097 + doe - 719_468;
    // A day past the month's end rolls into the next month: refuse it.
    let back = utc((n * 86_400).max(0) as u64);
    (n >= 0 && back.get(..10) == Some(date)).then_some(n)
}

/// Whether `s` is a date (`YYYY-MM-DD`) or an RFC 3339 UTC time whose day
/// is a day of the calendar.
pub fn is_date_or_time(s: &str) -> bool {
    s.get(..10).is_some_and(|d| days_since_epoch(d).is_some())
        && (s.len() == 10 || s.as_bytes().get(10) == Some(&b'T'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_days_follow_paris_time_across_both_clock_changes() {
        use super::*;
        let paris = zone(DEFAULT_ZONE).unwrap();
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap().as_second() as u64;
        // Winter UTC+1, summer UTC+2: 23:30 UTC is already tomorrow.
        assert_eq!(local_date(&paris, at("2026-01-15T23:30:00Z")), "2026-01-16");
        assert_eq!(local_date(&paris, at("2026-06-30T22:30:00Z")), "2026-07-01");
        assert_eq!(local_date(&paris, at("2026-06-30T21:30:00Z")), "2026-06-30");
        // 29 March 2026: clocks go forward, a 23-hour day.
        let (start, next) = local_day_bounds(&paris, at("2026-03-29T12:00:00Z"));
        assert_eq!(
            (start, next),
            (at("2026-03-28T23:00:00Z"), at("2026-03-29T22:00:00Z"))
        );
        // 25 October 2026: back, a 25-hour day.
        let (start, next) = local_day_bounds(&paris, at("2026-10-25T12:00:00Z"));
        assert_eq!(
            (start, next),
            (at("2026-10-24T22:00:00Z"), at("2026-10-25T23:00:00Z"))
        );
        assert_eq!(
            local_date_of(&paris, "2026-03-28T23:30:00.125Z").as_deref(),
            Some("2026-03-29")
        );
        assert_eq!(local_date_of(&paris, "hier"), None);
        // Another zone of a French town: La Réunion, UTC+4 all year.
        let reunion = zone("Indian/Reunion").unwrap();
        assert_eq!(
            local_date(&reunion, at("2026-03-29T20:30:00Z")),
            "2026-03-30"
        );
        assert!(zone("Europe/Pariss").is_err());
    }

    #[test]
    fn dates_are_days_of_the_calendar() {
        assert_eq!(super::days_since_epoch("1970-01-01"), Some(0));
        assert_eq!(super::days_since_epoch("2026-03-01"), Some(20_513));
        assert_eq!(super::days_since_epoch("2024-02-29"), Some(19_782));
        for bad in [
            "2026-02-29",
            "2026-02-31",
            "2026-13-01",
            "2026-2-03",
            "hier",
            "2026-00-10",
            "+026-01-01",
            "",
        ] {
            assert_eq!(super::days_since_epoch(bad), None, "{bad}");
        }
        assert!(
            super::is_date_or_time("2026-12-03") && super::is_date_or_time("2026-12-03T10:00:00Z")
        );
        assert!(
            !super::is_date_or_time("2026-12-03 10:00") && !super::is_date_or_time("2026-12-32")
        );
    }

    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc(1_796_083_200), "2026-12-01T00:00:00Z");
        assert_eq!(super::utc(951_782_400 + 3661), "2000-02-29T01:01:01Z");
    }
}
