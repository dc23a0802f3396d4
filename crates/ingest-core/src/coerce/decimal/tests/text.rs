//! The text path (unconstrained `numeric`, or too wide for `Decimal128`), through the
//! public entry point.

use arrow_array::Array;
use arrow_array::cast::AsArray;

use super::{FREE, canonical, numeric, text_value};
use crate::coerce::decimal::{BAD_EXPONENT, NOT_A_NUMBER};
use crate::coerce::test_util::{NULL, br, run};
use crate::{PgType, TextFormat};

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
    let too_many = "too many digits for numeric(1000,0) (at most 1000 before the decimal point)";
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
