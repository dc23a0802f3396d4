//! `date`, `time`, `timestamp`, `timestamptz`. The text format's own formats are tried first,
//! in order, then ISO 8601 (see `iso`). Whitespace around values is trimmed.
//!
//! - `timestamp` ignores an offset in the text, as PostgreSQL does; it also takes a bare date
//!   (midnight) in one of the date formats or ISO.
//! - `timestamptz` converts a written offset to UTC; a value without one is a wall-clock time
//!   in `TextFormat::timezone` (DST gaps and overlaps resolved as PostgreSQL does: see `zone`).
//! - PostgreSQL's `infinity`, `epoch`, `today`... are refused: Arrow has no infinity.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::types::{Date32Type, Time64MicrosecondType, TimestampMicrosecondType};
use chrono::{Datelike, NaiveDate};

use super::chrono_formats::{Formats, Kind, Read, describe};
use super::iso::{self, IsoError, MICROS_PER_DAY};
use super::zone::Zone;
use super::{CellError, Cells, primitive, trim_space};
use crate::{PgType, TextFormat};

/// PostgreSQL's first day, 4714-11-24 BC (Julian day 0), in days since 1970-01-01.
const MIN_DAYS: i64 = -2_440_588;
const MIN_MICROS: i64 = MIN_DAYS * MICROS_PER_DAY;

const NO_SUCH_DATE: &str = "no such date (day or month out of range)";
const NO_SUCH_TIMESTAMP: &str = "no such date or time (a field is out of range)";

pub(super) fn coerce_date(cells: Cells, fmt: &TextFormat, errors: &mut Vec<CellError>) -> ArrayRef {
    let formats = Formats::new(fmt.date_formats.iter().map(|f| (f.as_str(), Kind::Date)));
    let not_a_date = format!(
        "not a date (expected {})",
        expected(&fmt.date_formats, &[], "yyyy-mm-dd")
    );
    let array = primitive::<Date32Type>(cells, errors, |text| {
        let text = trim_space(text);
        let mut out_of_range = false;
        if !formats.is_empty() {
            match formats.read(text) {
                Ok(Read::Date(date)) => return date_days(date),
                Ok(Read::DateTime(dt, _)) => return date_days(dt.date()),
                Err(no_match) => out_of_range = no_match.out_of_range,
            }
        }
        match iso::parse_date(text.as_bytes()) {
            Ok(days) => checked_days(days),
            Err(IsoError::Range) => Err(NO_SUCH_DATE.to_owned()),
            Err(IsoError::Syntax) if out_of_range => Err(NO_SUCH_DATE.to_owned()),
            Err(IsoError::Syntax) => Err(special_or(text, "date", &not_a_date)),
        }
    });
    Arc::new(array)
}

pub(super) fn coerce_time(cells: Cells, errors: &mut Vec<CellError>) -> ArrayRef {
    let array = primitive::<Time64MicrosecondType>(cells, errors, |text| {
        iso::parse_time(trim_space(text).as_bytes()).map_err(|e| match e {
            IsoError::Syntax => "not a time (expected hh:mi[:ss[.ffffff]])".to_owned(),
            IsoError::Range => "time of day out of range".to_owned(),
        })
    });
    Arc::new(array)
}

pub(super) fn coerce_timestamp(
    cells: Cells,
    fmt: &TextFormat,
    with_tz: bool,
    errors: &mut Vec<CellError>,
) -> ArrayRef {
    let ty = if with_tz {
        PgType::Timestamptz
    } else {
        PgType::Timestamp
    };
    let formats = Formats::new(
        fmt.timestamp_formats
            .iter()
            .map(|f| (f.as_str(), Kind::DateTime))
            .chain(fmt.date_formats.iter().map(|f| (f.as_str(), Kind::Date))),
    );
    let iso_form = if with_tz {
        "yyyy-mm-dd[ hh:mi[:ss[.ffffff]]][±hh:mm]"
    } else {
        "yyyy-mm-dd[ hh:mi[:ss[.ffffff]]]"
    };
    let expected = expected(&fmt.timestamp_formats, &fmt.date_formats, iso_form);
    let not_a_timestamp = format!("not a timestamp (expected {expected})");
    let out_of_range = format!("out of range for {ty}");
    let zone = Zone::new(fmt.timezone);
    // Local time and optional offset to the stored value.
    let finish = |local: i64, offset: Option<i32>| -> Result<i64, String> {
        let value = match (with_tz, offset) {
            (false, _) => Some(local),
            (true, Some(offset)) => local.checked_sub(i64::from(offset) * iso::MICROS_PER_SECOND),
            (true, None) => zone.to_utc(local),
        };
        value
            .filter(|v| *v >= MIN_MICROS)
            .ok_or_else(|| out_of_range.clone())
    };
    let array = primitive::<TimestampMicrosecondType>(cells, errors, |text| {
        let text = trim_space(text);
        let mut field_out_of_range = false;
        if !formats.is_empty() {
            match formats.read(text) {
                Ok(Read::DateTime(dt, offset)) => {
                    return finish(dt.and_utc().timestamp_micros(), offset);
                }
                Ok(Read::Date(date)) => {
                    return finish(date_days::<i64>(date)? * MICROS_PER_DAY, None);
                }
                Err(no_match) => field_out_of_range = no_match.out_of_range,
            }
        }
        match iso::parse_timestamp(text.as_bytes()) {
            Ok(ts) => finish(ts.local_micros(), ts.offset),
            Err(IsoError::Range) => Err(NO_SUCH_TIMESTAMP.to_owned()),
            Err(IsoError::Syntax) if field_out_of_range => Err(NO_SUCH_TIMESTAMP.to_owned()),
            Err(IsoError::Syntax) => Err(special_or(text, "timestamp", &not_a_timestamp)),
        }
    });
    Arc::new(array.with_data_type(ty.arrow_type()))
}

