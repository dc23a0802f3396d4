//! Shared helpers, and the properties that hold the two paths against each other.

use arrow_array::cast::AsArray;
use arrow_array::types::Decimal128Type;
use proptest::prelude::*;

use super::{Bounds, Cells, Syntax, canonical_column};
use crate::coerce::test_util::one;
use crate::{PgType, TextFormat};

mod decimal128;
mod text;

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
