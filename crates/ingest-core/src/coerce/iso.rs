//! A hand-written ISO 8601 reader for the hot path (no allocation, no chrono):
//! `yyyy-mm-dd[(T|t| )HH:MM[:SS[.f+]]][ ][Z|UTC|±HH|±HHMM|±HH:MM]`.
//!
//! Month, day and hour may have one digit, as PostgreSQL allows. Fraction digits beyond the
//! sixth round half up to the microsecond. Hour 24 is allowed only as `24:00:00`, second 60
//! (a leap second) rolls into the next minute, both as in PostgreSQL.

pub(super) const MICROS_PER_SECOND: i64 = 1_000_000;
pub(super) const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Why text is not an ISO date or time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum IsoError {
    /// Not the syntax at all.
    Syntax,
    /// The syntax, but a field out of range (February 30th, 25 o'clock).
    Range,
}

/// A timestamp as written: days since 1970-01-01, microseconds into the day (up to a day,
/// and a bit more with a leap second) and the offset, in seconds east of UTC, if written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct IsoTimestamp {
    pub(super) days: i64,
    pub(super) micros: i64,
    pub(super) offset: Option<i32>,
}

impl IsoTimestamp {
    /// Microseconds since the epoch of the local (as written) date and time.
    pub(super) fn local_micros(&self) -> i64 {
        self.days * MICROS_PER_DAY + self.micros
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.at += usize::from(hit);
        hit
    }

    fn done(&self) -> bool {
        self.at == self.s.len()
    }

    /// Between `min` and `max` digits as a number.
    fn number(&mut self, min: usize, max: usize) -> Result<u32, IsoError> {
        let mut value = 0u32;
        let mut n = 0;
        while n < max {
            match self.peek() {
                Some(b @ b'0'..=b'9') => value = value * 10 + u32::from(b - b'0'),
                _ => break,
            }
            self.at += 1;
            n += 1;
        }
        if n < min {
            Err(IsoError::Syntax)
        } else {
            Ok(value)
        }
    }
}

/// A whole string that is `yyyy-mm-dd`: days since the epoch.
pub(super) fn parse_date(s: &[u8]) -> Result<i64, IsoError> {
    let mut c = Cursor { s, at: 0 };
    let days = date(&mut c)?;
    if c.done() {
        Ok(days)
    } else {
        Err(IsoError::Syntax)
    }
}

/// A whole string that is a time of day, with an offset that is read and ignored:
/// microseconds since midnight, at most `24:00:00`.
pub(super) fn parse_time(s: &[u8]) -> Result<i64, IsoError> {
    let mut c = Cursor { s, at: 0 };
    let micros = time(&mut c)?;
    c.eat(b' ');
    if !c.done() {
        offset(&mut c)?;
    }
    if micros > MICROS_PER_DAY {
        return Err(IsoError::Range);
    }
    Ok(micros)
}

/// A whole string that is a date, or a date and time with an optional offset.
pub(super) fn parse_timestamp(s: &[u8]) -> Result<IsoTimestamp, IsoError> {
    let mut c = Cursor { s, at: 0 };
    let days = date(&mut c)?;
    if c.done() {
        return Ok(IsoTimestamp {
            days,
            micros: 0,
            offset: None,
        });
    }
    if !matches!(c.peek(), Some(b'T' | b't' | b' ')) {
        return Err(IsoError::Syntax);
    }
    c.at += 1;
    let micros = time(&mut c)?;
    c.eat(b' ');
    let offset = if c.done() {
        None
    } else {
        Some(offset(&mut c)?)
    };
    Ok(IsoTimestamp {
        days,
        micros,
        offset,
    })
}

fn date(c: &mut Cursor) -> Result<i64, IsoError> {
    let year = c.number(4, 4)?;
    if !c.eat(b'-') {
        return Err(IsoError::Syntax);
    }
    let month = c.number(1, 2)?;
    if !c.eat(b'-') {
        return Err(IsoError::Syntax);
    }
    let day = c.number(1, 2)?;
    // Year 0 does not exist in PostgreSQL's (AD/BC) reading of ISO years.
    if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(IsoError::Range);
    }
    Ok(days_from_civil(year as i64, month, day))
}

