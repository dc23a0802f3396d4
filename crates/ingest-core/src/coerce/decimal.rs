//! `numeric`: never rounds. A constrained `numeric(p,s)` refuses a value needing more than
//! `s` decimal places (other than trailing zeros; with a negative `s`, a value that is not a
//! multiple of `10^-s`) or more than `p - s` integer digits.
//!
//! `numeric(p,s)` that Arrow's `Decimal128` can hold (`p <= 38`, see `PgType::arrow_type`)
//! becomes `Decimal128(p,s)` holding the unscaled value. Any other `numeric` becomes
//! canonical text, `[-]digits[.digits]` or `NaN`: with exactly `s` decimal places for a
//! constrained `numeric(p,s)` (none when `s <= 0`), so that PostgreSQL's `numeric_recv` has
//! nothing to round, or with the scale as written for an unconstrained `numeric`.

use std::fmt::Write;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::types::Decimal128Type;
use arrow_array::{Array, ArrayRef};

use super::number::{Lexed, Special, Syntax, lex, special};
use super::{CellError, Cells, primitive, trim_space};
use crate::{PgType, TextFormat};

/// PostgreSQL refuses exponents beyond this (`NUMERIC_MAX_PRECISION`).
const MAX_EXPONENT: i64 = 1000;
/// PostgreSQL's limits on digits before and after the decimal point of a `numeric`.
const MAX_INT_DIGITS: i64 = 131_072;
const MAX_SCALE: i64 = 16_383;

const NOT_A_NUMBER: &str = "not a number";
const BAD_EXPONENT: &str = "not a number (exponent beyond ±1000)";
const INFINITY: &str = "infinity is not supported for numeric";

pub(super) fn coerce(
    cells: Cells,
    ty: &PgType,
    fmt: &TextFormat,
    errors: &mut Vec<CellError>,
) -> ArrayRef {
    let syntax = Syntax::new(fmt);
    match ty.arrow_type() {
        arrow_schema::DataType::Decimal128(p, s) => {
            let reasons = Reasons::new(ty, p.into(), s.into());
            let array =
                primitive::<Decimal128Type>(cells, errors, |text| match read(text, &syntax)? {
                    Reading::NaN => Err(reasons.nan.clone()),
                    Reading::Number(lexed) => to_unscaled(&lexed, p, s).map_err(|e| reasons.of(e)),
                });
            Arc::new(array.with_data_type(ty.arrow_type()))
        }
        _ => {
            let bounds = Bounds::of(ty);
            Arc::new(canonical_column(cells, &syntax, bounds.as_ref(), errors))
        }
    }
}

/// What a `numeric` value's text reads as, before the column's bounds are applied.
enum Reading<'a> {
    NaN,
    /// A finite number whose exponent PostgreSQL accepts.
    Number(Lexed<'a>),
}

/// The reading both paths share: trims `text` and refuses infinities, text that is not a
/// number and exponents beyond ±`MAX_EXPONENT`.
fn read<'a>(text: &'a str, syntax: &Syntax) -> Result<Reading<'a>, &'static str> {
    let text = trim_space(text);
    match special(text) {
        Some(Special::NaN) => return Ok(Reading::NaN),
        Some(Special::Infinity | Special::NegInfinity) => return Err(INFINITY),
        None => {}
    }
    let lexed = lex(text, syntax).ok_or(NOT_A_NUMBER)?;
    if lexed.exp.abs() > MAX_EXPONENT {
        return Err(BAD_EXPONENT);
    }
    Ok(Reading::Number(lexed))
}

/// Why a number does not fit `numeric(p,s)`.
#[derive(Debug, PartialEq)]
pub(super) enum Misfit {
    /// Nonzero digits beyond the scale: storing it would round.
    Scale,
    /// More significant digits than the precision allows.
    Precision,
}

/// The messages of one column's misfits, built once.
struct Reasons {
    scale: String,
    precision: String,
    nan: String,
}

