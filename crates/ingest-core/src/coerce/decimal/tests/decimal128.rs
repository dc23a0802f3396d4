//! The `Decimal128` path, through the public entry point.

use super::{canonical, numeric, text_value, unscaled};
use crate::coerce::decimal::{BAD_EXPONENT, NOT_A_NUMBER};
use crate::coerce::test_util::{br, run};
use crate::{PgType, TextFormat};

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