/// Days since the epoch, refused before PostgreSQL's first day.
fn checked_days<T: TryFrom<i64>>(days: i64) -> Result<T, String> {
    if days < MIN_DAYS {
        return Err("out of range for date (before 4714-11-24 BC)".to_owned());
    }
    T::try_from(days).map_err(|_| "out of range for date".to_owned())
}

fn date_days<T: TryFrom<i64>>(date: NaiveDate) -> Result<T, String> {
    checked_days(iso::days_from_civil(
        i64::from(date.year()),
        date.month(),
        date.day(),
    ))
}

/// The reason for an unreadable value: PostgreSQL's special values get their own.
fn special_or(text: &str, what: &str, otherwise: &str) -> String {
    let specials = [
        "infinity",
        "+infinity",
        "-infinity",
        "epoch",
        "now",
        "today",
        "tomorrow",
        "yesterday",
        "allballs",
    ];
    if specials.iter().any(|s| text.eq_ignore_ascii_case(s)) {
        format!("special {what} values (infinity, epoch, now...) are not supported")
    } else {
        otherwise.to_owned()
    }
}

/// `dd/mm/yyyy, dd/mm/yyyy hh:mi or yyyy-mm-dd`.
fn expected(first: &[String], then: &[String], iso: &str) -> String {
    let mut forms: Vec<String> = first.iter().chain(then).map(|f| describe(f)).collect();
    forms.push(iso.to_owned());
    forms.dedup();
    match forms.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{br, one, run};
    use super::*;
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use chrono::NaiveDateTime;
    use chrono_tz::Tz;

    fn date(fmt: &TextFormat, text: &str) -> Result<i32, &'static str> {
        one(&PgType::Date, fmt, text).map(|a| a.as_primitive::<Date32Type>().value(0))
    }

    fn days(y: i32, m: u32, d: u32) -> i32 {
        (NaiveDate::from_ymd_opt(y, m, d).unwrap() - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
            .num_days() as i32
    }

    fn stamp(ty: &PgType, fmt: &TextFormat, text: &str) -> Result<String, &'static str> {
        one(ty, fmt, text).map(|a| {
            let micros = a.as_primitive::<TimestampMicrosecondType>().value(0);
            chrono::DateTime::from_timestamp_micros(micros)
                .unwrap()
                .format("%Y-%m-%d %H:%M:%S%.f")
                .to_string()
        })
    }

    #[test]
    fn dates_iso_and_brazilian() {
        let iso = TextFormat::default();
        assert_eq!(date(&iso, "2024-02-29"), Ok(days(2024, 2, 29)));
        assert_eq!(date(&iso, " 1969-12-31 "), Ok(-1));
        assert_eq!(date(&iso, "2023-02-29"), Err(NO_SUCH_DATE));
        assert_eq!(
            date(&iso, "29/02/2024"),
            Err("not a date (expected yyyy-mm-dd)")
        );
        assert_eq!(
            date(&iso, "2024-01-01 10:00"),
            Err("not a date (expected yyyy-mm-dd)")
        );
        let br = br();
        assert_eq!(date(&br, "29/02/2024"), Ok(days(2024, 2, 29)));
        assert_eq!(
            date(&br, "2024-02-29"),
            Ok(days(2024, 2, 29)),
            "ISO after the formats"
        );
        assert_eq!(date(&br, "5/1/2024"), Ok(days(2024, 1, 5)));
        assert_eq!(date(&br, "29/02/2023"), Err(NO_SUCH_DATE));
        assert_eq!(date(&br, "31/04/2024"), Err(NO_SUCH_DATE));
        assert_eq!(date(&br, "12/13/2024"), Err(NO_SUCH_DATE));
        assert_eq!(
            date(&br, "2024/01/01"),
            Err("not a date (expected dd/mm/yyyy or yyyy-mm-dd)")
        );
        assert_eq!(
            date(&br, "infinity"),
            Err("special date values (infinity, epoch, now...) are not supported")
        );
        assert_eq!(
            date(&br, "01/01/-5000"),
            Err("out of range for date (before 4714-11-24 BC)")
        );
    }

    #[test]
    fn times() {
        let fmt = TextFormat::default();
        let (a, e) = run(
            &PgType::Time,
            &fmt,
            &[
                "10:20:30.5",
                " 00:00 ",
                "24:00",
                "25:00",
                "noon",
                "10:20:30.1234567",
            ],
        );
        let a = a.as_primitive::<Time64MicrosecondType>();
        assert_eq!(
            [a.value(0), a.value(1), a.value(2), a.value(5)],
            [37_230_500_000, 0, MICROS_PER_DAY, 37_230_123_457]
        );
        assert_eq!(
            e,
            [
                (3, "time of day out of range"),
                (4, "not a time (expected hh:mi[:ss[.ffffff]])")
            ]
        );
    }

    #[test]
    fn timestamps_without_zone() {
        let fmt = TextFormat::default();
        let ty = PgType::Timestamp;
        assert_eq!(
            stamp(&ty, &fmt, "2024-01-15T10:20:30Z").as_deref(),
            Ok("2024-01-15 10:20:30")
        );
        assert_eq!(
            stamp(&ty, &fmt, "2024-01-15 10:20:30-03:00").as_deref(),
            Ok("2024-01-15 10:20:30"),
            "offset ignored"
        );
        assert_eq!(
            stamp(&ty, &fmt, "2024-01-15 10:20:30.1234565").as_deref(),
            Ok("2024-01-15 10:20:30.123457")
        );
        assert_eq!(
            stamp(&ty, &fmt, "2024-01-15").as_deref(),
            Ok("2024-01-15 00:00:00")
        );
        assert_eq!(stamp(&ty, &fmt, "2023-02-29 10:00"), Err(NO_SUCH_TIMESTAMP));
        assert_eq!(
            stamp(&ty, &fmt, "15/01/2024 10:00"),
            Err("not a timestamp (expected yyyy-mm-dd[ hh:mi[:ss[.ffffff]]])")
        );
        let (a, _) = run(&ty, &fmt, &["2024-01-15"]);
        assert_eq!(a.data_type(), &ty.arrow_type());
    }

    #[test]
    fn timestamps_brazilian() {
        let fmt = br();
        let ty = PgType::Timestamp;
        assert_eq!(
            stamp(&ty, &fmt, "15/01/2024 10:20:30").as_deref(),
            Ok("2024-01-15 10:20:30")
        );
        assert_eq!(
            stamp(&ty, &fmt, "15/01/2024 10:20").as_deref(),
            Ok("2024-01-15 10:20:00")
        );
        assert_eq!(
            stamp(&ty, &fmt, "15/01/2024").as_deref(),
            Ok("2024-01-15 00:00:00")
        );
        assert_eq!(
            stamp(&ty, &fmt, "2024-01-15 10:20").as_deref(),
            Ok("2024-01-15 10:20:00")
        );
        assert_eq!(stamp(&ty, &fmt, "30/02/2024 10:20"), Err(NO_SUCH_TIMESTAMP));
        let reason = "not a timestamp (expected dd/mm/yyyy hh:mi:ss[.ffffff], dd/mm/yyyy hh:mi, dd/mm/yyyy or yyyy-mm-dd[ hh:mi[:ss[.ffffff]]])";
        assert_eq!(stamp(&ty, &fmt, "15/01/2024 10h20"), Err(reason));
    }

    #[test]
    fn timestamptz_offsets_and_zones() {
        let ty = PgType::Timestamptz;
        let utc = TextFormat::default();
        assert_eq!(
            stamp(&ty, &utc, "2024-01-15 10:20:30").as_deref(),
            Ok("2024-01-15 10:20:30")
        );
        assert_eq!(
            stamp(&ty, &utc, "2024-01-15T10:20:30-03:00").as_deref(),
            Ok("2024-01-15 13:20:30")
        );
        assert_eq!(
            stamp(&ty, &utc, "2024-01-15T01:00:00+0530").as_deref(),
            Ok("2024-01-14 19:30:00")
        );
        let sp = TextFormat {
            timezone: Tz::America__Sao_Paulo,
            ..br()
        };
        assert_eq!(
            stamp(&ty, &sp, "15/01/2024 10:20:30").as_deref(),
            Ok("2024-01-15 13:20:30")
        );
        assert_eq!(
            stamp(&ty, &sp, "2024-01-15 10:20").as_deref(),
            Ok("2024-01-15 13:20:00")
        );
        assert_eq!(
            stamp(&ty, &sp, "2024-01-15 10:20Z").as_deref(),
            Ok("2024-01-15 10:20:00"),
            "a written offset wins"
        );
        assert_eq!(
            stamp(&ty, &sp, "15/01/2018 10:00").as_deref(),
            Ok("2018-01-15 12:00:00"),
            "summer time, -02"
        );
        assert_eq!(
            stamp(&ty, &sp, "15/01/2024").as_deref(),
            Ok("2024-01-15 03:00:00"),
            "midnight local"
        );
        assert_eq!(
            stamp(&ty, &sp, "04/11/2018 00:30").as_deref(),
            Ok("2018-11-04 03:30:00"),
            "DST gap shifts forward"
        );
        assert_eq!(
            stamp(&ty, &sp, "17/02/2018 23:30").as_deref(),
            Ok("2018-02-18 02:30:00"),
            "overlap: offset after"
        );
        let (a, _) = run(&ty, &sp, &["2024-01-15"]);
        assert_eq!(
            a.data_type(),
            &arrow_schema::DataType::Timestamp(
                arrow_schema::TimeUnit::Microsecond,
                Some("UTC".into())
            )
        );
    }

    #[test]
    fn timestamp_formats_with_an_offset() {
        let fmt = TextFormat {
            timestamp_formats: vec!["%d/%m/%Y %H:%M %z".into()],
            ..TextFormat::default()
        };
        assert_eq!(
            stamp(&PgType::Timestamptz, &fmt, "15/01/2024 10:00 -0300").as_deref(),
            Ok("2024-01-15 13:00:00")
        );
        assert_eq!(
            stamp(&PgType::Timestamp, &fmt, "15/01/2024 10:00 -0300").as_deref(),
            Ok("2024-01-15 10:00:00")
        );
    }

    #[test]
    fn specials_refused() {
        let fmt = TextFormat::default();
        let reason = "special timestamp values (infinity, epoch, now...) are not supported";
        for text in ["infinity", "-infinity", "now", "epoch"] {
            assert_eq!(
                stamp(&PgType::Timestamptz, &fmt, text),
                Err(reason),
                "{text}"
            );
        }
    }

    /// `date_days` counts with `iso::days_from_civil`: the same as chrono over all its dates.
    #[test]
    fn civil_days_agree_with_chrono_everywhere() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let civil = |d: NaiveDate| iso::days_from_civil(i64::from(d.year()), d.month(), d.day());
        let chrono_days = |d: NaiveDate| (d - epoch).num_days();
        for d in [NaiveDate::MIN, NaiveDate::MAX, epoch] {
            assert_eq!(civil(d), chrono_days(d), "{d}");
        }
        // Around year 0 (1 BC), day by day, and spread over the whole range.
        let mut d = NaiveDate::from_ymd_opt(-801, 1, 1).unwrap();
        while d.year() < 801 {
            assert_eq!(civil(d), chrono_days(d), "{d}");
            d = d.succ_opt().unwrap();
        }
        let (min, max) = (chrono_days(NaiveDate::MIN), chrono_days(NaiveDate::MAX));
        for days in (min..=max).step_by(9_973) {
            let d = epoch + chrono::Duration::days(days);
            assert_eq!(civil(d), days, "{d}");
        }
    }

    #[test]
    fn iso_timestamps_agree_with_chrono() {
        let fmt = TextFormat::default();
        for text in [
            "1900-01-01 00:00:00",
            "1000-06-15 12:34:56.789",
            "9999-12-31 23:59:59.999999",
        ] {
            let want = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .unwrap()
                .and_utc()
                .timestamp_micros();
            let got = one(&PgType::Timestamp, &fmt, text).unwrap();
            assert_eq!(
                got.as_primitive::<TimestampMicrosecondType>().value(0),
                want
            );
        }
    }
}