impl Reasons {
    fn new(ty: &PgType, p: i64, s: i64) -> Reasons {
        let scale = match s {
            0 => format!("decimal places not allowed for {ty}"),
            s if s > 0 => format!("more than {s} decimal places for {ty}"),
            s => format!(
                "not a multiple of 1{} for {ty}",
                "0".repeat(s.unsigned_abs() as usize)
            ),
        };
        let before = p - s;
        let precision = if before > 0 {
            format!("too many digits for {ty} (at most {before} before the decimal point)")
        } else {
            let limit = match before.unsigned_abs() as usize {
                0 => "1".to_owned(),
                zeros => format!("0.{}1", "0".repeat(zeros - 1)),
            };
            format!("too many digits for {ty} (absolute value must be below {limit})")
        };
        let nan = format!("nan is not supported for {ty}, only for unconstrained numeric");
        Reasons {
            scale,
            precision,
            nan,
        }
    }

    fn of(&self, misfit: Misfit) -> String {
        match misfit {
            Misfit::Scale => self.scale.clone(),
            Misfit::Precision => self.precision.clone(),
        }
    }
}

/// The unscaled `i128` of `lexed` (from `read`: its exponent is within ±`MAX_EXPONENT`) in
/// `numeric(p,s)`, `p <= 38`; exact or refused.
pub(super) fn to_unscaled(lexed: &Lexed, p: u8, s: i8) -> Result<i128, Misfit> {
    debug_assert!(lexed.exp.abs() <= MAX_EXPONENT);
    let max = 10i128.pow(u32::from(p)) - 1;
    // Fraction digits as written once the exponent is applied (negative: a power of ten).
    let written_scale = lexed.frac.len() as i64 - lexed.exp;
    let scale = i64::from(s);
    let total = lexed.digit_count();
    // Trailing digits beyond the scale: they must all be zero.
    let dropped = usize::try_from(written_scale - scale)
        .unwrap_or(0)
        .min(total);
    let kept = total - dropped;
    let mut unscaled: i128 = 0;
    let mut too_big = false;
    for (i, d) in lexed.digits().enumerate() {
        if i >= kept {
            if d != 0 {
                return Err(Misfit::Scale);
            }
        } else if !too_big {
            // Up to 10^38 - 1 so far: ten times that overflows an i128.
            match unscaled
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(d)))
            {
                Some(v) if v <= max => unscaled = v,
                _ => too_big = true,
            }
        }
    }
    if too_big {
        return Err(Misfit::Precision);
    }
    if scale > written_scale && unscaled != 0 {
        let factor = u32::try_from(scale - written_scale)
            .ok()
            .and_then(|k| 10i128.checked_pow(k));
        unscaled = factor
            .and_then(|f| unscaled.checked_mul(f))
            .filter(|v| *v <= max)
            .ok_or(Misfit::Precision)?;
    }
    Ok(if lexed.negative { -unscaled } else { unscaled })
}

/// A constrained `numeric(p,s)` on the text path: its limits and messages.
struct Bounds {
    precision: i64,
    scale: i64,
    reasons: Reasons,
}

impl Bounds {
    /// `None` for an unconstrained `numeric` (and for types that are not `numeric`).
    fn of(ty: &PgType) -> Option<Bounds> {
        let PgType::Numeric {
            precision: Some(p),
            scale,
        } = ty
        else {
            return None;
        };
        let (precision, scale) = (i64::from(*p), i64::from(scale.unwrap_or(0)));
        Some(Bounds {
            precision,
            scale,
            reasons: Reasons::new(ty, precision, scale),
        })
    }

    /// Checks the digits of a number whose decimal point is before `digits[point]` (the
    /// digit at index `k` weighs `10^(point-1-k)`). The scale is checked first.
    fn check(&self, digits: &[u8], point: i64) -> Result<(), Misfit> {
        // Digits weighing less than 10^-scale must be zeros: they are dropped, never rounded.
        let cut = usize::try_from(point + self.scale).unwrap_or(0);
        if digits
            .get(cut..)
            .is_some_and(|rest| rest.iter().any(|&d| d != 0))
        {
            return Err(Misfit::Scale);
        }
        // The absolute value must be below 10^(p-s): the leading digit weighs 10^(p-s-1) at most.
        match digits.iter().position(|&d| d != 0) {
            Some(first) if point - first as i64 > self.precision - self.scale => {
                Err(Misfit::Precision)
            }
            _ => Ok(()),
        }
    }
}

