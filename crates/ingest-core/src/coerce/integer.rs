//! `smallint`, `integer`, `bigint`: an optional sign and decimal digits, whitespace around
//! them trimmed, thousands separators accepted only between groups of three.

use arrow_array::{ArrayRef, ArrowPrimitiveType};
use std::sync::Arc;

use super::number::{Sep, scan_int_part, split_sign};
use super::{CellError, Cells, primitive, trim_space};
use crate::{PgType, TextFormat};

/// `ty` (`smallint`, `integer` or `bigint`) as `T` (`Int16Type`, `Int32Type`, `Int64Type`).
pub(super) fn coerce<T>(
    cells: Cells,
    ty: &PgType,
    fmt: &TextFormat,
    errors: &mut Vec<CellError>,
) -> ArrayRef
where
    T: ArrowPrimitiveType,
    T::Native: TryFrom<i64>,
{
    let sep = fmt.thousands.and_then(Sep::new);
    let out_of_range = format!("out of range for {ty}");
    let array = primitive::<T>(cells, errors, |text| match parse_i64(text, sep) {
        Some(Ok(v)) => T::Native::try_from(v).map_err(|_| out_of_range.clone()),
        Some(Err(OutOfRange)) => Err(out_of_range.clone()),
        None => Err("not an integer".to_owned()),
    });
    Arc::new(array)
}

/// The value is an integer but not an `i64`.
pub(super) struct OutOfRange;

/// Parses an integer; `None` when the text is not one at all.
pub(super) fn parse_i64(text: &str, sep: Option<Sep>) -> Option<Result<i64, OutOfRange>> {
    let (negative, body) = split_sign(trim_space(text).as_bytes());
    let (len, digits) = scan_int_part(body, sep)?;
    if digits == 0 || len != body.len() {
        return None;
    }
    // The magnitude, in u64 so that i64::MIN's fits.
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    for &b in body.iter().filter(|b| b.is_ascii_digit()) {
        match magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(b - b'0')))
        {
            Some(m) => magnitude = m,
            None => overflow = true,
        }
    }
    if overflow {
        return Some(Err(OutOfRange));
    }
    let value = if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    };
    Some(value.ok_or(OutOfRange))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{br, run};
    use crate::{PgType, TextFormat};
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int16Type, Int32Type, Int64Type};
    use proptest::prelude::*;

    #[test]
    fn limits_of_each_type() {
        let fmt = TextFormat::default();
        let (a, e) = run(&PgType::Int2, &fmt, &["-32768", "32767", "-32769", "32768"]);
        let a = a.as_primitive::<Int16Type>();
        assert_eq!((a.value(0), a.value(1)), (i16::MIN, i16::MAX));
        assert_eq!(
            e,
            [
                (2, "out of range for smallint"),
                (3, "out of range for smallint")
            ]
        );

        let (a, e) = run(
            &PgType::Int4,
            &fmt,
            &["-2147483648", "2147483647", "-2147483649", "2147483648"],
        );
        let a = a.as_primitive::<Int32Type>();
        assert_eq!((a.value(0), a.value(1)), (i32::MIN, i32::MAX));
        assert_eq!(
            e,
            [
                (2, "out of range for integer"),
                (3, "out of range for integer")
            ]
        );

        let values = [
            "-9223372036854775808",
            "9223372036854775807",
            "-9223372036854775809",
            "9223372036854775808",
            "99999999999999999999999",
        ];
        let (a, e) = run(&PgType::Int8, &fmt, &values);
        let a = a.as_primitive::<Int64Type>();
        assert_eq!((a.value(0), a.value(1)), (i64::MIN, i64::MAX));
        assert_eq!(e.len(), 3);
        assert!(e.iter().all(|(_, r)| *r == "out of range for bigint"));
        assert!(a.is_null(2) && a.is_null(3) && a.is_null(4));
    }

    #[test]
    fn syntax() {
        let fmt = TextFormat::default();
        let values = [
            " 42 ", "+7", "-0", "\t-12\n", "007", "1.0", "1e3", "12a", "", "-", "+-1", "1 000",
            "0x1f",
        ];
        let (a, e) = run(&PgType::Int4, &fmt, &values);
        let a = a.as_primitive::<Int32Type>();
        assert_eq!(
            [a.value(0), a.value(1), a.value(2), a.value(3), a.value(4)],
            [42, 7, 0, -12, 7]
        );
        assert!(a.is_null(8), "the empty string is the NULL marker");
        let rows: Vec<usize> = e.iter().map(|(r, _)| *r).collect();
        assert_eq!(rows, [5, 6, 7, 9, 10, 11, 12]);
        assert!(e.iter().all(|(_, r)| *r == "not an integer"));
    }

    #[test]
    fn thousands_separators() {
        let fmt = br();
        let values = [
            "1.234.567",
            "-1.000",
            "999",
            "1234",
            "12.34",
            "1.2345",
            "1234.567",
            "1.234.",
            ".123",
            "0.123",
            "1,5",
        ];
        let (a, e) = run(&PgType::Int8, &fmt, &values);
        let a = a.as_primitive::<Int64Type>();
        assert_eq!(
            [a.value(0), a.value(1), a.value(2), a.value(3)],
            [1_234_567, -1000, 999, 1234]
        );
        let rows: Vec<usize> = e.iter().map(|(r, _)| *r).collect();
        assert_eq!(rows, [4, 5, 6, 7, 8, 9, 10]);
        // Without a separator configured, none is accepted.
        let (_, e) = run(&PgType::Int8, &TextFormat::default(), &["1.234", "1,234"]);
        assert_eq!(e.len(), 2);
    }

    fn grouped(v: i64, sep: char) -> String {
        let digits = v.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(sep);
            }
            out.push(c);
        }
        if v < 0 { format!("-{out}") } else { out }
    }

    proptest! {
        #[test]
        fn any_i64_with_separators_round_trips(v in any::<i64>(), nbsp in any::<bool>()) {
            let sep = if nbsp { '\u{a0}' } else { '.' };
            let fmt = TextFormat { thousands: Some(sep), ..TextFormat::default() };
            let text = grouped(v, sep);
            let (a, e) = run(&PgType::Int8, &fmt, &[text.as_str(), &v.to_string()]);
            prop_assert!(e.is_empty(), "{text}: {e:?}");
            let a = a.as_primitive::<Int64Type>();
            prop_assert_eq!(a.value(0), v);
            prop_assert_eq!(a.value(1), v);
        }
    }
}