/// `HH:MM[:SS[.f+]]` as microseconds since midnight (fractions rounded half up).
fn time(c: &mut Cursor) -> Result<i64, IsoError> {
    let hour = c.number(1, 2)?;
    if !c.eat(b':') {
        return Err(IsoError::Syntax);
    }
    let minute = c.number(2, 2)?;
    let (mut second, mut micros) = (0, 0i64);
    if c.eat(b':') {
        second = c.number(2, 2)?;
        if c.eat(b'.') {
            let start = c.at;
            let mut scale = MICROS_PER_SECOND;
            while let Some(b @ b'0'..=b'9') = c.peek() {
                let digits = c.at - start;
                if digits < 6 {
                    scale /= 10;
                    micros += i64::from(b - b'0') * scale;
                } else if digits == 6 && b >= b'5' {
                    micros += 1;
                }
                c.at += 1;
            }
            if c.at == start {
                return Err(IsoError::Syntax);
            }
        }
    }
    if minute > 59
        || second > 60
        || hour > 24
        || (hour == 24 && (minute, second, micros) != (0, 0, 0))
    {
        return Err(IsoError::Range);
    }
    Ok(i64::from(hour * 3600 + minute * 60 + second) * MICROS_PER_SECOND + micros)
}

/// `Z`, `UTC` or `±HH[[:]MM]` to the end: seconds east of UTC.
fn offset(c: &mut Cursor) -> Result<i32, IsoError> {
    let rest = &c.s[c.at..];
    if rest.eq_ignore_ascii_case(b"z") || rest.eq_ignore_ascii_case(b"utc") {
        c.at = c.s.len();
        return Ok(0);
    }
    let sign = match c.peek() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(IsoError::Syntax),
    };
    c.at += 1;
    let hours = c.number(2, 2)?;
    let minutes = if c.done() {
        0
    } else {
        c.eat(b':');
        c.number(2, 2)?
    };
    if !c.done() {
        return Err(IsoError::Syntax);
    }
    // PostgreSQL accepts offsets up to 15:59.
    if hours > 15 || minutes > 59 {
        return Err(IsoError::Range);
    }
    Ok(sign * (hours * 3600 + minutes * 60) as i32)
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

