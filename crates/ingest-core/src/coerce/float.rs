//! `real` and `double precision`: the number syntax of `numeric` (thousands separators,
//! decimal comma), read with Rust's correctly rounded parser, plus PostgreSQL's special
//! values `NaN`, `Infinity`, `-Infinity`, `inf` (any case). Like PostgreSQL, finite text
//! that overflows to infinity or underflows to zero is out of range.

use std::str::FromStr;
use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::types::{Float32Type, Float64Type};

use super::number::{Special, Syntax, lex, special};
use super::{CellError, Cells, primitive, trim_space};
use crate::TextFormat;

pub(super) fn coerce_float4(
    cells: Cells,
    fmt: &TextFormat,
    errors: &mut Vec<CellError>,
) -> ArrayRef {
    let mut reader = Reader::new(fmt, "out of range for real");
    Arc::new(primitive::<Float32Type>(cells, errors, |text| {
        reader.read::<f32>(text)
    }))
}

pub(super) fn coerce_float8(
    cells: Cells,
    fmt: &TextFormat,
    errors: &mut Vec<CellError>,
) -> ArrayRef {
    let mut reader = Reader::new(fmt, "out of range for double precision");
    Arc::new(primitive::<Float64Type>(cells, errors, |text| {
        reader.read::<f64>(text)
    }))
}

pub(super) trait Float: FromStr + Copy {
    const NAN: Self;
    const INFINITY: Self;
    const NEG_INFINITY: Self;
    fn is_finite_nonzero(self) -> (bool, bool);
}

impl Float for f32 {
    const NAN: f32 = f32::NAN;
    const INFINITY: f32 = f32::INFINITY;
    const NEG_INFINITY: f32 = f32::NEG_INFINITY;
    fn is_finite_nonzero(self) -> (bool, bool) {
        (self.is_finite(), self != 0.0)
    }
}

impl Float for f64 {
    const NAN: f64 = f64::NAN;
    const INFINITY: f64 = f64::INFINITY;
    const NEG_INFINITY: f64 = f64::NEG_INFINITY;
    fn is_finite_nonzero(self) -> (bool, bool) {
        (self.is_finite(), self != 0.0)
    }
}

struct Reader {
    syntax: Syntax,
    out_of_range: &'static str,
    /// The number rewritten in Rust syntax when it has separators; reused across values.
    scratch: String,
}

impl Reader {
    fn new(fmt: &TextFormat, out_of_range: &'static str) -> Reader {
        Reader {
            syntax: Syntax::new(fmt),
            out_of_range,
            scratch: String::new(),
        }
    }

    fn read<F: Float>(&mut self, text: &str) -> Result<F, String> {
        let text = trim_space(text);
        match special(text) {
            Some(Special::NaN) => return Ok(F::NAN),
            Some(Special::Infinity) => return Ok(F::INFINITY),
            Some(Special::NegInfinity) => return Ok(F::NEG_INFINITY),
            None => {}
        }
        let lexed = lex(text, &self.syntax).ok_or("not a number")?;
        let plain = !lexed.has_separators && self.syntax.decimal == b'.';
        let parsed = if plain {
            text.parse::<F>()
        } else {
            self.scratch.clear();
            if lexed.negative {
                self.scratch.push('-');
            }
            self.scratch.extend(
                lexed
                    .digits()
                    .take(lexed.int_digits)
                    .map(|d| char::from(b'0' + d)),
            );
            self.scratch.push('.');
            self.scratch
                .extend(lexed.frac.iter().map(|&b| char::from(b)));
            if lexed.exp != 0 {
                use std::fmt::Write;
                write!(self.scratch, "e{}", lexed.exp).expect("writing to a String");
            }
            // "5." and ".5" are fine for Rust; "." cannot happen (lex wants a digit).
            self.scratch.parse::<F>()
        };
        let value = parsed.map_err(|_| "not a number")?;
        match value.is_finite_nonzero() {
            (false, _) => Err(self.out_of_range.to_owned()),
            (true, false) if !lexed.is_zero() => Err(self.out_of_range.to_owned()),
            _ => Ok(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{br, one};
    use crate::{PgType, TextFormat};
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, Float64Type};
    use proptest::prelude::*;

    fn f8(fmt: &TextFormat, text: &str) -> Result<f64, &'static str> {
        one(&PgType::Float8, fmt, text).map(|a| a.as_primitive::<Float64Type>().value(0))
    }

    fn f4(fmt: &TextFormat, text: &str) -> Result<f32, &'static str> {
        one(&PgType::Float4, fmt, text).map(|a| a.as_primitive::<Float32Type>().value(0))
    }

