//! UTC dates without a date crate: what expiry dates, run names and
//! reports need (days-to-civil conversion, Howard Hinnant's algorithm).

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

/// Today's UTC date, `YYYY-MM-DD`.
pub fn today() -> String {
    utc(now_secs())[..10].to_string()
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
        assert_eq!(super::today().len(), 10);
    }
}