/// `numeric` as canonical text, built in one pass with no per-value allocation; `bounds`
/// for a constrained `numeric(p,s)`.
fn canonical_column(
    cells: Cells,
    syntax: &Syntax,
    bounds: Option<&Bounds>,
    errors: &mut Vec<CellError>,
) -> arrow_array::StringArray {
    let raw = cells.raw;
    let mut out = StringBuilder::with_capacity(raw.len(), raw.value_data().len());
    let mut digits = Vec::new();
    for row in 0..cells.len() {
        let Some(text) = cells.get(row) else {
            out.append_null();
            continue;
        };
        match write_canonical(text, syntax, bounds, &mut digits, &mut out) {
            Ok(()) => out.append_value(""),
            Err(reason) => {
                errors.push(CellError { row, reason });
                out.append_null();
            }
        }
    }
    out.finish()
}

/// Writes the canonical form of `text` into the builder's current value (nothing on error).
fn write_canonical(
    text: &str,
    syntax: &Syntax,
    bounds: Option<&Bounds>,
    digits: &mut Vec<u8>,
    out: &mut StringBuilder,
) -> Result<(), String> {
    let lexed = match read(text, syntax)? {
        Reading::Number(lexed) => lexed,
        Reading::NaN => {
            if let Some(bounds) = bounds {
                return Err(bounds.reasons.nan.clone());
            }
            out.write_str("NaN").expect("writing to a builder");
            return Ok(());
        }
    };
    digits.clear();
    digits.extend(lexed.digits());
    let point = lexed.int_digits as i64 + lexed.exp;
    let scale = match bounds {
        Some(bounds) => {
            bounds
                .check(digits, point)
                .map_err(|e| bounds.reasons.of(e))?;
            bounds.scale.max(0)
        }
        None => (lexed.frac.len() as i64 - lexed.exp).max(0),
    };
    let digit = |k: i64| {
        usize::try_from(k)
            .ok()
            .and_then(|k| digits.get(k))
            .copied()
            .unwrap_or(0)
    };
    let first_significant = (0..point).find(|&k| digit(k) != 0).unwrap_or(point.max(0));
    if point - first_significant > MAX_INT_DIGITS || scale > MAX_SCALE {
        return Err("out of range for numeric".to_owned());
    }
    let mut buf = [0u8; 64];
    let mut len = 0;
    let mut flush = |b: u8, out: &mut StringBuilder| {
        buf[len] = b;
        len += 1;
        if len == buf.len() {
            out.write_str(std::str::from_utf8(&buf).expect("ascii"))
                .expect("writing to a builder");
            len = 0;
        }
    };
    if lexed.negative && digits.iter().any(|&d| d != 0) {
        flush(b'-', out);
    }
    if first_significant >= point {
        flush(b'0', out);
    }
    for k in first_significant..point {
        flush(b'0' + digit(k), out);
    }
    // Digits beyond the written ones are zeros: padding up to a constrained scale.
    if scale > 0 {
        flush(b'.', out);
        for k in point..point + scale {
            flush(b'0' + digit(k), out);
        }
    }
    out.write_str(std::str::from_utf8(&buf[..len]).expect("ascii"))
        .expect("writing to a builder");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{NULL, br, one, run};
    use super::*;
    use arrow_array::cast::AsArray;
    use proptest::prelude::*;

    fn numeric(p: u16, s: i16) -> PgType {
        PgType::numeric(p, s)
    }

    const FREE: PgType = PgType::Numeric {
        precision: None,
        scale: None,
    };

    fn unscaled(ty: &PgType, fmt: &TextFormat, text: &str) -> Result<i128, &'static str> {
        one(ty, fmt, text).map(|a| a.as_primitive::<Decimal128Type>().value(0))
    }

    fn canonical(fmt: &TextFormat, text: &str) -> Result<String, &'static str> {
        text_value(&FREE, fmt, text)
    }

    /// A value of a `numeric` that travels as text, through the public entry point.
    fn text_value(ty: &PgType, fmt: &TextFormat, text: &str) -> Result<String, &'static str> {
        assert_eq!(ty.arrow_type(), arrow_schema::DataType::Utf8, "{ty}");
        one(ty, fmt, text).map(|a| a.as_string::<i32>().value(0).to_owned())
    }

    /// The text path with `ty`'s bounds, whatever path `ty` itself takes.
    fn text_path(ty: &PgType, text: &str) -> Result<String, String> {
        let bounds = Bounds::of(ty).expect("a constrained numeric");
        let raw = arrow_array::StringArray::from(vec![text]);
        let cells = Cells {
            raw: &raw,
            null: None,
        };
        let syntax = Syntax::new(&TextFormat::default());
        let mut errors = Vec::new();
        let out = canonical_column(cells, &syntax, Some(&bounds), &mut errors);
        match errors.pop() {
            Some(e) => Err(e.reason),
            None => Ok(out.value(0).to_owned()),
        }
    }

    #[test]
    fn decimal128_values() {
        let fmt = TextFormat::default();
        let ty = numeric(12, 2);
        let cases = [
            ("1.5", 150),
            ("1.500", 150),
            ("-0.00", 0),
            ("-0", 0),
            (" 42 ", 4200),
            (".5", 50),
            ("5.", 500),
            ("+3.14", 314),
            ("1.5e3", 150_000),
            ("150e-2", 150),
            ("1.23e1", 1230),
            ("0e999", 0),
            ("9999999999.99", 999_999_999_999),
            ("-9999999999.99", -999_999_999_999),
            ("0000000000001.10", 110),
        ];
        for (text, want) in cases {
            assert_eq!(unscaled(&ty, &fmt, text), Ok(want), "{text}");
        }
        let (a, _) = run(&ty, &fmt, &["1"]);
        assert_eq!(a.data_type(), &arrow_schema::DataType::Decimal128(12, 2));
    }

    #[test]
    fn decimal128_refusals() {
        let fmt = TextFormat::default();
        let ty = numeric(12, 2);
        let scale = "more than 2 decimal places for numeric(12,2)";
        let digits = "too many digits for numeric(12,2) (at most 10 before the decimal point)";
        let cases = [
            ("1.505", scale),
            ("0.001", scale),
            ("1e-3", scale),
            ("12345678901", digits),
            ("10000000000.00", digits),
            ("1e10", digits),
            ("1e1001", BAD_EXPONENT),
            ("abc", NOT_A_NUMBER),
            ("1.2.3", NOT_A_NUMBER),
            ("1,5", NOT_A_NUMBER),
        ];
        for (text, want) in cases {
            assert_eq!(unscaled(&ty, &fmt, text), Err(want), "{text}");
        }
        // Both wrong: the scale is reported.
        assert_eq!(unscaled(&ty, &fmt, "123456789012.345"), Err(scale));
        assert_eq!(
            unscaled(&ty, &fmt, "NaN"),
            Err("nan is not supported for numeric(12,2), only for unconstrained numeric")
        );
        assert_eq!(
            unscaled(&ty, &fmt, "-Infinity"),
            Err("infinity is not supported for numeric")
        );
    }

    #[test]
    fn precision_and_scale_edges() {
        let fmt = TextFormat::default();
        let p52 = numeric(5, 2);
        assert_eq!(unscaled(&p52, &fmt, "999.99"), Ok(99_999));
        assert_eq!(
            unscaled(&p52, &fmt, "1000"),
            Err("too many digits for numeric(5,2) (at most 3 before the decimal point)")
        );
        assert_eq!(
            unscaled(&numeric(10, 0), &fmt, "1.5"),
            Err("decimal places not allowed for numeric(10,0)")
        );
        assert_eq!(unscaled(&numeric(10, 0), &fmt, "15.000"), Ok(15));
        assert_eq!(unscaled(&numeric(2, 2), &fmt, "0.99"), Ok(99));
        assert_eq!(
            unscaled(&numeric(2, 2), &fmt, "1"),
            Err("too many digits for numeric(2,2) (absolute value must be below 1)")
        );
        // A scale above the precision: no Decimal128, text with the same checks.
        let p3s5 = numeric(3, 5);
        assert_eq!(text_value(&p3s5, &fmt, "0.00999").as_deref(), Ok("0.00999"));
        assert_eq!(
            text_value(&p3s5, &fmt, "-9.99e-3").as_deref(),
            Ok("-0.00999")
        );
        assert_eq!(text_value(&p3s5, &fmt, "0").as_deref(), Ok("0.00000"));
        assert_eq!(text_value(&p3s5, &fmt, "0.0010").as_deref(), Ok("0.00100"));
        assert_eq!(
            text_value(&p3s5, &fmt, "0.01"),
            Err("too many digits for numeric(3,5) (absolute value must be below 0.01)")
        );
        assert_eq!(
            text_value(&p3s5, &fmt, "0.000001"),
            Err("more than 5 decimal places for numeric(3,5)")
        );
        assert_eq!(unscaled(&numeric(2, -3), &fmt, "12000"), Ok(12));
        assert_eq!(
            unscaled(&numeric(2, -3), &fmt, "12345"),
            Err("not a multiple of 1000 for numeric(2,-3)")
        );
        let p38 = numeric(38, 0);
        let max = "9".repeat(38);
        assert_eq!(unscaled(&p38, &fmt, &max), Ok(10i128.pow(38) - 1));
        assert_eq!(
            unscaled(&p38, &fmt, &format!("-{max}")),
            Ok(1 - 10i128.pow(38))
        );
        assert!(unscaled(&p38, &fmt, &format!("{max}9")).is_err());
        assert!(unscaled(&numeric(38, 38), &fmt, "1e-39").is_err());
        assert_eq!(unscaled(&numeric(38, 38), &fmt, "1e-38"), Ok(1));
        // numeric(p) has scale 0.
        let p5 = PgType::Numeric {
            precision: Some(5),
            scale: None,
        };
        assert_eq!(unscaled(&p5, &fmt, "12345"), Ok(12345));
        assert_eq!(
            unscaled(&p5, &fmt, "1.5"),
            Err("decimal places not allowed for numeric(5,0)")
        );
    }

    #[test]
    fn decimal_comma_and_thousands() {
        let fmt = br();
        let ty = numeric(12, 2);
        assert_eq!(unscaled(&ty, &fmt, "1.234,50"), Ok(123_450));
        assert_eq!(unscaled(&ty, &fmt, "-1.234.567,8"), Ok(-123_456_780));
        assert_eq!(unscaled(&ty, &fmt, "1234,5"), Ok(123_450));
        assert_eq!(unscaled(&ty, &fmt, ",5"), Ok(50));
        assert_eq!(unscaled(&ty, &fmt, "1,5e2"), Ok(15_000));
        assert_eq!(unscaled(&ty, &fmt, "1.5"), Err(NOT_A_NUMBER));
        assert_eq!(unscaled(&ty, &fmt, "12.34,5"), Err(NOT_A_NUMBER));
        assert_eq!(unscaled(&ty, &fmt, "1,234,5"), Err(NOT_A_NUMBER));
    }

    #[test]
    fn us_thousands() {
        let fmt = TextFormat {
            thousands: Some(','),
            ..TextFormat::default()
        };
        let ty = numeric(12, 2);
        assert_eq!(unscaled(&ty, &fmt, "1,234.56"), Ok(123_456));
        assert_eq!(unscaled(&ty, &fmt, "1,234,567"), Ok(123_456_700));
        assert_eq!(unscaled(&ty, &fmt, "1,23.5"), Err(NOT_A_NUMBER));
        assert_eq!(canonical(&fmt, "-1,234.50").as_deref(), Ok("-1234.50"));
    }

    #[test]
    fn canonical_text() {
        let fmt = TextFormat::default();
        let cases = [
            ("1.50", "1.50"),
            ("-0.00", "0.00"),
            ("-0", "0"),
            ("007", "7"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1.5e3", "1500"),
            ("1.50e1", "15.0"),
            ("1e-3", "0.001"),
            ("-12.5E-1", "-1.25"),
            ("0.000", "0.000"),
            ("nan", "NaN"),
            (" NaN ", "NaN"),
            (
                "123456789012345678901234567890123456789012345.678",
                "123456789012345678901234567890123456789012345.678",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(canonical(&fmt, text).as_deref(), Ok(want), "{text}");
        }
        assert_eq!(
            canonical(&fmt, "1e20").unwrap(),
            format!("1{}", "0".repeat(20))
        );
        assert_eq!(canonical(&fmt, "1e1000").unwrap().len(), 1001);
        assert_eq!(canonical(&fmt, "1e1001"), Err(BAD_EXPONENT));
        assert_eq!(
            canonical(&fmt, "Infinity"),
            Err("infinity is not supported for numeric")
        );
        assert_eq!(canonical(&fmt, "x"), Err(NOT_A_NUMBER));
        assert_eq!(canonical(&br(), "1.234,50").as_deref(), Ok("1234.50"));
        assert_eq!(canonical(&br(), "-1.234.567").as_deref(), Ok("-1234567"));
        let (a, e) = run(&FREE, &fmt, &["1", NULL, "", "x", "2.5"]);
        let a = a.as_string::<i32>();
        assert!(a.is_null(1) && a.is_null(2) && a.is_null(3));
        assert_eq!((a.value(0), a.value(4)), ("1", "2.5"));
        assert_eq!(e, [(3, NOT_A_NUMBER)]);
        // Precision above 38 also travels as text, with exactly the scale's decimal places.
        assert_eq!(
            text_value(&numeric(50, 2), &fmt, "1.5").as_deref(),
            Ok("1.50")
        );
    }

    #[test]
    fn wide_numeric_never_rounds() {
        let fmt = TextFormat::default();
        let ty = numeric(40, 2);
        let scale = "more than 2 decimal places for numeric(40,2)";
        let digits = "too many digits for numeric(40,2) (at most 38 before the decimal point)";
        let max = format!("{}.99", "9".repeat(38));
        let accepted = [
            ("1.0500", "1.05"),
            ("1.5", "1.50"),
            ("1", "1.00"),
            (" -1 ", "-1.00"),
            ("0", "0.00"),
            ("-0.000", "0.00"),
            (".5", "0.50"),
            ("1e-2", "0.01"),
            ("1.5e1", "15.00"),
            ("100e-2", "1.00"),
            ("0e999", "0.00"),
            ("000123.40", "123.40"),
            (max.as_str(), max.as_str()),
        ];
        for (text, want) in accepted {
            assert_eq!(text_value(&ty, &fmt, text).as_deref(), Ok(want), "{text}");
        }
        let neg_max = format!("-{max}");
        assert_eq!(text_value(&ty, &fmt, &neg_max), Ok(neg_max.clone()));
        let big = format!("1{}", "0".repeat(38));
        let refused = [
            ("1.005", scale),
            ("1.0050", scale),
            ("1.0001", scale),
            ("1e-3", scale),
            ("-0.001", scale),
            (big.as_str(), digits),
            ("1e38", digits),
            ("-1e38", digits),
            ("100000000000000000000000000000000000000.00", digits),
            ("1e1001", BAD_EXPONENT),
            ("1e-1001", BAD_EXPONENT),
            ("abc", NOT_A_NUMBER),
            ("1.2.3", NOT_A_NUMBER),
            ("-Infinity", "infinity is not supported for numeric"),
            (
                "NaN",
                "nan is not supported for numeric(40,2), only for unconstrained numeric",
            ),
            (
                " nan ",
                "nan is not supported for numeric(40,2), only for unconstrained numeric",
            ),
        ];
        for (text, want) in refused {
            assert_eq!(text_value(&ty, &fmt, text), Err(want), "{text}");
        }
        // Both wrong: the scale is reported, as for Decimal128.
        assert_eq!(text_value(&ty, &fmt, &format!("{big}.001")), Err(scale));
        // 38 integer digits plus zeros beyond the scale: accepted, zeros dropped.
        let nines = "9".repeat(38);
        assert_eq!(
            text_value(&ty, &fmt, &format!("{nines}.5000")),
            Ok(format!("{nines}.50"))
        );
        // A decimal comma.
        assert_eq!(
            text_value(&ty, &br(), "-1.234,5").as_deref(),
            Ok("-1234.50")
        );
        assert_eq!(text_value(&ty, &br(), "1,005"), Err(scale));
        // Nulls and errors keep rows aligned.
        let (a, e) = run(&ty, &fmt, &["1", NULL, "", "1.005", "2.5"]);
        let a = a.as_string::<i32>();
        assert!(a.is_null(1) && a.is_null(2) && a.is_null(3));
        assert_eq!((a.value(0), a.value(4)), ("1.00", "2.50"));
        assert_eq!(e, [(3, scale)]);
    }

    #[test]
    fn wide_numeric_scales_and_precisions() {
        let fmt = TextFormat::default();
        assert_eq!(
            text_value(&numeric(50, 10), &fmt, "1").as_deref(),
            Ok("1.0000000000")
        );
        assert_eq!(
            text_value(&numeric(50, 10), &fmt, "-12.5e-3").as_deref(),
            Ok("-0.0125000000")
        );
        // numeric(p) has scale 0.
        let p40 = PgType::Numeric {
            precision: Some(40),
            scale: None,
        };
        assert_eq!(text_value(&p40, &fmt, "15.000").as_deref(), Ok("15"));
        assert_eq!(
            text_value(&p40, &fmt, "1.5"),
            Err("decimal places not allowed for numeric(40,0)")
        );
        // The widest numeric PostgreSQL allows.
        let p1000 = numeric(1000, 0);
        let nines = "9".repeat(1000);
        assert_eq!(text_value(&p1000, &fmt, &nines), Ok(nines.clone()));
        assert_eq!(
            text_value(&p1000, &fmt, &format!("-{nines}.000")),
            Ok(format!("-{nines}"))
        );
        assert_eq!(
            text_value(&p1000, &fmt, "1e999"),
            Ok(format!("1{}", "0".repeat(999)))
        );
        let too_many =
            "too many digits for numeric(1000,0) (at most 1000 before the decimal point)";
        assert_eq!(
            text_value(&p1000, &fmt, &format!("{nines}9")),
            Err(too_many)
        );
        assert_eq!(text_value(&p1000, &fmt, "1e1000"), Err(too_many));
        assert_eq!(
            text_value(&p1000, &fmt, "0.5"),
            Err("decimal places not allowed for numeric(1000,0)")
        );
        let p1000s1000 = numeric(1000, 1000);
        assert_eq!(
            text_value(&p1000s1000, &fmt, "0.5"),
            Ok(format!("0.5{}", "0".repeat(999)))
        );
        assert_eq!(
            text_value(&p1000s1000, &fmt, "1e-1000"),
            Ok(format!("0.{}1", "0".repeat(999)))
        );
        assert_eq!(
            text_value(&p1000s1000, &fmt, "1"),
            Err("too many digits for numeric(1000,1000) (absolute value must be below 1)")
        );
        // Negative scales: multiples of 10^-s, written without decimal places.
        let p40m3 = numeric(40, -3);
        assert_eq!(text_value(&p40m3, &fmt, "12000").as_deref(), Ok("12000"));
        assert_eq!(text_value(&p40m3, &fmt, "1.2e4").as_deref(), Ok("12000"));
        assert_eq!(
            text_value(&p40m3, &fmt, "-12000.000").as_deref(),
            Ok("-12000")
        );
        assert_eq!(text_value(&p40m3, &fmt, "-0.0").as_deref(), Ok("0"));
        assert_eq!(
            text_value(&p40m3, &fmt, "12345"),
            Err("not a multiple of 1000 for numeric(40,-3)")
        );
        assert_eq!(
            text_value(&p40m3, &fmt, "12000.5"),
            Err("not a multiple of 1000 for numeric(40,-3)")
        );
        let top = format!("{}000", "9".repeat(40));
        assert_eq!(text_value(&p40m3, &fmt, &top), Ok(top.clone()));
        assert_eq!(
            text_value(&p40m3, &fmt, &format!("1{}", "0".repeat(43))),
            Err("too many digits for numeric(40,-3) (at most 43 before the decimal point)")
        );
        // A scale below i8: no Decimal128 even with a small precision.
        let p3m200 = numeric(3, -200);
        assert_eq!(
            text_value(&p3m200, &fmt, "1.23e202"),
            Ok(format!("123{}", "0".repeat(200)))
        );
        assert_eq!(
            text_value(&p3m200, &fmt, "1e203"),
            Err("too many digits for numeric(3,-200) (at most 203 before the decimal point)")
        );
        let refused = text_value(&p3m200, &fmt, "1e199").unwrap_err();
        assert_eq!(
            refused,
            format!("not a multiple of 1{} for numeric(3,-200)", "0".repeat(200))
        );
        // The most negative scale PostgreSQL allows.
        let p1m1000 = numeric(1, -1000);
        assert_eq!(
            text_value(&p1m1000, &fmt, "9e1000"),
            Ok(format!("9{}", "0".repeat(1000)))
        );
        assert!(text_value(&p1m1000, &fmt, "1e999").is_err());
    }

    fn write_scaled(v: i128, s: i8, decimal: char) -> String {
        assert!(s >= 0);
        let digits = v.unsigned_abs().to_string();
        let s = s as usize;
        let padded = format!("{digits:0>width$}", width = s + 1);
        let (int, frac) = padded.split_at(padded.len() - s);
        let sign = if v < 0 { "-" } else { "" };
        if s == 0 {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}{decimal}{frac}")
        }
    }

    /// `v * 10^-s` as the text path writes it.
    fn decimal_text(v: i128, s: i8) -> String {
        if s >= 0 {
            write_scaled(v, s, '.')
        } else if v == 0 {
            "0".to_owned()
        } else {
            format!("{v}{}", "0".repeat(s.unsigned_abs().into()))
        }
    }

    proptest! {
        #[test]
        fn decimal128_round_trips(p in 1u8..=38, s_frac in 0.0f64..=1.0, seed in any::<i128>(), extra_zeros in 0usize..3, comma in any::<bool>()) {
            let s = (f64::from(p) * s_frac) as i8;
            let max = 10i128.pow(u32::from(p)) - 1;
            let v = seed % (max + 1);
            let decimal = if comma { ',' } else { '.' };
            let mut text = write_scaled(v, s, decimal);
            if extra_zeros > 0 {
                if s == 0 { text.push(decimal); }
                text.push_str(&"0".repeat(extra_zeros));
            }
            let fmt = TextFormat { decimal_comma: comma, ..TextFormat::default() };
            let ty = numeric(p.into(), s.into());
            prop_assert_eq!(unscaled(&ty, &fmt, &text), Ok(v), "{}", text);
            prop_assert_eq!(canonical(&fmt, &text).unwrap(), text.replace(decimal, "."));
            // With the same bounds, the text path keeps exactly `s` decimal places.
            prop_assert_eq!(text_path(&ty, &text.replace(decimal, ".")), Ok(write_scaled(v, s, '.')));
        }

        /// Where both can hold `numeric(p,s)`, the text path accepts and refuses exactly as
        /// the Decimal128 path does, with the same messages.
        #[test]
        fn text_path_agrees_with_decimal128(
            p in 1u8..=38,
            s in -40i8..=38,
            negative in any::<bool>(),
            int in "[0-9]{0,42}",
            frac in "[0-9]{0,42}",
            exp in proptest::option::of(-45i32..=45),
        ) {
            let s = s.min(p as i8);
            let ty = numeric(p.into(), s.into());
            let mut text = format!("{}{int}", if negative { "-" } else { "" });
            if int.is_empty() || !frac.is_empty() {
                text.push('.');
                text.push_str(if int.is_empty() && frac.is_empty() { "0" } else { &frac });
            }
            if let Some(exp) = exp {
                text.push_str(&format!("e{exp}"));
            }
            let fmt = TextFormat::default();
            let want = one(&ty, &fmt, &text)
                .map(|a| a.as_primitive::<Decimal128Type>().value(0))
                .map(|v| decimal_text(v, s))
                .map_err(str::to_owned);
            prop_assert_eq!(text_path(&ty, &text), want, "{}", text);
        }
    }
}