    #[test]
    fn doubles() {
        let fmt = TextFormat::default();
        assert_eq!(f8(&fmt, " 1.5 "), Ok(1.5));
        assert_eq!(f8(&fmt, "-2.5e-3"), Ok(-0.0025));
        assert_eq!(f8(&fmt, ".5"), Ok(0.5));
        assert_eq!(f8(&fmt, "5."), Ok(5.0));
        assert_eq!(f8(&fmt, "+1E3"), Ok(1000.0));
        assert_eq!(f8(&fmt, "0.1"), Ok(0.1));
        assert_eq!(f8(&fmt, "1.7976931348623157e308"), Ok(f64::MAX));
        assert_eq!(f8(&fmt, "4.9e-324"), Ok(4.9e-324), "subnormals are fine");
        let negative_zero = f8(&fmt, "-0").unwrap();
        assert!(negative_zero == 0.0 && negative_zero.is_sign_negative());
        assert_eq!(f8(&fmt, "0e-999"), Ok(0.0));
        for bad in ["1e400", "-1e400", "1e-400", "1.8e308"] {
            assert_eq!(
                f8(&fmt, bad),
                Err("out of range for double precision"),
                "{bad}"
            );
        }
        for bad in [
            "abc",
            "1.2.3",
            "1,5",
            "--1",
            "1e",
            "0x10",
            "1_000",
            "infinityx",
            "nan1",
        ] {
            assert_eq!(f8(&fmt, bad), Err("not a number"), "{bad}");
        }
    }

    #[test]
    fn specials() {
        let fmt = TextFormat::default();
        assert!(f8(&fmt, "NaN").unwrap().is_nan());
        assert!(f8(&fmt, " nan ").unwrap().is_nan());
        assert_eq!(f8(&fmt, "Infinity"), Ok(f64::INFINITY));
        assert_eq!(f8(&fmt, "+INFINITY"), Ok(f64::INFINITY));
        assert_eq!(f8(&fmt, "-Infinity"), Ok(f64::NEG_INFINITY));
        assert_eq!(f8(&fmt, "inf"), Ok(f64::INFINITY));
        assert_eq!(f8(&fmt, "-Inf"), Ok(f64::NEG_INFINITY));
        assert!(f4(&fmt, "NAN").unwrap().is_nan());
        assert_eq!(f4(&fmt, "-inf"), Ok(f32::NEG_INFINITY));
        assert_eq!(
            f8(&fmt, "-nan"),
            Err("not a number"),
            "PostgreSQL has no signed NaN"
        );
    }

    #[test]
    fn reals() {
        let fmt = TextFormat::default();
        assert_eq!(f4(&fmt, "3.4028235e38"), Ok(f32::MAX));
        assert_eq!(
            f4(&fmt, "0.1"),
            Ok(0.1f32),
            "parsed as f32 directly, not via f64"
        );
        assert_eq!(f4(&fmt, "3.5e38"), Err("out of range for real"));
        assert_eq!(f4(&fmt, "1e-50"), Err("out of range for real"));
        assert_eq!(f4(&fmt, "1e300"), Err("out of range for real"));
    }

    #[test]
    fn decimal_comma_and_thousands() {
        let fmt = br();
        assert_eq!(f8(&fmt, "1.234,5"), Ok(1234.5));
        assert_eq!(f8(&fmt, "-1.234.567,25e-2"), Ok(-12345.6725));
        assert_eq!(f8(&fmt, "0,1"), Ok(0.1));
        assert_eq!(f8(&fmt, ",5"), Ok(0.5));
        assert_eq!(f8(&fmt, "1.5"), Err("not a number"));
        assert_eq!(f8(&fmt, "12.34"), Err("not a number"));
        assert_eq!(f4(&fmt, "2,5"), Ok(2.5));
    }

    proptest! {
        #[test]
        fn any_finite_double_round_trips(v in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
            let fmt = TextFormat::default();
            prop_assert_eq!(f8(&fmt, &v.to_string()), Ok(v));
            prop_assert_eq!(f8(&fmt, &format!("{v:e}")), Ok(v));
            let comma = TextFormat { decimal_comma: true, ..TextFormat::default() };
            prop_assert_eq!(f8(&comma, &v.to_string().replace('.', ",")), Ok(v));
        }
    }
}
