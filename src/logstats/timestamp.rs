//! Log timestamps as naive wall-clock seconds since 1970-01-01.
//!
//! Every format is read "as written": RFC 3164 has no zone and pflogsumm
//! ignores zones too, so an ISO offset is not applied. Intervals then line up
//! with the clock the operator sees in the log.

/// Seconds since 1970-01-01 00:00:00 of the civil date/time, no zone.
pub fn civil_to_secs(y: i32, m: u32, d: u32, sod: u32) -> i64 {
    days_from_civil(y, m, d) * 86_400 + sod as i64
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm; proleptic Gregorian).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y as i64 - 1 } else { y as i64 };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`]: (year, month, day).
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

/// "YYYY-MM-DD HH:MM:SS" of naive seconds.
pub fn format_secs(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Month number 1..=12 of an English three-letter abbreviation.
pub fn month_abbr(b: &[u8]) -> Option<u32> {
    if b.len() < 3 {
        return None;
    }
    // Lowercase the three letters into one integer: one match instead of twelve compares.
    let k = u32::from_be_bytes([0, b[0] | 0x20, b[1] | 0x20, b[2] | 0x20]);
    Some(match &k.to_be_bytes()[1..] {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

#[inline]
fn d2(b: &[u8], i: usize) -> Option<u32> {
    let (a, c) = (*b.get(i)?, *b.get(i + 1)?);
    if a.is_ascii_digit() && c.is_ascii_digit() {
        Some(((a - b'0') * 10 + (c - b'0')) as u32)
    } else {
        None
    }
}

/// "HH:MM:SS" at `i` → seconds of the day.
#[inline]
fn hms(b: &[u8], i: usize) -> Option<u32> {
    let (h, m, s) = (d2(b, i)?, d2(b, i + 3)?, d2(b, i + 6)?);
    if b[i + 2] != b':' || b[i + 5] != b':' || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(h * 3600 + m * 60 + s.min(59))
}

/// Skip an optional ".digits" fraction at `i`; returns the index after it.
#[inline]
fn skip_fraction(b: &[u8], mut i: usize) -> usize {
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    i
}

/// An RFC 3164 stamp "Mmm dd HH:MM:SS[.ffffff] " (Postfix maillog_file and
/// classic syslog). Returns (month, day, second of day, index after the space).
pub fn rfc3164(b: &[u8]) -> Option<(u32, u32, u32, usize)> {
    let mon = month_abbr(b)?;
    if b.get(3) != Some(&b' ') {
        return None;
    }
    // Day: "dd", " d" or "d" (pflogsumm accepts one or two spaces).
    let mut i = 4;
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    let mut day = 0u32;
    let start = i;
    while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        day = day * 10 + (c - b'0') as u32;
        i += 1;
    }
    if i == start || i - start > 2 || !(1..=31).contains(&day) || b.get(i) != Some(&b' ') {
        return None;
    }
    let sod = hms(b, i + 1)?;
    let j = skip_fraction(b, i + 9);
    (b.get(j) == Some(&b' ')).then_some((mon, day, sod, j + 1))
}

/// An ISO 8601 / RFC 3339 stamp "YYYY-MM-DDTHH:MM:SS[.f][Z|±hh:mm|±hhmm] "
/// (rsyslog high precision, RFC 5424, `journalctl -o short-iso`).
/// Returns (naive seconds, index after the space).
pub fn iso8601(b: &[u8]) -> Option<(i64, usize)> {
    let y = d2(b, 0)? * 100 + d2(b, 2)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b' '))
    {
        return None;
    }
    let (m, d) = (d2(b, 5)?, d2(b, 8)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let sod = hms(b, 11)?;
    let mut j = skip_fraction(b, 19);
    match b.get(j) {
        Some(b'Z') => j += 1,
        Some(b'+' | b'-') => {
            d2(b, j + 1)?;
            j += 3;
            if b.get(j) == Some(&b':') {
                j += 1;
            }
            d2(b, j)?;
            j += 2;
        }
        _ => {}
    }
    (b.get(j) == Some(&b' ')).then_some((civil_to_secs(y as i32, m, d, sod), j + 1))
}

/// A Sun/Oracle Messaging Server stamp "dd-Mmm-yyyy HH:MM:SS.cc ".
/// Returns (naive seconds, index after the space).
pub fn sun(b: &[u8]) -> Option<(i64, usize)> {
    // The day may be one digit on some releases ("6-Oct-2003").
    let (day, i) = if b.get(1) == Some(&b'-') {
        ((*b.first()? as char).to_digit(10)?, 2)
    } else if b.get(2) == Some(&b'-') {
        (d2(b, 0)?, 3)
    } else {
        return None;
    };
    let mon = month_abbr(b.get(i..)?)?;
    if b.get(i + 3) != Some(&b'-') {
        return None;
    }
    let y = d2(b, i + 4)? * 100 + d2(b, i + 6)?;
    if b.get(i + 8) != Some(&b' ') || !(1..=31).contains(&day) {
        return None;
    }
    let sod = hms(b, i + 9)?;
    let j = skip_fraction(b, i + 17);
    (b.get(j) == Some(&b' ')).then_some((civil_to_secs(y as i32, mon, day, sod), j + 1))
}

/// Infers the missing year of RFC 3164 stamps, one input file at a time.
///
/// The file's last line was written around its modification time, so the first
/// line's month is taken to be in the reference year unless it lies after the
/// reference month (then it is last year's). Later, a month that jumps back by
/// half a year or more is the turn of the year (Dec → Jan); a month that jumps
/// forward by as much is a late line of the previous year and does not move
/// the tracker.
#[derive(Debug, Clone)]
pub struct YearTracker {
    ref_year: i32,
    ref_month: u32,
    year: i32,
    month: u32,
    started: bool,
    /// Cache: (month, day) → days since epoch of the last resolved date.
    cache: (u32, u32, i32, i64),
}

impl YearTracker {
    /// `ref_year`/`ref_month`: the wall-clock date the input ends at (mtime or now).
    pub fn new(ref_year: i32, ref_month: u32) -> Self {
        YearTracker {
            ref_year,
            ref_month,
            year: ref_year,
            month: ref_month,
            started: false,
            cache: (0, 0, 0, 0),
        }
    }

    /// A tracker whose first line is in exactly `year` (the `--year` option).
    pub fn fixed_start(year: i32) -> Self {
        YearTracker {
            ref_year: year,
            ref_month: 12,
            year,
            month: 1,
            started: false,
            cache: (0, 0, 0, 0),
        }
    }

    /// Year of a stamp in `month`, updating the turn-of-year state.
    pub fn year_for(&mut self, month: u32) -> i32 {
        if !self.started {
            self.started = true;
            self.year = if month > self.ref_month {
                self.ref_year - 1
            } else {
                self.ref_year
            };
            self.month = month;
            return self.year;
        }
        let diff = month as i32 - self.month as i32;
        if diff <= -6 {
            self.year += 1;
            self.month = month;
            self.year
        } else if diff >= 6 {
            self.year - 1
        } else {
            if diff > 0 {
                self.month = month;
            }
            self.year
        }
    }

    /// Naive seconds of an RFC 3164 (month, day, second-of-day).
    #[inline]
    pub fn secs(&mut self, month: u32, day: u32, sod: u32) -> i64 {
        if self.started && self.cache.0 == month && self.cache.1 == day {
            return self.cache.3 * 86_400 + sod as i64;
        }
        let y = self.year_for(month);
        let days = days_from_civil(y, month, day);
        self.cache = (month, day, y, days);
        days * 86_400 + sod as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for z in [-1000i64, 0, 1, 59, 365, 10_957, 20_000, 20_819, 30_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            format_secs(civil_to_secs(2026, 11, 28, 18 * 3600 + 46 * 60 + 28)),
            "2026-11-28 18:46:28"
        );
    }

    #[test]
    fn rfc3164_variants() {
        assert_eq!(
            rfc3164(b"Nov 28 18:46:28 mta1 x"),
            Some((11, 28, 67588, 16))
        );
        assert_eq!(rfc3164(b"Jan  3 00:00:01 h x"), Some((1, 3, 1, 16)));
        assert_eq!(rfc3164(b"Jan 3 00:00:01 h x"), Some((1, 3, 1, 15)));
        assert_eq!(rfc3164(b"Jan 03 00:00:01.123456 h x"), Some((1, 3, 1, 23)));
        assert_eq!(rfc3164(b"Foo 03 00:00:01 h"), None);
        assert_eq!(rfc3164(b"Jan 03 25:00:01 h"), None);
        assert_eq!(rfc3164(b"Jan 03 00:00"), None);
        assert_eq!(rfc3164(b"Jan 32 00:00:01 h"), None);
    }

    #[test]
    fn iso_variants() {
        let want = civil_to_secs(2026, 11, 28, 67588);
        assert_eq!(
            iso8601(b"2026-11-28T18:46:28+01:00 h").map(|x| x.0),
            Some(want)
        );
        assert_eq!(
            iso8601(b"2026-11-28T18:46:28.123456+0100 h").map(|x| x.0),
            Some(want)
        );
        assert_eq!(
            iso8601(b"2026-11-28T18:46:28.003Z h").map(|x| x.0),
            Some(want)
        );
        assert_eq!(iso8601(b"2026-11-28T18:46:28 h").map(|x| x.0), Some(want));
        assert_eq!(iso8601(b"2026-13-28T18:46:28 h"), None);
        assert_eq!(iso8601(b"2026-11-28T18:46"), None);
    }

    #[test]
    fn sun_stamp() {
        let (s, i) = sun(b"16-Feb-2007 14:54:13.72 tcp_local").unwrap();
        assert_eq!(format_secs(s), "2007-02-16 14:54:13");
        assert_eq!(i, 24);
        assert_eq!(
            sun(b"6-Oct-2003 00:24:03.66 x").map(|x| format_secs(x.0)),
            Some("2003-10-06 00:24:03".into())
        );
        assert_eq!(sun(b"16-Fe-2007 14:54:13.72 x"), None);
    }

    #[test]
    fn year_turn_and_inference() {
        // File written in January 2027 that starts in December.
        let mut t = YearTracker::new(2027, 1);
        assert_eq!(t.year_for(12), 2026);
        assert_eq!(t.year_for(12), 2026);
        assert_eq!(t.year_for(1), 2027);
        // A straggler from December after the turn stays in 2026 and does not move the state.
        assert_eq!(t.year_for(12), 2026);
        assert_eq!(t.year_for(1), 2027);
        assert_eq!(t.year_for(2), 2027);
        // Same-year file.
        let mut t = YearTracker::new(2026, 11);
        assert_eq!(t.year_for(11), 2026);
        // Explicit start year.
        let mut t = YearTracker::fixed_start(2020);
        assert_eq!(t.year_for(12), 2020);
        assert_eq!(t.year_for(1), 2021);
    }

    #[test]
    fn tracker_secs_cache_follows_turn() {
        let mut t = YearTracker::new(2027, 1);
        let a = t.secs(12, 31, 86_399);
        let b = t.secs(1, 1, 0);
        assert_eq!(b - a, 1);
    }
}