pub(super) fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(super) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveDateTime};
    use proptest::prelude::*;

    fn ts(s: &str) -> Result<(i64, Option<i32>), IsoError> {
        parse_timestamp(s.as_bytes()).map(|t| (t.local_micros(), t.offset))
    }

    fn micros(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date(b"1970-01-01"), Ok(0));
        assert_eq!(parse_date(b"2000-03-01"), Ok(11017));
        assert_eq!(parse_date(b"1969-12-31"), Ok(-1));
        assert_eq!(parse_date(b"2024-2-9"), Ok(days_from_civil(2024, 2, 9)));
        assert_eq!(parse_date(b"2024-02-29"), Ok(19782));
        assert_eq!(parse_date(b"2023-02-29"), Err(IsoError::Range));
        assert_eq!(parse_date(b"1900-02-29"), Err(IsoError::Range));
        assert_eq!(parse_date(b"2000-02-29"), Ok(days_from_civil(2000, 2, 29)));
        assert_eq!(parse_date(b"2024-04-31"), Err(IsoError::Range));
        assert_eq!(parse_date(b"2024-13-01"), Err(IsoError::Range));
        assert_eq!(parse_date(b"2024-00-10"), Err(IsoError::Range));
        assert_eq!(parse_date(b"0000-01-01"), Err(IsoError::Range));
        for bad in [
            "24-01-01",
            "2024/01/01",
            "2024-01-01x",
            "2024-001-01",
            "20240101",
            "",
            "2024-01-",
        ] {
            assert_eq!(parse_date(bad.as_bytes()), Err(IsoError::Syntax), "{bad}");
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(ts("2024-01-15"), Ok((micros("2024-01-15 00:00:00"), None)));
        assert_eq!(
            ts("2024-01-15T10:20"),
            Ok((micros("2024-01-15 10:20:00"), None))
        );
        assert_eq!(
            ts("2024-01-15 10:20:30"),
            Ok((micros("2024-01-15 10:20:30"), None))
        );
        assert_eq!(
            ts("2024-01-15t1:02:03.5"),
            Ok((micros("2024-01-15 01:02:03.5"), None))
        );
        assert_eq!(
            ts("2024-01-15 10:20:30.123456"),
            Ok((micros("2024-01-15 10:20:30.123456"), None))
        );
        assert_eq!(
            ts("2024-01-15 10:20:30Z"),
            Ok((micros("2024-01-15 10:20:30"), Some(0)))
        );
        assert_eq!(
            ts("2024-01-15 10:20:30 UTC"),
            Ok((micros("2024-01-15 10:20:30"), Some(0)))
        );
        assert_eq!(
            ts("2024-01-15 10:20:30-03"),
            Ok((micros("2024-01-15 10:20:30"), Some(-3 * 3600)))
        );
        assert_eq!(
            ts("2024-01-15 10:20:30+0530"),
            Ok((micros("2024-01-15 10:20:30"), Some(19800)))
        );
        assert_eq!(
            ts("2024-01-15T10:20:30.5+05:30"),
            Ok((micros("2024-01-15 10:20:30.5"), Some(19800)))
        );
        assert_eq!(
            ts("2024-01-15 10:20:30 -02:00"),
            Ok((micros("2024-01-15 10:20:30"), Some(-7200)))
        );
        assert_eq!(
            ts("2024-01-15 24:00:00"),
            Ok((micros("2024-01-16 00:00:00"), None))
        );
        assert_eq!(
            ts("2024-01-15 23:59:60"),
            Ok((micros("2024-01-16 00:00:00"), None))
        );
        for bad in [
            "2024-01-15 25:00",
            "2024-01-15 24:00:01",
            "2024-01-15 10:60",
            "2024-01-15 10:00+16",
            "2024-01-15 10:00+05:60",
        ] {
            assert_eq!(ts(bad), Err(IsoError::Range), "{bad}");
        }
        for bad in [
            "2024-01-15 10",
            "2024-01-15 10:5",
            "2024-01-15X10:00",
            "2024-01-15 10:00:00.",
            "2024-01-15 10:00 +5",
            "2024-01-15 10:00:00+05:30:00",
            "2024-01-15  10:00",
            "2024-01-15 10:00 EST",
        ] {
            assert_eq!(ts(bad), Err(IsoError::Syntax), "{bad}");
        }
    }

    #[test]
    fn fractions_round_half_up() {
        let base = micros("2024-01-15 10:20:30");
        let frac = |f: &str| ts(&format!("2024-01-15 10:20:30.{f}")).unwrap().0 - base;
        assert_eq!(frac("1"), 100_000);
        assert_eq!(frac("000001"), 1);
        assert_eq!(frac("0000004"), 0);
        assert_eq!(frac("0000005"), 1);
        assert_eq!(frac("1234564999"), 123_456);
        assert_eq!(frac("1234565"), 123_457);
        assert_eq!(frac("999999999"), 1_000_000, "rounds into the next second");
        assert_eq!(
            ts("2024-12-31 23:59:59.9999995").unwrap().0,
            micros("2025-01-01 00:00:00")
        );
    }

    #[test]
    fn times() {
        assert_eq!(parse_time(b"00:00"), Ok(0));
        assert_eq!(parse_time(b"10:20:30.25"), Ok(37_230_250_000));
        assert_eq!(parse_time(b"9:05"), Ok(32_700_000_000));
        assert_eq!(parse_time(b"24:00:00"), Ok(MICROS_PER_DAY));
        assert_eq!(parse_time(b"23:59:59.9999999"), Ok(MICROS_PER_DAY));
        assert_eq!(
            parse_time(b"12:00:00+03"),
            Ok(43_200_000_000),
            "an offset is ignored"
        );
        assert_eq!(parse_time(b"23:59:60.5"), Err(IsoError::Range));
        assert_eq!(parse_time(b"24:30"), Err(IsoError::Range));
        assert_eq!(parse_time(b"12"), Err(IsoError::Syntax));
        assert_eq!(parse_time(b"12:00pm"), Err(IsoError::Syntax));
    }

    proptest! {
        #[test]
        fn any_datetime_round_trips(days in -700_000i64..2_900_000, micros_of_day in 0..MICROS_PER_DAY, t in any::<bool>(), z in any::<bool>()) {
            let date = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(days);
            let dt = date.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::microseconds(micros_of_day);
            let text = dt.format(if t { "%Y-%m-%dT%H:%M:%S%.6f" } else { "%Y-%m-%d %H:%M:%S%.6f" }).to_string();
            let text = if z { format!("{text}Z") } else { text };
            let want = dt.and_utc().timestamp_micros();
            prop_assert_eq!(ts(&text), Ok((want, z.then_some(0))));
        }

        #[test]
        fn days_agree_with_chrono(days in -700_000i64..2_900_000) {
            let date = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(days);
            let text = date.format("%Y-%m-%d").to_string();
            prop_assert_eq!(parse_date(text.as_bytes()), Ok(days));
        }
    }
}
